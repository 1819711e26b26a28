//! Phase 2 — scores and assignment: location constraints, stickiness,
//! failure thresholds, then each resource (in priority order) is placed on
//! its best node after the colocations it depends on and the resources that
//! depend on it have weighed in.
//!
//! Tie-breaks, as Pacemaker breaks them: nodes are compared by score (a node
//! that cannot run resources counts as -INFINITY), then by how many
//! resources were already assigned to them (fewer first), then the node the
//! resource is active on, then by name; among the best-scored nodes the one
//! the resource already runs on is kept. Resources are assigned in
//! descending `priority`, ties in configuration order.
//!
//! Invariant: pure; reads the unpacked state, writes only scores,
//! `allocated_to` and `next_role`.

use super::constraints::{add_this_with, add_with_this, apply_locations};
use super::model::*;
use super::unpack::{get_failcount, resource_location};
use super::util::{self, Role};
use std::collections::BTreeMap;

const INFINITY_HACK: i32 = INF * -100;

/// Applies shutdown locks, locations, stickiness, failure thresholds and
/// exclusive discovery.
pub fn apply_node_criteria(ws: &mut Ws) {
    if ws.config.shutdown_lock {
        for r in ws.top.clone() {
            shutdown_lock(ws, r);
        }
    }
    apply_locations(ws);
    for r in ws.top.clone() {
        apply_stickiness(ws, r);
    }
    for n in ws.node_order.clone() {
        for r in ws.top.clone() {
            check_failure_threshold(ws, r, n);
            apply_exclusive_discovery(ws, r, n);
        }
    }
}

/// `pcmk__primitive_shutdown_lock`: a resource active on a node shutting
/// down cleanly stays there (banned elsewhere) until the lock expires.
fn shutdown_lock(ws: &mut Ws, r: RscIdx) {
    let children = ws.rsc(r).children.clone();
    if !children.is_empty() {
        for c in children {
            shutdown_lock(ws, c);
        }
        return;
    }
    if ws.rsc(r).class.as_deref().is_none_or(|c| c == "stonith") {
        return;
    }
    if let Some(lock) = ws.rsc(r).lock_node {
        if !ws.rsc(r).running_on.is_empty() {
            let key = super::util::op_key(&ws.rsc(r).id, "lrm_delete", 0);
            ws.custom_action(Some(r), key, "lrm_delete", Some(lock), false);
            ws.rsc_mut(r).lock_node = None;
            ws.rsc_mut(r).lock_time = 0;
        }
    } else if ws.rsc(r).running_on.len() == 1 {
        let n = ws.rsc(r).running_on[0];
        if ws.node(n).shutdown && !ws.node(n).unclean {
            let t = ws
                .node(n)
                .attrs
                .get("shutdown")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|t| *t != 0)
                .unwrap_or(ws.now);
            ws.rsc_mut(r).lock_node = Some(n);
            ws.rsc_mut(r).lock_time = t;
        }
    }
    let Some(lock) = ws.rsc(r).lock_node else {
        return;
    };
    if ws.config.shutdown_lock_limit_s > 0 {
        let at = ws.rsc(r).lock_time + ws.config.shutdown_lock_limit_s + 1;
        ws.update_recheck(at);
    }
    for n in ws.node_order.clone() {
        if ws.node(n).uname != ws.node(lock).uname {
            resource_location(ws, r, Some(n), -INF, "shutdown-lock");
        }
    }
}

fn apply_stickiness(ws: &mut Ws, r: RscIdx) {
    let children = ws.rsc(r).children.clone();
    if !children.is_empty() {
        for c in children {
            apply_stickiness(ws, c);
        }
        return;
    }
    let rsc = ws.rsc(r);
    if !rsc.has(rflag::MANAGED) || rsc.stickiness < 1 || rsc.running_on.len() != 1 {
        return;
    }
    let n = rsc.running_on[0];
    if !ws.config.symmetric && rsc.allowed[n.0 as usize].is_none() {
        return;
    }
    let s = rsc.stickiness;
    resource_location(ws, r, Some(n), s, "stickiness");
}

fn check_failure_threshold(ws: &mut Ws, r: RscIdx, n: NodeIdx) {
    let children = ws.rsc(r).children.clone();
    if !children.is_empty() {
        for c in children {
            check_failure_threshold(ws, c, n);
        }
        return;
    }
    if !ws
        .rsc_actions(r, Some(n), "clear_failcount", true)
        .is_empty()
    {
        return;
    }
    if threshold_reached(ws, r, n) {
        resource_location(ws, r, Some(n), -INF, "__fail_limit__");
    }
}

