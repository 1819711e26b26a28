//! What the `warden` command line asks of `warden daemon` over the local
//! socket ([`super::ipc`], protocol version 1), and what the daemon answers:
//! [`DaemonRequest`] and [`DaemonReply`], plus the few rules both ends must
//! apply identically (who may send what, how long the client waits, when a
//! configuration replace conflicts, how secrets are masked).
//!
//! Invariant: data and pure functions only; no IO. A request's `Debug`
//! never shows a CIB (it holds fence passwords), and a CIB is sent to a
//! peer that is not privileged only with its secrets masked.
//!
//! # Requests and replies
//!
//! | request | access | success reply |
//! | --- | --- | --- |
//! | `GetCib { secrets: false }` | read | `Cib { xml }`, secret values masked ([`mask_secrets`]) |
//! | `GetCib { secrets: true }` | write | `Cib { xml }` as stored |
//! | `ReplaceConfiguration { expected, cib_xml }` | write | `Replaced { version }` or `Conflict { current }` |
//! | `Status` | read | `Status(DaemonStatus)` |
//! | `Fence { node, action }` | write | `Done`, once the node is fenced |
//! | `FenceConfirm { node }` | write | `Done` |
//! | `FenceHistory { node }` | read | `FenceHistory { events }` |
//! | `Cleanup`, `Standby`, `Maintenance`, `Move`, `Ban`, `Clear` | write | `Done`, once the change is in the CIB |
//! | `Restart { rsc, node }` | write | refused: the CLI restarts through `target-role` (see `cli::live`) |
//!
//! A request the daemon carries out and that fails is answered with
//! `ReplyHandle::fail(message)`: the CLI prints `Error: {message}` as it is,
//! so the message must say what failed and what to do, and never contain a
//! secret value. `access` is what the socket server checks against the
//! peer's credentials before the daemon sees the request.
//!
//! # Compare-and-swap of the configuration
//!
//! The CLI edits the configuration as it edits a file: `GetCib`, the same
//! edit code, then `ReplaceConfiguration` with the version it read. The
//! daemon decides with [`replace_configuration`], and must decide **in the
//! cluster's total order** (when the change is delivered to every member,
//! not when the local daemon receives the request), so that two nodes never
//! both accept a replace against the same version. The replace applies only
//! while the configuration is still at `expected`'s `admin_epoch` and
//! `epoch`; `num_updates` (status changes: results, attributes) is not
//! compared, because the replace takes only the `<configuration>` of
//! `cib_xml` and keeps the cluster's own status. Applied, the epoch goes up
//! by one and `num_updates` to 0 (as any configuration change); refused,
//! the reply is `Conflict` with the current version and the CLI reads
//! again and re-applies its edit, a bounded number of times.

use serde::{Deserialize, Serialize};

use crate::core::action::is_secret_param;
use crate::core::cib::{self, Change, Cib, Version};
use crate::shell::ipc::{Access, IpcRequest};

/// What a masked secret looks like.
pub const MASK: &str = "********";

/// How long the client waits for a request that changes the CIB or reads.
pub const TIMEOUT_MS: u64 = 30_000;
/// How long the client waits for fencing (the daemon answers when the node
/// is fenced: a reboot with power waits and topology levels takes minutes).
pub const FENCE_TIMEOUT_MS: u64 = 600_000;
/// How long the client waits for a restart (a stop, then a start).
pub const RESTART_TIMEOUT_MS: u64 = 600_000;

/// A CIB version on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CibVersion {
    pub admin_epoch: u64,
    pub epoch: u64,
    pub num_updates: u64,
}

impl From<Version> for CibVersion {
    fn from(v: Version) -> Self {
        CibVersion {
            admin_epoch: v.admin_epoch,
            epoch: v.epoch,
            num_updates: v.num_updates,
        }
    }
}

impl std::fmt::Display for CibVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.admin_epoch, self.epoch, self.num_updates
        )
    }
}

/// How to fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FenceAction {
    Reboot,
    Off,
}

impl FenceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FenceAction::Reboot => "reboot",
            FenceAction::Off => "off",
        }
    }
}

