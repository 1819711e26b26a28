//! Phase 4 — ordering: resolving ordering constraints to edges between
//! actions, then propagating what the edges imply until nothing changes:
//! a mandatory "then" becomes required when its "first" is, unrunnable when
//! its "first" cannot run; a restart of one resource restarts what depends
//! on it; anti-colocation and probes add their edges.
//!
//! Invariant: pure; propagation visits actions in Pacemaker's order so that
//! the fixed point reached is the same one.

// Functions keep the arguments of their Pacemaker counterparts.
#![allow(clippy::too_many_arguments)]

use super::model::*;
use super::util::{op_key, parse_op_key, Role};

/// `pcmk__order_migration_equivalents`.
pub fn order_migration_equivalents(ws: &mut Ws, o: &Ordering) {
    let (Some(fr), Some(tr)) = (o.first_rsc, o.then_rsc) else {
        return;
    };
    if fr == tr || ws.is_parent(fr, tr) || ws.is_parent(tr, fr) {
        return;
    }
    let first_m = ws.rsc(fr).has(rflag::ALLOW_MIGRATE);
    let then_m = ws.rsc(tr).has(rflag::ALLOW_MIGRATE);
    if !first_m && !then_m {
        return;
    }
    let task_of = |a: Option<ActIdx>, key: &Option<std::rc::Rc<str>>| -> Option<String> {
        match a {
            Some(a) => Some(ws.act(a).task.clone()),
            None => key.as_deref().and_then(parse_op_key).map(|(_, t, _)| t),
        }
    };
    let ft = task_of(o.first_action, &o.first_task);
    let tt = task_of(o.then_action, &o.then_task);
    let (fid, tid) = (ws.rsc(fr).id.clone(), ws.rsc(tr).id.clone());
    let partial = ws.rsc(tr).partial_migration_target.is_some();
    match (ft.as_deref(), tt.as_deref()) {
        (Some("start"), Some("start")) => {
            let mut flags = oflag::OPTIONAL;
            if first_m && then_m {
                ws.new_ordering(
                    Some(fr),
                    Some(op_key(&fid, "migrate_from", 0)),
                    None,
                    Some(tr),
                    Some(op_key(&tid, "migrate_to", 0)),
                    None,
                    flags,
                );
            }
            if then_m {
                if first_m {
                    flags |= oflag::APPLY_FIRST_NON_MIGRATABLE;
                }
                ws.new_ordering(
                    Some(fr),
                    Some(op_key(&fid, "start", 0)),
                    None,
                    Some(tr),
                    Some(op_key(&tid, "migrate_to", 0)),
                    None,
                    flags,
                );
            }
        }
        (Some("stop"), Some("stop")) if then_m => {
            let mut flags = oflag::OPTIONAL;
            if first_m {
                flags |= oflag::APPLY_FIRST_NON_MIGRATABLE;
            }
            ws.new_ordering(
                Some(fr),
                Some(op_key(&fid, "stop", 0)),
                None,
                Some(tr),
                Some(op_key(&tid, "migrate_to", 0)),
                None,
                flags,
            );
            if partial {
                ws.new_ordering(
                    Some(fr),
                    Some(op_key(&fid, "stop", 0)),
                    None,
                    Some(tr),
                    Some(op_key(&tid, "migrate_from", 0)),
                    None,
                    flags,
                );
            }
        }
        (Some("promote"), Some("start")) if then_m => {
            ws.new_ordering(
                Some(fr),
                Some(op_key(&fid, "promote", 0)),
                None,
                Some(tr),
                Some(op_key(&tid, "migrate_to", 0)),
                None,
                oflag::OPTIONAL,
            );
        }
        (Some("demote"), Some("stop")) if then_m => {
            ws.new_ordering(
                Some(fr),
                Some(op_key(&fid, "demote", 0)),
                None,
                Some(tr),
                Some(op_key(&tid, "migrate_to", 0)),
                None,
                oflag::OPTIONAL,
            );
            if partial {
                ws.new_ordering(
                    Some(fr),
                    Some(op_key(&fid, "demote", 0)),
                    None,
                    Some(tr),
                    Some(op_key(&tid, "migrate_from", 0)),
                    None,
                    oflag::OPTIONAL,
                );
            }
        }
        _ => {}
    }
}

