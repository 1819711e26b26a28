//! `warden simulate`: what the cluster would do with a CIB, as Pacemaker's
//! `crm_simulate` shows it — the current status, the allocation scores
//! (`-s`), the transition summary (`-R`), the transition carried out with
//! every action succeeding and the status that results (`-S`) — in
//! `crm_simulate`'s exact text (Pacemaker 2.1.5) or as JSON (`--json`, the
//! shape of the scheduler conformance corpus' `expected.json`), with the
//! transition graph saved as Pacemaker's XML (`-G`) or dot (`-D`) and the
//! resulting CIB (`-O`).
//!
//! The decisions are the scheduler's ([`scheduler::schedule_with`]), the
//! resulting CIB is [`scheduler::revised`], the status lists are
//! [`crate::status::text`]; this module only sequences and formats them.
//!
//! Invariant: the CIB file given is only read; nothing is written but the
//! files the operator names (`-G`, `-D`, `-O`), each atomically. Secret
//! parameter values appear in none of the output but the resulting CIB.

use super::command::SimulateSpec;
use super::error::CliError;
use crate::core::cib::{self, Cib};
use crate::core::scheduler::{
    self, ActionId, GraphAction, GraphActionKind, Placement, Schedule, ScheduleOptions,
    TransitionGraph,
};
use crate::core::time::{format_iso8601, parse_iso8601, Timestamp};
use crate::shell::store;
use crate::status::text::{self, TextOut};
use crate::status::StatusView;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// Exit code when the transition cannot be carried out to its end
/// (Pacemaker's `pcmk_rc_invalid_transition` as `crm_simulate` exits).
pub const EXIT_INVALID_TRANSITION: u8 = 1;

/// Runs `simulate`; the exit code on success.
pub fn run(
    spec: &SimulateSpec,
    file: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let file = spec
        .xml_file
        .as_deref()
        .or(file)
        .ok_or(CliError::LiveMode {
            command: "simulate".into(),
        })?;
    let path = Path::new(file);
    if !path.exists() {
        return Err(CliError::rejected(format!(
            "cannot read the CIB file {file}: it does not exist"
        )));
    }
    let cib = super::load(path)?;
    // The time now: given, else the CIB's execution date, else the clock.
    let (now, date_line) = match &spec.date {
        Some(d) => {
            let secs = parse_iso8601(d).ok_or_else(|| {
                CliError::usage(format!(
                    "invalid date '{d}' for --set-datetime: expected ISO 8601, e.g. '2025-06-01 00:00:00Z'"
                ))
            })?;
            (
                Timestamp::from_secs(secs),
                Some(format!("Setting effective cluster time: {d}")),
            )
        }
        None => match execution_date(&cib) {
            Some(secs) => (
                Timestamp::from_secs(secs),
                Some(format!(
                    "Using the original execution date of: {}",
                    format_iso8601(secs)
                )),
            ),
            None => (super::now(), None),
        },
    };
    let options = ScheduleOptions {
        show_scores: spec.show_scores,
        // As crm_simulate: secure digests of a saved CIB are computed
        // without the private parameters.
        sanitized: true,
        // The status printed first comes from the same reading.
        current_state: true,
    };
    // crm_simulate only schedules when asked for something that needs it.
    let sched = if spec.run || spec.simulate || spec.json || spec.save_output.is_some() {
        scheduler::schedule_with(&cib, now, options)
    } else {
        Schedule::default()
    };
    let after = (spec.simulate || spec.json || spec.save_output.is_some())
        .then(|| scheduler::revised(&cib, &sched, now));
    let order = execution(&sched.graph, &sched.synapse_order);

    if let Some(f) = &spec.save_graph {
        save(f, &graph_xml(&cib, &sched), "the transition graph")?;
    }
    if let Some(f) = &spec.save_dotfile {
        save(f, &graph_dot(&sched), "the transition graph")?;
    }
    if let Some(f) = &spec.save_output {
        let result = match (&after, spec.simulate) {
            (Some((revised, _)), true) => revised,
            _ => &cib,
        };
        save(f, &cib::to_xml(result), "the resulting CIB")?;
    }
    let complete = order.len() == sched.graph.actions.len();
    if spec.json {
        let (revised, placement) = after.as_ref().expect("computed for --json");
        let json = outcome_json(&sched, revised, placement, now);
        let mut s = serde_json::to_string_pretty(&json).expect("JSON serializes");
        s.push('\n');
        write_out(out, &s)?;
    } else {
        let mut o = TextOut::new(!spec.show_scores);
        o.quiet = spec.quiet;
        render(
            &mut o,
            spec,
            &cib,
            &sched,
            after.as_ref().map(|a| &a.0),
            &order,
            now,
            date_line.as_deref(),
        );
        write_out(out, &o.out)?;
    }
    // The process ends after this command: freeing a large CIB and its
    // schedule node by node would cost a tenth of the whole run, and the
    // kernel takes the memory back at once.
    std::mem::forget((cib, sched, after));
    if spec.simulate && !complete {
        let _ = writeln!(err, "Transition failed: terminated");
        let _ = writeln!(err, "An invalid transition was produced");
        return Ok(EXIT_INVALID_TRANSITION);
    }
    Ok(0)
}