/// A request from the CLI.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DaemonRequest {
    /// The whole CIB (configuration and status). `secrets: true` returns
    /// passwords as stored (needed to edit and send the CIB back), and so
    /// needs the right to change things; `false` masks them.
    GetCib { secrets: bool },
    /// Replace the configuration section with the one of `cib_xml` (a
    /// whole `<cib>` document), if the configuration is still at `expected`
    /// (see the module header).
    ReplaceConfiguration {
        expected: CibVersion,
        cib_xml: String,
    },
    /// The daemon's own view: node, membership, quorum, DC.
    Status,
    /// Fence `node` through the cluster (`stonith fence NODE [--off]`).
    Fence { node: String, action: FenceAction },
    /// The operator confirms `node` is down (`stonith confirm NODE`): its
    /// pending fencing is treated as done.
    FenceConfirm { node: String },
    /// Fencing history, of one node or all (`stonith history [NODE]`).
    FenceHistory { node: Option<String> },
    /// Forget a resource's history and fail counts (all resources when
    /// `rsc` is `None`, on all nodes when `node` is `None`), so the
    /// cluster probes it again (`resource cleanup`).
    Cleanup {
        rsc: Option<String>,
        node: Option<String>,
    },
    /// `standby` on or off (`node standby|unstandby NODE`).
    Standby { node: String, on: bool },
    /// `maintenance` of a node, or with `None` the cluster's
    /// `maintenance-mode` (`node maintenance|unmaintenance NODE`).
    Maintenance { node: Option<String>, on: bool },
    /// Prefer `node` (constraint `cli-prefer-RSC`); with `None`, move away
    /// from where it runs now (`cli-ban-RSC-on-NODE`), as `crm_resource
    /// --move` does.
    Move { rsc: String, node: Option<String> },
    /// Keep off `node`, or off where it runs now (`cli-ban-RSC-on-NODE`).
    Ban { rsc: String, node: Option<String> },
    /// Remove what move and ban added (for `node`, or all of them).
    Clear { rsc: String, node: Option<String> },
    /// Stop and start a resource again (where it runs, or only on `node`).
    Restart { rsc: String, node: Option<String> },
}

impl std::fmt::Debug for DaemonRequest {
    /// Everything but a CIB's content (it holds passwords).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonRequest::ReplaceConfiguration { expected, cib_xml } => f
                .debug_struct("ReplaceConfiguration")
                .field("expected", expected)
                .field("cib_xml", &format_args!("<{} bytes>", cib_xml.len()))
                .finish(),
            DaemonRequest::GetCib { secrets } => {
                f.debug_struct("GetCib").field("secrets", secrets).finish()
            }
            DaemonRequest::Status => f.write_str("Status"),
            DaemonRequest::Fence { node, action } => f
                .debug_struct("Fence")
                .field("node", node)
                .field("action", action)
                .finish(),
            DaemonRequest::FenceConfirm { node } => {
                f.debug_struct("FenceConfirm").field("node", node).finish()
            }
            DaemonRequest::FenceHistory { node } => {
                f.debug_struct("FenceHistory").field("node", node).finish()
            }
            DaemonRequest::Cleanup { rsc, node } => f
                .debug_struct("Cleanup")
                .field("rsc", rsc)
                .field("node", node)
                .finish(),
            DaemonRequest::Standby { node, on } => f
                .debug_struct("Standby")
                .field("node", node)
                .field("on", on)
                .finish(),
            DaemonRequest::Maintenance { node, on } => f
                .debug_struct("Maintenance")
                .field("node", node)
                .field("on", on)
                .finish(),
            DaemonRequest::Move { rsc, node }
            | DaemonRequest::Ban { rsc, node }
            | DaemonRequest::Clear { rsc, node }
            | DaemonRequest::Restart { rsc, node } => f
                .debug_struct(self.name())
                .field("rsc", rsc)
                .field("node", node)
                .finish(),
        }
    }
}

