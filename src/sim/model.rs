//! What the simulator's checker knows about the configuration: the
//! primitives, their target roles, and the mandatory colocations and
//! orderings it must never see violated in what actually runs. Read once
//! from the CIB the simulation starts with, independently of the
//! scheduler (the code under test).
//!
//! Scope: primitives and groups; `rsc_colocation` with score INFINITY and
//! no roles; `rsc_order` between resources with the default start/start
//! actions, mandatory (no `kind`, or `kind=Mandatory`, or a non-zero
//! `score`). Resource sets, roles and clones are not modelled: such
//! constraints are not checked (and said so in the report).
//!
//! Invariant: reads the CIB only; no simulation state.

use crate::core::cib::{Cib, ConstraintItem, SetKind};
use std::collections::BTreeMap;

/// One primitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prim {
    pub id: String,
    pub group: Option<String>,
    pub stonith: bool,
    /// `target-role=Stopped` on it or its group.
    pub disabled: bool,
    /// `requires=fencing` (the default for all but fence devices, which
    /// Pacemaker lets start elsewhere with quorum alone: they are needed
    /// to fence).
    pub requires_fencing: bool,
    /// Nodes a `-INFINITY` location constraint (on it or its group, by
    /// node name, without rules or roles) keeps it off.
    pub banned: Vec<String>,
}

/// "`dep` must run where `primary` runs".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coloc {
    pub dep: String,
    pub primary: String,
    /// Also ordered (either way): then it holds at every instant, not only
    /// once things settle.
    pub strict: bool,
    pub what: String,
}

/// "every one of `first` runs before any of `then` starts", and (when
/// symmetrical) "none of `then` is active when one of `first` stops".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub first: Vec<String>,
    pub then: Vec<String>,
    pub symmetrical: bool,
    pub what: String,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub prims: Vec<Prim>,
    pub colocs: Vec<Coloc>,
    pub orders: Vec<Order>,
    pub stonith_enabled: bool,
    pub quorum_ignored: bool,
    /// Constraints the checker does not model, by id.
    pub unchecked: Vec<String>,
}

fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "y" | "1"
    )
}

fn is_infinity(v: Option<&str>) -> bool {
    v.is_some_and(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "inf" | "+inf" | "infinity" | "+infinity"
        )
    })
}

fn requires_fencing(p: &crate::core::cib::Primitive) -> bool {
    match p.attr(SetKind::Meta, "requires") {
        Some(r) => r.eq_ignore_ascii_case("fencing") || r.eq_ignore_ascii_case("unfencing"),
        None => p.class.as_deref() != Some("stonith"),
    }
}

