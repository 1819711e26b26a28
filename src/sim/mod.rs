//! The deterministic simulator: whole clusters in one process under a seed.
//!
//! N [`Node`]s, each driven only through `handle` / `poll_effect` /
//! `poll_timeout`, on a simulated clock, over a simulated corosync
//! ([`net`]: views, total order, virtual synchrony, partitions), with
//! simulated resource agents that have state (running, stopped, failed;
//! durations; injected failures and hangs) and simulated fence devices (a
//! fenced node really stops: its `Node` is dropped and its agents'
//! processes are gone; it boots again from its "disk" CIB with an empty
//! memory). Faults come from the seed (ChaCha): crashes, restarts,
//! partitions, one-way loss, swizzle-clogging, agent failures and hangs,
//! fence failures, message delays.
//!
//! After every step the [`check`] module compares what the cluster did
//! with the simulated ground truth (what the agents actually run): the
//! first violation stops the run and is reported with the seed and the
//! last lines of the timeline. [`scenario`] runs hand-written scripts;
//! [`swarm`] runs random ones, a safety phase then a liveness phase.
//!
//! Invariant: the simulator never reaches around the node interface, never
//! reads a real clock and draws every random choice from its one seeded
//! generator, so a seed replays exactly.

pub mod check;
pub mod model;
pub mod net;
pub mod scenario;
pub mod swarm;

use crate::core::action::{rc, ActionRequest, ActionResult, ExecStatus};
use crate::core::cib::{self, Cib, Version};
use crate::core::fencer::{AgentOutcome, AgentRun, RunId};
use crate::core::node::{Decision, Effect, Event, Node, NodeConfig};
use crate::core::replication::ClientRequest;
use crate::core::time::Timestamp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

/// 2025-01-01 00:00:00 UTC: where simulated time starts.
pub const EPOCH_SECS: i64 = 1_735_689_600;
/// Timeline lines kept for a failure report.
pub const TRACE_TAIL: usize = 300;

/// The OpenNebula front end of the operators' guide as a two-node
/// cluster: the guide's iLO fencing with `delay=30` on the device that
/// fences one-server1 and `delay=15` on the one that fences one-server2,
/// `no-quorum-policy=ignore`, and the front end's services in a group
/// (the VIP first, then oned, then the web services) so they start in
/// order where the VIP is.
pub const OPENNEBULA_CIB: &str = include_str!("opennebula.xml");

/// The two-node example of `examples/opennebula-two-node/` exactly as its
/// `setup.sh` writes it (the OpenNebula agents, per-node fence delays,
/// stickiness): the CIB of `warden sim`'s default run, named
/// `opennebula-two-node` in scenarios. It has no nodes yet (they join a
/// real cluster), so a scenario using it names them with `nodes`.
pub const OPENNEBULA_TWO_NODE_EXAMPLE: &str =
    include_str!("../../examples/opennebula-two-node/cib.xml");

/// Timing and behaviour of the simulated world.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    /// How long a powered-on node takes to boot and start the stack.
    pub boot_ms: i64,
    pub token_timeout_ms: i64,
    pub join_delay_ms: i64,
    pub latency_ms: (i64, i64),
    pub start_ms: (i64, i64),
    pub stop_ms: (i64, i64),
    pub monitor_ms: (i64, i64),
    pub fence_ms: (i64, i64),
    /// Keep the whole timeline (else only the last [`TRACE_TAIL`] lines).
    pub keep_trace: bool,
    /// Show agent-level and protocol lines too.
    pub verbose: bool,
}

impl SimOptions {
    pub fn new(seed: u64) -> SimOptions {
        SimOptions {
            seed,
            boot_ms: 30_000,
            token_timeout_ms: 1_000,
            join_delay_ms: 500,
            latency_ms: (1, 4),
            start_ms: (300, 2_000),
            stop_ms: (200, 1_200),
            monitor_ms: (10, 100),
            fence_ms: (300, 1_500),
            keep_trace: false,
            verbose: false,
        }
    }
}

/// Random failures while chaos is on (probabilities per action).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Chaos {
    pub action_fail: f64,
    pub action_hang: f64,
    pub fence_fail: f64,
    pub fence_hang: f64,
}

/// What a simulated agent is doing, as ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AgentState {
    Stopped,
    Starting,
    Running,
    Stopping,
    /// Failed: possibly (partly) active, must be stopped.
    Failed,
    /// The service died under the agent: not active, but the cluster did
    /// not stop it (for ordering, it was started and never stopped).
    Died,
}

impl AgentState {
    pub fn active(self) -> bool {
        !matches!(self, AgentState::Stopped | AgentState::Died)
    }
}

/// How an injected failure ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    Rc(i32),
    Hang,
}

#[derive(Debug, Clone)]
struct Injection {
    node: usize,
    rsc: String,
    action: String,
    outcome: Injected,
    times: u32,
}

/// A fault or an operator's act, applied at a point in simulated time.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Crash(usize),
    Boot(usize),
    /// Only nodes in the same group hear each other.
    Partition(Vec<Vec<usize>>),
    /// Every link up.
    Heal,
    /// Both directions down.
    Cut(usize, usize),
    /// One direction down (`a` no longer reaches `b`).
    Drop(usize, usize),
    /// Both directions up.
    Restore(usize, usize),
    /// Extra message latency for a while.
    Slow {
        extra_ms: i64,
        for_ms: i64,
    },
    /// The service dies under the agent (a monitor finds it not running).
    Kill {
        node: usize,
        rsc: String,
    },
    Inject {
        node: usize,
        rsc: String,
        action: String,
        outcome: Injected,
        times: u32,
    },
    /// Fencing `target` fails `times` times (the device reports an error).
    FenceFail {
        target: usize,
        times: u32,
    },
    Request {
        node: usize,
        request: ClientRequest,
    },
    /// The node is asked to stop (SIGTERM to its daemon): it leaves once
    /// the cluster stopped or moved its resources.
    Shutdown(usize),
    Chaos(Option<Chaos>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Off,
    /// Powered on, the stack not up yet.
    Booting,
    On,
}

