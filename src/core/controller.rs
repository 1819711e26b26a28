//! The DC: who it is, when it schedules, and how it runs a transition.
//!
//! Rules, and why:
//!
//! * **The DC is chosen, not elected.** Corosync delivers every member of a
//!   view the same membership and the same totally ordered messages
//!   (virtual synchrony). Each member announces itself in a `Join`, and
//!   once all of the view's `Join`s are delivered every member evaluates
//!   the same deterministic rule ([`choose_dc`]) on the same data, so they
//!   agree on one DC per partition without voting, timeouts or rounds.
//!   The rule keeps the DC stable when a node joins: a member that was DC
//!   of a quorate view stays DC (then one that was DC of any view, then
//!   the lowest node id).
//! * **Level-triggered scheduling.** The DC schedules from the whole CIB
//!   whenever something relevant changed (a view, a configuration change,
//!   a client request, an unexpected result, a fencing result, a recheck
//!   time) and after a transition that was aborted. A transition that was
//!   not aborted leaves the DC idle, as in Pacemaker, even when actions
//!   waiting on unrunnable ones never fired (Pacemaker's "Incomplete=N"):
//!   every result was the expected one, so scheduling again would give the
//!   same answer; the next event reschedules.
//! * **Aborts wait.** A failed action, an unexpected result or a change
//!   aborts the transition; the DC starts nothing new and waits for the
//!   actions in flight, whose results are real and must be in the CIB
//!   before the next schedule, or that schedule would re-issue them blindly.
//!   A new DC (after any view change) does not inherit a transition at all:
//!   it schedules from the status just rebuilt from the nodes' own
//!   histories, where actions still running show as pending.
//! * **A new DC first learns how running actions end.** The status it
//!   rebuilt shows completed results (and starts in flight as pending);
//!   an action still running elsewhere may change the picture (a stop in
//!   progress still shows the resource started). So while any member
//!   reports one-shot actions in flight that this DC did not start, it
//!   does not schedule; each member says in every update whether it still
//!   has some, and executor timeouts bound the wait.
//! * **Timeouts.** A resource action not confirmed within its timeout plus
//!   `cluster-delay` is taken as failed, and recorded so (a timed-out start
//!   may have left the resource running: the scheduler must stop it before
//!   starting it anywhere else). Fencing is bounded by the fencer.
//! * **Fencing is bounded.** A target whose fencing fails
//!   `stonith-max-attempts` times in a row is given up on until
//!   `cluster-recheck-interval` passes (or it rejoins); this is reported,
//!   and the DC does not spin on it.
//!
//! Invariant: no IO, no clock, no fencing of its own: the controller asks
//! its node (through [`Out`]) to broadcast, to fence and to log, and reads
//! the CIB it is shown. It never writes the CIB directly.

use crate::core::action::ExecStatus;
use crate::core::cib::{duration::parse_interval_ms, Cib, SetKind};
use crate::core::replication::{Join, Member, OpResult, RscHistory};
use crate::core::scheduler::graph::{ActionId, FenceAction, GraphActionKind};
use crate::core::scheduler::{self, SummaryKind};
use crate::core::time::Timestamp;
use crate::core::transition::Transition;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Pacemaker's default `cluster-recheck-interval`.
pub const DEFAULT_RECHECK_MS: u64 = 15 * 60 * 1000;

/// Which action of which transition of which DC a message is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRef {
    /// The DC's term (its uuid for this view).
    pub dc: String,
    pub transition: u64,
    pub action: u32,
}

/// What a result said, as the DC needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultNote {
    pub task: String,
    pub interval_ms: u64,
    pub rc: i32,
    pub status: i32,
    pub expected_rc: i32,
    pub exit_reason: Option<String>,
}

impl ResultNote {
    pub fn failed(&self) -> bool {
        let status = ExecStatus::from_code(self.status).unwrap_or(ExecStatus::Error);
        crate::core::replication::op_failed(status, self.rc, self.expected_rc)
    }
}

/// The DC's wishes, carried out by its node.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Broadcast(crate::core::node::Message),
    Fence {
        target: String,
        action: FenceAction,
        reason: String,
        delay_ms: u64,
        reference: ActionRef,
    },
    Log(crate::core::node::Decision),
}