/// `pcmk__threshold_reached`.
pub fn threshold_reached(ws: &mut Ws, r: RscIdx, n: NodeIdx) -> bool {
    let rsc = ws.rsc(r);
    if rsc.migration_threshold == 0 || rsc.has(rflag::FAILURE_IGNORED) {
        return false;
    }
    let (fc, _) = get_failcount(ws, n, r, true, None);
    if fc <= 0 {
        return false;
    }
    let remaining = ws.rsc(r).migration_threshold - fc;
    if remaining <= 0 {
        ws.warnings.push(format!(
            "{} cannot run on {} due to reaching migration threshold (clean up resource to allow again)",
            ws.rsc(r).id,
            ws.node(n).uname
        ));
        return true;
    }
    false
}

fn apply_exclusive_discovery(ws: &mut Ws, r: RscIdx, n: NodeIdx) {
    let top = ws.top_of(r);
    if ws.rsc(r).exclusive_discover || ws.rsc(top).exclusive_discover {
        for c in ws.rsc(r).children.clone() {
            apply_exclusive_discovery(ws, c, n);
        }
        if let Some(a) = ws.rsc_mut(r).allowed[n.0 as usize].as_mut() {
            if a.discover != Discover::Exclusive {
                a.weight = -INF;
            }
        }
    }
}

/// Assigns every resource.
pub fn assign_all(ws: &mut Ws) {
    for r in ws.top.clone() {
        assign(ws, r, None);
    }
}

/// `rsc->cmds->assign`.
pub fn assign(ws: &mut Ws, r: RscIdx, prefer: Option<NodeIdx>) -> Option<NodeIdx> {
    match ws.rsc(r).variant {
        Variant::Primitive => primitive_assign(ws, r, prefer),
        Variant::Group => group_assign(ws, r, prefer),
    }
}

fn any_node_available(ws: &Ws, table: &NodeTable) -> bool {
    table
        .iter()
        .enumerate()
        .any(|(i, a)| a.is_some_and(|a| ws.node_available(NodeIdx(i as u32), Some(a.weight))))
}

/// Nodes of a table sorted as `pcmk__sort_nodes` sorts them.
fn sorted_nodes(ws: &Ws, table: &NodeTable, active: Option<NodeIdx>) -> Vec<(NodeIdx, i32)> {
    let mut v: Vec<(NodeIdx, i32)> = table
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.map(|a| (NodeIdx(i as u32), a.weight)))
        .collect();
    let minimal = ws.config.placement_strategy.eq_ignore_ascii_case("minimal");
    v.sort_by(|&(a, wa), &(b, wb)| {
        use std::cmp::Ordering::*;
        let wa = if ws.node_available(a, None) { wa } else { -INF };
        let wb = if ws.node_available(b, None) { wb } else { -INF };
        match wb.cmp(&wa) {
            Equal => {}
            o => return o,
        }
        if !minimal {
            let (na, nb) = (ws.node(a).num_resources, ws.node(b).num_resources);
            match na.cmp(&nb) {
                Equal => {}
                o => return o,
            }
            if let Some(act) = active {
                if act == a {
                    return Less;
                } else if act == b {
                    return Greater;
                }
            }
        }
        ws.node(a).uname.as_bytes().cmp(ws.node(b).uname.as_bytes())
    });
    v
}

/// Records `r`'s allowed-node scores (and its children's) for the score
/// trace, nodes in Pacemaker's name order; orphans are left out, as
/// Pacemaker leaves them out.
fn trace_scores(ws: &mut Ws, r: RscIdx, prefix: &'static str) {
    if ws.score_trace.is_none() || ws.rsc(r).has(rflag::ORPHAN) {
        return;
    }
    let mut lines = Vec::new();
    let mut stack = vec![r];
    while let Some(x) = stack.pop() {
        if ws.rsc(x).has(rflag::ORPHAN) {
            continue;
        }
        let mut entries: Vec<(&str, i32)> = ws
            .rsc(x)
            .allowed
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.map(|a| (ws.nodes[i].uname.as_str(), a.weight)))
            .collect();
        entries.sort_by(|a, b| util::numeric_strcasecmp(a.0, b.0));
        for (node, score) in entries {
            lines.push(ScoreLine {
                prefix,
                rsc: ws.rsc(x).id.to_string(),
                node: node.to_string(),
                score,
            });
        }
        stack.extend(ws.rsc(x).children.iter().rev());
    }
    if let Some(t) = ws.score_trace.as_mut() {
        t.extend(lines);
    }
}

