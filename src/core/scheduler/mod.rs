//! The policy engine: given the whole CIB and the time, decide what runs
//! where and in which order — the same decisions Pacemaker's scheduler makes.
//!
//! Invariant: pure. No IO, no clock (`now` is an argument), no randomness,
//! no hash-order iteration: the same input gives a byte-identical output.
//! The schedule is always recomputed from the whole CIB (level-triggered),
//! never from "what just happened".

pub mod graph;

mod actions;
mod assign;
mod build;
mod constraints;
pub mod digest;
mod migration;
mod model;
mod ordering;
mod plan;
mod rules;
pub mod simulate;
mod summary;
mod unpack;
pub mod util;

use crate::core::cib::{Cib, Diagnostic};
use crate::core::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

pub use graph::{ActionId, FenceAction, GraphAction, GraphActionKind, TransitionGraph};
pub use model::{Notice, ScoreLine};

/// One line of Pacemaker's "Transition Summary".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryKind {
    Start,
    Stop,
    Move,
    Recover,
    Restart,
    Migrate,
    Fence,
    Promote,
    Demote,
    Reload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryAction {
    /// None for fencing.
    pub rsc: Option<String>,
    pub action: SummaryKind,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Wanted but not possible (shown with "(blocked)").
    pub blocked: bool,
    /// Pacemaker's "due to ..." text, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For fencing: reboot or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence_type: Option<FenceAction>,
}

/// Where a primitive is once the transition has run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Placement {
    Stopped,
    On(String),
    /// Still active on several nodes (unmanaged and multiply active).
    Several(Vec<String>),
}

/// The result of scheduling.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    pub graph: TransitionGraph,
    pub summary: Vec<SummaryAction>,
    /// The summary as Pacemaker prints it ("* Start rsc ( node1 )").
    pub summary_lines: Vec<String>,
    /// Nodes the transition fences, sorted.
    pub fenced: Vec<String>,
    /// Schedule again by this time even if nothing changes (failure-timeout
    /// expiry, date rules).
    pub recheck_by: Option<Timestamp>,
    /// What the scheduler could not act on (unsupported elements, bad
    /// values), named.
    pub diagnostics: Vec<Diagnostic>,
    /// The allocation scores assignment used, in the order it used them
    /// (`crm_simulate -s`); empty unless `ScheduleOptions::show_scores`.
    pub scores: Vec<ScoreLine>,
    /// What a simulation reports beside the scores (`crm_simulate -s`),
    /// such as a definition whose only change is in private parameters,
    /// which a sanitized CIB cannot tell apart.
    pub notices: Vec<Notice>,
    /// The graph's actions in Pacemaker's synapse order: each top-level
    /// resource's actions (newest first, then its members'), then the
    /// remaining actions newest first. Executing a transition walks the
    /// synapses in this order, so it decides the order in which
    /// `crm_simulate` reports actions that become ready together.
    pub synapse_order: Vec<ActionId>,
    /// The node a pseudo action of the graph stands for, when it has one (a
    /// stop implied by fencing, a start done by a migration); Pacemaker's
    /// dot output names those actions with it.
    pub pseudo_nodes: BTreeMap<ActionId, String>,
    /// The cluster as read before any decision, when
    /// `ScheduleOptions::current_state` asked for it.
    pub current: Option<CurrentState>,
}

/// What `schedule_with` records besides the transition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduleOptions {
    /// Keep the allocation-score trace (`Schedule::scores`).
    pub show_scores: bool,
    /// The CIB's private parameters are masked (as in a simulation of a
    /// shared CIB): a change of only those is no change. What
    /// `crm_simulate` assumes; a live cluster's scheduler does not.
    pub sanitized: bool,
    /// Also return the cluster as read before any decision
    /// (`Schedule::current`, what [`current_state`] gives), from the same
    /// reading of the CIB.
    pub current_state: bool,
}

/// Computes the transition for `cib` at time `now`.
pub fn schedule(cib: &Cib, now: Timestamp) -> Schedule {
    schedule_with(cib, now, ScheduleOptions::default())
}

