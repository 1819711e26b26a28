//! The local executor: runs resource actions (OCF, LSB, systemd, and fence
//! devices as resources, see `stonith`) for the
//! core and reports each result as an `ExecutorEvent` on a channel the
//! daemon's main loop selects on.
//!
//! ```text
//! let (executor, mut events) = Executor::start(ExecutorConfig::default());
//! executor.execute(call_id, request);          // one-shot, or recurring if interval_ms > 0
//! executor.cancel("vip", "monitor", 10_000);   // stops a recurring op; reports Cancelled once
//! while let Some(ev) = events.recv().await { /* ev.call_id, ev.key(), ev.result */ }
//! ```
//!
//! Invariant: the executor decides nothing. It runs what it is told, one
//! action at a time per resource and at most `action_limit` at once, and
//! reports every one-shot result and every *change* of a recurring result
//! (plus the first). It never reads the CIB, never retries on its own, and
//! never logs a parameter value. What an agent prints is logged with each
//! reported result, after the request's secrets are masked in it.

mod lsb;
mod ocf;
pub mod process;
mod run;
mod stonith;
pub mod systemd;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::core::action::{rc, ActionRequest, ActionResult, ExecStatus};

pub use crate::core::action::is_secret_param;
pub use lsb::{metadata_xml as lsb_metadata_xml, parse_init_info, InitInfo};
pub use ocf::{agent_path as ocf_agent_path, OCF_RA_VERSION_MAJOR, OCF_RA_VERSION_MINOR};
pub use process::{become_subreaper, spawn_orphan_reaper, OUTPUT_CAP_BYTES};
pub use run::{run_once, Redactor, RunContext, RunOptions, RunReport, DEFAULT_TIMEOUT_MS};
pub use systemd::{unit_name as systemd_unit_name, BusAddress, DROPIN_FILE};

/// Events waiting for the daemon to take them; when full, the executor
/// waits (it keeps running actions, but finishes no more until there is
/// room), which is the back-pressure we want.
pub const EVENT_QUEUE_LEN: usize = 1024;

/// Actions waiting for a slot, over all resources. Beyond this an
/// `execute` is answered at once with an error result.
pub const MAX_QUEUED_ACTIONS: usize = 100_000;

/// Default time between SIGTERM and SIGKILL for an action that timed out.
pub const DEFAULT_KILL_GRACE_MS: u64 = 5_000;

/// Where agents are and how to run them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// `OCF_ROOT`: agents are at `resource.d/PROVIDER/TYPE` below it.
    pub ocf_root: PathBuf,
    /// Directory of LSB init scripts.
    pub lsb_dir: PathBuf,
    /// Where the systemd manager is.
    pub systemd_bus: BusAddress,
    /// Where warden writes `<unit>.d/50-warden.conf` drop-ins.
    pub systemd_dropin_dir: PathBuf,
    /// Where `fence_*` agents are (only listed and described here; the
    /// fencer runs them).
    pub fence_agent_dir: PathBuf,
    /// Actions running at once (Pacemaker's `node-action-limit`).
    pub action_limit: usize,
    /// Exported to OCF agents as `HA_RSCTMP` when set; agents default to
    /// `/run/resource-agents` otherwise.
    pub ha_rsctmp: Option<PathBuf>,
    /// SIGTERM → SIGKILL delay for timed-out or cancelled actions.
    pub kill_grace_ms: u64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            ocf_root: PathBuf::from("/usr/lib/ocf"),
            lsb_dir: PathBuf::from("/etc/init.d"),
            systemd_bus: BusAddress::System,
            systemd_dropin_dir: PathBuf::from("/run/systemd/system"),
            fence_agent_dir: PathBuf::from("/usr/sbin"),
            action_limit: default_action_limit(),
            ha_rsctmp: None,
            kill_grace_ms: DEFAULT_KILL_GRACE_MS,
        }
    }
}

impl ExecutorConfig {
    pub fn kill_grace(&self) -> Duration {
        Duration::from_millis(self.kill_grace_ms)
    }
}

/// Pacemaker's default `node-action-limit`: twice the number of cores.
pub fn default_action_limit() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Makes this process a child subreaper and starts reaping orphaned agent
/// processes. The daemon calls this once at start, inside its runtime.
pub fn supervise_children() -> std::io::Result<tokio::task::JoinHandle<()>> {
    become_subreaper()?;
    Ok(spawn_orphan_reaper())
}

