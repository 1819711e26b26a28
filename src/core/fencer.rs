//! The fencer: which device fences whom, topology levels, action remapping,
//! delays, timeouts, retries, attempts and the fence history, as a sans-IO
//! state machine (`handle(now, FencerInput)` / `poll_effect()` /
//! `poll_timeout()`).
//!
//! Invariant: the fencer never runs an agent, never reads a clock and never
//! draws randomness except from the seed it was built with. Every agent run
//! (fencing, host checks, monitors) leaves as a [`FencerEffect::RunAgent`] and
//! comes back as [`FencerInput::AgentDone`]; `now` (milliseconds since the
//! Unix epoch, as the shell reads it) is always an argument. Device
//! parameters named like passwords are never shown by `Debug` output.
//!
//! Semantics follow Pacemaker's fencer (pacemaker-fenced 2.1.5) except where
//! a doc comment says "warden:" and explains why.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regex::Regex;

/// Milliseconds since the Unix epoch (points in time) or a duration in ms.
pub type Millis = u64;

/// Pacemaker's default `stonith-timeout`.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Pacemaker's default `stonith-max-attempts`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Pacemaker's default `pcmk_*_retries`: tries of one device within its timeout.
pub const DEFAULT_RETRIES: u32 = 2;
/// How many operations the history keeps (oldest dropped first).
pub const DEFAULT_HISTORY_MAX: usize = 500;
/// How long the output of a dynamic `list` is trusted (Pacemaker: 60 s).
pub const DYNAMIC_LIST_TTL_MS: u64 = 60_000;
/// Pacemaker multiplies the operation timeout by 1.2 (in tenths here).
const TIMEOUT_FACTOR_TENTHS: u64 = 12;
/// A failed try is retried only while less than 70% of the device's timeout
/// has passed (Pacemaker's rule); in percent.
const RETRY_WINDOW_PERCENT: u64 = 70;
/// Limit on agent output kept from a `list` run (bytes).
const LIST_OUTPUT_MAX: usize = 64 * 1024;

// ---------------------------------------------------------------------------
// Configuration data (built from the CIB by an adapter)
// ---------------------------------------------------------------------------

/// A fencing action the cluster requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FenceAction {
    Reboot,
    Off,
    /// Unfencing (and the second half of a reboot done as off then on).
    On,
}

impl FenceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FenceAction::Reboot => "reboot",
            FenceAction::Off => "off",
            FenceAction::On => "on",
        }
    }

    /// `reboot`, `off`, `on`; `poweroff` is Pacemaker's deprecated alias of `off`.
    pub fn parse(s: &str) -> Option<FenceAction> {
        match s {
            "reboot" => Some(FenceAction::Reboot),
            "off" | "poweroff" => Some(FenceAction::Off),
            "on" => Some(FenceAction::On),
            _ => None,
        }
    }
}

impl fmt::Display for FenceAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fence device (a `stonith` primitive): its id, its agent and its
/// instance attributes, `pcmk_*` included.
#[derive(Clone, PartialEq, Eq)]
pub struct FenceDevice {
    pub id: String,
    /// e.g. `fence_ipmilan`.
    pub agent: String,
    pub params: BTreeMap<String, String>,
    /// The resource's `priority` meta attribute: among devices able to fence a
    /// target (without topology), higher priority is tried first.
    pub priority: i32,
}

impl FenceDevice {
    pub fn new(id: &str, agent: &str, params: &[(&str, &str)]) -> FenceDevice {
        FenceDevice {
            id: id.to_string(),
            agent: agent.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            priority: 0,
        }
    }
}

impl fmt::Debug for FenceDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FenceDevice")
            .field("id", &self.id)
            .field("agent", &self.agent)
            .field("params", &Redacted(&self.params))
            .field("priority", &self.priority)
            .finish()
    }
}

/// Whom a fencing level applies to (`target`, `target-pattern`,
/// `target-attribute` + `target-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelTarget {
    Node(String),
    /// An (unanchored) regular expression matched against the node name.
    Pattern(String),
    Attribute {
        name: String,
        value: String,
    },
}

/// One `fencing-level`: for `target`, level `index` (1-9) uses all of
/// `devices` (each must succeed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencingLevel {
    pub index: u32,
    pub target: LevelTarget,
    pub devices: Vec<String>,
}

/// What the agent's metadata says (`-o metadata`): the actions it supports
/// and its parameter names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentInfo {
    pub actions: BTreeSet<String>,
    pub parameters: BTreeSet<String>,
}

impl AgentInfo {
    pub fn new(actions: &[&str], parameters: &[&str]) -> AgentInfo {
        AgentInfo {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            parameters: parameters.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// How a reboot request is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootMode {
    /// warden's default (cluster property `warden-reboot-mode=off-then-on`):
    /// every reboot is done as `off` on all devices of the level, then `on`.
    /// The target is declared safely fenced as soon as the `off` part is
    /// confirmed, so recovery does not wait for the node to power back on; a
    /// failed power-on is reported ([`FencerEffect::PoweredOn`]) and never
    /// holds resources.
    OffThenOn,
    /// Pacemaker's behaviour (`warden-reboot-mode=agent`): the agent's own
    /// `reboot`, except that a level of several devices, or a device without
    /// `reboot`, is done as off then on, and the result waits for the `on` part.
    Agent,
}

/// Cluster options the fencer uses, parsed from `crm_config` properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencerOptions {
    /// `stonith-enabled` / `fencing-enabled` (for the controller; the fencer
    /// itself always executes what it is asked, like `stonith_admin`).
    pub enabled: bool,
    /// `stonith-action` / `fencing-action`: what a cluster-initiated fence does.
    pub action: FenceAction,
    /// `stonith-timeout` / `fencing-timeout`: base timeout of one device.
    pub timeout_ms: u64,
    /// `stonith-max-attempts` / `fencing-max-attempts`: failed operations per
    /// target before the fencer refuses further requests for it.
    pub max_attempts: u32,
    /// `priority-fencing-delay` (0 = off).
    pub priority_fencing_delay_ms: u64,
    /// `concurrent-fencing`: run several fencing operations at once.
    pub concurrent_fencing: bool,
    /// `warden-reboot-mode` (`off-then-on` default, or `agent`).
    pub reboot_mode: RebootMode,
    /// Operations kept in the history.
    pub history_max: usize,
}

impl Default for FencerOptions {
    fn default() -> Self {
        FencerOptions {
            enabled: true,
            action: FenceAction::Reboot,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            priority_fencing_delay_ms: 0,
            concurrent_fencing: false,
            reboot_mode: RebootMode::OffThenOn,
            history_max: DEFAULT_HISTORY_MAX,
        }
    }
}

/// A problem found in fencing configuration: which object, what was wrong,
/// what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencerDiagnostic {
    pub severity: Severity,
    /// e.g. `property stonith-timeout`, `device fence_n1 parameter pcmk_delay_base`.
    pub object: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for FencerDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{s}: {}: {}", self.object, self.message)
    }
}

fn diag(severity: Severity, object: String, message: String) -> FencerDiagnostic {
    FencerDiagnostic {
        severity,
        object,
        message,
    }
}

impl FencerOptions {
    /// Reads the options from cluster properties, accepting Pacemaker's
    /// `stonith-*` names and the newer `fencing-*` names (the newer name wins
    /// when both are set). Bad values keep the default and give a diagnostic.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> (FencerOptions, Vec<FencerDiagnostic>) {
        let mut o = FencerOptions::default();
        let mut diags = Vec::new();
        let mut get = |new: &str, old: &str| -> Option<(String, String)> {
            match (props.get(new), props.get(old)) {
                (Some(n), Some(o)) => {
                    if n != o {
                        diags.push(diag(
                            Severity::Warning,
                            format!("property {old}"),
                            format!("'{o}' is ignored because {new}='{n}' is also set"),
                        ));
                    }
                    Some((new.to_string(), n.clone()))
                }
                (Some(n), None) => Some((new.to_string(), n.clone())),
                (None, Some(v)) => Some((old.to_string(), v.clone())),
                (None, None) => None,
            }
        };
        let enabled = get("fencing-enabled", "stonith-enabled");
        let action = get("fencing-action", "stonith-action");
        let timeout = get("fencing-timeout", "stonith-timeout");
        let attempts = get("fencing-max-attempts", "stonith-max-attempts");
        let mut bad = |name: &str, value: &str, expected: &str| {
            diags.push(diag(
                Severity::Error,
                format!("property {name}"),
                format!("'{value}' is not valid: expected {expected}; using the default"),
            ))
        };
        if let Some((name, v)) = enabled {
            match parse_bool(&v) {
                Some(b) => o.enabled = b,
                None => bad(&name, &v, "a boolean (true/false)"),
            }
        }
        if let Some((name, v)) = action {
            match FenceAction::parse(&v) {
                Some(FenceAction::On) | None => bad(&name, &v, "reboot or off"),
                Some(a) => o.action = a,
            }
        }
        if let Some((name, v)) = timeout {
            match parse_duration_ms(&v) {
                Ok(ms) if ms > 0 => o.timeout_ms = ms,
                _ => bad(&name, &v, "a positive duration such as 60s"),
            }
        }
        if let Some((name, v)) = attempts {
            match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => o.max_attempts = n,
                _ => bad(&name, &v, "a positive integer"),
            }
        }
        if let Some(v) = props.get("priority-fencing-delay") {
            match parse_duration_ms(v) {
                Ok(ms) => o.priority_fencing_delay_ms = ms,
                Err(_) => bad("priority-fencing-delay", v, "a duration such as 60s"),
            }
        }
        if let Some(v) = props.get("concurrent-fencing") {
            match parse_bool(v) {
                Some(b) => o.concurrent_fencing = b,
                None => bad("concurrent-fencing", v, "a boolean (true/false)"),
            }
        }
        if let Some(v) = props.get("warden-reboot-mode") {
            match v.as_str() {
                "off-then-on" => o.reboot_mode = RebootMode::OffThenOn,
                "agent" => o.reboot_mode = RebootMode::Agent,
                _ => bad("warden-reboot-mode", v, "off-then-on or agent"),
            }
        }
        (o, diags)
    }
}

/// Everything the fencer needs to know, replaced as a whole on every change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FencerConfig {
    /// The node this fencer runs on (recorded as the executing node).
    pub local_node: String,
    pub devices: Vec<FenceDevice>,
    pub levels: Vec<FencingLevel>,
    /// Agent name -> metadata. A device whose agent is missing here is
    /// assumed to support on/off/reboot/status/monitor (not list) and to take
    /// the target as `port`.
    pub agents: BTreeMap<String, AgentInfo>,
    pub options: FencerOptions,
    /// Node attributes, for `target-attribute` levels.
    pub node_attributes: BTreeMap<String, BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------
// Parsing helpers (Pacemaker's value syntax)
// ---------------------------------------------------------------------------

/// Pacemaker's booleans: `true/yes/on/y/1`, `false/no/off/n/0`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" | "1" => Some(true),
        "false" | "no" | "off" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Pacemaker's interval syntax in milliseconds (`cib::duration`): a number
/// with an optional unit, or an ISO 8601 duration.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    crate::core::cib::duration::parse_interval_ms(s.trim()).map_err(|e| e.to_string())
}

/// `pcmk_host_list`: names separated by commas, semicolons or whitespace.
pub fn parse_host_list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// `pcmk_host_map`: `node:value` (or `node=value`) entries separated by `;`
/// or whitespace; a backslash escapes the next character. Keys are node
/// names (matched case-insensitively), values what the host argument gets
/// (`n2:2,3` gives `2,3`). Entries without a value are reported.
pub fn parse_host_map(s: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut map = BTreeMap::new();
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push('\\');
                    cur.push(n);
                }
            }
            ';' | ' ' | '\t' | '\n' => entries.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    entries.push(cur);
    for e in entries.into_iter().filter(|e| !e.is_empty()) {
        // The first unescaped ':' or '=' separates the node from its value.
        let mut key = String::new();
        let mut value: Option<String> = None;
        let mut it = e.chars();
        while let Some(c) = it.next() {
            let ch = match c {
                '\\' => match it.next() {
                    Some(n) => n,
                    None => continue,
                },
                ':' | '=' if value.is_none() => {
                    value = Some(String::new());
                    continue;
                }
                _ => c,
            };
            match value.as_mut() {
                Some(v) => v.push(ch),
                None => key.push(ch),
            }
        }
        match value {
            Some(v) if !key.is_empty() && !v.is_empty() => {
                map.insert(key.to_lowercase(), v);
            }
            _ => problems.push(format!(
                "'{e}' is not a mapping: expected node:value (e.g. n1:1;n2:2)"
            )),
        }
    }
    (map, problems)
}

/// Whether a parameter name is a secret that must never be shown
/// (`passwd`, `password`, `*_passwd`, `*_password`).
pub fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    n == "passwd" || n == "password" || n.ends_with("_passwd") || n.ends_with("_password")
}

/// `Debug` for parameter lists that shows secrets as `***`.
pub struct Redacted<'a>(pub &'a BTreeMap<String, String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.0 {
            if is_secret_param(k) {
                m.entry(k, &"***");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

// ---------------------------------------------------------------------------
// Resolved devices
// ---------------------------------------------------------------------------

/// `pcmk_host_check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCheck {
    StaticList,
    DynamicList,
    Status,
    None,
}

impl HostCheck {
    fn parse(s: &str) -> Option<HostCheck> {
        match s {
            "static-list" => Some(HostCheck::StaticList),
            "dynamic-list" => Some(HostCheck::DynamicList),
            "status" => Some(HostCheck::Status),
            "none" => Some(HostCheck::None),
            _ => None,
        }
    }
}

/// `pcmk_delay_base`: one value, or per target (`n1:0s;n2:5s`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DelayBase {
    default_ms: u64,
    per_node: BTreeMap<String, u64>,
}

impl DelayBase {
    fn for_target(&self, target: &str) -> u64 {
        self.per_node
            .get(&target.to_lowercase())
            .copied()
            .unwrap_or(self.default_ms)
    }
}

#[derive(Debug, Clone)]
struct Device {
    id: String,
    agent: String,
    priority: i32,
    host_check: HostCheck,
    /// Whether `pcmk_host_check` was left to its default (a failing dynamic
    /// list then falls back to a status check).
    host_check_default: bool,
    host_list: Vec<String>,
    host_map: BTreeMap<String, String>,
    /// `None`: the agent takes no target argument.
    host_argument: Option<String>,
    actions: BTreeSet<String>,
    /// `pcmk_<action>_action` substitutions (incl. the mapped `action=`).
    action_names: BTreeMap<String, String>,
    timeouts_ms: BTreeMap<String, u64>,
    retries: BTreeMap<String, u32>,
    delay_base: DelayBase,
    delay_max_ms: u64,
    /// The agent-side `delay` parameter (seconds the agent sleeps itself).
    agent_delay_ms: u64,
    /// What goes to the agent's stdin besides action/target.
    agent_params: BTreeMap<String, String>,
}

