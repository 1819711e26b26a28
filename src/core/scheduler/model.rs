//! The scheduler's working state: nodes, resources, constraints and actions
//! as indexed arenas. Each phase fills in its own part — `unpack` the nodes'
//! and resources' current state, `assign` the placement (`allocated_to`,
//! `next_role`, scores), `actions` the action table and its orderings — and
//! later phases treat earlier parts as read-mostly, as Pacemaker does.
//!
//! Invariant: arenas only grow; indexes (`NodeIdx`, `RscIdx`, `ActIdx`) stay
//! valid for the whole run. No hash maps: every iteration order is the
//! order of creation or an explicit sort.

use super::util::Role;
use crate::core::cib::model::{Cib, Op};
use std::collections::{BTreeMap, BTreeSet};

pub type Attrs = BTreeMap<String, String>;

pub const INF: i32 = crate::core::cib::score::INFINITY;

/// Pacemaker's `pcmk__add_scores`.
pub fn add_scores(a: i32, b: i32) -> i32 {
    if a <= -INF || b <= -INF {
        return -INF;
    }
    if a >= INF || b >= INF {
        return INF;
    }
    (a + b).clamp(-INF, INF)
}

/// `char2score`.
pub fn char2score(s: Option<&str>) -> i32 {
    s.map(|s| crate::core::cib::Score::parse_lenient(s).0)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIdx(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RscIdx(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActIdx(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkIdx(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColocIdx(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Member,
    Remote,
    Ping,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub uname: String,
    pub kind: NodeType,
    /// The node's own score (from `<node score>`; -INFINITY once known offline).
    pub weight: i32,
    pub fixed: bool,
    pub online: bool,
    pub standby: bool,
    pub standby_onfail: bool,
    pub pending: bool,
    pub unclean: bool,
    pub unseen: bool,
    pub shutdown: bool,
    pub expected_up: bool,
    pub is_dc: bool,
    pub maintenance: bool,
    /// Node attributes: configured, transient, and built-in (`#uname`, ...).
    pub attrs: Attrs,
    /// Resources assigned so far (for balancing ties).
    pub num_resources: u32,
    pub count: i32,
    /// Sum of the priorities of the resources active here.
    pub priority: i32,
    pub unpacked: bool,
    /// Why the node must be fenced, once it must.
    pub fence_reason: Option<String>,
}

/// Discovery mode of a location entry (`resource-discovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Discover {
    #[default]
    Always,
    Never,
    Exclusive,
}

/// One node's entry in a resource's allowed-node table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub weight: i32,
    pub discover: Discover,
}

/// Per-node table; `None` = the node is not in the table (which matters:
/// Pacemaker distinguishes "absent" from "-INFINITY").
pub type NodeTable = Vec<Option<Allowed>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Primitive,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    StopStart,
    StopOnly,
    Block,
    StopUnexpected,
}

/// `enum action_fail_response`, numbered as Pacemaker numbers it (the
/// numbers matter when two failures are compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OnFail {
    Ignore = 0,
    Recover = 1,
    Migrate = 2,
    Block = 3,
    Stop = 4,
    Standby = 5,
    Fence = 6,
    RestartContainer = 7,
    Demote = 9,
}

/// What an action needs before it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Quorum,
    Fencing,
}

pub mod rflag {
    pub const ORPHAN: u64 = 0x1;
    pub const MANAGED: u64 = 0x2;
    pub const BLOCK: u64 = 0x4;
    pub const UNIQUE: u64 = 0x20;
    pub const FENCE_DEVICE: u64 = 0x40;
    pub const PROVISIONAL: u64 = 0x100;
    pub const ALLOCATING: u64 = 0x200;
    pub const MERGING: u64 = 0x400;
    pub const RESTARTING: u64 = 0x800;
    pub const STOP: u64 = 0x1000;
    pub const RELOAD: u64 = 0x2000;
    pub const CRITICAL: u64 = 0x8000;
    pub const FAILED: u64 = 0x10000;
    pub const RUNNABLE: u64 = 0x40000;
    pub const START_PENDING: u64 = 0x80000;
    pub const STARTING: u64 = 0x100000;
    pub const STOPPING: u64 = 0x200000;
    pub const STOP_UNEXPECTED: u64 = 0x400000;
    pub const ALLOW_MIGRATE: u64 = 0x800000;
    pub const FAILURE_IGNORED: u64 = 0x1000000;
    pub const MAINTENANCE: u64 = 0x4000000;
    pub const NEEDS_QUORUM: u64 = 0x10000000;
    pub const NEEDS_FENCING: u64 = 0x20000000;
    pub const NEEDS_UNFENCING: u64 = 0x40000000;
}