fn write_out(out: &mut dyn Write, s: &str) -> Result<(), CliError> {
    out.write_all(s.as_bytes()).map_err(|e| CliError::Io {
        action: "cannot write to",
        path: "standard output".into(),
        source: e,
    })
}

fn save(file: &str, text: &str, what: &'static str) -> Result<(), CliError> {
    store::write_atomic(Path::new(file), text.as_bytes()).map_err(|e| CliError::Io {
        action: match what {
            "the resulting CIB" => "cannot write the resulting CIB to",
            _ => "cannot write the transition graph to",
        },
        path: file.to_string(),
        source: e,
    })
}

/// The `execution-date` the CIB records (seconds), if any.
fn execution_date(cib: &Cib) -> Option<i64> {
    cib.extra_attrs
        .iter()
        .find(|(k, _)| k == "execution-date")
        .and_then(|(_, v)| v.trim().parse().ok())
        .filter(|s| *s != 0)
}

/// The order in which the transition's actions run when each completes at
/// once: passes over the synapses in order, each firing every synapse whose
/// inputs are done (`pcmk__execute_graph`). Actions whose inputs never
/// complete are left out.
pub fn execution(graph: &TransitionGraph, synapses: &[ActionId]) -> Vec<ActionId> {
    let n = graph.actions.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    loop {
        let mut fired = false;
        for &id in synapses {
            let i = id.0 as usize;
            if done[i] {
                continue;
            }
            let a = &graph.actions[i];
            if a.can_fire() && a.inputs.iter().all(|x| done[x.0 as usize]) {
                done[i] = true;
                order.push(id);
                fired = true;
            }
        }
        if !fired {
            return order;
        }
    }
}

/// A scheduler notice as crm_simulate words it: its interval text comes
/// from one static buffer that a zero interval leaves as it was ("0s" only
/// while nothing was written yet), so a zero interval repeats the last
/// interval the process wrote, in this output or before it.
fn notice_line(o: &mut TextOut, notice: &scheduler::Notice) -> String {
    let scheduler::Notice::OnlyPrivateParametersChanged { interval_ms, .. } = notice;
    let words = if *interval_ms > 0 {
        let w = crate::core::time::readable_interval(*interval_ms);
        o.last_interval = Some(w.clone());
        w
    } else {
        o.last_interval.clone().unwrap_or_else(|| "0s".to_string())
    };
    notice.message(&words)
}

/// How `crm_simulate` reports carrying out one action.
fn execution_line(a: &GraphAction) -> String {
    match &a.kind {
        GraphActionKind::Pseudo { name } => format!("Pseudo action:   {name}"),
        GraphActionKind::Resource { request, .. } => {
            let op = if request.interval_ms > 0 {
                format!("{}={}", request.action, request.interval_ms)
            } else {
                request.action.clone()
            };
            format!(
                "Resource action: {:<15} {op} on {}",
                request.rsc_id, request.node
            )
        }
        GraphActionKind::Cancel {
            rsc_id,
            node,
            interval_ms,
            ..
        } => format!("Resource action: {rsc_id:<15} cancel={interval_ms} on {node}"),
        GraphActionKind::ForgetHistory { rsc_id, node } => {
            format!("Resource action: {rsc_id:<15} delete on {node}")
        }
        GraphActionKind::ClearFailcount { rsc_id, node } => {
            format!("Cluster action:  clear_failcount for {rsc_id} on {node}")
        }
        GraphActionKind::Shutdown { node } => format!("Cluster action:  do_shutdown on {node}"),
        GraphActionKind::Fence { target, action, .. } => {
            format!("Fencing {target} ({})", action.as_str())
        }
    }
}