fn param_object(dev: &str, param: &str) -> String {
    format!("device {dev} parameter {param}")
}

impl Device {
    fn resolve(
        d: &FenceDevice,
        info: Option<&AgentInfo>,
        diags: &mut Vec<FencerDiagnostic>,
    ) -> Device {
        let p = &d.params;
        let actions: BTreeSet<String> = match info {
            Some(i) => i.actions.clone(),
            None => ["on", "off", "reboot", "status", "monitor"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let host_list = p.get("pcmk_host_list").map(|v| parse_host_list(v));
        let host_map = match p.get("pcmk_host_map") {
            Some(v) => {
                let (m, problems) = parse_host_map(v);
                for pr in problems {
                    diags.push(diag(
                        Severity::Error,
                        param_object(&d.id, "pcmk_host_map"),
                        pr,
                    ));
                }
                Some(m)
            }
            None => None,
        };
        let explicit_check = match p.get("pcmk_host_check") {
            Some(v) => match HostCheck::parse(v) {
                Some(c) => Some(c),
                None => {
                    diags.push(diag(
                        Severity::Error,
                        param_object(&d.id, "pcmk_host_check"),
                        format!("'{v}' is not valid: expected static-list, dynamic-list, status or none"),
                    ));
                    None
                }
            },
            None => None,
        };
        let host_check = explicit_check.unwrap_or(if host_list.is_some() || host_map.is_some() {
            HostCheck::StaticList
        } else if actions.contains("list") {
            HostCheck::DynamicList
        } else if actions.contains("status") {
            HostCheck::Status
        } else {
            HostCheck::None
        });
        if host_check == HostCheck::StaticList && host_list.is_none() && host_map.is_none() {
            diags.push(diag(
                Severity::Error,
                param_object(&d.id, "pcmk_host_check"),
                "static-list needs pcmk_host_list or pcmk_host_map: this device can fence no node"
                    .to_string(),
            ));
        }
        let host_argument = match p.get("pcmk_host_argument").map(String::as_str) {
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            Some(v) => Some(v.to_string()),
            None => match info {
                Some(i) if i.parameters.contains("port") => Some("port".to_string()),
                Some(i) if i.parameters.contains("plug") => Some("plug".to_string()),
                Some(_) => None,
                None => Some("port".to_string()),
            },
        };
        let mut action_names = BTreeMap::new();
        let mut timeouts_ms = BTreeMap::new();
        let mut retries = BTreeMap::new();
        for a in ["reboot", "off", "on", "list", "monitor", "status"] {
            let key = format!("pcmk_{a}_action");
            if let Some(v) = p.get(&key) {
                action_names.insert(a.to_string(), v.clone());
            }
            let key = format!("pcmk_{a}_timeout");
            if let Some(v) = p.get(&key) {
                match parse_duration_ms(v) {
                    Ok(ms) if ms > 0 => {
                        timeouts_ms.insert(a.to_string(), ms);
                    }
                    _ => diags.push(diag(
                        Severity::Error,
                        param_object(&d.id, &key),
                        format!("'{v}' is not valid: expected a positive duration such as 60s"),
                    )),
                }
            }
            let key = format!("pcmk_{a}_retries");
            if let Some(v) = p.get(&key) {
                match v.trim().parse::<u32>() {
                    Ok(n) => {
                        retries.insert(a.to_string(), n.max(1));
                    }
                    Err(_) => diags.push(diag(
                        Severity::Error,
                        param_object(&d.id, &key),
                        format!("'{v}' is not valid: expected a non-negative integer"),
                    )),
                }
            }
        }
        // `action=` never reaches the agent: `reboot` is ignored, `off` maps
        // reboot to off, anything else maps both (unless pcmk_*_action is set).
        if let Some(v) = p.get("action") {
            let mapped: &[&str] = match v.as_str() {
                "" => &[],
                "reboot" => {
                    diags.push(diag(
                        Severity::Warning,
                        param_object(&d.id, "action"),
                        "action=reboot is ignored: the cluster property stonith-action decides"
                            .to_string(),
                    ));
                    &[]
                }
                "off" => &["reboot"],
                _ => &["off", "reboot"],
            };
            for a in mapped {
                if let std::collections::btree_map::Entry::Vacant(e) =
                    action_names.entry(a.to_string())
                {
                    diags.push(diag(
                        Severity::Warning,
                        param_object(&d.id, "action"),
                        format!("action={v} is mapped to pcmk_{a}_action={v}"),
                    ));
                    e.insert(v.clone());
                } else {
                    diags.push(diag(
                        Severity::Warning,
                        param_object(&d.id, "action"),
                        format!("action={v} is ignored: pcmk_{a}_action is set"),
                    ));
                }
            }
        }
        let delay_base = match p.get("pcmk_delay_base") {
            Some(v) => parse_delay_base(&d.id, v, diags),
            None => DelayBase::default(),
        };
        let delay_max_ms = match p.get("pcmk_delay_max") {
            Some(v) => match parse_duration_ms(v) {
                Ok(ms) => ms,
                Err(e) => {
                    diags.push(diag(
                        Severity::Error,
                        param_object(&d.id, "pcmk_delay_max"),
                        e,
                    ));
                    0
                }
            },
            None => 0,
        };
        let agent_delay_ms = match p.get("delay") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s) => s * 1_000,
                Err(_) => {
                    diags.push(diag(
                        Severity::Error,
                        param_object(&d.id, "delay"),
                        format!("'{v}' is not valid: expected whole seconds (the agent sleeps this long)"),
                    ));
                    0
                }
            },
            None => 0,
        };
        let agent_params = p
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !(k.starts_with("pcmk_")
                    || k == "action"
                    || k.contains("crm_meta")
                    || k == "crm_feature_set")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Device {
            id: d.id.clone(),
            agent: d.agent.clone(),
            priority: d.priority,
            host_check,
            host_check_default: explicit_check.is_none(),
            host_list: host_list.unwrap_or_default(),
            host_map: host_map.unwrap_or_default(),
            host_argument,
            actions,
            action_names,
            timeouts_ms,
            retries,
            delay_base,
            delay_max_ms,
            agent_delay_ms,
            agent_params,
        }
    }

    fn supports(&self, action: &str) -> bool {
        self.actions.contains(action)
    }

    /// The action string sent to the agent for a fencer-level action.
    fn agent_action(&self, action: &str) -> String {
        self.action_names
            .get(action)
            .cloned()
            .unwrap_or_else(|| action.to_string())
    }

    /// The device timeout for an action: `pcmk_<action>_timeout`, else the
    /// operation's base timeout. A reboot on a device without `reboot` uses
    /// the `off` timeout.
    fn timeout_ms(&self, action: &str, base_ms: u64) -> u64 {
        let a = if action == "reboot" && !self.supports("reboot") {
            "off"
        } else {
            action
        };
        self.timeouts_ms.get(a).copied().unwrap_or(base_ms)
    }

    fn retries(&self, action: &str) -> u32 {
        self.retries.get(action).copied().unwrap_or(DEFAULT_RETRIES)
    }

    /// The largest fencer-side delay this device can add for `target`.
    fn delay_max_for(&self, target: &str) -> u64 {
        self.delay_max_ms.max(self.delay_base.for_target(target))
    }

    /// Static check without running anything: `Some(answer)` or `None` when
    /// an agent run is needed.
    fn static_check(&self, target: &str) -> Option<bool> {
        match self.host_check {
            HostCheck::None => Some(true),
            HostCheck::StaticList => {
                let t = target.to_lowercase();
                Some(
                    self.host_map.contains_key(&t)
                        || self.host_list.iter().any(|h| h.to_lowercase() == t),
                )
            }
            HostCheck::DynamicList | HostCheck::Status => None,
        }
    }

    /// The value passed as the host argument for `target`.
    fn alias(&self, target: &str) -> String {
        self.host_map
            .get(&target.to_lowercase())
            .cloned()
            .unwrap_or_else(|| target.to_string())
    }

    /// Agent stdin for one run (`action` first, then `nodename` and the host
    /// argument, then the device parameters).
    fn agent_args(&self, agent_action: &str, target: Option<&str>) -> AgentArgs {
        let mut args = vec![("action".to_string(), agent_action.to_string())];
        if let Some(t) = target {
            args.push(("nodename".to_string(), t.to_string()));
            if let Some(arg) = &self.host_argument {
                let configured = self.agent_params.get(arg);
                if configured.is_none_or(|v| v.eq_ignore_ascii_case("dynamic")) {
                    args.push((arg.clone(), self.alias(t)));
                }
            }
        }
        for (k, v) in &self.agent_params {
            if self.host_argument.as_deref() == Some(k.as_str())
                && v.eq_ignore_ascii_case("dynamic")
            {
                continue;
            }
            args.push((k.clone(), v.clone()));
        }
        AgentArgs(args)
    }
}

fn parse_delay_base(dev: &str, v: &str, diags: &mut Vec<FencerDiagnostic>) -> DelayBase {
    let mut base = DelayBase::default();
    if !v.contains(':') {
        match parse_duration_ms(v) {
            Ok(ms) => base.default_ms = ms,
            Err(e) => diags.push(diag(
                Severity::Error,
                param_object(dev, "pcmk_delay_base"),
                e,
            )),
        }
        return base;
    }
    for entry in v
        .split(|c: char| c == ';' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        match entry.split_once(':') {
            Some((node, val)) if !node.is_empty() && !val.is_empty() => {
                match parse_duration_ms(val) {
                    Ok(ms) => {
                        base.per_node.insert(node.to_lowercase(), ms);
                    }
                    Err(e) => diags.push(diag(
                        Severity::Error,
                        param_object(dev, "pcmk_delay_base"),
                        e,
                    )),
                }
            }
            _ => diags.push(diag(
                Severity::Error,
                param_object(dev, "pcmk_delay_base"),
                format!("'{entry}' is not a mapping: expected node:delay (e.g. n1:0s;n2:5s)"),
            )),
        }
    }
    base
}

/// What a device's agent gets for one action (`status`, `list`, `monitor`,
/// `off`...): the agent action after `pcmk_<action>_action` mapping and the
/// stdin, target argument included when a target is given. For
/// `warden stonith test` and the shell; the fencer builds the same.
pub fn device_agent_args(
    device: &FenceDevice,
    info: Option<&AgentInfo>,
    action: &str,
    target: Option<&str>,
) -> (String, AgentArgs) {
    let mut ignored = Vec::new();
    let dev = Device::resolve(device, info, &mut ignored);
    let agent_action = dev.agent_action(action);
    let args = dev.agent_args(&agent_action, target);
    (agent_action, args)
}

/// Agent stdin as ordered `name=value` pairs. `Debug` hides secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentArgs(pub Vec<(String, String)>);

impl AgentArgs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The stdin text: one `name=value` line each.
    pub fn to_stdin(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.0 {
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\n');
        }
        s
    }
}

impl fmt::Debug for AgentArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (k, v) in &self.0 {
            if is_secret_param(k) {
                l.entry(&format_args!("{k}=***"));
            } else {
                l.entry(&format_args!("{k}={v}"));
            }
        }
        l.finish()
    }
}

// ---------------------------------------------------------------------------
// Inputs, effects, results, history
// ---------------------------------------------------------------------------

/// Operation id chosen by the caller (unique per fencer).
pub type OpId = u64;
/// Agent run id chosen by the fencer.
pub type RunId = u64;

/// A delay the requester asks for (Pacemaker's `stonith_admin --delay` and
/// the scheduler's `priority-fencing-delay`). It applies to the first device
/// only; `pcmk_delay_base`/`pcmk_delay_max` are added on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedDelay {
    Ms(u64),
    /// `--delay -1`: no static or random delays at all.
    NoDelays,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceRequest {
    pub id: OpId,
    pub target: String,
    /// `None`: the cluster's `stonith-action`.
    pub action: Option<FenceAction>,
    /// The node that asked.
    pub origin: String,
    /// e.g. `controller`, `warden stonith fence`.
    pub client: String,
    pub delay: RequestedDelay,
    /// `None`: the cluster's `stonith-timeout`.
    pub timeout_ms: Option<u64>,
}

impl FenceRequest {
    pub fn new(id: OpId, target: &str, origin: &str) -> FenceRequest {
        FenceRequest {
            id,
            target: target.to_string(),
            action: None,
            origin: origin.to_string(),
            client: "controller".to_string(),
            delay: RequestedDelay::Ms(0),
            timeout_ms: None,
        }
    }
}

/// How one agent run ended, as the shell saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOutcome {
    /// `None` when the agent was killed or could not be started.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Standard output (capped by the shell); `list` output is parsed.
    pub stdout: String,
    /// A short reason for the history (never agent stderr with secrets).
    pub reason: Option<String>,
}

impl AgentOutcome {
    pub fn exit(code: i32) -> AgentOutcome {
        AgentOutcome {
            exit_code: Some(code),
            timed_out: false,
            stdout: String::new(),
            reason: None,
        }
    }

    pub fn timeout() -> AgentOutcome {
        AgentOutcome {
            exit_code: None,
            timed_out: true,
            stdout: String::new(),
            reason: Some("timed out".to_string()),
        }
    }

    pub fn with_stdout(mut self, s: &str) -> AgentOutcome {
        self.stdout = s.to_string();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FencerInput {
    Request(FenceRequest),
    AgentDone {
        run: RunId,
        outcome: AgentOutcome,
    },
    /// Run the device's recurring `monitor` once.
    Monitor {
        device: String,
    },
    /// `stonith_admin --confirm`: an administrator says the target is down.
    Confirm {
        id: OpId,
        target: String,
        origin: String,
    },
    /// Forget the failed attempts counted against a target.
    ClearFailures {
        target: String,
    },
    /// Replace the configuration (devices, levels, options). Running
    /// operations keep the plan they started with.
    Configure(Box<FencerConfig>),
    /// Time passed (`poll_timeout` was reached).
    Timer,
}

/// What one agent run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPurpose {
    Fence(OpId),
    HostList,
    HostStatus,
    Monitor,
}

/// One fence agent run, for the shell to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRun {
    pub run: RunId,
    pub purpose: RunPurpose,
    pub device: String,
    pub agent: String,
    /// The action string the agent gets (after `pcmk_*_action` mapping).
    pub action: String,
    pub target: Option<String>,
    /// The stdin lines (secrets included: never log them; `Debug` hides them).
    pub args: AgentArgs,
    /// Kill the agent's process group after this long.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FenceResult {
    /// The target is safely down (or, for `on`, powered on).
    Success,
    /// Every level / device failed; the last reason.
    Failed(String),
    /// The operation's total timeout passed.
    TimedOut,
    /// No configured device can fence the target.
    NoDevice,
    /// `stonith-max-attempts` failed operations already counted for this target.
    TooManyAttempts(u32),
}