/// What the controller reads.
pub struct Ctx<'a> {
    pub now: Timestamp,
    pub me: &'a str,
    pub cib: &'a Cib,
    pub members: &'a [Member],
    /// Targets whose fencing was given up on, until when.
    pub fencing_given_up: &'a BTreeMap<String, Timestamp>,
}

/// Chooses the DC of a view from its members' `Join`s (see the module
/// header).
pub fn choose_dc(members: &[Member], joins: &BTreeMap<String, Join>) -> Option<Member> {
    members
        .iter()
        .min_by_key(|m| {
            let rank = match joins.get(&m.name).and_then(|j| j.was_dc) {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            };
            (rank, m.id)
        })
        .cloned()
}

/// The DC's state for one term (one view).
#[derive(Debug)]
pub struct Controller {
    term: String,
    next_transition: u64,
    transition: Option<Transition>,
    /// Why a new schedule is needed (`None`: nothing changed).
    dirty: Option<String>,
    /// A failed transition whose failures were all refused fencing: do not
    /// reschedule until something else changes.
    quiet_failure: bool,
    recheck_at: Option<Timestamp>,
    idle_logged: bool,
    /// Nodes with one-shot actions in flight that this DC did not start:
    /// it schedules only once they have reported.
    busy: BTreeSet<String>,
    busy_logged: bool,
    /// Expired recurring failures already re-armed: (node, op key, when).
    rearmed: BTreeSet<(String, String, i64)>,
}

impl Controller {
    pub fn new(term: String) -> Controller {
        Controller {
            term,
            next_transition: 1,
            transition: None,
            dirty: Some("a new DC looks at the cluster".to_string()),
            quiet_failure: false,
            recheck_at: None,
            idle_logged: false,
            busy: BTreeSet::new(),
            busy_logged: false,
            rearmed: BTreeSet::new(),
        }
    }

    /// Whether `node` has one-shot actions in flight (from its `Join`, then
    /// from each history update it sends).
    pub fn set_busy(&mut self, node: &str, busy: bool) {
        if busy {
            self.busy.insert(node.to_string());
        } else {
            self.busy.remove(node);
        }
    }

    pub fn term(&self) -> &str {
        &self.term
    }

    /// Nothing running and nothing to look at.
    pub fn is_idle(&self) -> bool {
        self.transition.is_none() && self.dirty.is_none()
    }

    pub fn transition(&self) -> Option<&Transition> {
        self.transition.as_ref()
    }

    /// Something relevant changed: abort the transition (if any) and
    /// schedule again once it is complete.
    pub fn invalidate(&mut self, reason: &str, out: &mut Vec<Out>) {
        if let Some(t) = &mut self.transition {
            if t.aborted().is_none() {
                out.push(Out::Log(crate::core::node::Decision::Aborted {
                    transition: t.id,
                    reason: reason.to_string(),
                }));
            }
            t.abort(reason);
        }
        if self.dirty.is_none() {
            self.dirty = Some(reason.to_string());
        }
    }

