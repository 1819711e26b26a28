//! The tasks that own the corosync connections: one for CPG (views, ring,
//! messages, sending) and one for quorum.
//!
//! Invariant: no call that can block runs on the runtime. The only
//! corosync calls made here are the non-blocking ones: dispatch of one
//! ready callback (`CS_DISPATCH_ONE_NONBLOCKING`) when the library's file
//! descriptor is readable, and `cpg_mcast_joined` of one chunk, which
//! writes into the IPC ring or answers TRY_AGAIN. Everything that waits
//! for corosync's reply (join, leave, votequorum info, cmap) runs on a
//! blocking thread. Only the CPG task writes to the event channel, so
//! `Lost` is really the last event.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rust_corosync::{cmap, cpg, quorum, votequorum, CsError, DispatchFlags, NodeId};
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::chunk::{Encoded, Outbox, Reassembler, Source, Step};
use super::transport::{
    Change, ClusterInfo, Lost, Member, Outgoing, Quorum, Reason, Ring, RingId, TransportEvent, View,
};

/// Callbacks dispatched per wake-up before the other work gets a turn.
const DISPATCH_BATCH: usize = 256;
/// Events decoded but not yet taken by the daemon; corosync is not read
/// while this many wait (it then queues for us, and pushes back on
/// senders through totem flow control).
const PENDING_MAX: usize = 256;
/// Chunks sent per turn of the loop before reading again.
const SEND_BATCH: usize = 16;
/// Waits after TRY_AGAIN: 1 ms while corosync's queue drains (a few
/// milliseconds under load), growing after `TRY_AGAIN_PATIENCE` answers in
/// a row (a membership change being synchronised takes seconds) up to
/// `TRY_AGAIN_MAX`.
const TRY_AGAIN_FIRST: Duration = Duration::from_millis(1);
const TRY_AGAIN_PATIENCE: u32 = 16;
const TRY_AGAIN_MAX: Duration = Duration::from_millis(20);
/// Messages above this are decompressed on a blocking thread.
const DECOMPRESS_INLINE_MAX_BYTES: usize = 1 << 20;

/// A file descriptor owned by a corosync library; borrowed, never closed
/// here. The `AsyncFd` around it is dropped before the library handle is
/// finalized (which closes it).
pub(crate) struct LibFd(pub RawFd);

impl AsRawFd for LibFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Registers a library's descriptor with the runtime, for readability.
fn poll_fd(fd: RawFd) -> Result<AsyncFd<LibFd>, String> {
    // SAFETY: the descriptor belongs to a corosync library handle that
    // outlives the AsyncFd: the tasks drop the AsyncFd before finalizing the
    // handle, and libqb closes the descriptor only in finalize (a dead peer
    // leaves it open and readable, which is how the loss is noticed).
    unsafe { AsyncFd::register_with_interest(LibFd(fd), tokio::io::Interest::READABLE) }
        .map_err(|e| e.to_string())
}

/// A CPG callback, copied out of the library's buffers.
enum RawCpg {
    Deliver {
        source: Source,
        data: Vec<u8>,
    },
    Confchg {
        members: Vec<(u32, u32)>,
        left: Vec<(u32, u32, Reason)>,
        joined: Vec<(u32, u32, Reason)>,
    },
    Totem {
        ring_id: RingId,
        nodes: Vec<u32>,
    },
}

struct RawQuorum {
    quorate: bool,
    ring_id: RingId,
    nodes: Vec<u32>,
}

// The libraries call plain functions, under their own lock, from inside
// `dispatch`. Dispatch runs on the calling thread, so the callbacks only
// append to a thread-local list that the caller takes right after: no
// global registry, no channel in the callback.
thread_local! {
    static CPG_SINK: RefCell<Vec<RawCpg>> = const { RefCell::new(Vec::new()) };
    static QUORUM_SINK: RefCell<Vec<RawQuorum>> = const { RefCell::new(Vec::new()) };
}

fn reason(r: cpg::Reason) -> Reason {
    match r {
        cpg::Reason::Join => Reason::Join,
        cpg::Reason::Leave => Reason::Leave,
        cpg::Reason::NodeDown => Reason::NodeDown,
        cpg::Reason::NodeUp => Reason::NodeUp,
        cpg::Reason::ProcDown => Reason::ProcDown,
        cpg::Reason::Undefined => Reason::Other,
    }
}

