//! Everything the CLI needs to know about resource and fence agents, behind
//! one small set of functions: list agents, read an agent's metadata
//! (parameters, actions, default timeouts), check parameters, translate
//! deprecated fence-device parameters, and describe an agent.
//!
//! The implementation here is self-contained (it runs `AGENT meta-data` and
//! `fence_X -o metadata`, and synthesizes metadata for LSB scripts and
//! systemd units as Pacemaker does); the signatures are what the rest of
//! the CLI relies on, so another implementation can stand behind them.
//!
//! Invariant: agents are only ever asked for their metadata (never started
//! or stopped here), with a time limit and an output limit, and without any
//! parameter on their command line or environment.

use super::command::Pairs;
use crate::core::action::{AgentRef, Standard};
use crate::core::cib::xml::{parse_element, Element, XmlNode};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long an agent may take to print its metadata. Pacemaker allows 5s;
/// fence agents are Python programs that can take seconds just to start on
/// a loaded machine, and a CLI waiting a little longer is better than a
/// spurious "not installed".
const METADATA_TIMEOUT_MS: u64 = 15_000;
/// Metadata larger than this is not metadata.
const METADATA_BYTES_MAX: u64 = 1 << 20;
/// Agents queried at once when listing with descriptions.
const LIST_PARALLEL_MAX: usize = 8;

/// Where fence agents live (first match wins).
const FENCE_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin"];
/// Where systemd unit files live (as systemd searches them).
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];
const LSB_DIR: &str = "/etc/init.d";
/// `fence_*` programs that are not fence agents (as pcs skips them).
const NOT_FENCE_AGENTS: &[&str] = &[
    "fence_ack_manual",
    "fence_check",
    "fence_kdump_send",
    "fence_legacy",
    "fence_na",
    "fence_node",
    "fence_nss_wrapper",
    "fence_pcmk",
    "fence_sanlockd",
    "fence_tool",
    "fence_virtd",
    "fence_vmware_helper",
];

/// One parameter of an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub shortdesc: Option<String>,
    pub longdesc: Option<String>,
    /// `content type`: string, integer, boolean, select, ...
    pub content_type: Option<String>,
    pub default: Option<String>,
    pub enum_values: Vec<String>,
    pub required: bool,
    pub unique: bool,
    pub advanced: bool,
    pub deprecated: bool,
    /// The parameters that replace this deprecated one.
    pub deprecated_by: Vec<String>,
}

/// One action an agent supports, with its suggested timing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionInfo {
    pub name: String,
    pub timeout: Option<String>,
    pub interval: Option<String>,
    pub role: Option<String>,
    /// OCF `depth` (OCF_CHECK_LEVEL).
    pub depth: Option<String>,
    pub start_delay: Option<String>,
}

/// An agent's metadata, unified over OCF 1.0/1.1, fence agents, LSB and
/// systemd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMetadata {
    pub agent: AgentRef,
    pub shortdesc: Option<String>,
    pub longdesc: Option<String>,
    pub parameters: Vec<ParamInfo>,
    pub actions: Vec<ActionInfo>,
}

impl Default for AgentMetadata {
    fn default() -> Self {
        AgentMetadata {
            agent: AgentRef {
                standard: Standard::Ocf,
                provider: Some("heartbeat".into()),
                kind: "Dummy".into(),
            },
            shortdesc: None,
            longdesc: None,
            parameters: Vec::new(),
            actions: Vec::new(),
        }
    }
}

impl AgentMetadata {
    pub fn param(&self, name: &str) -> Option<&ParamInfo> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The name shown to operators: `ocf:heartbeat:IPaddr2`, `fence_ipmilan`.
    pub fn display_name(&self) -> String {
        if self.agent.standard == Standard::Stonith {
            self.agent.kind.clone()
        } else {
            self.agent.to_string()
        }
    }
}

/// Why metadata could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("agent '{agent}' is not installed on this machine ({why})")]
    NotInstalled { agent: String, why: String },
    #[error("agent '{agent}' does not provide valid metadata: {why}")]
    BadMetadata { agent: String, why: String },
}

// ---- listing -----------------------------------------------------------------

