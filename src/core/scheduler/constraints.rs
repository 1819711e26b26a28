//! Constraints: reading `rsc_location`, `rsc_colocation` and `rsc_order`
//! (with resource sets, rules, roles and the deprecated forms Pacemaker still
//! honours) into the scheduler's colocations, locations and orderings, plus
//! the implicit constraints of primitives and groups.
//!
//! Invariant: pure; constraints are unpacked in document order and kept in
//! the orders Pacemaker keeps them (which decide ties).

use super::model::*;
use super::rules::{eval_rule, NextChange, RuleCtx};
use super::util::{parse_bool, Role};
use crate::core::cib::model::{
    Colocation as XColoc, ConstraintItem, Location as XLoc, Order as XOrder, ResourceSet, Rule,
};

pub fn unpack_constraints(ws: &mut Ws) {
    let cib = ws.cib;
    for c in &cib.configuration.constraints {
        match c {
            ConstraintItem::Order(o) => unpack_order(ws, o),
            ConstraintItem::Colocation(c) => unpack_colocation(ws, c),
            ConstraintItem::Location(l) => unpack_location(ws, l),
            ConstraintItem::Other(e) => {
                if e.name == "rsc_ticket" {
                    ws.warnings.push(format!(
                        "rsc_ticket '{}' is not applied: tickets are not supported",
                        e.id().unwrap_or("")
                    ));
                }
            }
            ConstraintItem::Comment(_) => {}
        }
    }
}

fn find_constraint_rsc(ws: &Ws, id: &str) -> Option<RscIdx> {
    ws.find_rsc(id).filter(|r| !ws.rsc(*r).has(rflag::ORPHAN))
}

// ------------------------------------------------------------ colocation

fn cmp_rsc_priority(ws: &Ws, a: RscIdx, b: RscIdx) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let (ra, rb) = (ws.rsc(a), ws.rsc(b));
    match rb.priority.cmp(&ra.priority) {
        Equal => {}
        o => return o,
    }
    let v = |r: &Resource| match r.variant {
        Variant::Primitive => 0,
        Variant::Group => 1,
    };
    match v(rb).cmp(&v(ra)) {
        Equal => {}
        o => return o,
    }
    ra.id.as_bytes().cmp(rb.id.as_bytes())
}

/// `g_list_insert_sorted`: before the first element not less than `new`.
fn insert_sorted(
    ws: &Ws,
    list: &[ColocIdx],
    new: ColocIdx,
    key: impl Fn(&Colocation) -> RscIdx,
) -> Vec<ColocIdx> {
    let nk = key(ws.coloc(new));
    let pos = list
        .iter()
        .position(|c| cmp_rsc_priority(ws, nk, key(ws.coloc(*c))) != std::cmp::Ordering::Greater)
        .unwrap_or(list.len());
    let mut v = list.to_vec();
    v.insert(pos, new);
    v
}

pub fn add_this_with(ws: &mut Ws, r: RscIdx, c: ColocIdx) {
    let list = insert_sorted(ws, &ws.rsc(r).this_with.clone(), c, |x| x.primary);
    ws.rsc_mut(r).this_with = list;
}

pub fn add_with_this(ws: &mut Ws, r: RscIdx, c: ColocIdx) {
    let list = insert_sorted(ws, &ws.rsc(r).with_this.clone(), c, |x| x.dependent);
    ws.rsc_mut(r).with_this = list;
}

fn anti_colocation_order(
    ws: &mut Ws,
    first: RscIdx,
    first_role: Role,
    then: RscIdx,
    then_role: Role,
) {
    let mut first_tasks = vec![];
    let mut then_tasks = vec![];
    if first_role == Role::Promoted {
        first_tasks.push("demote");
    } else {
        first_tasks.push("stop");
        if first_role == Role::Unpromoted {
            first_tasks.push("promote");
        }
    }
    if then_role == Role::Promoted {
        then_tasks.push("promote");
    } else {
        then_tasks.push("start");
        if then_role == Role::Unpromoted {
            then_tasks.push("demote");
        }
    }
    for f in &first_tasks {
        for t in &then_tasks {
            ws.order_rsc_actions(first, f, then, t, oflag::ANTI_COLOCATION);
        }
    }
}

