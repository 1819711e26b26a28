//! Typed CIB -> XML text, two-space indented as Pacemaker writes it. Known
//! attributes first in Pacemaker's usual order, then the ones kept verbatim.
//!
//! Invariant: what `parse` read, `emit` writes back — no element or
//! attribute is dropped or invented (comments inside modelled elements other
//! than resources and constraints are the only loss, and they carry no
//! meaning).

use super::model::*;
use super::xml::{Element, XmlWriter};

/// Builds the attribute list of a tag, skipping absent optional values.
struct A<'a>(Vec<(&'a str, &'a str)>);

impl<'a> A<'a> {
    fn new() -> A<'a> {
        A(Vec::new())
    }
    fn req(mut self, k: &'a str, v: &'a str) -> A<'a> {
        self.0.push((k, v));
        self
    }
    fn opt(mut self, k: &'a str, v: &'a Option<String>) -> A<'a> {
        if let Some(v) = v {
            self.0.push((k, v));
        }
        self
    }
    /// An id that may be empty when an `id-ref` stands in for it.
    fn id(self, id: &'a str) -> A<'a> {
        if id.is_empty() {
            self
        } else {
            self.req("id", id)
        }
    }
}

/// The whole document, with an XML declaration-free root (as cibadmin writes).
pub fn to_xml(cib: &Cib) -> String {
    let mut w = XmlWriter::new();
    write_cib(&mut w, cib);
    w.out
}

fn write_cib(w: &mut XmlWriter, cib: &Cib) {
    let (ae, e, nu) = (
        cib.admin_epoch.to_string(),
        cib.epoch.to_string(),
        cib.num_updates.to_string(),
    );
    let a = A::new()
        .opt("crm_feature_set", &cib.crm_feature_set)
        .opt("validate-with", &cib.validate_with)
        .req("epoch", &e)
        .req("num_updates", &nu)
        .req("admin_epoch", &ae)
        .opt("have-quorum", &cib.have_quorum)
        .opt("dc-uuid", &cib.dc_uuid);
    w.open("cib", &a.0, &cib.extra_attrs);
    write_configuration(w, &cib.configuration);
    write_status(w, &cib.status);
    for x in &cib.extra {
        w.element(x);
    }
    w.close("cib");
}

/// `<configuration>` and everything in it.
pub fn write_configuration(w: &mut XmlWriter, c: &Configuration) {
    w.open("configuration", &[], &c.extra_attrs);
    section(
        w,
        "crm_config",
        |w| {
            for s in &c.crm_config {
                write_set(w, s);
            }
        },
        c.crm_config.is_empty(),
    );
    section(
        w,
        "nodes",
        |w| {
            for n in &c.nodes {
                write_node(w, n);
            }
        },
        c.nodes.is_empty(),
    );
    section(
        w,
        "resources",
        |w| {
            for r in &c.resources {
                write_resource_item(w, r);
            }
        },
        c.resources.is_empty(),
    );
    section(
        w,
        "constraints",
        |w| {
            for x in &c.constraints {
                write_constraint(w, x);
            }
        },
        c.constraints.is_empty(),
    );
    if let Some(t) = &c.fencing_topology {
        if t.levels.is_empty() && t.extra.is_empty() {
            w.empty("fencing-topology", &[], &t.extra_attrs);
        } else {
            w.open("fencing-topology", &[], &t.extra_attrs);
            for l in &t.levels {
                let a = A::new()
                    .req("id", &l.id)
                    .opt("target", &l.target)
                    .opt("target-pattern", &l.target_pattern)
                    .opt("target-attribute", &l.target_attribute)
                    .opt("target-value", &l.target_value)
                    .req("index", &l.index)
                    .req("devices", &l.devices);
                w.empty("fencing-level", &a.0, &l.extra_attrs);
            }
            for x in &t.extra {
                w.element(x);
            }
            w.close("fencing-topology");
        }
    }
    for (name, sets) in [
        ("rsc_defaults", &c.rsc_defaults),
        ("op_defaults", &c.op_defaults),
    ] {
        if let Some(sets) = sets {
            section(
                w,
                name,
                |w| {
                    for s in sets {
                        write_set(w, s);
                    }
                },
                sets.is_empty(),
            );
        }
    }
    for x in &c.extra {
        w.element(x);
    }
    w.close("configuration");
}

