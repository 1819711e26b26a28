//! Phase 3 — actions: for every resource, the stops, starts, promotions and
//! recurring monitors that take it from its current role and node to its
//! assigned ones; probes where a resource's state on a node is unknown;
//! cleanups; fencing of unclean nodes and shutdowns of leaving ones.
//!
//! Invariant: pure; actions are created in a fixed order (nodes by name,
//! resources by priority then configuration order).

use super::digest::{self, DigestCmp};
use super::migration::{abort_dangling_migration, can_migrate, create_migration_actions};
use super::model::*;
use super::unpack::{active_ops, get_failcount, sort_ops};
use super::util::{op_key, parse_interval_ms, Role};
use crate::core::cib::model::LrmRscOp;

// ------------------------------------------------------- config changes

/// `pcmk__handle_rsc_config_changes`.
pub fn handle_config_changes(ws: &mut Ws) {
    let cib = ws.cib;
    for n in ws.node_order.clone() {
        if !(ws.node(n).maintenance || ws.node_available(n, None)) {
            continue;
        }
        let uname = ws.node(n).uname.clone();
        let states: Vec<_> = cib
            .status
            .node_states
            .iter()
            .filter(|s| s.uname.as_deref() == Some(uname.as_str()))
            .collect();
        if states.len() != 1 {
            continue;
        }
        let Some(lrm) = &states[0].lrm else { continue };
        for lr in &lrm.resources {
            if lr.ops.is_empty() && lr.extra.is_empty() {
                continue;
            }
            let Some(r) = ws.find_rsc(&lr.id) else {
                continue;
            };
            if ws.rsc(r).variant != Variant::Primitive {
                continue;
            }
            process_rsc_history(ws, r, n, lr);
        }
    }
}

fn agent_changed(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    lr: &crate::core::cib::model::LrmResource,
    active: bool,
) -> bool {
    let rsc = ws.rsc(r);
    let changed = rsc.kind != lr.kind || rsc.class != lr.class || rsc.provider != lr.provider;
    if changed && active {
        ws.rsc_action(r, "stop", Some(n), false);
        ws.rsc_mut(r).set(rflag::START_PENDING);
    }
    changed
}

fn process_rsc_history(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    lr: &crate::core::cib::model::LrmResource,
) {
    if ws.rsc(r).has(rflag::ORPHAN) {
        schedule_cleanup(ws, r, n, false);
        return;
    }
    if !ws.rsc(r).running_on.contains(&n) {
        if agent_changed(ws, r, n, lr, false) {
            schedule_cleanup(ws, r, n, false);
        }
        return;
    }
    if agent_changed(ws, r, n, lr, true) {
        schedule_cleanup(ws, r, n, false);
    }
    let mut ops: Vec<&LrmRscOp> = lr.ops.iter().collect();
    sort_ops(&mut ops);
    let (start, stop) = active_ops(&ops);
    if start < stop {
        return;
    }
    for (i, op) in ops.iter().enumerate() {
        if (i as i64) < start {
            continue;
        }
        let interval = op.interval_ms.unwrap_or(0);
        let task = op.operation.as_str();
        if interval > 0 && (ws.rsc(r).has(rflag::MAINTENANCE) || ws.node(n).maintenance) {
            let a = ws.cancel_action(r, task, interval, n);
            let id = ws.rsc(r).id.clone();
            ws.new_ordering(
                Some(r),
                Some(op_key(&id, "stop", 0)),
                None,
                Some(r),
                None,
                Some(a),
                oflag::OPTIONAL,
            );
        } else if (interval > 0 || matches!(task, "monitor" | "start" | "promote" | "migrate_from"))
            && check_action_config(ws, r, n, op)
            && get_failcount(ws, n, r, true, None).0 != 0
        {
            ws.clear_failcount(r, n, "action definition changed");
        }
    }
}

