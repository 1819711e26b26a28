//! From the transport's events (CPG views, totem rings, quorum, messages)
//! to the core's events (a [`View`] with members and quorum, then the
//! messages delivered in it).
//!
//! corosync reports a membership change in pieces: the CPG view first, the
//! totem ring after it, and quorum from another service, not ordered
//! against the two. The core needs them as one view with the quorum *of
//! that membership*: told "quorate" with the members of a minority
//! partition, even for a millisecond, it could decide to fence the
//! majority. So a view caused by nodes leaving or joining the ring
//! (`NodeDown`, `NodeUp`) is held until the ring and the quorum of that
//! ring (same ring id) are known; a view caused by a daemon alone joining
//! or leaving (the ring does not change, and no new quorum comes) is
//! passed on with the quorum already known. Messages that arrive while a
//! view is held are held with it and delivered after it, so the core
//! still sees every message in the view it was sent in. A change of
//! quorum alone becomes a view of its own with the same members.
//!
//! The core's `View.seq` is a local counter, not the ring sequence: the
//! ring does not change when only a daemon joins or leaves.
//!
//! Invariant: bookkeeping of the transport's ordering promises only; no IO,
//! no clock (`now` is an argument), and no decision about the cluster.

use crate::core::node::View;
use crate::core::replication::Member;
use crate::core::time::Timestamp;
use crate::shell::corosync::{self as transport, Quorum, Reason, RingId, TransportEvent};

/// How long a view waits for its ring's quorum before it is passed on as
/// not quorate (a corosync that never reports it is broken; not quorate
/// is the safe reading).
pub const QUORUM_WAIT_MS: i64 = 5_000;

/// What the core should be given, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    View(View),
    Message { from: String, bytes: Vec<u8> },
}

/// The translation state.
#[derive(Debug, Default)]
pub struct Membership {
    seq: u64,
    /// The latest CPG view's members (one per node).
    members: Vec<Member>,
    /// A CPG view arrived that the core was not yet told of.
    view_pending: bool,
    /// Since when a view has been held, if one is.
    held_since: Option<Timestamp>,
    /// The pending view changed the ring: wait for the `Ring` event.
    waiting_ring: bool,
    ring: Option<RingId>,
    quorum: Option<Quorum>,
    /// The quorate flag the core was last given.
    told_quorate: Option<bool>,
    held: Vec<(String, Vec<u8>)>,
    /// Node id -> name, from every view seen.
    names: std::collections::BTreeMap<u32, String>,
}

impl Membership {
    pub fn new() -> Membership {
        Membership::default()
    }

