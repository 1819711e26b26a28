//! Phase 1 — unpack: the cluster as it is now. Cluster options, nodes and
//! their state (online, standby, maintenance, unclean, shutdown), resources
//! with their configuration, and each resource's role on each node read from
//! its operation history exactly as Pacemaker reads it (last operation by
//! call id, probes, pending operations, failures and their `on-fail`,
//! fail counts and `failure-timeout` expiry, migrations).
//!
//! Functions keep Pacemaker's names and arguments so the two can be read
//! side by side (hence the long argument lists).
//!
//! Invariant: reads the CIB and `now` only. Decisions that Pacemaker makes
//! while unpacking (a node that must be fenced, a failed resource that must
//! stop) are recorded the same way it records them, as actions and flags.

// Functions keep the arguments of their Pacemaker counterparts.
#![allow(clippy::too_many_arguments)]

use super::model::*;
use super::rules::{unpack_sets, NextChange, RuleCtx};
use super::util::{
    compare_version, decode_magic, is_true, numeric_strcasecmp, op_key, parse_bool,
    parse_interval_ms, target_rc_from_key, Role,
};
use crate::core::action::{rc, ExecStatus};
use crate::core::cib::model::{
    Cib, Group, LrmResource, LrmRscOp, NodeState, NvSet, Primitive, ResourceItem, SetKind,
};
use crate::core::cib::xml::Element;
use std::collections::BTreeSet;

const CIB_OPTIONS_FIRST: &str = "cib-bootstrap-options";

/// Builds the working set for `cib` at `now` (seconds since the epoch).
pub fn unpack(cib: &Cib, now: i64) -> Ws<'_> {
    unpack_sanitized(cib, now, false)
}

/// `unpack`, for a CIB whose private parameters may be masked.
pub fn unpack_sanitized(cib: &Cib, now: i64, sanitized: bool) -> Ws<'_> {
    let mut config = unpack_config(cib, now);
    config.sanitized = sanitized;
    let mut ws = Ws {
        cib,
        now,
        config,
        nodes: Vec::new(),
        rscs: Vec::new(),
        rsc_index: Default::default(),
        top: Vec::new(),
        colocations: Vec::new(),
        locations: Vec::new(),
        orderings: Vec::new(),
        actions: Vec::new(),
        links: Vec::new(),
        singletons: Default::default(),
        recheck_by: None,
        failed_ops: Vec::new(),
        warnings: Vec::new(),
        node_order: Vec::new(),
        unsupported_ids: BTreeSet::new(),
        score_trace: None,
        notices: Vec::new(),
        restart_digest_overrides: BTreeSet::new(),
    };
    unpack_nodes(&mut ws);
    unpack_resources(&mut ws);
    unpack_status(&mut ws);
    ws
}

fn prop_bool(props: &Attrs, name: &str, default: bool) -> bool {
    props
        .get(name)
        .and_then(|v| parse_bool(v))
        .unwrap_or(default)
}

/// Reads a property under its current or newer (`fencing-*`) name.
fn prop<'p>(props: &'p Attrs, names: &[&str]) -> Option<&'p str> {
    names.iter().find_map(|n| props.get(*n)).map(String::as_str)
}

fn unpack_config(cib: &Cib, now: i64) -> Config {
    let mut props = Attrs::new();
    let ctx = RuleCtx {
        now,
        ..Default::default()
    };
    let mut next = NextChange::default();
    unpack_sets(
        cib.configuration.crm_config.iter(),
        &ctx,
        &mut props,
        Some(CIB_OPTIONS_FIRST),
        false,
        &mut next,
    );
    let have_quorum = cib.have_quorum.as_deref().is_some_and(is_true);
    let stonith_enabled = prop(&props, &["stonith-enabled", "fencing-enabled"])
        .and_then(parse_bool)
        .unwrap_or(true);
    let mut stonith_action = prop(&props, &["stonith-action", "fencing-action"])
        .filter(|v| matches!(*v, "reboot" | "off" | "poweroff"))
        .unwrap_or("reboot")
        .to_string();
    if stonith_action == "poweroff" {
        stonith_action = "off".into();
    }
    let nqp = props
        .get("no-quorum-policy")
        .map(|s| s.to_ascii_lowercase());
    let no_quorum_policy = match nqp.as_deref() {
        Some("ignore") => QuorumPolicy::Ignore,
        Some("freeze") => QuorumPolicy::Freeze,
        Some("demote") => QuorumPolicy::Demote,
        Some("suicide") => {
            if stonith_enabled {
                let panic = cib
                    .extra_attrs
                    .iter()
                    .find(|(k, _)| k == "no-quorum-panic")
                    .and_then(|(_, v)| v.parse::<i64>().ok())
                    .unwrap_or(0);
                if panic != 0 || have_quorum {
                    QuorumPolicy::Suicide
                } else {
                    QuorumPolicy::Stop
                }
            } else {
                QuorumPolicy::Stop
            }
        }
        _ => QuorumPolicy::Stop,
    };
    let secs = |v: Option<&str>| parse_interval_ms(v) as i64 / 1000;
    Config {
        have_quorum,
        symmetric: prop_bool(&props, "symmetric-cluster", true),
        stonith_enabled,
        have_stonith_resource: props.get("have-watchdog").is_some_and(|v| is_true(v)),
        stonith_action,
        stonith_timeout_ms: parse_interval_ms(Some(
            prop(&props, &["stonith-timeout", "fencing-timeout"]).unwrap_or("60s"),
        )),
        concurrent_fencing: prop_bool(&props, "concurrent-fencing", false),
        no_quorum_policy,
        stop_orphan_resources: prop_bool(&props, "stop-orphan-resources", true),
        stop_orphan_actions: prop_bool(&props, "stop-orphan-actions", true),
        maintenance_mode: prop_bool(&props, "maintenance-mode", false),
        startup_fencing: stonith_enabled && prop_bool(&props, "startup-fencing", true),
        startup_probes: prop_bool(&props, "enable-startup-probes", true),
        stop_everything: prop_bool(&props, "stop-all-resources", false),
        remove_after_stop: prop_bool(&props, "remove-after-stop", false),
        enable_unfencing: false,
        shutdown_lock: prop_bool(&props, "shutdown-lock", false),
        shutdown_lock_limit_s: secs(props.get("shutdown-lock-limit").map(String::as_str)),
        priority_fencing_delay_s: secs(props.get("priority-fencing-delay").map(String::as_str)),
        placement_strategy: props
            .get("placement-strategy")
            .cloned()
            .unwrap_or_else(|| "default".into()),
        cluster_delay_ms: parse_interval_ms(Some(
            props
                .get("cluster-delay")
                .map(String::as_str)
                .unwrap_or("60s"),
        )),
        batch_limit: props
            .get("batch-limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        dc_uuid: cib.dc_uuid.clone(),
        feature_set: cib
            .crm_feature_set
            .clone()
            .unwrap_or_else(|| "3.0.0".into()),
        sanitized: false,
        props,
    }
}

/// Adds the built-in and configured attributes of a node.
fn add_node_attrs(ws: &mut Ws, n: NodeIdx, sets: &[NvSet], overwrite: bool) {
    let dc = ws.config.dc_uuid.clone();
    let cluster_name = ws.config.props.get("cluster-name").cloned();
    let now = ws.now;
    let node = ws.node_mut(n);
    node.attrs.insert("#uname".into(), node.uname.clone());
    node.attrs.insert("#id".into(), node.id.clone());
    if dc
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case(&node.id))
    {
        node.is_dc = true;
        node.attrs.insert("#is_dc".into(), "true".into());
    } else {
        node.attrs.insert("#is_dc".into(), "false".into());
    }
    if let Some(c) = &cluster_name {
        node.attrs.insert("#cluster-name".into(), c.clone());
    }
    let ctx = RuleCtx {
        now,
        ..Default::default()
    };
    let mut next = NextChange::default();
    unpack_sets(
        sets.iter().filter(|s| s.kind == SetKind::Instance),
        &ctx,
        &mut node.attrs,
        None,
        overwrite,
        &mut next,
    );
    if !node.attrs.contains_key("#site-name") {
        if let Some(site) = node.attrs.get("site-name").cloned() {
            node.attrs.insert("#site-name".into(), site);
        } else if let Some(c) = cluster_name {
            node.attrs.insert("#site-name".into(), c);
        }
    }
    if let Some(t) = next.0 {
        ws.update_recheck(t);
    }
}

