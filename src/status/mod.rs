//! One status view of a CIB — nodes and their state, the DC and quorum,
//! resources and groups with their role and node, fencing devices, failed
//! actions, configuration warnings — rendered as crm_mon-style text
//! ([`text`], also the lists `warden simulate` prints), crm_mon-style XML
//! ([`xml`]) and warden's own JSON (serde of [`StatusView`]).
//!
//! Every state shown is the scheduler's reading of the status section
//! ([`scheduler::current_state`]): roles, failures, blocked and orphaned
//! resources and node states are exactly what the scheduler decides from,
//! never a second interpretation.
//!
//! Invariant: never reads anything but the CIB and the time it is given (no
//! clock, no files, no cluster): the same input gives the same view, byte
//! for byte.

pub mod text;
pub mod xml;

use crate::core::cib::{Cib, LrmRscOp, ResourceItem};
use crate::core::scheduler::{self, util, CurrentState, ResourceStatus};
use crate::core::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything `status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusView {
    pub summary: Summary,
    /// Nodes in Pacemaker's order (sorted by name).
    pub nodes: Vec<NodeView>,
    /// Top-level resources in the order Pacemaker lists them.
    pub resources: Vec<ResourceView>,
    /// Ids of the fencing devices (they are listed with the resources too).
    pub fencing_devices: Vec<String>,
    /// Failed operations, in the order the scheduler met them.
    pub failed_actions: Vec<FailedAction>,
    /// Configuration problems worth an operator's attention (fencing
    /// disabled or impossible, two nodes without fencing-race protection),
    /// as `cib verify` words them.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `cluster-infrastructure`, "unknown" if not recorded.
    pub stack: String,
    pub dc: Option<Dc>,
    pub have_quorum: bool,
    /// `cib-last-written` and who wrote it.
    pub last_written: Option<String>,
    pub last_user: Option<String>,
    pub last_client: Option<String>,
    pub last_origin: Option<String>,
    pub nodes_configured: usize,
    /// Primitives counted as crm_mon counts them (orphans only while active).
    pub resource_instances: usize,
    pub disabled: usize,
    pub blocked: usize,
    pub maintenance_mode: bool,
    pub stop_all_resources: bool,
    pub stonith_enabled: bool,
    pub symmetric_cluster: bool,
    pub no_quorum_policy: String,
    pub stonith_timeout_ms: u64,
    pub priority_fencing_delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dc {
    pub name: String,
    pub id: String,
    /// `dc-version`, if recorded.
    pub version: Option<String>,
}

/// A node and its state, as the scheduler reads `node_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeView {
    pub name: String,
    pub id: String,
    /// `member` or `remote`.
    pub kind: String,
    pub online: bool,
    pub standby: bool,
    /// In standby because an operation with `on-fail=standby` failed.
    pub standby_onfail: bool,
    pub maintenance: bool,
    /// Up but not ready to run resources (joining).
    pub pending: bool,
    /// Must be fenced before its resources can be trusted stopped.
    pub unclean: bool,
    pub shutdown: bool,
    pub expected_up: bool,
    pub is_dc: bool,
    /// Resources active on the node.
    pub running: usize,
    /// The feature set the node's controller speaks (`#feature-set`; online
    /// members only; `<3.15.1` when it does not say).
    pub feature_set: Option<String>,
}

impl NodeView {
    /// The state words crm_mon uses (`online`, `standby`, `UNCLEAN
    /// (offline)`, ...).
    pub fn state_text(&self) -> &'static str {
        if self.unclean {
            if self.online {
                "UNCLEAN (online)"
            } else if self.pending {
                "UNCLEAN (pending)"
            } else {
                "UNCLEAN (offline)"
            }
        } else if self.pending {
            "pending"
        } else if self.standby_onfail && self.online {
            "standby (on-fail)"
        } else if self.standby {
            match (self.online, self.running > 0) {
                (true, true) => "standby (with active resources)",
                (true, false) => "standby",
                (false, _) => "OFFLINE (standby)",
            }
        } else if self.maintenance {
            if self.online {
                "maintenance"
            } else {
                "OFFLINE (maintenance)"
            }
        } else if self.online {
            "online"
        } else {
            "OFFLINE"
        }
    }

    /// Whether crm_mon lists the node on a line of its own rather than in
    /// the "Online: [ ... ]" / "OFFLINE: [ ... ]" lists.
    pub fn shown_alone(&self) -> bool {
        self.unclean
            || self.pending
            || (self.standby_onfail && self.online)
            || self.standby
            || self.maintenance
    }
}