fn find_actions_by_task(ws: &mut Ws, r: RscIdx, key: &str) -> Vec<ActIdx> {
    let found = ws.find_rsc_actions(r, key, None);
    if !found.is_empty() {
        return found;
    }
    match parse_op_key(key) {
        Some((_, task, interval)) => {
            let k = op_key(&ws.rsc(r).id, &task, interval);
            ws.find_rsc_actions(r, &k, None)
        }
        None => Vec::new(),
    }
}

fn order_resource_actions_after(ws: &mut Ws, first: Option<ActIdx>, r: RscIdx, o: &Ordering) {
    let mut flags = o.flags;
    let thens = match o.then_action {
        Some(a) => vec![a],
        None => match &o.then_task {
            Some(t) => find_actions_by_task(ws, r, t),
            None => Vec::new(),
        },
    };
    if thens.is_empty() {
        return;
    }
    if let Some(f) = first {
        if ws.act(f).rsc == Some(r) && ws.act(f).has(aflag::DANGLE) {
            flags &= !oflag::IMPLIES_THEN;
        }
    }
    if first.is_none() && flags & oflag::IMPLIES_THEN == 0 {
        return;
    }
    for t in thens {
        match first {
            Some(f) => {
                ws.order_actions(f, t, flags);
            }
            None => ws.act_mut(t).flags &= !aflag::RUNNABLE,
        }
    }
}

fn rsc_order_first(ws: &mut Ws, fr: RscIdx, o: &Ordering) {
    let mut firsts = match o.first_action {
        Some(a) => vec![a],
        None => match &o.first_task {
            Some(t) => find_actions_by_task(ws, fr, t),
            None => Vec::new(),
        },
    };
    let then_rsc = o.then_rsc;
    if firsts.is_empty() && Some(fr) == then_rsc {
        // An ordering within one resource whose first action does not exist.
    } else if firsts.is_empty() {
        if let Some((_, op_type, interval)) = o.first_task.as_deref().and_then(parse_op_key) {
            let key = op_key(&ws.rsc(fr).id, &op_type, interval);
            let state = ws.rsc_state(fr, true);
            // Nothing to stop or demote: no action is made up for it.
            let nothing_to_do = (state == Role::Stopped && op_type == "stop")
                || (state == Role::Unpromoted && op_type == "demote");
            if !nothing_to_do {
                let a = ws.custom_action(Some(fr), key, &op_type, None, true);
                firsts = vec![a];
            }
        }
    }
    let then_rsc = match then_rsc {
        Some(t) => Some(t),
        None => match o.then_action {
            None => return,
            Some(a) => ws.act(a).rsc,
        },
    };
    for f in firsts {
        match then_rsc {
            None => {
                if let Some(t) = o.then_action {
                    ws.order_actions(f, t, o.flags);
                }
            }
            Some(tr) => order_resource_actions_after(ws, Some(f), tr, o),
        }
    }
}

/// `pcmk__apply_orderings`.
pub fn apply_orderings(ws: &mut Ws) {
    // Orderings created while applying these are not applied (as in Pacemaker).
    for i in 0..ws.orderings.len() {
        let o = ws.orderings[i].clone();
        let o = &o;
        if let Some(fr) = o.first_rsc {
            rsc_order_first(ws, fr, o);
            continue;
        }
        if let Some(tr) = o.then_rsc {
            order_resource_actions_after(ws, o.first_action, tr, o);
        } else if let (Some(f), Some(t)) = (o.first_action, o.then_action) {
            ws.order_actions(f, t, o.flags);
        }
    }
    // data_set->actions is newest first.
    for a in (0..ws.actions.len()).rev() {
        block_colocation_dependents(ws, ActIdx(a as u32));
    }
    order_probes(ws);
    for a in (0..ws.actions.len()).rev() {
        update_action_for_orderings(ws, ActIdx(a as u32));
    }
}

// ------------------------------------------------------ colocation blocks

fn mark_action_blocked(ws: &mut Ws, r: RscIdx, task: &str, reason: RscIdx) {
    let text = format!("colocation with {}", ws.rsc(reason).id);
    for a in ws.rsc(r).actions.clone().into_iter().rev() {
        if ws.act(a).has(aflag::RUNNABLE) && ws.act(a).task.eq_ignore_ascii_case(task) {
            ws.act_mut(a).flags &= !aflag::RUNNABLE;
            ws.set_reason(a, Some(&text), false);
            block_colocation_dependents(ws, a);
            update_action_for_orderings(ws, a);
        }
    }
    for c in ws.rsc(r).children.clone() {
        mark_action_blocked(ws, c, task, reason);
    }
}