fn new_node(
    ws: &mut Ws,
    id: &str,
    uname: &str,
    kind: Option<&str>,
    score: Option<&str>,
) -> NodeIdx {
    let kind = match kind.map(str::to_ascii_lowercase).as_deref() {
        None | Some("member") => NodeType::Member,
        Some("remote") => NodeType::Remote,
        _ => NodeType::Ping,
    };
    let mut attrs = Attrs::new();
    attrs.insert(
        "#kind".into(),
        if kind == NodeType::Remote {
            "remote"
        } else {
            "cluster"
        }
        .into(),
    );
    ws.nodes.push(Node {
        id: id.to_string(),
        uname: uname.to_string(),
        kind,
        weight: char2score(score),
        fixed: false,
        online: false,
        standby: false,
        standby_onfail: false,
        pending: false,
        unclean: false,
        unseen: false,
        shutdown: false,
        expected_up: false,
        is_dc: false,
        maintenance: false,
        attrs,
        num_resources: 0,
        count: 0,
        priority: 0,
        unpacked: false,
        fence_reason: None,
    });
    NodeIdx(ws.nodes.len() as u32 - 1)
}

fn unpack_nodes(ws: &mut Ws) {
    let cib = ws.cib;
    for nd in &cib.configuration.nodes {
        if nd.id.is_empty() {
            ws.warnings.push("ignoring <node> without id".into());
            continue;
        }
        let n = new_node(
            ws,
            &nd.id,
            &nd.uname,
            nd.kind.as_deref(),
            nd.score.as_deref(),
        );
        if ws.config.startup_fencing {
            ws.node_mut(n).unclean = true;
        }
        ws.node_mut(n).unseen = true;
        add_node_attrs(ws, n, &nd.sets, false);
    }
    // data_set->nodes is kept sorted by name (stable for equal names).
    let mut order: Vec<NodeIdx> = (0..ws.nodes.len() as u32).map(NodeIdx).collect();
    order.sort_by(|a, b| numeric_strcasecmp(&ws.node(*a).uname, &ws.node(*b).uname));
    ws.node_order = order;
}

/// Collects every id inside an element warden does not schedule (clones,
/// bundles, ...), so their history is neither mistaken for orphans nor acted on.
fn collect_ids(e: &Element, out: &mut BTreeSet<String>) {
    for d in e.descendants() {
        if let Some(id) = d.id() {
            out.insert(id.to_string());
        }
    }
}

fn unpack_resources(ws: &mut Ws) {
    let cib = ws.cib;
    for item in &cib.configuration.resources {
        match item {
            ResourceItem::Primitive(p) => {
                if p.id.is_empty() {
                    continue;
                }
                let r = unpack_primitive(ws, p, None);
                ws.top.push(r);
            }
            ResourceItem::Group(g) => {
                if g.id.is_empty() {
                    continue;
                }
                let r = unpack_group(ws, g);
                ws.top.push(r);
            }
            ResourceItem::Other(e) => {
                if e.name != "template" {
                    ws.warnings.push(format!(
                        "<{}> '{}' is not scheduled: this version does not manage {}s",
                        e.name,
                        e.id().unwrap_or(""),
                        e.name
                    ));
                }
                collect_ids(e, &mut ws.unsupported_ids);
            }
            ResourceItem::Comment(_) => {}
        }
    }
    // Stable sort by descending priority (pe__cmp_rsc_priority).
    let mut top = std::mem::take(&mut ws.top);
    top.sort_by_key(|r| std::cmp::Reverse(ws.rsc(*r).priority));
    ws.top = top;
}

fn blank_resource<'a>(
    id: &str,
    variant: Variant,
    parent: Option<RscIdx>,
    n_nodes: usize,
) -> Resource<'a> {
    Resource {
        id: id.to_string(),
        variant,
        parent,
        children: Vec::new(),
        class: None,
        provider: None,
        kind: None,
        ops: Vec::new(),
        op_keys: Vec::new(),
        own_sets: &[],
        parent_sets: &[],
        meta: Attrs::new(),
        params: Attrs::new(),
        flags: 0,
        role: Role::Stopped,
        next_role: Role::Unknown,
        recovery: Recovery::StopStart,
        priority: 0,
        stickiness: 0,
        failure_timeout: 0,
        migration_threshold: INF,
        running_on: Vec::new(),
        known_on: BTreeSet::new(),
        allowed: vec![None; n_nodes],
        allocated_to: None,
        partial_migration_target: None,
        partial_migration_source: None,
        dangling_migrations: Vec::new(),
        pending_task: None,
        pending_node: None,
        this_with: Vec::new(),
        with_this: Vec::new(),
        exclusive_discover: false,
        actions: Vec::new(),
        actions_by_key: Default::default(),
        lock_node: None,
        lock_time: 0,
        restart_type_restart: false,
        group_ordered: true,
        group_colocated: true,
    }
}

