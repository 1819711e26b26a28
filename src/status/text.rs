//! The status view as text, laid out exactly as Pacemaker 2.1's tools lay
//! it out: `crm_mon -1 -r` ([`render`], minus its "Last updated" line: the
//! view describes the CIB, not the moment it is printed) and the cluster
//! lists `crm_simulate` prints ([`cluster_status`]).
//!
//! Pacemaker's text output is a stack of nested lists printed either
//! "fancy" (list titles, `* ` bullets, two spaces of indentation per level)
//! or plain (items only, no indentation: what `crm_simulate -s` prints);
//! [`TextOut`] reproduces both, so one set of renderers serves every tool
//! and mode.
//!
//! Invariant: pure formatting of a [`StatusView`]; times are printed in UTC
//! from the epoch seconds the CIB holds, never from a clock.

use super::*;
use std::fmt::Write as _;

/// Pacemaker's text output: nested lists, fancy or plain.
#[derive(Debug, Clone, Default)]
pub struct TextOut {
    /// Titles, bullets and indentation (Pacemaker's `--text-fancy`).
    pub fancy: bool,
    /// Informational lines are dropped (`-Q`).
    pub quiet: bool,
    depth: usize,
    pub out: String,
    /// The last interval written in words. Pacemaker words intervals into
    /// one static buffer that a zero interval does not overwrite, so its
    /// messages show a zero interval as the previous one; outputs that
    /// must match it byte for byte read this.
    pub last_interval: Option<String>,
}

impl TextOut {
    pub fn new(fancy: bool) -> TextOut {
        TextOut {
            fancy,
            ..TextOut::default()
        }
    }

    fn indent(&mut self) {
        if self.fancy {
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
            if self.depth > 0 {
                self.out.push_str("* ");
            }
        }
    }

    /// Opens a list (its title is printed only when fancy).
    pub fn begin_list(&mut self, title: &str) {
        if self.fancy {
            self.indent();
            self.out.push_str(title);
            self.out.push_str(":\n");
        }
        self.depth += 1;
    }

