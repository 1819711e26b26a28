//! The daemon's configuration file, `/etc/warden/warden.toml` (every key is
//! documented in `examples/warden.toml`).
//!
//! Invariant: this module reads one file and checks it; it never opens a
//! socket, starts a process or asks corosync anything. A default that
//! depends on the running cluster (the node's name) is resolved from what
//! the caller learned and passes in. An unknown key or a bad value is an
//! error naming the file, the line and the key: nothing is ignored or
//! guessed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::shell::{cib_store, executor, fence_agents, ipc};

/// Where the daemon and the CLI look for the file.
pub const DEFAULT_PATH: &str = "/etc/warden/warden.toml";

/// How the daemon learns membership and sends messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// corosync (CPG, quorum, cmap): a real cluster.
    Corosync,
    /// One node, no corosync, always quorate: one-box supervision and
    /// development.
    Standalone,
}

/// The daemon's log level (the `RUST_LOG` environment variable, when set,
/// overrides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Where the agents are, as the executor and the fencer look for them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentDirs {
    /// `OCF_ROOT`: OCF agents are at `resource.d/PROVIDER/TYPE` below it.
    pub ocf_root: PathBuf,
    /// LSB init scripts.
    pub lsb_dir: PathBuf,
    /// `fence_*` agents.
    pub fence_agent_dir: PathBuf,
}

impl Default for AgentDirs {
    fn default() -> Self {
        let exec = executor::ExecutorConfig::default();
        AgentDirs {
            ocf_root: exec.ocf_root,
            lsb_dir: exec.lsb_dir,
            fence_agent_dir: PathBuf::from(fence_agents::DEFAULT_AGENT_DIR),
        }
    }
}

/// The whole file, with defaults for what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// The CIB, its digest and archived versions.
    pub state_dir: PathBuf,
    /// The local socket the CLI talks to.
    pub socket: PathBuf,
    /// Root and members of this group may change the cluster.
    pub group: String,
    /// Let every local user read the status (never secrets).
    pub read_only_status_for_all: bool,
    /// `None`: corosync's `totem.cluster_name`; when set, it must match it.
    pub cluster_name: Option<String>,
    /// `None`: corosync's name for the local node id, else the host name.
    pub node_name: Option<String>,
    pub transport: TransportKind,
    pub agent_dirs: AgentDirs,
    pub log_level: LogLevel,
    /// Configuration versions kept in the state directory (0: none).
    pub keep_versions: usize,
    /// How long a stop (SIGTERM) waits for the cluster to stop or move
    /// this node's resources before the daemon exits anyway (Pacemaker's
    /// `shutdown-escalation`, default 20 minutes): a duration such as
    /// `"20min"`, `"90s"`.
    pub shutdown_escalation: String,
}

/// Pacemaker's default `shutdown-escalation`.
pub const DEFAULT_SHUTDOWN_ESCALATION: &str = "20min";

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            state_dir: PathBuf::from(cib_store::DEFAULT_DIR),
            socket: PathBuf::from(ipc::DEFAULT_SOCKET),
            group: ipc::DEFAULT_GROUP.to_string(),
            read_only_status_for_all: false,
            cluster_name: None,
            node_name: None,
            transport: TransportKind::Corosync,
            agent_dirs: AgentDirs::default(),
            log_level: LogLevel::Info,
            keep_versions: cib_store::DEFAULT_KEEP_VERSIONS,
            shutdown_escalation: DEFAULT_SHUTDOWN_ESCALATION.to_string(),
        }
    }
}

/// What is wrong with the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render_invalid(file, *line, key.as_deref(), message))]
    Invalid {
        file: String,
        line: Option<usize>,
        /// `key` or `table.key`.
        key: Option<String>,
        message: String,
    },
}

fn render_invalid(file: &str, line: Option<usize>, key: Option<&str>, message: &str) -> String {
    let at = match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    };
    match key {
        Some(k) => format!("{at}: {k}: {message}"),
        None => format!("{at}: {message}"),
    }
}

