//! The CIB replica: how every member keeps a byte-identical copy of the CIB.
//!
//! Rules, and why they hold:
//!
//! * **Every change is a delivered message, applied in delivery order by
//!   every member of the view.** Corosync's virtual synchrony gives all
//!   members of a view the same messages in the same order, and every
//!   function here is deterministic (no clock, no randomness: a time that
//!   matters travels inside the message), so replicas that start equal stay
//!   equal, versions included.
//! * **A view change is followed by a sync.** Each member announces its
//!   version and digest in a [`Join`]; the member with the highest
//!   (`admin_epoch`, `epoch`, `num_updates`), ties broken by the lowest
//!   node id, is the source; if any member's digest differs it broadcasts
//!   its whole CIB (one message per CIB, never one per resource), which
//!   the others adopt. Versions therefore only grow on every member.
//! * **The status section is rebuilt, never invented.** Each node is the
//!   only author of its own operation history and transient attributes
//!   (as Pacemaker's executor and attribute manager are): it reports them
//!   whole in its `Join`, and one resource at a time afterwards
//!   ([`set_resource_history`]). After the sync every member writes each
//!   member's `node_state` from that report: whatever a stale replica said
//!   about a live node is replaced by what the node itself knows.
//! * **Nodes that are not members are marked lost, conservatively.** Their
//!   `node_state` says `in_ccm=false`, `crmd=offline`, `join=down`; it keeps
//!   `expected=member` (so the scheduler fences the node) if *any* member's
//!   replica expected it up, even when the sync source thought it cleanly
//!   down: merging partitions must never turn "unknown" into "safe".
//! * A fencing result marks the target down, expected down, and discards
//!   its history and transient attributes (Pacemaker's
//!   `send_stonith_update`): the result is delivered in the view in which
//!   the fencing completed, so whatever incarnation of the target ran then
//!   (even one that rejoined while the fencing waited out its delay) is
//!   gone, and its departure from the view is not a new loss. When it
//!   boots again it rejoins with an empty history of its own.
//!
//! Invariant: pure functions on a `Cib` and on plain data. No IO, no clock,
//! no decision about *what* should run (that is the scheduler's), no
//! knowledge of who is DC beyond what it is told to write.

use crate::core::action::ExecStatus;
use crate::core::cib::{
    self, Change, Cib, ConstraintItem, Location, Lrm, LrmResource, LrmRscOp, NodeDef, NodeState,
    NvPair, NvSet, SetKind, Transient, Version,
};
use crate::core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The feature set warden writes in operation records.
pub use crate::core::cib::FEATURE_SET;

// ---------------------------------------------------------------------------
// Wire data
// ---------------------------------------------------------------------------

/// A CIB version on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct WireVersion {
    pub admin_epoch: u64,
    pub epoch: u64,
    pub num_updates: u64,
}

impl From<Version> for WireVersion {
    fn from(v: Version) -> WireVersion {
        WireVersion {
            admin_epoch: v.admin_epoch,
            epoch: v.epoch,
            num_updates: v.num_updates,
        }
    }
}

impl From<WireVersion> for Version {
    fn from(v: WireVersion) -> Version {
        Version {
            admin_epoch: v.admin_epoch,
            epoch: v.epoch,
            num_updates: v.num_updates,
        }
    }
}

/// One recorded operation, as the node that ran it records it
/// (`lrm_rsc_op`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpEntry {
    /// `RSC_last_0`, `RSC_last_failure_0` or `RSC_monitor_10000`.
    pub id: String,
    /// `RSC_ACTION_INTERVAL`.
    pub key: String,
    pub operation: String,
    pub interval_ms: u64,
    pub call_id: i64,
    pub rc: i32,
    /// `op-status`.
    pub status: i32,
    /// `action:transition:target_rc:dc-uuid`.
    pub transition_key: String,
    pub exit_reason: String,
    pub on_node: String,
    /// Seconds since the epoch.
    pub last_rc_change: i64,
    pub exec_ms: u64,
    pub queue_ms: u64,
    /// `op-digest`: the digest of the parameters the action ran with
    /// ([`crate::core::scheduler::digest::request_digest`]), so that the
    /// scheduler sees a definition changed since (without it every
    /// definition looks changed).
    pub op_digest: Option<String>,
}

/// One resource's operation history on one node (`lrm_resource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RscHistory {
    pub id: String,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
    pub ops: Vec<OpEntry>,
}

/// One result, as the node that ran the action knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult<'a> {
    pub node: &'a str,
    pub task: &'a str,
    pub interval_ms: u64,
    pub call_id: i64,
    pub rc: i32,
    pub status: ExecStatus,
    pub expected_rc: i32,
    pub transition_key: &'a str,
    pub exit_reason: Option<&'a str>,
    pub now: Timestamp,
    pub exec_ms: u64,
    /// See [`OpEntry::op_digest`].
    pub op_digest: Option<&'a str>,
}

/// Whether a result is a failure (Pacemaker's `did_rsc_op_fail`): anything
/// but a completed action with the expected code; cancellations and
/// pending actions are not failures.
pub fn op_failed(status: ExecStatus, rc_code: i32, expected_rc: i32) -> bool {
    match status {
        ExecStatus::Cancelled | ExecStatus::Pending => false,
        ExecStatus::Done => rc_code != expected_rc,
        _ => true,
    }
}

impl RscHistory {
    pub fn new(id: &str, class: Option<&str>, provider: Option<&str>, kind: Option<&str>) -> Self {
        RscHistory {
            id: id.to_string(),
            class: class.map(str::to_string),
            provider: provider.map(str::to_string),
            kind: kind.map(str::to_string),
            ops: Vec::new(),
        }
    }

    fn upsert(&mut self, op: OpEntry) {
        match self.ops.iter().position(|o| o.id == op.id) {
            Some(i) => self.ops[i] = op,
            None => self.ops.push(op),
        }
    }

    pub fn remove_op(&mut self, id: &str) -> bool {
        let before = self.ops.len();
        self.ops.retain(|o| o.id != id);
        before != self.ops.len()
    }

    /// Records a result as Pacemaker's controller does
    /// (`pcmk__create_history_xml`): a failure goes to `RSC_last_failure_0`
    /// (and, for a one-shot action, `RSC_last_0` too); a success of a
    /// recurring action to `RSC_ACTION_INTERVAL`, of a one-shot action to
    /// `RSC_last_0`. A reload is recorded as a start when it succeeded and
    /// as a monitor when it failed. Returns whether it was a failure.
    pub fn record(&mut self, r: &OpResult) -> bool {
        let failed = op_failed(r.status, r.rc, r.expected_rc);
        let task = match r.task {
            "reload" | "reload-agent" if r.status == ExecStatus::Done => "start",
            "reload" | "reload-agent" => "monitor",
            t => t,
        };
        let key = format!("{}_{}_{}", self.id, task, r.interval_ms);
        let mut ids = Vec::new();
        if task == "migrate_to" || task == "migrate_from" {
            ids.push(key.clone());
        } else if failed {
            ids.push(format!("{}_last_failure_0", self.id));
            if r.interval_ms == 0 {
                ids.push(format!("{}_last_0", self.id));
            }
        } else if r.interval_ms > 0 {
            ids.push(key.clone());
        } else {
            ids.push(format!("{}_last_0", self.id));
        }
        for id in ids {
            self.upsert(OpEntry {
                id,
                key: key.clone(),
                operation: task.to_string(),
                interval_ms: r.interval_ms,
                call_id: r.call_id,
                rc: r.rc,
                status: r.status.code(),
                transition_key: r.transition_key.to_string(),
                exit_reason: if failed {
                    r.exit_reason.unwrap_or("").to_string()
                } else {
                    String::new()
                },
                on_node: r.node.to_string(),
                last_rc_change: r.now.secs(),
                exec_ms: r.exec_ms,
                queue_ms: 0,
                op_digest: r.op_digest.map(str::to_string),
            });
        }
        failed
    }