/// Meta attributes of a resource: its XML attributes, its meta sets, its
/// parents' meta sets, `rsc_defaults`, then the parent's computed meta —
/// each adding only what is not there yet (`get_meta_attributes`).
fn compute_meta(
    ws: &Ws,
    xml_attrs: &[(String, String)],
    own: &[NvSet],
    parent: Option<RscIdx>,
    group_sets: Option<&[NvSet]>,
    rsc_ids: (&str, Option<&str>, &str),
) -> Attrs {
    let mut meta = Attrs::new();
    for (k, v) in xml_attrs {
        meta.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let ctx = RuleCtx {
        now: ws.now,
        rsc: Some(rsc_ids),
        ..Default::default()
    };
    let mut next = NextChange::default();
    unpack_sets(
        own.iter().filter(|s| s.kind == SetKind::Meta),
        &ctx,
        &mut meta,
        None,
        false,
        &mut next,
    );
    if let Some(gs) = group_sets {
        let mut pm = Attrs::new();
        unpack_sets(
            gs.iter().filter(|s| s.kind == SetKind::Meta),
            &ctx,
            &mut pm,
            None,
            false,
            &mut next,
        );
        for (k, v) in pm {
            meta.entry(k).or_insert(v);
        }
    }
    if let Some(sets) = &ws.cib.configuration.rsc_defaults {
        unpack_sets(
            sets.iter().filter(|s| s.kind == SetKind::Meta),
            &ctx,
            &mut meta,
            None,
            false,
            &mut next,
        );
    }
    if let Some(p) = parent {
        for (k, v) in &ws.rsc(p).meta {
            meta.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    meta
}

fn compute_params(
    ws: &Ws,
    own: &[NvSet],
    group_sets: Option<&[NvSet]>,
    node: Option<NodeIdx>,
) -> Attrs {
    let mut params = Attrs::new();
    let ctx = RuleCtx {
        now: ws.now,
        node_attrs: node.map(|n| &ws.node(n).attrs),
        ..Default::default()
    };
    let mut next = NextChange::default();
    unpack_sets(
        own.iter().filter(|s| s.kind == SetKind::Instance),
        &ctx,
        &mut params,
        None,
        false,
        &mut next,
    );
    if let Some(gs) = group_sets {
        unpack_sets(
            gs.iter().filter(|s| s.kind == SetKind::Instance),
            &ctx,
            &mut params,
            None,
            false,
            &mut next,
        );
    }
    if let Some(sets) = &ws.cib.configuration.rsc_defaults {
        unpack_sets(
            sets.iter().filter(|s| s.kind == SetKind::Instance),
            &ctx,
            &mut params,
            None,
            false,
            &mut next,
        );
    }
    params
}

/// A resource's parameters with rules evaluated for `node` (`pe_rsc_params`).
pub fn resource_params_on(ws: &Ws, r: RscIdx, node: Option<NodeIdx>) -> Attrs {
    let rsc = ws.rsc(r);
    let parent = if rsc.parent_sets.is_empty() {
        None
    } else {
        Some(rsc.parent_sets)
    };
    compute_params(ws, rsc.own_sets, parent, node)
}

/// Flags and numbers every resource takes from its meta (`pe__unpack_resource`).
fn apply_common_meta(ws: &mut Ws, r: RscIdx) {
    let maintenance_mode = ws.config.maintenance_mode;
    let stonith_enabled = ws.config.stonith_enabled;
    let no_quorum_policy = ws.config.no_quorum_policy;
    let enable_unfencing = ws.config.enable_unfencing;
    let rsc = ws.rsc_mut(r);
    let meta = rsc.meta.clone();
    let get = |k: &str| meta.get(k).map(String::as_str);
    rsc.flags = rflag::RUNNABLE | rflag::PROVISIONAL;
    if !maintenance_mode {
        rsc.set(rflag::MANAGED);
    }
    rsc.priority = char2score(get("priority"));
    if get("critical").is_none_or(is_true) {
        rsc.set(rflag::CRITICAL);
    }
    if get("allow-migrate").is_some_and(is_true) {
        rsc.set(rflag::ALLOW_MIGRATE);
    }
    if let Some(v) = get("is-managed") {
        if !v.eq_ignore_ascii_case("default") {
            if is_true(v) {
                rsc.set(rflag::MANAGED);
            } else {
                rsc.clear(rflag::MANAGED);
            }
        }
    }
    if get("maintenance").is_some_and(is_true) || maintenance_mode {
        rsc.clear(rflag::MANAGED);
        rsc.set(rflag::MAINTENANCE);
    }
    rsc.set(rflag::UNIQUE);
    rsc.restart_type_restart =
        get("restart-type").is_some_and(|v| v.eq_ignore_ascii_case("restart"));
    rsc.recovery = match get("multiple-active")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("stop_only") => Recovery::StopOnly,
        Some("block") => Recovery::Block,
        Some("stop_unexpected") => Recovery::StopUnexpected,
        _ => Recovery::StopStart,
    };
    if let Some(v) = get("resource-stickiness") {
        if !v.eq_ignore_ascii_case("default") {
            rsc.stickiness = char2score(Some(v));
        }
    }
    if let Some(v) = get("migration-threshold") {
        if !v.eq_ignore_ascii_case("default") {
            rsc.migration_threshold = char2score(Some(v));
            if rsc.migration_threshold < 0 {
                rsc.migration_threshold = 1;
            }
        }
    }
    if rsc
        .class
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("stonith"))
    {
        rsc.set(rflag::FENCE_DEVICE);
    }
    // unpack_requires
    let requires = get("requires").map(str::to_ascii_lowercase);
    let is_fence_device = rsc.has(rflag::FENCE_DEVICE);
    let default_requires = || {
        if is_fence_device {
            "quorum"
        } else if enable_unfencing {
            "unfencing"
        } else if stonith_enabled {
            "fencing"
        } else if no_quorum_policy == QuorumPolicy::Ignore {
            "nothing"
        } else {
            "quorum"
        }
    };
    let mut req = requires
        .clone()
        .unwrap_or_else(|| default_requires().to_string());
    if req == "unfencing" && (is_fence_device || !stonith_enabled) {
        req = "quorum".into();
    }
    match req.as_str() {
        "nothing" => {}
        "quorum" => rsc.set(rflag::NEEDS_QUORUM),
        "fencing" => rsc.set(rflag::NEEDS_FENCING),
        "unfencing" => rsc.set(rflag::NEEDS_FENCING | rflag::NEEDS_UNFENCING),
        _ => match default_requires() {
            "nothing" => {}
            "quorum" => rsc.set(rflag::NEEDS_QUORUM),
            "unfencing" => rsc.set(rflag::NEEDS_FENCING | rflag::NEEDS_UNFENCING),
            _ => rsc.set(rflag::NEEDS_FENCING),
        },
    }
    if let Some(v) = get("failure-timeout") {
        rsc.failure_timeout = parse_interval_ms(Some(v)) as i64 / 1000;
    }
    if let Some(role) = target_role(get("target-role")) {
        rsc.next_role = role;
    }
    if is_fence_device {
        ws.config.have_stonith_resource = true;
    }
}

/// `get_target_role`: None for "started"/"default"/invalid/unsupported.
pub fn target_role(value: Option<&str>) -> Option<Role> {
    let v = value?;
    if v.eq_ignore_ascii_case("started") || v.eq_ignore_ascii_case("default") {
        return None;
    }
    match Role::parse(v) {
        Role::Unknown => None,
        r if r > Role::Started => None,
        r => Some(r),
    }
}

/// Adds every node to a resource's table with score 0 plus the node's own
/// score (`resource_location(rsc, NULL, 0, "symmetric_default")`).
fn symmetric_default(ws: &mut Ws, r: RscIdx) {
    let children = ws.rsc(r).children.clone();
    for c in children {
        symmetric_default(ws, c);
    }
    let order = ws.node_order.clone();
    for n in order {
        let w = ws.node(n).weight;
        let rsc = ws.rsc_mut(r);
        if rsc.exclusive_discover {
            continue;
        }
        let slot = &mut rsc.allowed[n.0 as usize];
        match slot {
            Some(a) => a.weight = add_scores(a.weight, 0),
            None => {
                *slot = Some(Allowed {
                    weight: add_scores(w, 0),
                    discover: Discover::Always,
                })
            }
        }
    }
}

fn unpack_primitive<'a>(
    ws: &mut Ws<'a>,
    p: &'a Primitive,
    parent: Option<(RscIdx, &'a Group)>,
) -> RscIdx {
    let n_nodes = ws.nodes.len();
    let mut rsc = blank_resource(&p.id, Variant::Primitive, parent.map(|x| x.0), n_nodes);
    rsc.class = p.class.clone();
    rsc.provider = p.provider.clone();
    rsc.kind = p.kind.clone();
    rsc.ops = p
        .operations
        .as_ref()
        .map(|o| o.ops.iter().collect())
        .unwrap_or_default();
    rsc.op_keys = rsc
        .ops
        .iter()
        .map(|op| {
            let interval = super::util::parse_interval_ms(op.interval.as_deref());
            super::util::op_key(&p.id, &op.name, interval).to_ascii_lowercase()
        })
        .collect();
    let mut xml_attrs: Vec<(String, String)> = vec![("id".into(), p.id.clone())];
    for (k, v) in [
        ("class", &p.class),
        ("provider", &p.provider),
        ("type", &p.kind),
        ("description", &p.description),
    ] {
        if let Some(v) = v {
            xml_attrs.push((k.into(), v.clone()));
        }
    }
    xml_attrs.extend(p.extra_attrs.iter().cloned());
    let ids = (
        p.class.as_deref().unwrap_or(""),
        p.provider.as_deref(),
        p.kind.as_deref().unwrap_or(""),
    );
    let group_sets = parent.map(|(_, g)| g.sets.as_slice());
    rsc.meta = compute_meta(
        ws,
        &xml_attrs,
        &p.sets,
        parent.map(|x| x.0),
        group_sets,
        ids,
    );
    rsc.params = compute_params(ws, &p.sets, group_sets, None);
    rsc.own_sets = &p.sets;
    rsc.parent_sets = group_sets.unwrap_or(&[]);
    let r = ws.push_rsc(rsc);
    apply_common_meta(ws, r);
    if ws.config.symmetric {
        symmetric_default(ws, r);
    }
    r
}

fn unpack_group<'a>(ws: &mut Ws<'a>, g: &'a Group) -> RscIdx {
    let n_nodes = ws.nodes.len();
    let mut rsc = blank_resource(&g.id, Variant::Group, None, n_nodes);
    let mut xml_attrs: Vec<(String, String)> = vec![("id".into(), g.id.clone())];
    if let Some(d) = &g.description {
        xml_attrs.push(("description".into(), d.clone()));
    }
    xml_attrs.extend(g.extra_attrs.iter().cloned());
    rsc.meta = compute_meta(ws, &xml_attrs, &g.sets, None, None, ("", None, ""));
    rsc.params = compute_params(ws, &g.sets, None, None);
    let flag = |v: Option<&String>| v.is_none_or(|s| parse_bool(s) != Some(false));
    rsc.group_ordered = flag(rsc.meta.get("ordered"));
    rsc.group_colocated = flag(rsc.meta.get("collocated"));
    let r = ws.push_rsc(rsc);
    apply_common_meta(ws, r);
    for p in &g.primitives {
        if p.id.is_empty() {
            continue;
        }
        let c = unpack_primitive(ws, p, Some((r, g)));
        ws.rsc_mut(r).children.push(c);
    }
    if g.primitives.is_empty() {
        ws.warnings.push(format!(
            "group '{}' is ignored because it has no members",
            g.id
        ));
    }
    if ws.config.symmetric {
        symmetric_default(ws, r);
    }
    r
}

