//! The status view as XML, in the elements and attributes of crm_mon's XML
//! output (`crm_mon --output-as xml` of Pacemaker 2.1: `summary`,
//! `nodes/node`, `resources/resource|group`, `failures/failure`), so that
//! tools reading one can read the other. Not produced: `last_update` (the
//! view describes the CIB, not the moment it is printed), `node_history`
//! (the operation history, which `warden -f FILE cluster cib` shows as
//! recorded), `node_attributes` and `bans` (which `node attribute` and
//! `constraint` show). Times are UTC.
//!
//! Invariant: pure formatting of a [`StatusView`].

use super::*;
use crate::core::cib::xml::XmlWriter;

fn b(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

fn primitive(w: &mut XmlWriter, v: &StatusView, p: &PrimitiveView) {
    let n = p.nodes.len().to_string();
    let role = if p.failed {
        p.role.as_str()
    } else {
        match p.pending_task.as_deref() {
            Some("start") => "Starting",
            Some("stop") => "Stopping",
            Some("migrate_to" | "migrate_from") => "Migrating",
            Some("promote") => "Promoting",
            Some("demote") => "Demoting",
            _ => p.role.as_str(),
        }
    };
    let pending = (p.pending_task.as_deref() == Some("monitor")).then_some("Monitoring");
    let locked = if p.locked { p.node.as_deref() } else { None };
    let attrs: Vec<(&str, &str)> = [
        ("id", Some(p.id.as_str())),
        ("resource_agent", Some(p.agent.as_str())),
        ("role", Some(role)),
        ("target_role", p.target_role.as_deref()),
        ("active", Some(b(p.active))),
        ("orphaned", Some(b(p.orphaned))),
        ("blocked", Some(b(p.blocked))),
        ("managed", Some(b(p.managed))),
        ("failed", Some(b(p.failed))),
        ("failure_ignored", Some(b(p.failure_ignored))),
        ("nodes_running_on", Some(n.as_str())),
        ("pending", pending),
        ("locked_to", locked),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    if p.nodes.is_empty() {
        w.empty("resource", &attrs, &[]);
        return;
    }
    w.open("resource", &attrs, &[]);
    for name in &p.nodes {
        let node = v.nodes.iter().find(|n| n.name == *name);
        w.empty(
            "node",
            &[
                ("name", name.as_str()),
                ("id", node.map(|n| n.id.as_str()).unwrap_or("")),
                ("cached", b(node.is_some_and(|n| n.online))),
            ],
            &[],
        );
    }
    w.close("resource");
}

/// The XML document.
pub fn render(v: &StatusView) -> String {
    let mut w = XmlWriter::new();
    w.out.push_str("<?xml version=\"1.0\"?>\n");
    w.open(
        "pacemaker-result",
        &[("api-version", "2.25"), ("request", "warden status")],
        &[],
    );
    let sm = &v.summary;
    w.open("summary", &[], &[]);
    w.empty("stack", &[("type", sm.stack.as_str())], &[]);
    match &sm.dc {
        Some(dc) => w.empty(
            "current_dc",
            &[
                ("present", "true"),
                ("version", dc.version.as_deref().unwrap_or("")),
                ("name", dc.name.as_str()),
                ("id", dc.id.as_str()),
                ("with_quorum", b(sm.have_quorum)),
                ("mixed_version", b(mixed_version(v))),
            ],
            &[],
        ),
        None => w.empty("current_dc", &[("present", "false")], &[]),
    }
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let (time, user, client, origin) = (
        s(&sm.last_written),
        s(&sm.last_user),
        s(&sm.last_client),
        s(&sm.last_origin),
    );
    w.empty(
        "last_change",
        &[
            ("time", time.as_str()),
            ("user", user.as_str()),
            ("client", client.as_str()),
            ("origin", origin.as_str()),
        ],
        &[],
    );
    let nodes = sm.nodes_configured.to_string();
    w.empty("nodes_configured", &[("number", nodes.as_str())], &[]);
    let (n, d, bl) = (
        sm.resource_instances.to_string(),
        sm.disabled.to_string(),
        sm.blocked.to_string(),
    );
    w.empty(
        "resources_configured",
        &[
            ("number", n.as_str()),
            ("disabled", d.as_str()),
            ("blocked", bl.as_str()),
        ],
        &[],
    );
    let (timeout, delay) = (
        sm.stonith_timeout_ms.to_string(),
        sm.priority_fencing_delay_ms.to_string(),
    );
    w.empty(
        "cluster_options",
        &[
            ("stonith-enabled", b(sm.stonith_enabled)),
            ("symmetric-cluster", b(sm.symmetric_cluster)),
            ("no-quorum-policy", sm.no_quorum_policy.as_str()),
            ("maintenance-mode", b(sm.maintenance_mode)),
            ("stop-all-resources", b(sm.stop_all_resources)),
            ("stonith-timeout-ms", timeout.as_str()),
            ("priority-fencing-delay-ms", delay.as_str()),
        ],
        &[],
    );
    w.close("summary");

    w.open("nodes", &[], &[]);
    for node in &v.nodes {
        let running = node.running.to_string();
        let attrs: Vec<(&str, &str)> = [
            ("name", Some(node.name.as_str())),
            ("id", Some(node.id.as_str())),
            ("online", Some(b(node.online))),
            ("standby", Some(b(node.standby))),
            ("standby_onfail", Some(b(node.standby_onfail))),
            ("maintenance", Some(b(node.maintenance))),
            ("pending", Some(b(node.pending))),
            ("unclean", Some(b(node.unclean))),
            ("health", Some("green")),
            ("feature_set", node.feature_set.as_deref()),
            ("shutdown", Some(b(node.shutdown))),
            ("expected_up", Some(b(node.expected_up))),
            ("is_dc", Some(b(node.is_dc))),
            ("resources_running", Some(running.as_str())),
            ("type", Some(node.kind.as_str())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        w.empty("node", &attrs, &[]);
    }
    w.close("nodes");

    w.open("resources", &[], &[]);
    for r in &v.resources {
        match r {
            ResourceView::Primitive(p) => {
                if p.orphaned && !p.active {
                    continue;
                }
                primitive(&mut w, v, p)
            }
            ResourceView::Group(g) => {
                if g.members.is_empty() {
                    continue;
                }
                let count = g.members.len().to_string();
                w.open(
                    "group",
                    &[
                        ("id", g.id.as_str()),
                        ("number_resources", count.as_str()),
                        ("managed", b(g.managed)),
                        ("disabled", b(g.disabled)),
                    ],
                    &[],
                );
                for m in &g.members {
                    primitive(&mut w, v, m);
                }
                w.close("group");
            }
            ResourceView::Other { kind, id } => {
                w.empty(kind, &[("id", id.as_str())], &[]);
            }
        }
    }
    w.close("resources");

    if !v.failed_actions.is_empty() {
        w.open("failures", &[], &[]);
        for f in &v.failed_actions {
            let rc = f.rc.to_string();
            let call = f.call_id.map(|c| c.to_string());
            let reason = f.exit_reason.as_deref().unwrap_or("none");
            let mut attrs: Vec<(&str, String)> = vec![
                (if f.has_key { "op_key" } else { "id" }, f.op_key.clone()),
                ("node", f.node.clone()),
                ("exitstatus", text::rc_text(f.rc).to_string()),
                ("exitreason", reason.to_string()),
                ("exitcode", rc),
            ];
            if let Some(c) = call {
                attrs.push(("call", c));
            }
            attrs.push(("status", text::status_text(f.status).to_string()));
            if let Some(t) = f.last_rc_change.filter(|t| *t > 0) {
                attrs.push(("last-rc-change", crate::core::time::format_iso8601(t)));
                for (k, v) in [("queued", f.queue_time_ms), ("exec", f.exec_time_ms)] {
                    if let Some(v) = v {
                        attrs.push((k, v.to_string()));
                    }
                }
                attrs.push(("interval", f.interval_ms.to_string()));
                attrs.push(("task", f.task.clone()));
            }
            let refs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.empty("failure", &refs, &[]);
        }
        w.close("failures");
    }
    w.empty("status", &[("code", "0"), ("message", "OK")], &[]);
    w.close("pacemaker-result");
    w.out
}

/// Whether the online members run different feature sets.
fn mixed_version(v: &StatusView) -> bool {
    let mut sets = v.nodes.iter().filter_map(|n| n.feature_set.as_deref());
    let first = sets.next();
    sets.any(|s| Some(s) != first)
}
