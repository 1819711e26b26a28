//! Layer 2 of the command line: the validated command. Every field is typed
//! and checked as far as it can be without the CIB or the agents (those
//! checks are layer 3, `edit.rs`).
//!
//! Invariant: plain data. A `Command` says what the operator asked for,
//! never how it is carried out.

/// `name=value` pairs in the order given.
pub type Pairs = Vec<(String, String)>;

/// `op ACTION k=v...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSpec {
    pub name: String,
    pub attrs: Pairs,
}

/// Where in a group resources go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Before(String),
    After(String),
}

/// How the operator named an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentName {
    /// `ocf:heartbeat:IPaddr2`, `systemd:opennebula`, `stonith:fence_ipmilan`.
    Full(crate::core::action::AgentRef),
    /// `IPaddr2`: pcs looks for the one agent of that type on this machine.
    Guess(String),
}

/// `resource create` / `stonith create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSpec {
    pub id: String,
    pub agent: AgentName,
    pub params: Pairs,
    pub ops: Vec<OpSpec>,
    pub meta: Pairs,
    pub group: Option<String>,
    pub placement: Option<Placement>,
    pub disabled: bool,
    pub no_default_ops: bool,
    /// Created with `stonith create`.
    pub stonith: bool,
}

/// `resource update` / `stonith update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSpec {
    pub id: String,
    pub params: Pairs,
    pub ops: Vec<OpSpec>,
    pub meta: Pairs,
    pub stonith: bool,
}

/// `constraint colocation add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColocationSpec {
    pub rsc: String,
    pub rsc_role: Option<String>,
    pub with_rsc: String,
    pub with_rsc_role: Option<String>,
    /// As given (checked to be a score).
    pub score: String,
    pub options: Pairs,
}

/// `constraint order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    pub first: String,
    pub first_action: String,
    pub then: String,
    pub then_action: String,
    pub options: Pairs,
}

/// `constraint location R prefers|avoids N[=S]...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferSpec {
    /// `R` or `regexp%PATTERN`.
    pub rsc: RscRef,
    pub prefers: bool,
    /// Node and its score, already negated for `avoids`.
    pub nodes: Vec<(String, String)>,
}

/// A constraint's resource: an id or a pattern (`regexp%...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RscRef {
    Id(String),
    Pattern(String),
}

impl RscRef {
    pub fn text(&self) -> &str {
        match self {
            RscRef::Id(s) | RscRef::Pattern(s) => s,
        }
    }
}

/// `constraint location R rule ...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub rsc: RscRef,
    pub constraint_id: Option<String>,
    pub rule_id: Option<String>,
    pub role: Option<String>,
    pub score: Option<String>,
    pub score_attribute: Option<String>,
    pub resource_discovery: Option<String>,
    pub expression: RuleExpr,
}

/// A rule expression in pcs's basic syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleExpr {
    /// `defined ATTR` / `not_defined ATTR`
    Defined { attribute: String, defined: bool },
    /// `ATTR OP [TYPE] VALUE`
    Compare {
        attribute: String,
        op: String,
        value_type: Option<String>,
        value: String,
    },
    /// `date gt|lt DATE`, `date in_range START to END`
    Date {
        op: String,
        start: Option<String>,
        end: Option<String>,
    },
    /// `E and E ...` / `E or E ...` (one operator per level, as pcs writes).
    Bool { op: String, items: Vec<RuleExpr> },
}

/// Which status view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
    Xml,
}

/// What the node standby/maintenance commands set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeMode {
    Standby,
    Maintenance,
}

/// A fencing level target: a node name, `regexp%PATTERN` or `attrib%NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelTarget {
    Node(String),
    Pattern(String),
    Attribute(String, String),
}

/// `warden daemon` (its flags, as given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonArgs {
    /// The configuration file, when given.
    pub config: Option<String>,
    pub start_empty: bool,
    pub state_dir: Option<String>,
    pub socket: Option<String>,
    pub node_name: Option<String>,
    pub standalone: bool,
    /// A CIB to seed an empty state directory with.
    pub cib: Option<String>,
    pub debug: bool,
}

/// `simulate` (crm_simulate's options, as given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulateSpec {
    /// `-x FILE` (else `-f FILE` / `CIB_file`).
    pub xml_file: Option<String>,
    /// `-t DATE` / `--date DATE`, as written.
    pub date: Option<String>,
    /// Compute the transition (`-R`, and implied by -S, -s, -G, -D).
    pub run: bool,
    /// Carry the transition out (`-S`).
    pub simulate: bool,
    pub show_scores: bool,
    pub save_graph: Option<String>,
    pub save_dotfile: Option<String>,
    pub save_output: Option<String>,
    pub quiet: bool,
    pub json: bool,
}

/// A command only the daemon carries out (live cluster only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveCommand {
    /// `stonith fence NODE [--off]`
    Fence { node: String, off: bool },
    /// `stonith confirm NODE`
    FenceConfirm { node: String },
    /// `stonith history [show] [NODE]`
    FenceHistory { node: Option<String> },
    /// `resource cleanup [RESOURCE] [node=NODE]`
    Cleanup {
        rsc: Option<String>,
        node: Option<String>,
    },
    /// `resource move RESOURCE [NODE]`
    Move { rsc: String, node: Option<String> },
    /// `resource ban RESOURCE [NODE]`
    Ban { rsc: String, node: Option<String> },
    /// `resource clear RESOURCE [NODE]`
    Clear { rsc: String, node: Option<String> },
    /// `resource restart RESOURCE [NODE]`
    Restart { rsc: String, node: Option<String> },
    /// `cluster status`
    ClusterStatus,
}