pub mod aflag {
    pub const PSEUDO: u32 = 0x1;
    pub const RUNNABLE: u32 = 0x2;
    pub const OPTIONAL: u32 = 0x4;
    pub const PRINT_ALWAYS: u32 = 0x8;
    pub const IMPLIED_BY_STONITH: u32 = 0x40;
    pub const MIGRATE_RUNNABLE: u32 = 0x80;
    pub const DANGLE: u32 = 0x800;
    pub const REQUIRES_ANY: u32 = 0x1000;
    pub const RESCHEDULE: u32 = 0x2000;
    pub const DC: u32 = 0x10000;
}

pub mod oflag {
    pub const NONE: u32 = 0x0;
    pub const OPTIONAL: u32 = 0x1;
    pub const APPLY_FIRST_NON_MIGRATABLE: u32 = 0x2;
    pub const IMPLIES_FIRST: u32 = 0x10;
    pub const IMPLIES_THEN: u32 = 0x20;
    pub const PROMOTED_IMPLIES_FIRST: u32 = 0x40;
    pub const IMPLIES_FIRST_MIGRATABLE: u32 = 0x80;
    pub const RUNNABLE_LEFT: u32 = 0x100;
    pub const PSEUDO_LEFT: u32 = 0x200;
    pub const IMPLIES_THEN_ON_NODE: u32 = 0x400;
    pub const PROBE: u32 = 0x800;
    pub const RESTART: u32 = 0x1000;
    pub const SERIALIZE_ONLY: u32 = 0x4000;
    pub const SAME_NODE: u32 = 0x8000;
    pub const IMPLIES_FIRST_PRINTED: u32 = 0x10000;
    pub const IMPLIES_THEN_PRINTED: u32 = 0x20000;
    pub const ASYMMETRICAL: u32 = 0x100000;
    pub const LOAD: u32 = 0x200000;
    pub const ONE_OR_MORE: u32 = 0x400000;
    pub const ANTI_COLOCATION: u32 = 0x800000;
    pub const PRESERVE: u32 = 0x1000000;
    pub const THEN_CANCELS_FIRST: u32 = 0x2000000;
}

#[derive(Debug, Clone)]
pub struct Resource<'a> {
    pub id: String,
    pub variant: Variant,
    pub parent: Option<RscIdx>,
    pub children: Vec<RscIdx>,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
    /// The configured operations (`<op>`), in order.
    pub ops: Vec<&'a Op>,
    /// Each of `ops`' key (`RSC_NAME_INTERVAL`), ASCII-lowercased.
    pub op_keys: Vec<String>,
    /// The name/value sets of the resource and of its group, for
    /// parameters evaluated per node.
    pub own_sets: &'a [crate::core::cib::model::NvSet],
    pub parent_sets: &'a [crate::core::cib::model::NvSet],
    pub meta: Attrs,
    /// Instance attributes evaluated without a node.
    pub params: Attrs,
    pub flags: u64,
    pub role: Role,
    pub next_role: Role,
    pub recovery: Recovery,
    pub priority: i32,
    pub stickiness: i32,
    /// Seconds; 0 = never expires.
    pub failure_timeout: i64,
    pub migration_threshold: i32,
    pub running_on: Vec<NodeIdx>,
    pub known_on: BTreeSet<NodeIdx>,
    pub allowed: NodeTable,
    pub allocated_to: Option<NodeIdx>,
    pub partial_migration_target: Option<NodeIdx>,
    pub partial_migration_source: Option<NodeIdx>,
    pub dangling_migrations: Vec<NodeIdx>,
    pub pending_task: Option<String>,
    pub pending_node: Option<NodeIdx>,
    /// Colocations where this resource is the dependent ("this with"),
    /// sorted by the primary's priority.
    pub this_with: Vec<ColocIdx>,
    /// Colocations where this resource is the primary ("with this").
    pub with_this: Vec<ColocIdx>,
    pub exclusive_discover: bool,
    /// Actions of this resource, oldest first.
    pub actions: Vec<ActIdx>,
    /// `actions` by key (ASCII-lowercased), each list oldest first.
    pub actions_by_key: BTreeMap<String, Vec<ActIdx>>,
    /// Where a shutdown lock holds the resource (`shutdown-lock`), and since when.
    pub lock_node: Option<NodeIdx>,
    pub lock_time: i64,
    /// The deprecated `restart-type=restart` meta (optional orderings then
    /// restart this resource too).
    pub restart_type_restart: bool,
    /// Group meta `ordered` / `collocated` (true unless set false).
    pub group_ordered: bool,
    pub group_colocated: bool,
}

