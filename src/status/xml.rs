//! The status view as XML, in the element and attribute names of crm_mon's
//! XML output (`summary`, `nodes/node`, `resources/resource|group`,
//! `failures/failure`) so that tools reading one can read the other.
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

fn primitive(w: &mut XmlWriter, p: &PrimitiveView) {
    let n = p.nodes.len().to_string();
    let attrs = [
        ("id", p.id.as_str()),
        ("resource_agent", p.agent.as_str()),
        ("role", p.role.as_str()),
        ("target_role", if p.disabled { "Stopped" } else { "" }),
        ("active", b(!p.nodes.is_empty())),
        ("orphaned", "false"),
        ("blocked", b(p.blocked)),
        ("managed", b(p.managed)),
        ("failed", b(p.failed)),
        ("failure_ignored", "false"),
        ("nodes_running_on", n.as_str()),
    ];
    let attrs: Vec<(&str, &str)> = attrs
        .into_iter()
        .filter(|(k, v)| *k != "target_role" || !v.is_empty())
        .collect();
    if p.nodes.is_empty() {
        w.empty("resource", &attrs, &[]);
        return;
    }
    w.open("resource", &attrs, &[]);
    for node in &p.nodes {
        w.empty("node", &[("name", node.as_str()), ("cached", "true")], &[]);
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
            ],
            &[],
        ),
        None => w.empty("current_dc", &[("present", "false")], &[]),
    }
    let mut lc: Vec<(&str, &str)> = vec![("time", sm.last_written.as_deref().unwrap_or(""))];
    for (k, v) in [
        ("user", &sm.last_user),
        ("client", &sm.last_client),
        ("origin", &sm.last_origin),
    ] {
        if let Some(v) = v {
            lc.push((k, v));
        }
    }
    w.empty("last_change", &lc, &[]);
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
    w.empty(
        "cluster_options",
        &[
            ("stonith-enabled", b(sm.stonith_enabled)),
            ("maintenance-mode", b(sm.maintenance_mode)),
            ("stop-all-resources", b(sm.stop_all_resources)),
        ],
        &[],
    );
    w.close("summary");

    w.open("nodes", &[], &[]);
    for node in &v.nodes {
        let running = node.running.to_string();
        w.empty(
            "node",
            &[
                ("name", node.name.as_str()),
                ("id", node.id.as_str()),
                ("online", b(node.online)),
                ("standby", b(node.standby)),
                ("maintenance", b(node.maintenance)),
                ("pending", b(node.pending)),
                ("unclean", b(node.unclean)),
                ("shutdown", b(node.shutdown)),
                ("is_dc", b(node.is_dc)),
                ("resources_running", running.as_str()),
                ("type", node.kind.as_str()),
            ],
            &[],
        );
    }
    w.close("nodes");

    w.open("resources", &[], &[]);
    for r in &v.resources {
        match r {
            ResourceView::Primitive(p) => primitive(&mut w, p),
            ResourceView::Group(g) => {
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
                    primitive(&mut w, m);
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
            let (rc, call, interval) = (
                f.rc.to_string(),
                f.call_id.map(|c| c.to_string()).unwrap_or_default(),
                f.interval_ms.to_string(),
            );
            let last = f.last_rc_change.map(text::ctime_utc).unwrap_or_default();
            let queued = f.queue_time_ms.map(|q| q.to_string()).unwrap_or_default();
            let exec = f.exec_time_ms.map(|q| q.to_string()).unwrap_or_default();
            w.empty(
                "failure",
                &[
                    ("op_key", f.op_key.as_str()),
                    ("node", f.node.as_str()),
                    ("exitstatus", text::rc_text(f.rc)),
                    ("exitreason", f.exit_reason.as_deref().unwrap_or("")),
                    ("exitcode", rc.as_str()),
                    ("call", call.as_str()),
                    ("status", text::status_text(f.status)),
                    ("last-rc-change", last.as_str()),
                    ("queued", queued.as_str()),
                    ("exec", exec.as_str()),
                    ("interval", interval.as_str()),
                    ("task", f.task.as_str()),
                ],
                &[],
            );
        }
        w.close("failures");
    }
    w.empty("status", &[("code", "0"), ("message", "OK")], &[]);
    w.close("pacemaker-result");
    w.out
}
