//! corosync as warden's transport: CPG for the process group's views and
//! totally ordered broadcasts, quorum/votequorum for quorum, cmap for node
//! names and timing. Everything arrives as [`TransportEvent`]s on one
//! channel; broadcasts leave through a [`TransportHandle`].
//!
//! Invariant: this module never interprets a message (they are bytes) and
//! never decides anything about the cluster; it never blocks the runtime
//! (see `driver`), and it never turns a corosync failure into a panic or
//! an exit: corosync dying is the event [`TransportEvent::Lost`].
//!
//! # When corosync is lost
//!
//! After `Lost` this node knows nothing more about membership: it cannot
//! receive CIB changes or fencing results. The other nodes see its daemon
//! leave the group: with reason `NodeDown` if corosync died with it,
//! `ProcDown` if only the connection broke. Either way the recommended
//! policy, which is Pacemaker's (its controller exits on losing the
//! cluster layer, and a peer whose controller left without a clean
//! shutdown is fenced), is for the daemon to **exit at once with a failure
//! status, without touching its resources**, and for the surviving nodes
//! to treat a peer daemon's `ProcDown` like `NodeDown`: fence, then recover
//! (only a `Leave` is a clean shutdown). Stopping the resources first would
//! race with the peers' recovery, which fencing already makes safe, and a
//! node whose cluster layer died is exactly what fencing or a watchdog
//! (sbd) is there to reset. The systemd unit should not restart the daemon
//! blindly before corosync is back. The one exception is a cluster with
//! fencing disabled (`stonith-enabled=false`): nothing then stops the peers
//! from starting the resources at once, so the daemon should stop its own
//! resources first (best effort, bounded by their stop timeouts), then exit.
//!
//! # Sizes
//!
//! corosync 3.1's libcpg sends at most `cpg_max_atomic_msgsize` bytes as one
//! message: the IPC request size minus 1 KiB, which is 1 MiB - 1 KiB in the
//! usual builds (1,047,552 bytes, measured in the lab) and 63 KiB in
//! small-memory builds. Above that it fragments by itself, with a blocking
//! request/reply per fragment. Broadcasts are therefore compressed with
//! zstd and cut by [`chunk`] into chunks of at most
//! [`CorosyncConfig::chunk_bytes`] (capped by the atomic size); a chunked
//! message is delivered at the position of its last chunk, whole, never
//! half. totem and knet then fragment each chunk to the path MTU.

pub mod chunk;
mod driver;
mod info;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use rust_corosync::{cmap, cpg, quorum, votequorum, CsError, TrackFlags};
use tokio::sync::{mpsc, watch};

pub use chunk::Limits;
pub use transport::{
    BroadcastError, Change, ClusterInfo, LocalNode, Lost, Member, NodeEntry, Quorum, Reason, Ring,
    RingId, TransportEvent, TransportHandle, View,
};

/// How to connect.
#[derive(Debug, Clone)]
pub struct CorosyncConfig {
    /// The CPG group every warden daemon of the cluster joins.
    pub group: String,
    pub limits: Limits,
    /// Events waiting for the daemon before corosync is no longer read.
    pub event_queue: usize,
    /// Broadcasts waiting to be sent before `broadcast` waits.
    pub send_queue: usize,
    /// Largest chunk sent as one CPG message (capped by corosync's atomic
    /// size). Smaller chunks let other nodes' small messages through
    /// between the chunks of a big one; larger ones cost fewer calls.
    pub chunk_bytes: usize,
    /// How long `connect` retries while corosync answers TRY_AGAIN (it
    /// does while it synchronises a membership change).
    pub connect_timeout_ms: u64,
}

impl Default for CorosyncConfig {
    fn default() -> Self {
        CorosyncConfig {
            group: "warden".into(),
            limits: Limits::default(),
            event_queue: 1024,
            send_queue: 1024,
            chunk_bytes: 256 << 10,
            connect_timeout_ms: 30_000,
        }
    }
}

