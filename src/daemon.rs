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
//! | `PersistCib` | an atomic write of `node.cib()`, the latest once per loop turn, off the loop |
//! | `Reply` | the socket client waiting for it |
//! | `Log` | one `tracing::info!` line per decision |
//!
//! Messages are JSON because the message types already derive serde for
//! the simulator and the tests, JSON keeps a captured message readable,
//! and the transport compresses every broadcast (zstd), which takes away
//! most of JSON's size cost; a CIB travels as one string inside it.
//!
//! # When corosync is lost
//!
//! As the transport's header recommends: the daemon exits at once with a
//! failure status and does not touch its resources; the peers see its
//! process leave without a clean shutdown and fence this node before they
//! recover its resources. With `stonith-enabled=false` the resources
//! should be stopped first, but the core offers no local stop request, so
//! the daemon says in its log that they were left running.
//!
//! # SIGTERM / SIGINT
//!
//! The core offers no shutdown request (Pacemaker's: set `shutdown`, let
//! the DC stop this node's resources, then leave). The daemon therefore
//! leaves its resources running, says so in the log, writes the CIB, and
//! leaves the CPG group. The peers then see this node's controller gone
//! while its resources may still run, and fence it before recovering them:
//! safe, not graceful.
//!
//! Invariant: no cluster decision here. Everything the daemon does is an
//! effect the core returned, or the translation of an outside event into
//! a core event; a rule that needs the cluster's state belongs in the core.
//! Secrets (fence passwords) reach only the agents' stdin and the peers
//! (inside messages); never a log line, a reply or a command line.

pub mod api;
pub mod membership;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::core::cib::{self, Cib};
use crate::core::fencer::{AgentOutcome, RunId};
use crate::core::node::{Effect, Event, Message, Node, NodeConfig};
use crate::shell::corosync::{self, CorosyncConfig, TransportEvent, TransportHandle};
use crate::shell::executor::{Executor, ExecutorConfig, ExecutorEvent};
use crate::shell::fence_agents::AgentRunner;
use crate::shell::ipc::{self, Incoming, ReplyHandle, ServerConfig};
use crate::shell::{clock, standalone, store};
use api::{DaemonStatus, Reply, Request};
use membership::{Membership, Step};

/// Where the daemon keeps the CIB by default.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/warden";
/// The file of the CIB in the state directory.
pub const CIB_FILE: &str = "cib.xml";
/// Fence agent runs in flight at once; the core asks for few, this bounds
/// what a bug could spawn.
const MAX_FENCE_RUNS: usize = 64;
/// Client requests waiting for the cluster's answer at once.
const MAX_WAITING_CLIENTS: usize = crate::core::node::MAX_PENDING_CLIENT_REQUESTS;

