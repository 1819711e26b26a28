//! The status view as crm_mon's text (`crm_mon -1 -r` of Pacemaker 2.1),
//! minus the "Last updated" line: the view describes the CIB, not the
//! moment it is printed.
//!
//! Invariant: pure formatting of a [`StatusView`]; times are printed in UTC
//! from the epoch seconds the CIB holds, never from a clock.

use super::*;
use std::fmt::Write as _;

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

/// Pacemaker's readable interval: `10s`, `1m30s`, `1.500s`, `500ms`.
pub fn readable_interval(ms: u64) -> String {
    const S: u64 = 1000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    let mut ms = ms;
    let mut out = String::new();
    // Pacemaker compares with '>', so exactly one unit stays in the smaller one.
    for (unit, name) in [(D, "d"), (H, "h"), (M, "m")] {
        if ms > unit {
            let _ = write!(out, "{}{name}", ms / unit);
            ms %= unit;
        }
    }
    if ms > S {
        let _ = write!(out, "{}", ms / S);
        if !ms.is_multiple_of(S) {
            let _ = write!(out, ".{:03}", ms % S);
        }
        out.push('s');
    } else if ms > 0 {
        let _ = write!(out, "{ms}ms");
    } else if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Epoch seconds as `ctime` prints them (`Wed Oct  2 13:07:16 2013`), UTC.
pub fn ctime_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {day:>2} {h:02}:{m:02}:{s:02} {year}",
        WD[weekday as usize],
        MO[(month - 1) as usize]
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn primitive_line(p: &PrimitiveView) -> String {
    let mut s = format!("{}\t({}):\t", p.id, p.agent);
    if p.failed {
        s.push_str(" FAILED");
        if p.role == Role::Promoted {
            s.push_str(" Promoted");
        }
    } else {
        s.push(' ');
        s.push_str(p.role.as_str());
    }
    if p.nodes.len() == 1 {
        s.push(' ');
        s.push_str(&p.nodes[0]);
    }
    let mut flags: Vec<&str> = Vec::new();
    if p.unclean_node && p.nodes.len() == 1 {
        flags.push("UNCLEAN");
    }
    if p.disabled {
        flags.push("disabled");
    }
    if p.blocked {
        flags.push("blocked");
    } else if !p.managed {
        flags.push("unmanaged");
    }
    if !flags.is_empty() {
        let _ = write!(s, " ({})", flags.join(" "));
    }
    if p.nodes.len() > 1 {
        if let Some(d) = &p.description {
            let _ = write!(s, " {d}");
        }
        let _ = write!(s, " [ {} ]", p.nodes.join(" "));
    }
    s
}

fn failed_action_line(f: &FailedAction) -> String {
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
        if let Some(r) = &f.exit_reason {
            let _ = write!(s, " ({r})");
        }
    } else {
        let _ = write!(s, " could not be executed ({}", status_text(f.status));
        if let Some(r) = &f.exit_reason {
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

/// The crm_mon text.
pub fn render(v: &StatusView) -> String {
    let mut out = String::from("Cluster Summary:\n");
    let sm = &v.summary;
    let _ = writeln!(out, "  * Stack: {}", sm.stack);
    match &sm.dc {
        Some(dc) => {
            let _ = writeln!(
                out,
                "  * Current DC: {} (version {}) - partition {} quorum",
                dc.name,
                dc.version.as_deref().unwrap_or("unknown"),
                if sm.have_quorum { "with" } else { "WITHOUT" }
            );
        }
        None => out.push_str("  * Current DC: NONE\n"),
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
    let _ = writeln!(out, "  * Last change:  {change}");
    let _ = writeln!(
        out,
        "  * {} node{} configured",
        sm.nodes_configured,
        plural(sm.nodes_configured)
    );
    let n = sm.resource_instances;
    match (sm.disabled, sm.blocked) {
        (0, 0) => {
            let _ = writeln!(out, "  * {n} resource instance{} configured", plural(n));
        }
        (d, 0) => {
            let _ = writeln!(
                out,
                "  * {n} resource instance{} configured ({d} DISABLED)",
                plural(n)
            );
        }
        (0, b) => {
            let _ = writeln!(
                out,
                "  * {n} resource instance{} configured ({b} BLOCKED from further action due to failure)",
                plural(n)
            );
        }
        (d, b) => {
            let _ = writeln!(
                out,
                "  * {n} resource instance{} configured ({d} DISABLED, {b} BLOCKED from further action due to failure)",
                plural(n)
            );
        }
    }
    if sm.maintenance_mode {
        out.push_str("\n              *** Resource management is DISABLED ***\n");
        out.push_str("  The cluster will not attempt to start, stop or recover services\n");
    } else if sm.stop_all_resources {
        out.push_str("\n    *** Resource management is DISABLED ***\n");
        out.push_str("  The cluster will keep all resources stopped\n");
    }

    if !v.nodes.is_empty() {
        out.push_str("\nNode List:\n");
        let mut online = Vec::new();
        let mut offline = Vec::new();
        for n in &v.nodes {
            if n.unclean || n.pending || n.standby || n.maintenance {
                let kind = if n.kind == "remote" {
                    "RemoteNode"
                } else {
                    "Node"
                };
                let _ = writeln!(out, "  * {kind} {}: {}", n.name, n.state_text());
            } else if n.online {
                online.push(n.name.as_str());
            } else {
                offline.push(n.name.as_str());
            }
        }
        if !online.is_empty() {
            let _ = writeln!(out, "  * Online: [ {} ]", online.join(" "));
        }
        if !offline.is_empty() {
            let _ = writeln!(out, "  * OFFLINE: [ {} ]", offline.join(" "));
        }
    }

    out.push_str("\nFull List of Resources:\n");
    if v.resources.is_empty() {
        out.push_str("  * No resources\n");
    }
    for r in &v.resources {
        match r {
            ResourceView::Primitive(p) => {
                let _ = writeln!(out, "  * {}", primitive_line(p));
            }
            ResourceView::Group(g) => {
                let mut attrs = Vec::new();
                if !g.managed {
                    attrs.push("unmanaged");
                }
                if g.disabled {
                    attrs.push("disabled");
                }
                if attrs.is_empty() {
                    let _ = writeln!(out, "  * Resource Group: {}:", g.id);
                } else {
                    let _ = writeln!(out, "  * Resource Group: {} ({}):", g.id, attrs.join(", "));
                }
                for m in &g.members {
                    let _ = writeln!(out, "    * {}", primitive_line(m));
                }
            }
            ResourceView::Other { kind, id } => {
                let _ = writeln!(
                    out,
                    "  * {id}\t({kind}):\t not shown by this version of warden"
                );
            }
        }
    }

    if !v.failed_actions.is_empty() {
        out.push_str("\nFailed Resource Actions:\n");
        for f in &v.failed_actions {
            let _ = writeln!(out, "  * {}", failed_action_line(f));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_like_pacemaker() {
        assert_eq!(readable_interval(0), "0s");
        assert_eq!(readable_interval(500), "500ms");
        assert_eq!(readable_interval(1000), "1000ms");
        assert_eq!(readable_interval(1500), "1.500s");
        assert_eq!(readable_interval(10_000), "10s");
        assert_eq!(readable_interval(60_000), "60s");
        assert_eq!(readable_interval(90_000), "1m30s");
    }

    #[test]
    fn ctime_in_utc() {
        assert_eq!(ctime_utc(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime_utc(1_380_719_236), "Wed Oct  2 13:07:16 2013");
        assert_eq!(ctime_utc(951_782_400), "Tue Feb 29 00:00:00 2000");
    }
}
