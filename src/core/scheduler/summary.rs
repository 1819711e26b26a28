//! The transition summary: one line per resource-level change (start, stop,
//! move, recover, restart, migrate, promote, demote) and per node fenced,
//! worded and laid out as Pacemaker's "Transition Summary".
//!
//! Invariant: reads the final action table only; the text layout (column
//! widths that grow as longer names are printed) is Pacemaker's.

use super::model::*;
use super::util::Role;
use super::{FenceAction, SummaryAction, SummaryKind};

struct Item {
    kind: SummaryKind,
    change: &'static str,
    rsc: RscIdx,
    origin: Option<NodeIdx>,
    destination: Option<NodeIdx>,
    action: Option<ActIdx>,
    source: Option<ActIdx>,
}

/// The summary, in Pacemaker's order: node actions (fencing), then resources.
pub fn summarize(ws: &mut Ws) -> (Vec<SummaryAction>, Vec<String>) {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    // Node actions: data_set->actions is newest first.
    for a in (0..ws.actions.len()).rev() {
        let act = ws.act(ActIdx(a as u32));
        if act.rsc.is_some() || act.has(aflag::OPTIONAL) {
            continue;
        }
        if act.task == "stonith" {
            let op = act
                .meta
                .get("stonith_action")
                .cloned()
                .unwrap_or_else(|| "reboot".into());
            let Some(n) = act.node else { continue };
            if let Some(reason) = &act.reason {
                lines.push(format!("* Fence ({op}) {} '{reason}'", ws.node(n).uname));
            }
            out.push(SummaryAction {
                rsc: None,
                action: SummaryKind::Fence,
                from: None,
                to: Some(ws.node(n).uname.clone()),
                blocked: false,
                reason: act.reason.clone(),
                fence_type: FenceAction::parse(&op),
            });
        } else if act.task == "do_shutdown" {
            if let (Some(n), Some(reason)) = (act.node, &act.reason) {
                lines.push(format!("* Shutdown {} '{reason}'", ws.node(n).uname));
            }
        }
    }
    let mut widths = (5usize, 5usize);
    for r in ws.top.clone() {
        output_rsc(ws, r, &mut out, &mut lines, &mut widths);
    }
    (out, lines)
}

fn output_rsc(
    ws: &mut Ws,
    r: RscIdx,
    out: &mut Vec<SummaryAction>,
    lines: &mut Vec<String>,
    widths: &mut (usize, usize),
) {
    let children = ws.rsc(r).children.clone();
    if !children.is_empty() {
        for c in children {
            output_rsc(ws, c, out, lines, widths);
        }
        return;
    }
    let next = ws.rsc(r).allocated_to;
    let mut current = None;
    if !ws.rsc(r).running_on.is_empty() {
        current = ws.current_node(r);
        if ws.rsc(r).role == Role::Stopped {
            ws.rsc_mut(r).role = Role::Started;
        }
    }
    if current.is_none() && ws.rsc(r).has(rflag::ORPHAN) {
        return;
    }
    for item in rsc_action_items(ws, r, current, next) {
        let (sa, line) = render(ws, &item, widths);
        out.push(sa);
        lines.push(line);
    }
}

fn first(ws: &mut Ws, r: RscIdx, node: Option<NodeIdx>, task: &str) -> Option<ActIdx> {
    ws.rsc_actions(r, node, task, false).first().copied()
}