/// How to run the daemon.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub state_dir: PathBuf,
    pub socket: PathBuf,
    /// This node's name; by default corosync's name for it (or the host
    /// name when standalone).
    pub node_name: Option<String>,
    /// One node, no corosync.
    pub standalone: bool,
    /// A CIB to start from when the state directory has none.
    pub seed_cib: Option<PathBuf>,
    pub corosync: CorosyncConfig,
    pub executor: ExecutorConfig,
    pub server: ServerConfig,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            state_dir: DEFAULT_STATE_DIR.into(),
            socket: ipc::DEFAULT_SOCKET.into(),
            node_name: None,
            standalone: false,
            seed_cib: None,
            corosync: CorosyncConfig::default(),
            executor: ExecutorConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot read the CIB {path}: {source}")]
    ReadCib {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CIB {path} is not valid, so the daemon does not start (fix or remove it; it was not replaced):\n{diagnostics}")]
    BadCib { path: PathBuf, diagnostics: String },
    #[error("cannot write the CIB {path}: {source}")]
    WriteCib {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
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

/// Reads the CIB of the state directory, or the seed CIB when there is
/// none (written to the state directory at once). A CIB that does not
/// parse is an error: it is never replaced by an empty one.
pub fn load_cib(config: &DaemonConfig) -> Result<Option<Cib>, DaemonError> {
    let path = config.state_dir.join(CIB_FILE);
    let read = |p: &Path| {
        store::read_optional(p).map_err(|source| DaemonError::ReadCib {
            path: p.to_path_buf(),
            source,
        })
    };
    let (text, from) = match read(&path)? {
        Some(t) => (t, path.clone()),
        None => match &config.seed_cib {
            Some(seed) => match read(seed)? {
                Some(t) => (t, seed.clone()),
                None => {
                    return Err(DaemonError::ReadCib {
                        path: seed.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no such file (given with --cib)",
                        ),
                    })
                }
            },
            None => return Ok(None),
        },
    };
    let parsed = cib::parse(&text, &from.display().to_string());
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    match parsed.cib {
        Some(c) if errors.is_empty() => {
            if from != path {
                std::fs::create_dir_all(&config.state_dir).map_err(|source| {
                    DaemonError::StateDir {
                        path: config.state_dir.clone(),
                        source,
                    }
                })?;
                store::write_atomic(&path, cib::to_xml(&c).as_bytes())
                    .map_err(|source| DaemonError::WriteCib { path, source })?;
                tracing::info!(seed = %from.display(), version = %c.version(), "state directory seeded with the given CIB");
            }
            Ok(Some(c))
        }
        _ => Err(DaemonError::BadCib {
            path: from,
            diagnostics: errors.join("\n"),
        }),
    }
}

/// Runs the daemon until SIGTERM (`Ok`) or until it must stop (`Err`).
/// Starts its own runtime.
pub fn run(config: DaemonConfig) -> Result<(), DaemonError> {
    let cib = load_cib(&config)?;
    std::fs::create_dir_all(&config.state_dir).map_err(|source| DaemonError::StateDir {
        path: config.state_dir.clone(),
        source,
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(run_async(config, cib))
}

async fn run_async(config: DaemonConfig, cib: Option<Cib>) -> Result<(), DaemonError> {
    let _reaper = crate::shell::executor::supervise_children().map_err(DaemonError::Subreaper)?;
    let (transport, mut transport_rx, kind) = if config.standalone {
        let mut sc = standalone::StandaloneConfig::for_this_host();
        if let Some(n) = &config.node_name {
            sc.node_name = n.clone();
        }
        let (h, rx) = standalone::start(sc);
        (h, rx, "standalone")
    } else {
        let (h, rx) = corosync::connect(config.corosync.clone()).await?;
        (h, rx, "corosync")
    };
    let info = transport.info().clone();
    let name = config
        .node_name
        .clone()
        .unwrap_or_else(|| info.local.name.clone());
    let mut node = Node::new(NodeConfig {
        name: name.clone(),
        id: info.local.node_id,
        seed: rand::random(),
        cib,
    });
    tracing::info!(
        node = %name,
        node_id = info.local.node_id,
        transport = kind,
        version = %node.cib().version(),
        state_dir = %config.state_dir.display(),
        "warden daemon started"
    );
    let (executor, mut executor_rx) = Executor::start(config.executor.clone());
    let runner = AgentRunner::new(config.executor.fence_agent_dir.clone());
    let mut server_config = config.server.clone();
    server_config.path = config.socket.clone();
    let (_server, mut client_rx) = ipc::serve::<Request, Reply>(server_config)?;
    let (fence_tx, mut fence_rx) = mpsc::channel::<(RunId, AgentOutcome)>(MAX_FENCE_RUNS);
    let (persist_tx, persist_rx) = watch::channel::<Option<Arc<String>>>(None);
    let writer = tokio::spawn(write_cib_task(config.state_dir.join(CIB_FILE), persist_rx));
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate());
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt());

    let mut d = Driver {
        name,
        kind,
        transport,
        executor,
        runner,
        fence_tx,
        fence_cancels: BTreeMap::new(),
        waiting: BTreeMap::new(),
        next_request: 1,
        membership: Membership::new(),
        persist_tx,
    };
    let outcome = loop {
        let deadline = [node.poll_timeout(), d.membership.poll_timeout()]
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
    transport: TransportHandle,
    executor: Executor,
    runner: AgentRunner,
    fence_tx: mpsc::Sender<(RunId, AgentOutcome)>,
    fence_cancels: BTreeMap<RunId, oneshot::Sender<()>>,
    /// Client requests the core was given, by request id.
    waiting: BTreeMap<u64, ReplyHandle<Reply>>,
    next_request: u64,
    membership: Membership,
    persist_tx: watch::Sender<Option<Arc<String>>>,
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
                tracing::warn!(signal = sig, "stopping: the core offers no shutdown request, so this node's resources are left running (the peers fence this node before recovering them)");
                self.persist(node);
                return Flow::Stop(Ok(()));
            }
        }
        let mut persist = false;
        for ev in events {
            node.handle(now, ev);
            while let Some(effect) = node.poll_effect() {
                if let Err(e) = self.effect(effect, &mut persist).await {
                    return Flow::Stop(Err(e));
                }
            }
        }
        if persist {
            self.persist(node);
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

    /// A socket request: answered here when it only reads, else handed to
    /// the core.
    fn client(&mut self, node: &Node, inc: Incoming<Request, Reply>) -> Option<Event> {
        match inc.request {
            Request::GetCib => {
                inc.reply.ok(Reply::Cib {
                    xml: cib::to_xml(node.cib()),
                });
                None
            }
            Request::Status => {
                inc.reply.ok(Reply::Status(status_of(node, self.kind)));
                None
            }
            Request::Cluster(request) => {
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
                self.waiting.insert(request_id, inc.reply);
                Some(Event::Client {
                    request_id,
                    request,
                })
            }
        }
    }

    async fn effect(&mut self, effect: Effect, persist: &mut bool) -> Result<(), DaemonError> {
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
                tracing::info!(
                    call_id,
                    rsc = %request.rsc_id,
                    action = %request.action,
                    interval_ms = request.interval_ms,
                    "executing"
                );
                self.executor.execute(call_id, request);
            }
            Effect::CancelAction {
                rsc_id,
                action,
                interval_ms,
            } => {
                tracing::debug!(rsc = %rsc_id, %action, interval_ms, "cancelling");
                self.executor.cancel(&rsc_id, &action, interval_ms);
            }
            Effect::RunFenceAgent(run) => self.run_fence_agent(run),
            Effect::KillFenceAgent { run } => {
                if let Some(cancel) = self.fence_cancels.remove(&run) {
                    tracing::info!(run, "stopping a fence agent the fencer no longer needs");
                    let _ = cancel.send(());
                }
            }
            Effect::PersistCib { .. } => *persist = true,
            Effect::Reply { request_id, result } => {
                if let Some(reply) = self.waiting.remove(&request_id) {
                    match result {
                        Ok(message) => reply.ok(Reply::Done { message }),
                        Err(message) => reply.fail(message),
                    }
                }
            }
            Effect::Log(decision) => {
                tracing::info!(node = %self.name, "{decision}");
            }
        }
        Ok(())
    }

    fn run_fence_agent(&mut self, run: crate::core::fencer::AgentRun) {
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        self.fence_cancels.insert(run.run, cancel_tx);
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
        let text = cib::to_xml(node.cib());
        self.persist_tx.send_replace(Some(Arc::new(text)));
    }
}

fn status_of(node: &Node, kind: &str) -> DaemonStatus {
    let view = node.view();
    DaemonStatus {
        node_name: node.name().to_string(),
        transport: kind.to_string(),
        members: view
            .map(|v| v.members.iter().map(|m| m.name.clone()).collect())
            .unwrap_or_default(),
        quorate: view.is_some_and(|v| v.quorate),
        dc: node.dc().map(str::to_string),
        cib_version: node.cib().version().to_string(),
        cib_digest: cib::digest(node.cib()),
        synced: node.is_synced(),
        idle: node.is_idle(),
    }
}

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

/// Writes the latest CIB it is given, atomically, off the loop; a write
/// that fails is logged and retried with the next version.
async fn write_cib_task(path: PathBuf, mut rx: watch::Receiver<Option<Arc<String>>>) {
    while rx.changed().await.is_ok() {
        let Some(text) = rx.borrow_and_update().clone() else {
            continue;
        };
        let p = path.clone();
        let res =
            tokio::task::spawn_blocking(move || store::write_atomic(&p, text.as_bytes())).await;
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(path = %path.display(), error = %e, "cannot write the CIB")
            }
            Err(e) => tracing::error!(error = %e, "the CIB writer task failed"),
        }
    }
}