/// `pcmk__block_colocation_dependents`: when a start cannot run, starts of
/// resources mandatorily colocated with it cannot either.
pub fn block_colocation_dependents(ws: &mut Ws, a: ActIdx) {
    let act = ws.act(a);
    if act.has(aflag::RUNNABLE) {
        return;
    }
    let is_start = act.task == "start";
    if !is_start && act.task != "promote" {
        return;
    }
    let Some(ar) = act.rsc else { return };
    let task = act.task.clone();
    let mut rsc = ws.top_of(ar);
    if let Some(p) = ws.rsc(rsc).parent {
        rsc = p;
    }
    if ws.rsc(rsc).with_this.is_empty() {
        return;
    }
    for c in ws.rsc(rsc).children.clone() {
        match ws.find_first_by_task(c, &task, None) {
            None => return,
            Some(ca) if ws.act(ca).has(aflag::RUNNABLE) => return,
            _ => {}
        }
    }
    for ci in ws.rsc(rsc).with_this.clone() {
        let c = ws.coloc(ci).clone();
        if c.score < INF {
            continue;
        }
        if !is_start && c.primary_role != Role::Promoted {
            continue;
        }
        if c.dependent_role == Role::Promoted {
            mark_action_blocked(ws, c.dependent, "promote", ar);
        } else {
            mark_action_blocked(ws, c.dependent, "start", ar);
        }
    }
}

// --------------------------------------------------------- propagation

const UPDATED_FIRST: u32 = 1;
const UPDATED_THEN: u32 = 2;

/// `get_complex_task` + `task2text` for a group member.
fn member_task(task: &str) -> &str {
    match task {
        "stopped" => "stop",
        "running" => "start",
        "demoted" => "demote",
        "promoted" => "promote",
        t => t,
    }
}

/// `action_flags_for_ordering`: without clones, a resource's action flags
/// are always computed without a node.
fn action_flags(ws: &mut Ws, a: ActIdx, _node: Option<NodeIdx>) -> u32 {
    let node: Option<NodeIdx> = None;
    let Some(r) = ws.act(a).rsc else {
        return ws.act(a).flags;
    };
    if ws.rsc(r).variant == Variant::Primitive {
        return ws.act(a).flags;
    }
    let mut flags = aflag::OPTIONAL | aflag::RUNNABLE | aflag::PSEUDO;
    let task = ws.act(a).task.clone();
    for m in ws.rsc(r).children.clone() {
        let mt = member_task(&task).to_string();
        match ws.find_first_by_task(m, &mt, node) {
            Some(ma) => {
                let mf = ws.act(ma).flags;
                if flags & aflag::OPTIONAL != 0 && mf & aflag::OPTIONAL == 0 {
                    flags &= !aflag::OPTIONAL;
                    ws.act_mut(a).flags &= !aflag::OPTIONAL;
                }
                if mt != task && flags & aflag::RUNNABLE != 0 && mf & aflag::RUNNABLE == 0 {
                    flags &= !aflag::RUNNABLE;
                    ws.act_mut(a).flags &= !aflag::RUNNABLE;
                }
            }
            None => {
                if mt != "stop" && mt != "demote" {
                    flags &= !aflag::RUNNABLE;
                }
            }
        }
    }
    flags
}

/// `action_for_ordering`: orderings from a group use its completion pseudo
/// actions (`running`, `stopped`).
fn action_for_ordering(ws: &Ws, a: ActIdx) -> ActIdx {
    let Some(r) = ws.act(a).rsc else { return a };
    if ws.rsc(r).variant == Variant::Primitive {
        return a;
    }
    let uuid = &ws.act(a).uuid;
    if uuid.contains("notify") {
        return a;
    }
    let Some((rid, task, interval)) = parse_op_key(uuid) else {
        return a;
    };
    if interval > 0 {
        return a;
    }
    let remapped = match task.as_str() {
        "stop" => "stopped",
        "start" => "running",
        "notify" => "notified",
        "promote" => "promoted",
        "demote" => "demoted",
        "stopped" | "running" | "notified" | "promoted" | "demoted" => task.as_str(),
        _ => return a,
    };
    let key = op_key(&rid, remapped, 0);
    ws.find_first_by_uuid(r, &key).unwrap_or(a)
}

