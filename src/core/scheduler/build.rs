//! Phase 5 — the transition graph: the actions that must run (required and
//! runnable ones, plus pseudo actions that carry ordering), each with the
//! inputs it waits for, numbered in creation order.
//!
//! Invariant: pure; only actions and edges Pacemaker would put in its graph
//! are included, so the controller never waits on something that cannot
//! happen.

use super::graph::{ActionId, FenceAction, GraphAction, GraphActionKind, TransitionGraph};
use super::model::*;
use super::unpack::resource_params_on;
use crate::core::action::{ActionRequest, AgentRef, Standard};
use std::collections::BTreeMap;

fn should_add_action(ws: &Ws, a: ActIdx) -> bool {
    let act = ws.act(a);
    if !act.has(aflag::RUNNABLE) {
        return false;
    }
    if act.has(aflag::OPTIONAL) && !act.has(aflag::PRINT_ALWAYS) {
        return false;
    }
    if let Some(r) = act.rsc {
        if !ws.rsc(r).has(rflag::MANAGED) && act.task != "monitor" {
            let interval = act.meta.get("interval").map(String::as_str);
            if interval.is_none_or(|i| i == "0") {
                return false;
            }
        }
    }
    if act.has(aflag::PSEUDO) || act.task == "stonith" || act.task == "do_shutdown" {
        return true;
    }
    let Some(n) = act.node else { return false };
    if act.has(aflag::DC) {
        return true;
    }
    let node = ws.node(n);
    node.online && !node.unclean
}

fn can_change_actions(kind: u32) -> bool {
    kind & !(oflag::IMPLIES_FIRST_PRINTED | oflag::IMPLIES_THEN_PRINTED | oflag::OPTIONAL) != 0
}

fn should_add_input(ws: &mut Ws, a: ActIdx, link: LinkIdx, included: &[bool]) -> bool {
    let l = ws.link(link).clone();
    if l.dumped {
        return true;
    }
    let input = ws.act(l.action);
    let act = ws.act(a);
    if l.kind == oflag::NONE {
        return false;
    }
    if !input.has(aflag::RUNNABLE) && !can_change_actions(l.kind) {
        return false;
    }
    if !input.has(aflag::RUNNABLE) && l.kind & oflag::ONE_OR_MORE != 0 {
        return false;
    }
    if l.kind & oflag::IMPLIES_FIRST_MIGRATABLE != 0 && !input.has(aflag::RUNNABLE) {
        return false;
    }
    if l.kind & oflag::APPLY_FIRST_NON_MIGRATABLE != 0 && input.has(aflag::MIGRATE_RUNNABLE) {
        return false;
    }
    if l.kind == oflag::OPTIONAL
        && input.has(aflag::MIGRATE_RUNNABLE)
        && input.uuid.ends_with("_stop_0")
    {
        return false;
    }
    if l.kind == oflag::ANTI_COLOCATION {
        if input.node.is_some() && act.node.is_some() && input.node != act.node {
            return false;
        }
        if input.has(aflag::OPTIONAL) {
            return false;
        }
        return true;
    }
    if l.kind == oflag::LOAD {
        return false;
    }
    if input.has(aflag::OPTIONAL)
        && !input.has(aflag::PRINT_ALWAYS)
        && !included[l.action.0 as usize]
        && !should_add_action(ws, l.action)
    {
        return false;
    }
    true
}

/// The parameters an action is run with on its node.
fn request_for(ws: &Ws, a: ActIdx) -> Option<ActionRequest> {
    let act = ws.act(a);
    let r = act.rsc?;
    let n = act.node?;
    let rsc = ws.rsc(r);
    let standard = Standard::parse(rsc.class.as_deref().unwrap_or(""));
    let agent = AgentRef {
        standard,
        provider: rsc.provider.clone(),
        kind: rsc.kind.clone().unwrap_or_default(),
    };
    let interval_ms = act
        .meta
        .get("interval")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout_ms = act
        .meta
        .get("timeout")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut meta: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &act.meta {
        if matches!(k.as_str(), "interval" | "timeout" | "name" | "id") {
            continue;
        }
        meta.insert(k.clone(), v.clone());
    }
    Some(ActionRequest {
        rsc_id: rsc.id.clone(),
        agent,
        action: act.task.clone(),
        interval_ms,
        timeout_ms,
        params: {
            // The operation's own instance attributes go to the agent too
            // (e.g. OCF_CHECK_LEVEL); the resource's win a clash.
            let mut p = resource_params_on(ws, r, Some(n));
            for (k, v) in super::digest::op_instance_params(ws, r, &act.uuid, Some(n)) {
                p.entry(k).or_insert(v);
            }
            p
        },
        meta,
        node: ws.node(n).uname.clone(),
    })
}