fn primitive_assign(ws: &mut Ws, r: RscIdx, prefer: Option<NodeIdx>) -> Option<NodeIdx> {
    if let Some(p) = ws.rsc(r).parent {
        if !ws.rsc(p).has(rflag::ALLOCATING) {
            assign(ws, p, prefer);
        }
    }
    if !ws.rsc(r).has(rflag::PROVISIONAL) {
        return ws.rsc(r).allocated_to;
    }
    if ws.rsc(r).has(rflag::ALLOCATING) {
        return None;
    }
    ws.rsc_mut(r).set(rflag::ALLOCATING);
    for c in ws.rsc(r).this_with.clone() {
        apply_this_with(ws, r, c);
    }
    for c in ws.rsc(r).with_this.clone() {
        apply_with_this(ws, r, c);
    }
    let (role, next_role) = (ws.rsc(r).role, ws.rsc(r).next_role);
    if next_role == Role::Stopped {
        resource_location(ws, r, None, -INF, "target-role");
    } else if next_role > role
        && !ws.config.have_quorum
        && ws.config.no_quorum_policy == QuorumPolicy::Freeze
    {
        ws.rsc_mut(r).next_role = role;
    }
    trace_scores(ws, r, "pcmk__primitive_assign");
    if ws.config.stonith_enabled && !ws.config.have_stonith_resource {
        ws.rsc_mut(r).clear(rflag::MANAGED);
    }
    if !ws.rsc(r).has(rflag::MANAGED) {
        let role = ws.rsc(r).role;
        ws.rsc_mut(r).next_role = role;
        let to = ws.current_node(r);
        finalize_assignment(ws, r, to, true);
    } else if ws.config.stop_everything {
        finalize_assignment(ws, r, None, true);
    } else if ws.rsc(r).has(rflag::PROVISIONAL) {
        assign_best_node(ws, r, prefer);
    }
    ws.rsc_mut(r).clear(rflag::ALLOCATING);
    ws.rsc(r).allocated_to
}

fn assign_best_node(ws: &mut Ws, r: RscIdx, prefer: Option<NodeIdx>) -> bool {
    if !ws.rsc(r).has(rflag::PROVISIONAL) {
        return ws.rsc(r).allocated_to.is_some();
    }
    let current = ws.current_node(r);
    let nodes = sorted_nodes(ws, &ws.rsc(r).allowed, current);
    let best = nodes.first().copied();
    let mut chosen: Option<(NodeIdx, i32)> = None;
    if let (Some(p), Some(best)) = (prefer, best) {
        if let Some(a) = ws.rsc(r).allowed[p.0 as usize] {
            if a.weight >= best.1 && ws.node_available(p, Some(a.weight)) {
                chosen = Some((p, a.weight));
            }
        }
    }
    if chosen.is_none() {
        if let Some(best) = best {
            chosen = Some(best);
            if best.1 > 0 && ws.node_available(best.0, None) {
                if let Some(running) = current {
                    // running_on holds the cluster's node objects, whose
                    // weight is the node's own (-INFINITY once offline).
                    if ws.node_available(running, Some(ws.node(running).weight)) {
                        for &(n, w) in &nodes[1..] {
                            if w != best.1 {
                                break;
                            }
                            if n == running {
                                chosen = Some((n, w));
                            }
                        }
                    }
                }
            }
        }
    }
    finalize_assignment(ws, r, chosen.map(|c| c.0), false)
}