fn clear_flag_because(ws: &mut Ws, a: ActIdx, flag: u32, reason: ActIdx) {
    if ws.act(a).flags & flag == 0 {
        return;
    }
    ws.act_mut(a).flags &= !flag;
    if ws.act(a).rsc != ws.act(reason).rsc {
        let change = if flag == aflag::OPTIONAL {
            "required"
        } else {
            "unrunnable"
        };
        let text = match ws.act(reason).rsc {
            Some(r) => format!("{change} {} {}", ws.rsc(r).id, ws.act(reason).task),
            None => format!("{change} {}", ws.act(reason).task),
        };
        ws.set_reason(a, Some(&text), flag == aflag::MIGRATE_RUNNABLE);
    }
}

fn handle_asymmetric_ordering(ws: &mut Ws, first: ActIdx, then: ActIdx) {
    let Some(tr) = ws.act(then).rsc else { return };
    let role = ws.rsc_state(tr, true);
    let then_act = ws.act(then);
    if role == Role::Stopped && then_act.task == "stop" {
        return;
    }
    let then_on = &ws.rsc(tr).running_on;
    if role >= Role::Started
        && then_act.has(aflag::OPTIONAL)
        && then_act.node.is_some()
        && then_on.len() == 1
        && then_act.node == Some(then_on[0])
        && then_act.task == "start"
    {
        return;
    }
    if !ws.act(first).has(aflag::RUNNABLE) {
        clear_flag_because(ws, then, aflag::OPTIONAL, first);
        clear_flag_because(ws, then, aflag::RUNNABLE, first);
    }
}

fn handle_restart_ordering(ws: &mut Ws, first: ActIdx, then: ActIdx, filter: u32) {
    let mut reason = false;
    if filter & aflag::OPTIONAL != 0 && !ws.act(then).has(aflag::OPTIONAL) {
        reason = true;
    }
    if filter & aflag::RUNNABLE != 0
        && !ws.act(then).has(aflag::RUNNABLE)
        && ws
            .act(then)
            .rsc
            .is_some_and(|r| ws.rsc(r).has(rflag::MANAGED))
        && ws.act(first).rsc == ws.act(then).rsc
    {
        reason = true;
    }
    if !reason {
        return;
    }
    if ws.act(first).has(aflag::RUNNABLE) {
        clear_flag_because(ws, first, aflag::OPTIONAL, then);
    }
    if !ws.act(then).has(aflag::OPTIONAL) {
        clear_flag_because(ws, first, aflag::OPTIONAL, then);
    }
    if !ws.act(then).has(aflag::MIGRATE_RUNNABLE) {
        clear_flag_because(ws, first, aflag::MIGRATE_RUNNABLE, then);
    }
    if !ws.act(first).has(aflag::OPTIONAL) && !ws.act(first).has(aflag::RUNNABLE) {
        clear_flag_because(ws, then, aflag::RUNNABLE, first);
    }
}