fn section(w: &mut XmlWriter, name: &str, body: impl FnOnce(&mut XmlWriter), empty: bool) {
    if empty {
        w.empty(name, &[], &[]);
    } else {
        w.open(name, &[], &[]);
        body(w);
        w.close(name);
    }
}

pub fn write_set(w: &mut XmlWriter, s: &NvSet) {
    let name = s.kind.xml_name();
    let a = A::new()
        .id(&s.id)
        .opt("id-ref", &s.id_ref)
        .opt("score", &s.score);
    if s.pairs.is_empty() && s.rule.is_none() && s.extra.is_empty() {
        w.empty(name, &a.0, &s.extra_attrs);
        return;
    }
    w.open(name, &a.0, &s.extra_attrs);
    if let Some(r) = &s.rule {
        write_rule(w, r);
    }
    for p in &s.pairs {
        let a = A::new()
            .id(&p.id)
            .opt("id-ref", &p.id_ref)
            .req("name", &p.name)
            .opt("value", &p.value);
        let a = if p.name.is_empty() {
            A(a.0.into_iter().filter(|(k, _)| *k != "name").collect())
        } else {
            a
        };
        w.empty("nvpair", &a.0, &p.extra_attrs);
    }
    for x in &s.extra {
        w.element(x);
    }
    w.close(name);
}

pub fn write_rule(w: &mut XmlWriter, r: &Rule) {
    let a = A::new()
        .id(&r.id)
        .opt("id-ref", &r.id_ref)
        .opt("score", &r.score)
        .opt("score-attribute", &r.score_attribute)
        .opt("boolean-op", &r.boolean_op)
        .opt("role", &r.role);
    if r.items.is_empty() {
        w.empty("rule", &a.0, &r.extra_attrs);
        return;
    }
    w.open("rule", &a.0, &r.extra_attrs);
    for item in &r.items {
        match item {
            RuleItem::Expr(e) => {
                let a = A::new()
                    .req("id", &e.id)
                    .req("attribute", &e.attribute)
                    .req("operation", &e.operation)
                    .opt("value", &e.value)
                    .opt("type", &e.value_type)
                    .opt("value-source", &e.value_source);
                w.empty("expression", &a.0, &e.extra_attrs);
            }
            RuleItem::Date(d) => {
                let a = A::new()
                    .req("id", &d.id)
                    .req("operation", &d.operation)
                    .opt("start", &d.start)
                    .opt("end", &d.end);
                if d.date_spec.is_none() && d.duration.is_none() && d.extra.is_empty() {
                    w.empty("date_expression", &a.0, &d.extra_attrs);
                } else {
                    w.open("date_expression", &a.0, &d.extra_attrs);
                    for x in d
                        .date_spec
                        .iter()
                        .chain(d.duration.iter())
                        .chain(d.extra.iter())
                    {
                        w.element(x);
                    }
                    w.close("date_expression");
                }
            }
            RuleItem::Rsc(e) | RuleItem::Op(e) | RuleItem::Other(e) => w.element(e),
            RuleItem::Rule(r) => write_rule(w, r),
        }
    }
    w.close("rule");
}

fn write_node(w: &mut XmlWriter, n: &NodeDef) {
    let a = A::new()
        .req("id", &n.id)
        .req("uname", &n.uname)
        .opt("type", &n.kind)
        .opt("score", &n.score)
        .opt("description", &n.description);
    if n.sets.is_empty() && n.extra.is_empty() {
        w.empty("node", &a.0, &n.extra_attrs);
        return;
    }
    w.open("node", &a.0, &n.extra_attrs);
    for s in &n.sets {
        write_set(w, s);
    }
    for x in &n.extra {
        w.element(x);
    }
    w.close("node");
}

