//! The typed CIB: configuration and status as Pacemaker writes them. Names of
//! XML elements and attributes stay Pacemaker's (see the `xml` names in each
//! doc comment); Rust names are plain.
//!
//! Every struct keeps the attributes it does not model in `extra_attrs` and
//! the child elements it does not model in `extra`, so that a document read
//! and written back loses nothing. Attribute values are kept as strings where
//! Pacemaker accepts several spellings (booleans, intervals); the scheduler
//! interprets them.
//!
//! Invariant: plain data. No IO, no interpretation beyond what a field's type
//! says.

use super::xml::{Attrs, Element, Pos, XmlNode};

/// `<cib>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cib {
    pub admin_epoch: u64,
    pub epoch: u64,
    pub num_updates: u64,
    pub validate_with: Option<String>,
    pub crm_feature_set: Option<String>,
    /// `have-quorum`: "1"/"0"/"true"/"false" as written.
    pub have_quorum: Option<String>,
    pub dc_uuid: Option<String>,
    pub extra_attrs: Attrs,
    pub configuration: Configuration,
    pub status: Status,
    pub extra: Vec<Element>,
}

/// `<configuration>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Configuration {
    /// `<crm_config>`: `cluster_property_set`s.
    pub crm_config: Vec<NvSet>,
    pub nodes: Vec<NodeDef>,
    /// `<resources>` children in document order.
    pub resources: Vec<ResourceItem>,
    /// `<constraints>` children in document order.
    pub constraints: Vec<ConstraintItem>,
    /// `<rsc_defaults>`: `meta_attributes` sets.
    pub rsc_defaults: Option<Vec<NvSet>>,
    /// `<op_defaults>`: `meta_attributes` sets.
    pub op_defaults: Option<Vec<NvSet>>,
    pub fencing_topology: Option<FencingTopology>,
    /// Sections warden does not model: alerts, acls, tags, ...
    pub extra: Vec<Element>,
    pub extra_attrs: Attrs,
}

/// Which kind of name/value set an `NvSet` is (its element name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetKind {
    /// `instance_attributes`
    Instance,
    /// `meta_attributes`
    Meta,
    /// `utilization`
    Utilization,
    /// `cluster_property_set`
    ClusterProperty,
}

impl SetKind {
    pub fn xml_name(self) -> &'static str {
        match self {
            SetKind::Instance => "instance_attributes",
            SetKind::Meta => "meta_attributes",
            SetKind::Utilization => "utilization",
            SetKind::ClusterProperty => "cluster_property_set",
        }
    }

    pub fn from_xml_name(name: &str) -> Option<SetKind> {
        Some(match name {
            "instance_attributes" => SetKind::Instance,
            "meta_attributes" => SetKind::Meta,
            "utilization" => SetKind::Utilization,
            "cluster_property_set" => SetKind::ClusterProperty,
            _ => return None,
        })
    }
}