/// `pcmk__update_ordered_actions` (the primitive version).
fn update_ordered(
    ws: &mut Ws,
    first: ActIdx,
    then: ActIdx,
    flags: u32,
    filter: u32,
    kind: u32,
) -> u32 {
    let mut changed = 0;
    let then_flags = ws.act(then).flags;
    let first_flags = ws.act(first).flags;
    if kind & oflag::ASYMMETRICAL != 0 {
        handle_asymmetric_ordering(ws, first, then);
    }
    if kind & oflag::IMPLIES_FIRST != 0 && then_flags & aflag::OPTIONAL == 0 {
        if filter & aflag::OPTIONAL != 0
            && flags & aflag::OPTIONAL == 0
            && first_flags & aflag::OPTIONAL != 0
        {
            clear_flag_because(ws, first, aflag::OPTIONAL, then);
        }
        if flags & aflag::MIGRATE_RUNNABLE != 0 && !ws.act(then).has(aflag::MIGRATE_RUNNABLE) {
            clear_flag_because(ws, first, aflag::MIGRATE_RUNNABLE, then);
        }
    }
    if kind & oflag::PROMOTED_IMPLIES_FIRST != 0
        && ws
            .act(then)
            .rsc
            .is_some_and(|r| ws.rsc(r).role == Role::Promoted)
        && filter & aflag::OPTIONAL != 0
        && !ws.act(then).has(aflag::OPTIONAL)
    {
        clear_flag_because(ws, first, aflag::OPTIONAL, then);
        if ws.act(first).has(aflag::MIGRATE_RUNNABLE) && !ws.act(then).has(aflag::MIGRATE_RUNNABLE)
        {
            clear_flag_because(ws, first, aflag::MIGRATE_RUNNABLE, then);
        }
    }
    if kind & oflag::IMPLIES_FIRST_MIGRATABLE != 0 && filter & aflag::OPTIONAL != 0 {
        let tf = ws.act(then).flags;
        if tf & aflag::MIGRATE_RUNNABLE == 0 || tf & aflag::RUNNABLE == 0 {
            clear_flag_because(ws, first, aflag::RUNNABLE, then);
        }
        if !ws.act(then).has(aflag::OPTIONAL) {
            clear_flag_because(ws, first, aflag::OPTIONAL, then);
        }
    }
    if kind & oflag::PSEUDO_LEFT != 0
        && filter & aflag::OPTIONAL != 0
        && !ws.act(first).has(aflag::RUNNABLE)
    {
        clear_flag_because(ws, then, aflag::MIGRATE_RUNNABLE, first);
        ws.act_mut(then).flags &= !aflag::PSEUDO;
    }
    if kind & oflag::RUNNABLE_LEFT != 0
        && filter & aflag::RUNNABLE != 0
        && ws.act(then).has(aflag::RUNNABLE)
        && flags & aflag::RUNNABLE == 0
    {
        clear_flag_because(ws, then, aflag::RUNNABLE, first);
        clear_flag_because(ws, then, aflag::MIGRATE_RUNNABLE, first);
    }
    if kind & oflag::IMPLIES_THEN != 0
        && filter & aflag::OPTIONAL != 0
        && ws.act(then).has(aflag::OPTIONAL)
        && flags & aflag::OPTIONAL == 0
        && !ws.act(first).has(aflag::MIGRATE_RUNNABLE)
    {
        clear_flag_because(ws, then, aflag::OPTIONAL, first);
    }
    if kind & oflag::RESTART != 0 {
        handle_restart_ordering(ws, first, then, filter);
    }
    if then_flags != ws.act(then).flags {
        changed |= UPDATED_THEN;
        if ws.act(then).rsc.is_some_and(|r| ws.rsc(r).parent.is_some()) {
            update_action_for_orderings(ws, then);
        }
    }
    if first_flags != ws.act(first).flags {
        changed |= UPDATED_FIRST;
    }
    changed
}

/// `rsc->cmds->update_ordered_actions` for `then`'s resource (arguments as
/// Pacemaker's, so the two can be read side by side).
#[allow(clippy::too_many_arguments)]
fn update_for_rsc(
    ws: &mut Ws,
    which: RscIdx,
    first: ActIdx,
    then: ActIdx,
    node: Option<NodeIdx>,
    flags: u32,
    filter: u32,
    kind: u32,
) -> u32 {
    let mut changed = update_ordered(ws, first, then, flags, filter, kind);
    if ws.rsc(which).variant == Variant::Group {
        let task = ws.act(then).task.clone();
        for m in ws.rsc(which).children.clone() {
            if let Some(ma) = ws.find_first_by_task(m, &task, node) {
                changed |= update_ordered(ws, first, ma, flags, filter, kind);
            }
        }
    }
    changed
}