pub fn write_resource_item(w: &mut XmlWriter, r: &ResourceItem) {
    match r {
        ResourceItem::Primitive(p) => write_primitive(w, p),
        ResourceItem::Group(g) => write_group(w, g),
        ResourceItem::Other(e) => w.element(e),
        ResourceItem::Comment(c) => w.comment(c),
    }
}

pub fn write_primitive(w: &mut XmlWriter, p: &Primitive) {
    let a = A::new()
        .req("id", &p.id)
        .opt("class", &p.class)
        .opt("provider", &p.provider)
        .opt("type", &p.kind)
        .opt("template", &p.template)
        .opt("description", &p.description);
    if p.sets.is_empty() && p.operations.is_none() && p.extra.is_empty() {
        w.empty("primitive", &a.0, &p.extra_attrs);
        return;
    }
    w.open("primitive", &a.0, &p.extra_attrs);
    for s in &p.sets {
        write_set(w, s);
    }
    if let Some(ops) = &p.operations {
        write_operations(w, ops);
    }
    for x in &p.extra {
        w.element(x);
    }
    w.close("primitive");
}

fn write_operations(w: &mut XmlWriter, ops: &Operations) {
    let a = A::new().opt("id", &ops.id).opt("id-ref", &ops.id_ref);
    if ops.ops.is_empty() && ops.extra.is_empty() {
        w.empty("operations", &a.0, &ops.extra_attrs);
        return;
    }
    w.open("operations", &a.0, &ops.extra_attrs);
    for op in &ops.ops {
        let a = A::new()
            .req("id", &op.id)
            .req("name", &op.name)
            .opt("interval", &op.interval)
            .opt("timeout", &op.timeout)
            .opt("role", &op.role)
            .opt("on-fail", &op.on_fail)
            .opt("start-delay", &op.start_delay)
            .opt("interval-origin", &op.interval_origin)
            .opt("record-pending", &op.record_pending)
            .opt("enabled", &op.enabled)
            .opt("requires", &op.requires)
            .opt("description", &op.description);
        if op.sets.is_empty() && op.extra.is_empty() {
            w.empty("op", &a.0, &op.extra_attrs);
        } else {
            w.open("op", &a.0, &op.extra_attrs);
            for s in &op.sets {
                write_set(w, s);
            }
            for x in &op.extra {
                w.element(x);
            }
            w.close("op");
        }
    }
    for x in &ops.extra {
        w.element(x);
    }
    w.close("operations");
}

fn write_group(w: &mut XmlWriter, g: &Group) {
    let a = A::new().req("id", &g.id).opt("description", &g.description);
    if g.primitives.is_empty() && g.sets.is_empty() && g.extra.is_empty() {
        w.empty("group", &a.0, &g.extra_attrs);
        return;
    }
    w.open("group", &a.0, &g.extra_attrs);
    for p in &g.primitives {
        write_primitive(w, p);
    }
    for s in &g.sets {
        write_set(w, s);
    }
    for x in &g.extra {
        w.node(x);
    }
    w.close("group");
}