    /// When [`Controller::tick`] should run again.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let t = self.transition.as_ref().and_then(|t| t.next_deadline());
        [t, self.recheck_at].into_iter().flatten().min()
    }

    fn current(&mut self, r: &ActionRef) -> Option<&mut Transition> {
        if r.dc != self.term {
            return None;
        }
        self.transition.as_mut().filter(|t| t.id == r.transition)
    }

    /// A node's history changed. Confirms the action it answers, or, for a
    /// result that is not part of the running transition, decides whether
    /// the cluster must be looked at again (Pacemaker: a failure always; a
    /// one-shot result from an old transition always; a recurring result
    /// only when it is a failure). A change that is no result at all (the
    /// node forgot a resource's history and failures for a cleanup) always
    /// changes what the scheduler reads, as a removed operation record
    /// aborts Pacemaker's transition.
    pub fn on_history(
        &mut self,
        node: &str,
        rsc: &str,
        reference: Option<&ActionRef>,
        result: Option<&ResultNote>,
        out: &mut Vec<Out>,
    ) {
        let confirmed = match reference {
            Some(r) => {
                let ok = result.is_none_or(|n| !n.failed());
                match self.current(r) {
                    Some(t) => t.finish(ActionId(r.action), ok),
                    None => false,
                }
            }
            None => false,
        };
        if let Some(n) = result {
            if n.failed() {
                out.push(Out::Log(crate::core::node::Decision::ActionFailed {
                    rsc: rsc.to_string(),
                    task: n.task.clone(),
                    interval_ms: n.interval_ms,
                    node: node.to_string(),
                    rc: n.rc,
                    status: n.status,
                    reason: n.exit_reason.clone(),
                }));
                if !confirmed {
                    self.invalidate(&format!("{rsc} {} failed on {node}", n.task), out);
                } else if let Some(t) = &self.transition {
                    if self.dirty.is_none() {
                        self.dirty = t.aborted().map(str::to_string);
                    }
                }
            } else if !confirmed && n.interval_ms == 0 {
                self.invalidate(
                    &format!("{rsc} {} on {node} from an earlier transition", n.task),
                    out,
                );
            }
        } else if reference.is_none() {
            self.invalidate(&format!("{rsc}'s history on {node} was cleared"), out);
        }
    }

    /// A fencing result was delivered.
    pub fn on_fenced(&mut self, target: &str, reference: Option<&ActionRef>, out: &mut Vec<Out>) {
        let confirmed = reference
            .and_then(|r| {
                let id = ActionId(r.action);
                self.current(r).map(|t| t.finish(id, true))
            })
            .unwrap_or(false);
        if !confirmed {
            self.invalidate(&format!("{target} was fenced"), out);
        }
    }

    /// The `do_shutdown` of `reference` was delivered.
    pub fn on_shutdown_done(&mut self, reference: &ActionRef) {
        let id = ActionId(reference.action);
        if let Some(t) = self.current(reference) {
            t.finish(id, true);
        }
    }

    /// The fencer could not fence for `reference`.
    pub fn on_fence_failed(&mut self, reference: &ActionRef, given_up: bool) {
        let id = ActionId(reference.action);
        if let Some(t) = self.current(reference) {
            t.finish(id, false);
            if given_up {
                self.quiet_failure = true;
            }
        }
    }

    /// Runs the DC: expires deadlines, starts what is ready, schedules when
    /// needed. Call after every event while this node is DC.
    pub fn tick(&mut self, ctx: &Ctx, out: &mut Vec<Out>) {
        let now = ctx.now;
        if self.recheck_at.is_some_and(|t| t <= now) {
            self.recheck_at = None;
            if self.dirty.is_none() {
                self.dirty = Some("recheck time reached".to_string());
            }
        }
        // Bounded: each pass either starts actions, completes the
        // transition, or schedules; a schedule whose graph completes at
        // once (pseudo actions only) is followed by one more schedule.
        for _ in 0..16 {
            if self.transition.is_some() {
                self.expire(ctx, out);
                self.start_ready(ctx, out);
                let t = self.transition.as_ref().expect("checked");
                if !t.is_complete() {
                    return;
                }
                let t = self.transition.take().expect("checked");
                let progress = t.progress();
                out.push(Out::Log(crate::core::node::Decision::TransitionDone {
                    id: t.id,
                    progress,
                }));
                // A transition that was not aborted leaves the DC idle, even
                // with incomplete actions (waiting on unrunnable ones): the
                // results were the expected ones, so scheduling now would
                // give the graph just run; the next event reschedules, as in
                // Pacemaker. One that was aborted (a failure, a timeout, a
                // change) is followed by a new schedule, unless only refused
                // fencing stopped it (then the DC waits for a change or a
                // timer).
                if self.quiet_failure {
                    self.quiet_failure = false;
                } else if self.dirty.is_none() {
                    if let Some(reason) = t.aborted() {
                        self.dirty = Some(format!("transition {} aborted: {reason}", t.id));
                    }
                }
                continue;
            }
            if self.dirty.is_none() {
                return;
            }
            if let Some(node) = self.busy.iter().next() {
                if !self.busy_logged {
                    self.busy_logged = true;
                    out.push(Out::Log(crate::core::node::Decision::Waiting {
                        node: node.clone(),
                    }));
                }
                return;
            }
            self.busy_logged = false;
            let reason = self.dirty.take().expect("checked");
            // The live cluster compares digests of the real values (a
            // simulation of a shared CIB masks secrets; this CIB is ours).
            let schedule = scheduler::schedule_with(
                ctx.cib,
                now,
                scheduler::ScheduleOptions {
                    sanitized: false,
                    ..Default::default()
                },
            );
            for (node, rsc_id, action, interval_ms, changed) in
                expired_recurring_failures(ctx.cib, now, ctx.members)
            {
                let key = format!("{rsc_id}_{action}_{interval_ms}");
                if self.rearmed.insert((node.clone(), key, changed)) {
                    out.push(Out::Broadcast(crate::core::node::Message::Rearm {
                        node,
                        rsc_id,
                        action,
                        interval_ms,
                    }));
                }
            }
            let recheck_ms = ctx
                .cib
                .configuration
                .property("cluster-recheck-interval")
                .map(|v| parse_interval_ms(v).unwrap_or(DEFAULT_RECHECK_MS))
                .unwrap_or(DEFAULT_RECHECK_MS);
            let mut recheck = schedule.recheck_by;
            if recheck_ms > 0 {
                let periodic = now.plus_ms(recheck_ms as i64);
                recheck = Some(recheck.map_or(periodic, |r| r.min(periodic)));
            }
            // Never recheck in the past (a date already passed).
            self.recheck_at = recheck.map(|r| r.max(now.plus_ms(1000)));
            if schedule.graph.is_empty() {
                if !self.idle_logged {
                    out.push(Out::Log(crate::core::node::Decision::Idle));
                    self.idle_logged = true;
                }
                return;
            }
            self.idle_logged = false;
            let id = self.next_transition;
            self.next_transition += 1;
            out.push(Out::Log(crate::core::node::Decision::Transition {
                id,
                reason,
                summary: schedule.summary_lines.clone(),
            }));
            for s in &schedule.summary {
                if s.action == SummaryKind::Fence {
                    if let Some(target) = &s.to {
                        out.push(Out::Log(crate::core::node::Decision::Fencing {
                            target: target.clone(),
                            reason: s.reason.clone().unwrap_or_default(),
                        }));
                    }
                }
            }
            self.transition = Some(Transition::new(id, schedule.graph));
        }
    }

    fn expire(&mut self, ctx: &Ctx, out: &mut Vec<Out>) {
        let Some(t) = &mut self.transition else {
            return;
        };
        for id in t.expired(ctx.now) {
            let action = t.graph.action(id).clone();
            t.finish(id, false);
            out.push(Out::Log(crate::core::node::Decision::Warning(format!(
                "{} was not confirmed in time: taken as failed",
                action.label()
            ))));
            // Record a timed-out resource action as failed on its node, so
            // the scheduler treats the resource as possibly active there.
            if let GraphActionKind::Resource {
                request,
                expected_rc,
            } = &action.kind
            {
                let mut h = current_history(ctx.cib, &request.node, &request.rsc_id)
                    .unwrap_or_else(|| {
                        RscHistory::new(
                            &request.rsc_id,
                            Some(request.agent.standard.as_str()),
                            request.agent.provider.as_deref(),
                            Some(&request.agent.kind),
                        )
                    });
                let key = format!("{}:{}:{}:{}", id.0, t.id, expected_rc, self.term);
                let digest = crate::core::scheduler::digest::request_digest(request);
                h.record(&OpResult {
                    node: &request.node,
                    task: &request.action,
                    interval_ms: request.interval_ms,
                    call_id: -1,
                    rc: crate::core::action::rc::ERR_GENERIC,
                    status: ExecStatus::Timeout,
                    expected_rc: *expected_rc,
                    transition_key: &key,
                    exit_reason: Some("the controller timed out waiting for the result"),
                    now: ctx.now,
                    exec_ms: 0,
                    op_digest: Some(&digest),
                });
                let attrs = crate::core::replication::recorded_attrs(ctx.cib, &request.node);
                out.push(Out::Broadcast(crate::core::node::Message::History(
                    Box::new(crate::core::node::HistoryUpdate {
                        node: request.node.clone(),
                        rsc_id: request.rsc_id.clone(),
                        history: Some(h),
                        attrs,
                        reference: None,
                        result: None,
                        busy: true,
                    }),
                )));
            }
        }
    }

    fn start_ready(&mut self, ctx: &Ctx, out: &mut Vec<Out>) {
        loop {
            let Some(t) = &mut self.transition else {
                return;
            };
            let ready = t.ready();
            if ready.is_empty() {
                return;
            }
            for id in ready {
                self.dispatch(id, ctx, out);
            }
        }
    }

    fn dispatch(&mut self, id: ActionId, ctx: &Ctx, out: &mut Vec<Out>) {
        let term = self.term.clone();
        let t = self
            .transition
            .as_mut()
            .expect("dispatch without transition");
        let action = t.graph.action(id).clone();
        let reference = ActionRef {
            dc: term.clone(),
            transition: t.id,
            action: id.0,
        };
        let is_member = |n: &str| ctx.members.iter().any(|m| m.name == n);
        let cluster_delay_ms = t.graph.cluster_delay_ms as i64;
        use crate::core::node::{Decision, Dispatch, Message};
        let forget_history = matches!(action.kind, GraphActionKind::ForgetHistory { .. });
        match action.kind {
            GraphActionKind::Pseudo { .. } => {
                t.start(id, None);
                t.finish(id, true);
            }
            GraphActionKind::Shutdown { node } => {
                // The scheduler emits this for a node whose `shutdown`
                // attribute is set, after every stop there: the node may
                // leave. Confirmed when the message is delivered.
                t.start(id, Some(ctx.now.plus_ms(cluster_delay_ms)));
                if !is_member(&node) {
                    t.finish(id, false);
                    return;
                }
                // A node leaves cleanly only with nothing running: what is
                // unmanaged there (maintenance) or failed to stop would be
                // taken as stopped once it is gone, and started elsewhere.
                // It stays until that changes; the next change schedules
                // again (its daemon's escalation bounds the wait).
                let state = scheduler::current_state(ctx.cib, ctx.now);
                let still: Vec<String> = state
                    .resources
                    .iter()
                    .filter(|r| r.running_on.contains(&node))
                    .map(|r| r.id.clone())
                    .collect();
                if !still.is_empty() {
                    t.finish(id, false);
                    self.quiet_failure = true;
                    out.push(Out::Log(Decision::Warning(format!(
                        "{node} cannot leave cleanly yet: {} still active there (unmanaged, or not stopped)",
                        still.join(", ")
                    ))));
                    return;
                }
                out.push(Out::Broadcast(Message::Shutdown { node, reference }));
            }
            GraphActionKind::Resource {
                request,
                expected_rc,
            } => {
                t.start(
                    id,
                    Some(
                        ctx.now
                            .plus_ms(request.timeout_ms as i64 + cluster_delay_ms),
                    ),
                );
                if !is_member(&request.node) {
                    t.finish(id, false);
                    return;
                }
                if let Some(verb) = match request.action.as_str() {
                    "start" => Some("starting"),
                    "stop" => Some("stopping"),
                    "promote" => Some("promoting"),
                    "demote" => Some("demoting"),
                    "migrate_to" | "migrate_from" => Some("migrating"),
                    _ => None,
                } {
                    out.push(Out::Log(Decision::Action {
                        verb: verb.to_string(),
                        rsc: request.rsc_id.clone(),
                        node: request.node.clone(),
                    }));
                }
                let transition_key =
                    format!("{}:{}:{}:{}", id.0, reference.transition, expected_rc, term);
                out.push(Out::Broadcast(Message::Execute(Box::new(Dispatch {
                    node: request.node.clone(),
                    request: (&request).into(),
                    expected_rc,
                    transition_key,
                    reference,
                }))));
            }
            GraphActionKind::Cancel {
                rsc_id,
                node,
                action,
                interval_ms,
            } => {
                t.start(id, Some(ctx.now.plus_ms(cluster_delay_ms)));
                if !is_member(&node) {
                    t.finish(id, false);
                    return;
                }
                out.push(Out::Broadcast(Message::Cancel {
                    node,
                    rsc_id,
                    action,
                    interval_ms,
                    reference,
                }));
            }
            GraphActionKind::ClearFailcount { rsc_id, node }
            | GraphActionKind::ForgetHistory { rsc_id, node } => {
                let history = forget_history;
                t.start(id, Some(ctx.now.plus_ms(cluster_delay_ms)));
                if !is_member(&node) {
                    t.finish(id, false);
                    return;
                }
                out.push(Out::Broadcast(Message::Forget {
                    node,
                    rsc_id,
                    history,
                    reference,
                }));
            }
            GraphActionKind::Fence {
                target,
                action: fence_action,
                reason,
            } => {
                t.start(id, None);
                if ctx
                    .fencing_given_up
                    .get(&target)
                    .is_some_and(|until| *until > ctx.now)
                {
                    t.finish(id, false);
                    self.quiet_failure = true;
                    return;
                }
                let delay_ms = priority_delay_ms(ctx.cib, ctx.now, &target, ctx.members);
                out.push(Out::Fence {
                    target,
                    action: fence_action,
                    reason,
                    delay_ms,
                    reference,
                });
            }
        }
    }
}