fn role_of(s: Option<&str>) -> Role {
    match s {
        None => Role::Unknown,
        Some(r) if r.eq_ignore_ascii_case("started") => Role::Unknown,
        Some(r) => Role::parse(r),
    }
}

/// `pcmk__new_colocation`.
#[allow(clippy::too_many_arguments)]
pub fn new_colocation(
    ws: &mut Ws,
    id: &str,
    node_attr: Option<&str>,
    score: i32,
    dependent: RscIdx,
    primary: RscIdx,
    dependent_role: Option<&str>,
    primary_role: Option<&str>,
    influence: bool,
) {
    if score == 0 {
        return;
    }
    let c = Colocation {
        id: id.to_string(),
        dependent,
        primary,
        score,
        dependent_role: role_of(dependent_role),
        primary_role: role_of(primary_role),
        node_attribute: node_attr.map(str::to_string),
        influence,
    };
    let (dr, pr) = (c.dependent_role, c.primary_role);
    ws.colocations.push(c);
    let ci = ColocIdx(ws.colocations.len() as u32 - 1);
    add_this_with(ws, dependent, ci);
    add_with_this(ws, primary, ci);
    if score <= -INF {
        anti_colocation_order(ws, dependent, dr, primary, pr);
        anti_colocation_order(ws, primary, pr, dependent, dr);
    }
}

fn influence_of(ws: &Ws, r: RscIdx, influence: Option<&str>) -> bool {
    if let Some(b) = influence.and_then(parse_bool) {
        return b;
    }
    ws.rsc(r).has(rflag::CRITICAL)
}

fn set_rscs(ws: &mut Ws, set: &ResourceSet, ctx: &str) -> Option<Vec<RscIdx>> {
    let mut out = Vec::new();
    for id in &set.resources {
        match find_constraint_rsc(ws, id) {
            Some(r) => out.push(r),
            None => {
                ws.warnings
                    .push(format!("{ctx}: no resource found for {id}"));
                return None;
            }
        }
    }
    Some(out)
}

fn is_sequential(set: &ResourceSet) -> Option<bool> {
    set.sequential.as_deref().and_then(parse_bool)
}

fn unpack_colocation_set(ws: &mut Ws, set: &ResourceSet, score: i32, influence: Option<&str>) {
    let local = set
        .score
        .as_deref()
        .map(|s| char2score(Some(s)))
        .unwrap_or(score);
    if local == 0 {
        return;
    }
    let ordering = set.ordering.as_deref().unwrap_or("group");
    let Some(rscs) = set_rscs(ws, set, &set.id) else {
        return;
    };
    let role = set.role.as_deref();
    if is_sequential(set) == Some(false) {
        return;
    }
    if local > 0 && ordering.eq_ignore_ascii_case("group") {
        let mut with: Option<RscIdx> = None;
        for r in rscs {
            if let Some(w) = with {
                let inf = influence_of(ws, r, influence);
                new_colocation(ws, &set.id, None, local, r, w, role, role, inf);
            }
            with = Some(r);
        }
    } else if local > 0 {
        let mut last: Option<RscIdx> = None;
        for r in rscs {
            if let Some(l) = last {
                let inf = influence_of(ws, l, influence);
                new_colocation(ws, &set.id, None, local, l, r, role, role, inf);
            }
            last = Some(r);
        }
    } else {
        for (i, &r) in rscs.iter().enumerate() {
            let inf = influence_of(ws, r, influence);
            for &w in &rscs[..i] {
                if ws.rsc(r).id == ws.rsc(w).id {
                    break;
                }
                new_colocation(ws, &set.id, None, local, r, w, role, role, inf);
            }
        }
    }
}

