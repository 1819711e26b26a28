//! The command line against the live cluster: without `-f FILE` (or
//! `CIB_file`) the same commands reach the local `warden daemon` through its
//! socket, with the request and reply types of `shell::daemon_api`.
//!
//! * Edits run the file mode's edit code on the CIB the daemon sends
//!   (`GetCib`), then hand the result back with the version they read
//!   (`ReplaceConfiguration`, a compare-and-swap). When the configuration
//!   changed in between, the edit is read again and re-applied, at most
//!   [`MAX_ATTEMPTS`] times; then the command fails and changes nothing.
//! * Reads (`status`, `config`, `constraint`, ...) render the CIB the daemon
//!   sends, with the file mode's code.
//! * Node standby and maintenance, and the live-only commands (`stonith
//!   fence|confirm|history`, `resource cleanup|move|ban|clear|restart`,
//!   `cluster status`) are requests of their own.
//!
//! Invariant: the live CIB changes only through the daemon, by a
//! compare-and-swap of what this command read or by one of the daemon's
//! own requests; a conflict is never resolved by force. Passwords are asked
//! for only when the command needs their values (edits, `debug-*`,
//! `stonith test`, `cluster cib`, `--show-secrets`), and nothing here prints
//! them.
//!
//! The socket: `$WARDEN_SOCKET`, else `socket` in the daemon's
//! configuration file (`$WARDEN_CONFIG`, else `/etc/warden/warden.toml`),
//! else `/run/warden/warden.sock`.

use super::command::{Command, LiveCommand, NodeMode};
use super::error::CliError;
use super::flags::Flags;
use crate::core::cib::{self, Cib};
use crate::shell::config::{DaemonConfig, DEFAULT_PATH};
use crate::shell::daemon_api::{
    CibVersion, DaemonReply, DaemonRequest, DaemonStatus, FenceAction, FenceEvent, FenceState,
};
use crate::shell::ipc::{self, ClientError, ClientOptions, ErrorCode};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

pub const SOCKET_ENV: &str = "WARDEN_SOCKET";
pub const CONFIG_ENV: &str = "WARDEN_CONFIG";
/// How many times an edit is read and applied before a conflict is final.
pub const MAX_ATTEMPTS: u32 = 5;

/// Where the daemon listens (see the module header).
pub fn socket_path() -> Result<PathBuf, CliError> {
    if let Some(s) = std::env::var_os(SOCKET_ENV).filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(s));
    }
    let config = std::env::var_os(CONFIG_ENV)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    match DaemonConfig::load_optional(&config) {
        Ok(Some(c)) => Ok(c.socket),
        Ok(None) => Ok(PathBuf::from(ipc::DEFAULT_SOCKET)),
        Err(e) => Err(CliError::Daemon(format!(
            "{e} (the command line reads the socket's path from it)"
        ))),
    }
}

/// A connection to the daemon.
pub struct Daemon {
    path: PathBuf,
    stream: UnixStream,
}

impl Daemon {
    /// Connects for `command`; `live_only` says which error to give when no
    /// daemon runs (a command without a file mode says so).
    pub fn connect(command: &str, live_only: bool) -> Result<Daemon, CliError> {
        let path = socket_path()?;
        let not_running = |why: String| {
            if live_only {
                CliError::LiveOnly {
                    command: command.to_string(),
                    why,
                }
            } else {
                CliError::NotRunning {
                    command: command.to_string(),
                    why,
                }
            }
        };
        match ipc::connect(&path) {
            Ok(stream) => Ok(Daemon { path, stream }),
            Err(ClientError::NotRunning(p)) => {
                Err(not_running(format!("no socket at {}", p.display())))
            }
            Err(ClientError::NotListening(p)) => {
                Err(not_running(format!("nothing listens on {}", p.display())))
            }
            Err(e) => Err(CliError::Daemon(e.to_string())),
        }
    }