pub fn write_constraint(w: &mut XmlWriter, c: &ConstraintItem) {
    match c {
        ConstraintItem::Location(l) => {
            let a = A::new()
                .req("id", &l.id)
                .opt("rsc", &l.rsc)
                .opt("rsc-pattern", &l.rsc_pattern)
                .opt("role", &l.role)
                .opt("node", &l.node)
                .opt("score", &l.score)
                .opt("resource-discovery", &l.resource_discovery);
            if l.rules.is_empty() && l.sets.is_empty() && l.extra.is_empty() {
                w.empty("rsc_location", &a.0, &l.extra_attrs);
            } else {
                w.open("rsc_location", &a.0, &l.extra_attrs);
                for s in &l.sets {
                    write_resource_set(w, s);
                }
                for r in &l.rules {
                    write_rule(w, r);
                }
                for x in &l.extra {
                    w.element(x);
                }
                w.close("rsc_location");
            }
        }
        ConstraintItem::Colocation(c) => {
            let a = A::new()
                .req("id", &c.id)
                .opt("rsc", &c.rsc)
                .opt("with-rsc", &c.with_rsc)
                .opt("score", &c.score)
                .opt("rsc-role", &c.rsc_role)
                .opt("with-rsc-role", &c.with_rsc_role)
                .opt("node-attribute", &c.node_attribute)
                .opt("influence", &c.influence);
            with_sets(w, "rsc_colocation", &a.0, &c.extra_attrs, &c.sets, &c.extra);
        }
        ConstraintItem::Order(o) => {
            let a = A::new()
                .req("id", &o.id)
                .opt("first", &o.first)
                .opt("first-action", &o.first_action)
                .opt("then", &o.then)
                .opt("then-action", &o.then_action)
                .opt("kind", &o.kind)
                .opt("score", &o.score)
                .opt("symmetrical", &o.symmetrical)
                .opt("require-all", &o.require_all);
            with_sets(w, "rsc_order", &a.0, &o.extra_attrs, &o.sets, &o.extra);
        }
        ConstraintItem::Other(e) => w.element(e),
        ConstraintItem::Comment(c) => w.comment(c),
    }
}

fn with_sets(
    w: &mut XmlWriter,
    name: &str,
    attrs: &[(&str, &str)],
    extra_attrs: &[(String, String)],
    sets: &[ResourceSet],
    extra: &[Element],
) {
    if sets.is_empty() && extra.is_empty() {
        w.empty(name, attrs, extra_attrs);
        return;
    }
    w.open(name, attrs, extra_attrs);
    for s in sets {
        write_resource_set(w, s);
    }
    for x in extra {
        w.element(x);
    }
    w.close(name);
}

fn write_resource_set(w: &mut XmlWriter, s: &ResourceSet) {
    let a = A::new()
        .id(&s.id)
        .opt("id-ref", &s.id_ref)
        .opt("sequential", &s.sequential)
        .opt("require-all", &s.require_all)
        .opt("ordering", &s.ordering)
        .opt("action", &s.action)
        .opt("role", &s.role)
        .opt("score", &s.score)
        .opt("kind", &s.kind);
    if s.resources.is_empty() && s.extra.is_empty() {
        w.empty("resource_set", &a.0, &s.extra_attrs);
        return;
    }
    w.open("resource_set", &a.0, &s.extra_attrs);
    for r in &s.resources {
        w.empty("resource_ref", &[("id", r)], &[]);
    }
    for x in &s.extra {
        w.element(x);
    }
    w.close("resource_set");
}

pub fn write_status(w: &mut XmlWriter, st: &Status) {
    if st.node_states.is_empty() && st.extra.is_empty() {
        w.empty("status", &[], &st.extra_attrs);
        return;
    }
    w.open("status", &[], &st.extra_attrs);
    for ns in &st.node_states {
        write_node_state(w, ns);
    }
    for x in &st.extra {
        w.element(x);
    }
    w.close("status");
}