fn on_deliver(_: &cpg::Handle, _: String, node: NodeId, pid: u32, msg: &[u8], _: usize) {
    CPG_SINK.with(|s| {
        s.borrow_mut().push(RawCpg::Deliver {
            source: Source {
                node_id: node.into(),
                pid,
            },
            data: msg.to_vec(),
        })
    });
}

fn on_confchg(
    _: &cpg::Handle,
    _: &str,
    members: Vec<cpg::Address>,
    left: Vec<cpg::Address>,
    joined: Vec<cpg::Address>,
) {
    let changes = |v: Vec<cpg::Address>| {
        v.into_iter()
            .map(|a| (a.nodeid.into(), a.pid, reason(a.reason)))
            .collect()
    };
    CPG_SINK.with(|s| {
        s.borrow_mut().push(RawCpg::Confchg {
            members: members
                .into_iter()
                .map(|a| (a.nodeid.into(), a.pid))
                .collect(),
            left: changes(left),
            joined: changes(joined),
        })
    });
}

fn on_totem(_: &cpg::Handle, ring: cpg::RingId, nodes: Vec<NodeId>) {
    CPG_SINK.with(|s| {
        s.borrow_mut().push(RawCpg::Totem {
            ring_id: RingId {
                node_id: ring.nodeid.into(),
                seq: ring.seq,
            },
            nodes: nodes.into_iter().map(u32::from).collect(),
        })
    });
}

fn on_quorum(_: &quorum::Handle, quorate: bool, ring: quorum::RingId, nodes: Vec<NodeId>) {
    QUORUM_SINK.with(|s| {
        s.borrow_mut().push(RawQuorum {
            quorate,
            ring_id: RingId {
                node_id: ring.nodeid.into(),
                seq: ring.seq,
            },
            nodes: nodes.into_iter().map(u32::from).collect(),
        })
    });
}

pub(crate) fn cpg_model() -> cpg::ModelData {
    cpg::ModelData::ModelV1(cpg::Model1Data {
        flags: cpg::Model1Flags::None,
        deliver_fn: Some(on_deliver),
        confchg_fn: Some(on_confchg),
        totem_confchg_fn: Some(on_totem),
    })
}

pub(crate) fn quorum_model() -> quorum::ModelData {
    quorum::ModelData::ModelV1(quorum::Model1Data {
        flags: quorum::Model1Flags::None,
        quorum_notification_fn: Some(on_quorum),
        nodelist_notification_fn: None,
    })
}

/// Dispatches up to `DISPATCH_BATCH` ready callbacks. Returns what they
/// reported and whether the library had nothing more (TRY_AGAIN).
fn drain<T>(
    dispatch: impl Fn() -> Result<(), CsError>,
    sink: &'static std::thread::LocalKey<RefCell<Vec<T>>>,
) -> Result<(Vec<T>, bool), CsError> {
    sink.with(|s| s.borrow_mut().clear());
    let mut drained = false;
    for _ in 0..DISPATCH_BATCH {
        match dispatch() {
            Ok(()) => {}
            Err(CsError::CsErrTryAgain) => {
                drained = true;
                break;
            }
            Err(e) => {
                sink.with(|s| s.borrow_mut().clear());
                return Err(e);
            }
        }
    }
    Ok((sink.with(|s| std::mem::take(&mut *s.borrow_mut())), drained))
}

/// Everything the CPG task owns.
pub(crate) struct CpgParts {
    pub cpg: cpg::Handle,
    pub group: String,
    pub cmap: cmap::Handle,
    pub info: Arc<ClusterInfo>,
    pub events: mpsc::Sender<TransportEvent>,
    pub outgoing: mpsc::Receiver<Outgoing>,
    pub quorum_rx: mpsc::Receiver<Result<Quorum, Lost>>,
    pub stop: watch::Sender<bool>,
    pub instance: u64,
}

struct CpgTask {
    cpg: cpg::Handle,
    group: String,
    cmap: cmap::Handle,
    names: BTreeMap<u32, String>,
    unknown_names: BTreeSet<u32>,
    events: mpsc::Sender<TransportEvent>,
    pending: VecDeque<TransportEvent>,
    outgoing: mpsc::Receiver<Outgoing>,
    outgoing_closed: bool,
    quorum_rx: mpsc::Receiver<Result<Quorum, Lost>>,
    quorum_closed: bool,
    reasm: Reassembler,
    outbox: Outbox,
    leave_acks: Vec<oneshot::Sender<()>>,
    retry_at: Option<Instant>,
    backoff: Duration,
    try_again_in_a_row: u32,
}