    /// The core views given so far.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When [`Membership::on_timeout`] should be called, if a view is held.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.held_since.map(|t| t.plus_ms(QUORUM_WAIT_MS))
    }

    /// Translates one transport event (`Lost` and `Discarded` are the
    /// daemon's to handle and give nothing here).
    pub fn on_event(&mut self, now: Timestamp, ev: TransportEvent) -> Vec<Step> {
        match ev {
            TransportEvent::View(v) => {
                for m in &v.members {
                    self.names.insert(m.node_id, m.name.clone());
                }
                let mut members: Vec<Member> = v
                    .members
                    .iter()
                    .map(|m| Member {
                        id: m.node_id,
                        name: m.name.clone(),
                    })
                    .collect();
                members.sort();
                members.dedup_by(|a, b| a.id == b.id);
                self.members = members;
                self.view_pending = true;
                if v.joined
                    .iter()
                    .chain(&v.left)
                    .any(|c| matches!(c.reason, Reason::NodeDown | Reason::NodeUp))
                {
                    self.waiting_ring = true;
                }
                if self.held_since.is_none() {
                    self.held_since = Some(now);
                }
                self.try_release()
            }
            TransportEvent::Ring(r) => {
                self.ring = Some(r.ring_id);
                self.waiting_ring = false;
                self.try_release()
            }
            TransportEvent::Quorum(q) => {
                self.quorum = Some(q);
                if !self.view_pending && self.quorum_matches() {
                    let quorate = self.quorum.as_ref().is_some_and(|q| q.quorate);
                    if self.told_quorate.is_some() && self.told_quorate != Some(quorate) {
                        // Quorum alone changed: a view of its own.
                        self.view_pending = true;
                        self.held_since.get_or_insert(now);
                    }
                }
                self.try_release()
            }
            TransportEvent::Message { from, bytes, .. } => {
                let name = self.name_of(from);
                if self.held_since.is_some() {
                    self.held.push((name, bytes));
                    Vec::new()
                } else {
                    vec![Step::Message { from: name, bytes }]
                }
            }
            TransportEvent::Discarded { .. } | TransportEvent::Lost(_) => Vec::new(),
        }
    }

    /// A view was held for [`QUORUM_WAIT_MS`]: pass it on, not quorate
    /// unless the quorum known is that of the current ring.
    pub fn on_timeout(&mut self, now: Timestamp) -> Vec<Step> {
        match self.held_since {
            Some(t) if now.millis() >= t.millis() + QUORUM_WAIT_MS => {
                let quorate = !self.waiting_ring
                    && self.quorum_matches()
                    && self.quorum.as_ref().is_some_and(|q| q.quorate);
                tracing::warn!(
                    waited_ms = QUORUM_WAIT_MS,
                    quorate,
                    "corosync did not report the quorum of the new membership in time"
                );
                self.release(quorate)
            }
            _ => Vec::new(),
        }
    }

    fn name_of(&self, node_id: u32) -> String {
        self.names
            .get(&node_id)
            .cloned()
            .unwrap_or_else(|| node_id.to_string())
    }

    /// Whether the quorum known is that of the current ring (or no ring
    /// was reported yet: at start, corosync gives the join and the current
    /// quorum).
    fn quorum_matches(&self) -> bool {
        match (&self.quorum, self.ring) {
            (Some(q), Some(r)) => q.ring_id == r,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    fn try_release(&mut self) -> Vec<Step> {
        if !self.view_pending || self.waiting_ring || !self.quorum_matches() {
            return Vec::new();
        }
        let quorate = self.quorum.as_ref().is_some_and(|q| q.quorate);
        self.release(quorate)
    }

    fn release(&mut self, quorate: bool) -> Vec<Step> {
        self.seq += 1;
        self.view_pending = false;
        self.waiting_ring = false;
        self.held_since = None;
        self.told_quorate = Some(quorate);
        let mut out = vec![Step::View(View {
            seq: self.seq,
            members: self.members.clone(),
            quorate,
        })];
        out.extend(
            self.held
                .drain(..)
                .map(|(from, bytes)| Step::Message { from, bytes }),
        );
        out
    }
}

/// A transport member as the logs show it: `n1 (1, pid 42)`.
pub fn describe_change(c: &transport::Change) -> String {
    format!("{} ({:?})", c.name, c.reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::corosync::{Change, Member as TMember, Ring, View as TView};

    fn member(id: u32) -> TMember {
        TMember {
            node_id: id,
            name: format!("n{id}"),
            pid: 100 + id,
        }
    }

    fn change(id: u32, reason: Reason) -> Change {
        Change {
            node_id: id,
            name: format!("n{id}"),
            pid: 100 + id,
            reason,
        }
    }

    fn view(ids: &[u32], joined: Vec<Change>, left: Vec<Change>) -> TransportEvent {
        TransportEvent::View(TView {
            members: ids.iter().map(|i| member(*i)).collect(),
            joined,
            left,
        })
    }

    fn ring(seq: u64, ids: &[u32]) -> TransportEvent {
        TransportEvent::Ring(Ring {
            ring_id: RingId { node_id: 1, seq },
            nodes: ids.to_vec(),
        })
    }

    fn quorum(seq: u64, quorate: bool) -> TransportEvent {
        TransportEvent::Quorum(Quorum {
            quorate,
            ring_id: RingId { node_id: 1, seq },
            nodes: vec![],
            expected_votes: 2,
            quorum_votes: 1,
            two_node: true,
            wait_for_all: true,
        })
    }

    fn msg(from: u32, text: &str) -> TransportEvent {
        TransportEvent::Message {
            from,
            pid: 100 + from,
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn core_view(seq: u64, ids: &[u32], quorate: bool) -> Step {
        Step::View(View {
            seq,
            members: ids
                .iter()
                .map(|i| Member {
                    id: *i,
                    name: format!("n{i}"),
                })
                .collect(),
            quorate,
        })
    }

    fn delivered(from: u32, text: &str) -> Step {
        Step::Message {
            from: format!("n{from}"),
            bytes: text.as_bytes().to_vec(),
        }
    }

    const T: Timestamp = Timestamp(1_000);

    fn started() -> Membership {
        let mut m = Membership::new();
        // At start: our own join, then the current quorum (no ring event).
        assert_eq!(
            m.on_event(T, view(&[1, 2], vec![change(1, Reason::Join)], vec![])),
            vec![]
        );
        assert_eq!(
            m.on_event(T, quorum(8, true)),
            vec![core_view(1, &[1, 2], true)]
        );
        m
    }

    #[test]
    fn a_node_lost_is_one_view_with_the_quorum_of_the_new_ring_and_messages_after_it() {
        let mut m = started();
        let down = view(&[2], vec![], vec![change(1, Reason::NodeDown)]);
        assert_eq!(m.on_event(T, down), vec![]);
        assert_eq!(m.on_event(T, ring(12, &[2])), vec![]);
        // A message sent in the new view arrives before its quorum.
        assert_eq!(m.on_event(T, msg(2, "join")), vec![]);
        assert_eq!(m.poll_timeout(), Some(T.plus_ms(QUORUM_WAIT_MS)));
        assert_eq!(
            m.on_event(T, quorum(12, false)),
            vec![core_view(2, &[2], false), delivered(2, "join")]
        );
        assert_eq!(m.poll_timeout(), None);
        assert_eq!(m.on_event(T, msg(2, "next")), vec![delivered(2, "next")]);
    }

    #[test]
    fn the_old_rings_quorum_never_passes_for_the_new_membership() {
        let mut m = started();
        m.on_event(T, view(&[2], vec![], vec![change(1, Reason::NodeDown)]));
        // The quorum of the old ring (a late notification) must not be
        // taken for the new one.
        assert_eq!(m.on_event(T, quorum(8, true)), vec![]);
        assert_eq!(m.on_event(T, ring(12, &[2])), vec![]);
        assert_eq!(
            m.on_event(T, quorum(12, true)),
            vec![core_view(2, &[2], true)]
        );
    }

    #[test]
    fn quorum_may_come_before_the_ring() {
        let mut m = started();
        m.on_event(T, view(&[1, 2, 3], vec![change(3, Reason::NodeUp)], vec![]));
        assert_eq!(m.on_event(T, quorum(16, true)), vec![]);
        assert_eq!(
            m.on_event(T, ring(16, &[1, 2, 3])),
            vec![core_view(2, &[1, 2, 3], true)]
        );
    }

    #[test]
    fn a_daemon_alone_leaving_or_joining_needs_no_new_quorum() {
        let mut m = started();
        assert_eq!(
            m.on_event(T, view(&[1], vec![], vec![change(2, Reason::ProcDown)])),
            vec![core_view(2, &[1], true)]
        );
        assert_eq!(
            m.on_event(T, view(&[1, 2], vec![change(2, Reason::Join)], vec![])),
            vec![core_view(3, &[1, 2], true)]
        );
        assert_eq!(m.seq(), 3);
    }

    #[test]
    fn quorum_lost_alone_is_a_view_of_its_own_and_an_unchanged_one_is_not() {
        let mut m = started();
        assert_eq!(m.on_event(T, quorum(8, true)), vec![]);
        assert_eq!(
            m.on_event(T, quorum(8, false)),
            vec![core_view(2, &[1, 2], false)]
        );
    }

    #[test]
    fn a_view_whose_quorum_never_comes_is_passed_on_not_quorate() {
        let mut m = started();
        m.on_event(T, view(&[2], vec![], vec![change(1, Reason::NodeDown)]));
        m.on_event(T, ring(12, &[2]));
        m.on_event(T, msg(2, "held"));
        assert_eq!(m.on_timeout(T.plus_ms(QUORUM_WAIT_MS - 1)), vec![]);
        assert_eq!(
            m.on_timeout(T.plus_ms(QUORUM_WAIT_MS)),
            vec![core_view(2, &[2], false), delivered(2, "held")]
        );
    }

    #[test]
    fn two_processes_of_one_node_are_one_member() {
        let mut m = Membership::new();
        let mut twice = member(1);
        twice.pid = 7;
        let ev = TransportEvent::View(TView {
            members: vec![member(1), twice, member(2)],
            joined: vec![change(1, Reason::Join)],
            left: vec![],
        });
        m.on_event(T, ev);
        assert_eq!(
            m.on_event(T, quorum(3, true)),
            vec![core_view(1, &[1, 2], true)]
        );
    }
}