fn status_view(cib: &Cib, now: Timestamp) -> StatusView {
    crate::status::build_lists(cib, now)
}

/// The text `crm_simulate` prints, section by section (`pcmk__simulate`).
#[allow(clippy::too_many_arguments)]
fn render(
    o: &mut TextOut,
    spec: &SimulateSpec,
    cib: &Cib,
    sched: &Schedule,
    revised: Option<&Cib>,
    order: &[ActionId],
    now: Timestamp,
    date_line: Option<&str>,
) {
    if let Some(l) = date_line {
        o.info(l);
    }
    let mut printed = false;
    if !o.quiet {
        let current = match &sched.current {
            Some(state) => crate::status::build_from(cib, state),
            None => status_view(cib, now),
        };
        printed = text::maint_mode(o, &current);
        let sm = &current.summary;
        if sm.disabled > 0 || sm.blocked > 0 {
            if printed {
                o.spacer();
            }
            o.info(&format!(
                "{} of {} resource instances DISABLED and {} BLOCKED from further action due to failure",
                sm.disabled, sm.resource_instances, sm.blocked
            ));
            printed = true;
        }
        text::cluster_status(o, &current, true, "Current cluster status", printed);
        printed = true;
    }
    if spec.run {
        if spec.show_scores {
            if printed {
                o.spacer();
            }
            o.begin_list("Allocation Scores");
            printed = true;
            for notice in &sched.notices {
                let line = notice_line(o, notice);
                o.item(None, &line);
            }
            for line in &sched.scores {
                o.item(None, &line.to_string());
            }
            o.end_list();
        }
        if !o.quiet {
            if printed {
                o.spacer();
            }
            o.begin_list("Transition Summary");
            for line in summary_lines(&sched.summary_lines) {
                o.item(None, &line);
            }
            o.end_list();
        }
    }
    if !spec.simulate {
        return;
    }
    if printed {
        o.spacer();
    }
    if !o.quiet {
        o.begin_list("Executing Cluster Transition");
        for id in order {
            o.item(None, &execution_line(sched.graph.action(*id)));
        }
        o.end_list();
    }
    if o.quiet {
        return;
    }
    if let Some(l) = date_line {
        o.info(l);
    }
    let revised = status_view(revised.expect("computed for -S"), now);
    text::cluster_status(o, &revised, false, "Revised Cluster Status", true);
}

/// One resource line of the summary, taken apart.
struct SummaryItem<'a> {
    change: &'a str,
    rsc: &'a str,
    details: &'a str,
    rest: &'a str,
}

fn summary_item(line: &str) -> Option<SummaryItem<'_>> {
    let body = line.strip_prefix("* ")?;
    let (change, after) = body.split_once(' ')?;
    let after = after.trim_start();
    let (rsc, after) = after.split_once(' ')?;
    let after = after.trim_start().strip_prefix("( ")?;
    let end = after.find(" )")?;
    Some(SummaryItem {
        change,
        rsc,
        details: after[..end].trim_start(),
        rest: &after[end + 2..],
    })
}

/// The summary lines as `crm_simulate` prints them, without their bullet.
/// Pacemaker lays the resource lines out in columns whose widths it grows
/// while it first logs the summary, so the printed lines all use the final
/// widths.
fn summary_lines(lines: &[String]) -> Vec<String> {
    let (mut rsc_w, mut detail_w) = (5usize, 5usize);
    for item in lines.iter().filter_map(|l| summary_item(l)) {
        if item.rsc.len() > rsc_w {
            rsc_w = item.rsc.len() + 2;
        }
        detail_w = detail_w.max(item.details.len());
    }
    lines
        .iter()
        .map(|l| match summary_item(l) {
            Some(i) => format!(
                "{:<8}   {:<rsc_w$}   ( {:>detail_w$} ){}",
                i.change, i.rsc, i.details, i.rest
            ),
            None => l.strip_prefix("* ").unwrap_or(l).to_string(),
        })
        .collect()
}

// ---- JSON ----------------------------------------------------------------------