    /// One request, its reply; the daemon's refusal or failure as its words.
    pub fn call(&mut self, request: &DaemonRequest) -> Result<DaemonReply, CliError> {
        let opts = ClientOptions {
            timeout_ms: request.timeout_ms(),
            ..ClientOptions::default()
        };
        tracing::debug!(request = request.name(), "asking the daemon");
        ipc::exchange(&mut self.stream, &self.path, request, &opts).map_err(|e| match e {
            ClientError::Refused {
                code: ErrorCode::Failed | ErrorCode::PermissionDenied,
                message,
            } => CliError::Daemon(message),
            other => CliError::Daemon(other.to_string()),
        })
    }

    fn unexpected(&self, request: &DaemonRequest, reply: &DaemonReply) -> CliError {
        CliError::Daemon(format!(
            "the daemon answered {} with {reply:?}: use the warden binary that matches the daemon",
            request.name()
        ))
    }

    /// The CIB as text, secrets masked unless `secrets`.
    pub fn get_cib_text(&mut self, secrets: bool) -> Result<String, CliError> {
        let req = DaemonRequest::GetCib { secrets };
        match self.call(&req)? {
            DaemonReply::Cib { xml } => Ok(xml),
            other => Err(self.unexpected(&req, &other)),
        }
    }

    /// The CIB, parsed.
    pub fn get_cib(&mut self, secrets: bool) -> Result<Cib, CliError> {
        let text = self.get_cib_text(secrets)?;
        let parsed = cib::parse(&text, "the live CIB");
        if parsed.has_errors() {
            return Err(CliError::Cib {
                diagnostics: parsed
                    .diagnostics
                    .into_iter()
                    .filter(|d| d.is_error())
                    .collect(),
            });
        }
        Ok(parsed.cib.expect("no errors means a CIB"))
    }

    /// Reads the CIB, applies `edit` and replaces the configuration if it
    /// is still the one read, re-reading and re-applying on a conflict.
    /// Returns what the last `edit` returned and the new version (`None`
    /// when the edit changed nothing).
    pub fn edit<T>(
        &mut self,
        mut edit: impl FnMut(&mut Cib) -> Result<T, CliError>,
    ) -> Result<(T, Option<CibVersion>), CliError> {
        let mut last_seen = None;
        for attempt in 1..=MAX_ATTEMPTS {
            let mut cib = self.get_cib(true)?;
            let read: CibVersion = cib.version().into();
            let before = cib.clone();
            let result = edit(&mut cib)?;
            if cib == before {
                return Ok((result, None));
            }
            let req = DaemonRequest::ReplaceConfiguration {
                expected: read,
                cib_xml: cib::to_xml(&cib),
            };
            match self.call(&req)? {
                DaemonReply::Replaced { version } => {
                    tracing::debug!(%version, attempt, "configuration replaced");
                    return Ok((result, Some(version)));
                }
                DaemonReply::Conflict { current } => {
                    tracing::debug!(%read, %current, attempt, "the configuration changed under the edit: reading it again");
                    last_seen = Some((read, current));
                }
                other => return Err(self.unexpected(&req, &other)),
            }
        }
        let (read, current) = last_seen.expect("at least one attempt");
        Err(CliError::rejected(format!(
            "the cluster's configuration kept changing under this command ({MAX_ATTEMPTS} attempts; the last read version {read}, then it was {current}): nothing was changed, run the command again"
        )))
    }

    fn done(&mut self, req: DaemonRequest) -> Result<Option<CibVersion>, CliError> {
        match self.call(&req)? {
            DaemonReply::Done { version } => Ok(version),
            other => Err(self.unexpected(&req, &other)),
        }
    }
}

fn emit(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(|e| CliError::Io {
        action: "cannot write to",
        path: "standard output".into(),
        source: e,
    })
}

/// Whether a command needs passwords as they are (else they come masked).
pub fn needs_secrets(cmd: &Command, flags: &Flags) -> bool {
    flags.show_secrets
        || matches!(
            cmd,
            Command::StonithTest { .. } | Command::Debug { .. } | Command::ClusterCib { .. }
        )
}