fn ocf_root() -> PathBuf {
    PathBuf::from(std::env::var("OCF_ROOT").unwrap_or_else(|_| "/usr/lib/ocf".into()))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn sorted_names(dir: &Path, keep: impl Fn(&str, &Path) -> bool) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    (!name.starts_with('.') && keep(&name, &e.path())).then_some(name)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|s| s.to_lowercase());
    v.dedup();
    v
}

/// The OCF providers installed (`heartbeat`, `pacemaker`, ...).
pub fn list_ocf_providers() -> Vec<String> {
    sorted_names(&ocf_root().join("resource.d"), |_, p| p.is_dir())
}

/// The standards with agents on this machine.
pub fn list_standards() -> Vec<String> {
    let mut v = Vec::new();
    if !list_ocf_providers().is_empty() {
        v.push("ocf".to_string());
    }
    let lsb = !list_agents(&Standard::Lsb, None).is_empty();
    let systemd = UNIT_DIRS.iter().any(|d| Path::new(d).is_dir());
    if lsb {
        v.push("lsb".to_string());
    }
    if lsb || systemd {
        v.push("service".to_string());
    }
    if systemd {
        v.push("systemd".to_string());
    }
    if !list_agents(&Standard::Stonith, None).is_empty() {
        v.push("stonith".to_string());
    }
    v
}

/// Agent types of a standard (and OCF provider), sorted.
pub fn list_agents(standard: &Standard, provider: Option<&str>) -> Vec<String> {
    match standard {
        Standard::Ocf => match provider {
            Some(p) => sorted_names(&ocf_root().join("resource.d").join(p), |_, path| {
                is_executable(path)
            }),
            None => {
                let mut all: Vec<String> = list_ocf_providers()
                    .iter()
                    .flat_map(|p| list_agents(standard, Some(p)))
                    .collect();
                all.sort_by_key(|s| s.to_lowercase());
                all.dedup();
                all
            }
        },
        Standard::Lsb => sorted_names(Path::new(LSB_DIR), |n, p| {
            is_executable(p) && !matches!(n, "README" | "rc" | "rcS" | "skeleton")
        }),
        Standard::Systemd => {
            let mut v: Vec<String> = UNIT_DIRS
                .iter()
                .flat_map(|d| {
                    sorted_names(Path::new(d), |n, _| {
                        n.ends_with(".service") && !n.ends_with("@.service")
                    })
                })
                .map(|n| n.trim_end_matches(".service").to_string())
                .collect();
            v.sort_by_key(|s| s.to_lowercase());
            v.dedup();
            v
        }
        Standard::Service => {
            let mut v = list_agents(&Standard::Lsb, None);
            v.extend(list_agents(&Standard::Systemd, None));
            v.sort_by_key(|s| s.to_lowercase());
            v.dedup();
            v
        }
        Standard::Stonith => {
            let mut v: Vec<String> = FENCE_DIRS
                .iter()
                .flat_map(|d| {
                    sorted_names(Path::new(d), |n, p| {
                        n.starts_with("fence_")
                            && !NOT_FENCE_AGENTS.contains(&n)
                            && is_executable(p)
                    })
                })
                .collect();
            v.sort_by_key(|s| s.to_lowercase());
            v.dedup();
            v
        }
        Standard::Other(_) => Vec::new(),
    }
}

/// Every agent (OCF per provider, LSB, systemd; fence agents apart) as full
/// names, for guessing `resource create X IPaddr2`.
pub fn all_resource_agents() -> Vec<AgentRef> {
    let mut v = Vec::new();
    for p in list_ocf_providers() {
        for t in list_agents(&Standard::Ocf, Some(&p)) {
            v.push(AgentRef {
                standard: Standard::Ocf,
                provider: Some(p.clone()),
                kind: t,
            });
        }
    }
    for std in [Standard::Lsb, Standard::Systemd] {
        for t in list_agents(&std, None) {
            v.push(AgentRef {
                standard: std.clone(),
                provider: None,
                kind: t,
            });
        }
    }
    v
}

