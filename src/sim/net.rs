//! Corosync as the simulator models it: links, views, ordered delivery.
//!
//! * Links are directional (`up[a][b]`: a's packets reach b). Two nodes can
//!   share a view only if they hear each other both ways; views are
//!   computed greedily in node order as groups where every pair can talk
//!   (a one-way loss breaks the ring as it does in totem).
//! * A disruption (a node powered off, a link cut) freezes the views it
//!   touches at once: the token is lost, nothing is delivered. The new
//!   membership forms `token_timeout_ms` later. A join (a node booted, a
//!   link restored) forms a new membership after `join_delay_ms`.
//! * Messages are totally ordered within a view: the view orders them when
//!   they are sent, and every member delivers them in that order, each at
//!   its own pace (latency and jitter per member, monotone).
//! * Virtual synchrony at a view change: members of the old view that move
//!   together into one new view deliver exactly the same old messages
//!   before the new view (a prefix of the old view's order, the same
//!   prefix for all of them, chosen by the seed); the rest are lost for
//!   them. Nothing crosses into a different view.
//!
//! Invariant: no node logic here, no clock but the simulated one passed
//! in; every choice comes from the caller's seeded generator.

use crate::core::node::{Message, View};
use crate::core::replication::Member;
use crate::core::time::Timestamp;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// One message in a view's total order.
#[derive(Debug, Clone)]
pub struct Sent {
    pub from: usize,
    pub message: Message,
    /// When each member (by position in the view) may deliver it.
    pub due: Vec<Timestamp>,
}

/// One view instance.
#[derive(Debug, Clone)]
pub struct ViewInst {
    pub uid: u64,
    pub view: View,
    /// Node indexes, in member order.
    pub members: Vec<usize>,
    pub msgs: Vec<Sent>,
    /// Per member: how many messages it delivered.
    pub delivered: Vec<usize>,
    /// Per member: the latest due time given (keeps delivery monotone).
    pub last_due: Vec<Timestamp>,
    pub frozen: bool,
}

impl ViewInst {
    pub fn pos(&self, node: usize) -> Option<usize> {
        self.members.iter().position(|m| *m == node)
    }

    /// No message is waiting for any member.
    pub fn quiescent(&self) -> bool {
        self.delivered.iter().all(|d| *d == self.msgs.len())
    }
}

/// What a membership recomputation delivers to one node, in order.
#[derive(Debug)]
pub struct Transition {
    pub node: usize,
    /// The new view; the node is moved into it (`Net::enter`) after the
    /// flush, so that what it sends while flushing goes nowhere.
    pub uid: u64,
    /// Old-view messages to deliver first: (from, message).
    pub flush: Vec<(usize, Message)>,
    pub view: View,
}

#[derive(Debug)]
pub struct Net {
    pub names: Vec<String>,
    pub ids: Vec<u32>,
    /// `up[a][b]`: a's packets reach b.
    pub up: Vec<Vec<bool>>,
    /// Nodes that can take part (powered on and booted).
    pub alive: Vec<bool>,
    pub views: BTreeMap<u64, ViewInst>,
    /// The view each node is in (delivered), by uid.
    pub node_view: Vec<Option<u64>>,
    next_uid: u64,
    ring_seq: u64,
    /// When the pending membership change happens.
    pub change_at: Option<Timestamp>,
    pub token_timeout_ms: i64,
    pub join_delay_ms: i64,
    pub latency_ms: (i64, i64),
    /// Extra latency for messages sent before this time.
    pub slow_until: Timestamp,
    pub slow_extra_ms: i64,
    /// Votes needed: more than half of `expected_votes`.
    pub expected_votes: usize,
}

impl Net {
    pub fn new(names: Vec<String>, ids: Vec<u32>) -> Net {
        let n = names.len();
        Net {
            expected_votes: n,
            names,
            ids,
            up: vec![vec![true; n]; n],
            alive: vec![false; n],
            views: BTreeMap::new(),
            node_view: vec![None; n],
            next_uid: 1,
            ring_seq: 0,
            change_at: None,
            token_timeout_ms: 1_000,
            join_delay_ms: 500,
            latency_ms: (1, 4),
            slow_until: Timestamp(0),
            slow_extra_ms: 0,
        }
    }

    fn can_talk(&self, a: usize, b: usize) -> bool {
        a == b || (self.up[a][b] && self.up[b][a])
    }

    /// The groups the membership would form now.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..self.names.len() {
            if !self.alive[i] {
                continue;
            }
            match groups
                .iter_mut()
                .find(|g| g.iter().all(|&j| self.can_talk(i, j)))
            {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        groups
    }

