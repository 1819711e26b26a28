//! The cluster properties (`crm_config` options) warden knows: name, type,
//! default and allowed values, as the cluster daemons of Pacemaker 2.1
//! define them. `property set` validates against this table as pcs does
//! against the daemons' metadata; `property config --all` shows defaults
//! from it.
//!
//! Invariant: data and pure checks only.

/// The type of a property value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Integer,
    /// A duration: digits with an optional unit (`60s`, `15min`, `2h`).
    Time,
    /// `80%`
    Percentage,
    /// One of the listed values.
    Select(&'static [&'static str]),
    Text,
}

#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub desc: &'static str,
    /// Maintained by the cluster itself; `property set` refuses it.
    pub read_only: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str, desc: &'static str) -> Property {
    Property {
        name,
        kind,
        default,
        desc,
        read_only: false,
    }
}

const fn ro(name: &'static str, kind: Kind, default: &'static str, desc: &'static str) -> Property {
    Property {
        name,
        kind,
        default,
        desc,
        read_only: true,
    }
}

use Kind::*;

/// Sorted by name (the order `property config --all` prints).
pub const PROPERTIES: &[Property] = &[
    p(
        "batch-limit",
        Integer,
        "0",
        "Maximum number of jobs the cluster may run in parallel across all nodes",
    ),
    p(
        "cluster-delay",
        Time,
        "60s",
        "Maximum time for node-to-node communication",
    ),
    ro(
        "cluster-infrastructure",
        Text,
        "corosync",
        "The messaging stack the cluster runs on",
    ),
    p(
        "cluster-ipc-limit",
        Integer,
        "500",
        "Maximum IPC message backlog before a cluster daemon is disconnected",
    ),
    ro(
        "cluster-name",
        Text,
        "",
        "An arbitrary name for the cluster",
    ),
    p(
        "cluster-recheck-interval",
        Time,
        "15min",
        "Polling interval to recheck cluster state and time-based rules",
    ),
    p(
        "concurrent-fencing",
        Boolean,
        "false",
        "Allow fencing operations to run in parallel",
    ),
    p(
        "dc-deadtime",
        Time,
        "20s",
        "How long to wait for a response from other nodes during start-up",
    ),
    ro("dc-version", Text, "none", "Version of the node elected DC"),
    p(
        "election-timeout",
        Time,
        "2min",
        "Declare an election failed if it is not decided within this time",
    ),
    p(
        "enable-acl",
        Boolean,
        "false",
        "Enable access control lists for the CIB",
    ),
    p(
        "enable-startup-probes",
        Boolean,
        "true",
        "Check for active resources during start-up",
    ),
    p(
        "fence-reaction",
        Select(&["stop", "panic"]),
        "stop",
        "How a node reacts when notified of its own fencing",
    ),
    ro(
        "have-watchdog",
        Boolean,
        "false",
        "Whether watchdog integration is enabled",
    ),
    p(
        "join-finalization-timeout",
        Time,
        "30min",
        "How long the DC waits for a node to finish joining",
    ),
    p(
        "join-integration-timeout",
        Time,
        "3min",
        "How long the DC waits for a node to start joining",
    ),
    ro(
        "last-lrm-refresh",
        Text,
        "",
        "When resource history was last refreshed",
    ),
    p(
        "load-threshold",
        Percentage,
        "80%",
        "Maximum amount of system load cluster nodes should use",
    ),
    p(
        "maintenance-mode",
        Boolean,
        "false",
        "Refrain from monitoring, starting and stopping resources",
    ),
    p(
        "migration-limit",
        Integer,
        "-1",
        "Number of live migrations allowed in parallel on a node (-1: unlimited)",
    ),
    p(
        "no-quorum-policy",
        Select(&["stop", "freeze", "ignore", "demote", "suicide"]),
        "stop",
        "What to do when the cluster does not have quorum",
    ),
    p(
        "node-action-limit",
        Integer,
        "0",
        "Maximum number of jobs per node (0: twice the cores)",
    ),
    p(
        "node-health-base",
        Integer,
        "0",
        "Base health score of a node (progressive strategy)",
    ),
    p(
        "node-health-green",
        Integer,
        "0",
        "Score of a node health attribute that is green",
    ),
    p(
        "node-health-red",
        Integer,
        "-INFINITY",
        "Score of a node health attribute that is red",
    ),
    p(
        "node-health-strategy",
        Select(&[
            "none",
            "migrate-on-red",
            "only-green",
            "progressive",
            "custom",
        ]),
        "none",
        "How the cluster reacts to node health attributes",
    ),
    p(
        "node-health-yellow",
        Integer,
        "0",
        "Score of a node health attribute that is yellow",
    ),
    p(
        "pe-error-series-max",
        Integer,
        "-1",
        "Number of scheduler inputs with errors to keep",
    ),
    p(
        "pe-input-series-max",
        Integer,
        "4000",
        "Number of scheduler inputs without errors or warnings to keep",
    ),
    p(
        "pe-warn-series-max",
        Integer,
        "5000",
        "Number of scheduler inputs with warnings to keep",
    ),
    p(
        "placement-strategy",
        Select(&["default", "utilization", "minimal", "balanced"]),
        "default",
        "How resources are allocated to nodes",
    ),
    p(
        "priority-fencing-delay",
        Time,
        "0",
        "Delay fencing of the nodes running the most important resources",
    ),
    p(
        "remove-after-stop",
        Boolean,
        "false",
        "Deprecated: remove stopped resources from the executor",
    ),
    p(
        "shutdown-escalation",
        Time,
        "20min",
        "Exit immediately if shutdown does not complete within this time",
    ),
    p(
        "shutdown-lock",
        Boolean,
        "false",
        "Lock resources to a cleanly shut down node",
    ),
    p(
        "shutdown-lock-limit",
        Time,
        "0",
        "Do not lock resources to a shut down node longer than this",
    ),
    p(
        "start-failure-is-fatal",
        Boolean,
        "true",
        "Whether a start failure prevents recovery on the same node",
    ),
    p(
        "startup-fencing",
        Boolean,
        "true",
        "Fence nodes that have not been seen at start-up",
    ),
    p(
        "stonith-action",
        Select(&["reboot", "off", "poweroff"]),
        "reboot",
        "Action sent to fence devices when a node must be fenced",
    ),
    p(
        "stonith-enabled",
        Boolean,
        "true",
        "Whether failed nodes may be fenced",
    ),
    p(
        "stonith-max-attempts",
        Integer,
        "10",
        "How many times fencing may fail before it is no longer retried immediately",
    ),
    p(
        "stonith-timeout",
        Time,
        "60s",
        "Unused; kept for legacy fence agents",
    ),
    p(
        "stonith-watchdog-timeout",
        Time,
        "0",
        "How long before nodes can be assumed down when watchdog fencing is used",
    ),
    p(
        "stop-all-resources",
        Boolean,
        "false",
        "Stop all active resources",
    ),
    p(
        "stop-orphan-actions",
        Boolean,
        "true",
        "Cancel recurring actions removed from the configuration",
    ),
    p(
        "stop-orphan-resources",
        Boolean,
        "true",
        "Stop resources removed from the configuration",
    ),
    p(
        "symmetric-cluster",
        Boolean,
        "true",
        "Whether resources can run on any node by default",
    ),
    p(
        "transition-delay",
        Time,
        "0s",
        "Delay before running a transition (testing only)",
    ),
];