/// One finished action (or a change in a recurring one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorEvent {
    /// The call id given to `execute` (for a recurring op, the latest one).
    pub call_id: u64,
    pub rsc_id: String,
    pub action: String,
    pub interval_ms: u64,
    pub result: ActionResult,
}

impl ExecutorEvent {
    /// Pacemaker's operation key, `RSC_ACTION_INTERVALMS`.
    pub fn key(&self) -> String {
        format!("{}_{}_{}", self.rsc_id, self.action, self.interval_ms)
    }
}

/// Handle to a running executor. Cheap to clone. Dropping every handle
/// stops recurring operations, drops queued ones and lets running one-shot
/// actions finish and report before the executor ends.
#[derive(Clone)]
pub struct Executor {
    commands: mpsc::UnboundedSender<Command>,
}

enum Command {
    Execute { call_id: u64, req: ActionRequest },
    Cancel { key: OpKey },
}

impl Executor {
    /// Starts an executor on the current tokio runtime.
    pub fn start(config: ExecutorConfig) -> (Executor, mpsc::Receiver<ExecutorEvent>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::channel(EVENT_QUEUE_LEN);
        let actor = Actor::new(config, events);
        tokio::spawn(actor.run(command_rx));
        (Executor { commands }, event_rx)
    }

    /// Runs `req`: once if `interval_ms` is 0 (probes included), else
    /// repeatedly every `interval_ms` after each run ends, until cancelled.
    /// A second `execute` of the same recurring op replaces it (new call id
    /// and parameters; its next result is reported even if unchanged).
    pub fn execute(&self, call_id: u64, req: ActionRequest) {
        // Send fails only when the executor task is gone (runtime shutting
        // down); there is nobody left to report to then.
        let _ = self.commands.send(Command::Execute { call_id, req });
    }