/// A validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(Vec<String>),
    Version,
    Completion(String),
    /// Carried out by the daemon; no file mode exists for it.
    Live(LiveCommand),
    /// `cluster setup`.
    ClusterSetup(super::cluster_setup::SetupSpec),
    /// `cluster start|stop|enable|disable`.
    ClusterService(super::cluster_setup::ServiceSpec),
    /// `cluster auth` / `host auth`: ssh reachability of the nodes.
    ClusterAuth(super::cluster_setup::AuthSpec),
    /// Understood, not available in this version.
    Unimplemented(String),
    ClusterCib {
        out: Option<String>,
    },
    PropertySet(Pairs),
    PropertyUnset(Vec<String>),
    PropertyConfig {
        names: Vec<String>,
        all: bool,
        defaults: bool,
    },
    ResourceCreate(CreateSpec),
    ResourceDelete {
        id: String,
        stonith: bool,
    },
    ResourceUpdate(UpdateSpec),
    ResourceMeta {
        id: String,
        meta: Pairs,
    },
    ResourceEnable {
        ids: Vec<String>,
        enable: bool,
        stonith: bool,
    },
    ResourceConfig {
        ids: Vec<String>,
        stonith: bool,
    },
    GroupAdd {
        group: String,
        members: Vec<String>,
        placement: Option<Placement>,
    },
    GroupRemove {
        group: String,
        members: Vec<String>,
    },
    GroupList,
    Describe {
        agent: AgentName,
        stonith: bool,
    },
    ListAgents {
        filter: Option<String>,
        stonith: bool,
    },
    Standards,
    Providers,
    Agents(Option<String>),
    ColocationAdd(ColocationSpec),
    ColocationRemove {
        rsc: String,
        with_rsc: String,
    },
    OrderAdd(OrderSpec),
    LocationPrefers(PreferSpec),
    LocationAdd {
        id: String,
        rsc: RscRef,
        node: String,
        score: String,
        options: Pairs,
    },
    LocationRule(RuleSpec),
    LocationRemove(String),
    ConstraintConfig,
    ConstraintRemove(Vec<String>),
    ConstraintRef(Vec<String>),
    LevelAdd {
        level: u32,
        target: LevelTarget,
        devices: Vec<String>,
    },
    LevelRemove {
        level: u32,
        target: Option<LevelTarget>,
        devices: Vec<String>,
    },
    LevelClear {
        target: Option<LevelTarget>,
        devices: Vec<String>,
    },
    LevelConfig,
    NodeMode {
        mode: NodeMode,
        on: bool,
        nodes: Vec<String>,
        all: bool,
    },
    NodeAttribute {
        node: Option<String>,
        pairs: Pairs,
    },
    ConfigShow,
    Status(OutputFormat),
    /// `status --watch`: redrawn when it changes, read every `interval_ms`.
    WatchStatus {
        format: OutputFormat,
        interval_ms: u64,
    },
    Sim(super::sim::SimArgs),
    Simulate(SimulateSpec),
    /// `warden daemon`.
    Daemon(DaemonArgs),
    /// `resource debug-start|debug-stop|... RESOURCE`: `command` is the
    /// `debug-*` word.
    Debug {
        command: String,
        rsc: String,
        full: bool,
    },
    /// `stonith test DEVICE`.
    StonithTest {
        device: String,
        action: crate::shell::fence_agents::TestAction,
        node: Option<String>,
    },
    /// `cib verify FILE` (file given) / `cluster verify` (file from -f).
    Verify {
        file: Option<String>,
        full: bool,
    },
}

impl Command {
    /// Whether the command reads a CIB (and so needs `-f FILE`).
    pub fn needs_cib(&self) -> bool {
        !matches!(
            self,
            Command::Help(_)
                | Command::Version
                | Command::Completion(_)
                | Command::Live(_)
                | Command::ClusterSetup(_)
                | Command::ClusterService(_)
                | Command::ClusterAuth(_)
                | Command::Unimplemented(_)
                | Command::Describe { .. }
                | Command::ListAgents { .. }
                | Command::Standards
                | Command::Providers
                | Command::Agents(_)
                | Command::Sim(_)
                | Command::Simulate(_)
                | Command::Daemon(_)
                | Command::Verify { .. }
        )
    }

    /// Whether the command may change the CIB (and so writes the file).
    pub fn writes_cib(&self) -> bool {
        matches!(
            self,
            Command::PropertySet(_)
                | Command::PropertyUnset(_)
                | Command::ResourceCreate(_)
                | Command::ResourceDelete { .. }
                | Command::ResourceUpdate(_)
                | Command::ResourceMeta { .. }
                | Command::ResourceEnable { .. }
                | Command::GroupAdd { .. }
                | Command::GroupRemove { .. }
                | Command::ColocationAdd(_)
                | Command::ColocationRemove { .. }
                | Command::OrderAdd(_)
                | Command::LocationPrefers(_)
                | Command::LocationAdd { .. }
                | Command::LocationRule(_)
                | Command::LocationRemove(_)
                | Command::ConstraintRemove(_)
                | Command::LevelAdd { .. }
                | Command::LevelRemove { .. }
                | Command::LevelClear { .. }
                | Command::NodeMode { .. }
                | Command::NodeAttribute { .. }
        ) && !matches!(self, Command::NodeAttribute { pairs, .. } if pairs.is_empty())
    }
}