pub fn find(name: &str) -> Option<&'static Property> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// Pacemaker's booleans (any case).
pub fn is_boolean(v: &str) -> bool {
    [
        "true", "on", "yes", "y", "1", "false", "off", "no", "n", "0",
    ]
    .iter()
    .any(|b| b.eq_ignore_ascii_case(v))
}

fn is_integer(v: &str) -> bool {
    let t = v.strip_prefix(['-', '+']).unwrap_or(v);
    matches!(v, "INFINITY" | "+INFINITY" | "-INFINITY")
        || (!t.is_empty() && t.chars().all(|c| c.is_ascii_digit()))
}

/// pcs's `timeout_to_seconds`: digits with an optional s/sec/m/min/h/hr.
pub fn is_time(v: &str) -> bool {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &v[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["", "s", "sec", "m", "min", "h", "hr", "ms", "msec"].contains(&unit)
}

/// Checks a value against the property's type; the message says what was
/// expected.
pub fn check_value(prop: &Property, value: &str) -> Result<(), String> {
    let ok = match prop.kind {
        Boolean => is_boolean(value),
        Integer => is_integer(value),
        Time => is_time(value),
        Percentage => value
            .strip_suffix('%')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())),
        Select(values) => values.contains(&value),
        Text => true,
    };
    if ok {
        return Ok(());
    }
    let expected = match prop.kind {
        Boolean => "a boolean (true, false, yes, no, on, off, 1, 0)".to_string(),
        Integer => "an integer or INFINITY".to_string(),
        Time => "a time interval (e.g. 60s, 15min, 2h)".to_string(),
        Percentage => "a percentage (e.g. 80%)".to_string(),
        Select(values) => format!("one of {}", values.join(", ")),
        Text => unreachable!("text is always valid"),
    };
    Err(format!(
        "'{value}' is not a valid {} value, use {expected}",
        prop.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in PROPERTIES.windows(2) {
            assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
        }
    }

    #[test]
    fn defaults_satisfy_their_own_types() {
        for p in PROPERTIES {
            if !p.default.is_empty() {
                assert_eq!(check_value(p, p.default), Ok(()), "{}", p.name);
            }
        }
    }

    #[test]
    fn values_are_checked() {
        let nqp = find("no-quorum-policy").unwrap();
        assert!(check_value(nqp, "ignore").is_ok());
        assert!(check_value(nqp, "ignroe")
            .unwrap_err()
            .contains("one of stop, freeze"));
        let se = find("stonith-enabled").unwrap();
        assert!(check_value(se, "No").is_ok());
        assert!(check_value(se, "nope").is_err());
        assert!(check_value(find("cluster-recheck-interval").unwrap(), "5min").is_ok());
        assert!(check_value(find("cluster-recheck-interval").unwrap(), "5 min").is_err());
        assert!(check_value(find("load-threshold").unwrap(), "50%").is_ok());
    }
}