#[derive(Debug, Clone)]
struct Job {
    id: u64,
    call_id: u64,
    req: ActionRequest,
    gen: Option<u64>,
    result: ActionResult,
    after: AgentState,
}

#[derive(Debug, Clone)]
struct Rec {
    call_id: u64,
    req: ActionRequest,
    last_rc: Option<i32>,
    gen: u64,
}

/// One node's simulated executor and the agents' ground truth.
#[derive(Debug, Default)]
struct Exec {
    agents: BTreeMap<String, AgentState>,
    running: BTreeMap<String, Job>,
    waiting: BTreeMap<String, VecDeque<(u64, ActionRequest, Option<u64>)>>,
    recurring: BTreeMap<(String, String, u64), Rec>,
    next_job: u64,
    next_gen: u64,
}

impl Exec {
    fn state(&self, rsc: &str) -> AgentState {
        self.agents.get(rsc).copied().unwrap_or(AgentState::Stopped)
    }

    /// Busy with something other than a recurring monitor.
    fn busy_one_shot(&self) -> bool {
        self.running.values().any(|j| j.gen.is_none())
            || self
                .waiting
                .values()
                .any(|q| q.iter().any(|(_, _, g)| g.is_none()))
    }
}

struct SimNode {
    name: String,
    id: u32,
    power: Power,
    inc: u64,
    node: Option<Node>,
    disk: Option<Cib>,
    /// The node persisted a newer CIB than `disk` holds.
    disk_stale: bool,
    exec: Exec,
    fence_runs: BTreeMap<RunId, AgentRun>,
    timer_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Deliver {
        uid: u64,
        node: usize,
    },
    Membership,
    Timer {
        node: usize,
        inc: u64,
    },
    ExecDone {
        node: usize,
        inc: u64,
        rsc: String,
        job: u64,
    },
    Recur {
        node: usize,
        inc: u64,
        key: (String, String, u64),
        gen: u64,
    },
    Report {
        node: usize,
        inc: u64,
        call_id: u64,
        result: ActionResult,
    },
    FenceDone {
        node: usize,
        inc: u64,
        run: RunId,
        outcome: AgentOutcome,
    },
    Boot {
        node: usize,
        inc: u64,
    },
    /// A node whose daemon exited after a clean shutdown leaves the group,
    /// once what it sent before is delivered (a CPG leave is ordered after
    /// the leaver's messages; corosync itself keeps running there).
    Leave {
        node: usize,
        inc: u64,
    },
    Fault(Fault),
}

/// A violated invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub at: Timestamp,
    pub invariant: String,
}

/// A client request's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub node: usize,
    pub request: ClientRequest,
    pub result: Option<Result<String, String>>,
}

/// The simulated cluster.
pub struct Sim {
    pub opts: SimOptions,
    now: Timestamp,
    start: Timestamp,
    rng: ChaCha8Rng,
    queue: BTreeMap<(Timestamp, u64), Ev>,
    seq: u64,
    nodes: Vec<SimNode>,
    net: net::Net,
    pub model: model::Model,
    initial_cib: Cib,
    injections: Vec<Injection>,
    fence_failures: BTreeMap<usize, u32>,
    chaos: Option<Chaos>,
    trace: VecDeque<String>,
    trace_total: usize,
    /// Timeline lines not yet taken by [`Sim::take_log`].
    log_from: usize,
    pub violation: Option<Violation>,
    checker: check::Checker,
    replies: BTreeMap<u64, Reply>,
    next_request: u64,
    /// Nodes an administrator put in maintenance (all of them for the
    /// cluster's `maintenance-mode`): the cluster does not manage what runs
    /// there, so placement checks leave it alone until
    /// [`Sim::end_maintenance`].
    maintenance: BTreeSet<usize>,
    /// Steps (events) handled.
    pub steps: u64,
}

fn pick(rng: &mut ChaCha8Rng, (lo, hi): (i64, i64)) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..=hi)
    }
}