/// The outcome in the corpus' `expected.json` shape.
fn outcome_json(
    sched: &Schedule,
    revised: &Cib,
    placement: &std::collections::BTreeMap<String, Placement>,
    now: Timestamp,
) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let placement: Map<String, Value> = placement
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Placement::Stopped => Value::Null,
                Placement::On(n) => Value::String(n.clone()),
                Placement::Several(ns) => {
                    Value::Array(ns.iter().cloned().map(Value::String).collect())
                }
            };
            (k.clone(), v)
        })
        .collect();
    let mut shutdown: Vec<String> = sched
        .graph
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            GraphActionKind::Shutdown { node } => Some(node.clone()),
            _ => None,
        })
        .collect();
    shutdown.sort();
    shutdown.dedup();
    let summary: Vec<String> = sched
        .summary_lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let after = scheduler::current_state(revised, now);
    let mut final_state = Map::new();
    for r in &after.resources {
        if r.orphan && r.running_on.is_empty() {
            continue;
        }
        final_state.insert(
            r.id.clone(),
            json!({
                "role": r.role,
                "managed": r.managed,
                "failed": r.failed,
                "blocked": r.blocked,
                "orphaned": r.orphan,
            }),
        );
    }
    let final_nodes: Map<String, Value> = after
        .nodes
        .iter()
        .map(|n| {
            let s = if n.online { "online" } else { "offline" };
            (n.name.clone(), Value::String(s.into()))
        })
        .collect();
    json!({
        "now": format_iso8601(now.secs()).replace(' ', "T"),
        "actions": sched.summary,
        "placement": placement,
        "fenced": sched.fenced,
        "shutdown": shutdown,
        "transition_summary": summary,
        "final_state": final_state,
        "final_nodes": final_nodes,
    })
}

// ---- the graph as Pacemaker writes it ----------------------------------------

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    crate::core::cib::xml::escape_attr(s, &mut out);
    out
}

/// The element, operation, operation key and node of a graph action.
struct Event<'a> {
    element: &'static str,
    operation: String,
    key: String,
    node: Option<&'a str>,
}

fn event(a: &GraphAction) -> Event<'_> {
    match &a.kind {
        GraphActionKind::Resource { request, .. } => Event {
            element: "rsc_op",
            operation: request.action.clone(),
            key: request.key(),
            node: Some(&request.node),
        },
        GraphActionKind::Cancel {
            rsc_id,
            node,
            action,
            interval_ms,
        } => Event {
            element: "rsc_op",
            operation: "cancel".into(),
            key: format!("{rsc_id}_{action}_{interval_ms}"),
            node: Some(node),
        },
        GraphActionKind::ForgetHistory { rsc_id, node } => Event {
            element: "rsc_op",
            operation: "delete".into(),
            key: format!("{rsc_id}_delete_0"),
            node: Some(node),
        },
        GraphActionKind::ClearFailcount { rsc_id, node } => Event {
            element: "crm_event",
            operation: "clear_failcount".into(),
            key: format!("{rsc_id}_clear_failcount_0"),
            node: Some(node),
        },
        GraphActionKind::Shutdown { node } => Event {
            element: "crm_event",
            operation: "do_shutdown".into(),
            key: format!("do_shutdown-{node}"),
            node: Some(node),
        },
        GraphActionKind::Fence { target, action, .. } => Event {
            element: "crm_event",
            operation: "stonith".into(),
            key: format!("stonith-{target}-{}", action.as_str()),
            node: Some(target),
        },
        GraphActionKind::Pseudo { name } => Event {
            element: "pseudo_event",
            operation: scheduler::util::parse_op_key(name)
                .map(|(_, task, _)| task)
                .unwrap_or_else(|| name.clone()),
            key: name.clone(),
            node: None,
        },
    }
}

fn node_uuid<'a>(cib: &'a Cib, uname: &'a str) -> &'a str {
    cib.configuration
        .nodes
        .iter()
        .find(|n| n.uname == uname)
        .map(|n| n.id.as_str())
        .unwrap_or(uname)
}

fn event_open(cib: &Cib, a: &GraphAction, close: bool) -> String {
    let e = event(a);
    let mut s = format!(
        "<{} id=\"{}\" operation=\"{}\" operation_key=\"{}\"",
        e.element,
        a.id,
        esc(&e.operation),
        esc(&e.key)
    );
    if let Some(n) = e.node {
        let _ = write!(
            s,
            " on_node=\"{}\" on_node_uuid=\"{}\"",
            esc(n),
            esc(node_uuid(cib, n))
        );
    }
    s.push_str(if close { "/>" } else { ">" });
    s
}