/// `pcmk__check_action_config`: whether the recorded operation `op`'s
/// definition changed, scheduling what the change needs (a restart, a
/// reload, or the recurring operation again).
fn check_action_config(ws: &mut Ws, r: RscIdx, n: NodeIdx, op: &LrmRscOp) -> bool {
    let interval = op.interval_ms.unwrap_or(0);
    if interval > 0 {
        let key = op_key(&ws.rsc(r).id, &op.operation, interval);
        if ws.find_op_entry(r, &key, false).is_some() {
            // In the configuration: compare its parameters below.
        } else if ws.config.stop_orphan_actions {
            let a = ws.cancel_action(r, &op.operation, interval, n);
            if let Some(c) = op.call_id {
                ws.act_mut(a).meta.insert("call-id".into(), c.to_string());
            }
            let id = ws.rsc(r).id.clone();
            ws.new_ordering(
                Some(r),
                Some(op_key(&id, "stop", 0)),
                None,
                Some(r),
                None,
                Some(a),
                oflag::OPTIONAL,
            );
            return true;
        } else {
            return true;
        }
    }
    let task = task_for_digest(&op.operation, interval);
    let override_digest = ws
        .restart_digest_overrides
        .contains(&(n, op.id.clone()))
        .then_some("calculated-failure-timeout");
    let data = digest::compare(ws, r, op, n, override_digest);
    if only_sanitized_changed(ws, op, &data) {
        let notice = Notice::OnlyPrivateParametersChanged {
            interval_ms: interval,
            task: task.to_string(),
            rsc: ws.rsc(r).id.clone(),
            node: ws.node(n).uname.clone(),
            transition_magic: op.transition_magic.clone().unwrap_or_default(),
        };
        ws.notices.push(notice);
        return false;
    }
    match data.rc {
        DigestCmp::Restart => {
            force_restart(ws, r, task, interval);
            true
        }
        DigestCmp::All | DigestCmp::Unknown => {
            if interval > 0 {
                reschedule_recurring(ws, r, task, interval, n);
            } else if op.op_restart_digest.is_some() {
                schedule_reload(ws, r, n);
            } else {
                force_restart(ws, r, task, interval);
            }
            true
        }
        DigestCmp::Match => false,
    }
}

/// `task_for_digest`: a probe that found the resource running is compared
/// as a monitor; everything else as itself.
fn task_for_digest(task: &str, interval_ms: u64) -> &str {
    if interval_ms == 0 && matches!(task, "monitor" | "migrate_from" | "promote") {
        "start"
    } else {
        task
    }
}

/// `only_sanitized_changed`: in a simulation, a change of private
/// parameters only (whose values are masked there) is no change.
fn only_sanitized_changed(ws: &Ws, op: &LrmRscOp, data: &digest::Digests) -> bool {
    if !ws.config.sanitized {
        return false;
    }
    match (&op.op_secure_digest, &data.secure) {
        (Some(rec), Some(calc)) => data.rc != DigestCmp::Match && rec == calc,
        _ => false,
    }
}

/// `force_restart`: the operation is required again, which restarts the
/// resource.
fn force_restart(ws: &mut Ws, r: RscIdx, task: &str, interval_ms: u64) {
    let key = op_key(&ws.rsc(r).id, task, interval_ms);
    let a = ws.custom_action(Some(r), key, task, None, false);
    ws.set_reason(a, Some("resource definition change"), true);
}

/// `pcmk__reschedule_recurring`: the recurring operation is issued again
/// with the new parameters (the old instance is cancelled by the executor).
fn reschedule_recurring(ws: &mut Ws, r: RscIdx, task: &str, interval_ms: u64, n: NodeIdx) {
    let key = op_key(&ws.rsc(r).id, task, interval_ms);
    let a = ws.custom_action(Some(r), key, task, Some(n), true);
    ws.act_mut(a).flags |= aflag::RESCHEDULE;
}

/// `schedule_reload`: the agent reloads the new parameters in place.
fn schedule_reload(ws: &mut Ws, r: RscIdx, n: NodeIdx) {
    if !ws.rsc(r).has(rflag::MANAGED) || ws.rsc(r).has(rflag::FAILED) {
        return;
    }
    if ws.rsc(r).has(rflag::START_PENDING) {
        let key = op_key(&ws.rsc(r).id, "stop", 0);
        ws.custom_action(Some(r), key, "stop", Some(n), false);
        return;
    }
    ws.rsc_mut(r).set(rflag::RELOAD);
    let id = ws.rsc(r).id.clone();
    let reload = ws.custom_action(
        Some(r),
        op_key(&id, "reload-agent", 0),
        "reload-agent",
        Some(n),
        false,
    );
    ws.set_reason(reload, Some("resource definition change"), false);
    for then in ["stop", "demote"] {
        ws.new_ordering(
            None,
            None,
            Some(reload),
            Some(r),
            Some(op_key(&id, then, 0)),
            None,
            oflag::OPTIONAL | oflag::THEN_CANCELS_FIRST,
        );
    }
}

/// `pcmk__schedule_cleanup`.
pub fn schedule_cleanup(ws: &mut Ws, r: RscIdx, n: NodeIdx, optional: bool) {
    let flag = if optional {
        oflag::IMPLIES_THEN
    } else {
        oflag::OPTIONAL
    };
    if ws.rsc(r).has(rflag::FAILED) {
        return;
    }
    if ws.node(n).unclean || !ws.node(n).online {
        return;
    }
    ws.rsc_action(r, "delete", Some(n), optional);
    ws.order_rsc_actions(r, "stop", r, "delete", flag);
    ws.order_rsc_actions(r, "delete", r, "start", flag);
}