/// `schedule`, recording what `options` asks for.
pub fn schedule_with(cib: &Cib, now: Timestamp, options: ScheduleOptions) -> Schedule {
    let mut ws = unpack::unpack_sanitized(cib, now.secs(), options.sanitized);
    if options.show_scores {
        ws.score_trace = Some(Vec::new());
    }
    let current = options.current_state.then(|| state_of(&ws));
    constraints::unpack_constraints(&mut ws);
    assign::apply_node_criteria(&mut ws);
    constraints::internal_constraints(&mut ws);
    plan::handle_config_changes(&mut ws);
    assign::assign_all(&mut ws);
    if ws.config.startup_probes {
        plan::schedule_probes(&mut ws);
    }
    if ws.config.stop_orphan_resources {
        plan::clear_orphan_failcounts(&mut ws);
    }
    plan::create_actions(&mut ws);
    plan::schedule_fencing_and_shutdowns(&mut ws);
    ordering::apply_orderings(&mut ws);
    let (summary, summary_lines) = summary::summarize(&mut ws);
    let graph = build::build_graph(&mut ws);
    let (synapse_order, pseudo_nodes) = synapse_order(&ws, &graph);
    let mut fenced: Vec<String> = summary
        .iter()
        .filter(|s| s.action == SummaryKind::Fence)
        .filter_map(|s| s.to.clone())
        .collect();
    fenced.sort();
    fenced.dedup();
    let recheck_by = ws.recheck_by.map(Timestamp::from_secs);
    let mut diagnostics: Vec<Diagnostic> = ws
        .warnings
        .iter()
        .map(|w| Diagnostic::warning(w.clone()))
        .collect();
    diagnostics.dedup();
    Schedule {
        graph,
        summary,
        summary_lines,
        fenced,
        recheck_by,
        diagnostics,
        scores: ws.score_trace.take().unwrap_or_default(),
        notices: std::mem::take(&mut ws.notices),
        synapse_order,
        pseudo_nodes,
        current,
    }
}

/// Whether the graph action `g` is the working-set action `a` (the graph
/// holds a subsequence of the working set's actions, in the same order).
fn is_graph_action(ws: &model::Ws, a: &model::Action, g: &GraphAction) -> bool {
    let node = a.node.map(|n| ws.node(n).uname.as_str());
    let rsc = a.rsc.map(|r| ws.rsc(r).id.as_str());
    let interval: u64 = a
        .meta
        .get("interval")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match &g.kind {
        GraphActionKind::Resource { request, .. } => {
            !a.has(model::aflag::PSEUDO)
                && rsc == Some(request.rsc_id.as_str())
                && a.task == request.action
                && node == Some(request.node.as_str())
                && interval == request.interval_ms
        }
        GraphActionKind::Cancel {
            rsc_id,
            node: on,
            action,
            ..
        } => {
            a.task == "cancel"
                && rsc == Some(rsc_id.as_str())
                && node == Some(on.as_str())
                && a.cancel_task.as_deref() == Some(action.as_str())
        }
        GraphActionKind::Fence { target, .. } => {
            a.task == "stonith" && node == Some(target.as_str())
        }
        GraphActionKind::Shutdown { node: on } => {
            a.task == "do_shutdown" && node == Some(on.as_str())
        }
        GraphActionKind::ClearFailcount { rsc_id, node: on } => {
            a.task == "clear_failcount" && rsc == Some(rsc_id.as_str()) && node == Some(on.as_str())
        }
        GraphActionKind::ForgetHistory { rsc_id, node: on } => {
            matches!(a.task.as_str(), "delete" | "lrm_delete")
                && rsc == Some(rsc_id.as_str())
                && node == Some(on.as_str())
        }
        GraphActionKind::Pseudo { name } => a.uuid == *name,
    }
}

/// The synapse order of `pcmk__create_graph` (see `Schedule::synapse_order`)
/// and the nodes of pseudo actions (`Schedule::pseudo_nodes`).
fn synapse_order(
    ws: &model::Ws,
    graph: &TransitionGraph,
) -> (Vec<ActionId>, BTreeMap<ActionId, String>) {
    let mut of_action: Vec<Option<ActionId>> = vec![None; ws.actions.len()];
    let mut pseudo_nodes = BTreeMap::new();
    let mut next = 0usize;
    for (i, a) in ws.actions.iter().enumerate() {
        let Some(g) = graph.actions.get(next) else {
            break;
        };
        if is_graph_action(ws, a, g) {
            of_action[i] = Some(g.id);
            if let (GraphActionKind::Pseudo { .. }, Some(n)) = (&g.kind, a.node) {
                pseudo_nodes.insert(g.id, ws.node(n).uname.clone());
            }
            next += 1;
        }
    }
    if next != graph.actions.len() {
        // Not a subsequence: fall back to creation order.
        return (graph.actions.iter().map(|a| a.id).collect(), pseudo_nodes);
    }
    let mut order = Vec::with_capacity(graph.actions.len());
    let mut placed = vec![false; graph.actions.len()];
    let mut place = |id: Option<ActionId>, order: &mut Vec<ActionId>| {
        if let Some(id) = id {
            if !placed[id.0 as usize] {
                placed[id.0 as usize] = true;
                order.push(id);
            }
        }
    };
    let mut stack: Vec<model::RscIdx> = ws.top.iter().rev().copied().collect();
    while let Some(r) = stack.pop() {
        let rsc = ws.rsc(r);
        for a in rsc.actions.iter().rev() {
            place(of_action[a.0 as usize], &mut order);
        }
        stack.extend(rsc.children.iter().rev().copied());
    }
    for i in (0..ws.actions.len()).rev() {
        place(of_action[i], &mut order);
    }
    (order, pseudo_nodes)
}

