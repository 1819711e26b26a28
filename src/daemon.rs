//! `warden daemon`: the tokio main loop that drives one [`Node`].
//!
//! One closed input enum ([`Input`]): membership and ordered messages from
//! the transport (corosync, or the standalone single node), results of the
//! local executor, results of fence agent runs, the node's one timer
//! (`poll_timeout`), requests from the local socket, and signals. For each
//! input: `node.handle(now, event)` with `now` read from the wall clock
//! ([`crate::shell::clock`]), then every effect `poll_effect()` gives is
//! carried out in order:
//!
//! | effect | carried out by |
//! | --- | --- |
//! | `Broadcast` | serialized with `serde_json`, sent through the transport (which compresses and chunks) |
//! | `RunAction`, `CancelAction` | the executor ([`crate::shell::executor`]) |
//! | `RunFenceAgent`, `KillFenceAgent` | [`AgentRunner`] in a task of its own; the outcome comes back as an input |
//! | `PersistCib` | the state directory ([`crate::shell::cib_store`]: CIB, digest, archive), the latest once per loop turn, off the loop |
//! | `Reply` | the socket client waiting for it |
//! | `Log` | one `tracing::info!` line per decision |
//!
//! Messages are JSON because the message types already derive serde for
//! the simulator and the tests, JSON keeps a captured message readable,
//! and the transport compresses every broadcast (zstd), which takes away
//! most of JSON's size cost; a CIB travels as one string inside it.
//!
//! The settings come from the configuration file ([`crate::shell::config`])
//! with the command line's overrides; the socket speaks
//! [`crate::shell::daemon_api`]. Requests that change the cluster are
//! mapped to the core's ([`ClientRequest`]: standby, maintenance, move,
//! ban, clear, cleanup, configuration replace, fencing, confirmation) and
//! answered once the cluster decided them in its total order (a replace
//! with `Replaced` or `Conflict`, a fencing with its result); reads (the
//! CIB, the status, the fencing history) are answered from the node's
//! state. `Restart` is refused: the command line restarts a resource with
//! the core's requests ([`RESTART_BY_THE_CLI`]).
//!
//! # When corosync is lost
//!
//! As the transport's header recommends: the daemon exits at once with
//! status [`EXIT_NO_RESTART`] (the unit does not restart it) and does not
//! touch its resources; the peers see its
//! process leave without a clean shutdown and fence this node before they
//! recover its resources. With `stonith-enabled=false` the resources
//! should be stopped first, but the core offers no local stop request, so
//! the daemon says in its log that they were left running.
//!
//! # SIGTERM / SIGINT
//!
//! A clean shutdown, as Pacemaker's: the daemon hands the node
//! `Event::Shutdown`; the node sets its transient attribute `shutdown`, the
//! DC's scheduler stops or moves everything here and lets the node go
//! (`do_shutdown`), every member then expects it down, and the node says
//! `Effect::ShutdownComplete`: the daemon writes the CIB, leaves the CPG
//! group and exits 0; the peers see a clean leave and fence nobody. A
//! second signal, or `shutdown_escalation` (default 20 minutes) without
//! the cluster's answer, exits at once with a warning, leaving what still
//! runs here (the peers then fence this node before recovering it). If
//! corosync is lost meanwhile, the policy above applies.
//!
//! Invariant: no cluster decision here. Everything the daemon does is an
//! effect the core returned, or the translation of an outside event into
//! a core event; a rule that needs the cluster's state belongs in the core.
//! Secrets (fence passwords) reach only the agents' stdin and the peers
//! (inside messages); never a log line, a reply or a command line.

pub mod device_gate;
pub mod membership;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::core::cib::{self, Cib};
use crate::core::fencer::{AgentOutcome, HistoryState, RunId};
use crate::core::node::CibText;
use crate::core::node::{Effect, Event, Message, Node, NodeConfig};
use crate::core::replication::{ClientRequest, ClusterInfo, WireVersion};

/// `dc-version` as this daemon records it when it becomes the DC.
pub const DC_VERSION: &str = concat!("warden-", env!("CARGO_PKG_VERSION"));
use crate::shell::cib_store::{CibStore, LoadOutcome, OnBadCib, StoreError};
use crate::shell::config::{self, TransportKind};
use crate::shell::corosync::{self, CorosyncConfig, TransportEvent, TransportHandle};
use crate::shell::daemon_api::{
    mask_secrets, DaemonReply, DaemonRequest, DaemonStatus, FenceAction, FenceEvent, FenceState,
};
use crate::shell::executor::{Executor, ExecutorEvent};
use crate::shell::fence_agents::AgentRunner;
use crate::shell::ipc::{self, Incoming, ReplyHandle};
use crate::shell::{clock, sd_notify, standalone};
use device_gate::DeviceGate;
use membership::{Membership, Step};