/// `node standby|unstandby|maintenance|unmaintenance` on the live cluster:
/// one request per node (`--all`: every node of the configuration).
pub fn node_mode(
    daemon: &mut Daemon,
    mode: NodeMode,
    on: bool,
    nodes: &[String],
    all: bool,
) -> Result<u8, CliError> {
    let names: Vec<String> = if all {
        daemon
            .get_cib(false)?
            .configuration
            .nodes
            .iter()
            .map(|n| n.uname.clone())
            .collect()
    } else {
        nodes.to_vec()
    };
    for node in names {
        let req = match mode {
            NodeMode::Standby => DaemonRequest::Standby { node, on },
            NodeMode::Maintenance => DaemonRequest::Maintenance {
                node: Some(node),
                on,
            },
        };
        daemon.done(req)?;
    }
    Ok(0)
}

/// Carries out a live-only command.
pub fn run(
    cmd: &LiveCommand,
    name: &str,
    flags: &Flags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let mut daemon = Daemon::connect(name, true)?;
    match cmd {
        LiveCommand::Fence { node, off } => {
            let action = if *off {
                FenceAction::Off
            } else {
                FenceAction::Reboot
            };
            daemon.done(DaemonRequest::Fence {
                node: node.clone(),
                action,
            })?;
            emit(out, &format!("Node: {node} fenced\n"))?;
        }
        LiveCommand::FenceConfirm { node } => {
            confirm(node, flags.force, err)?;
            daemon.done(DaemonRequest::FenceConfirm { node: node.clone() })?;
            emit(out, &format!("Node: {node} confirmed fenced\n"))?;
        }
        LiveCommand::FenceHistory { node } => {
            let req = DaemonRequest::FenceHistory { node: node.clone() };
            match daemon.call(&req)? {
                DaemonReply::FenceHistory { events } => emit(out, &render_history(&events))?,
                other => return Err(daemon.unexpected(&req, &other)),
            }
        }
        LiveCommand::Cleanup { rsc, node } => {
            daemon.done(DaemonRequest::Cleanup {
                rsc: rsc.clone(),
                node: node.clone(),
            })?;
            emit(
                out,
                &format!(
                    "Cleaned up {} on {}\n",
                    rsc.as_deref().unwrap_or("all resources"),
                    node.as_deref().unwrap_or("all nodes")
                ),
            )?;
        }
        LiveCommand::Move { rsc, node } => {
            daemon.done(DaemonRequest::Move {
                rsc: rsc.clone(),
                node: node.clone(),
            })?;
            let _ = match node {
                Some(n) => writeln!(
                    err,
                    "Note: {rsc} now prefers {n} (constraint cli-prefer-{rsc}) until 'warden resource clear {rsc}'"
                ),
                None => writeln!(
                    err,
                    "Warning: {rsc} is now banned from the node it ran on (constraint cli-ban-{rsc}-on-NODE, score -INFINITY), even if that node is the last one left, until 'warden resource clear {rsc}'"
                ),
            };
        }
        LiveCommand::Ban { rsc, node } => {
            daemon.done(DaemonRequest::Ban {
                rsc: rsc.clone(),
                node: node.clone(),
            })?;
            let _ = writeln!(
                err,
                "Warning: {rsc} is now banned from {} (constraint cli-ban-{rsc}-on-{}, score -INFINITY), even if that node is the last one left, until 'warden resource clear {rsc}'",
                node.as_deref().unwrap_or("the node it ran on"),
                node.as_deref().unwrap_or("NODE"),
            );
        }
        LiveCommand::Clear { rsc, node } => {
            daemon.done(DaemonRequest::Clear {
                rsc: rsc.clone(),
                node: node.clone(),
            })?;
        }
        LiveCommand::Restart { rsc, node } => {
            restart(
                &mut daemon,
                rsc,
                node.as_deref(),
                RESTART_STEP_TIMEOUT_MS,
                out,
                err,
            )?;
        }
        LiveCommand::ClusterStatus => {
            let req = DaemonRequest::Status;
            let status = match daemon.call(&req)? {
                DaemonReply::Status(s) => s,
                other => return Err(daemon.unexpected(&req, &other)),
            };
            emit(out, &render_daemon_status(&status))?;
            let cib = daemon.get_cib(false)?;
            let view = crate::status::build(&cib, super::now());
            for w in &view.warnings {
                let _ = writeln!(err, "Warning: {w}");
            }
            emit(out, "\n")?;
            emit(out, &crate::status::text::render(&view))?;
        }
    }
    Ok(0)
}