/// `pcmk__finalize_assignment`.
pub fn finalize_assignment(ws: &mut Ws, r: RscIdx, chosen: Option<NodeIdx>, force: bool) -> bool {
    let mut chosen = chosen;
    if !force {
        if let Some(c) = chosen {
            let w = ws.rsc(r).allowed[c.0 as usize]
                .map(|a| a.weight)
                .unwrap_or(ws.node(c).weight);
            if w < 0 || !ws.node_available(c, Some(w)) {
                ws.rsc_mut(r).next_role = Role::Stopped;
                chosen = None;
            }
        }
    }
    if let Some(old) = ws.rsc(r).allocated_to {
        ws.rsc_mut(r).set(rflag::PROVISIONAL);
        ws.rsc_mut(r).allocated_to = None;
        ws.node_mut(old).num_resources -= 1;
    }
    ws.rsc_mut(r).clear(rflag::PROVISIONAL);
    let Some(c) = chosen else {
        ws.rsc_mut(r).next_role = Role::Stopped;
        for a in ws.rsc(r).actions.clone() {
            let act = ws.act(a);
            if act.task == "stop" {
                ws.act_mut(a).flags &= !aflag::OPTIONAL;
            } else if act.task == "start" {
                ws.act_mut(a).flags &= !aflag::RUNNABLE;
            } else {
                let interval = act.meta.get("interval").map(String::as_str);
                let target = act.meta.get("op_target_rc").map(String::as_str);
                if interval.is_some_and(|i| i != "0") && target != Some("7") {
                    ws.act_mut(a).flags &= !aflag::RUNNABLE;
                }
            }
        }
        return false;
    };
    ws.rsc_mut(r).allocated_to = Some(c);
    ws.node_mut(c).num_resources += 1;
    ws.node_mut(c).count += 1;
    true
}

fn group_assign(ws: &mut Ws, g: RscIdx, prefer: Option<NodeIdx>) -> Option<NodeIdx> {
    if !ws.rsc(g).has(rflag::PROVISIONAL) {
        return ws.rsc(g).allocated_to;
    }
    if ws.rsc(g).has(rflag::ALLOCATING) {
        return None;
    }
    let children = ws.rsc(g).children.clone();
    if children.is_empty() {
        ws.rsc_mut(g).clear(rflag::PROVISIONAL);
        return None;
    }
    ws.rsc_mut(g).set(rflag::ALLOCATING);
    let first = children[0];
    let role = ws.rsc(first).role;
    ws.rsc_mut(g).role = role;
    expand_group_colocations(ws, g);
    trace_scores(ws, g, "pcmk__group_assign");
    let mut first_assigned = None;
    for &m in &children {
        let n = assign(ws, m, prefer);
        if first_assigned.is_none() {
            first_assigned = n;
        }
    }
    let nr = ws.rsc(first).next_role;
    ws.rsc_mut(g).next_role = nr;
    ws.rsc_mut(g).clear(rflag::ALLOCATING | rflag::PROVISIONAL);
    if !ws.rsc(g).group_colocated {
        return None;
    }
    first_assigned
}

fn expand_group_colocations(ws: &mut Ws, g: RscIdx) {
    let children = ws.rsc(g).children.clone();
    if children.is_empty() {
        return;
    }
    let this_with = std::mem::take(&mut ws.rsc_mut(g).this_with);
    let first = children[0];
    for &c in &this_with {
        add_this_with(ws, first, c);
    }
    let mut any_unmanaged = !ws.rsc(first).has(rflag::MANAGED);
    for &m in &children[1..] {
        if any_unmanaged {
            for &c in &this_with {
                if ws.coloc(c).score == INF {
                    add_this_with(ws, m, c);
                }
            }
        } else if !ws.rsc(m).has(rflag::MANAGED) {
            any_unmanaged = true;
        }
    }
    let with_this = std::mem::take(&mut ws.rsc_mut(g).with_this);
    let last = *children.last().expect("non-empty");
    for c in with_this {
        add_with_this(ws, last, c);
    }
}

fn apply_this_with(ws: &mut Ws, r: RscIdx, ci: ColocIdx) {
    let c = ws.coloc(ci).clone();
    let archive = if c.dependent_role >= Role::Promoted || (c.score < 0 && c.score > -INF) {
        Some(ws.rsc(r).allowed.clone())
    } else {
        None
    };
    assign(ws, c.primary, None);
    apply_coloc_score(ws, r, c.primary, &c);
    if let Some(archive) = archive {
        if !any_node_available(ws, &ws.rsc(r).allowed) {
            ws.rsc_mut(r).allowed = archive;
        }
    }
}

/// The primary's `apply_coloc_score` for a (primitive) dependent.
fn apply_coloc_score(ws: &mut Ws, dependent: RscIdx, primary: RscIdx, c: &Colocation) {
    match ws.rsc(primary).variant {
        Variant::Primitive => {
            if colocation_affects(ws, dependent, primary, c, false) == Affects::Location {
                apply_coloc_to_weights(ws, dependent, primary, c);
            }
        }
        Variant::Group => {
            if ws.rsc(primary).has(rflag::PROVISIONAL) {
                return;
            }
            let children = ws.rsc(primary).children.clone();
            if ws.rsc(primary).group_colocated {
                let member = if c.score >= INF {
                    children.last()
                } else {
                    children.first()
                };
                if let Some(&m) = member {
                    apply_coloc_score(ws, dependent, m, c);
                }
                return;
            }
            if c.score >= INF {
                ws.warnings.push(format!(
                    "{}: cannot perform mandatory colocation with non-colocated group {}",
                    ws.rsc(dependent).id,
                    ws.rsc(primary).id
                ));
                return;
            }
            for m in children {
                apply_coloc_score(ws, dependent, m, c);
            }
        }
    }
}