/// The `<attributes>` of an action: its meta attributes as `CRM_meta_*`,
/// then its parameters.
fn attributes(cib: &Cib, a: &GraphAction) -> String {
    let mut attrs: Vec<(String, String)> = Vec::new();
    let meta = |attrs: &mut Vec<(String, String)>, k: &str, v: &str| {
        attrs.push((format!("CRM_meta_{}", k.replace('-', "_")), v.to_string()));
    };
    if let Some(n) = event(a).node {
        meta(&mut attrs, "on_node", n);
        meta(&mut attrs, "on_node_uuid", node_uuid(cib, n));
    }
    match &a.kind {
        GraphActionKind::Resource {
            request,
            expected_rc,
        } => {
            if request.interval_ms > 0 {
                meta(&mut attrs, "interval", &request.interval_ms.to_string());
            }
            for (k, v) in &request.meta {
                meta(&mut attrs, k, v);
            }
            if !request.meta.contains_key("op_target_rc") && *expected_rc != 0 {
                meta(&mut attrs, "op_target_rc", &expected_rc.to_string());
            }
            meta(&mut attrs, "timeout", &request.timeout_ms.to_string());
            for (k, v) in &request.params {
                // The graph is for reading the transition: secrets stay in the CIB.
                let v = if crate::core::action::is_secret_param(k) {
                    "********".to_string()
                } else {
                    v.clone()
                };
                attrs.push((k.clone(), v));
            }
        }
        GraphActionKind::Fence { action, .. } => {
            meta(&mut attrs, "stonith_action", action.as_str());
        }
        GraphActionKind::Cancel {
            action,
            interval_ms,
            ..
        } => {
            meta(&mut attrs, "call_id", "");
            meta(&mut attrs, "interval", &interval_ms.to_string());
            meta(&mut attrs, "operation", action);
        }
        _ => {}
    }
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = String::from("<attributes");
    for (k, v) in attrs {
        let _ = write!(s, " {}=\"{}\"", esc(&k), esc(&v));
    }
    s.push_str("/>");
    s
}

fn primitive_of(cib: &Cib, a: &GraphAction) -> Option<String> {
    let (id, agent) = match &a.kind {
        GraphActionKind::Resource { request, .. } => {
            (request.rsc_id.clone(), Some(request.agent.clone()))
        }
        GraphActionKind::Cancel { rsc_id, .. }
        | GraphActionKind::ForgetHistory { rsc_id, .. }
        | GraphActionKind::ClearFailcount { rsc_id, .. } => (rsc_id.clone(), None),
        _ => return None,
    };
    let (class, provider, kind) = match agent {
        Some(a) => (a.standard.as_str().to_string(), a.provider, a.kind),
        None => {
            let p = cib.configuration.primitives().find(|p| p.id == id)?;
            (
                p.class.clone().unwrap_or_default(),
                p.provider.clone(),
                p.kind.clone().unwrap_or_default(),
            )
        }
    };
    let mut s = format!("<primitive id=\"{}\" class=\"{}\"", esc(&id), esc(&class));
    if let Some(p) = provider {
        let _ = write!(s, " provider=\"{}\"", esc(&p));
    }
    let _ = write!(s, " type=\"{}\"/>", esc(&kind));
    Some(s)
}

fn property_or<'a>(cib: &'a Cib, name: &str, default: &'a str) -> &'a str {
    cib.configuration.property(name).unwrap_or(default)
}