/// Recurring actions whose recorded failure has expired (`failure-timeout`)
/// while the action still runs on a member: (node, resource, action,
/// interval, when the failure was recorded). The scheduler then ignores the
/// failure, but the recurring action reports only changes, so a resource
/// still failing would never be looked at again; Pacemaker reschedules such
/// a monitor ("Rescheduling ... after failure expired"), and the DC asks
/// the node to restart it, so that its next result is reported afresh.
pub fn expired_recurring_failures(
    cib: &Cib,
    now: Timestamp,
    members: &[Member],
) -> Vec<(String, String, String, u64, i64)> {
    let defaults_timeout = cib
        .configuration
        .rsc_defaults
        .iter()
        .flatten()
        .find_map(|s| s.get("failure-timeout"))
        .map(str::to_string);
    let mut out = Vec::new();
    for st in &cib.status.node_states {
        let Some(node) = st.uname.as_deref() else {
            continue;
        };
        if !members.iter().any(|m| m.name == node) {
            continue;
        }
        let Some(lrm) = &st.lrm else { continue };
        for lr in &lrm.resources {
            let Some(p) = cib.configuration.primitive(&lr.id) else {
                continue;
            };
            let timeout = p
                .attr(SetKind::Meta, "failure-timeout")
                .map(str::to_string)
                .or_else(|| defaults_timeout.clone())
                .and_then(|v| parse_interval_ms(&v).ok())
                .unwrap_or(0);
            if timeout == 0 {
                continue;
            }
            let failure_id = format!("{}_last_failure_0", lr.id);
            let Some(f) = lr.ops.iter().find(|o| o.id == failure_id) else {
                continue;
            };
            let interval = f.interval_ms.unwrap_or(0);
            let key = f.operation_key.clone().unwrap_or_default();
            if interval == 0 || !lr.ops.iter().any(|o| o.id == key) {
                continue;
            }
            let target = scheduler::util::target_rc_from_key(f.transition_key.as_deref());
            let failed = f.rc_code != Some(target) || f.op_status != Some(0);
            let changed = f.last_rc_change.unwrap_or(0);
            if failed && now.secs() >= changed + (timeout / 1000) as i64 {
                out.push((
                    node.to_string(),
                    lr.id.clone(),
                    f.operation.clone(),
                    interval,
                    changed,
                ));
            }
        }
    }
    out
}

