//! The bookkeeping of one transition: which actions of a graph are waiting,
//! running, done or failed, which may start now, when the transition is
//! complete, and what an abort means.
//!
//! Rules (Pacemaker's transition engine, stated once):
//!
//! * An action may start when every one of its inputs is done. An action
//!   the scheduler marked as waiting on an unrunnable action (its
//!   `unrunnable_inputs`) never starts in this transition, and neither does
//!   anything that waits on it, directly or not: Pacemaker keeps such
//!   actions in the graph so that the graph says what is blocked, and
//!   counts them as *incomplete* when the transition ends. A transition
//!   that ends with incomplete actions but no abort leaves the DC idle, as
//!   Pacemaker's does ("Incomplete=N"): scheduling again now would give the
//!   same graph; the next event reschedules. Nothing
//!   starts once the transition is aborted; actions already running are
//!   waited for (their results are real and must be recorded before the
//!   next schedule, or the next schedule would re-issue them blindly).
//! * A failed action aborts the transition: the scheduler must look again
//!   at the whole CIB, which now holds the failure.
//! * `batch-limit` caps the actions running at once (0 = no cap); pseudo
//!   actions do not count, they finish as soon as they start.
//! * The transition is complete when nothing runs and nothing more can
//!   start: everything done, or aborted, or blocked behind a failure.
//!
//! Invariant: pure bookkeeping. This module knows nothing about how an
//! action runs, which node it runs on, or what time it is beyond the
//! deadlines it is given.

use crate::core::scheduler::graph::{ActionId, GraphActionKind, TransitionGraph};
use crate::core::time::Timestamp;

/// Where one action of the graph stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionState {
    Waiting,
    /// Dispatched; no result yet. `deadline` is when the controller stops
    /// waiting (action timeout plus `cluster-delay`); `None` for actions
    /// whose own machinery bounds them (fencing).
    Running {
        deadline: Option<Timestamp>,
    },
    Done,
    Failed,
}

/// One transition being executed.
#[derive(Debug, Clone)]
pub struct Transition {
    pub id: u64,
    pub graph: TransitionGraph,
    states: Vec<ActionState>,
    /// Actions that can never fire in this transition (see the header).
    never: Vec<bool>,
    aborted: Option<String>,
}

/// How a transition's actions ended, for the DC's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub failed: usize,
    /// Never fired: waiting, directly or not, on an unrunnable action.
    pub incomplete: usize,
    /// Could have fired but did not, because the transition was aborted.
    pub skipped: usize,
    pub total: usize,
}