impl DaemonConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<DaemonConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        DaemonConfig::parse(&text, &path.display().to_string())
    }

    /// Like [`DaemonConfig::load`], `Ok(None)` when the file does not exist
    /// (the daemon then runs on the defaults).
    pub fn load_optional(path: &Path) -> Result<Option<DaemonConfig>, ConfigError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            _ => DaemonConfig::load(path).map(Some),
        }
    }

    /// Parses and checks the text of a configuration file; `file` names it
    /// in errors.
    pub fn parse(text: &str, file: &str) -> Result<DaemonConfig, ConfigError> {
        let config: DaemonConfig = toml::from_str(text).map_err(|e| {
            let (line, key) = match e.span() {
                Some(span) => locate_span(text, span.start),
                None => (None, None),
            };
            ConfigError::Invalid {
                file: file.to_string(),
                line,
                key,
                message: e.message().trim().to_string(),
            }
        })?;
        config
            .check()
            .map_err(|(key, message)| ConfigError::Invalid {
                file: file.to_string(),
                line: key_line(text, key),
                key: Some(key.to_string()),
                message,
            })?;
        Ok(config)
    }

    /// Checks what the types alone do not; `Err((key, message))`.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let absolute = |key: &'static str, p: &Path| {
            if p.is_absolute() {
                Ok(())
            } else {
                Err((
                    key,
                    format!("expected an absolute path, found '{}'", p.display()),
                ))
            }
        };
        absolute("state_dir", &self.state_dir)?;
        absolute("socket", &self.socket)?;
        absolute("agent_dirs.ocf_root", &self.agent_dirs.ocf_root)?;
        absolute("agent_dirs.lsb_dir", &self.agent_dirs.lsb_dir)?;
        absolute(
            "agent_dirs.fence_agent_dir",
            &self.agent_dirs.fence_agent_dir,
        )?;
        let word = |key: &'static str, v: &str, what: &str| {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err((
                    key,
                    format!("expected {what} (not empty, no spaces), found '{v}'"),
                ))
            } else {
                Ok(())
            }
        };
        word("group", &self.group, "a group name")?;
        if self.group.contains(':') {
            return Err(("group", format!("'{}' is not a group name", self.group)));
        }
        if let Some(n) = &self.cluster_name {
            word("cluster_name", n, "a cluster name")?;
        }
        if let Some(n) = &self.node_name {
            word("node_name", n, "a node name")?;
        }
        match crate::core::cib::duration::parse_interval_ms(&self.shutdown_escalation) {
            Ok(ms) if ms > 0 => {}
            _ => {
                return Err((
                    "shutdown_escalation",
                    format!(
                        "expected a duration above zero such as \"20min\" or \"90s\", found '{}'",
                        self.shutdown_escalation
                    ),
                ))
            }
        }
        if self.keep_versions > cib_store::MAX_KEEP_VERSIONS {
            return Err((
                "keep_versions",
                format!(
                    "expected at most {}, found {}",
                    cib_store::MAX_KEEP_VERSIONS,
                    self.keep_versions
                ),
            ));
        }
        Ok(())
    }

    /// [`DaemonConfig::shutdown_escalation`] in milliseconds (checked
    /// when the file was read).
    pub fn shutdown_escalation_ms(&self) -> u64 {
        crate::core::cib::duration::parse_interval_ms(&self.shutdown_escalation)
            .ok()
            .filter(|ms| *ms > 0)
            .unwrap_or(20 * 60 * 1000)
    }

    /// The node's name: the configured one, else corosync's name for the
    /// local node id (`corosync_name`, from the transport), else the host
    /// name, as corosync and Pacemaker name a node.
    pub fn node_name(&self, corosync_name: Option<&str>) -> String {
        if let Some(n) = &self.node_name {
            return n.clone();
        }
        if let Some(n) = corosync_name.filter(|n| !n.is_empty()) {
            return n.to_string();
        }
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }

    /// Checks the configured cluster name against corosync's
    /// (`totem.cluster_name`); a daemon must not join another cluster than
    /// the one it was set up for.
    pub fn check_cluster_name(&self, corosync: Option<&str>) -> Result<(), String> {
        match (&self.cluster_name, corosync) {
            (Some(want), Some(have)) if want != have => Err(format!(
                "this node is configured for cluster '{want}' (cluster_name in the configuration file) but corosync runs cluster '{have}' (totem.cluster_name in corosync.conf)"
            )),
            _ => Ok(()),
        }
    }

    /// The local socket's settings; limits stay the socket's defaults.
    pub fn server_config(&self) -> ipc::ServerConfig {
        ipc::ServerConfig {
            path: self.socket.clone(),
            group: self.group.clone(),
            read_only_for_all: self.read_only_status_for_all,
            ..ipc::ServerConfig::default()
        }
    }

    /// The executor's settings with the configured agent directories.
    pub fn executor_config(&self) -> executor::ExecutorConfig {
        executor::ExecutorConfig {
            ocf_root: self.agent_dirs.ocf_root.clone(),
            lsb_dir: self.agent_dirs.lsb_dir.clone(),
            fence_agent_dir: self.agent_dirs.fence_agent_dir.clone(),
            ..executor::ExecutorConfig::default()
        }
    }
}

