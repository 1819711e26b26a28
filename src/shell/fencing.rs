//! The fencer's driver: runs the core fencer state machine
//! (`core::fencer::Fencer`) on tokio, carrying out its effects with the
//! fence agent runner and feeding back agent results and timer expiries.
//! The daemon uses it; so do the lab tests and the benchmark.
//!
//! Invariant: no fencing decision is made here. The driver only moves data
//! between the core and the outside world: requests in, `RunAgent` /
//! `KillAgent` carried out, results and timers fed back, outcomes out. It
//! logs agent runs by device and action, never their parameters.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::core::fencer::{
    AgentOutcome, FenceAction, FenceRequest, FenceResult, Fencer, FencerConfig, FencerEffect,
    FencerInput, HistoryEntry, Millis, OpId, RunId, RunPurpose,
};
use crate::shell::fence_agents::AgentRunner;

/// Milliseconds since the Unix epoch: the fencer's `now` (history times are
/// wall-clock times, as in Pacemaker's fence history).
fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The outcome of one fence request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceOutcome {
    pub id: OpId,
    pub target: String,
    pub action: FenceAction,
    pub result: FenceResult,
    pub devices: Vec<String>,
}

/// What the fencer did, for whoever listens (status, tests, logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FencerEvent {
    AgentStarted {
        run: RunId,
        purpose: RunPurpose,
        device: String,
        action: String,
        target: Option<String>,
    },
    AgentFinished {
        run: RunId,
        device: String,
        action: String,
        /// Secrets are already removed from the agent's output.
        outcome: AgentOutcome,
        /// From spawning the agent to its exit.
        duration: Duration,
    },
    Done(FenceOutcome),
    PoweredOn {
        id: OpId,
        target: String,
        result: Result<(), String>,
    },
    MonitorDone {
        device: String,
        result: Result<(), String>,
    },
}

enum Command {
    Fence(FenceRequest, oneshot::Sender<FenceOutcome>),
    Monitor(String, oneshot::Sender<Result<(), String>>),
    Confirm(OpId, String, String, oneshot::Sender<FenceOutcome>),
    ClearFailures(String),
    Configure(Box<FencerConfig>),
    History(oneshot::Sender<Vec<HistoryEntry>>),
    Failures(String, oneshot::Sender<u32>),
}

/// How callers talk to a running fencer. Cloning gives another handle to
/// the same fencer; it stops when every handle is dropped (running agents
/// are then killed).
#[derive(Clone)]
pub struct FencerHandle {
    tx: mpsc::Sender<Command>,
    events: broadcast::Sender<FencerEvent>,
    next_id: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The driver is gone (the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the fencer is not running")]
pub struct FencerGone;

impl FencerHandle {
    /// Starts a fencer for `config` on the current tokio runtime. `seed`
    /// drives `pcmk_delay_max`.
    pub fn spawn(config: FencerConfig, seed: u64, runner: AgentRunner) -> FencerHandle {
        let (tx, rx) = mpsc::channel(64);
        let (events, _) = broadcast::channel(256);
        let fencer = Fencer::new(config, seed);
        for d in fencer.diagnostics() {
            tracing::warn!("fencing configuration: {d}");
        }
        tokio::spawn(drive(fencer, runner, rx, events.clone()));
        FencerHandle {
            tx,
            events,
            next_id: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FencerEvent> {
        self.events.subscribe()
    }

    fn id(&self) -> OpId {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Fences `req.target` and waits for the outcome. The request's `id` is
    /// assigned here (whatever the caller put in).
    pub async fn fence(&self, mut req: FenceRequest) -> Result<FenceOutcome, FencerGone> {
        req.id = self.id();
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Fence(req, tx))
            .await
            .map_err(|_| FencerGone)?;
        rx.await.map_err(|_| FencerGone)
    }

    /// Runs the device's monitor once.
    pub async fn monitor(&self, device: &str) -> Result<Result<(), String>, FencerGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Monitor(device.to_string(), tx))
            .await
            .map_err(|_| FencerGone)?;
        rx.await.map_err(|_| FencerGone)
    }

    /// An administrator confirms that `target` is down.
    pub async fn confirm(&self, target: &str, origin: &str) -> Result<FenceOutcome, FencerGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Confirm(
                self.id(),
                target.to_string(),
                origin.to_string(),
                tx,
            ))
            .await
            .map_err(|_| FencerGone)?;
        rx.await.map_err(|_| FencerGone)
    }