/// Which actions of `graph` can never fire: those with unrunnable inputs
/// and, transitively, those waiting on one of them. Inputs may have any id,
/// so this iterates to a fixed point, bounded by the number of actions
/// (each pass that changes something marks at least one more action).
fn never_firing(graph: &TransitionGraph) -> Vec<bool> {
    let mut never: Vec<bool> = graph.actions.iter().map(|a| !a.can_fire()).collect();
    for _ in 0..=graph.actions.len() {
        let mut changed = false;
        for (i, a) in graph.actions.iter().enumerate() {
            if !never[i] && a.inputs.iter().any(|inp| never[inp.0 as usize]) {
                never[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    never
}

impl Transition {
    pub fn new(id: u64, graph: TransitionGraph) -> Transition {
        let states = vec![ActionState::Waiting; graph.actions.len()];
        let never = never_firing(&graph);
        Transition {
            id,
            graph,
            states,
            never,
            aborted: None,
        }
    }

    pub fn state(&self, id: ActionId) -> ActionState {
        self.states[id.0 as usize]
    }

    /// Why the transition was aborted, if it was (the first reason given).
    pub fn aborted(&self) -> Option<&str> {
        self.aborted.as_deref()
    }

    /// Actions running now (pseudo actions never stay running).
    pub fn running(&self) -> impl Iterator<Item = ActionId> + '_ {
        self.states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, ActionState::Running { .. }))
            .map(|(i, _)| ActionId(i as u32))
    }

    fn counts_for_batch(&self, i: usize) -> bool {
        !matches!(self.graph.actions[i].kind, GraphActionKind::Pseudo { .. })
    }

    /// Whether `id` can never fire in this transition.
    pub fn never_fires(&self, id: ActionId) -> bool {
        self.never[id.0 as usize]
    }

    /// Actions that may start now, in id order: every input done, able to
    /// fire, not aborted, within `batch-limit`.
    pub fn ready(&self) -> Vec<ActionId> {
        if self.aborted.is_some() {
            return Vec::new();
        }
        let limit = self.graph.batch_limit as usize;
        let mut in_flight = (0..self.states.len())
            .filter(|&i| {
                matches!(self.states[i], ActionState::Running { .. }) && self.counts_for_batch(i)
            })
            .count();
        let mut out = Vec::new();
        for (i, a) in self.graph.actions.iter().enumerate() {
            if self.states[i] != ActionState::Waiting || self.never[i] {
                continue;
            }
            let inputs_done = a
                .inputs
                .iter()
                .all(|inp| self.states[inp.0 as usize] == ActionState::Done);
            if !inputs_done {
                continue;
            }
            if self.counts_for_batch(i) {
                if limit > 0 && in_flight >= limit {
                    continue;
                }
                in_flight += 1;
            }
            out.push(ActionId(i as u32));
        }
        out
    }

    /// Marks a ready action as dispatched.
    pub fn start(&mut self, id: ActionId, deadline: Option<Timestamp>) {
        assert!(!self.never[id.0 as usize], "action {id} can never fire");
        let s = &mut self.states[id.0 as usize];
        assert_eq!(*s, ActionState::Waiting, "action {id} started twice");
        *s = ActionState::Running { deadline };
    }

    /// Records an action's outcome. Only a running action can finish; a
    /// second result for the same action is ignored (returns false), as is
    /// a result for an action never started.
    pub fn finish(&mut self, id: ActionId, ok: bool) -> bool {
        let Some(s) = self.states.get_mut(id.0 as usize) else {
            return false;
        };
        if !matches!(s, ActionState::Running { .. }) {
            return false;
        }
        if ok {
            *s = ActionState::Done;
        } else {
            *s = ActionState::Failed;
            let label = self.graph.actions[id.0 as usize].label();
            self.abort(&format!("{label} failed"));
        }
        true
    }

    /// Stops starting new actions; running ones are still waited for.
    pub fn abort(&mut self, reason: &str) {
        if self.aborted.is_none() {
            self.aborted = Some(reason.to_string());
        }
    }

    /// Nothing runs and nothing more can start.
    pub fn is_complete(&self) -> bool {
        self.running().next().is_none() && self.ready().is_empty()
    }

    /// Whether every action finished successfully.
    pub fn succeeded(&self) -> bool {
        self.states.iter().all(|s| *s == ActionState::Done)
    }

    /// The earliest deadline of a running action.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.states
            .iter()
            .filter_map(|s| match s {
                ActionState::Running { deadline } => *deadline,
                _ => None,
            })
            .min()
    }

    /// Running actions whose deadline has passed at `now`.
    pub fn expired(&self, now: Timestamp) -> Vec<ActionId> {
        self.states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, ActionState::Running { deadline: Some(d) } if *d <= now))
            .map(|(i, _)| ActionId(i as u32))
            .collect()
    }

    /// How the actions stand, for logs.
    pub fn progress(&self) -> Progress {
        let mut p = Progress {
            done: 0,
            failed: 0,
            incomplete: 0,
            skipped: 0,
            total: self.states.len(),
        };
        for (i, s) in self.states.iter().enumerate() {
            match s {
                ActionState::Done => p.done += 1,
                ActionState::Failed => p.failed += 1,
                ActionState::Waiting if self.never[i] => p.incomplete += 1,
                ActionState::Waiting => p.skipped += 1,
                ActionState::Running { .. } => {}
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scheduler::graph::GraphAction;

    fn pseudo(id: u32, inputs: &[u32]) -> GraphAction {
        GraphAction {
            id: ActionId(id),
            kind: GraphActionKind::Pseudo {
                name: format!("p{id}"),
            },
            inputs: inputs.iter().map(|&i| ActionId(i)).collect(),
            unrunnable_inputs: Vec::new(),
        }
    }

    fn shutdown(id: u32, inputs: &[u32]) -> GraphAction {
        GraphAction {
            id: ActionId(id),
            kind: GraphActionKind::Shutdown {
                node: format!("n{id}"),
            },
            inputs: inputs.iter().map(|&i| ActionId(i)).collect(),
            unrunnable_inputs: Vec::new(),
        }
    }

    /// An action waiting on something the scheduler found unrunnable.
    fn blocked(id: u32, inputs: &[u32]) -> GraphAction {
        let mut a = shutdown(id, inputs);
        a.unrunnable_inputs = vec![GraphActionKind::Pseudo {
            name: "unrunnable".into(),
        }];
        a
    }

    fn graph(actions: Vec<GraphAction>, batch_limit: u32) -> TransitionGraph {
        TransitionGraph {
            actions,
            stonith_timeout_ms: 60_000,
            cluster_delay_ms: 60_000,
            batch_limit,
        }
    }

    fn ids(v: &[u32]) -> Vec<ActionId> {
        v.iter().map(|&i| ActionId(i)).collect()
    }

    #[test]
    fn actions_start_when_their_inputs_are_done() {
        // 0 -> 1 -> 2, and 3 independent
        let mut t = Transition::new(
            1,
            graph(
                vec![
                    shutdown(0, &[]),
                    shutdown(1, &[0]),
                    shutdown(2, &[1]),
                    shutdown(3, &[]),
                ],
                0,
            ),
        );
        assert_eq!(t.ready(), ids(&[0, 3]));
        t.start(ActionId(0), None);
        t.start(ActionId(3), Some(Timestamp(5)));
        assert_eq!(t.ready(), ids(&[]));
        assert!(!t.is_complete());
        assert!(t.finish(ActionId(0), true));
        assert_eq!(t.ready(), ids(&[1]));
        assert!(!t.finish(ActionId(0), true), "a second result is ignored");
        assert!(!t.finish(ActionId(2), true), "never started");
        t.start(ActionId(1), None);
        t.finish(ActionId(1), true);
        t.finish(ActionId(3), true);
        t.start(ActionId(2), None);
        t.finish(ActionId(2), true);
        assert!(t.is_complete());
        assert!(t.succeeded());
    }

    #[test]
    fn a_failure_aborts_but_running_actions_are_waited_for() {
        let mut t = Transition::new(
            2,
            graph(
                vec![shutdown(0, &[]), shutdown(1, &[]), shutdown(2, &[0])],
                0,
            ),
        );
        t.start(ActionId(0), None);
        t.start(ActionId(1), None);
        t.finish(ActionId(0), false);
        assert_eq!(t.aborted(), Some("do_shutdown n0 failed"));
        assert_eq!(t.ready(), ids(&[]), "nothing starts after an abort");
        assert!(!t.is_complete(), "action 1 is still running");
        t.finish(ActionId(1), true);
        assert!(t.is_complete());
        assert!(!t.succeeded());
        assert_eq!(
            t.progress(),
            Progress {
                done: 1,
                failed: 1,
                incomplete: 0,
                skipped: 1,
                total: 3
            }
        );
    }

    #[test]
    fn batch_limit_caps_running_actions_but_not_pseudo_ones() {
        let mut t = Transition::new(
            3,
            graph(
                vec![
                    shutdown(0, &[]),
                    pseudo(1, &[]),
                    shutdown(2, &[]),
                    shutdown(3, &[]),
                ],
                2,
            ),
        );
        assert_eq!(t.ready(), ids(&[0, 1, 2]));
        t.start(ActionId(0), None);
        t.start(ActionId(2), None);
        assert_eq!(t.ready(), ids(&[1]), "the limit of 2 is reached");
        t.finish(ActionId(2), true);
        assert_eq!(t.ready(), ids(&[1, 3]));
    }

    #[test]
    fn deadlines_expire() {
        let mut t = Transition::new(4, graph(vec![shutdown(0, &[]), shutdown(1, &[])], 0));
        t.start(ActionId(0), Some(Timestamp(100)));
        t.start(ActionId(1), Some(Timestamp(50)));
        assert_eq!(t.next_deadline(), Some(Timestamp(50)));
        assert_eq!(t.expired(Timestamp(49)), ids(&[]));
        assert_eq!(t.expired(Timestamp(100)), ids(&[0, 1]));
    }

    #[test]
    fn an_empty_graph_is_complete_at_once() {
        let t = Transition::new(5, graph(vec![], 0));
        assert!(t.is_complete());
        assert!(t.succeeded());
    }

    #[test]
    fn never_firing_actions_and_what_waits_on_them_are_incomplete() {
        // 0 blocked; 2 waits on 0 (its id is lower than nothing: inputs
        // may point forward too); 1 waits on 2; 3 is free.
        let mut t = Transition::new(
            6,
            graph(
                vec![
                    blocked(0, &[]),
                    shutdown(1, &[2]),
                    shutdown(2, &[0]),
                    shutdown(3, &[]),
                ],
                0,
            ),
        );
        assert!(t.never_fires(ActionId(0)));
        assert!(t.never_fires(ActionId(1)));
        assert!(t.never_fires(ActionId(2)));
        assert!(!t.never_fires(ActionId(3)));
        assert_eq!(t.ready(), ids(&[3]));
        t.start(ActionId(3), None);
        assert!(!t.is_complete());
        t.finish(ActionId(3), true);
        assert!(t.is_complete());
        assert_eq!(t.aborted(), None, "incomplete is not aborted");
        assert!(!t.succeeded());
        assert_eq!(
            t.progress(),
            Progress {
                done: 1,
                failed: 0,
                incomplete: 3,
                skipped: 0,
                total: 4
            }
        );
    }

    #[test]
    #[should_panic(expected = "can never fire")]
    fn starting_a_never_firing_action_is_a_bug() {
        let mut t = Transition::new(7, graph(vec![blocked(0, &[])], 0));
        t.start(ActionId(0), None);
    }
}