/// The metadata of many agents at once, in order: a small pool of workers
/// takes the next agent as soon as it is free.
pub fn metadata_many(agents: &[AgentRef]) -> Vec<Result<AgentMetadata, AgentError>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<AgentMetadata, AgentError>>>> =
        Mutex::new(vec![None; agents.len()]);
    std::thread::scope(|s| {
        for _ in 0..LIST_PARALLEL_MAX.min(agents.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(agent) = agents.get(i) else { break };
                let r = metadata(agent);
                results
                    .lock()
                    .expect("no worker panics while holding the lock")[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .expect("workers are done")
        .into_iter()
        .zip(agents)
        .map(|(r, a)| {
            r.unwrap_or_else(|| {
                Err(AgentError::BadMetadata {
                    agent: a.to_string(),
                    why: "reading the metadata failed".into(),
                })
            })
        })
        .collect()
}

// ---- metadata ------------------------------------------------------------------

/// The metadata of one agent.
pub fn metadata(agent: &AgentRef) -> Result<AgentMetadata, AgentError> {
    let name = agent.to_string();
    let not_installed = |why: String| AgentError::NotInstalled {
        agent: name.clone(),
        why,
    };
    match &agent.standard {
        Standard::Ocf => {
            let provider = agent.provider.as_deref().unwrap_or("");
            let path = ocf_root()
                .join("resource.d")
                .join(provider)
                .join(&agent.kind);
            if !is_executable(&path) {
                return Err(not_installed(format!("no executable {}", path.display())));
            }
            let root = ocf_root();
            let text = run_capture(
                &path,
                &["meta-data"],
                &[("OCF_ROOT", root.to_string_lossy().as_ref())],
            )
            .map_err(|why| AgentError::BadMetadata {
                agent: name.clone(),
                why,
            })?;
            parse_metadata(agent, &text).map_err(|why| AgentError::BadMetadata { agent: name, why })
        }
        Standard::Stonith => {
            let path = FENCE_DIRS
                .iter()
                .map(|d| Path::new(d).join(&agent.kind))
                .find(|p| is_executable(p))
                .ok_or_else(|| {
                    not_installed(format!(
                        "no fence agent {} in {}",
                        agent.kind,
                        FENCE_DIRS.join(", ")
                    ))
                })?;
            let text = run_capture(&path, &["-o", "metadata"], &[]).map_err(|why| {
                AgentError::BadMetadata {
                    agent: name.clone(),
                    why,
                }
            })?;
            parse_metadata(agent, &text).map_err(|why| AgentError::BadMetadata { agent: name, why })
        }
        Standard::Lsb => lsb_metadata(agent)
            .ok_or_else(|| not_installed(format!("no init script {LSB_DIR}/{}", agent.kind))),
        Standard::Systemd => systemd_metadata(agent)
            .ok_or_else(|| not_installed(format!("no systemd unit {}", unit_name(&agent.kind)))),
        Standard::Service => systemd_metadata(agent)
            .or_else(|| lsb_metadata(agent))
            .ok_or_else(|| {
                not_installed(format!(
                    "neither a systemd unit nor an init script named {}",
                    agent.kind
                ))
            }),
        Standard::Other(s) => Err(not_installed(format!("unknown standard '{s}'"))),
    }
}

fn unit_name(kind: &str) -> String {
    if kind.contains('.') {
        kind.to_string()
    } else {
        format!("{kind}.service")
    }
}

/// A systemd unit's metadata as Pacemaker generates it (fixed timeouts).
fn systemd_metadata(agent: &AgentRef) -> Option<AgentMetadata> {
    let unit = unit_name(&agent.kind);
    UNIT_DIRS
        .iter()
        .map(|d| Path::new(d).join(&unit))
        .find(|p| p.exists())?;
    let a = |name: &str, timeout: &str, interval: Option<&str>| ActionInfo {
        name: name.into(),
        timeout: Some(timeout.into()),
        interval: interval.map(Into::into),
        ..ActionInfo::default()
    };
    Some(AgentMetadata {
        agent: agent.clone(),
        shortdesc: Some(format!("systemd unit file for {}", agent.kind)),
        longdesc: Some(format!("Cluster Controlled {}", agent.kind)),
        parameters: Vec::new(),
        actions: vec![
            a("start", "100", None),
            a("stop", "100", None),
            a("status", "100", None),
            a("monitor", "100", Some("60")),
            a("meta-data", "5", None),
        ],
    })
}

/// An init script's metadata as Pacemaker generates it: descriptions from
/// the LSB header, fixed timeouts.
fn lsb_metadata(agent: &AgentRef) -> Option<AgentMetadata> {
    let path = Path::new(LSB_DIR).join(&agent.kind);
    if !is_executable(&path) {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(64 * 1024)
        .read_to_string(&mut text)
        .ok();
    let header = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix('#')
                    .map(str::trim)
                    .and_then(|l| l.strip_prefix(key))
            })
            .map(|v| v.trim().to_string())
    };
    let a = |name: &str, interval: Option<&str>| ActionInfo {
        name: name.into(),
        timeout: Some(if name == "meta-data" { "5" } else { "15" }.into()),
        interval: interval.map(Into::into),
        ..ActionInfo::default()
    };
    Some(AgentMetadata {
        agent: agent.clone(),
        shortdesc: header("Short-Description:").or_else(|| Some(agent.kind.clone())),
        longdesc: header("Description:"),
        parameters: Vec::new(),
        actions: vec![
            a("meta-data", None),
            a("start", None),
            a("stop", None),
            a("status", None),
            a("restart", None),
            a("force-reload", None),
            a("monitor", Some("15")),
        ],
    })
}

/// Runs a program for its standard output, with the metadata time and size
/// limits. The child gets no parameters beyond `args` and `env`.
fn run_capture(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = stdout
            .take(METADATA_BYTES_MAX)
            .read_to_end(&mut buf)
            .map(|_| buf);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_millis(METADATA_TIMEOUT_MS)) {
        Ok(Ok(buf)) => {
            let _ = child.wait();
            String::from_utf8(buf).map_err(|_| "the metadata is not UTF-8 text".to_string())
        }
        Ok(Err(e)) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "reading the output of {} failed: {e}",
                program.display()
            ))
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "{} did not print its metadata within {METADATA_TIMEOUT_MS}ms",
                program.display()
            ))
        }
    }
}

fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.elements().find(|c| c.name == name)
}

fn text_of(e: &Element) -> String {
    let mut s = String::new();
    for c in &e.children {
        if let XmlNode::Text(t) = c {
            s.push_str(t);
        }
    }
    s
}

/// Collapses whitespace runs to one space (descriptions are indented XML).
fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn desc(e: &Element, name: &str) -> Option<String> {
    child(e, name)
        .map(|d| tidy(&text_of(d)))
        .filter(|s| !s.is_empty())
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1") | Some("true") | Some("yes"))
}

/// Parses OCF (1.0 or 1.1) or fence-agent metadata. Fence agents get
/// Pacemaker's and pcs's adjustments: `action` is never required and is
/// deprecated, `port` (and what replaces it) is filled in by the fencer,
/// `help`/`version` are not device options, and the fencer's own `pcmk_*`
/// options are added.
pub fn parse_metadata(agent: &AgentRef, xml: &str) -> Result<AgentMetadata, String> {
    let root = parse_element(xml).map_err(|e| format!("malformed XML: {}", e.message))?;
    if root.name != "resource-agent" {
        return Err(format!("expected <resource-agent>, found <{}>", root.name));
    }
    let mut params = Vec::new();
    if let Some(ps) = child(&root, "parameters") {
        for p in ps.elements().filter(|p| p.name == "parameter") {
            let Some(name) = p.attr("name") else { continue };
            let content = child(p, "content");
            let mut deprecated_by = Vec::new();
            let mut deprecated = truthy(p.attr("deprecated"));
            if let Some(d) = child(p, "deprecated") {
                deprecated = true;
                deprecated_by.extend(
                    d.elements()
                        .filter(|r| r.name == "replaced-with")
                        .filter_map(|r| r.attr("name").map(str::to_string)),
                );
            }
            params.push(ParamInfo {
                name: name.to_string(),
                shortdesc: desc(p, "shortdesc"),
                longdesc: desc(p, "longdesc"),
                content_type: content.and_then(|c| c.attr("type")).map(str::to_string),
                default: content.and_then(|c| c.attr("default")).map(str::to_string),
                enum_values: content
                    .map(|c| {
                        c.elements()
                            .filter(|o| o.name == "option")
                            .filter_map(|o| o.attr("value").map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                required: truthy(p.attr("required")),
                unique: truthy(p.attr("unique")) || p.attr("unique-group").is_some(),
                advanced: truthy(p.attr("advanced")),
                deprecated,
                deprecated_by,
            });
        }
        // OCF 1.0: `obsoletes="old"` on the new parameter.
        let pairs: Vec<(String, String)> = ps
            .elements()
            .filter_map(|p| {
                Some((
                    p.attr("obsoletes")?.to_string(),
                    p.attr("name")?.to_string(),
                ))
            })
            .collect();
        for (old, new) in pairs {
            if let Some(o) = params.iter_mut().find(|p| p.name == old) {
                if !o.deprecated_by.contains(&new) {
                    o.deprecated_by.push(new);
                }
            }
        }
    }
    let actions = child(&root, "actions")
        .map(|acts| {
            acts.elements()
                .filter(|a| a.name == "action")
                .filter_map(|a| {
                    Some(ActionInfo {
                        name: a.attr("name")?.to_string(),
                        timeout: a.attr("timeout").map(str::to_string),
                        interval: a.attr("interval").map(str::to_string),
                        role: a.attr("role").map(str::to_string),
                        depth: a.attr("depth").map(str::to_string),
                        start_delay: a.attr("start-delay").map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut meta = AgentMetadata {
        agent: agent.clone(),
        shortdesc: desc(&root, "shortdesc").or_else(|| root.attr("shortdesc").map(tidy)),
        longdesc: desc(&root, "longdesc"),
        parameters: params,
        actions,
    };
    if agent.standard == Standard::Stonith {
        adjust_fence_metadata(&mut meta);
    }
    Ok(meta)
}

fn adjust_fence_metadata(meta: &mut AgentMetadata) {
    meta.parameters
        .retain(|p| p.name != "help" && p.name != "version");
    for p in &mut meta.parameters {
        if p.name == "action" {
            p.required = false;
            p.advanced = true;
            p.deprecated = true;
            for r in ["pcmk_off_action", "pcmk_reboot_action"] {
                if !p.deprecated_by.iter().any(|x| x == r) {
                    p.deprecated_by.insert(0, r.to_string());
                }
            }
        }
    }
    // `port` and whatever replaces it are filled in by the fencer from
    // pcmk_host_map / pcmk_host_list.
    let mut port_like = vec!["port".to_string()];
    let mut i = 0;
    while i < port_like.len() {
        let name = port_like[i].clone();
        if let Some(p) = meta.parameters.iter().find(|p| p.name == name) {
            for n in p.deprecated_by.clone() {
                if !port_like.contains(&n) {
                    port_like.push(n);
                }
            }
        }
        i += 1;
    }
    for p in &mut meta.parameters {
        if port_like.contains(&p.name) {
            p.required = false;
        }
    }
    for f in fencer_parameters() {
        if meta.param(&f.name).is_none() {
            meta.parameters.push(f);
        }
    }
}

/// The options the fencer itself reads from every fence device.
pub fn fencer_parameters() -> Vec<ParamInfo> {
    let p = |name: &str, d: &str, advanced: bool| ParamInfo {
        name: name.into(),
        shortdesc: Some(d.into()),
        advanced,
        ..ParamInfo::default()
    };
    let mut v = vec![
        p("pcmk_host_map", "A mapping of node names to ports for devices that do not understand node names, e.g. node1:1;node2:2,3", false),
        p("pcmk_host_list", "The nodes this device can fence, e.g. node1,node2 (used when pcmk_host_check=static-list)", false),
        p("pcmk_host_check", "How to find out which nodes the device can fence: dynamic-list, static-list, status or none", false),
        p("pcmk_host_argument", "The agent parameter that receives the node to fence (default: port or plug)", true),
        p("pcmk_delay_max", "Wait a random time up to this long before fencing, to avoid fence races", false),
        p("pcmk_delay_base", "Wait this long before fencing (a time, or a per-node map node1:1s;node2:5), to avoid fence races", false),
        p("pcmk_action_limit", "How many actions may run on this device at once (-1: unlimited; needs concurrent-fencing)", false),
    ];
    for action in ["reboot", "off", "on", "list", "monitor", "status"] {
        v.push(p(
            &format!("pcmk_{action}_action"),
            &format!("The agent action to run instead of '{action}'"),
            true,
        ));
        v.push(p(
            &format!("pcmk_{action}_timeout"),
            &format!("Timeout of the '{action}' action instead of stonith-timeout"),
            true,
        ));
        v.push(p(
            &format!("pcmk_{action}_retries"),
            &format!("How many times to retry the '{action}' action within its timeout"),
            true,
        ));
    }
    v
}

// ---- parameters ----------------------------------------------------------------

/// What is wrong with a set of parameters for an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamCheck {
    /// Names the agent does not know.
    pub unknown: Vec<String>,
    /// Required parameters not given; alternatives are joined by " or ".
    pub missing_required: Vec<String>,
    /// Deprecated names given, with what replaces them.
    pub deprecated: Vec<(String, Vec<String>)>,
}

impl ParamCheck {
    pub fn is_clean(&self) -> bool {
        self.unknown.is_empty() && self.missing_required.is_empty()
    }
}

/// Checks parameter names against the metadata, as pcs does: unknown names,
/// missing required ones (a deprecated name satisfies its replacement),
/// deprecated names. Values are not looked at.
pub fn check_params(meta: &AgentMetadata, params: &Pairs) -> ParamCheck {
    let mut out = ParamCheck::default();
    let given = |n: &str| params.iter().any(|(k, v)| k == n && !v.is_empty());
    let mut allowed: Vec<&str> = meta.parameters.iter().map(|p| p.name.as_str()).collect();
    // pcs also allows the tracing parameters of the heartbeat and pacemaker agents.
    if meta.agent.standard == Standard::Ocf
        && matches!(
            meta.agent.provider.as_deref(),
            Some("heartbeat") | Some("pacemaker")
        )
    {
        allowed.extend(["trace_ra", "trace_file"]);
    }
    for (k, _) in params {
        if !allowed.contains(&k.as_str()) && !out.unknown.contains(k) {
            out.unknown.push(k.clone());
        }
    }
    for p in &meta.parameters {
        if p.deprecated && given(&p.name) {
            out.deprecated
                .push((p.name.clone(), p.deprecated_by.clone()));
        }
        if !p.required || p.deprecated {
            continue;
        }
        // Deprecated names this parameter replaces also satisfy it.
        let olds: Vec<&str> = meta
            .parameters
            .iter()
            .filter(|o| o.deprecated_by.contains(&p.name))
            .map(|o| o.name.as_str())
            .collect();
        if !given(&p.name) && !olds.iter().any(|o| given(o)) {
            let mut names = vec![p.name.clone()];
            names.extend(olds.iter().map(|o| o.to_string()));
            out.missing_required.push(names.join(" or "));
        }
    }
    out
}

/// Translates deprecated fence-device parameters to current ones, as the
/// fencer would read them: a deprecated name the agent says is replaced
/// (`ipaddr`->`ip`, `login`->`username`, `passwd`->`password`,
/// `secure`->`ssh`) is renamed; `action` is dropped (`reboot`, empty) or
/// mapped to `pcmk_off_action`/`pcmk_reboot_action`. Returns the new list
/// and one warning per change (names only, never values).
pub fn translate_stonith_params(meta: &AgentMetadata, params: Pairs) -> (Pairs, Vec<String>) {
    let mut out: Pairs = Vec::new();
    let mut warnings = Vec::new();
    let given: Vec<String> = params.iter().map(|(k, _)| k.clone()).collect();
    for (k, v) in params {
        if k == "action" {
            let mapped: Vec<&str> = match v.as_str() {
                "" | "reboot" => Vec::new(),
                "off" => vec!["pcmk_reboot_action"],
                _ => vec!["pcmk_off_action", "pcmk_reboot_action"],
            };
            if mapped.is_empty() {
                warnings.push(
                    "stonith option 'action' is deprecated and ignored: the fencing action is the stonith-action cluster property".to_string(),
                );
            }
            for m in mapped {
                if given.iter().any(|g| g == m) {
                    warnings.push(format!(
                        "stonith option 'action' is deprecated and ignored: '{m}' is set"
                    ));
                } else {
                    warnings.push(format!(
                        "stonith option 'action' is deprecated: stored as '{m}'"
                    ));
                    out.push((m.to_string(), v.clone()));
                }
            }
            continue;
        }
        let replacement = meta.param(&k).filter(|p| p.deprecated).and_then(|p| {
            p.deprecated_by
                .iter()
                .find(|n| meta.param(n).is_some())
                .cloned()
        });
        match replacement {
            Some(new) if given.contains(&new) => {
                warnings.push(format!(
                    "stonith option '{k}' is deprecated and ignored: '{new}' is set"
                ));
            }
            Some(new) => {
                warnings.push(format!(
                    "stonith option '{k}' is deprecated and should not be used: stored as '{new}'"
                ));
                out.push((new, v));
            }
            None => out.push((k, v)),
        }
    }
    (out, warnings)
}

// ---- description -------------------------------------------------------------

/// pcs's `describe` text: name and short description, long description,
/// options (deprecated ones and, unless `full`, advanced ones left out),
/// default operations.
pub fn describe(meta: &AgentMetadata, full: bool) -> String {
    let mut s = String::new();
    let name = meta.display_name();
    match &meta.shortdesc {
        Some(d) => s.push_str(&format!("{name} - {d}\n\n")),
        None => s.push_str(&format!("{name}\n\n")),
    }
    if let Some(l) = &meta.longdesc {
        s.push_str(l);
        s.push_str("\n\n");
    }
    let stonith = meta.agent.standard == Standard::Stonith;
    let shown: Vec<&ParamInfo> = meta
        .parameters
        .iter()
        .filter(|p| !p.deprecated && (full || !p.advanced))
        .collect();
    if !shown.is_empty() {
        s.push_str(if stonith {
            "Stonith options:\n"
        } else {
            "Resource options:\n"
        });
        for p in shown {
            s.push_str("  ");
            s.push_str(&p.name);
            if p.required {
                s.push_str(" (required)");
            }
            if p.unique {
                s.push_str(" (unique)");
            }
            let d = p.longdesc.as_ref().or(p.shortdesc.as_ref());
            if let Some(d) = d {
                s.push_str(": ");
                s.push_str(d);
            }
            s.push('\n');
        }
        s.push('\n');
    }
    s.push_str("Default operations:\n");
    let defaults = super::ops::agent_defaults(Some(meta), stonith, false);
    let (ops, _) = super::ops::defaults_as_ops(&defaults, true);
    for op in &ops {
        s.push_str(&format!("  {}:\n", op.name));
        for (k, v) in &op.attrs {
            s.push_str(&format!("    {k}={v}\n"));
        }
        if let Some(l) = &op.check_level {
            s.push_str(&format!("    OCF_CHECK_LEVEL={l}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FENCE: &str = r#"<?xml version="1.0" ?>
<resource-agent name="fence_x" shortdesc="Fence agent for X" >
<longdesc>Long text
   over lines.</longdesc>
<parameters>
  <parameter name="action" unique="0" required="1"><content type="string" default="reboot"/><shortdesc lang="en">Fencing action</shortdesc></parameter>
  <parameter name="ip" unique="0" required="1" obsoletes="ipaddr"><content type="string"/><shortdesc lang="en">IP address</shortdesc></parameter>
  <parameter name="ipaddr" unique="0" required="1" deprecated="1"><content type="string"/><shortdesc lang="en">IP address</shortdesc></parameter>
  <parameter name="username" unique="0" required="1" obsoletes="login"><content type="string"/></parameter>
  <parameter name="login" unique="0" required="1" deprecated="1"><content type="string"/></parameter>
  <parameter name="password" unique="0" required="0" obsoletes="passwd"><content type="string"/></parameter>
  <parameter name="passwd" unique="0" required="0" deprecated="1"><content type="string"/></parameter>
  <parameter name="ssh" unique="0" required="0" obsoletes="secure"><content type="boolean"/></parameter>
  <parameter name="secure" unique="0" required="0" deprecated="1"><content type="boolean"/></parameter>
  <parameter name="plug" unique="0" required="1" obsoletes="port"><content type="string"/></parameter>
  <parameter name="port" unique="0" required="1" deprecated="1"><content type="string"/></parameter>
  <parameter name="delay" unique="0" required="0"><content type="second" default="0"/></parameter>
  <parameter name="help" unique="0" required="0"><content type="boolean"/></parameter>
</parameters>
<actions><action name="on" automatic="0"/><action name="off"/><action name="reboot"/><action name="monitor"/><action name="metadata"/></actions>
</resource-agent>"#;

    fn fence() -> AgentMetadata {
        let agent = AgentRef {
            standard: Standard::Stonith,
            provider: None,
            kind: "fence_x".into(),
        };
        parse_metadata(&agent, FENCE).unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Pairs {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn fence_metadata_is_adjusted() {
        let m = fence();
        assert_eq!(m.shortdesc.as_deref(), Some("Fence agent for X"));
        assert_eq!(m.longdesc.as_deref(), Some("Long text over lines."));
        let action = m.param("action").unwrap();
        assert!(!action.required && action.deprecated);
        assert!(
            !m.param("plug").unwrap().required,
            "the fencer fills in the port"
        );
        assert!(m.param("help").is_none());
        assert!(m.param("pcmk_host_list").is_some());
        assert_eq!(
            m.param("ipaddr").unwrap().deprecated_by,
            vec!["ip".to_string()]
        );
    }

    #[test]
    fn deprecated_names_satisfy_and_translate() {
        let m = fence();
        let given = pairs(&[
            ("pcmk_host_list", "n1"),
            ("ipaddr", "10.0.0.1"),
            ("login", "admin"),
            ("passwd", "s3cret"),
            ("action", "reboot"),
            ("secure", "yes"),
            ("delay", "30"),
        ]);
        let check = check_params(&m, &given);
        assert!(check.is_clean(), "{check:?}");
        assert_eq!(check.deprecated.len(), 5, "{check:?}");
        let (out, warnings) = translate_stonith_params(&m, given);
        assert_eq!(
            out,
            pairs(&[
                ("pcmk_host_list", "n1"),
                ("ip", "10.0.0.1"),
                ("username", "admin"),
                ("password", "s3cret"),
                ("ssh", "yes"),
                ("delay", "30"),
            ])
        );
        assert_eq!(warnings.len(), 5);
        assert!(warnings.iter().all(|w| !w.contains("s3cret")));
    }

    #[test]
    fn action_off_maps_to_pcmk_actions() {
        let (out, _) = translate_stonith_params(&fence(), pairs(&[("action", "off")]));
        assert_eq!(out, pairs(&[("pcmk_reboot_action", "off")]));
        let (out, _) = translate_stonith_params(&fence(), pairs(&[("action", "poweroff")]));
        assert_eq!(
            out,
            pairs(&[
                ("pcmk_off_action", "poweroff"),
                ("pcmk_reboot_action", "poweroff")
            ])
        );
    }

    #[test]
    fn unknown_and_missing_are_found() {
        let check = check_params(&fence(), &pairs(&[("bogus", "1")]));
        assert_eq!(check.unknown, vec!["bogus".to_string()]);
        assert_eq!(
            check.missing_required,
            vec!["ip or ipaddr".to_string(), "username or login".to_string()]
        );
    }

    #[test]
    fn ocf_1_1_deprecation_and_description() {
        let agent = AgentRef::parse("ocf:test:T").unwrap();
        let m = parse_metadata(
            &agent,
            r#"<resource-agent name="T" version="1.0"><version>1.1</version>
            <shortdesc>T agent</shortdesc>
            <parameters>
              <parameter name="new" required="1"><shortdesc>New</shortdesc><content type="string"/></parameter>
              <parameter name="old"><deprecated><replaced-with name="new"/></deprecated><content type="string"/></parameter>
              <parameter name="adv" advanced="1"><content type="string"/></parameter>
            </parameters>
            <actions><action name="start" timeout="20s"/><action name="monitor" timeout="10s" interval="30s" depth="10"/><action name="meta-data" timeout="5s"/></actions>
            </resource-agent>"#,
        )
        .unwrap();
        assert_eq!(
            m.param("old").unwrap().deprecated_by,
            vec!["new".to_string()]
        );
        assert!(check_params(&m, &pairs(&[("old", "x")]))
            .missing_required
            .is_empty());
        let d = describe(&m, false);
        assert!(d.starts_with("ocf:test:T - T agent\n"), "{d}");
        assert!(d.contains("  new (required): New\n"), "{d}");
        assert!(!d.contains("  old"), "{d}");
        assert!(!d.contains("  adv"), "{d}");
        assert!(describe(&m, true).contains("  adv"));
        assert!(
            d.contains("  monitor:\n    interval=30s\n    timeout=10s\n    OCF_CHECK_LEVEL=10\n"),
            "{d}"
        );
        assert!(!d.contains("meta-data:"));
    }

    #[test]
    fn broken_metadata_is_an_error() {
        let agent = AgentRef::parse("ocf:test:T").unwrap();
        assert!(parse_metadata(&agent, "<resource-agent>").is_err());
        assert!(parse_metadata(&agent, "<html/>")
            .unwrap_err()
            .contains("expected <resource-agent>"));
    }
}