fn rsc_action_items(
    ws: &mut Ws,
    r: RscIdx,
    current: Option<NodeIdx>,
    next: Option<NodeIdx>,
) -> Vec<Item> {
    let mut items = Vec::new();
    if !ws.rsc(r).has(rflag::MANAGED) || (current.is_none() && next.is_none()) {
        return items;
    }
    let moving = matches!((current, next), (Some(c), Some(n)) if c != n);
    let start = first(ws, r, next, "start");
    let start_node = match start {
        Some(s) if ws.act(s).has(aflag::RUNNABLE) => current,
        _ => None,
    };
    let mut stop = first(ws, r, start_node, "stop");
    if stop.is_none() && ws.rsc(r).has(rflag::STOP_UNEXPECTED) {
        stop = first(ws, r, None, "stop");
    }
    let promote = first(ws, r, next, "promote");
    let demote = first(ws, r, next, "demote");
    let item = |kind, change, origin, destination, action, source| Item {
        kind,
        change,
        rsc: r,
        origin,
        destination,
        action,
        source,
    };
    let rsc = ws.rsc(r);
    let (role, next_role) = (rsc.role, rsc.next_role);
    let failed = rsc.has(rflag::FAILED);
    if role == next_role {
        if next.is_none() {
            return items;
        }
        let migrate_op = first(ws, r, next, "migrate_from");
        let flag = |a: Option<ActIdx>, f: u32| a.is_some_and(|a| ws.act(a).has(f));
        if migrate_op.is_some() && current.is_some() && flag(migrate_op, aflag::RUNNABLE) {
            items.push(item(
                SummaryKind::Migrate,
                "Migrate",
                current,
                next,
                start,
                None,
            ));
        } else if ws.rsc(r).has(rflag::RELOAD) {
            items.push(item(
                SummaryKind::Reload,
                "Reload",
                current,
                next,
                start,
                None,
            ));
        } else if start.is_none() || flag(start, aflag::OPTIONAL) {
            if demote.is_some()
                && promote.is_some()
                && !flag(demote, aflag::OPTIONAL)
                && !flag(promote, aflag::OPTIONAL)
            {
                items.push(item(
                    SummaryKind::Promote,
                    "Re-promote",
                    current,
                    next,
                    promote,
                    demote,
                ));
            }
        } else if !flag(start, aflag::RUNNABLE) {
            let source = if stop.is_some_and(|s| ws.act(s).reason.is_some()) {
                stop
            } else {
                start
            };
            items.push(item(SummaryKind::Stop, "Stop", current, None, stop, source));
        } else if moving && current.is_some() {
            let (k, c) = if failed {
                (SummaryKind::Recover, "Recover")
            } else {
                (SummaryKind::Move, "Move")
            };
            items.push(item(k, c, current, next, stop, None));
        } else if failed {
            items.push(item(
                SummaryKind::Recover,
                "Recover",
                current,
                None,
                stop,
                None,
            ));
        } else {
            items.push(item(
                SummaryKind::Restart,
                "Restart",
                current,
                next,
                start,
                None,
            ));
        }
        return items;
    }
    let start_runnable = start.is_some_and(|s| ws.act(s).has(aflag::RUNNABLE));
    if stop.is_some() && (next_role == Role::Stopped || (start.is_some() && !start_runnable)) {
        let key = super::util::op_key(&ws.rsc(r).id, "stop", 0);
        for n in ws.rsc(r).running_on.clone() {
            let stop_op = ws.find_rsc_actions(r, &key, Some(n)).first().copied();
            let source = if stop_op.is_some_and(|s| ws.act(s).reason.is_some()) {
                stop_op
            } else {
                start
            };
            items.push(item(
                SummaryKind::Stop,
                "Stop",
                Some(n),
                None,
                stop_op,
                source,
            ));
        }
    } else if stop.is_some() && ws.rsc(r).has(rflag::FAILED) && ws.rsc(r).has(rflag::STOP) {
        items.push(item(
            SummaryKind::Recover,
            "Recover",
            current,
            next,
            stop,
            start,
        ));
    } else if moving {
        items.push(item(SummaryKind::Move, "Move", current, next, stop, None));
    } else if ws.rsc(r).has(rflag::RELOAD) {
        items.push(item(
            SummaryKind::Reload,
            "Reload",
            current,
            next,
            start,
            None,
        ));
    } else if stop.is_some_and(|s| !ws.act(s).has(aflag::OPTIONAL)) {
        items.push(item(
            SummaryKind::Restart,
            "Restart",
            current,
            next,
            start,
            None,
        ));
    } else if role == Role::Promoted {
        items.push(item(
            SummaryKind::Demote,
            "Demote",
            current,
            next,
            demote,
            None,
        ));
    } else if next_role == Role::Promoted {
        items.push(item(
            SummaryKind::Promote,
            "Promote",
            current,
            next,
            promote,
            None,
        ));
    } else if role == Role::Stopped && next_role > Role::Stopped {
        items.push(item(
            SummaryKind::Start,
            "Start",
            current,
            next,
            start,
            None,
        ));
    }
    items
}

fn render(ws: &Ws, it: &Item, widths: &mut (usize, usize)) -> (SummaryAction, String) {
    let rsc = ws.rsc(it.rsc);
    let name = |n: Option<NodeIdx>| n.map(|n| ws.node(n).uname.clone()).unwrap_or_default();
    let need_role = rsc.role > Role::Started || rsc.next_role > Role::Unpromoted;
    let same_host = it.origin.is_some() && it.origin == it.destination;
    let same_role = rsc.role == rsc.next_role;
    let (o, d) = (name(it.origin), name(it.destination));
    let details = match (it.origin, it.destination) {
        (None, _) if need_role => format!("{} -> {} {d}", rsc.role, rsc.next_role),
        (None, _) => d.clone(),
        (Some(_), None) if need_role => format!("{} {o}", rsc.role),
        (Some(_), None) => o.clone(),
        _ if need_role && same_role && same_host => format!("{} {o}", rsc.role),
        _ if same_role && same_host => o.clone(),
        _ if need_role && same_role => format!("{o} -> {d} {}", rsc.role),
        _ if same_role => format!("{o} -> {d}"),
        _ if same_host => format!("{} -> {} {o}", rsc.role, rsc.next_role),
        _ => format!("{} {o} -> {} {d}", rsc.role, rsc.next_role),
    };
    let len = rsc.id.len();
    if len > widths.0 {
        widths.0 = len + 2;
    }
    if details.len() > widths.1 {
        widths.1 = details.len();
    }
    let runnable = it.action.is_some_and(|a| ws.act(a).has(aflag::RUNNABLE));
    let source = it.source.or(it.action);
    let source_reason = source.and_then(|s| ws.act(s).reason.clone());
    let reason = match (&source_reason, runnable) {
        (Some(r), false) => Some(format!("due to {r} (blocked)")),
        (Some(r), true) => Some(format!("due to {r}")),
        (None, false) => Some("blocked".to_string()),
        (None, true) => None,
    };
    let line = format!(
        "* {:<8}   {:<rw$}   ( {:>dw$} ){}{}",
        it.change,
        rsc.id,
        details,
        if reason.is_some() { "  " } else { "" },
        reason.as_deref().unwrap_or(""),
        rw = widths.0,
        dw = widths.1
    );
    let (from, to) = match it.kind {
        SummaryKind::Start | SummaryKind::Promote if it.change != "Re-promote" => {
            (None, it.destination.or(it.origin))
        }
        SummaryKind::Stop | SummaryKind::Demote => (it.origin, None),
        _ => match (it.origin, it.destination) {
            (Some(a), Some(b)) if a != b => (Some(a), Some(b)),
            (a, b) => {
                let n = a.or(b);
                (n, n)
            }
        },
    };
    let sa = SummaryAction {
        rsc: Some(rsc.id.clone()),
        action: it.kind,
        from: from.map(|n| ws.node(n).uname.clone()),
        to: to.map(|n| ws.node(n).uname.clone()),
        blocked: !runnable,
        reason: source_reason,
        fence_type: None,
    };
    (sa, line)
}
