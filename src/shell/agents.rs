//! Resource agents installed on this machine: which standards, providers and
//! agents exist, what an agent's meta-data says, a readable description of
//! it (as `pcs resource describe` prints), and a check of resource
//! parameters against it (for `resource create`).
//!
//! Invariant: describing an agent never changes anything: OCF agents are
//! only ever run with `meta-data`, fence agents with `-o metadata`, LSB
//! scripts and systemd units are never run at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::core::action::{ActionRequest, AgentRef, ExecStatus, Standard};
use crate::shell::executor::{self, ExecutorConfig, RunOptions};

/// How long an agent may take to print its meta-data.
pub const METADATA_TIMEOUT_MS: u64 = 5_000;

/// How long systemd may take to list its unit files.
pub const LIST_TIMEOUT_MS: u64 = 10_000;

async fn systemd_units(cfg: &ExecutorConfig) -> Result<Vec<String>, AgentError> {
    let bus = executor::systemd::SystemdBus::new(cfg.systemd_bus.clone());
    let limit = std::time::Duration::from_millis(LIST_TIMEOUT_MS);
    match tokio::time::timeout(limit, bus.list_units()).await {
        Ok(listed) => listed.map_err(AgentError::Systemd),
        Err(_) => Err(AgentError::Systemd(format!(
            "systemd on {} did not list its units within {LIST_TIMEOUT_MS}ms",
            cfg.systemd_bus
        ))),
    }
}

/// Errors while finding or describing agents.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Systemd(String),
    #[error("{agent}: meta-data action failed (rc={rc}, {status:?}){}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    MetadataAction {
        agent: String,
        rc: i32,
        status: ExecStatus,
        reason: Option<String>,
    },
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("{0}")]
    Unsupported(String),
}

/// Meta-data that cannot be read: where and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}:{column}: {message}")]
pub struct MetadataError {
    /// The agent (or file) the XML came from.
    pub source_name: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// An agent's self-description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMetadata {
    pub name: String,
    /// `<resource-agent version=...>`: the agent's own version.
    pub agent_version: Option<String>,
    /// `<version>`: the OCF API version the agent implements.
    pub ocf_version: Option<String>,
    pub shortdesc: String,
    pub longdesc: String,
    pub parameters: Vec<ParamSpec>,
    pub actions: Vec<ActionSpec>,
}

/// One `<parameter>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub shortdesc: String,
    pub longdesc: String,
    /// `string`, `integer`, `boolean`, `select`, … (`string` when absent).
    pub content_type: String,
    pub default: Option<String>,
    /// Allowed values of a `select` parameter.
    pub options: Vec<String>,
    pub required: bool,
    pub unique: bool,
    pub reloadable: bool,
    /// `advanced="1"`: an expert option, left out of plain descriptions.
    pub advanced: bool,
    pub deprecated: bool,
    /// OCF 1.1 `<deprecated><replaced-with name=.../>`.
    pub replaced_with: Vec<String>,
}

/// One `<action>` with its advised timing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionSpec {
    pub name: String,
    /// As written (`20s`).
    pub timeout: Option<String>,
    pub timeout_ms: Option<u64>,
    pub interval: Option<String>,
    pub interval_ms: Option<u64>,
    pub depth: Option<String>,
    pub role: Option<String>,
    pub start_delay: Option<String>,
}

/// Parses a Pacemaker duration (`cib::duration::parse_msec`).
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    crate::core::cib::duration::parse_msec(text).ok()
}

