//! One cluster node as a state machine: `handle(now, Event)`, then
//! `poll_effect()` until it returns `None`, and call `handle(now,
//! Event::Timer)` once `poll_timeout()` is reached. The daemon drives it
//! with corosync, the executor and the fence agent runner; the simulator
//! drives it with simulated ones. Both go through this interface only.
//!
//! What a node does, in order of the events it sees:
//!
//! * **A view** (corosync membership plus quorum): whatever was in flight
//!   at the cluster level is dropped (a transition, a join); the node
//!   announces itself with a `Join` carrying its CIB version and digest and
//!   its own operation history ([`crate::core::replication`] says how the
//!   CIB is then synced and the status rebuilt). When every member's `Join`
//!   (and, if needed, the source's CIB) is delivered, every member
//!   rebuilds the same status and agrees on the DC
//!   ([`crate::core::controller::choose_dc`]). Messages that arrive during
//!   the join are kept and applied after it, in order.
//! * **Ordered messages**: CIB changes applied by everyone; requests
//!   addressed to this node (run, cancel, forget); results and fencing
//!   outcomes the DC confirms its transition with.
//! * **Its executor's results**: recorded in the node's own history, the
//!   only authoritative record of what ran here (failures counted as
//!   Pacemaker counts them), then broadcast one resource at a time.
//! * **Its fencer's agents**: the fencer lives in the node; the DC asks its
//!   own fencer, and a success is broadcast so every replica records it.
//! * **Client requests**: broadcast, applied by every member in order, and
//!   answered by the node that received them once they are delivered.
//!
//! Invariant: no IO, no clock, no randomness but the seed the node was
//! built with; everything that leaves the node is an [`Effect`]. Secrets
//! (parameters named like passwords) travel inside messages, as they must,
//! but no `Debug` or `Display` output of this module shows them.

use crate::core::action::{rc, ActionRequest, ActionResult, AgentRef, ExecStatus, Standard};
use crate::core::cib::{self, Cib, Version};
use crate::core::controller::{self, ActionRef, Controller, Out, ResultNote};
use crate::core::fencer::{
    self, AgentOutcome, AgentRun, FenceRequest, FenceResult, Fencer, FencerEffect, FencerInput,
    OpId, RequestedDelay, RunId,
};
use crate::core::replication::{
    self, ClientRequest, Join, Member, OpEntry, OpResult, RscHistory, WireVersion,
};
use crate::core::scheduler::graph::FenceAction;
use crate::core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// The largest message a node sends (a whole CIB included). A CIB beyond
/// this is refused with a log line rather than sent; the shell splits
/// messages into transport-sized chunks below this.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Client requests waiting for delivery at once; more are refused.
pub const MAX_PENDING_CLIENT_REQUESTS: usize = 1024;
/// Pacemaker's default `dc-deadtime`: how long a node alone at start
/// waits for the others before acting as DC.
pub const DEFAULT_DC_DEADTIME_MS: u64 = 20_000;

// ---------------------------------------------------------------------------
// Events, effects, messages
// ---------------------------------------------------------------------------

/// A membership view as corosync delivers it (CPG members, votequorum).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Increases with every view (the totem ring sequence).
    pub seq: u64,
    pub members: Vec<Member>,
    pub quorate: bool,
}

/// Everything that can happen to a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new membership view.
    Membership(View),
    /// A message, in the view's total order (the sender's own included).
    Delivered { from: String, message: Message },
    /// The local executor finished an action (or a recurring one changed).
    ActionFinished { call_id: u64, result: ActionResult },
    /// A fence agent run ended.
    FenceAgentDone { run: RunId, outcome: AgentOutcome },
    /// An administrator's request.
    Client {
        request_id: u64,
        request: ClientRequest,
        /// Who asked (the user name the socket's peer credentials give),
        /// recorded as `update-user` when the request changes the
        /// configuration.
        user: Option<String>,
    },
    /// `poll_timeout()` was reached.
    Timer,
    /// The node is asked to stop (SIGTERM): it asks the cluster to stop
    /// or move its resources, and says [`Effect::ShutdownComplete`] once
    /// it may leave.
    Shutdown,
}

/// Everything a node asks of the world.
#[derive(Clone, PartialEq)]
pub enum Effect {
    /// Send to every member of the view (ordered, self included).
    Broadcast(Message),
    /// Run an action on the local executor (recurring if `interval_ms > 0`).
    RunAction {
        call_id: u64,
        request: ActionRequest,
    },
    /// Cancel a recurring action on the local executor.
    CancelAction {
        rsc_id: String,
        action: String,
        interval_ms: u64,
    },
    /// Run a fence agent (secrets in its stdin; `Debug` hides them).
    RunFenceAgent(AgentRun),
    KillFenceAgent {
        run: RunId,
    },
    /// Write the node's CIB ([`Node::cib`], now at `version`) to disk. The
    /// CIB is not copied into the effect: the driver reads it when it
    /// writes, which always writes the latest.
    PersistCib {
        version: Version,
    },
    /// Answer a client request. `conflict`: a configuration replace was
    /// refused because the configuration is now at this version (the
    /// client reads again and retries).
    Reply {
        request_id: u64,
        result: Result<String, String>,
        conflict: Option<Version>,
    },
    /// A decision worth a log line.
    Log(Decision),
    /// The shutdown this node asked for is done: its resources are stopped
    /// and the cluster expects it down, so it may leave now without being
    /// fenced.
    ShutdownComplete,
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Broadcast(m) => f.debug_tuple("Broadcast").field(m).finish(),
            Effect::RunAction { call_id, request } => f
                .debug_struct("RunAction")
                .field("call_id", call_id)
                .field("request", request)
                .finish(),
            Effect::CancelAction {
                rsc_id,
                action,
                interval_ms,
            } => f
                .debug_struct("CancelAction")
                .field("rsc_id", rsc_id)
                .field("action", action)
                .field("interval_ms", interval_ms)
                .finish(),
            Effect::RunFenceAgent(r) => f.debug_tuple("RunFenceAgent").field(r).finish(),
            Effect::KillFenceAgent { run } => {
                f.debug_struct("KillFenceAgent").field("run", run).finish()
            }
            Effect::PersistCib { version } => write!(f, "PersistCib({version})"),
            Effect::Reply {
                request_id,
                result,
                conflict,
            } => f
                .debug_struct("Reply")
                .field("request_id", request_id)
                .field("result", result)
                .field("conflict", conflict)
                .finish(),
            Effect::Log(d) => write!(f, "Log({d})"),
            Effect::ShutdownComplete => f.write_str("ShutdownComplete"),
        }
    }
}

/// What nodes say to each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    Join(Box<Join>),
    /// The sync source's whole CIB.
    Sync {
        version: WireVersion,
        cib: CibText,
    },
    /// A node's history of one resource, and its transient attributes.
    History(Box<HistoryUpdate>),
    /// The DC asks `node` to run an action.
    Execute(Box<Dispatch>),
    /// The DC asks `node` to cancel a recurring action.
    Cancel {
        node: String,
        rsc_id: String,
        action: String,
        interval_ms: u64,
        reference: ActionRef,
    },
    /// The DC asks `node` to forget a resource's fail counts (or its whole
    /// history).
    Forget {
        node: String,
        rsc_id: String,
        history: bool,
        reference: ActionRef,
    },
    /// `target` was fenced.
    Fenced(Box<FencedNote>),
    /// The DC asks `executor` to fence the DC itself (a node's own fencer
    /// never fences it while another member can: the "on" half of a
    /// reboot would die with it).
    Fence(Box<FenceOrder>),
    /// The DC asks `node` to restart a recurring action, so that its next
    /// result is reported even if unchanged (see
    /// [`controller::expired_recurring_failures`]).
    Rearm {
        node: String,
        rsc_id: String,
        action: String,
        interval_ms: u64,
    },
    /// Fencing asked for by `reference` (a transition's action) or by
    /// `client` (an operator) failed.
    FenceFailed {
        target: String,
        reference: Option<ActionRef>,
        given_up: bool,
        #[serde(default)]
        client: Option<ClientRef>,
        /// The fencer's reason.
        #[serde(default)]
        reason: String,
        /// The fencing action asked for.
        #[serde(default)]
        action: String,
        /// The node whose fencer tried.
        #[serde(default)]
        executor: String,
        #[serde(default)]
        completed_ms: Option<i64>,
    },
    /// A node's transient attributes, whole (a shutdown request sets
    /// `shutdown`).
    Attributes {
        node: String,
        attrs: BTreeMap<String, String>,
    },
    /// The DC lets `node` leave: its resources are stopped (`do_shutdown`).
    Shutdown {
        node: String,
        reference: ActionRef,
    },
    /// `node` leaves: its own executor runs nothing the cluster manages.
    Leaving {
        node: String,
    },
    /// A client request, applied by every member in order.
    Client {
        origin: String,
        request_id: u64,
        request: ClientRequest,
        /// When it was made (ms since the epoch): the time every member
        /// evaluates it at.
        at: i64,
        /// Who asked, when known.
        #[serde(default)]
        user: Option<String>,
    },
    /// The DC, taking over, records what Pacemaker's controller records
    /// (`dc-version`, `cluster-infrastructure`, ...): every member applies
    /// it in order, so their configurations stay equal.
    DcProperties {
        properties: Vec<(String, String)>,
        /// When (ms since the epoch): `cib-last-written` if anything
        /// changed.
        at: i64,
    },
}

pub use crate::core::replication::CibText;

/// A delivered client request (the fields of [`Message::Client`]).
struct Request {
    origin: String,
    request_id: u64,
    request: ClientRequest,
    at: i64,
    user: Option<String>,
}

/// `update-client` of a configuration change an operator asked for.
pub const CLI_CLIENT: &str = "warden";
/// `update-client` and `update-user` of what the DC records itself.
pub const DAEMON_CLIENT: &str = "warden-daemon";
pub const DAEMON_USER: &str = "root";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryUpdate {
    pub node: String,
    pub rsc_id: String,
    /// `None`: the node has no history of it (any more).
    pub history: Option<RscHistory>,
    /// The node's transient attributes, whole.
    pub attrs: BTreeMap<String, String>,
    /// The graph action this answers.
    pub reference: Option<ActionRef>,
    /// The result that caused the update, if one did.
    pub result: Option<ResultNote>,
    /// Whether one-shot actions are still running on the node.
    pub busy: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FencedNote {
    pub target: String,
    pub action: String,
    pub devices: Vec<String>,
    /// The node whose fencer did it.
    pub origin: String,
    /// The view in which the fencing was requested (for logs: the note
    /// itself is delivered in the view in which the fencing completed).
    pub view_seq: u64,
    pub reference: Option<ActionRef>,
    /// The operator's request this answers (manual fencing).
    #[serde(default)]
    pub client: Option<ClientRef>,
    /// When it completed (ms since the epoch, the executor's clock).
    #[serde(default)]
    pub completed_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceOrder {
    pub executor: String,
    pub target: String,
    /// `reboot`, `off` or `on`.
    pub action: String,
    pub delay_ms: u64,
    pub reference: Option<ActionRef>,
    pub view_seq: u64,
    #[serde(default)]
    pub client: Option<ClientRef>,
}

/// Which operator request a fencing answers: the node that received it
/// and its id there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientRef {
    pub origin: String,
    pub request_id: u64,
}

/// An action for one node, from the DC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    pub node: String,
    pub request: WireRequest,
    pub expected_rc: i32,
    pub transition_key: String,
    pub reference: ActionRef,
}

/// An [`ActionRequest`] on the wire. `Debug` masks secret parameters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRequest {
    pub rsc_id: String,
    pub standard: String,
    pub provider: Option<String>,
    pub kind: String,
    pub action: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub params: BTreeMap<String, String>,
    pub meta: BTreeMap<String, String>,
    pub node: String,
}

impl From<&ActionRequest> for WireRequest {
    fn from(r: &ActionRequest) -> WireRequest {
        WireRequest {
            rsc_id: r.rsc_id.clone(),
            standard: r.agent.standard.as_str().to_string(),
            provider: r.agent.provider.clone(),
            kind: r.agent.kind.clone(),
            action: r.action.clone(),
            interval_ms: r.interval_ms,
            timeout_ms: r.timeout_ms,
            params: r.params.clone(),
            meta: r.meta.clone(),
            node: r.node.clone(),
        }
    }
}

impl WireRequest {
    pub fn to_request(&self) -> ActionRequest {
        ActionRequest {
            rsc_id: self.rsc_id.clone(),
            agent: AgentRef {
                standard: Standard::parse(&self.standard),
                provider: self.provider.clone(),
                kind: self.kind.clone(),
            },
            action: self.action.clone(),
            interval_ms: self.interval_ms,
            timeout_ms: self.timeout_ms,
            params: self.params.clone(),
            meta: self.meta.clone(),
            node: self.node.clone(),
        }
    }
}