/// `resource_location`: adds `score` for `node` (all nodes when None) to a
/// resource and its children.
pub fn resource_location(ws: &mut Ws, r: RscIdx, node: Option<NodeIdx>, score: i32, _tag: &str) {
    match node {
        Some(n) => resource_node_score(ws, r, n, score),
        None => {
            for n in ws.node_order.clone() {
                resource_node_score(ws, r, n, score);
            }
        }
    }
    if node.is_none() && score == -INF {
        ws.rsc_mut(r).allocated_to = None;
    }
}

fn resource_node_score(ws: &mut Ws, r: RscIdx, n: NodeIdx, score: i32) {
    for c in ws.rsc(r).children.clone() {
        resource_node_score(ws, c, n, score);
    }
    let w = ws.node(n).weight;
    let slot = &mut ws.rsc_mut(r).allowed[n.0 as usize];
    match slot {
        Some(a) => a.weight = add_scores(a.weight, score),
        None => {
            *slot = Some(Allowed {
                weight: add_scores(w, score),
                discover: Discover::Always,
            })
        }
    }
}

// ---------------------------------------------------------------- status

fn shutdown_requested(node: &Node) -> bool {
    node.attrs.get("shutdown").is_some_and(|v| v != "0")
}

fn unpack_status(ws: &mut Ws) {
    let cib = ws.cib;
    for st in &cib.status.node_states {
        unpack_node_state(ws, st);
    }
    loop {
        if !unpack_node_history(ws, false) {
            break;
        }
    }
    let fence = ws.config.stonith_enabled;
    unpack_node_history(ws, fence);
}

fn unpack_node_state(ws: &mut Ws, st: &NodeState) {
    if st.id.is_empty() {
        ws.warnings
            .push("ignoring node_state entry without id".into());
        return;
    }
    let Some(uname) = st.uname.as_deref() else {
        ws.warnings
            .push("ignoring node_state entry without uname".into());
        return;
    };
    let Some(n) = ws.find_node_any(&st.id, uname) else {
        ws.warnings.push(format!(
            "ignoring recorded node state for '{uname}': no longer in the configuration"
        ));
        return;
    };
    if let Some(t) = &st.transient {
        add_node_attrs(ws, n, &t.sets, true);
    } else {
        add_node_attrs(ws, n, &[], true);
    }
    {
        let node = ws.node_mut(n);
        if node.attrs.get("standby").is_some_and(|v| is_true(v)) {
            node.standby = true;
        }
        if node.attrs.get("maintenance").is_some_and(|v| is_true(v)) {
            node.maintenance = true;
        }
        node.unclean = false;
        node.unseen = false;
    }
    determine_online_status(ws, st, n);
    if !ws.config.have_quorum
        && ws.node(n).online
        && ws.config.no_quorum_policy == QuorumPolicy::Suicide
    {
        ws.fence_node(n, "cluster does not have quorum", false);
    }
}

fn determine_online_status(ws: &mut Ws, st: &NodeState, n: NodeIdx) {
    {
        let node = ws.node_mut(n);
        node.shutdown = false;
        node.expected_up = false;
        if shutdown_requested(node) {
            node.shutdown = true;
        } else if st
            .expected
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("member"))
        {
            node.expected_up = true;
        }
    }
    let online = if ws.node(n).kind == NodeType::Ping {
        ws.node_mut(n).unclean = false;
        false
    } else if !ws.config.stonith_enabled {
        online_no_fencing(ws, st, n)
    } else {
        online_fencing(ws, st, n)
    };
    let node = ws.node_mut(n);
    if online {
        node.online = true;
    } else {
        node.fixed = true;
        node.weight = -INF;
    }
    if online && node.shutdown {
        node.fixed = true;
        node.weight = -INF;
    }
}

fn online_no_fencing(ws: &mut Ws, st: &NodeState, n: NodeIdx) -> bool {
    let in_cluster = st.in_ccm.as_deref().is_some_and(is_true);
    let is_peer = st.crmd.as_deref();
    let join = st.join.as_deref();
    if !in_cluster {
        false
    } else if is_peer.is_some_and(|p| p.eq_ignore_ascii_case("online")) {
        join.is_some_and(|j| j.eq_ignore_ascii_case("member"))
    } else if !ws.node(n).expected_up {
        false
    } else {
        ws.fence_node(n, "peer is unexpectedly down", false);
        false
    }
}

fn online_fencing(ws: &mut Ws, st: &NodeState, n: NodeIdx) -> bool {
    let terminate = ws.node(n).attrs.get("terminate").cloned();
    let do_terminate = match terminate.as_deref() {
        Some(t) if is_true(t) => true,
        Some(t) if !t.is_empty() => {
            let c = t.as_bytes()[0];
            c != b'0' && c.is_ascii_digit()
        }
        _ => false,
    };
    let in_cluster_s = st.in_ccm.as_deref();
    let in_cluster = in_cluster_s.is_some_and(is_true);
    let crmd_online = st
        .crmd
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("online"));
    let join = st.join.as_deref().unwrap_or("");
    let exp_state = st.expected.as_deref().unwrap_or("down");
    let mut online = in_cluster;
    if ws.node(n).shutdown {
        online = crmd_online;
    } else if in_cluster_s.is_none() {
        ws.fence_node(n, "peer has not been seen by the cluster", false);
    } else if join.eq_ignore_ascii_case("banned") {
        ws.fence_node(n, "peer failed Pacemaker membership criteria", false);
    } else if !do_terminate && exp_state.eq_ignore_ascii_case("down") {
        if in_cluster || crmd_online {
            let node = ws.node_mut(n);
            node.standby = true;
            node.pending = true;
        }
    } else if do_terminate && join.eq_ignore_ascii_case("down") && !in_cluster && !crmd_online {
        online = false;
    } else if !in_cluster {
        ws.fence_node(n, "peer is no longer part of the cluster", true);
    } else if !crmd_online {
        ws.fence_node(n, "peer process is no longer available", false);
    } else if do_terminate {
        ws.fence_node(n, "termination was requested", false);
    } else if join.eq_ignore_ascii_case("member") {
        // online
    } else if join.eq_ignore_ascii_case("pending") || join.eq_ignore_ascii_case("down") {
        let node = ws.node_mut(n);
        node.standby = true;
        node.pending = true;
    } else {
        ws.fence_node(n, "peer was in an unknown state", false);
    }
    online
}

/// One pass over the nodes' histories; true if any node was unpacked.
fn unpack_node_history(ws: &mut Ws, fence: bool) -> bool {
    let cib = ws.cib;
    let mut any = false;
    for st in &cib.status.node_states {
        let Some(uname) = st.uname.as_deref() else {
            continue;
        };
        if st.id.is_empty() {
            continue;
        }
        let Some(n) = ws.find_node_any(&st.id, uname) else {
            continue;
        };
        if ws.node(n).unpacked {
            continue;
        }
        if !(fence || ws.config.stonith_enabled || ws.config.shutdown_lock || ws.node(n).online) {
            continue;
        }
        ws.node_mut(n).unpacked = true;
        if let Some(lrm) = &st.lrm {
            for lr in &lrm.resources {
                unpack_lrm_resource(ws, n, lr);
            }
        }
        any = true;
    }
    any
}

/// Orders a resource's operations as `sort_op_by_callid` does.
pub fn sort_ops(ops: &mut [&LrmRscOp]) {
    ops.sort_by(|a, b| cmp_ops(a, b));
}

fn cmp_ops(a: &LrmRscOp, b: &LrmRscOp) -> std::cmp::Ordering {
    match is_newer_op(a, b, true) {
        x if x < 0 => std::cmp::Ordering::Less,
        0 => std::cmp::Ordering::Equal,
        _ => std::cmp::Ordering::Greater,
    }
}

