//! Properties of the scheduler on generated clusters (proptest): whatever
//! the configuration and history, the transition it computes
//!
//! - is deterministic (same input, same graph and summary; and the same
//!   after the CIB is written out and read back);
//! - is a DAG whose inputs all exist;
//! - places nothing on a node where a location constraint says -INFINITY,
//!   and keeps colocation ±INFINITY in the placement (except where
//!   colocations form a loop: Pacemaker assigns the resources of a loop one
//!   after the other and can leave an INFINITY colocation unmet, and warden
//!   decides exactly as Pacemaker does);
//! - starts nothing on an offline, lost or standby node, and leaves nothing
//!   on one unless it reports the stop as blocked, the stop waits for an
//!   action that cannot run, or the node is lost and not fenced;
//! - keeps group members on one node, stops the members after a stopped
//!   one, and orders member starts (and stops, reversed);
//! - honours mandatory orderings between the actions that fire (an action
//!   waiting for an unrunnable one never fires in this transition);
//! - never starts a resource of a lost node elsewhere before that node's
//!   fencing (when fencing is enabled);
//! - starts nothing when quorum is lost and `no-quorum-policy=stop`.
//!
//! The generator writes the CIB as Pacemaker would (node_state entries,
//! operation history, fail counts); the properties are checked against
//! what it generated, not against the scheduler's own reading of it.

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use warden::core::cib;
use warden::core::scheduler::simulate::execution_order;
use warden::core::scheduler::{
    revised, schedule, GraphActionKind, Placement, Schedule, TransitionGraph,
};
use warden::core::time::Timestamp;

const NOW: i64 = 1_748_736_000; // 2025-06-01T00:00:00Z

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Online,
    Standby,
    /// Left the cluster cleanly.
    Offline,
    /// Disappeared while a member (unclean when fencing is enabled).
    Lost,
}

#[derive(Debug, Clone)]
struct Prim {
    /// Group index, if a member.
    group: Option<usize>,
    /// Node index where its history says it runs.
    running_on: Option<usize>,
    /// Failed monitors on that node (fail count).
    failures: u32,
    stopped_target: bool,
    stickiness: Option<i32>,
    migration_threshold: Option<u32>,
    /// Its recorded operations carry a digest of other parameters (its
    /// definition changed since they ran).
    stale_digest: bool,
}

#[derive(Debug, Clone)]
struct Loc {
    entity: usize,
    node: usize,
    score: i32,
}

#[derive(Debug, Clone)]
struct Coloc {
    rsc: usize,
    with: usize,
    score: i32,
}

#[derive(Debug, Clone)]
struct Order {
    first: usize,
    then: usize,
    mandatory: bool,
    symmetrical: bool,
}

#[derive(Debug, Clone)]
struct Model {
    nodes: Vec<NodeKind>,
    prims: Vec<Prim>,
    groups: usize,
    locs: Vec<Loc>,
    colocs: Vec<Coloc>,
    orders: Vec<Order>,
    have_quorum: bool,
    no_quorum_policy: &'static str,
    stonith: bool,
    /// Node whose history says the fence device runs there.
    fence_on: Option<usize>,
    probed: bool,
}

const INF: i32 = 1_000_000;

fn score_text(s: i32) -> String {
    match s {
        INF => "INFINITY".into(),
        x if x == -INF => "-INFINITY".into(),
        x => x.to_string(),
    }
}