impl fmt::Debug for WireRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_request(), f)
    }
}

/// A decision, as data: the daemon logs it with `tracing`, the simulator
/// prints it in its timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    View {
        members: Vec<String>,
        quorate: bool,
    },
    Synced {
        source: String,
        version: Version,
    },
    Dc {
        dc: String,
    },
    Transition {
        id: u64,
        reason: String,
        summary: Vec<String>,
    },
    Action {
        verb: String,
        rsc: String,
        node: String,
    },
    ActionFailed {
        rsc: String,
        task: String,
        interval_ms: u64,
        node: String,
        rc: i32,
        status: i32,
        reason: Option<String>,
    },
    Aborted {
        transition: u64,
        reason: String,
    },
    TransitionDone {
        id: u64,
        progress: crate::core::transition::Progress,
    },
    Idle,
    /// A new DC waits for actions it did not start.
    Waiting {
        node: String,
    },
    /// Alone since start: waits for the other nodes before acting as DC.
    DcDeadtime {
        wait_ms: u64,
    },
    Fencing {
        target: String,
        reason: String,
    },
    Fenced {
        target: String,
        by: String,
        devices: Vec<String>,
    },
    FencingFailed {
        target: String,
        reason: String,
    },
    FencingGivenUp {
        target: String,
        attempts: u32,
        retry_in_ms: u64,
    },
    PoweredOn {
        target: String,
        result: Result<(), String>,
    },
    Request {
        origin: String,
        what: String,
        result: Result<String, String>,
    },
    /// `node` asked to shut down.
    ShutdownRequested {
        node: String,
    },
    /// `node`'s resources are stopped: it may leave.
    ShutdownAllowed {
        node: String,
    },
    Warning(String),
}

fn rc_name(code: i32) -> &'static str {
    match code {
        rc::OK => "ok",
        rc::ERR_GENERIC => "error",
        rc::ERR_ARGS => "invalid parameter",
        rc::UNIMPLEMENTED => "unimplemented feature",
        rc::ERR_PERM => "insufficient privileges",
        rc::ERR_INSTALLED => "not installed",
        rc::ERR_CONFIGURED => "not configured",
        rc::NOT_RUNNING => "not running",
        rc::RUNNING_PROMOTED => "promoted",
        rc::FAILED_PROMOTED => "promoted (failed)",
        _ => "unknown",
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::View { members, quorate } => write!(
                f,
                "membership: {} ({})",
                members.join(", "),
                if *quorate { "quorate" } else { "no quorum" }
            ),
            Decision::Synced { source, version } => {
                write!(f, "CIB {version} taken from {source}")
            }
            Decision::Dc { dc } => write!(f, "{dc} is the DC"),
            Decision::Transition {
                id,
                reason,
                summary,
            } => {
                let items: Vec<String> = summary
                    .iter()
                    .map(|l| {
                        l.trim()
                            .trim_start_matches("* ")
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                if items.is_empty() {
                    write!(f, "transition {id} ({reason})")
                } else {
                    write!(f, "transition {id} ({reason}): {}", items.join("; "))
                }
            }
            Decision::Action { verb, rsc, node } => write!(f, "{verb} {rsc} on {node}"),
            Decision::ActionFailed {
                rsc,
                task,
                interval_ms,
                node,
                rc: code,
                status,
                reason,
            } => {
                let probe = *interval_ms == 0 && task == "monitor";
                let done = matches!(
                    ExecStatus::from_code(*status),
                    Some(ExecStatus::Done) | None
                );
                if probe && done && (*code == rc::OK || *code == rc::RUNNING_PROMOTED) {
                    // Not a failure of the resource: the cluster did not
                    // know it ran there (a cleanup, a start outside it).
                    return write!(
                        f,
                        "probe of {rsc} on {node} found it active: rc={code} ({})",
                        rc_name(*code)
                    );
                }
                let what = if probe { "probe" } else { task.as_str() };
                write!(f, "{what} of {rsc} on {node} failed: ")?;
                match ExecStatus::from_code(*status) {
                    Some(ExecStatus::Done) | None => write!(f, "rc={code} ({})", rc_name(*code))?,
                    Some(ExecStatus::Timeout) => write!(f, "timed out")?,
                    Some(s) => write!(f, "{s:?} (rc={code})")?,
                }
                if let Some(r) = reason.as_deref().filter(|r| !r.is_empty()) {
                    write!(f, ": {r}")?;
                }
                Ok(())
            }
            Decision::Aborted { transition, reason } => {
                write!(f, "transition {transition} aborted: {reason}")
            }
            Decision::TransitionDone { id, progress: p } => {
                if p.done == p.total {
                    write!(f, "transition {id} complete ({} actions)", p.total)
                } else if p.failed == 0 && p.skipped == 0 {
                    write!(
                        f,
                        "transition {id} complete: {} done, {} incomplete (waiting on actions that cannot run)",
                        p.done, p.incomplete
                    )
                } else {
                    write!(
                        f,
                        "transition {id} ended: {} done, {} failed, {} not run",
                        p.done, p.failed, p.skipped
                    )?;
                    if p.incomplete > 0 {
                        write!(f, ", {} incomplete", p.incomplete)?;
                    }
                    Ok(())
                }
            }
            Decision::Idle => write!(f, "idle: nothing to do"),
            Decision::Waiting { node } => {
                write!(
                    f,
                    "waiting for the actions running on {node} before scheduling"
                )
            }
            Decision::DcDeadtime { wait_ms } => write!(
                f,
                "alone since start: waiting up to {}s (dc-deadtime) for the other nodes before acting as DC",
                wait_ms.div_ceil(1000)
            ),
            Decision::Fencing { target, reason } => write!(f, "fencing {target}: {reason}"),
            Decision::Fenced {
                target,
                by,
                devices,
            } => write!(f, "{target} fenced by {by} ({})", devices.join(", ")),
            Decision::FencingFailed { target, reason } => {
                write!(f, "fencing {target} failed: {reason}")
            }
            Decision::FencingGivenUp {
                target,
                attempts,
                retry_in_ms,
            } => write!(
                f,
                "giving up fencing {target} after {attempts} failed attempts; trying again in {}s",
                retry_in_ms / 1000
            ),
            Decision::PoweredOn { target, result } => match result {
                Ok(()) => write!(f, "{target} powered on again"),
                Err(e) => write!(f, "{target} was not powered on again: {e}"),
            },
            Decision::Request {
                origin,
                what,
                result,
            } => match result {
                Ok(done) => write!(f, "request from {origin}: {what}: {done}"),
                Err(e) => write!(f, "request from {origin}: {what}: refused: {e}"),
            },
            Decision::ShutdownRequested { node } => write!(
                f,
                "{node} asks to shut down: its resources are stopped or moved first"
            ),
            Decision::ShutdownAllowed { node } => write!(
                f,
                "{node} may leave the cluster: its resources are stopped"
            ),
            Decision::Warning(w) => write!(f, "warning: {w}"),
        }
    }
}

// ---------------------------------------------------------------------------
// The node's own executor history
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Call {
    request: ActionRequest,
    expected_rc: i32,
    transition_key: String,
    reference: Option<ActionRef>,
    /// For a recurring action: whether its first result was reported.
    reported: bool,
    /// A graph Cancel waits for this one's cancellation.
    cancel_reference: Option<ActionRef>,
}

/// What the node's executor ran: the authoritative history, the transient
/// attributes, and the calls in flight.
#[derive(Debug, Default)]
struct LocalLrm {
    history: BTreeMap<String, RscHistory>,
    attrs: BTreeMap<String, String>,
    calls: BTreeMap<u64, Call>,
    /// (rsc, action, interval) -> call id of the recurring action.
    recurring: BTreeMap<(String, String, u64), u64>,
    next_call: u64,
}

impl LocalLrm {
    /// One-shot actions in flight.
    fn busy(&self) -> bool {
        self.calls.values().any(|c| c.request.interval_ms == 0)
    }

    /// The history as reported to others: recorded results, with a start
    /// still running shown as pending (the resource may be active).
    fn reported(&self, rsc: &str) -> Option<RscHistory> {
        let mut h = self.history.get(rsc).cloned();
        for (call_id, c) in &self.calls {
            if c.request.rsc_id != rsc
                || c.request.interval_ms != 0
                || !matches!(
                    c.request.action.as_str(),
                    "start" | "promote" | "migrate_from"
                )
            {
                continue;
            }
            let entry = h.get_or_insert_with(|| desc_of(&c.request));
            let op = OpEntry {
                id: format!("{rsc}_last_0"),
                key: c.request.key(),
                operation: c.request.action.clone(),
                interval_ms: 0,
                call_id: *call_id as i64,
                rc: rc::UNKNOWN,
                status: ExecStatus::Pending.code(),
                transition_key: c.transition_key.clone(),
                exit_reason: String::new(),
                on_node: c.request.node.clone(),
                last_rc_change: 0,
                exec_ms: 0,
                queue_ms: 0,
                op_digest: Some(crate::core::scheduler::digest::request_digest(&c.request)),
            };
            match entry.ops.iter().position(|o| o.id == op.id) {
                Some(i) => entry.ops[i] = op,
                None => entry.ops.push(op),
            }
        }
        h
    }

    fn all_reported(&self) -> Vec<RscHistory> {
        let mut ids: Vec<&String> = self.history.keys().collect();
        for c in self.calls.values() {
            if !ids.contains(&&c.request.rsc_id) {
                ids.push(&c.request.rsc_id);
            }
        }
        ids.sort();
        ids.into_iter().filter_map(|r| self.reported(r)).collect()
    }

    /// Cancels every recurring action of `rsc` without reporting the
    /// cancellations (a stop, a cleanup): returns the cancel effects.
    fn cancel_all_recurring(&mut self, rsc: &str) -> Vec<Effect> {
        let keys: Vec<(String, String, u64)> = self
            .recurring
            .keys()
            .filter(|(r, _, _)| r == rsc)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in keys {
            if let Some(call) = self.recurring.remove(&key) {
                self.calls.remove(&call);
            }
            if let Some(h) = self.history.get_mut(rsc) {
                h.remove_op(&format!("{}_{}_{}", key.0, key.1, key.2));
            }
            out.push(Effect::CancelAction {
                rsc_id: key.0,
                action: key.1,
                interval_ms: key.2,
            });
        }
        out
    }
}

fn desc_of(r: &ActionRequest) -> RscHistory {
    RscHistory::new(
        &r.rsc_id,
        Some(r.agent.standard.as_str()),
        r.agent.provider.as_deref(),
        Some(&r.agent.kind),
    )
}

// ---------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------

/// The cluster as the unit tests' nodes describe it.
#[cfg(test)]
fn test_cluster_info() -> replication::ClusterInfo {
    replication::ClusterInfo {
        dc_version: "warden-test".to_string(),
        infrastructure: "corosync".to_string(),
        cluster_name: Some("t".to_string()),
    }
}

/// How to build a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub name: String,
    /// The corosync node id.
    pub id: u32,
    /// Seeds the fencer's random delays (`pcmk_delay_max`).
    pub seed: u64,
    /// The CIB read from disk, if any.
    pub cib: Option<Cib>,
    /// What this node records about the cluster when it becomes the DC.
    pub cluster: replication::ClusterInfo,
}

#[derive(Debug, Default)]
struct Joining {
    joins: BTreeMap<String, Join>,
    my_digest: String,
    source: Option<String>,
    awaiting_sync: bool,
    buffered: Vec<(String, Message)>,
}

#[derive(Debug)]
enum Phase {
    /// Not in any view.
    Down,
    Joining(Joining),
    Synced,
}

#[derive(Debug, Clone)]
struct FenceOp {
    reference: Option<ActionRef>,
    view_seq: u64,
    /// Run for another node's controller: report failures by message.
    for_peer: bool,
    /// An operator's request: its origin answers when the result is
    /// delivered.
    client: Option<ClientRef>,
}

/// How many fencing results of other nodes' fencers a node keeps for its
/// history (its own fencer keeps its own).
pub const MAX_PEER_FENCE_HISTORY: usize = 500;

/// Who a fencing is for: a transition's action, an operator's request.
#[derive(Debug, Clone)]
struct FenceFor {
    reference: Option<ActionRef>,
    client: Option<ClientRef>,
    view_seq: u64,
    /// Run for another node's controller: report failures by message.
    for_peer: bool,
}