/// The cluster as it will be once `schedule`'s transition has run with every
/// action succeeding (crm_simulate's "Revised Cluster Status"): the CIB with
/// the results recorded, and where every primitive then runs.
pub fn revised(
    cib: &Cib,
    schedule: &Schedule,
    now: Timestamp,
) -> (Cib, BTreeMap<String, Placement>) {
    let after = simulate::execute(cib, &schedule.graph, now);
    let placement = placement_of(&after, now);
    (after, placement)
}

/// Where every primitive runs according to a CIB's status section.
pub fn placement_of(cib: &Cib, now: Timestamp) -> BTreeMap<String, Placement> {
    let ws = unpack::unpack(cib, now.secs());
    let mut out = BTreeMap::new();
    for r in &ws.rscs {
        if r.variant != model::Variant::Primitive {
            continue;
        }
        let mut nodes: Vec<String> = r
            .running_on
            .iter()
            .map(|n| ws.node(*n).uname.clone())
            .collect();
        if r.has(model::rflag::ORPHAN) && nodes.is_empty() {
            continue;
        }
        nodes.sort();
        let p = match nodes.len() {
            0 => Placement::Stopped,
            1 => Placement::On(nodes.remove(0)),
            _ => Placement::Several(nodes),
        };
        out.insert(r.id.clone(), p);
    }
    out
}

/// Every action the scheduler considered, with its flags and inputs: a
/// debugging view (`warden simulate --show-actions`).
pub fn explain_actions(cib: &Cib, now: Timestamp) -> String {
    use std::fmt::Write as _;
    let mut ws = unpack::unpack(cib, now.secs());
    constraints::unpack_constraints(&mut ws);
    assign::apply_node_criteria(&mut ws);
    constraints::internal_constraints(&mut ws);
    plan::handle_config_changes(&mut ws);
    assign::assign_all(&mut ws);
    if ws.config.startup_probes {
        plan::schedule_probes(&mut ws);
    }
    plan::create_actions(&mut ws);
    plan::schedule_fencing_and_shutdowns(&mut ws);
    ordering::apply_orderings(&mut ws);
    let mut out = String::new();
    let flag_names = |f: u32| {
        let mut v = Vec::new();
        for (bit, name) in [
            (model::aflag::PSEUDO, "pseudo"),
            (model::aflag::RUNNABLE, "runnable"),
            (model::aflag::OPTIONAL, "optional"),
            (model::aflag::PRINT_ALWAYS, "print"),
            (model::aflag::MIGRATE_RUNNABLE, "migratable"),
        ] {
            if f & bit != 0 {
                v.push(name);
            }
        }
        v.join(",")
    };
    for r in &ws.rscs {
        let alloc = r
            .allocated_to
            .map(|n| ws.node(n).uname.clone())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "rsc {} role={} next={} alloc={} flags={:#x} allowed={:?}",
            r.id,
            r.role,
            r.next_role,
            alloc,
            r.flags,
            r.allowed
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.map(|a| format!("{}={}", ws.nodes[i].uname, a.weight)))
                .collect::<Vec<_>>()
        );
    }
    for c in &ws.colocations {
        let _ = writeln!(
            out,
            "colocation {} {} with {} score={}",
            c.id,
            ws.rsc(c.dependent).id,
            ws.rsc(c.primary).id,
            c.score
        );
    }
    for l in &ws.locations {
        let _ = writeln!(
            out,
            "location {} {} {:?}",
            l.id,
            ws.rsc(l.rsc).id,
            l.nodes
                .iter()
                .map(|(n, s)| format!("{}={s}", ws.node(*n).uname))
                .collect::<Vec<_>>()
        );
    }
    for o in &ws.orderings {
        let _ = writeln!(
            out,
            "ordering {} {:?} then {:?} flags={:#x}",
            o.id, o.first_task, o.then_task, o.flags
        );
    }
    for (i, a) in ws.actions.iter().enumerate() {
        let node = a.node.map(|n| ws.node(n).uname.clone()).unwrap_or_default();
        let _ = writeln!(
            out,
            "{i} {} on {node} [{}] reason={:?}",
            a.uuid,
            flag_names(a.flags),
            a.reason
        );
        for l in &a.before {
            let link = ws.link(*l);
            let _ = writeln!(
                out,
                "    <- {} {} {:#x}",
                link.action.0,
                ws.act(link.action).uuid,
                link.kind
            );
        }
    }
    out
}