// ------------------------------------------------------------- probes

/// `pcmk__schedule_probes`.
pub fn schedule_probes(ws: &mut Ws) {
    for n in ws.node_order.clone() {
        let node = ws.node(n);
        if !node.online || node.unclean {
            continue;
        }
        if let Some(p) = node.attrs.get("probe_complete") {
            if !super::util::is_true(p) {
                let key = format!("probe_complete-{}", node.uname);
                let a = ws.custom_action(None, key, "probe_complete", Some(n), false);
                ws.act_mut(a)
                    .meta
                    .insert("op_no_wait".into(), "true".into());
                continue;
            }
        }
        for r in ws.top.clone() {
            probe_rsc(ws, r, n);
        }
    }
}

fn probe_rsc(ws: &mut Ws, r: RscIdx, n: NodeIdx) -> bool {
    if !ws.config.startup_probes {
        return false;
    }
    let children = ws.rsc(r).children.clone();
    if !children.is_empty() {
        let mut any = false;
        for c in children {
            any |= probe_rsc(ws, c, n);
        }
        return any;
    }
    let rsc = ws.rsc(r);
    if rsc.has(rflag::ORPHAN) || rsc.known_on.contains(&n) {
        return false;
    }
    let top = ws.top_of(r);
    let allowed = ws.rsc(r).allowed[n.0 as usize];
    if ws.rsc(r).exclusive_discover || ws.rsc(top).exclusive_discover {
        match allowed {
            None => return false,
            Some(a) if a.discover != Discover::Exclusive => return false,
            _ => {}
        }
    }
    if allowed.is_some_and(|a| a.discover == Discover::Never) {
        return false;
    }
    let key = op_key(&ws.rsc(r).id, "monitor", 0);
    let probe = ws.custom_action(Some(r), key, "monitor", Some(n), false);
    ws.act_mut(probe).flags &= !aflag::OPTIONAL;
    if !ws.rsc(r).running_on.contains(&n) {
        ws.act_mut(probe)
            .meta
            .insert("op_target_rc".into(), "7".into());
    } else if ws.rsc(r).role == Role::Promoted {
        ws.act_mut(probe)
            .meta
            .insert("op_target_rc".into(), "8".into());
    }
    let mut flags = oflag::OPTIONAL;
    if !ws.act(probe).has(aflag::RUNNABLE) && ws.rsc(r).running_on.is_empty() {
        flags |= oflag::RUNNABLE_LEFT;
    }
    let id = ws.rsc(r).id.clone();
    ws.new_ordering(
        Some(r),
        None,
        Some(probe),
        Some(r),
        Some(op_key(&id, "start", 0)),
        None,
        flags,
    );
    ws.new_ordering(
        Some(r),
        None,
        Some(probe),
        Some(r),
        Some(op_key(&id, "reload-agent", 0)),
        None,
        oflag::OPTIONAL,
    );
    true
}

/// Orphans' fail counts are cleared (`clear_failcounts_if_orphaned`).
pub fn clear_orphan_failcounts(ws: &mut Ws) {
    for r in ws.top.clone() {
        if !ws.rsc(r).has(rflag::ORPHAN) {
            continue;
        }
        for n in ws.node_order.clone() {
            if !ws.node(n).online {
                continue;
            }
            if get_failcount(ws, n, r, true, None).0 == 0 {
                continue;
            }
            let clear = ws.clear_failcount(r, n, "it is orphaned");
            let id = ws.rsc(r).id.clone();
            ws.new_ordering(
                Some(r),
                None,
                Some(clear),
                Some(r),
                Some(op_key(&id, "stop", 0)),
                None,
                oflag::OPTIONAL,
            );
        }
    }
}

// ----------------------------------------------------- resource actions

pub fn create_actions(ws: &mut Ws) {
    for r in ws.top.clone() {
        match ws.rsc(r).variant {
            Variant::Primitive => primitive_create_actions(ws, r),
            Variant::Group => {
                for m in ws.rsc(r).children.clone() {
                    primitive_create_actions(ws, m);
                }
                for task in ["start", "running", "stop", "stopped"] {
                    let key = op_key(&ws.rsc(r).id, task, 0);
                    let a = ws.custom_action(Some(r), key, task, None, true);
                    ws.act_mut(a).flags |= aflag::PSEUDO | aflag::RUNNABLE;
                }
            }
        }
    }
}

fn role_index(r: Role) -> usize {
    match r {
        Role::Unknown => 0,
        Role::Stopped => 1,
        Role::Started => 2,
        Role::Unpromoted => 3,
        Role::Promoted => 4,
    }
}