/// One node.
pub struct Node {
    name: String,
    id: u32,
    cib: Cib,
    view: Option<View>,
    phase: Phase,
    dc: Option<Member>,
    /// Whether this node was DC at the end of its last completed join, and
    /// whether that view had quorum.
    was_dc: Option<bool>,
    lrm: LocalLrm,
    fencer: Fencer,
    fencer_config: (u64, u64),
    fence_ops: BTreeMap<OpId, FenceOp>,
    next_fence_op: OpId,
    fencing_given_up: BTreeMap<String, Timestamp>,
    /// Targets this node's fencer powered off whose `Fenced` note it has
    /// not yet seen delivered: a view change can swallow the note, so they
    /// travel in every `Join` until one completes (bounded by the nodes).
    fenced_unconfirmed: std::collections::BTreeSet<String>,
    controller: Option<Controller>,
    /// Client requests broadcast and not yet delivered.
    pending_clients: Vec<u64>,
    /// Fence requests of this node's clients, delivered and waiting for
    /// their result: request id -> the node whose fencer carries it out.
    pending_fences: BTreeMap<u64, String>,
    /// Fencing results other nodes' fencers delivered, oldest first
    /// (bounded by [`MAX_PEER_FENCE_HISTORY`]).
    peer_fence_history: VecDeque<fencer::HistoryEntry>,
    /// This node asked to shut down (SIGTERM).
    shutting_down: bool,
    /// [`Effect::ShutdownComplete`] was emitted.
    shutdown_complete: bool,
    /// The DC let this node go but its executor disagreed: it asks again
    /// once its one-shot actions are done.
    shutdown_blocked: bool,
    /// When this node handled its first event (its start).
    started_at: Option<Timestamp>,
    /// Alone since start: the DC role waits until then for the other
    /// nodes (`dc-deadtime`).
    dc_wait_until: Option<Timestamp>,
    /// A join with another node completed since start.
    joined_peers: bool,
    effects: VecDeque<Effect>,
    persist: bool,
    cluster: replication::ClusterInfo,
    /// Configuration changes in the current event that only recorded the
    /// DC's properties.
    dc_property_bumps: u64,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("version", &self.cib.version())
            .field("dc", &self.dc)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// A node starting with `config.cib` from disk. The disk copy's status
    /// section is discarded, as Pacemaker's CIB manager does at start: it
    /// says what was true before this node went down, and a peer it showed
    /// as cleanly stopped may have come back since. Without it, peers not
    /// in the view are unknown, and the scheduler fences them before
    /// running anything they might run (startup fencing).
    pub fn new(config: NodeConfig) -> Node {
        let mut cib = config.cib.unwrap_or_else(Cib::empty);
        cib.status = cib::Status::default();
        cib.dc_uuid = None;
        let (fc, _) = fencer::config_from_cib(&cib, &config.name);
        let fencer = Fencer::new(fc, config.seed);
        Node {
            fencer_config: (cib.admin_epoch, cib.epoch),
            name: config.name,
            id: config.id,
            cib,
            view: None,
            phase: Phase::Down,
            dc: None,
            was_dc: None,
            lrm: LocalLrm {
                next_call: 1,
                ..LocalLrm::default()
            },
            fencer,
            fence_ops: BTreeMap::new(),
            next_fence_op: 1,
            fencing_given_up: BTreeMap::new(),
            fenced_unconfirmed: std::collections::BTreeSet::new(),
            controller: None,
            pending_clients: Vec::new(),
            pending_fences: BTreeMap::new(),
            peer_fence_history: VecDeque::new(),
            shutting_down: false,
            shutdown_complete: false,
            shutdown_blocked: false,
            started_at: None,
            dc_wait_until: None,
            joined_peers: false,
            effects: VecDeque::new(),
            persist: false,
            cluster: config.cluster,
            dc_property_bumps: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// This node's replica of the CIB.
    pub fn cib(&self) -> &Cib {
        &self.cib
    }

    pub fn view(&self) -> Option<&View> {
        self.view.as_ref()
    }

    /// Whether the join of the current view is complete.
    pub fn is_synced(&self) -> bool {
        matches!(self.phase, Phase::Synced)
    }

    /// The DC this node agreed on for its view (after the join).
    pub fn dc(&self) -> Option<&str> {
        self.dc.as_ref().map(|m| m.name.as_str())
    }

    pub fn is_dc(&self) -> bool {
        self.controller.is_some()
    }

    /// Not DC, or DC with no transition running and nothing to look at.
    pub fn is_idle(&self) -> bool {
        self.controller.as_ref().is_none_or(|c| c.is_idle())
    }

    /// The running transition's id and how its actions stand, if DC.
    pub fn transition_progress(&self) -> Option<(u64, crate::core::transition::Progress)> {
        let t = self.controller.as_ref()?.transition()?;
        Some((t.id, t.progress()))
    }

    /// The node's own history of a resource, as it reports it.
    pub fn local_history(&self, rsc: &str) -> Option<RscHistory> {
        self.lrm.reported(rsc)
    }

    /// The node's own transient attributes.
    pub fn local_attrs(&self) -> &BTreeMap<String, String> {
        &self.lrm.attrs
    }

    /// The fencing history this node knows: its own fencer's operations
    /// (pending ones included) and the results other members' fencers
    /// delivered, oldest first.
    pub fn fence_history(&self) -> Vec<fencer::HistoryEntry> {
        let mut v: Vec<fencer::HistoryEntry> = self
            .fencer
            .history()
            .chain(self.peer_fence_history.iter())
            .cloned()
            .collect();
        v.sort_by_key(|h| (h.completed_ms.unwrap_or(u64::MAX), h.requested_ms));
        v
    }

    /// Whether this node asked to shut down.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When to call `handle(now, Event::Timer)`.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let fencer = self.fencer.poll_timeout().map(|ms| Timestamp(ms as i64));
        let controller = self.controller.as_ref().and_then(|c| c.poll_timeout());
        let given_up = self.fencing_given_up.values().min().copied();
        [fencer, controller, given_up, self.dc_wait_until]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle(&mut self, now: Timestamp, event: Event) {
        let before = (self.cib.version(), self.cib.admin_epoch, self.cib.epoch);
        self.started_at.get_or_insert(now);
        match event {
            Event::Membership(view) => self.on_view(view),
            Event::Delivered { from, message } => self.on_message(now, from, message),
            Event::ActionFinished { call_id, result } => {
                self.on_action_finished(now, call_id, result)
            }
            Event::FenceAgentDone { run, outcome } => {
                self.fencer_input(now, FencerInput::AgentDone { run, outcome })
            }
            Event::Client {
                request_id,
                request,
                user,
            } => self.on_client(now, request_id, request, user),
            Event::Timer => self.on_timer(now),
            Event::Shutdown => self.on_shutdown(now),
        }
        self.after(now, before);
    }

    fn log(&mut self, d: Decision) {
        self.effects.push_back(Effect::Log(d));
    }

    fn broadcast(&mut self, m: Message) {
        if self.view.is_none() {
            return;
        }
        self.effects.push_back(Effect::Broadcast(m));
    }

    fn member_names(&self) -> Vec<String> {
        self.view
            .as_ref()
            .map(|v| v.members.iter().map(|m| m.name.clone()).collect())
            .unwrap_or_default()
    }

    // ---- membership and join ------------------------------------------

    fn on_view(&mut self, view: View) {
        if !view.members.iter().any(|m| m.name == self.name) {
            self.log(Decision::Warning(format!(
                "view {} does not include this node: ignored",
                view.seq
            )));
            return;
        }
        self.controller = None;
        self.dc = None;
        self.dc_wait_until = None;
        for id in std::mem::take(&mut self.pending_clients) {
            self.effects.push_back(Effect::Reply {
                request_id: id,
                result: Err(
                    "the membership changed before the request was applied; try again".to_string(),
                ),
                conflict: None,
            });
        }
        // A fencing whose executor left will not be answered by it.
        let gone: Vec<(u64, String)> = self
            .pending_fences
            .iter()
            .filter(|(_, ex)| !view.members.iter().any(|m| &m.name == *ex))
            .map(|(id, ex)| (*id, ex.clone()))
            .collect();
        for (id, ex) in gone {
            self.pending_fences.remove(&id);
            self.effects.push_back(Effect::Reply {
                request_id: id,
                result: Err(format!(
                    "{ex}, which was carrying out the fencing, left the cluster before the result was known; see 'warden stonith history'"
                )),
                conflict: None,
            });
        }
        self.log(Decision::View {
            members: view.members.iter().map(|m| m.name.clone()).collect(),
            quorate: view.quorate,
        });
        let digest = cib::digest(&self.cib);
        let join = Join {
            node: self.name.clone(),
            node_id: self.id,
            version: self.cib.version().into(),
            digest: digest.clone(),
            was_dc: self.was_dc,
            history: self.lrm.all_reported(),
            attrs: self.lrm.attrs.clone(),
            expected_up: replication::expected_up(&self.cib, &self.name),
            busy: self.lrm.busy(),
            fenced: self.fenced_unconfirmed.iter().cloned().collect(),
        };
        self.view = Some(view);
        self.phase = Phase::Joining(Joining {
            my_digest: digest,
            ..Joining::default()
        });
        self.broadcast(Message::Join(Box::new(join)));
    }

    fn on_message(&mut self, now: Timestamp, from: String, message: Message) {
        match &mut self.phase {
            Phase::Down => {}
            Phase::Synced => self.process(now, from, message),
            Phase::Joining(j) => match message {
                Message::Join(join) => {
                    let member = self
                        .view
                        .as_ref()
                        .is_some_and(|v| v.members.iter().any(|m| m.name == join.node));
                    if member && join.node == from {
                        j.joins.insert(join.node.clone(), *join);
                        self.joins_progress(now);
                    }
                }
                Message::Sync { cib: text, .. } => {
                    if j.awaiting_sync && j.source.as_deref() == Some(from.as_str()) {
                        self.adopt(&from, &text.0);
                        self.finish_join(now);
                    }
                }
                other => j.buffered.push((from, other)),
            },
        }
    }

    fn joins_progress(&mut self, now: Timestamp) {
        let Phase::Joining(j) = &mut self.phase else {
            return;
        };
        let view = self.view.as_ref().expect("joining needs a view");
        if !view.members.iter().all(|m| j.joins.contains_key(&m.name)) {
            return;
        }
        let all: Vec<&Join> = j.joins.values().collect();
        let source = replication::sync_source(&all).expect("a view has members");
        let needed = replication::sync_needed(&all, &source);
        j.source = Some(source.clone());
        if !needed {
            self.finish_join(now);
            return;
        }
        j.awaiting_sync = true;
        if source == self.name {
            let text = cib::to_xml(&self.cib);
            if text.len() > MAX_MESSAGE_BYTES {
                self.log(Decision::Warning(format!(
                    "the CIB is {} bytes, over the {MAX_MESSAGE_BYTES}-byte message limit: \
                     it cannot be synced",
                    text.len()
                )));
                return;
            }
            let version = self.cib.version().into();
            self.broadcast(Message::Sync {
                version,
                cib: CibText(text),
            });
        }
    }

    /// Takes the source's CIB unless ours is the same.
    fn adopt(&mut self, source: &str, text: &str) {
        let Phase::Joining(j) = &self.phase else {
            return;
        };
        let src_digest = j.joins.get(source).map(|s| s.digest.clone());
        if src_digest.as_deref() == Some(j.my_digest.as_str()) {
            return;
        }
        let parsed = cib::parse(text, &format!("CIB from {source}"));
        match parsed.cib {
            Some(c) if !parsed.has_errors() => {
                let version = c.version();
                self.cib = c;
                self.persist = true;
                self.reconfigure_fencer_if_needed(true);
                self.log(Decision::Synced {
                    source: source.to_string(),
                    version,
                });
            }
            _ => {
                let first = parsed
                    .diagnostics
                    .first()
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                self.log(Decision::Warning(format!(
                    "the CIB sent by {source} cannot be read ({first}); keeping ours"
                )));
            }
        }
    }

    fn finish_join(&mut self, now: Timestamp) {
        let Phase::Joining(j) = std::mem::replace(&mut self.phase, Phase::Synced) else {
            return;
        };
        let view = self.view.clone().expect("joining needs a view");
        let dc = controller::choose_dc(&view.members, &j.joins).expect("a view has members");
        replication::rebuild_status(&mut self.cib, &view.members, &j.joins, &dc, view.quorate);
        // Every member applied the fencings our Join carried.
        self.fenced_unconfirmed.clear();
        for m in &view.members {
            // A member that is back needs no fencing: forget failed attempts.
            self.fencing_given_up.remove(&m.name);
            self.fencer.handle(
                now.millis() as u64,
                FencerInput::ClearFailures {
                    target: m.name.clone(),
                },
            );
        }
        let wait_until = self.dc_deadline(&view, &dc);
        self.joined_peers |= view.members.len() > 1;
        if let Some(until) = wait_until.filter(|t| now < *t) {
            // Pacemaker's controller waits `dc-deadtime` at start for a DC
            // before electing itself: corosync's first ring on a booting
            // node is often this node alone, for a second, before it
            // merges with the others; a DC of that ring would fence the
            // nodes it cannot see yet, the survivor of the last failure
            // included.
            self.dc_wait_until = Some(until);
            self.log(Decision::DcDeadtime {
                wait_ms: (until.millis() - now.millis()).max(0) as u64,
            });
        } else {
            self.become_dc_or_member(now, &view, dc, &j.joins);
        }
        for (from, m) in j.buffered {
            self.process(now, from, m);
        }
    }

    /// Until when this node, alone in `view` and chosen as its DC, waits
    /// for the other nodes: only at start (no join with another node done
    /// yet), only when the CIB knows other nodes, for `dc-deadtime`
    /// (default 20 s) from the start.
    fn dc_deadline(&self, view: &View, dc: &Member) -> Option<Timestamp> {
        let alone = view.members.len() == 1 && dc.name == self.name;
        let others = self
            .cib
            .configuration
            .nodes
            .iter()
            .any(|n| n.uname != self.name);
        if !alone || !others || self.joined_peers {
            return None;
        }
        let deadtime_ms = self
            .cib
            .configuration
            .property("dc-deadtime")
            .and_then(|v| cib::duration::parse_msec(v).ok())
            .unwrap_or(DEFAULT_DC_DEADTIME_MS);
        self.started_at
            .map(|t| t.plus_ms(deadtime_ms.min(i64::MAX as u64) as i64))
    }

    fn become_dc_or_member(
        &mut self,
        now: Timestamp,
        view: &View,
        dc: Member,
        joins: &BTreeMap<String, Join>,
    ) {
        self.was_dc = (dc.name == self.name).then_some(view.quorate);
        if dc.name == self.name {
            // What Pacemaker's controller writes when it takes over; sent
            // only when something differs (nothing to write on most
            // takeovers).
            let properties = self.cluster.properties();
            if replication::dc_properties_differ(&self.cib, &properties) {
                self.broadcast(Message::DcProperties {
                    properties,
                    at: now.millis(),
                });
            }
            let term = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                self.id,
                view.seq & 0xffff_ffff_ffff
            );
            let mut c = Controller::new(term);
            for (name, join) in joins {
                c.set_busy(name, join.busy);
            }
            self.controller = Some(c);
        }
        self.log(Decision::Dc {
            dc: dc.name.clone(),
        });
        self.dc = Some(dc);
    }

    // ---- synced operation ----------------------------------------------

    fn process(&mut self, now: Timestamp, from: String, message: Message) {
        let mut outs = Vec::new();
        match message {
            Message::Join(_) | Message::Sync { .. } => {}
            Message::History(u) => {
                replication::set_resource_history(
                    &mut self.cib,
                    &u.node,
                    &u.rsc_id,
                    u.history.as_ref(),
                    &u.attrs,
                );
                if let Some(c) = &mut self.controller {
                    c.set_busy(&u.node, u.busy);
                    c.on_history(
                        &u.node,
                        &u.rsc_id,
                        u.reference.as_ref(),
                        u.result.as_ref(),
                        &mut outs,
                    );
                }
            }
            Message::Execute(d) => {
                if d.node == self.name {
                    if self.dc.as_ref().is_some_and(|dc| dc.name == from) {
                        self.execute(*d);
                    } else {
                        self.log(Decision::Warning(format!(
                            "{from} is not the DC: its request to run {} is ignored",
                            d.request.rsc_id
                        )));
                    }
                }
            }
            Message::Cancel {
                node,
                rsc_id,
                action,
                interval_ms,
                reference,
            } => {
                if node == self.name {
                    self.cancel(&rsc_id, &action, interval_ms, reference);
                }
            }
            Message::Forget {
                node,
                rsc_id,
                history,
                reference,
            } => {
                if node == self.name {
                    self.forget(&rsc_id, history, Some(reference));
                }
            }
            Message::Fenced(f) => {
                // Delivered in the view in which the fencing completed (the
                // fencer broadcasts at once, and virtual synchrony delivers
                // in the sending view or not at all), so the target was
                // powered off then, whatever it did before: even an
                // incarnation that rejoined while the fencing was delayed
                // is gone. Recording it down (expected down) is what keeps
                // its departure from the view from being taken as a new
                // loss and fenced again. Unfencing (`on`) records nothing.
                if f.origin == self.name && from == self.name {
                    self.fenced_unconfirmed.remove(&f.target);
                }
                if f.action != "on" {
                    replication::mark_fenced(&mut self.cib, &f.target);
                    if f.target == self.name {
                        self.log(Decision::Warning(
                            "this node was reported fenced while it runs".to_string(),
                        ));
                    }
                }
                if let Some(c) = &mut self.controller {
                    c.on_fenced(&f.target, f.reference.as_ref(), &mut outs);
                }
                if f.origin != self.name {
                    self.record_peer_fencing(
                        &f.target,
                        &f.action,
                        &f.origin,
                        f.client.as_ref(),
                        f.devices.clone(),
                        Ok(()),
                        f.completed_ms,
                    );
                }
                if let Some(c) = f.client.as_ref().filter(|c| c.origin == self.name) {
                    if self.pending_fences.remove(&c.request_id).is_some() {
                        self.effects.push_back(Effect::Reply {
                            request_id: c.request_id,
                            result: Ok(format!(
                                "{} fenced ({}) by {} ({})",
                                f.target,
                                f.action,
                                f.origin,
                                f.devices.join(", ")
                            )),
                            conflict: None,
                        });
                    }
                }
            }
            Message::Fence(o) => {
                if o.executor == self.name {
                    let action = FenceAction::parse(&o.action).unwrap_or(FenceAction::Reboot);
                    self.start_fencing(
                        now,
                        &o.target,
                        action,
                        o.delay_ms,
                        FenceFor {
                            reference: o.reference,
                            client: o.client,
                            view_seq: o.view_seq,
                            for_peer: true,
                        },
                    );
                }
            }
            Message::Rearm {
                node,
                rsc_id,
                action,
                interval_ms,
            } => {
                if node == self.name {
                    self.rearm(&rsc_id, &action, interval_ms);
                }
            }
            Message::FenceFailed {
                target,
                reference,
                given_up,
                client,
                reason,
                action,
                executor,
                completed_ms,
            } => {
                if let (Some(c), Some(r)) = (&mut self.controller, &reference) {
                    c.on_fence_failed(r, given_up);
                }
                if executor != self.name && !executor.is_empty() {
                    self.record_peer_fencing(
                        &target,
                        &action,
                        &executor,
                        client.as_ref(),
                        Vec::new(),
                        Err(reason.clone()),
                        completed_ms,
                    );
                }
                if let Some(c) = client.as_ref().filter(|c| c.origin == self.name) {
                    if self.pending_fences.remove(&c.request_id).is_some() {
                        self.effects.push_back(Effect::Reply {
                            request_id: c.request_id,
                            result: Err(format!("fencing {target} failed: {reason}")),
                            conflict: None,
                        });
                    }
                }
            }
            Message::Attributes { node, attrs } => {
                replication::set_node_attrs(&mut self.cib, &node, &attrs);
                if let Some(c) = &mut self.controller {
                    let reason = if attrs.contains_key("shutdown") {
                        format!("{node} asks to shut down")
                    } else {
                        format!("the attributes of {node} changed")
                    };
                    c.invalidate(&reason, &mut outs);
                }
                if attrs.contains_key("shutdown") && self.controller.is_some() {
                    self.log(Decision::ShutdownRequested { node: node.clone() });
                }
            }
            Message::Shutdown { node, reference } => {
                // Sent by the DC once the node's resources are stopped
                // (the scheduler orders every stop there before
                // `do_shutdown`). Every member now expects the node down,
                // so its leaving is clean (no fencing).
                // The node itself has the last word: it leaves only if
                // its own executor agrees.
                let from_dc = self.dc.as_ref().is_some_and(|dc| dc.name == from);
                if from_dc {
                    if let Some(c) = &mut self.controller {
                        c.on_shutdown_done(&reference);
                    }
                    if node == self.name && self.shutting_down && !self.shutdown_complete {
                        match self.may_leave(now) {
                            Ok(()) => self.broadcast(Message::Leaving { node }),
                            Err(why) => {
                                self.shutdown_blocked = true;
                                self.log(Decision::Warning(format!(
                                    "this node cannot leave yet: {why}; it asks again once its actions are done"
                                )));
                            }
                        }
                    }
                }
            }
            Message::Leaving { node } => {
                // Every member now expects the node down, so its leaving
                // the view is clean (no fencing).
                if from == node {
                    replication::mark_leaving(&mut self.cib, &node);
                    if self.controller.is_some() {
                        self.log(Decision::ShutdownAllowed { node: node.clone() });
                    }
                    if node == self.name && self.shutting_down && !self.shutdown_complete {
                        self.shutdown_complete = true;
                        self.effects.push_back(Effect::ShutdownComplete);
                    }
                }
            }
            Message::Client {
                origin,
                request_id,
                request,
                at,
                user,
            } => self.on_request(
                now,
                Request {
                    origin,
                    request_id,
                    request,
                    at,
                    user,
                },
                &mut outs,
            ),
            Message::DcProperties { properties, at } => {
                // Only the DC of this view records them (a message of an
                // older DC delivered late changes nothing).
                if self.dc.as_ref().is_some_and(|dc| dc.name == from)
                    && replication::set_dc_properties(&mut self.cib, &properties)
                {
                    self.dc_property_bumps += 1;
                    replication::stamp_configuration_change(
                        &mut self.cib,
                        Timestamp(at),
                        &from,
                        DAEMON_CLIENT,
                        Some(DAEMON_USER),
                    );
                }
            }
        }
        self.run_outs(now, outs);
    }

    /// A client request, delivered: every member decides the same.
    fn on_request(&mut self, now: Timestamp, req: Request, outs: &mut Vec<Out>) {
        let Request {
            origin,
            request_id,
            request,
            at,
            user,
        } = req;
        let configured = (self.cib.admin_epoch, self.cib.epoch);
        let mine = origin == self.name;
        if mine {
            self.pending_clients.retain(|id| *id != request_id);
        }
        let mut conflict = None;
        let members = self.member_names();
        let result = match &request {
            ClientRequest::ReplaceConfiguration { expected, cib } => {
                replication::replace_configuration(&mut self.cib, *expected, &cib.0).map_err(|e| {
                    if let replication::ReplaceRefusal::Conflict(v) = &e {
                        conflict = Some(*v);
                    }
                    e.to_string()
                })
            }
            ClientRequest::Fence { target, off } => {
                match self.manual_fence(now, &origin, request_id, target, *off) {
                    Ok(executor) => {
                        if mine {
                            // Answered when the result is delivered.
                            self.pending_fences.insert(request_id, executor.clone());
                        }
                        Ok(format!("{executor} fences {target}"))
                    }
                    Err(e) => Err(e),
                }
            }
            ClientRequest::FenceConfirm { target } => self.confirm_down(now, &origin, target, outs),
            _ => replication::apply_request(&mut self.cib, &request, &members, Timestamp(at)),
        };
        if (self.cib.admin_epoch, self.cib.epoch) != configured {
            replication::stamp_configuration_change(
                &mut self.cib,
                Timestamp(at),
                &origin,
                CLI_CLIENT,
                user.as_deref(),
            );
        }
        let deferred = matches!(request, ClientRequest::Fence { .. }) && result.is_ok();
        if result.is_ok() && !deferred {
            if let ClientRequest::Cleanup { rsc, node } = &request {
                if node.as_ref().is_none_or(|n| *n == self.name) {
                    let targets = replication::cleanup_targets(&self.cib, rsc.as_deref());
                    for r in targets {
                        self.forget(&r, true, None);
                    }
                }
            }
            if let Some(c) = &mut self.controller {
                c.invalidate(&format!("request: {}", request.describe()), outs);
            }
        }
        if mine && !deferred {
            self.effects.push_back(Effect::Reply {
                request_id,
                result: result.clone(),
                conflict,
            });
        }
        if self.controller.is_some() {
            self.log(Decision::Request {
                origin,
                what: request.describe(),
                result,
            });
        }
    }

    /// Every member's part of an operator's fence request: the DC's
    /// fencer carries it out (another member's when the DC is the target);
    /// returns that node's name, or why nothing is done.
    fn manual_fence(
        &mut self,
        now: Timestamp,
        origin: &str,
        request_id: u64,
        target: &str,
        off: bool,
    ) -> Result<String, String> {
        if self.cib.configuration.node(target).is_none() {
            return Err(format!("node '{target}' is not a cluster node"));
        }
        let view = self.view.clone().expect("a delivered request has a view");
        let Some(dc) = self.dc.clone() else {
            return Err("the partition has no DC yet; try again".to_string());
        };
        let executor = if target == dc.name {
            view.members
                .iter()
                .filter(|m| m.name != dc.name)
                .min_by_key(|m| m.id)
                .map(|m| m.name.clone())
                .unwrap_or_else(|| dc.name.clone())
        } else {
            dc.name.clone()
        };
        if executor == self.name {
            let action = if off {
                FenceAction::Off
            } else {
                FenceAction::Reboot
            };
            self.start_fencing(
                now,
                target,
                action,
                0,
                FenceFor {
                    reference: None,
                    client: Some(ClientRef {
                        origin: origin.to_string(),
                        request_id,
                    }),
                    view_seq: view.seq,
                    for_peer: executor != dc.name,
                },
            );
        }
        Ok(executor)
    }

    /// Every member's part of `stonith confirm`: refused for a member;
    /// otherwise the target is recorded fenced (by "manual"), fencing
    /// still trying to reach it is complete, and the DC looks again.
    fn confirm_down(
        &mut self,
        now: Timestamp,
        origin: &str,
        target: &str,
        outs: &mut Vec<Out>,
    ) -> Result<String, String> {
        if self.cib.configuration.node(target).is_none() {
            return Err(format!("node '{target}' is not a cluster node"));
        }
        if self.member_names().iter().any(|m| m == target) {
            return Err(format!(
                "{target} is a member of the cluster: it is not down"
            ));
        }
        replication::mark_fenced(&mut self.cib, target);
        self.fencing_given_up.remove(target);
        let id = self.next_fence_op;
        self.next_fence_op += 1;
        // The fencer completes its operations against the target (their
        // notes confirm the transitions that wait for them) and records
        // the confirmation in its history.
        self.fencer_input(
            now,
            FencerInput::Confirm {
                id,
                target: target.to_string(),
                origin: origin.to_string(),
            },
        );
        if let Some(c) = &mut self.controller {
            c.invalidate(
                &format!("{target} was confirmed down by the operator"),
                outs,
            );
        }
        Ok(format!(
            "{target} is recorded as fenced (confirmed by the operator on {origin})"
        ))
    }

    /// Records a fencing result another member's fencer delivered.
    #[allow(clippy::too_many_arguments)]
    fn record_peer_fencing(
        &mut self,
        target: &str,
        action: &str,
        executor: &str,
        client: Option<&ClientRef>,
        devices: Vec<String>,
        result: Result<(), String>,
        completed_ms: Option<i64>,
    ) {
        let at = completed_ms.map(|ms| ms.max(0) as u64);
        let (state, reason) = match result {
            Ok(()) => (fencer::HistoryState::Done, None),
            Err(r) => (fencer::HistoryState::Failed, Some(r)),
        };
        self.peer_fence_history.push_back(fencer::HistoryEntry {
            id: 0,
            target: target.to_string(),
            action: fencer::FenceAction::parse(action).unwrap_or(fencer::FenceAction::Reboot),
            origin: client.map_or_else(|| executor.to_string(), |c| c.origin.clone()),
            client: if client.is_some() {
                "warden stonith fence".to_string()
            } else {
                "controller".to_string()
            },
            executor: executor.to_string(),
            devices,
            state,
            attempt: 1,
            requested_ms: at.unwrap_or(0),
            completed_ms: at,
            reason,
            merged: Vec::new(),
            power_on: None,
        });
        while self.peer_fence_history.len() > MAX_PEER_FENCE_HISTORY {
            self.peer_fence_history.pop_front();
        }
    }

    fn run_outs(&mut self, now: Timestamp, outs: Vec<Out>) {
        for o in outs {
            match o {
                Out::Broadcast(m) => self.broadcast(m),
                Out::Log(d) => self.log(d),
                Out::Fence {
                    target,
                    action,
                    reason: _,
                    delay_ms,
                    reference,
                } => {
                    let view_seq = self.view.as_ref().map_or(0, |v| v.seq);
                    let peer = (target == self.name)
                        .then(|| {
                            self.view.as_ref().and_then(|v| {
                                v.members
                                    .iter()
                                    .filter(|m| m.name != self.name)
                                    .min_by_key(|m| m.id)
                                    .map(|m| m.name.clone())
                            })
                        })
                        .flatten();
                    match peer {
                        Some(executor) => self.broadcast(Message::Fence(Box::new(FenceOrder {
                            executor,
                            target,
                            action: action.as_str().to_string(),
                            delay_ms,
                            reference: Some(reference),
                            view_seq,
                            client: None,
                        }))),
                        None => self.start_fencing(
                            now,
                            &target,
                            action,
                            delay_ms,
                            FenceFor {
                                reference: Some(reference),
                                client: None,
                                view_seq,
                                for_peer: false,
                            },
                        ),
                    }
                }
            }
        }
    }

    fn start_fencing(
        &mut self,
        now: Timestamp,
        target: &str,
        action: FenceAction,
        delay_ms: u64,
        what: FenceFor,
    ) {
        let id = self.next_fence_op;
        self.next_fence_op += 1;
        let origin = what
            .client
            .as_ref()
            .map_or_else(|| self.name.clone(), |c| c.origin.clone());
        let manual = what.client.is_some();
        self.fence_ops.insert(
            id,
            FenceOp {
                reference: what.reference,
                view_seq: what.view_seq,
                for_peer: what.for_peer,
                client: what.client,
            },
        );
        let mut req = FenceRequest::new(id, target, &origin);
        if manual {
            req.client = "warden stonith fence".to_string();
        }
        req.action = Some(match action {
            FenceAction::Reboot => fencer::FenceAction::Reboot,
            FenceAction::Off => fencer::FenceAction::Off,
            FenceAction::On => fencer::FenceAction::On,
        });
        req.delay = RequestedDelay::Ms(delay_ms);
        self.fencer_input(now, FencerInput::Request(req));
    }

    // ---- the local executor -------------------------------------------

    fn execute(&mut self, d: Dispatch) {
        let request = d.request.to_request();
        if request.action == "stop" {
            let cancels = self.lrm.cancel_all_recurring(&request.rsc_id);
            self.effects.extend(cancels);
        }
        if request.interval_ms > 0 {
            let key = (
                request.rsc_id.clone(),
                request.action.clone(),
                request.interval_ms,
            );
            if let Some(old) = self.lrm.recurring.remove(&key) {
                // The executor replaces a recurring action with the same key.
                self.lrm.calls.remove(&old);
            }
        }
        let call_id = self.lrm.next_call;
        self.lrm.next_call += 1;
        if request.interval_ms > 0 {
            self.lrm.recurring.insert(
                (
                    request.rsc_id.clone(),
                    request.action.clone(),
                    request.interval_ms,
                ),
                call_id,
            );
        }
        self.lrm.calls.insert(
            call_id,
            Call {
                request: request.clone(),
                expected_rc: d.expected_rc,
                transition_key: d.transition_key,
                reference: Some(d.reference),
                reported: false,
                cancel_reference: None,
            },
        );
        self.effects
            .push_back(Effect::RunAction { call_id, request });
    }

    /// Restarts a recurring action with the same request: the executor
    /// replaces it and reports its first result.
    fn rearm(&mut self, rsc: &str, action: &str, interval_ms: u64) {
        let key = (rsc.to_string(), action.to_string(), interval_ms);
        let Some(old) = self.lrm.recurring.get(&key).copied() else {
            return;
        };
        let Some(call) = self.lrm.calls.remove(&old) else {
            return;
        };
        let call_id = self.lrm.next_call;
        self.lrm.next_call += 1;
        self.lrm.recurring.insert(key, call_id);
        let request = call.request.clone();
        self.lrm.calls.insert(
            call_id,
            Call {
                reference: None,
                reported: false,
                cancel_reference: None,
                ..call
            },
        );
        self.effects
            .push_back(Effect::RunAction { call_id, request });
    }

    fn history_update(
        &self,
        rsc: &str,
        reference: Option<ActionRef>,
        result: Option<ResultNote>,
    ) -> Message {
        Message::History(Box::new(HistoryUpdate {
            node: self.name.clone(),
            rsc_id: rsc.to_string(),
            history: self.lrm.reported(rsc),
            attrs: self.lrm.attrs.clone(),
            reference,
            result,
            busy: self.lrm.busy(),
        }))
    }

    fn cancel(&mut self, rsc: &str, action: &str, interval_ms: u64, reference: ActionRef) {
        let key = (rsc.to_string(), action.to_string(), interval_ms);
        if let Some(call) = self.lrm.recurring.get(&key).copied() {
            if let Some(c) = self.lrm.calls.get_mut(&call) {
                c.cancel_reference = Some(reference);
            }
            self.effects.push_back(Effect::CancelAction {
                rsc_id: key.0,
                action: key.1,
                interval_ms,
            });
            return;
        }
        if let Some(h) = self.lrm.history.get_mut(rsc) {
            h.remove_op(&format!("{rsc}_{action}_{interval_ms}"));
        }
        let m = self.history_update(rsc, Some(reference), None);
        self.broadcast(m);
    }

    fn forget(&mut self, rsc: &str, history: bool, reference: Option<ActionRef>) {
        let mut changed = replication::clear_failures(&mut self.lrm.attrs, rsc);
        if history {
            let cancels = self.lrm.cancel_all_recurring(rsc);
            self.effects.extend(cancels);
            changed |= self.lrm.history.remove(rsc).is_some();
        }
        // Also when nothing changed here: the CIB may hold a record the DC
        // wrote on this node's behalf.
        let recorded = replication::recorded_attrs(&self.cib, &self.name)
            .keys()
            .any(|k| k.contains(&format!("-{rsc}#")));
        let in_cib = self
            .cib
            .status
            .node_states
            .iter()
            .find(|s| s.uname.as_deref() == Some(self.name.as_str()))
            .and_then(|s| s.lrm.as_ref())
            .is_some_and(|l| l.resources.iter().any(|r| r.id == rsc));
        if changed || reference.is_some() || recorded || (history && in_cib) {
            let m = self.history_update(rsc, reference, None);
            self.broadcast(m);
        }
    }

    fn on_action_finished(&mut self, now: Timestamp, call_id: u64, result: ActionResult) {
        let Some(call) = self.lrm.calls.get(&call_id).cloned() else {
            return;
        };
        let req = &call.request;
        let key = (req.rsc_id.clone(), req.action.clone(), req.interval_ms);
        if result.status == ExecStatus::Cancelled {
            self.lrm.calls.remove(&call_id);
            if self.lrm.recurring.get(&key) == Some(&call_id) {
                self.lrm.recurring.remove(&key);
            }
            if let Some(h) = self.lrm.history.get_mut(&req.rsc_id) {
                h.remove_op(&req.key());
            }
            if let Some(r) = call.cancel_reference {
                let m = self.history_update(&req.rsc_id, Some(r), None);
                self.broadcast(m);
            }
            return;
        }
        if req.interval_ms > 0 && self.lrm.recurring.get(&key) != Some(&call_id) {
            return;
        }
        let start_fatal = replication::start_failure_is_fatal(&self.cib);
        let ignore = req
            .meta
            .get("on-fail")
            .or_else(|| req.meta.get("on_fail"))
            .is_some_and(|v| v.eq_ignore_ascii_case("ignore"));
        let h = self
            .lrm
            .history
            .entry(req.rsc_id.clone())
            .or_insert_with(|| desc_of(req));
        let digest = crate::core::scheduler::digest::request_digest(req);
        let failed = h.record(&OpResult {
            node: &self.name,
            task: &req.action,
            interval_ms: req.interval_ms,
            call_id: call_id as i64,
            rc: result.rc,
            status: result.status,
            expected_rc: call.expected_rc,
            transition_key: &call.transition_key,
            exit_reason: result.exit_reason.as_deref(),
            now,
            exec_ms: result.duration_ms,
            op_digest: Some(&digest),
        });
        if failed {
            replication::record_failure(
                &mut self.lrm.attrs,
                &req.rsc_id,
                &req.action,
                req.interval_ms,
                start_fatal,
                ignore,
                now,
            );
        }
        let reference = if req.interval_ms == 0 {
            self.lrm.calls.remove(&call_id);
            call.reference.clone()
        } else {
            let c = self.lrm.calls.get_mut(&call_id).expect("looked up above");
            if c.reported {
                None
            } else {
                c.reported = true;
                call.reference.clone()
            }
        };
        let note = ResultNote {
            task: req.action.clone(),
            interval_ms: req.interval_ms,
            rc: result.rc,
            status: result.status.code(),
            expected_rc: call.expected_rc,
            exit_reason: result.exit_reason.clone(),
        };
        let rsc = req.rsc_id.clone();
        let m = self.history_update(&rsc, reference, Some(note));
        self.broadcast(m);
        self.retry_blocked_shutdown();
    }

    // ---- fencing --------------------------------------------------------

    fn fencer_input(&mut self, now: Timestamp, input: FencerInput) {
        self.fencer.handle(now.millis().max(0) as u64, input);
        let mut outs = Vec::new();
        while let Some(e) = self.fencer.poll_effect() {
            match e {
                FencerEffect::RunAgent(run) => self.effects.push_back(Effect::RunFenceAgent(run)),
                FencerEffect::KillAgent { run } => {
                    self.effects.push_back(Effect::KillFenceAgent { run })
                }
                FencerEffect::Done {
                    id,
                    target,
                    action,
                    result,
                    devices,
                } => {
                    let Some(op) = self.fence_ops.remove(&id) else {
                        continue;
                    };
                    match result {
                        FenceResult::Success => {
                            if action != fencer::FenceAction::On {
                                self.fenced_unconfirmed.insert(target.clone());
                            }
                            self.log(Decision::Fenced {
                                target: target.clone(),
                                by: self.name.clone(),
                                devices: devices.clone(),
                            });
                            self.broadcast(Message::Fenced(Box::new(FencedNote {
                                target,
                                action: action.as_str().to_string(),
                                devices,
                                origin: self.name.clone(),
                                view_seq: op.view_seq,
                                reference: op.reference,
                                client: op.client,
                                completed_ms: Some(now.millis()),
                            })));
                        }
                        other => {
                            let given_up = matches!(other, FenceResult::TooManyAttempts(_));
                            let reason = match &other {
                                FenceResult::Failed(r) => r.clone(),
                                FenceResult::TimedOut => "timed out".to_string(),
                                FenceResult::NoDevice => "no fence device can fence it".to_string(),
                                FenceResult::TooManyAttempts(n) => {
                                    format!("{n} failed attempts already")
                                }
                                FenceResult::Success => unreachable!(),
                            };
                            let reason_text = reason.clone();
                            self.log(Decision::FencingFailed {
                                target: target.clone(),
                                reason,
                            });
                            if given_up {
                                let retry_ms = self
                                    .cib
                                    .configuration
                                    .property("cluster-recheck-interval")
                                    .and_then(|v| cib::duration::parse_interval_ms(v).ok())
                                    .filter(|ms| *ms > 0)
                                    .unwrap_or(controller::DEFAULT_RECHECK_MS);
                                self.fencing_given_up
                                    .insert(target.clone(), now.plus_ms(retry_ms as i64));
                                self.log(Decision::FencingGivenUp {
                                    target: target.clone(),
                                    attempts: self.fencer.options().max_attempts,
                                    retry_in_ms: retry_ms,
                                });
                            }
                            if op.for_peer || op.client.is_some() {
                                // The controller that asked, or the
                                // operator's node, learns it by message.
                                let m = Message::FenceFailed {
                                    target: target.clone(),
                                    reference: op.reference.clone(),
                                    given_up,
                                    client: op.client.clone(),
                                    reason: reason_text.clone(),
                                    action: action.as_str().to_string(),
                                    executor: self.name.clone(),
                                    completed_ms: Some(now.millis()),
                                };
                                self.broadcast(m);
                            } else if let (Some(c), Some(r)) = (&mut self.controller, &op.reference)
                            {
                                c.on_fence_failed(r, given_up);
                            }
                            let _ = &mut outs;
                        }
                    }
                }
                FencerEffect::PoweredOn { target, result, .. } => {
                    self.log(Decision::PoweredOn { target, result })
                }
                FencerEffect::MonitorDone { .. } => {}
            }
        }
        self.run_outs(now, outs);
    }

    fn reconfigure_fencer_if_needed(&mut self, force: bool) {
        let cur = (self.cib.admin_epoch, self.cib.epoch);
        if !force && cur == self.fencer_config {
            return;
        }
        self.fencer_config = cur;
        let (fc, _) = fencer::config_from_cib(&self.cib, &self.name);
        // Configure takes no time and runs nothing.
        self.fencer.handle(0, FencerInput::Configure(Box::new(fc)));
    }

    // ---- clients and timers ---------------------------------------------

    fn on_client(
        &mut self,
        now: Timestamp,
        request_id: u64,
        request: ClientRequest,
        user: Option<String>,
    ) {
        if self.view.is_none() {
            self.effects.push_back(Effect::Reply {
                request_id,
                result: Err("this node is not part of a cluster partition".to_string()),
                conflict: None,
            });
            return;
        }
        if self.pending_clients.len() >= MAX_PENDING_CLIENT_REQUESTS {
            self.effects.push_back(Effect::Reply {
                request_id,
                result: Err(format!(
                    "{MAX_PENDING_CLIENT_REQUESTS} requests are already waiting; try again"
                )),
                conflict: None,
            });
            return;
        }
        self.pending_clients.push(request_id);
        self.broadcast(Message::Client {
            origin: self.name.clone(),
            request_id,
            request,
            at: now.millis(),
            user,
        });
    }

    /// The node is asked to stop: as Pacemaker's controller, it sets its
    /// transient attribute `shutdown` (the time, in seconds) for the
    /// cluster to see; the DC's scheduler then stops or moves everything
    /// here and schedules `do_shutdown`, whose delivery lets it leave. A
    /// node that runs nothing the cluster knows of and is in no view, or
    /// alone waiting for its first DC, leaves at once.
    fn on_shutdown(&mut self, now: Timestamp) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        let active_here = {
            let state = crate::core::scheduler::current_state(&self.cib, now);
            state
                .resources
                .iter()
                .any(|r| r.running_on.contains(&self.name))
        };
        let idle_here = self.lrm.calls.is_empty() && !active_here;
        let no_cluster = self.view.is_none() || self.dc_wait_until.is_some();
        if no_cluster && idle_here {
            self.shutdown_complete = true;
            self.effects.push_back(Effect::ShutdownComplete);
            return;
        }
        self.lrm
            .attrs
            .insert("shutdown".to_string(), now.secs().to_string());
        self.broadcast(Message::Attributes {
            node: self.name.clone(),
            attrs: self.lrm.attrs.clone(),
        });
    }