#[derive(PartialEq, Eq)]
pub enum Affects {
    Nothing,
    Location,
}

/// `pcmk__colocation_affects`.
pub fn colocation_affects(
    ws: &Ws,
    dependent: RscIdx,
    primary: RscIdx,
    c: &Colocation,
    preview: bool,
) -> Affects {
    let (d, p) = (ws.rsc(dependent), ws.rsc(primary));
    if !preview && p.has(rflag::PROVISIONAL) {
        return Affects::Nothing;
    }
    if !preview && !d.has(rflag::PROVISIONAL) {
        return Affects::Nothing;
    }
    if c.score > 0 && c.dependent_role != Role::Unknown && c.dependent_role != d.next_role {
        return Affects::Nothing;
    }
    if c.score > 0 && c.primary_role != Role::Unknown && c.primary_role != p.next_role {
        return Affects::Nothing;
    }
    if c.score < 0 && c.dependent_role != Role::Unknown && c.dependent_role == d.next_role {
        return Affects::Nothing;
    }
    if c.score < 0 && c.primary_role != Role::Unknown && c.primary_role == p.next_role {
        return Affects::Nothing;
    }
    Affects::Location
}

fn node_attr<'w>(ws: &'w Ws, n: NodeIdx, attr: &str) -> Option<&'w str> {
    ws.node(n).attrs.get(attr).map(String::as_str)
}

fn apply_coloc_to_weights(ws: &mut Ws, dependent: RscIdx, primary: RscIdx, c: &Colocation) {
    let attribute = c.node_attribute.as_deref().unwrap_or("#id");
    let primary_node = ws.rsc(primary).allocated_to;
    let value = match primary_node {
        Some(pn) => node_attr(ws, pn, attribute).map(str::to_string),
        None if c.score < 0 => return,
        None => None,
    };
    let mut work = ws.rsc(dependent).allowed.clone();
    for (i, slot) in work.iter_mut().enumerate() {
        let Some(a) = slot else { continue };
        let n = NodeIdx(i as u32);
        if primary_node.is_none() {
            a.weight = add_scores(-c.score, a.weight);
        } else if node_attr(ws, n, attribute).map(str::to_ascii_lowercase)
            == value.as_deref().map(str::to_ascii_lowercase)
        {
            if c.score < INF {
                a.weight = add_scores(c.score, a.weight);
            }
        } else if c.score >= INF {
            a.weight = add_scores(-c.score, a.weight);
        }
    }
    if c.score <= -INF || c.score >= INF || any_node_available(ws, &work) {
        ws.rsc_mut(dependent).allowed = work;
    }
}

fn has_influence(ws: &Ws, c: &Colocation, r: Option<RscIdx>) -> bool {
    let r = r.unwrap_or(c.primary);
    c.influence || ws.rsc(r).running_on.is_empty()
}

fn apply_with_this(ws: &mut Ws, r: RscIdx, ci: ColocIdx) {
    let c = ws.coloc(ci).clone();
    if !has_influence(ws, &c, None) {
        return;
    }
    let factor = c.score as f32 / INF as f32;
    // A copy is merged; the resource's own table stays in place meanwhile.
    let mut table = Some(ws.rsc(r).allowed.clone());
    add_colocated_node_scores(
        ws,
        c.dependent,
        &mut table,
        c.node_attribute.as_deref(),
        factor,
        SELECT_ACTIVE,
    );
    ws.rsc_mut(r).allowed = table.expect("kept");
}

pub const SELECT_THIS_WITH: u32 = 1;
pub const SELECT_NONNEGATIVE: u32 = 2;
pub const SELECT_ACTIVE: u32 = 4;

