//! The transition graph: the actions a schedule wants carried out and what
//! each waits for. The controller executes it (`core/transition.rs`); the
//! simulator and `warden simulate -S` execute it against simulated agents.
//!
//! Invariant: plain data; actions are numbered in a stable, sorted order so
//! the same schedule always renders the same graph.

use crate::core::action::ActionRequest;
use serde::Serialize;
use std::fmt;

/// Index of an action in `TransitionGraph::actions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ActionId(pub u32);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What fencing does to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FenceAction {
    Reboot,
    Off,
    On,
}

impl FenceAction {
    pub fn parse(s: &str) -> Option<FenceAction> {
        match s {
            "reboot" => Some(FenceAction::Reboot),
            "off" | "poweroff" => Some(FenceAction::Off),
            "on" => Some(FenceAction::On),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FenceAction::Reboot => "reboot",
            FenceAction::Off => "off",
            FenceAction::On => "on",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphActionKind {
    /// Run an agent action on a node. `expected_rc` is what a success looks
    /// like (7 for a probe of a resource believed stopped, 0 otherwise).
    Resource {
        request: ActionRequest,
        expected_rc: i32,
    },
    /// Cancel a recurring operation on a node.
    Cancel {
        rsc_id: String,
        node: String,
        action: String,
        interval_ms: u64,
    },
    /// Fence a node.
    Fence {
        target: String,
        action: FenceAction,
        reason: String,
    },
    /// Stop the cluster stack on a node that asked to shut down.
    Shutdown { node: String },
    /// Forget a resource's failures on a node.
    ClearFailcount { rsc_id: String, node: String },
    /// Forget a resource's whole operation history on a node (cleanup).
    ForgetHistory { rsc_id: String, node: String },
    /// Bookkeeping only (e.g. "group running"): done when its inputs are.
    Pseudo { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphAction {
    pub id: ActionId,
    pub kind: GraphActionKind,
    /// Actions that must complete before this one may start.
    pub inputs: Vec<ActionId>,
    /// Inputs that cannot happen in this transition: actions the ordering
    /// makes this one wait for but which are not runnable (so not in the
    /// graph). Pacemaker keeps such triggers in its graph, and the action
    /// then never fires in this transition (nor does anything after it);
    /// the next transition reconsiders it. Empty for almost every action.
    pub unrunnable_inputs: Vec<GraphActionKind>,
}

impl GraphAction {
    /// The node the action runs on (none for pseudo actions and fencing,
    /// which the fencer places).
    pub fn node(&self) -> Option<&str> {
        match &self.kind {
            GraphActionKind::Resource { request, .. } => Some(&request.node),
            GraphActionKind::Cancel { node, .. } => Some(node),
            GraphActionKind::Shutdown { node } => Some(node),
            GraphActionKind::ClearFailcount { node, .. } => Some(node),
            GraphActionKind::ForgetHistory { node, .. } => Some(node),
            GraphActionKind::Fence { .. } | GraphActionKind::Pseudo { .. } => None,
        }
    }

    /// A short, stable name such as `rsc1_start_0 on node1` for logs and
    /// dot output.
    pub fn label(&self) -> String {
        self.kind.label()
    }

    /// Whether the action can fire in this transition at all (it may still
    /// have to wait for its inputs).
    pub fn can_fire(&self) -> bool {
        self.unrunnable_inputs.is_empty()
    }
}

impl GraphActionKind {
    /// Pacemaker's name for the action ("rsc_start_0 node1").
    pub fn label(&self) -> String {
        match self {
            GraphActionKind::Resource { request, .. } => {
                format!("{} {}", request.key(), request.node)
            }
            GraphActionKind::Cancel {
                rsc_id,
                node,
                action,
                interval_ms,
            } => format!("{rsc_id}_{action}_{interval_ms} cancel {node}"),
            GraphActionKind::Fence { target, action, .. } => {
                format!("stonith '{}' {target}", action.as_str())
            }
            GraphActionKind::Shutdown { node } => format!("do_shutdown {node}"),
            GraphActionKind::ClearFailcount { rsc_id, node } => {
                format!("{rsc_id}_clear_failcount_0 {node}")
            }
            GraphActionKind::ForgetHistory { rsc_id, node } => {
                format!("{rsc_id}_delete_0 {node}")
            }
            GraphActionKind::Pseudo { name } => name.clone(),
        }
    }
}

/// The graph of one transition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransitionGraph {
    /// Indexed by `ActionId`.
    pub actions: Vec<GraphAction>,
    /// How long the controller waits for a fencing operation.
    pub stonith_timeout_ms: u64,
    /// Extra slack the controller allows on top of each action's timeout.
    pub cluster_delay_ms: u64,
    /// At most this many actions in flight cluster-wide (0 = no limit).
    pub batch_limit: u32,
}

impl TransitionGraph {
    pub fn action(&self, id: ActionId) -> &GraphAction {
        &self.actions[id.0 as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