enum Wake<'a> {
    Continue,
    Leave,
    Lost(String),
    Readable(std::io::Result<tokio::io::unix::AsyncFdReadyGuard<'a, LibFd>>),
    Outgoing(Option<Outgoing>),
}

enum Flow {
    Continue,
    /// Leave the group and stop (the daemon asked, or dropped us).
    Leave,
    Lost(String),
}

pub(crate) async fn run_cpg(parts: CpgParts) {
    let fd_num = match cpg::fd_get(&parts.cpg) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = parts
                .events
                .send(TransportEvent::Lost(Lost {
                    reason: format!("cpg_fd_get failed: {e}"),
                }))
                .await;
            let _ = parts.stop.send(true);
            return;
        }
    };
    let fd = match poll_fd(fd_num) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = parts
                .events
                .send(TransportEvent::Lost(Lost {
                    reason: format!("cannot poll the CPG descriptor: {e}"),
                }))
                .await;
            let _ = parts.stop.send(true);
            return;
        }
    };
    let stop = parts.stop;
    let mut task = CpgTask {
        names: parts
            .info
            .nodes
            .iter()
            .map(|n| (n.node_id, n.name.clone()))
            .collect(),
        unknown_names: BTreeSet::new(),
        cpg: parts.cpg,
        group: parts.group,
        cmap: parts.cmap,
        reasm: Reassembler::new(parts.info.limits),
        events: parts.events,
        pending: VecDeque::new(),
        outgoing: parts.outgoing,
        outgoing_closed: false,
        quorum_rx: parts.quorum_rx,
        quorum_closed: false,
        outbox: Outbox::new(parts.instance, parts.info.chunk_bytes),
        leave_acks: Vec::new(),
        retry_at: None,
        backoff: TRY_AGAIN_FIRST,
        try_again_in_a_row: 0,
    };
    let flow = task.run(&fd).await;
    // The descriptor belongs to the library: stop polling it before the
    // handle is finalized (which closes it).
    drop(fd);
    let _ = stop.send(true);
    match flow {
        Flow::Lost(reason) => {
            tracing::error!(%reason, "lost the connection to corosync");
            task.flush_then(TransportEvent::Lost(Lost { reason })).await;
        }
        Flow::Leave | Flow::Continue => {
            let cpg = task.cpg.clone();
            let group = task.group.clone();
            match tokio::task::spawn_blocking(move || cpg::leave(&cpg, &group)).await {
                Ok(Ok(())) => tracing::info!(group = %task.group, "left the CPG group"),
                Ok(Err(e)) => tracing::warn!(group = %task.group, error = %e, "cpg_leave failed"),
                Err(e) => tracing::warn!(error = %e, "cpg_leave task failed"),
            }
        }
    }
    for ack in task.leave_acks.drain(..) {
        let _ = ack.send(());
    }
    // Finalizing waits for corosync's answer: not on the runtime.
    let CpgTask { cpg, cmap, .. } = task;
    let _ = tokio::task::spawn_blocking(move || {
        drop(cpg);
        drop(cmap);
    })
    .await;
}