    /// The `lrm_resource` element for the CIB.
    pub fn to_cib(&self) -> LrmResource {
        LrmResource {
            id: self.id.clone(),
            class: self.class.clone(),
            provider: self.provider.clone(),
            kind: self.kind.clone(),
            ops: self.ops.iter().map(OpEntry::to_cib).collect(),
            ..LrmResource::default()
        }
    }
}

impl OpEntry {
    pub fn to_cib(&self) -> LrmRscOp {
        LrmRscOp {
            id: self.id.clone(),
            operation_key: Some(self.key.clone()),
            operation: self.operation.clone(),
            crm_debug_origin: Some("do_update_resource".to_string()),
            crm_feature_set: Some(FEATURE_SET.to_string()),
            transition_key: Some(self.transition_key.clone()),
            transition_magic: Some(format!(
                "{}:{};{}",
                self.status, self.rc, self.transition_key
            )),
            exit_reason: Some(self.exit_reason.clone()),
            on_node: Some(self.on_node.clone()),
            call_id: Some(self.call_id),
            rc_code: Some(self.rc),
            op_status: Some(self.status),
            interval_ms: Some(self.interval_ms),
            last_rc_change: Some(self.last_rc_change),
            exec_time: Some(self.exec_ms as i64),
            queue_time: Some(self.queue_ms as i64),
            op_digest: self.op_digest.clone(),
            ..LrmRscOp::default()
        }
    }
}

/// `fail-count-RSC#ACTION_INTERVAL` (Pacemaker's per-operation fail count).
pub fn failcount_name(rsc: &str, task: &str, interval_ms: u64) -> String {
    format!("fail-count-{rsc}#{task}_{interval_ms}")
}

/// `last-failure-RSC#ACTION_INTERVAL`.
pub fn last_failure_name(rsc: &str, task: &str, interval_ms: u64) -> String {
    format!("last-failure-{rsc}#{task}_{interval_ms}")
}

/// How a failure changes the node's transient attributes (Pacemaker's
/// `update_failcount`): a failed start sets the fail count to INFINITY when
/// `start-failure-is-fatal` (the default), else adds one; a failed stop
/// always sets INFINITY; failed recurring actions (and promote/demote) add
/// one; other one-shot actions (probes) count nothing. `last-failure` is set
/// whenever the fail count would be, even when failures are ignored
/// (`on-fail=ignore`), so the failure can still be shown.
pub fn record_failure(
    attrs: &mut BTreeMap<String, String>,
    rsc: &str,
    task: &str,
    interval_ms: u64,
    start_failure_is_fatal: bool,
    ignore_failures: bool,
    now: Timestamp,
) -> bool {
    let value: Option<&str> = if interval_ms > 0 || task == "promote" || task == "demote" {
        None
    } else if task == "start" {
        if start_failure_is_fatal {
            Some("INFINITY")
        } else {
            None
        }
    } else if task == "stop" {
        Some("INFINITY")
    } else {
        return false;
    };
    if !ignore_failures {
        let name = failcount_name(rsc, task, interval_ms);
        let next = match value {
            Some(v) => v.to_string(),
            None => {
                let cur = attrs.get(&name).map(String::as_str).unwrap_or("0");
                if cur.eq_ignore_ascii_case("INFINITY") || cur.eq_ignore_ascii_case("+INFINITY") {
                    "INFINITY".to_string()
                } else {
                    let n: i64 = cur.trim().parse().unwrap_or(0);
                    (n.saturating_add(1)).min(1_000_000).to_string()
                }
            }
        };
        attrs.insert(name, next);
    }
    attrs.insert(
        last_failure_name(rsc, task, interval_ms),
        now.secs().to_string(),
    );
    true
}

/// Removes a resource's fail counts and last-failure times.
pub fn clear_failures(attrs: &mut BTreeMap<String, String>, rsc: &str) -> bool {
    let fc = format!("fail-count-{rsc}#");
    let lf = format!("last-failure-{rsc}#");
    let before = attrs.len();
    attrs.retain(|k, _| !(k.starts_with(&fc) || k.starts_with(&lf)));
    before != attrs.len()
}

/// What a member tells the others when a view starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub node: String,
    pub node_id: u32,
    pub version: WireVersion,
    pub digest: String,
    /// Whether this node was DC in its previous view, and whether that view
    /// had quorum: the DC choice prefers it, so that joins do not move the DC.
    pub was_dc: Option<bool>,
    /// Its own operation history (authoritative).
    pub history: Vec<RscHistory>,
    /// Its own transient attributes (fail counts, ...).
    pub attrs: BTreeMap<String, String>,
    /// Other nodes its replica expects to be up (`expected=member`): a node
    /// not in the view that any member expected up is fenced.
    pub expected_up: Vec<String>,
    /// Whether one-shot actions are still running on this node: a new DC
    /// waits for their results before it schedules (the history it was
    /// given does not say how they end).
    pub busy: bool,
    /// Targets this node fenced (powered off) in an earlier view whose
    /// result it has not seen delivered: a view change may have swallowed
    /// it. See [`rebuild_status`].
    pub fenced: Vec<String>,
}

/// The member whose CIB everyone adopts: highest version, then lowest node
/// id.
pub fn sync_source(joins: &[&Join]) -> Option<String> {
    joins
        .iter()
        .max_by(|a, b| a.version.cmp(&b.version).then(b.node_id.cmp(&a.node_id)))
        .map(|j| j.node.clone())
}

/// Whether the members differ, so the source must send its CIB.
pub fn sync_needed(joins: &[&Join], source: &str) -> bool {
    let Some(src) = joins.iter().find(|j| j.node == source) else {
        return false;
    };
    joins.iter().any(|j| j.digest != src.digest)
}

// ---------------------------------------------------------------------------
// CIB edits
// ---------------------------------------------------------------------------

/// The configured id of a node (its corosync node id for nodes warden
/// added), falling back to its name.
pub fn node_id_of(cib: &Cib, uname: &str) -> String {
    cib.configuration
        .node(uname)
        .map(|n| n.id.clone())
        .unwrap_or_else(|| uname.to_string())
}

fn node_state_mut<'c>(cib: &'c mut Cib, uname: &str) -> &'c mut NodeState {
    let id = node_id_of(cib, uname);
    let pos = cib
        .status
        .node_states
        .iter()
        .position(|s| s.uname.as_deref() == Some(uname) || s.id == id);
    let i = match pos {
        Some(i) => i,
        None => {
            cib.status.node_states.push(NodeState {
                id: id.clone(),
                uname: Some(uname.to_string()),
                ..NodeState::default()
            });
            cib.status.node_states.len() - 1
        }
    };
    let st = &mut cib.status.node_states[i];
    st.id = id;
    st
}