/// A resource's history on a node as the CIB has it.
fn current_history(cib: &Cib, node: &str, rsc: &str) -> Option<RscHistory> {
    let st = cib
        .status
        .node_states
        .iter()
        .find(|s| s.uname.as_deref() == Some(node))?;
    let lr = st.lrm.as_ref()?.resources.iter().find(|r| r.id == rsc)?;
    Some(RscHistory {
        id: lr.id.clone(),
        class: lr.class.clone(),
        provider: lr.provider.clone(),
        kind: lr.kind.clone(),
        ops: lr
            .ops
            .iter()
            .map(|o| crate::core::replication::OpEntry {
                id: o.id.clone(),
                key: o.operation_key.clone().unwrap_or_default(),
                operation: o.operation.clone(),
                interval_ms: o.interval_ms.unwrap_or(0),
                call_id: o.call_id.unwrap_or(-1),
                rc: o.rc_code.unwrap_or(0),
                status: o.op_status.unwrap_or(0),
                transition_key: o.transition_key.clone().unwrap_or_default(),
                exit_reason: o.exit_reason.clone().unwrap_or_default(),
                on_node: o.on_node.clone().unwrap_or_default(),
                last_rc_change: o.last_rc_change.unwrap_or(0),
                exec_ms: o.exec_time.unwrap_or(0).max(0) as u64,
                queue_ms: o.queue_time.unwrap_or(0).max(0) as u64,
                op_digest: o.op_digest.clone(),
            })
            .collect(),
    })
}