const STATE_MATRIX: [[Role; 5]; 5] = {
    use Role::*;
    [
        [Unknown, Stopped, Stopped, Stopped, Stopped],
        [Stopped, Stopped, Started, Unpromoted, Unpromoted],
        [Stopped, Stopped, Started, Unpromoted, Promoted],
        [Stopped, Stopped, Stopped, Unpromoted, Promoted],
        [Stopped, Unpromoted, Unpromoted, Unpromoted, Promoted],
    ]
};

#[derive(Clone, Copy)]
enum Tr {
    None,
    Stop,
    Start,
    Promote,
    Demote,
}

const ACTION_MATRIX: [[Tr; 5]; 5] = {
    use Tr::*;
    [
        [None, Stop, None, None, None],
        [None, None, Start, Start, None],
        [None, Stop, None, None, Promote],
        [None, Stop, Stop, None, Promote],
        [None, Demote, Demote, Demote, None],
    ]
};

fn next_state(from: Role, to: Role) -> Role {
    STATE_MATRIX[role_index(from)][role_index(to)]
}

fn transition(from: Role, to: Role) -> Tr {
    ACTION_MATRIX[role_index(from)][role_index(to)]
}

fn is_expected_node(ws: &Ws, r: RscIdx, n: NodeIdx) -> bool {
    let rsc = ws.rsc(r);
    rsc.has(rflag::STOP_UNEXPECTED)
        && rsc.has(rflag::RESTARTING)
        && rsc.next_role > Role::Stopped
        && rsc.allocated_to == Some(n)
}

fn run_transition(ws: &mut Ws, r: RscIdx, tr: Tr, node: Option<NodeIdx>, optional: bool) -> bool {
    match tr {
        Tr::None => return false,
        Tr::Stop => stop_resource(ws, r, optional),
        Tr::Start => {
            if let Some(n) = node {
                start_resource(ws, r, n, optional)
            }
        }
        Tr::Promote => {
            if let Some(n) = node {
                promote_resource(ws, r, n, optional)
            }
        }
        Tr::Demote => demote_resource(ws, r, optional),
    }
    true
}

fn stop_resource(ws: &mut Ws, r: RscIdx, mut optional: bool) {
    for current in ws.rsc(r).running_on.clone() {
        if is_expected_node(ws, r, current) {
            continue;
        }
        if let Some(t) = ws.rsc(r).partial_migration_target {
            if current == t && ws.rsc(r).allocated_to == Some(current) {
                continue;
            }
            optional = false;
        }
        let stop = ws.rsc_action(r, "stop", Some(current), optional);
        if ws.rsc(r).allocated_to.is_none() {
            ws.set_reason(stop, Some("node availability"), true);
        } else if ws.rsc(r).has(rflag::RESTARTING) && ws.rsc(r).has(rflag::STOP_UNEXPECTED) {
            ws.set_reason(stop, Some("being multiply active"), true);
        }
        if !ws.rsc(r).has(rflag::MANAGED) {
            ws.act_mut(stop).flags &= !aflag::RUNNABLE;
        }
        if ws.config.remove_after_stop {
            schedule_cleanup(ws, r, current, optional);
        }
    }
}

fn start_resource(ws: &mut Ws, r: RscIdx, n: NodeIdx, optional: bool) {
    let start = ws.rsc_action(r, "start", Some(n), true);
    if ws.act(start).has(aflag::RUNNABLE) && !optional {
        ws.act_mut(start).flags &= !aflag::OPTIONAL;
    }
    if is_expected_node(ws, r, n) {
        ws.act_mut(start).flags |= aflag::PSEUDO;
    }
}

fn promote_resource(ws: &mut Ws, r: RscIdx, n: NodeIdx, optional: bool) {
    let starts = ws.rsc_actions(r, Some(n), "start", true);
    let runnable = starts.iter().all(|&s| ws.act(s).has(aflag::RUNNABLE));
    if runnable {
        let p = ws.rsc_action(r, "promote", Some(n), optional);
        if is_expected_node(ws, r, n) {
            ws.act_mut(p).flags |= aflag::PSEUDO;
        }
    } else {
        for p in ws.rsc_actions(r, Some(n), "promote", true) {
            ws.act_mut(p).flags &= !aflag::RUNNABLE;
        }
    }
}

fn demote_resource(ws: &mut Ws, r: RscIdx, optional: bool) {
    for current in ws.rsc(r).running_on.clone() {
        if !is_expected_node(ws, r, current) {
            ws.rsc_action(r, "demote", Some(current), optional);
        }
    }
}