impl Sim {
    /// A cluster of `names` (node ids 1..) that will start from `cib`.
    pub fn new(cib: &Cib, names: &[String], opts: SimOptions) -> Sim {
        let ids: Vec<u32> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                cib.configuration
                    .node(n)
                    .and_then(|d| d.id.parse().ok())
                    .unwrap_or(i as u32 + 1)
            })
            .collect();
        let mut net = net::Net::new(names.to_vec(), ids.clone());
        net.token_timeout_ms = opts.token_timeout_ms;
        net.join_delay_ms = opts.join_delay_ms;
        net.latency_ms = opts.latency_ms;
        let start = Timestamp::from_secs(EPOCH_SECS);
        let nodes = names
            .iter()
            .zip(&ids)
            .map(|(n, id)| SimNode {
                name: n.clone(),
                id: *id,
                power: Power::Off,
                inc: 0,
                node: None,
                disk: Some(cib.clone()),
                disk_stale: false,
                exec: Exec::default(),
                fence_runs: BTreeMap::new(),
                timer_at: None,
            })
            .collect();
        let model = model::Model::from_cib(cib);
        Sim {
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            checker: check::Checker::new(names.len()),
            opts,
            now: start,
            start,
            queue: BTreeMap::new(),
            seq: 0,
            nodes,
            net,
            model,
            initial_cib: cib.clone(),
            injections: Vec::new(),
            fence_failures: BTreeMap::new(),
            chaos: None,
            trace: VecDeque::new(),
            trace_total: 0,
            log_from: 0,
            violation: None,
            replies: BTreeMap::new(),
            next_request: 1,
            maintenance: BTreeSet::new(),
            steps: 0,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Milliseconds since the simulation started.
    pub fn elapsed_ms(&self) -> i64 {
        self.now.millis() - self.start.millis()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub fn power(&self, i: usize) -> Power {
        self.nodes[i].power
    }

    pub fn node(&self, i: usize) -> Option<&Node> {
        self.nodes[i].node.as_ref()
    }

    pub fn initial_cib(&self) -> &Cib {
        &self.initial_cib
    }

    /// Ground truth: the state of `rsc`'s agent on node `i`.
    pub fn agent(&self, i: usize, rsc: &str) -> AgentState {
        self.nodes[i].exec.state(rsc)
    }

    /// Powered-on nodes where `rsc` is active.
    pub fn active_on(&self, rsc: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].power != Power::Off && self.agent(i, rsc).active())
            .collect()
    }

    fn fmt_time(&self) -> String {
        let ms = self.elapsed_ms();
        format!("{:>4}.{:03}s", ms / 1000, ms % 1000)
    }

    /// Adds a timeline line (`node` names its author).
    pub fn trace(&mut self, node: Option<usize>, text: &str) {
        let who = match node {
            Some(i) => format!("{}: ", self.nodes[i].name),
            None => String::new(),
        };
        let line = format!("{} {who}{text}", self.fmt_time());
        self.trace.push_back(line);
        self.trace_total += 1;
        if !self.opts.keep_trace {
            while self.trace.len() > TRACE_TAIL {
                self.trace.pop_front();
            }
        }
    }

    /// The timeline kept so far.
    pub fn timeline(&self) -> Vec<String> {
        self.trace.iter().cloned().collect()
    }

    /// Timeline lines since the previous call.
    pub fn take_log(&mut self) -> Vec<String> {
        let skip_total = self.log_from;
        let first_kept = self.trace_total - self.trace.len();
        let from = skip_total.saturating_sub(first_kept);
        self.log_from = self.trace_total;
        self.trace.iter().skip(from).cloned().collect()
    }

    fn schedule(&mut self, at: Timestamp, ev: Ev) {
        let at = at.max(self.now);
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    /// Applies a fault at `at`.
    pub fn schedule_fault(&mut self, at: Timestamp, f: Fault) {
        self.schedule(at, Ev::Fault(f));
    }

    /// Powers every node on at once (the cluster's first start).
    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.power_on(i);
        }
    }

    /// Runs until `until` (or a violation).
    pub fn run_until(&mut self, until: Timestamp) {
        while self.violation.is_none() {
            let Some((&(at, seq), _)) = self.queue.first_key_value() else {
                break;
            };
            if at > until {
                break;
            }
            let ev = self.queue.remove(&(at, seq)).expect("just seen");
            self.now = at;
            self.steps += 1;
            self.dispatch(ev);
        }
        if self.violation.is_none() && self.now < until {
            self.now = until;
        }
    }

    pub fn run_for(&mut self, ms: i64) {
        let until = self.now.plus_ms(ms);
        self.run_until(until);
    }

    /// Runs until [`Sim::settled`] holds (checked every second) or `max_ms`
    /// passes; returns whether it settled.
    pub fn run_until_settled(&mut self, max_ms: i64) -> bool {
        let deadline = self.now.plus_ms(max_ms);
        loop {
            if self.violation.is_some() {
                return false;
            }
            if self.settled().is_ok() {
                return true;
            }
            if self.now >= deadline {
                return false;
            }
            let next = self.now.plus_ms(1_000).min(deadline);
            self.run_until(next);
        }
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver { uid, node } => {
                let msgs = self.net.take_due(uid, node, self.now);
                for (from, message) in msgs {
                    if self.nodes[node].node.is_none() {
                        break;
                    }
                    let from = self.nodes[from].name.clone();
                    self.handle(node, Event::Delivered { from, message });
                    if self.violation.is_some() {
                        return;
                    }
                }
                if self.net.views.get(&uid).is_some_and(|v| v.quiescent()) {
                    self.check_view(uid);
                    self.net.compact(uid);
                }
            }
            Ev::Membership => {
                if self.net.change_at.is_some_and(|t| t <= self.now) {
                    self.membership();
                }
            }
            Ev::Timer { node, inc } => {
                let n = &mut self.nodes[node];
                if n.inc != inc || n.node.is_none() {
                    return;
                }
                n.timer_at = None;
                let due = n
                    .node
                    .as_ref()
                    .and_then(|x| x.poll_timeout())
                    .is_some_and(|t| t <= self.now);
                if due {
                    self.handle(node, Event::Timer);
                } else {
                    self.rearm(node);
                }
            }
            Ev::ExecDone {
                node,
                inc,
                rsc,
                job,
            } => {
                if self.nodes[node].inc == inc {
                    self.exec_done(node, &rsc, job);
                }
            }
            Ev::Recur {
                node,
                inc,
                key,
                gen,
            } => {
                if self.nodes[node].inc != inc {
                    return;
                }
                let ex = &mut self.nodes[node].exec;
                if let Some(r) = ex.recurring.get(&key).filter(|r| r.gen == gen) {
                    let (call, req) = (r.call_id, r.req.clone());
                    ex.waiting
                        .entry(key.0.clone())
                        .or_default()
                        .push_back((call, req, Some(gen)));
                    self.pump(node, &key.0);
                }
            }
            Ev::Report {
                node,
                inc,
                call_id,
                result,
            } => {
                if self.nodes[node].inc == inc && self.nodes[node].node.is_some() {
                    self.handle(node, Event::ActionFinished { call_id, result });
                }
            }
            Ev::FenceDone {
                node,
                inc,
                run,
                outcome,
            } => {
                if self.nodes[node].inc == inc {
                    self.fence_done(node, run, outcome);
                }
            }
            Ev::Boot { node, inc } => {
                if self.nodes[node].power == Power::Booting && self.nodes[node].inc == inc {
                    self.nodes[node].power = Power::Off;
                    self.power_on(node);
                }
            }
            Ev::Leave { node, inc } => {
                if self.nodes[node].inc == inc && self.nodes[node].power == Power::On {
                    self.trace(Some(node), "left the cluster");
                    let active: BTreeSet<String> = self.nodes[node]
                        .exec
                        .agents
                        .iter()
                        .filter(|(_, s)| s.active())
                        .map(|(r, _)| r.clone())
                        .collect();
                    self.checker.left_cleanly(node, active);
                    self.power_off(node, false);
                }
            }
            Ev::Fault(f) => self.apply_fault(f),
        }
    }

    // ---- nodes ------------------------------------------------------------

    fn handle(&mut self, i: usize, event: Event) {
        let now = self.now;
        let Some(n) = self.nodes[i].node.as_mut() else {
            return;
        };
        n.handle(now, event);
        let effects: Vec<Effect> = std::iter::from_fn(|| n.poll_effect()).collect();
        let version = n.cib().version();
        for e in effects {
            self.effect(i, e);
            if self.nodes[i].node.is_none() {
                break;
            }
        }
        self.check_version(i, version);
        self.rearm(i);
    }

    fn rearm(&mut self, i: usize) {
        let n = &self.nodes[i];
        let Some(t) = n.node.as_ref().and_then(|x| x.poll_timeout()) else {
            return;
        };
        if n.timer_at.is_some_and(|armed| armed <= t) {
            return;
        }
        let inc = n.inc;
        self.nodes[i].timer_at = Some(t);
        self.schedule(t, Ev::Timer { node: i, inc });
    }

    fn effect(&mut self, i: usize, e: Effect) {
        match e {
            Effect::Broadcast(m) => {
                if let Some((uid, wake)) = self.net.send(self.now, i, m, &mut self.rng) {
                    for (member, at) in wake {
                        self.schedule(at, Ev::Deliver { uid, node: member });
                    }
                }
            }
            Effect::RunAction { call_id, request } => self.exec_run(i, call_id, request),
            Effect::CancelAction {
                rsc_id,
                action,
                interval_ms,
            } => self.exec_cancel(i, rsc_id, action, interval_ms),
            Effect::RunFenceAgent(run) => self.fence_run(i, run),
            Effect::KillFenceAgent { run } => {
                self.nodes[i].fence_runs.remove(&run);
            }
            // The disk is read at power-off: the node persists every change
            // at the end of the event that made it, and nodes only crash
            // between events, so the last persisted CIB is its current one.
            Effect::PersistCib { .. } => self.nodes[i].disk_stale = true,
            Effect::Reply {
                request_id, result, ..
            } => {
                let text = match &result {
                    Ok(s) => format!("request {request_id} done: {s}"),
                    Err(s) => format!("request {request_id} refused: {s}"),
                };
                if let Some(r) = self.replies.get_mut(&request_id) {
                    r.result = Some(result);
                }
                self.trace(Some(i), &text);
            }
            Effect::ShutdownComplete => {
                // The daemon exits (it handles nothing more) and leaves the
                // group once what it sent is delivered: for the others a
                // node that left; what still ran there is the checker's
                // concern (nothing must).
                self.trace(Some(i), "daemon exits (clean shutdown)");
                let n = &mut self.nodes[i];
                if n.disk_stale {
                    n.disk = n.node.as_ref().map(|x| x.cib().clone());
                    n.disk_stale = false;
                }
                n.node = None;
                n.timer_at = None;
                let inc = n.inc;
                let last_due = self.net.node_view[i]
                    .and_then(|uid| self.net.views.get(&uid))
                    .and_then(|v| v.msgs.iter().flat_map(|m| m.due.iter()).max().copied())
                    .unwrap_or(self.now)
                    .max(self.now);
                self.schedule(last_due.plus_ms(1), Ev::Leave { node: i, inc });
            }
            Effect::Log(d) => {
                let show = match &d {
                    Decision::View { .. } | Decision::Synced { .. } => self.opts.verbose,
                    Decision::Dc { dc } => *dc == self.nodes[i].name,
                    Decision::TransitionDone { .. } | Decision::Idle => self.opts.verbose,
                    _ => true,
                };
                if show {
                    self.trace(Some(i), &d.to_string());
                }
            }
        }
    }

    fn power_on(&mut self, i: usize) {
        if self.nodes[i].power != Power::Off {
            return;
        }
        let seed = self.opts.seed ^ ((i as u64 + 1) << 40) ^ (self.nodes[i].inc + 1);
        let n = &mut self.nodes[i];
        n.power = Power::On;
        n.inc += 1;
        n.exec = Exec::default();
        n.fence_runs.clear();
        n.timer_at = None;
        n.node = Some(Node::new(NodeConfig {
            name: n.name.clone(),
            id: n.id,
            seed,
            cib: n.disk.clone(),
            cluster: crate::core::replication::ClusterInfo {
                dc_version: crate::daemon::DC_VERSION.to_string(),
                infrastructure: "corosync".to_string(),
                cluster_name: Some("sim".to_string()),
            },
        }));
        if let Some(v) = n.node.as_ref().map(|x| x.cib().version()) {
            self.check_version(i, v);
        }
        self.net.alive[i] = true;
        self.net.join(self.now);
        self.schedule_membership();
        self.trace(Some(i), "up (the cluster stack started)");
    }

    /// Powers a node off (a crash, or fencing). Its agents' processes are
    /// gone with it.
    fn power_off(&mut self, i: usize, fenced: bool) {
        if fenced {
            self.checker.fenced(i);
        }
        if self.nodes[i].power == Power::Off {
            return;
        }
        if self.nodes[i].power == Power::Booting {
            self.nodes[i].power = Power::Off;
            self.nodes[i].inc += 1;
            return;
        }
        if !fenced {
            let active: BTreeSet<String> = self.nodes[i]
                .exec
                .agents
                .iter()
                .filter(|(_, s)| s.active())
                .map(|(r, _)| r.clone())
                .collect();
            self.checker.lost(i, active);
        }
        let n = &mut self.nodes[i];
        if n.disk_stale {
            n.disk = n.node.as_ref().map(|x| x.cib().clone());
            n.disk_stale = false;
        }
        n.power = Power::Off;
        n.inc += 1;
        n.node = None;
        n.exec = Exec::default();
        n.fence_runs.clear();
        n.timer_at = None;
        self.net.alive[i] = false;
        self.net.node_view[i] = None;
        self.net.disrupt(self.now);
        self.schedule_membership();
    }

    fn schedule_membership(&mut self) {
        if let Some(at) = self.net.change_at {
            self.schedule(at, Ev::Membership);
        }
    }

    fn membership(&mut self) {
        let transitions = self.net.recompute(&mut self.rng);
        let mut seen: BTreeSet<u64> = BTreeSet::new();
        for t in &transitions {
            if seen.insert(t.view.seq) {
                let names: Vec<&str> = t.view.members.iter().map(|m| m.name.as_str()).collect();
                let text = format!(
                    "view {}: {} ({})",
                    t.view.seq,
                    names.join(" "),
                    if t.view.quorate {
                        "quorate"
                    } else {
                        "no quorum"
                    }
                );
                self.trace(None, &text);
            }
        }
        for t in transitions {
            let node = t.node;
            for (from, message) in t.flush {
                if self.nodes[node].node.is_none() || self.violation.is_some() {
                    break;
                }
                let from = self.nodes[from].name.clone();
                self.handle(node, Event::Delivered { from, message });
            }
            self.net.enter(node, t.uid);
            if self.nodes[node].node.is_some() && self.violation.is_none() {
                self.handle(node, Event::Membership(t.view));
            }
        }
        // Views that survived a freeze deliver what waited.
        let uids: Vec<u64> = self.net.views.keys().copied().collect();
        for uid in uids {
            for (m, at) in self.net.pending(uid) {
                self.schedule(at, Ev::Deliver { uid, node: m });
            }
        }
        self.schedule_membership();
    }

    // ---- the simulated executor -------------------------------------------

    fn exec_run(&mut self, i: usize, call_id: u64, req: ActionRequest) {
        let rsc = req.rsc_id.clone();
        if req.action == "start" {
            self.check_start_request(i, &rsc);
        }
        let ex = &mut self.nodes[i].exec;
        let gen = if req.interval_ms > 0 {
            ex.next_gen += 1;
            let g = ex.next_gen;
            let key = (req.rsc_id.clone(), req.action.clone(), req.interval_ms);
            ex.recurring.insert(
                key,
                Rec {
                    call_id,
                    req: req.clone(),
                    last_rc: None,
                    gen: g,
                },
            );
            Some(g)
        } else {
            None
        };
        ex.waiting
            .entry(rsc.clone())
            .or_default()
            .push_back((call_id, req, gen));
        self.pump(i, &rsc);
    }

    fn exec_cancel(&mut self, i: usize, rsc: String, action: String, interval_ms: u64) {
        let key = (rsc.clone(), action, interval_ms);
        let inc = self.nodes[i].inc;
        let ex = &mut self.nodes[i].exec;
        let Some(rec) = ex.recurring.remove(&key) else {
            return;
        };
        if let Some(q) = ex.waiting.get_mut(&rsc) {
            q.retain(|(_, _, g)| *g != Some(rec.gen));
        }
        let was_running = ex.running.get(&rsc).is_some_and(|j| j.gen == Some(rec.gen));
        if was_running {
            ex.running.remove(&rsc);
        }
        let result = ActionResult {
            rc: rc::OK,
            status: ExecStatus::Cancelled,
            exit_reason: None,
            output: String::new(),
            duration_ms: 0,
        };
        self.schedule(
            self.now,
            Ev::Report {
                node: i,
                inc,
                call_id: rec.call_id,
                result,
            },
        );
        if was_running {
            self.pump(i, &rsc);
        }
    }

    fn injected(&mut self, i: usize, rsc: &str, action: &str) -> Option<Injected> {
        let pos = self
            .injections
            .iter()
            .position(|x| x.node == i && x.rsc == rsc && x.action == action)?;
        let outcome = self.injections[pos].outcome;
        self.injections[pos].times -= 1;
        if self.injections[pos].times == 0 {
            self.injections.remove(pos);
        }
        Some(outcome)
    }

    /// Starts the next queued action of `rsc` on node `i` if none runs.
    fn pump(&mut self, i: usize, rsc: &str) {
        loop {
            let ex = &mut self.nodes[i].exec;
            if ex.running.contains_key(rsc) {
                return;
            }
            let Some((call_id, req, gen)) = ex.waiting.get_mut(rsc).and_then(|q| q.pop_front())
            else {
                return;
            };
            if let Some(g) = gen {
                let key = (req.rsc_id.clone(), req.action.clone(), req.interval_ms);
                if ex.recurring.get(&key).is_none_or(|r| r.gen != g) {
                    continue;
                }
            }
            self.begin(i, call_id, req, gen);
            return;
        }
    }

    fn begin(&mut self, i: usize, call_id: u64, req: ActionRequest, gen: Option<u64>) {
        let rsc = req.rsc_id.clone();
        let before = self.nodes[i].exec.state(&rsc);
        let stonith = req.agent.standard.as_str() == "stonith";
        match req.action.as_str() {
            "start" => {
                self.check_start(i, &rsc);
                self.nodes[i]
                    .exec
                    .agents
                    .insert(rsc.clone(), AgentState::Starting);
            }
            "stop" => {
                self.check_stop(i, &rsc);
                if before.active() {
                    self.nodes[i]
                        .exec
                        .agents
                        .insert(rsc.clone(), AgentState::Stopping);
                }
            }
            _ => {}
        }
        let mut outcome = self.injected(i, &rsc, &req.action);
        let probe = req.action == "monitor" && req.interval_ms == 0;
        if outcome.is_none() && !stonith && !probe {
            if let Some(c) = self.chaos {
                let x: f64 = self.rng.gen();
                if x < c.action_hang {
                    outcome = Some(Injected::Hang);
                } else if x < c.action_hang + c.action_fail {
                    outcome = Some(Injected::Rc(rc::ERR_GENERIC));
                }
            }
        }
        let range = match req.action.as_str() {
            "start" => self.opts.start_ms,
            "stop" => self.opts.stop_ms,
            _ => self.opts.monitor_ms,
        };
        let mut duration = pick(&mut self.rng, range);
        let running_rc = |s: AgentState| match s {
            AgentState::Running => rc::OK,
            AgentState::Stopped | AgentState::Died => rc::NOT_RUNNING,
            _ => rc::ERR_GENERIC,
        };
        let (result_rc, status, reason, after) = match (req.action.as_str(), outcome) {
            (_, Some(Injected::Hang)) => {
                duration = req.timeout_ms as i64;
                let after = match req.action.as_str() {
                    "monitor" if !before.active() => before,
                    "start" | "stop" | "monitor" => AgentState::Failed,
                    _ => before,
                };
                (
                    rc::ERR_GENERIC,
                    ExecStatus::Timeout,
                    Some(format!("timed out after {}ms", req.timeout_ms)),
                    after,
                )
            }
            ("start", Some(Injected::Rc(code))) | ("stop", Some(Injected::Rc(code))) => (
                code,
                ExecStatus::Done,
                Some("injected failure".to_string()),
                AgentState::Failed,
            ),
            ("monitor", Some(Injected::Rc(code))) => {
                let after = if before.active() {
                    AgentState::Failed
                } else {
                    before
                };
                (
                    code,
                    ExecStatus::Done,
                    Some("injected failure".to_string()),
                    after,
                )
            }
            (_, Some(Injected::Rc(code))) => (
                code,
                ExecStatus::Done,
                Some("injected failure".into()),
                before,
            ),
            ("start", None) => (rc::OK, ExecStatus::Done, None, AgentState::Running),
            ("stop", None) => (rc::OK, ExecStatus::Done, None, AgentState::Stopped),
            ("monitor", None) => (running_rc(before), ExecStatus::Done, None, before),
            (_, None) => (rc::OK, ExecStatus::Done, None, before),
        };
        let ex = &mut self.nodes[i].exec;
        ex.next_job += 1;
        let id = ex.next_job;
        ex.running.insert(
            rsc.clone(),
            Job {
                id,
                call_id,
                req,
                gen,
                result: ActionResult {
                    rc: result_rc,
                    status,
                    exit_reason: reason,
                    output: String::new(),
                    duration_ms: duration as u64,
                },
                after,
            },
        );
        let inc = self.nodes[i].inc;
        self.schedule(
            self.now.plus_ms(duration),
            Ev::ExecDone {
                node: i,
                inc,
                rsc,
                job: id,
            },
        );
    }

    fn exec_done(&mut self, i: usize, rsc: &str, job: u64) {
        let ex = &mut self.nodes[i].exec;
        if ex.running.get(rsc).is_none_or(|j| j.id != job) {
            return;
        }
        let j = ex.running.remove(rsc).expect("checked");
        // A service killed while an action ran stays as the action left it.
        ex.agents.insert(rsc.to_string(), j.after);
        let interesting = matches!(j.req.action.as_str(), "start" | "stop")
            || j.result.status != ExecStatus::Done
            || (j.req.action == "monitor"
                && j.result.rc != rc::OK
                && j.result.rc != rc::NOT_RUNNING)
            || (j.req.interval_ms > 0 && j.result.rc != rc::OK);
        let mut report = true;
        if let Some(g) = j.gen {
            let key = (
                j.req.rsc_id.clone(),
                j.req.action.clone(),
                j.req.interval_ms,
            );
            match ex.recurring.get_mut(&key) {
                Some(r) if r.gen == g => {
                    report = r.last_rc != Some(j.result.rc);
                    r.last_rc = Some(j.result.rc);
                    let inc = self.nodes[i].inc;
                    let at = self.now.plus_ms(j.req.interval_ms as i64);
                    self.schedule(
                        at,
                        Ev::Recur {
                            node: i,
                            inc,
                            key,
                            gen: g,
                        },
                    );
                }
                _ => report = false,
            }
        }
        if interesting && (report || j.gen.is_none()) {
            let what = if j.result.status == ExecStatus::Timeout {
                "timed out".to_string()
            } else if j.result.rc == rc::OK {
                "ok".to_string()
            } else {
                format!("rc={}", j.result.rc)
            };
            let text = format!("agent: {} {} {what}", rsc, j.req.action);
            if self.opts.verbose || matches!(j.req.action.as_str(), "start" | "stop") {
                self.trace(Some(i), &text);
            }
        }
        if report {
            self.handle(
                i,
                Event::ActionFinished {
                    call_id: j.call_id,
                    result: j.result,
                },
            );
        }
        if self.nodes[i].node.is_some() {
            self.pump(i, rsc);
        }
    }

    // ---- simulated fence devices -----------------------------------------

    fn fence_run(&mut self, i: usize, run: AgentRun) {
        let target = run.target.as_deref().and_then(|t| self.index_of(t));
        let fencing = matches!(run.action.as_str(), "off" | "reboot");
        let delay_ms = if fencing {
            run.args
                .get("delay")
                .and_then(|d| d.trim().parse::<i64>().ok())
                .unwrap_or(0)
                * 1000
        } else {
            0
        };
        let mut duration = delay_ms + pick(&mut self.rng, self.opts.fence_ms);
        let mut outcome = AgentOutcome::exit(0);
        if fencing {
            if let Some(t) = target {
                if let Some(n) = self.fence_failures.get_mut(&t) {
                    *n -= 1;
                    if *n == 0 {
                        self.fence_failures.remove(&t);
                    }
                    outcome = AgentOutcome::exit(1);
                    outcome.reason = Some("injected device failure".to_string());
                }
            }
            if outcome.exit_code == Some(0) {
                if let Some(c) = self.chaos {
                    let x: f64 = self.rng.gen();
                    if x < c.fence_hang {
                        outcome = AgentOutcome::timeout();
                        duration = run.timeout_ms as i64;
                    } else if x < c.fence_hang + c.fence_fail {
                        outcome = AgentOutcome::exit(1);
                        outcome.reason = Some("device error".to_string());
                    }
                }
            }
        }
        if target.is_none() && run.target.is_some() {
            outcome = AgentOutcome::exit(1);
            outcome.reason = Some("no such host".to_string());
        }
        if run.action == "list" {
            let names: Vec<String> = self.nodes.iter().map(|n| n.name.clone()).collect();
            outcome = outcome.with_stdout(&names.join("\n"));
        }
        let inc = self.nodes[i].inc;
        let id = run.run;
        if self.opts.verbose {
            let text = format!(
                "fence agent {} {} {} (delay {}s)",
                run.device,
                run.action,
                run.target.as_deref().unwrap_or("-"),
                delay_ms / 1000
            );
            self.trace(Some(i), &text);
        }
        self.nodes[i].fence_runs.insert(id, run);
        self.schedule(
            self.now.plus_ms(duration),
            Ev::FenceDone {
                node: i,
                inc,
                run: id,
                outcome,
            },
        );
    }

    fn fence_done(&mut self, i: usize, run_id: RunId, mut outcome: AgentOutcome) {
        let Some(run) = self.nodes[i].fence_runs.remove(&run_id) else {
            return;
        };
        let target = run.target.as_deref().and_then(|t| self.index_of(t));
        if let (Some(t), Some(0)) = (target, outcome.exit_code) {
            match run.action.as_str() {
                "off" | "reboot" => {
                    let text = format!(
                        "{} {} {}: powered off",
                        run.device, run.action, self.nodes[t].name
                    );
                    self.trace(Some(i), &text);
                    self.power_off(t, true);
                    if run.action == "reboot" {
                        self.boot_later(t);
                    }
                }
                "on" if self.nodes[t].power == Power::Off => self.boot_later(t),
                "status" if self.nodes[t].power == Power::Off => {
                    outcome = AgentOutcome::exit(2);
                }
                _ => {}
            }
        }
        if self.nodes[i].node.is_some() {
            self.handle(
                i,
                Event::FenceAgentDone {
                    run: run_id,
                    outcome,
                },
            );
        }
    }

    fn boot_later(&mut self, t: usize) {
        if self.nodes[t].power != Power::Off {
            return;
        }
        self.nodes[t].power = Power::Booting;
        self.nodes[t].inc += 1;
        let inc = self.nodes[t].inc;
        let at = self.now.plus_ms(self.opts.boot_ms);
        self.schedule(at, Ev::Boot { node: t, inc });
    }

    // ---- faults -----------------------------------------------------------

    /// Sends a client request to node `i`; returns its id (see
    /// [`Sim::reply`]).
    pub fn request(&mut self, i: usize, request: ClientRequest) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        self.replies.insert(
            id,
            Reply {
                node: i,
                request: request.clone(),
                result: None,
            },
        );
        let text = format!("request {id}: {}", request.describe());
        self.trace(Some(i), &text);
        if let ClientRequest::Maintenance { node, on: true } = &request {
            match node.as_deref().and_then(|n| self.index_of(n)) {
                Some(m) => {
                    self.maintenance.insert(m);
                }
                None => self.maintenance.extend(0..self.nodes.len()),
            }
        }
        if self.nodes[i].node.is_none() {
            if let Some(r) = self.replies.get_mut(&id) {
                r.result = Some(Err("the node is down".to_string()));
            }
            return id;
        }
        // The operator's confirmation is the truth here only when the
        // node really is off; a false one is the checker's to catch.
        if let ClientRequest::FenceConfirm { target } = &request {
            if let Some(t) = self.index_of(target) {
                if self.nodes[t].power == Power::Off {
                    self.checker.fenced(t);
                }
            }
        }
        self.handle(
            i,
            Event::Client {
                request_id: id,
                request,
                user: Some("root".to_string()),
            },
        );
        id
    }

    pub fn reply(&self, id: u64) -> Option<&Reply> {
        self.replies.get(&id)
    }

    /// Maintenance is over and every resource was cleaned up: placement
    /// checks apply to all nodes again.
    pub fn end_maintenance(&mut self) {
        self.maintenance.clear();
    }

    /// Applies a fault now.
    pub fn apply_fault(&mut self, f: Fault) {
        let now = self.now;
        match f {
            Fault::Crash(i) => {
                if self.nodes[i].power == Power::On {
                    self.trace(Some(i), "crashed (powered off)");
                }
                self.power_off(i, false);
            }
            Fault::Boot(i) => {
                if self.nodes[i].power == Power::Off {
                    self.power_on(i);
                }
            }
            Fault::Partition(groups) => {
                let n = self.nodes.len();
                let group_of = |x: usize| groups.iter().position(|g| g.contains(&x));
                for a in 0..n {
                    for b in 0..n {
                        self.net.up[a][b] = a == b || group_of(a) == group_of(b);
                    }
                }
                let names: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|&x| self.nodes[x].name.clone())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                self.trace(None, &format!("network partitioned: {}", names.join(" | ")));
                self.net.disrupt(now);
            }
            Fault::Heal => {
                for row in &mut self.net.up {
                    for x in row.iter_mut() {
                        *x = true;
                    }
                }
                self.trace(None, "network healed");
                self.net.disrupt(now);
            }
            Fault::Cut(a, b) => {
                self.net.up[a][b] = false;
                self.net.up[b][a] = false;
                let text = format!("link {} - {} cut", self.nodes[a].name, self.nodes[b].name);
                self.trace(None, &text);
                self.net.disrupt(now);
            }
            Fault::Drop(a, b) => {
                self.net.up[a][b] = false;
                let text = format!(
                    "packets from {} to {} dropped",
                    self.nodes[a].name, self.nodes[b].name
                );
                self.trace(None, &text);
                self.net.disrupt(now);
            }
            Fault::Restore(a, b) => {
                self.net.up[a][b] = true;
                self.net.up[b][a] = true;
                let text = format!(
                    "link {} - {} restored",
                    self.nodes[a].name, self.nodes[b].name
                );
                self.trace(None, &text);
                self.net.disrupt(now);
            }
            Fault::Slow { extra_ms, for_ms } => {
                self.net.slow_extra_ms = extra_ms;
                self.net.slow_until = now.plus_ms(for_ms);
                self.trace(
                    None,
                    &format!("messages delayed by {extra_ms}ms for {}s", for_ms / 1000),
                );
            }
            Fault::Kill { node, rsc } => {
                let ex = &mut self.nodes[node].exec;
                if ex.state(&rsc) == AgentState::Running && !ex.running.contains_key(&rsc) {
                    ex.agents.insert(rsc.clone(), AgentState::Died);
                    self.trace(Some(node), &format!("{rsc} died"));
                }
            }
            Fault::Inject {
                node,
                rsc,
                action,
                outcome,
                times,
            } => self.injections.push(Injection {
                node,
                rsc,
                action,
                outcome,
                times: times.max(1),
            }),
            Fault::FenceFail { target, times } => {
                *self.fence_failures.entry(target).or_insert(0) += times.max(1);
            }
            Fault::Request { node, request } => {
                self.request(node, request);
            }
            Fault::Shutdown(i) => {
                if self.nodes[i].node.is_some() {
                    self.trace(Some(i), "asked to stop (SIGTERM)");
                    self.handle(i, Event::Shutdown);
                }
            }
            Fault::Chaos(c) => {
                self.chaos = c;
                if c.is_none() {
                    self.injections.clear();
                    self.fence_failures.clear();
                }
            }
        }
        self.schedule_membership();
    }

    // ---- views for reports ------------------------------------------------

    /// The cluster as the simulated world sees it, for people.
    pub fn status(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "status at {}:", self.fmt_time().trim());
        for (i, n) in self.nodes.iter().enumerate() {
            let state = match n.power {
                Power::Off => "off".to_string(),
                Power::Booting => "booting".to_string(),
                Power::On if n.node.is_none() => "leaving the cluster".to_string(),
                Power::On => {
                    let node = n.node.as_ref().expect("on means a node");
                    let mut v = match node.view() {
                        Some(view) => {
                            let names: Vec<&str> =
                                view.members.iter().map(|m| m.name.as_str()).collect();
                            format!(
                                "up, view [{}]{}",
                                names.join(" "),
                                if view.quorate { "" } else { " without quorum" }
                            )
                        }
                        None => "up, not in a view".to_string(),
                    };
                    if node.is_dc() {
                        v.push_str(", DC");
                    }
                    v
                }
            };
            let _ = writeln!(s, "  node {}: {state}", n.name);
            let _ = i;
        }
        for p in &self.model.prims {
            let mut on: Vec<String> = Vec::new();
            for (i, n) in self.nodes.iter().enumerate() {
                if n.power == Power::Off {
                    continue;
                }
                match self.agent(i, &p.id) {
                    AgentState::Stopped | AgentState::Died => {}
                    AgentState::Running => on.push(n.name.clone()),
                    other => on.push(format!("{} ({other:?})", n.name)),
                }
            }
            let where_ = if on.is_empty() {
                "stopped".to_string()
            } else {
                format!("running on {}", on.join(", "))
            };
            let _ = writeln!(s, "  {}: {where_}", p.id);
        }
        s
    }

    /// The DC's replica of the CIB (else the first up node's).
    pub fn dc_cib(&self) -> Option<&Cib> {
        let up = || self.nodes.iter().filter_map(|n| n.node.as_ref());
        up().find(|n| n.is_dc())
            .or_else(|| up().next())
            .map(|n| n.cib())
    }

    /// Nodes that are up, in the order given.
    pub fn up_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].power == Power::On)
            .collect()
    }

    /// The CIB digest of a node's replica (for tests).
    pub fn digest(&self, i: usize) -> Option<String> {
        self.nodes[i].node.as_ref().map(|n| cib::digest(n.cib()))
    }

    /// A node's CIB version.
    pub fn version(&self, i: usize) -> Option<Version> {
        self.nodes[i].node.as_ref().map(|n| n.cib().version())
    }
}