    pub async fn clear_failures(&self, target: &str) -> Result<(), FencerGone> {
        self.tx
            .send(Command::ClearFailures(target.to_string()))
            .await
            .map_err(|_| FencerGone)
    }

    pub async fn configure(&self, config: FencerConfig) -> Result<(), FencerGone> {
        self.tx
            .send(Command::Configure(Box::new(config)))
            .await
            .map_err(|_| FencerGone)
    }

    /// The fence history, oldest first.
    pub async fn history(&self) -> Result<Vec<HistoryEntry>, FencerGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::History(tx))
            .await
            .map_err(|_| FencerGone)?;
        rx.await.map_err(|_| FencerGone)
    }

    /// Failed attempts counted against `target`.
    pub async fn failures(&self, target: &str) -> Result<u32, FencerGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Failures(target.to_string(), tx))
            .await
            .map_err(|_| FencerGone)?;
        rx.await.map_err(|_| FencerGone)
    }
}

struct Driver {
    fencer: Fencer,
    runner: AgentRunner,
    events: broadcast::Sender<FencerEvent>,
    results: mpsc::UnboundedSender<(RunId, AgentOutcome, Duration)>,
    /// Dropping (or sending on) one stops that agent.
    cancels: BTreeMap<RunId, oneshot::Sender<()>>,
    runs: BTreeMap<RunId, (String, String)>,
    waiters: BTreeMap<OpId, oneshot::Sender<FenceOutcome>>,
    monitor_waiters: BTreeMap<String, Vec<oneshot::Sender<Result<(), String>>>>,
}

impl Driver {
    fn emit(&self, e: FencerEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(e);
    }