/// Why `connect` failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to corosync's {service} service: {error} (is corosync running on this node?)")]
    Unavailable {
        service: &'static str,
        error: CsError,
    },
    #[error("corosync refused {call}: {error}")]
    Call { call: &'static str, error: CsError },
    #[error("corosync kept answering TRY_AGAIN to {call} for {timeout_ms} ms")]
    Busy { call: &'static str, timeout_ms: u64 },
    #[error("invalid CPG group name {0:?} (1 to 127 bytes)")]
    BadGroup(String),
    #[error("connecting to corosync: {0}")]
    Task(String),
}

/// Handles opened by `connect`, handed to the tasks.
struct Opened {
    cpg: cpg::Handle,
    cmap: cmap::Handle,
    quorum: quorum::Handle,
    votequorum: votequorum::Handle,
    info: ClusterInfo,
}

fn unavailable(service: &'static str) -> impl Fn(CsError) -> ConnectError {
    move |error| ConnectError::Unavailable { service, error }
}

fn call(call: &'static str) -> impl Fn(CsError) -> ConnectError {
    move |error| ConnectError::Call { call, error }
}

fn open(limits: Limits, chunk_bytes: usize) -> Result<Opened, ConnectError> {
    let cmap_h = cmap::initialize(cmap::Map::Icmap).map_err(unavailable("cmap"))?;
    let facts = info::read(&cmap_h);
    let cpg_h = cpg::initialize(&driver::cpg_model(), 0).map_err(unavailable("CPG"))?;
    let local_id: u32 = cpg::local_get(&cpg_h)
        .map_err(call("cpg_local_get"))?
        .into();
    let atomic = cpg::max_atomic_msgsize_get(&cpg_h).map_err(call("cpg_max_atomic_msgsize_get"))?;
    let (quorum_h, _) =
        quorum::initialize(&driver::quorum_model(), 0).map_err(unavailable("quorum"))?;
    let vq = votequorum::initialize(&votequorum::Callbacks {
        quorum_notification_fn: None,
        nodelist_notification_fn: None,
        expectedvotes_notification_fn: None,
    })
    .map_err(unavailable("votequorum"))?;
    let local_name = facts
        .nodes
        .iter()
        .find(|n| n.node_id == local_id)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| local_id.to_string());
    Ok(Opened {
        info: ClusterInfo {
            cluster_name: facts.cluster_name,
            local: LocalNode {
                node_id: local_id,
                name: local_name,
                pid: std::process::id(),
            },
            nodes: facts.nodes,
            token_ms: facts.token_ms,
            consensus_ms: facts.consensus_ms,
            max_atomic_bytes: atomic as usize,
            chunk_bytes: chunk_bytes.clamp(chunk::HEADER_BYTES + 1, atomic as usize),
            limits,
        },
        cpg: cpg_h,
        cmap: cmap_h,
        quorum: quorum_h,
        votequorum: vq,
    })
}

/// Runs a blocking corosync call on a blocking thread, retrying while
/// corosync answers TRY_AGAIN, for at most `timeout_ms`.
async fn retrying<T: Send + 'static>(
    name: &'static str,
    timeout_ms: u64,
    f: impl Fn() -> Result<T, CsError> + Send + Sync + 'static,
) -> Result<T, ConnectError> {
    let f = Arc::new(f);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
    let mut wait = Duration::from_millis(10);
    loop {
        let g = f.clone();
        match tokio::task::spawn_blocking(move || g()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(CsError::CsErrTryAgain)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(500));
            }
            Ok(Err(CsError::CsErrTryAgain)) => {
                return Err(ConnectError::Busy {
                    call: name,
                    timeout_ms,
                })
            }
            Ok(Err(error)) => return Err(ConnectError::Call { call: name, error }),
            Err(e) => return Err(ConnectError::Task(e.to_string())),
        }
    }
}

/// Connects to the local corosync, joins `config.group` and starts the
/// tasks. Must run inside a tokio runtime. The first events are this
/// process's own join (a `View`) and the current `Quorum`.
pub async fn connect(
    config: CorosyncConfig,
) -> Result<(TransportHandle, mpsc::Receiver<TransportEvent>), ConnectError> {
    if config.group.is_empty() || config.group.len() > 127 {
        return Err(ConnectError::BadGroup(config.group));
    }
    let (limits, chunk_bytes) = (config.limits, config.chunk_bytes);
    let opened = tokio::task::spawn_blocking(move || open(limits, chunk_bytes))
        .await
        .map_err(|e| ConnectError::Task(e.to_string()))??;
    let Opened {
        cpg: cpg_h,
        cmap: cmap_h,
        quorum: quorum_h,
        votequorum: vq,
        info,
    } = opened;
    // Tracking first, so the current quorum is the first notification.
    let q = quorum_h.clone();
    retrying("quorum_trackstart", config.connect_timeout_ms, move || {
        quorum::trackstart(&q, TrackFlags::Changes)
    })
    .await?;
    let (c, group) = (cpg_h.clone(), config.group.clone());
    retrying("cpg_join", config.connect_timeout_ms, move || {
        cpg::join(&c, &group)
    })
    .await?;
    tracing::info!(
        group = %config.group,
        node = %info.local.name,
        node_id = info.local.node_id,
        cluster = ?info.cluster_name,
        max_atomic_bytes = info.max_atomic_bytes,
        "joined the CPG group"
    );

    let info = Arc::new(info);
    let (events_tx, events_rx) = mpsc::channel(config.event_queue.max(1));
    let (out_tx, out_rx) = mpsc::channel(config.send_queue.max(1));
    let (q_tx, q_rx) = mpsc::channel(16);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(driver::run_quorum(driver::QuorumParts {
        quorum: quorum_h,
        votequorum: vq,
        local_node_id: info.local.node_id,
        to_cpg: q_tx,
        stop: stop_rx,
    }));
    tokio::spawn(driver::run_cpg(driver::CpgParts {
        cpg: cpg_h,
        group: config.group,
        cmap: cmap_h,
        info: info.clone(),
        events: events_tx,
        outgoing: out_rx,
        quorum_rx: q_rx,
        stop: stop_tx,
        instance: rand::random(),
    }));
    Ok((
        TransportHandle {
            tx: out_tx,
            info,
            compress: true,
        },
        events_rx,
    ))
}