fn node_state<'c>(cib: &'c Cib, uname: &str) -> Option<&'c NodeState> {
    cib.status
        .node_states
        .iter()
        .find(|s| s.uname.as_deref() == Some(uname))
}

fn set(v: &mut Option<String>, value: &str) {
    *v = Some(value.to_string());
}

/// Pacemaker's id sanitizing (`crm_xml_sanitize_id`): `:` and `#` become `.`.
pub fn sanitize_id(id: &str) -> String {
    id.replace([':', '#'], ".")
}

fn transient_of(node_id: &str, attrs: &BTreeMap<String, String>) -> Option<Transient> {
    let set_id = format!("status-{node_id}");
    let mut s = NvSet::new(SetKind::Instance, set_id.clone());
    for (k, v) in attrs {
        s.pairs.push(NvPair::new(
            sanitize_id(&format!("{set_id}-{k}")),
            k.clone(),
            v.clone(),
        ));
    }
    Some(Transient {
        id: Some(node_id.to_string()),
        sets: vec![s],
        ..Transient::default()
    })
}

fn lrm_of(node_id: &str, history: &[RscHistory]) -> Lrm {
    Lrm {
        id: Some(node_id.to_string()),
        has_resources_element: true,
        resources: history.iter().map(RscHistory::to_cib).collect(),
        ..Lrm::default()
    }
}

/// Writes one resource's history on `node` (`None` removes it) and the
/// node's transient attributes. A status change.
pub fn set_resource_history(
    cib: &mut Cib,
    node: &str,
    rsc: &str,
    history: Option<&RscHistory>,
    attrs: &BTreeMap<String, String>,
) {
    let st = node_state_mut(cib, node);
    let id = st.id.clone();
    let lrm = st.lrm.get_or_insert_with(|| lrm_of(&id, &[]));
    lrm.has_resources_element = true;
    let pos = lrm.resources.iter().position(|r| r.id == rsc);
    match (pos, history) {
        (Some(i), Some(h)) => lrm.resources[i] = h.to_cib(),
        (None, Some(h)) => lrm.resources.push(h.to_cib()),
        (Some(i), None) => {
            lrm.resources.remove(i);
        }
        (None, None) => {}
    }
    st.transient = transient_of(&id, attrs);
    cib.bump(Change::Status);
}

