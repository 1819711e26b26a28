//! The current role of a resource on a node, read from its operation
//! history (`lrm_rsc_op` entries) in call order.
//!
//! This is a provisional reading, kept in this one function ([`derive`]) so
//! that it can be replaced by the scheduler's own unpacking of the status
//! section, which is authoritative. It covers what the status view needs:
//! started / stopped / promoted / demoted, failed operations, pending
//! starts.
//!
//! Invariant: pure; it reads the history of one resource on one node and
//! nothing else.

use crate::core::cib::LrmRscOp;
use serde::Serialize;

/// A resource's role on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Role {
    Stopped,
    Started,
    Unpromoted,
    Promoted,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }
}

/// What the history says about one resource on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRole {
    pub role: Role,
    /// The last significant operation failed.
    pub failed: bool,
    /// An operation recorded as still running (`start`, `stop`, ...).
    pub pending: Option<String>,
    /// The last stop failed: without fencing the resource is blocked.
    pub stop_failed: bool,
}

/// The expected result of an operation, from its transition key
/// (`action:transition:target_rc:uuid`); a probe expects "not running".
pub fn target_rc(op: &LrmRscOp) -> i32 {
    op.transition_key
        .as_deref()
        .and_then(|k| k.split(':').nth(2))
        .and_then(|rc| rc.parse().ok())
        .unwrap_or(if is_probe(op) { 7 } else { 0 })
}

pub fn is_probe(op: &LrmRscOp) -> bool {
    op.operation == "monitor" && op.interval_ms.unwrap_or(0) == 0
}

/// Entries kept to remember the last failure; they may record a failure
/// newer than the entry of the same operation, so they are replayed too,
/// after the other entries with the same call id.
pub fn is_last_failure(op: &LrmRscOp) -> bool {
    op.id.contains("_last_failure_")
}

/// A probe result that only says the resource cannot run there (agent not
/// installed, invalid parameters): read as "stopped", never shown as a
/// failure.
pub fn is_masked_probe_failure(op: &LrmRscOp) -> bool {
    is_probe(op) && (matches!(op.rc_code, Some(5) | Some(2)) || op.op_status == Some(7))
}

/// Whether an operation failed, as Pacemaker judges it: an execution
/// status other than done/error is final; for done and error the exit code
/// is compared with the expected one (a probe may find anything but an
/// error).
pub fn op_failed(op: &LrmRscOp) -> bool {
    let status = op.op_status.unwrap_or(0);
    let rc = op.rc_code.unwrap_or(0);
    match status {
        -1 | 1 => false,
        0 | 4 => {
            if is_masked_probe_failure(op) {
                return false;
            }
            match rc {
                9 | 191 | 6 => true,
                0 | 7 | 8 if is_probe(op) => false,
                _ => rc != target_rc(op),
            }
        }
        _ => !is_masked_probe_failure(op),
    }
}