/// One top-level entry of the resource list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ResourceView {
    Primitive(PrimitiveView),
    Group(GroupView),
    /// Clones, bundles and other kinds the view does not interpret.
    Other {
        kind: String,
        id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrimitiveView {
    pub id: String,
    /// `class[:provider]:type`
    pub agent: String,
    /// "Stopped", "Started", "Unpromoted" or "Promoted".
    pub role: String,
    /// Where it is active, in the order the history was read.
    pub nodes: Vec<String>,
    /// The node its line names: where it is active (or starting, or locked
    /// to); none when it is active on several nodes.
    pub node: Option<String>,
    pub failed: bool,
    pub orphaned: bool,
    /// target-role=Stopped (its own, its group's or the defaults').
    pub disabled: bool,
    /// The `target-role` meta attribute, as written.
    pub target_role: Option<String>,
    /// A failed operation (usually a stop) that nothing can recover from
    /// until someone cleans it up.
    pub blocked: bool,
    pub managed: bool,
    pub failure_ignored: bool,
    pub stonith: bool,
    /// An action still running ("start", "stop", "monitor", ...).
    pub pending_task: Option<String>,
    /// `node` is offline and unclean.
    pub unclean_node: bool,
    /// `node` is the node a shutdown lock holds it to.
    pub locked: bool,
    /// Stopped because a probe found it cannot run on `node` (the probe's
    /// exit code: not installed, invalid parameter).
    pub failed_probe_rc: Option<i32>,
    /// Whether crm_mon counts it as active.
    pub active: bool,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub disabled: bool,
    pub managed: bool,
    pub members: Vec<PrimitiveView>,
}

/// A failed operation from the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedAction {
    /// `RSC_ACTION_INTERVAL` as recorded (the entry's id when it has none).
    pub op_key: String,
    /// Whether `op_key` came from `operation_key` (crm_mon's XML says `id`
    /// otherwise).
    pub has_key: bool,
    pub resource: String,
    pub task: String,
    pub interval_ms: u64,
    pub node: String,
    pub rc: i32,
    pub status: i32,
    /// As recorded (possibly empty).
    pub exit_reason: Option<String>,
    pub call_id: Option<i64>,
    pub last_rc_change: Option<i64>,
    pub exec_time_ms: Option<i64>,
    pub queue_time_ms: Option<i64>,
}

// ---- building the view -----------------------------------------------------

fn is_true(v: &str) -> bool {
    util::is_true(v)
}

/// The agent as crm_mon writes it: `class:provider:type` for OCF (the only
/// standard with providers), `class:type` otherwise.
fn agent_of(r: &ResourceStatus) -> String {
    let class = r.class.as_deref().unwrap_or("unknown");
    let kind = r.kind.as_deref().unwrap_or("unknown");
    match (class, r.provider.as_deref()) {
        ("ocf", Some(p)) => format!("{class}:{p}:{kind}"),
        ("ocf", None) => format!("{class}::{kind}"),
        _ => format!("{class}:{kind}"),
    }
}

/// Whether a history entry is a probe that only says the resource cannot
/// run there (`pcmk_xe_mask_probe_failure`).
pub fn is_masked_probe_failure(op: &LrmRscOp) -> bool {
    op.operation == "monitor"
        && op.interval_ms.unwrap_or(0) == 0
        && (matches!(op.rc_code, Some(5) | Some(2)) || op.op_status == Some(7))
}

/// The history entry `op_id` of `rsc` on the node named `node`.
fn find_op<'a>(cib: &'a Cib, node: &str, rsc: &str, op_id: &str) -> Option<&'a LrmRscOp> {
    cib.status
        .node_states
        .iter()
        .filter(|s| {
            s.uname.as_deref() == Some(node)
                || s.id == node
                || node_id(cib, node) == Some(s.id.as_str())
        })
        .filter_map(|s| s.lrm.as_ref())
        .flat_map(|l| l.resources.iter())
        .filter(|r| r.id == rsc)
        .flat_map(|r| r.ops.iter())
        .find(|o| o.id == op_id)
}