    fn carry_out(&mut self) {
        while let Some(effect) = self.fencer.poll_effect() {
            match effect {
                FencerEffect::RunAgent(run) => {
                    tracing::info!(
                        run = run.run,
                        device = %run.device,
                        agent = %run.agent,
                        action = %run.action,
                        target = run.target.as_deref().unwrap_or("-"),
                        timeout_ms = run.timeout_ms,
                        "running fence agent"
                    );
                    self.emit(FencerEvent::AgentStarted {
                        run: run.run,
                        purpose: run.purpose,
                        device: run.device.clone(),
                        action: run.action.clone(),
                        target: run.target.clone(),
                    });
                    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
                    self.cancels.insert(run.run, cancel_tx);
                    self.runs
                        .insert(run.run, (run.device.clone(), run.action.clone()));
                    let runner = self.runner.clone();
                    let results = self.results.clone();
                    tokio::spawn(async move {
                        let cancel = async {
                            let _ = cancel_rx.await;
                        };
                        let timeout = Duration::from_millis(run.timeout_ms);
                        let (outcome, duration) = match runner
                            .run_cancellable(&run.agent, &run.args, timeout, cancel)
                            .await
                        {
                            Ok(out) => (out.outcome(), out.duration),
                            Err(e) => (
                                AgentOutcome {
                                    exit_code: None,
                                    timed_out: false,
                                    stdout: String::new(),
                                    reason: Some(e.to_string()),
                                },
                                Duration::ZERO,
                            ),
                        };
                        let _ = results.send((run.run, outcome, duration));
                    });
                }
                FencerEffect::KillAgent { run } => {
                    tracing::info!(run, "stopping fence agent that is no longer needed");
                    if let Some(c) = self.cancels.remove(&run) {
                        let _ = c.send(());
                    }
                }
                FencerEffect::Done {
                    id,
                    target,
                    action,
                    result,
                    devices,
                } => {
                    if result.is_success() {
                        tracing::info!(id, %target, %action, ?devices, "fencing succeeded");
                    } else {
                        tracing::warn!(id, %target, %action, ?result, "fencing failed");
                    }
                    let outcome = FenceOutcome {
                        id,
                        target,
                        action,
                        result,
                        devices,
                    };
                    if let Some(w) = self.waiters.remove(&id) {
                        let _ = w.send(outcome.clone());
                    }
                    self.emit(FencerEvent::Done(outcome));
                }
                FencerEffect::PoweredOn { id, target, result } => {
                    match &result {
                        Ok(()) => tracing::info!(id, %target, "fenced node powered on again"),
                        Err(e) => {
                            tracing::warn!(id, %target, error = %e, "fenced node did not power on")
                        }
                    }
                    self.emit(FencerEvent::PoweredOn { id, target, result });
                }
                FencerEffect::MonitorDone { device, result } => {
                    for w in self.monitor_waiters.remove(&device).unwrap_or_default() {
                        let _ = w.send(result.clone());
                    }
                    self.emit(FencerEvent::MonitorDone { device, result });
                }
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = now_ms();
        match cmd {
            Command::Fence(req, tx) => {
                self.waiters.insert(req.id, tx);
                self.fencer.handle(now, FencerInput::Request(req));
            }
            Command::Monitor(device, tx) => {
                self.monitor_waiters
                    .entry(device.clone())
                    .or_default()
                    .push(tx);
                self.fencer.handle(now, FencerInput::Monitor { device });
            }
            Command::Confirm(id, target, origin, tx) => {
                self.waiters.insert(id, tx);
                self.fencer
                    .handle(now, FencerInput::Confirm { id, target, origin });
            }
            Command::ClearFailures(target) => self
                .fencer
                .handle(now, FencerInput::ClearFailures { target }),
            Command::Configure(cfg) => {
                self.fencer.handle(now, FencerInput::Configure(cfg));
                for d in self.fencer.diagnostics() {
                    tracing::warn!("fencing configuration: {d}");
                }
            }
            Command::History(tx) => {
                let _ = tx.send(self.fencer.history().cloned().collect());
            }
            Command::Failures(target, tx) => {
                let _ = tx.send(self.fencer.failures(&target));
            }
        }
    }
}

async fn drive(
    fencer: Fencer,
    runner: AgentRunner,
    mut rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<FencerEvent>,
) {
    let (results_tx, mut results) = mpsc::unbounded_channel();
    let mut d = Driver {
        fencer,
        runner,
        events,
        results: results_tx,
        cancels: BTreeMap::new(),
        runs: BTreeMap::new(),
        waiters: BTreeMap::new(),
        monitor_waiters: BTreeMap::new(),
    };
    loop {
        d.carry_out();
        let deadline = d.fencer.poll_timeout();
        let sleep = async {
            match deadline {
                Some(t) => {
                    tokio::time::sleep(Duration::from_millis(t.saturating_sub(now_ms()))).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(c) => d.command(c),
                // Every handle is gone: dropping `d` stops running agents.
                None => return,
            },
            Some((run, outcome, duration)) = results.recv() => {
                d.cancels.remove(&run);
                if let Some((device, action)) = d.runs.remove(&run) {
                    tracing::info!(run, %device, %action, exit = ?outcome.exit_code, timed_out = outcome.timed_out, reason = outcome.reason.as_deref().unwrap_or(""), "fence agent finished");
                    d.emit(FencerEvent::AgentFinished { run, device, action, outcome: outcome.clone(), duration });
                }
                d.fencer.handle(now_ms(), FencerInput::AgentDone { run, outcome });
            }
            _ = sleep => d.fencer.handle(now_ms(), FencerInput::Timer),
        }
    }
}
