//! Live migration (`allow-migrate`): reading partial and failed migrations
//! from the history, and scheduling `migrate_to`/`migrate_from` instead of
//! stop/start when a resource moves.
//!
//! Invariant: pure; works on the working set only.

use super::model::*;
use super::unpack::{add_running, is_newer_op};
use super::util::{op_key, Role};
use crate::core::cib::model::{LrmResource, LrmRscOp};

/// The history of `rsc_id` on the node named `uname` (`find_lrm_resource`).
fn find_lrm_resource<'c>(ws: &Ws<'c>, rsc_id: &str, uname: &str) -> Option<&'c LrmResource> {
    let cib = ws.cib;
    cib.status
        .node_states
        .iter()
        .filter(|st| st.uname.as_deref() == Some(uname))
        .filter_map(|st| st.lrm.as_ref())
        .flat_map(|l| l.resources.iter())
        .find(|lr| lr.id == rsc_id)
}

/// `find_lrm_op`: the single matching operation (none if zero or several),
/// optionally required to have succeeded with `target_rc`.
fn find_lrm_op<'c>(
    ws: &Ws<'c>,
    rsc_id: &str,
    op: &str,
    uname: &str,
    source: Option<&str>,
    target_rc: Option<i32>,
) -> Option<&'c LrmRscOp> {
    let cib = ws.cib;
    let mut matches = cib
        .status
        .node_states
        .iter()
        .filter(|st| st.uname.as_deref() == Some(uname))
        .filter_map(|st| st.lrm.as_ref())
        .flat_map(|l| l.resources.iter())
        .filter(|lr| lr.id == rsc_id)
        .flat_map(|lr| lr.ops.iter())
        .filter(|o| {
            o.operation == op
                && match (source, op) {
                    (Some(s), "migrate_to") => o.migrate_target.as_deref() == Some(s),
                    (Some(s), "migrate_from") => o.migrate_source.as_deref() == Some(s),
                    _ => true,
                }
        });
    let first = matches.next()?;
    if matches.next().is_some() {
        return None;
    }
    if let Some(t) = target_rc {
        if first.rc_code.unwrap_or(1) != t || first.op_status.unwrap_or(4) != 0 {
            return None;
        }
    }
    Some(first)
}

fn unknown_on_node(ws: &Ws, rsc_id: &str, uname: &str) -> bool {
    find_lrm_resource(ws, rsc_id, uname).is_none_or(|lr| lr.ops.is_empty())
}

fn monitor_not_running_after(
    ws: &Ws,
    rsc_id: &str,
    uname: &str,
    xml_op: &LrmRscOp,
    same_node: bool,
) -> bool {
    find_lrm_op(ws, rsc_id, "monitor", uname, None, Some(7))
        .is_some_and(|m| is_newer_op(m, xml_op, same_node) > 0)
}

fn non_monitor_after(
    ws: &Ws,
    rsc_id: &str,
    uname: &str,
    xml_op: &LrmRscOp,
    same_node: bool,
) -> bool {
    let Some(lr) = find_lrm_resource(ws, rsc_id, uname) else {
        return false;
    };
    lr.ops.iter().any(|op| {
        !std::ptr::eq(op, xml_op)
            && op.id != xml_op.id
            && matches!(
                op.operation.as_str(),
                "start" | "stop" | "migrate_to" | "migrate_from"
            )
            && is_newer_op(op, xml_op, same_node) > 0
    })
}

fn newer_state_after_migrate(
    ws: &Ws,
    rsc_id: &str,
    uname: &str,
    migrate_to: Option<&LrmRscOp>,
    migrate_from: Option<&LrmRscOp>,
) -> bool {
    let Some(mut xml_op) = migrate_from.or(migrate_to) else {
        return false;
    };
    let source = xml_op.migrate_source.clone();
    let target = xml_op.migrate_target.clone();
    let mut same_node = false;
    if target
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(uname))
    {
        if let Some(f) = migrate_from {
            xml_op = f;
            same_node = true;
        } else if let Some(t) = migrate_to {
            xml_op = t;
        }
    } else if source
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case(uname))
    {
        if let Some(t) = migrate_to {
            xml_op = t;
            same_node = true;
        } else if let Some(f) = migrate_from {
            xml_op = f;
        }
    }
    non_monitor_after(ws, rsc_id, uname, xml_op, same_node)
        || monitor_not_running_after(ws, rsc_id, uname, xml_op, same_node)
}

