//! XML text -> typed CIB, in one pass over quick-xml events (no intermediate
//! tree for the parts warden models, so a 190 MB status section costs little
//! more than its typed form).
//!
//! Invariant: never panics on any input; every problem is a `Diagnostic`.
//! An XML syntax error is fatal (the result then holds no CIB); anything
//! else is reported and the document is kept as complete as possible.

use super::diag::Diagnostic;
use super::model::*;
use super::xml::{
    Attrs, Element, Item, LineIndex, Pos, Raw, Start, SyntaxError, XmlNode, XmlReader,
};
use std::str::FromStr;

/// The result of reading a CIB: the model (absent only if the XML itself is
/// broken) and every diagnostic, located in `source`.
#[derive(Debug)]
pub struct Parsed {
    pub cib: Option<Cib>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.cib.is_none() || super::diag::has_errors(&self.diagnostics)
    }
}

/// Reads a CIB document. `source` names it in diagnostics (usually the file).
pub fn parse(text: &str, source: &str) -> Parsed {
    let mut p = Parser {
        r: XmlReader::new(text),
        diags: Vec::new(),
    };
    let result = p.document();
    let lines = LineIndex::new(text);
    let mut diagnostics: Vec<Diagnostic> = p
        .diags
        .into_iter()
        .map(|d| d.locate(source, &lines))
        .collect();
    match result {
        Ok(cib) => Parsed {
            cib: Some(cib),
            diagnostics,
        },
        Err(e) => {
            let what = if text.trim().is_empty() {
                "the file is empty: expected a <cib> document".to_string()
            } else {
                format!("malformed XML: {}", e.message)
            };
            let mut d = Diagnostic::error(what);
            d.pos = e.pos;
            diagnostics.insert(0, d.locate(source, &lines));
            Parsed {
                cib: None,
                diagnostics,
            }
        }
    }
}

struct Parser<'a> {
    r: XmlReader<'a>,
    diags: Vec<Diagnostic>,
}

type R<T> = Result<T, SyntaxError>;

enum Child {
    Element(Start),
    Comment(String),
}

fn take(attrs: &mut Attrs, name: &str) -> Option<String> {
    let i = attrs.iter().position(|(k, _)| k == name)?;
    Some(attrs.remove(i).1)
}

impl<'a> Parser<'a> {
    /// Calls `f` for each child element; text and comments are dropped
    /// (non-blank text is reported).
    fn children(&mut self, parent: &str, mut f: impl FnMut(&mut Self, Start) -> R<()>) -> R<()> {
        loop {
            match self.r.next_item()? {
                Item::Start(s) => f(self, s)?,
                Item::Text(t) => {
                    if !t.trim().is_empty() {
                        self.diags.push(Diagnostic::warning(format!(
                            "text inside <{parent}> is ignored: '{}'",
                            t.trim().chars().take(40).collect::<String>()
                        )));
                    }
                }
                Item::Comment(_) => {}
                Item::End => return Ok(()),
            }
        }
    }

    /// Like `children`, but comments are handed over too (for lists where
    /// their position is kept).
    fn children_keep_comments(&mut self, mut f: impl FnMut(&mut Self, Child) -> R<()>) -> R<()> {
        loop {
            match self.r.next_item()? {
                Item::Start(s) => f(self, Child::Element(s))?,
                Item::Comment(t) => f(self, Child::Comment(t))?,
                Item::Text(_) => {}
                Item::End => return Ok(()),
            }
        }
    }

    fn capture(&mut self, s: Start) -> R<Element> {
        self.r.capture(s)
    }

    fn required(&mut self, attrs: &mut Attrs, name: &str, element: &str, pos: Pos) -> String {
        match take(attrs, name) {
            Some(v) => v,
            None => {
                let id = attrs
                    .iter()
                    .find(|(k, _)| k == "id")
                    .map(|(_, v)| v.clone());
                self.diags.push(
                    Diagnostic::error(format!("missing required attribute '{name}'")).at(
                        element,
                        id.as_deref(),
                        pos,
                    ),
                );
                String::new()
            }
        }
    }