/// The transient attributes recorded for `node` in the CIB.
pub fn recorded_attrs(cib: &Cib, node: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(t) = node_state(cib, node).and_then(|s| s.transient.as_ref()) {
        for s in &t.sets {
            for p in &s.pairs {
                if let Some(v) = &p.value {
                    out.insert(p.name.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// Records a confirmed fencing of `target`: down and expected down, its
/// history and transient attributes gone. A status change.
pub fn mark_fenced(cib: &mut Cib, target: &str) {
    set_fenced(node_state_mut(cib, target));
    cib.bump(Change::Status);
}

fn set_fenced(st: &mut NodeState) {
    set(&mut st.in_ccm, "false");
    set(&mut st.crmd, "offline");
    set(&mut st.join, "down");
    set(&mut st.expected, "down");
    set(&mut st.crm_debug_origin, "send_stonith_update");
    st.lrm = None;
    st.transient = None;
}

/// Forgets `rsc`'s history and failures on `node` in the CIB (cleanup of a
/// node that is not here to report itself). Returns whether anything went.
pub fn forget_resource(cib: &mut Cib, node: &str, rsc: &str) -> bool {
    let Some(st) = cib
        .status
        .node_states
        .iter_mut()
        .find(|s| s.uname.as_deref() == Some(node))
    else {
        return false;
    };
    let mut changed = false;
    if let Some(lrm) = &mut st.lrm {
        let before = lrm.resources.len();
        lrm.resources.retain(|r| r.id != rsc);
        changed |= before != lrm.resources.len();
    }
    if let Some(t) = &mut st.transient {
        let fc = format!("fail-count-{rsc}#");
        let lf = format!("last-failure-{rsc}#");
        for s in &mut t.sets {
            let before = s.pairs.len();
            s.pairs
                .retain(|p| !(p.name.starts_with(&fc) || p.name.starts_with(&lf)));
            changed |= before != s.pairs.len();
        }
    }
    if changed {
        cib.bump(Change::Status);
    }
    changed
}

/// One member of a view.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    pub id: u32,
    pub name: String,
}

/// Nodes this replica expects up (`expected=member`), other than `me`.
pub fn expected_up(cib: &Cib, me: &str) -> Vec<String> {
    let mut v: Vec<String> = cib
        .status
        .node_states
        .iter()
        .filter(|s| s.expected.as_deref() == Some("member"))
        .filter_map(|s| s.uname.clone())
        .filter(|u| u != me)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// After a sync: every member's `node_state` from its own report, every
/// other configured node marked lost, `dc-uuid` and `have-quorum` set.
/// Members missing from `<nodes>` are added (a configuration change, as
/// Pacemaker's controller adds joining nodes). Deterministic: every member
/// computes the same CIB from the same inputs.
pub fn rebuild_status(
    cib: &mut Cib,
    members: &[Member],
    joins: &BTreeMap<String, Join>,
    dc: &Member,
    quorate: bool,
) {
    let mut config_changed = false;
    for m in members {
        if cib.configuration.node(&m.name).is_none() {
            cib.configuration.nodes.push(NodeDef {
                id: m.id.to_string(),
                uname: m.name.clone(),
                kind: None,
                score: None,
                description: None,
                sets: Vec::new(),
                extra_attrs: Vec::new(),
                extra: Vec::new(),
                pos: cib::xml::Pos::NONE,
            });
            config_changed = true;
        }
    }
    for m in members {
        let join = joins.get(&m.name);
        let st = node_state_mut(cib, &m.name);
        let id = st.id.clone();
        set(&mut st.in_ccm, "true");
        set(&mut st.crmd, "online");
        set(&mut st.join, "member");
        set(&mut st.expected, "member");
        set(&mut st.crm_debug_origin, "do_state_transition");
        let (history, attrs) = match join {
            Some(j) => (j.history.as_slice(), j.attrs.clone()),
            None => (&[][..], BTreeMap::new()),
        };
        st.lrm = Some(lrm_of(&id, history));
        st.transient = transient_of(&id, &attrs);
    }
    let others: Vec<String> = cib
        .configuration
        .nodes
        .iter()
        .filter(|n| n.kind.as_deref().is_none_or(|k| k == "member"))
        .map(|n| n.uname.clone())
        .filter(|u| !members.iter().any(|m| &m.name == u))
        .collect();
    // A fencing whose result a view change swallowed: the target was
    // powered off after it last left a view, so if it is not a member now
    // it is down and known to be (as if the result had been delivered). If
    // it is a member, it booted since and its own report stands.
    let fenced: Vec<&String> = joins
        .values()
        .flat_map(|j| j.fenced.iter())
        .filter(|t| !members.iter().any(|m| &m.name == *t))
        .collect();
    for x in others {
        if fenced.contains(&&x) {
            set_fenced(node_state_mut(cib, &x));
            continue;
        }
        let expected_by_someone = joins.values().any(|j| j.expected_up.contains(&x));
        let exists = node_state(cib, &x).is_some();
        if !exists && !expected_by_someone {
            continue;
        }
        let st = node_state_mut(cib, &x);
        set(&mut st.in_ccm, "false");
        set(&mut st.crmd, "offline");
        set(&mut st.join, "down");
        if expected_by_someone {
            set(&mut st.expected, "member");
        }
    }
    cib.dc_uuid = Some(node_id_of(cib, &dc.name));
    cib.have_quorum = Some(if quorate { "1" } else { "0" }.to_string());
    cib.bump(if config_changed {
        Change::Configuration
    } else {
        Change::Status
    });
}

// ---------------------------------------------------------------------------
// Client requests as CIB changes
// ---------------------------------------------------------------------------

/// What an administrator asks the cluster (the live counterparts of
/// `pcs node standby`, `crm_resource --move/--ban/--clear/--cleanup`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientRequest {
    /// `standby=on|off` on the node (`pcs node standby|unstandby`).
    Standby { node: String, on: bool },
    /// `maintenance=on|off` on a node, or the cluster's `maintenance-mode`.
    Maintenance { node: Option<String>, on: bool },
    /// `crm_resource --move`: prefer `node` (`cli-prefer-RSC`).
    Move { rsc: String, node: String },
    /// `crm_resource --ban`: keep off `node`, or off where it runs now
    /// (`cli-ban-RSC-on-NODE`).
    Ban { rsc: String, node: Option<String> },
    /// `crm_resource --clear`: remove the constraints move and ban made.
    Clear { rsc: String, node: Option<String> },
    /// `crm_resource --cleanup`: forget the resource's history and fail
    /// counts (on one node or all), so the cluster looks again.
    Cleanup {
        rsc: Option<String>,
        node: Option<String>,
    },
    /// Set (or with `None` remove) a cluster property.
    SetProperty { name: String, value: Option<String> },
    /// Set (or remove) a resource meta attribute, e.g. `target-role`.
    SetMeta {
        rsc: String,
        name: String,
        value: Option<String>,
    },
    /// `cibadmin --replace` of the configuration section: the
    /// `<configuration>` of `cib` (a whole `<cib>` document) replaces the
    /// cluster's, if the configuration is still at `expected`'s
    /// `admin_epoch` and `epoch` ([`replace_configuration`]).
    ReplaceConfiguration { expected: WireVersion, cib: CibText },
    /// `stonith_admin --reboot|--off`: the DC's fencer fences `target`;
    /// the answer comes with the result.
    Fence { target: String, off: bool },
    /// `stonith_admin --confirm`: the operator asserts that `target`,
    /// which is not a member, is down.
    FenceConfirm { target: String },
}

/// A CIB as text on the wire; `Debug` shows only its size (it holds
/// secrets).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CibText(pub String);

impl std::fmt::Debug for CibText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CibText({} bytes)", self.0.len())
    }
}

impl ClientRequest {
    /// A short description for logs (no values that could be secrets: only
    /// property and meta attribute names are free text, and those values
    /// are not secrets by Pacemaker's naming).
    pub fn describe(&self) -> String {
        match self {
            ClientRequest::Standby { node, on } => {
                format!("{} {node}", if *on { "standby" } else { "unstandby" })
            }
            ClientRequest::Maintenance { node: Some(n), on } => {
                format!("maintenance {} {n}", if *on { "on" } else { "off" })
            }
            ClientRequest::Maintenance { node: None, on } => {
                format!("maintenance-mode={on}")
            }
            ClientRequest::Move { rsc, node } => format!("move {rsc} to {node}"),
            ClientRequest::Ban { rsc, node: Some(n) } => format!("ban {rsc} from {n}"),
            ClientRequest::Ban { rsc, node: None } => {
                format!("ban {rsc} from its current node")
            }
            ClientRequest::Clear { rsc, node: Some(n) } => format!("clear {rsc} on {n}"),
            ClientRequest::Clear { rsc, node: None } => format!("clear {rsc}"),
            ClientRequest::Cleanup { rsc, node } => format!(
                "cleanup {} on {}",
                rsc.as_deref().unwrap_or("all resources"),
                node.as_deref().unwrap_or("all nodes")
            ),
            ClientRequest::SetProperty { name, value } => match value {
                Some(v) => format!("property {name}={v}"),
                None => format!("property {name} removed"),
            },
            ClientRequest::SetMeta { rsc, name, value } => match value {
                Some(v) => format!("meta {rsc} {name}={v}"),
                None => format!("meta {rsc} {name} removed"),
            },
            ClientRequest::ReplaceConfiguration { expected, .. } => format!(
                "replace the configuration read at {}:{}",
                expected.admin_epoch, expected.epoch
            ),
            ClientRequest::Fence { target, off } => {
                format!("fence {target} ({})", if *off { "off" } else { "reboot" })
            }
            ClientRequest::FenceConfirm { target } => format!("confirm {target} is down"),
        }
    }
}

/// Why a configuration replace was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaceRefusal {
    /// The configuration is no longer at the version the client read.
    Conflict(Version),
    /// The new document does not parse or does not verify.
    Invalid(String),
}

impl std::fmt::Display for ReplaceRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplaceRefusal::Conflict(now) => write!(
                f,
                "the configuration changed since it was read (now {}:{}); nothing was changed",
                now.admin_epoch, now.epoch
            ),
            ReplaceRefusal::Invalid(why) => {
                write!(
                    f,
                    "the new configuration was refused: {why}; nothing was changed"
                )
            }
        }
    }
}

/// `cibadmin --replace` of the configuration section, as every member
/// applies it at delivery: refused unless the configuration is still at
/// `expected` (`admin_epoch`, `epoch`; status updates since the read do
/// not count), and refused with the errors of the document when it does
/// not parse or [`cib::verify::verify`] reports errors; otherwise the
/// configuration section is replaced (the status is the cluster's own and
/// stays) and the epoch goes up, unless the configuration is the same.
/// The same text gives the same result on every member.
pub fn replace_configuration(
    cib: &mut Cib,
    expected: WireVersion,
    text: &str,
) -> Result<String, ReplaceRefusal> {
    let now = cib.version();
    if (now.admin_epoch, now.epoch) != (expected.admin_epoch, expected.epoch) {
        return Err(ReplaceRefusal::Conflict(now));
    }
    const SOURCE: &str = "the new configuration";
    let parsed = cib::parse(text, SOURCE);
    let mut errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    if errors.is_empty() {
        errors = cib::verify::verify(text, SOURCE)
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
    }
    let new = match parsed.cib {
        Some(c) if errors.is_empty() => c,
        _ => {
            if errors.is_empty() {
                errors.push("it is not a CIB document".to_string());
            }
            return Err(ReplaceRefusal::Invalid(errors.join("; ")));
        }
    };
    let before = configuration_text(cib);
    cib.configuration = new.configuration;
    if configuration_text(cib) == before {
        return Ok("the configuration is unchanged".to_string());
    }
    cib.bump(Change::Configuration);
    let v = cib.version();
    Ok(format!(
        "configuration replaced (now {}:{})",
        v.admin_epoch, v.epoch
    ))
}