/// `priority-fencing-delay` for fencing a lost node: node priorities are
/// the summed `priority` meta attributes of what runs on each node.
fn priority_delay_ms(cib: &Cib, now: Timestamp, target: &str, members: &[Member]) -> u64 {
    let Some(v) = cib.configuration.property("priority-fencing-delay") else {
        return 0;
    };
    let Ok(delay_ms) = parse_interval_ms(v) else {
        return 0;
    };
    if delay_ms == 0 {
        return 0;
    }
    let state = scheduler::current_state(cib, now);
    let nodes: Vec<crate::core::fencer::NodePriority> = state
        .nodes
        .iter()
        .map(|n| {
            let resources: Vec<(i64, bool)> = state
                .resources
                .iter()
                .filter(|r| r.running_on.contains(&n.name))
                .map(|r| {
                    let p = cib
                        .configuration
                        .primitive(&r.id)
                        .and_then(|p| p.attr(SetKind::Meta, "priority"))
                        .and_then(|v| v.trim().parse::<i64>().ok())
                        .unwrap_or(0);
                    (p, r.role == "Promoted")
                })
                .collect();
            crate::core::fencer::NodePriority {
                name: n.name.clone(),
                member: true,
                online: members.iter().any(|m| m.name == n.name),
                priority: crate::core::fencer::node_priority(&resources),
            }
        })
        .collect();
    let options = crate::core::fencer::FencerOptions {
        priority_fencing_delay_ms: delay_ms,
        ..Default::default()
    };
    crate::core::fencer::priority_fencing_delay_ms(&options, target, &nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::replication::WireVersion;

    fn join(name: &str, id: u32, was_dc: Option<bool>) -> (String, Join) {
        (
            name.to_string(),
            Join {
                node: name.into(),
                node_id: id,
                version: WireVersion::default(),
                digest: String::new(),
                was_dc,
                history: vec![],
                attrs: BTreeMap::new(),
                expected_up: vec![],
                busy: false,
                fenced: vec![],
            },
        )
    }

    fn members(v: &[(&str, u32)]) -> Vec<Member> {
        v.iter()
            .map(|(n, i)| Member {
                id: *i,
                name: n.to_string(),
            })
            .collect()
    }

    #[test]
    fn the_dc_stays_when_a_node_joins() {
        let m = members(&[("n1", 1), ("n2", 2), ("n3", 3)]);
        // n2 was DC of a quorate view; n1 just rebooted.
        let joins = BTreeMap::from([
            join("n1", 1, None),
            join("n2", 2, Some(true)),
            join("n3", 3, None),
        ]);
        assert_eq!(choose_dc(&m, &joins).unwrap().name, "n2");
        // Two partitions merge: the quorate side's DC wins.
        let joins = BTreeMap::from([
            join("n1", 1, Some(false)),
            join("n2", 2, Some(true)),
            join("n3", 3, None),
        ]);
        assert_eq!(choose_dc(&m, &joins).unwrap().name, "n2");
        // A fresh cluster: the lowest node id.
        let joins = BTreeMap::from([
            join("n1", 1, None),
            join("n2", 2, None),
            join("n3", 3, None),
        ]);
        assert_eq!(choose_dc(&m, &joins).unwrap().name, "n1");
    }

    #[test]
    fn a_result_from_an_old_transition_is_looked_at_again_but_a_good_monitor_is_not() {
        let mut c = Controller::new("t1".into());
        c.dirty = None;
        let mut out = Vec::new();
        let ok_monitor = ResultNote {
            task: "monitor".into(),
            interval_ms: 10_000,
            rc: 0,
            status: 0,
            expected_rc: 0,
            exit_reason: None,
        };
        c.on_history("n1", "vip", None, Some(&ok_monitor), &mut out);
        assert!(c.is_idle());
        assert!(out.is_empty());
        let failed = ResultNote {
            rc: 7,
            ..ok_monitor.clone()
        };
        c.on_history("n1", "vip", None, Some(&failed), &mut out);
        assert!(!c.is_idle());
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            format!(
                "{}",
                match &out[0] {
                    Out::Log(d) => d,
                    _ => unreachable!(),
                }
            ),
            "monitor of vip on n1 failed: rc=7 (not running)"
        );
        let mut c = Controller::new("t1".into());
        c.dirty = None;
        let old_start = ResultNote {
            task: "start".into(),
            interval_ms: 0,
            ..ok_monitor
        };
        let r = ActionRef {
            dc: "t0".into(),
            transition: 3,
            action: 1,
        };
        c.on_history("n1", "vip", Some(&r), Some(&old_start), &mut Vec::new());
        assert!(
            !c.is_idle(),
            "a start from an earlier DC changes the picture"
        );
    }

    /// A graph of: 0 a pseudo action; 1 a shutdown waiting on an action the
    /// scheduler found unrunnable; 2 a shutdown waiting on 1.
    fn graph_with_a_blocked_branch() -> crate::core::scheduler::graph::TransitionGraph {
        use crate::core::scheduler::graph::{GraphAction, TransitionGraph};
        let shutdown = |id: u32, inputs: Vec<ActionId>, unrunnable| GraphAction {
            id: ActionId(id),
            kind: GraphActionKind::Shutdown {
                node: format!("n{id}"),
            },
            inputs,
            unrunnable_inputs: unrunnable,
        };
        TransitionGraph {
            actions: vec![
                GraphAction {
                    id: ActionId(0),
                    kind: GraphActionKind::Pseudo {
                        name: "all_stopped".into(),
                    },
                    inputs: vec![],
                    unrunnable_inputs: vec![],
                },
                shutdown(
                    1,
                    vec![],
                    vec![GraphActionKind::Pseudo {
                        name: "stonith-ng".into(),
                    }],
                ),
                shutdown(2, vec![ActionId(1)], vec![]),
            ],
            stonith_timeout_ms: 60_000,
            cluster_delay_ms: 60_000,
            batch_limit: 0,
        }
    }

    fn tick(c: &mut Controller) -> Vec<String> {
        let cib = Cib::empty();
        let m = members(&[("n1", 1)]);
        let given_up = BTreeMap::new();
        let ctx = Ctx {
            now: Timestamp::from_secs(1000),
            me: "n1",
            cib: &cib,
            members: &m,
            fencing_given_up: &given_up,
        };
        let mut out = Vec::new();
        c.tick(&ctx, &mut out);
        out.iter()
            .map(|o| match o {
                Out::Log(d) => format!("log {d}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn incomplete_actions_never_fire_and_leave_the_dc_idle() {
        let mut c = Controller::new("t1".into());
        c.dirty = None;
        c.transition = Some(Transition::new(4, graph_with_a_blocked_branch()));
        assert_eq!(
            tick(&mut c),
            vec![
                "log transition 4 complete: 1 done, 2 incomplete (waiting on actions that cannot run)"
            ]
        );
        assert!(c.is_idle(), "no reschedule until the next event");
    }

    #[test]
    fn an_aborted_transition_is_followed_by_a_new_schedule() {
        let mut c = Controller::new("t1".into());
        c.dirty = None;
        let mut t = Transition::new(5, graph_with_a_blocked_branch());
        t.abort("a configuration change");
        c.transition = Some(t);
        let log = tick(&mut c);
        assert_eq!(
            log[0],
            "log transition 5 ended: 0 done, 0 failed, 1 not run, 2 incomplete"
        );
        // The empty CIB schedules nothing: the new schedule ends idle.
        assert_eq!(log[1..], ["log idle: nothing to do".to_string()]);
    }
}