/// Reads one resource's history on one node. The operations may come in any
/// order; they are replayed by call id (entries without one last).
pub fn derive(ops: &[&LrmRscOp]) -> NodeRole {
    let mut ordered: Vec<&&LrmRscOp> = ops.iter().collect();
    ordered.sort_by_key(|o| {
        let call = match o.call_id {
            Some(c) if c >= 0 => c,
            _ => i64::MAX,
        };
        (call, is_last_failure(o))
    });
    let mut state = NodeRole {
        role: Role::Stopped,
        failed: false,
        pending: None,
        stop_failed: false,
    };
    for op in ordered {
        let status = op.op_status.unwrap_or(0);
        let rc = op.rc_code.unwrap_or(0);
        let task = op.operation.as_str();
        match status {
            // Pending: the action is still running.
            -1 => {
                state.pending = Some(task.to_string());
                if matches!(task, "start" | "migrate_from" | "promote") {
                    state.role = state.role.max(Role::Started);
                }
                continue;
            }
            // Cancelled recurring actions say nothing about the state.
            1 => continue,
            _ => {}
        }
        state.pending = None;
        if is_masked_probe_failure(op) {
            state.role = Role::Stopped;
            continue;
        }
        let failed = op_failed(op);
        let judged = matches!(status, 0 | 4);
        match task {
            "monitor" => {
                if judged {
                    match rc {
                        0 if state.role != Role::Unpromoted => state.role = Role::Started,
                        8 | 9 | 191 => state.role = Role::Promoted,
                        // "Not running" from a probe (or when expected) says
                        // stopped; from a recurring monitor it is a failure of
                        // a resource that still counts as active there until
                        // it is recovered.
                        7 if !failed => state.role = Role::Stopped,
                        _ => {}
                    }
                }
                if failed && state.role == Role::Stopped {
                    // An erring probe leaves the resource possibly active.
                    state.role = Role::Started;
                }
                state.failed = failed;
            }
            "start" | "migrate_from" | "migrate_to" => {
                state.role = Role::Started;
                state.failed = failed;
            }
            "stop" => {
                state.role = if failed { Role::Started } else { Role::Stopped };
                state.failed = failed;
                state.stop_failed = failed;
            }
            "promote" => {
                state.role = Role::Promoted;
                state.failed = failed;
            }
            "demote" => {
                state.role = if failed {
                    Role::Promoted
                } else {
                    Role::Unpromoted
                };
                state.failed = failed;
            }
            _ => {}
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(
        id: &str,
        task: &str,
        call: i64,
        rc: i32,
        status: i32,
        interval_ms: u64,
        key_rc: Option<i32>,
    ) -> LrmRscOp {
        LrmRscOp {
            id: id.into(),
            operation: task.into(),
            call_id: Some(call),
            rc_code: Some(rc),
            op_status: Some(status),
            interval_ms: Some(interval_ms),
            transition_key: key_rc.map(|r| format!("1:2:{r}:uuid")),
            ..LrmRscOp::default()
        }
    }

    fn check(ops: &[LrmRscOp]) -> (Role, bool) {
        let refs: Vec<&LrmRscOp> = ops.iter().collect();
        let s = derive(&refs);
        (s.role, s.failed)
    }

    #[test]
    fn probe_start_monitor() {
        let ops = [
            op("r_monitor_0", "monitor", 1, 7, 0, 0, Some(7)),
            op("r_start_0", "start", 3, 0, 0, 0, Some(0)),
            op("r_monitor_10000", "monitor", 4, 0, 0, 10000, Some(0)),
        ];
        assert_eq!(check(&ops), (Role::Started, false));
    }

    #[test]
    fn call_order_not_document_order() {
        let ops = [
            op("r_stop_0", "stop", 9, 0, 0, 0, Some(0)),
            op("r_start_0", "start", 3, 0, 0, 0, Some(0)),
        ];
        assert_eq!(check(&ops), (Role::Stopped, false));
    }

    #[test]
    fn failures() {
        let failed_start = [op("r_start_0", "start", 3, 1, 0, 0, Some(0))];
        assert_eq!(check(&failed_start), (Role::Started, true));
        let failed_probe = [
            op("r_start_0", "start", 1, 0, 0, 0, None),
            op("r_monitor_0", "monitor", 2, 1, 4, 0, Some(7)),
        ];
        assert_eq!(check(&failed_probe), (Role::Started, true));
        let died = [
            op("r_start_0", "start", 1, 0, 0, 0, Some(0)),
            op("r_monitor_10000", "monitor", 2, 7, 0, 10000, Some(0)),
        ];
        assert_eq!(
            check(&died),
            (Role::Started, true),
            "active until recovered"
        );
        let timeout = [op("r_stop_0", "stop", 5, 1, 2, 0, Some(0))];
        assert_eq!(check(&timeout), (Role::Started, true));
    }

    #[test]
    fn a_probe_that_finds_no_agent_means_stopped() {
        let ops = [op("r_monitor_0", "monitor", 1, 5, 0, 0, Some(7))];
        assert_eq!(check(&ops), (Role::Stopped, false));
    }

    #[test]
    fn promotion_and_pending() {
        let ops = [
            op("r_start_0", "start", 1, 0, 0, 0, Some(0)),
            op("r_promote_0", "promote", 2, 0, 0, 0, Some(0)),
        ];
        assert_eq!(check(&ops), (Role::Promoted, false));
        let mut p = op("r_start_0", "start", -1, 193, -1, 0, Some(0));
        p.call_id = Some(-1);
        let refs = [&p];
        let s = derive(&refs);
        assert_eq!(
            (s.role, s.pending.as_deref()),
            (Role::Started, Some("start"))
        );
    }

    #[test]
    fn last_failure_entries_replay_after_their_operation() {
        let ops = [
            op("r_last_failure_0", "start", 3, 1, 0, 0, Some(0)),
            op("r_last_0", "stop", 4, 0, 0, 0, Some(0)),
        ];
        assert_eq!(check(&ops), (Role::Stopped, false));
        // The recurring monitor entry says ok; its last-failure twin, same
        // call id, records the newer failure.
        let ops = [
            op("r_start_0", "start", 1, 0, 0, 0, Some(0)),
            op("r_last_failure_0", "monitor", 2, 1, 0, 10000, Some(0)),
            op("r_monitor_10000", "monitor", 2, 0, 0, 10000, Some(0)),
        ];
        assert_eq!(check(&ops), (Role::Started, true));
    }

    #[test]
    fn error_status_is_judged_by_the_exit_code() {
        // Old histories record a probe's "not running" with status Error.
        let ops = [op("r_monitor_0", "monitor", 1, 7, 4, 0, Some(7))];
        assert_eq!(check(&ops), (Role::Stopped, false));
        let ops = [op("r_monitor_0", "monitor", 1, 1, 4, 0, Some(7))];
        assert_eq!(check(&ops), (Role::Started, true));
    }
}