impl Resource<'_> {
    pub fn has(&self, f: u64) -> bool {
        self.flags & f != 0
    }
    pub fn set(&mut self, f: u64) {
        self.flags |= f;
    }
    pub fn clear(&mut self, f: u64) {
        self.flags &= !f;
    }
}

#[derive(Debug, Clone)]
pub struct Link {
    pub action: ActIdx,
    pub kind: u32,
    pub dumped: bool,
}

#[derive(Debug, Clone)]
pub struct Action<'a> {
    pub rsc: Option<RscIdx>,
    pub node: Option<NodeIdx>,
    pub task: String,
    pub uuid: String,
    pub cancel_task: Option<String>,
    pub flags: u32,
    pub needs: Needs,
    pub on_fail: OnFail,
    pub fail_role: Role,
    pub meta: Attrs,
    pub reason: Option<String>,
    pub op_entry: Option<&'a Op>,
    /// Inputs, most recent first (as Pacemaker prepends).
    pub before: Vec<LinkIdx>,
    /// Outputs, most recent first.
    pub after: Vec<LinkIdx>,
    pub runnable_before: i32,
    pub required_runnable_before: i32,
}

impl Action<'_> {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// A colocation as the scheduler uses it.
#[derive(Debug, Clone)]
pub struct Colocation {
    pub id: String,
    pub dependent: RscIdx,
    pub primary: RscIdx,
    pub score: i32,
    pub dependent_role: Role,
    pub primary_role: Role,
    pub node_attribute: Option<String>,
    pub influence: bool,
}

/// A location preference: scores for some nodes.
#[derive(Debug, Clone)]
pub struct Location {
    pub id: String,
    pub rsc: RscIdx,
    pub role_filter: Role,
    pub discover: Discover,
    /// (node, score) in the order Pacemaker lists them.
    pub nodes: Vec<(NodeIdx, i32)>,
}

/// An ordering before it is resolved to actions.
#[derive(Debug, Clone)]
pub struct Ordering {
    pub id: u32,
    pub flags: u32,
    pub first_rsc: Option<RscIdx>,
    pub first_action: Option<ActIdx>,
    /// Shared, so applying an ordering does not copy its keys.
    pub first_task: Option<std::rc::Rc<str>>,
    pub then_rsc: Option<RscIdx>,
    pub then_action: Option<ActIdx>,
    pub then_task: Option<std::rc::Rc<str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumPolicy {
    Freeze,
    Stop,
    Ignore,
    Suicide,
    Demote,
}

/// Cluster options that change decisions.
#[derive(Debug, Clone)]
pub struct Config {
    pub have_quorum: bool,
    pub symmetric: bool,
    pub stonith_enabled: bool,
    pub have_stonith_resource: bool,
    pub stonith_action: String,
    pub stonith_timeout_ms: u64,
    pub concurrent_fencing: bool,
    pub no_quorum_policy: QuorumPolicy,
    pub stop_orphan_resources: bool,
    pub stop_orphan_actions: bool,
    pub maintenance_mode: bool,
    pub startup_fencing: bool,
    pub startup_probes: bool,
    pub stop_everything: bool,
    pub remove_after_stop: bool,
    pub enable_unfencing: bool,
    pub shutdown_lock: bool,
    pub shutdown_lock_limit_s: i64,
    pub priority_fencing_delay_s: i64,
    pub placement_strategy: String,
    pub cluster_delay_ms: u64,
    pub batch_limit: u32,
    pub dc_uuid: Option<String>,
    /// `crm_feature_set` of the CIB (decides legacy fail-count names).
    pub feature_set: String,
    /// Private parameters are masked in this CIB (a simulation), so a
    /// change of only those is no change (`pe_flag_sanitized`).
    pub sanitized: bool,
    pub props: Attrs,
}

/// The whole working state of one scheduler run.
pub struct Ws<'a> {
    pub cib: &'a Cib,
    pub now: i64,
    pub config: Config,
    pub nodes: Vec<Node>,
    pub rscs: Vec<Resource<'a>>,
    /// Resource ids to arena indexes (the first resource with an id wins).
    pub rsc_index: BTreeMap<String, RscIdx>,
    /// Top-level resources in processing order (sorted by priority).
    pub top: Vec<RscIdx>,
    pub colocations: Vec<Colocation>,
    pub locations: Vec<Location>,
    pub orderings: Vec<Ordering>,
    pub actions: Vec<Action<'a>>,
    pub links: Vec<Link>,
    /// Singleton actions by key (fencing, shutdown, pseudo ops).
    pub singletons: BTreeMap<String, ActIdx>,
    pub recheck_by: Option<i64>,
    /// The operation history of failed actions (for status output).
    pub failed_ops: Vec<(RscIdx, NodeIdx, String)>,
    pub warnings: Vec<String>,
    /// Sorted node order (`data_set->nodes`).
    pub node_order: Vec<NodeIdx>,
    /// Ids inside elements this scheduler does not manage (clones, bundles):
    /// their history is left alone.
    pub unsupported_ids: BTreeSet<String>,
    /// Allocation scores as assignment saw them (`crm_simulate -s`), kept
    /// only when asked for.
    pub score_trace: Option<Vec<ScoreLine>>,
    /// Recorded recurring operations whose failure expired: Pacemaker marks
    /// them (by replacing their restart digest in memory) so that they are
    /// issued again.
    pub restart_digest_overrides: BTreeSet<(NodeIdx, String)>,
    /// Informational messages a simulation prints with the scores.
    pub notices: Vec<Notice>,
}