type Request = DaemonRequest;
type Reply = DaemonReply;

/// The exit status that tells the unit not to restart the daemon: it lost
/// corosync, or its stored CIB cannot be trusted (see the unit file).
pub const EXIT_NO_RESTART: u8 = 100;
/// Fence agent runs in flight at once; the core asks for few, this bounds
/// what a bug could spawn.
const MAX_FENCE_RUNS: usize = 64;
/// Client requests waiting for the cluster's answer at once.
const MAX_WAITING_CLIENTS: usize = crate::core::node::MAX_PENDING_CLIENT_REQUESTS;

/// How to run the daemon: the configuration file's settings (the command
/// line's overrides applied) and what only the command line says.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    pub config: config::DaemonConfig,
    /// A CIB to start from when the state directory has none.
    pub seed_cib: Option<PathBuf>,
    /// What to do when the stored CIB was quarantined.
    pub on_bad_cib: Option<OnBadCib>,
    pub corosync: CorosyncConfig,
}

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot read the CIB {path}: {source}")]
    ReadCib {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CIB {path} is not valid, so the daemon does not start:\n{diagnostics}")]
    BadCib { path: PathBuf, diagnostics: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    WrongCluster(String),
    #[error(transparent)]
    Corosync(#[from] corosync::ConnectError),
    #[error(transparent)]
    Socket(#[from] ipc::ServerError),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot become the subreaper of the agents: {0}")]
    Subreaper(std::io::Error),
    #[error("lost the cluster transport: {0}; exiting without touching the resources (the peers fence this node)")]
    TransportLost(String),
}

impl DaemonError {
    /// The process's exit status: [`EXIT_NO_RESTART`] when restarting
    /// blindly would do harm (corosync lost, stored CIB quarantined).
    pub fn exit_code(&self) -> u8 {
        match self {
            DaemonError::TransportLost(_) | DaemonError::Store(StoreError::Quarantined { .. }) => {
                EXIT_NO_RESTART
            }
            _ => 1,
        }
    }
}

/// One thing that happened, for the main loop.
enum Input {
    Transport(TransportEvent),
    Executor(ExecutorEvent),
    FenceAgentDone {
        run: RunId,
        outcome: AgentOutcome,
    },
    /// `node.poll_timeout()` or the membership's own timeout was reached.
    Timer,
    Client(Incoming<Request, Reply>),
    /// SIGTERM or SIGINT.
    Terminate(&'static str),
}

/// Opens and locks the state directory and reads its CIB; when it has
/// none, the seed CIB (saved there at once). A stored CIB that fails its
/// check is never replaced: the daemon refuses to start unless told to
/// start without it.
pub fn open_store(opts: &DaemonOptions) -> Result<(CibStore, Option<Cib>), DaemonError> {
    let mut store = CibStore::open(&opts.config.state_dir)?;
    store.set_keep_versions(opts.config.keep_versions);
    let outcome = store.load()?;
    if let LoadOutcome::Recovered { set_aside, .. } = &outcome {
        tracing::warn!(set_aside = %set_aside.display(), "the last save was cut short: the previous CIB was restored");
    }
    let empty = matches!(outcome, LoadOutcome::Empty);
    let cib = outcome.into_start(opts.on_bad_cib.unwrap_or(OnBadCib::Refuse))?;
    match (&opts.seed_cib, empty) {
        (Some(seed), true) => {
            let text = std::fs::read_to_string(seed).map_err(|source| DaemonError::ReadCib {
                path: seed.clone(),
                source,
            })?;
            let parsed = cib::parse(&text, &seed.display().to_string());
            let errors: Vec<String> = parsed
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            match parsed.cib {
                Some(c) if errors.is_empty() => {
                    store.save(&c)?;
                    tracing::info!(seed = %seed.display(), version = %c.version(), "state directory seeded with the given CIB");
                    Ok((store, Some(c)))
                }
                _ => Err(DaemonError::BadCib {
                    path: seed.clone(),
                    diagnostics: errors.join("\n"),
                }),
            }
        }
        _ => Ok((store, cib)),
    }
}

/// Runs the daemon until SIGTERM (`Ok`) or until it must stop (`Err`).
/// Starts its own runtime.
pub fn run(opts: DaemonOptions) -> Result<(), DaemonError> {
    let (store, cib) = open_store(&opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(run_async(opts, store, cib))
}

async fn run_async(
    opts: DaemonOptions,
    store: CibStore,
    cib: Option<Cib>,
) -> Result<(), DaemonError> {
    let config = &opts.config;
    let _reaper = crate::shell::executor::supervise_children().map_err(DaemonError::Subreaper)?;
    let (transport, mut transport_rx, kind) = match config.transport {
        TransportKind::Standalone => {
            let mut sc = standalone::StandaloneConfig::for_this_host();
            sc.node_name = config.node_name(None);
            let (h, rx) = standalone::start(sc);
            (h, rx, "standalone")
        }
        TransportKind::Corosync => {
            let (h, rx) = corosync::connect(opts.corosync.clone()).await?;
            (h, rx, "corosync")
        }
    };
    let info = transport.info().clone();
    config
        .check_cluster_name(info.cluster_name.as_deref())
        .map_err(DaemonError::WrongCluster)?;
    let name = config.node_name(Some(&info.local.name));
    let mut node = Node::new(NodeConfig {
        name: name.clone(),
        id: info.local.node_id,
        seed: rand::random(),
        cib,
        cluster: ClusterInfo {
            dc_version: DC_VERSION.to_string(),
            infrastructure: kind.to_string(),
            cluster_name: info.cluster_name.clone(),
        },
    });
    tracing::info!(
        node = %name,
        node_id = info.local.node_id,
        transport = kind,
        version = %node.cib().version(),
        state_dir = %config.state_dir.display(),
        cluster = ?info.cluster_name,
        "warden daemon started"
    );
    let executor_config = config.executor_config();
    let runner = AgentRunner::new(executor_config.fence_agent_dir.clone());
    let (executor, mut executor_rx) = Executor::start(executor_config);
    let (_server, mut client_rx) = ipc::serve::<Request, Reply>(config.server_config())?;
    let (fence_tx, mut fence_rx) = mpsc::channel::<(RunId, AgentOutcome)>(MAX_FENCE_RUNS);
    let (persist_tx, persist_rx) = watch::channel::<Option<Arc<Cib>>>(None);
    let writer = tokio::spawn(write_cib_task(store, persist_rx));
    if let Err(e) = sd_notify::ready() {
        tracing::warn!(error = %e, "cannot tell systemd the daemon is ready");
    }
    let escalation_ms = config.shutdown_escalation_ms();
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate());
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt());

    let mut d = Driver {
        name,
        kind,
        cluster_name: info.cluster_name.clone(),
        transport,
        executor,
        runner,
        fence_tx,
        fence_cancels: BTreeMap::new(),
        device_gate: DeviceGate::new(),
        waiting: BTreeMap::new(),
        next_request: 1,
        membership: Membership::new(),
        persist_tx,
        escalation_ms,
        stopping_until: None,
        exit: false,
    };
    let outcome = loop {
        let deadline = [
            node.poll_timeout(),
            d.membership.poll_timeout(),
            d.stopping_until,
        ]
        .into_iter()
        .flatten()
        .min();
        let input = tokio::select! {
            ev = transport_rx.recv() => match ev {
                Some(ev) => Input::Transport(ev),
                None => Input::Transport(TransportEvent::Lost(corosync::Lost {
                    reason: "the transport's event stream ended".into(),
                })),
            },
            Some(ev) = executor_rx.recv() => Input::Executor(ev),
            Some((run, outcome)) = fence_rx.recv() => Input::FenceAgentDone { run, outcome },
            Some(inc) = client_rx.recv() => Input::Client(inc),
            _ = tokio::time::sleep_until(clock::instant_of(deadline.unwrap_or_default())), if deadline.is_some() => Input::Timer,
            _ = sigterm.recv() => Input::Terminate("SIGTERM"),
            _ = sigint.recv() => Input::Terminate("SIGINT"),
        };
        match d.turn(&mut node, input).await {
            Flow::Continue => {}
            Flow::Stop(outcome) => break outcome,
        }
    };
    // Write what the loop last asked for, then stop the writer.
    drop(d.persist_tx);
    let _ = writer.await;
    if outcome.is_ok() {
        d.transport.leave().await;
        tracing::info!("warden daemon stopped");
    }
    for (_, (reply, _)) in std::mem::take(&mut d.waiting) {
        reply.fail("the daemon stopped before the cluster applied the request");
    }
    outcome
}

fn signal(kind: tokio::signal::unix::SignalKind) -> tokio::signal::unix::Signal {
    // Only fails when signal handling cannot be set up at all (no runtime
    // signal driver), which `enable_all` rules out.
    tokio::signal::unix::signal(kind).expect("install a signal handler")
}

enum Flow {
    Continue,
    Stop(Result<(), DaemonError>),
}

/// What the loop carries effects out with.
struct Driver {
    name: String,
    kind: &'static str,
    cluster_name: Option<String>,
    transport: TransportHandle,
    executor: Executor,
    runner: AgentRunner,
    fence_tx: mpsc::Sender<(RunId, AgentOutcome)>,
    fence_cancels: BTreeMap<RunId, oneshot::Sender<()>>,
    /// Fence device actions wait while a fence agent runs ([`device_gate`]).
    device_gate: DeviceGate,
    /// Client requests the core was given, by request id, and whether
    /// each is a configuration replace (answered `Replaced`/`Conflict`).
    waiting: BTreeMap<u64, (ReplyHandle<Reply>, bool)>,
    next_request: u64,
    membership: Membership,
    persist_tx: watch::Sender<Option<Arc<Cib>>>,
    /// `shutdown_escalation` of the configuration.
    escalation_ms: u64,
    /// Stopping (a SIGTERM came): exit at this time whatever happens.
    stopping_until: Option<crate::core::time::Timestamp>,
    /// The core said the node may leave.
    exit: bool,
}

impl Driver {
    async fn turn(&mut self, node: &mut Node, input: Input) -> Flow {
        let now = clock::now();
        let mut events: Vec<Event> = Vec::new();
        match input {
            Input::Transport(TransportEvent::Lost(lost)) => {
                let stonith = node
                    .cib()
                    .configuration
                    .property("stonith-enabled")
                    .is_none_or(|v| crate::core::fencer::parse_bool(v) != Some(false));
                if !stonith {
                    tracing::error!("stonith-enabled=false: this node's resources should be stopped before exiting, but the core offers no local stop; they are left running");
                }
                tracing::error!(reason = %lost.reason, "lost corosync: exiting without touching the resources; the peers fence this node before recovering them");
                return Flow::Stop(Err(DaemonError::TransportLost(lost.reason)));
            }
            Input::Transport(TransportEvent::Discarded { from, pid, reason }) => {
                tracing::error!(from, pid, %reason, "a message was discarded by every member");
            }
            Input::Transport(ev) => {
                log_transport(&ev);
                for step in self.membership.on_event(now, ev) {
                    events.extend(self.step_event(step));
                }
            }
            Input::Executor(ev) => events.push(Event::ActionFinished {
                call_id: ev.call_id,
                result: ev.result,
            }),
            Input::FenceAgentDone { run, outcome } => {
                self.fence_cancels.remove(&run);
                self.fence_ended(run);
                tracing::info!(
                    run,
                    exit_code = ?outcome.exit_code,
                    timed_out = outcome.timed_out,
                    reason = outcome.reason.as_deref().unwrap_or(""),
                    "fence agent finished"
                );
                events.push(Event::FenceAgentDone { run, outcome });
            }
            Input::Timer => {
                if self.stopping_until.is_some_and(|t| t <= now) {
                    tracing::warn!(
                        escalation_ms = self.escalation_ms,
                        "stopping: the cluster did not stop this node's resources within shutdown_escalation; exiting now, whatever still runs here is left running"
                    );
                    self.persist(node);
                    return Flow::Stop(Ok(()));
                }
                for step in self.membership.on_timeout(now) {
                    events.extend(self.step_event(step));
                }
                if node.poll_timeout().is_some_and(|t| t <= now) {
                    events.push(Event::Timer);
                }
            }
            Input::Client(inc) => {
                if let Some(ev) = self.client(node, inc) {
                    events.push(ev);
                }
            }
            Input::Terminate(sig) => {
                if self.stopping_until.is_some() {
                    tracing::warn!(signal = sig, "stopping at once (second signal): whatever still runs here is left running");
                    self.persist(node);
                    return Flow::Stop(Ok(()));
                }
                let _ = sd_notify::stopping();
                self.stopping_until =
                    Some(now.plus_ms(self.escalation_ms.min(i64::MAX as u64) as i64));
                tracing::info!(
                    signal = sig,
                    escalation_ms = self.escalation_ms,
                    "stopping: asking the cluster to stop or move this node's resources first (a second signal exits at once)"
                );
                events.push(Event::Shutdown);
            }
        }
        let mut persist = false;
        for ev in events {
            node.handle(now, ev);
            while let Some(effect) = node.poll_effect() {
                if let Err(e) = self.effect(node, effect, &mut persist).await {
                    return Flow::Stop(Err(e));
                }
            }
        }
        for (call_id, request) in self.device_gate.release(clock::now().millis()) {
            self.execute(call_id, request);
        }
        if persist {
            self.persist(node);
        }
        if self.exit {
            tracing::info!(
                "this node's resources are stopped and the cluster expects it down: leaving"
            );
            self.persist(node);
            return Flow::Stop(Ok(()));
        }
        Flow::Continue
    }

    fn step_event(&mut self, step: Step) -> Option<Event> {
        match step {
            Step::View(view) => Some(Event::Membership(view)),
            Step::Message { from, bytes } => match serde_json::from_slice::<Message>(&bytes) {
                Ok(message) => Some(Event::Delivered { from, message }),
                Err(e) => {
                    // Every member drops the same bytes: the order stays
                    // the same everywhere.
                    tracing::error!(%from, bytes = bytes.len(), error = %e, "a message that is not a warden message was dropped (a different warden version on that node?)");
                    None
                }
            },
        }
    }

    /// A socket request: answered here when it only reads, handed to the
    /// core when it is one of the core's requests, refused otherwise.
    fn client(&mut self, node: &Node, inc: Incoming<Request, Reply>) -> Option<Event> {
        let request = match inc.request {
            DaemonRequest::GetCib { secrets } => {
                let xml = cib::to_xml(node.cib());
                match if secrets { Ok(xml) } else { mask_secrets(&xml) } {
                    Ok(xml) => inc.reply.ok(DaemonReply::Cib { xml }),
                    Err(e) => inc.reply.fail(e),
                }
                return None;
            }
            DaemonRequest::Status => {
                inc.reply.ok(DaemonReply::Status(status_of(
                    node,
                    self.kind,
                    self.cluster_name.clone(),
                )));
                return None;
            }
            DaemonRequest::FenceHistory { node: target } => {
                inc.reply.ok(DaemonReply::FenceHistory {
                    events: fence_history(node, target.as_deref()),
                });
                return None;
            }
            other => match core_request(&other) {
                Ok(r) => r,
                Err(why) => {
                    inc.reply.fail(why);
                    return None;
                }
            },
        };
        if self.waiting.len() >= MAX_WAITING_CLIENTS {
            inc.reply.fail(format!(
                "{} requests are already waiting for the cluster; try again later",
                self.waiting.len()
            ));
            return None;
        }
        let request_id = self.next_request;
        self.next_request += 1;
        tracing::info!(
            request_id,
            uid = inc.peer.uid,
            pid = inc.peer.pid,
            what = %request.describe(),
            "request from the command line"
        );
        let replace = matches!(request, ClientRequest::ReplaceConfiguration { .. });
        self.waiting.insert(request_id, (inc.reply, replace));
        Some(Event::Client {
            request_id,
            request,
            user: Some(
                inc.peer
                    .user
                    .clone()
                    .unwrap_or_else(|| inc.peer.uid.to_string()),
            ),
        })
    }

    async fn effect(
        &mut self,
        node: &Node,
        effect: Effect,
        persist: &mut bool,
    ) -> Result<(), DaemonError> {
        match effect {
            Effect::Broadcast(message) => {
                // Serializing a message of our own types cannot fail.
                let bytes = serde_json::to_vec(&message).expect("messages serialize");
                if let Err(e) = self.transport.broadcast(bytes).await {
                    match e {
                        corosync::BroadcastError::Lost(reason) => {
                            return Err(DaemonError::TransportLost(reason))
                        }
                        too_big => {
                            tracing::error!(error = %too_big, "a message was not sent")
                        }
                    }
                }
            }
            Effect::RunAction { call_id, request } => {
                match self
                    .device_gate
                    .admit(clock::now().millis(), call_id, request)
                {
                    Some((call_id, request)) => self.execute(call_id, request),
                    None => tracing::debug!(
                        call_id,
                        held = self.device_gate.held(),
                        "fence device action held while a fence agent runs"
                    ),
                }
            }
            Effect::CancelAction {
                rsc_id,
                action,
                interval_ms,
            } => {
                tracing::debug!(rsc = %rsc_id, %action, interval_ms, "cancelling");
                self.device_gate.cancel(&rsc_id, &action, interval_ms);
                self.executor.cancel(&rsc_id, &action, interval_ms);
            }
            Effect::RunFenceAgent(run) => self.run_fence_agent(run),
            Effect::KillFenceAgent { run } => {
                if let Some(cancel) = self.fence_cancels.remove(&run) {
                    tracing::info!(run, "stopping a fence agent the fencer no longer needs");
                    let _ = cancel.send(());
                    self.fence_ended(run);
                }
            }
            Effect::PersistCib { .. } => *persist = true,
            Effect::Reply {
                request_id,
                result,
                conflict,
            } => {
                if let Some((reply, replace)) = self.waiting.remove(&request_id) {
                    let version = node.cib().version().into();
                    match (result, conflict) {
                        (Ok(message), _) => {
                            tracing::info!(request_id, %message, "request applied");
                            reply.ok(if replace {
                                DaemonReply::Replaced { version }
                            } else {
                                DaemonReply::Done {
                                    version: Some(version),
                                }
                            })
                        }
                        (Err(message), Some(current)) if replace => {
                            tracing::info!(request_id, %message, "request refused");
                            reply.ok(DaemonReply::Conflict {
                                current: current.into(),
                            })
                        }
                        (Err(message), _) => {
                            tracing::info!(request_id, %message, "request refused");
                            reply.fail(message)
                        }
                    }
                }
            }
            Effect::ShutdownComplete => self.exit = true,
            Effect::Log(decision) => {
                tracing::info!(node = %self.name, "{decision}");
            }
        }
        Ok(())
    }

    fn execute(&mut self, call_id: u64, request: crate::core::action::ActionRequest) {
        tracing::info!(
            call_id,
            rsc = %request.rsc_id,
            action = %request.action,
            interval_ms = request.interval_ms,
            "executing"
        );
        self.executor.execute(call_id, request);
    }

    /// A fence agent run ended (the held fence device actions go out at
    /// the end of the turn, if no run started meanwhile).
    fn fence_ended(&mut self, run: RunId) {
        self.device_gate.fence_ended(run);
    }

    fn run_fence_agent(&mut self, run: crate::core::fencer::AgentRun) {
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        self.fence_cancels.insert(run.run, cancel_tx);
        self.device_gate.fence_started(run.run);
        tracing::info!(
            run = run.run,
            device = %run.device,
            agent = %run.agent,
            action = %run.action,
            target = run.target.as_deref().unwrap_or("-"),
            timeout_ms = run.timeout_ms,
            "fence agent started"
        );
        let runner = self.runner.clone();
        let tx = self.fence_tx.clone();
        tokio::spawn(async move {
            // Only an explicit kill cancels: a dropped sender is not one.
            let cancel = async {
                if cancel_rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            let timeout = Duration::from_millis(run.timeout_ms.max(1));
            let outcome = match runner
                .run_cancellable(&run.agent, &run.args, timeout, cancel)
                .await
            {
                Ok(out) => out.outcome(),
                Err(e) => AgentOutcome {
                    exit_code: None,
                    timed_out: false,
                    stdout: String::new(),
                    reason: Some(e.to_string()),
                },
            };
            let _ = tx.send((run.run, outcome)).await;
        });
    }

    /// Hands the node's CIB to the writer (which writes the latest).
    fn persist(&self, node: &Node) {
        self.persist_tx
            .send_replace(Some(Arc::new(node.cib().clone())));
    }
}

fn status_of(node: &Node, kind: &str, cluster_name: Option<String>) -> DaemonStatus {
    let view = node.view();
    DaemonStatus {
        daemon_version: env!("CARGO_PKG_VERSION").to_string(),
        cluster_name,
        node_name: node.name().to_string(),
        transport: kind.to_string(),
        members: view
            .map(|v| v.members.iter().map(|m| m.name.clone()).collect())
            .unwrap_or_default(),
        quorate: view.is_some_and(|v| v.quorate),
        dc: node.dc().map(str::to_string),
        cib_version: node.cib().version().into(),
        idle: node.is_idle(),
    }
}

/// The fencing operations this node's fencer knows, oldest first.
fn fence_history(node: &Node, target: Option<&str>) -> Vec<FenceEvent> {
    let mut events: Vec<FenceEvent> = node
        .fence_history()
        .iter()
        .filter(|h| target.is_none_or(|t| t == h.target))
        .map(|h| FenceEvent {
            target: h.target.clone(),
            action: h.action.as_str().to_string(),
            state: match h.state {
                HistoryState::Pending => FenceState::Pending,
                HistoryState::Done => FenceState::Succeeded,
                HistoryState::Failed => FenceState::Failed,
            },
            delegate: Some(h.executor.clone()).filter(|e| !e.is_empty()),
            origin: Some(h.origin.clone()).filter(|o| !o.is_empty()),
            client: Some(h.client.clone()).filter(|c| !c.is_empty()),
            completed_ms: h.completed_ms.map(|ms| ms as i64),
        })
        .collect();
    events.sort_by_key(|e| e.completed_ms.unwrap_or(i64::MAX));
    events
}

/// The core's request for a socket request, or why the daemon cannot
/// carry it out.
fn core_request(r: &DaemonRequest) -> Result<ClientRequest, String> {
    Ok(match r {
        DaemonRequest::Standby { node, on } => ClientRequest::Standby {
            node: node.clone(),
            on: *on,
        },
        DaemonRequest::Maintenance { node, on } => ClientRequest::Maintenance {
            node: node.clone(),
            on: *on,
        },
        DaemonRequest::Move {
            rsc,
            node: Some(node),
        } => ClientRequest::Move {
            rsc: rsc.clone(),
            node: node.clone(),
        },
        DaemonRequest::Ban { rsc, node } => ClientRequest::Ban {
            rsc: rsc.clone(),
            node: node.clone(),
        },
        DaemonRequest::Clear { rsc, node } => ClientRequest::Clear {
            rsc: rsc.clone(),
            node: node.clone(),
        },
        DaemonRequest::Cleanup { rsc, node } => ClientRequest::Cleanup {
            rsc: rsc.clone(),
            node: node.clone(),
        },
        // crm_resource --move without a node: a ban from where it runs
        // now, decided when every member applies it.
        DaemonRequest::Move { rsc, node: None } => ClientRequest::Ban {
            rsc: rsc.clone(),
            node: None,
        },
        DaemonRequest::ReplaceConfiguration { expected, cib_xml } => {
            ClientRequest::ReplaceConfiguration {
                expected: WireVersion {
                    admin_epoch: expected.admin_epoch,
                    epoch: expected.epoch,
                    num_updates: expected.num_updates,
                },
                cib: CibText(cib_xml.clone()),
            }
        }
        DaemonRequest::Fence { node, action } => ClientRequest::Fence {
            target: node.clone(),
            off: *action == FenceAction::Off,
        },
        DaemonRequest::FenceConfirm { node } => ClientRequest::FenceConfirm {
            target: node.clone(),
        },
        DaemonRequest::Restart { .. } => return Err(RESTART_BY_THE_CLI.to_string()),
        DaemonRequest::GetCib { .. }
        | DaemonRequest::Status
        | DaemonRequest::FenceHistory { .. } => {
            // Answered by the daemon from the node's state, never here.
            return Err(format!("{} is not a cluster request", r.name()));
        }
    })
}

/// The daemon's answer to a `Restart` request: a restart is the command
/// line's sequence of the core's requests (`target-role=Stopped`, wait,
/// the previous role back), as `crm_resource --restart` does.
pub const RESTART_BY_THE_CLI: &str = "restarting a resource is done by the command line (warden resource restart RSC): it stops the resource through its target-role, waits, and restores it; this daemon request is not used; nothing was changed";

fn log_transport(ev: &TransportEvent) {
    match ev {
        TransportEvent::View(v) => {
            let members: Vec<&str> = v.members.iter().map(|m| m.name.as_str()).collect();
            let joined: Vec<String> = v.joined.iter().map(membership::describe_change).collect();
            let left: Vec<String> = v.left.iter().map(membership::describe_change).collect();
            tracing::info!(
                members = %members.join(","),
                joined = %joined.join(","),
                left = %left.join(","),
                "corosync view"
            );
        }
        TransportEvent::Ring(r) => {
            tracing::debug!(ring = r.ring_id.seq, nodes = ?r.nodes, "corosync ring");
        }
        TransportEvent::Quorum(q) => {
            tracing::info!(
                quorate = q.quorate,
                ring = q.ring_id.seq,
                nodes = ?q.nodes,
                "corosync quorum"
            );
        }
        _ => {}
    }
}

/// Saves the latest CIB it is given to the state directory, off the loop;
/// a save that fails is logged and the next version tried.
async fn write_cib_task(store: CibStore, mut rx: watch::Receiver<Option<Arc<Cib>>>) {
    let mut store = Some(store);
    while rx.changed().await.is_ok() {
        let Some(cib) = rx.borrow_and_update().clone() else {
            continue;
        };
        let Some(mut s) = store.take() else { return };
        let res = tokio::task::spawn_blocking(move || {
            let r = s.save(&cib);
            (s, r)
        })
        .await;
        match res {
            Ok((s, r)) => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "cannot save the CIB");
                }
                store = Some(s);
            }
            Err(e) => {
                tracing::error!(error = %e, "the CIB writer task failed; the CIB is no longer saved");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_requests_map_to_the_cores_or_are_refused_with_the_reason() {
        assert_eq!(
            core_request(&DaemonRequest::Standby {
                node: "n1".into(),
                on: true
            }),
            Ok(ClientRequest::Standby {
                node: "n1".into(),
                on: true
            })
        );
        assert_eq!(
            core_request(&DaemonRequest::Move {
                rsc: "vip".into(),
                node: Some("n2".into())
            }),
            Ok(ClientRequest::Move {
                rsc: "vip".into(),
                node: "n2".into()
            })
        );
        assert_eq!(
            core_request(&DaemonRequest::Cleanup {
                rsc: None,
                node: Some("n2".into())
            }),
            Ok(ClientRequest::Cleanup {
                rsc: None,
                node: Some("n2".into())
            })
        );
        // Without a node, a move is a ban from where the resource runs,
        // decided when every member applies it.
        assert_eq!(
            core_request(&DaemonRequest::Move {
                rsc: "vip".into(),
                node: None,
            }),
            Ok(ClientRequest::Ban {
                rsc: "vip".into(),
                node: None
            })
        );
        assert_eq!(
            core_request(&DaemonRequest::FenceConfirm { node: "n2".into() }),
            Ok(ClientRequest::FenceConfirm {
                target: "n2".into()
            })
        );
        assert_eq!(
            core_request(&DaemonRequest::Fence {
                node: "n2".into(),
                action: FenceAction::Off
            }),
            Ok(ClientRequest::Fence {
                target: "n2".into(),
                off: true
            })
        );
        let replace = core_request(&DaemonRequest::ReplaceConfiguration {
            expected: crate::shell::daemon_api::CibVersion {
                admin_epoch: 1,
                epoch: 7,
                num_updates: 3,
            },
            cib_xml: "<cib password='hunter2'/>".into(),
        })
        .unwrap();
        let ClientRequest::ReplaceConfiguration { expected, cib } = &replace else {
            panic!("{replace:?}")
        };
        assert_eq!((expected.admin_epoch, expected.epoch), (1, 7));
        assert_eq!(cib.0, "<cib password='hunter2'/>");
        assert!(
            !format!("{replace:?}").contains("hunter2"),
            "the CIB's content never shows in logs"
        );
        // A restart is the command line's sequence of requests.
        let refused = core_request(&DaemonRequest::Restart {
            rsc: "vip".into(),
            node: None,
        })
        .unwrap_err();
        assert_eq!(refused, RESTART_BY_THE_CLI);
        assert!(refused.ends_with("nothing was changed"), "{refused}");
    }

    #[test]
    fn losing_corosync_or_a_quarantined_cib_asks_systemd_not_to_restart() {
        assert_eq!(
            DaemonError::TransportLost("gone".into()).exit_code(),
            EXIT_NO_RESTART
        );
        let bad = DaemonError::Store(StoreError::Quarantined {
            path: "/var/lib/warden/cib.xml.bad-0.1.0".into(),
            reason: "digest mismatch".into(),
            hint: String::new(),
        });
        assert_eq!(bad.exit_code(), EXIT_NO_RESTART);
        assert_eq!(DaemonError::WrongCluster("x".into()).exit_code(), 1);
    }
}