/// Records that `node` was allowed to leave (its `do_shutdown` ran): it
/// is expected down, so that its leaving the view is clean, not a loss.
/// A status change.
pub fn mark_leaving(cib: &mut Cib, node: &str) {
    let st = node_state_mut(cib, node);
    set(&mut st.expected, "down");
    set(&mut st.crm_debug_origin, "do_shutdown");
    cib.bump(Change::Status);
}

/// Writes `node`'s transient attributes, whole. A status change.
pub fn set_node_attrs(cib: &mut Cib, node: &str, attrs: &BTreeMap<String, String>) {
    let st = node_state_mut(cib, node);
    let id = st.id.clone();
    st.transient = transient_of(&id, attrs);
    cib.bump(Change::Status);
}

fn node_exists(cib: &Cib, node: &str) -> Result<(), String> {
    if cib.configuration.node(node).is_some() {
        Ok(())
    } else {
        Err(format!("node '{node}' is not a cluster node"))
    }
}

fn resource_exists(cib: &Cib, rsc: &str) -> Result<(), String> {
    let c = &cib.configuration;
    if c.primitive(rsc).is_some() || c.group(rsc).is_some() {
        Ok(())
    } else {
        Err(format!("resource '{rsc}' is not configured"))
    }
}

fn set_pair(sets: &mut Vec<NvSet>, kind: SetKind, set_id: &str, name: &str, value: Option<&str>) {
    let idx = match sets.iter().position(|s| s.kind == kind) {
        Some(i) => i,
        None if value.is_none() => return,
        None => {
            sets.push(NvSet::new(kind, set_id));
            sets.len() - 1
        }
    };
    let s = &mut sets[idx];
    match (s.pairs.iter().position(|p| p.name == name), value) {
        (Some(i), None) => {
            s.pairs.remove(i);
        }
        (Some(i), Some(v)) => s.pairs[i].value = Some(v.to_string()),
        (None, Some(v)) => {
            let id = sanitize_id(&format!("{}-{name}", s.id));
            s.pairs.push(NvPair::new(id, name, v));
        }
        (None, None) => {}
    }
}

fn location(id: String, rsc: &str, node: &str, score: &str) -> ConstraintItem {
    ConstraintItem::Location(Location {
        id,
        rsc: Some(rsc.to_string()),
        rsc_pattern: None,
        role: Some("Started".to_string()),
        node: Some(node.to_string()),
        score: Some(score.to_string()),
        resource_discovery: None,
        rules: Vec::new(),
        sets: Vec::new(),
        extra_attrs: Vec::new(),
        extra: Vec::new(),
        pos: cib::xml::Pos::NONE,
    })
}

fn remove_constraint(cib: &mut Cib, id: &str, node: Option<&str>) -> bool {
    let before = cib.configuration.constraints.len();
    cib.configuration.constraints.retain(|c| match c {
        ConstraintItem::Location(l) if l.id == id => {
            node.is_some_and(|n| l.node.as_deref().is_some_and(|ln| ln != n))
        }
        _ => true,
    });
    before != cib.configuration.constraints.len()
}

/// Where a resource (a group: its first member) is active, from the CIB's
/// status as the scheduler reads it at `at`.
fn active_on(cib: &Cib, rsc: &str, at: Timestamp) -> Vec<String> {
    let state = crate::core::scheduler::current_state(cib, at);
    let member = cib
        .configuration
        .group(rsc)
        .and_then(|g| g.primitives.first())
        .map(|p| p.id.clone())
        .unwrap_or_else(|| rsc.to_string());
    state
        .resources
        .iter()
        .find(|r| r.id == member)
        .map(|r| r.running_on.clone())
        .unwrap_or_default()
}

/// Applies a configuration request to the CIB (a configuration change when
/// anything changed). `at` is the time the request was made (carried in the
/// message, so every member computes the same result). Returns what was
/// done, or why nothing was. Cleanup changes only the status section of
/// nodes that are not members (`members`); members forget their own history.
pub fn apply_request(
    cib: &mut Cib,
    req: &ClientRequest,
    members: &[String],
    at: Timestamp,
) -> Result<String, String> {
    let before = configuration_text(cib);
    let done = match req {
        ClientRequest::ReplaceConfiguration { .. }
        | ClientRequest::Fence { .. }
        | ClientRequest::FenceConfirm { .. } => {
            // The node decides these (they need the view, the fencer or a
            // structured refusal); reaching here is a programming error.
            return Err(format!("{} is not a configuration request", req.describe()));
        }
        ClientRequest::Standby { node, on }
        | ClientRequest::Maintenance {
            node: Some(node),
            on,
        } => {
            node_exists(cib, node)?;
            let name = if matches!(req, ClientRequest::Standby { .. }) {
                "standby"
            } else {
                "maintenance"
            };
            let def = cib
                .configuration
                .nodes
                .iter_mut()
                .find(|n| &n.uname == node)
                .expect("checked above");
            let set_id = format!("nodes-{}", def.id);
            set_pair(
                &mut def.sets,
                SetKind::Instance,
                &set_id,
                name,
                if *on { Some("on") } else { None },
            );
            format!("{name}={} on {node}", if *on { "on" } else { "off" })
        }
        ClientRequest::Maintenance { node: None, on } => {
            set_property(
                cib,
                "maintenance-mode",
                Some(if *on { "true" } else { "false" }),
            );
            format!("maintenance-mode={on}")
        }
        ClientRequest::SetProperty { name, value } => {
            set_property(cib, name, value.as_deref());
            format!("property {name} set")
        }
        ClientRequest::SetMeta { rsc, name, value } => {
            resource_exists(cib, rsc)?;
            let c = &mut cib.configuration;
            let sets = match c.primitive_mut(rsc) {
                Some(p) => &mut p.sets,
                None => &mut c.group_mut(rsc).expect("checked above").sets,
            };
            set_pair(
                sets,
                SetKind::Meta,
                &format!("{rsc}-meta_attributes"),
                name,
                value.as_deref(),
            );
            format!("meta attribute {name} of {rsc} set")
        }
        ClientRequest::Move { rsc, node } => {
            resource_exists(cib, rsc)?;
            node_exists(cib, node)?;
            let current = active_on(cib, rsc, at);
            if current.len() == 1 && &current[0] == node {
                return Err(format!("{rsc} is already active on {node}"));
            }
            if current.len() > 1 {
                return Err(format!(
                    "{rsc} is active on more than one node ({}): clean it up first",
                    current.join(", ")
                ));
            }
            let prefer = sanitize_id(&format!("cli-prefer-{rsc}"));
            remove_constraint(cib, &prefer, None);
            remove_constraint(cib, &sanitize_id(&format!("cli-ban-{rsc}-on-{node}")), None);
            cib.configuration
                .constraints
                .push(location(prefer.clone(), rsc, node, "INFINITY"));
            format!("{prefer} created: {rsc} prefers {node}")
        }
        ClientRequest::Ban { rsc, node } => {
            resource_exists(cib, rsc)?;
            let node = match node {
                Some(n) => {
                    node_exists(cib, n)?;
                    n.clone()
                }
                None => {
                    let current = active_on(cib, rsc, at);
                    match current.as_slice() {
                        [one] => one.clone(),
                        [] => {
                            return Err(format!("{rsc} is not active: name a node to ban it from"))
                        }
                        many => {
                            return Err(format!(
                                "{rsc} is active on {}: name the node to ban it from",
                                many.join(", ")
                            ))
                        }
                    }
                }
            };
            let id = sanitize_id(&format!("cli-ban-{rsc}-on-{node}"));
            remove_constraint(cib, &id, None);
            cib.configuration
                .constraints
                .push(location(id.clone(), rsc, &node, "-INFINITY"));
            format!("{id} created: {rsc} may not run on {node} until it is cleared")
        }
        ClientRequest::Clear { rsc, node } => {
            let nodes: Vec<String> = match node {
                Some(n) => vec![n.clone()],
                None => cib
                    .configuration
                    .nodes
                    .iter()
                    .map(|n| n.uname.clone())
                    .collect(),
            };
            let prefer = sanitize_id(&format!("cli-prefer-{rsc}"));
            let mut removed = 0;
            for n in &nodes {
                removed += remove_constraint(cib, &prefer, Some(n)) as usize;
                removed +=
                    remove_constraint(cib, &sanitize_id(&format!("cli-ban-{rsc}-on-{n}")), None)
                        as usize;
            }
            format!("{removed} constraint(s) removed for {rsc}")
        }
        ClientRequest::Cleanup { rsc, node } => {
            if let Some(r) = rsc {
                resource_exists(cib, r)?;
            }
            if let Some(n) = node {
                node_exists(cib, n)?;
            }
            let targets: Vec<String> = cib
                .configuration
                .nodes
                .iter()
                .map(|n| n.uname.clone())
                .filter(|n| node.as_ref().is_none_or(|x| x == n))
                .filter(|n| !members.contains(n))
                .collect();
            let rscs = cleanup_targets(cib, rsc.as_deref());
            let mut cib_changed = false;
            for n in &targets {
                for r in &rscs {
                    cib_changed |= forget_resource(cib, n, r);
                }
            }
            // forget_resource bumps the status version itself.
            let _ = cib_changed;
            return Ok(format!(
                "cleaned up {} on {}",
                rsc.as_deref().unwrap_or("all resources"),
                node.as_deref().unwrap_or("all nodes")
            ));
        }
    };
    // Compare the text, not the structs: positions recorded by the parser
    // differ between replicas that read the same CIB differently (one from
    // its own edits, one from a sync), and must not decide a version.
    if configuration_text(cib) != before {
        cib.bump(Change::Configuration);
    }
    Ok(done)
}