/// The transition graph in Pacemaker's XML (`transition_graph`, one
/// `synapse` per action in synapse order, each with its `action_set` and
/// the `inputs` it waits for).
pub fn graph_xml(cib: &Cib, sched: &Schedule) -> String {
    let graph = &sched.graph;
    let fatal = cib
        .configuration
        .property("start-failure-is-fatal")
        .is_none_or(scheduler::util::is_true);
    let mut s = format!(
        "<transition_graph cluster-delay=\"{}\" stonith-timeout=\"{}\" failed-stop-offset=\"INFINITY\" failed-start-offset=\"{}\" batch-limit=\"{}\" transition_id=\"0\"",
        esc(property_or(cib, "cluster-delay", "60s")),
        esc(property_or(cib, "stonith-timeout", "60s")),
        if fatal { "INFINITY" } else { "1" },
        esc(property_or(cib, "batch-limit", "0")),
    );
    if let Some(limit) = cib
        .configuration
        .property("migration-limit")
        .filter(|l| l.parse::<i64>().is_ok_and(|l| l > 0))
    {
        let _ = write!(s, " migration-limit=\"{}\"", esc(limit));
    }
    if let Some(t) = sched.recheck_by {
        let _ = write!(s, " recheck-by=\"{}\"", t.secs());
    }
    if graph.actions.is_empty() {
        s.push_str("/>\n");
        return s;
    }
    s.push_str(">\n");
    let mut next_id = graph.actions.len() as u32;
    for (n, id) in sched.synapse_order.iter().enumerate() {
        let a = graph.action(*id);
        let _ = writeln!(s, "  <synapse id=\"{n}\">");
        s.push_str("    <action_set>\n");
        let _ = writeln!(s, "      {}", event_open(cib, a, false));
        if let Some(p) = primitive_of(cib, a) {
            let _ = writeln!(s, "        {p}");
        }
        let _ = writeln!(s, "        {}", attributes(cib, a));
        let _ = writeln!(s, "      </{}>", event(a).element);
        s.push_str("    </action_set>\n");
        if a.inputs.is_empty() && a.unrunnable_inputs.is_empty() {
            s.push_str("    <inputs/>\n");
        } else {
            s.push_str("    <inputs>\n");
            for i in &a.inputs {
                s.push_str("      <trigger>\n");
                let _ = writeln!(s, "        {}", event_open(cib, graph.action(*i), true));
                s.push_str("      </trigger>\n");
            }
            // Inputs that cannot run in this transition stay as triggers,
            // as Pacemaker writes them: the action never fires. They are
            // not in the graph, so they get ids past its last action.
            for kind in &a.unrunnable_inputs {
                let missing = GraphAction {
                    id: ActionId(next_id),
                    kind: kind.clone(),
                    inputs: Vec::new(),
                    unrunnable_inputs: Vec::new(),
                };
                next_id += 1;
                s.push_str("      <trigger>\n");
                let _ = writeln!(s, "        {}", event_open(cib, &missing, true));
                s.push_str("      </trigger>\n");
            }
            s.push_str("    </inputs>\n");
        }
        s.push_str("  </synapse>\n");
    }
    s.push_str("</transition_graph>\n");
    s
}

/// An action's name in dot output (`create_action_name`).
fn dot_name(sched: &Schedule, a: &GraphAction) -> String {
    match &a.kind {
        GraphActionKind::Resource { request, .. } => format!("{} {}", request.key(), request.node),
        GraphActionKind::Cancel {
            rsc_id,
            node,
            action,
            interval_ms,
        } => format!("Cancel {rsc_id}_{action}_{interval_ms} {node}"),
        GraphActionKind::ForgetHistory { rsc_id, node } => format!("{rsc_id}_delete_0 {node}"),
        GraphActionKind::ClearFailcount { rsc_id, node } => {
            format!("{rsc_id}_clear_failcount_0 {node}")
        }
        GraphActionKind::Shutdown { node } => format!("do_shutdown {node}"),
        GraphActionKind::Fence { target, action, .. } => {
            format!("stonith '{}' {target}", action.as_str())
        }
        GraphActionKind::Pseudo { name } => match sched.pseudo_nodes.get(&a.id) {
            Some(node) => format!("{name} {node}"),
            None => name.clone(),
        },
    }
}

/// The transition graph in dot: every action, newest first, then every
/// ordering between them (`write_sim_dotfile` without `--all-actions`).
pub fn graph_dot(sched: &Schedule) -> String {
    let graph = &sched.graph;
    let mut s = String::from(" digraph \"g\" {\n");
    for a in graph.actions.iter().rev() {
        let font = if matches!(a.kind, GraphActionKind::Pseudo { .. }) {
            "orange"
        } else {
            "black"
        };
        let _ = writeln!(
            s,
            "\"{}\" [ style=bold color=\"green\" fontcolor=\"{font}\"]",
            dot_name(sched, a)
        );
    }
    for a in graph.actions.iter().rev() {
        for i in a.inputs.iter().rev() {
            let _ = writeln!(
                s,
                "\"{}\" -> \"{}\" [ style = bold]",
                dot_name(sched, graph.action(*i)),
                dot_name(sched, a)
            );
        }
    }
    s.push_str("}\n");
    s
}
