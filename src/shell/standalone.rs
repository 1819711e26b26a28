//! A single-node transport with no corosync: one member (this node),
//! always quorate, every broadcast delivered back to this process in the
//! order it was sent. For one-box supervision, development and
//! `warden daemon --standalone`.
//!
//! Invariant: it offers exactly the interface and the ordering promises of
//! the corosync transport ([`TransportHandle`] and [`TransportEvent`]), so
//! the daemon cannot tell the two apart except by the membership it sees.
//! It never touches the network and never pretends a second node exists.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::shell::corosync::transport::Outgoing;
use crate::shell::corosync::{
    Change, ClusterInfo, Limits, LocalNode, Member, NodeEntry, Quorum, Reason, Ring, RingId,
    TransportEvent, TransportHandle, View,
};

/// The single node.
#[derive(Debug, Clone)]
pub struct StandaloneConfig {
    pub node_name: String,
    pub node_id: u32,
    pub limits: Limits,
    /// Broadcasts queued before `broadcast` waits.
    pub send_queue: usize,
}

impl StandaloneConfig {
    /// Node 1, named after this host (`uname -n`, as corosync and
    /// Pacemaker name a node by default).
    pub fn for_this_host() -> StandaloneConfig {
        let node_name = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        StandaloneConfig {
            node_name,
            node_id: 1,
            limits: Limits::default(),
            send_queue: 1024,
        }
    }
}

/// The ring id of the standalone "cluster": formed by this node, once.
fn ring_id(node_id: u32) -> RingId {
    RingId { node_id, seq: 1 }
}

/// Starts the transport. Must run inside a tokio runtime. The first events
/// are this process's join (`View`), the `Ring` and a quorate `Quorum`;
/// then each broadcast comes back as a `Message`, in order.
pub fn start(config: StandaloneConfig) -> (TransportHandle, mpsc::Receiver<TransportEvent>) {
    let local = LocalNode {
        node_id: config.node_id,
        name: config.node_name.clone(),
        pid: std::process::id(),
    };
    let info = Arc::new(ClusterInfo {
        cluster_name: None,
        local: local.clone(),
        nodes: vec![NodeEntry {
            node_id: config.node_id,
            name: config.node_name.clone(),
            ring0_addr: None,
        }],
        token_ms: None,
        consensus_ms: None,
        max_atomic_bytes: config.limits.max_message_bytes,
        chunk_bytes: config.limits.max_message_bytes,
        limits: config.limits,
    });
    let (out_tx, out_rx) = mpsc::channel(config.send_queue.max(1));
    // Only a few events wait at once: the task holds the rest itself, so
    // a daemon that broadcasts while it is not reading never deadlocks.
    let (ev_tx, ev_rx) = mpsc::channel(64);
    tokio::spawn(run(local, out_rx, ev_tx));
    (
        TransportHandle {
            tx: out_tx,
            info,
            compress: false,
        },
        ev_rx,
    )
}

fn first_events(local: &LocalNode) -> Vec<TransportEvent> {
    let me = Member {
        node_id: local.node_id,
        name: local.name.clone(),
        pid: local.pid,
    };
    vec![
        TransportEvent::View(View {
            members: vec![me],
            joined: vec![Change {
                node_id: local.node_id,
                name: local.name.clone(),
                pid: local.pid,
                reason: Reason::Join,
            }],
            left: vec![],
        }),
        TransportEvent::Ring(Ring {
            ring_id: ring_id(local.node_id),
            nodes: vec![local.node_id],
        }),
        TransportEvent::Quorum(Quorum {
            quorate: true,
            ring_id: ring_id(local.node_id),
            nodes: vec![local.node_id],
            expected_votes: 1,
            quorum_votes: 1,
            two_node: false,
            wait_for_all: false,
        }),
    ]
}

async fn run(
    local: LocalNode,
    mut outgoing: mpsc::Receiver<Outgoing>,
    events: mpsc::Sender<TransportEvent>,
) {
    // Delivered to ourselves but not yet taken by the daemon. Bounded by
    // what this process itself broadcast while not reading its events.
    let mut pending: VecDeque<TransportEvent> = first_events(&local).into();
    let mut leaving = false;
    loop {
        if leaving && pending.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            permit = events.reserve(), if !pending.is_empty() => match permit {
                Ok(p) => p.send(pending.pop_front().expect("pending event")),
                Err(_) => break,
            },
            out = outgoing.recv(), if !leaving => match out {
                Some(Outgoing::Message(m)) => pending.push_back(TransportEvent::Message {
                    from: local.node_id,
                    pid: local.pid,
                    bytes: m.data,
                }),
                Some(Outgoing::Leave(ack)) => {
                    // What was sent before is still delivered.
                    leaving = true;
                    let _ = ack.send(());
                }
                None => leaving = true,
            },
        }
    }
    tracing::info!(node = %local.name, "standalone transport stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::corosync::BroadcastError;

    fn config() -> StandaloneConfig {
        StandaloneConfig {
            node_name: "solo".into(),
            node_id: 7,
            limits: Limits {
                max_message_bytes: 1000,
                max_reassembly_bytes: 1000,
            },
            send_queue: 4,
        }
    }

    #[tokio::test]
    async fn one_quorate_member_and_messages_come_back_in_order() {
        let (h, mut rx) = start(config());
        let pid = std::process::id();
        let me = Member {
            node_id: 7,
            name: "solo".into(),
            pid,
        };
        assert_eq!(
            rx.recv().await,
            Some(TransportEvent::View(View {
                members: vec![me],
                joined: vec![Change {
                    node_id: 7,
                    name: "solo".into(),
                    pid,
                    reason: Reason::Join
                }],
                left: vec![],
            }))
        );
        assert!(matches!(rx.recv().await, Some(TransportEvent::Ring(r)) if r.nodes == [7]));
        match rx.recv().await {
            Some(TransportEvent::Quorum(q)) => {
                assert!(q.quorate);
                assert_eq!((q.nodes, q.expected_votes), (vec![7], 1));
            }
            other => panic!("{other:?}"),
        }
        // More broadcasts than either queue holds, sent before reading any:
        // no deadlock, nothing lost, nothing reordered.
        for i in 0..200u32 {
            h.broadcast(i.to_string().into_bytes()).await.unwrap();
        }
        for i in 0..200u32 {
            assert_eq!(
                rx.recv().await,
                Some(TransportEvent::Message {
                    from: 7,
                    pid,
                    bytes: i.to_string().into_bytes()
                })
            );
        }
        assert_eq!(h.info().local.name, "solo");
    }

    #[tokio::test]
    async fn too_big_is_refused_and_leave_ends_the_stream() {
        let (h, mut rx) = start(config());
        assert_eq!(
            h.broadcast(vec![0; 1001]).await,
            Err(BroadcastError::TooBig {
                bytes: 1001,
                limit: 1000
            })
        );
        h.broadcast(b"last".to_vec()).await.unwrap();
        h.leave().await;
        let mut rest = Vec::new();
        while let Some(ev) = rx.recv().await {
            rest.push(ev);
        }
        assert_eq!(rest.len(), 4, "view, ring, quorum, the message: {rest:?}");
        assert!(matches!(&rest[3], TransportEvent::Message { bytes, .. } if bytes == b"last"));
        assert!(matches!(
            h.broadcast(b"after".to_vec()).await,
            Err(BroadcastError::Lost(_))
        ));
    }
}
