//! Ids the way pcs makes them, so that a CIB written by warden diffs cleanly
//! against one written by `pcs -f`: `RSC-instance_attributes-ip`,
//! `colocation-A-B-INFINITY`, and on a clash the pcs suffixes `-1`, `-2`, ...
//!
//! Invariant: an id handed out is unique among every id in the
//! configuration (the status section is not counted, as in pcs: it may name
//! resources that were deleted) and among the ids handed out before.

use crate::core::cib::xml::Element;
use crate::core::cib::*;
use std::collections::BTreeSet;

/// The ids in use, and the allocator of new ones.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    used: BTreeSet<String>,
}

/// pcs's `sanitize_id`: drop a first character that may not start an XML
/// id, and any later character that may not appear in one.
pub fn sanitize(candidate: &str) -> String {
    let mut chars = candidate.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out = String::with_capacity(candidate.len());
    if first.is_ascii_alphabetic() || first == '_' {
        out.push(first);
    }
    out.extend(chars.filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
    out
}

impl Ids {
    /// Every id in the configuration of `cib`.
    pub fn of(cib: &Cib) -> Ids {
        let mut ids = Ids::default();
        ids.collect_configuration(&cib.configuration);
        for e in &cib.extra {
            ids.element(e);
        }
        ids
    }

    pub fn exists(&self, id: &str) -> bool {
        self.used.contains(id)
    }

    /// Books an id chosen by the operator; false if it is taken.
    pub fn book(&mut self, id: &str) -> bool {
        self.used.insert(id.to_string())
    }

    /// pcs's `find_unique_id`: `proposed`, or `proposed-1`, `proposed-2`, ...
    pub fn unique(&mut self, proposed: &str) -> String {
        let mut candidate = proposed.to_string();
        let mut n = 1u32;
        while self.used.contains(&candidate) {
            candidate = format!("{proposed}-{n}");
            n += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }

    /// pcs's `create_subelement_id`: `PARENT-SUFFIX`, sanitized, made unique.
    pub fn sub(&mut self, parent: &str, suffix: &str) -> String {
        self.unique(&sanitize(&format!("{parent}-{suffix}")))
    }

    fn add(&mut self, id: &str) {
        if !id.is_empty() {
            self.used.insert(id.to_string());
        }
    }

    fn collect_configuration(&mut self, c: &Configuration) {
        for s in &c.crm_config {
            self.set(s);
        }
        for n in &c.nodes {
            self.add(&n.id);
            for s in &n.sets {
                self.set(s);
            }
            for e in &n.extra {
                self.element(e);
            }
        }
        for r in &c.resources {
            match r {
                ResourceItem::Primitive(p) => self.primitive(p),
                ResourceItem::Group(g) => {
                    self.add(&g.id);
                    for s in &g.sets {
                        self.set(s);
                    }
                    for p in &g.primitives {
                        self.primitive(p);
                    }
                }
                ResourceItem::Other(e) => self.element(e),
                ResourceItem::Comment(_) => {}
            }
        }
        for x in &c.constraints {
            match x {
                ConstraintItem::Location(l) => {
                    self.add(&l.id);
                    for r in &l.rules {
                        self.rule(r);
                    }
                    for s in &l.sets {
                        self.resource_set(s);
                    }
                }
                ConstraintItem::Colocation(l) => {
                    self.add(&l.id);
                    for s in &l.sets {
                        self.resource_set(s);
                    }
                }
                ConstraintItem::Order(l) => {
                    self.add(&l.id);
                    for s in &l.sets {
                        self.resource_set(s);
                    }
                }
                ConstraintItem::Other(e) => self.element(e),
                ConstraintItem::Comment(_) => {}
            }
        }
        for sets in [&c.rsc_defaults, &c.op_defaults].into_iter().flatten() {
            for s in sets {
                self.set(s);
            }
        }
        if let Some(t) = &c.fencing_topology {
            for l in &t.levels {
                self.add(&l.id);
            }
            for e in &t.extra {
                self.element(e);
            }
        }
        for e in &c.extra {
            self.element(e);
        }
    }

    fn primitive(&mut self, p: &Primitive) {
        self.add(&p.id);
        for s in &p.sets {
            self.set(s);
            // pcs counts a guest node's name as an id: Pacemaker creates a
            // node resource of that name.
            if s.kind == SetKind::Meta {
                if let Some(v) = s.get("remote-node") {
                    self.add(v);
                }
            }
        }
        if let Some(ops) = &p.operations {
            if let Some(id) = &ops.id {
                self.add(id);
            }
            for op in &ops.ops {
                self.add(&op.id);
                for s in &op.sets {
                    self.set(s);
                }
            }
        }
        for e in &p.extra {
            self.element(e);
        }
    }

    fn set(&mut self, s: &NvSet) {
        self.add(&s.id);
        if let Some(r) = &s.rule {
            self.rule(r);
        }
        for p in &s.pairs {
            self.add(&p.id);
        }
    }

    fn rule(&mut self, r: &Rule) {
        self.add(&r.id);
        for item in &r.items {
            match item {
                RuleItem::Expr(e) => self.add(&e.id),
                RuleItem::Date(d) => {
                    self.add(&d.id);
                    for e in d.date_spec.iter().chain(d.duration.iter()) {
                        self.element(e);
                    }
                }
                RuleItem::Rule(r) => self.rule(r),
                RuleItem::Rsc(e) | RuleItem::Op(e) | RuleItem::Other(e) => self.element(e),
            }
        }
    }

    fn resource_set(&mut self, s: &ResourceSet) {
        self.add(&s.id);
    }

    /// Ids in a generic subtree; elements whose `id` refers to something
    /// else (references, ACL targets and roles) do not count.
    fn element(&mut self, e: &Element) {
        for d in e.descendants() {
            if matches!(
                d.name.as_str(),
                "resource_ref" | "obj_ref" | "acl_target" | "role"
            ) {
                continue;
            }
            if let Some(id) = d.id() {
                self.add(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_drops_what_an_id_cannot_hold() {
        assert_eq!(sanitize("location-R-n1-INFINITY"), "location-R-n1-INFINITY");
        assert_eq!(sanitize("1abc"), "abc");
        assert_eq!(sanitize("a b:c/d"), "abcd");
        assert_eq!(
            sanitize("location-R-n1--INFINITY"),
            "location-R-n1--INFINITY"
        );
        assert_eq!(sanitize(""), "");
    }

    #[test]
    fn unique_appends_counters_like_pcs() {
        let cib = parse(
            r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/><resources>
            <primitive id="a" class="ocf" provider="p" type="t"><instance_attributes id="a-instance_attributes"/></primitive>
            <clone id="c"><primitive id="inner" class="ocf" provider="p" type="t"/></clone>
            </resources><constraints><rsc_colocation id="x" rsc="a" with-rsc="c" score="1"/></constraints>
            <tags><tag id="t"><obj_ref id="free"/></tag></tags></configuration>
            <status><node_state id="1" uname="n"><lrm id="1"><lrm_resources><lrm_resource id="gone" class="ocf" type="t"/></lrm_resources></lrm></node_state></status></cib>"#,
            "t.xml",
        )
        .cib
        .unwrap();
        let mut ids = Ids::of(&cib);
        for taken in ["a", "a-instance_attributes", "c", "inner", "x", "t"] {
            assert!(ids.exists(taken), "{taken}");
        }
        assert!(!ids.exists("free"), "obj_ref ids are references");
        assert!(!ids.exists("gone"), "status ids do not count");
        assert_eq!(
            ids.sub("a", "instance_attributes"),
            "a-instance_attributes-1"
        );
        assert_eq!(
            ids.sub("a", "instance_attributes"),
            "a-instance_attributes-2"
        );
        assert_eq!(ids.unique("x"), "x-1");
        assert_eq!(ids.unique("gone"), "gone");
    }
}