impl FenceResult {
    pub fn is_success(&self) -> bool {
        matches!(self, FenceResult::Success)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FencerEffect {
    RunAgent(AgentRun),
    /// The operation no longer needs this run: kill the agent, and report
    /// nothing for it.
    KillAgent {
        run: RunId,
    },
    /// The outcome of a fence request (one per request, merged ones included).
    Done {
        id: OpId,
        target: String,
        action: FenceAction,
        result: FenceResult,
        /// The devices that did it (empty unless success).
        devices: Vec<String>,
    },
    /// The power-on half of a reboot done as off then on finished.
    PoweredOn {
        id: OpId,
        target: String,
        /// `Err` lists what failed: reported, never a reason to hold resources.
        result: Result<(), String>,
    },
    MonitorDone {
        device: String,
        result: Result<(), String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryState {
    Pending,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerOn {
    Pending,
    Done,
    Failed(String),
}

/// One operation in the fence history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: OpId,
    pub target: String,
    pub action: FenceAction,
    pub origin: String,
    pub client: String,
    /// The node that ran the agents.
    pub executor: String,
    /// Devices that succeeded (the last one tried when failed); `manual` for
    /// an administrator's confirmation.
    pub devices: Vec<String>,
    pub state: HistoryState,
    /// 1 for the first operation against the target since the last success.
    pub attempt: u32,
    pub requested_ms: Millis,
    pub completed_ms: Option<Millis>,
    pub reason: Option<String>,
    /// Requests merged into this one.
    pub merged: Vec<OpId>,
    /// For reboots done as off then on.
    pub power_on: Option<PowerOn>,
}

// ---------------------------------------------------------------------------
// Free functions for the controller / CLI
// ---------------------------------------------------------------------------

/// One cluster node as the scheduler sees it, for `priority-fencing-delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePriority {
    pub name: String,
    /// A full cluster member (not a remote or guest node).
    pub member: bool,
    /// Online in the requesting partition.
    pub online: bool,
    /// Sum of the priorities of the resources active on it
    /// ([`node_priority`]).
    pub priority: i64,
}

/// A node's priority for `priority-fencing-delay`: the sum of the `priority`
/// of its active resources, a promoted instance counting one more when its
/// priority is not 0.
pub fn node_priority(resources: &[(i64, bool)]) -> i64 {
    resources
        .iter()
        .map(|&(p, promoted)| if promoted && p != 0 { p + 1 } else { p })
        .sum()
}

/// The delay the scheduler requests for fencing a *lost* node (Pacemaker
/// applies it only then, never e.g. to fencing after a failed stop): the
/// `priority-fencing-delay` when the target is a member outside our
/// partition, our partition holds no more than half of the members, node
/// priorities differ, and the target has the highest priority; else 0.
pub fn priority_fencing_delay_ms(
    options: &FencerOptions,
    target: &str,
    nodes: &[NodePriority],
) -> u64 {
    if options.priority_fencing_delay_ms == 0 {
        return 0;
    }
    let Some(t) = nodes.iter().find(|n| n.name.eq_ignore_ascii_case(target)) else {
        return 0;
    };
    if !t.member || t.online {
        return 0;
    }
    let members: Vec<&NodePriority> = nodes.iter().filter(|n| n.member).collect();
    let online = members.iter().filter(|n| n.online).count();
    if online > members.len() / 2 {
        return 0;
    }
    let top = members.iter().map(|n| n.priority).max().unwrap_or(0);
    let low = members.iter().map(|n| n.priority).min().unwrap_or(0);
    if top == low || t.priority < top {
        return 0;
    }
    options.priority_fencing_delay_ms
}

/// Warnings for a two-node cluster whose fencing has nothing to break a
/// fencing race (both nodes would shoot each other at once): fencing
/// either node waits the same fixed time (no agent `delay`, no
/// `pcmk_delay_base`, or the same on both sides), there is no random
/// `pcmk_delay_max` and no `priority-fencing-delay`. `nodes` are the
/// cluster's node names; `cib verify` and `status` call it.
pub fn race_protection_warnings(
    devices: &[FenceDevice],
    options: &FencerOptions,
    nodes: &[String],
) -> Vec<String> {
    if nodes.len() != 2 || devices.is_empty() || !options.enabled {
        return Vec::new();
    }
    if options.priority_fencing_delay_ms > 0 {
        return Vec::new();
    }
    let mut ignored = Vec::new();
    let resolved: Vec<Device> = devices
        .iter()
        .map(|d| Device::resolve(d, None, &mut ignored))
        .collect();
    if resolved.iter().any(|d| d.delay_max_ms > 0) {
        return Vec::new();
    }
    // The fixed wait before fencing each node (the slowest capable device).
    let wait: Vec<u64> = nodes
        .iter()
        .map(|n| {
            resolved
                .iter()
                .filter(|d| d.static_check(n) != Some(false))
                .map(|d| d.agent_delay_ms + d.delay_base.for_target(n))
                .max()
                .unwrap_or(0)
        })
        .collect();
    if wait[0] == 0 && wait[1] == 0 {
        return vec![
            "two-node cluster without fencing-race protection: in a split both nodes fence \
             each other at once and both may die; set pcmk_delay_base (e.g. 10s) on the device \
             that fences the node that should survive, or pcmk_delay_max, or the cluster \
             property priority-fencing-delay"
                .to_string(),
        ];
    }
    if wait[0] == wait[1] {
        return vec![format!(
            "two-node cluster: fencing {} and fencing {} both wait {} ms, so a fencing race \
             is not decided; give only the device that fences the preferred survivor a delay",
            nodes[0], nodes[1], wait[0]
        )];
    }
    Vec::new()
}

// ---------------------------------------------------------------------------
// The state machine
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// One agent action per device (reboot, off or on).
    Single(FenceAction),
    /// The off half of a reboot done as off then on.
    Off,
    /// The on half.
    On,
}

impl Phase {
    fn action(self) -> FenceAction {
        match self {
            Phase::Single(a) => a,
            Phase::Off => FenceAction::Off,
            Phase::On => FenceAction::On,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Choose the current device (host check, skip rules).
    Pick,
    /// A host check run is out.
    Checking(RunId),
    /// Waiting out fencer-side delays.
    Delaying(Millis),
    /// Ready to run when the device is free.
    Ready,
    Running(RunId),
    Finished,
}

#[derive(Debug, Clone)]
struct Level {
    index: Option<u32>,
    devices: Vec<String>,
}

#[derive(Debug, Clone)]
struct Op {
    id: OpId,
    target: String,
    action: FenceAction,
    merged: Vec<OpId>,
    delay: RequestedDelay,
    requested_delay_used: bool,
    base_timeout_ms: u64,
    deadline: Option<Millis>,
    plan: Vec<Level>,
    level: usize,
    dev: usize,
    phase: Phase,
    /// Whether the Done effect was emitted.
    declared: bool,
    stage: Stage,
    /// Per device: whether a status/list check said it can fence the target.
    checks: BTreeMap<String, bool>,
    dev_tries: u32,
    dev_started: Millis,
    dev_timeout_ms: u64,
    done_devices: Vec<String>,
    on_errors: Vec<String>,
    last_error: Option<String>,
    saw_device: bool,
}

#[derive(Debug, Clone)]
struct Run {
    purpose: RunPurpose,
    device: String,
    op: Option<OpId>,
}

/// The fencer of one node.
pub struct Fencer {
    cfg: FencerConfig,
    devices: BTreeMap<String, Device>,
    /// Device ids in the order tried without topology (priority, then id).
    device_order: Vec<String>,
    diagnostics: Vec<FencerDiagnostic>,
    rng: ChaCha8Rng,
    next_run: RunId,
    ops: BTreeMap<OpId, Op>,
    runs: BTreeMap<RunId, Run>,
    busy: BTreeSet<String>,
    /// Monitors waiting for their device.
    monitors: VecDeque<String>,
    /// Dynamic `list` results: device -> (when, node names).
    lists: BTreeMap<String, (Millis, Option<BTreeSet<String>>)>,
    failures: BTreeMap<String, u32>,
    history: VecDeque<HistoryEntry>,
    effects: VecDeque<FencerEffect>,
}

impl Fencer {
    /// A fencer for `config`; `seed` drives `pcmk_delay_max`.
    pub fn new(config: FencerConfig, seed: u64) -> Fencer {
        let mut f = Fencer {
            cfg: FencerConfig::default(),
            devices: BTreeMap::new(),
            device_order: Vec::new(),
            diagnostics: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_run: 1,
            ops: BTreeMap::new(),
            runs: BTreeMap::new(),
            busy: BTreeSet::new(),
            monitors: VecDeque::new(),
            lists: BTreeMap::new(),
            failures: BTreeMap::new(),
            history: VecDeque::new(),
            effects: VecDeque::new(),
        };
        f.configure(config);
        f
    }

    fn configure(&mut self, config: FencerConfig) {
        let mut diags = Vec::new();
        let mut devices = BTreeMap::new();
        for d in &config.devices {
            if devices.contains_key(&d.id) {
                diags.push(diag(
                    Severity::Error,
                    format!("device {}", d.id),
                    "defined twice; the first definition is used".to_string(),
                ));
                continue;
            }
            devices.insert(
                d.id.clone(),
                Device::resolve(d, config.agents.get(&d.agent), &mut diags),
            );
        }
        for l in &config.levels {
            if !(1..=9).contains(&l.index) {
                diags.push(diag(
                    Severity::Error,
                    format!("fencing-level index={}", l.index),
                    "index must be 1 to 9".to_string(),
                ));
            }
            for d in &l.devices {
                if !devices.contains_key(d) {
                    diags.push(diag(
                        Severity::Error,
                        format!("fencing-level index={} devices", l.index),
                        format!("'{d}' is not a configured fence device"),
                    ));
                }
            }
            if let LevelTarget::Pattern(p) = &l.target {
                if let Err(e) = Regex::new(p) {
                    diags.push(diag(
                        Severity::Error,
                        format!("fencing-level index={} target-pattern", l.index),
                        format!("'{p}' is not a regular expression: {e}"),
                    ));
                }
            }
        }
        let mut order: Vec<&Device> = devices.values().collect();
        order.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        self.device_order = order.iter().map(|d| d.id.clone()).collect();
        self.devices = devices;
        self.lists.clear();
        self.diagnostics = diags;
        self.cfg = config;
        while self.history.len() > self.cfg.options.history_max {
            self.history.pop_front();
        }
    }

    /// What was wrong with the configuration last given.
    pub fn diagnostics(&self) -> &[FencerDiagnostic] {
        &self.diagnostics
    }

    pub fn options(&self) -> &FencerOptions {
        &self.cfg.options
    }

    /// The fence history, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.history.iter()
    }

    /// Failed operations counted against `target` since its last success.
    pub fn failures(&self, target: &str) -> u32 {
        self.failures
            .get(&target.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// The next effect to carry out.
    pub fn poll_effect(&mut self) -> Option<FencerEffect> {
        self.effects.pop_front()
    }

    /// When to call `handle(now, FencerInput::Timer)` next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.ops
            .values()
            .flat_map(|op| {
                let delay = match op.stage {
                    Stage::Delaying(t) => Some(t),
                    _ => None,
                };
                let deadline = if op.declared { None } else { op.deadline };
                [delay, deadline]
            })
            .flatten()
            .min()
    }

    pub fn handle(&mut self, now: Millis, input: FencerInput) {
        match input {
            FencerInput::Request(req) => self.request(now, req),
            FencerInput::AgentDone { run, outcome } => self.agent_done(now, run, outcome),
            FencerInput::Monitor { device } => {
                if self.devices.contains_key(&device) {
                    self.monitors.push_back(device);
                } else {
                    self.effects.push_back(FencerEffect::MonitorDone {
                        result: Err(format!("no fence device '{device}' is configured")),
                        device,
                    });
                }
            }
            FencerInput::Confirm { id, target, origin } => self.confirm(now, id, target, origin),
            FencerInput::ClearFailures { target } => {
                self.failures.remove(&target.to_lowercase());
            }
            FencerInput::Configure(cfg) => self.configure(*cfg),
            FencerInput::Timer => {}
        }
        self.expire(now);
        self.advance(now);
    }

    fn request(&mut self, now: Millis, req: FenceRequest) {
        let action = req.action.unwrap_or(self.cfg.options.action);
        assert!(
            !self.ops.contains_key(&req.id) && !self.history.iter().any(|h| h.id == req.id),
            "fence operation id {} reused",
            req.id
        );
        let mut entry = HistoryEntry {
            id: req.id,
            target: req.target.clone(),
            action,
            origin: req.origin.clone(),
            client: req.client.clone(),
            executor: self.cfg.local_node.clone(),
            devices: Vec::new(),
            state: HistoryState::Pending,
            attempt: self.failures(&req.target) + 1,
            requested_ms: now,
            completed_ms: None,
            reason: None,
            merged: Vec::new(),
            power_on: None,
        };
        // Identical concurrent requests are merged into the running one.
        if let Some(op) = self.ops.values_mut().find(|o| {
            !o.declared && o.action == action && o.target.eq_ignore_ascii_case(&req.target)
        }) {
            op.merged.push(req.id);
            let into = op.id;
            if let Some(h) = self.history.iter_mut().find(|h| h.id == into) {
                h.merged.push(req.id);
            }
            return;
        }
        let failed = self.failures(&req.target);
        if failed >= self.cfg.options.max_attempts {
            entry.state = HistoryState::Failed;
            entry.completed_ms = Some(now);
            entry.reason = Some(format!(
                "{failed} failed attempts (stonith-max-attempts={}); clear them to try again",
                self.cfg.options.max_attempts
            ));
            self.push_history(entry);
            self.effects.push_back(FencerEffect::Done {
                id: req.id,
                target: req.target,
                action,
                result: FenceResult::TooManyAttempts(failed),
                devices: Vec::new(),
            });
            return;
        }
        let plan = self.plan(&req.target);
        let base_timeout_ms = req.timeout_ms.unwrap_or(self.cfg.options.timeout_ms);
        let mut op = Op {
            id: req.id,
            target: req.target.clone(),
            action,
            merged: Vec::new(),
            delay: req.delay,
            requested_delay_used: false,
            base_timeout_ms,
            deadline: None,
            plan,
            level: 0,
            dev: 0,
            phase: Phase::Single(action),
            declared: false,
            stage: Stage::Pick,
            checks: BTreeMap::new(),
            dev_tries: 0,
            dev_started: now,
            dev_timeout_ms: 0,
            done_devices: Vec::new(),
            on_errors: Vec::new(),
            last_error: None,
            saw_device: false,
        };
        op.deadline = Some(now + self.total_timeout_ms(&op));
        self.push_history(entry);
        if op.plan.is_empty() {
            self.fail(now, &mut op, FenceResult::NoDevice);
        } else {
            self.enter_level(&mut op);
        }
        self.ops.insert(op.id, op);
    }

    /// Levels to try: the target's topology, or each device on its own.
    fn plan(&self, target: &str) -> Vec<Level> {
        let mut levels: Vec<&FencingLevel> = self
            .cfg
            .levels
            .iter()
            .filter(|l| self.level_matches(l, target))
            .collect();
        levels.sort_by_key(|l| l.index);
        if !levels.is_empty() {
            return levels
                .into_iter()
                .map(|l| Level {
                    index: Some(l.index),
                    devices: l.devices.clone(),
                })
                .collect();
        }
        self.device_order
            .iter()
            .filter(|id| self.devices[*id].static_check(target) != Some(false))
            .map(|id| Level {
                index: None,
                devices: vec![id.clone()],
            })
            .collect()
    }

    fn level_matches(&self, l: &FencingLevel, target: &str) -> bool {
        match &l.target {
            LevelTarget::Node(n) => n.eq_ignore_ascii_case(target),
            LevelTarget::Pattern(p) => Regex::new(p).is_ok_and(|r| r.is_match(target)),
            LevelTarget::Attribute { name, value } => self
                .cfg
                .node_attributes
                .get(target)
                .and_then(|a| a.get(name))
                .is_some_and(|v| v == value),
        }
    }

    /// 1.2 × (each device's timeout for the action + its largest delay),
    /// plus the requested delay: the whole operation's budget.
    fn total_timeout_ms(&self, op: &Op) -> u64 {
        let action = match (op.action, self.cfg.options.reboot_mode) {
            (FenceAction::Reboot, RebootMode::OffThenOn) => "off",
            (a, _) => a.as_str(),
        };
        let fencing = op.action != FenceAction::On;
        let mut sum = 0;
        for level in &op.plan {
            for d in &level.devices {
                if let Some(dev) = self.devices.get(d) {
                    sum += dev.timeout_ms(action, op.base_timeout_ms);
                    if fencing && op.delay != RequestedDelay::NoDelays {
                        sum += dev.delay_max_for(&op.target);
                    }
                    if fencing {
                        sum += agent_delay_allowance(dev);
                    }
                }
            }
        }
        if sum == 0 {
            sum = op.base_timeout_ms;
        }
        let requested = match op.delay {
            RequestedDelay::Ms(ms) => ms,
            RequestedDelay::NoDelays => 0,
        };
        sum * TIMEOUT_FACTOR_TENTHS / 10 + requested
    }

    fn enter_level(&mut self, op: &mut Op) {
        op.dev = 0;
        op.stage = Stage::Pick;
        op.phase = match op.action {
            FenceAction::Reboot => {
                let level = &op.plan[op.level];
                let split = match self.cfg.options.reboot_mode {
                    RebootMode::OffThenOn => true,
                    RebootMode::Agent => {
                        level.devices.len() > 1
                            || level.devices.iter().any(|d| {
                                self.devices.get(d).is_some_and(|dev| {
                                    !dev.supports("reboot")
                                        && !dev.action_names.contains_key("reboot")
                                })
                            })
                    }
                };
                if split {
                    Phase::Off
                } else {
                    Phase::Single(FenceAction::Reboot)
                }
            }
            a => Phase::Single(a),
        };
    }

    fn push_history(&mut self, entry: HistoryEntry) {
        self.history.push_back(entry);
        while self.history.len() > self.cfg.options.history_max.max(1) {
            self.history.pop_front();
        }
    }

    fn history_mut(&mut self, id: OpId) -> Option<&mut HistoryEntry> {
        self.history.iter_mut().rev().find(|h| h.id == id)
    }

    /// Fails the whole operation (not yet declared).
    fn fail(&mut self, now: Millis, op: &mut Op, result: FenceResult) {
        debug_assert!(!op.declared);
        op.declared = true;
        op.stage = Stage::Finished;
        *self.failures.entry(op.target.to_lowercase()).or_insert(0) += 1;
        let reason = match &result {
            FenceResult::Failed(r) => r.clone(),
            FenceResult::TimedOut => "the operation timed out".to_string(),
            FenceResult::NoDevice => "no fence device can fence this node".to_string(),
            FenceResult::TooManyAttempts(n) => format!("{n} failed attempts"),
            FenceResult::Success => unreachable!("fail() with success"),
        };
        let devices = op.done_devices.clone();
        if let Some(h) = self.history_mut(op.id) {
            h.state = HistoryState::Failed;
            h.completed_ms = Some(now);
            h.reason = Some(reason);
            h.devices = devices;
        }
        self.emit_done(op, result);
    }

    fn emit_done(&mut self, op: &Op, result: FenceResult) {
        let devices = if result.is_success() {
            op.done_devices.clone()
        } else {
            Vec::new()
        };
        for id in std::iter::once(op.id).chain(op.merged.iter().copied()) {
            self.effects.push_back(FencerEffect::Done {
                id,
                target: op.target.clone(),
                action: op.action,
                result: result.clone(),
                devices: devices.clone(),
            });
        }
    }

    fn succeed(&mut self, now: Millis, op: &mut Op) {
        debug_assert!(!op.declared);
        op.declared = true;
        self.failures.remove(&op.target.to_lowercase());
        let devices = op.done_devices.clone();
        let on_pending = op.phase == Phase::On;
        if let Some(h) = self.history_mut(op.id) {
            h.state = HistoryState::Done;
            h.completed_ms = Some(now);
            h.devices = devices;
            h.reason = None;
            if on_pending {
                h.power_on = Some(PowerOn::Pending);
            }
        }
        self.emit_done(op, FenceResult::Success);
    }

    fn confirm(&mut self, now: Millis, id: OpId, target: String, origin: String) {
        // Operations still trying to fence the target are complete too.
        let pending: Vec<OpId> = self
            .ops
            .values()
            .filter(|o| !o.declared && o.target.eq_ignore_ascii_case(&target))
            .map(|o| o.id)
            .collect();
        for pid in pending {
            let mut op = self.ops.remove(&pid).expect("listed above");
            if let Stage::Running(run) | Stage::Checking(run) = op.stage {
                self.drop_run(run);
            }
            op.done_devices = vec!["manual".to_string()];
            op.stage = Stage::Finished;
            op.phase = Phase::Single(op.action);
            self.succeed(now, &mut op);
        }
        self.failures.remove(&target.to_lowercase());
        self.push_history(HistoryEntry {
            id,
            target: target.clone(),
            action: FenceAction::Off,
            origin,
            client: "manual confirmation".to_string(),
            executor: self.cfg.local_node.clone(),
            devices: vec!["manual".to_string()],
            state: HistoryState::Done,
            attempt: 1,
            requested_ms: now,
            completed_ms: Some(now),
            reason: None,
            merged: Vec::new(),
            power_on: None,
        });
        self.effects.push_back(FencerEffect::Done {
            id,
            target,
            action: FenceAction::Off,
            result: FenceResult::Success,
            devices: vec!["manual".to_string()],
        });
    }

    fn drop_run(&mut self, run: RunId) {
        if let Some(r) = self.runs.remove(&run) {
            self.busy.remove(&r.device);
            self.effects.push_back(FencerEffect::KillAgent { run });
        }
    }

    /// Operation deadlines.
    fn expire(&mut self, now: Millis) {
        let expired: Vec<OpId> = self
            .ops
            .values()
            .filter(|o| !o.declared && o.deadline.is_some_and(|d| now >= d))
            .map(|o| o.id)
            .collect();
        for id in expired {
            let mut op = self.ops.remove(&id).expect("listed above");
            if let Stage::Running(run) | Stage::Checking(run) = op.stage {
                self.drop_run(run);
            }
            if op.phase == Phase::On {
                // Agent mode: the off part is done, only the on part is late.
                op.on_errors.push("timed out".to_string());
                self.succeed(now, &mut op);
                self.finish_on(now, &mut op);
            } else {
                self.fail(now, &mut op, FenceResult::TimedOut);
            }
        }
    }

    /// Moves every operation (and queued monitor) as far as it can go.
    fn advance(&mut self, now: Millis) {
        let ids: Vec<OpId> = self.ops.keys().copied().collect();
        for id in ids {
            // Without concurrent fencing, only the oldest undecided operation
            // runs (the on half of a finished reboot does not block others).
            if !self.cfg.options.concurrent_fencing {
                let first = self.ops.values().find(|o| !o.declared).map(|o| o.id);
                let op = &self.ops[&id];
                if !op.declared && first != Some(id) {
                    continue;
                }
            }
            let mut op = self.ops.remove(&id).expect("listed above");
            self.step(now, &mut op);
            if op.stage != Stage::Finished {
                self.ops.insert(id, op);
            }
        }
        let mut waiting = VecDeque::new();
        while let Some(device) = self.monitors.pop_front() {
            if self.busy.contains(&device) {
                waiting.push_back(device);
                continue;
            }
            let Some(dev) = self.devices.get(&device) else {
                continue;
            };
            let action = dev.agent_action("monitor");
            let timeout = dev.timeout_ms("monitor", self.cfg.options.timeout_ms);
            let args = dev.agent_args(&action, None);
            self.start_run(
                RunPurpose::Monitor,
                None,
                &device,
                action,
                None,
                args,
                timeout,
            );
        }
        self.monitors = waiting;
    }

    #[allow(clippy::too_many_arguments)]
    fn start_run(
        &mut self,
        purpose: RunPurpose,
        op: Option<OpId>,
        device: &str,
        action: String,
        target: Option<String>,
        args: AgentArgs,
        timeout_ms: u64,
    ) -> RunId {
        let run = self.next_run;
        self.next_run += 1;
        self.busy.insert(device.to_string());
        self.runs.insert(
            run,
            Run {
                purpose,
                device: device.to_string(),
                op,
            },
        );
        self.effects.push_back(FencerEffect::RunAgent(AgentRun {
            run,
            purpose,
            device: device.to_string(),
            agent: self.devices[device].agent.clone(),
            action,
            target,
            args,
            timeout_ms,
        }));
        run
    }

    fn step(&mut self, now: Millis, op: &mut Op) {
        loop {
            match op.stage {
                Stage::Finished | Stage::Running(_) | Stage::Checking(_) => return,
                Stage::Delaying(until) => {
                    if now < until {
                        return;
                    }
                    op.stage = Stage::Ready;
                }
                Stage::Pick => {
                    if op.level >= op.plan.len() {
                        let reason = op
                            .last_error
                            .clone()
                            .unwrap_or_else(|| "no device could fence the node".to_string());
                        let result = if op.saw_device {
                            FenceResult::Failed(reason)
                        } else {
                            FenceResult::NoDevice
                        };
                        self.fail(now, op, result);
                        return;
                    }
                    let level = &op.plan[op.level];
                    if op.dev >= level.devices.len() {
                        self.level_passed(now, op);
                        continue;
                    }
                    let dev_id = level.devices[op.dev].clone();
                    let Some(dev) = self.devices.get(&dev_id) else {
                        self.device_failed(
                            now,
                            op,
                            format!("fence device '{dev_id}' is not configured"),
                        );
                        continue;
                    };
                    if op.phase == Phase::On {
                        let stays_off =
                            dev.action_names.get("reboot").map(String::as_str) == Some("off");
                        if stays_off || !dev.supports("on") {
                            op.dev += 1;
                            continue;
                        }
                        op.stage = Stage::Ready;
                        op.dev_tries = 0;
                        op.dev_started = now;
                        op.dev_timeout_ms = 0;
                        continue;
                    }
                    match self.can_fence(now, op, &dev_id) {
                        Some(true) => {
                            op.saw_device = true;
                            op.dev_tries = 0;
                            op.dev_timeout_ms = 0;
                            let delay = self.delay_for(op, &dev_id);
                            op.stage = if delay > 0 {
                                Stage::Delaying(now + delay)
                            } else {
                                Stage::Ready
                            };
                            op.dev_started = now + delay;
                        }
                        Some(false) => {
                            let reason = format!("{dev_id} cannot fence {}", op.target);
                            self.device_failed(now, op, reason);
                        }
                        None => {
                            // A host check is needed; wait for the device.
                            if self.busy.contains(&dev_id) {
                                return;
                            }
                            let run = self.start_check(op, &dev_id);
                            op.stage = Stage::Checking(run);
                            return;
                        }
                    }
                }
                Stage::Ready => {
                    let dev_id = op.plan[op.level].devices[op.dev].clone();
                    if self.busy.contains(&dev_id) {
                        return;
                    }
                    let run = self.start_fence_run(now, op, &dev_id);
                    op.stage = Stage::Running(run);
                    return;
                }
            }
        }
    }

    /// Whether `dev` can fence the op's target: `None` when an agent run is
    /// needed first.
    fn can_fence(&self, now: Millis, op: &Op, dev_id: &str) -> Option<bool> {
        let dev = &self.devices[dev_id];
        if let Some(answer) = dev.static_check(&op.target) {
            return Some(answer);
        }
        if let Some(answer) = op.checks.get(dev_id) {
            return Some(*answer);
        }
        if dev.host_check == HostCheck::DynamicList {
            if let Some((at, list)) = self.lists.get(dev_id) {
                if now < at + DYNAMIC_LIST_TTL_MS {
                    match list {
                        Some(names) => {
                            let t = op.target.to_lowercase();
                            let alias = dev.alias(&op.target).to_lowercase();
                            return Some(names.contains(&t) || names.contains(&alias));
                        }
                        // A failed default list falls back to status.
                        None if dev.host_check_default && dev.supports("status") => return None,
                        None => return Some(false),
                    }
                }
            }
        }
        None
    }

    fn start_check(&mut self, op: &Op, dev_id: &str) -> RunId {
        let dev = &self.devices[dev_id];
        let use_list = dev.host_check == HostCheck::DynamicList
            && !matches!(self.lists.get(dev_id), Some((_, None)));
        let (purpose, action, target) = if use_list {
            (RunPurpose::HostList, "list", None)
        } else {
            (RunPurpose::HostStatus, "status", Some(op.target.clone()))
        };
        let agent_action = dev.agent_action(action);
        let timeout = dev.timeout_ms(action, op.base_timeout_ms);
        let args = dev.agent_args(&agent_action, target.as_deref());
        self.start_run(
            purpose,
            Some(op.id),
            dev_id,
            agent_action,
            target,
            args,
            timeout,
        )
    }

    /// Fencer-side delay before the device runs: the requested delay (first
    /// device of the operation only) plus `pcmk_delay_base` and a random part
    /// up to `pcmk_delay_max`, for off/reboot only.
    fn delay_for(&mut self, op: &mut Op, dev_id: &str) -> u64 {
        if op.phase.action() == FenceAction::On {
            return 0;
        }
        let requested = match op.delay {
            RequestedDelay::NoDelays => return 0,
            RequestedDelay::Ms(ms) if !op.requested_delay_used => ms,
            RequestedDelay::Ms(_) => 0,
        };
        op.requested_delay_used = true;
        let dev = &self.devices[dev_id];
        let mut base = dev.delay_base.for_target(&op.target);
        let max = if dev.delay_max_ms == 0 {
            base
        } else {
            dev.delay_max_ms
        };
        if base > max {
            base = max;
        }
        let random = if max > base {
            self.rng.gen_range(0..=max - base)
        } else {
            0
        };
        requested + base + random
    }

    fn start_fence_run(&mut self, now: Millis, op: &mut Op, dev_id: &str) -> RunId {
        let dev = &self.devices[dev_id];
        let fencer_action = match op.phase {
            Phase::Single(FenceAction::Reboot) if !dev.supports("reboot") => {
                // Only reached with an explicit pcmk_reboot_action.
                "reboot"
            }
            p => p.action().as_str(),
        };
        if op.dev_tries == 0 {
            op.dev_timeout_ms = dev.timeout_ms(fencer_action, op.base_timeout_ms);
            op.dev_started = now;
        }
        op.dev_tries += 1;
        let elapsed = now.saturating_sub(op.dev_started);
        let mut timeout = op.dev_timeout_ms.saturating_sub(elapsed).max(1);
        if op.phase.action() != FenceAction::On {
            // warden: the agent's own `delay` sleep counts against the agent's
            // run, so it extends that run's timeout (Pacemaker does not, and a
            // delay near the timeout then always fails).
            timeout += agent_delay_allowance(dev);
        }
        let agent_action = dev.agent_action(fencer_action);
        let args = dev.agent_args(&agent_action, Some(&op.target));
        let target = Some(op.target.clone());
        self.start_run(
            RunPurpose::Fence(op.id),
            Some(op.id),
            dev_id,
            agent_action,
            target,
            args,
            timeout,
        )
    }

    fn agent_done(&mut self, now: Millis, run_id: RunId, outcome: AgentOutcome) {
        let Some(run) = self.runs.remove(&run_id) else {
            // Killed or unknown: nothing waits for it.
            return;
        };
        self.busy.remove(&run.device);
        match run.purpose {
            RunPurpose::Monitor => {
                let result = match outcome.exit_code {
                    Some(0) => Ok(()),
                    _ => Err(describe_failure(&outcome)),
                };
                self.effects.push_back(FencerEffect::MonitorDone {
                    device: run.device,
                    result,
                });
            }
            RunPurpose::HostList => {
                let names = (outcome.exit_code == Some(0)).then(|| parse_list(&outcome.stdout));
                self.lists.insert(run.device.clone(), (now, names));
                if let Some(op) = run.op.and_then(|id| self.ops.get_mut(&id)) {
                    if op.stage == Stage::Checking(run_id) {
                        op.stage = Stage::Pick;
                    }
                }
            }
            RunPurpose::HostStatus => {
                if let Some(op) = run.op.and_then(|id| self.ops.get_mut(&id)) {
                    // Reachable and answering on or off: it can fence.
                    let ok = matches!(outcome.exit_code, Some(0) | Some(2));
                    op.checks.insert(run.device.clone(), ok);
                    if op.stage == Stage::Checking(run_id) {
                        op.stage = Stage::Pick;
                    }
                }
            }
            RunPurpose::Fence(id) => {
                let Some(mut op) = self.ops.remove(&id) else {
                    return;
                };
                if op.stage == Stage::Running(run_id) {
                    self.fence_run_done(now, &mut op, &run.device, outcome);
                }
                if op.stage != Stage::Finished {
                    self.ops.insert(id, op);
                }
            }
        }
    }

    fn fence_run_done(&mut self, now: Millis, op: &mut Op, device: &str, outcome: AgentOutcome) {
        if outcome.exit_code == Some(0) {
            op.done_devices.push(device.to_string());
            op.dev += 1;
            op.stage = Stage::Pick;
            return;
        }
        let reason = format!(
            "{device} {}: {}",
            op.phase.action(),
            describe_failure(&outcome)
        );
        let action = op.phase.action().as_str();
        let retries = self.devices.get(device).map_or(1, |d| d.retries(action));
        let elapsed = now.saturating_sub(op.dev_started);
        let in_window = elapsed * 100 < op.dev_timeout_ms * RETRY_WINDOW_PERCENT;
        if !outcome.timed_out && op.dev_tries < retries && in_window {
            op.last_error = Some(reason);
            op.stage = Stage::Ready;
            return;
        }
        if op.phase == Phase::On {
            op.on_errors.push(reason);
            op.dev += 1;
            op.stage = Stage::Pick;
            return;
        }
        self.device_failed(now, op, reason);
    }

    /// The current device failed (or cannot fence): the level fails, the
    /// next one is tried.
    fn device_failed(&mut self, _now: Millis, op: &mut Op, reason: String) {
        op.last_error = Some(match op.plan.get(op.level).and_then(|l| l.index) {
            Some(i) => format!("level {i}: {reason}"),
            None => reason,
        });
        op.done_devices.clear();
        op.level += 1;
        if op.level < op.plan.len() {
            self.enter_level(op);
        } else {
            op.stage = Stage::Pick;
        }
    }

    /// Every device of the current level did its part.
    fn level_passed(&mut self, now: Millis, op: &mut Op) {
        match op.phase {
            Phase::Off => {
                if self.cfg.options.reboot_mode == RebootMode::OffThenOn {
                    op.phase = Phase::On;
                    self.succeed(now, op);
                } else {
                    op.phase = Phase::On;
                }
                op.dev = 0;
                op.stage = Stage::Pick;
            }
            Phase::On => {
                if !op.declared {
                    self.succeed(now, op);
                }
                self.finish_on(now, op);
            }
            Phase::Single(_) => {
                op.stage = Stage::Finished;
                self.succeed(now, op);
            }
        }
    }

    fn finish_on(&mut self, _now: Millis, op: &mut Op) {
        op.stage = Stage::Finished;
        let result = if op.on_errors.is_empty() {
            Ok(())
        } else {
            Err(op.on_errors.join("; "))
        };
        if let Some(h) = self.history_mut(op.id) {
            h.power_on = Some(match &result {
                Ok(()) => PowerOn::Done,
                Err(e) => PowerOn::Failed(e.clone()),
            });
        }
        self.effects.push_back(FencerEffect::PoweredOn {
            id: op.id,
            target: op.target.clone(),
            result,
        });
    }
}

/// The agent's own `delay` sleeps `1 + delay` seconds before off/reboot.
fn agent_delay_allowance(dev: &Device) -> u64 {
    if dev.agent_delay_ms > 0 {
        dev.agent_delay_ms + 1_000
    } else {
        0
    }
}

fn describe_failure(o: &AgentOutcome) -> String {
    if let Some(r) = &o.reason {
        return r.clone();
    }
    match o.exit_code {
        Some(c) => format!("agent exited with {c}"),
        None if o.timed_out => "timed out".to_string(),
        None => "agent was killed".to_string(),
    }
}

/// Node names in `list` output: `id,alias` lines (both fields count).
fn parse_list(stdout: &str) -> BTreeSet<String> {
    let mut end = stdout.len().min(LIST_OUTPUT_MAX);
    while !stdout.is_char_boundary(end) {
        end -= 1;
    }
    let text = &stdout[..end];
    let mut names = BTreeSet::new();
    for line in text.lines() {
        for field in line.split(',').take(2) {
            let f = field.trim();
            if !f.is_empty() && !f.contains(' ') {
                names.insert(f.to_lowercase());
            }
        }
    }
    names
}

// ---------------------------------------------------------------------------
// From the CIB
// ---------------------------------------------------------------------------

/// The fencer's configuration as the CIB gives it: every `stonith`
/// primitive not disabled (`target-role=Stopped`) is a device, with its
/// instance attributes as parameters and its `priority` meta attribute;
/// `fencing-topology` levels; options from the cluster properties; node
/// attributes from `<nodes>` (for `target-attribute` levels). Agent
/// metadata is not in the CIB: `agents` is left empty (see
/// [`FencerConfig::agents`] for what that assumes). Rules on attribute
/// sets are not evaluated: the first value of each name counts.
pub fn config_from_cib(
    cib: &crate::core::cib::Cib,
    local_node: &str,
) -> (FencerConfig, Vec<FencerDiagnostic>) {
    use crate::core::cib::SetKind;
    let c = &cib.configuration;
    let mut diags = Vec::new();
    let mut devices = Vec::new();
    for p in c.primitives() {
        if p.class.as_deref() != Some("stonith") {
            continue;
        }
        let disabled = p
            .attr(SetKind::Meta, "target-role")
            .is_some_and(|r| r.eq_ignore_ascii_case("stopped"));
        if disabled {
            continue;
        }
        let mut params = BTreeMap::new();
        for set in p.sets_of(SetKind::Instance) {
            for pair in &set.pairs {
                if let Some(v) = &pair.value {
                    params.entry(pair.name.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        let priority = match p.attr(SetKind::Meta, "priority") {
            Some(v) => match v.trim().parse::<i32>() {
                Ok(n) => n,
                Err(_) => {
                    diags.push(diag(
                        Severity::Error,
                        format!("device {} meta attribute priority", p.id),
                        format!("'{v}' is not valid: expected an integer"),
                    ));
                    0
                }
            },
            None => 0,
        };
        devices.push(FenceDevice {
            id: p.id.clone(),
            agent: p.kind.clone().unwrap_or_default(),
            params,
            priority,
        });
    }
    let mut levels = Vec::new();
    if let Some(t) = &c.fencing_topology {
        for l in &t.levels {
            let index = match l.index.trim().parse::<u32>() {
                Ok(i) => i,
                Err(_) => {
                    diags.push(diag(
                        Severity::Error,
                        format!("fencing-level {}", l.id),
                        format!("index '{}' is not valid: expected 1 to 9", l.index),
                    ));
                    continue;
                }
            };
            let target = match (&l.target, &l.target_pattern, &l.target_attribute) {
                (Some(n), _, _) => LevelTarget::Node(n.clone()),
                (None, Some(p), _) => LevelTarget::Pattern(p.clone()),
                (None, None, Some(a)) => LevelTarget::Attribute {
                    name: a.clone(),
                    value: l.target_value.clone().unwrap_or_default(),
                },
                (None, None, None) => {
                    diags.push(diag(
                        Severity::Error,
                        format!("fencing-level {}", l.id),
                        "no target: expected target, target-pattern or target-attribute"
                            .to_string(),
                    ));
                    continue;
                }
            };
            levels.push(FencingLevel {
                index,
                target,
                devices: l
                    .devices
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
    }
    let mut props = BTreeMap::new();
    for set in &c.crm_config {
        for pair in &set.pairs {
            if let Some(v) = &pair.value {
                props.entry(pair.name.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let (options, option_diags) = FencerOptions::from_properties(&props);
    diags.extend(option_diags);
    let mut node_attributes = BTreeMap::new();
    for n in &c.nodes {
        let mut attrs = BTreeMap::new();
        for set in n.sets.iter().filter(|s| s.kind == SetKind::Instance) {
            for pair in &set.pairs {
                if let Some(v) = &pair.value {
                    attrs.entry(pair.name.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        node_attributes.insert(n.uname.clone(), attrs);
    }
    (
        FencerConfig {
            local_node: local_node.to_string(),
            devices,
            levels,
            agents: BTreeMap::new(),
            options,
            node_attributes,
        },
        diags,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPMI_ACTIONS: &[&str] = &["on", "off", "reboot", "status", "monitor", "metadata"];
    const IPMI_PARAMS: &[&str] = &[
        "ip", "ipaddr", "password", "passwd", "port", "plug", "delay",
    ];

    fn ipmi(id: &str, params: &[(&str, &str)]) -> FenceDevice {
        let mut all = vec![("ip", "10.0.0.9"), ("password", "s3cret")];
        all.extend_from_slice(params);
        FenceDevice::new(id, "fence_ipmilan", &all)
    }

    fn config(
        devices: Vec<FenceDevice>,
        levels: Vec<FencingLevel>,
        props: &[(&str, &str)],
    ) -> FencerConfig {
        let props: BTreeMap<String, String> = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (options, diags) = FencerOptions::from_properties(&props);
        assert!(diags.is_empty(), "{diags:?}");
        let mut agents = BTreeMap::new();
        agents.insert(
            "fence_ipmilan".to_string(),
            AgentInfo::new(IPMI_ACTIONS, IPMI_PARAMS),
        );
        agents.insert(
            "fence_pdu".to_string(),
            AgentInfo::new(&["on", "off", "status", "list", "monitor"], &["ip", "plug"]),
        );
        FencerConfig {
            local_node: "n1".to_string(),
            devices,
            levels,
            agents,
            options,
            node_attributes: BTreeMap::new(),
        }
    }

    fn fencer(devices: Vec<FenceDevice>, props: &[(&str, &str)]) -> Fencer {
        Fencer::new(config(devices, Vec::new(), props), 7)
    }

    fn effects(f: &mut Fencer) -> Vec<FencerEffect> {
        std::iter::from_fn(|| f.poll_effect()).collect()
    }

    fn req(id: OpId, target: &str) -> FencerInput {
        FencerInput::Request(FenceRequest::new(id, target, "n1"))
    }

    fn args(pairs: &[(&str, &str)]) -> AgentArgs {
        AgentArgs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn run_agent(
        run: RunId,
        op: OpId,
        device: &str,
        action: &str,
        target: &str,
        a: &[(&str, &str)],
        timeout_ms: u64,
    ) -> FencerEffect {
        FencerEffect::RunAgent(AgentRun {
            run,
            purpose: RunPurpose::Fence(op),
            device: device.to_string(),
            agent: "fence_ipmilan".to_string(),
            action: action.to_string(),
            target: Some(target.to_string()),
            args: args(a),
            timeout_ms,
        })
    }

    fn done(
        id: OpId,
        target: &str,
        action: FenceAction,
        result: FenceResult,
        devices: &[&str],
    ) -> FencerEffect {
        FencerEffect::Done {
            id,
            target: target.to_string(),
            action,
            result,
            devices: devices.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ok(run: RunId) -> FencerInput {
        FencerInput::AgentDone {
            run,
            outcome: AgentOutcome::exit(0),
        }
    }

    fn fail(run: RunId) -> FencerInput {
        FencerInput::AgentDone {
            run,
            outcome: AgentOutcome::exit(1),
        }
    }

    fn two_devices(extra1: &[(&str, &str)], extra2: &[(&str, &str)]) -> Vec<FenceDevice> {
        let mut p1 = vec![("pcmk_host_list", "n1")];
        p1.extend_from_slice(extra1);
        let mut p2 = vec![("pcmk_host_list", "n2")];
        p2.extend_from_slice(extra2);
        vec![ipmi("fence_n1", &p1), ipmi("fence_n2", &p2)]
    }

    #[test]
    fn reboot_is_off_then_on_and_fenced_as_soon_as_off_is_confirmed() {
        let mut f = fencer(two_devices(&[], &[]), &[]);
        f.handle(1_000, req(1, "n2"));
        let off_args = [
            ("action", "off"),
            ("nodename", "n2"),
            ("port", "n2"),
            ("ip", "10.0.0.9"),
            ("password", "s3cret"),
        ];
        assert_eq!(
            effects(&mut f),
            vec![run_agent(1, 1, "fence_n2", "off", "n2", &off_args, 60_000)]
        );
        f.handle(3_000, ok(1));
        let on_args = [
            ("action", "on"),
            ("nodename", "n2"),
            ("port", "n2"),
            ("ip", "10.0.0.9"),
            ("password", "s3cret"),
        ];
        assert_eq!(
            effects(&mut f),
            vec![
                done(
                    1,
                    "n2",
                    FenceAction::Reboot,
                    FenceResult::Success,
                    &["fence_n2"]
                ),
                run_agent(2, 1, "fence_n2", "on", "n2", &on_args, 60_000),
            ]
        );
        let h = f.history().next().unwrap().clone();
        assert_eq!(h.state, HistoryState::Done);
        assert_eq!(h.completed_ms, Some(3_000));
        assert_eq!(h.power_on, Some(PowerOn::Pending));
        f.handle(4_000, fail(2));
        // The on part is retried once (pcmk_on_retries defaults to 2 tries).
        let eff = effects(&mut f);
        assert_eq!(eff.len(), 1);
        assert!(
            matches!(&eff[0], FencerEffect::RunAgent(r) if r.run == 3 && r.action == "on" && r.timeout_ms == 59_000)
        );
        f.handle(5_000, fail(3));
        assert_eq!(
            effects(&mut f),
            vec![FencerEffect::PoweredOn {
                id: 1,
                target: "n2".to_string(),
                result: Err("fence_n2 on: agent exited with 1".to_string()),
            }]
        );
        let h = f.history().next().unwrap();
        assert_eq!(
            h.state,
            HistoryState::Done,
            "a failed power-on never undoes the fencing"
        );
        assert_eq!(
            h.power_on,
            Some(PowerOn::Failed(
                "fence_n2 on: agent exited with 1".to_string()
            ))
        );
        assert_eq!(h.devices, vec!["fence_n2".to_string()]);
        assert_eq!(
            (h.origin.as_str(), h.executor.as_str(), h.attempt),
            ("n1", "n1", 1)
        );
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn agent_mode_runs_the_agents_reboot_and_waits_for_it() {
        let mut f = fencer(two_devices(&[], &[]), &[("warden-reboot-mode", "agent")]);
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.action == "reboot" && r.args.get("action") == Some("reboot"))
        );
        f.handle(10, ok(1));
        assert_eq!(
            effects(&mut f),
            vec![done(
                1,
                "n2",
                FenceAction::Reboot,
                FenceResult::Success,
                &["fence_n2"]
            )]
        );
    }

    #[test]
    fn agent_mode_device_without_reboot_does_off_then_on_and_reports_after_on() {
        let pdu = FenceDevice::new(
            "pdu",
            "fence_pdu",
            &[("ip", "pdu1"), ("pcmk_host_map", "n2:4")],
        );
        let mut f = fencer(
            vec![pdu],
            &[
                ("stonith-action", "reboot"),
                ("warden-reboot-mode", "agent"),
            ],
        );
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.action == "off" && r.args.get("plug") == Some("4"))
        );
        f.handle(10, ok(1));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.action == "on"),
            "{eff:?}"
        );
        f.handle(20, ok(2));
        assert_eq!(
            effects(&mut f),
            vec![
                done(
                    1,
                    "n2",
                    FenceAction::Reboot,
                    FenceResult::Success,
                    &["pdu", "pdu"]
                ),
                FencerEffect::PoweredOn {
                    id: 1,
                    target: "n2".to_string(),
                    result: Ok(())
                },
            ]
        );
    }

    #[test]
    fn host_map_gives_the_port_and_selects_the_device() {
        let d = ipmi("fence_all", &[("pcmk_host_map", "n1:1;n2=2 n3:3,4")]);
        let mut f = fencer(vec![d], &[("stonith-action", "off")]);
        f.handle(0, req(1, "N3"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.args.get("port") == Some("3,4") && r.args.get("nodename") == Some("N3")),
            "{eff:?}"
        );
        // n9 is not in the map: answered at once, even while n3's off runs.
        f.handle(0, req(2, "n9"));
        assert_eq!(
            effects(&mut f),
            vec![done(2, "n9", FenceAction::Off, FenceResult::NoDevice, &[])]
        );
        f.handle(5, ok(1));
        assert_eq!(
            effects(&mut f),
            vec![done(
                1,
                "N3",
                FenceAction::Off,
                FenceResult::Success,
                &["fence_all"]
            )]
        );
    }

    #[test]
    fn host_argument_plug_none_and_configured_value() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<(&'a str, &'a str)>);
        let cases: &[Case] = &[
            (&[("pcmk_host_argument", "plug")], Some(("plug", "n2"))),
            (&[("pcmk_host_argument", "none")], None),
            (&[("port", "7")], Some(("port", "7"))),
            (&[("port", "dynamic")], Some(("port", "n2"))),
        ];
        for (extra, want) in cases {
            let mut p = vec![("pcmk_host_list", "n2")];
            p.extend_from_slice(extra);
            let mut f = fencer(vec![ipmi("d", &p)], &[("stonith-action", "off")]);
            f.handle(0, req(1, "n2"));
            let FencerEffect::RunAgent(r) = effects(&mut f).remove(0) else {
                panic!()
            };
            let got = ["port", "plug"]
                .iter()
                .find_map(|k| r.args.get(k).map(|v| (*k, v)));
            assert_eq!(got, *want, "{extra:?}: {:?}", r.args);
            assert_eq!(
                r.args.0.iter().filter(|(k, _)| k == "port").count(),
                usize::from(got.is_some_and(|g| g.0 == "port"))
            );
        }
    }

    #[test]
    fn pcmk_params_and_action_never_reach_the_agent() {
        let d = ipmi(
            "d",
            &[
                ("pcmk_host_list", "n2"),
                ("pcmk_delay_max", "0"),
                ("action", "reboot"),
                ("crm_meta_timeout", "5"),
            ],
        );
        let mut f = fencer(vec![d], &[("stonith-action", "off")]);
        assert_eq!(
            f.diagnostics(),
            &[FencerDiagnostic {
                severity: Severity::Warning,
                object: "device d parameter action".to_string(),
                message: "action=reboot is ignored: the cluster property stonith-action decides"
                    .to_string(),
            }]
        );
        f.handle(0, req(1, "n2"));
        let FencerEffect::RunAgent(r) = effects(&mut f).remove(0) else {
            panic!()
        };
        let names: Vec<&str> = r.args.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["action", "nodename", "port", "ip", "password"]);
        assert_eq!(r.args.get("action"), Some("off"));
    }

    #[test]
    fn device_action_off_maps_reboot_to_off_and_pcmk_reboot_action_wins() {
        let d = ipmi("d", &[("pcmk_host_list", "n2"), ("action", "off")]);
        let mut f = fencer(vec![d], &[("warden-reboot-mode", "agent")]);
        f.handle(0, req(1, "n2"));
        let FencerEffect::RunAgent(r) = effects(&mut f).remove(0) else {
            panic!()
        };
        assert_eq!(r.action, "off");
        // With pcmk_reboot_action=off the device stays off: no on part.
        f.handle(1, ok(r.run));
        assert_eq!(
            effects(&mut f),
            vec![done(
                1,
                "n2",
                FenceAction::Reboot,
                FenceResult::Success,
                &["d"]
            )]
        );

        let d = ipmi(
            "d",
            &[
                ("pcmk_host_list", "n2"),
                ("pcmk_reboot_action", "cycle"),
                ("action", "hardoff"),
            ],
        );
        let f = fencer(vec![d], &[]);
        let msgs: Vec<&str> = f.diagnostics().iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "action=hardoff is mapped to pcmk_off_action=hardoff",
                "action=hardoff is ignored: pcmk_reboot_action is set"
            ]
        );
    }

    #[test]
    fn pcmk_off_action_substitutes_the_agent_action_in_off_then_on() {
        let d = ipmi(
            "d",
            &[
                ("pcmk_host_list", "n2"),
                ("pcmk_off_action", "hardoff"),
                ("pcmk_on_action", "poweron"),
            ],
        );
        let mut f = fencer(vec![d], &[]);
        f.handle(0, req(1, "n2"));
        let FencerEffect::RunAgent(r) = effects(&mut f).remove(0) else {
            panic!()
        };
        assert_eq!(
            (r.action.as_str(), r.args.get("action")),
            ("hardoff", Some("hardoff"))
        );
        f.handle(1, ok(1));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[1], FencerEffect::RunAgent(r) if r.action == "poweron"),
            "{eff:?}"
        );
    }

    #[test]
    fn topology_falls_to_level_two_after_retries_on_level_one() {
        let ilo = FenceDevice::new(
            "ilo_n2",
            "fence_ilo_ssh",
            &[("ip", "10.0.0.2"), ("password", "pw")],
        );
        let levels = vec![
            FencingLevel {
                index: 2,
                target: LevelTarget::Node("n2".into()),
                devices: vec!["ilo_n2".into()],
            },
            FencingLevel {
                index: 1,
                target: LevelTarget::Node("n2".into()),
                devices: vec!["fence_n2".into()],
            },
        ];
        let mut f = Fencer::new(
            config(
                two_devices(&[], &[]).into_iter().chain([ilo]).collect(),
                levels,
                &[("stonith-action", "off")],
            ),
            1,
        );
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "fence_n2" && r.run == 1)
        );
        f.handle(100, fail(1));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "fence_n2" && r.run == 2 && r.timeout_ms == 59_900),
            "retry shares the timeout: {eff:?}"
        );
        f.handle(200, fail(2));
        let eff = effects(&mut f);
        // No host list and no metadata: the default check is a status run.
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "ilo_n2" && r.run == 3 && r.purpose == RunPurpose::HostStatus && r.agent == "fence_ilo_ssh"),
            "{eff:?}"
        );
        f.handle(250, ok(3));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "ilo_n2" && r.run == 4 && r.action == "off"),
            "{eff:?}"
        );
        f.handle(300, ok(4));
        assert_eq!(
            effects(&mut f),
            vec![done(
                1,
                "n2",
                FenceAction::Off,
                FenceResult::Success,
                &["ilo_n2"]
            )]
        );
    }

    #[test]
    fn a_timed_out_device_is_not_retried_and_all_levels_failing_fails_the_op() {
        let levels = vec![FencingLevel {
            index: 1,
            target: LevelTarget::Pattern("^n[0-9]$".into()),
            devices: vec!["fence_n2".into()],
        }];
        let mut f = Fencer::new(
            config(two_devices(&[], &[]), levels, &[("stonith-action", "off")]),
            1,
        );
        f.handle(0, req(1, "n2"));
        effects(&mut f);
        f.handle(
            60_000,
            FencerInput::AgentDone {
                run: 1,
                outcome: AgentOutcome::timeout(),
            },
        );
        assert_eq!(
            effects(&mut f),
            vec![done(
                1,
                "n2",
                FenceAction::Off,
                FenceResult::Failed("level 1: fence_n2 off: timed out".into()),
                &[]
            )]
        );
        assert_eq!(f.failures("n2"), 1);
        let h = f.history().next().unwrap();
        assert_eq!(
            (h.state, h.reason.as_deref()),
            (
                HistoryState::Failed,
                Some("level 1: fence_n2 off: timed out")
            )
        );
    }

    #[test]
    fn a_level_whose_device_cannot_fence_the_target_is_skipped() {
        let levels = vec![
            FencingLevel {
                index: 1,
                target: LevelTarget::Node("n2".into()),
                devices: vec!["fence_n1".into()],
            },
            FencingLevel {
                index: 2,
                target: LevelTarget::Node("n2".into()),
                devices: vec!["fence_n2".into()],
            },
        ];
        let mut f = Fencer::new(
            config(two_devices(&[], &[]), levels, &[("stonith-action", "off")]),
            1,
        );
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "fence_n2"),
            "{eff:?}"
        );
    }

    #[test]
    fn attribute_levels_match_node_attributes() {
        let levels = vec![FencingLevel {
            index: 1,
            target: LevelTarget::Attribute {
                name: "rack".into(),
                value: "2".into(),
            },
            devices: vec!["fence_n2".into()],
        }];
        let mut cfg = config(
            two_devices(&[], &[("pcmk_host_check", "none")]),
            levels,
            &[("stonith-action", "off")],
        );
        cfg.node_attributes
            .insert("n2".into(), [("rack".to_string(), "2".to_string())].into());
        let mut f = Fencer::new(cfg, 1);
        f.handle(0, req(1, "n2"));
        f.handle(0, req(2, "n3"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "fence_n2" && r.target.as_deref() == Some("n2")),
            "{eff:?}"
        );
    }

    #[test]
    fn multi_device_level_turns_all_off_then_all_on() {
        let pdu =
            |id: &str| FenceDevice::new(id, "fence_pdu", &[("ip", id), ("pcmk_host_map", "n2:3")]);
        let levels = vec![FencingLevel {
            index: 1,
            target: LevelTarget::Node("n2".into()),
            devices: vec!["pdu_a".into(), "pdu_b".into()],
        }];
        let mut f = Fencer::new(
            config(
                vec![pdu("pdu_a"), pdu("pdu_b")],
                levels,
                &[("warden-reboot-mode", "agent")],
            ),
            1,
        );
        let mut seen = Vec::new();
        f.handle(0, req(1, "n2"));
        for t in 1..=4 {
            let eff = effects(&mut f);
            let FencerEffect::RunAgent(r) = &eff[0] else {
                panic!("{eff:?}")
            };
            seen.push(format!("{} {}", r.device, r.action));
            f.handle(t, ok(r.run));
        }
        assert_eq!(seen, ["pdu_a off", "pdu_b off", "pdu_a on", "pdu_b on"]);
        assert_eq!(
            effects(&mut f),
            vec![
                done(
                    1,
                    "n2",
                    FenceAction::Reboot,
                    FenceResult::Success,
                    &["pdu_a", "pdu_b", "pdu_a", "pdu_b"]
                ),
                FencerEffect::PoweredOn {
                    id: 1,
                    target: "n2".into(),
                    result: Ok(())
                },
            ]
        );
    }

    #[test]
    fn pcmk_delay_base_holds_the_run_and_extends_the_timeout() {
        let mut f = fencer(
            two_devices(&[], &[("pcmk_delay_base", "2s")]),
            &[("stonith-action", "off")],
        );
        f.handle(1_000, req(1, "n2"));
        assert_eq!(effects(&mut f), vec![]);
        assert_eq!(f.poll_timeout(), Some(3_000));
        f.handle(2_999, FencerInput::Timer);
        assert_eq!(effects(&mut f), vec![]);
        f.handle(3_000, FencerInput::Timer);
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "fence_n2" && r.timeout_ms == 60_000),
            "{eff:?}"
        );
        // Whole-operation budget: 1.2 x (60 s + 2 s) after the request.
        assert_eq!(f.poll_timeout(), Some(1_000 + 74_400));
    }

    #[test]
    fn pcmk_delay_base_per_node_map() {
        let d = ipmi(
            "d",
            &[
                ("pcmk_host_list", "n1 n2"),
                ("pcmk_delay_base", "n1:0s;n2:5s"),
            ],
        );
        let mut f = fencer(
            vec![d],
            &[("stonith-action", "off"), ("concurrent-fencing", "true")],
        );
        f.handle(0, req(1, "n1"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.target.as_deref() == Some("n1"))
        );
        f.handle(0, req(2, "n2"));
        assert_eq!(effects(&mut f), vec![]);
        assert_eq!(f.poll_timeout(), Some(5_000));
        f.handle(10, ok(1));
        assert_eq!(
            effects(&mut f),
            vec![done(
                1,
                "n1",
                FenceAction::Off,
                FenceResult::Success,
                &["d"]
            )]
        );
        f.handle(5_000, FencerInput::Timer);
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.target.as_deref() == Some("n2")),
            "{eff:?}"
        );
    }

    #[test]
    fn pcmk_delay_max_is_random_from_the_seed_within_bounds() {
        let delay_of = |seed: u64, base: &str| {
            let d = ipmi(
                "d",
                &[
                    ("pcmk_host_list", "n2"),
                    ("pcmk_delay_max", "10s"),
                    ("pcmk_delay_base", base),
                ],
            );
            let mut f = Fencer::new(
                config(vec![d], Vec::new(), &[("stonith-action", "off")]),
                seed,
            );
            f.handle(0, req(1, "n2"));
            f.poll_timeout().filter(|&t| t < 60_000).unwrap_or(0)
        };
        let delays: Vec<u64> = (0..20).map(|s| delay_of(s, "3s")).collect();
        assert!(
            delays.iter().all(|&d| (3_000..=10_000).contains(&d)),
            "{delays:?}"
        );
        assert!(
            delays.iter().collect::<BTreeSet<_>>().len() > 10,
            "{delays:?}"
        );
        assert_eq!(
            delay_of(5, "3s"),
            delay_of(5, "3s"),
            "same seed, same delay"
        );
        // base larger than max is limited to max
        assert_eq!(delay_of(1, "30s"), 10_000);
    }

    #[test]
    fn requested_delay_applies_to_the_first_device_only_and_minus_one_disables_all() {
        let levels = vec![
            FencingLevel {
                index: 1,
                target: LevelTarget::Node("n2".into()),
                devices: vec!["fence_n2".into()],
            },
            FencingLevel {
                index: 2,
                target: LevelTarget::Node("n2".into()),
                devices: vec!["fence_n1".into()],
            },
        ];
        let devices = two_devices(
            &[("pcmk_host_list", "n1,n2"), ("pcmk_delay_base", "1s")],
            &[("pcmk_delay_base", "2s")],
        );
        let mut f = Fencer::new(
            config(
                devices.clone(),
                levels.clone(),
                &[("stonith-action", "off")],
            ),
            1,
        );
        let mut r = FenceRequest::new(1, "n2", "n1");
        r.delay = RequestedDelay::Ms(10_000);
        f.handle(0, FencerInput::Request(r));
        assert_eq!(f.poll_timeout(), Some(12_000), "requested 10 s + base 2 s");
        f.handle(12_000, FencerInput::Timer);
        effects(&mut f);
        f.handle(
            12_100,
            FencerInput::AgentDone {
                run: 1,
                outcome: AgentOutcome::timeout(),
            },
        );
        assert_eq!(effects(&mut f), vec![]);
        assert_eq!(f.poll_timeout(), Some(13_100), "level 2: its own base only");

        let mut f = Fencer::new(config(devices, levels, &[("stonith-action", "off")]), 1);
        let mut r = FenceRequest::new(1, "n2", "n1");
        r.delay = RequestedDelay::NoDelays;
        f.handle(0, FencerInput::Request(r));
        assert_eq!(effects(&mut f).len(), 1, "no delay at all");
    }

    #[test]
    fn agent_side_delay_is_passed_and_extends_the_agent_timeout() {
        let mut f = fencer(
            two_devices(&[], &[("delay", "30")]),
            &[("stonith-action", "off")],
        );
        f.handle(0, req(1, "n2"));
        let FencerEffect::RunAgent(r) = effects(&mut f).remove(0) else {
            panic!()
        };
        assert_eq!(r.args.get("delay"), Some("30"));
        assert_eq!(r.timeout_ms, 60_000 + 31_000);
        assert_eq!(f.poll_timeout(), Some((60_000 + 31_000) * 12 / 10));
    }

    #[test]
    fn per_action_timeout_and_retries() {
        let mut f = fencer(
            two_devices(
                &[],
                &[("pcmk_off_timeout", "20s"), ("pcmk_off_retries", "3")],
            ),
            &[("stonith-action", "off"), ("stonith-timeout", "90")],
        );
        f.handle(0, req(1, "n2"));
        let mut runs = Vec::new();
        for t in [0, 1_000, 2_000] {
            let eff = effects(&mut f);
            let FencerEffect::RunAgent(r) = &eff[0] else {
                panic!("{eff:?}")
            };
            runs.push((r.run, r.timeout_ms));
            f.handle(t + 500, fail(r.run));
        }
        assert_eq!(runs, [(1, 20_000), (2, 19_500), (3, 18_500)]);
        let eff = effects(&mut f);
        assert!(
            matches!(
                &eff[..],
                [FencerEffect::Done {
                    result: FenceResult::Failed(_),
                    ..
                }]
            ),
            "{eff:?}"
        );
    }

    #[test]
    fn no_retry_after_seventy_percent_of_the_timeout() {
        let mut f = fencer(
            two_devices(&[], &[("pcmk_off_timeout", "10s")]),
            &[("stonith-action", "off")],
        );
        f.handle(0, req(1, "n2"));
        effects(&mut f);
        f.handle(7_000, fail(1));
        let eff = effects(&mut f);
        assert!(
            matches!(
                &eff[..],
                [FencerEffect::Done {
                    result: FenceResult::Failed(_),
                    ..
                }]
            ),
            "{eff:?}"
        );
    }

    #[test]
    fn the_operation_deadline_kills_the_agent() {
        let mut f = fencer(
            two_devices(&[], &[]),
            &[("stonith-action", "off"), ("stonith-timeout", "10s")],
        );
        f.handle(0, req(1, "n2"));
        effects(&mut f);
        assert_eq!(f.poll_timeout(), Some(12_000));
        f.handle(12_000, FencerInput::Timer);
        assert_eq!(
            effects(&mut f),
            vec![
                FencerEffect::KillAgent { run: 1 },
                done(1, "n2", FenceAction::Off, FenceResult::TimedOut, &[])
            ]
        );
        // A late answer from the killed run changes nothing.
        f.handle(12_001, ok(1));
        assert_eq!(effects(&mut f), vec![]);
    }

    #[test]
    fn attempts_are_bounded_by_stonith_max_attempts() {
        let mut f = fencer(
            two_devices(&[], &[]),
            &[("stonith-action", "off"), ("fencing-max-attempts", "2")],
        );
        for id in 1..=2 {
            f.handle(0, req(id, "n2"));
            let eff = effects(&mut f);
            let FencerEffect::RunAgent(r) = &eff[0] else {
                panic!()
            };
            f.handle(
                0,
                FencerInput::AgentDone {
                    run: r.run,
                    outcome: AgentOutcome::timeout(),
                },
            );
            effects(&mut f);
        }
        assert_eq!(f.failures("n2"), 2);
        f.handle(0, req(3, "n2"));
        assert_eq!(
            effects(&mut f),
            vec![done(
                3,
                "n2",
                FenceAction::Off,
                FenceResult::TooManyAttempts(2),
                &[]
            )]
        );
        let attempts: Vec<u32> = f.history().map(|h| h.attempt).collect();
        assert_eq!(attempts, [1, 2, 3]);
        f.handle(
            0,
            FencerInput::ClearFailures {
                target: "n2".into(),
            },
        );
        f.handle(0, req(4, "n2"));
        let eff = effects(&mut f);
        let [FencerEffect::RunAgent(r)] = &eff[..] else {
            panic!("{eff:?}")
        };
        f.handle(0, ok(r.run));
        assert_eq!(
            effects(&mut f),
            vec![done(
                4,
                "n2",
                FenceAction::Off,
                FenceResult::Success,
                &["fence_n2"]
            )]
        );
        assert_eq!(f.failures("n2"), 0);
    }

    #[test]
    fn identical_concurrent_requests_are_merged() {
        let mut f = fencer(two_devices(&[], &[]), &[("stonith-action", "off")]);
        f.handle(0, req(1, "n2"));
        f.handle(0, req(2, "N2"));
        assert_eq!(effects(&mut f).len(), 1);
        f.handle(1, ok(1));
        assert_eq!(
            effects(&mut f),
            vec![
                done(
                    1,
                    "n2",
                    FenceAction::Off,
                    FenceResult::Success,
                    &["fence_n2"]
                ),
                done(
                    2,
                    "n2",
                    FenceAction::Off,
                    FenceResult::Success,
                    &["fence_n2"]
                ),
            ]
        );
        assert_eq!(f.history().next().unwrap().merged, vec![2]);
    }

    #[test]
    fn without_concurrent_fencing_one_operation_at_a_time() {
        let mut f = fencer(two_devices(&[], &[]), &[("stonith-action", "off")]);
        f.handle(0, req(1, "n2"));
        f.handle(0, req(2, "n1"));
        let eff = effects(&mut f);
        assert!(matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "fence_n2"));
        f.handle(5, ok(1));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::Done { id: 1, .. }, FencerEffect::RunAgent(r)] if r.device == "fence_n1"),
            "{eff:?}"
        );

        let mut f = fencer(
            two_devices(&[], &[]),
            &[("stonith-action", "off"), ("concurrent-fencing", "true")],
        );
        f.handle(0, req(1, "n2"));
        f.handle(0, req(2, "n1"));
        assert_eq!(effects(&mut f).len(), 2);
    }

    #[test]
    fn one_run_per_device_at_a_time() {
        let d = ipmi("shared", &[("pcmk_host_list", "n1,n2")]);
        let mut f = fencer(
            vec![d],
            &[("stonith-action", "off"), ("concurrent-fencing", "true")],
        );
        f.handle(0, req(1, "n1"));
        f.handle(0, req(2, "n2"));
        assert_eq!(effects(&mut f).len(), 1);
        f.handle(1, ok(1));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::Done { id: 1, .. }, FencerEffect::RunAgent(r)] if r.target.as_deref() == Some("n2")),
            "{eff:?}"
        );
    }

    #[test]
    fn dynamic_list_is_run_parsed_and_cached() {
        let pdu = FenceDevice::new("pdu", "fence_pdu", &[("ip", "pdu1")]);
        let mut f = fencer(
            vec![pdu],
            &[("stonith-action", "off"), ("pcmk_unused", "x")],
        );
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        let FencerEffect::RunAgent(r) = &eff[0] else {
            panic!()
        };
        assert_eq!(
            (r.purpose, r.action.as_str(), r.target.as_deref()),
            (RunPurpose::HostList, "list", None)
        );
        assert_eq!(r.args, args(&[("action", "list"), ("ip", "pdu1")]));
        f.handle(
            10,
            FencerInput::AgentDone {
                run: 1,
                outcome: AgentOutcome::exit(0).with_stdout("n1,node-one\nn2,node-two\n"),
            },
        );
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.action == "off" && r.args.get("plug") == Some("n2")),
            "{eff:?}"
        );
        f.handle(20, ok(2));
        effects(&mut f);
        // Within a minute the list is not run again; a name not listed has no device.
        f.handle(30_000, req(2, "n7"));
        assert_eq!(
            effects(&mut f),
            vec![done(2, "n7", FenceAction::Off, FenceResult::NoDevice, &[])]
        );
        f.handle(70_000, req(3, "n7"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.action == "list"),
            "{eff:?}"
        );
    }

    #[test]
    fn a_failing_default_list_falls_back_to_status() {
        let pdu = FenceDevice::new("pdu", "fence_pdu", &[("ip", "pdu1")]);
        let mut f = fencer(vec![pdu], &[("stonith-action", "off")]);
        f.handle(0, req(1, "n2"));
        effects(&mut f);
        f.handle(10, fail(1));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.purpose == RunPurpose::HostStatus && r.args.get("plug") == Some("n2")),
            "{eff:?}"
        );
        // rc 2 = reachable and off: the device can fence it.
        f.handle(
            20,
            FencerInput::AgentDone {
                run: 2,
                outcome: AgentOutcome::exit(2),
            },
        );
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.purpose == RunPurpose::Fence(1)),
            "{eff:?}"
        );
    }

    #[test]
    fn status_host_check_that_fails_means_no_device() {
        let d = ipmi("d", &[("pcmk_host_check", "status")]);
        let mut f = fencer(vec![d], &[("stonith-action", "off")]);
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.action == "status" && r.args.get("port") == Some("n2"))
        );
        f.handle(1, fail(1));
        assert_eq!(
            effects(&mut f),
            vec![done(1, "n2", FenceAction::Off, FenceResult::NoDevice, &[])]
        );
    }

    #[test]
    fn devices_are_tried_by_priority_then_id() {
        let mut a = ipmi("a", &[("pcmk_host_list", "n2")]);
        let mut b = ipmi("b", &[("pcmk_host_list", "n2")]);
        a.priority = 1;
        b.priority = 5;
        let mut f = fencer(vec![a, b], &[("stonith-action", "off")]);
        f.handle(0, req(1, "n2"));
        let eff = effects(&mut f);
        assert!(matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "b"));
        f.handle(
            1,
            FencerInput::AgentDone {
                run: 1,
                outcome: AgentOutcome::timeout(),
            },
        );
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.device == "a"),
            "{eff:?}"
        );
    }

    #[test]
    fn monitor_runs_the_monitor_action() {
        let mut f = fencer(two_devices(&[], &[("pcmk_monitor_action", "status")]), &[]);
        f.handle(
            0,
            FencerInput::Monitor {
                device: "fence_n2".into(),
            },
        );
        let eff = effects(&mut f);
        assert!(
            matches!(&eff[..], [FencerEffect::RunAgent(r)] if r.purpose == RunPurpose::Monitor && r.action == "status" && r.target.is_none() && r.args.get("nodename").is_none())
        );
        f.handle(1, fail(1));
        assert_eq!(
            effects(&mut f),
            vec![FencerEffect::MonitorDone {
                device: "fence_n2".into(),
                result: Err("agent exited with 1".into())
            }]
        );
        f.handle(
            2,
            FencerInput::Monitor {
                device: "nope".into(),
            },
        );
        assert_eq!(
            effects(&mut f),
            vec![FencerEffect::MonitorDone {
                device: "nope".into(),
                result: Err("no fence device 'nope' is configured".into())
            }]
        );
    }

    #[test]
    fn manual_confirmation_completes_pending_operations() {
        let mut f = fencer(two_devices(&[], &[]), &[("stonith-action", "off")]);
        f.handle(0, req(1, "n2"));
        effects(&mut f);
        f.handle(
            5,
            FencerInput::Confirm {
                id: 9,
                target: "n2".into(),
                origin: "n1".into(),
            },
        );
        assert_eq!(
            effects(&mut f),
            vec![
                FencerEffect::KillAgent { run: 1 },
                done(1, "n2", FenceAction::Off, FenceResult::Success, &["manual"]),
                done(9, "n2", FenceAction::Off, FenceResult::Success, &["manual"]),
            ]
        );
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn history_is_bounded() {
        let mut cfg = config(
            two_devices(&[], &[]),
            Vec::new(),
            &[("stonith-action", "off")],
        );
        cfg.options.history_max = 3;
        let mut f = Fencer::new(cfg, 1);
        for id in 1..=5 {
            f.handle(id, req(id, "n9"));
        }
        let ids: Vec<OpId> = f.history().map(|h| h.id).collect();
        assert_eq!(ids, [3, 4, 5]);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut f = fencer(two_devices(&[("ssh_passwd", "hunter2")], &[]), &[]);
        f.handle(0, req(1, "n2"));
        f.handle(0, req(2, "n1"));
        let text = format!(
            "{:?} {:?}",
            effects(&mut f),
            two_devices(&[("ssh_passwd", "hunter2")], &[])
        );
        assert!(
            !text.contains("s3cret") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("password=***"), "{text}");
        assert!(
            is_secret_param("passwd")
                && is_secret_param("snmp_priv_passwd")
                && is_secret_param("Password")
        );
        assert!(!is_secret_param("passwd_script") && !is_secret_param("login"));
    }

    #[test]
    fn options_accept_old_and_new_names() {
        let props = |p: &[(&str, &str)]| -> BTreeMap<String, String> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let (o, d) = FencerOptions::from_properties(&props(&[
            ("stonith-timeout", "30s"),
            ("stonith-action", "poweroff"),
            ("stonith-max-attempts", "3"),
            ("priority-fencing-delay", "1min"),
            ("concurrent-fencing", "true"),
            ("stonith-enabled", "false"),
        ]));
        assert!(d.is_empty());
        assert_eq!(
            o,
            FencerOptions {
                enabled: false,
                action: FenceAction::Off,
                timeout_ms: 30_000,
                max_attempts: 3,
                priority_fencing_delay_ms: 60_000,
                concurrent_fencing: true,
                reboot_mode: RebootMode::OffThenOn,
                history_max: DEFAULT_HISTORY_MAX,
            }
        );
        let (o, d) = FencerOptions::from_properties(&props(&[
            ("stonith-timeout", "30s"),
            ("fencing-timeout", "45s"),
            ("fencing-action", "on"),
        ]));
        assert_eq!((o.timeout_ms, o.action), (45_000, FenceAction::Reboot));
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            [
                "warning: property stonith-timeout: '30s' is ignored because fencing-timeout='45s' is also set",
                "error: property fencing-action: 'on' is not valid: expected reboot or off; using the default",
            ]
        );
    }

    #[test]
    fn bad_device_parameters_are_named() {
        let d = ipmi(
            "fence_x",
            &[
                ("pcmk_host_map", "n1:1;n2"),
                ("pcmk_delay_base", "soon"),
                ("pcmk_off_timeout", "-3"),
                ("pcmk_host_check", "magic"),
            ],
        );
        let f = fencer(vec![d], &[]);
        let text: Vec<String> = f.diagnostics().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            [
                "error: device fence_x parameter pcmk_host_map: 'n2' is not a mapping: expected node:value (e.g. n1:1;n2:2)",
                "error: device fence_x parameter pcmk_host_check: 'magic' is not valid: expected static-list, dynamic-list, status or none",
                "error: device fence_x parameter pcmk_off_timeout: '-3' is not valid: expected a positive duration such as 60s",
                "error: device fence_x parameter pcmk_delay_base: 'soon' is not a duration: it does not start with a number: expected a number of seconds with an optional unit (ms, s, m, h; e.g. 20s, 500ms, 2min), or an ISO 8601 duration such as PT20S",
            ]
        );
    }

    #[test]
    fn value_parsers() {
        assert_eq!(parse_duration_ms("90"), Ok(90_000));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2min"), Ok(120_000));
        assert_eq!(parse_duration_ms(" 1h "), Ok(3_600_000));
        assert_eq!(parse_duration_ms("PT1M30S"), Ok(90_000));
        assert!(parse_duration_ms("10 parsecs").is_err());
        assert!(parse_duration_ms("").is_err());
        assert_eq!(parse_host_list("n1, n2;n3\tn4"), ["n1", "n2", "n3", "n4"]);
        let (m, p) = parse_host_map("N1:1; n2=2,3 n\\:3:x\\;y");
        assert!(p.is_empty(), "{p:?}");
        let want: BTreeMap<String, String> = [("n1", "1"), ("n2", "2,3"), ("n:3", "x;y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(m, want);
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }

    fn nodes(n1: (bool, i64), n2: (bool, i64)) -> Vec<NodePriority> {
        vec![
            NodePriority {
                name: "n1".into(),
                member: true,
                online: n1.0,
                priority: n1.1,
            },
            NodePriority {
                name: "n2".into(),
                member: true,
                online: n2.0,
                priority: n2.1,
            },
        ]
    }

    #[test]
    fn priority_fencing_delay_only_for_the_lost_node_with_the_highest_priority() {
        let o = FencerOptions {
            priority_fencing_delay_ms: 15_000,
            ..FencerOptions::default()
        };
        // n1 (us) lost n2; n2 runs the resources: delay fencing n2.
        assert_eq!(
            priority_fencing_delay_ms(&o, "n2", &nodes((true, 0), (false, 10))),
            15_000
        );
        // n2 runs less: no delay.
        assert_eq!(
            priority_fencing_delay_ms(&o, "n2", &nodes((true, 10), (false, 0))),
            0
        );
        // equal priorities: no delay.
        assert_eq!(
            priority_fencing_delay_ms(&o, "n2", &nodes((true, 5), (false, 5))),
            0
        );
        // target still online in our partition: no delay.
        assert_eq!(
            priority_fencing_delay_ms(&o, "n2", &nodes((true, 0), (true, 10))),
            0
        );
        // off: no delay.
        assert_eq!(
            priority_fencing_delay_ms(
                &FencerOptions::default(),
                "n2",
                &nodes((true, 0), (false, 10))
            ),
            0
        );
        // majority partition (2 of 3 online): no delay.
        let mut three = nodes((true, 0), (false, 10));
        three.push(NodePriority {
            name: "n3".into(),
            member: true,
            online: true,
            priority: 0,
        });
        assert_eq!(priority_fencing_delay_ms(&o, "n2", &three), 0);
        // remote nodes neither count nor get a delay.
        let mut remote = nodes((true, 0), (false, 10));
        remote.push(NodePriority {
            name: "r1".into(),
            member: false,
            online: true,
            priority: 0,
        });
        assert_eq!(priority_fencing_delay_ms(&o, "n2", &remote), 15_000);
        assert_eq!(node_priority(&[(10, true), (5, false), (0, true)]), 16);
    }

    #[test]
    fn race_protection_warning_for_two_nodes_without_delays() {
        let nodes = ["n1".to_string(), "n2".to_string()];
        let default = FencerOptions::default();
        let none = race_protection_warnings(&two_devices(&[], &[]), &default, &nodes);
        assert_eq!(none.len(), 1);
        assert!(none[0].starts_with("two-node cluster without fencing-race protection"));
        let same = race_protection_warnings(
            &two_devices(&[("delay", "15")], &[("delay", "15")]),
            &default,
            &nodes,
        );
        assert_eq!(
            same,
            ["two-node cluster: fencing n1 and fencing n2 both wait 15000 ms, so a fencing race \
              is not decided; give only the device that fences the preferred survivor a delay"]
        );
        let map = [("pcmk_delay_base", "n1:5s;n2:5s")];
        assert_eq!(
            race_protection_warnings(&two_devices(&map, &map), &default, &nodes).len(),
            1
        );
        for ok in [
            two_devices(&[("delay", "30")], &[("delay", "15")]),
            two_devices(&[("pcmk_delay_base", "10s")], &[]),
            two_devices(&[("pcmk_delay_max", "10s")], &[("pcmk_delay_max", "10s")]),
            two_devices(
                &[("pcmk_delay_base", "n1:0s;n2:2s")],
                &[("pcmk_delay_base", "n1:0s;n2:2s")],
            ),
        ] {
            assert_eq!(
                race_protection_warnings(&ok, &default, &nodes),
                Vec::<String>::new()
            );
        }
        let pfd = FencerOptions {
            priority_fencing_delay_ms: 20_000,
            ..FencerOptions::default()
        };
        assert!(race_protection_warnings(&two_devices(&[], &[]), &pfd, &nodes).is_empty());
        let three = ["n1".to_string(), "n2".to_string(), "n3".to_string()];
        assert!(race_protection_warnings(&two_devices(&[], &[]), &default, &three).is_empty());
    }
}

#[cfg(test)]
mod cib_adapter_tests {
    use super::*;

    #[test]
    fn the_two_node_example_gives_two_devices_with_the_guides_delays() {
        let text = include_str!("../../examples/opennebula-two-node/cib.xml");
        let cib = crate::core::cib::parse(text, "cib.xml").cib.unwrap();
        let (cfg, diags) = config_from_cib(&cib, "one-server1");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(cfg.local_node, "one-server1");
        let ids: Vec<&str> = cfg.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["fence_server1", "fence_server2"]);
        let d1 = &cfg.devices[0];
        assert_eq!(d1.agent, "fence_ilo_ssh");
        assert_eq!(d1.params["delay"], "30");
        assert_eq!(d1.params["pcmk_host_list"], "one-server1");
        assert_eq!(cfg.devices[1].params["delay"], "15");
        assert!(cfg.options.enabled);
        assert!(cfg.levels.is_empty());
        assert!(!format!("{d1:?}").contains("s3cret"), "Debug hides secrets");
        // Fencing one-server2 uses the device with delay=15 only.
        let mut f = Fencer::new(cfg, 1);
        f.handle(
            0,
            FencerInput::Request(FenceRequest::new(1, "one-server2", "one-server1")),
        );
        match f.poll_effect() {
            Some(FencerEffect::RunAgent(run)) => {
                assert_eq!(run.device, "fence_server2");
                assert_eq!(run.args.get("delay"), Some("15"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn topology_and_disabled_devices_come_from_the_cib() {
        let text = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration>
          <crm_config><cluster_property_set id="o">
            <nvpair id="o1" name="stonith-timeout" value="90s"/>
            <nvpair id="o2" name="stonith-max-attempts" value="3"/>
          </cluster_property_set></crm_config>
          <nodes><node id="1" uname="n1"><instance_attributes id="n1a"><nvpair id="n1r" name="rack" value="a"/></instance_attributes></node></nodes>
          <resources>
            <primitive id="ipmi" class="stonith" type="fence_ipmilan">
              <instance_attributes id="i"><nvpair id="i1" name="ip" value="10.0.0.1"/></instance_attributes>
              <meta_attributes id="m"><nvpair id="m1" name="priority" value="5"/></meta_attributes>
            </primitive>
            <primitive id="pdu" class="stonith" type="fence_apc"/>
            <primitive id="off" class="stonith" type="fence_apc">
              <meta_attributes id="m2"><nvpair id="m3" name="target-role" value="Stopped"/></meta_attributes>
            </primitive>
          </resources>
          <constraints/>
          <fencing-topology>
            <fencing-level id="l1" target="n1" index="1" devices="ipmi"/>
            <fencing-level id="l2" target-attribute="rack" target-value="a" index="2" devices="pdu,ipmi"/>
          </fencing-topology>
        </configuration><status/></cib>"#;
        let cib = crate::core::cib::parse(text, "t").cib.unwrap();
        let (cfg, diags) = config_from_cib(&cib, "n1");
        assert!(diags.is_empty(), "{diags:?}");
        let ids: Vec<&str> = cfg.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["ipmi", "pdu"], "a disabled device is not used");
        assert_eq!(cfg.devices[0].priority, 5);
        assert_eq!(cfg.options.timeout_ms, 90_000);
        assert_eq!(cfg.options.max_attempts, 3);
        assert_eq!(
            cfg.levels,
            vec![
                FencingLevel {
                    index: 1,
                    target: LevelTarget::Node("n1".into()),
                    devices: vec!["ipmi".into()],
                },
                FencingLevel {
                    index: 2,
                    target: LevelTarget::Attribute {
                        name: "rack".into(),
                        value: "a".into(),
                    },
                    devices: vec!["pdu".into(), "ipmi".into()],
                },
            ]
        );
        assert_eq!(cfg.node_attributes["n1"]["rack"], "a");
    }
}
