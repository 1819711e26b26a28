//! Fence agents (`fence_*` from the fence-agents collection) as processes:
//! run one action with `name=value` lines on stdin, read `-o metadata`, list
//! the installed agents, test a device, translate deprecated parameters.
//!
//! Invariant: device parameters reach an agent only on its stdin, never on
//! its command line (where `ps` shows them), and the values of secret
//! parameters (`passwd`, `password`, `*_passwd`) never appear in logs, errors
//! or returned output. An agent that outlives its timeout is killed with its
//! whole process group (SIGTERM, then SIGKILL). No fencing decision is made
//! here: which device, which action, when, is `core::fencer`'s.

use crate::shell::agents::{attributes as attr_map, flag};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use quick_xml::events::Event;
use quick_xml::Reader;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::core::fencer::{
    device_agent_args, is_secret_param, AgentArgs, AgentInfo, AgentOutcome, FenceDevice,
};

/// Where Debian and RHEL install the fence agents.
pub const DEFAULT_AGENT_DIR: &str = "/usr/sbin";
/// Output kept per stream (bytes); the rest is read and dropped.
pub const OUTPUT_MAX: usize = 64 * 1024;
/// How long an agent gets after SIGTERM before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long to wait for output after the agent exited (a grandchild may hold
/// the pipe open).
const DRAIN_MAX: Duration = Duration::from_secs(1);
/// Timeout for `-o metadata`.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum FenceAgentError {
    #[error("'{0}' is not a fence agent name: expected fence_<name> (letters, digits, '_', '-')")]
    BadName(String),
    #[error("fence agent {agent} is not installed in {dir} (install fence-agents, or set the agent directory)")]
    NotInstalled { agent: String, dir: PathBuf },
    #[error("could not run {agent}: {source}")]
    Spawn {
        agent: String,
        source: std::io::Error,
    },
    #[error("{agent} -o metadata: {message}")]
    Metadata { agent: String, message: String },
    #[error("could not list fence agents in {dir}: {source}")]
    ListDir {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// How one agent process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOutput {
    pub exit_code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// Stopped because the caller no longer needed it.
    pub cancelled: bool,
    /// Standard output, capped at [`OUTPUT_MAX`], secrets replaced by `***`.
    pub stdout: String,
    /// Standard error (the agent's log lines), same treatment.
    pub stderr: String,
    pub duration: Duration,
}

impl AgentOutput {
    /// The outcome the core fencer takes: exit code, timeout, stdout and a
    /// short reason (the agent's last error line) on failure.
    pub fn outcome(&self) -> AgentOutcome {
        let reason = match self.exit_code {
            Some(0) => None,
            _ if self.timed_out => {
                Some(format!("timed out after {} ms", self.duration.as_millis()))
            }
            _ if self.cancelled => Some("cancelled".to_string()),
            Some(code) => Some(match last_error_line(&self.stderr) {
                Some(line) => format!("agent exited with {code}: {line}"),
                None => format!("agent exited with {code}"),
            }),
            None => Some(format!(
                "agent killed by signal {}",
                self.signal.unwrap_or(0)
            )),
        };
        AgentOutcome {
            exit_code: self.exit_code,
            timed_out: self.timed_out,
            stdout: self.stdout.clone(),
            reason,
        }
    }
}