fn position(xml: &str, offset: usize) -> (usize, usize) {
    let before = &xml.as_bytes()[..offset.min(xml.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

/// Parses `meta-data` output. `source_name` names the agent in errors.
pub fn parse_metadata(xml: &str, source_name: &str) -> Result<AgentMetadata, MetadataError> {
    let fail = |offset: usize, message: String| {
        let (line, column) = position(xml, offset);
        MetadataError {
            source_name: source_name.to_string(),
            line,
            column,
            message,
        }
    };
    let mut reader = Reader::from_str(xml);
    let mut md = AgentMetadata::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut seen_root = false;
    loop {
        let offset = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            fail(
                reader.error_position() as usize,
                format!("not well-formed XML: {e}"),
            )
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let attrs = attributes(e).map_err(|m| fail(offset, m))?;
                if stack.is_empty() {
                    if seen_root || name != "resource-agent" {
                        return Err(fail(
                            offset,
                            format!("expected the root element <resource-agent>, found <{name}>"),
                        ));
                    }
                    seen_root = true;
                    md.name = attrs.get("name").cloned().unwrap_or_default();
                    md.agent_version = attrs.get("version").cloned();
                    // Fence agents put the short description in an attribute.
                    if let Some(s) = attrs.get("shortdesc") {
                        md.shortdesc = s.clone();
                    }
                }
                let parent = stack.last().map(String::as_str);
                let grandparent = stack.len().checked_sub(2).map(|i| stack[i].as_str());
                match (grandparent, parent, name.as_str()) {
                    (_, Some("parameters"), "parameter") => {
                        let Some(pname) = attrs.get("name").filter(|n| !n.is_empty()) else {
                            return Err(fail(
                                offset,
                                "<parameter> without a name attribute".into(),
                            ));
                        };
                        md.parameters.push(ParamSpec {
                            name: pname.clone(),
                            content_type: "string".into(),
                            required: flag(&attrs, "required"),
                            unique: flag(&attrs, "unique"),
                            reloadable: flag(&attrs, "reloadable"),
                            advanced: flag(&attrs, "advanced"),
                            deprecated: flag(&attrs, "deprecated"),
                            ..ParamSpec::default()
                        });
                    }
                    (Some("parameters"), Some("parameter"), "content") => {
                        if let Some(p) = md.parameters.last_mut() {
                            if let Some(t) = attrs.get("type") {
                                p.content_type = t.clone();
                            }
                            p.default = attrs.get("default").cloned();
                        }
                    }
                    (Some("parameter"), Some("content"), "option") => {
                        if let (Some(p), Some(v)) = (md.parameters.last_mut(), attrs.get("value")) {
                            p.options.push(v.clone());
                        }
                    }
                    (Some("parameter"), Some("deprecated"), "replaced-with") => {
                        if let (Some(p), Some(v)) = (md.parameters.last_mut(), attrs.get("name")) {
                            p.replaced_with.push(v.clone());
                        }
                    }
                    (Some("parameters"), Some("parameter"), "deprecated") => {
                        if let Some(p) = md.parameters.last_mut() {
                            p.deprecated = true;
                        }
                    }
                    (_, Some("actions"), "action") => {
                        let Some(aname) = attrs.get("name").filter(|n| !n.is_empty()) else {
                            return Err(fail(offset, "<action> without a name attribute".into()));
                        };
                        let timeout = attrs.get("timeout").cloned();
                        let interval = attrs.get("interval").cloned();
                        md.actions.push(ActionSpec {
                            name: aname.clone(),
                            timeout_ms: timeout.as_deref().and_then(parse_duration_ms),
                            timeout,
                            interval_ms: interval.as_deref().and_then(parse_duration_ms),
                            interval,
                            depth: attrs.get("depth").cloned(),
                            role: attrs.get("role").cloned(),
                            start_delay: attrs.get("start-delay").cloned(),
                        });
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                    text.clear();
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| fail(offset, format!("bad text: {e}")))?;
                text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                match resolve_entity(&name) {
                    Some(s) => text.push_str(&s),
                    None => return Err(fail(offset, format!("unknown entity &{name};"))),
                }
            }
            Event::CData(c) => text.push_str(&String::from_utf8_lossy(c.as_ref())),
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let parent = stack.len().checked_sub(2).map(|i| stack[i].as_str());
                let body = text.trim().to_string();
                match (parent, name.as_str()) {
                    (Some("resource-agent"), "version") => md.ocf_version = Some(body),
                    (Some("resource-agent"), "longdesc") => md.longdesc = body,
                    (Some("resource-agent"), "shortdesc") => md.shortdesc = body,
                    (Some("parameter"), "longdesc") => {
                        if let Some(p) = md.parameters.last_mut() {
                            p.longdesc = body;
                        }
                    }
                    (Some("parameter"), "shortdesc") => {
                        if let Some(p) = md.parameters.last_mut() {
                            p.shortdesc = body;
                        }
                    }
                    _ => {}
                }
                stack.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(fail(xml.len(), "no <resource-agent> element".into()));
    }
    if let Some(open) = stack.last() {
        return Err(fail(
            xml.len(),
            format!("the metadata ends inside <{open}>: truncated output?"),
        ));
    }
    Ok(md)
}

fn resolve_entity(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).map(String::from);
    }
    quick_xml::escape::resolve_predefined_entity(name).map(String::from)
}

/// The attributes of an element, unescaped (also read by
/// `shell::fence_agents`).
pub(crate) fn attributes(e: &BytesStart<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute: {err}"))?;
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|err| format!("bad value of attribute {key}: {err}"))?
            .into_owned();
        out.insert(key, value);
    }
    Ok(out)
}