impl CpgTask {
    async fn run(&mut self, fd: &AsyncFd<LibFd>) -> Flow {
        loop {
            match self.send_some() {
                Flow::Continue => {}
                Flow::Leave => {
                    self.flush().await;
                    return Flow::Leave;
                }
                lost @ Flow::Lost(_) => return lost,
            }
            if self.outgoing_closed && self.outbox.is_idle() {
                self.flush().await;
                return Flow::Leave;
            }
            let can_send = self.outbox.next_chunk_ready() && self.retry_at.is_none();
            let take_next = self.outbox.is_idle() && !self.outgoing_closed;
            let retry_at = self.retry_at;
            // Each branch only borrows its own field; the work that needs
            // the whole task happens after the select.
            let wake = tokio::select! {
                biased;
                ready = fd.readable(), if self.pending.len() < PENDING_MAX => Wake::Readable(ready),
                permit = self.events.reserve(), if !self.pending.is_empty() => match permit {
                    Ok(p) => {
                        p.send(self.pending.pop_front().expect("pending event"));
                        // Then as many as fit without waiting.
                        while let Some(ev) = self.pending.pop_front() {
                            if let Err(e) = self.events.try_send(ev) {
                                self.pending.push_front(e.into_inner());
                                break;
                            }
                        }
                        Wake::Continue
                    }
                    // Nobody listens any more: leave.
                    Err(_) => Wake::Leave,
                },
                q = self.quorum_rx.recv(), if !self.quorum_closed => match q {
                    Some(Ok(q)) => {
                        self.pending.push_back(TransportEvent::Quorum(q));
                        Wake::Continue
                    }
                    Some(Err(lost)) => Wake::Lost(lost.reason),
                    None => {
                        self.quorum_closed = true;
                        Wake::Continue
                    }
                },
                _ = std::future::ready(()), if can_send => Wake::Continue,
                _ = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                    self.retry_at = None;
                    Wake::Continue
                }
                out = self.outgoing.recv(), if take_next => Wake::Outgoing(out),
            };
            let flow = match wake {
                Wake::Continue => Flow::Continue,
                Wake::Leave => Flow::Leave,
                Wake::Lost(r) => Flow::Lost(r),
                Wake::Outgoing(Some(Outgoing::Message(msg))) => {
                    self.start(msg);
                    Flow::Continue
                }
                Wake::Outgoing(Some(Outgoing::Leave(ack))) => {
                    self.leave_acks.push(ack);
                    Flow::Leave
                }
                Wake::Outgoing(None) => {
                    self.outgoing_closed = true;
                    Flow::Continue
                }
                Wake::Readable(Err(e)) => {
                    Flow::Lost(format!("polling the CPG descriptor failed: {e}"))
                }
                Wake::Readable(Ok(mut guard)) => {
                    let closed = guard.ready().is_read_closed();
                    let cpg = &self.cpg;
                    match drain(
                        || cpg::dispatch(cpg, DispatchFlags::OneNonblocking),
                        &CPG_SINK,
                    ) {
                        Err(e) => Flow::Lost(format!(
                            "CPG dispatch failed: {e} (corosync stopped or crashed)"
                        )),
                        Ok((raws, drained)) => {
                            if drained {
                                guard.clear_ready();
                            }
                            drop(guard);
                            if drained && closed && raws.is_empty() {
                                Flow::Lost("corosync closed the CPG connection".into())
                            } else {
                                self.handle_raw(raws).await
                            }
                        }
                    }
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::Leave => {
                    // What was decoded still goes out before we go.
                    self.flush().await;
                    return Flow::Leave;
                }
                lost @ Flow::Lost(_) => return lost,
            }
        }
    }

    /// Hands every pending event to the daemon (while it listens).
    async fn flush(&mut self) {
        while let Some(ev) = self.pending.pop_front() {
            if self.events.send(ev).await.is_err() {
                return;
            }
        }
    }

    async fn flush_then(&mut self, last: TransportEvent) {
        self.flush().await;
        let _ = self.events.send(last).await;
    }

    fn start(&mut self, msg: Encoded) {
        self.outbox.start(msg);
    }