/// A successful `migrate_to` in the history.
pub fn unpack_migrate_to_success(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    op: &LrmRscOp,
    _all: &[&LrmRscOp],
) {
    let (Some(source), Some(target)) = (op.migrate_source.clone(), op.migrate_target.clone())
    else {
        return;
    };
    if !source.eq_ignore_ascii_case(&ws.node(n).uname) {
        return;
    }
    let rid = ws.rsc(r).id.clone();
    let source_newer_op = non_monitor_after(ws, &rid, &source, op, true);
    let migrate_from = find_lrm_op(ws, &rid, "migrate_from", &target, Some(&source), None);
    if source_newer_op && migrate_from.is_some() {
        return;
    }
    let target_newer_state = newer_state_after_migrate(ws, &rid, &target, Some(op), migrate_from);
    if source_newer_op && target_newer_state {
        return;
    }
    ws.rsc_mut(r).role = Role::Started;
    let target_node = ws.find_node(&target);
    let source_node = ws.find_node(&source);
    let (from_rc, from_status) = migrate_from
        .map(|f| (f.rc_code.unwrap_or(0), f.op_status.unwrap_or(0)))
        .unwrap_or((0, 0));
    if migrate_from.is_some() && from_rc == 0 && from_status == 0 {
        ws.rsc_mut(r).role = Role::Stopped;
        ws.rsc_mut(r).dangling_migrations.insert(0, n);
    } else if migrate_from.is_some() && from_status != -1 {
        match target_node {
            Some(t) if !target_newer_state && ws.node(t).online => add_running(ws, r, t, true),
            _ => {
                ws.rsc_mut(r).set(rflag::FAILED | rflag::STOP);
                ws.rsc_mut(r).clear(rflag::ALLOW_MIGRATE);
            }
        }
    } else {
        match target_node {
            Some(t) if !target_newer_state && ws.node(t).online => {
                add_running(ws, r, t, false);
                if let Some(s) = source_node.filter(|s| ws.node(*s).online) {
                    ws.rsc_mut(r).partial_migration_target = Some(t);
                    ws.rsc_mut(r).partial_migration_source = Some(s);
                }
            }
            _ if !source_newer_op => {
                ws.rsc_mut(r).set(rflag::FAILED | rflag::STOP);
                ws.rsc_mut(r).clear(rflag::ALLOW_MIGRATE);
            }
            _ => {}
        }
    }
}

/// A failed `migrate_to` in the history.
pub fn unpack_migrate_to_failure(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    op: &LrmRscOp,
    _all: &[&LrmRscOp],
) {
    let (Some(source), Some(target)) = (op.migrate_source.clone(), op.migrate_target.clone())
    else {
        return;
    };
    if !source.eq_ignore_ascii_case(&ws.node(n).uname) {
        return;
    }
    ws.rsc_mut(r).role = Role::Started;
    let rid = ws.rsc(r).id.clone();
    let target_migrate_from =
        find_lrm_op(ws, &rid, "migrate_from", &target, Some(&source), Some(0));
    if !unknown_on_node(ws, &rid, &target)
        && !newer_state_after_migrate(ws, &rid, &target, Some(op), target_migrate_from)
    {
        if let Some(t) = ws.find_node(&target).filter(|t| ws.node(*t).online) {
            add_running(ws, r, t, false);
        }
    } else if !non_monitor_after(ws, &rid, &source, op, true) {
        ws.rsc_mut(r).dangling_migrations.insert(0, n);
    }
}

/// A failed `migrate_from` in the history.
pub fn unpack_migrate_from_failure(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    op: &LrmRscOp,
    _all: &[&LrmRscOp],
) {
    let (Some(source), Some(target)) = (op.migrate_source.clone(), op.migrate_target.clone())
    else {
        return;
    };
    if !target.eq_ignore_ascii_case(&ws.node(n).uname) {
        return;
    }
    ws.rsc_mut(r).role = Role::Started;
    let rid = ws.rsc(r).id.clone();
    let source_migrate_to = find_lrm_op(ws, &rid, "migrate_to", &source, Some(&target), Some(0));
    if !unknown_on_node(ws, &rid, &source)
        && !newer_state_after_migrate(ws, &rid, &source, source_migrate_to, Some(op))
    {
        if let Some(s) = ws.find_node(&source).filter(|s| ws.node(*s).online) {
            add_running(ws, r, s, true);
        }
    }
}