/// A metadata flag attribute (`required="1"`, `deprecated="true"`, ...).
pub(crate) fn flag(attrs: &BTreeMap<String, String>, name: &str) -> bool {
    attrs.get(name).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on" | "y"
        )
    })
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parameters a plain description leaves out (shown with `full`).
fn is_advanced(p: &ParamSpec) -> bool {
    p.deprecated || matches!(p.name.as_str(), "trace_ra" | "trace_file")
}

/// Actions that are not operations a user configures.
fn is_internal_action(name: &str) -> bool {
    matches!(
        name,
        "meta-data" | "validate-all" | "status" | "usage" | "help"
    )
}

impl AgentMetadata {
    /// A readable description in the layout of `pcs resource describe`.
    /// `full` adds advanced and deprecated parameters.
    pub fn render(&self, agent: &AgentRef, full: bool) -> String {
        let mut out = String::new();
        let short = collapse(&self.shortdesc);
        if short.is_empty() {
            out.push_str(&format!("{agent}\n"));
        } else {
            out.push_str(&format!("{agent} - {short}\n"));
        }
        let long = collapse(&self.longdesc);
        if !long.is_empty() && long != short {
            out.push_str(&format!("\n{long}\n"));
        }
        let params: Vec<&ParamSpec> = self
            .parameters
            .iter()
            .filter(|p| full || !is_advanced(p))
            .collect();
        if !params.is_empty() {
            out.push_str("\nResource options:\n");
            for p in params {
                let mut head = p.name.clone();
                for (on, word) in [
                    (p.required, "required"),
                    (p.unique, "unique"),
                    (p.reloadable && full, "reloadable"),
                    (p.deprecated, "deprecated"),
                ] {
                    if on {
                        head.push_str(&format!(" ({word})"));
                    }
                }
                let desc = if p.longdesc.trim().is_empty() {
                    collapse(&p.shortdesc)
                } else {
                    collapse(&p.longdesc)
                };
                let mut line = format!("  {head}: {desc}");
                if !p.replaced_with.is_empty() {
                    line.push_str(&format!(" Replaced by: {}.", p.replaced_with.join(", ")));
                }
                if !p.options.is_empty() {
                    line.push_str(&format!(" Allowed values: {}.", p.options.join(", ")));
                }
                if let Some(d) = p.default.as_deref().filter(|d| !d.is_empty()) {
                    line.push_str(&format!(" Default: {d}"));
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        let actions: Vec<&ActionSpec> = self
            .actions
            .iter()
            .filter(|a| !is_internal_action(&a.name))
            .collect();
        if !actions.is_empty() {
            out.push_str("\nDefault operations:\n");
            for a in actions {
                out.push_str(&format!("  {}:\n", a.name));
                let interval = a.interval.clone().unwrap_or_else(|| "0s".into());
                out.push_str(&format!("    interval={}\n", seconds_form(&interval)));
                if let Some(t) = &a.timeout {
                    out.push_str(&format!("    timeout={}\n", seconds_form(t)));
                }
                if let Some(r) = &a.role {
                    out.push_str(&format!("    role={r}\n"));
                }
                if let Some(d) = a.depth.as_deref().filter(|d| *d != "0") {
                    out.push_str(&format!("    OCF_CHECK_LEVEL={d}\n"));
                }
                if let Some(s) = &a.start_delay {
                    out.push_str(&format!("    start-delay={s}\n"));
                }
            }
        }
        out
    }
}

/// `15` (seconds by default) is shown as `15s`, as pcs does.
fn seconds_form(text: &str) -> String {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        format!("{t}s")
    } else {
        t.to_string()
    }
}

/// How serious a parameter problem is: errors stop `resource create`
/// unless `--force`; warnings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// What a finding of `check_params` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// A required parameter is not given.
    Missing,
    /// The agent has no parameter of that name.
    Unknown,
    /// The parameter is deprecated (in favour of `replaced_with`).
    Deprecated,
    /// The value does not fit the parameter's type.
    BadValue,
}

/// One finding of `check_params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamProblem {
    pub severity: Severity,
    pub kind: ProblemKind,
    pub param: String,
    pub message: String,
}