fn colocate_rsc_sets(
    ws: &mut Ws,
    id: &str,
    set1: &ResourceSet,
    set2: &ResourceSet,
    score: i32,
    influence: Option<&str>,
) {
    if score == 0 {
        return;
    }
    let (r1, r2) = (set1.role.as_deref(), set2.role.as_deref());
    let Some(l1) = set_rscs(ws, set1, id) else {
        return;
    };
    let Some(l2) = set_rscs(ws, set2, id) else {
        return;
    };
    let rsc_1 = if is_sequential(set1) != Some(false) {
        l1.first().copied()
    } else {
        None
    };
    let rsc_2 = if is_sequential(set2) != Some(false) {
        l2.last().copied()
    } else {
        None
    };
    match (rsc_1, rsc_2) {
        (Some(a), Some(b)) => {
            let inf = influence_of(ws, a, influence);
            new_colocation(ws, id, None, score, a, b, r1, r2, inf);
        }
        (Some(a), None) => {
            let inf = influence_of(ws, a, influence);
            for &b in &l2 {
                new_colocation(ws, id, None, score, a, b, r1, r2, inf);
            }
        }
        (None, Some(b)) => {
            for &a in &l1 {
                let inf = influence_of(ws, a, influence);
                new_colocation(ws, id, None, score, a, b, r1, r2, inf);
            }
        }
        (None, None) => {
            for &a in &l1 {
                let inf = influence_of(ws, a, influence);
                for &b in &l2 {
                    new_colocation(ws, id, None, score, a, b, r1, r2, inf);
                }
            }
        }
    }
}

fn unpack_colocation(ws: &mut Ws, c: &XColoc) {
    let score = char2score(c.score.as_deref());
    let influence = c.influence.as_deref();
    if !c.sets.is_empty() {
        let mut last: Option<&ResourceSet> = None;
        for set in &c.sets {
            unpack_colocation_set(ws, set, score, influence);
            if let Some(l) = last {
                colocate_rsc_sets(ws, &c.id, l, set, score, influence);
            }
            last = Some(set);
        }
        return;
    }
    // The simple form; the pacemaker-1.0 names from/to are still read.
    let get = |k: &str| {
        c.extra_attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let dep_id = c.rsc.clone().or_else(|| get("from"));
    let pri_id = c.with_rsc.clone().or_else(|| get("to"));
    let (Some(dep_id), Some(pri_id)) = (dep_id, pri_id) else {
        return;
    };
    let Some(dep) = find_constraint_rsc(ws, &dep_id) else {
        ws.warnings.push(format!(
            "ignoring constraint '{}' because resource '{dep_id}' does not exist",
            c.id
        ));
        return;
    };
    let Some(pri) = find_constraint_rsc(ws, &pri_id) else {
        ws.warnings.push(format!(
            "ignoring constraint '{}' because resource '{pri_id}' does not exist",
            c.id
        ));
        return;
    };
    let dep_role = c.rsc_role.clone().or_else(|| get("from_role"));
    let pri_role = c.with_rsc_role.clone().or_else(|| get("to_role"));
    let inf = influence_of(ws, dep, influence);
    new_colocation(
        ws,
        &c.id,
        c.node_attribute.as_deref(),
        score,
        dep,
        pri,
        dep_role.as_deref(),
        pri_role.as_deref(),
        inf,
    );
}

// --------------------------------------------------------------- location

fn new_location(
    ws: &mut Ws,
    id: &str,
    r: RscIdx,
    discover: Option<&str>,
    nodes: Vec<(NodeIdx, i32)>,
) -> usize {
    let d = match discover.map(str::to_ascii_lowercase).as_deref() {
        None | Some("always") => Discover::Always,
        Some("never") => Discover::Never,
        Some("exclusive") => {
            ws.rsc_mut(r).exclusive_discover = true;
            Discover::Exclusive
        }
        Some(_) => Discover::Always,
    };
    ws.locations.push(Location {
        id: id.to_string(),
        rsc: r,
        role_filter: Role::Unknown,
        discover: d,
        nodes,
    });
    ws.locations.len() - 1
}

fn location_role_filter(role: Option<&str>) -> Option<Role> {
    let role = role?;
    Some(match Role::parse(role) {
        Role::Unknown | Role::Started | Role::Unpromoted => Role::Unknown,
        r => r,
    })
}

fn unpack_location(ws: &mut Ws, l: &XLoc) {
    if !l.sets.is_empty() {
        for set in &l.sets {
            let Some(rscs) = set_rscs(ws, set, &set.id) else {
                return;
            };
            for r in rscs {
                unpack_rsc_location(ws, l, r, set.role.as_deref(), set.score.as_deref(), None);
            }
        }
        return;
    }
    if let Some(id) = &l.rsc {
        match find_constraint_rsc(ws, id) {
            Some(r) => unpack_rsc_location(ws, l, r, None, None, None),
            None => ws.warnings.push(format!(
                "ignoring constraint '{}' because resource '{id}' does not exist",
                l.id
            )),
        }
    }
    if let Some(pattern) = &l.rsc_pattern {
        let (invert, pat) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern.as_str()),
        };
        let Ok(re) = regex::Regex::new(pat) else {
            ws.warnings.push(format!(
                "constraint '{}': invalid rsc-pattern '{pattern}'",
                l.id
            ));
            return;
        };
        for r in ws.top.clone() {
            let id = ws.rsc(r).id.clone();
            match re.captures(&id) {
                Some(caps) if !invert => {
                    let caps: Vec<Option<String>> = caps
                        .iter()
                        .map(|m| m.map(|m| m.as_str().to_string()))
                        .collect();
                    unpack_rsc_location(ws, l, r, None, None, Some(&caps))
                }
                None if invert => unpack_rsc_location(ws, l, r, None, None, None),
                _ => {}
            }
        }
    }
}