/// `pcmk__rsc_can_migrate`.
pub fn can_migrate(ws: &Ws, r: RscIdx, current: Option<NodeIdx>) -> bool {
    let rsc = ws.rsc(r);
    if !rsc.has(rflag::ALLOW_MIGRATE)
        || !rsc.has(rflag::MANAGED)
        || rsc.has(rflag::FAILED)
        || rsc.has(rflag::START_PENDING)
    {
        return false;
    }
    match current {
        Some(c) if !ws.node(c).unclean => {}
        _ => return false,
    }
    matches!(rsc.allocated_to, Some(a) if !ws.node(a).unclean)
}

/// `pcmk__create_migration_actions`.
pub fn create_migration_actions(ws: &mut Ws, r: RscIdx, current: NodeIdx) {
    let alloc = ws.rsc(r).allocated_to;
    let start = ws.rsc_action(r, "start", alloc, true);
    let stop = ws.rsc_action(r, "stop", Some(current), true);
    let id = ws.rsc(r).id.clone();
    let partial_target = ws.rsc(r).partial_migration_target;
    let migrate_to = if partial_target.is_none() {
        Some(ws.custom_action(
            Some(r),
            op_key(&id, "migrate_to", 0),
            "migrate_to",
            Some(current),
            true,
        ))
    } else {
        None
    };
    let migrate_from = ws.custom_action(
        Some(r),
        op_key(&id, "migrate_from", 0),
        "migrate_from",
        alloc,
        true,
    );
    if migrate_to.is_some() || partial_target.is_some() {
        ws.act_mut(start).flags |= aflag::MIGRATE_RUNNABLE | aflag::PSEUDO;
        ws.act_mut(stop).flags |= aflag::MIGRATE_RUNNABLE;
        if partial_target.is_none() {
            ws.act_mut(migrate_from).flags |= aflag::MIGRATE_RUNNABLE;
            if let Some(mt) = migrate_to {
                ws.act_mut(mt).flags |= aflag::MIGRATE_RUNNABLE;
                ws.act_mut(mt).needs = ws.act(start).needs;
            }
            ws.order_rsc_actions(r, "monitor", r, "migrate_to", oflag::OPTIONAL);
            ws.order_rsc_actions(
                r,
                "migrate_to",
                r,
                "migrate_from",
                oflag::OPTIONAL | oflag::IMPLIES_FIRST_MIGRATABLE,
            );
        } else {
            ws.act_mut(migrate_from).flags |= aflag::MIGRATE_RUNNABLE;
            ws.act_mut(migrate_from).needs = ws.act(start).needs;
            ws.order_rsc_actions(r, "monitor", r, "migrate_from", oflag::OPTIONAL);
        }
        ws.order_rsc_actions(
            r,
            "migrate_from",
            r,
            "stop",
            oflag::OPTIONAL | oflag::IMPLIES_FIRST_MIGRATABLE,
        );
        ws.order_rsc_actions(
            r,
            "migrate_from",
            r,
            "start",
            oflag::OPTIONAL | oflag::IMPLIES_FIRST_MIGRATABLE | oflag::PSEUDO_LEFT,
        );
    }
    let (src, tgt) = (
        ws.node(current).uname.clone(),
        alloc.map(|a| ws.node(a).uname.clone()).unwrap_or_default(),
    );
    for a in [migrate_to, Some(migrate_from)].into_iter().flatten() {
        ws.act_mut(a)
            .meta
            .insert("migrate_source".into(), src.clone());
        ws.act_mut(a)
            .meta
            .insert("migrate_target".into(), tgt.clone());
    }
    if let Some(mt) = migrate_to {
        ws.act_mut(mt)
            .meta
            .insert("record-pending".into(), "true".into());
    }
}

/// `pcmk__abort_dangling_migration`.
pub fn abort_dangling_migration(ws: &mut Ws, r: RscIdx, source: NodeIdx) {
    let stop = ws.rsc_action(r, "stop", Some(source), false);
    ws.act_mut(stop).flags |= aflag::DANGLE;
}
