//! Resource actions as data: what the core asks a node to run and what comes
//! back. Shared by the scheduler's graph, the controller and the executor
//! shell, so that all three speak the same words.
//!
//! Invariant: plain data, no behaviour that touches the outside world. Numbers
//! carry their unit in the name (`interval_ms`, `timeout_ms`).

use std::collections::BTreeMap;
use std::fmt;

/// The resource standard (Pacemaker's `class` attribute).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standard {
    Ocf,
    Lsb,
    Systemd,
    Stonith,
    /// `service`: systemd if a unit exists, else LSB (resolved by the executor).
    Service,
    /// Anything else is kept by name so that a CIB that names it still loads;
    /// validation reports it.
    Other(String),
}

impl Standard {
    pub fn parse(s: &str) -> Standard {
        match s {
            "ocf" => Standard::Ocf,
            "lsb" => Standard::Lsb,
            "systemd" => Standard::Systemd,
            "stonith" => Standard::Stonith,
            "service" => Standard::Service,
            other => Standard::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Standard::Ocf => "ocf",
            Standard::Lsb => "lsb",
            Standard::Systemd => "systemd",
            Standard::Stonith => "stonith",
            Standard::Service => "service",
            Standard::Other(s) => s,
        }
    }

    /// Whether the standard is one warden knows how to run.
    pub fn is_known(&self) -> bool {
        !matches!(self, Standard::Other(_))
    }
}

impl fmt::Display for Standard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which agent implements a resource: `ocf:heartbeat:IPaddr2`,
/// `systemd:opennebula`, `lsb:httpd`, `stonith:fence_ipmilan`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentRef {
    pub standard: Standard,
    /// Only OCF agents have a provider.
    pub provider: Option<String>,
    pub kind: String,
}

impl AgentRef {
    /// Parses `STANDARD:[PROVIDER:]TYPE` as pcs accepts it. OCF requires a
    /// provider; the others must not have one.
    pub fn parse(spec: &str) -> Result<AgentRef, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let agent = match parts.as_slice() {
            [std, prov, kind] => AgentRef {
                standard: Standard::parse(std),
                provider: Some((*prov).to_string()),
                kind: (*kind).to_string(),
            },
            [std, kind] => AgentRef {
                standard: Standard::parse(std),
                provider: None,
                kind: (*kind).to_string(),
            },
            _ => {
                return Err(format!(
                    "'{spec}' is not an agent name: expected STANDARD:[PROVIDER:]TYPE, e.g. ocf:heartbeat:IPaddr2 or systemd:opennebula"
                ))
            }
        };
        if agent.kind.is_empty() || agent.standard.as_str().is_empty() {
            return Err(format!(
                "'{spec}' is not an agent name: empty standard or type"
            ));
        }
        match (&agent.standard, &agent.provider) {
            (Standard::Ocf, None) => Err(format!(
                "'{spec}': ocf agents need a provider, e.g. ocf:heartbeat:{}",
                agent.kind
            )),
            (Standard::Ocf, Some(_)) => Ok(agent),
            (_, Some(p)) if !p.is_empty() => Err(format!(
                "'{spec}': only ocf agents have a provider; did you mean {}:{}?",
                agent.standard, agent.kind
            )),
            _ => Ok(agent),
        }
    }
}

impl fmt::Display for AgentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{}:{}:{}", self.standard, p, self.kind),
            None => write!(f, "{}:{}", self.standard, self.kind),
        }
    }
}

/// Names of parameters whose values are secrets: `passwd`, `password` and
/// anything ending in `_passwd` or `_password` (any case). Their values are
/// never logged or shown.
pub fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "passwd" || n == "password" || n.ends_with("_passwd") || n.ends_with("_password")
}

/// One action to run on one node: what the controller hands the executor.
/// Its `Debug` output masks secret parameter values (see
/// [`is_secret_param`]), so logging a request cannot leak a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// Resource id as in the CIB.
    pub rsc_id: String,
    pub agent: AgentRef,
    /// `start`, `stop`, `monitor`, `meta-data`, `validate-all`, `reload`, ...
    pub action: String,
    /// 0 for one-shot actions and probes; recurring monitors repeat at this interval.
    pub interval_ms: u64,
    pub timeout_ms: u64,
    /// Instance attributes (`OCF_RESKEY_<name>`).
    pub params: BTreeMap<String, String>,
    /// Meta attributes (`OCF_RESKEY_CRM_meta_<name>`), without the timeout and
    /// interval, which are taken from the fields above.
    pub meta: BTreeMap<String, String>,
    /// The node the action runs on (exported as `CRM_meta_on_node`).
    pub node: String,
}

impl fmt::Debug for ActionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: BTreeMap<&str, &str> = self
            .params
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret_param(k) {
                    "****"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("ActionRequest")
            .field("rsc_id", &self.rsc_id)
            .field("agent", &self.agent)
            .field("action", &self.action)
            .field("interval_ms", &self.interval_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("params", &params)
            .field("meta", &self.meta)
            .field("node", &self.node)
            .finish()
    }
}

impl ActionRequest {
    /// Pacemaker's operation key: `RSC_ACTION_INTERVALMS`.
    pub fn key(&self) -> String {
        format!("{}_{}_{}", self.rsc_id, self.action, self.interval_ms)
    }
}