impl std::fmt::Display for ParamProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        write!(f, "{word}: {}", self.message)
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

fn is_boolean(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "0" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// Checks resource parameters against the agent's meta-data: a missing
/// required parameter is an error; an unknown parameter, a deprecated one,
/// or a value that does not fit the declared type is a warning. Problems
/// come sorted by parameter name, errors first.
pub fn check_params(md: &AgentMetadata, params: &BTreeMap<String, String>) -> Vec<ParamProblem> {
    let known: BTreeMap<&str, &ParamSpec> =
        md.parameters.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut problems = Vec::new();
    for spec in &md.parameters {
        if spec.required && !params.contains_key(&spec.name) {
            problems.push(ParamProblem {
                severity: Severity::Error,
                kind: ProblemKind::Missing,
                param: spec.name.clone(),
                message: format!(
                    "required parameter '{}' of {} is missing{}",
                    spec.name,
                    md.name,
                    if spec.shortdesc.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", collapse(&spec.shortdesc))
                    }
                ),
            });
        }
    }
    for (name, value) in params {
        // OCF_CHECK_LEVEL is an operation attribute agents read, not a parameter.
        if name == "OCF_CHECK_LEVEL" {
            continue;
        }
        let Some(spec) = known.get(name.as_str()) else {
            let near = md
                .parameters
                .iter()
                .map(|p| (edit_distance(name, &p.name), &p.name))
                .filter(|(d, p)| *d <= 2.max(p.len() / 4))
                .min();
            let allowed: Vec<&str> = md.parameters.iter().map(|p| p.name.as_str()).collect();
            let mut message = format!("unknown parameter '{name}' for {}", md.name);
            match near {
                Some((_, p)) => message.push_str(&format!("; did you mean '{p}'?")),
                None if allowed.is_empty() => message.push_str("; it takes no parameters"),
                None => message.push_str(&format!("; allowed: {}", allowed.join(", "))),
            }
            problems.push(ParamProblem {
                severity: Severity::Warning,
                kind: ProblemKind::Unknown,
                param: name.clone(),
                message,
            });
            continue;
        };
        if spec.deprecated {
            let mut message = format!("parameter '{name}' of {} is deprecated", md.name);
            if !spec.replaced_with.is_empty() {
                message.push_str(&format!(
                    "; use {} instead",
                    spec.replaced_with.join(" or ")
                ));
            }
            problems.push(ParamProblem {
                severity: Severity::Warning,
                kind: ProblemKind::Deprecated,
                param: name.clone(),
                message,
            });
        }
        let bad_type = match spec.content_type.as_str() {
            "integer" => !value.is_empty() && value.trim().parse::<i64>().is_err(),
            "boolean" => !value.is_empty() && !is_boolean(value),
            "select" => !spec.options.is_empty() && !spec.options.iter().any(|o| o == value),
            _ => false,
        };
        if bad_type {
            let shown = if executor::is_secret_param(name) {
                "****".to_string()
            } else {
                format!("'{value}'")
            };
            let expected = if spec.content_type == "select" {
                format!("one of {}", spec.options.join(", "))
            } else if spec.content_type.starts_with(['a', 'e', 'i', 'o', 'u']) {
                format!("an {}", spec.content_type)
            } else {
                format!("a {}", spec.content_type)
            };
            problems.push(ParamProblem {
                severity: Severity::Warning,
                kind: ProblemKind::BadValue,
                param: name.clone(),
                message: format!("parameter '{name}' is {shown}, expected {expected}"),
            });
        }
    }
    problems.sort_by(|a, b| (a.severity, &a.param).cmp(&(b.severity, &b.param)));
    problems
}