impl Model {
    pub fn from_cib(cib: &Cib) -> Model {
        let c = &cib.configuration;
        let mut m = Model {
            stonith_enabled: c
                .property("stonith-enabled")
                .or(c.property("fencing-enabled"))
                .is_none_or(is_true),
            quorum_ignored: c
                .property("no-quorum-policy")
                .is_some_and(|v| v.eq_ignore_ascii_case("ignore")),
            ..Model::default()
        };
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for g in c.groups() {
            let gdisabled = g
                .sets
                .iter()
                .filter(|s| s.kind == SetKind::Meta)
                .find_map(|s| s.get("target-role"))
                .is_some_and(|r| r.eq_ignore_ascii_case("stopped"));
            let ids: Vec<String> = g.primitives.iter().map(|p| p.id.clone()).collect();
            for w in ids.windows(2) {
                m.colocs.push(Coloc {
                    dep: w[1].clone(),
                    primary: w[0].clone(),
                    strict: true,
                    what: format!("group {}", g.id),
                });
                m.orders.push(Order {
                    first: vec![w[0].clone()],
                    then: vec![w[1].clone()],
                    symmetrical: true,
                    what: format!("group {}", g.id),
                });
            }
            for p in &g.primitives {
                let disabled = gdisabled
                    || p.attr(SetKind::Meta, "target-role")
                        .is_some_and(|r| r.eq_ignore_ascii_case("stopped"));
                m.prims.push(Prim {
                    id: p.id.clone(),
                    group: Some(g.id.clone()),
                    stonith: p.class.as_deref() == Some("stonith"),
                    disabled,
                    requires_fencing: requires_fencing(p),
                    banned: Vec::new(),
                });
            }
            members.insert(g.id.clone(), ids);
        }
        for item in &c.resources {
            if let crate::core::cib::ResourceItem::Primitive(p) = item {
                m.prims.push(Prim {
                    id: p.id.clone(),
                    group: None,
                    stonith: p.class.as_deref() == Some("stonith"),
                    disabled: p
                        .attr(SetKind::Meta, "target-role")
                        .is_some_and(|r| r.eq_ignore_ascii_case("stopped")),
                    requires_fencing: requires_fencing(p),
                    banned: Vec::new(),
                });
            }
        }
        let expand = |id: &str| -> Vec<String> {
            members
                .get(id)
                .cloned()
                .unwrap_or_else(|| vec![id.to_string()])
        };
        let mut colocs = Vec::new();
        for item in &c.constraints {
            match item {
                ConstraintItem::Location(l) => {
                    let plain = l.rules.is_empty() && l.sets.is_empty() && l.role.is_none();
                    let minus_inf = l.score.as_deref().is_some_and(|s| {
                        matches!(s.trim().to_ascii_lowercase().as_str(), "-inf" | "-infinity")
                    });
                    if let (true, true, Some(rsc), Some(node)) =
                        (plain, minus_inf, l.rsc.as_deref(), l.node.as_deref())
                    {
                        for id in expand(rsc) {
                            if let Some(p) = m.prims.iter_mut().find(|p| p.id == id) {
                                p.banned.push(node.to_string());
                            }
                        }
                    }
                }
                ConstraintItem::Colocation(co) => {
                    let simple = co.sets.is_empty()
                        && co.rsc_role.is_none()
                        && co.with_rsc_role.is_none()
                        && co.node_attribute.is_none();
                    match (&co.rsc, &co.with_rsc) {
                        (Some(d), Some(p)) if simple && is_infinity(co.score.as_deref()) => {
                            let dep = expand(d)[0].clone();
                            let primary = expand(p)[0].clone();
                            colocs.push((dep, primary, co.id.clone(), d.clone(), p.clone()));
                        }
                        _ if !is_infinity(co.score.as_deref()) && co.sets.is_empty() => {}
                        _ => m.unchecked.push(co.id.clone()),
                    }
                }
                ConstraintItem::Order(o) => {
                    let mandatory = match (o.kind.as_deref(), o.score.as_deref()) {
                        (Some(k), _) => k.eq_ignore_ascii_case("mandatory"),
                        (None, Some(s)) => s.trim() != "0",
                        (None, None) => true,
                    };
                    let start_start = o.first_action.as_deref().is_none_or(|a| a == "start")
                        && o.then_action.as_deref().is_none_or(|a| a == "start");
                    match (&o.first, &o.then) {
                        (Some(f), Some(t)) if o.sets.is_empty() && start_start => {
                            if mandatory {
                                m.orders.push(Order {
                                    first: expand(f),
                                    then: expand(t),
                                    symmetrical: o.symmetrical.as_deref().is_none_or(is_true),
                                    what: o.id.clone(),
                                });
                            }
                        }
                        _ if !mandatory => {}
                        _ => m.unchecked.push(o.id.clone()),
                    }
                }
                _ => {}
            }
        }
        for (dep, primary, id, d, p) in colocs {
            let (ds, ps) = (expand(&d), expand(&p));
            let touches = |a: &[String], b: &[String]| a.iter().any(|x| b.contains(x));
            let strict = m.orders.iter().any(|o| {
                (touches(&o.first, &ps) && touches(&o.then, &ds))
                    || (touches(&o.first, &ds) && touches(&o.then, &ps))
            });
            m.colocs.push(Coloc {
                dep,
                primary,
                strict,
                what: id,
            });
        }
        m
    }

    pub fn prim(&self, id: &str) -> Option<&Prim> {
        self.prims.iter().find(|p| p.id == id)
    }

