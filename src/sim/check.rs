//! The invariants, checked against the simulated ground truth (what the
//! agents actually run and which nodes are powered), never against the
//! CIB the code under test writes.
//!
//! Safety, at the step where each could break:
//!
//! * a start begins: the resource is not active on another powered-on
//!   node (fence devices, `requires=quorum`, excepted: Pacemaker starts
//!   them while their old node is still being fenced); every mandatory "first" of it runs; no strict (also ordered)
//!   INFINITY colocation partner is active elsewhere;
//! * a stop begins: nothing that must stop first (symmetrical mandatory
//!   ordering) is still active on a powered-on node;
//! * a node is asked to start a resource: its view has quorum (or the
//!   policy ignores quorum), and no node that crashed with that resource
//!   active is unconfirmed (neither fenced since, nor back in this node's
//!   view with a fresh history);
//! * after every event a node handles: its CIB version did not go down;
//! * whenever a view has delivered everything: all members that completed
//!   the join hold the same CIB version and agree on one DC, which is one
//!   of them; when that DC is idle, their CIBs have the same digest, and
//!   if no one-shot action runs, no INFINITY colocation is split across
//!   nodes.
//!
//! Nodes an administrator put in maintenance are not managed by the
//! cluster: while any is, placement checks (ordering, colocation, activity
//! elsewhere) leave what runs there alone.
//!
//! Liveness ([`Sim::settled`]): one view with every node, the DC idle,
//! nothing but recurring monitors running, every resource that can run
//! somewhere running on exactly one node and every other one nowhere
//! ([`super::model::Model::cannot_run`]).
//!
//! Invariant: reads simulation state, never changes it (except recording
//! the first violation).

use super::{AgentState, Power, Sim, Violation};
use crate::core::cib::{self, Version};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Checker {
    /// Per node: resources that were active when it crashed, not yet
    /// confirmed stopped by fencing.
    lost_active: Vec<BTreeSet<String>>,
    /// Per node: the highest CIB version seen.
    versions: Vec<Option<Version>>,
    /// Per view: the version last checked for convergence.
    view_checked: BTreeMap<u64, Version>,
}

impl Checker {
    pub fn new(n: usize) -> Checker {
        Checker {
            lost_active: vec![BTreeSet::new(); n],
            versions: vec![None; n],
            view_checked: BTreeMap::new(),
        }
    }

    pub fn lost(&mut self, i: usize, active: BTreeSet<String>) {
        self.lost_active[i].extend(active);
    }

    /// Node `i` left after a clean shutdown: it had joined a view since
    /// any earlier crash (the DC let it go), so only what runs there now
    /// is unknown to the others.
    pub fn left_cleanly(&mut self, i: usize, active: BTreeSet<String>) {
        self.lost_active[i] = active;
    }

    pub fn fenced(&mut self, i: usize) {
        self.lost_active[i].clear();
    }
}

impl Sim {
    fn violate(&mut self, text: String) {
        if self.violation.is_none() {
            self.trace(None, &format!("VIOLATION: {text}"));
            self.violation = Some(Violation {
                at: self.now,
                invariant: text,
            });
        }
    }

    pub(super) fn check_version(&mut self, i: usize, v: Version) {
        if let Some(prev) = self.checker.versions[i] {
            if v < prev {
                let name = self.name(i).to_string();
                self.violate(format!(
                    "the CIB version on {name} went down from {prev} to {v}"
                ));
                return;
            }
        }
        self.checker.versions[i] = Some(v);
    }

    /// Node `i` was asked to start `rsc` (the DC's decision).
    pub(super) fn check_start_request(&mut self, i: usize, rsc: &str) {
        let Some(node) = self.node(i) else {
            return;
        };
        let name = node.name().to_string();
        let view = node.view().cloned();
        let quorate = view.as_ref().is_some_and(|v| v.quorate);
        if !quorate && !self.model.quorum_ignored {
            self.violate(format!(
                "{rsc} was started on {name} in a partition without quorum"
            ));
            return;
        }
        let requires_fencing = self.model.prim(rsc).is_none_or(|p| p.requires_fencing);
        for m in 0..self.node_count() {
            if m == i || !requires_fencing || !self.checker.lost_active[m].contains(rsc) {
                continue;
            }
            let rejoined = view
                .as_ref()
                .is_some_and(|v| v.members.iter().any(|x| x.name == self.name(m)))
                && self.power(m) == Power::On;
            if rejoined {
                continue;
            }
            let lost = self.name(m).to_string();
            self.violate(format!(
                "{rsc} was started on {name} while {lost}, lost with {rsc} active, was not yet fenced"
            ));
            return;
        }
    }