fn configuration_text(cib: &Cib) -> String {
    let mut w = cib::xml::XmlWriter::new();
    cib::emit::write_configuration(&mut w, &cib.configuration);
    w.out
}

/// The primitives a cleanup of `rsc` (a primitive or a group; `None`: all)
/// touches.
pub fn cleanup_targets(cib: &Cib, rsc: Option<&str>) -> Vec<String> {
    let c = &cib.configuration;
    match rsc {
        None => {
            let mut v: Vec<String> = c.primitives().map(|p| p.id.clone()).collect();
            // Orphans in the history are cleaned up too.
            for st in &cib.status.node_states {
                if let Some(l) = &st.lrm {
                    for r in &l.resources {
                        if !v.contains(&r.id) {
                            v.push(r.id.clone());
                        }
                    }
                }
            }
            v
        }
        Some(r) => match c.group(r) {
            Some(g) => g.primitives.iter().map(|p| p.id.clone()).collect(),
            None => vec![r.to_string()],
        },
    }
}

fn set_property(cib: &mut Cib, name: &str, value: Option<&str>) {
    let c = &mut cib.configuration;
    if c.crm_config.is_empty() {
        if value.is_none() {
            return;
        }
        c.crm_config.push(NvSet::new(
            SetKind::ClusterProperty,
            "cib-bootstrap-options",
        ));
    }
    // The set that already has it, else the first one.
    let idx = c
        .crm_config
        .iter()
        .position(|s| s.pairs.iter().any(|p| p.name == name))
        .unwrap_or(0);
    let s = &mut c.crm_config[idx];
    match (s.pairs.iter().position(|p| p.name == name), value) {
        (Some(i), None) => {
            s.pairs.remove(i);
        }
        (Some(i), Some(v)) => s.pairs[i].value = Some(v.to_string()),
        (None, Some(v)) => {
            let id = sanitize_id(&format!("{}-{name}", s.id));
            s.pairs.push(NvPair::new(id, name, v));
        }
        (None, None) => {}
    }
}

/// What the DC records in `cib-bootstrap-options` when it takes over, as
/// Pacemaker's controller does: `have-watchdog`, `dc-version`,
/// `cluster-infrastructure` and, when corosync names the cluster,
/// `cluster-name`. Given to the core by the daemon (the core reads no
/// version, transport or corosync setting itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// `dc-version`: the DC's release.
    pub dc_version: String,
    /// `cluster-infrastructure`: `corosync`, or `standalone` for a node
    /// without corosync.
    pub infrastructure: String,
    /// `cluster-name`, from corosync's `totem.cluster_name`.
    pub cluster_name: Option<String>,
}

impl ClusterInfo {
    /// The properties, in the order Pacemaker's controller writes them.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("have-watchdog".to_string(), "false".to_string()),
            ("dc-version".to_string(), self.dc_version.clone()),
            (
                "cluster-infrastructure".to_string(),
                self.infrastructure.clone(),
            ),
        ];
        if let Some(name) = &self.cluster_name {
            p.push(("cluster-name".to_string(), name.clone()));
        }
        p
    }
}

/// Records the DC's properties (`properties`) in `cib-bootstrap-options`;
/// a configuration change, so the version moves, only when a value is new.
/// Returns whether anything changed.
pub fn set_dc_properties(cib: &mut Cib, properties: &[(String, String)]) -> bool {
    if !dc_properties_differ(cib, properties) {
        return false;
    }
    for (name, value) in properties {
        set_bootstrap_property(cib, name, value);
    }
    cib.bump(Change::Configuration);
    true
}

/// Whether `set_dc_properties` would change anything.
pub fn dc_properties_differ(cib: &Cib, properties: &[(String, String)]) -> bool {
    let set = cib
        .configuration
        .crm_config
        .iter()
        .find(|s| s.id == "cib-bootstrap-options");
    properties.iter().any(|(name, value)| {
        set.and_then(|s| s.pairs.iter().find(|p| &p.name == name))
            .and_then(|p| p.value.as_deref())
            != Some(value.as_str())
    })
}

/// `name=value` in the set `cib-bootstrap-options` (created first in
/// `crm_config` if missing), nvpair id `cib-bootstrap-options-NAME`, as
/// Pacemaker's controller writes its own properties, whatever other sets
/// say.
fn set_bootstrap_property(cib: &mut Cib, name: &str, value: &str) {
    const SET: &str = "cib-bootstrap-options";
    let c = &mut cib.configuration;
    let idx = match c.crm_config.iter().position(|s| s.id == SET) {
        Some(i) => i,
        None => {
            c.crm_config
                .insert(0, NvSet::new(SetKind::ClusterProperty, SET));
            0
        }
    };
    let s = &mut c.crm_config[idx];
    match s.pairs.iter_mut().find(|p| p.name == name) {
        Some(p) => p.value = Some(value.to_string()),
        None => s.pairs.push(NvPair::new(
            sanitize_id(&format!("{SET}-{name}")),
            name,
            value,
        )),
    }
}