/// How long `resource restart` waits for the resource to stop, and then to
/// start again, before it gives up.
pub const RESTART_STEP_TIMEOUT_MS: u64 = 300_000;
/// How often `resource restart` looks at the cluster while it waits.
const RESTART_POLL_MS: u64 = 250;

/// The nodes where `rsc` (a primitive, or any member of a group) is
/// active, as the CIB's status says.
fn active_nodes(cib: &Cib, rsc: &str) -> Vec<String> {
    let members: Vec<String> = match cib.configuration.group(rsc) {
        Some(g) => g.primitives.iter().map(|p| p.id.clone()).collect(),
        None => vec![rsc.to_string()],
    };
    let state = crate::core::scheduler::current_state(cib, super::now());
    let mut nodes: Vec<String> = state
        .resources
        .iter()
        .filter(|r| members.contains(&r.id))
        .flat_map(|r| r.running_on.iter().cloned())
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

/// `target-role` of a primitive or a group, as configured.
fn target_role(cib: &Cib, rsc: &str) -> Option<String> {
    use crate::core::cib::SetKind;
    let c = &cib.configuration;
    let sets = match (c.primitive(rsc), c.group(rsc)) {
        (Some(p), _) => &p.sets,
        (None, Some(g)) => &g.sets,
        (None, None) => return None,
    };
    sets.iter()
        .filter(|s| s.kind == SetKind::Meta)
        .find_map(|s| s.get("target-role"))
        .map(str::to_string)
}

/// Polls `look` until it says done (`Some`), at most `timeout_ms`; `None`
/// when the time ran out.
fn wait_until<T>(
    timeout_ms: u64,
    poll_ms: u64,
    mut look: impl FnMut() -> Result<Option<T>, CliError>,
) -> Result<Option<T>, CliError> {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = look()? {
            return Ok(Some(v));
        }
        if start.elapsed().as_millis() as u64 >= timeout_ms {
            return Ok(None);
        }
        // The command line is a synchronous client with no runtime: it
        // waits between two looks at the daemon (never in the core).
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(std::time::Duration::from_millis(poll_ms));
    }
}