impl Model {
    fn node_name(&self, n: usize) -> String {
        format!("node{}", n + 1)
    }
    fn prim_name(&self, p: usize) -> String {
        format!("rsc{}", p + 1)
    }
    fn group_name(&self, g: usize) -> String {
        format!("grp{}", g + 1)
    }
    /// Constraint targets: top-level primitives, then the non-empty groups.
    fn entities(&self) -> Vec<Entity> {
        let mut v: Vec<Entity> = (0..self.prims.len())
            .filter(|&p| self.prims[p].group.is_none())
            .map(Entity::Prim)
            .collect();
        for g in 0..self.groups {
            if !self.members(g).is_empty() {
                v.push(Entity::Group(g));
            }
        }
        v
    }
    fn members(&self, g: usize) -> Vec<usize> {
        (0..self.prims.len())
            .filter(|&p| self.prims[p].group == Some(g))
            .collect()
    }
    fn entity_name(&self, e: Entity) -> String {
        match e {
            Entity::Prim(p) => self.prim_name(p),
            Entity::Group(g) => self.group_name(g),
        }
    }
    fn entity_prims(&self, e: Entity) -> Vec<usize> {
        match e {
            Entity::Prim(p) => vec![p],
            Entity::Group(g) => self.members(g),
        }
    }
    fn to_xml(&self) -> String {
        let mut x = String::new();
        let _ = write!(
            x,
            r#"<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="10" num_updates="0" admin_epoch="0" have-quorum="{}" dc-uuid="1">"#,
            if self.have_quorum { 1 } else { 0 }
        );
        x.push_str(
            "<configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">",
        );
        let _ = write!(
            x,
            r#"<nvpair id="o-stonith" name="stonith-enabled" value="{}"/><nvpair id="o-nqp" name="no-quorum-policy" value="{}"/>"#,
            self.stonith, self.no_quorum_policy
        );
        x.push_str("</cluster_property_set></crm_config><nodes>");
        for n in 0..self.nodes.len() {
            let _ = write!(x, r#"<node id="{}" uname="{}">"#, n + 1, self.node_name(n));
            if self.nodes[n] == NodeKind::Standby {
                let _ = write!(
                    x,
                    r#"<instance_attributes id="nodes-{0}"><nvpair id="nodes-{0}-standby" name="standby" value="on"/></instance_attributes>"#,
                    n + 1
                );
            }
            x.push_str("</node>");
        }
        x.push_str("</nodes><resources>");
        let mut emitted_groups = BTreeSet::new();
        for p in 0..self.prims.len() {
            match self.prims[p].group {
                None => self.prim_xml(&mut x, p),
                Some(g) => {
                    if emitted_groups.insert(g) {
                        let _ = write!(x, r#"<group id="{}">"#, self.group_name(g));
                        for m in self.members(g) {
                            self.prim_xml(&mut x, m);
                        }
                        x.push_str("</group>");
                    }
                }
            }
        }
        if self.stonith {
            x.push_str(r#"<primitive id="fence1" class="stonith" type="fence_xvm"><operations><op id="fence1-monitor-60s" name="monitor" interval="60s"/></operations></primitive>"#);
        }
        x.push_str("</resources><constraints>");
        let ents = self.entities();
        for (i, l) in self.locs.iter().enumerate() {
            let _ = write!(
                x,
                r#"<rsc_location id="loc{i}" rsc="{}" node="{}" score="{}"/>"#,
                self.entity_name(ents[l.entity]),
                self.node_name(l.node),
                score_text(l.score)
            );
        }
        for (i, c) in self.colocs.iter().enumerate() {
            let _ = write!(
                x,
                r#"<rsc_colocation id="col{i}" rsc="{}" with-rsc="{}" score="{}"/>"#,
                self.entity_name(ents[c.rsc]),
                self.entity_name(ents[c.with]),
                score_text(c.score)
            );
        }
        for (i, o) in self.orders.iter().enumerate() {
            let _ = write!(
                x,
                r#"<rsc_order id="ord{i}" first="{}" then="{}" kind="{}" symmetrical="{}"/>"#,
                self.entity_name(ents[o.first]),
                self.entity_name(ents[o.then]),
                if o.mandatory { "Mandatory" } else { "Optional" },
                o.symmetrical
            );
        }
        x.push_str("</constraints></configuration><status>");
        for n in 0..self.nodes.len() {
            let (in_ccm, crmd, join, expected) = match self.nodes[n] {
                NodeKind::Online | NodeKind::Standby => ("true", "online", "member", "member"),
                NodeKind::Offline => ("false", "offline", "down", "down"),
                NodeKind::Lost => ("false", "offline", "member", "member"),
            };
            let _ = write!(
                x,
                r#"<node_state id="{}" uname="{}" in_ccm="{in_ccm}" crmd="{crmd}" join="{join}" expected="{expected}" crm-debug-origin="test">"#,
                n + 1,
                self.node_name(n)
            );
            let failing: Vec<usize> = (0..self.prims.len())
                .filter(|&p| self.prims[p].running_on == Some(n) && self.prims[p].failures > 0)
                .collect();
            if !failing.is_empty() {
                let _ = write!(
                    x,
                    r#"<transient_attributes id="{0}"><instance_attributes id="status-{0}">"#,
                    n + 1
                );
                for &p in &failing {
                    let _ = write!(
                        x,
                        r#"<nvpair id="status-{0}-fc-{1}" name="fail-count-{1}#monitor_10000" value="{2}"/><nvpair id="status-{0}-lf-{1}" name="last-failure-{1}#monitor_10000" value="{3}"/>"#,
                        n + 1,
                        self.prim_name(p),
                        self.prims[p].failures,
                        NOW - 60
                    );
                }
                x.push_str("</instance_attributes></transient_attributes>");
            }
            let _ = write!(x, r#"<lrm id="{}"><lrm_resources>"#, n + 1);
            let mut call = 10;
            for p in 0..self.prims.len() {
                let running = self.prims[p].running_on == Some(n);
                if !running && !self.probed {
                    continue;
                }
                let name = self.prim_name(p);
                let _ = write!(
                    x,
                    r#"<lrm_resource id="{name}" class="ocf" provider="heartbeat" type="Dummy">"#
                );
                let stale = self.prims[p].stale_digest;
                if running {
                    call += 1;
                    op(&mut x, &name, "start", 0, 0, 0, call, stale);
                    call += 1;
                    let rc = if self.prims[p].failures > 0 { 7 } else { 0 };
                    op(&mut x, &name, "monitor", 10000, 0, rc, call, stale);
                } else {
                    call += 1;
                    op(&mut x, &name, "monitor", 0, 7, 7, call, stale);
                }
                x.push_str("</lrm_resource>");
            }
            if self.stonith && self.fence_on == Some(n) {
                x.push_str(r#"<lrm_resource id="fence1" class="stonith" type="fence_xvm">"#);
                op(&mut x, "fence1", "start", 0, 0, 0, 5, false);
                x.push_str("</lrm_resource>");
            }
            x.push_str("</lrm_resources></lrm></node_state>");
        }
        x.push_str("</status></cib>");
        x
    }

    fn prim_xml(&self, x: &mut String, p: usize) {
        let name = self.prim_name(p);
        let pr = &self.prims[p];
        let _ = write!(
            x,
            r#"<primitive id="{name}" class="ocf" provider="heartbeat" type="Dummy">"#
        );
        let mut meta = Vec::new();
        if pr.stopped_target {
            meta.push(("target-role", "Stopped".to_string()));
        }
        if let Some(s) = pr.stickiness {
            meta.push(("resource-stickiness", score_text(s)));
        }
        if let Some(m) = pr.migration_threshold {
            meta.push(("migration-threshold", m.to_string()));
        }
        if !meta.is_empty() {
            let _ = write!(x, r#"<meta_attributes id="{name}-meta">"#);
            for (k, v) in meta {
                let _ = write!(
                    x,
                    r#"<nvpair id="{name}-meta-{k}" name="{k}" value="{v}"/>"#
                );
            }
            x.push_str("</meta_attributes>");
        }
        let _ = write!(
            x,
            r#"<operations><op id="{name}-monitor-10s" name="monitor" interval="10s"/></operations></primitive>"#
        );
    }
}

/// The parameter digest Pacemaker records for an operation of a resource
/// without parameters: the MD5 of its (empty, or timeout-only for a
/// recurring operation with the default 20 s timeout) parameter element.
fn digest(interval: u32, stale: bool) -> String {
    use md5::{Digest, Md5};
    let text = match (interval, stale) {
        (_, true) => " <parameters state=\"/var/run/old\"/>\n".to_string(),
        (0, false) => " <parameters/>\n".to_string(),
        (_, false) => " <parameters CRM_meta_timeout=\"20000\"/>\n".to_string(),
    };
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn op(
    x: &mut String,
    rsc: &str,
    task: &str,
    interval: u32,
    target: i32,
    rc: i32,
    call: u32,
    stale: bool,
) {
    let _ = write!(
        x,
        r#"<lrm_rsc_op id="{rsc}_{task}_{interval}" operation_key="{rsc}_{task}_{interval}" operation="{task}" crm-debug-origin="test" crm_feature_set="3.16.1" transition-key="{call}:1:{target}:00000000-0000-0000-0000-000000000000" transition-magic="0:{rc};{call}:1:{target}:00000000-0000-0000-0000-000000000000" exit-reason="" call-id="{call}" rc-code="{rc}" op-status="0" interval="{interval}" last-rc-change="{}" exec-time="10" queue-time="0" op-digest="{}"/>"#,
        NOW - 3600,
        digest(interval, stale)
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Prim(usize),
    Group(usize),
}

fn score() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(INF),
        Just(-INF),
        -100..100i32,
        Just(0),
        Just(50),
        Just(-50)
    ]
}

fn model() -> impl Strategy<Value = Model> {
    (2usize..=5, 1usize..=8, 0usize..=2).prop_flat_map(|(n_nodes, n_prims, groups)| {
        let node = prop_oneof![
            6 => Just(NodeKind::Online),
            1 => Just(NodeKind::Standby),
            1 => Just(NodeKind::Offline),
            1 => Just(NodeKind::Lost),
        ];
        let prim = (
            prop::option::weighted(0.4, 0..groups.max(1)),
            prop::option::weighted(0.6, 0..n_nodes),
            prop_oneof![4 => Just(0u32), 1 => 1..4u32],
            prop::bool::weighted(0.1),
            prop::option::weighted(0.3, prop_oneof![Just(INF), 0..200i32]),
            prop::option::weighted(0.2, 1..4u32),
            prop::bool::weighted(0.15),
        )
            .prop_map(
                move |(group, running_on, failures, stopped_target, stickiness, mt, stale)| Prim {
                    group: if groups == 0 { None } else { group },
                    running_on,
                    failures: if running_on.is_some() { failures } else { 0 },
                    stopped_target,
                    stickiness,
                    migration_threshold: mt,
                    stale_digest: stale,
                },
            );
        (
            prop::collection::vec(node, n_nodes),
            prop::collection::vec(prim, n_prims),
            prop::collection::vec((0usize..64, 0..n_nodes, score()), 0..6),
            prop::collection::vec((0usize..64, 0usize..64, score()), 0..4),
            prop::collection::vec((0usize..64, 0usize..64, any::<bool>(), any::<bool>()), 0..4),
            any::<bool>(),
            prop_oneof![Just("stop"), Just("freeze"), Just("ignore")],
            any::<bool>(),
            prop::option::of(0..n_nodes),
            prop::bool::weighted(0.7),
        )
            .prop_map(
                move |(
                    nodes,
                    prims,
                    locs,
                    colocs,
                    orders,
                    quorum,
                    nqp,
                    stonith,
                    fence_on,
                    probed,
                )| {
                    let mut m = Model {
                        nodes,
                        prims,
                        groups,
                        locs: Vec::new(),
                        colocs: Vec::new(),
                        orders: Vec::new(),
                        have_quorum: quorum,
                        no_quorum_policy: nqp,
                        stonith,
                        fence_on,
                        probed,
                    };
                    // A node that left cleanly stopped what it ran first.
                    for p in &mut m.prims {
                        if p.running_on
                            .is_some_and(|n| m.nodes[n] == NodeKind::Offline)
                        {
                            p.running_on = None;
                            p.failures = 0;
                        }
                    }
                    let k = m.entities().len();
                    m.locs = locs
                        .into_iter()
                        .map(|(e, node, score)| Loc {
                            entity: e % k,
                            node,
                            score,
                        })
                        .collect();
                    m.colocs = colocs
                        .into_iter()
                        .filter(|(a, b, _)| a % k != b % k)
                        .map(|(a, b, score)| Coloc {
                            rsc: a % k,
                            with: b % k,
                            score,
                        })
                        .collect();
                    // Orders only from an earlier to a later entity, so
                    // the constraints themselves never form a loop.
                    m.orders = orders
                        .into_iter()
                        .filter(|(a, b, _, _)| a % k < b % k)
                        .map(|(a, b, mandatory, symmetrical)| Order {
                            first: a % k,
                            then: b % k,
                            mandatory,
                            symmetrical,
                        })
                        .collect();
                    m
                },
            )
    })
}

/// Start-like actions that fire: (resource, node) for start, promote,
/// migrate_from.
fn starts(g: &TransitionGraph) -> Vec<(usize, String, String)> {
    let fires: BTreeSet<usize> = execution_order(g).into_iter().collect();
    g.actions
        .iter()
        .enumerate()
        .filter(|(i, _)| fires.contains(i))
        .filter_map(|(i, a)| match &a.kind {
            GraphActionKind::Resource { request, .. }
                if matches!(
                    request.action.as_str(),
                    "start" | "promote" | "migrate_from"
                ) =>
            {
                Some((i, request.rsc_id.clone(), request.node.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The action `rsc_action_0`, if it fires in this transition (an action
/// waiting for an unrunnable input stays in the graph but never fires).
fn find(g: &TransitionGraph, rsc: &str, action: &str) -> Option<usize> {
    let fires: BTreeSet<usize> = execution_order(g).into_iter().collect();
    g.actions.iter().enumerate().position(|(i, a)| {
        fires.contains(&i)
            && match &a.kind {
                GraphActionKind::Resource { request, .. } => {
                    request.rsc_id == rsc && request.action == action && request.interval_ms == 0
                }
                _ => false,
            }
    })
}

/// All transitive inputs of action `i`.
fn ancestors(g: &TransitionGraph, i: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![i];
    while let Some(x) = stack.pop() {
        for inp in &g.actions[x].inputs {
            if seen.insert(inp.0 as usize) {
                stack.push(inp.0 as usize);
            }
        }
    }
    seen
}

/// A primitive whose node was lost and is not fenced by this transition:
/// it is still running there as far as anyone can know, whatever the
/// constraints say (its stop cannot happen).
fn stuck(m: &Model, s: &Schedule, p: usize) -> bool {
    m.prims[p]
        .running_on
        .is_some_and(|h| m.nodes[h] == NodeKind::Lost && !s.fenced.contains(&m.node_name(h)))
}

/// The transition reports this resource's needed stop or move as blocked
/// (it cannot stop: e.g. ordered after a resource of a lost node).
fn blocked(s: &Schedule, rsc: &str) -> bool {
    s.summary
        .iter()
        .any(|a| a.blocked && a.rsc.as_deref() == Some(rsc))
}

/// Colocations that are part of a loop of colocations (any score):
/// Pacemaker assigns such resources one after the other without going
/// back, so a loop can leave even an INFINITY colocation unmet; warden
/// decides as Pacemaker does.
fn in_colocation_loop(m: &Model, c: &Coloc) -> bool {
    // Is there a path with -> ... -> rsc?
    let mut seen = BTreeSet::new();
    let mut stack = vec![c.with];
    while let Some(x) = stack.pop() {
        if x == c.rsc {
            return true;
        }
        if seen.insert(x) {
            stack.extend(m.colocs.iter().filter(|d| d.rsc == x).map(|d| d.with));
        }
    }
    false
}

/// The resource's stop is in the graph but waits for an action that cannot
/// run in this transition (Pacemaker does not report this as blocked).
fn stop_cannot_fire(g: &TransitionGraph, rsc: &str) -> bool {
    let fires: BTreeSet<usize> = execution_order(g).into_iter().collect();
    g.actions.iter().enumerate().any(|(i, a)| {
        !fires.contains(&i)
            && matches!(&a.kind, GraphActionKind::Resource { request, .. }
                if request.rsc_id == rsc && request.action == "stop")
    })
}

fn placed_on(placement: &BTreeMap<String, Placement>, rsc: &str) -> Option<String> {
    match placement.get(rsc) {
        Some(Placement::On(n)) => Some(n.clone()),
        _ => None,
    }
}

fn run(m: &Model) -> (Schedule, BTreeMap<String, Placement>, String) {
    let xml = m.to_xml();
    let parsed = cib::parse(&xml, "generated.xml");
    let doc = parsed
        .cib
        .unwrap_or_else(|| panic!("generated CIB does not parse:\n{xml}"));
    let now = Timestamp::from_secs(NOW);
    let sched = schedule(&doc, now);
    let (_, placement) = revised(&doc, &sched, now);
    (sched, placement.into_iter().collect(), xml)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn deterministic_and_stable_across_a_round_trip(m in model()) {
        let xml = m.to_xml();
        let doc = cib::parse(&xml, "generated.xml").cib.unwrap();
        let now = Timestamp::from_secs(NOW);
        let a = schedule(&doc, now);
        let b = schedule(&doc, now);
        prop_assert_eq!(format!("{:?}", a.graph), format!("{:?}", b.graph));
        prop_assert_eq!(&a.summary_lines, &b.summary_lines);
        let again = cib::parse(&cib::to_xml(&doc), "written.xml").cib.unwrap();
        let c = schedule(&again, now);
        prop_assert_eq!(format!("{:?}", a.graph), format!("{:?}", c.graph));
        prop_assert_eq!(&a.summary_lines, &c.summary_lines);
    }

    #[test]
    fn recorded_results_match_the_configuration(m in model()) {
        // Once the transition ran, its results carry the digests of the
        // configuration they ran with: nothing restarts "due to resource
        // definition change" in the next transition.
        let xml = m.to_xml();
        let doc = cib::parse(&xml, "generated.xml").cib.unwrap();
        let now = Timestamp::from_secs(NOW);
        let first = schedule(&doc, now);
        let (after, _) = revised(&doc, &first, now);
        let second = schedule(&after, now);
        for line in &second.summary_lines {
            prop_assert!(!line.contains("definition change"), "{}\nafter\n{}", line, xml);
        }
    }

    #[test]
    fn the_graph_is_acyclic_and_closed(m in model()) {
        let (s, _, xml) = run(&m);
        let n = s.graph.actions.len();
        let mut indegree = vec![0usize; n];
        for (i, a) in s.graph.actions.iter().enumerate() {
            prop_assert_eq!(a.id.0 as usize, i, "action ids are positions");
            for inp in &a.inputs {
                prop_assert!((inp.0 as usize) < n, "dangling input in\n{}", xml);
                indegree[i] += 1;
            }
        }
        // Kahn's algorithm over "input -> action" edges.
        let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, a) in s.graph.actions.iter().enumerate() {
            for inp in &a.inputs {
                users[inp.0 as usize].push(i);
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut done = 0;
        while let Some(x) = ready.pop() {
            done += 1;
            for &u in &users[x] {
                indegree[u] -= 1;
                if indegree[u] == 0 {
                    ready.push(u);
                }
            }
        }
        prop_assert_eq!(done, n, "the graph has a cycle:\n{}", xml);
    }

    #[test]
    fn placement_respects_infinite_scores(m in model()) {
        let (s, placement, xml) = run(&m);
        let ents = m.entities();
        for l in &m.locs {
            if l.score != -INF {
                continue;
            }
            for p in m.entity_prims(ents[l.entity]) {
                let name = m.prim_name(p);
                if stuck(&m, &s, p) || blocked(&s, &name) {
                    continue;
                }
                prop_assert_ne!(
                    placed_on(&placement, &name),
                    Some(m.node_name(l.node)),
                    "{} placed on a -INFINITY node\n{}", name, xml
                );
            }
        }
        for c in &m.colocs {
            let involved: Vec<usize> = m.entity_prims(ents[c.rsc]).into_iter().chain(m.entity_prims(ents[c.with])).collect();
            if in_colocation_loop(&m, c)
                || involved.iter().any(|&p| stuck(&m, &s, p) || blocked(&s, &m.prim_name(p)))
            {
                continue;
            }
            // Compare the first member of a group: members share a node.
            let a = m.prim_name(m.entity_prims(ents[c.rsc])[0]);
            let b = m.prim_name(m.entity_prims(ents[c.with])[0]);
            let (pa, pb) = (placed_on(&placement, &a), placed_on(&placement, &b));
            if c.score == INF && pa.is_some() {
                prop_assert_eq!(&pa, &pb, "{} must run with {}\n{}", a, b, xml);
            }
            if c.score == -INF && pa.is_some() {
                prop_assert_ne!(&pa, &pb, "{} must not run with {}\n{}", a, b, xml);
            }
        }
    }

    #[test]
    fn nothing_starts_on_unavailable_nodes(m in model()) {
        let (s, placement, xml) = run(&m);
        let unavailable: BTreeSet<String> = (0..m.nodes.len())
            .filter(|&n| m.nodes[n] != NodeKind::Online)
            .map(|n| m.node_name(n))
            .collect();
        for (_, rsc, node) in starts(&s.graph) {
            prop_assert!(!unavailable.contains(&node), "{} starts on {}\n{}", rsc, node, xml);
        }
        // What a lost node ran stays there until the node is fenced (which
        // may not happen, e.g. without quorum); elsewhere nothing remains.
        for p in 0..m.prims.len() {
            let name = m.prim_name(p);
            if let Some(n) = placed_on(&placement, &name) {
                let lost_unfenced = stuck(&m, &s, p) && m.prims[p].running_on.map(|h| m.node_name(h)) == Some(n.clone());
                prop_assert!(
                    !unavailable.contains(&n)
                        || lost_unfenced
                        || blocked(&s, &name)
                        || stop_cannot_fire(&s.graph, &name),
                    "{} ends on {}\n{}", name, n, xml
                );
            }
        }
    }

    #[test]
    fn nothing_starts_without_quorum_under_policy_stop(
        m in model().prop_map(|mut m| { m.have_quorum = false; m.no_quorum_policy = "stop"; m })
    ) {
        let (s, _, xml) = run(&m);
        let st = starts(&s.graph);
        prop_assert!(st.is_empty(), "starts without quorum: {:?}\n{}", st, xml);
    }

    #[test]
    fn groups_stay_together_and_ordered(m in model()) {
        let (s, placement, xml) = run(&m);
        for g in 0..m.groups {
            let members = m.members(g);
            if members.iter().any(|&p| stuck(&m, &s, p)) {
                continue;
            }
            let mut stopped_before: Option<String> = None;
            let mut node: Option<String> = None;
            for &p in &members {
                let name = m.prim_name(p);
                let here = placed_on(&placement, &name);
                if let Some(prev) = &stopped_before {
                    prop_assert!(here.is_none(), "{} runs after stopped {}\n{}", name, prev, xml);
                }
                match &here {
                    None => {
                        if stopped_before.is_none() {
                            stopped_before = Some(name.clone());
                        }
                    }
                    Some(n) => {
                        if let Some(first) = &node {
                            prop_assert_eq!(first, n, "{} apart from its group\n{}", name, xml);
                        }
                        node = Some(n.clone());
                    }
                }
            }
            for w in members.windows(2) {
                let (a, b) = (m.prim_name(w[0]), m.prim_name(w[1]));
                if let (Some(sa), Some(sb)) = (find(&s.graph, &a, "start"), find(&s.graph, &b, "start")) {
                    prop_assert!(ancestors(&s.graph, sb).contains(&sa), "{} starts before {}\n{}", b, a, xml);
                }
                if let (Some(ta), Some(tb)) = (find(&s.graph, &a, "stop"), find(&s.graph, &b, "stop")) {
                    prop_assert!(ancestors(&s.graph, ta).contains(&tb), "{} stops before {}\n{}", a, b, xml);
                }
            }
        }
    }

    #[test]
    fn mandatory_orderings_hold(m in model()) {
        let (s, _, xml) = run(&m);
        let ents = m.entities();
        for o in m.orders.iter().filter(|o| o.mandatory) {
            for p in m.entity_prims(ents[o.first]) {
                for q in m.entity_prims(ents[o.then]) {
                    let (a, b) = (m.prim_name(p), m.prim_name(q));
                    if let (Some(sa), Some(sb)) = (find(&s.graph, &a, "start"), find(&s.graph, &b, "start")) {
                        prop_assert!(ancestors(&s.graph, sb).contains(&sa), "{} starts before {}\n{}", b, a, xml);
                    }
                    if o.symmetrical {
                        if let (Some(ta), Some(tb)) = (find(&s.graph, &a, "stop"), find(&s.graph, &b, "stop")) {
                            prop_assert!(ancestors(&s.graph, ta).contains(&tb), "{} stops before {}\n{}", a, b, xml);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn resources_of_a_lost_node_start_elsewhere_only_after_fencing(
        m in model().prop_map(|mut m| { m.stonith = true; m })
    ) {
        let (s, _, xml) = run(&m);
        for (i, rsc, _) in starts(&s.graph) {
            let Some(p) = (0..m.prims.len()).find(|&p| m.prim_name(p) == rsc) else { continue };
            let Some(home) = m.prims[p].running_on else { continue };
            if m.nodes[home] != NodeKind::Lost {
                continue;
            }
            let target = m.node_name(home);
            let fence = s.graph.actions.iter().position(|a| {
                matches!(&a.kind, GraphActionKind::Fence { target: t, .. } if *t == target)
            });
            let ok = fence.is_some_and(|f| ancestors(&s.graph, i).contains(&f));
            prop_assert!(ok, "{} starts before {} is fenced\n{}", rsc, target, xml);
        }
    }
}

// ---------------------------------------------------------------------------
// Differential: the same generated clusters given to Pacemaker's own
// crm_simulate (Pacemaker 2.1.5, `pacemaker-cli-utils`). The transition
// summary and the actions that fire must be the same. Skipped with one line
// when crm_simulate is not installed.

fn crm_simulate_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let ok = std::process::Command::new("crm_simulate")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("SKIP differential_against_crm_simulate: crm_simulate is not installed");
        }
        ok
    })
}

fn squash(l: &str) -> String {
    l.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// crm_simulate's "Transition Summary" lines and "Executing Cluster
/// Transition" lines (pseudo actions without their node), normalised.
fn crm_simulate_view(xml: &str) -> Option<(Vec<String>, Vec<String>)> {
    let dir = std::env::temp_dir().join(format!("warden-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join(format!("{:?}.xml", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&file, xml).ok()?;
    let out = std::process::Command::new("crm_simulate")
        .arg("-x")
        .arg(&file)
        .args(["-S", "-t", "2025-06-01 00:00:00Z"])
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // crm_simulate exits 1 when the transition cannot complete (an action
    // waits for one that cannot run): its output is still the answer.
    if !text.contains("Transition Summary:") {
        eprintln!(
            "crm_simulate gave no answer ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    let mut summary = Vec::new();
    let mut executed = Vec::new();
    let mut section = "";
    for line in text.lines() {
        let t = line.trim();
        if t.ends_with(':') && !t.starts_with('*') {
            section = t;
            continue;
        }
        let Some(item) = t.strip_prefix("* ") else {
            continue;
        };
        match section {
            "Transition Summary:" => summary.push(squash(item)),
            "Executing Cluster Transition:" => {
                let mut l = squash(item);
                if l.starts_with("Pseudo action:") {
                    if let Some(i) = l.find(" on ") {
                        l.truncate(i);
                    }
                }
                executed.push(l);
            }
            _ => {}
        }
    }
    executed.sort();
    Some((summary, executed))
}

/// The same view of warden's schedule.
fn warden_view(s: &Schedule) -> (Vec<String>, Vec<String>) {
    let summary = s
        .summary_lines
        .iter()
        .map(|l| squash(l.trim_start_matches("* ").trim_start_matches('*')))
        .collect();
    let mut executed: Vec<String> = execution_order(&s.graph)
        .into_iter()
        .map(|i| match &s.graph.actions[i].kind {
            GraphActionKind::Resource { request, .. } if request.interval_ms > 0 => format!(
                "Resource action: {} {}={} on {}",
                request.rsc_id, request.action, request.interval_ms, request.node
            ),
            GraphActionKind::Resource { request, .. } => format!(
                "Resource action: {} {} on {}",
                request.rsc_id, request.action, request.node
            ),
            GraphActionKind::Cancel {
                rsc_id,
                node,
                interval_ms,
                ..
            } => {
                format!("Resource action: {rsc_id} cancel={interval_ms} on {node}")
            }
            GraphActionKind::Fence { target, action, .. } => {
                format!("Fencing {target} ({})", action.as_str())
            }
            GraphActionKind::Shutdown { node } => format!("Cluster action: do_shutdown on {node}"),
            GraphActionKind::ClearFailcount { rsc_id, node } => {
                format!("Cluster action: clear_failcount for {rsc_id} on {node}")
            }
            GraphActionKind::ForgetHistory { rsc_id, node } => {
                format!("Resource action: {rsc_id} delete on {node}")
            }
            GraphActionKind::Pseudo { name } => format!("Pseudo action: {name}"),
        })
        .collect();
    executed.sort();
    (summary, executed)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(150),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn differential_against_crm_simulate(m in model()) {
        if !crm_simulate_available() {
            return Ok(());
        }
        let (s, _, xml) = run(&m);
        let view = crm_simulate_view(&xml);
        // A reference that crashes or answers nothing on an input cannot
        // judge it: the case is rejected (and printed), not passed;
        // proptest fails the test if that happens too often.
        if view.is_none() {
            eprintln!("no reference answer for:\n{xml}");
        }
        prop_assume!(view.is_some());
        let (summary, executed) = view.unwrap();
        let (ours_summary, ours_executed) = warden_view(&s);
        prop_assert_eq!(&ours_summary, &summary, "transition summary differs\n{}", xml);
        prop_assert_eq!(&ours_executed, &executed, "executed actions differ\n{}", xml);
    }
}
