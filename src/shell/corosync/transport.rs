//! The transport interface the daemon sees, whatever carries it (corosync
//! or the standalone single node): membership views, quorum, totally
//! ordered opaque messages in; broadcasts out.
//!
//! Invariant: this interface knows nothing of what the messages mean (they
//! are bytes) and nothing of the cluster core; it only promises corosync's
//! ordering semantics, stated on [`TransportEvent`].

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::chunk::{Encoded, Limits};

/// A corosync ring id: the node that formed the ring and a sequence number
/// that grows with every membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct RingId {
    pub node_id: u32,
    pub seq: u64,
}

/// Why a process joined or left the group, as CPG says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Reason {
    /// The process joined the group.
    Join,
    /// The process left the group on purpose.
    Leave,
    /// Its node left the membership (crash, partition, shutdown).
    NodeDown,
    /// Its node (re)joined the membership, with the process already in the
    /// group there (a partition healing).
    NodeUp,
    /// The process died or closed its connection to corosync.
    ProcDown,
    /// Anything else corosync may report.
    Other,
}

/// One process of the group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub node_id: u32,
    /// The node's name: `nodelist.node.N.name` in corosync.conf, else its
    /// `ring0_addr`, else the node id in decimal.
    pub name: String,
    pub pid: u32,
}

/// A process that joined or left, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub node_id: u32,
    pub name: String,
    pub pid: u32,
    pub reason: Reason,
}

/// The group's membership after a change (CPG confchg).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct View {
    /// Every process in the group now, this one included, in corosync's
    /// order (by node id, then join order).
    pub members: Vec<Member>,
    pub joined: Vec<Change>,
    pub left: Vec<Change>,
}

/// The totem ring (node membership) after a change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ring {
    pub ring_id: RingId,
    /// Node ids in the ring, whether or not warden runs there.
    pub nodes: Vec<u32>,
}

/// Quorum as votequorum computes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quorum {
    pub quorate: bool,
    pub ring_id: RingId,
    /// Node ids in the membership that quorum counted.
    pub nodes: Vec<u32>,
    /// Expected votes (from corosync.conf, or as last_man_standing lowered it).
    pub expected_votes: u32,
    /// Votes needed for quorum.
    pub quorum_votes: u32,
    /// `quorum.two_node`: both halves of a 1|1 split stay quorate, so only
    /// fencing keeps them apart.
    pub two_node: bool,
    /// `quorum.wait_for_all`: not quorate at start until every node was seen.
    pub wait_for_all: bool,
}

/// Why the transport is gone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lost {
    pub reason: String,
}

/// What the transport reports, on one channel.
///
/// Ordering: `View`, `Ring` and `Message` come from one ordered stream and
/// every member of a view sees the same views and messages in the same
/// order (virtual synchrony); after a membership change corosync reports
/// the `View`s first and the `Ring` after them. A message is delivered in
/// one view to every member of that view, or to none. `Quorum` comes from
/// a separate corosync service and is not ordered against the others. After
/// `Lost`, nothing more comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    View(View),
    Ring(Ring),
    Quorum(Quorum),
    /// A broadcast, this process's own included, at its place in the order.
    Message {
        from: u32,
        pid: u32,
        bytes: Vec<u8>,
    },
    /// A message every member discarded, malformed or over the limits. The
    /// stream stays consistent (every member dropped it), but the sender
    /// will not know; it is a bug or a configuration mismatch.
    Discarded {
        from: u32,
        pid: u32,
        reason: String,
    },
    Lost(Lost),
}

/// This node, as the transport knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalNode {
    pub node_id: u32,
    pub name: String,
    pub pid: u32,
}

/// One node of corosync's nodelist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeEntry {
    pub node_id: u32,
    /// `name`, else `ring0_addr`, else the node id.
    pub name: String,
    pub ring0_addr: Option<String>,
}

/// What the transport learned when it started.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClusterInfo {
    /// `totem.cluster_name`.
    pub cluster_name: Option<String>,
    pub local: LocalNode,
    pub nodes: Vec<NodeEntry>,
    /// `runtime.config.totem.token`: the effective token timeout.
    pub token_ms: Option<u32>,
    /// `runtime.config.totem.consensus`.
    pub consensus_ms: Option<u32>,
    /// Largest CPG message corosync sends without library fragmentation.
    pub max_atomic_bytes: usize,
    /// Size of the chunks big messages are cut into (at most the above).
    pub chunk_bytes: usize,
    pub limits: Limits,
}

/// Why a broadcast was not sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BroadcastError {
    #[error("message of {bytes} bytes is over the limit of {limit} bytes")]
    TooBig { bytes: usize, limit: usize },
    #[error("the cluster transport is gone: {0}")]
    Lost(String),
}

pub(crate) enum Outgoing {
    Message(Encoded),
    /// Leave the group on purpose (peers see `Leave`, not `ProcDown`).
    Leave(oneshot::Sender<()>),
}

/// The sending side, cheap to clone. Dropping every handle leaves the
/// group once what was queued is sent.
#[derive(Clone)]
pub struct TransportHandle {
    pub(crate) tx: mpsc::Sender<Outgoing>,
    pub(crate) info: Arc<ClusterInfo>,
    /// Whether payloads are compressed before queueing (corosync), or
    /// handed over as they are (standalone).
    pub(crate) compress: bool,
}

/// Payloads above this are compressed on a blocking thread, not on the
/// runtime.
const COMPRESS_INLINE_MAX_BYTES: usize = 256 << 10;

impl TransportHandle {
    pub fn info(&self) -> &ClusterInfo {
        &self.info
    }

    /// Queues `bytes` for a totally ordered broadcast to the group (this
    /// process included). Returns once queued, in call order; waits when the
    /// queue is full (corosync pushing back). Whether and where it is
    /// delivered shows in the event stream.
    pub async fn broadcast(&self, bytes: Vec<u8>) -> Result<(), BroadcastError> {
        let limit = self.info.limits.max_message_bytes;
        if bytes.len() > limit {
            return Err(BroadcastError::TooBig {
                bytes: bytes.len(),
                limit,
            });
        }
        let encoded = if !self.compress {
            Encoded {
                compressed: false,
                plain_len: bytes.len(),
                data: bytes,
            }
        } else if bytes.len() <= COMPRESS_INLINE_MAX_BYTES {
            Encoded::new(bytes)
        } else {
            tokio::task::spawn_blocking(move || Encoded::new(bytes))
                .await
                .map_err(|e| BroadcastError::Lost(format!("compression task failed: {e}")))?
        };
        self.tx
            .send(Outgoing::Message(encoded))
            .await
            .map_err(|_| BroadcastError::Lost("the transport has stopped".into()))
    }

    /// Leaves the group after what is queued was sent; peers see this
    /// process leave with reason `Leave`. The event stream ends after it.
    pub async fn leave(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Outgoing::Leave(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