/// The last meaningful line an agent logged, without its timestamp, capped.
fn last_error_line(stderr: &str) -> Option<String> {
    let line = stderr.lines().rev().map(str::trim).find(|l| {
        !l.is_empty() && !l.contains("DeprecationWarning") && !l.starts_with("import ")
    })?;
    // fencing.py lines look like "2026-01-01 10:00:00,123 ERROR: Failed: ...".
    let text = line.find("ERROR: ").map(|i| &line[i + 7..]).unwrap_or(line);
    let mut text = text.to_string();
    if text.len() > 200 {
        let mut end = 200;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Some(text)
}

/// Replaces the values of secret parameters in `text` with `***`.
pub fn redact(text: &str, args: &AgentArgs) -> String {
    let mut out = text.to_string();
    for (k, v) in &args.0 {
        if is_secret_param(k) && !v.is_empty() {
            out = out.replace(v.as_str(), "***");
        }
    }
    out
}

fn valid_agent_name(agent: &str) -> bool {
    agent.len() > "fence_".len()
        && agent.starts_with("fence_")
        && agent
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Runs fence agents from one directory.
#[derive(Debug, Clone)]
pub struct AgentRunner {
    dir: PathBuf,
}

impl Default for AgentRunner {
    fn default() -> Self {
        AgentRunner::new(DEFAULT_AGENT_DIR)
    }
}

/// Kills the agent's process group if the run is dropped half-way (e.g. the
/// fencer cancelled it), so that no orphaned agent keeps fencing.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

async fn read_capped<R: AsyncRead + Unpin>(mut r: R) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = OUTPUT_MAX.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

impl AgentRunner {
    pub fn new(dir: impl Into<PathBuf>) -> AgentRunner {
        AgentRunner { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The agent's executable, checked to be a `fence_*` name in the directory.
    pub fn agent_path(&self, agent: &str) -> Result<PathBuf, FenceAgentError> {
        if !valid_agent_name(agent) {
            return Err(FenceAgentError::BadName(agent.to_string()));
        }
        let path = self.dir.join(agent);
        if !path.is_file() {
            return Err(FenceAgentError::NotInstalled {
                agent: agent.to_string(),
                dir: self.dir.clone(),
            });
        }
        Ok(path)
    }

    /// Installed agents (`fence_*` files in the directory), sorted.
    pub fn list_agents(&self) -> Result<Vec<String>, FenceAgentError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| FenceAgentError::ListDir {
            dir: self.dir.clone(),
            source,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| valid_agent_name(n))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Runs one action: `args` on stdin, killed after `timeout`.
    pub async fn run(
        &self,
        agent: &str,
        args: &AgentArgs,
        timeout: Duration,
    ) -> Result<AgentOutput, FenceAgentError> {
        self.run_cancellable(agent, args, timeout, std::future::pending())
            .await
    }

    /// Like [`AgentRunner::run`]; when `cancel` completes first the agent is
    /// stopped the same way as on a timeout.
    pub async fn run_cancellable(
        &self,
        agent: &str,
        args: &AgentArgs,
        timeout: Duration,
        cancel: impl Future<Output = ()>,
    ) -> Result<AgentOutput, FenceAgentError> {
        let path = self.agent_path(agent)?;
        let started = Instant::now();
        let mut cmd = Command::new(&path);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills ipmitool/ssh too.
            .process_group(0)
            // Keep the agents' own timeouts (pacemaker-fenced sets this to
            // disable them); warden's timeout is the outer bound.
            .env_remove("PCMK_service")
            .env("PYTHONWARNINGS", "ignore")
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| FenceAgentError::Spawn {
            agent: agent.to_string(),
            source,
        })?;
        let mut guard = GroupGuard(child.id().map(|p| p as i32));
        tracing::debug!(agent, action = args.get("action"), pid = ?child.id(), "fence agent started");
        let stdin_text = args.to_stdin();
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = async move {
            // An agent may exit without reading everything: ignore EPIPE.
            let _ = stdin.write_all(stdin_text.as_bytes()).await;
            let _ = stdin.shutdown().await;
        };
        let stdout = tokio::spawn(read_capped(child.stdout.take().expect("piped")));
        let stderr = tokio::spawn(read_capped(child.stderr.take().expect("piped")));

        let mut timed_out = false;
        let mut cancelled = false;
        let status = {
            let wait = async {
                writer.await;
                child.wait().await
            };
            tokio::pin!(wait);
            tokio::pin!(cancel);
            tokio::select! {
                s = &mut wait => Some(s),
                _ = tokio::time::sleep(timeout) => { timed_out = true; None }
                _ = &mut cancel => { cancelled = true; None }
            }
        };
        let status = match status {
            Some(s) => s,
            None => {
                let pgid = guard.0;
                if let Some(p) = pgid {
                    let _ = killpg(Pid::from_raw(p), Signal::SIGTERM);
                }
                match tokio::time::timeout(KILL_GRACE, child.wait()).await {
                    Ok(s) => {
                        // The leader is gone; its group may not be.
                        if let Some(p) = pgid {
                            let _ = killpg(Pid::from_raw(p), Signal::SIGKILL);
                        }
                        s
                    }
                    Err(_) => {
                        if let Some(p) = pgid {
                            let _ = killpg(Pid::from_raw(p), Signal::SIGKILL);
                        }
                        child.wait().await
                    }
                }
            }
        };
        guard.0 = None;
        let status = status.map_err(|source| FenceAgentError::Spawn {
            agent: agent.to_string(),
            source,
        })?;
        let collect = |h: tokio::task::JoinHandle<Vec<u8>>| async move {
            match tokio::time::timeout(DRAIN_MAX, h).await {
                Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                _ => String::new(),
            }
        };
        let stdout = redact(&collect(stdout).await, args);
        let stderr = redact(&collect(stderr).await, args);
        use std::os::unix::process::ExitStatusExt;
        let out = AgentOutput {
            exit_code: status.code(),
            signal: status.signal(),
            timed_out,
            cancelled,
            stdout,
            stderr,
            duration: started.elapsed(),
        };
        tracing::debug!(
            agent,
            action = args.get("action"),
            exit = ?out.exit_code,
            timed_out,
            cancelled,
            ms = out.duration.as_millis() as u64,
            "fence agent finished"
        );
        Ok(out)
    }

    /// `AGENT -o metadata`, parsed.
    pub async fn metadata(&self, agent: &str) -> Result<AgentMetadata, FenceAgentError> {
        let path = self.agent_path(agent)?;
        // Metadata is the one call with an argument: it carries no parameters.
        let out = tokio::time::timeout(
            METADATA_TIMEOUT,
            Command::new(&path)
                .args(["-o", "metadata"])
                .env("PYTHONWARNINGS", "ignore")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .map_err(|_| FenceAgentError::Metadata {
            agent: agent.to_string(),
            message: format!("no answer within {} s", METADATA_TIMEOUT.as_secs()),
        })?
        .map_err(|source| FenceAgentError::Spawn {
            agent: agent.to_string(),
            source,
        })?;
        let xml = String::from_utf8_lossy(&out.stdout);
        parse_metadata(&xml).map_err(|message| FenceAgentError::Metadata {
            agent: agent.to_string(),
            message,
        })
    }

    /// Metadata of each agent, as the core fencer takes it. Agents whose
    /// metadata cannot be read are reported and left out (the fencer then
    /// assumes the usual actions).
    pub async fn agent_infos<'a>(
        &self,
        agents: impl IntoIterator<Item = &'a str>,
    ) -> (BTreeMap<String, AgentInfo>, Vec<FenceAgentError>) {
        let names: BTreeSet<&str> = agents.into_iter().collect();
        let mut infos = BTreeMap::new();
        let mut errors = Vec::new();
        for name in names {
            match self.metadata(name).await {
                Ok(m) => {
                    infos.insert(name.to_string(), m.info());
                }
                Err(e) => errors.push(e),
            }
        }
        (infos, errors)
    }
}

// ---------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterMeta {
    pub name: String,
    pub required: bool,
    pub unique: bool,
    pub deprecated: bool,
    /// The older name this parameter replaces.
    pub obsoletes: Option<String>,
    /// `string`, `integer`, `second`, `boolean`, `select`.
    pub content_type: String,
    pub default: Option<String>,
    /// Values of a `select`.
    pub options: Vec<String>,
    pub shortdesc: String,
    pub getopt: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionMeta {
    pub name: String,
    pub automatic: bool,
    pub on_target: bool,
}

/// An agent's `-o metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMetadata {
    pub name: String,
    pub shortdesc: String,
    pub longdesc: String,
    /// Other names of the same agent: (name, shortdesc).
    pub symlinks: Vec<(String, String)>,
    pub parameters: Vec<ParameterMeta>,
    pub actions: Vec<ActionMeta>,
}

impl AgentMetadata {
    pub fn parameter(&self, name: &str) -> Option<&ParameterMeta> {
        self.parameters.iter().find(|p| p.name == name)
    }

    pub fn supports(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }

    /// The same metadata in the resource-agent model of
    /// [`crate::shell::agents`], so that fence devices are described and
    /// their parameters checked the way resources are: a deprecated
    /// parameter is `replaced_with` the parameter that `obsoletes` it.
    pub fn to_agent_metadata(&self) -> crate::shell::agents::AgentMetadata {
        use crate::shell::agents::{ActionSpec, AgentMetadata as Md, ParamSpec};
        let parameters = self
            .parameters
            .iter()
            .map(|p| ParamSpec {
                name: p.name.clone(),
                shortdesc: p.shortdesc.clone(),
                longdesc: String::new(),
                content_type: if p.content_type.is_empty() {
                    "string".into()
                } else {
                    p.content_type.clone()
                },
                default: p.default.clone(),
                options: p.options.clone(),
                required: p.required,
                unique: p.unique,
                reloadable: false,
                advanced: false,
                deprecated: p.deprecated,
                replaced_with: self
                    .parameters
                    .iter()
                    .filter(|n| n.obsoletes.as_deref() == Some(p.name.as_str()))
                    .map(|n| n.name.clone())
                    .collect(),
            })
            .collect();
        Md {
            name: self.name.clone(),
            agent_version: None,
            ocf_version: None,
            shortdesc: self.shortdesc.clone(),
            longdesc: self.longdesc.clone(),
            parameters,
            actions: self
                .actions
                .iter()
                .map(|a| ActionSpec {
                    name: a.name.clone(),
                    ..ActionSpec::default()
                })
                .collect(),
        }
    }

    /// What the core fencer needs: action and parameter names.
    pub fn info(&self) -> AgentInfo {
        AgentInfo {
            actions: self.actions.iter().map(|a| a.name.clone()).collect(),
            parameters: self.parameters.iter().map(|p| p.name.clone()).collect(),
        }
    }
}

/// Parses fence-agents metadata XML (`<resource-agent>` with `<parameters>`
/// and `<actions>`). Errors name the line and what was expected.
pub fn parse_metadata(xml: &str) -> Result<AgentMetadata, String> {
    let mut reader = Reader::from_str(xml);
    let mut meta = AgentMetadata::default();
    let mut seen_root = false;
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let line_of = |pos: u64| xml[..(pos as usize).min(xml.len())].matches('\n').count() + 1;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| {
            format!(
                "line {}: not well-formed XML: {e}",
                line_of(reader.error_position())
            )
        })?;
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            let attrs =
                attr_map(&e).map_err(|m| format!("line {}: <{name}>: {m}", line_of(pos)))?;
            let parent = path.last().map(String::as_str);
            match (parent, name.as_str()) {
                (None, "resource-agent") => {
                    seen_root = true;
                    meta.name = attrs.get("name").cloned().unwrap_or_default();
                    meta.shortdesc = attrs.get("shortdesc").cloned().unwrap_or_default();
                }
                (None, other) => {
                    return Err(format!(
                        "line {}: root element is <{other}>, expected <resource-agent>",
                        line_of(pos)
                    ))
                }
                (Some("resource-agent"), "symlink") => meta.symlinks.push((
                    attrs.get("name").cloned().unwrap_or_default(),
                    attrs.get("shortdesc").cloned().unwrap_or_default(),
                )),
                (Some("parameters"), "parameter") => {
                    let Some(pname) = attrs.get("name") else {
                        return Err(format!("line {}: <parameter> without a name", line_of(pos)));
                    };
                    meta.parameters.push(ParameterMeta {
                        name: pname.clone(),
                        required: flag(&attrs, "required"),
                        unique: flag(&attrs, "unique"),
                        deprecated: flag(&attrs, "deprecated"),
                        obsoletes: attrs.get("obsoletes").cloned(),
                        ..ParameterMeta::default()
                    });
                }
                (Some("parameter"), "getopt") => {
                    if let Some(p) = meta.parameters.last_mut() {
                        p.getopt = attrs.get("mixed").cloned();
                    }
                }
                (Some("parameter"), "content") => {
                    if let Some(p) = meta.parameters.last_mut() {
                        p.content_type = attrs.get("type").cloned().unwrap_or_default();
                        p.default = attrs.get("default").cloned();
                    }
                }
                (Some("content"), "option") => {
                    if let (Some(p), Some(v)) = (meta.parameters.last_mut(), attrs.get("value")) {
                        p.options.push(v.clone());
                    }
                }
                (Some("actions"), "action") => {
                    if let Some(a) = attrs.get("name") {
                        meta.actions.push(ActionMeta {
                            name: a.clone(),
                            automatic: flag(&attrs, "automatic"),
                            on_target: flag(&attrs, "on_target"),
                        });
                    }
                }
                _ => {}
            }
            if !empty {
                path.push(name);
                text.clear();
            }
            continue;
        }
        match ev {
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => text.push_str(s),
                        None => {
                            return Err(format!("line {}: unknown entity &{name};", line_of(pos)))
                        }
                    }
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str);
                match (parent, name.as_str()) {
                    (Some("resource-agent"), "longdesc") => meta.longdesc = text.trim().to_string(),
                    (Some("parameter"), "shortdesc") => {
                        if let Some(p) = meta.parameters.last_mut() {
                            p.shortdesc = text.trim().to_string();
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("no <resource-agent> element: is this fence agent metadata?".to_string());
    }
    if meta.actions.is_empty() {
        return Err(
            "<resource-agent> has no <actions>: expected on/off/reboot/status...".to_string(),
        );
    }
    Ok(meta)
}

/// A readable description of an agent, like `pcs stonith describe`.
/// Deprecated parameters are shown only with `full`, marked with their
/// replacement.
pub fn render_describe(meta: &AgentMetadata, full: bool) -> String {
    let mut s = String::new();
    s.push_str(&meta.name);
    if !meta.shortdesc.is_empty() {
        s.push_str(" - ");
        s.push_str(&meta.shortdesc);
    }
    s.push_str("\n\n");
    if !meta.longdesc.is_empty() {
        s.push_str(&meta.longdesc);
        s.push_str("\n\n");
    }
    s.push_str("Stonith options:\n");
    let replaced_by: BTreeMap<&str, &str> = meta
        .parameters
        .iter()
        .filter_map(|p| p.obsoletes.as_deref().map(|o| (o, p.name.as_str())))
        .collect();
    for p in &meta.parameters {
        if p.name == "action" || (p.deprecated && !full) {
            continue;
        }
        s.push_str("  ");
        s.push_str(&p.name);
        if p.required && !p.deprecated {
            s.push_str(" (required)");
        }
        if p.unique {
            s.push_str(" (unique)");
        }
        if p.deprecated {
            match replaced_by.get(p.name.as_str()) {
                Some(new) => s.push_str(&format!(" (deprecated by {new})")),
                None => s.push_str(" (deprecated)"),
            }
        }
        s.push_str(": ");
        s.push_str(&p.shortdesc);
        if !p.options.is_empty() {
            s.push_str(&format!(" Allowed values: {}", p.options.join(", ")));
        }
        if let Some(d) = p.default.as_deref().filter(|d| !d.is_empty()) {
            s.push_str(&format!(" (default: {d})"));
        }
        s.push('\n');
    }
    s.push_str("\nDefault operations:\n  monitor:\n    interval=60s\n");
    s
}

// ---------------------------------------------------------------------------
// Deprecated parameters (for `stonith create`)
// ---------------------------------------------------------------------------

/// Parameters after translating the deprecated names operators still
/// write, and what was changed (names only, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub params: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

/// Translates deprecated device parameters the way they are meant:
/// `action=` is never passed to an agent (`reboot` is dropped, `off` becomes
/// `pcmk_reboot_action=off`, others `pcmk_off_action`/`pcmk_reboot_action`);
/// a parameter the agent's metadata marks deprecated is renamed to the
/// parameter that `obsoletes` it (`ipaddr`→`ip`, `login`→`username`,
/// `passwd`→`password`, `secure`→`ssh`), or dropped when that one is set too.
pub fn translate_deprecated(
    params: &BTreeMap<String, String>,
    meta: Option<&AgentMetadata>,
) -> Translation {
    let mut out = params.clone();
    let mut warnings = Vec::new();
    if let Some(action) = out.remove("action") {
        let targets: &[&str] = match action.as_str() {
            "" => &[],
            "reboot" => {
                warnings.push(
                    "action=reboot is ignored (the cluster property stonith-action decides what fencing does); removed"
                        .to_string(),
                );
                &[]
            }
            "off" => &["pcmk_reboot_action"],
            _ => &["pcmk_off_action", "pcmk_reboot_action"],
        };
        for key in targets {
            if out.contains_key(*key) {
                warnings.push(format!("action={action} is ignored: {key} is set; removed"));
            } else {
                warnings.push(format!("action={action} is replaced by {key}={action}"));
                out.insert(key.to_string(), action.clone());
            }
        }
    }
    if let Some(meta) = meta {
        for p in &meta.parameters {
            let Some(old) = p.obsoletes.as_deref() else {
                continue;
            };
            let old_is_deprecated = meta.parameter(old).is_some_and(|o| o.deprecated);
            if !old_is_deprecated || !out.contains_key(old) {
                continue;
            }
            let value = out.remove(old).expect("checked");
            if out.contains_key(&p.name) {
                warnings.push(format!(
                    "{old} is deprecated by {} and {} is also set: {old} removed",
                    meta.name, p.name
                ));
            } else {
                warnings.push(format!(
                    "{old} is deprecated by {}: using {} instead",
                    meta.name, p.name
                ));
                out.insert(p.name.clone(), value);
            }
        }
    }
    Translation {
        params: out,
        warnings,
    }
}

// ---------------------------------------------------------------------------
// Testing a device (`warden stonith test DEVICE`)
// ---------------------------------------------------------------------------

/// A non-destructive action for `warden stonith test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestAction {
    Status,
    List,
    Monitor,
}