fn update_for_ordering_flags(
    ws: &mut Ws,
    first: ActIdx,
    then: ActIdx,
    first_flags: u32,
    then_flags: u32,
    link: LinkIdx,
) -> u32 {
    let mut changed = 0;
    let mut node = ws.act(then).node;
    let mut kind = ws.link(link).kind;
    if kind & oflag::IMPLIES_THEN_ON_NODE != 0 {
        kind &= !oflag::IMPLIES_THEN_ON_NODE;
        kind |= oflag::IMPLIES_THEN;
        ws.links[link.0 as usize].kind = kind;
        node = ws.act(first).node;
    }
    let then_rsc = ws.act(then).rsc;
    let first_rsc = ws.act(first).rsc;
    if kind & oflag::IMPLIES_THEN != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags & aflag::OPTIONAL,
                aflag::OPTIONAL,
                oflag::IMPLIES_THEN,
            );
        } else if first_flags & aflag::OPTIONAL == 0 && ws.act(then).has(aflag::OPTIONAL) {
            ws.act_mut(then).flags &= !aflag::OPTIONAL;
            changed |= UPDATED_THEN;
        }
    }
    if kind & oflag::RESTART != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::OPTIONAL | aflag::RUNNABLE,
                oflag::RESTART,
            );
        }
    }
    if kind & oflag::IMPLIES_FIRST != 0 {
        if let Some(fr) = first_rsc {
            changed |= update_for_rsc(
                ws,
                fr,
                first,
                then,
                node,
                first_flags,
                aflag::OPTIONAL,
                oflag::IMPLIES_FIRST,
            );
        } else if first_flags & aflag::OPTIONAL == 0 && ws.act(first).has(aflag::RUNNABLE) {
            ws.act_mut(first).flags &= !aflag::RUNNABLE;
            changed |= UPDATED_FIRST;
        }
    }
    if kind & oflag::PROMOTED_IMPLIES_FIRST != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags & aflag::OPTIONAL,
                aflag::OPTIONAL,
                oflag::PROMOTED_IMPLIES_FIRST,
            );
        }
    }
    if kind & oflag::ONE_OR_MORE != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::RUNNABLE,
                oflag::ONE_OR_MORE,
            );
        } else if first_flags & aflag::RUNNABLE != 0 {
            let t = ws.act_mut(then);
            t.runnable_before += 1;
            if t.runnable_before >= t.required_runnable_before && t.flags & aflag::RUNNABLE == 0 {
                t.flags |= aflag::RUNNABLE;
                changed |= UPDATED_THEN;
            }
        }
    }
    if kind & oflag::PROBE != 0 {
        if let Some(tr) = then_rsc {
            let first_running = first_rsc.is_some_and(|r| !ws.rsc(r).running_on.is_empty());
            if first_flags & aflag::RUNNABLE == 0 && first_running {
                ws.links[link.0 as usize].kind = oflag::NONE;
            } else {
                changed |= update_for_rsc(
                    ws,
                    tr,
                    first,
                    then,
                    node,
                    first_flags,
                    aflag::RUNNABLE,
                    oflag::RUNNABLE_LEFT,
                );
            }
        }
    }
    if kind & oflag::RUNNABLE_LEFT != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::RUNNABLE,
                oflag::RUNNABLE_LEFT,
            );
        } else if first_flags & aflag::RUNNABLE == 0 && ws.act(then).has(aflag::RUNNABLE) {
            ws.act_mut(then).flags &= !aflag::RUNNABLE;
            changed |= UPDATED_THEN;
        }
    }
    if kind & oflag::IMPLIES_FIRST_MIGRATABLE != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::OPTIONAL,
                oflag::IMPLIES_FIRST_MIGRATABLE,
            );
        }
    }
    if kind & oflag::PSEUDO_LEFT != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::OPTIONAL,
                oflag::PSEUDO_LEFT,
            );
        }
    }
    if kind & oflag::OPTIONAL != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::RUNNABLE,
                oflag::OPTIONAL,
            );
        }
    }
    if kind & oflag::ASYMMETRICAL != 0 {
        if let Some(tr) = then_rsc {
            changed |= update_for_rsc(
                ws,
                tr,
                first,
                then,
                node,
                first_flags,
                aflag::RUNNABLE,
                oflag::ASYMMETRICAL,
            );
        }
    }
    if ws.act(first).has(aflag::RUNNABLE)
        && kind & oflag::IMPLIES_THEN_PRINTED != 0
        && first_flags & aflag::OPTIONAL == 0
    {
        ws.act_mut(then).flags |= aflag::PRINT_ALWAYS;
    }
    if kind & oflag::IMPLIES_FIRST_PRINTED != 0 && then_flags & aflag::OPTIONAL == 0 {
        ws.act_mut(first).flags |= aflag::PRINT_ALWAYS;
    }
    if kind & (oflag::IMPLIES_THEN | oflag::IMPLIES_FIRST | oflag::RESTART) != 0 {
        if let Some(fr) = first_rsc {
            let f = ws.rsc(fr);
            if !f.has(rflag::MANAGED)
                && f.has(rflag::BLOCK)
                && !ws.act(first).has(aflag::RUNNABLE)
                && ws.act(first).task == "stop"
                && ws.act(then).has(aflag::RUNNABLE)
            {
                ws.act_mut(then).flags &= !aflag::RUNNABLE;
                changed |= UPDATED_THEN;
            }
        }
    }
    changed
}