fn schedule_restart_actions(
    ws: &mut Ws,
    r: RscIdx,
    current: Option<NodeIdx>,
    need_stop: bool,
    need_promote: bool,
) {
    let mut role = ws.rsc(r).role;
    ws.rsc_mut(r).set(rflag::RESTARTING);
    while role != Role::Stopped {
        let next = next_state(role, Role::Stopped);
        if !run_transition(ws, r, transition(role, next), current, !need_stop) {
            break;
        }
        role = next;
    }
    loop {
        let rsc = ws.rsc(r);
        if !(rsc.role <= rsc.next_role && role != rsc.role && !rsc.has(rflag::BLOCK)) {
            break;
        }
        let mut required = need_stop;
        let next = next_state(role, rsc.role);
        if next == Role::Promoted && need_promote {
            required = true;
        }
        let alloc = rsc.allocated_to;
        if !run_transition(ws, r, transition(role, next), alloc, !required) {
            break;
        }
        role = next;
    }
    ws.rsc_mut(r).clear(rflag::RESTARTING);
}

fn primitive_create_actions(ws: &mut Ws, r: RscIdx) {
    // set_default_next_role
    if ws.rsc(r).next_role == Role::Unknown {
        let nr = if ws.rsc(r).allocated_to.is_none() {
            Role::Stopped
        } else {
            Role::Started
        };
        ws.rsc_mut(r).next_role = nr;
    }
    let (current, num_all, num_clean) = ws.find_active_on(r);
    for d in ws.rsc(r).dangling_migrations.clone() {
        abort_dangling_migration(ws, r, d);
    }
    let mut need_stop = false;
    let mut need_promote = false;
    let mut is_moving = false;
    let mut allow_migrate = false;
    let mut multiply_active = false;
    let alloc = ws.rsc(r).allocated_to;
    if let (Some(c), Some(a)) = (current, alloc) {
        if c != a && ws.rsc(r).next_role >= Role::Started {
            is_moving = true;
            allow_migrate = can_migrate(ws, r, current);
            need_stop = true;
        }
    }
    let (pms, pmt) = (
        ws.rsc(r).partial_migration_source,
        ws.rsc(r).partial_migration_target,
    );
    if pms.is_some()
        && pmt.is_some()
        && allow_migrate
        && num_all == 2
        && current == pms
        && alloc == pmt
    {
        // Continue the partial migration.
    } else if pms.is_some() || pmt.is_some() {
        need_stop = true;
        ws.rsc_mut(r).partial_migration_source = None;
        ws.rsc_mut(r).partial_migration_target = None;
        allow_migrate = false;
    } else if ws.rsc(r).has(rflag::NEEDS_FENCING) {
        multiply_active = num_all > 1;
    } else {
        multiply_active = num_clean > 1;
    }
    if multiply_active {
        ws.warnings.push(format!(
            "{} resource {} might be active on {} nodes",
            ws.rsc(r).class.clone().unwrap_or_else(|| "Untyped".into()),
            ws.rsc(r).id,
            num_all
        ));
        match ws.rsc(r).recovery {
            Recovery::StopStart => need_stop = true,
            Recovery::StopUnexpected => {
                need_stop = true;
                ws.rsc_mut(r).set(rflag::STOP_UNEXPECTED);
            }
            _ => {}
        }
    } else {
        ws.rsc_mut(r).clear(rflag::STOP_UNEXPECTED);
    }
    if ws.rsc(r).has(rflag::START_PENDING) {
        let alloc = ws.rsc(r).allocated_to;
        let start = ws.rsc_action(r, "start", alloc, true);
        ws.act_mut(start).flags |= aflag::PRINT_ALWAYS;
    }
    let rsc = ws.rsc(r);
    if is_moving {
    } else if rsc.has(rflag::FAILED) {
        if rsc.has(rflag::STOP) {
            need_stop = true;
        } else if rsc.next_role == Role::Promoted {
            need_promote = true;
        }
    } else if rsc.has(rflag::BLOCK) {
        need_stop = true;
    } else if rsc.role > Role::Started && current.is_some() && rsc.allocated_to.is_some() {
        let alloc = rsc.allocated_to;
        let start = ws.rsc_action(r, "start", alloc, true);
        if !ws.act(start).has(aflag::OPTIONAL) {
            need_stop = true;
        }
    }
    schedule_restart_actions(ws, r, current, need_stop, need_promote);
    // schedule_role_transition_actions
    let mut role = ws.rsc(r).role;
    while role != ws.rsc(r).next_role {
        let next = next_state(role, ws.rsc(r).next_role);
        let alloc = ws.rsc(r).allocated_to;
        if !run_transition(ws, r, transition(role, next), alloc, false) {
            break;
        }
        role = next;
    }
    create_recurring_actions(ws, r);
    if allow_migrate {
        if let Some(c) = current {
            create_migration_actions(ws, r, c);
        }
    }
}

// ---------------------------------------------------------- recurring

struct OpHistory {
    id: String,
    name: String,
    key: String,
    role: Role,
    interval_ms: u64,
}