/// A node as the scheduler reads it from the status section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub id: String,
    pub online: bool,
    pub standby: bool,
    /// Put in standby by a failure (`on-fail=standby`).
    pub standby_onfail: bool,
    /// Seen by the cluster but not yet a full member.
    pub pending: bool,
    /// Must be fenced (or could not be, and its state is unknown).
    pub unclean: bool,
    pub shutdown: bool,
    pub maintenance: bool,
    pub is_dc: bool,
    /// Why it is unclean, when it is.
    pub fence_reason: Option<String>,
    /// A Pacemaker Remote node rather than a cluster member.
    pub remote: bool,
    /// The controller expects the node to be up (`expected="member"`).
    pub expected_up: bool,
}

/// A primitive as the scheduler reads it from its operation history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceStatus {
    pub id: String,
    /// The group it belongs to.
    pub group: Option<String>,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
    /// "Stopped", "Started", "Unpromoted", "Promoted".
    pub role: String,
    /// Where it is active (several nodes when multiply active).
    pub running_on: Vec<String>,
    pub managed: bool,
    pub failed: bool,
    pub blocked: bool,
    pub orphan: bool,
    pub maintenance: bool,
    pub failure_ignored: bool,
    /// `target-role` asks for it to be stopped.
    pub disabled: bool,
    /// An action still running ("start", "stop", "migrate_to", ...).
    pub pending_task: Option<String>,
    pub pending_node: Option<String>,
    /// The node it counts as active on (`pe__current_node`).
    pub current_node: Option<String>,
    /// Its `target-role` meta attribute (own, group's or defaults'), as written.
    pub target_role: Option<String>,
    /// The node a shutdown lock holds it to.
    pub locked_to: Option<String>,
}

/// A group as the scheduler reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupStatus {
    pub id: String,
    /// Member primitives, in order.
    pub members: Vec<String>,
    pub managed: bool,
    /// Its `target-role` meta attribute, as written.
    pub target_role: Option<String>,
}

/// The cluster as it is now, read exactly as the scheduler reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentState {
    pub have_quorum: bool,
    pub stonith_enabled: bool,
    pub maintenance_mode: bool,
    pub stop_all_resources: bool,
    /// Nodes sorted by name, as Pacemaker lists them.
    pub nodes: Vec<NodeStatus>,
    /// Primitives in configuration order (orphans last).
    pub resources: Vec<ResourceStatus>,
    /// Groups in configuration order.
    pub groups: Vec<GroupStatus>,
    /// Top-level resources (primitive and group ids) in the order Pacemaker
    /// processes and lists them: by priority, orphans last.
    pub top_level: Vec<String>,
    /// Failed operations: (resource, node, `lrm_rsc_op` id).
    pub failed_ops: Vec<(String, String, String)>,
    /// What could not be understood or acted on.
    pub warnings: Vec<String>,
}

/// Reads the current state of the cluster from `cib` at `now`.
pub fn current_state(cib: &Cib, now: Timestamp) -> CurrentState {
    state_of(&unpack::unpack(cib, now.secs()))
}