/// `native_location(rsc, NULL, FALSE)` for a group: its members' single
/// assigned node, if they agree on one.
fn group_location(ws: &Ws, g: RscIdx) -> Option<NodeIdx> {
    let mut nodes: Vec<NodeIdx> = Vec::new();
    for &m in &ws.rsc(g).children {
        if let Some(n) = ws.rsc(m).allocated_to {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
    }
    if nodes.len() == 1 {
        Some(nodes[0])
    } else {
        None
    }
}

/// `pcmk__update_action_for_orderings`.
pub fn update_action_for_orderings(ws: &mut Ws, then: ActIdx) {
    let mut changed = 0u32;
    let last_flags = ws.act(then).flags;
    if ws.act(then).has(aflag::REQUIRES_ANY) {
        let t = ws.act_mut(then);
        t.runnable_before = 0;
        if t.required_runnable_before == 0 {
            t.required_runnable_before = 1;
        }
        t.flags &= !aflag::RUNNABLE;
    }
    let inputs = ws.act(then).before.clone();
    for link in inputs {
        let mut first = ws.link(link).action;
        let original = first;
        let mut then_node = ws.act(then).node;
        let mut first_node = ws.act(first).node;
        if let Some(fr) = ws.act(first).rsc {
            if ws.rsc(fr).variant == Variant::Group && ws.act(first).task == "start" {
                first_node = group_location(ws, fr);
            }
        }
        if let Some(tr) = ws.act(then).rsc {
            if ws.rsc(tr).variant == Variant::Group && ws.act(then).task == "start" {
                then_node = group_location(ws, tr);
            }
        }
        if ws.link(link).kind & oflag::SAME_NODE != 0 {
            if let (Some(a), Some(b)) = (first_node, then_node) {
                if a != b {
                    ws.links[link.0 as usize].kind = oflag::NONE;
                    continue;
                }
            }
        }
        changed &= !UPDATED_FIRST;
        if ws.act(first).rsc.is_some()
            && ws.link(link).kind & oflag::THEN_CANCELS_FIRST != 0
            && !ws.act(then).has(aflag::OPTIONAL)
        {
            ws.act_mut(original).flags |= aflag::OPTIONAL;
            if ws.act(first).task == "reload-agent" {
                if let Some(fr) = ws.act(first).rsc {
                    ws.rsc_mut(fr).clear(rflag::RELOAD);
                }
            }
        }
        if let (Some(fr), Some(tr)) = (ws.act(first).rsc, ws.act(then).rsc) {
            if fr != tr && !ws.is_parent(tr, fr) {
                first = action_for_ordering(ws, first);
            }
        }
        if first == original {
            let first_flags = action_flags(ws, first, then_node);
            let then_flags = action_flags(ws, then, first_node);
            changed |= update_for_ordering_flags(ws, first, then, first_flags, then_flags, link);
        } else {
            let kind = ws.link(link).kind;
            if ws.order_actions(first, then, kind) {
                changed |= UPDATED_THEN;
                ws.links[link.0 as usize].kind = oflag::NONE;
            }
        }
        if changed & UPDATED_FIRST != 0 {
            for l in ws.act(first).after.clone() {
                let a = ws.link(l).action;
                update_action_for_orderings(ws, a);
            }
            update_action_for_orderings(ws, first);
        }
    }
    if ws.act(then).has(aflag::REQUIRES_ANY) {
        if last_flags == ws.act(then).flags {
            changed &= !UPDATED_THEN;
        } else {
            changed |= UPDATED_THEN;
        }
    }
    if changed & UPDATED_THEN != 0 {
        if last_flags & aflag::RUNNABLE != 0 && !ws.act(then).has(aflag::RUNNABLE) {
            block_colocation_dependents(ws, then);
        }
        update_action_for_orderings(ws, then);
        for l in ws.act(then).after.clone() {
            let a = ws.link(l).action;
            update_action_for_orderings(ws, a);
        }
    }
}

// ---------------------------------------------------------------- probes

/// `pcmk__order_probes`: probes before stops that other stops depend on,
/// and before restarts of what depends on the probed resource. These edges
/// only shape the graph; they never change what is scheduled.
fn order_probes(ws: &mut Ws) {
    let mut probes_of: Vec<(RscIdx, Vec<ActIdx>)> = Vec::new();
    for r in 0..ws.rscs.len() {
        let r = RscIdx(r as u32);
        if ws.rsc(r).variant != Variant::Primitive {
            continue;
        }
        let probes = ws.rsc_actions(r, None, "monitor", false);
        if !probes.is_empty() {
            probes_of.push((r, probes));
        }
    }
    // Restart orderings: a probe of R goes before the stops of resources
    // whose starts come after R's start.
    let mut visited: Vec<u32> = vec![0; ws.actions.len()];
    let mut epoch = 0u32;
    for (r, probes) in &probes_of {
        for &probe in probes {
            epoch += 1;
            let mut stack: Vec<ActIdx> = ws
                .act(probe)
                .after
                .iter()
                .map(|&l| ws.link(l).action)
                .collect();
            stack.reverse();
            let mut edges: Vec<ActIdx> = Vec::new();
            while let Some(after) = stack.pop() {
                if (after.0 as usize) < visited.len() && visited[after.0 as usize] == epoch {
                    continue;
                }
                if (after.0 as usize) < visited.len() {
                    visited[after.0 as usize] = epoch;
                }
                if let Some(ar) = ws.act(after).rsc {
                    if ws.rsc(ar).variant == Variant::Primitive && ar != *r {
                        let task = ws.act(after).task.clone();
                        let thens = match task.as_str() {
                            "start" => ws.rsc_actions(ar, None, "stop", false),
                            "promote" => ws.rsc_actions(ar, None, "demote", false),
                            _ => Vec::new(),
                        };
                        for t in thens {
                            if !ws.act(t).has(aflag::PSEUDO) {
                                edges.push(t);
                            }
                        }
                    }
                }
                for l in ws.act(after).after.clone() {
                    let next = ws.link(l).action;
                    let kind = ws.link(l).kind;
                    if kind & oflag::IMPLIES_THEN == 0 {
                        let after_rsc = ws.act(after).rsc;
                        let next_rsc = ws.act(next).rsc;
                        let ok = match (after_rsc, next_rsc) {
                            (Some(a), Some(nr)) => {
                                ws.rsc(a).variant == Variant::Group
                                    && ws.rsc(*r).parent != Some(a)
                                    && ws.rsc(nr).variant == Variant::Primitive
                                    && ws.rsc(nr).parent == Some(a)
                            }
                            _ => false,
                        };
                        if !ok {
                            continue;
                        }
                    }
                    stack.push(next);
                }
            }
            for t in edges {
                ws.order_actions(probe, t, oflag::OPTIONAL);
            }
        }
    }
    // Probes before stops ordered before other actions.
    let orderings = ws.orderings.clone();
    for o in &orderings {
        if o.flags == oflag::NONE {
            continue;
        }
        let Some(fr) = o.first_rsc else { continue };
        if Some(fr) == o.then_rsc {
            continue;
        }
        if (o.first_action.is_none() && o.first_task.is_none())
            || (o.then_action.is_none() && o.then_task.is_none())
        {
            continue;
        }
        let first_is_stop = match o.first_action {
            Some(a) => ws.act(a).task == "stop",
            None => o
                .first_task
                .as_deref()
                .is_some_and(|t| t.ends_with("_stop_0")),
        };
        if !first_is_stop {
            continue;
        }
        let mut flags = oflag::OPTIONAL;
        if o.flags & oflag::APPLY_FIRST_NON_MIGRATABLE != 0 {
            flags |= oflag::APPLY_FIRST_NON_MIGRATABLE;
        }
        if o.flags & oflag::SAME_NODE != 0 {
            flags |= oflag::SAME_NODE;
        }
        if o.flags == oflag::ANTI_COLOCATION || o.flags == oflag::LOAD {
            flags = o.flags;
        }
        let probes = ws.rsc_actions(fr, None, "monitor", false);
        if probes.is_empty() {
            continue;
        }
        let thens = match (o.then_action, o.then_rsc) {
            (Some(a), _) => vec![a],
            (None, Some(tr)) => {
                let key = o.then_task.clone().unwrap_or_default();
                let found = ws.find_rsc_actions(tr, &key, None);
                if found.is_empty() {
                    continue;
                }
                found
            }
            (None, None) => Vec::new(),
        };
        for &p in &probes {
            for &t in &thens {
                let skip = {
                    let (pa, ta) = (ws.act(p), ws.act(t));
                    (ta.task == "stonith"
                        && pa.node.is_some()
                        && pa.node == ta.node
                        && ta.meta.get("stonith_action").is_some_and(|v| v == "on"))
                        || (ta.task == "do_shutdown"
                            && pa.node.is_some()
                            && ta.node.is_some()
                            && pa.node != ta.node)
                };
                if !skip {
                    ws.order_actions(p, t, flags);
                }
            }
        }
    }
}