    fn number<T: FromStr>(
        &mut self,
        attrs: &mut Attrs,
        name: &str,
        kept: &mut Attrs,
        element: &str,
        id: &str,
        pos: Pos,
    ) -> Option<T> {
        let v = take(attrs, name)?;
        match v.trim().parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.diags.push(
                    Diagnostic::error(format!("attribute '{name}'='{v}' is not an integer")).at(
                        element,
                        Some(id),
                        pos,
                    ),
                );
                kept.push((name.to_string(), v));
                None
            }
        }
    }

    fn document(&mut self) -> R<Cib> {
        let root = self.r.root()?;
        if root.name != "cib" {
            self.diags.push(
                Diagnostic::error(format!(
                    "the root element is <{}>: expected <cib>",
                    root.name
                ))
                .at(&root.name, None, root.pos),
            );
        }
        let cib = self.cib(root)?;
        self.r.finish()?;
        Ok(cib)
    }

    fn cib(&mut self, s: Start) -> R<Cib> {
        let pos = s.pos;
        let mut a = s.attrs;
        let mut kept = Vec::new();
        let mut cib = Cib {
            admin_epoch: self
                .number(&mut a, "admin_epoch", &mut kept, "cib", "", pos)
                .unwrap_or(0),
            epoch: self
                .number(&mut a, "epoch", &mut kept, "cib", "", pos)
                .unwrap_or(0),
            num_updates: self
                .number(&mut a, "num_updates", &mut kept, "cib", "", pos)
                .unwrap_or(0),
            validate_with: take(&mut a, "validate-with"),
            crm_feature_set: take(&mut a, "crm_feature_set"),
            have_quorum: take(&mut a, "have-quorum"),
            dc_uuid: take(&mut a, "dc-uuid"),
            ..Cib::default()
        };
        kept.extend(a);
        cib.extra_attrs = kept;
        let mut saw_config = false;
        self.children("cib", |p, c| {
            match c.name.as_str() {
                "configuration" => {
                    saw_config = true;
                    cib.configuration = p.configuration(c)?;
                }
                "status" => cib.status = p.status(c)?,
                _ => {
                    let e = p.capture(c)?;
                    cib.extra.push(e);
                }
            }
            Ok(())
        })?;
        if !saw_config {
            self.diags
                .push(Diagnostic::error("missing <configuration>").at("cib", None, pos));
        }
        Ok(cib)
    }

    fn configuration(&mut self, s: Start) -> R<Configuration> {
        let mut conf = Configuration {
            extra_attrs: s.attrs,
            ..Configuration::default()
        };
        self.children("configuration", |p, c| {
            match c.name.as_str() {
                "crm_config" => {
                    conf.crm_config = p.sets_only(c)?;
                }
                "nodes" => {
                    p.children("nodes", |p, n| {
                        if n.name == "node" {
                            let node = p.node(n)?;
                            conf.nodes.push(node);
                        } else {
                            p.r.skip()?;
                            p.diags.push(
                                Diagnostic::warning(format!(
                                    "unexpected <{}> in <nodes> is dropped",
                                    n.name
                                ))
                                .at(&n.name, n.attr("id"), n.pos),
                            );
                        }
                        Ok(())
                    })?;
                }
                "resources" => {
                    let mut items = Vec::new();
                    p.children_keep_comments(|p, child| {
                        items.push(match child {
                            Child::Element(r) => p.resource_item(r)?,
                            Child::Comment(c) => ResourceItem::Comment(c),
                        });
                        Ok(())
                    })?;
                    conf.resources = items;
                }
                "constraints" => {
                    let mut items = Vec::new();
                    p.children_keep_comments(|p, child| {
                        items.push(match child {
                            Child::Element(r) => p.constraint(r)?,
                            Child::Comment(c) => ConstraintItem::Comment(c),
                        });
                        Ok(())
                    })?;
                    conf.constraints = items;
                }
                "rsc_defaults" => conf.rsc_defaults = Some(p.sets_only(c)?),
                "op_defaults" => conf.op_defaults = Some(p.sets_only(c)?),
                "fencing-topology" => {
                    conf.fencing_topology = Some(p.fencing_topology(c)?);
                }
                _ => {
                    let e = p.capture(c)?;
                    conf.extra.push(e);
                }
            }
            Ok(())
        })?;
        Ok(conf)
    }

    /// A container whose children are name/value sets (crm_config,
    /// rsc_defaults, op_defaults).
    fn sets_only(&mut self, s: Start) -> R<Vec<NvSet>> {
        let parent = s.name.clone();
        let mut sets = Vec::new();
        self.children(&parent, |p, c| {
            match SetKind::from_xml_name(&c.name) {
                Some(kind) => {
                    let set = p.nvset(c, kind)?;
                    sets.push(set);
                }
                None => {
                    p.diags.push(
                        Diagnostic::warning(format!(
                            "unexpected <{}> in <{parent}> is dropped",
                            c.name
                        ))
                        .at(&c.name, c.attr("id"), c.pos),
                    );
                    p.r.skip()?;
                }
            }
            Ok(())
        })?;
        Ok(sets)
    }

    fn nvset(&mut self, s: Start, kind: SetKind) -> R<NvSet> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id_ref = take(&mut a, "id-ref");
        let id = match take(&mut a, "id") {
            Some(id) => id,
            None if id_ref.is_some() => String::new(),
            None => {
                self.diags
                    .push(Diagnostic::error("missing required attribute 'id'").at(
                        kind.xml_name(),
                        None,
                        pos,
                    ));
                String::new()
            }
        };
        let mut set = NvSet {
            kind,
            score: take(&mut a, "score"),
            id,
            id_ref,
            rule: None,
            pairs: Vec::new(),
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children(kind.xml_name(), |p, c| {
            match c.name.as_str() {
                "nvpair" => {
                    let pos = c.pos;
                    let mut a = c.attrs;
                    let id_ref = take(&mut a, "id-ref");
                    let id = take(&mut a, "id").unwrap_or_default();
                    let name = if id_ref.is_some() {
                        take(&mut a, "name").unwrap_or_default()
                    } else {
                        p.required(&mut a, "name", "nvpair", pos)
                    };
                    if id.is_empty() && id_ref.is_none() {
                        p.diags
                            .push(Diagnostic::error("missing required attribute 'id'").at(
                                "nvpair",
                                Some(&name),
                                pos,
                            ));
                    }
                    set.pairs.push(NvPair {
                        id,
                        id_ref,
                        name,
                        value: take(&mut a, "value"),
                        extra_attrs: a,
                        pos,
                    });
                    p.r.skip()?;
                }
                "rule" => {
                    let rule = p.rule(c)?;
                    if set.rule.is_some() {
                        p.diags.push(
                            Diagnostic::warning(
                                "more than one <rule> in a set: only the first is used",
                            )
                            .at(
                                kind.xml_name(),
                                Some(&set.id),
                                set.pos,
                            ),
                        );
                        // Keep it anyway so nothing is lost.
                        set.extra.push(rule_to_element(&rule));
                    } else {
                        set.rule = Some(rule);
                    }
                }
                _ => {
                    let e = p.capture(c)?;
                    set.extra.push(e);
                }
            }
            Ok(())
        })?;
        Ok(set)
    }

    fn rule(&mut self, s: Start) -> R<Rule> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id_ref = take(&mut a, "id-ref");
        let id = if id_ref.is_some() {
            take(&mut a, "id").unwrap_or_default()
        } else {
            self.required(&mut a, "id", "rule", pos)
        };
        let mut rule = Rule {
            id,
            id_ref,
            score: take(&mut a, "score"),
            score_attribute: take(&mut a, "score-attribute"),
            boolean_op: take(&mut a, "boolean-op"),
            role: take(&mut a, "role"),
            items: Vec::new(),
            extra_attrs: a,
            pos,
        };
        self.children("rule", |p, c| {
            let item = match c.name.as_str() {
                "expression" => {
                    let pos = c.pos;
                    let mut a = c.attrs;
                    let id = p.required(&mut a, "id", "expression", pos);
                    let attribute = p.required(&mut a, "attribute", "expression", pos);
                    let operation = p.required(&mut a, "operation", "expression", pos);
                    p.r.skip()?;
                    RuleItem::Expr(Expression {
                        id,
                        attribute,
                        operation,
                        value: take(&mut a, "value"),
                        value_type: take(&mut a, "type"),
                        value_source: take(&mut a, "value-source"),
                        extra_attrs: a,
                        pos,
                    })
                }
                "date_expression" => {
                    let pos = c.pos;
                    let mut a = c.attrs;
                    let id = p.required(&mut a, "id", "date_expression", pos);
                    let operation = take(&mut a, "operation").unwrap_or_else(|| "in_range".into());
                    let mut d = DateExpression {
                        id,
                        operation,
                        start: take(&mut a, "start"),
                        end: take(&mut a, "end"),
                        date_spec: None,
                        duration: None,
                        extra_attrs: a,
                        extra: Vec::new(),
                        pos,
                    };
                    p.children("date_expression", |p, c| {
                        let name = c.name.clone();
                        let e = p.capture(c)?;
                        match name.as_str() {
                            "date_spec" => d.date_spec = Some(e),
                            "duration" => d.duration = Some(e),
                            _ => d.extra.push(e),
                        }
                        Ok(())
                    })?;
                    RuleItem::Date(d)
                }
                "rsc_expression" => RuleItem::Rsc(p.capture(c)?),
                "op_expression" => RuleItem::Op(p.capture(c)?),
                "rule" => RuleItem::Rule(p.rule(c)?),
                _ => RuleItem::Other(p.capture(c)?),
            };
            rule.items.push(item);
            Ok(())
        })?;
        Ok(rule)
    }

    fn node(&mut self, s: Start) -> R<NodeDef> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id = self.required(&mut a, "id", "node", pos);
        let uname = self.required(&mut a, "uname", "node", pos);
        let mut node = NodeDef {
            id,
            uname,
            kind: take(&mut a, "type"),
            score: take(&mut a, "score"),
            description: take(&mut a, "description"),
            sets: Vec::new(),
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children("node", |p, c| {
            match SetKind::from_xml_name(&c.name) {
                Some(kind) if kind != SetKind::ClusterProperty => {
                    let set = p.nvset(c, kind)?;
                    node.sets.push(set);
                }
                _ => {
                    let e = p.capture(c)?;
                    node.extra.push(e);
                }
            }
            Ok(())
        })?;
        Ok(node)
    }

    fn resource_item(&mut self, s: Start) -> R<ResourceItem> {
        Ok(match s.name.as_str() {
            "primitive" => ResourceItem::Primitive(self.primitive(s)?),
            "group" => ResourceItem::Group(self.group(s)?),
            _ => ResourceItem::Other(self.capture(s)?),
        })
    }

    fn primitive(&mut self, s: Start) -> R<Primitive> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id = self.required(&mut a, "id", "primitive", pos);
        let template = take(&mut a, "template");
        let class = take(&mut a, "class");
        let kind = take(&mut a, "type");
        if template.is_none() {
            if class.is_none() {
                self.diags
                    .push(Diagnostic::error("missing required attribute 'class'").at(
                        "primitive",
                        Some(&id),
                        pos,
                    ));
            }
            if kind.is_none() {
                self.diags
                    .push(Diagnostic::error("missing required attribute 'type'").at(
                        "primitive",
                        Some(&id),
                        pos,
                    ));
            }
        }
        let mut prim = Primitive {
            id,
            class,
            provider: take(&mut a, "provider"),
            kind,
            template,
            description: take(&mut a, "description"),
            sets: Vec::new(),
            operations: None,
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children("primitive", |p, c| {
            match (c.name.as_str(), SetKind::from_xml_name(&c.name)) {
                (_, Some(kind)) if kind != SetKind::ClusterProperty => {
                    let set = p.nvset(c, kind)?;
                    prim.sets.push(set);
                }
                ("operations", _) => {
                    let ops = p.operations(c)?;
                    prim.operations = Some(ops);
                }
                _ => {
                    let e = p.capture(c)?;
                    prim.extra.push(e);
                }
            }
            Ok(())
        })?;
        Ok(prim)
    }

    fn operations(&mut self, s: Start) -> R<Operations> {
        let mut a = s.attrs;
        let mut ops = Operations {
            id: take(&mut a, "id"),
            id_ref: take(&mut a, "id-ref"),
            ops: Vec::new(),
            extra_attrs: a,
            extra: Vec::new(),
        };
        self.children("operations", |p, c| {
            if c.name == "op" {
                let op = p.op(c)?;
                ops.ops.push(op);
            } else {
                let e = p.capture(c)?;
                ops.extra.push(e);
            }
            Ok(())
        })?;
        Ok(ops)
    }

    fn op(&mut self, s: Start) -> R<Op> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id = self.required(&mut a, "id", "op", pos);
        let name = self.required(&mut a, "name", "op", pos);
        let mut op = Op {
            id,
            name,
            interval: take(&mut a, "interval"),
            timeout: take(&mut a, "timeout"),
            role: take(&mut a, "role"),
            on_fail: take(&mut a, "on-fail"),
            start_delay: take(&mut a, "start-delay"),
            interval_origin: take(&mut a, "interval-origin"),
            record_pending: take(&mut a, "record-pending"),
            enabled: take(&mut a, "enabled"),
            requires: take(&mut a, "requires"),
            description: take(&mut a, "description"),
            sets: Vec::new(),
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children("op", |p, c| {
            match SetKind::from_xml_name(&c.name) {
                Some(kind) if kind != SetKind::ClusterProperty => {
                    let set = p.nvset(c, kind)?;
                    op.sets.push(set);
                }
                _ => {
                    let e = p.capture(c)?;
                    op.extra.push(e);
                }
            }
            Ok(())
        })?;
        Ok(op)
    }

    fn group(&mut self, s: Start) -> R<Group> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id = self.required(&mut a, "id", "group", pos);
        let mut g = Group {
            id,
            description: take(&mut a, "description"),
            primitives: Vec::new(),
            sets: Vec::new(),
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children("group", |p, c| {
            match (c.name.as_str(), SetKind::from_xml_name(&c.name)) {
                ("primitive", _) => {
                    let prim = p.primitive(c)?;
                    g.primitives.push(prim);
                }
                (_, Some(kind)) if kind != SetKind::ClusterProperty => {
                    let set = p.nvset(c, kind)?;
                    g.sets.push(set);
                }
                _ => {
                    let e = p.capture(c)?;
                    g.extra.push(XmlNode::Element(e));
                }
            }
            Ok(())
        })?;
        Ok(g)
    }

    fn constraint(&mut self, s: Start) -> R<ConstraintItem> {
        Ok(match s.name.as_str() {
            "rsc_location" => {
                let pos = s.pos;
                let mut a = s.attrs;
                let id = self.required(&mut a, "id", "rsc_location", pos);
                let mut c = Location {
                    id,
                    rsc: take(&mut a, "rsc"),
                    rsc_pattern: take(&mut a, "rsc-pattern"),
                    role: take(&mut a, "role"),
                    node: take(&mut a, "node"),
                    score: take(&mut a, "score"),
                    resource_discovery: take(&mut a, "resource-discovery"),
                    rules: Vec::new(),
                    sets: Vec::new(),
                    extra_attrs: a,
                    extra: Vec::new(),
                    pos,
                };
                self.children("rsc_location", |p, ch| {
                    match ch.name.as_str() {
                        "rule" => {
                            let r = p.rule(ch)?;
                            c.rules.push(r);
                        }
                        "resource_set" => {
                            let s = p.resource_set(ch)?;
                            c.sets.push(s);
                        }
                        _ => {
                            let e = p.capture(ch)?;
                            c.extra.push(e);
                        }
                    }
                    Ok(())
                })?;
                ConstraintItem::Location(c)
            }
            "rsc_colocation" => {
                let pos = s.pos;
                let mut a = s.attrs;
                let id = self.required(&mut a, "id", "rsc_colocation", pos);
                let mut c = Colocation {
                    id,
                    rsc: take(&mut a, "rsc"),
                    with_rsc: take(&mut a, "with-rsc"),
                    score: take(&mut a, "score"),
                    rsc_role: take(&mut a, "rsc-role"),
                    with_rsc_role: take(&mut a, "with-rsc-role"),
                    node_attribute: take(&mut a, "node-attribute"),
                    influence: take(&mut a, "influence"),
                    sets: Vec::new(),
                    extra_attrs: a,
                    extra: Vec::new(),
                    pos,
                };
                self.children("rsc_colocation", |p, ch| {
                    if ch.name == "resource_set" {
                        let s = p.resource_set(ch)?;
                        c.sets.push(s);
                    } else {
                        let e = p.capture(ch)?;
                        c.extra.push(e);
                    }
                    Ok(())
                })?;
                ConstraintItem::Colocation(c)
            }
            "rsc_order" => {
                let pos = s.pos;
                let mut a = s.attrs;
                let id = self.required(&mut a, "id", "rsc_order", pos);
                let mut c = Order {
                    id,
                    first: take(&mut a, "first"),
                    then: take(&mut a, "then"),
                    first_action: take(&mut a, "first-action"),
                    then_action: take(&mut a, "then-action"),
                    kind: take(&mut a, "kind"),
                    score: take(&mut a, "score"),
                    symmetrical: take(&mut a, "symmetrical"),
                    require_all: take(&mut a, "require-all"),
                    sets: Vec::new(),
                    extra_attrs: a,
                    extra: Vec::new(),
                    pos,
                };
                self.children("rsc_order", |p, ch| {
                    if ch.name == "resource_set" {
                        let s = p.resource_set(ch)?;
                        c.sets.push(s);
                    } else {
                        let e = p.capture(ch)?;
                        c.extra.push(e);
                    }
                    Ok(())
                })?;
                ConstraintItem::Order(c)
            }
            _ => ConstraintItem::Other(self.capture(s)?),
        })
    }

    fn resource_set(&mut self, s: Start) -> R<ResourceSet> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id_ref = take(&mut a, "id-ref");
        let id = if id_ref.is_some() {
            take(&mut a, "id").unwrap_or_default()
        } else {
            self.required(&mut a, "id", "resource_set", pos)
        };
        let mut set = ResourceSet {
            id,
            id_ref,
            sequential: take(&mut a, "sequential"),
            require_all: take(&mut a, "require-all"),
            ordering: take(&mut a, "ordering"),
            action: take(&mut a, "action"),
            role: take(&mut a, "role"),
            score: take(&mut a, "score"),
            kind: take(&mut a, "kind"),
            resources: Vec::new(),
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children("resource_set", |p, c| {
            if c.name == "resource_ref" && c.attrs.len() == 1 && c.attr("id").is_some() {
                set.resources
                    .push(c.attr("id").unwrap_or_default().to_string());
                p.r.skip()?;
            } else {
                let e = p.capture(c)?;
                set.extra.push(e);
            }
            Ok(())
        })?;
        Ok(set)
    }

    fn fencing_topology(&mut self, s: Start) -> R<FencingTopology> {
        let mut t = FencingTopology {
            extra_attrs: s.attrs,
            ..FencingTopology::default()
        };
        self.children("fencing-topology", |p, c| {
            if c.name == "fencing-level" {
                let pos = c.pos;
                let mut a = c.attrs;
                let id = p.required(&mut a, "id", "fencing-level", pos);
                let index = p.required(&mut a, "index", "fencing-level", pos);
                let devices = p.required(&mut a, "devices", "fencing-level", pos);
                t.levels.push(FencingLevel {
                    id,
                    target: take(&mut a, "target"),
                    target_pattern: take(&mut a, "target-pattern"),
                    target_attribute: take(&mut a, "target-attribute"),
                    target_value: take(&mut a, "target-value"),
                    index,
                    devices,
                    extra_attrs: a,
                    pos,
                });
                p.r.skip()?;
            } else {
                let e = p.capture(c)?;
                t.extra.push(e);
            }
            Ok(())
        })?;
        Ok(t)
    }

    fn status(&mut self, s: Start) -> R<Status> {
        let mut st = Status {
            extra_attrs: s.attrs,
            ..Status::default()
        };
        self.children("status", |p, c| {
            if c.name == "node_state" {
                let ns = p.node_state(c)?;
                st.node_states.push(ns);
            } else {
                let e = p.capture(c)?;
                st.extra.push(e);
            }
            Ok(())
        })?;
        Ok(st)
    }

    fn node_state(&mut self, s: Start) -> R<NodeState> {
        let pos = s.pos;
        let mut a = s.attrs;
        // Pacemaker tolerates a node_state without id (it then goes by uname).
        let id = take(&mut a, "id").unwrap_or_else(|| {
            self.diags.push(
                Diagnostic::warning("node_state without 'id': identified by its uname").at(
                    "node_state",
                    a.iter()
                        .find(|(k, _)| k == "uname")
                        .map(|(_, v)| v.as_str()),
                    pos,
                ),
            );
            String::new()
        });
        let mut ns = NodeState {
            id,
            uname: take(&mut a, "uname"),
            in_ccm: take(&mut a, "in_ccm"),
            crmd: take(&mut a, "crmd"),
            join: take(&mut a, "join"),
            expected: take(&mut a, "expected"),
            crm_debug_origin: take(&mut a, "crm-debug-origin"),
            transient: None,
            lrm: None,
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        self.children("node_state", |p, c| {
            match c.name.as_str() {
                "transient_attributes" => {
                    let mut a = c.attrs;
                    let mut t = Transient {
                        id: take(&mut a, "id"),
                        sets: Vec::new(),
                        extra_attrs: a,
                        extra: Vec::new(),
                    };
                    p.children("transient_attributes", |p, c| {
                        match SetKind::from_xml_name(&c.name) {
                            Some(kind) if kind != SetKind::ClusterProperty => {
                                let set = p.nvset(c, kind)?;
                                t.sets.push(set);
                            }
                            _ => {
                                let e = p.capture(c)?;
                                t.extra.push(e);
                            }
                        }
                        Ok(())
                    })?;
                    ns.transient = Some(t);
                }
                "lrm" => {
                    let lrm = p.lrm(c)?;
                    ns.lrm = Some(lrm);
                }
                _ => {
                    let e = p.capture(c)?;
                    ns.extra.push(e);
                }
            }
            Ok(())
        })?;
        Ok(ns)
    }

    fn lrm(&mut self, s: Start) -> R<Lrm> {
        let mut a = s.attrs;
        let mut lrm = Lrm {
            id: take(&mut a, "id"),
            extra_attrs: a,
            ..Lrm::default()
        };
        self.children("lrm", |p, c| {
            if c.name == "lrm_resources" {
                let mut a = c.attrs;
                lrm.has_resources_element = true;
                lrm.resources_id = take(&mut a, "id");
                lrm.resources_extra_attrs = a;
                p.children("lrm_resources", |p, c| {
                    if c.name == "lrm_resource" {
                        let r = p.lrm_resource(c)?;
                        lrm.resources.push(r);
                    } else {
                        let e = p.capture(c)?;
                        lrm.extra.push(e);
                    }
                    Ok(())
                })?;
            } else {
                let e = p.capture(c)?;
                lrm.extra.push(e);
            }
            Ok(())
        })?;
        Ok(lrm)
    }

    fn lrm_resource(&mut self, s: Start) -> R<LrmResource> {
        let pos = s.pos;
        let mut a = s.attrs;
        let id = self.required(&mut a, "id", "lrm_resource", pos);
        let mut r = LrmResource {
            id,
            class: take(&mut a, "class"),
            provider: take(&mut a, "provider"),
            kind: take(&mut a, "type"),
            // Most resources have one or two operations recorded (the last one and
            // a recurring monitor); the default first capacity of four large
            // entries would make every resource touch fresh memory.
            ops: Vec::with_capacity(2),
            extra_attrs: a,
            extra: Vec::new(),
            pos,
        };
        // The bulk of a large CIB: operations are read straight from the
        // tag, without an intermediate attribute list.
        loop {
            match self.r.next_raw()? {
                Raw::Start { e, pos, .. } if e.name().as_ref() == b"lrm_rsc_op" => {
                    let op = self.lrm_rsc_op_raw(&e, pos)?;
                    let mut dropped = false;
                    self.children("lrm_rsc_op", |p, _c| {
                        dropped = true;
                        p.r.skip()
                    })?;
                    if dropped {
                        self.diags.push(
                            Diagnostic::warning("child elements of lrm_rsc_op are dropped").at(
                                "lrm_rsc_op",
                                Some(&op.id),
                                pos,
                            ),
                        );
                    }
                    r.ops.push(op);
                }
                Raw::Start { e, empty, pos } => {
                    let c = self.r.start(&e, empty, pos)?;
                    let e = self.capture(c)?;
                    r.extra.push(e);
                }
                Raw::Item(Item::End) => break,
                Raw::Item(Item::Text(t)) => {
                    self.diags.push(Diagnostic::warning(format!(
                        "text inside <lrm_resource> is ignored: '{}'",
                        t.trim().chars().take(40).collect::<String>()
                    )));
                }
                Raw::Item(_) => {}
            }
        }
        Ok(r)
    }

    fn lrm_rsc_op_raw(&mut self, e: &quick_xml::events::BytesStart<'_>, pos: Pos) -> R<LrmRscOp> {
        let mut op = LrmRscOp {
            pos,
            ..LrmRscOp::default()
        };
        let (mut have_id, mut have_operation) = (false, false);
        let mut bad: Vec<(String, String)> = Vec::new();
        fn num<T: FromStr>(
            v: &str,
            name: &str,
            slot: &mut Option<T>,
            bad: &mut Vec<(String, String)>,
        ) {
            match v.trim().parse::<T>() {
                Ok(n) => *slot = Some(n),
                Err(_) => bad.push((name.to_string(), v.to_string())),
            }
        }
        // Duplicate attributes are an XML error; the reader leaves finding
        // them to us (its check is quadratic in the attribute count).
        let mut seen: u32 = 0;
        for attr in self.r.raw_attrs(e, pos) {
            let (k, v) = attr?;
            let slot: u32 = match k {
                b"id" => 0,
                b"operation" => 1,
                b"call-id" => 2,
                b"rc-code" => 3,
                b"op-status" => 4,
                b"interval" => 5,
                b"last-run" => 6,
                b"last-rc-change" => 7,
                b"exec-time" => 8,
                b"queue-time" => 9,
                b"operation_key" => 10,
                b"crm-debug-origin" => 11,
                b"crm_feature_set" => 12,
                b"transition-key" => 13,
                b"transition-magic" => 14,
                b"exit-reason" => 15,
                b"on_node" => 16,
                b"op-digest" => 17,
                b"op-force-restart" => 18,
                b"op-restart-digest" => 19,
                b"op-secure-params" => 20,
                b"op-secure-digest" => 21,
                b"migrate_source" => 22,
                b"migrate_target" => 23,
                _ => 31,
            };
            let duplicate = if slot < 31 {
                let dup = seen & (1 << slot) != 0;
                seen |= 1 << slot;
                dup
            } else {
                op.extra_attrs.iter().any(|(n, _)| n.as_bytes() == k)
            };
            if duplicate {
                return Err(SyntaxError {
                    pos,
                    message: format!(
                        "bad attribute: duplicate attribute '{}' in <lrm_rsc_op>",
                        String::from_utf8_lossy(k)
                    ),
                });
            }
            match k {
                b"id" => {
                    op.id = v.into_owned();
                    have_id = true;
                }
                b"operation" => {
                    op.operation = v.into_owned();
                    have_operation = true;
                }
                b"call-id" => num(&v, "call-id", &mut op.call_id, &mut bad),
                b"rc-code" => num(&v, "rc-code", &mut op.rc_code, &mut bad),
                b"op-status" => num(&v, "op-status", &mut op.op_status, &mut bad),
                b"interval" => num(&v, "interval", &mut op.interval_ms, &mut bad),
                b"last-run" => num(&v, "last-run", &mut op.last_run, &mut bad),
                b"last-rc-change" => num(&v, "last-rc-change", &mut op.last_rc_change, &mut bad),
                b"exec-time" => num(&v, "exec-time", &mut op.exec_time, &mut bad),
                b"queue-time" => num(&v, "queue-time", &mut op.queue_time, &mut bad),
                b"operation_key" => op.operation_key = Some(v.into_owned()),
                b"crm-debug-origin" => op.crm_debug_origin = Some(v.into_owned()),
                b"crm_feature_set" => op.crm_feature_set = Some(v.into_owned()),
                b"transition-key" => op.transition_key = Some(v.into_owned()),
                b"transition-magic" => op.transition_magic = Some(v.into_owned()),
                b"exit-reason" => op.exit_reason = Some(v.into_owned()),
                b"on_node" => op.on_node = Some(v.into_owned()),
                b"op-digest" => op.op_digest = Some(v.into_owned()),
                b"op-force-restart" => op.op_force_restart = Some(v.into_owned()),
                b"op-restart-digest" => op.op_restart_digest = Some(v.into_owned()),
                b"op-secure-params" => op.op_secure_params = Some(v.into_owned()),
                b"op-secure-digest" => op.op_secure_digest = Some(v.into_owned()),
                b"migrate_source" => op.migrate_source = Some(v.into_owned()),
                b"migrate_target" => op.migrate_target = Some(v.into_owned()),
                other => op
                    .extra_attrs
                    .push((String::from_utf8_lossy(other).into_owned(), v.into_owned())),
            }
        }
        for (name, v) in bad {
            self.diags.push(
                Diagnostic::error(format!("attribute '{name}'='{v}' is not an integer")).at(
                    "lrm_rsc_op",
                    Some(&op.id),
                    pos,
                ),
            );
            op.extra_attrs.push((name, v));
        }
        for (present, name) in [(have_id, "id"), (have_operation, "operation")] {
            if !present {
                self.diags.push(
                    Diagnostic::error(format!("missing required attribute '{name}'")).at(
                        "lrm_rsc_op",
                        Some(&op.id),
                        pos,
                    ),
                );
            }
        }
        Ok(op)
    }
}

/// A rule as a generic element (to keep an extra rule verbatim).
pub(crate) fn rule_to_element(rule: &Rule) -> Element {
    let mut w = super::xml::XmlWriter::new();
    super::emit::write_rule(&mut w, rule);
    super::xml::parse_element(&w.out).unwrap_or_else(|_| Element::new("rule"))
}