    /// Cancels the recurring op (or a queued one-shot) with this key; a
    /// running instance is killed. Reports one `Cancelled` result.
    pub fn cancel(&self, rsc_id: &str, action: &str, interval_ms: u64) {
        let key = OpKey {
            rsc_id: rsc_id.to_string(),
            action: action.to_string(),
            interval_ms,
        };
        let _ = self.commands.send(Command::Cancel { key });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct OpKey {
    rsc_id: String,
    action: String,
    interval_ms: u64,
}

impl OpKey {
    fn of(req: &ActionRequest) -> OpKey {
        OpKey {
            rsc_id: req.rsc_id.clone(),
            action: req.action.clone(),
            interval_ms: req.interval_ms,
        }
    }
}

enum Job {
    OneShot { call_id: u64, req: ActionRequest },
    Recurring { key: OpKey, generation: u64 },
}

/// What is known about an action while it runs.
struct RunningJob {
    call_id: u64,
    req: ActionRequest,
    recurring: Option<u64>,
    cancel: Arc<Notify>,
    cancelled: bool,
}

#[derive(Default)]
struct Resource {
    running: Option<RunningJob>,
    queue: VecDeque<Job>,
    ready: bool,
}

enum Phase {
    Waiting { due: Instant, seq: u64 },
    Queued,
    Running,
}

struct Recurring {
    call_id: u64,
    req: ActionRequest,
    generation: u64,
    last_reported: Option<(i32, ExecStatus)>,
    phase: Phase,
}

struct Finished {
    rsc_id: String,
    report: RunReport,
}

struct Actor {
    ctx: Arc<RunContext>,
    limit: usize,
    events: mpsc::Sender<ExecutorEvent>,
    done_tx: mpsc::UnboundedSender<Finished>,
    done_rx: mpsc::UnboundedReceiver<Finished>,
    resources: BTreeMap<String, Resource>,
    /// Resources whose next job can start: one-shot actions first (a start
    /// or stop should not wait behind a crowd of monitors).
    ready_urgent: VecDeque<String>,
    ready_routine: VecDeque<String>,
    running: usize,
    queued: usize,
    recurring: BTreeMap<OpKey, Recurring>,
    timers: BTreeSet<(Instant, u64, OpKey)>,
    next_seq: u64,
}

impl Actor {
    fn new(config: ExecutorConfig, events: mpsc::Sender<ExecutorEvent>) -> Actor {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Actor {
            limit: config.action_limit.max(1),
            ctx: Arc::new(RunContext::new(config)),
            events,
            done_tx,
            done_rx,
            resources: BTreeMap::new(),
            ready_urgent: VecDeque::new(),
            ready_routine: VecDeque::new(),
            running: 0,
            queued: 0,
            recurring: BTreeMap::new(),
            timers: BTreeSet::new(),
            next_seq: 0,
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut open = true;
        loop {
            let next_due = self.timers.first().map(|(due, _, _)| *due);
            tokio::select! {
                command = commands.recv(), if open => match command {
                    Some(Command::Execute { call_id, req }) => self.on_execute(call_id, req).await,
                    Some(Command::Cancel { key }) => self.on_cancel(key).await,
                    None => {
                        open = false;
                        self.wind_down().await;
                    }
                },
                Some(finished) = self.done_rx.recv() => self.on_finished(finished).await,
                _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                    self.on_timers();
                }
            }
            self.dispatch();
            if !open && self.running == 0 {
                tracing::debug!("executor stopped");
                return;
            }
        }
    }

    async fn emit(&self, call_id: u64, req: &ActionRequest, result: ActionResult) {
        let event = ExecutorEvent {
            call_id,
            rsc_id: req.rsc_id.clone(),
            action: req.action.clone(),
            interval_ms: req.interval_ms,
            result,
        };
        if self.events.send(event).await.is_err() {
            tracing::debug!(key = %req.key(), "event receiver gone; result dropped");
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    async fn on_execute(&mut self, call_id: u64, req: ActionRequest) {
        if self.queued >= MAX_QUEUED_ACTIONS {
            tracing::warn!(key = %req.key(), "executor queue full; refusing action");
            let result = synthetic(
                rc::ERR_GENERIC,
                ExecStatus::Error,
                Some(format!(
                    "executor queue full ({MAX_QUEUED_ACTIONS} actions waiting)"
                )),
            );
            self.emit(call_id, &req, result).await;
            return;
        }
        tracing::debug!(key = %req.key(), call_id, agent = %req.agent, "action requested");
        if req.interval_ms == 0 {
            let rsc = req.rsc_id.clone();
            self.enqueue(&rsc, Job::OneShot { call_id, req });
            return;
        }
        let key = OpKey::of(&req);
        let generation = self.next_seq();
        match self.recurring.get_mut(&key) {
            Some(rec) => {
                // Same op again: take the new call id and parameters, report
                // the next result whatever it is, and run now if idle.
                rec.call_id = call_id;
                rec.req = req;
                rec.last_reported = None;
                if let Phase::Waiting { due, seq } = rec.phase {
                    self.timers.remove(&(due, seq, key.clone()));
                    rec.phase = Phase::Queued;
                    let generation = rec.generation;
                    self.enqueue(&key.rsc_id.clone(), Job::Recurring { key, generation });
                }
            }
            None => {
                self.recurring.insert(
                    key.clone(),
                    Recurring {
                        call_id,
                        req,
                        generation,
                        last_reported: None,
                        phase: Phase::Queued,
                    },
                );
                self.enqueue(&key.rsc_id.clone(), Job::Recurring { key, generation });
            }
        }
    }

    async fn on_cancel(&mut self, key: OpKey) {
        if let Some(rec) = self.recurring.remove(&key) {
            let last_rc = rec.last_reported.map_or(rc::OK, |(code, _)| code);
            match rec.phase {
                Phase::Waiting { due, seq } => {
                    self.timers.remove(&(due, seq, key.clone()));
                }
                Phase::Queued => {
                    self.remove_queued(&key.rsc_id, |job| {
                        matches!(job, Job::Recurring { generation, .. } if *generation == rec.generation)
                    });
                }
                Phase::Running => {
                    // Killed now; reported when it is gone (see on_finished).
                    if let Some(running) = self
                        .resources
                        .get_mut(&key.rsc_id)
                        .and_then(|r| r.running.as_mut())
                    {
                        running.cancelled = true;
                        running.cancel.notify_one();
                    }
                    tracing::info!(key = %rec.req.key(), "cancelling running recurring op");
                    return;
                }
            }
            tracing::info!(key = %rec.req.key(), "recurring op cancelled");
            let result = synthetic(last_rc, ExecStatus::Cancelled, None);
            self.emit(rec.call_id, &rec.req, result).await;
            return;
        }
        let mut found = None;
        self.remove_queued(&key.rsc_id, |job| match job {
            Job::OneShot { req, call_id } if found.is_none() && OpKey::of(req) == key => {
                found = Some((*call_id, req.clone()));
                true
            }
            _ => false,
        });
        match found {
            Some((call_id, req)) => {
                tracing::info!(key = %req.key(), "queued action cancelled");
                self.emit(
                    call_id,
                    &req,
                    synthetic(rc::OK, ExecStatus::Cancelled, None),
                )
                .await;
            }
            None => tracing::debug!(?key, "nothing to cancel"),
        }
    }

    fn remove_queued(&mut self, rsc_id: &str, mut pick: impl FnMut(&Job) -> bool) {
        if let Some(rsc) = self.resources.get_mut(rsc_id) {
            let before = rsc.queue.len();
            rsc.queue.retain(|job| !pick(job));
            self.queued -= before - rsc.queue.len();
        }
    }

    fn enqueue(&mut self, rsc_id: &str, job: Job) {
        let rsc = self.resources.entry(rsc_id.to_string()).or_default();
        rsc.queue.push_back(job);
        self.queued += 1;
        Self::mark_ready(rsc_id, rsc, &mut self.ready_urgent, &mut self.ready_routine);
    }

    fn mark_ready(
        rsc_id: &str,
        rsc: &mut Resource,
        urgent: &mut VecDeque<String>,
        routine: &mut VecDeque<String>,
    ) {
        if rsc.ready || rsc.running.is_some() {
            return;
        }
        match rsc.queue.front() {
            Some(Job::OneShot { .. }) => urgent.push_back(rsc_id.to_string()),
            Some(Job::Recurring { .. }) => routine.push_back(rsc_id.to_string()),
            None => return,
        }
        rsc.ready = true;
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        while let Some((due, seq, key)) = self.timers.first().cloned() {
            if due > now {
                break;
            }
            self.timers.pop_first();
            let Some(rec) = self.recurring.get_mut(&key) else {
                continue;
            };
            if !matches!(rec.phase, Phase::Waiting { due: d, seq: s } if d == due && s == seq) {
                continue;
            }
            rec.phase = Phase::Queued;
            let generation = rec.generation;
            let rsc_id = key.rsc_id.clone();
            self.enqueue(&rsc_id, Job::Recurring { key, generation });
        }
    }

    fn dispatch(&mut self) {
        while self.running < self.limit {
            let Some(rsc_id) = self
                .ready_urgent
                .pop_front()
                .or_else(|| self.ready_routine.pop_front())
            else {
                return;
            };
            let Some(rsc) = self.resources.get_mut(&rsc_id) else {
                continue;
            };
            rsc.ready = false;
            if rsc.running.is_some() {
                continue;
            }
            let Some(job) = rsc.queue.pop_front() else {
                // Everything it had queued was cancelled: forget it.
                self.resources.remove(&rsc_id);
                continue;
            };
            self.queued -= 1;
            let (call_id, req, recurring) = match job {
                Job::OneShot { call_id, req } => (call_id, req, None),
                Job::Recurring { key, generation } => match self.recurring.get_mut(&key) {
                    Some(rec) if rec.generation == generation => {
                        rec.phase = Phase::Running;
                        (rec.call_id, rec.req.clone(), Some(generation))
                    }
                    // Cancelled while queued; nothing to run.
                    _ => {
                        Self::mark_ready(
                            &rsc_id,
                            rsc,
                            &mut self.ready_urgent,
                            &mut self.ready_routine,
                        );
                        continue;
                    }
                },
            };
            let cancel = Arc::new(Notify::new());
            rsc.running = Some(RunningJob {
                call_id,
                req: req.clone(),
                recurring,
                cancel: cancel.clone(),
                cancelled: false,
            });
            self.running += 1;
            let ctx = self.ctx.clone();
            let done = self.done_tx.clone();
            tokio::spawn(async move {
                let report = run::run_action(&ctx, &req, RunOptions::default(), &cancel).await;
                let _ = done.send(Finished {
                    rsc_id: req.rsc_id.clone(),
                    report,
                });
            });
        }
    }

    async fn on_finished(&mut self, finished: Finished) {
        let Some(rsc) = self.resources.get_mut(&finished.rsc_id) else {
            debug_assert!(false, "finished action for unknown resource");
            return;
        };
        let Some(job) = rsc.running.take() else {
            debug_assert!(false, "finished action that was not running");
            return;
        };
        self.running -= 1;
        Self::mark_ready(
            &finished.rsc_id,
            rsc,
            &mut self.ready_urgent,
            &mut self.ready_routine,
        );
        if rsc.queue.is_empty() && rsc.running.is_none() && !rsc.ready {
            self.resources.remove(&finished.rsc_id);
        }
        let result = finished.report.result;
        let key = job.req.key();

        let Some(generation) = job.recurring else {
            log_result(&key, &result, true);
            self.emit(job.call_id, &job.req, result).await;
            return;
        };
        if job.cancelled {
            tracing::info!(%key, "recurring op cancelled");
            let result = synthetic(result.rc, ExecStatus::Cancelled, None);
            self.emit(job.call_id, &job.req, result).await;
            return;
        }
        let op = OpKey::of(&job.req);
        let seq = self.next_seq();
        let Some(rec) = self.recurring.get_mut(&op) else {
            return;
        };
        if rec.generation != generation {
            return;
        }
        let due = Instant::now() + Duration::from_millis(rec.req.interval_ms);
        rec.phase = Phase::Waiting { due, seq };
        self.timers.insert((due, seq, op));
        let now = (result.rc, result.status);
        let changed = rec.last_reported != Some(now);
        log_result(&key, &result, changed);
        if changed {
            rec.last_reported = Some(now);
            let (call_id, req) = (rec.call_id, rec.req.clone());
            self.emit(call_id, &req, result).await;
        }
    }

    /// The handles are gone: no more recurring runs, nothing new starts;
    /// queued one-shot actions are reported cancelled, running monitors are
    /// cancelled, running one-shots finish and report.
    async fn wind_down(&mut self) {
        self.timers.clear();
        self.recurring.clear();
        self.ready_urgent.clear();
        self.ready_routine.clear();
        let mut dropped = Vec::new();
        for rsc in self.resources.values_mut() {
            for job in rsc.queue.drain(..) {
                if let Job::OneShot { call_id, req } = job {
                    dropped.push((call_id, req));
                }
            }
            rsc.ready = false;
            if let Some(job) = rsc.running.as_mut() {
                if job.recurring.is_some() {
                    job.cancelled = true;
                    job.cancel.notify_one();
                }
            }
        }
        self.queued = 0;
        for (call_id, req) in dropped {
            tracing::info!(key = %req.key(), "executor stopping; queued action cancelled");
            self.emit(
                call_id,
                &req,
                synthetic(rc::OK, ExecStatus::Cancelled, None),
            )
            .await;
        }
    }
}

fn synthetic(rc: i32, status: ExecStatus, exit_reason: Option<String>) -> ActionResult {
    ActionResult {
        rc,
        status,
        exit_reason,
        output: String::new(),
        duration_ms: 0,
    }
}

fn log_result(key: &str, result: &ActionResult, reported: bool) {
    let ok = result.status == ExecStatus::Done
        && matches!(result.rc, rc::OK | rc::NOT_RUNNING | rc::RUNNING_PROMOTED);
    let reason = result.exit_reason.as_deref().unwrap_or("");
    if !reported {
        tracing::trace!(key, rc = result.rc, "recurring result unchanged");
    } else if ok {
        tracing::info!(key, rc = result.rc, status = ?result.status, duration_ms = result.duration_ms, "action finished");
    } else {
        tracing::warn!(key, rc = result.rc, status = ?result.status, duration_ms = result.duration_ms, reason, "action failed");
    }
    if reported {
        log_output(key, &result.output, ok);
    }
}

/// Lines of agent output logged per action; the rest is counted.
const OUTPUT_LOG_LINES_MAX: usize = 200;

/// The agent's output (already redacted), one log line per line, as the
/// operator's only record of what an agent says beside its exit code (the
/// OpenNebula oned agent, for one, names the VMs a failover left in a
/// transient state). Warnings when the action failed.
fn log_output(key: &str, output: &str, ok: bool) {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in lines.iter().take(OUTPUT_LOG_LINES_MAX) {
        if ok {
            tracing::info!(key, "agent output: {line}");
        } else {
            tracing::warn!(key, "agent output: {line}");
        }
    }
    if lines.len() > OUTPUT_LOG_LINES_MAX {
        tracing::info!(
            key,
            "agent output: {} more lines not logged",
            lines.len() - OUTPUT_LOG_LINES_MAX
        );
    }
}