fn node_id<'a>(cib: &'a Cib, uname: &str) -> Option<&'a str> {
    cib.configuration
        .nodes
        .iter()
        .find(|n| n.uname == uname)
        .map(|n| n.id.as_str())
}

/// A transient attribute of the node with id `id`.
fn transient_attr(cib: &Cib, id: &str, name: &str) -> Option<String> {
    cib.status
        .node_states
        .iter()
        .filter(|s| s.id == id)
        .filter_map(|s| s.transient.as_ref())
        .flat_map(|t| t.sets.iter())
        .find_map(|set| set.get(name))
        .map(str::to_string)
}

/// The `description` of every primitive that has one, by id.
fn descriptions(cib: &Cib) -> BTreeMap<&str, &str> {
    cib.configuration
        .primitives()
        .filter_map(|p| Some((p.id.as_str(), p.description.as_deref()?)))
        .collect()
}

/// `native_active`: active on an unclean node, or on an online one (an
/// unmanaged resource also on an offline one).
fn primitive_active(r: &ResourceStatus, nodes: &[NodeView]) -> bool {
    r.running_on.iter().any(|n| {
        let Some(nv) = nodes.iter().find(|x| x.name == *n) else {
            return true;
        };
        nv.unclean || nv.online || !r.managed
    })
}

fn primitive_view(
    descriptions: &BTreeMap<&str, &str>,
    r: &ResourceStatus,
    nodes: &[NodeView],
    failed: &[FailedOp],
) -> PrimitiveView {
    // The node the line names: where it counts as active, else where an
    // action is pending, else where a shutdown lock holds it.
    let mut node = r.current_node.clone().or_else(|| r.pending_node.clone());
    if node.is_none() {
        node = r.locked_to.clone();
    }
    if r.running_on.len() > 1 {
        node = None;
    }
    let node_view = node
        .as_deref()
        .and_then(|n| nodes.iter().find(|x| x.name == n));
    // A probe that found the agent missing or misconfigured explains why
    // a stopped resource is stopped (`pe__failed_probe_for_rsc`: the
    // history entry must name its node with `on_node`).
    let failed_probe_rc = (r.role == "Stopped")
        .then(|| {
            failed.iter().find_map(|f| {
                let op = f.op;
                if !is_masked_probe_failure(op) {
                    return None;
                }
                let on = op.on_node.as_deref()?;
                if node.as_deref().is_some_and(|n| !n.eq_ignore_ascii_case(on)) {
                    return None;
                }
                let key = op.operation_key.as_deref().unwrap_or(&op.id);
                let (rsc, _, _) = util::parse_op_key(key)?;
                (rsc == r.id).then_some(op.rc_code.unwrap_or(0))
            })
        })
        .flatten();
    let target = r.target_role.as_deref();
    PrimitiveView {
        id: r.id.clone(),
        agent: agent_of(r),
        role: r.role.clone(),
        nodes: r.running_on.clone(),
        unclean_node: node_view.is_some_and(|n| !n.online && n.unclean),
        locked: node.is_some() && node == r.locked_to,
        node,
        failed: r.failed,
        orphaned: r.orphan,
        disabled: target.is_some_and(|t| util::Role::parse(t) == util::Role::Stopped),
        target_role: r.target_role.clone(),
        blocked: r.blocked,
        managed: r.managed,
        failure_ignored: r.failure_ignored,
        stonith: r.class.as_deref() == Some("stonith"),
        pending_task: r.pending_task.clone(),
        failed_probe_rc,
        active: primitive_active(r, nodes),
        description: descriptions.get(r.id.as_str()).map(|d| d.to_string()),
    }
}

/// One entry of the scheduler's failed-operation list, with its history
/// entry.
struct FailedOp<'a> {
    node: String,
    op: &'a LrmRscOp,
}