/// The current state from an unpacked working set (before any decision).
fn state_of(ws: &model::Ws) -> CurrentState {
    let nodes = ws
        .node_order
        .iter()
        .map(|&n| {
            let d = ws.node(n);
            NodeStatus {
                name: d.uname.clone(),
                id: d.id.clone(),
                online: d.online,
                standby: d.standby,
                standby_onfail: d.standby_onfail,
                pending: d.pending,
                unclean: d.unclean,
                shutdown: d.shutdown,
                maintenance: d.maintenance,
                is_dc: d.is_dc,
                fence_reason: d.fence_reason.clone(),
                remote: d.kind != model::NodeType::Member,
                expected_up: d.expected_up,
            }
        })
        .collect();
    let resources = ws
        .rscs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.variant == model::Variant::Primitive)
        .map(|(i, r)| ResourceStatus {
            id: r.id.clone(),
            group: r.parent.map(|p| ws.rsc(p).id.clone()),
            class: r.class.clone(),
            provider: r.provider.clone(),
            kind: r.kind.clone(),
            role: match r.role {
                util::Role::Unknown => util::Role::Stopped,
                x => x,
            }
            .as_str()
            .to_string(),
            running_on: r
                .running_on
                .iter()
                .map(|n| ws.node(*n).uname.clone())
                .collect(),
            managed: r.has(model::rflag::MANAGED),
            failed: r.has(model::rflag::FAILED),
            blocked: r.has(model::rflag::BLOCK),
            orphan: r.has(model::rflag::ORPHAN),
            maintenance: r.has(model::rflag::MAINTENANCE),
            failure_ignored: r.has(model::rflag::FAILURE_IGNORED),
            disabled: r
                .meta
                .get("target-role")
                .is_some_and(|v| util::Role::parse(v) == util::Role::Stopped),
            pending_task: r.pending_task.clone(),
            pending_node: r.pending_node.map(|n| ws.node(n).uname.clone()),
            current_node: ws
                .current_node(model::RscIdx(i as u32))
                .map(|n| ws.node(n).uname.clone()),
            target_role: r.meta.get("target-role").cloned(),
            locked_to: r.lock_node.map(|n| ws.node(n).uname.clone()),
        })
        .collect();
    let groups = ws
        .rscs
        .iter()
        .filter(|r| r.variant == model::Variant::Group)
        .map(|g| GroupStatus {
            id: g.id.clone(),
            members: g.children.iter().map(|c| ws.rsc(*c).id.clone()).collect(),
            managed: g.has(model::rflag::MANAGED),
            target_role: g.meta.get("target-role").cloned(),
        })
        .collect();
    let top_level = ws.top.iter().map(|r| ws.rsc(*r).id.clone()).collect();
    let failed_ops = ws
        .failed_ops
        .iter()
        .map(|(r, n, id)| (ws.rsc(*r).id.clone(), ws.node(*n).uname.clone(), id.clone()))
        .collect();
    CurrentState {
        have_quorum: ws.config.have_quorum,
        stonith_enabled: ws.config.stonith_enabled,
        maintenance_mode: ws.config.maintenance_mode,
        stop_all_resources: ws.config.stop_everything,
        nodes,
        resources,
        groups,
        top_level,
        failed_ops,
        warnings: ws.warnings.clone(),
    }
}

/// The request for running `action` of resource `rsc_id` on node `node`
/// outside the cluster (`crm_resource --force-*`): its agent, its
/// parameters evaluated for that node, its meta attributes, and the
/// timeout configured for the action (the first `op` of that name, else
/// `op_defaults`, else Pacemaker's 20s). None if `rsc_id` is not a
/// primitive.
pub fn action_request(
    cib: &Cib,
    now: Timestamp,
    rsc_id: &str,
    action: &str,
    node: &str,
) -> Option<crate::core::action::ActionRequest> {
    use crate::core::action::{ActionRequest, AgentRef, Standard};
    let ws = unpack::unpack(cib, now.secs());
    let r = ws.find_rsc(rsc_id)?;
    let rsc = ws.rsc(r);
    if rsc.variant != model::Variant::Primitive {
        return None;
    }
    let on = ws.find_node(node);
    let configured = rsc
        .ops
        .iter()
        .find(|op| op.name.eq_ignore_ascii_case(action))
        .and_then(|op| op.timeout.clone())
        .or_else(|| {
            cib.configuration.op_defaults.as_ref().and_then(|sets| {
                sets.iter()
                    .filter(|s| s.kind == crate::core::cib::SetKind::Meta)
                    .find_map(|s| s.get("timeout").map(str::to_string))
            })
        });
    let timeout_ms = configured
        .as_deref()
        .and_then(util::parse_msec)
        .filter(|ms| *ms > 0)
        .unwrap_or(20_000) as u64;
    let meta = rsc
        .meta
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "timeout" | "interval"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(ActionRequest {
        rsc_id: rsc.id.clone(),
        agent: AgentRef {
            standard: Standard::parse(rsc.class.as_deref().unwrap_or("")),
            provider: rsc.provider.clone(),
            kind: rsc.kind.clone().unwrap_or_default(),
        },
        action: action.to_string(),
        interval_ms: 0,
        timeout_ms,
        params: unpack::resource_params_on(&ws, r, on),
        meta,
        node: node.to_string(),
    })
}