impl DaemonRequest {
    /// The request's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            DaemonRequest::GetCib { .. } => "GetCib",
            DaemonRequest::ReplaceConfiguration { .. } => "ReplaceConfiguration",
            DaemonRequest::Status => "Status",
            DaemonRequest::Fence { .. } => "Fence",
            DaemonRequest::FenceConfirm { .. } => "FenceConfirm",
            DaemonRequest::FenceHistory { .. } => "FenceHistory",
            DaemonRequest::Cleanup { .. } => "Cleanup",
            DaemonRequest::Standby { .. } => "Standby",
            DaemonRequest::Maintenance { .. } => "Maintenance",
            DaemonRequest::Move { .. } => "Move",
            DaemonRequest::Ban { .. } => "Ban",
            DaemonRequest::Clear { .. } => "Clear",
            DaemonRequest::Restart { .. } => "Restart",
        }
    }

    /// How long the client waits for the answer.
    pub fn timeout_ms(&self) -> u64 {
        match self {
            DaemonRequest::Fence { .. } => FENCE_TIMEOUT_MS,
            DaemonRequest::Restart { .. } => RESTART_TIMEOUT_MS,
            _ => TIMEOUT_MS,
        }
    }
}

impl IpcRequest for DaemonRequest {
    fn access(&self) -> Access {
        match self {
            DaemonRequest::GetCib { secrets: false }
            | DaemonRequest::Status
            | DaemonRequest::FenceHistory { .. } => Access::Read,
            DaemonRequest::GetCib { secrets: true }
            | DaemonRequest::ReplaceConfiguration { .. }
            | DaemonRequest::Fence { .. }
            | DaemonRequest::FenceConfirm { .. }
            | DaemonRequest::Cleanup { .. }
            | DaemonRequest::Standby { .. }
            | DaemonRequest::Maintenance { .. }
            | DaemonRequest::Move { .. }
            | DaemonRequest::Ban { .. }
            | DaemonRequest::Clear { .. }
            | DaemonRequest::Restart { .. } => Access::Write,
        }
    }
}

/// A successful answer (failures are `ReplyHandle::fail`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DaemonReply {
    /// To `GetCib`: the CIB as XML.
    Cib { xml: String },
    /// To `ReplaceConfiguration`: applied; the CIB is now at `version`.
    Replaced { version: CibVersion },
    /// To `ReplaceConfiguration`: not applied, the configuration moved on to
    /// `current` since the client read it.
    Conflict { current: CibVersion },
    /// To `Status`.
    Status(DaemonStatus),
    /// To `FenceHistory`: oldest first.
    FenceHistory { events: Vec<FenceEvent> },
    /// To every other request: done; `version` is the CIB version the
    /// change produced, when it changed the CIB.
    Done { version: Option<CibVersion> },
}

impl std::fmt::Debug for DaemonReply {
    /// Everything but a CIB's content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DaemonReply::Cib { xml } => write!(f, "Cib {{ xml: <{} bytes> }}", xml.len()),
            DaemonReply::Replaced { version } => write!(f, "Replaced {{ version: {version} }}"),
            DaemonReply::Conflict { current } => write!(f, "Conflict {{ current: {current} }}"),
            DaemonReply::Status(s) => f.debug_tuple("Status").field(s).finish(),
            DaemonReply::FenceHistory { events } => f
                .debug_struct("FenceHistory")
                .field("events", events)
                .finish(),
            DaemonReply::Done { version } => {
                f.debug_struct("Done").field("version", version).finish()
            }
        }
    }
}

/// The daemon's view of the cluster, for `cluster status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// warden's version (`CARGO_PKG_VERSION`) of the daemon.
    pub daemon_version: String,
    pub cluster_name: Option<String>,
    /// This node.
    pub node_name: String,
    /// `corosync` or `standalone`.
    pub transport: String,
    /// The members of the current view, by name.
    pub members: Vec<String>,
    pub quorate: bool,
    /// The designated controller, when one is elected.
    pub dc: Option<String>,
    pub cib_version: CibVersion,
    /// No transition is running.
    pub idle: bool,
}

/// The state of a fencing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FenceState {
    Pending,
    Succeeded,
    Failed,
}