/// Something a simulation reports beside the decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A recorded operation's definition differs only in private
    /// parameters, whose values a sanitized CIB masks: not a change.
    OnlyPrivateParametersChanged {
        interval_ms: u64,
        task: String,
        rsc: String,
        node: String,
        transition_magic: String,
    },
}

impl Notice {
    /// The message, with the interval already in words (callers that
    /// reproduce a tool's output exactly may word it differently).
    pub fn message(&self, interval: &str) -> String {
        match self {
            Notice::OnlyPrivateParametersChanged {
                task,
                rsc,
                node,
                transition_magic,
                ..
            } => format!(
                "Only 'private' parameters to {interval}-interval {task} for {rsc} on {node} changed: {transition_magic}"
            ),
        }
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Notice::OnlyPrivateParametersChanged { interval_ms, .. } = self;
        f.write_str(&self.message(&crate::core::time::readable_interval(*interval_ms)))
    }
}

/// One line of the allocation-score trace: the scores a resource had on a
/// node at the moment `prefix` (the assignment step) looked at them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScoreLine {
    pub prefix: &'static str,
    pub rsc: String,
    pub node: String,
    pub score: i32,
}

impl std::fmt::Display for ScoreLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} allocation score on {}: {}",
            self.prefix,
            self.rsc,
            self.node,
            crate::core::cib::score::Score(self.score)
        )
    }
}