/// `resource restart RSC` as `crm_resource --restart` does it: the
/// resource's `target-role` set to `Stopped` (through the configuration's
/// compare-and-swap), a wait until the cluster has stopped it everywhere,
/// then the previous `target-role` back (removed when there was none) and
/// a wait until it runs again. Each step is said on standard error; when
/// a wait times out the previous `target-role` is restored and the
/// command fails. With a node, as `crm_resource --restart --node`: the
/// resource must be active there (else nothing is done), and is then
/// restarted as without one (a primitive or group has one instance: its
/// `target-role` stops it wherever it runs).
fn restart(
    daemon: &mut Daemon,
    rsc: &str,
    node: Option<&str>,
    step_timeout_ms: u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let cib = daemon.get_cib(false)?;
    let c = &cib.configuration;
    if c.primitive(rsc).is_none() && c.group(rsc).is_none() {
        return Err(CliError::rejected(format!(
            "unable to find a resource/group: {rsc} (clones and bundles cannot be restarted this way); nothing was changed"
        )));
    }
    let was_on = active_nodes(&cib, rsc);
    if let Some(n) = node {
        if cib.configuration.node(n).is_none() {
            return Err(CliError::rejected(format!(
                "node '{n}' is not a cluster node; nothing was changed"
            )));
        }
        if !was_on.iter().any(|x| x == n) {
            return Err(CliError::rejected(format!(
                "{rsc} is not running on {n} and so cannot be restarted; nothing was changed"
            )));
        }
    }
    if was_on.is_empty() {
        return Err(CliError::rejected(format!(
            "{rsc} is not running: nothing to restart"
        )));
    }
    let previous = target_role(&cib, rsc);
    let set_role = |daemon: &mut Daemon, value: &str| -> Result<(), CliError> {
        let cmd = Command::ResourceMeta {
            id: rsc.to_string(),
            meta: vec![("target-role".to_string(), value.to_string())],
        };
        let ctx = super::edit::Ctx {
            force: false,
            agents: &super::SystemAgents,
        };
        daemon
            .edit(|cib| super::edit::apply(cib, &cmd, &ctx))
            .map(|_| ())
    };
    let restore = |daemon: &mut Daemon| set_role(daemon, previous.as_deref().unwrap_or(""));
    let _ = writeln!(
        err,
        "Stopping {rsc} (running on {}): target-role=Stopped",
        was_on.join(", ")
    );
    set_role(daemon, "Stopped")?;
    let stopped = wait_until(step_timeout_ms, RESTART_POLL_MS, || {
        let cib = daemon.get_cib(false)?;
        Ok(active_nodes(&cib, rsc).is_empty().then_some(()))
    });
    match stopped {
        Ok(Some(())) => {}
        Ok(None) | Err(_) => {
            let why = match stopped {
                Err(e) => format!("while waiting for it to stop: {e}"),
                _ => format!("it did not stop within {}s", step_timeout_ms.div_ceil(1000)),
            };
            let restored = restore(daemon);
            return Err(CliError::rejected(format!(
                "{rsc} was not restarted: {why}; {}",
                match restored {
                    Ok(()) => "its target-role was restored".to_string(),
                    Err(e) => format!("restoring its target-role failed too: {e}"),
                }
            )));
        }
    }
    let _ = writeln!(
        err,
        "{rsc} stopped; starting it again: target-role {}",
        match &previous {
            Some(v) => format!("back to {v}"),
            None => "removed".to_string(),
        }
    );
    restore(daemon)?;
    let running = wait_until(step_timeout_ms, RESTART_POLL_MS, || {
        let cib = daemon.get_cib(false)?;
        let on = active_nodes(&cib, rsc);
        Ok((!on.is_empty()).then_some(on))
    })?;
    match running {
        Some(on) => {
            emit(
                out,
                &format!("{rsc} successfully restarted (running on {})\n", on.join(", ")),
            )?;
            Ok(())
        }
        None => Err(CliError::rejected(format!(
            "{rsc} was stopped and its target-role restored, but it did not start again within {}s: see 'warden status'",
            step_timeout_ms.div_ceil(1000)
        ))),
    }
}

/// `stonith confirm` asks first, as pcs does, unless `--force`.
fn confirm(node: &str, force: bool, err: &mut dyn Write) -> Result<(), CliError> {
    if force {
        return Ok(());
    }
    let warning = format!(
        "If node {node} is not powered off or it does have access to shared resources, data corruption and/or cluster failure may occur"
    );
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(CliError::rejected(format!(
            "{warning}; add --force to confirm that {node} is down"
        )));
    }
    let _ = write!(
        err,
        "WARNING: {warning}. Are you sure you want to continue? [y/N] "
    );
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::rejected(format!(
            "not confirmed: {node} is not marked as fenced"
        )))
    }
}

/// The daemon's own view, for `cluster status`.
pub fn render_daemon_status(s: &DaemonStatus) -> String {
    let mut t = String::new();
    if let Some(n) = &s.cluster_name {
        t.push_str(&format!("Cluster name: {n}\n"));
    }
    t.push_str(&format!(
        "This node: {} (warden {}, {})\n",
        s.node_name, s.daemon_version, s.transport
    ));
    t.push_str(&format!(
        "Members: {} ({})\n",
        s.members.join(" "),
        if s.quorate {
            "partition with quorum"
        } else {
            "partition WITHOUT quorum"
        }
    ));
    t.push_str(&format!(
        "Current DC: {}\n",
        s.dc.as_deref().unwrap_or("NONE")
    ));
    t.push_str(&format!(
        "CIB version: {}; transition: {}\n",
        s.cib_version,
        if s.idle { "idle" } else { "running" }
    ));
    t
}