/// `pe__is_newer_op`: negative if `a` is older than `b`, positive if newer.
pub fn is_newer_op(a: &LrmRscOp, b: &LrmRscOp, same_node_default: bool) -> i32 {
    let same_node = match (a.on_node.as_deref(), b.on_node.as_deref()) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => same_node_default,
    };
    if same_node && a.id == b.id {
        return 0;
    }
    let ac = a.call_id.unwrap_or(-1);
    let bc = b.call_id.unwrap_or(-1);
    if ac == -1 && bc == -1 {
        return 0;
    }
    if same_node && ac >= 0 && ac < bc {
        return -1;
    }
    if same_node && bc >= 0 && ac > bc {
        return 1;
    }
    if ac >= 0 && bc >= 0 && (!same_node || ac == bc) {
        let la = a.last_rc_change.unwrap_or(-1);
        let lb = b.last_rc_change.unwrap_or(-1);
        if la >= 0 && la < lb {
            return -1;
        }
        if lb >= 0 && la > lb {
            return 1;
        }
        return 0;
    }
    // One is pending (-1): decide by transition.
    let ma = a.transition_magic.as_deref().and_then(decode_magic);
    let mb = b.transition_magic.as_deref().and_then(decode_magic);
    let (Some((ua, ta)), Some((ub, tb))) = (ma, mb) else {
        return 0;
    };
    if !ua.eq_ignore_ascii_case(&ub) || ta == tb {
        if bc == -1 {
            return -1;
        } else if ac == -1 {
            return 1;
        }
    } else if (ta >= 0 && ta < tb) || tb == -1 {
        return -1;
    } else if (tb >= 0 && ta > tb) || ta == -1 {
        return 1;
    }
    0
}

/// `calculate_active_ops`: (start_index, stop_index) in the sorted history.
pub fn active_ops(ops: &[&LrmRscOp]) -> (i64, i64) {
    let (mut start, mut stop) = (-1i64, -1i64);
    let (mut implied_monitor_start, mut implied_clone_start) = (-1i64, -1i64);
    for (i, op) in ops.iter().enumerate() {
        let i = i as i64;
        let task = op.operation.as_str();
        if task.eq_ignore_ascii_case("stop") && op.op_status == Some(0) {
            stop = i;
        } else if task.eq_ignore_ascii_case("start") || task.eq_ignore_ascii_case("migrate_from") {
            start = i;
        } else if implied_monitor_start <= stop && task.eq_ignore_ascii_case("monitor") {
            if matches!(op.rc_code, Some(0) | Some(8)) {
                implied_monitor_start = i;
            }
        } else if task.eq_ignore_ascii_case("promote") || task.eq_ignore_ascii_case("demote") {
            implied_clone_start = i;
        }
    }
    if start == -1 {
        if implied_clone_start != -1 {
            start = implied_clone_start;
        } else if implied_monitor_start != -1 {
            start = implied_monitor_start;
        }
    }
    (start, stop)
}

fn unpack_lrm_resource<'a>(ws: &mut Ws<'a>, n: NodeIdx, lr: &'a LrmResource) {
    if lr.id.is_empty() {
        return;
    }
    if lr.ops.is_empty() && !ws.config.shutdown_lock {
        return;
    }
    let found = ws.find_rsc(&lr.id);
    let r = match found {
        Some(r) if ws.rsc(r).variant != Variant::Primitive => return,
        Some(r) => r,
        None => {
            if ws.unsupported_ids.contains(&lr.id)
                || ws
                    .unsupported_ids
                    .contains(super::util::clone_strip(&lr.id))
            {
                return;
            }
            if lr.ops.is_empty() {
                return;
            }
            orphan_resource(ws, lr)
        }
    };
    if ws.config.shutdown_lock {
        unpack_shutdown_lock(ws, r, n, lr);
    }
    let saved_role = ws.rsc(r).role;
    ws.rsc_mut(r).role = Role::Unknown;
    let mut ops: Vec<&LrmRscOp> = lr.ops.iter().collect();
    sort_ops(&mut ops);
    let mut last_failure: Option<&LrmRscOp> = None;
    let mut on_fail = OnFail::Ignore;
    let mut migrate_op: Option<&LrmRscOp> = None;
    for op in &ops {
        if op.operation.eq_ignore_ascii_case("migrate_from") {
            migrate_op = Some(op);
        }
        unpack_rsc_op(ws, r, n, op, &ops, &mut last_failure, &mut on_fail);
    }
    let (start, stop) = active_ops(&ops);
    process_recurring(ws, r, n, start, stop, &ops);
    process_rsc_state(ws, r, n, on_fail, migrate_op);
    if let Some(req) = target_role(ws.rsc(r).meta.get("target-role").map(String::as_str)) {
        let rsc = ws.rsc_mut(r);
        if rsc.next_role == Role::Unknown || req < rsc.next_role {
            rsc.next_role = req;
        }
    }
    if saved_role > ws.rsc(r).role {
        ws.rsc_mut(r).role = saved_role;
    }
}

/// `unpack_shutdown_lock`: a resource locked to a node that shut down cleanly.
fn unpack_shutdown_lock(ws: &mut Ws, r: RscIdx, n: NodeIdx, lr: &LrmResource) {
    let lock_time = lr
        .extra_attrs
        .iter()
        .find(|(k, _)| k == "shutdown-lock")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    if lock_time == 0 {
        return;
    }
    let limit = ws.config.shutdown_lock_limit_s;
    if limit > 0 && ws.now > lock_time + limit {
        let key = op_key(&ws.rsc(r).id, "lrm_delete", 0);
        ws.custom_action(Some(r), key, "lrm_delete", Some(n), false);
    } else {
        ws.rsc_mut(r).lock_node = Some(n);
        ws.rsc_mut(r).lock_time = lock_time;
    }
}

fn orphan_resource<'a>(ws: &mut Ws<'a>, lr: &'a LrmResource) -> RscIdx {
    let n_nodes = ws.nodes.len();
    let mut rsc = blank_resource(&lr.id, Variant::Primitive, None, n_nodes);
    rsc.class = lr.class.clone();
    rsc.provider = lr.provider.clone();
    rsc.kind = lr.kind.clone();
    let mut xml_attrs: Vec<(String, String)> = vec![("id".into(), lr.id.clone())];
    for (k, v) in [
        ("class", &lr.class),
        ("provider", &lr.provider),
        ("type", &lr.kind),
    ] {
        if let Some(v) = v {
            xml_attrs.push((k.into(), v.clone()));
        }
    }
    let ids = (
        lr.class.as_deref().unwrap_or(""),
        lr.provider.as_deref(),
        lr.kind.as_deref().unwrap_or(""),
    );
    rsc.meta = compute_meta(ws, &xml_attrs, &[], None, None, ids);
    rsc.params = compute_params(ws, &[], None, None);
    let r = ws.push_rsc(rsc);
    apply_common_meta(ws, r);
    if ws.config.symmetric {
        symmetric_default(ws, r);
    }
    ws.rsc_mut(r).set(rflag::ORPHAN);
    ws.top.push(r);
    if !ws.config.stop_orphan_resources {
        ws.rsc_mut(r).clear(rflag::MANAGED);
    } else {
        resource_location(ws, r, None, -INF, "__orphan_do_not_run__");
    }
    r
}

fn set_active(ws: &mut Ws, r: RscIdx) {
    ws.rsc_mut(r).role = Role::Started;
}

fn process_recurring(ws: &mut Ws, r: RscIdx, n: NodeIdx, start: i64, stop: i64, ops: &[&LrmRscOp]) {
    for (i, op) in ops.iter().enumerate() {
        let i = i as i64;
        if !ws.node(n).online {
            break;
        } else if (start < stop && i <= stop) || i < start {
            // Recurring operations before the last stop, or before the
            // last start, are not active any more.
            continue;
        }
        let interval = op.interval_ms.unwrap_or(0);
        if interval == 0 {
            continue;
        }
        if op.op_status == Some(-1) {
            continue;
        }
        let key = op_key(&ws.rsc(r).id, &op.operation, interval);
        let task = op.operation.clone();
        ws.custom_action(Some(r), key, &task, Some(n), true);
    }
}