    /// One item; `label` ("Online", "Stack", ...) is printed only when fancy.
    pub fn item(&mut self, label: Option<&str>, text: &str) {
        self.indent();
        if let (true, Some(l)) = (self.fancy, label) {
            self.out.push_str(l);
            self.out.push_str(": ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    pub fn end_list(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// An empty line between sections.
    pub fn spacer(&mut self) {
        self.out.push('\n');
    }

    /// An informational line, never indented; dropped when quiet.
    pub fn info(&mut self, text: &str) {
        if !self.quiet {
            self.out.push_str(text);
            self.out.push('\n');
        }
    }

    /// Text printed as it is.
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Opens a section list unless it is open already (Pacemaker's
    /// `PCMK__OUTPUT_LIST_HEADER`); `open` tracks that.
    fn header(&mut self, open: &mut bool, spacer: bool, title: &str) {
        if !*open {
            if spacer {
                self.spacer();
            }
            self.begin_list(title);
            *open = true;
        }
    }

    fn footer(&mut self, open: bool) {
        if open {
            self.end_list();
        }
    }
}

/// What the resource lines show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShowOpts {
    /// Pending actions ("Starting", "(Monitoring)").
    pub pending: bool,
    /// Stopped resources too ("Full List of Resources").
    pub inactive: bool,
}

/// OCF exit codes as Pacemaker names them.
pub fn rc_text(rc: i32) -> &'static str {
    match rc {
        0 => "ok",
        1 => "error",
        2 => "invalid parameter",
        3 => "unimplemented feature",
        4 => "insufficient privileges",
        5 => "not installed",
        6 => "not configured",
        7 => "not running",
        8 => "promoted",
        9 => "promoted (failed)",
        190 => "OCF_DEGRADED",
        191 => "promoted (degraded)",
        _ => "unknown",
    }
}

/// Execution statuses as Pacemaker names them.
pub fn status_text(status: i32) -> &'static str {
    match status {
        -1 => "pending",
        0 => "complete",
        1 => "Cancelled",
        2 => "Timed Out",
        3 => "NOT SUPPORTED",
        4 => "Error",
        5 => "Hard error",
        6 => "Fatal error",
        7 => "Not installed",
        8 => "Internal communication failure",
        9 => "Cannot execute now",
        10 => "No fence device",
        11 => "CIB secrets unavailable",
        _ => "UNKNOWN!",
    }
}

pub use crate::core::time::readable_interval;

pub use crate::core::time::ctime_utc;

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The word for a resource's state: its pending action when asked for,
/// else its role.
fn state_word(p: &PrimitiveView, opts: ShowOpts) -> &str {
    let pending = match (opts.pending, p.pending_task.as_deref()) {
        (true, Some("start")) => Some("Starting"),
        (true, Some("stop")) => Some("Stopping"),
        (true, Some("migrate_to" | "migrate_from")) => Some("Migrating"),
        (true, Some("promote")) => Some("Promoting"),
        (true, Some("demote")) => Some("Demoting"),
        _ => None,
    };
    pending.unwrap_or(p.role.as_str())
}

/// One resource line (`pcmk__native_output_string`).
pub fn primitive_line(p: &PrimitiveView, opts: ShowOpts) -> String {
    let mut s = format!("{}\t({}):\t", p.id, p.agent);
    if p.orphaned {
        s.push_str(" ORPHANED");
    }
    if p.failed {
        s.push_str(" FAILED");
        if p.role == "Promoted" {
            s.push_str(" Promoted");
        }
    } else {
        s.push(' ');
        s.push_str(state_word(p, opts));
    }
    if let Some(n) = &p.node {
        s.push(' ');
        s.push_str(n);
    }
    if let (true, Some(rc)) = (p.role == "Stopped", p.failed_probe_rc) {
        let _ = write!(s, " ({}) ", rc_text(rc));
    }
    let mut flags: Vec<&str> = Vec::new();
    if p.unclean_node {
        flags.push("UNCLEAN");
    }
    if p.locked {
        flags.push("LOCKED");
    }
    if opts.pending && p.pending_task.as_deref() == Some("monitor") {
        flags.push("Monitoring");
    }
    if p.disabled {
        flags.push("disabled");
    }
    if p.blocked {
        flags.push("blocked");
    } else if !p.managed {
        flags.push("unmanaged");
    }
    if p.failure_ignored {
        flags.push("failure ignored");
    }
    if !flags.is_empty() {
        let _ = write!(s, " ({})", flags.join(", "));
    }
    if p.nodes.len() > 1 {
        if let Some(d) = &p.description {
            let _ = write!(s, " {d}");
        }
        let _ = write!(s, " [ {} ]", p.nodes.join(" "));
    }
    s
}

/// The "Node List" section (`node-list`): nodes in a bad or special state
/// one per line, the others in "Online" / "OFFLINE" lists.
pub fn node_list(o: &mut TextOut, v: &StatusView, spacer: bool) -> bool {
    let mut open = false;
    let mut lists: [(&str, Vec<&str>); 4] = [
        ("Online", Vec::new()),
        ("OFFLINE", Vec::new()),
        ("RemoteOnline", Vec::new()),
        ("RemoteOFFLINE", Vec::new()),
    ];
    for n in &v.nodes {
        o.header(&mut open, spacer, "Node List");
        let remote = n.kind == "remote";
        if n.shown_alone() {
            let kind = if remote { "RemoteNode" } else { "Node" };
            o.item(None, &format!("{kind} {}: {}", n.name, n.state_text()));
        } else {
            let i = usize::from(!n.online) + if remote { 2 } else { 0 };
            lists[i].1.push(&n.name);
        }
    }
    for (label, names) in &lists {
        if !names.is_empty() {
            o.item(Some(label), &format!("[ {} ]", names.join(" ")));
        }
    }
    o.footer(open);
    open
}

fn group_entry(o: &mut TextOut, g: &GroupView, opts: ShowOpts) -> bool {
    let mut open = false;
    let mut attrs: Vec<String> = Vec::new();
    let active_all = !g.members.is_empty() && g.members.iter().all(|m| m.active);
    let active_any = g.members.iter().any(|m| m.active);
    if !opts.inactive && !active_all && active_any {
        let n = g.members.iter().filter(|m| !m.active).count();
        attrs.push(format!("{n} member{} inactive", plural(n)));
    }
    if !g.managed {
        attrs.push("unmanaged".into());
    }
    if g.disabled {
        attrs.push("disabled".into());
    }
    let title = if attrs.is_empty() {
        format!("Resource Group: {}", g.id)
    } else {
        format!("Resource Group: {} ({})", g.id, attrs.join(", "))
    };
    for m in &g.members {
        if !(m.active || opts.inactive) {
            continue;
        }
        o.header(&mut open, false, &title);
        o.item(None, &primitive_line(m, opts));
    }
    o.footer(open);
    open
}

/// The resources section (`resource-list`).
pub fn resource_list(o: &mut TextOut, v: &StatusView, opts: ShowOpts, spacer: bool) -> bool {
    let title = if opts.inactive {
        "Full List of Resources"
    } else {
        "Active Resources"
    };
    let mut open = false;
    let mut printed = false;
    for r in &v.resources {
        match r {
            ResourceView::Primitive(p) => {
                if p.orphaned && !p.active {
                    continue;
                }
                if !p.active && !opts.inactive {
                    continue;
                }
                o.header(&mut open, spacer, title);
                o.item(None, &primitive_line(p, opts));
                printed = true;
            }
            ResourceView::Group(g) => {
                if !g.members.iter().any(|m| m.active) && !opts.inactive {
                    continue;
                }
                o.header(&mut open, spacer, title);
                printed |= group_entry(o, g, opts);
            }
            ResourceView::Other { kind, id } => {
                o.header(&mut open, spacer, title);
                o.item(
                    None,
                    &format!("{id}\t({kind}):\t not shown by this version of warden"),
                );
                printed = true;
            }
        }
    }
    if !printed {
        o.header(&mut open, spacer, title);
        o.item(
            None,
            if opts.inactive {
                "No resources"
            } else {
                "No active resources"
            },
        );
    }
    o.footer(open);
    open
}

/// One failed action, in crm_mon's friendly words.
pub fn failed_action_line(f: &FailedAction) -> String {
    let mut s = format!("{} ", f.resource);
    if f.interval_ms != 0 {
        let _ = write!(s, "{}-interval ", readable_interval(f.interval_ms));
    }
    let task = if f.task == "monitor" && f.interval_ms == 0 {
        "probe"
    } else {
        f.task.as_str()
    };
    let _ = write!(s, "{task} on {}", f.node);
    if f.status == 0 {
        let _ = write!(s, " returned '{}'", rc_text(f.rc));
        if let Some(r) = f.exit_reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(s, " ({r})");
        }
    } else {
        let _ = write!(s, " could not be executed ({}", status_text(f.status));
        if let Some(r) = f.exit_reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(s, ": {r}");
        }
        s.push(')');
    }
    if let Some(t) = f.last_rc_change {
        let _ = write!(s, " at {}", ctime_utc(t));
    }
    if let Some(e) = f.exec_time_ms.filter(|e| *e > 0) {
        let _ = write!(s, " after {}", readable_interval(e as u64));
    }
    s
}