fn failed_action(f: &FailedOp) -> FailedAction {
    let op = f.op;
    let (op_key, has_key) = match op.operation_key.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => (k.to_string(), true),
        None => (op.id.clone(), false),
    };
    let (resource, task, interval_ms) = util::parse_op_key(&op_key).unwrap_or((
        "unknown resource".to_string(),
        "unknown action".to_string(),
        0,
    ));
    FailedAction {
        op_key,
        has_key,
        resource,
        task,
        interval_ms,
        node: f.node.clone(),
        rc: op.rc_code.unwrap_or(0),
        status: op.op_status.unwrap_or(0),
        exit_reason: op.exit_reason.clone(),
        call_id: op.call_id,
        last_rc_change: op.last_rc_change,
        exec_time_ms: op.exec_time,
        queue_time_ms: op.queue_time,
    }
}

/// The warnings `cib verify` gives about fencing, for the status view.
pub fn fencing_warnings(cib: &Cib) -> Vec<String> {
    const ABOUT_FENCING: [&str; 3] = [
        "fencing is disabled",
        "fencing is enabled but no fence device",
        "a two-node cluster has no protection against fencing races",
    ];
    let text = crate::core::cib::to_xml(cib);
    crate::core::cib::verify::verify(&text, "cib")
        .into_iter()
        .filter(|d| ABOUT_FENCING.iter().any(|p| d.message.starts_with(p)))
        .map(|d| d.message)
        .collect()
}

fn property_ms(cib: &Cib, name: &str, default_ms: u64) -> u64 {
    cib.configuration
        .property(name)
        .and_then(|v| crate::core::cib::duration::parse_msec(v).ok())
        .unwrap_or(default_ms)
}

/// Builds the view of a CIB at time `now` (the time failures expire
/// against), from the scheduler's reading of it, with the fencing
/// warnings (see [`fencing_warnings`]).
pub fn build(cib: &Cib, now: Timestamp) -> StatusView {
    let mut view = build_lists(cib, now);
    view.warnings = fencing_warnings(cib);
    view
}

/// [`build`] without the warnings (for views that do not show them).
pub fn build_lists(cib: &Cib, now: Timestamp) -> StatusView {
    let state = scheduler::current_state(cib, now);
    build_from(cib, &state)
}