/// One fencing operation, as `stonith_admin --history` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceEvent {
    pub target: String,
    /// `reboot`, `off`, `on`.
    pub action: String,
    pub state: FenceState,
    /// The node that ran the agent.
    pub delegate: Option<String>,
    /// The node that asked for it.
    pub origin: Option<String>,
    /// Who asked (`controller`, `warden stonith fence`, ...).
    pub client: Option<String>,
    /// When it ended (ms since the epoch); `None` while pending.
    pub completed_ms: Option<i64>,
}

/// What [`replace_configuration`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplaceOutcome {
    /// The new CIB: `current` with the new configuration, epoch bumped.
    Replaced(Box<Cib>),
    /// The configuration is no longer at the expected version.
    Conflict(CibVersion),
}

/// The rule of `ReplaceConfiguration` (see the module header). `Err` is
/// the message for the client when `cib_xml` is not a valid CIB.
pub fn replace_configuration(
    current: &Cib,
    expected: CibVersion,
    cib_xml: &str,
) -> Result<ReplaceOutcome, String> {
    let now = current.version();
    if (now.admin_epoch, now.epoch) != (expected.admin_epoch, expected.epoch) {
        return Ok(ReplaceOutcome::Conflict(now.into()));
    }
    let parsed = cib::parse(cib_xml, "the new configuration");
    if parsed.has_errors() {
        let errors: Vec<String> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        return Err(format!(
            "the new configuration was refused: {}",
            errors.join("; ")
        ));
    }
    let new = parsed.cib.expect("no errors means a CIB");
    let mut next = current.clone();
    next.configuration = new.configuration;
    next.bump(Change::Configuration);
    Ok(ReplaceOutcome::Replaced(Box::new(next)))
}