    /// Sends up to `SEND_BATCH` chunks, taking the next queued messages
    /// as the outbox frees up: sending keeps pace with reading, which has
    /// the first branch of the loop's select.
    fn send_some(&mut self) -> Flow {
        if self.retry_at.is_some() {
            return Flow::Continue;
        }
        for _ in 0..SEND_BATCH {
            if self.outbox.is_idle() && !self.outgoing_closed {
                match self.outgoing.try_recv() {
                    Ok(Outgoing::Message(msg)) => self.start(msg),
                    Ok(Outgoing::Leave(ack)) => {
                        self.leave_acks.push(ack);
                        return Flow::Leave;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => {}
                    Err(mpsc::error::TryRecvError::Disconnected) => self.outgoing_closed = true,
                }
            }
            let Some(frame) = self.outbox.next_chunk() else {
                break;
            };
            match cpg::mcast_joined(&self.cpg, cpg::Guarantee::TypeAgreed, &frame) {
                Ok(()) => {
                    self.outbox.sent();
                    self.backoff = TRY_AGAIN_FIRST;
                    self.try_again_in_a_row = 0;
                }
                Err(CsError::CsErrTryAgain) => {
                    // corosync's queue is full or a membership change is
                    // being synchronised: wait, without spinning.
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.try_again_in_a_row += 1;
                    if self.try_again_in_a_row >= TRY_AGAIN_PATIENCE {
                        self.backoff = (self.backoff * 2).min(TRY_AGAIN_MAX);
                    }
                    return Flow::Continue;
                }
                Err(e) => {
                    return Flow::Lost(format!(
                        "cpg_mcast_joined failed: {e} (corosync stopped or crashed)"
                    ))
                }
            }
        }
        Flow::Continue
    }

    fn name_of(&mut self, node_id: u32) -> String {
        self.names
            .get(&node_id)
            .cloned()
            .unwrap_or_else(|| node_id.to_string())
    }

    /// Re-reads the nodelist when a view names a node it does not have
    /// (added to corosync.conf and reloaded since we started).
    async fn learn_names(&mut self, ids: impl Iterator<Item = u32>) {
        let missing: Vec<u32> = ids
            .filter(|id| !self.names.contains_key(id) && !self.unknown_names.contains(id))
            .collect();
        if missing.is_empty() {
            return;
        }
        let cmap_h = self.cmap.clone();
        if let Ok(facts) = tokio::task::spawn_blocking(move || super::info::read(&cmap_h)).await {
            for n in facts.nodes {
                self.names.insert(n.node_id, n.name);
            }
        }
        for id in missing {
            if !self.names.contains_key(&id) {
                tracing::warn!(node_id = id, "node is not in corosync's nodelist");
                self.unknown_names.insert(id);
            }
        }
    }

    async fn handle_raw(&mut self, raws: Vec<RawCpg>) -> Flow {
        for raw in raws {
            match raw {
                RawCpg::Deliver { source, data } => match self.reasm.push(source, &data) {
                    Step::Pending | Step::Stray => {}
                    Step::Deliver(c) => {
                        self.outbox.delivered(&c);
                        let plain_len = c.payload.plain_len;
                        let decoded = if plain_len > DECOMPRESS_INLINE_MAX_BYTES {
                            tokio::task::spawn_blocking(move || c.payload.decode())
                                .await
                                .unwrap_or_else(|e| Err(format!("decompression task: {e}")))
                        } else {
                            c.payload.decode()
                        };
                        self.pending.push_back(match decoded {
                            Ok(bytes) => TransportEvent::Message {
                                from: source.node_id,
                                pid: source.pid,
                                bytes,
                            },
                            Err(reason) => {
                                tracing::error!(from = source.node_id, %reason, "discarding a message");
                                TransportEvent::Discarded {
                                    from: source.node_id,
                                    pid: source.pid,
                                    reason,
                                }
                            }
                        });
                    }
                    Step::Discard { from, reason } => {
                        tracing::error!(from = from.node_id, pid = from.pid, %reason, "discarding a message");
                        self.pending.push_back(TransportEvent::Discarded {
                            from: from.node_id,
                            pid: from.pid,
                            reason,
                        });
                    }
                    Step::Overflow { buffered, limit } => {
                        return Flow::Lost(format!(
                            "partial messages would need {buffered} bytes, over the reassembly limit of {limit}: this node cannot follow the cluster's message stream"
                        ));
                    }
                },
                RawCpg::Confchg {
                    members,
                    left,
                    joined,
                } => {
                    let ids = members
                        .iter()
                        .map(|m| m.0)
                        .chain(joined.iter().map(|j| j.0))
                        .collect::<Vec<_>>();
                    self.learn_names(ids.into_iter()).await;
                    let before = self.outbox.resends();
                    if let Err(reason) = self.outbox.aborted(&self.reasm.view_changed()) {
                        return Flow::Lost(reason);
                    }
                    if self.outbox.resends() > before {
                        tracing::debug!("a view change cut a chunked message: sending it again");
                    }
                    let view = View {
                        members: members
                            .into_iter()
                            .map(|(node_id, pid)| Member {
                                name: self.name_of(node_id),
                                node_id,
                                pid,
                            })
                            .collect(),
                        joined: joined
                            .into_iter()
                            .map(|(node_id, pid, reason)| Change {
                                name: self.name_of(node_id),
                                node_id,
                                pid,
                                reason,
                            })
                            .collect(),
                        left: left
                            .into_iter()
                            .map(|(node_id, pid, reason)| Change {
                                name: self.name_of(node_id),
                                node_id,
                                pid,
                                reason,
                            })
                            .collect(),
                    };
                    tracing::info!(
                        members = ?view.members.iter().map(|m| &m.name).collect::<Vec<_>>(),
                        joined = view.joined.len(),
                        left = view.left.len(),
                        "CPG view"
                    );
                    self.pending.push_back(TransportEvent::View(view));
                }
                RawCpg::Totem { ring_id, nodes } => {
                    tracing::info!(ring = ?ring_id, ?nodes, "totem ring");
                    self.pending
                        .push_back(TransportEvent::Ring(Ring { ring_id, nodes }));
                }
            }
        }
        Flow::Continue
    }
}

/// Everything the quorum task owns.
pub(crate) struct QuorumParts {
    pub quorum: quorum::Handle,
    pub votequorum: votequorum::Handle,
    pub local_node_id: u32,
    pub to_cpg: mpsc::Sender<Result<Quorum, Lost>>,
    pub stop: watch::Receiver<bool>,
}

/// What votequorum says about this node: expected votes, quorum, flags.
pub(crate) fn quorum_details(
    vq: &votequorum::Handle,
    local: u32,
) -> Result<(u32, u32, bool, bool), CsError> {
    let info = votequorum::get_info(vq, NodeId::from(local))?;
    Ok((
        info.node_expected_votes,
        info.quorum,
        info.flags
            .contains(votequorum::NodeInfoFlags::VOTEQUORUM_INFO_TWONODE),
        info.flags
            .contains(votequorum::NodeInfoFlags::VOTEQUORUM_INFO_WAIT_FOR_ALL),
    ))
}

pub(crate) async fn run_quorum(mut parts: QuorumParts) {
    let lost = |reason: String| Err(Lost { reason });
    let result: Result<(), Lost> = async {
        let fd_num = quorum::fd_get(&parts.quorum)
            .map_err(|e| Lost { reason: format!("quorum_fd_get failed: {e}") })?;
        let fd = poll_fd(fd_num)
            .map_err(|e| Lost { reason: format!("cannot poll the quorum descriptor: {e}") })?;
        loop {
            let mut guard = tokio::select! {
                g = fd.readable() => g.map_err(|e| Lost { reason: format!("polling the quorum descriptor failed: {e}") })?,
                _ = parts.stop.changed() => return Ok(()),
            };
            let closed = guard.ready().is_read_closed();
            let q = &parts.quorum;
            let (raws, drained) = drain(|| quorum::dispatch(q, DispatchFlags::OneNonblocking), &QUORUM_SINK)
                .map_err(|e| Lost { reason: format!("quorum dispatch failed: {e} (corosync stopped or crashed)") })?;
            if drained {
                guard.clear_ready();
            }
            drop(guard);
            if drained && closed && raws.is_empty() {
                return lost("corosync closed the quorum connection".into());
            }
            for raw in raws {
                let vq = parts.votequorum.clone();
                let local = parts.local_node_id;
                let details = tokio::task::spawn_blocking(move || quorum_details(&vq, local))
                    .await
                    .map_err(|e| Lost { reason: format!("votequorum task failed: {e}") })?
                    .map_err(|e| Lost { reason: format!("votequorum_getinfo failed: {e}") })?;
                let (expected_votes, quorum_votes, two_node, wait_for_all) = details;
                let q = Quorum {
                    quorate: raw.quorate,
                    ring_id: raw.ring_id,
                    nodes: raw.nodes,
                    expected_votes,
                    quorum_votes,
                    two_node,
                    wait_for_all,
                };
                tracing::info!(quorate = q.quorate, nodes = ?q.nodes, expected = q.expected_votes, "quorum");
                if parts.to_cpg.send(Ok(q)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    .await;
    if let Err(l) = result {
        let _ = parts.to_cpg.send(Err(l)).await;
    }
    let QuorumParts {
        quorum, votequorum, ..
    } = parts;
    let _ = tokio::task::spawn_blocking(move || {
        drop(quorum);
        drop(votequorum);
    })
    .await;
}