/// Builds the view (without warnings) from a state the scheduler already
/// read from `cib`.
pub fn build_from(cib: &Cib, state: &CurrentState) -> StatusView {
    let c = &cib.configuration;
    let mut nodes: Vec<NodeView> = state
        .nodes
        .iter()
        .map(|n| NodeView {
            name: n.name.clone(),
            id: n.id.clone(),
            kind: if n.remote { "remote" } else { "member" }.to_string(),
            online: n.online,
            standby: n.standby,
            standby_onfail: n.standby_onfail,
            maintenance: n.maintenance,
            pending: n.pending,
            unclean: n.unclean,
            shutdown: n.shutdown,
            expected_up: n.expected_up,
            is_dc: n.is_dc,
            running: 0,
            feature_set: (n.online && !n.remote).then(|| {
                transient_attr(cib, &n.id, "#feature-set").unwrap_or_else(|| "<3.15.1".into())
            }),
        })
        .collect();
    for r in &state.resources {
        for on in &r.running_on {
            if let Some(n) = nodes.iter_mut().find(|n| n.name == *on) {
                n.running += 1;
            }
        }
    }

    // The failed operations as Pacemaker records them (`record_failed_op`):
    // only on online nodes, and once per node and `operation_key` (entries
    // without one all share the missing key).
    let mut failed: Vec<FailedOp> = Vec::new();
    for (rsc, node, op_id) in &state.failed_ops {
        let Some(op) = find_op(cib, node, rsc, op_id) else {
            continue;
        };
        if !nodes.iter().any(|n| n.name == *node && n.online) {
            continue;
        }
        let duplicate = failed.iter().any(|f| {
            f.node.eq_ignore_ascii_case(node)
                && match (&f.op.operation_key, &op.operation_key) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    (None, None) => true,
                    _ => false,
                }
        });
        if !duplicate {
            failed.push(FailedOp {
                node: node.clone(),
                op,
            });
        }
    }

    let by_id: BTreeMap<&str, &ResourceStatus> = state
        .resources
        .iter()
        .rev()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let prim = |id: &str| by_id.get(id).copied();
    let descriptions = descriptions(cib);
    let mut resources = Vec::new();
    let mut fencing_devices = Vec::new();
    let (mut instances, mut disabled, mut blocked) = (0usize, 0usize, 0usize);
    let mut count = |p: &PrimitiveView| {
        if !p.orphaned || p.role != "Stopped" {
            instances += 1;
            disabled += usize::from(p.disabled);
            blocked += usize::from(p.blocked);
        }
    };
    for id in &state.top_level {
        if let Some(r) = prim(id) {
            let v = primitive_view(&descriptions, r, &nodes, &failed);
            count(&v);
            if v.stonith {
                fencing_devices.push(v.id.clone());
            }
            resources.push(ResourceView::Primitive(v));
        } else if let Some(g) = state.groups.iter().find(|g| g.id == *id) {
            let members: Vec<PrimitiveView> = g
                .members
                .iter()
                .filter_map(|m| prim(m))
                .map(|r| primitive_view(&descriptions, r, &nodes, &failed))
                .collect();
            for m in &members {
                count(m);
                if m.stonith {
                    fencing_devices.push(m.id.clone());
                }
            }
            resources.push(ResourceView::Group(GroupView {
                id: g.id.clone(),
                disabled: g
                    .target_role
                    .as_deref()
                    .is_some_and(|t| util::Role::parse(t) == util::Role::Stopped),
                managed: g.managed,
                members,
            }));
        }
    }
    // Clones, bundles and other elements the scheduler does not manage are
    // still listed, by name.
    for item in &c.resources {
        if let ResourceItem::Other(e) = item {
            resources.push(ResourceView::Other {
                kind: e.name.clone(),
                id: e.id().unwrap_or("").to_string(),
            });
        }
    }

    // Masked probe failures explain a stopped resource; they are not listed.
    let failed_actions: Vec<FailedAction> = failed
        .iter()
        .filter(|f| !is_masked_probe_failure(f.op))
        .map(failed_action)
        .collect();

    let dc = nodes.iter().find(|n| n.is_dc).map(|n| Dc {
        name: n.name.clone(),
        id: n.id.clone(),
        version: c.property("dc-version").map(str::to_string),
    });
    let attr = |name: &str| {
        cib.extra_attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let no_quorum_policy = match c.property("no-quorum-policy") {
        Some(p @ ("freeze" | "stop" | "demote" | "ignore" | "suicide")) => p.to_string(),
        _ => "stop".to_string(),
    };
    StatusView {
        summary: Summary {
            stack: c
                .property("cluster-infrastructure")
                .unwrap_or("unknown")
                .to_string(),
            dc,
            have_quorum: cib.have_quorum.as_deref().is_some_and(is_true),
            last_written: attr("cib-last-written"),
            last_user: attr("update-user"),
            last_client: attr("update-client"),
            last_origin: attr("update-origin"),
            nodes_configured: nodes.len(),
            resource_instances: instances,
            disabled,
            blocked,
            maintenance_mode: state.maintenance_mode,
            stop_all_resources: state.stop_all_resources,
            stonith_enabled: state.stonith_enabled,
            symmetric_cluster: c.property("symmetric-cluster").is_none_or(is_true),
            no_quorum_policy,
            stonith_timeout_ms: property_ms(cib, "stonith-timeout", 60_000),
            priority_fencing_delay_ms: property_ms(cib, "priority-fencing-delay", 0),
        },
        nodes,
        resources,
        fencing_devices,
        failed_actions,
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_state_words() {
        let mut n = NodeView {
            name: "n1".into(),
            id: "1".into(),
            kind: "member".into(),
            online: true,
            standby: false,
            standby_onfail: false,
            maintenance: false,
            pending: false,
            unclean: false,
            shutdown: false,
            expected_up: true,
            is_dc: false,
            running: 0,
            feature_set: None,
        };
        assert_eq!((n.state_text(), n.shown_alone()), ("online", false));
        n.standby = true;
        assert_eq!((n.state_text(), n.shown_alone()), ("standby", true));
        n.running = 1;
        assert_eq!(n.state_text(), "standby (with active resources)");
        n.online = false;
        assert_eq!(n.state_text(), "OFFLINE (standby)");
        n.unclean = true;
        assert_eq!(n.state_text(), "UNCLEAN (offline)");
    }
}