    /// Something broke: freeze the views it touches and form a new
    /// membership after the token timeout.
    pub fn disrupt(&mut self, now: Timestamp) {
        let mut touched = false;
        let uids: Vec<u64> = self.views.keys().copied().collect();
        for uid in uids {
            let v = &self.views[&uid];
            let broken = v.members.iter().any(|&m| !self.alive[m])
                || v.members
                    .iter()
                    .any(|&a| v.members.iter().any(|&b| !self.can_talk(a, b)));
            if broken {
                self.views.get_mut(&uid).expect("listed").frozen = true;
                touched = true;
            }
        }
        if touched {
            let at = now.plus_ms(self.token_timeout_ms);
            self.change_at = Some(self.change_at.map_or(at, |c| c.min(at)));
        } else {
            self.join(now);
        }
    }

    /// Something could join: form a new membership soon.
    pub fn join(&mut self, now: Timestamp) {
        let at = now.plus_ms(self.join_delay_ms);
        self.change_at = Some(self.change_at.map_or(at, |c| c.min(at)));
    }

    fn quorate(&self, members: usize) -> bool {
        members * 2 > self.expected_votes
    }

    /// Forms the new membership: returns what each affected node delivers.
    pub fn recompute(&mut self, rng: &mut ChaCha8Rng) -> Vec<Transition> {
        self.change_at = None;
        let groups = self.groups();
        let mut out = Vec::new();
        let mut kept: Vec<u64> = Vec::new();
        for g in &groups {
            // Unchanged: one view holds exactly this group.
            let same = self.node_view[g[0]].filter(|uid| {
                self.views.get(uid).is_some_and(|v| {
                    v.members == *g && g.iter().all(|&m| self.node_view[m] == Some(*uid))
                })
            });
            if let Some(uid) = same {
                let v = self.views.get_mut(&uid).expect("checked");
                v.frozen = false;
                kept.push(uid);
                continue;
            }
            // The old views this group's members leave, each cut at one
            // prefix for the whole group.
            let mut flushes: BTreeMap<usize, Vec<(usize, Message)>> = BTreeMap::new();
            let mut olds: Vec<u64> = g.iter().filter_map(|&m| self.node_view[m]).collect();
            olds.sort();
            olds.dedup();
            for uid in olds {
                let Some(v) = self.views.get(&uid) else {
                    continue;
                };
                let here: Vec<usize> = g
                    .iter()
                    .copied()
                    .filter(|&m| self.node_view[m] == Some(uid))
                    .collect();
                let floor = here
                    .iter()
                    .filter_map(|&m| v.pos(m).map(|p| v.delivered[p]))
                    .max()
                    .unwrap_or(0);
                let cut = if floor >= v.msgs.len() {
                    floor
                } else {
                    rng.gen_range(floor..=v.msgs.len())
                };
                for &m in &here {
                    let p = v.pos(m).expect("member");
                    let from = v.delivered[p];
                    let list: Vec<(usize, Message)> = v.msgs[from..cut]
                        .iter()
                        .map(|s| (s.from, s.message.clone()))
                        .collect();
                    flushes.insert(m, list);
                }
            }
            self.ring_seq += 1;
            let view = View {
                seq: self.ring_seq,
                members: g
                    .iter()
                    .map(|&m| Member {
                        id: self.ids[m],
                        name: self.names[m].clone(),
                    })
                    .collect(),
                quorate: self.quorate(g.len()),
            };
            let uid = self.next_uid;
            self.next_uid += 1;
            self.views.insert(
                uid,
                ViewInst {
                    uid,
                    view: view.clone(),
                    members: g.clone(),
                    msgs: Vec::new(),
                    delivered: vec![0; g.len()],
                    last_due: vec![Timestamp(0); g.len()],
                    frozen: false,
                },
            );
            kept.push(uid);
            for &m in g {
                out.push(Transition {
                    node: m,
                    uid,
                    flush: flushes.remove(&m).unwrap_or_default(),
                    view: view.clone(),
                });
            }
        }
        for (i, alive) in self.alive.iter().enumerate() {
            if !alive {
                self.node_view[i] = None;
            }
        }
        // Every other view ended: what was not delivered is lost.
        self.views.retain(|uid, _| kept.contains(uid));
        out
    }

    /// Moves a node into its new view (after its flush).
    pub fn enter(&mut self, node: usize, uid: u64) {
        self.node_view[node] = Some(uid);
    }