fn unpack_rsc_location(
    ws: &mut Ws,
    l: &XLoc,
    r: RscIdx,
    role: Option<&str>,
    score: Option<&str>,
    caps: Option<&[Option<String>]>,
) {
    let score = score.or(l.score.as_deref());
    if let (Some(node), Some(score)) = (l.node.as_deref(), score) {
        let s = char2score(Some(score));
        let Some(n) = ws.find_node(node) else { return };
        let li = new_location(ws, &l.id, r, l.resource_discovery.as_deref(), vec![(n, s)]);
        let role = role.or(l.role.as_deref());
        if let Some(f) = location_role_filter(role) {
            ws.locations[li].role_filter = f;
        }
        return;
    }
    let mut next = NextChange::default();
    for rule in &l.rules {
        generate_location_rule(
            ws,
            r,
            rule,
            l.resource_discovery.as_deref(),
            caps,
            &mut next,
        );
    }
    if let Some(t) = next.0 {
        ws.update_recheck(t);
    }
}

fn expand_caps(s: &str, caps: Option<&[Option<String>]>) -> String {
    let Some(caps) = caps else {
        return s.to_string();
    };
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '%' {
            if let Some(d) = it.peek().and_then(|d| d.to_digit(10)) {
                it.next();
                if let Some(Some(v)) = caps.get(d as usize) {
                    out.push_str(v);
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn rule_uses_params(rule: &Rule) -> bool {
    rule.items.iter().any(|i| match i {
        crate::core::cib::model::RuleItem::Expr(e) => e
            .value_source
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("param")),
        crate::core::cib::model::RuleItem::Rule(r) => rule_uses_params(r),
        _ => false,
    })
}

fn generate_location_rule(
    ws: &mut Ws,
    r: RscIdx,
    rule: &Rule,
    discover: Option<&str>,
    caps: Option<&[Option<String>]>,
    next: &mut NextChange,
) {
    if let Some(role) = &rule.role {
        if Role::parse(role) == Role::Unknown {
            return;
        }
    }
    let (score, raw) = match (&rule.score, &rule.score_attribute) {
        (Some(s), _) => (Some(s.clone()), true),
        (None, Some(a)) => (Some(expand_caps(a, caps)), false),
        (None, None) => (None, true),
    };
    let do_and = !rule
        .boolean_op
        .as_deref()
        .is_some_and(|b| b.eq_ignore_ascii_case("or"));
    let node_score = |ws: &Ws, n: NodeIdx| -> i32 {
        match &score {
            None => 0,
            Some(s) if raw => char2score(Some(s)),
            Some(attr) => match ws.node(n).attrs.get(attr) {
                None => -INF,
                Some(v) => char2score(Some(v)),
            },
        }
    };
    let order = ws.node_order.clone();
    let mut matched: Vec<(NodeIdx, i32)> = if do_and {
        order.iter().map(|&n| (n, node_score(ws, n))).collect()
    } else {
        Vec::new()
    };
    let per_node_params = rule_uses_params(rule);
    for &n in &order {
        let accept = {
            let rsc = ws.rsc(r);
            // Parameters are evaluated for the node (their rules may look at it).
            let node_params =
                per_node_params.then(|| super::unpack::resource_params_on(ws, r, Some(n)));
            let ctx = RuleCtx {
                node_attrs: Some(&ws.node(n).attrs),
                now: ws.now,
                params: Some(node_params.as_ref().unwrap_or(&rsc.params)),
                meta: Some(&rsc.meta),
                captures: caps,
                ..Default::default()
            };
            eval_rule(rule, &ctx, next)
        };
        let s = node_score(ws, n);
        if accept {
            let pos = matched.iter().position(|(m, _)| *m == n);
            match (pos, do_and) {
                (None, true) => continue,
                (None, false) => {
                    let w = ws.node(n).weight;
                    matched.push((n, add_scores(w, s)));
                }
                (Some(i), false) => matched[i].1 = add_scores(matched[i].1, s),
                (Some(_), true) => {}
            }
        } else if do_and {
            matched.retain(|(m, _)| *m != n);
        }
    }
    if matched.is_empty() {
        return;
    }
    let li = new_location(ws, &rule.id, r, discover, matched);
    if let Some(role) = &rule.role {
        let f = Role::parse(role);
        ws.locations[li].role_filter = if f == Role::Unpromoted {
            Role::Unknown
        } else {
            f
        };
    }
}

/// `pcmk__apply_location` for one resource (groups: see `apply_locations`).
fn apply_location_to(ws: &mut Ws, r: RscIdx, li: usize, reset: bool) {
    let loc = ws.locations[li].clone();
    if loc.role_filter > Role::Unknown && loc.role_filter != ws.rsc(r).next_role {
        return;
    }
    for (n, w) in loc.nodes {
        let w = if reset { 0 } else { w };
        let node_weight = w;
        let rsc = ws.rsc_mut(r);
        let slot = &mut rsc.allowed[n.0 as usize];
        let entry = match slot {
            Some(a) => {
                a.weight = add_scores(a.weight, node_weight);
                a
            }
            None => {
                *slot = Some(Allowed {
                    weight: node_weight,
                    discover: Discover::Always,
                });
                slot.as_mut().expect("just set")
            }
        };
        if entry.discover < loc.discover {
            if loc.discover == Discover::Exclusive {
                rsc.exclusive_discover = true;
            }
            let slot = rsc.allowed[n.0 as usize].as_mut().expect("present");
            slot.discover = loc.discover;
        }
    }
}

/// `pcmk__apply_locations`: newest constraint first, as Pacemaker keeps them.
pub fn apply_locations(ws: &mut Ws) {
    for li in (0..ws.locations.len()).rev() {
        let r = ws.locations[li].rsc;
        if ws.rsc(r).variant == Variant::Group {
            // The group and its first member get the scores; later members
            // only learn which nodes are allowed (scores reset to 0) when
            // the group is colocated.
            let colocated = ws.rsc(r).group_colocated;
            apply_location_to(ws, r, li, false);
            let mut reset = false;
            for c in ws.rsc(r).children.clone() {
                apply_location_to(ws, c, li, reset);
                if colocated {
                    reset = true;
                }
            }
        } else {
            apply_location_to(ws, r, li, false);
        }
    }
}

// --------------------------------------------------------------- ordering

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Optional,
    Mandatory,
    Serialize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Symmetry {
    Asymmetric,
    Symmetric,
    SymmetricInverse,
}

fn ordering_kind(kind: Option<&str>, score: Option<&str>) -> Kind {
    match kind {
        None => match score {
            Some(s) if char2score(Some(s)) == 0 => Kind::Optional,
            _ => Kind::Mandatory,
        },
        Some(k) if k.eq_ignore_ascii_case("Mandatory") => Kind::Mandatory,
        Some(k) if k.eq_ignore_ascii_case("Optional") => Kind::Optional,
        Some(k) if k.eq_ignore_ascii_case("Serialize") => Kind::Serialize,
        Some(_) => Kind::Mandatory,
    }
}

fn ordering_symmetry(
    kind_attr: Option<&str>,
    score: Option<&str>,
    symmetrical: Option<&str>,
    parent_kind: Kind,
    parent_sym: Option<&str>,
) -> Symmetry {
    let kind = if kind_attr.is_some() || score.is_some() {
        ordering_kind(kind_attr, score)
    } else {
        parent_kind
    };
    let mut sym = symmetrical.and_then(parse_bool);
    if sym.is_none() {
        if let Some(p) = parent_sym {
            sym = Some(super::util::is_true(p));
        }
    }
    match sym {
        Some(true) if kind != Kind::Serialize => Symmetry::Symmetric,
        Some(_) => Symmetry::Asymmetric,
        None if kind == Kind::Serialize => Symmetry::Asymmetric,
        None => Symmetry::Symmetric,
    }
}

fn flags_for_kind(kind: Kind, first: &str, sym: Symmetry) -> u32 {
    let mut f = oflag::OPTIONAL;
    match kind {
        Kind::Optional => {}
        Kind::Serialize => f |= oflag::SERIALIZE_ONLY,
        Kind::Mandatory => match sym {
            Symmetry::Asymmetric => f |= oflag::ASYMMETRICAL,
            Symmetry::Symmetric => {
                f |= oflag::IMPLIES_THEN;
                if first.eq_ignore_ascii_case("start") || first.eq_ignore_ascii_case("promote") {
                    f |= oflag::RUNNABLE_LEFT;
                }
            }
            Symmetry::SymmetricInverse => f |= oflag::IMPLIES_FIRST,
        },
    }
    f
}

fn invert_action(a: &str) -> Option<&'static str> {
    Some(match a.to_ascii_lowercase().as_str() {
        "start" => "stop",
        "stop" => "start",
        "promote" => "demote",
        "demote" => "promote",
        "promoted" => "demoted",
        "demoted" => "promoted",
        "running" => "stopped",
        "stopped" => "running",
        _ => return None,
    })
}

fn unpack_order(ws: &mut Ws, o: &XOrder) {
    let kind = ordering_kind(o.kind.as_deref(), o.score.as_deref());
    let sym = ordering_symmetry(
        o.kind.as_deref(),
        o.score.as_deref(),
        o.symmetrical.as_deref(),
        kind,
        None,
    );
    if !o.sets.is_empty() {
        let mut last: Option<&ResourceSet> = None;
        for set in &o.sets {
            if !unpack_order_set(ws, set, kind, o.symmetrical.as_deref()) {
                return;
            }
            if let Some(l) = last {
                if !order_rsc_sets(ws, &o.id, l, set, kind, sym) {
                    return;
                }
                if sym == Symmetry::Symmetric
                    && !order_rsc_sets(ws, &o.id, set, l, kind, Symmetry::SymmetricInverse)
                {
                    return;
                }
            }
            last = Some(set);
        }
        return;
    }
    let (Some(first_id), Some(then_id)) = (o.first.as_deref(), o.then.as_deref()) else {
        return;
    };
    let Some(first) = find_constraint_rsc(ws, first_id) else {
        ws.warnings.push(format!(
            "ignoring constraint '{}' because resource '{first_id}' does not exist",
            o.id
        ));
        return;
    };
    let Some(then) = find_constraint_rsc(ws, then_id) else {
        ws.warnings.push(format!(
            "ignoring constraint '{}' because resource '{then_id}' does not exist",
            o.id
        ));
        return;
    };
    let action_first = o.first_action.clone().unwrap_or_else(|| "start".into());
    let action_then = o
        .then_action
        .clone()
        .unwrap_or_else(|| action_first.clone());
    let restart = kind == Kind::Optional && ws.rsc(then).restart_type_restart;
    let mut flags = flags_for_kind(kind, &action_first, sym);
    if restart {
        flags |= oflag::IMPLIES_THEN;
    }
    ws.order_rsc_actions(first, &action_first, then, &action_then, flags);
    if sym == Symmetry::Symmetric {
        match (invert_action(&action_then), invert_action(&action_first)) {
            (Some(at), Some(af)) => {
                let mut flags = flags_for_kind(kind, af, Symmetry::SymmetricInverse);
                if restart {
                    flags |= oflag::IMPLIES_FIRST;
                }
                ws.order_rsc_actions(then, at, first, af, flags);
            }
            _ => ws.warnings.push(format!(
                "cannot invert ordering '{}' (please specify the inverse manually)",
                o.id
            )),
        }
    }
}

fn unpack_order_set(
    ws: &mut Ws,
    set: &ResourceSet,
    parent_kind: Kind,
    parent_sym: Option<&str>,
) -> bool {
    let action = set.action.clone().unwrap_or_else(|| "start".into());
    let local_kind = if set.kind.is_some() {
        ordering_kind(set.kind.as_deref(), None)
    } else {
        parent_kind
    };
    let sequential = set
        .sequential
        .as_deref()
        .map(super::util::is_true)
        .unwrap_or(true);
    let sym = ordering_symmetry(
        set.kind.as_deref(),
        set.score.as_deref(),
        None,
        parent_kind,
        parent_sym,
    );
    let flags = flags_for_kind(local_kind, &action, sym);
    let Some(rscs) = set_rscs(ws, set, &set.id) else {
        return false;
    };
    if rscs.len() == 1 {
        return true;
    }
    let mut last: Option<RscIdx> = None;
    for (i, &r) in rscs.iter().enumerate() {
        if local_kind == Kind::Serialize {
            for &then in &rscs[i + 1..] {
                let fk = super::util::op_key(&ws.rsc(r).id, &action, 0);
                let tk = super::util::op_key(&ws.rsc(then).id, &action, 0);
                ws.new_ordering(Some(r), Some(fk), None, Some(then), Some(tk), None, flags);
            }
        } else if sequential {
            if let Some(l) = last {
                ws.order_rsc_actions(l, &action, r, &action, flags);
            }
            last = Some(r);
        }
    }
    if sym == Symmetry::Asymmetric {
        return true;
    }
    let Some(inv) = invert_action(&action) else {
        return true;
    };
    let flags = flags_for_kind(local_kind, inv, Symmetry::SymmetricInverse);
    let mut last: Option<RscIdx> = None;
    for &r in &rscs {
        if sequential {
            if let Some(l) = last {
                ws.order_rsc_actions(r, inv, l, inv, flags);
            }
            last = Some(r);
        }
    }
    true
}

fn order_rsc_sets(
    ws: &mut Ws,
    id: &str,
    set1: &ResourceSet,
    set2: &ResourceSet,
    kind: Kind,
    sym: Symmetry,
) -> bool {
    let mut a1 = set1.action.clone().unwrap_or_else(|| "start".into());
    let mut a2 = set2.action.clone().unwrap_or_else(|| "start".into());
    let mut require_all = set1
        .require_all
        .as_deref()
        .and_then(parse_bool)
        .unwrap_or(true);
    if sym == Symmetry::SymmetricInverse {
        a1 = invert_action(&a1).unwrap_or("start").to_string();
        a2 = invert_action(&a2).unwrap_or("start").to_string();
    }
    if a1.eq_ignore_ascii_case("stop") || a1.eq_ignore_ascii_case("demote") {
        require_all = true;
    }
    let flags = flags_for_kind(kind, &a2, sym);
    let Some(l1) = set_rscs(ws, set1, id) else {
        return false;
    };
    let Some(l2) = set_rscs(ws, set2, id) else {
        return false;
    };
    if !require_all {
        let task = format!("one-or-more:{}", set1.id);
        let unordered = ws.pseudo_op(&task);
        ws.act_mut(unordered).flags |= aflag::REQUIRES_ANY;
        for &r in &l1 {
            let k = super::util::op_key(&ws.rsc(r).id, &a1, 0);
            ws.new_ordering(
                Some(r),
                Some(k),
                None,
                None,
                None,
                Some(unordered),
                oflag::ONE_OR_MORE | oflag::IMPLIES_THEN_PRINTED,
            );
        }
        for &r in &l2 {
            let k = super::util::op_key(&ws.rsc(r).id, &a2, 0);
            ws.new_ordering(
                None,
                None,
                Some(unordered),
                Some(r),
                Some(k),
                None,
                flags | oflag::RUNNABLE_LEFT,
            );
        }
        return true;
    }
    let seq = |s: &ResourceSet| s.sequential.as_deref().is_some_and(super::util::is_true);
    let rsc_1 = if seq(set1) {
        if sym == Symmetry::SymmetricInverse {
            l1.first().copied()
        } else {
            l1.last().copied()
        }
    } else {
        None
    };
    let rsc_2 = if seq(set2) {
        if sym == Symmetry::SymmetricInverse {
            l2.last().copied()
        } else {
            l2.first().copied()
        }
    } else {
        None
    };
    match (rsc_1, rsc_2) {
        (Some(a), Some(b)) => ws.order_rsc_actions(a, &a1, b, &a2, flags),
        (Some(a), None) => {
            for &b in &l2 {
                ws.order_rsc_actions(a, &a1, b, &a2, flags);
            }
        }
        (None, Some(b)) => {
            for &a in &l1 {
                ws.order_rsc_actions(a, &a1, b, &a2, flags);
            }
        }
        (None, None) => {
            for &a in &l1 {
                for &b in &l2 {
                    ws.order_rsc_actions(a, &a1, b, &a2, flags);
                }
            }
        }
    }
    true
}

// ---------------------------------------------------- implicit constraints

/// `pcmk__create_internal_constraints`.
pub fn internal_constraints(ws: &mut Ws) {
    for r in ws.top.clone() {
        match ws.rsc(r).variant {
            Variant::Primitive => primitive_internal(ws, r),
            Variant::Group => group_internal(ws, r),
        }
    }
}

fn primitive_internal(ws: &mut Ws, r: RscIdx) {
    if !ws.rsc(r).has(rflag::MANAGED) {
        return;
    }
    ws.order_rsc_actions(
        r,
        "stop",
        r,
        "start",
        oflag::OPTIONAL | oflag::IMPLIES_THEN | oflag::RESTART,
    );
    if ws.rsc(r).role > Role::Unpromoted {
        ws.order_rsc_actions(r, "demote", r, "stop", oflag::PROMOTED_IMPLIES_FIRST);
        ws.order_rsc_actions(r, "start", r, "promote", oflag::RUNNABLE_LEFT);
    }
    ws.order_rsc_actions(
        r,
        "lrm_delete",
        r,
        "monitor",
        oflag::SAME_NODE | oflag::THEN_CANCELS_FIRST,
    );
    if ws.rsc(r).has(rflag::FENCE_DEVICE) {
        // Fence devices avoid remote nodes; there are none here.
    }
}

fn group_internal(ws: &mut Ws, g: RscIdx) {
    ws.order_rsc_actions(g, "stop", g, "stopped", oflag::RUNNABLE_LEFT);
    ws.order_rsc_actions(g, "stopped", g, "start", oflag::OPTIONAL);
    ws.order_rsc_actions(g, "start", g, "running", oflag::RUNNABLE_LEFT);
    let ordered = ws.rsc(g).group_ordered;
    let colocated = ws.rsc(g).group_colocated;
    let mut previous: Option<RscIdx> = None;
    let mut last_active: Option<RscIdx> = None;
    for m in ws.rsc(g).children.clone() {
        let mut down_flags = oflag::IMPLIES_FIRST_PRINTED;
        let mut post_down_flags = oflag::IMPLIES_THEN_PRINTED;
        primitive_internal(ws, m);
        match previous {
            None => {
                if ordered {
                    down_flags |= oflag::OPTIONAL;
                    post_down_flags = oflag::IMPLIES_THEN;
                }
            }
            Some(p) => {
                if colocated {
                    let inf = ws.rsc(m).has(rflag::CRITICAL);
                    new_colocation(
                        ws,
                        "group:internal_colocation",
                        None,
                        INF,
                        m,
                        p,
                        None,
                        None,
                        inf,
                    );
                }
            }
        }
        ws.order_rsc_actions(g, "stop", m, "stop", down_flags);
        ws.order_rsc_actions(m, "stop", g, "stopped", post_down_flags);
        ws.order_rsc_actions(g, "start", m, "start", oflag::IMPLIES_FIRST_PRINTED);
        ws.order_rsc_actions(
            m,
            "start",
            g,
            "running",
            oflag::RUNNABLE_LEFT | oflag::IMPLIES_THEN | oflag::IMPLIES_THEN_PRINTED,
        );
        if !ordered {
            ws.order_rsc_actions(
                g,
                "start",
                m,
                "start",
                oflag::IMPLIES_THEN | oflag::RUNNABLE_LEFT | oflag::IMPLIES_FIRST_PRINTED,
            );
        } else if previous.is_none() {
            ws.order_rsc_actions(g, "start", m, "start", oflag::NONE);
        } else if let Some(p) = previous {
            ws.order_rsc_actions(
                p,
                "start",
                m,
                "start",
                oflag::IMPLIES_THEN | oflag::RUNNABLE_LEFT,
            );
            ws.order_rsc_actions(m, "stop", p, "stop", oflag::OPTIONAL | oflag::RESTART);
        }
        if !ws.rsc(m).running_on.is_empty() {
            if ordered {
                if let (Some(p), Some(la)) = (previous, last_active) {
                    if ws.rsc(p).running_on.is_empty() && !ws.rsc(la).running_on.is_empty() {
                        ws.order_rsc_actions(m, "stop", la, "stop", oflag::OPTIONAL);
                    }
                }
            }
            last_active = Some(m);
        }
        previous = Some(m);
    }
}
