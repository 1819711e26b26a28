//! Executing a transition on paper: every action of the graph succeeds with
//! its expected result, recorded in the status section exactly as the
//! cluster would record it (`crm_simulate -S`). Used for "Revised Cluster
//! Status", for the placement a schedule leads to, and by the simulator.
//!
//! Invariant: pure; the CIB is copied and changed, never read from disk.

use super::graph::{GraphActionKind, TransitionGraph};
use crate::core::cib::model::{Cib, Lrm, LrmResource, LrmRscOp, NodeState};
use crate::core::cib::Change;
use crate::core::time::Timestamp;
use std::collections::BTreeMap;

const FAKE_TE_ID: &str = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

/// The actions of `graph` that fire, in an order that respects their inputs
/// (ties by id). An action waiting for an unrunnable input never fires, nor
/// does anything that waits for it.
pub fn execution_order(graph: &TransitionGraph) -> Vec<usize> {
    let n = graph.actions.len();
    // Waiting for a never-firing action counts as one input never met.
    let mut indeg: Vec<usize> = graph
        .actions
        .iter()
        .map(|a| a.inputs.len() + usize::from(!a.can_fire()))
        .collect();
    let mut outs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, a) in graph.actions.iter().enumerate() {
        for inp in &a.inputs {
            outs[inp.0 as usize].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(&i) = ready.iter().next() {
        ready.remove(&i);
        order.push(i);
        for &o in &outs[i] {
            indeg[o] -= 1;
            if indeg[o] == 0 {
                ready.insert(o);
            }
        }
    }
    order
}

/// Writes results into a CIB's status section, with indexes so that many
/// results cost little more than one each.
pub struct StatusWriter<'c> {
    cib: &'c mut Cib,
    nodes: BTreeMap<String, usize>,
    rscs: BTreeMap<(usize, String), usize>,
    indexed: std::collections::BTreeSet<usize>,
}

impl<'c> StatusWriter<'c> {
    pub fn new(cib: &'c mut Cib) -> StatusWriter<'c> {
        let mut nodes = BTreeMap::new();
        for (i, st) in cib.status.node_states.iter().enumerate() {
            if let Some(u) = &st.uname {
                nodes.entry(u.clone()).or_insert(i);
            }
        }
        StatusWriter {
            cib,
            nodes,
            rscs: BTreeMap::new(),
            indexed: Default::default(),
        }
    }

    fn node_index(&mut self, uname: &str) -> usize {
        if let Some(&i) = self.nodes.get(uname) {
            return i;
        }
        let id = self
            .cib
            .configuration
            .nodes
            .iter()
            .find(|n| n.uname == uname)
            .map(|n| n.id.clone())
            .unwrap_or_else(|| uname.to_string());
        self.cib.status.node_states.push(NodeState {
            id,
            uname: Some(uname.to_string()),
            ..NodeState::default()
        });
        let i = self.cib.status.node_states.len() - 1;
        self.nodes.insert(uname.to_string(), i);
        i
    }

    fn lrm_resource(&mut self, node: &str, rsc: &RscDesc) -> &mut LrmResource {
        let ni = self.node_index(node);
        let key = (ni, rsc.id.clone());
        let st = &mut self.cib.status.node_states[ni];
        let lrm = st.lrm.get_or_insert_with(|| Lrm {
            id: Some(st.id.clone()),
            has_resources_element: true,
            ..Lrm::default()
        });
        lrm.has_resources_element = true;
        if self.indexed.insert(ni) {
            for (p, r) in lrm.resources.iter().enumerate() {
                self.rscs.entry((ni, r.id.clone())).or_insert(p);
            }
        }
        let pos = match self.rscs.get(&key) {
            Some(&p) => p,
            None => {
                lrm.resources.push(LrmResource {
                    id: rsc.id.clone(),
                    class: rsc.class.clone(),
                    provider: rsc.provider.clone(),
                    kind: rsc.kind.clone(),
                    ..LrmResource::default()
                });
                lrm.resources.len() - 1
            }
        };
        self.rscs.insert(key, pos);
        &mut lrm.resources[pos]
    }

    /// Records a result of a resource action (`pcmk__create_history_xml`).
    pub fn record(&mut self, rec: &OpRecord) {
        let OpRecord {
            node,
            rsc,
            task,
            interval_ms,
            rc,
            now,
            migrate,
            op_digest,
        } = *rec;
        let lr = self.lrm_resource(node, rsc);
        let call_id = lr
            .ops
            .iter()
            .filter_map(|o| o.call_id)
            .max()
            .unwrap_or(0)
            .max(0)
            + 1;
        let task = if task == "reload" || task == "reload-agent" {
            "start"
        } else {
            task
        };
        let key = format!("{}_{}_{}", rsc.id, task, interval_ms);
        let op_id = if task == "migrate_to" || task == "migrate_from" || interval_ms > 0 {
            key.clone()
        } else {
            format!("{}_last_0", rsc.id)
        };
        let tkey = format!("-1:{call_id}:{rc}:{FAKE_TE_ID}");
        let op = LrmRscOp {
            id: op_id.clone(),
            operation_key: Some(key),
            operation: task.to_string(),
            crm_debug_origin: Some("warden-simulate".into()),
            crm_feature_set: Some(crate::core::cib::FEATURE_SET.into()),
            transition_magic: Some(format!("0:{rc};{tkey}")),
            transition_key: Some(tkey),
            exit_reason: Some(String::new()),
            on_node: Some(node.to_string()),
            call_id: Some(call_id),
            rc_code: Some(rc),
            op_status: Some(0),
            interval_ms: Some(interval_ms),
            last_rc_change: Some(now.secs()),
            exec_time: Some(0),
            queue_time: Some(0),
            migrate_source: migrate.map(|m| m.0.to_string()),
            migrate_target: migrate.map(|m| m.1.to_string()),
            op_digest: op_digest.map(str::to_string),
            ..LrmRscOp::default()
        };
        match lr.ops.iter().position(|o| o.id == op_id) {
            Some(i) => lr.ops[i] = op,
            None => lr.ops.push(op),
        }
    }

    /// Marks a node as powered off by fencing: out of the membership, its
    /// resource history and transient attributes gone.
    pub fn fenced(&mut self, node: &str) {
        let ni = self.node_index(node);
        let st = &mut self.cib.status.node_states[ni];
        st.in_ccm = Some("false".into());
        st.crmd = Some("offline".into());
        st.join = Some("down".into());
        st.expected = Some("down".into());
        st.lrm = None;
        st.transient = None;
        self.rscs.retain(|(n, _), _| *n != ni);
        self.indexed.remove(&ni);
    }
}

/// One result to record in a node's operation history.
pub struct OpRecord<'a> {
    pub node: &'a str,
    pub rsc: &'a RscDesc,
    pub task: &'a str,
    pub interval_ms: u64,
    pub rc: i32,
    pub now: Timestamp,
    /// (source, target) of a migration.
    pub migrate: Option<(&'a str, &'a str)>,
    /// The parameters' digest (`op-digest`, see
    /// [`super::digest::request_digest`]), so that the next schedule sees
    /// whether the configuration changed since.
    pub op_digest: Option<&'a str>,
}