/// Who made the last configuration change, on the `<cib>` element, as
/// Pacemaker's CIB manager records it with every configuration change:
/// `cib-last-written` (`at`, as `ctime` prints it, UTC), `update-origin`
/// (the node the change came from), `update-client` and `update-user`.
/// Every member stamps the same values: they travel in the ordered message
/// that made the change.
pub fn stamp_configuration_change(
    cib: &mut Cib,
    at: Timestamp,
    origin: &str,
    client: &str,
    user: Option<&str>,
) {
    let written = crate::core::time::ctime_utc(at.secs());
    let mut set = |name: &str, value: Option<&str>| {
        let pos = cib.extra_attrs.iter().position(|(k, _)| k == name);
        match (pos, value) {
            (Some(i), Some(v)) => cib.extra_attrs[i].1 = v.to_string(),
            (None, Some(v)) => cib.extra_attrs.push((name.to_string(), v.to_string())),
            (Some(i), None) => {
                cib.extra_attrs.remove(i);
            }
            (None, None) => {}
        }
    };
    set("cib-last-written", Some(&written));
    set("update-origin", Some(origin));
    set("update-client", Some(client));
    set("update-user", user);
}

/// A cluster property as the controller reads it (first set that has it;
/// rules are not evaluated for the controller's own options).
pub fn property<'c>(cib: &'c Cib, name: &str) -> Option<&'c str> {
    cib.configuration.property(name)
}