    /// Whether this node may leave, by its own executor: nothing running
    /// (no one-shot action in flight), nothing active as its history says,
    /// and every configured resource known here (a cleanup forgets what a
    /// probe has yet to find again).
    fn may_leave(&self, now: Timestamp) -> Result<(), String> {
        if self.lrm.busy() {
            return Err("actions are still running here".to_string());
        }
        let state = crate::core::scheduler::current_state(&self.cib, now);
        let active: Vec<&str> = state
            .resources
            .iter()
            .filter(|r| r.running_on.contains(&self.name))
            .map(|r| r.id.as_str())
            .collect();
        if !active.is_empty() {
            return Err(format!("{} still active here", active.join(", ")));
        }
        let unknown: Vec<&str> = self
            .cib
            .configuration
            .primitives()
            .map(|p| p.id.as_str())
            .filter(|id| !self.lrm.history.contains_key(*id))
            .collect();
        // Only what the cluster would probe here holds the node: a resource
        // whose discovery is off on this node (`resource-discovery=never`)
        // is never looked for, so waiting for it would only wait for the
        // escalation timeout.
        let unknown = if unknown.is_empty() {
            unknown
        } else {
            let probed = self.probes_scheduled_here(now);
            unknown
                .into_iter()
                .filter(|id| probed.contains(*id))
                .collect()
        };
        if !unknown.is_empty() {
            return Err(format!("{} not probed here", unknown.join(", ")));
        }
        Ok(())
    }