/// Records one result (see [`StatusWriter::record`]).
pub fn record_result(cib: &mut Cib, rec: &OpRecord) {
    StatusWriter::new(cib).record(rec);
}

/// Marks one node fenced (see [`StatusWriter::fenced`]).
pub fn record_fenced(cib: &mut Cib, node: &str) {
    StatusWriter::new(cib).fenced(node);
}

/// What the history needs to know about a resource.
pub struct RscDesc {
    pub id: String,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
}

/// Applies every action of `graph` as if it succeeded.
pub fn execute(cib: &Cib, graph: &TransitionGraph, now: Timestamp) -> Cib {
    let mut out = cib.clone();
    let mut w = StatusWriter::new(&mut out);
    for i in execution_order(graph) {
        match &graph.actions[i].kind {
            GraphActionKind::Resource {
                request,
                expected_rc,
            } => {
                if matches!(request.action.as_str(), "delete" | "meta-data") {
                    continue;
                }
                let desc = RscDesc {
                    id: request.rsc_id.clone(),
                    class: Some(request.agent.standard.as_str().to_string()),
                    provider: request.agent.provider.clone(),
                    kind: Some(request.agent.kind.clone()),
                };
                let migrate = match (
                    request.meta.get("migrate_source"),
                    request.meta.get("migrate_target"),
                ) {
                    (Some(s), Some(t)) => Some((s.as_str(), t.as_str())),
                    _ => None,
                };
                let digest = super::digest::request_digest(request);
                w.record(&OpRecord {
                    node: &request.node,
                    rsc: &desc,
                    task: &request.action,
                    interval_ms: request.interval_ms,
                    rc: *expected_rc,
                    now,
                    migrate,
                    op_digest: Some(&digest),
                });
            }
            GraphActionKind::Fence { target, action, .. }
                if *action != super::graph::FenceAction::On =>
            {
                w.fenced(target);
            }
            _ => {}
        }
    }
    drop(w);
    out.bump(Change::Status);
    out
}