    /// The primitives that cannot run anywhere among `nodes`: disabled,
    /// banned from every node, or colocated (INFINITY, groups included)
    /// with one that cannot run. Liveness expects them stopped, the others
    /// running: a resource reaches its target role where a viable node
    /// exists.
    pub fn cannot_run(&self, nodes: &[String]) -> std::collections::BTreeSet<String> {
        let mut out: std::collections::BTreeSet<String> = self
            .prims
            .iter()
            .filter(|p| p.disabled || nodes.iter().all(|n| p.banned.contains(n)))
            .map(|p| p.id.clone())
            .collect();
        // Each pass adds at least one primitive or stops.
        for _ in 0..=self.prims.len() {
            let before = out.len();
            for c in &self.colocs {
                if out.contains(&c.primary) {
                    out.insert(c.dep.clone());
                }
            }
            if out.len() == before {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_constraints_become_checks() {
        let text = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration>
          <crm_config><cluster_property_set id="o"><nvpair id="o1" name="no-quorum-policy" value="ignore"/></cluster_property_set></crm_config>
          <nodes/>
          <resources>
            <group id="g"><primitive id="a" class="ocf" provider="x" type="y"/><primitive id="b" class="ocf" provider="x" type="y"/></group>
            <primitive id="c" class="ocf" provider="x" type="y"><meta_attributes id="cm"><nvpair id="c1" name="target-role" value="Stopped"/></meta_attributes></primitive>
            <primitive id="f" class="stonith" type="fence_x"/>
          </resources>
          <constraints>
            <rsc_colocation id="c-with-g" rsc="c" with-rsc="g" score="INFINITY"/>
            <rsc_order id="g-then-c" first="g" then="c"/>
            <rsc_order id="opt" first="a" then="c" kind="Optional"/>
          </constraints>
        </configuration><status/></cib>"#;
        let cib = crate::core::cib::parse(text, "t").cib.unwrap();
        let m = Model::from_cib(&cib);
        assert!(m.stonith_enabled && m.quorum_ignored);
        let ids: Vec<&str> = m.prims.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "f"]);
        assert!(m.prim("c").unwrap().disabled && m.prim("f").unwrap().stonith);
        assert_eq!(m.colocs.len(), 2);
        assert_eq!(
            (
                m.colocs[1].dep.as_str(),
                m.colocs[1].primary.as_str(),
                m.colocs[1].strict
            ),
            ("c", "a", true)
        );
        assert_eq!(m.orders.len(), 2, "{:?}", m.orders);
        assert_eq!(m.orders[1].first, ["a", "b"]);
        assert_eq!(m.orders[1].then, ["c"]);
        assert!(m.unchecked.is_empty());
        // c is disabled; a and b can run.
        let nodes = ["n1".to_string(), "n2".to_string()];
        assert_eq!(m.cannot_run(&nodes).into_iter().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn what_is_banned_everywhere_and_what_follows_it_cannot_run() {
        let text = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/>
          <nodes/>
          <resources>
            <group id="g"><primitive id="a" class="ocf" provider="x" type="y"/><primitive id="b" class="ocf" provider="x" type="y"/></group>
            <primitive id="c" class="ocf" provider="x" type="y"/>
            <primitive id="d" class="ocf" provider="x" type="y"/>
          </resources>
          <constraints>
            <rsc_location id="g-not-n1" rsc="g" node="n1" score="-INFINITY"/>
            <rsc_location id="g-not-n2" rsc="g" node="n2" score="-INFINITY"/>
            <rsc_location id="d-not-n1" rsc="d" node="n1" score="-INFINITY"/>
            <rsc_colocation id="c-with-b" rsc="c" with-rsc="b" score="INFINITY"/>
          </constraints>
        </configuration><status/></cib>"#;
        let cib = crate::core::cib::parse(text, "t").cib.unwrap();
        let m = Model::from_cib(&cib);
        assert_eq!(m.prim("a").unwrap().banned, ["n1", "n2"]);
        let two = ["n1".to_string(), "n2".to_string()];
        assert_eq!(
            m.cannot_run(&two).into_iter().collect::<Vec<_>>(),
            ["a", "b", "c"],
            "d can run on n2"
        );
        let three = ["n1".to_string(), "n2".to_string(), "n3".to_string()];
        assert!(m.cannot_run(&three).is_empty());
    }
}