/// `start-failure-is-fatal` (default true).
pub fn start_failure_is_fatal(cib: &Cib) -> bool {
    property(cib, "start-failure-is-fatal")
        .and_then(crate::core::fencer::parse_bool)
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::rc;

    fn result<'a>(task: &'a str, interval_ms: u64, rc_code: i32, expected: i32) -> OpResult<'a> {
        OpResult {
            node: "n1",
            task,
            interval_ms,
            call_id: 7,
            rc: rc_code,
            status: ExecStatus::Done,
            expected_rc: expected,
            transition_key: "3:1:0:uuid",
            exit_reason: Some("boom"),
            now: Timestamp::from_secs(1000),
            exec_ms: 12,
            op_digest: Some("0123abcd"),
        }
    }

    fn ids(h: &RscHistory) -> Vec<&str> {
        h.ops.iter().map(|o| o.id.as_str()).collect()
    }

    #[test]
    fn results_are_recorded_under_pacemakers_ids() {
        let mut h = RscHistory::new("vip", Some("ocf"), Some("heartbeat"), Some("IPaddr2"));
        assert!(!h.record(&result("start", 0, rc::OK, rc::OK)));
        assert!(!h.record(&result("monitor", 10_000, rc::OK, rc::OK)));
        assert_eq!(ids(&h), ["vip_last_0", "vip_monitor_10000"]);
        // A failed recurring monitor: only last_failure changes.
        assert!(h.record(&result("monitor", 10_000, rc::NOT_RUNNING, rc::OK)));
        assert_eq!(
            ids(&h),
            ["vip_last_0", "vip_monitor_10000", "vip_last_failure_0"]
        );
        assert_eq!(h.ops[1].rc, rc::OK);
        assert_eq!(h.ops[2].rc, rc::NOT_RUNNING);
        assert_eq!(h.ops[2].key, "vip_monitor_10000");
        assert_eq!(h.ops[2].exit_reason, "boom");
        // A failed stop: last_failure and last.
        assert!(h.record(&result("stop", 0, rc::ERR_GENERIC, rc::OK)));
        assert_eq!(h.ops[0].operation, "stop");
        assert_eq!(h.ops[2].operation, "stop");
        let op = h.ops[0].to_cib();
        assert_eq!(op.transition_magic.as_deref(), Some("0:1;3:1:0:uuid"));
        assert_eq!(op.last_rc_change, Some(1000));
    }

    #[test]
    fn fail_counts_follow_pacemakers_rules() {
        let now = Timestamp::from_secs(50);
        let mut a = BTreeMap::new();
        assert!(record_failure(
            &mut a, "r", "monitor", 10_000, true, false, now
        ));
        assert!(record_failure(
            &mut a, "r", "monitor", 10_000, true, false, now
        ));
        assert_eq!(a["fail-count-r#monitor_10000"], "2");
        assert_eq!(a["last-failure-r#monitor_10000"], "50");
        assert!(record_failure(&mut a, "r", "start", 0, true, false, now));
        assert_eq!(a["fail-count-r#start_0"], "INFINITY");
        assert!(record_failure(&mut a, "q", "start", 0, false, false, now));
        assert!(record_failure(&mut a, "q", "start", 0, false, false, now));
        assert_eq!(a["fail-count-q#start_0"], "2");
        assert!(record_failure(&mut a, "s", "stop", 0, false, false, now));
        assert_eq!(a["fail-count-s#stop_0"], "INFINITY");
        assert!(
            !record_failure(&mut a, "p", "monitor", 0, true, false, now),
            "probes count nothing"
        );
        assert!(record_failure(
            &mut a, "i", "monitor", 5_000, true, true, now
        ));
        assert!(
            !a.contains_key("fail-count-i#monitor_5000"),
            "ignored failures are not counted"
        );
        assert!(a.contains_key("last-failure-i#monitor_5000"));
        assert!(clear_failures(&mut a, "r"));
        assert!(!a.keys().any(|k| k.contains("-r#")));
    }

    fn join(node: &str, id: u32, v: (u64, u64, u64), digest: &str) -> Join {
        Join {
            node: node.into(),
            node_id: id,
            version: WireVersion {
                admin_epoch: v.0,
                epoch: v.1,
                num_updates: v.2,
            },
            digest: digest.into(),
            was_dc: None,
            history: vec![],
            attrs: BTreeMap::new(),
            expected_up: vec![],
            busy: false,
            fenced: vec![],
        }
    }

    #[test]
    fn the_highest_version_is_the_sync_source_ties_to_the_lowest_id() {
        let a = join("a", 3, (0, 5, 2), "x");
        let b = join("b", 2, (0, 5, 9), "y");
        let c = join("c", 1, (0, 4, 99), "z");
        assert_eq!(sync_source(&[&a, &b, &c]).as_deref(), Some("b"));
        let b2 = join("b", 2, (0, 5, 2), "x");
        assert_eq!(sync_source(&[&a, &b2]).as_deref(), Some("b"));
        assert!(!sync_needed(&[&a, &b2], "b"));
        assert!(sync_needed(&[&a, &b, &c], "b"));
    }

    #[test]
    fn rebuild_writes_members_from_their_reports_and_marks_the_rest_lost() {
        let mut cib = Cib::empty();
        let mut h = RscHistory::new("d", Some("ocf"), Some("pacemaker"), Some("Dummy"));
        h.record(&result("start", 0, 0, 0));
        let mut j1 = join("n1", 1, (0, 1, 0), "x");
        j1.history = vec![h];
        j1.expected_up = vec!["n3".into()];
        let j2 = join("n2", 2, (0, 1, 0), "x");
        let members = vec![
            Member {
                id: 1,
                name: "n1".into(),
            },
            Member {
                id: 2,
                name: "n2".into(),
            },
        ];
        let joins = BTreeMap::from([("n1".to_string(), j1), ("n2".to_string(), j2)]);
        // n3 was configured and seen before.
        cib.configuration.nodes.push(NodeDef {
            id: "3".into(),
            uname: "n3".into(),
            kind: None,
            score: None,
            description: None,
            sets: vec![],
            extra_attrs: vec![],
            extra: vec![],
            pos: cib::xml::Pos::NONE,
        });
        rebuild_status(&mut cib, &members, &joins, &members[0], true);
        assert_eq!(cib.version().to_string(), "0.2.0", "nodes were added");
        let text = cib::to_xml(&cib);
        assert!(text.contains(r#"<node id="1" uname="n1"/>"#), "{text}");
        assert!(text.contains(r#"<node_state id="1" uname="n1" in_ccm="true" crmd="online" crm-debug-origin="do_state_transition" join="member" expected="member">"#), "{text}");
        assert!(text.contains(r#"<node_state id="3" uname="n3" in_ccm="false" crmd="offline" join="down" expected="member"/>"#), "{text}");
        assert!(
            text.contains(r#"<lrm_rsc_op id="d_last_0" operation_key="d_start_0""#),
            "{text}"
        );
        assert_eq!(cib.dc_uuid.as_deref(), Some("1"));
        assert_eq!(cib.have_quorum.as_deref(), Some("1"));
        // The scheduler reads n3 as unclean.
        let state = crate::core::scheduler::current_state(&cib, Timestamp::from_secs(2000));
        let n3 = state.nodes.iter().find(|n| n.name == "n3").unwrap();
        assert!(n3.unclean, "{n3:?}");
        let d = state.resources.iter().find(|r| r.id == "d").unwrap();
        assert!(d.orphan && d.running_on == ["n1"], "{d:?}");
    }

    #[test]
    fn a_fencing_whose_result_a_view_change_swallowed_is_applied_at_the_join() {
        // n2 ran d and was fenced by n1 in the previous view; the result
        // was not delivered, so n1's replica still expects n2 up. n3 was
        // fenced too, but has booted since and is a member again.
        let text = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/>
          <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/></nodes>
          <resources><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></resources>
          <constraints/></configuration><status/></cib>"#;
        let mut cib = cib::parse(text, "t").cib.unwrap();
        let mut h = RscHistory::new("d", Some("ocf"), Some("pacemaker"), Some("Dummy"));
        h.record(&result("start", 0, 0, 0));
        set_resource_history(&mut cib, "n2", "d", Some(&h), &BTreeMap::new());
        let mut j1 = join("n1", 1, (0, 1, 1), "x");
        j1.expected_up = vec!["n2".into(), "n3".into()];
        j1.fenced = vec!["n2".into(), "n3".into()];
        let mut j3 = join("n3", 3, (0, 1, 1), "x");
        j3.history = vec![h];
        let members = vec![
            Member {
                id: 1,
                name: "n1".into(),
            },
            Member {
                id: 3,
                name: "n3".into(),
            },
        ];
        let joins = BTreeMap::from([("n1".to_string(), j1), ("n3".to_string(), j3)]);
        rebuild_status(&mut cib, &members, &joins, &members[0], true);
        let text = cib::to_xml(&cib);
        assert!(text.contains(r#"<node_state id="2" uname="n2" in_ccm="false" crmd="offline" crm-debug-origin="send_stonith_update" join="down" expected="down"/>"#), "{text}");
        assert!(text.contains(r#"<node_state id="3" uname="n3" in_ccm="true" crmd="online" crm-debug-origin="do_state_transition" join="member" expected="member">"#), "{text}");
        let state = crate::core::scheduler::current_state(&cib, Timestamp::from_secs(2000));
        let d = state.resources.iter().find(|r| r.id == "d").unwrap();
        assert_eq!(d.running_on, ["n3"], "n3's own report stands");
        let n2 = state.nodes.iter().find(|n| n.name == "n2").unwrap();
        assert!(!n2.unclean, "n2 is known down: {n2:?}");
    }

    #[test]
    fn fencing_discards_history_and_a_move_is_pacemakers_constraint() {
        let text = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/>
          <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
          <resources><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></resources>
          <constraints/></configuration><status/></cib>"#;
        let mut cib = cib::parse(text, "t").cib.unwrap();
        let mut attrs = BTreeMap::new();
        attrs.insert("fail-count-d#monitor_10000".to_string(), "1".to_string());
        let mut h = RscHistory::new("d", Some("ocf"), Some("pacemaker"), Some("Dummy"));
        h.record(&result("start", 0, 0, 0));
        set_resource_history(&mut cib, "n2", "d", Some(&h), &attrs);
        assert_eq!(recorded_attrs(&cib, "n2"), attrs);
        let out = cib::to_xml(&cib);
        assert!(out.contains(r#"<nvpair id="status-2-fail-count-d.monitor_10000" name="fail-count-d#monitor_10000" value="1"/>"#), "{out}");
        mark_fenced(&mut cib, "n2");
        let out = cib::to_xml(&cib);
        assert!(out.contains(r#"<node_state id="2" uname="n2" in_ccm="false" crmd="offline" crm-debug-origin="send_stonith_update" join="down" expected="down"/>"#), "{out}");
        let at = Timestamp::from_secs(10);
        let done = apply_request(
            &mut cib,
            &ClientRequest::Move {
                rsc: "d".into(),
                node: "n1".into(),
            },
            &[],
            at,
        )
        .unwrap();
        assert_eq!(done, "cli-prefer-d created: d prefers n1");
        let out = cib::to_xml(&cib);
        assert!(out.contains(r#"<rsc_location id="cli-prefer-d" rsc="d" role="Started" node="n1" score="INFINITY"/>"#), "{out}");
        apply_request(
            &mut cib,
            &ClientRequest::Ban {
                rsc: "d".into(),
                node: Some("n2".into()),
            },
            &[],
            at,
        )
        .unwrap();
        let out = cib::to_xml(&cib);
        assert!(out.contains(r#"<rsc_location id="cli-ban-d-on-n2" rsc="d" role="Started" node="n2" score="-INFINITY"/>"#), "{out}");
        let v = cib.version();
        apply_request(
            &mut cib,
            &ClientRequest::Clear {
                rsc: "d".into(),
                node: None,
            },
            &[],
            at,
        )
        .unwrap();
        assert!(cib.configuration.constraints.is_empty());
        assert!(cib.version() > v);
        let err = apply_request(
            &mut cib,
            &ClientRequest::Standby {
                node: "n9".into(),
                on: true,
            },
            &[],
            at,
        );
        assert_eq!(err, Err("node 'n9' is not a cluster node".to_string()));
        apply_request(
            &mut cib,
            &ClientRequest::Standby {
                node: "n1".into(),
                on: true,
            },
            &[],
            at,
        )
        .unwrap();
        let out = cib::to_xml(&cib);
        assert!(
            out.contains(r#"<instance_attributes id="nodes-1">"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<nvpair id="nodes-1-standby" name="standby" value="on"/>"#),
            "{out}"
        );
    }
}