/// A set of name/value pairs, optionally guarded by a rule and ordered by
/// `score` against other sets of the same kind.
#[derive(Debug, Clone, PartialEq)]
pub struct NvSet {
    pub kind: SetKind,
    pub id: String,
    pub id_ref: Option<String>,
    pub score: Option<String>,
    pub rule: Option<Rule>,
    pub pairs: Vec<NvPair>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

impl NvSet {
    pub fn new(kind: SetKind, id: impl Into<String>) -> NvSet {
        NvSet {
            kind,
            id: id.into(),
            id_ref: None,
            score: None,
            rule: None,
            pairs: Vec::new(),
            extra_attrs: Vec::new(),
            extra: Vec::new(),
            pos: Pos::NONE,
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_deref())
    }
}

/// `<nvpair id name value/>`
#[derive(Debug, Clone, PartialEq)]
pub struct NvPair {
    pub id: String,
    pub id_ref: Option<String>,
    pub name: String,
    pub value: Option<String>,
    pub extra_attrs: Attrs,
    pub pos: Pos,
}

impl NvPair {
    pub fn new(id: impl Into<String>, name: impl Into<String>, value: impl Into<String>) -> NvPair {
        NvPair {
            id: id.into(),
            id_ref: None,
            name: name.into(),
            value: Some(value.into()),
            extra_attrs: Vec::new(),
            pos: Pos::NONE,
        }
    }
}

/// `<rule>`
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub id_ref: Option<String>,
    pub score: Option<String>,
    pub score_attribute: Option<String>,
    /// `and` (default) or `or`.
    pub boolean_op: Option<String>,
    pub role: Option<String>,
    pub items: Vec<RuleItem>,
    pub extra_attrs: Attrs,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleItem {
    /// `<expression attribute operation value type value-source/>`
    Expr(Expression),
    /// `<date_expression>` with its optional `date_spec`/`duration`.
    Date(DateExpression),
    /// `<rsc_expression class provider type/>` (in rsc_defaults rules)
    Rsc(Element),
    /// `<op_expression name interval/>` (in op_defaults rules)
    Op(Element),
    /// A nested `<rule>`.
    Rule(Rule),
    Other(Element),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub id: String,
    pub attribute: String,
    pub operation: String,
    pub value: Option<String>,
    /// `type`: string, integer, number, version.
    pub value_type: Option<String>,
    /// `value-source`: literal, param, meta.
    pub value_source: Option<String>,
    pub extra_attrs: Attrs,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DateExpression {
    pub id: String,
    /// in_range, gt, lt, date_spec
    pub operation: String,
    pub start: Option<String>,
    pub end: Option<String>,
    /// `<date_spec>` attributes (years, months, weekdays, hours, ...).
    pub date_spec: Option<Element>,
    /// `<duration>` attributes (years, months, weeks, days, hours, ...).
    pub duration: Option<Element>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// `<node>` in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDef {
    pub id: String,
    pub uname: String,
    /// `type`: member (default), remote, ping.
    pub kind: Option<String>,
    pub score: Option<String>,
    pub description: Option<String>,
    pub sets: Vec<NvSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// A child of `<resources>` (or of a `<group>` for primitives).
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceItem {
    Primitive(Primitive),
    Group(Group),
    /// clone, master, bundle, template: kept verbatim; the scheduler says by
    /// name that it cannot act on them.
    Other(Element),
    Comment(String),
}

/// `<primitive>`
#[derive(Debug, Clone, PartialEq)]
pub struct Primitive {
    pub id: String,
    /// `class`: ocf, lsb, systemd, service, stonith.
    pub class: Option<String>,
    pub provider: Option<String>,
    /// `type`
    pub kind: Option<String>,
    pub template: Option<String>,
    pub description: Option<String>,
    /// instance_attributes, meta_attributes and utilization sets in order.
    pub sets: Vec<NvSet>,
    pub operations: Option<Operations>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

impl Primitive {
    pub fn sets_of(&self, kind: SetKind) -> impl Iterator<Item = &NvSet> {
        self.sets.iter().filter(move |s| s.kind == kind)
    }

    /// The first value of `name` in sets of `kind`, ignoring rules (for
    /// tools; the scheduler evaluates rules).
    pub fn attr(&self, kind: SetKind, name: &str) -> Option<&str> {
        self.sets_of(kind).find_map(|s| s.get(name))
    }

    /// `class[:provider]:type`
    pub fn agent_spec(&self) -> String {
        let class = self.class.as_deref().unwrap_or("");
        let kind = self.kind.as_deref().unwrap_or("");
        match &self.provider {
            Some(p) => format!("{class}:{p}:{kind}"),
            None => format!("{class}:{kind}"),
        }
    }
}

/// `<operations>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Operations {
    pub id: Option<String>,
    pub id_ref: Option<String>,
    pub ops: Vec<Op>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
}

/// `<op>`
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub id: String,
    pub name: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub role: Option<String>,
    pub on_fail: Option<String>,
    pub start_delay: Option<String>,
    pub interval_origin: Option<String>,
    pub record_pending: Option<String>,
    pub enabled: Option<String>,
    pub requires: Option<String>,
    pub description: Option<String>,
    pub sets: Vec<NvSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

impl Op {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Op {
        Op {
            id: id.into(),
            name: name.into(),
            interval: None,
            timeout: None,
            role: None,
            on_fail: None,
            start_delay: None,
            interval_origin: None,
            record_pending: None,
            enabled: None,
            requires: None,
            description: None,
            sets: Vec::new(),
            extra_attrs: Vec::new(),
            extra: Vec::new(),
            pos: Pos::NONE,
        }
    }
}

/// `<group>`
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub description: Option<String>,
    pub primitives: Vec<Primitive>,
    pub sets: Vec<NvSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<XmlNode>,
    pub pos: Pos,
}

/// A child of `<constraints>`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintItem {
    Location(Location),
    Colocation(Colocation),
    Order(Order),
    /// rsc_ticket and anything newer: kept verbatim.
    Other(Element),
    Comment(String),
}

impl ConstraintItem {
    pub fn id(&self) -> Option<&str> {
        match self {
            ConstraintItem::Location(c) => Some(&c.id),
            ConstraintItem::Colocation(c) => Some(&c.id),
            ConstraintItem::Order(c) => Some(&c.id),
            ConstraintItem::Other(e) => e.id(),
            ConstraintItem::Comment(_) => None,
        }
    }
}

/// `<rsc_location>`
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub id: String,
    pub rsc: Option<String>,
    pub rsc_pattern: Option<String>,
    pub role: Option<String>,
    pub node: Option<String>,
    pub score: Option<String>,
    pub resource_discovery: Option<String>,
    pub rules: Vec<Rule>,
    pub sets: Vec<ResourceSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// `<rsc_colocation>`
#[derive(Debug, Clone, PartialEq)]
pub struct Colocation {
    pub id: String,
    pub rsc: Option<String>,
    pub with_rsc: Option<String>,
    pub score: Option<String>,
    pub rsc_role: Option<String>,
    pub with_rsc_role: Option<String>,
    pub node_attribute: Option<String>,
    pub influence: Option<String>,
    pub sets: Vec<ResourceSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// `<rsc_order>`
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub first: Option<String>,
    pub then: Option<String>,
    pub first_action: Option<String>,
    pub then_action: Option<String>,
    /// `kind`: Mandatory, Optional, Serialize.
    pub kind: Option<String>,
    /// The deprecated `score` form of `kind`.
    pub score: Option<String>,
    pub symmetrical: Option<String>,
    pub require_all: Option<String>,
    pub sets: Vec<ResourceSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// `<resource_set>`
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSet {
    pub id: String,
    pub id_ref: Option<String>,
    pub sequential: Option<String>,
    pub require_all: Option<String>,
    pub ordering: Option<String>,
    pub action: Option<String>,
    pub role: Option<String>,
    pub score: Option<String>,
    pub kind: Option<String>,
    /// `<resource_ref id/>` in order.
    pub resources: Vec<String>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// `<fencing-topology>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FencingTopology {
    pub levels: Vec<FencingLevel>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
}

/// `<fencing-level>`
#[derive(Debug, Clone, PartialEq)]
pub struct FencingLevel {
    pub id: String,
    pub target: Option<String>,
    pub target_pattern: Option<String>,
    pub target_attribute: Option<String>,
    pub target_value: Option<String>,
    pub index: String,
    pub devices: String,
    pub extra_attrs: Attrs,
    pub pos: Pos,
}

/// `<status>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub node_states: Vec<NodeState>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
}

/// `<node_state>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeState {
    pub id: String,
    pub uname: Option<String>,
    pub in_ccm: Option<String>,
    pub crmd: Option<String>,
    pub join: Option<String>,
    pub expected: Option<String>,
    pub crm_debug_origin: Option<String>,
    pub transient: Option<Transient>,
    pub lrm: Option<Lrm>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

impl NodeState {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.extra_attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `<transient_attributes>`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transient {
    pub id: Option<String>,
    pub sets: Vec<NvSet>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
}

/// `<lrm>` with its `<lrm_resources>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lrm {
    pub id: Option<String>,
    pub resources_id: Option<String>,
    /// `lrm_resources` was present (an empty one is written back).
    pub has_resources_element: bool,
    pub resources: Vec<LrmResource>,
    pub extra_attrs: Attrs,
    pub resources_extra_attrs: Attrs,
    pub extra: Vec<Element>,
}

/// `<lrm_resource>`: one resource's operation history on one node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LrmResource {
    pub id: String,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
    pub ops: Vec<LrmRscOp>,
    pub extra_attrs: Attrs,
    pub extra: Vec<Element>,
    pub pos: Pos,
}