fn recurring_ops(ws: &Ws, r: RscIdx) -> Vec<OpHistory> {
    let rsc = ws.rsc(r);
    let mut out = Vec::new();
    for op in &rsc.ops {
        let interval = parse_interval_ms(op.interval.as_deref());
        if interval == 0 || op.id.is_empty() {
            continue;
        }
        if matches!(
            op.name.as_str(),
            "stop"
                | "start"
                | "demote"
                | "promote"
                | "reload-agent"
                | "migrate_to"
                | "migrate_from"
        ) {
            continue;
        }
        // Duplicate name+interval: only the first counts, and a duplicate
        // disables both (as Pacemaker reports it).
        let dups = rsc
            .ops
            .iter()
            .filter(|o| {
                o.name == op.name
                    && parse_interval_ms(o.interval.as_deref()) == interval
                    && !o.id.is_empty()
            })
            .count();
        if dups > 1 {
            continue;
        }
        let role = op.role.as_deref().map(Role::parse).unwrap_or(Role::Unknown);
        let key = op_key(&rsc.id, &op.name, interval);
        if ws.find_op_entry(r, &key, false).is_none() {
            continue;
        }
        out.push(OpHistory {
            id: op.id.clone(),
            name: op.name.clone(),
            key,
            role,
            interval_ms: interval,
        });
    }
    out
}

fn create_recurring_actions(ws: &mut Ws, r: RscIdx) {
    if ws.rsc(r).has(rflag::BLOCK) || ws.rsc(r).has(rflag::MAINTENANCE) {
        return;
    }
    let alloc = ws.rsc(r).allocated_to;
    let start = match alloc {
        None => None,
        Some(a) if ws.node(a).maintenance => None,
        Some(a) => {
            if ws.rsc(r).next_role != Role::Stopped || !ws.rsc(r).has(rflag::MANAGED) {
                Some(ws.rsc_action(r, "start", Some(a), true))
            } else {
                None
            }
        }
    };
    for op in recurring_ops(ws, r) {
        if let Some(start) = start {
            recurring_op_for_active(ws, r, start, alloc, &op);
        }
        recurring_op_for_inactive(ws, r, alloc, &op);
    }
}

fn recurring_op_for_active(
    ws: &mut Ws,
    r: RscIdx,
    start: ActIdx,
    node: Option<NodeIdx>,
    op: &OpHistory,
) {
    if op.role == Role::Stopped {
        return;
    }
    let is_optional = match node {
        None => false,
        Some(_) => {
            if !ws.act(start).has(aflag::OPTIONAL) {
                false
            } else {
                let list = ws.rsc(r).actions.clone();
                let matches = ws.find_actions_exact(&list, &op.key, node);
                !matches.is_empty() && !matches.iter().any(|&m| ws.act(m).has(aflag::RESCHEDULE))
            }
        }
    };
    let next_role = ws.rsc(r).next_role;
    if (op.role != Role::Unknown && next_role != op.role)
        || (op.role == Role::Unknown && next_role == Role::Promoted)
    {
        if is_optional {
            if let Some(n) = node {
                let cancel = ws.cancel_action(r, &op.name, op.interval_ms, n);
                let after = match ws.rsc(r).role {
                    Role::Unpromoted | Role::Started => match next_role {
                        Role::Promoted => Some("promote"),
                        Role::Stopped => Some("stop"),
                        _ => None,
                    },
                    Role::Promoted => Some("demote"),
                    _ => None,
                };
                if let Some(after) = after {
                    let id = ws.rsc(r).id.clone();
                    ws.new_ordering(
                        Some(r),
                        None,
                        Some(cancel),
                        Some(r),
                        Some(op_key(&id, after, 0)),
                        None,
                        oflag::RUNNABLE_LEFT,
                    );
                }
            }
        }
        return;
    }
    let _ = &op.id;
    let mon = ws.custom_action(Some(r), op.key.clone(), &op.name, node, is_optional);
    if !ws.act(start).has(aflag::RUNNABLE)
        || node.is_none_or(|n| !ws.node(n).online || ws.node(n).unclean)
    {
        ws.act_mut(mon).flags &= !aflag::RUNNABLE;
    }
    if next_role == Role::Promoted {
        ws.act_mut(mon)
            .meta
            .insert("op_target_rc".into(), "8".into());
    }
    if node.is_none() || ws.rsc(r).has(rflag::MANAGED) {
        let id = ws.rsc(r).id.clone();
        let uuid = ws.act(mon).uuid.clone();
        ws.new_ordering(
            Some(r),
            Some(op_key(&id, "start", 0)),
            None,
            None,
            Some(uuid.clone()),
            Some(mon),
            oflag::IMPLIES_THEN | oflag::RUNNABLE_LEFT,
        );
        ws.new_ordering(
            Some(r),
            Some(op_key(&id, "reload-agent", 0)),
            None,
            None,
            Some(uuid),
            Some(mon),
            oflag::IMPLIES_THEN | oflag::RUNNABLE_LEFT,
        );
        if next_role == Role::Promoted {
            ws.new_ordering(
                Some(r),
                Some(op_key(&id, "promote", 0)),
                None,
                Some(r),
                None,
                Some(mon),
                oflag::OPTIONAL | oflag::RUNNABLE_LEFT,
            );
        } else if ws.rsc(r).role == Role::Promoted {
            ws.new_ordering(
                Some(r),
                Some(op_key(&id, "demote", 0)),
                None,
                Some(r),
                None,
                Some(mon),
                oflag::OPTIONAL | oflag::RUNNABLE_LEFT,
            );
        }
    }
}

