//! `cib verify`: everything wrong with a CIB document, in one run, each
//! problem with file, line, element and id — warden's `crm_verify`.
//!
//! [`verify`] takes the document's text and reports, in document order:
//!
//! 1. XML syntax errors (nothing else can be checked then);
//! 2. schema problems ([`schema`]); with `validate-with="none"` Pacemaker
//!    skips the schema, so they become warnings;
//! 3. semantic problems the schema cannot express: duplicate ids (a
//!    primitive in two groups), references to missing or wrong things
//!    (constraint resources, templates, `id-ref`s, location nodes, fence
//!    devices and targets of fencing levels, tags), operation intervals and
//!    timeouts (parsed as Pacemaker does, [`super::duration`]), duplicate
//!    operations, `on-fail` values, `target-role`/`requires`/score-valued
//!    meta-attributes, promotable clones of non-OCF agents, cluster
//!    properties (unknown names with a "did you mean", retired and legacy
//!    names, invalid values), fencing (disabled, enabled without devices,
//!    two nodes without protection against fencing races), constraints on
//!    a resource and itself, duplicate node names.
//!
//! Errors and warnings follow `crm_verify` (Pacemaker 2.1.5): what it
//! rejects is an error, what it accepts is at most a warning — except a
//! few mistakes it lets through silently that break the cluster at run
//! time, which are errors here: an unparseable interval or timeout
//! (Pacemaker silently uses 0 or its default), an `id-ref` to the wrong
//! kind of element (the set is silently ignored), a fencing level naming a
//! missing or non-fencing device, a resource colocated or ordered with
//! itself (the latter aborts Pacemaker's scheduler), invalid values of
//! the controller's own cluster properties (the controller rejects them
//! when it starts), `on-fail` values Pacemaker rejects only once it
//! schedules that operation, and XML that libxml2 would repair by
//! guessing. Conversely, stray text between elements, which Pacemaker
//! drops when it reads a CIB, is only a warning.
//!
//! [`render`] prints diagnostics one per line followed by a summary;
//! [`exit_code`] says how a command should exit.
//!
//! Invariant: pure and deterministic: text in, diagnostics out; no IO, no
//! clock. Values of secret parameters (`passwd`, `password`, `*_passwd`)
//! never appear in a message.

use super::diag::{Diagnostic, Severity};
use super::duration::{parse_interval_ms, parse_iso8601, parse_msec};
use super::schema::{self, is_secret_name, ProblemKind, Validation};
use super::score::Score;
use super::xml::{self, Element, LineIndex, Pos};
use std::collections::{BTreeMap, BTreeSet};

/// Exit code for a document with errors: `CRM_EX_CONFIG`, as `crm_verify`.
pub const EXIT_INVALID: i32 = 78;

/// Checks a CIB document. `source` names it in diagnostics (usually the
/// file name).
pub fn verify(text: &str, source: &str) -> Vec<Diagnostic> {
    let lines = LineIndex::new(text);
    let root = match xml::parse_element(text) {
        Ok(root) => root,
        Err(e) => {
            let what = if text.trim().is_empty() {
                "the file is empty: expected a <cib> document".to_string()
            } else {
                format!("malformed XML: {}", e.message)
            };
            let mut d = Diagnostic::error(what);
            d.pos = e.pos;
            return vec![d.locate(source, &lines)];
        }
    };
    let validation = schema::cib().validate(&root);
    let mut v = Verifier::new(&root, &validation);
    v.run();
    v.finish(source, &lines)
}

/// One diagnostic per line, then a summary line ("2 errors, 1 warning").
pub fn render(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    out.push_str(&summary(diags));
    out.push('\n');
    out
}

/// "2 errors, 1 warning"
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, what: &str| {
        if n == 1 {
            format!("1 {what}")
        } else {
            format!("{n} {what}s")
        }
    };
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// 0 when there is no error (warnings only is fine), [`EXIT_INVALID`]
/// otherwise.
pub fn exit_code(diags: &[Diagnostic]) -> i32 {
    if super::diag::has_errors(diags) {
        EXIT_INVALID
    } else {
        0
    }
}

// ---------------------------------------------------------------------------

/// A problem before it is located.
struct Finding {
    severity: Severity,
    pos: Pos,
    element: Option<String>,
    id: Option<String>,
    /// The attribute it is about (to drop the schema's message about the
    /// same attribute).
    attribute: Option<String>,
    message: String,
    /// Another place the message refers to: its line replaces `{line}` in
    /// the message, or is appended (" on line N").
    related: Option<Pos>,
}

/// The document as a flat list of elements in document order (so a
/// subtree is a range), each with its parent and children.
struct Tree<'a> {
    nodes: Vec<(&'a Element, Option<usize>)>,
    children: Vec<Vec<usize>>,
    /// One past the last element of each subtree.
    end: Vec<usize>,
}

impl<'a> Tree<'a> {
    fn new(root: &'a Element) -> Tree<'a> {
        fn walk<'a>(e: &'a Element, parent: Option<usize>, t: &mut Tree<'a>) {
            let me = t.nodes.len();
            t.nodes.push((e, parent));
            t.children.push(Vec::new());
            t.end.push(0);
            if let Some(p) = parent {
                t.children[p].push(me);
            }
            for c in e.elements() {
                walk(c, Some(me), t);
            }
            t.end[me] = t.nodes.len();
        }
        let mut t = Tree {
            nodes: Vec::new(),
            children: Vec::new(),
            end: Vec::new(),
        };
        walk(root, None, &mut t);
        t
    }

    fn el(&self, i: usize) -> &'a Element {
        self.nodes[i].0
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.nodes[i].1
    }

    fn ancestors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.parent(i), move |&p| self.parent(p))
    }

    /// Elements named `name` in the subtree of `under` (not itself).
    fn named(&self, name: &str, under: Option<usize>) -> Vec<usize> {
        let range = match under {
            Some(u) => u + 1..self.end[u],
            None => 0..0,
        };
        range.filter(|&i| self.el(i).name == name).collect()
    }

    fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.children[i].iter().copied()
    }
}

/// `Option::is_none_or`, which the minimum Rust version lacks.
fn none_or<T>(o: Option<T>, f: impl FnOnce(T) -> bool) -> bool {
    match o {
        None => true,
        Some(v) => f(v),
    }
}

const RESOURCE_ELEMENTS: &[&str] = &["primitive", "group", "clone", "master", "bundle"];