/// `<lrm_rsc_op>`: one recorded operation. Numbers Pacemaker always writes
/// as integers are integers here; an unreadable one stays a string in
/// `extra_attrs` (and is reported).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LrmRscOp {
    pub id: String,
    pub operation_key: Option<String>,
    pub operation: String,
    pub crm_debug_origin: Option<String>,
    pub crm_feature_set: Option<String>,
    pub transition_key: Option<String>,
    pub transition_magic: Option<String>,
    pub exit_reason: Option<String>,
    pub on_node: Option<String>,
    pub call_id: Option<i64>,
    pub rc_code: Option<i32>,
    pub op_status: Option<i32>,
    pub interval_ms: Option<u64>,
    pub last_run: Option<i64>,
    pub last_rc_change: Option<i64>,
    pub exec_time: Option<i64>,
    pub queue_time: Option<i64>,
    pub op_digest: Option<String>,
    pub op_force_restart: Option<String>,
    pub op_restart_digest: Option<String>,
    pub op_secure_params: Option<String>,
    pub op_secure_digest: Option<String>,
    pub migrate_source: Option<String>,
    pub migrate_target: Option<String>,
    pub extra_attrs: Attrs,
    pub pos: Pos,
}

impl Configuration {
    /// Every primitive, including group members, in document order.
    pub fn primitives(&self) -> impl Iterator<Item = &Primitive> {
        self.resources.iter().flat_map(|item| {
            let v: Vec<&Primitive> = match item {
                ResourceItem::Primitive(p) => vec![p],
                ResourceItem::Group(g) => g.primitives.iter().collect(),
                _ => Vec::new(),
            };
            v.into_iter()
        })
    }