/// The history as `stonith_admin --history` lists it.
pub fn render_history(events: &[FenceEvent]) -> String {
    let mut t = String::new();
    for e in events {
        let mut parts = Vec::new();
        if let Some(d) = &e.delegate {
            parts.push(format!("delegate={d}"));
        }
        if let Some(c) = &e.client {
            parts.push(format!("client={c}"));
        }
        if let Some(o) = &e.origin {
            parts.push(format!("origin={o}"));
        }
        let (state, when) = match e.state {
            FenceState::Succeeded => ("successful", "completed"),
            FenceState::Failed => ("failed", "last-failed"),
            FenceState::Pending => ("pending", ""),
        };
        if let Some(ms) = e.completed_ms.filter(|_| !when.is_empty()) {
            parts.push(format!(
                "{when}='{}'",
                crate::core::time::format_iso8601(ms.div_euclid(1000))
            ));
        }
        t.push_str(&format!(
            "{} of {} {state}: {}\n",
            e.action,
            e.target,
            parts.join(", ")
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_gives_up_after_its_timeout_and_stops_at_the_first_answer() {
        let mut calls = 0;
        let got = wait_until(30, 5, || {
            calls += 1;
            Ok(None::<()>)
        })
        .unwrap();
        assert_eq!(got, None);
        assert!(calls >= 2, "it looked again before giving up: {calls}");
        let mut calls = 0;
        let got = wait_until(10_000, 1, || {
            calls += 1;
            Ok((calls == 3).then_some("n1"))
        })
        .unwrap();
        assert_eq!((got, calls), (Some("n1"), 3));
        let failed: Result<Option<()>, CliError> =
            wait_until(10_000, 1, || Err(CliError::rejected("gone")));
        assert!(failed.is_err());
    }

    #[test]
    fn a_groups_activity_is_any_members_and_target_role_is_read_from_meta() {
        let text = r#"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/>
          <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
          <resources><group id="g"><meta_attributes id="g-meta"><nvpair id="g-tr" name="target-role" value="Started"/></meta_attributes>
            <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
            <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/></group>
            <primitive id="c" class="ocf" provider="heartbeat" type="Dummy"/></resources>
          <constraints/></configuration>
          <status><node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="2"><lrm_resources>
            <lrm_resource id="b" class="ocf" provider="heartbeat" type="Dummy">
              <lrm_rsc_op id="b_last_0" operation_key="b_start_0" operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="3" rc-code="0" op-status="0" interval="0"/>
            </lrm_resource></lrm_resources></lrm></node_state></status></cib>"#;
        let cib = cib::parse(text, "t").cib.unwrap();
        assert_eq!(active_nodes(&cib, "g"), ["n2"]);
        assert!(active_nodes(&cib, "c").is_empty());
        assert_eq!(target_role(&cib, "g").as_deref(), Some("Started"));
        assert_eq!(target_role(&cib, "c"), None);
    }

    #[test]
    fn history_lines_read_like_stonith_admin() {
        let events = vec![
            FenceEvent {
                target: "n2".into(),
                action: "reboot".into(),
                state: FenceState::Succeeded,
                delegate: Some("n1".into()),
                origin: Some("n1".into()),
                client: Some("controller".into()),
                completed_ms: Some(1_748_736_000_000),
            },
            FenceEvent {
                target: "n1".into(),
                action: "off".into(),
                state: FenceState::Pending,
                delegate: None,
                origin: Some("n2".into()),
                client: Some("warden stonith fence".into()),
                completed_ms: None,
            },
        ];
        assert_eq!(
            render_history(&events),
            "reboot of n2 successful: delegate=n1, client=controller, origin=n1, completed='2025-06-01 00:00:00Z'\n\
             off of n1 pending: client=warden stonith fence, origin=n2\n"
        );
    }
}