/// The standards warden can run or route.
pub fn standards() -> Vec<Standard> {
    vec![
        Standard::Ocf,
        Standard::Lsb,
        Standard::Service,
        Standard::Systemd,
        Standard::Stonith,
    ]
}

/// Executable regular files (following links) in `dir`, sorted, hidden
/// ones skipped; filtered by `keep`.
async fn executables(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<String>, AgentError> {
    use std::os::unix::fs::PermissionsExt;
    let io_err = |source| AgentError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(io_err)?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !keep(&name) {
            continue;
        }
        let Ok(meta) = tokio::fs::metadata(entry.path()).await else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// OCF providers: the directories under `OCF_ROOT/resource.d`, sorted.
pub async fn providers(cfg: &ExecutorConfig) -> Result<Vec<String>, AgentError> {
    let dir = cfg.ocf_root.join("resource.d");
    let io_err = |source| AgentError::Io {
        path: dir.clone(),
        source,
    };
    let mut entries = tokio::fs::read_dir(&dir).await.map_err(io_err)?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.')
            && tokio::fs::metadata(entry.path())
                .await
                .is_ok_and(|m| m.is_dir())
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Agents of a standard (and, for OCF, optionally one provider), sorted.
/// `service` lists LSB scripts and systemd units together (whichever of
/// the two can be read; an unreachable systemd lists none).
pub async fn agents(
    cfg: &ExecutorConfig,
    standard: &Standard,
    provider: Option<&str>,
) -> Result<Vec<AgentRef>, AgentError> {
    let plain = |standard: Standard, kind: String| AgentRef {
        standard,
        provider: None,
        kind,
    };
    match standard {
        Standard::Ocf => {
            let provs = match provider {
                Some(p) => vec![p.to_string()],
                None => providers(cfg).await?,
            };
            let mut out = Vec::new();
            for p in provs {
                let dir = cfg.ocf_root.join("resource.d").join(&p);
                for kind in executables(&dir, |_| true).await? {
                    out.push(AgentRef {
                        standard: Standard::Ocf,
                        provider: Some(p.clone()),
                        kind,
                    });
                }
            }
            Ok(out)
        }
        Standard::Lsb => Ok(executables(&cfg.lsb_dir, |_| true)
            .await?
            .into_iter()
            .map(|k| plain(Standard::Lsb, k))
            .collect()),
        Standard::Systemd => Ok(systemd_units(cfg)
            .await?
            .into_iter()
            .map(|k| plain(Standard::Systemd, k))
            .collect()),
        Standard::Service => {
            let mut names: Vec<String> = executables(&cfg.lsb_dir, |_| true)
                .await
                .unwrap_or_default();
            names.extend(systemd_units(cfg).await.unwrap_or_default());
            names.sort();
            names.dedup();
            Ok(names
                .into_iter()
                .map(|k| plain(Standard::Service, k))
                .collect())
        }
        Standard::Stonith => Ok(
            executables(&cfg.fence_agent_dir, |n| n.starts_with("fence_"))
                .await?
                .into_iter()
                .map(|k| plain(Standard::Stonith, k))
                .collect(),
        ),
        Standard::Other(s) => Err(AgentError::Unsupported(format!(
            "unknown resource standard '{s}' (known: ocf, lsb, service, systemd, stonith)"
        ))),
    }
}

/// The raw meta-data XML of an agent.
pub async fn metadata_xml(cfg: &ExecutorConfig, agent: &AgentRef) -> Result<String, AgentError> {
    if agent.standard == Standard::Stonith {
        return fence_metadata_xml(cfg, agent).await;
    }
    let req = ActionRequest {
        rsc_id: agent.kind.clone(),
        agent: agent.clone(),
        action: "meta-data".into(),
        interval_ms: 0,
        timeout_ms: METADATA_TIMEOUT_MS,
        params: BTreeMap::new(),
        meta: BTreeMap::new(),
        node: String::new(),
    };
    if agent.standard == Standard::Systemd {
        // As Pacemaker: no metadata without a systemd manager to ask.
        let bus = executor::systemd::SystemdBus::new(cfg.systemd_bus.clone());
        let limit = std::time::Duration::from_millis(METADATA_TIMEOUT_MS);
        match tokio::time::timeout(limit, bus.unit_exists(&agent.kind)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(AgentError::Systemd(e)),
            Err(_) => {
                return Err(AgentError::Systemd(format!(
                    "systemd on {} did not answer within {METADATA_TIMEOUT_MS}ms",
                    cfg.systemd_bus
                )))
            }
        }
    }
    let report = executor::run_once(cfg.clone(), req, RunOptions::default()).await;
    if report.result.status != ExecStatus::Done || report.result.rc != 0 {
        return Err(AgentError::MetadataAction {
            agent: agent.to_string(),
            rc: report.result.rc,
            status: report.result.status,
            reason: report.result.exit_reason,
        });
    }
    Ok(report.stdout)
}

async fn fence_metadata_xml(cfg: &ExecutorConfig, agent: &AgentRef) -> Result<String, AgentError> {
    if !agent.kind.starts_with("fence_") || agent.kind.contains('/') {
        return Err(AgentError::Unsupported(format!(
            "{agent}: fence agent names start with fence_ and are plain names"
        )));
    }
    let spawn = executor::process::Spawn {
        program: cfg.fence_agent_dir.join(&agent.kind),
        args: vec!["-o".into(), "metadata".into()],
        env: Vec::new(),
        remove_env_prefixes: Vec::new(),
    };
    let never = tokio::sync::Notify::new();
    let out = executor::process::run(
        spawn,
        std::time::Duration::from_millis(METADATA_TIMEOUT_MS),
        cfg.kill_grace(),
        &never,
    )
    .await;
    match out.end {
        executor::process::ProcessEnd::Exited(0) => Ok(out.stdout),
        end => Err(AgentError::MetadataAction {
            agent: agent.to_string(),
            rc: match end {
                executor::process::ProcessEnd::Exited(c) => c,
                _ => 1,
            },
            status: ExecStatus::Error,
            reason: Some(format!("{end:?}")),
        }),
    }
}

/// The parsed meta-data of an agent.
pub async fn metadata(cfg: &ExecutorConfig, agent: &AgentRef) -> Result<AgentMetadata, AgentError> {
    let xml = metadata_xml(cfg, agent).await?;
    let mut md = parse_metadata(&xml, &agent.to_string())?;
    if md.name.is_empty() {
        md.name = agent.to_string();
    }
    if agent.standard == Standard::Stonith {
        // The fencer supplies these for every fence action, so a device
        // need not configure them even where the agent says "required".
        for p in &mut md.parameters {
            if matches!(p.name.as_str(), "action" | "plug" | "port") {
                p.required = false;
            }
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMMY_LIKE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Thing" version="2.0">
<version>1.1</version>
<longdesc lang="en">A   thing
that does &lt;nothing&gt;.</longdesc>
<shortdesc lang="en">Example thing</shortdesc>
<parameters>
  <parameter name="state" unique="1">
    <longdesc lang="en">Location to store the state in.</longdesc>
    <shortdesc lang="en">State file</shortdesc>
    <content type="string" default="/run/thing.state" />
  </parameter>
  <parameter name="ip" required="1" reloadable="1">
    <longdesc lang="en">The address.</longdesc>
    <shortdesc lang="en">IP</shortdesc>
    <content type="string"/>
  </parameter>
  <parameter name="count">
    <shortdesc lang="en">How many</shortdesc>
    <content type="integer" default="3"/>
  </parameter>
  <parameter name="old_ip">
    <deprecated><replaced-with name="ip"/></deprecated>
    <shortdesc lang="en">Old</shortdesc>
    <content type="string"/>
  </parameter>
  <parameter name="mode">
    <shortdesc lang="en">Mode</shortdesc>
    <content type="select" default="a"><option value="a"/><option value="b"/></content>
  </parameter>
</parameters>
<actions>
  <action name="start" timeout="20s" />
  <action name="monitor" timeout="20" interval="10s" depth="0" />
  <action name="monitor" role="Promoted" timeout="20s" interval="9s" />
  <action name="meta-data" timeout="5s" />
</actions>
</resource-agent>
"#;

    #[test]
    fn metadata_fields_are_read() {
        let md = parse_metadata(DUMMY_LIKE, "ocf:x:Thing").unwrap();
        assert_eq!(md.name, "Thing");
        assert_eq!(md.agent_version.as_deref(), Some("2.0"));
        assert_eq!(md.ocf_version.as_deref(), Some("1.1"));
        assert_eq!(md.shortdesc, "Example thing");
        assert_eq!(md.longdesc, "A   thing\nthat does <nothing>.");
        let names: Vec<&str> = md.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["state", "ip", "count", "old_ip", "mode"]);
        let state = &md.parameters[0];
        assert!(state.unique && !state.required);
        assert_eq!(state.default.as_deref(), Some("/run/thing.state"));
        assert_eq!(state.shortdesc, "State file");
        let ip = &md.parameters[1];
        assert!(ip.required && ip.reloadable);
        assert_eq!(ip.default, None);
        assert_eq!(md.parameters[2].content_type, "integer");
        assert!(md.parameters[3].deprecated);
        assert_eq!(md.parameters[3].replaced_with, ["ip"]);
        assert_eq!(md.parameters[4].options, ["a", "b"]);
        assert_eq!(md.actions.len(), 4);
        assert_eq!(md.actions[1].timeout_ms, Some(20_000));
        assert_eq!(md.actions[1].interval_ms, Some(10_000));
        assert_eq!(md.actions[2].role.as_deref(), Some("Promoted"));
    }

    #[test]
    fn broken_metadata_says_where() {
        let err = parse_metadata(
            "<resource-agent name=\"x\">\n<parameters>\n<parameter>\n</parameters>",
            "ocf:a:b",
        )
        .unwrap_err();
        assert_eq!(err.source_name, "ocf:a:b");
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("without a name"), "{err}");

        let err = parse_metadata("<html/>", "ocf:a:b").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected the root element <resource-agent>, found <html>"),
            "{err}"
        );

        let err = parse_metadata("<resource-agent>\n  <a></b>\n</resource-agent>", "ocf:a:b")
            .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("not well-formed"), "{err}");

        assert!(parse_metadata("", "x").is_err());
    }

    #[test]
    fn durations_parse_like_pacemaker() {
        assert_eq!(parse_duration_ms("20s"), Some(20_000));
        assert_eq!(parse_duration_ms("20"), Some(20_000));
        assert_eq!(parse_duration_ms("100ms"), Some(100));
        assert_eq!(parse_duration_ms("2min"), Some(120_000));
        assert_eq!(parse_duration_ms("2m"), Some(120_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms(" 5 s "), Some(5_000));
        assert_eq!(parse_duration_ms("s"), None);
        assert_eq!(parse_duration_ms("5 parsecs"), None);
    }

    #[test]
    fn render_reads_like_pcs_describe() {
        let md = parse_metadata(DUMMY_LIKE, "x").unwrap();
        let agent = AgentRef::parse("ocf:x:Thing").unwrap();
        let text = md.render(&agent, false);
        let expected = "\
ocf:x:Thing - Example thing

A thing that does <nothing>.

Resource options:
  state (unique): Location to store the state in. Default: /run/thing.state
  ip (required): The address.
  count: How many Default: 3
  mode: Mode Allowed values: a, b. Default: a

Default operations:
  start:
    interval=0s
    timeout=20s
  monitor:
    interval=10s
    timeout=20s
  monitor:
    interval=9s
    timeout=20s
    role=Promoted
";
        assert_eq!(text, expected);
        let full = md.render(&agent, true);
        assert!(full.contains("  ip (required) (reloadable): The address.\n"));
        assert!(full.contains("  old_ip (deprecated): Old Replaced by: ip.\n"));
    }

    #[test]
    fn params_are_checked() {
        let md = parse_metadata(DUMMY_LIKE, "x").unwrap();
        let params = BTreeMap::from([
            ("stat".to_string(), "/tmp/s".to_string()),
            ("count".to_string(), "many".to_string()),
            ("old_ip".to_string(), "1.2.3.4".to_string()),
            ("bogus_thing_entirely".to_string(), "1".to_string()),
            ("mode".to_string(), "c".to_string()),
        ]);
        let problems = check_params(&md, &params);
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            [
                "Error: required parameter 'ip' of Thing is missing (IP)",
                "Warning: unknown parameter 'bogus_thing_entirely' for Thing; allowed: state, ip, count, old_ip, mode",
                "Warning: parameter 'count' is 'many', expected an integer",
                "Warning: parameter 'mode' is 'c', expected one of a, b",
                "Warning: parameter 'old_ip' of Thing is deprecated; use ip instead",
                "Warning: unknown parameter 'stat' for Thing; did you mean 'state'?",
            ]
        );
        let ok = BTreeMap::from([
            ("ip".to_string(), "10.0.0.1".to_string()),
            ("count".to_string(), "4".to_string()),
        ]);
        assert_eq!(check_params(&md, &ok), []);
    }

    #[test]
    fn truncated_metadata_is_an_error() {
        let e = parse_metadata("<resource-agent name=\"x\"><parameters>", "x").unwrap_err();
        assert!(e.message.contains("ends inside <parameters>"), "{e}");
    }

    #[test]
    fn secret_values_are_not_echoed() {
        let md = AgentMetadata {
            name: "fence_x".into(),
            parameters: vec![ParamSpec {
                name: "passwd".into(),
                content_type: "integer".into(),
                ..ParamSpec::default()
            }],
            ..AgentMetadata::default()
        };
        let params = BTreeMap::from([("passwd".to_string(), "s3cret".to_string())]);
        let problems = check_params(&md, &params);
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].message.contains("s3cret"));
    }
}