    pub fn primitive(&self, id: &str) -> Option<&Primitive> {
        self.primitives().find(|p| p.id == id)
    }

    pub fn primitive_mut(&mut self, id: &str) -> Option<&mut Primitive> {
        for item in &mut self.resources {
            match item {
                ResourceItem::Primitive(p) if p.id == id => return Some(p),
                ResourceItem::Group(g) => {
                    if let Some(p) = g.primitives.iter_mut().find(|p| p.id == id) {
                        return Some(p);
                    }
                }
                _ => {}
            }
        }
        None
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.resources.iter().filter_map(|r| match r {
            ResourceItem::Group(g) => Some(g),
            _ => None,
        })
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups().find(|g| g.id == id)
    }

    pub fn group_mut(&mut self, id: &str) -> Option<&mut Group> {
        self.resources.iter_mut().find_map(|r| match r {
            ResourceItem::Group(g) if g.id == id => Some(g),
            _ => None,
        })
    }

    /// The group a primitive belongs to, if any.
    pub fn group_of(&self, primitive_id: &str) -> Option<&Group> {
        self.groups()
            .find(|g| g.primitives.iter().any(|p| p.id == primitive_id))
    }

    /// Whether any resource-like element (primitive, group, clone, ...) has
    /// this id.
    pub fn has_resource(&self, id: &str) -> bool {
        self.resources.iter().any(|r| match r {
            ResourceItem::Primitive(p) => p.id == id,
            ResourceItem::Group(g) => g.id == id || g.primitives.iter().any(|p| p.id == id),
            ResourceItem::Other(e) => e.descendants().iter().any(|d| d.id() == Some(id)),
            ResourceItem::Comment(_) => false,
        })
    }

    /// A cluster property from the first `cluster_property_set` that has it
    /// (rules ignored: for tools; the scheduler evaluates rules).
    pub fn property(&self, name: &str) -> Option<&str> {
        self.crm_config.iter().find_map(|s| s.get(name))
    }

    pub fn node(&self, uname: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|n| n.uname == uname)
    }
}

impl Status {
    pub fn node_state(&self, id: &str) -> Option<&NodeState> {
        self.node_states.iter().find(|n| n.id == id)
    }
}
