//! Holds the node's own actions on fence devices (start, monitor, stop of
//! `stonith:` resources) while a fence agent runs on this node, and lets
//! them through as soon as none does.
//!
//! Why: a failover asks for both at once. The survivor fences the lost
//! node and, in the same transition, takes over the fence device that ran
//! there, whose start runs the agent's `monitor` and then its recurring
//! monitor: each is a fence agent process of its own (a Python start,
//! an IPMI session) competing for the CPU with the `off` that recovery is
//! waiting for. Fence devices need not wait for the fencing (a device that
//! did would never be started where it is needed), but nothing is lost
//! when their health checks come a few seconds later.
//!
//! Invariant: it never holds anything but fence device actions, never
//! drops one (a held action is either let through or cancelled by the
//! core's own `CancelAction`), never reorders them, and never holds one
//! longer than [`MAX_HOLD_MS`] past the moment it was asked for, give or
//! take the end of one fence agent run. Held actions go out at the end of
//! the loop turn in which no fence agent runs any more (so the power-on
//! half of a reboot, started in the turn its `off` ended, keeps them
//! held: they do not compete with the recovery's starts either), or once
//! the oldest was held [`MAX_HOLD_MS`] (fencing retried run after run).
//! It does no IO and reads no clock: the caller passes the time.

use std::collections::BTreeSet;

use crate::core::action::{ActionRequest, Standard};
use crate::core::fencer::RunId;

/// The longest a fence device action waits for fencing (milliseconds).
pub const MAX_HOLD_MS: i64 = 10_000;

/// A held action: the core's call id and the request.
pub type Held = (u64, ActionRequest);

#[derive(Debug, Default)]
pub struct DeviceGate {
    running: BTreeSet<RunId>,
    /// With the time (ms) each was asked for.
    held: Vec<(i64, Held)>,
}

impl DeviceGate {
    pub fn new() -> DeviceGate {
        DeviceGate::default()
    }

    /// A fence agent run started on this node.
    pub fn fence_started(&mut self, run: RunId) {
        self.running.insert(run);
    }

    /// A fence agent run ended (finished, or killed).
    pub fn fence_ended(&mut self, run: RunId) {
        self.running.remove(&run);
    }

    /// An action the core asks for at `now_ms`: returned to be run now, or
    /// held.
    pub fn admit(&mut self, now_ms: i64, call_id: u64, request: ActionRequest) -> Option<Held> {
        if request.agent.standard == Standard::Stonith && !self.running.is_empty() {
            self.held.push((now_ms, (call_id, request)));
            None
        } else {
            Some((call_id, request))
        }
    }

    /// At the end of a loop turn: what may go out now, in the order it was
    /// asked for (everything, or nothing).
    pub fn release(&mut self, now_ms: i64) -> Vec<Held> {
        let overdue = self
            .held
            .first()
            .is_some_and(|(at, _)| now_ms - at >= MAX_HOLD_MS);
        if self.running.is_empty() || overdue {
            std::mem::take(&mut self.held)
                .into_iter()
                .map(|(_, h)| h)
                .collect()
        } else {
            Vec::new()
        }
    }

    /// The core cancels a recurring action: a held one is dropped. Returns
    /// whether one was held.
    pub fn cancel(&mut self, rsc_id: &str, action: &str, interval_ms: u64) -> bool {
        let before = self.held.len();
        self.held.retain(|(_, (_, r))| {
            !(r.rsc_id == rsc_id && r.action == action && r.interval_ms == interval_ms)
        });
        self.held.len() != before
    }

    /// How many actions are held.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::AgentRef;

    fn req(rsc: &str, agent: &str, action: &str, interval_ms: u64) -> ActionRequest {
        ActionRequest {
            rsc_id: rsc.into(),
            agent: AgentRef::parse(agent).unwrap(),
            action: action.into(),
            interval_ms,
            timeout_ms: 20_000,
            params: Default::default(),
            meta: Default::default(),
            node: "n2".into(),
        }
    }

    fn ids(v: &[Held]) -> Vec<u64> {
        v.iter().map(|(id, _)| *id).collect()
    }

    const DEV: &str = "stonith:fence_ipmilan";

    #[test]
    fn nothing_is_held_when_no_fence_agent_runs() {
        let mut g = DeviceGate::new();
        let out = g.admit(0, 1, req("fence_n2", DEV, "start", 0));
        assert_eq!(out.map(|(id, _)| id), Some(1));
        assert_eq!(g.held(), 0);
        assert!(g.release(0).is_empty());
    }

    #[test]
    fn device_actions_wait_for_the_whole_reboot_and_go_out_in_order() {
        let mut g = DeviceGate::new();
        // The view's turn: the off starts, the lost node's device moves here.
        g.fence_started(7);
        assert!(g.admit(0, 1, req("fence_n2", DEV, "start", 0)).is_none());
        assert!(g.release(0).is_empty());
        // The group's starts are not fence devices: never held.
        let vip = g.admit(
            10,
            2,
            req("Cluster_VIP", "ocf:heartbeat:IPaddr2", "start", 0),
        );
        assert_eq!(vip.map(|(id, _)| id), Some(2));
        assert!(g
            .admit(20, 3, req("fence_n2", DEV, "monitor", 20_000))
            .is_none());
        assert_eq!(g.held(), 2);
        // The off ends and, in the same turn, the power-on starts: still
        // held at the end of that turn.
        g.fence_ended(7);
        g.fence_started(8);
        assert!(g.release(2_800).is_empty());
        // The power-on ends: out, in the order asked.
        g.fence_ended(8);
        assert_eq!(ids(&g.release(5_100)), vec![1, 3]);
        assert_eq!(g.held(), 0);
        // Once nothing runs, device actions go straight out again.
        assert!(g
            .admit(6_000, 4, req("fence_n2", DEV, "monitor", 20_000))
            .is_some());
    }

    #[test]
    fn fencing_retried_run_after_run_holds_no_longer_than_the_limit() {
        let mut g = DeviceGate::new();
        g.fence_started(1);
        g.admit(1_000, 1, req("fence_n1", DEV, "monitor", 20_000));
        let mut run = 1;
        let mut now = 1_000;
        let released = loop {
            now += 2_000;
            g.fence_ended(run);
            run += 1;
            g.fence_started(run);
            let out = g.release(now);
            if !out.is_empty() {
                break (now, out);
            }
            assert!(now < 1_000 + MAX_HOLD_MS, "still held at {now}");
        };
        assert_eq!(released.0, 1_000 + MAX_HOLD_MS);
        assert_eq!(ids(&released.1), vec![1]);
    }

    #[test]
    fn a_cancelled_held_action_is_dropped_and_the_others_kept() {
        let mut g = DeviceGate::new();
        g.fence_started(1);
        g.admit(0, 1, req("fence_n2", DEV, "start", 0));
        g.admit(0, 2, req("fence_n2", DEV, "monitor", 20_000));
        assert!(!g.cancel("fence_n2", "monitor", 10_000));
        assert!(g.cancel("fence_n2", "monitor", 20_000));
        g.fence_ended(1);
        assert_eq!(ids(&g.release(100)), vec![1]);
    }
}