fn failed_action_list(o: &mut TextOut, v: &StatusView, spacer: bool) -> bool {
    let mut open = false;
    for f in &v.failed_actions {
        o.header(&mut open, spacer, "Failed Resource Actions");
        o.item(None, &failed_action_line(f));
        for ms in [f.interval_ms, f.exec_time_ms.map_or(0, |e| e.max(0) as u64)] {
            if ms > 0 {
                o.last_interval = Some(readable_interval(ms));
            }
        }
    }
    o.footer(open);
    open
}

fn cluster_summary(o: &mut TextOut, v: &StatusView) -> bool {
    let sm = &v.summary;
    o.begin_list("Cluster Summary");
    o.item(Some("Stack"), &sm.stack);
    match &sm.dc {
        Some(dc) => o.item(
            Some("Current DC"),
            &format!(
                "{} (version {}) - partition {} quorum",
                dc.name,
                dc.version.as_deref().unwrap_or("unknown"),
                if sm.have_quorum { "with" } else { "WITHOUT" }
            ),
        ),
        None => o.item(Some("Current DC"), "NONE"),
    }
    let mut change = sm.last_written.clone().unwrap_or_default();
    for (sep, v) in [
        (" by ", &sm.last_user),
        (" via ", &sm.last_client),
        (" on ", &sm.last_origin),
    ] {
        if let Some(v) = v {
            change.push_str(sep);
            change.push_str(v);
        }
    }
    o.item(Some("Last change"), &format!(" {change}"));
    let nn = sm.nodes_configured;
    o.item(None, &format!("{nn} node{} configured", plural(nn)));
    let n = sm.resource_instances;
    let counts = match (sm.disabled, sm.blocked) {
        (0, 0) => String::new(),
        (d, 0) => format!(" ({d} DISABLED)"),
        (0, b) => format!(" ({b} BLOCKED from further action due to failure)"),
        (d, b) => format!(" ({d} DISABLED, {b} BLOCKED from further action due to failure)"),
    };
    o.item(
        None,
        &format!("{n} resource instance{} configured{counts}", plural(n)),
    );
    o.end_list();
    maint_mode(o, v);
    true
}