impl<'a> Ws<'a> {
    pub fn node(&self, n: NodeIdx) -> &Node {
        &self.nodes[n.0 as usize]
    }
    pub fn node_mut(&mut self, n: NodeIdx) -> &mut Node {
        &mut self.nodes[n.0 as usize]
    }
    pub fn rsc(&self, r: RscIdx) -> &Resource<'a> {
        &self.rscs[r.0 as usize]
    }
    pub fn rsc_mut(&mut self, r: RscIdx) -> &mut Resource<'a> {
        &mut self.rscs[r.0 as usize]
    }
    pub fn act(&self, a: ActIdx) -> &Action<'a> {
        &self.actions[a.0 as usize]
    }
    pub fn act_mut(&mut self, a: ActIdx) -> &mut Action<'a> {
        &mut self.actions[a.0 as usize]
    }
    pub fn link(&self, l: LinkIdx) -> &Link {
        &self.links[l.0 as usize]
    }
    pub fn coloc(&self, c: ColocIdx) -> &Colocation {
        &self.colocations[c.0 as usize]
    }
    /// Finds a node by uname (case-insensitive, as Pacemaker).
    pub fn find_node(&self, uname: &str) -> Option<NodeIdx> {
        self.nodes
            .iter()
            .position(|n| n.uname.eq_ignore_ascii_case(uname))
            .map(|i| NodeIdx(i as u32))
    }

    /// Finds a node by id (falling back to uname), as `pe_find_node_any`.
    pub fn find_node_any(&self, id: &str, uname: &str) -> Option<NodeIdx> {
        if !id.is_empty() {
            if let Some(i) = self
                .nodes
                .iter()
                .position(|n| n.id.eq_ignore_ascii_case(id))
            {
                return Some(NodeIdx(i as u32));
            }
        }
        self.find_node(uname)
    }

    pub fn find_rsc(&self, id: &str) -> Option<RscIdx> {
        self.rsc_index.get(id).copied()
    }

    /// Adds a resource to the arena and the id index.
    pub fn push_rsc(&mut self, rsc: Resource<'a>) -> RscIdx {
        let r = RscIdx(self.rscs.len() as u32);
        self.rsc_index.entry(rsc.id.clone()).or_insert(r);
        self.rscs.push(rsc);
        r
    }

    /// The topmost ancestor (`uber_parent`).
    pub fn top_of(&self, mut r: RscIdx) -> RscIdx {
        while let Some(p) = self.rsc(r).parent {
            r = p;
        }
        r
    }

    pub fn is_parent(&self, child: RscIdx, rsc: RscIdx) -> bool {
        let mut p = self.rsc(child).parent;
        while let Some(x) = p {
            if x == rsc {
                return true;
            }
            p = self.rsc(x).parent;
        }
        false
    }

    /// `pcmk__node_available`.
    pub fn node_available(&self, n: NodeIdx, weight: Option<i32>) -> bool {
        let d = self.node(n);
        if !d.online || d.shutdown || d.unclean || d.standby || d.maintenance {
            return false;
        }
        if let Some(w) = weight {
            if w < 0 {
                return false;
            }
        }
        true
    }

    /// `pe__find_active_on`: the node a resource is active on, and counts of
    /// all and of clean active nodes.
    pub fn find_active_on(&self, r: RscIdx) -> (Option<NodeIdx>, u32, u32) {
        let rsc = self.rsc(r);
        let mut active: Option<NodeIdx> = None;
        let (mut all, mut clean) = (0, 0);
        for &n in &rsc.running_on {
            let d = self.node(n);
            let happy = d.online && !d.unclean;
            all += 1;
            if happy {
                clean += 1;
            }
            if let Some(src) = rsc.partial_migration_source {
                if n == src {
                    active = Some(n);
                }
            } else if !rsc.has(rflag::NEEDS_FENCING) {
                let act_ok = active.is_some_and(|a| {
                    let ad = self.node(a);
                    ad.online && !ad.unclean
                });
                if happy && !act_ok {
                    active = Some(n);
                }
            }
            if active.is_none() {
                active = Some(n);
            }
        }
        (active, all, clean)
    }

    /// `pe__current_node`.
    pub fn current_node(&self, r: RscIdx) -> Option<NodeIdx> {
        self.find_active_on(r).0
    }

    /// `pe_can_fence`.
    pub fn can_fence(&self, node: Option<NodeIdx>) -> bool {
        let c = &self.config;
        if !c.stonith_enabled || !c.have_stonith_resource {
            return false;
        }
        if c.have_quorum || c.no_quorum_policy == QuorumPolicy::Ignore {
            return true;
        }
        match node {
            None => false,
            Some(n) => self.node(n).online,
        }
    }

    pub fn update_recheck(&mut self, at: i64) {
        if at > self.now && self.recheck_by.is_none_or(|t| t > at) {
            self.recheck_by = Some(at);
        }
    }

    /// The resource's variant-specific "active" test (`fns->active`).
    pub fn rsc_active(&self, r: RscIdx, all: bool) -> bool {
        let rsc = self.rsc(r);
        match rsc.variant {
            Variant::Primitive => {
                for &n in &rsc.running_on {
                    let d = self.node(n);
                    if d.unclean {
                        return true;
                    } else if !d.online && rsc.has(rflag::MANAGED) {
                        continue;
                    } else {
                        return true;
                    }
                }
                false
            }
            Variant::Group => {
                let (mut c_all, mut c_any) = (true, false);
                for &c in &rsc.children {
                    if self.rsc_active(c, all) {
                        c_any = true;
                    } else {
                        c_all = false;
                    }
                }
                c_any && (c_all || !all)
            }
        }
    }

    /// The resource's role as `fns->state(rsc, TRUE)` reports it.
    pub fn rsc_state(&self, r: RscIdx, current: bool) -> Role {
        let rsc = self.rsc(r);
        match rsc.variant {
            Variant::Primitive => {
                if current {
                    rsc.role
                } else {
                    rsc.next_role
                }
            }
            Variant::Group => {
                let mut role = Role::Unknown;
                for &c in &rsc.children {
                    let cr = self.rsc_state(c, current);
                    if cr > role {
                        role = cr;
                    }
                }
                role
            }
        }
    }
}