fn recurring_op_for_inactive(ws: &mut Ws, r: RscIdx, node: Option<NodeIdx>, op: &OpHistory) {
    if op.role != Role::Stopped {
        return;
    }
    for stop_node in ws.node_order.clone() {
        if node == Some(stop_node) {
            // cancel_if_running
            let list = ws.rsc(r).actions.clone();
            if !ws.find_actions_exact(&list, &op.key, node).is_empty() {
                let cancel = ws.cancel_action(r, &op.name, op.interval_ms, stop_node);
                if matches!(ws.rsc(r).next_role, Role::Started | Role::Unpromoted) {
                    let id = ws.rsc(r).id.clone();
                    ws.new_ordering(
                        Some(r),
                        None,
                        Some(cancel),
                        Some(r),
                        Some(op_key(&id, "start", 0)),
                        None,
                        oflag::RUNNABLE_LEFT,
                    );
                }
            }
            continue;
        }
        let list = ws.rsc(r).actions.clone();
        let is_optional = !ws
            .find_actions_exact(&list, &op.key, Some(stop_node))
            .is_empty();
        let mon = ws.custom_action(
            Some(r),
            op.key.clone(),
            &op.name,
            Some(stop_node),
            is_optional,
        );
        ws.act_mut(mon)
            .meta
            .insert("op_target_rc".into(), "7".into());
        if ws.rsc(r).has(rflag::MANAGED) {
            for p in ws.rsc_actions(r, Some(stop_node), "monitor", false) {
                ws.order_actions(p, mon, oflag::RUNNABLE_LEFT);
            }
        }
        for stop in ws.rsc_actions(r, Some(stop_node), "stop", true) {
            if !ws.act(stop).has(aflag::OPTIONAL)
                && !ws.act(mon).has(aflag::OPTIONAL)
                && !ws.rsc(r).has(rflag::MANAGED)
            {
                ws.act_mut(mon).flags |= aflag::OPTIONAL;
            }
            if !ws.act(stop).has(aflag::RUNNABLE) {
                ws.act_mut(mon).flags &= !aflag::RUNNABLE;
            }
            if ws.rsc(r).has(rflag::MANAGED) {
                let id = ws.rsc(r).id.clone();
                ws.new_ordering(
                    Some(r),
                    Some(op_key(&id, "stop", 0)),
                    Some(stop),
                    None,
                    None,
                    Some(mon),
                    oflag::IMPLIES_THEN | oflag::RUNNABLE_LEFT,
                );
            }
        }
        if !ws.node(stop_node).online || ws.node(stop_node).unclean {
            ws.act_mut(mon).flags &= !aflag::RUNNABLE;
        }
    }
}

// --------------------------------------------------- fencing, shutdown

/// `schedule_fencing_and_shutdowns`.
pub fn schedule_fencing_and_shutdowns(ws: &mut Ws) {
    let have_managed = ws.top.iter().any(|&r| is_managed(ws, r));
    let mut dc_down: Option<ActIdx> = None;
    let mut fencing_ops: Vec<ActIdx> = Vec::new();
    let mut shutdown_ops: Vec<ActIdx> = Vec::new();
    for n in ws.node_order.clone() {
        let mut fencing = None;
        if have_managed && ws.node(n).unclean && ws.can_fence(Some(n)) {
            let f = ws.fence_op(n, None, false, Some("node is unclean"), false);
            order_vs_fence(ws, f);
            fencing = Some(f);
            if ws.node(n).is_dc {
                dc_down = Some(f);
            } else {
                if !ws.config.concurrent_fencing {
                    if let Some(&prev) = fencing_ops.first() {
                        ws.order_actions(prev, f, oflag::OPTIONAL);
                    }
                }
                fencing_ops.insert(0, f);
            }
        } else if ws.node(n).online && ws.node(n).shutdown {
            let key = format!("do_shutdown-{}", ws.node(n).uname);
            let down = ws.custom_action(None, key, "do_shutdown", Some(n), false);
            order_stops_before_shutdown(ws, n, down);
            ws.act_mut(down)
                .meta
                .insert("op_no_wait".into(), "true".into());
            if ws.node(n).is_dc {
                dc_down = Some(down);
            } else {
                shutdown_ops.insert(0, down);
            }
        }
        if fencing.is_none() && ws.node(n).unclean {
            ws.warnings.push(format!(
                "node {} is unclean but cannot be fenced",
                ws.node(n).uname
            ));
        }
    }
    if let Some(dc) = dc_down {
        if ws.act(dc).task == "do_shutdown" {
            for &s in &shutdown_ops {
                ws.order_actions(s, dc, oflag::OPTIONAL);
            }
        }
        if ws.config.concurrent_fencing {
            for &f in &fencing_ops {
                ws.order_actions(f, dc, oflag::OPTIONAL);
            }
        } else if let Some(&last) = fencing_ops.first() {
            ws.order_actions(last, dc, oflag::OPTIONAL);
        }
    }
}