/// The line of byte `at`, and the key whose line it is (`table.key` inside
/// a `[table]`), for errors the parser reports by position.
fn locate_span(text: &str, at: usize) -> (Option<usize>, Option<String>) {
    let at = at.min(text.len());
    let line_no = text[..at].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .map(|k| match table_at(text, line_no) {
            Some(t) => format!("{t}.{k}"),
            None => k,
        });
    (Some(line_no), key)
}

/// The `[table]` a line (1-based) is in.
fn table_at(text: &str, line_no: usize) -> Option<String> {
    text.lines()
        .take(line_no)
        .filter_map(table_header)
        .last()
        .flatten()
}

/// `Some(Some(name))` for `[name]`, `None` for other lines.
fn table_header(line: &str) -> Option<Option<String>> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(Some(inner[..end].trim().to_string()))
}

/// The line where `key` (`table.key` for a key in a table) is set.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let (table, name) = match key.rsplit_once('.') {
        Some((t, n)) => (Some(t), n),
        None => (None, key),
    };
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(h) = table_header(line) {
            current = h;
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let in_table = current.as_deref() == table;
        // `table.key = ...` written at the top level.
        let dotted = table.is_some() && current.is_none() && k.replace(' ', "") == key;
        if (in_table && k == name) || dotted {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../examples/warden.toml");

    fn check(text: &str, want: &str) {
        let err = DaemonConfig::parse(text, "/etc/warden/warden.toml").unwrap_err();
        assert_eq!(err.to_string(), want, "for:\n{text}");
    }

    #[test]
    fn the_example_documents_the_defaults() {
        let c = DaemonConfig::parse(EXAMPLE, "examples/warden.toml").unwrap();
        assert_eq!(c, DaemonConfig::default());
        // Every key of the file is in the example, set or commented out.
        let keys = [
            "state_dir",
            "socket",
            "group",
            "read_only_status_for_all",
            "cluster_name",
            "node_name",
            "transport",
            "[agent_dirs]",
            "ocf_root",
            "lsb_dir",
            "fence_agent_dir",
            "log_level",
            "keep_versions",
            "shutdown_escalation",
        ];
        for k in keys {
            assert!(EXAMPLE.contains(k), "{k} is not documented");
        }
    }

    #[test]
    fn an_empty_file_is_all_defaults_and_values_are_read() {
        assert_eq!(
            DaemonConfig::parse("", "x").unwrap(),
            DaemonConfig::default()
        );
        let c = DaemonConfig::parse(
            r#"
state_dir = "/srv/warden"
socket = "/run/w.sock"
group = "wheel"
read_only_status_for_all = true
cluster_name = "one"
node_name = "n1"
transport = "standalone"
log_level = "debug"
keep_versions = 0
shutdown_escalation = "90s"

[agent_dirs]
ocf_root = "/opt/ocf"
"#,
            "x",
        )
        .unwrap();
        assert_eq!(c.state_dir, PathBuf::from("/srv/warden"));
        assert_eq!(c.transport, TransportKind::Standalone);
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.keep_versions, 0);
        assert_eq!(c.shutdown_escalation_ms(), 90_000);
        assert_eq!(c.agent_dirs.ocf_root, PathBuf::from("/opt/ocf"));
        assert_eq!(c.agent_dirs.lsb_dir, PathBuf::from("/etc/init.d"));
        let server = c.server_config();
        assert_eq!(server.path, PathBuf::from("/run/w.sock"));
        assert_eq!(server.group, "wheel");
        assert!(server.read_only_for_all);
        assert_eq!(c.executor_config().ocf_root, PathBuf::from("/opt/ocf"));
        assert_eq!(c.node_name(Some("from-corosync")), "n1");
    }

    #[test]
    fn bad_input_names_the_file_the_line_and_the_key() {
        check(
            "group = \"haclient\"\nsocket_path = \"/run/x\"\n",
            "/etc/warden/warden.toml:2: socket_path: unknown field `socket_path`, expected one of `state_dir`, `socket`, `group`, `read_only_status_for_all`, `cluster_name`, `node_name`, `transport`, `agent_dirs`, `log_level`, `keep_versions`, `shutdown_escalation`",
        );
        check(
            "\n\ntransport = \"udp\"\n",
            "/etc/warden/warden.toml:3: transport: unknown variant `udp`, expected `corosync` or `standalone`",
        );
        check(
            "keep_versions = -1\n",
            "/etc/warden/warden.toml:1: keep_versions: invalid value: integer `-1`, expected usize",
        );
        check(
            "read_only_status_for_all = \"yes\"\n",
            "/etc/warden/warden.toml:1: read_only_status_for_all: invalid type: string \"yes\", expected a boolean",
        );
        check(
            "[agent_dirs]\nocf = \"/usr/lib/ocf\"\n",
            "/etc/warden/warden.toml:2: agent_dirs.ocf: unknown field `ocf`, expected one of `ocf_root`, `lsb_dir`, `fence_agent_dir`",
        );
        check(
            "log_level = \"info\"\n[agent_dirs]\nlsb_dir = \"init.d\"\n",
            "/etc/warden/warden.toml:3: agent_dirs.lsb_dir: expected an absolute path, found 'init.d'",
        );
        check(
            "state_dir = \"var/lib/warden\"\n",
            "/etc/warden/warden.toml:1: state_dir: expected an absolute path, found 'var/lib/warden'",
        );
        check(
            "node_name = \"n 1\"\n",
            "/etc/warden/warden.toml:1: node_name: expected a node name (not empty, no spaces), found 'n 1'",
        );
        check(
            "shutdown_escalation = \"soon\"\n",
            "/etc/warden/warden.toml:1: shutdown_escalation: expected a duration above zero such as \"20min\" or \"90s\", found 'soon'",
        );
        check(
            "keep_versions = 100000\n",
            "/etc/warden/warden.toml:1: keep_versions: expected at most 10000, found 100000",
        );
        // A syntax error: the line, no key.
        let err = DaemonConfig::parse("group = \n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f.toml:1: "), "{err}");
    }

    #[test]
    fn a_missing_file_is_optional_but_named_when_required() {
        let p = Path::new("/nonexistent/warden.toml");
        assert_eq!(DaemonConfig::load_optional(p).unwrap(), None);
        let err = DaemonConfig::load(p).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read the configuration file /nonexistent/warden.toml: "),
            "{err}"
        );
    }

    #[test]
    fn names_from_corosync() {
        let c = DaemonConfig::default();
        assert_eq!(c.node_name(Some("n2")), "n2");
        assert!(!c.node_name(None).is_empty());
        assert_eq!(c.check_cluster_name(Some("any")), Ok(()));
        let c = DaemonConfig {
            cluster_name: Some("one".into()),
            ..DaemonConfig::default()
        };
        assert_eq!(c.check_cluster_name(Some("one")), Ok(()));
        assert!(c
            .check_cluster_name(Some("two"))
            .unwrap_err()
            .contains("configured for cluster 'one'"));
    }
}