    /// A start of `rsc` begins on node `i`.
    pub(super) fn check_start(&mut self, i: usize, rsc: &str) {
        let name = self.name(i).to_string();
        let elsewhere: Vec<usize> = self
            .active_on(rsc)
            .into_iter()
            .filter(|&m| m != i)
            .collect();
        for m in elsewhere {
            let same_view = self.node(m).and_then(|n| n.view()).map(|v| v.seq)
                == self.node(i).and_then(|n| n.view()).map(|v| v.seq);
            // Fence devices (requires=quorum) may start while their old
            // node is still being fenced: Pacemaker does so on purpose
            // (the device is needed to fence), and two registrations of a
            // device are harmless.
            let requires_fencing = self.model.prim(rsc).is_none_or(|p| p.requires_fencing);
            let unmanaged = self.maintenance.contains(&m);
            if requires_fencing && !unmanaged && (self.model.stonith_enabled || same_view) {
                let other = self.name(m).to_string();
                let state = self.agent(m, rsc);
                self.violate(format!(
                    "{rsc} starting on {name} while active ({state:?}) on {other}"
                ));
                return;
            }
        }
        if !self.maintenance.is_empty() {
            return;
        }
        let orders = self.model.orders.clone();
        for o in orders.iter().filter(|o| o.then.iter().any(|t| t == rsc)) {
            for f in &o.first {
                // Died counts: the cluster started it and did not stop it
                // (it cannot know before a monitor tells it).
                let running = (0..self.node_count()).any(|m| {
                    self.power(m) != Power::Off
                        && matches!(self.agent(m, f), AgentState::Running | AgentState::Died)
                });
                if !running {
                    self.violate(format!(
                        "{rsc} starting on {name} before {f} runs ({} orders {f} first)",
                        o.what
                    ));
                    return;
                }
            }
        }
        let colocs = self.model.colocs.clone();
        for c in colocs.iter().filter(|c| c.strict) {
            let other = if c.dep == rsc {
                &c.primary
            } else if c.primary == rsc {
                &c.dep
            } else {
                continue;
            };
            if let Some(m) = self.active_on(other).into_iter().find(|&m| m != i) {
                let on = self.name(m).to_string();
                self.violate(format!(
                    "{rsc} starting on {name} while {other} is active on {on} ({} puts them together)",
                    c.what
                ));
                return;
            }
        }
    }

    /// A stop of `rsc` begins on node `i`.
    pub(super) fn check_stop(&mut self, i: usize, rsc: &str) {
        if !self.agent(i, rsc).active() || !self.maintenance.is_empty() {
            return;
        }
        let name = self.name(i).to_string();
        let orders = self.model.orders.clone();
        for o in orders
            .iter()
            .filter(|o| o.symmetrical && o.first.iter().any(|f| f == rsc))
        {
            for t in &o.then {
                if let Some(m) = self.active_on(t).first().copied() {
                    let on = self.name(m).to_string();
                    self.violate(format!(
                        "{rsc} stopping on {name} while {t} is still active on {on} ({} stops {t} first)",
                        o.what
                    ));
                    return;
                }
            }
        }
    }

    /// A view delivered everything it had: replicas must agree.
    pub(super) fn check_view(&mut self, uid: u64) {
        let Some(v) = self.net.views.get(&uid) else {
            return;
        };
        if v.frozen {
            return;
        }
        let members = v.members.clone();
        let nodes: Vec<&crate::core::node::Node> = members
            .iter()
            .filter_map(|&m| self.nodes[m].node.as_ref())
            .filter(|n| n.is_synced())
            .collect();
        if nodes.len() != members.len() {
            return;
        }
        let first = nodes[0].cib().version();
        for n in &nodes[1..] {
            if n.cib().version() != first {
                let text = format!(
                    "replicas differ after every message was delivered: {} has {}, {} has {}",
                    nodes[0].name(),
                    first,
                    n.name(),
                    n.cib().version()
                );
                self.violate(text);
                return;
            }
        }
        let dcs: Vec<Option<&str>> = nodes.iter().map(|n| n.dc()).collect();
        let is_dc: Vec<&str> = nodes
            .iter()
            .filter(|n| n.is_dc())
            .map(|n| n.name())
            .collect();
        // No DC at all is agreement too: a node alone since its start waits
        // `dc-deadtime` for the others (liveness checks that it ends).
        let none_yet = dcs.iter().all(|d| d.is_none()) && is_dc.is_empty();
        if !none_yet
            && (dcs.iter().any(|d| *d != dcs[0]) || is_dc.len() != 1 || dcs[0] != Some(is_dc[0]))
        {
            let text = format!(
                "members of one view disagree on the DC: {:?} (acting DCs: {:?})",
                dcs, is_dc
            );
            self.violate(text);
            return;
        }
        let dc_idle = nodes.iter().all(|n| n.is_idle());
        // Contents (digests, costly) are compared when the DC is idle;
        // versions at every quiescent point.
        if dc_idle && self.checker.view_checked.get(&uid) != Some(&first) {
            let d0 = cib::digest(nodes[0].cib());
            for n in &nodes[1..] {
                if cib::digest(n.cib()) != d0 {
                    let text = format!(
                        "replicas at the same version {first} differ in content: {} and {}",
                        nodes[0].name(),
                        n.name()
                    );
                    self.violate(text);
                    return;
                }
            }
            self.checker.view_checked.insert(uid, first);
        }
        let busy = members
            .iter()
            .any(|&m| self.nodes[m].exec.busy_one_shot() || !self.nodes[m].fence_runs.is_empty());
        if dc_idle && !busy && self.maintenance.is_empty() {
            self.check_colocations();
        }
    }