fn is_managed(ws: &Ws, r: RscIdx) -> bool {
    ws.rsc(r).has(rflag::MANAGED) || ws.rsc(r).children.iter().any(|&c| is_managed(ws, c))
}

fn order_stops_before_shutdown(ws: &mut Ws, n: NodeIdx, down: ActIdx) {
    for a in 0..ws.actions.len() {
        let ai = ActIdx(a as u32);
        let act = ws.act(ai);
        let (Some(r), Some(an)) = (act.rsc, act.node) else {
            continue;
        };
        if an != n || act.task != "stop" {
            continue;
        }
        if ws.rsc(r).has(rflag::MAINTENANCE) || ws.node(n).maintenance {
            continue;
        }
        if !(ws.rsc(r).has(rflag::MANAGED) || ws.rsc(r).has(rflag::BLOCK)) {
            continue;
        }
        ws.act_mut(ai).flags &= !aflag::OPTIONAL;
        ws.new_ordering(
            Some(r),
            None,
            Some(ai),
            None,
            Some("do_shutdown".into()),
            Some(down),
            oflag::OPTIONAL | oflag::RUNNABLE_LEFT,
        );
    }
}

/// `pcmk__order_vs_fence`: recovery waits for fencing; stops on the fenced
/// node become implied by it.
fn order_vs_fence(ws: &mut Ws, stonith: ActIdx) {
    for r in ws.top.clone() {
        rsc_stonith_ordering(ws, r, stonith);
    }
}

fn rsc_stonith_ordering(ws: &mut Ws, r: RscIdx, stonith: ActIdx) {
    let children = ws.rsc(r).children.clone();
    if !children.is_empty() {
        for c in children {
            rsc_stonith_ordering(ws, c, stonith);
        }
        return;
    }
    if !ws.rsc(r).has(rflag::MANAGED) {
        return;
    }
    let Some(target) = ws.act(stonith).node else {
        return;
    };
    // order_start_vs_fencing
    for a in ws.rsc(r).actions.clone() {
        match ws.act(a).needs {
            Needs::Nothing => {}
            Needs::Fencing => {
                ws.order_actions(stonith, a, oflag::OPTIONAL);
            }
            Needs::Quorum => {
                if ws.act(a).task == "start"
                    && ws.rsc(r).allowed[target.0 as usize].is_some()
                    && !ws.rsc(r).known_on.contains(&target)
                {
                    ws.order_actions(stonith, a, oflag::OPTIONAL | oflag::RUNNABLE_LEFT);
                }
            }
        }
    }
    // order_stop_vs_fencing
    let stops = ws.rsc_actions(r, Some(target), "stop", false);
    let order_implicit = ws.rsc(r).has(rflag::NEEDS_FENCING);
    let top = ws.top_of(r);
    let parent_stop = if !stops.is_empty() && order_implicit {
        ws.find_first_by_task(top, "stop", None)
    } else {
        None
    };
    for a in stops {
        ws.act_mut(a).flags |= aflag::PSEUDO | aflag::RUNNABLE;
        if order_implicit {
            ws.act_mut(a).flags |= aflag::IMPLIED_BY_STONITH;
            ws.order_actions(stonith, a, oflag::PRESERVE);
            if let Some(ps) = parent_stop {
                ws.order_actions(stonith, ps, oflag::PRESERVE);
            }
        }
    }
    for a in ws.rsc_actions(r, Some(target), "demote", false) {
        let an = ws.act(a).node.expect("node given");
        if !ws.node(an).online || ws.node(an).unclean || ws.rsc(r).has(rflag::FAILED) {
            ws.act_mut(a).flags |= aflag::PSEUDO | aflag::RUNNABLE;
            if order_implicit {
                ws.order_actions(stonith, a, oflag::PRESERVE | oflag::OPTIONAL);
            }
        }
    }
}