fn kind_for(ws: &Ws, a: ActIdx) -> GraphActionKind {
    let act = ws.act(a);
    if act.task == "stonith" {
        let op = act
            .meta
            .get("stonith_action")
            .map(String::as_str)
            .unwrap_or("reboot");
        return GraphActionKind::Fence {
            target: act
                .node
                .map(|n| ws.node(n).uname.clone())
                .unwrap_or_default(),
            action: FenceAction::parse(op).unwrap_or(FenceAction::Reboot),
            reason: act.reason.clone().unwrap_or_default(),
        };
    }
    if act.task == "do_shutdown" {
        return GraphActionKind::Shutdown {
            node: act
                .node
                .map(|n| ws.node(n).uname.clone())
                .unwrap_or_default(),
        };
    }
    if act.has(aflag::PSEUDO) || act.rsc.is_none() || act.node.is_none() {
        return GraphActionKind::Pseudo {
            name: act.uuid.clone(),
        };
    }
    let r = act.rsc.expect("checked");
    let n = act.node.expect("checked");
    let (rsc_id, node) = (ws.rsc(r).id.clone(), ws.node(n).uname.clone());
    match act.task.as_str() {
        "cancel" => GraphActionKind::Cancel {
            rsc_id,
            node,
            action: act.cancel_task.clone().unwrap_or_default(),
            interval_ms: act
                .meta
                .get("interval")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        },
        "clear_failcount" => GraphActionKind::ClearFailcount { rsc_id, node },
        "delete" | "lrm_delete" => GraphActionKind::ForgetHistory { rsc_id, node },
        _ => {
            let request = request_for(ws, a).expect("resource action on a node");
            let expected_rc = act
                .meta
                .get("op_target_rc")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            GraphActionKind::Resource {
                request,
                expected_rc,
            }
        }
    }
}

/// `pcmk__create_graph`.
pub fn build_graph(ws: &mut Ws) -> TransitionGraph {
    let n = ws.actions.len();
    let mut included = vec![false; n];
    let mut inputs: Vec<Vec<ActIdx>> = vec![Vec::new(); n];
    let mut unrunnable: Vec<Vec<ActIdx>> = vec![Vec::new(); n];
    // Pacemaker adds resources' actions first (in resource order), then the
    // rest; the set of actions and edges does not depend on that order.
    for a in (0..n).rev() {
        let ai = ActIdx(a as u32);
        // Deduplicate inputs: one edge per input action, flags merged.
        let mut seen: BTreeMap<u32, LinkIdx> = BTreeMap::new();
        let mut keep = Vec::new();
        for l in ws.act(ai).before.clone() {
            let target = ws.link(l).action.0;
            match seen.get(&target) {
                Some(&first) => {
                    let k = ws.link(l).kind;
                    ws.links[first.0 as usize].kind |= k;
                }
                None => {
                    seen.insert(target, l);
                    keep.push(l);
                }
            }
        }
        ws.act_mut(ai).before = keep;
        if !should_add_action(ws, ai) {
            continue;
        }
        included[a] = true;
    }
    for a in 0..n {
        if !included[a] {
            continue;
        }
        let ai = ActIdx(a as u32);
        for l in ws.act(ai).before.clone() {
            if should_add_input(ws, ai, l, &included) {
                ws.links[l.0 as usize].dumped = true;
                let input = ws.link(l).action;
                if included[input.0 as usize] {
                    inputs[a].push(input);
                } else {
                    unrunnable[a].push(input);
                }
            }
        }
    }
    let mut map: Vec<Option<ActionId>> = vec![None; n];
    let mut next = 0u32;
    for a in 0..n {
        if included[a] {
            map[a] = Some(ActionId(next));
            next += 1;
        }
    }
    let mut actions = Vec::with_capacity(next as usize);
    for a in 0..n {
        let Some(id) = map[a] else { continue };
        let mut ins: Vec<ActionId> = inputs[a].iter().filter_map(|i| map[i.0 as usize]).collect();
        ins.sort();
        ins.dedup();
        let mut never: Vec<ActIdx> = unrunnable[a].clone();
        never.sort();
        never.dedup();
        actions.push(GraphAction {
            id,
            kind: kind_for(ws, ActIdx(a as u32)),
            inputs: ins,
            unrunnable_inputs: never.into_iter().map(|i| kind_for(ws, i)).collect(),
        });
    }
    TransitionGraph {
        actions,
        stonith_timeout_ms: ws.config.stonith_timeout_ms,
        cluster_delay_ms: ws.config.cluster_delay_ms,
        batch_limit: ws.config.batch_limit,
    }
}