/// `xml` with the value of every secret parameter (`passwd`, `password`,
/// `*_passwd`, ...) replaced by [`MASK`], wherever its `nvpair` is.
pub fn mask_secrets(xml: &str) -> Result<String, String> {
    use crate::core::cib::xml::{parse_element, Element, XmlNode, XmlWriter};
    fn walk(e: &mut Element) {
        if e.name == "nvpair" && e.attr("name").is_some_and(is_secret_param) {
            for (k, v) in e.attrs.iter_mut() {
                if k == "value" && !v.is_empty() {
                    *v = MASK.to_string();
                }
            }
        }
        for c in e.children.iter_mut() {
            if let XmlNode::Element(child) = c {
                walk(child);
            }
        }
    }
    let mut root = parse_element(xml).map_err(|e| format!("the CIB is not XML: {e:?}"))?;
    walk(&mut root);
    let mut w = XmlWriter::new();
    w.element(&root);
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIB: &str = r#"<cib admin_epoch="0" epoch="4" num_updates="7" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config/>
    <nodes/>
    <resources>
      <primitive id="fence1" class="stonith" type="fence_ipmilan">
        <instance_attributes id="fence1-ia">
          <nvpair id="fence1-ip" name="ip" value="10.0.0.9"/>
          <nvpair id="fence1-password" name="password" value="s3cret"/>
        </instance_attributes>
      </primitive>
      <clone id="c">
        <primitive id="x" class="ocf" provider="heartbeat" type="Dummy">
          <instance_attributes id="x-ia">
            <nvpair id="x-pw" name="db_passwd" value="hunter2"/>
          </instance_attributes>
        </primitive>
      </clone>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"#;

    fn parse(text: &str) -> Cib {
        cib::parse(text, "t").cib.unwrap()
    }

    #[test]
    fn wire_shapes_are_stable() {
        let cases = [
            (
                DaemonRequest::GetCib { secrets: false },
                r#"{"get_cib":{"secrets":false}}"#,
            ),
            (DaemonRequest::Status, r#""status""#),
            (
                DaemonRequest::Fence {
                    node: "n2".into(),
                    action: FenceAction::Off,
                },
                r#"{"fence":{"node":"n2","action":"off"}}"#,
            ),
            (
                DaemonRequest::Cleanup {
                    rsc: Some("vip".into()),
                    node: None,
                },
                r#"{"cleanup":{"rsc":"vip","node":null}}"#,
            ),
        ];
        for (req, json) in cases {
            assert_eq!(serde_json::to_string(&req).unwrap(), json);
            assert_eq!(serde_json::from_str::<DaemonRequest>(json).unwrap(), req);
        }
        let reply = DaemonReply::Conflict {
            current: CibVersion {
                admin_epoch: 0,
                epoch: 5,
                num_updates: 1,
            },
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"conflict":{"current":{"admin_epoch":0,"epoch":5,"num_updates":1}}}"#
        );
    }

    #[test]
    fn reads_are_open_and_everything_else_needs_the_right_to_change() {
        use Access::*;
        let node = || "n1".to_string();
        let cases = [
            (DaemonRequest::GetCib { secrets: false }, Read),
            (DaemonRequest::GetCib { secrets: true }, Write),
            (DaemonRequest::Status, Read),
            (DaemonRequest::FenceHistory { node: None }, Read),
            (
                DaemonRequest::ReplaceConfiguration {
                    expected: Version::default().into(),
                    cib_xml: String::new(),
                },
                Write,
            ),
            (
                DaemonRequest::Fence {
                    node: node(),
                    action: FenceAction::Reboot,
                },
                Write,
            ),
            (DaemonRequest::FenceConfirm { node: node() }, Write),
            (
                DaemonRequest::Standby {
                    node: node(),
                    on: true,
                },
                Write,
            ),
            (
                DaemonRequest::Restart {
                    rsc: "r".into(),
                    node: None,
                },
                Write,
            ),
        ];
        for (req, want) in cases {
            assert_eq!(req.access(), want, "{req:?}");
        }
    }

    #[test]
    fn debug_never_shows_a_cib() {
        let req = DaemonRequest::ReplaceConfiguration {
            expected: Version::default().into(),
            cib_xml: CIB.into(),
        };
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("bytes"),
            "{shown}"
        );
        let shown = format!("{:?}", DaemonReply::Cib { xml: CIB.into() });
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn secrets_are_masked_everywhere_and_nothing_else_changes() {
        let masked = mask_secrets(CIB).unwrap();
        assert!(!masked.contains("s3cret") && !masked.contains("hunter2"));
        assert_eq!(masked.matches(MASK).count(), 2);
        assert!(masked.contains(r#"name="ip" value="10.0.0.9""#));
        // The masked document is still the same CIB otherwise.
        let back = parse(&masked);
        let orig = parse(CIB);
        assert_eq!(back.version(), orig.version());
        assert_eq!(
            cib::to_xml(&back).replace(MASK, ""),
            cib::to_xml(&orig)
                .replace("s3cret", "")
                .replace("hunter2", "")
        );
        assert!(mask_secrets("<cib").is_err());
    }

    #[test]
    fn a_replace_applies_only_at_the_expected_configuration_version() {
        let current = parse(CIB);
        let edited = CIB.replace("10.0.0.9", "10.0.0.10");
        let at = |epoch, num_updates| CibVersion {
            admin_epoch: 0,
            epoch,
            num_updates,
        };
        // Status updates since the read do not conflict.
        let out = replace_configuration(&current, at(4, 2), &edited).unwrap();
        let ReplaceOutcome::Replaced(next) = out else {
            panic!("{out:?}")
        };
        assert_eq!(next.version().to_string(), "0.5.0");
        assert!(cib::to_xml(&next).contains("10.0.0.10"));
        // The cluster's status is kept, whatever the client sent.
        let with_status = edited.replace("<status/>", "<status><node_state id=\"1\"/></status>");
        let ReplaceOutcome::Replaced(next) =
            replace_configuration(&current, at(4, 7), &with_status).unwrap()
        else {
            panic!()
        };
        assert_eq!(next.status, current.status);
        // A configuration change since the read does.
        assert_eq!(
            replace_configuration(&current, at(3, 0), &edited).unwrap(),
            ReplaceOutcome::Conflict(at(4, 7))
        );
        // A broken document is refused with its diagnostics.
        let err = replace_configuration(&current, at(4, 7), "<cib><configuration>").unwrap_err();
        assert!(
            err.starts_with("the new configuration was refused: "),
            "{err}"
        );
    }
}