impl TestAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TestAction::Status => "status",
            TestAction::List => "list",
            TestAction::Monitor => "monitor",
        }
    }

    pub fn parse(s: &str) -> Option<TestAction> {
        match s {
            "status" => Some(TestAction::Status),
            "list" => Some(TestAction::List),
            "monitor" => Some(TestAction::Monitor),
            _ => None,
        }
    }
}

/// What a device answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestAnswer {
    /// `status` exit 0.
    PowerOn,
    /// `status` exit 2.
    PowerOff,
    /// `monitor` exit 0: the device answers.
    Reachable,
    /// `list`: the ports/nodes it reported.
    Hosts(Vec<String>),
    Failed(String),
}

impl fmt::Display for TestAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestAnswer::PowerOn => f.write_str("power is on"),
            TestAnswer::PowerOff => f.write_str("power is off"),
            TestAnswer::Reachable => f.write_str("device answers"),
            TestAnswer::Hosts(h) if h.is_empty() => f.write_str("no hosts listed"),
            TestAnswer::Hosts(h) => write!(f, "hosts: {}", h.join(", ")),
            TestAnswer::Failed(r) => write!(f, "failed: {r}"),
        }
    }
}

/// Runs one non-destructive action against a device and interprets the
/// answer (`status`: 0 on, 2 off, else error). `target` is passed as the
/// host argument for `status` on multi-port devices.
pub async fn test_device(
    runner: &AgentRunner,
    device: &FenceDevice,
    info: Option<&AgentInfo>,
    action: TestAction,
    target: Option<&str>,
    timeout: Duration,
) -> Result<TestAnswer, FenceAgentError> {
    let target = if action == TestAction::Status {
        target
    } else {
        None
    };
    let (_, args) = device_agent_args(device, info, action.as_str(), target);
    let out = runner.run(&device.agent, &args, timeout).await?;
    let failed = || TestAnswer::Failed(out.outcome().reason.unwrap_or_default());
    Ok(match (action, out.exit_code) {
        (TestAction::Status, Some(0)) => TestAnswer::PowerOn,
        (TestAction::Status, Some(2)) => TestAnswer::PowerOff,
        (TestAction::Monitor, Some(0)) => TestAnswer::Reachable,
        (TestAction::List, Some(0)) => TestAnswer::Hosts(
            out.stdout
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("NOTICE"))
                .map(str::to_string)
                .collect(),
        ),
        _ => failed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ILO_LIKE: &str = r#"<?xml version="1.0" ?>
<resource-agent name="fence_x_ssh" shortdesc="Fence agent for X over SSH" >
<symlink name="fence_x3_ssh" shortdesc="X3"/>
<longdesc>fence_x_ssh logs into &apos;X&apos; &amp; powers it off.</longdesc>
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]" />
		<content type="string" default="reboot"  />
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="ip" unique="0" required="0" obsoletes="ipaddr">
		<content type="string"  />
		<shortdesc lang="en">IP address</shortdesc>
	</parameter>
	<parameter name="ipaddr" unique="0" required="0" deprecated="1">
		<content type="string"  />
		<shortdesc lang="en">IP address</shortdesc>
	</parameter>
	<parameter name="login" unique="0" required="1" deprecated="1">
		<content type="string"  />
		<shortdesc lang="en">Login name</shortdesc>
	</parameter>
	<parameter name="username" unique="0" required="1" obsoletes="login">
		<content type="string"  />
		<shortdesc lang="en">Login name</shortdesc>
	</parameter>
	<parameter name="passwd" unique="0" required="0" deprecated="1">
		<content type="string"  />
		<shortdesc lang="en">Password</shortdesc>
	</parameter>
	<parameter name="password" unique="0" required="0" obsoletes="passwd">
		<content type="string"  />
		<shortdesc lang="en">Password</shortdesc>
	</parameter>
	<parameter name="secure" unique="0" required="0" deprecated="1">
		<content type="boolean"  />
		<shortdesc lang="en">Use SSH</shortdesc>
	</parameter>
	<parameter name="ssh" unique="0" required="0" obsoletes="secure">
		<content type="boolean"  />
		<shortdesc lang="en">Use SSH</shortdesc>
	</parameter>
	<parameter name="method" unique="0" required="0">
		<content type="select" default="onoff"  >
			<option value="onoff" />
			<option value="cycle" />
		</content>
		<shortdesc lang="en">Method to fence</shortdesc>
	</parameter>
</parameters>
<actions>
	<action name="on" automatic="0"/>
	<action name="off" />
	<action name="reboot" />
	<action name="status" />
	<action name="monitor" />
</actions>
</resource-agent>
"#;

    #[test]
    fn metadata_is_parsed() {
        let m = parse_metadata(ILO_LIKE).unwrap();
        assert_eq!(m.name, "fence_x_ssh");
        assert_eq!(m.shortdesc, "Fence agent for X over SSH");
        assert_eq!(m.longdesc, "fence_x_ssh logs into 'X' & powers it off.");
        assert_eq!(
            m.symlinks,
            vec![("fence_x3_ssh".to_string(), "X3".to_string())]
        );
        let names: Vec<&str> = m.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "action", "ip", "ipaddr", "login", "username", "passwd", "password", "secure",
                "ssh", "method"
            ]
        );
        let method = m.parameter("method").unwrap();
        assert_eq!(method.options, ["onoff", "cycle"]);
        assert_eq!(method.default.as_deref(), Some("onoff"));
        assert_eq!(method.content_type, "select");
        assert!(m.parameter("ipaddr").unwrap().deprecated);
        assert_eq!(
            m.parameter("ip").unwrap().obsoletes.as_deref(),
            Some("ipaddr")
        );
        assert_eq!(
            m.parameter("action").unwrap().getopt.as_deref(),
            Some("-o, --action=[action]")
        );
        assert!(m.supports("reboot") && !m.supports("list"));
        assert!(m.actions[0].name == "on" && !m.actions[0].automatic);
    }

    #[test]
    fn bad_metadata_is_reported_with_the_line() {
        assert_eq!(
            parse_metadata("<resource-agent name=\"x\">\n<parameters>\n</resource-agent>").unwrap_err(),
            "line 3: not well-formed XML: ill-formed document: expected `</parameters>`, but `</resource-agent>` was found"
        );
        assert_eq!(
            parse_metadata("<html/>").unwrap_err(),
            "line 1: root element is <html>, expected <resource-agent>"
        );
        assert_eq!(
            parse_metadata("").unwrap_err(),
            "no <resource-agent> element: is this fence agent metadata?"
        );
    }

    #[test]
    fn describe_reads_like_pcs() {
        let m = parse_metadata(ILO_LIKE).unwrap();
        assert_eq!(
            render_describe(&m, false),
            "fence_x_ssh - Fence agent for X over SSH\n\n\
             fence_x_ssh logs into 'X' & powers it off.\n\n\
             Stonith options:\n  \
             ip: IP address\n  \
             username (required): Login name\n  \
             password: Password\n  \
             ssh: Use SSH\n  \
             method: Method to fence Allowed values: onoff, cycle (default: onoff)\n\
             \nDefault operations:\n  monitor:\n    interval=60s\n"
        );
        assert!(render_describe(&m, true).contains("  ipaddr (deprecated by ip): IP address\n"));
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_guides_parameters_are_translated() {
        let m = parse_metadata(ILO_LIKE).unwrap();
        let t = translate_deprecated(
            &map(&[
                ("pcmk_host_list", "one-server1"),
                ("ipaddr", "10.3.4.101"),
                ("login", "Administrator"),
                ("passwd", "s3cret-one"),
                ("action", "reboot"),
                ("secure", "yes"),
                ("delay", "30"),
            ]),
            Some(&m),
        );
        assert_eq!(
            t.params,
            map(&[
                ("pcmk_host_list", "one-server1"),
                ("ip", "10.3.4.101"),
                ("username", "Administrator"),
                ("password", "s3cret-one"),
                ("ssh", "yes"),
                ("delay", "30"),
            ])
        );
        assert_eq!(
            t.warnings,
            [
                "action=reboot is ignored (the cluster property stonith-action decides what fencing does); removed",
                "ipaddr is deprecated by fence_x_ssh: using ip instead",
                "login is deprecated by fence_x_ssh: using username instead",
                "passwd is deprecated by fence_x_ssh: using password instead",
                "secure is deprecated by fence_x_ssh: using ssh instead",
            ]
        );
        assert!(!t.warnings.iter().any(|w| w.contains("s3cret")));
    }

    #[test]
    fn translation_keeps_the_new_name_and_maps_action_off() {
        let m = parse_metadata(ILO_LIKE).unwrap();
        let t = translate_deprecated(
            &map(&[("ip", "a"), ("ipaddr", "b"), ("action", "off")]),
            Some(&m),
        );
        assert_eq!(t.params, map(&[("ip", "a"), ("pcmk_reboot_action", "off")]));
        assert_eq!(
            t.warnings,
            [
                "action=off is replaced by pcmk_reboot_action=off",
                "ipaddr is deprecated by fence_x_ssh and ip is also set: ipaddr removed",
            ]
        );
        // Without metadata only action= is handled.
        let t = translate_deprecated(&map(&[("ipaddr", "b"), ("action", "hardoff")]), None);
        assert_eq!(
            t.params,
            map(&[
                ("ipaddr", "b"),
                ("pcmk_off_action", "hardoff"),
                ("pcmk_reboot_action", "hardoff")
            ])
        );
    }

    #[test]
    fn secrets_are_redacted_from_output() {
        let args = AgentArgs(vec![
            ("password".into(), "pw1".into()),
            ("snmp_priv_passwd".into(), "pw2".into()),
            ("login".into(), "admin".into()),
        ]);
        assert_eq!(redact("login admin pw1 pw2", &args), "login admin *** ***");
    }

    #[test]
    fn failure_reason_is_the_agents_last_error_line() {
        let out = AgentOutput {
            exit_code: Some(1),
            signal: None,
            timed_out: false,
            cancelled: false,
            stdout: String::new(),
            stderr: "2026-01-01 10:00:00,000 ERROR: Failed: Unable to obtain correct plug status or plug is not available\n\n".into(),
            duration: Duration::from_millis(5),
        };
        assert_eq!(
            out.outcome().reason.as_deref(),
            Some("agent exited with 1: Failed: Unable to obtain correct plug status or plug is not available")
        );
    }

    #[test]
    fn agent_names_are_checked() {
        let r = AgentRunner::new("/nonexistent-dir");
        assert!(matches!(
            r.agent_path("../bin/sh"),
            Err(FenceAgentError::BadName(_))
        ));
        assert!(matches!(
            r.agent_path("fence_"),
            Err(FenceAgentError::BadName(_))
        ));
        let e = r.agent_path("fence_ipmilan").unwrap_err();
        assert_eq!(
            e.to_string(),
            "fence agent fence_ipmilan is not installed in /nonexistent-dir (install fence-agents, or set the agent directory)"
        );
    }
}