/// Pacemaker's execution status of an operation (`op-status` in the CIB).
/// The numbers are Pacemaker's and are written to the CIB as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExecStatus {
    Pending,
    Done,
    Cancelled,
    Timeout,
    NotSupported,
    Error,
    ErrorHard,
    ErrorFatal,
    NotInstalled,
    NotConnected,
    Invalid,
    NoFenceDevice,
    NoSecrets,
}

impl ExecStatus {
    pub fn code(self) -> i32 {
        match self {
            ExecStatus::Pending => -1,
            ExecStatus::Done => 0,
            ExecStatus::Cancelled => 1,
            ExecStatus::Timeout => 2,
            ExecStatus::NotSupported => 3,
            ExecStatus::Error => 4,
            ExecStatus::ErrorHard => 5,
            ExecStatus::ErrorFatal => 6,
            ExecStatus::NotInstalled => 7,
            ExecStatus::NotConnected => 8,
            ExecStatus::Invalid => 9,
            ExecStatus::NoFenceDevice => 10,
            ExecStatus::NoSecrets => 11,
        }
    }

    pub fn from_code(code: i32) -> Option<ExecStatus> {
        Some(match code {
            -1 => ExecStatus::Pending,
            0 => ExecStatus::Done,
            1 => ExecStatus::Cancelled,
            2 => ExecStatus::Timeout,
            3 => ExecStatus::NotSupported,
            4 => ExecStatus::Error,
            5 => ExecStatus::ErrorHard,
            6 => ExecStatus::ErrorFatal,
            7 => ExecStatus::NotInstalled,
            8 => ExecStatus::NotConnected,
            9 => ExecStatus::Invalid,
            10 => ExecStatus::NoFenceDevice,
            11 => ExecStatus::NoSecrets,
            _ => return None,
        })
    }
}

/// OCF exit codes (and Pacemaker's extensions) as numbers; named constants
/// rather than an enum because agents may return anything.
pub mod rc {
    pub const OK: i32 = 0;
    pub const ERR_GENERIC: i32 = 1;
    pub const ERR_ARGS: i32 = 2;
    pub const UNIMPLEMENTED: i32 = 3;
    pub const ERR_PERM: i32 = 4;
    pub const ERR_INSTALLED: i32 = 5;
    pub const ERR_CONFIGURED: i32 = 6;
    pub const NOT_RUNNING: i32 = 7;
    pub const RUNNING_PROMOTED: i32 = 8;
    pub const FAILED_PROMOTED: i32 = 9;
    pub const DEGRADED: i32 = 190;
    pub const DEGRADED_PROMOTED: i32 = 191;
    /// Pacemaker's "unknown": the action is still pending.
    pub const UNKNOWN: i32 = 193;
}

/// What came back from running one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResult {
    /// The mapped OCF exit code (LSB and systemd results are mapped to OCF codes).
    pub rc: i32,
    pub status: ExecStatus,
    /// The agent's `ocf-exit-reason:` text, or a reason the executor gives
    /// (e.g. "timed out after 20000ms").
    pub exit_reason: Option<String>,
    /// Captured stdout+stderr, capped (see the executor).
    pub output: String,
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_parse_like_pcs() {
        let a = AgentRef::parse("ocf:heartbeat:IPaddr2").unwrap();
        assert_eq!(a.standard, Standard::Ocf);
        assert_eq!(a.provider.as_deref(), Some("heartbeat"));
        assert_eq!(a.kind, "IPaddr2");
        assert_eq!(a.to_string(), "ocf:heartbeat:IPaddr2");
        let s = AgentRef::parse("systemd:opennebula").unwrap();
        assert_eq!(s.standard, Standard::Systemd);
        assert_eq!(s.provider, None);
        assert!(AgentRef::parse("ocf:IPaddr2").is_err());
        assert!(AgentRef::parse("IPaddr2").is_err());
        assert!(AgentRef::parse("lsb:foo:bar").is_err());
    }

    #[test]
    fn debug_output_masks_secrets() {
        let req = ActionRequest {
            rsc_id: "fence1".into(),
            agent: AgentRef::parse("ocf:x:y").unwrap(),
            action: "start".into(),
            interval_ms: 0,
            timeout_ms: 20_000,
            params: BTreeMap::from([
                ("ipmi_passwd".to_string(), "hunter2".to_string()),
                ("Password".to_string(), "swordfish".to_string()),
                ("login".to_string(), "admin".to_string()),
            ]),
            meta: BTreeMap::new(),
            node: "n1".into(),
        };
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("swordfish"),
            "{shown}"
        );
        assert!(shown.contains("\"ipmi_passwd\": \"****\""), "{shown}");
        assert!(shown.contains("\"login\": \"admin\""), "{shown}");
        for name in [
            "passwd",
            "password",
            "ipmi_passwd",
            "db_password",
            "PASSWORD",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["pass", "passwd_file", "user", "ip"] {
            assert!(!is_secret_param(name), "{name}");
        }
    }

    #[test]
    fn exec_status_codes_round_trip() {
        for c in -1..=11 {
            assert_eq!(ExecStatus::from_code(c).unwrap().code(), c);
        }
        assert_eq!(ExecStatus::from_code(12), None);
    }
}