struct Verifier<'a> {
    tree: Tree<'a>,
    validation: &'a Validation,
    /// `validate-with="none"`: schema problems are warnings.
    schema_disabled: bool,
    /// The declared schema version (major, minor), if pacemaker-X.Y.
    version: Option<(u32, u32)>,
    configuration: Option<usize>,
    /// Elements defining each XML id (ID-typed per the schema).
    ids: BTreeMap<String, Vec<usize>>,
    stonith_enabled: bool,
    findings: Vec<Finding>,
}

impl<'a> Verifier<'a> {
    fn new(root: &'a Element, validation: &'a Validation) -> Verifier<'a> {
        let tree = Tree::new(root);
        let by_pos: BTreeMap<Pos, usize> =
            (0..tree.nodes.len()).map(|i| (tree.el(i).pos, i)).collect();
        let mut ids: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for def in &validation.ids {
            if let Some(&i) = by_pos.get(&def.pos) {
                ids.entry(def.value.clone()).or_default().push(i);
            }
        }
        let validate_with = root.attr("validate-with").unwrap_or("");
        let version = validate_with.strip_prefix("pacemaker-").and_then(|v| {
            let (a, b) = v.split_once('.')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        });
        let configuration = tree
            .children(0)
            .find(|&c| tree.el(c).name == "configuration");
        Verifier {
            tree,
            validation,
            schema_disabled: validate_with == "none",
            version,
            configuration,
            ids,
            stonith_enabled: true,
            findings: Vec::new(),
        }
    }

    fn push(&mut self, severity: Severity, at: usize, attribute: Option<&str>, message: String) {
        let el = self.tree.el(at);
        self.findings.push(Finding {
            severity,
            pos: el.pos,
            element: Some(el.name.clone()),
            id: el.id().map(str::to_string),
            attribute: attribute.map(str::to_string),
            message,
            related: None,
        });
    }

    fn error(&mut self, at: usize, attribute: Option<&str>, message: String) {
        self.push(Severity::Error, at, attribute, message);
    }

    fn warning(&mut self, at: usize, attribute: Option<&str>, message: String) {
        self.push(Severity::Warning, at, attribute, message);
    }

    fn related(&mut self, other: usize) {
        if let Some(f) = self.findings.last_mut() {
            f.related = Some(self.tree.el(other).pos);
        }
    }

    fn run(&mut self) {
        if self.schema_disabled {
            self.warning(
                0,
                Some("validate-with"),
                "schema validation is disabled (validate-with=\"none\"), so schema problems are \
                 only warnings: set validate-with=\"pacemaker-3.9\""
                    .to_string(),
            );
        }
        if self.configuration.is_none() {
            return;
        }
        self.properties();
        self.duplicate_ids();
        self.resources();
        self.operations();
        self.meta_attributes();
        self.id_refs();
        self.constraints();
        self.fencing();
        self.tags();
        self.nodes();
    }

    fn finish(self, source: &str, lines: &LineIndex) -> Vec<Diagnostic> {
        let Verifier {
            validation,
            schema_disabled,
            mut findings,
            ..
        } = self;
        let claimed: BTreeSet<(Pos, String)> = findings
            .iter()
            .filter_map(|f| Some((f.pos, f.attribute.clone()?)))
            .collect();
        let severity = if schema_disabled {
            Severity::Warning
        } else {
            Severity::Error
        };
        let semantic = std::mem::take(&mut findings);
        let mut problems = validation.problems.clone();
        // Duplicate ids are reported by `duplicate_ids`, with more to say.
        problems.extend(
            validation
                .id_problems()
                .into_iter()
                .filter(|p| p.kind != ProblemKind::DuplicateId),
        );
        for p in problems {
            // Pacemaker drops text between elements when it reads a CIB.
            let (severity, message) = if p.kind == ProblemKind::UnexpectedText {
                (Severity::Warning, format!("{} (ignored)", p.message))
            } else {
                (severity, p.message)
            };
            let same = p
                .attribute
                .as_ref()
                .is_some_and(|a| claimed.contains(&(p.pos, a.clone())));
            if same && matches!(p.kind, ProblemKind::BadValue | ProblemKind::DanglingIdRef) {
                continue;
            }
            findings.push(Finding {
                severity,
                pos: p.pos,
                element: Some(p.element),
                id: p.id,
                attribute: p.attribute,
                message,
                related: p.related,
            });
        }
        findings.extend(semantic);
        findings.sort_by_key(|f| f.pos);
        findings
            .into_iter()
            .map(|f| {
                let message = match f.related.and_then(|p| lines.line(p)) {
                    Some(line) if f.message.contains("{line}") => {
                        f.message.replace("{line}", &format!("line {line}"))
                    }
                    Some(line) => format!("{} on line {line}", f.message),
                    None => f
                        .message
                        .replace(" ({line})", "")
                        .replace("{line}", "elsewhere"),
                };
                let mut d = Diagnostic {
                    severity: f.severity,
                    ..Diagnostic::error(message)
                };
                if let Some(e) = &f.element {
                    d = d.at(e, f.id.as_deref(), f.pos);
                } else {
                    d.pos = f.pos;
                }
                d.locate(source, lines)
            })
            .collect()
    }

    // -- helpers --------------------------------------------------------

    fn config_named(&self, name: &'a str) -> Vec<usize> {
        self.tree.named(name, self.configuration)
    }

    /// The first element defining `id`.
    fn def(&self, id: &str) -> Option<usize> {
        self.ids.get(id).and_then(|v| v.first().copied())
    }

    /// nvpairs of the direct `set` children (e.g. meta_attributes) of `i`.
    fn pairs_of(&self, i: usize, set: &str) -> Vec<usize> {
        let mut out = Vec::new();
        for s in self
            .tree
            .children(i)
            .filter(|&s| self.tree.el(s).name == set)
        {
            out.extend(
                self.tree
                    .children(s)
                    .filter(|&n| self.tree.el(n).name == "nvpair"),
            );
        }
        out
    }

    fn param(&self, i: usize, name: &str) -> Option<&'a str> {
        self.pairs_of(i, "instance_attributes")
            .into_iter()
            .map(|n| self.tree.el(n))
            .find(|n| n.attr("name") == Some(name))
            .and_then(|n| n.attr("value"))
    }

    fn meta(&self, i: usize, name: &str) -> Option<&'a str> {
        self.pairs_of(i, "meta_attributes")
            .into_iter()
            .map(|n| self.tree.el(n))
            .find(|n| n.attr("name") == Some(name))
            .and_then(|n| n.attr("value"))
    }

    fn is_resource(&self, i: usize) -> bool {
        RESOURCE_ELEMENTS.contains(&self.tree.el(i).name.as_str())
            && self
                .tree
                .ancestors(i)
                .any(|a| self.tree.el(a).name == "resources")
    }

    fn resource_ids(&self) -> Vec<&'a str> {
        (0..self.tree.nodes.len())
            .filter(|&i| self.is_resource(i))
            .filter_map(|i| self.tree.el(i).id())
            .collect()
    }

    fn is_fence_device(&self, i: usize) -> bool {
        let e = self.tree.el(i);
        e.name == "primitive" && e.attr("class") == Some("stonith")
    }

    /// Whether a resource is (inside) a promotable clone.
    fn in_promotable(&self, i: usize) -> bool {
        std::iter::once(i)
            .chain(self.tree.ancestors(i))
            .any(|a| self.is_promotable(a))
    }

    fn is_promotable(&self, i: usize) -> bool {
        let e = self.tree.el(i);
        match e.name.as_str() {
            "master" => true,
            "clone" => self.meta(i, "promotable").is_some_and(is_true),
            "bundle" => self.tree.children(i).any(|c| {
                let c = self.tree.el(c);
                ["docker", "podman", "rkt"].contains(&c.name.as_str())
                    && ["promoted-max", "masters"]
                        .iter()
                        .any(|a| c.attr(a).and_then(|v| v.trim().parse::<i64>().ok()) > Some(0))
            }),
            _ => false,
        }
    }

    /// Names a location or fencing level may use for a node: configured
    /// nodes, nodes in the status section, remote and guest nodes.
    fn node_names(&self) -> BTreeSet<&'a str> {
        let mut names = BTreeSet::new();
        for i in 0..self.tree.nodes.len() {
            let e = self.tree.el(i);
            match e.name.as_str() {
                "node" | "node_state" => names.extend(e.attr("uname")),
                "primitive" if self.is_resource(i) => {
                    if e.attr("class") == Some("ocf")
                        && e.attr("provider") == Some("pacemaker")
                        && e.attr("type") == Some("remote")
                    {
                        names.extend(e.id());
                    }
                    names.extend(self.meta(i, "remote-node"));
                }
                _ => {}
            }
        }
        names
    }

    /// Bundles create nodes named after them (`<bundle>-<n>`).
    fn is_bundle_node(&self, name: &str) -> bool {
        self.config_named("bundle").iter().any(|&b| {
            self.tree.el(b).id().is_some_and(|id| {
                name.strip_prefix(id)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
            })
        })
    }

    // -- checks -----------------------------------------------------------

    /// Duplicate XML ids; a primitive defined in two groups says so.
    fn duplicate_ids(&mut self) {
        let dups: Vec<(String, Vec<usize>)> = self
            .ids
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, defs) in dups {
            let first = defs[0];
            for &later in &defs[1..] {
                let group_of = |i: usize| {
                    self.tree
                        .parent(i)
                        .filter(|&p| self.tree.el(p).name == "group")
                };
                let both_primitives = self.tree.el(first).name == "primitive"
                    && self.tree.el(later).name == "primitive";
                let message = match (both_primitives, group_of(first), group_of(later)) {
                    (true, Some(g1), Some(g2)) if g1 != g2 => format!(
                        "is already a member of group '{}' ({{line}}): a primitive belongs to one \
                         group only",
                        self.tree.el(g1).id().unwrap_or("")
                    ),
                    (true, Some(g1), None) | (true, None, Some(g1)) => format!(
                        "is already defined in group '{}' ({{line}})",
                        self.tree.el(g1).id().unwrap_or("")
                    ),
                    _ => format!(
                        "id '{id}' is already used by <{}>",
                        self.tree.el(first).name
                    ),
                };
                self.error(later, Some("id"), message);
                self.related(first);
            }
        }
    }

    /// What a constraint names must be a resource or a tag.
    fn resource_ref(&mut self, at: usize, attribute: &str, id: &str) {
        match self.def(id) {
            None => {
                let hint = did_you_mean(id, self.resource_ids());
                self.error(
                    at,
                    Some(attribute),
                    format!("resource '{id}' does not exist{hint}"),
                );
            }
            Some(d) => {
                let e = self.tree.el(d);
                if !(self.is_resource(d) || e.name == "tag" || e.name == "template") {
                    self.error(
                        at,
                        Some(attribute),
                        format!("'{id}' is {}, not a resource or tag", article(&e.name)),
                    );
                }
            }
        }
    }

    fn constraints(&mut self) {
        for kind in ["rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket"] {
            for c in self.config_named(kind) {
                let e = self.tree.el(c);
                for attr in ["rsc", "with-rsc", "first", "then"] {
                    if let Some(id) = e.attr(attr) {
                        self.resource_ref(c, attr, id.trim());
                    }
                }
                for r in self.tree.named("resource_ref", Some(c)) {
                    if let Some(id) = self.tree.el(r).attr("id") {
                        self.resource_ref(r, "id", id.trim());
                    }
                }
            }
        }
        let nodes = self.node_names();
        for c in self.config_named("rsc_location") {
            let e = self.tree.el(c);
            if let Some(node) = e.attr("node") {
                if !nodes.contains(node) && !self.is_bundle_node(node) {
                    self.warning(
                        c,
                        Some("node"),
                        format!(
                            "node '{node}' is not a node of this cluster: the constraint has no effect{}",
                            did_you_mean(node, nodes.iter().copied())
                        ),
                    );
                }
            }
        }
        for c in self.config_named("rsc_order") {
            let e = self.tree.el(c);
            if let Some(kind) = e.attr("kind") {
                if !["Mandatory", "Optional", "Serialize"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(kind))
                {
                    self.error(
                        c,
                        Some("kind"),
                        format!(
                            "kind '{kind}' is not valid: expected Mandatory, Optional or \
                             Serialize (Pacemaker uses Mandatory)"
                        ),
                    );
                }
            } else if e.attr("score").is_some() {
                self.warning(
                    c,
                    Some("score"),
                    "a score in rsc_order is deprecated: use kind=\"Optional\" (for a score of \
                     0) or kind=\"Mandatory\""
                        .to_string(),
                );
            }
        }
        for c in self.config_named("rsc_colocation") {
            let e = self.tree.el(c);
            if let (Some(a), Some(b)) = (e.attr("rsc"), e.attr("with-rsc")) {
                if a == b {
                    self.error(
                        c,
                        None,
                        format!("'{a}' is colocated with itself: name two different resources"),
                    );
                }
            }
        }
        for c in self.config_named("rsc_order") {
            let e = self.tree.el(c);
            if let (Some(a), Some(b)) = (e.attr("first"), e.attr("then")) {
                if a == b {
                    self.error(
                        c,
                        None,
                        format!(
                            "'{a}' is ordered after itself (Pacemaker 2.1.5's scheduler aborts on \
                             this): name two different resources"
                        ),
                    );
                }
            }
        }
    }

    /// Templates, and that promotable clones run OCF agents.
    fn resources(&mut self) {
        for p in self.config_named("primitive") {
            let e = self.tree.el(p);
            if let Some(t) = e.attr("template") {
                let t = t.trim();
                match self.def(t) {
                    None => {
                        let templates: Vec<&str> = self
                            .config_named("template")
                            .iter()
                            .filter_map(|&t| self.tree.el(t).id())
                            .collect();
                        self.error(
                            p,
                            Some("template"),
                            format!(
                                "template '{t}' does not exist{}",
                                did_you_mean(t, templates)
                            ),
                        );
                    }
                    Some(d) if self.tree.el(d).name != "template" => {
                        let what = article(&self.tree.el(d).name);
                        self.error(
                            p,
                            Some("template"),
                            format!("'{t}' is {what}, not a <template>"),
                        );
                    }
                    Some(_) => {}
                }
            }
            if self.is_resource(p) && self.in_promotable(p) {
                let class = self.agent_class(p);
                if class.as_deref().is_some_and(|c| c != "ocf") {
                    self.error(
                        p,
                        Some("class"),
                        format!(
                            "class '{}' cannot be promoted: a promotable clone needs an OCF agent",
                            class.unwrap_or_default()
                        ),
                    );
                }
            }
        }
    }

    /// A primitive's class, through its template.
    fn agent_class(&self, p: usize) -> Option<String> {
        let e = self.tree.el(p);
        if let Some(c) = e.attr("class") {
            return Some(c.trim().to_string());
        }
        let t = self.def(e.attr("template")?.trim())?;
        self.tree.el(t).attr("class").map(|c| c.trim().to_string())
    }

    /// `id-ref`s must name an element of the same kind.
    fn id_refs(&mut self) {
        for i in 0..self.tree.nodes.len() {
            let e = self.tree.el(i);
            let Some(r) = e.attr("id-ref") else {
                continue;
            };
            let r = r.trim();
            match self.def(r) {
                None => {
                    let same: Vec<&str> = self
                        .ids
                        .iter()
                        .filter(|(_, v)| v.iter().any(|&d| self.tree.el(d).name == e.name))
                        .map(|(k, _)| k.as_str())
                        .collect();
                    self.error(
                        i,
                        Some("id-ref"),
                        format!(
                            "id-ref '{r}' matches no <{}>{}",
                            e.name,
                            did_you_mean(r, same)
                        ),
                    );
                }
                Some(d) if self.tree.el(d).name != e.name => {
                    let what = article(&self.tree.el(d).name);
                    self.error(
                        i,
                        Some("id-ref"),
                        format!(
                            "id-ref '{r}' refers to {what} ({{line}}), not to a <{}>: Pacemaker \
                             ignores the reference",
                            e.name
                        ),
                    );
                    self.related(d);
                }
                Some(_) => {}
            }
        }
    }

    /// Intervals, timeouts, duplicates and on-fail of operations.
    fn operations(&mut self) {
        for ops in self.config_named("operations") {
            let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
            let op_list: Vec<usize> = self
                .tree
                .children(ops)
                .filter(|&o| self.tree.el(o).name == "op")
                .collect();
            for o in op_list {
                let e = self.tree.el(o);
                let name = e.attr("name").unwrap_or("");
                let mut interval_ms = None;
                if let Some(spec) = e.attr("interval") {
                    match parse_interval_ms(spec) {
                        Ok(ms) => {
                            interval_ms = Some(ms);
                            self.iso_quirk(o, "interval", spec, ms);
                        }
                        Err(err) => self.error(
                            o,
                            Some("interval"),
                            format!(
                                "attribute 'interval' is '{spec}': {} (Pacemaker would read 0: \
                                 the operation would not recur)",
                                err.reason
                            ),
                        ),
                    }
                }
                for attr in ["timeout", "start-delay"] {
                    if let Some(spec) = e.attr(attr) {
                        if let Err(err) = parse_msec(spec) {
                            self.error(
                                o,
                                Some(attr),
                                format!("attribute '{attr}' is '{spec}': {}", err.reason),
                            );
                        }
                    }
                }
                for n in self.pairs_of(o, "meta_attributes") {
                    self.timeout_pair(n);
                }
                if let Some(ms) = interval_ms {
                    let enabled = none_or(e.attr("enabled"), is_true);
                    let key = (name.to_ascii_lowercase(), ms);
                    match seen.get(&key) {
                        Some(&first) if enabled && ms > 0 => {
                            let first_id = self.tree.el(first).id().unwrap_or("").to_string();
                            self.error(
                                o,
                                Some("interval"),
                                format!(
                                    "repeats {name} every {} of op '{first_id}' ({{line}}): each name \
                                     and interval may be used once per resource",
                                    human_ms(ms)
                                ),
                            );
                            self.related(first);
                        }
                        Some(&first) if enabled => {
                            let first_id = self.tree.el(first).id().unwrap_or("").to_string();
                            self.warning(
                                o,
                                None,
                                format!(
                                    "repeats {name} of op '{first_id}' ({{line}}): only the first is used"
                                ),
                            );
                            self.related(first);
                        }
                        Some(_) => {}
                        None => {
                            if enabled {
                                seen.insert(key, o);
                            }
                        }
                    }
                }
                self.on_fail(o, interval_ms);
            }
        }
        if let Some(d) = self.config_named("op_defaults").first().copied() {
            for n in self.pairs_of_sets_under(d) {
                self.timeout_pair(n);
            }
        }
    }

    /// nvpairs of every set directly under `i`.
    fn pairs_of_sets_under(&self, i: usize) -> Vec<usize> {
        let mut v = self.pairs_of(i, "meta_attributes");
        v.extend(self.pairs_of(i, "instance_attributes"));
        v
    }

    fn timeout_pair(&mut self, n: usize) {
        let e = self.tree.el(n);
        if e.attr("name") != Some("timeout") {
            return;
        }
        if let Some(spec) = e.attr("value") {
            if let Err(err) = parse_msec(spec) {
                self.error(
                    n,
                    Some("value"),
                    format!("timeout '{spec}': {}", err.reason),
                );
            }
        }
    }

    /// An ISO 8601 interval Pacemaker reads differently from the calendar.
    fn iso_quirk(&mut self, at: usize, attr: &str, spec: &str, ms: u64) {
        let Ok(d) = parse_iso8601(spec) else {
            return;
        };
        let intended = d.intended_seconds() * 1000;
        if intended > 0 && intended != i128::from(ms) && intended <= i128::from(u32::MAX) {
            self.warning(
                at,
                Some(attr),
                format!(
                    "{attr} '{spec}' is {} to Pacemaker, which counts the days and years of an \
                     ISO 8601 duration from 1: write '{}'",
                    human_ms(ms),
                    human_ms(intended as u64)
                ),
            );
        }
    }

    fn on_fail(&mut self, o: usize, interval_ms: Option<u64>) {
        let e = self.tree.el(o);
        let Some(on_fail) = e.attr("on-fail") else {
            return;
        };
        let on_fail = on_fail.trim().to_ascii_lowercase();
        let name = e.attr("name").unwrap_or("").to_ascii_lowercase();
        let role = e.attr("role").unwrap_or("").to_ascii_lowercase();
        if name == "stop" && ["standby", "demote", "stop"].contains(&on_fail.as_str()) {
            self.error(
                o,
                Some("on-fail"),
                format!("on-fail '{on_fail}' is not allowed for a stop operation: expected ignore, block, restart or fence"),
            );
        } else if on_fail == "demote"
            && name != "promote"
            && !(name == "monitor"
                && (role == "promoted" || role == "master")
                && interval_ms.is_some_and(|ms| ms > 0))
        {
            self.error(
                o,
                Some("on-fail"),
                "on-fail 'demote' is only allowed for promote and for recurring monitors with role Promoted".to_string(),
            );
        } else if on_fail == "fence" && !self.stonith_enabled {
            self.error(
                o,
                Some("on-fail"),
                "on-fail 'fence' needs fencing, which is disabled (stonith-enabled=false)"
                    .to_string(),
            );
        }
    }

    /// target-role, requires and score-valued meta-attributes of
    /// resources and resource defaults.
    fn meta_attributes(&mut self) {
        let mut owners: Vec<usize> = (0..self.tree.nodes.len())
            .filter(|&i| self.is_resource(i) || self.tree.el(i).name == "template")
            .collect();
        owners.extend(self.config_named("rsc_defaults"));
        for owner in owners {
            let is_defaults = self.tree.el(owner).name == "rsc_defaults";
            for n in self.pairs_of(owner, "meta_attributes") {
                let e = self.tree.el(n);
                let (Some(name), Some(value)) = (e.attr("name"), e.attr("value")) else {
                    continue;
                };
                let v = value.trim();
                match name {
                    "target-role" => {
                        let lower = v.to_ascii_lowercase();
                        let promoted_only = ["promoted", "master", "unpromoted", "slave"];
                        if !["stopped", "started", "default"].contains(&lower.as_str())
                            && !promoted_only.contains(&lower.as_str())
                        {
                            self.error(
                                n,
                                Some("value"),
                                format!(
                                    "target-role '{v}' is not a role: expected Stopped, Started, \
                                     Unpromoted or Promoted{}",
                                    did_you_mean(
                                        v,
                                        ["Stopped", "Started", "Unpromoted", "Promoted"]
                                    )
                                ),
                            );
                        } else if promoted_only.contains(&lower.as_str())
                            && !is_defaults
                            && !self.in_promotable(owner)
                        {
                            self.error(
                                n,
                                Some("value"),
                                format!(
                                    "target-role '{v}' only makes sense for promotable clones, \
                                     and '{}' is not in one",
                                    self.tree.el(owner).id().unwrap_or("")
                                ),
                            );
                        }
                    }
                    "requires" => {
                        let lower = v.to_ascii_lowercase();
                        if !["nothing", "quorum", "fencing", "unfencing"].contains(&lower.as_str())
                        {
                            self.error(
                                n,
                                Some("value"),
                                format!(
                                    "requires '{v}' is not valid: expected nothing, quorum, \
                                     fencing or unfencing"
                                ),
                            );
                        }
                    }
                    "resource-stickiness" | "migration-threshold" => {
                        if let Err(err) = Score::parse_strict(v) {
                            self.warning(
                                n,
                                Some("value"),
                                format!(
                                    "{name} {err} (Pacemaker reads it as {})",
                                    Score::parse_lenient(v)
                                ),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Cluster properties: names, values, fencing.
    fn properties(&mut self) {
        let mut stonith_enabled: Option<(usize, bool)> = None;
        let mut have_watchdog = false;
        let mut priority_delay = false;
        let mut pairs = Vec::new();
        for set in self.config_named("cluster_property_set") {
            pairs.extend(
                self.tree
                    .children(set)
                    .filter(|&n| self.tree.el(n).name == "nvpair"),
            );
        }
        for n in pairs {
            let e = self.tree.el(n);
            let Some(name) = e.attr("name") else {
                continue;
            };
            let value = e.attr("value");
            let mut name = name;
            if let Some(&(_, renamed, advice)) =
                RETIRED_PROPERTIES.iter().find(|(old, _, _)| *old == name)
            {
                let old_schema = self.version.is_some_and(|v| v < (2, 10));
                match renamed {
                    // Pacemaker renames it when it upgrades an old document.
                    Some(new_name) if old_schema => {
                        self.warning(
                            n,
                            Some("name"),
                            format!(
                                "cluster property '{name}' is the pre-2.10 schema name of \
                                 '{new_name}' (Pacemaker renames it when it upgrades the document)"
                            ),
                        );
                        name = new_name;
                    }
                    _ => {
                        let severity = if old_schema {
                            Severity::Warning
                        } else {
                            Severity::Error
                        };
                        self.push(
                            severity,
                            n,
                            Some("name"),
                            format!(
                                "cluster property '{name}' is no longer supported (not allowed \
                                 since schema pacemaker-2.10): {advice}"
                            ),
                        );
                        continue;
                    }
                }
            }
            let (option, legacy) = match PROPERTIES.iter().find(|o| o.name == name) {
                Some(o) => (o, false),
                None => match PROPERTIES.iter().find(|o| o.legacy_name == Some(name)) {
                    Some(o) => (o, true),
                    None => {
                        let names = PROPERTIES.iter().map(|o| o.name);
                        self.warning(
                            n,
                            Some("name"),
                            format!(
                                "unknown cluster property '{name}'{}",
                                did_you_mean(name, names)
                            ),
                        );
                        continue;
                    }
                },
            };
            if legacy {
                self.warning(
                    n,
                    Some("name"),
                    format!(
                        "'{name}' is the deprecated name of cluster property '{}'",
                        option.name
                    ),
                );
            }
            let Some(value) = value else {
                continue;
            };
            if !option.kind.accepts(value) {
                let shown = if is_secret_name(name) {
                    "(hidden)"
                } else {
                    value
                };
                self.error(
                    n,
                    Some("value"),
                    format!(
                        "{} '{shown}' is not valid: expected {} (Pacemaker uses the default, {})",
                        option.name,
                        option.kind.describe(),
                        option.default
                    ),
                );
                continue;
            }
            match option.name {
                "stonith-enabled" if stonith_enabled.is_none() => {
                    stonith_enabled = Some((n, is_true(value)));
                }
                "have-watchdog" => have_watchdog |= is_true(value),
                "priority-fencing-delay" => {
                    priority_delay |= parse_interval_ms(value).is_ok_and(|ms| ms > 0)
                }
                "stonith-action" if value == "poweroff" => self.warning(
                    n,
                    Some("value"),
                    "stonith-action 'poweroff' is deprecated: use 'off'".to_string(),
                ),
                _ => {}
            }
        }
        self.stonith_enabled = none_or(stonith_enabled, |(_, on)| on);
        let devices: Vec<usize> = (0..self.tree.nodes.len())
            .filter(|&i| self.is_resource(i) && self.is_fence_device(i))
            .collect();
        let resources = self.config_named("resources").first().copied();
        match stonith_enabled {
            Some((n, false)) => self.warning(
                n,
                None,
                "fencing is disabled (stonith-enabled=false): when a node stops responding, its \
                 resources are started elsewhere without making sure it is off, which can run \
                 them twice and corrupt shared data"
                    .to_string(),
            ),
            _ if devices.is_empty() && !have_watchdog => {
                let at = stonith_enabled.map(|(n, _)| n).or(resources).unwrap_or(0);
                self.error(
                    at,
                    None,
                    "fencing is enabled but no fence device is configured, so no resource will \
                     start: add a stonith resource (or set stonith-enabled=false on a test \
                     cluster)"
                        .to_string(),
                );
            }
            _ => {}
        }
        // Two nodes, fencing on, and nothing to make one of them win a
        // fencing race after a split.
        let members: Vec<usize> = self
            .config_named("node")
            .into_iter()
            .filter(|&n| {
                matches!(
                    self.tree.el(n).attr("type").map(str::trim),
                    None | Some("member") | Some("normal")
                )
            })
            .collect();
        let delayed = devices.iter().any(|&d| {
            ["delay", "pcmk_delay_base", "pcmk_delay_max"]
                .iter()
                .any(|p| self.param(d, p).is_some_and(has_delay))
        });
        if members.len() == 2
            && self.stonith_enabled
            && !devices.is_empty()
            && !delayed
            && !priority_delay
        {
            let nodes = self.config_named("nodes").first().copied().unwrap_or(0);
            self.warning(
                nodes,
                None,
                "a two-node cluster has no protection against fencing races: after a split both \
                 nodes may fence each other at the same time; set pcmk_delay_base (e.g. 5s) on \
                 the fence device of the node that should survive, or the cluster property \
                 priority-fencing-delay (e.g. 15s) with resource priorities"
                    .to_string(),
            );
        }
    }

    fn fencing(&mut self) {
        let nodes = self.node_names();
        for l in self.config_named("fencing-level") {
            let e = self.tree.el(l);
            if let Some(devices) = e.attr("devices") {
                let well_formed = !devices.is_empty()
                    && devices.split(',').all(|d| {
                        !d.is_empty()
                            && d.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                    });
                if !well_formed {
                    self.error(
                        l,
                        Some("devices"),
                        format!(
                            "attribute 'devices' is '{devices}': expected fence device ids \
                             separated by commas, without spaces"
                        ),
                    );
                } else {
                    let fence_ids: Vec<&str> = (0..self.tree.nodes.len())
                        .filter(|&i| self.is_resource(i) && self.is_fence_device(i))
                        .filter_map(|i| self.tree.el(i).id())
                        .collect();
                    for d in devices.split(',') {
                        match self.def(d) {
                            None => self.error(
                                l,
                                Some("devices"),
                                format!(
                                    "fence device '{d}' does not exist{}",
                                    did_you_mean(d, fence_ids.iter().copied())
                                ),
                            ),
                            Some(i) if !self.is_fence_device(i) => {
                                let what = match self.tree.el(i).attr("class") {
                                    Some(c) if self.tree.el(i).name == "primitive" => {
                                        format!("a resource of class '{c}'")
                                    }
                                    _ => article(&self.tree.el(i).name),
                                };
                                self.error(
                                    l,
                                    Some("devices"),
                                    format!("'{d}' is not a fence device: it is {what}"),
                                );
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
            if let Some(target) = e.attr("target") {
                if !nodes.contains(target) {
                    self.warning(
                        l,
                        Some("target"),
                        format!(
                            "target '{target}' is not a node of this cluster{}",
                            did_you_mean(target, nodes.iter().copied())
                        ),
                    );
                }
            }
        }
    }

    fn tags(&mut self) {
        for r in self.config_named("obj_ref") {
            if let Some(id) = self.tree.el(r).attr("id") {
                if self.def(id.trim()).is_none() {
                    let hint = did_you_mean(id, self.resource_ids());
                    self.warning(r, Some("id"), format!("'{id}' does not exist{hint}"));
                }
            }
        }
    }

    fn nodes(&mut self) {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for n in self.config_named("node") {
            let Some(uname) = self.tree.el(n).attr("uname") else {
                continue;
            };
            match seen.get(uname) {
                Some(&first) => {
                    let first_id = self.tree.el(first).id().unwrap_or("").to_string();
                    self.warning(
                        n,
                        Some("uname"),
                        format!("name '{uname}' is already used by node '{first_id}' ({{line}})"),
                    );
                    self.related(first);
                }
                None => {
                    seen.insert(uname, n);
                }
            }
        }
    }
}

/// `crm_is_true`
fn is_true(v: &str) -> bool {
    ["true", "on", "yes", "y", "1"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
}

/// `crm_str_to_boolean` accepts it.
fn is_boolean(v: &str) -> bool {
    is_true(v)
        || ["false", "off", "no", "n", "0"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
}

/// A fencing delay parameter that delays: a non-zero duration, or a
/// per-node map (`node1:5s;node2:0`) with one.
fn has_delay(v: &str) -> bool {
    v.split([';', ','])
        .map(|item| item.rsplit(':').next().unwrap_or(item))
        .any(|d| parse_msec(d).is_ok_and(|ms| ms > 0))
}

/// "an <nvpair>", "a <primitive>"
fn article(name: &str) -> String {
    let vowel = name
        .chars()
        .next()
        .is_some_and(|c| "aeiou".contains(c.to_ascii_lowercase()));
    format!("{} <{name}>", if vowel { "an" } else { "a" })
}

/// "20s", "1.5s", "2m", "24h", "0"
fn human_ms(ms: u64) -> String {
    if ms == 0 {
        "0".to_string()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// " (did you mean 'x'?)" for the closest of `candidates`, if close.
fn did_you_mean<'s>(word: &str, candidates: impl IntoIterator<Item = &'s str>) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let w = norm(word);
    let limit = (w.chars().count() / 4).clamp(1, 3);
    let best = candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(&w, &norm(c)), c))
        .filter(|(d, _)| *d <= limit)
        .min();
    match best {
        Some((_, c)) => format!(" (did you mean '{c}'?)"),
        None => String::new(),
    }
}

/// Levenshtein distance with transpositions (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

// ---------------------------------------------------------------------------
// Cluster properties, as Pacemaker 2.1.5's scheduler, controller and CIB
// manager define them.

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Boolean,
    /// An interval spec (`crm_parse_interval_spec`).
    Time,
    /// An integer, INFINITY or -INFINITY (`pcmk__valid_number`).
    Number,
    /// A positive integer or INFINITY.
    PositiveNumber,
    /// An integer followed by `%`.
    Percentage,
    /// One of these (case-insensitive unless `exact`).
    Select(&'static [&'static str], bool),
    /// A time, or a negative number (auto).
    WatchdogTimeout,
}

impl Kind {
    fn accepts(self, v: &str) -> bool {
        match self {
            Kind::Text => true,
            Kind::Boolean => is_boolean(v),
            Kind::Time => parse_interval_ms(v).is_ok(),
            Kind::Number => is_infinity(v) || v == "-INFINITY" || leading_integer(v).is_some(),
            Kind::PositiveNumber => is_infinity(v) || leading_integer(v).is_some_and(|n| n > 0),
            Kind::Percentage => {
                let digits = v.trim_start().trim_start_matches(['+', '-']);
                let rest = digits.trim_start_matches(|c: char| c.is_ascii_digit());
                (rest.is_empty() || rest.starts_with('%'))
                    && none_or(leading_integer(v), |n| n >= 0)
            }
            Kind::Select(values, exact) => values.iter().any(|x| {
                if exact {
                    *x == v
                } else {
                    x.eq_ignore_ascii_case(v)
                }
            }),
            Kind::WatchdogTimeout => {
                parse_interval_ms(v).is_ok() || leading_integer(v).is_some_and(|n| n < 0)
            }
        }
    }

    fn describe(self) -> String {
        match self {
            Kind::Text => "text".into(),
            Kind::Boolean => "true or false".into(),
            Kind::Time => "a duration such as 20s, 5min or PT1H".into(),
            Kind::Number => "an integer".into(),
            Kind::PositiveNumber => "a positive integer".into(),
            Kind::Percentage => "a percentage such as 80%".into(),
            Kind::Select(values, _) => schema_join(values),
            Kind::WatchdogTimeout => "a duration, or a negative number for automatic".into(),
        }
    }
}

fn schema_join(values: &[&str]) -> String {
    match values {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn is_infinity(v: &str) -> bool {
    v == "INFINITY" || v == "+INFINITY"
}

/// What `strtoll` reads from the start of `v`, if it reads anything.
fn leading_integer(v: &str) -> Option<i64> {
    let t = v.trim_start();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    Some(sign * digits.parse::<i64>().unwrap_or(i64::MAX))
}

struct Property {
    name: &'static str,
    /// The older name Pacemaker still reads, with a warning.
    legacy_name: Option<&'static str>,
    kind: Kind,
    default: &'static str,
}

const fn prop(name: &'static str, kind: Kind, default: &'static str) -> Property {
    Property {
        name,
        legacy_name: None,
        kind,
        default,
    }
}

const QUORUM_POLICIES: &[&str] = &["stop", "freeze", "ignore", "demote", "suicide"];
const HEALTH_STRATEGIES: &[&str] = &[
    "none",
    "migrate-on-red",
    "only-green",
    "progressive",
    "custom",
];
const PLACEMENT: &[&str] = &["default", "utilization", "minimal", "balanced"];

const PROPERTIES: &[Property] = &[
    // The scheduler's (checked by crm_verify).
    prop(
        "no-quorum-policy",
        Kind::Select(QUORUM_POLICIES, false),
        "stop",
    ),
    prop("symmetric-cluster", Kind::Boolean, "true"),
    prop("maintenance-mode", Kind::Boolean, "false"),
    prop("start-failure-is-fatal", Kind::Boolean, "true"),
    prop("enable-startup-probes", Kind::Boolean, "true"),
    prop("shutdown-lock", Kind::Boolean, "false"),
    prop("shutdown-lock-limit", Kind::Time, "0"),
    prop("stonith-enabled", Kind::Boolean, "true"),
    prop(
        "stonith-action",
        Kind::Select(&["reboot", "off", "poweroff"], true),
        "reboot",
    ),
    prop("stonith-timeout", Kind::Time, "60s"),
    prop("have-watchdog", Kind::Boolean, "false"),
    prop("concurrent-fencing", Kind::Boolean, "false"),
    prop("startup-fencing", Kind::Boolean, "true"),
    prop("priority-fencing-delay", Kind::Time, "0"),
    prop("cluster-delay", Kind::Time, "60s"),
    prop("batch-limit", Kind::Number, "0"),
    prop("migration-limit", Kind::Number, "-1"),
    prop("stop-all-resources", Kind::Boolean, "false"),
    prop("stop-orphan-resources", Kind::Boolean, "true"),
    prop("stop-orphan-actions", Kind::Boolean, "true"),
    prop("remove-after-stop", Kind::Boolean, "false"),
    prop("pe-error-series-max", Kind::Number, "-1"),
    prop("pe-warn-series-max", Kind::Number, "5000"),
    prop("pe-input-series-max", Kind::Number, "4000"),
    prop(
        "node-health-strategy",
        Kind::Select(HEALTH_STRATEGIES, false),
        "none",
    ),
    prop("node-health-base", Kind::Number, "0"),
    prop("node-health-green", Kind::Number, "0"),
    prop("node-health-yellow", Kind::Number, "0"),
    prop("node-health-red", Kind::Number, "-INFINITY"),
    prop(
        "placement-strategy",
        Kind::Select(PLACEMENT, false),
        "default",
    ),
    // The controller's.
    prop("dc-version", Kind::Text, "none"),
    prop("cluster-infrastructure", Kind::Text, "corosync"),
    prop("cluster-name", Kind::Text, "(none)"),
    prop("dc-deadtime", Kind::Time, "20s"),
    prop("cluster-recheck-interval", Kind::Time, "15min"),
    prop("load-threshold", Kind::Percentage, "80%"),
    prop("node-action-limit", Kind::Number, "0"),
    prop("fence-reaction", Kind::Text, "stop"),
    prop("election-timeout", Kind::Time, "2min"),
    prop("shutdown-escalation", Kind::Time, "20min"),
    Property {
        legacy_name: Some("crmd-integration-timeout"),
        ..prop("join-integration-timeout", Kind::Time, "3min")
    },
    Property {
        legacy_name: Some("crmd-finalization-timeout"),
        ..prop("join-finalization-timeout", Kind::Time, "30min")
    },
    Property {
        legacy_name: Some("crmd-transition-delay"),
        ..prop("transition-delay", Kind::Time, "0s")
    },
    prop("stonith-watchdog-timeout", Kind::WatchdogTimeout, "0"),
    prop("stonith-max-attempts", Kind::PositiveNumber, "10"),
    // The CIB manager's.
    prop("enable-acl", Kind::Boolean, "false"),
    prop("cluster-ipc-limit", Kind::PositiveNumber, "500"),
    // Set by the tools.
    prop("last-lrm-refresh", Kind::Text, "(none)"),
];

/// Names Pacemaker's schema stopped accepting in pacemaker-2.10: the new
/// name when the document upgrade simply renames it, and what to do.
const RETIRED_PROPERTIES: &[(&str, Option<&str>, &str)] = &[
    (
        "cluster_recheck_interval",
        Some("cluster-recheck-interval"),
        "use cluster-recheck-interval",
    ),
    ("dc_deadtime", Some("dc-deadtime"), "use dc-deadtime"),
    ("default-action-timeout", None, "set timeout in op_defaults"),
    ("default_action_timeout", None, "set timeout in op_defaults"),
    (
        "default-migration-threshold",
        None,
        "set migration-threshold in rsc_defaults",
    ),
    (
        "default_migration_threshold",
        None,
        "set migration-threshold in rsc_defaults",
    ),
    (
        "default-resource-failure-stickiness",
        None,
        "set migration-threshold in rsc_defaults",
    ),
    (
        "default_resource_failure_stickiness",
        None,
        "set migration-threshold in rsc_defaults",
    ),
    (
        "default-resource-stickiness",
        None,
        "set resource-stickiness in rsc_defaults",
    ),
    (
        "default_resource_stickiness",
        None,
        "set resource-stickiness in rsc_defaults",
    ),
    (
        "election_timeout",
        Some("election-timeout"),
        "use election-timeout",
    ),
    (
        "expected-quorum-votes",
        None,
        "corosync's votequorum counts the votes",
    ),
    ("is-managed-default", None, "set is-managed in rsc_defaults"),
    ("is_managed_default", None, "set is-managed in rsc_defaults"),
    (
        "no_quorum_policy",
        Some("no-quorum-policy"),
        "use no-quorum-policy",
    ),
    ("notification-agent", None, "configure an alert"),
    (
        "notification-recipient",
        None,
        "configure an alert recipient",
    ),
    (
        "remove_after_stop",
        Some("remove-after-stop"),
        "use remove-after-stop",
    ),
    (
        "shutdown_escalation",
        Some("shutdown-escalation"),
        "use shutdown-escalation",
    ),
    (
        "startup_fencing",
        Some("startup-fencing"),
        "use startup-fencing",
    ),
    (
        "stonith_action",
        Some("stonith-action"),
        "use stonith-action",
    ),
    (
        "stonith_enabled",
        Some("stonith-enabled"),
        "use stonith-enabled",
    ),
    (
        "stop_orphan_actions",
        Some("stop-orphan-actions"),
        "use stop-orphan-actions",
    ),
    (
        "stop_orphan_resources",
        Some("stop-orphan-resources"),
        "use stop-orphan-resources",
    ),
    (
        "symmetric_cluster",
        Some("symmetric-cluster"),
        "use symmetric-cluster",
    ),
    ("transition_idle_timeout", None, "it has no replacement"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_plurals() {
        let e = Diagnostic::error("x");
        let w = Diagnostic::warning("y");
        assert_eq!(summary(&[]), "0 errors, 0 warnings");
        assert_eq!(
            summary(&[e.clone(), e.clone(), w.clone()]),
            "2 errors, 1 warning"
        );
        assert_eq!(exit_code(std::slice::from_ref(&w)), 0);
        assert_eq!(exit_code(&[w, e]), EXIT_INVALID);
    }

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(
            did_you_mean("no-quorum-polcy", PROPERTIES.iter().map(|p| p.name)),
            " (did you mean 'no-quorum-policy'?)"
        );
        assert_eq!(
            did_you_mean("stonith_enabled", PROPERTIES.iter().map(|p| p.name)),
            " (did you mean 'stonith-enabled'?)"
        );
        assert_eq!(
            did_you_mean("colour", PROPERTIES.iter().map(|p| p.name)),
            ""
        );
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn property_kinds_follow_pacemaker_validators() {
        assert!(Kind::Number.accepts("10x"), "strtoll reads a prefix");
        assert!(!Kind::Number.accepts("x10"));
        assert!(Kind::PositiveNumber.accepts("INFINITY"));
        assert!(!Kind::PositiveNumber.accepts("0"));
        assert!(Kind::Percentage.accepts("80%"));
        assert!(Kind::Percentage.accepts("80"));
        assert!(!Kind::Percentage.accepts("80x"));
        assert!(Kind::Boolean.accepts("Yes"));
        assert!(!Kind::Boolean.accepts("maybe"));
        assert!(Kind::Select(QUORUM_POLICIES, false).accepts("Freeze"));
        assert!(!Kind::Select(&["off"], true).accepts("Off"));
        assert!(Kind::Time.accepts("PT5M"));
        assert!(!Kind::Time.accepts("5x"));
    }

    #[test]
    fn delays_and_durations_read_as_written() {
        assert!(has_delay("5s"));
        assert!(!has_delay("0"));
        assert!(has_delay("n1:0;n2:10s"));
        assert_eq!(human_ms(86_400_000), "24h");
        assert_eq!(human_ms(90_000), "90s");
        assert_eq!(human_ms(120_000), "2min");
        assert_eq!(human_ms(1_500), "1500ms");
    }
}