/// `native_add_running`.
pub fn add_running(ws: &mut Ws, r: RscIdx, n: NodeIdx, failed: bool) {
    if ws.rsc(r).running_on.contains(&n) {
        return;
    }
    ws.rsc_mut(r).running_on.push(n);
    let variant = ws.rsc(r).variant;
    if variant == Variant::Primitive {
        let rsc = ws.rsc(r);
        if rsc.priority != 0 && !failed {
            let p = if rsc.role == Role::Promoted {
                rsc.priority + 1
            } else {
                rsc.priority
            };
            ws.node_mut(n).priority += p;
        }
        if ws.node(n).maintenance {
            ws.rsc_mut(r).clear(rflag::MANAGED);
        }
    }
    if !ws.rsc(r).has(rflag::MANAGED) {
        resource_location(ws, r, Some(n), INF, "not_managed_default");
        let mut p = ws.rsc(r).parent;
        while let Some(pp) = p {
            if !ws.node(n).online {
                break;
            }
            ws.rsc_mut(pp).running_on.push(n);
            p = ws.rsc(pp).parent;
        }
        return;
    }
    if variant == Variant::Primitive {
        let (_, all, clean) = ws.find_active_on(r);
        let count = if ws.rsc(r).has(rflag::NEEDS_FENCING) {
            all
        } else {
            clean
        };
        if count > 1 {
            match ws.rsc(r).recovery {
                Recovery::StopOnly => {
                    let order = ws.node_order.clone();
                    let rsc = ws.rsc_mut(r);
                    for slot in rsc.allowed.iter_mut() {
                        *slot = None;
                    }
                    for nn in order {
                        rsc.allowed[nn.0 as usize] = Some(Allowed {
                            weight: -INF,
                            discover: Discover::Always,
                        });
                    }
                }
                Recovery::Block => {
                    ws.rsc_mut(r).clear(rflag::MANAGED);
                    ws.rsc_mut(r).set(rflag::BLOCK);
                    if let Some(p) = ws.rsc(r).parent {
                        if ws.rsc(p).recovery == Recovery::Block {
                            for c in ws.rsc(p).children.clone() {
                                ws.rsc_mut(c).clear(rflag::MANAGED);
                                ws.rsc_mut(c).set(rflag::BLOCK);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(p) = ws.rsc(r).parent {
        add_running(ws, p, n, false);
    }
}

fn process_rsc_state(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    mut on_fail: OnFail,
    _migrate_op: Option<&LrmRscOp>,
) {
    if ws.rsc(r).role != Role::Unknown {
        let mut it = Some(r);
        while let Some(x) = it {
            ws.rsc_mut(x).known_on.insert(n);
            if ws.rsc(x).has(rflag::UNIQUE) {
                break;
            }
            it = ws.rsc(x).parent;
        }
    }
    {
        let rsc = ws.rsc(r);
        let node = ws.node(n);
        if rsc.role > Role::Stopped
            && !node.online
            && !node.maintenance
            && rsc.has(rflag::MANAGED)
            && ws.config.stonith_enabled
        {
            let reason = format!("{} is thought to be active there", rsc.id);
            ws.fence_node(n, &reason, false);
        }
    }
    let save_on_fail = on_fail;
    if ws.node(n).unclean {
        on_fail = OnFail::Ignore;
    }
    match on_fail {
        OnFail::Ignore => {}
        OnFail::Demote => {
            ws.rsc_mut(r).set(rflag::FAILED);
            ws.rsc_action(r, "demote", Some(n), false);
        }
        OnFail::Fence => {
            let reason = format!("{} failed there", ws.rsc(r).id);
            ws.fence_node(n, &reason, false);
        }
        OnFail::Standby => {
            let node = ws.node_mut(n);
            node.standby = true;
            node.standby_onfail = true;
        }
        OnFail::Block => {
            ws.rsc_mut(r).clear(rflag::MANAGED);
            ws.rsc_mut(r).set(rflag::BLOCK);
        }
        OnFail::Migrate => resource_location(ws, r, Some(n), -INF, "__action_migration_auto__"),
        OnFail::Stop => ws.rsc_mut(r).next_role = Role::Stopped,
        OnFail::Recover | OnFail::RestartContainer => {
            let role = ws.rsc(r).role;
            if role != Role::Stopped && role != Role::Unknown {
                ws.rsc_mut(r).set(rflag::FAILED | rflag::STOP);
                ws.rsc_action(r, "stop", Some(n), false);
            } else if on_fail != OnFail::Recover {
                ws.rsc_mut(r).set(rflag::FAILED | rflag::STOP);
            }
        }
    }
    let role = ws.rsc(r).role;
    if role != Role::Stopped && role != Role::Unknown {
        if ws.rsc(r).has(rflag::ORPHAN) {
            let msg = if ws.rsc(r).has(rflag::MANAGED) {
                format!(
                    "detected active orphan {} running on {}",
                    ws.rsc(r).id,
                    ws.node(n).uname
                )
            } else {
                format!(
                    "resource '{}' must be stopped manually on {} because the cluster is configured not to stop active orphans",
                    ws.rsc(r).id,
                    ws.node(n).uname
                )
            };
            ws.warnings.push(msg);
        }
        add_running(ws, r, n, save_on_fail != OnFail::Ignore);
        match on_fail {
            OnFail::Ignore => {}
            OnFail::Demote | OnFail::Block => ws.rsc_mut(r).set(rflag::FAILED),
            _ => ws.rsc_mut(r).set(rflag::FAILED | rflag::STOP),
        }
    } else {
        let stops = ws.rsc_actions(r, Some(n), "stop", false);
        for s in stops {
            ws.act_mut(s).flags |= aflag::OPTIONAL;
        }
    }
    let rsc = ws.rsc(r);
    if rsc.role == Role::Stopped
        && rsc.partial_migration_source == Some(n)
        && rsc.partial_migration_target.is_some()
        && !rsc.running_on.is_empty()
    {
        ws.rsc_mut(r).role = Role::Started;
    }
}

/// `cmp_on_fail`.
fn cmp_on_fail(first: OnFail, second: OnFail) -> i32 {
    use OnFail::*;
    match first {
        Demote => {
            return match second {
                Ignore => 1,
                Demote => 0,
                _ => -1,
            }
        }
        RestartContainer => {
            return match second {
                Ignore | Demote | Recover => 1,
                RestartContainer => 0,
                _ => -1,
            }
        }
        _ => {}
    }
    match second {
        Demote => return if first == Ignore { -1 } else { 1 },
        RestartContainer => {
            return match first {
                Ignore | Demote | Recover => -1,
                _ => 1,
            }
        }
        _ => {}
    }
    first as i32 - second as i32
}

fn op_key_of(op: &LrmRscOp) -> &str {
    op.operation_key.as_deref().unwrap_or(&op.id)
}

fn is_probe(op: &LrmRscOp) -> bool {
    op.operation == "monitor" && op.interval_ms.unwrap_or(0) == 0
}

fn mask_probe_failure(op: &LrmRscOp) -> bool {
    is_probe(op)
        && (matches!(op.rc_code, Some(rc::ERR_INSTALLED) | Some(rc::ERR_ARGS))
            || op.op_status == Some(ExecStatus::NotInstalled.code()))
}

/// `pe_get_failcount`: the fail count of a resource on a node, and the time
/// of the last failure. With `effective`, expired failures count as none.
pub fn get_failcount(
    ws: &mut Ws,
    n: NodeIdx,
    r: RscIdx,
    effective: bool,
    xml_op: Option<&LrmRscOp>,
) -> (i32, i64) {
    // Most nodes carry no failure attributes at all: nothing to count.
    if !ws
        .node(n)
        .attrs
        .iter()
        .any(|(k, _)| k.starts_with("fail-count-") || k.starts_with("last-failure-"))
    {
        return (0, 0);
    }
    let name = ws.rsc(r).id.clone();
    let legacy = compare_version(&ws.config.feature_set, "3.0.13").is_lt();
    let fc_prefix = format!("fail-count-{name}");
    let lf_prefix = format!("last-failure-{name}");
    let matches = |key: &str, prefix: &str| -> bool {
        let Some(rest) = key.strip_prefix(prefix) else {
            return false;
        };
        if legacy {
            rest.is_empty()
        } else {
            // "#<op>_<interval>"
            match rest.strip_prefix('#') {
                Some(opint) => match opint.rsplit_once('_') {
                    Some((o, i)) => {
                        !o.is_empty() && !i.is_empty() && i.chars().all(|c| c.is_ascii_digit())
                    }
                    None => false,
                },
                None => false,
            }
        }
    };
    let mut failcount = 0;
    let mut last: i64 = 0;
    for (k, v) in &ws.node(n).attrs {
        if matches(k, &fc_prefix) {
            failcount = add_scores(failcount, char2score(Some(v)));
        } else if matches(k, &lf_prefix) {
            if let Ok(t) = v.trim().parse::<i64>() {
                last = last.max(t);
            }
        }
    }
    if failcount > 0 && ws.rsc(r).failure_timeout != 0 && block_failure(ws, n, r, xml_op) {
        ws.rsc_mut(r).failure_timeout = 0;
    }
    if effective
        && failcount > 0
        && last > 0
        && ws.rsc(r).failure_timeout != 0
        && ws.now > last + ws.rsc(r).failure_timeout
    {
        failcount = 0;
    }
    (failcount, if failcount > 0 { last } else { 0 })
}

fn is_matched_failure(rsc_id: &str, conf_name: &str, conf_interval: u64, lrm: &LrmRscOp) -> bool {
    if conf_interval != lrm.interval_ms.unwrap_or(0)
        || !conf_name.eq_ignore_ascii_case(&lrm.operation)
    {
        return false;
    }
    if lrm
        .id
        .eq_ignore_ascii_case(&op_key(rsc_id, "last_failure", 0))
    {
        return true;
    }
    if lrm
        .id
        .eq_ignore_ascii_case(&op_key(rsc_id, conf_name, conf_interval))
    {
        let target = target_rc_from_key(lrm.transition_key.as_deref());
        return lrm.rc_code.unwrap_or(0) != target;
    }
    false
}

fn block_failure(ws: &Ws, n: NodeIdx, r: RscIdx, xml_op: Option<&LrmRscOp>) -> bool {
    let rsc = ws.rsc(r);
    for op in &rsc.ops {
        if op.on_fail.as_deref() != Some("block") {
            continue;
        }
        let interval = parse_interval_ms(op.interval.as_deref());
        match xml_op {
            Some(x) => {
                if is_matched_failure(&rsc.id, &op.name, interval, x) {
                    return true;
                }
            }
            None => {
                let uname = &ws.node(n).uname;
                for st in &ws.cib.status.node_states {
                    if st.uname.as_deref() != Some(uname.as_str()) {
                        continue;
                    }
                    let Some(lrm) = &st.lrm else { continue };
                    for lr in lrm.resources.iter().filter(|lr| lr.id == rsc.id) {
                        for x in lr.ops.iter().filter(|x| {
                            x.operation == op.name && x.interval_ms.unwrap_or(0) == interval
                        }) {
                            if is_matched_failure(&rsc.id, &op.name, interval, x) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
    }
    false
}

/// `check_operation_expiry`: whether a recorded failure has expired (and
/// schedules clearing the fail count where Pacemaker does).
fn check_operation_expiry(ws: &mut Ws, r: RscIdx, n: NodeIdx, rc_code: i32, op: &LrmRscOp) -> bool {
    let mut expired = false;
    let is_last_failure = op.id.ends_with("_last_failure_0");
    let interval = op.interval_ms.unwrap_or(0);
    let mut clear_reason: Option<&str> = None;
    let mut unexpired = 0;
    if ws.rsc(r).failure_timeout > 0 {
        if let Some(last_run) = op.last_rc_change {
            let now = ws.now;
            if now >= last_run + ws.rsc(r).failure_timeout {
                expired = true;
            }
            let (fc, last_failure) = get_failcount(ws, n, r, true, Some(op));
            unexpired = fc;
            let recheck = last_failure + ws.rsc(r).failure_timeout + 1;
            if fc != 0 && now < recheck {
                ws.update_recheck(recheck);
            }
        }
    }
    if expired {
        let (fc, _) = get_failcount(ws, n, r, false, Some(op));
        if fc != 0 {
            if unexpired == 0 {
                clear_reason = Some("it expired");
            } else {
                expired = false;
            }
        }
    }
    if !expired && is_last_failure && should_clear_for_param_change(ws, r, n, op) {
        clear_reason = Some("resource parameters have changed");
    }
    if let Some(reason) = clear_reason {
        ws.clear_failcount(r, n, reason);
    }
    if expired
        && interval == 0
        && op.operation == "monitor"
        && matches!(
            rc_code,
            rc::OK | rc::NOT_RUNNING | rc::RUNNING_PROMOTED | rc::DEGRADED | rc::DEGRADED_PROMOTED
        )
    {
        // A probe's result stays valid even when its failure expired.
        expired = false;
    }
    expired
}

/// `should_clear_for_param_change`: a failed start or monitor whose
/// parameters changed since gets a fresh start.
fn should_clear_for_param_change(ws: &Ws, r: RscIdx, n: NodeIdx, op: &LrmRscOp) -> bool {
    if op.operation != "start" && op.operation != "monitor" {
        return false;
    }
    !matches!(
        super::digest::compare(ws, r, op, n, None).rc,
        super::digest::DigestCmp::Unknown | super::digest::DigestCmp::Match
    )
}

fn check_recoverable(ws: &mut Ws, r: RscIdx, n: NodeIdx, task: &str) {
    if task != "stop" || ws.can_fence(Some(n)) {
        return;
    }
    ws.warnings.push(format!(
        "no further recovery can be attempted for {} because stop on {} failed",
        ws.rsc(r).id,
        ws.node(n).uname
    ));
    ws.rsc_mut(r).clear(rflag::MANAGED);
    ws.rsc_mut(r).set(rflag::BLOCK);
}

/// `remap_operation`: the effective (rc, status) of a recorded operation.
fn remap_operation(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    op: &LrmRscOp,
    on_fail: &mut OnFail,
    target_rc: i32,
    rc_code: &mut i32,
    status: &mut i32,
) {
    if op.operation == "monitor" {
        let remapped = match *rc_code {
            rc::DEGRADED => rc::OK,
            rc::DEGRADED_PROMOTED => rc::RUNNING_PROMOTED,
            x => x,
        };
        if remapped != *rc_code {
            ws.failed_ops.push((r, n, op.id.clone()));
            *rc_code = remapped;
        }
    }
    if mask_probe_failure(op) {
        *status = 0;
        *rc_code = rc::NOT_RUNNING;
    }
    if *status != ExecStatus::Done.code() && *status != ExecStatus::Error.code() {
        return;
    }
    *status = ExecStatus::Done.code();
    let probe = is_probe(op);
    let task = if probe {
        "probe".to_string()
    } else {
        op.operation.clone()
    };
    if target_rc < 0 || target_rc != *rc_code {
        *status = ExecStatus::Error.code();
    }
    match *rc_code {
        rc::OK => {
            if probe && target_rc == rc::NOT_RUNNING {
                *status = ExecStatus::Done.code();
            }
        }
        rc::NOT_RUNNING => {
            if probe || target_rc == *rc_code || !ws.rsc(r).has(rflag::MANAGED) {
                *status = ExecStatus::Done.code();
                ws.rsc_mut(r).role = Role::Stopped;
                *on_fail = OnFail::Ignore;
                ws.rsc_mut(r).next_role = Role::Unknown;
            }
        }
        rc::RUNNING_PROMOTED => {
            if probe && *rc_code != target_rc {
                *status = ExecStatus::Done.code();
            }
            ws.rsc_mut(r).role = Role::Promoted;
        }
        rc::DEGRADED_PROMOTED | rc::FAILED_PROMOTED => {
            ws.rsc_mut(r).role = Role::Promoted;
            *status = ExecStatus::Error.code();
        }
        rc::ERR_CONFIGURED => *status = ExecStatus::ErrorFatal.code(),
        rc::UNIMPLEMENTED => {
            if op.interval_ms.unwrap_or(0) == 0 {
                check_recoverable(ws, r, n, &task);
                *status = ExecStatus::ErrorHard.code();
            } else {
                *status = ExecStatus::NotSupported.code();
            }
        }
        rc::ERR_INSTALLED | rc::ERR_ARGS | rc::ERR_PERM => {
            check_recoverable(ws, r, n, &task);
            *status = ExecStatus::ErrorHard.code();
        }
        _ => {
            if *status == ExecStatus::Done.code() {
                *status = ExecStatus::Error.code();
            }
        }
    }
}

fn update_resource_state(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    op: &LrmRscOp,
    task: &str,
    rc_code: i32,
    last_failure: Option<&LrmRscOp>,
    on_fail: &mut OnFail,
    all_ops: &[&LrmRscOp],
) {
    let mut clear_past = false;
    if rc_code == rc::ERR_INSTALLED || mask_probe_failure(op) {
        ws.rsc_mut(r).role = Role::Stopped;
    } else if rc_code == rc::NOT_RUNNING {
        clear_past = true;
    } else if task.eq_ignore_ascii_case("monitor") {
        if let Some(lf) = last_failure {
            if op_key_of(op).eq_ignore_ascii_case(op_key_of(lf)) {
                clear_past = true;
            }
        }
        if ws.rsc(r).role < Role::Started {
            set_active(ws, r);
        }
    } else if task.eq_ignore_ascii_case("start") {
        ws.rsc_mut(r).role = Role::Started;
        clear_past = true;
    } else if task.eq_ignore_ascii_case("stop") {
        ws.rsc_mut(r).role = Role::Stopped;
        clear_past = true;
    } else if task.eq_ignore_ascii_case("promote") {
        ws.rsc_mut(r).role = Role::Promoted;
        clear_past = true;
    } else if task.eq_ignore_ascii_case("demote") {
        if *on_fail == OnFail::Demote {
            clear_past = true;
        }
        ws.rsc_mut(r).role = Role::Unpromoted;
    } else if task.eq_ignore_ascii_case("migrate_from") {
        ws.rsc_mut(r).role = Role::Started;
        clear_past = true;
    } else if task.eq_ignore_ascii_case("migrate_to") {
        super::migration::unpack_migrate_to_success(ws, r, n, op, all_ops);
    } else if ws.rsc(r).role < Role::Started {
        set_active(ws, r);
    }
    if clear_past {
        match *on_fail {
            OnFail::Stop | OnFail::Fence | OnFail::Migrate | OnFail::Standby => {}
            OnFail::Block
            | OnFail::Ignore
            | OnFail::Demote
            | OnFail::Recover
            | OnFail::RestartContainer => {
                *on_fail = OnFail::Ignore;
                ws.rsc_mut(r).next_role = Role::Unknown;
            }
        }
    }
}

fn unpack_rsc_op_failure<'a>(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    rc_code: i32,
    op: &'a LrmRscOp,
    last_failure: &mut Option<&'a LrmRscOp>,
    on_fail: &mut OnFail,
    all_ops: &[&'a LrmRscOp],
) {
    let key = op_key_of(op).to_string();
    let task = op.operation.clone();
    *last_failure = Some(op);
    let probe = is_probe(op);
    if ws.config.symmetric || rc_code != rc::ERR_INSTALLED {
        ws.failed_ops.push((r, n, op.id.clone()));
    }
    let (action_on_fail, fail_role) = ws.failure_policy_for_key(r, &key, &task);
    if cmp_on_fail(*on_fail, action_on_fail) < 0 {
        *on_fail = action_on_fail;
    }
    if task == "stop" {
        resource_location(ws, r, Some(n), -INF, "__stop_fail__");
    } else if task == "migrate_to" {
        super::migration::unpack_migrate_to_failure(ws, r, n, op, all_ops);
    } else if task == "migrate_from" {
        super::migration::unpack_migrate_from_failure(ws, r, n, op, all_ops);
    } else if task == "promote" {
        ws.rsc_mut(r).role = Role::Promoted;
    } else if task == "demote" {
        if action_on_fail == OnFail::Block {
            ws.rsc_mut(r).role = Role::Promoted;
            ws.rsc_mut(r).next_role = Role::Stopped;
        } else if rc_code == rc::NOT_RUNNING {
            ws.rsc_mut(r).role = Role::Stopped;
        } else {
            ws.rsc_mut(r).role = Role::Unpromoted;
        }
    }
    if probe && rc_code == rc::ERR_INSTALLED {
        ws.rsc_mut(r).role = Role::Stopped;
    } else if ws.rsc(r).role < Role::Started {
        set_active(ws, r);
    }
    if fail_role != Role::Started && ws.rsc(r).next_role < fail_role {
        ws.rsc_mut(r).next_role = fail_role;
    }
    if fail_role == Role::Stopped {
        let order = ws.node_order.clone();
        let rsc = ws.rsc_mut(r);
        for slot in rsc.allowed.iter_mut() {
            *slot = None;
        }
        for nn in order {
            rsc.allowed[nn.0 as usize] = Some(Allowed {
                weight: -INF,
                discover: Discover::Always,
            });
        }
    }
}

fn unpack_rsc_op<'a>(
    ws: &mut Ws,
    r: RscIdx,
    n: NodeIdx,
    op: &'a LrmRscOp,
    all_ops: &[&'a LrmRscOp],
    last_failure: &mut Option<&'a LrmRscOp>,
    on_fail: &mut OnFail,
) {
    let task = op.operation.clone();
    if task.is_empty() {
        return;
    }
    let mut status = op.op_status.unwrap_or(-2);
    if !(-1..=11).contains(&status) {
        return;
    }
    if task == "notify" || task == "meta-data" {
        return;
    }
    let target_rc = target_rc_from_key(op.transition_key.as_deref());
    let mut rc_code = op.rc_code.unwrap_or(0);
    let interval = op.interval_ms.unwrap_or(0);
    let mut expired = false;
    if status != ExecStatus::NotInstalled.code() && check_operation_expiry(ws, r, n, rc_code, op) {
        expired = true;
    }
    let old_rc = rc_code;
    remap_operation(ws, r, n, op, on_fail, target_rc, &mut rc_code, &mut status);
    let maskable = mask_probe_failure(op);
    if expired && maskable && old_rc != target_rc {
        if ws.rsc(r).role <= Role::Stopped {
            ws.rsc_mut(r).role = Role::Unknown;
        }
        return;
    } else if expired && rc_code != target_rc {
        if interval == 0 {
            return;
        } else if ws.node(n).online && !ws.node(n).unclean {
            // The recurring operation is issued again: its restart digest
            // is taken as changed when its definition is checked.
            ws.restart_digest_overrides.insert((n, op.id.clone()));
            return;
        }
    }
    if maskable {
        update_resource_state(
            ws,
            r,
            n,
            op,
            &task,
            target_rc,
            *last_failure,
            on_fail,
            all_ops,
        );
        ws.failed_ops.push((r, n, op.id.clone()));
        resource_location(ws, r, Some(n), -INF, "masked-probe-failure");
        return;
    }
    let done = ExecStatus::Done.code();
    match status {
        s if s == ExecStatus::Cancelled.code() => return,
        -1 => {
            if task == "start" {
                ws.rsc_mut(r).set(rflag::START_PENDING);
                set_active(ws, r);
            } else if task == "promote" {
                ws.rsc_mut(r).role = Role::Promoted;
            } else if task == "migrate_to" && ws.node(n).unclean {
                if let Some(t) = op.migrate_target.as_deref().and_then(|t| ws.find_node(t)) {
                    ws.rsc_action(r, "stop", Some(t), false);
                }
            }
            if ws.rsc(r).pending_task.is_none() && (interval != 0 || task != "monitor") {
                ws.rsc_mut(r).pending_task = Some(task.clone());
                ws.rsc_mut(r).pending_node = Some(n);
            }
            return;
        }
        s if s == done => {
            update_resource_state(
                ws,
                r,
                n,
                op,
                &task,
                rc_code,
                *last_failure,
                on_fail,
                all_ops,
            );
            return;
        }
        s if s == ExecStatus::NotInstalled.code() => {
            let (strategy, _) = ws.failure_policy_for_key(r, op_key_of(op), &task);
            if strategy == OnFail::Ignore {
                *on_fail = OnFail::Migrate;
            }
            resource_location(ws, r, Some(n), -INF, "hard-error");
            unpack_rsc_op_failure(ws, r, n, rc_code, op, last_failure, on_fail, all_ops);
            return;
        }
        s if s == ExecStatus::NoFenceDevice.code() || s == ExecStatus::NoSecrets.code() => {
            status = ExecStatus::ErrorHard.code();
        }
        _ => {}
    }
    let (strategy, _) = ws.failure_policy_for_key(r, op_key_of(op), &task);
    if strategy == OnFail::Ignore || (strategy == OnFail::RestartContainer && task == "stop") {
        update_resource_state(
            ws,
            r,
            n,
            op,
            &task,
            target_rc,
            *last_failure,
            on_fail,
            all_ops,
        );
        ws.rsc_mut(r).set(rflag::FAILURE_IGNORED);
        ws.failed_ops.push((r, n, op.id.clone()));
        if strategy == OnFail::RestartContainer && cmp_on_fail(*on_fail, OnFail::Recover) <= 0 {
            *on_fail = strategy;
        }
    } else {
        unpack_rsc_op_failure(ws, r, n, rc_code, op, last_failure, on_fail, all_ops);
        if status == ExecStatus::ErrorHard.code() {
            resource_location(ws, r, Some(n), -INF, "hard-error");
        } else if status == ExecStatus::ErrorFatal.code() {
            resource_location(ws, r, None, -INF, "fatal-error");
        }
    }
}