    /// The resources the scheduler would probe on this node now (by
    /// primitive id: a clone instance's probe counts for its primitive).
    fn probes_scheduled_here(&self, now: Timestamp) -> std::collections::BTreeSet<String> {
        use crate::core::scheduler::GraphActionKind;
        crate::core::scheduler::schedule(&self.cib, now)
            .graph
            .actions
            .iter()
            .filter_map(|a| match &a.kind {
                GraphActionKind::Resource { request, .. }
                    if request.node == self.name
                        && request.action == "monitor"
                        && request.interval_ms == 0 =>
                {
                    let id = request.rsc_id.as_str();
                    Some(id.split_once(':').map_or(id, |(p, _)| p).to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// A blocked shutdown asks again once the node's actions are done.
    fn retry_blocked_shutdown(&mut self) {
        if self.shutdown_blocked && !self.shutdown_complete && !self.lrm.busy() {
            self.shutdown_blocked = false;
            self.broadcast(Message::Attributes {
                node: self.name.clone(),
                attrs: self.lrm.attrs.clone(),
            });
        }
    }

    fn on_timer(&mut self, now: Timestamp) {
        if self.dc_wait_until.is_some_and(|t| t <= now) {
            self.dc_wait_until = None;
            if let (Phase::Synced, Some(view)) = (&self.phase, self.view.clone()) {
                if let Some(me) = view.members.iter().find(|m| m.name == self.name) {
                    let me = me.clone();
                    self.become_dc_or_member(now, &view, me, &BTreeMap::new());
                }
            }
        }
        let expired: Vec<String> = self
            .fencing_given_up
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for target in expired {
            self.fencing_given_up.remove(&target);
            self.fencer.handle(
                now.millis() as u64,
                FencerInput::ClearFailures {
                    target: target.clone(),
                },
            );
            if let Some(c) = &mut self.controller {
                let mut outs = Vec::new();
                c.invalidate(&format!("time to try fencing {target} again"), &mut outs);
                self.run_outs(now, outs);
            }
        }
        if self
            .fencer
            .poll_timeout()
            .is_some_and(|t| t as i64 <= now.millis())
        {
            self.fencer_input(now, FencerInput::Timer);
        }
    }

    /// After every event: follow configuration changes, run the DC,
    /// persist the CIB if it changed.
    fn after(&mut self, now: Timestamp, before: (Version, u64, u64)) {
        let dc_properties = std::mem::take(&mut self.dc_property_bumps);
        if (self.cib.admin_epoch, self.cib.epoch) != (before.1, before.2) {
            self.reconfigure_fencer_if_needed(false);
            // The DC's own record of the cluster (`dc-version`, ...) is no
            // reason to look again: nothing the scheduler reads changed.
            let only_dc_properties =
                self.cib.admin_epoch == before.1 && self.cib.epoch == before.2 + dc_properties;
            if let (Some(c), false) = (&mut self.controller, only_dc_properties) {
                let mut outs = Vec::new();
                c.invalidate("the configuration changed", &mut outs);
                self.run_outs(now, outs);
            }
        }
        if self.cib.version() != before.0 {
            self.persist = true;
        }
        for _ in 0..8 {
            let Some(c) = &mut self.controller else {
                break;
            };
            let view = self.view.as_ref().expect("a DC has a view");
            let ctx = controller::Ctx {
                now,
                me: &self.name,
                cib: &self.cib,
                members: &view.members,
                fencing_given_up: &self.fencing_given_up,
            };
            let mut outs = Vec::new();
            c.tick(&ctx, &mut outs);
            if outs.is_empty() {
                break;
            }
            self.run_outs(now, outs);
        }
        if self.persist {
            self.persist = false;
            self.effects.push_back(Effect::PersistCib {
                version: self.cib.version(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIB: &str = r#"<cib epoch="5" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes/>
    <resources>
      <primitive id="d" class="ocf" provider="pacemaker" type="Dummy">
        <operations><op id="d-mon" name="monitor" interval="10s" timeout="20s"/></operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>"#;

    fn node(name: &str, id: u32) -> Node {
        Node::new(NodeConfig {
            name: name.into(),
            id,
            seed: 1,
            cib: Some(cib::parse(CIB, "t").cib.unwrap()),
            cluster: test_cluster_info(),
        })
    }

    fn drain(n: &mut Node) -> Vec<Effect> {
        std::iter::from_fn(|| n.poll_effect()).collect()
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + s)
    }

    fn view1() -> View {
        View {
            seq: 1,
            members: vec![Member {
                id: 1,
                name: "n1".into(),
            }],
            quorate: true,
        }
    }

    fn deliver_own(n: &mut Node, now: Timestamp, effects: &[Effect]) -> Vec<Effect> {
        let mut out = Vec::new();
        for e in effects {
            if let Effect::Broadcast(m) = e {
                n.handle(
                    now,
                    Event::Delivered {
                        from: n.name().to_string(),
                        message: m.clone(),
                    },
                );
                out.extend(drain(n));
            }
        }
        out
    }

    fn kinds(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|e| match e {
                Effect::Broadcast(Message::Join(_)) => "broadcast join".to_string(),
                Effect::Broadcast(Message::Execute(d)) => format!(
                    "broadcast execute {} {} on {}",
                    d.request.rsc_id, d.request.action, d.node
                ),
                Effect::Broadcast(Message::History(h)) => {
                    format!("broadcast history {} of {}", h.rsc_id, h.node)
                }
                Effect::Broadcast(Message::DcProperties { .. }) => {
                    "broadcast dc properties".to_string()
                }
                Effect::Broadcast(m) => format!("broadcast {m:?}"),
                Effect::RunAction { call_id, request } => format!(
                    "run {call_id} {}_{}_{}",
                    request.rsc_id, request.action, request.interval_ms
                ),
                Effect::Log(d) => format!("log {d}"),
                Effect::PersistCib { version } => format!("persist {version}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_lone_node_joins_becomes_dc_and_probes() {
        let mut n = node("n1", 1);
        n.handle(t(0), Event::Membership(view1()));
        let e = drain(&mut n);
        assert_eq!(
            kinds(&e),
            ["log membership: n1 (quorate)", "broadcast join"]
        );
        let e = deliver_own(&mut n, t(0), &e);
        assert_eq!(
            kinds(&e),
            [
                "broadcast dc properties",
                "log n1 is the DC",
                "log transition 1 (a new DC looks at the cluster): Start d ( n1 )",
                "broadcast execute d monitor on n1",
                "persist 0.6.0",
            ]
        );
        assert!(n.is_dc() && n.is_synced());
        assert_eq!(n.cib().configuration.nodes[0].uname, "n1");
        let e = deliver_own(&mut n, t(0), &e);
        // The DC's properties are a configuration change (no new
        // transition for them).
        assert_eq!(kinds(&e), ["persist 0.7.0", "run 1 d_monitor_0"]);
        // The probe says "not running", as expected.
        n.handle(
            t(1),
            Event::ActionFinished {
                call_id: 1,
                result: ActionResult {
                    rc: rc::NOT_RUNNING,
                    status: ExecStatus::Done,
                    exit_reason: None,
                    output: String::new(),
                    duration_ms: 5,
                },
            },
        );
        let e = drain(&mut n);
        assert_eq!(kinds(&e), ["broadcast history d of n1"]);
        let e = deliver_own(&mut n, t(1), &e);
        assert_eq!(
            kinds(&e),
            [
                "log starting d on n1",
                "broadcast execute d start on n1",
                "persist 0.7.1"
            ]
        );
    }

    #[test]
    fn a_failed_start_is_recorded_and_counted_as_pacemaker_does() {
        let mut n = node("n1", 1);
        n.handle(t(0), Event::Membership(view1()));
        let e = drain(&mut n);
        let e = deliver_own(&mut n, t(0), &e);
        let e = deliver_own(&mut n, t(0), &e);
        n.handle(
            t(1),
            Event::ActionFinished {
                call_id: 1,
                result: ActionResult {
                    rc: rc::NOT_RUNNING,
                    status: ExecStatus::Done,
                    exit_reason: None,
                    output: String::new(),
                    duration_ms: 5,
                },
            },
        );
        let e2 = drain(&mut n);
        let e2 = deliver_own(&mut n, t(1), &e2);
        let _ = (e, deliver_own(&mut n, t(1), &e2));
        n.handle(
            t(2),
            Event::ActionFinished {
                call_id: 2,
                result: ActionResult {
                    rc: rc::ERR_GENERIC,
                    status: ExecStatus::Done,
                    exit_reason: Some("no such file".into()),
                    output: String::new(),
                    duration_ms: 5,
                },
            },
        );
        let e = drain(&mut n);
        let Effect::Broadcast(Message::History(h)) = &e[0] else {
            panic!("{e:?}")
        };
        assert_eq!(h.attrs["fail-count-d#start_0"], "INFINITY");
        assert_eq!(
            h.attrs["last-failure-d#start_0"],
            (1_700_000_002).to_string()
        );
        let ids: Vec<&str> = h
            .history
            .as_ref()
            .unwrap()
            .ops
            .iter()
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(ids, ["d_last_0", "d_last_failure_0"]);
        let e = deliver_own(&mut n, t(2), &e);
        assert_eq!(
            kinds(&e)[..2],
            [
                "log start of d on n1 failed: rc=1 (error): no such file",
                "log transition 1 ended: 1 done, 1 failed, 1 not run"
            ]
        );
        // With the only node banned by the failure, d is stopped.
        assert!(
            kinds(&e)
                .iter()
                .any(|k| k == "broadcast execute d stop on n1"),
            "{:?}",
            kinds(&e)
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut params = BTreeMap::new();
        params.insert("passwd".to_string(), "hunter2".to_string());
        let w = WireRequest {
            rsc_id: "f".into(),
            standard: "stonith".into(),
            provider: None,
            kind: "fence_ipmilan".into(),
            action: "start".into(),
            interval_ms: 0,
            timeout_ms: 1,
            params,
            meta: BTreeMap::new(),
            node: "n1".into(),
        };
        let shown = format!("{w:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let m = Message::Sync {
            version: WireVersion::default(),
            cib: CibText("<cib passwd='hunter2'/>".into()),
        };
        assert!(!format!("{m:?}").contains("hunter2"));
    }
}

/// Requests decided in the cluster's order: configuration replace,
/// operator fencing and confirmation, clean shutdown. A small two-node
/// harness: every broadcast is delivered to every member in one global
/// order, actions succeed, fence agents answer as told.
#[cfg(test)]
mod request_tests {
    use super::*;
    use std::collections::BTreeSet;

    const CIB: &str = r#"<cib epoch="5" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="true"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="f" class="stonith" type="fence_warden_dummy">
        <instance_attributes id="f-ia">
          <nvpair id="f-hl" name="pcmk_host_list" value="n1 n2"/>
          <nvpair id="f-pw" name="password" value="hunter2"/>
        </instance_attributes>
      </primitive>
      <primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>
    </resources>
    <constraints>
      <rsc_location id="d-on-n2" rsc="d" node="n2" score="50"/>
    </constraints>
  </configuration>
  <status/>
</cib>"#;

    /// (node, request id, result, conflict)
    type Answer = (usize, u64, Result<String, String>, Option<Version>);

    #[derive(Default)]
    struct Harness {
        nodes: Vec<Node>,
        now: i64,
        /// Resources active per node (the agents' truth).
        active: BTreeSet<(usize, String)>,
        /// Fence agents answer with this exit code; `None`: they hang.
        fence_rc: Option<i32>,
        hung_fence_runs: Vec<(usize, RunId)>,
        fence_actions: Vec<(usize, String, String)>,
        replies: Vec<Answer>,
        exited: Vec<usize>,
        logs: Vec<String>,
        starts: Vec<(usize, String)>,
        queue: VecDeque<(usize, Message)>,
        exec: VecDeque<(usize, u64, ActionRequest)>,
        fence: VecDeque<(usize, RunId)>,
        members: Vec<usize>,
    }

    impl Harness {
        fn new() -> Harness {
            Harness::with_cib(CIB)
        }

        fn with_cib(text: &str) -> Harness {
            let mut h = Harness {
                now: 1_700_000_000_000,
                fence_rc: Some(0),
                ..Harness::default()
            };
            for (name, id) in [("n1", 1), ("n2", 2)] {
                h.nodes.push(Node::new(NodeConfig {
                    name: name.into(),
                    id,
                    seed: 7,
                    cib: Some(cib::parse(text, "t").cib.unwrap()),
                    cluster: test_cluster_info(),
                }));
            }
            h
        }

        fn t(&self) -> Timestamp {
            Timestamp(self.now)
        }

        fn view(&mut self, seq: u64, members: &[usize]) {
            self.members = members.to_vec();
            let view = View {
                seq,
                members: members
                    .iter()
                    .map(|&i| Member {
                        id: self.nodes[i].id(),
                        name: self.nodes[i].name().to_string(),
                    })
                    .collect(),
                quorate: true,
            };
            // Messages of the old view not yet delivered are lost.
            self.queue.clear();
            for &i in members {
                let now = self.t();
                self.nodes[i].handle(now, Event::Membership(view.clone()));
            }
            self.pump();
        }

        fn handle(&mut self, i: usize, ev: Event) {
            let now = self.t();
            self.nodes[i].handle(now, ev);
        }

        fn drain(&mut self) -> bool {
            let mut any = false;
            for i in 0..self.nodes.len() {
                while let Some(e) = self.nodes[i].poll_effect() {
                    any = true;
                    match e {
                        Effect::Broadcast(m) if self.members.contains(&i) => {
                            self.queue.push_back((i, m))
                        }
                        Effect::RunAction { call_id, request } => {
                            if request.action == "start" {
                                self.starts.push((i, request.rsc_id.clone()));
                            }
                            self.exec.push_back((i, call_id, request))
                        }
                        Effect::RunFenceAgent(run) => {
                            self.fence_actions.push((
                                i,
                                run.action.clone(),
                                run.target.clone().unwrap_or_default(),
                            ));
                            self.fence.push_back((i, run.run))
                        }
                        Effect::Reply {
                            request_id,
                            result,
                            conflict,
                        } => self.replies.push((i, request_id, result, conflict)),
                        Effect::ShutdownComplete => self.exited.push(i),
                        Effect::Log(d) => self.logs.push(format!("{}: {d}", self.nodes[i].name())),
                        _ => {}
                    }
                }
            }
            any
        }

        /// Runs until nothing moves (bounded).
        fn pump(&mut self) {
            for _ in 0..10_000 {
                if self.drain() {
                    continue;
                }
                if let Some((from, m)) = self.queue.pop_front() {
                    let from = self.nodes[from].name().to_string();
                    for j in self.members.clone() {
                        self.handle(
                            j,
                            Event::Delivered {
                                from: from.clone(),
                                message: m.clone(),
                            },
                        );
                    }
                    continue;
                }
                if let Some((i, call_id, req)) = self.exec.pop_front() {
                    let key = (i, req.rsc_id.clone());
                    let rc_code = match (req.action.as_str(), req.interval_ms) {
                        ("start", _) => {
                            self.active.insert(key);
                            rc::OK
                        }
                        ("stop", _) => {
                            self.active.remove(&key);
                            rc::OK
                        }
                        ("monitor", _) if self.active.contains(&key) => rc::OK,
                        ("monitor", _) => rc::NOT_RUNNING,
                        _ => rc::OK,
                    };
                    self.handle(
                        i,
                        Event::ActionFinished {
                            call_id,
                            result: ActionResult {
                                rc: rc_code,
                                status: ExecStatus::Done,
                                exit_reason: None,
                                output: String::new(),
                                duration_ms: 1,
                            },
                        },
                    );
                    continue;
                }
                if let Some((i, run)) = self.fence.pop_front() {
                    match self.fence_rc {
                        Some(code) => self.handle(
                            i,
                            Event::FenceAgentDone {
                                run,
                                outcome: AgentOutcome::exit(code),
                            },
                        ),
                        None => self.hung_fence_runs.push((i, run)),
                    }
                    continue;
                }
                // Nothing moves: let the earliest timer fire.
                let next = self
                    .members
                    .iter()
                    .filter_map(|&i| self.nodes[i].poll_timeout().map(|t| (t, i)))
                    .min();
                match next {
                    Some((t, i)) if t.millis() <= self.now + 120_000 => {
                        self.now = self.now.max(t.millis());
                        self.handle(i, Event::Timer);
                    }
                    _ => return,
                }
            }
            panic!("the harness did not settle");
        }

        fn request(&mut self, i: usize, id: u64, request: ClientRequest) {
            self.handle(
                i,
                Event::Client {
                    request_id: id,
                    request,
                    user: Some("root".to_string()),
                },
            );
            self.pump();
        }

        fn reply(&self, id: u64) -> (usize, Result<String, String>, Option<Version>) {
            let r = self
                .replies
                .iter()
                .find(|r| r.1 == id)
                .unwrap_or_else(|| panic!("no reply to {id}: {:?}", self.replies));
            (r.0, r.2.clone(), r.3)
        }

        fn running(&self, rsc: &str) -> Vec<usize> {
            self.active
                .iter()
                .filter(|(_, r)| r == rsc)
                .map(|(i, _)| *i)
                .collect()
        }

        fn up() -> Harness {
            let mut h = Harness::new();
            h.view(1, &[0, 1]);
            assert!(h.nodes[0].is_dc(), "{:?}", h.logs);
            assert_eq!(h.running("d"), [1], "{:#?}", h.logs);
            h
        }
    }

    fn replace(cib: &Cib, expected: Version, edit: impl Fn(String) -> String) -> ClientRequest {
        ClientRequest::ReplaceConfiguration {
            expected: expected.into(),
            cib: CibText(edit(cib::to_xml(cib))),
        }
    }

    #[test]
    fn a_replace_applies_at_the_version_read_the_same_on_every_member() {
        let mut h = Harness::up();
        let read = h.nodes[1].cib().clone();
        let v = read.version();
        let req = replace(&read, v, |t| {
            t.replace(
                r#"<nvpair id="o1" name="stonith-enabled" value="true"/>"#,
                r#"<nvpair id="o1" name="stonith-enabled" value="true"/><nvpair id="o2" name="stonith-timeout" value="90s"/>"#,
            )
        });
        h.request(1, 1, req.clone());
        let (node, result, conflict) = h.reply(1);
        assert_eq!(node, 1);
        assert_eq!(conflict, None);
        let now = h.nodes[0].cib().version();
        assert_eq!(
            result,
            Ok(format!("configuration replaced (now 0:{})", v.epoch + 1))
        );
        assert_eq!(now.epoch, v.epoch + 1);
        assert_eq!(cib::digest(h.nodes[0].cib()), cib::digest(h.nodes[1].cib()));
        assert_eq!(
            h.nodes[1].cib().configuration.property("stonith-timeout"),
            Some("90s")
        );
        // The same request again: the configuration moved on.
        h.request(0, 2, req);
        let (_, result, conflict) = h.reply(2);
        assert_eq!(
            result,
            Err(format!(
                "the configuration changed since it was read (now 0:{}); nothing was changed",
                v.epoch + 1
            ))
        );
        assert_eq!(conflict.map(|c| c.epoch), Some(v.epoch + 1));
        // A document with errors: refused with them, nothing changed.
        let before = cib::digest(h.nodes[0].cib());
        let cur = h.nodes[0].cib().clone();
        let bad = replace(&cur, cur.version(), |t| {
            t.replace(
                r#"<rsc_location id="d-on-n2" rsc="d" node="n2" score="50"/>"#,
                r#"<rsc_location id="d-on-n2" rsc="nosuch" node="n2" score="50"/>"#,
            )
        });
        h.request(0, 3, bad);
        let (_, result, conflict) = h.reply(3);
        let err = result.unwrap_err();
        assert!(
            err.starts_with("the new configuration was refused: ")
                && err.contains("nosuch")
                && err.ends_with("nothing was changed"),
            "{err}"
        );
        assert_eq!(conflict, None);
        assert_eq!(cib::digest(h.nodes[0].cib()), before);
        assert_eq!(cib::digest(h.nodes[1].cib()), before);
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn an_operator_fences_the_dc_through_the_other_member_and_hears_the_result() {
        let mut h = Harness::up();
        h.request(
            1,
            7,
            ClientRequest::Fence {
                target: "n1".into(),
                off: true,
            },
        );
        // The DC is the target: the other member's fencer does it.
        assert_eq!(h.fence_actions, [(1, "off".to_string(), "n1".to_string())]);
        let (node, result, _) = h.reply(7);
        assert_eq!(node, 1);
        assert_eq!(result, Ok("n1 fenced (off) by n2 (f)".to_string()));
        // Every member recorded it: n1 down and expected down.
        for n in &h.nodes {
            let st = n
                .cib()
                .status
                .node_states
                .iter()
                .find(|s| s.uname.as_deref() == Some("n1"))
                .unwrap();
            assert_eq!(st.expected.as_deref(), Some("down"));
        }
        // n2's history shows the operator's request.
        let hist = h.nodes[1].fence_history();
        assert!(
            hist.iter().any(|e| e.target == "n1"
                && e.client == "warden stonith fence"
                && e.state == fencer::HistoryState::Done),
            "{hist:?}"
        );
        // An unknown node is refused at once.
        h.request(
            0,
            8,
            ClientRequest::Fence {
                target: "n9".into(),
                off: false,
            },
        );
        assert_eq!(
            h.reply(8).1,
            Err("node 'n9' is not a cluster node".to_string())
        );
    }

    #[test]
    fn a_failed_operator_fencing_answers_with_the_fencers_reason() {
        let mut h = Harness::up();
        h.fence_rc = Some(1);
        h.request(
            0,
            3,
            ClientRequest::Fence {
                target: "n2".into(),
                off: false,
            },
        );
        let (node, result, _) = h.reply(3);
        assert_eq!(node, 0);
        let err = result.unwrap_err();
        assert!(err.starts_with("fencing n2 failed: "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        // Nothing was recorded as fenced; d still runs on n2.
        assert_eq!(h.running("d"), [1]);
        assert!(h.nodes[1]
            .fence_history()
            .iter()
            .any(|e| e.target == "n2" && e.state == fencer::HistoryState::Failed));
    }

    #[test]
    fn confirm_is_refused_for_a_member_and_completes_a_hung_fencing() {
        let mut h = Harness::up();
        h.request(
            0,
            1,
            ClientRequest::FenceConfirm {
                target: "n2".into(),
            },
        );
        assert_eq!(
            h.reply(1).1,
            Err("n2 is a member of the cluster: it is not down".to_string())
        );
        // n2 is lost; its fencing hangs; d must wait.
        h.fence_rc = None;
        h.active.retain(|(i, _)| *i != 1);
        h.starts.clear();
        h.view(2, &[0]);
        assert_eq!(h.fence_actions.last().map(|a| a.2.as_str()), Some("n2"));
        assert!(h.starts.iter().all(|(_, r)| r != "d"), "{:?}", h.starts);
        h.request(
            0,
            2,
            ClientRequest::FenceConfirm {
                target: "n2".into(),
            },
        );
        assert_eq!(
            h.reply(2).1,
            Ok("n2 is recorded as fenced (confirmed by the operator on n1)".to_string())
        );
        assert_eq!(h.running("d"), [0], "{:#?}", h.logs);
        let hist = h.nodes[0].fence_history();
        assert!(
            hist.iter().any(|e| e.target == "n2"
                && e.devices == ["manual"]
                && e.origin == "n1"
                && e.state == fencer::HistoryState::Done),
            "{hist:?}"
        );
    }

    #[test]
    fn a_shutdown_moves_the_resources_then_lets_the_node_leave_unfenced() {
        let mut h = Harness::up();
        h.fence_actions.clear();
        // n2 runs d; it is asked to stop.
        h.handle(1, Event::Shutdown);
        h.pump();
        assert_eq!(h.exited, [1], "{:#?}", h.logs);
        assert_eq!(h.running("d"), [0], "d moved before n2 left");
        assert!(h
            .logs
            .iter()
            .any(|l| l == "n1: n2 may leave the cluster: its resources are stopped"));
        for n in &h.nodes {
            let st = n
                .cib()
                .status
                .node_states
                .iter()
                .find(|s| s.uname.as_deref() == Some("n2"))
                .unwrap();
            assert_eq!(st.expected.as_deref(), Some("down"), "{}", n.name());
        }
        // It leaves: nobody fences it.
        h.view(2, &[0]);
        assert!(h.fence_actions.is_empty(), "{:?}", h.fence_actions);
        assert!(
            !h.logs.iter().any(|l| l.contains("fencing n2")),
            "{:#?}",
            h.logs
        );
        assert_eq!(h.running("d"), [0]);
    }

    /// `name`'s value in the CIB's `cib-bootstrap-options`.
    fn bootstrap(cib: &Cib, name: &str) -> Option<String> {
        cib.configuration
            .crm_config
            .iter()
            .find(|s| s.id == "cib-bootstrap-options")
            .and_then(|s| s.pairs.iter().find(|p| p.name == name))
            .map(|p| {
                assert_eq!(p.id, format!("cib-bootstrap-options-{name}"));
                p.value.clone().unwrap_or_default()
            })
    }

    fn cib_attr(cib: &Cib, name: &str) -> Option<String> {
        cib.extra_attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn the_dc_records_the_cluster_and_each_change_says_who_made_it() {
        let mut h = Harness::up();
        for n in &h.nodes {
            let c = n.cib();
            assert_eq!(bootstrap(c, "dc-version").as_deref(), Some("warden-test"));
            assert_eq!(
                bootstrap(c, "cluster-infrastructure").as_deref(),
                Some("corosync")
            );
            assert_eq!(bootstrap(c, "cluster-name").as_deref(), Some("t"));
            assert_eq!(bootstrap(c, "have-watchdog").as_deref(), Some("false"));
            // Written by the DC (n1) as a configuration change.
            assert_eq!(cib_attr(c, "update-origin").as_deref(), Some("n1"));
            assert_eq!(cib_attr(c, "update-client").as_deref(), Some(DAEMON_CLIENT));
        }
        assert_eq!(cib::digest(h.nodes[0].cib()), cib::digest(h.nodes[1].cib()));
        // A takeover that finds the same values changes nothing.
        let before = h.nodes[0].cib().version();
        h.view(2, &[0, 1]);
        assert_eq!(h.nodes[0].cib().version().epoch, before.epoch);

        // An operator's change on n2, an hour later: the same stamp on
        // every member, from the request itself.
        h.now += 3_600_000;
        h.request(
            1,
            1,
            ClientRequest::SetProperty {
                name: "stonith-timeout".into(),
                value: Some("90s".into()),
            },
        );
        assert!(h.reply(1).1.is_ok());
        let written = crate::core::time::ctime_utc(h.now / 1000);
        for n in &h.nodes {
            let c = n.cib();
            assert_eq!(c.version().epoch, before.epoch + 1, "{}", n.name());
            assert_eq!(cib_attr(c, "cib-last-written"), Some(written.clone()));
            assert_eq!(cib_attr(c, "update-origin").as_deref(), Some("n2"));
            assert_eq!(cib_attr(c, "update-client").as_deref(), Some(CLI_CLIENT));
            assert_eq!(cib_attr(c, "update-user").as_deref(), Some("root"));
        }
        assert_eq!(cib::digest(h.nodes[0].cib()), cib::digest(h.nodes[1].cib()));
        // A request that changes nothing in the configuration (a
        // property already at that value) stamps nothing.
        h.now += 60_000;
        h.request(
            0,
            2,
            ClientRequest::SetProperty {
                name: "stonith-timeout".into(),
                value: Some("90s".into()),
            },
        );
        assert_eq!(
            cib_attr(h.nodes[0].cib(), "update-origin").as_deref(),
            Some("n2")
        );
        assert_eq!(
            cib_attr(h.nodes[0].cib(), "cib-last-written"),
            Some(written)
        );
    }

    #[test]
    fn a_resource_never_looked_for_on_the_node_does_not_hold_its_shutdown() {
        // x is never discovered on n2 (and may not run there): no probe of
        // it will ever report from n2, so n2's shutdown must not wait for
        // one.
        let text = CIB
            .replace(
                r#"<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>"#,
                r#"<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>
      <primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>"#,
            )
            .replace(
                r#"<rsc_location id="d-on-n2" rsc="d" node="n2" score="50"/>"#,
                r#"<rsc_location id="d-on-n2" rsc="d" node="n2" score="50"/>
      <rsc_location id="x-never-n2" rsc="x" node="n2" score="-INFINITY" resource-discovery="never"/>"#,
            );
        let mut h = Harness::with_cib(&text);
        h.view(1, &[0, 1]);
        assert_eq!(h.running("x"), [0], "{:#?}", h.logs);
        assert!(
            !h.nodes[1].lrm.history.contains_key("x"),
            "x was probed on n2"
        );
        h.handle(1, Event::Shutdown);
        h.pump();
        assert_eq!(h.exited, [1], "{:#?}", h.logs);
        assert!(
            !h.logs.iter().any(|l| l.contains("not probed here")),
            "{:#?}",
            h.logs
        );
        assert_eq!(h.running("d"), [0], "d moved away before n2 left");
    }

    #[test]
    fn a_node_whose_resources_are_unmanaged_does_not_leave_until_they_stop() {
        let mut h = Harness::up();
        h.request(
            0,
            1,
            ClientRequest::Maintenance {
                node: Some("n2".into()),
                on: true,
            },
        );
        h.handle(1, Event::Shutdown);
        h.pump();
        assert!(h.exited.is_empty(), "{:#?}", h.logs);
        assert_eq!(h.running("d"), [1], "maintenance leaves d alone");
        assert!(
            h.logs
                .iter()
                .any(|l| l.starts_with("n1: warning: n2 cannot leave cleanly yet: d")),
            "{:#?}",
            h.logs
        );
        let expected = |h: &Harness| {
            h.nodes[0]
                .cib()
                .status
                .node_states
                .iter()
                .find(|s| s.uname.as_deref() == Some("n2"))
                .and_then(|s| s.expected.clone())
        };
        assert_eq!(expected(&h).as_deref(), Some("member"));
        // Maintenance over: d moves, then n2 leaves.
        h.request(
            0,
            2,
            ClientRequest::Maintenance {
                node: Some("n2".into()),
                on: false,
            },
        );
        assert_eq!(h.exited, [1], "{:#?}", h.logs);
        assert_eq!(h.running("d"), [0]);
        assert_eq!(expected(&h).as_deref(), Some("down"));
    }

    #[test]
    fn a_lone_dc_shuts_its_own_resources_down() {
        let mut h = Harness::up();
        h.active.retain(|(i, _)| *i != 1);
        h.fence_rc = Some(0);
        h.view(2, &[0]);
        assert_eq!(h.running("d"), [0], "{:#?}", h.logs);
        h.handle(0, Event::Shutdown);
        h.pump();
        assert_eq!(h.exited, [0], "{:#?}", h.logs);
        assert!(h.running("d").is_empty());
        assert!(!h.active.iter().any(|(i, _)| *i == 0), "{:?}", h.active);
    }
}