fn add_node_scores_matching_attr(
    ws: &Ws,
    nodes: &mut NodeTable,
    r: RscIdx,
    attr: Option<&str>,
    factor: f32,
    only_positive: bool,
) {
    let attr = attr.unwrap_or("#uname");
    // Pacemaker's best_node_score_matching_attr for every node at once: the best score
    // of `r` on an available node, per value of the attribute (compared
    // without regard to ASCII case).
    let key = |n: usize| node_attr(ws, NodeIdx(n as u32), attr).map(str::to_ascii_lowercase);
    let mut best: BTreeMap<Option<String>, i32> = BTreeMap::new();
    for (i, a) in ws.rsc(r).allowed.iter().enumerate() {
        let Some(a) = a else { continue };
        if a.weight > -INF && ws.node_available(NodeIdx(i as u32), None) {
            let b = best.entry(key(i)).or_insert(-INF);
            if a.weight > *b {
                *b = a.weight;
            }
        }
    }
    for (i, slot) in nodes.iter_mut().enumerate() {
        let Some(a) = slot else { continue };
        let score = best.get(&key(i)).copied().unwrap_or(-INF);
        if factor < 0.0 && score < 0 {
            continue;
        }
        if a.weight == INFINITY_HACK {
            continue;
        }
        let weight_f = factor * score as f32;
        let mut weight = if weight_f < 0.0 {
            (weight_f - 0.5) as i32
        } else {
            (weight_f + 0.5) as i32
        };
        if weight == 0 && score != 0 {
            if factor > 0.0 {
                weight = 1;
            } else if factor < 0.0 {
                weight = -1;
            }
        }
        let new_score = add_scores(weight, a.weight);
        if only_positive && new_score < 0 && a.weight > 0 {
            a.weight = INFINITY_HACK;
            continue;
        }
        if only_positive && new_score < 0 && a.weight == 0 {
            continue;
        }
        a.weight = new_score;
    }
}

/// `pcmk__add_colocated_node_scores`: merges the scores of `r` and the
/// resources colocated with it into `nodes`, scaled by `factor`.
pub fn add_colocated_node_scores(
    ws: &mut Ws,
    r: RscIdx,
    nodes: &mut Option<NodeTable>,
    attr: Option<&str>,
    factor: f32,
    flags: u32,
) {
    if ws.rsc(r).has(rflag::MERGING) {
        return;
    }
    ws.rsc_mut(r).set(rflag::MERGING);
    let work: Option<NodeTable> = if ws.rsc(r).variant == Variant::Group {
        let children = ws.rsc(r).children.clone();
        if children.is_empty() {
            None
        } else {
            let member = if nodes.is_none() {
                *children.last().expect("non-empty")
            } else {
                children[0]
            };
            let mut w = nodes.clone();
            add_colocated_node_scores(ws, member, &mut w, attr, factor, flags);
            w
        }
    } else {
        match nodes {
            None => Some(ws.rsc(r).allowed.clone()),
            Some(t) => {
                let mut w = t.clone();
                add_node_scores_matching_attr(
                    ws,
                    &mut w,
                    r,
                    attr,
                    factor,
                    flags & SELECT_NONNEGATIVE != 0,
                );
                Some(w)
            }
        }
    };
    let Some(mut work) = work else {
        ws.rsc_mut(r).clear(rflag::MERGING);
        return;
    };
    if any_node_available(ws, &work) {
        let multiplier: f32 = if factor < 0.0 { -1.0 } else { 1.0 };
        let list = if flags & SELECT_THIS_WITH != 0 {
            ws.rsc(r).this_with.clone()
        } else if ws.rsc(r).variant == Variant::Group {
            match ws.rsc(r).children.last() {
                Some(&last) => ws.rsc(last).with_this.clone(),
                None => Vec::new(),
            }
        } else {
            ws.rsc(r).with_this.clone()
        };
        for ci in list {
            let c = ws.coloc(ci).clone();
            let other = if flags & SELECT_THIS_WITH != 0 {
                c.primary
            } else if !has_influence(ws, &c, None) {
                continue;
            } else {
                c.dependent
            };
            let f = multiplier * c.score as f32 / INF as f32;
            let mut w = Some(work);
            add_colocated_node_scores(
                ws,
                other,
                &mut w,
                c.node_attribute.as_deref(),
                f,
                flags | SELECT_ACTIVE,
            );
            work = w.expect("kept");
        }
    } else if flags & SELECT_ACTIVE != 0 {
        ws.rsc_mut(r).clear(rflag::MERGING);
        return;
    }
    if flags & SELECT_NONNEGATIVE != 0 {
        for a in work.iter_mut().flatten() {
            if a.weight == INFINITY_HACK {
                a.weight = 1;
            }
        }
    }
    *nodes = Some(work);
    ws.rsc_mut(r).clear(rflag::MERGING);
}
