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

const FAKE_TE_ID: &str = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

/// The actions of `graph` in an order that respects their inputs (ties by id).
pub fn execution_order(graph: &TransitionGraph) -> Vec<usize> {
    let n = graph.actions.len();
    let mut indeg: Vec<usize> = graph.actions.iter().map(|a| a.inputs.len()).collect();
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
    // A cycle would leave actions out; run them anyway, in id order.
    if order.len() < n {
        let done: std::collections::BTreeSet<usize> = order.iter().copied().collect();
        order.extend((0..n).filter(|i| !done.contains(i)));
    }
    order
}

fn node_state_mut<'c>(cib: &'c mut Cib, uname: &str) -> &'c mut NodeState {
    if let Some(i) = cib
        .status
        .node_states
        .iter()
        .position(|s| s.uname.as_deref() == Some(uname))
    {
        return &mut cib.status.node_states[i];
    }
    let id = cib
        .configuration
        .nodes
        .iter()
        .find(|n| n.uname == uname)
        .map(|n| n.id.clone())
        .unwrap_or_else(|| uname.to_string());
    cib.status.node_states.push(NodeState {
        id,
        uname: Some(uname.to_string()),
        ..NodeState::default()
    });
    cib.status.node_states.last_mut().expect("just pushed")
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
}

/// Records a successful result of a resource action (`pcmk__create_history_xml`).
pub fn record_result(cib: &mut Cib, rec: &OpRecord) {
    let OpRecord {
        node,
        rsc,
        task,
        interval_ms,
        rc,
        now,
        migrate,
    } = *rec;
    let st = node_state_mut(cib, node);
    let lrm = st.lrm.get_or_insert_with(|| Lrm {
        id: Some(st.id.clone()),
        has_resources_element: true,
        ..Lrm::default()
    });
    lrm.has_resources_element = true;
    let pos = match lrm.resources.iter().position(|r| r.id == rsc.id) {
        Some(p) => p,
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
    let lr = &mut lrm.resources[pos];
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
        crm_feature_set: Some("3.16.2".into()),
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
        ..LrmRscOp::default()
    };
    match lr.ops.iter().position(|o| o.id == op_id) {
        Some(i) => lr.ops[i] = op,
        None => lr.ops.push(op),
    }
}

/// Marks a node as powered off by fencing: out of the membership, its
/// resource history and transient attributes gone.
pub fn record_fenced(cib: &mut Cib, node: &str) {
    let st = node_state_mut(cib, node);
    st.in_ccm = Some("false".into());
    st.crmd = Some("offline".into());
    st.join = Some("down".into());
    st.expected = Some("down".into());
    st.lrm = None;
    st.transient = None;
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
                record_result(
                    &mut out,
                    &OpRecord {
                        node: &request.node,
                        rsc: &desc,
                        task: &request.action,
                        interval_ms: request.interval_ms,
                        rc: *expected_rc,
                        now,
                        migrate,
                    },
                );
            }
            GraphActionKind::Fence { target, action, .. }
                if *action != super::graph::FenceAction::On =>
            {
                record_fenced(&mut out, target);
            }
            _ => {}
        }
    }
    out.bump(Change::Status);
    out
}