    fn check_colocations(&mut self) {
        let colocs = self.model.colocs.clone();
        for c in &colocs {
            let dep = self.active_on(&c.dep);
            let primary = self.active_on(&c.primary);
            if let (Some(&d), Some(&p)) = (dep.first(), primary.first()) {
                if !primary.contains(&d) {
                    let text = format!(
                        "{} runs on {} but {} on {} ({} puts them together)",
                        c.dep,
                        self.name(d),
                        c.primary,
                        self.name(p),
                        c.what
                    );
                    self.violate(text);
                    return;
                }
            }
        }
    }

    /// Whether the cluster has settled: `Ok` or what is still missing.
    pub fn settled(&self) -> Result<(), String> {
        let up = self.up_nodes();
        if up.len() != self.node_count() {
            return Err(format!("{} of {} nodes up", up.len(), self.node_count()));
        }
        let views: BTreeSet<Option<u64>> = up.iter().map(|&i| self.net.node_view[i]).collect();
        if views.len() != 1 || views.contains(&None) {
            return Err("the nodes are not in one view".to_string());
        }
        let uid = self.net.node_view[up[0]].expect("checked");
        let v = &self.net.views[&uid];
        if v.frozen || !v.quiescent() {
            return Err("messages in flight".to_string());
        }
        let nodes: Vec<&crate::core::node::Node> =
            up.iter().filter_map(|&i| self.node(i)).collect();
        if !nodes.iter().all(|n| n.is_synced()) {
            return Err("the join is not complete".to_string());
        }
        let dc: Vec<&str> = nodes
            .iter()
            .filter(|n| n.is_dc())
            .map(|n| n.name())
            .collect();
        if dc.len() != 1 {
            return Err(format!("{} DCs", dc.len()));
        }
        if !nodes.iter().all(|n| n.is_idle()) {
            return Err(format!("the DC {} is not idle", dc[0]));
        }
        for &i in &up {
            if self.nodes[i].exec.busy_one_shot() || !self.nodes[i].fence_runs.is_empty() {
                return Err(format!("{} is still running actions", self.name(i)));
            }
        }
        let names: Vec<String> = (0..self.node_count())
            .map(|i| self.name(i).to_string())
            .collect();
        let cannot_run = self.model.cannot_run(&names);
        for p in &self.model.prims {
            let on = self.active_on(&p.id);
            let running = on
                .iter()
                .filter(|&&m| self.agent(m, &p.id) == AgentState::Running)
                .count();
            if cannot_run.contains(&p.id) {
                if !on.is_empty() {
                    return Err(format!(
                        "{} cannot run (disabled, banned everywhere, or colocated with what cannot run) but is active",
                        p.id
                    ));
                }
            } else if running != 1 || on.len() != 1 {
                let where_: Vec<String> = on
                    .iter()
                    .map(|&m| format!("{} ({:?})", self.name(m), self.agent(m, &p.id)))
                    .collect();
                return Err(format!(
                    "{} should run on exactly one node; it is active on [{}]",
                    p.id,
                    where_.join(", ")
                ));
            }
        }
        for c in &self.model.colocs {
            let d = self.active_on(&c.dep);
            let p = self.active_on(&c.primary);
            if !d.is_empty() && d != p {
                return Err(format!("{} is not with {}", c.dep, c.primary));
            }
        }
        Ok(())
    }
}