    /// `from` broadcasts in its current view. Returns the view uid and the
    /// due times, or `None` when it is in no view.
    pub fn send(
        &mut self,
        now: Timestamp,
        from: usize,
        message: Message,
        rng: &mut ChaCha8Rng,
    ) -> Option<(u64, Vec<(usize, Timestamp)>)> {
        let uid = self.node_view[from]?;
        let extra = if now < self.slow_until {
            self.slow_extra_ms
        } else {
            0
        };
        let (lo, hi) = self.latency_ms;
        let v = self.views.get_mut(&uid)?;
        let mut due = Vec::with_capacity(v.members.len());
        let mut wake = Vec::with_capacity(v.members.len());
        for (p, &m) in v.members.iter().enumerate() {
            let lat = if m == from {
                0
            } else {
                rng.gen_range(lo..=hi) + extra
            };
            let t = now.plus_ms(lat).max(v.last_due[p]);
            v.last_due[p] = t;
            due.push(t);
            wake.push((m, t));
        }
        v.msgs.push(Sent { from, message, due });
        Some((uid, wake))
    }

    /// The messages `node` may deliver now in view `uid`, in order; marks
    /// them delivered.
    pub fn take_due(&mut self, uid: u64, node: usize, now: Timestamp) -> Vec<(usize, Message)> {
        let Some(v) = self.views.get_mut(&uid) else {
            return Vec::new();
        };
        if v.frozen || self.node_view[node] != Some(uid) {
            return Vec::new();
        }
        let Some(p) = v.pos(node) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while v.delivered[p] < v.msgs.len() && v.msgs[v.delivered[p]].due[p] <= now {
            let s = &v.msgs[v.delivered[p]];
            out.push((s.from, s.message.clone()));
            v.delivered[p] += 1;
        }
        out
    }

    /// Pending (member, due) pairs of a view, for re-arming deliveries
    /// after a freeze ends.
    pub fn pending(&self, uid: u64) -> Vec<(usize, Timestamp)> {
        let Some(v) = self.views.get(&uid) else {
            return Vec::new();
        };
        v.members
            .iter()
            .enumerate()
            .filter(|(p, _)| v.delivered[*p] < v.msgs.len())
            .map(|(p, &m)| (m, v.msgs[v.delivered[p]].due[p]))
            .collect()
    }

    /// Drops messages every member delivered (bounds memory).
    pub fn compact(&mut self, uid: u64) {
        if let Some(v) = self.views.get_mut(&uid) {
            let done = v.delivered.iter().copied().min().unwrap_or(0);
            if done > 256 {
                v.msgs.drain(..done);
                for d in &mut v.delivered {
                    *d -= done;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn net(n: usize) -> Net {
        let names = (1..=n).map(|i| format!("n{i}")).collect();
        let ids = (1..=n as u32).collect();
        let mut net = Net::new(names, ids);
        net.alive = vec![true; n];
        net
    }

    #[test]
    fn views_are_groups_that_hear_each_other_both_ways() {
        let mut n = net(4);
        assert_eq!(n.groups(), vec![vec![0, 1, 2, 3]]);
        n.up[0][2] = false; // one way only
        assert_eq!(n.groups(), vec![vec![0, 1, 3], vec![2]]);
        n.alive[1] = false;
        assert_eq!(n.groups(), vec![vec![0, 3], vec![2]]);
    }

    #[test]
    fn members_that_move_together_deliver_the_same_old_messages() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let mut n = net(3);
            let t0 = Timestamp(1_000);
            let first = n.recompute(&mut rng);
            assert_eq!(first.len(), 3);
            for t in &first {
                n.enter(t.node, t.uid);
            }
            assert!(first[0].view.quorate);
            for k in 0..5 {
                let m = Message::Client {
                    origin: "n1".into(),
                    request_id: k,
                    request: crate::core::replication::ClientRequest::SetProperty {
                        name: "x".into(),
                        value: None,
                    },
                    user: None,
                    at: 0,
                };
                n.send(t0, 0, m, &mut rng).unwrap();
            }
            // n2 delivered some already; then n3 dies.
            let uid = n.node_view[1].unwrap();
            let got = n.take_due(uid, 1, Timestamp(1_002)).len();
            n.alive[2] = false;
            n.disrupt(Timestamp(1_003));
            assert!(n.views[&uid].frozen);
            assert!(n.take_due(uid, 0, Timestamp(9_999)).is_empty(), "frozen");
            let tr = n.recompute(&mut rng);
            assert_eq!(tr.len(), 2);
            assert!(
                n.send(
                    Timestamp(1_004),
                    0,
                    Message::Client {
                        origin: "n1".into(),
                        request_id: 99,
                        request: crate::core::replication::ClientRequest::SetProperty {
                            name: "x".into(),
                            value: None
                        },
                        at: 0,
                        user: None,
                    },
                    &mut rng
                )
                .is_none(),
                "a node sending while it flushes sends nowhere"
            );
            assert!(tr[0].view.quorate, "2 of 3 is a majority");
            // n1 and n2 end with the same total number of old messages.
            assert_eq!(tr[0].flush.len(), tr[1].flush.len() + got);
            assert!(tr[1].flush.len() + got <= 5);
        }
    }
}