pub fn write_node_state(w: &mut XmlWriter, ns: &NodeState) {
    let a = A::new()
        .id(&ns.id)
        .opt("uname", &ns.uname)
        .opt("in_ccm", &ns.in_ccm)
        .opt("crmd", &ns.crmd)
        .opt("crm-debug-origin", &ns.crm_debug_origin)
        .opt("join", &ns.join)
        .opt("expected", &ns.expected);
    if ns.transient.is_none() && ns.lrm.is_none() && ns.extra.is_empty() {
        w.empty("node_state", &a.0, &ns.extra_attrs);
        return;
    }
    w.open("node_state", &a.0, &ns.extra_attrs);
    if let Some(t) = &ns.transient {
        let a = A::new().opt("id", &t.id);
        if t.sets.is_empty() && t.extra.is_empty() {
            w.empty("transient_attributes", &a.0, &t.extra_attrs);
        } else {
            w.open("transient_attributes", &a.0, &t.extra_attrs);
            for s in &t.sets {
                write_set(w, s);
            }
            for x in &t.extra {
                w.element(x);
            }
            w.close("transient_attributes");
        }
    }
    if let Some(lrm) = &ns.lrm {
        let a = A::new().opt("id", &lrm.id);
        if !lrm.has_resources_element && lrm.resources.is_empty() && lrm.extra.is_empty() {
            w.empty("lrm", &a.0, &lrm.extra_attrs);
        } else {
            w.open("lrm", &a.0, &lrm.extra_attrs);
            let ra = A::new().opt("id", &lrm.resources_id);
            if lrm.resources.is_empty() {
                w.empty("lrm_resources", &ra.0, &lrm.resources_extra_attrs);
            } else {
                w.open("lrm_resources", &ra.0, &lrm.resources_extra_attrs);
                for r in &lrm.resources {
                    write_lrm_resource(w, r);
                }
                w.close("lrm_resources");
            }
            for x in &lrm.extra {
                w.element(x);
            }
            w.close("lrm");
        }
    }
    for x in &ns.extra {
        w.element(x);
    }
    w.close("node_state");
}

fn write_lrm_resource(w: &mut XmlWriter, r: &LrmResource) {
    let a = A::new()
        .req("id", &r.id)
        .opt("class", &r.class)
        .opt("provider", &r.provider)
        .opt("type", &r.kind);
    if r.ops.is_empty() && r.extra.is_empty() {
        w.empty("lrm_resource", &a.0, &r.extra_attrs);
        return;
    }
    w.open("lrm_resource", &a.0, &r.extra_attrs);
    for op in &r.ops {
        write_lrm_rsc_op(w, op);
    }
    for x in &r.extra {
        w.element(x);
    }
    w.close("lrm_resource");
}

fn write_lrm_rsc_op(w: &mut XmlWriter, op: &LrmRscOp) {
    fn n<T: ToString>(v: Option<T>) -> Option<String> {
        v.map(|v| v.to_string())
    }
    let nums = [
        n(op.call_id),
        n(op.rc_code),
        n(op.op_status),
        n(op.interval_ms),
        n(op.last_run),
        n(op.last_rc_change),
        n(op.exec_time),
        n(op.queue_time),
    ];
    let a = A::new()
        .req("id", &op.id)
        .opt("operation_key", &op.operation_key)
        .req("operation", &op.operation)
        .opt("crm-debug-origin", &op.crm_debug_origin)
        .opt("crm_feature_set", &op.crm_feature_set)
        .opt("transition-key", &op.transition_key)
        .opt("transition-magic", &op.transition_magic)
        .opt("exit-reason", &op.exit_reason)
        .opt("on_node", &op.on_node)
        .opt("call-id", &nums[0])
        .opt("rc-code", &nums[1])
        .opt("op-status", &nums[2])
        .opt("interval", &nums[3])
        .opt("last-run", &nums[4])
        .opt("last-rc-change", &nums[5])
        .opt("exec-time", &nums[6])
        .opt("queue-time", &nums[7])
        .opt("op-digest", &op.op_digest)
        .opt("op-force-restart", &op.op_force_restart)
        .opt("op-restart-digest", &op.op_restart_digest)
        .opt("op-secure-params", &op.op_secure_params)
        .opt("op-secure-digest", &op.op_secure_digest)
        .opt("migrate_source", &op.migrate_source)
        .opt("migrate_target", &op.migrate_target);
    w.empty("lrm_rsc_op", &a.0, &op.extra_attrs);
}