/// The banner crm_mon and crm_simulate print when resource management is
/// off; whether one was printed.
pub fn maint_mode(o: &mut TextOut, v: &StatusView) -> bool {
    if v.summary.maintenance_mode {
        o.raw("\n              *** Resource management is DISABLED ***\n");
        o.raw("  The cluster will not attempt to start, stop or recover services\n");
        true
    } else if v.summary.stop_all_resources {
        o.raw("\n    *** Resource management is DISABLED ***\n");
        o.raw("  The cluster will keep all resources stopped\n");
        true
    } else {
        false
    }
}

/// The nodes and resources under one title, as `crm_simulate` prints the
/// current and the revised cluster status.
pub fn cluster_status(o: &mut TextOut, v: &StatusView, pending: bool, title: &str, spacer: bool) {
    if spacer {
        o.spacer();
    }
    o.begin_list(title);
    let opts = ShowOpts {
        pending,
        inactive: true,
    };
    let printed = node_list(o, v, false);
    resource_list(o, v, opts, printed);
    o.end_list();
}

/// The crm_mon text (`crm_mon -1 -r`, without "Last updated").
pub fn render(v: &StatusView) -> String {
    let mut o = TextOut::new(true);
    let opts = ShowOpts {
        pending: true,
        inactive: true,
    };
    let mut printed = cluster_summary(&mut o, v);
    printed |= node_list(&mut o, v, printed);
    printed |= resource_list(&mut o, v, opts, printed);
    failed_action_list(&mut o, v, printed);
    o.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_in_utc() {
        assert_eq!(ctime_utc(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime_utc(1_380_719_236), "Wed Oct  2 13:07:16 2013");
        assert_eq!(ctime_utc(951_782_400), "Tue Feb 29 00:00:00 2000");
    }

    #[test]
    fn fancy_and_plain_lists() {
        for (fancy, expected) in [
            (
                true,
                "Title:\n  * one\n  * Sub:\n    * Online: [ a ]\n\nafter\n",
            ),
            (false, "one\n[ a ]\n\nafter\n"),
        ] {
            let mut o = TextOut::new(fancy);
            o.begin_list("Title");
            o.item(None, "one");
            o.begin_list("Sub");
            o.item(Some("Online"), "[ a ]");
            o.end_list();
            o.end_list();
            o.spacer();
            o.info("after");
            assert_eq!(o.out, expected, "fancy={fancy}");
        }
    }
}
