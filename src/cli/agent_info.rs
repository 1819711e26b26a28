//! The command line's view of resource and fence agents: what pcs shows and
//! asks of them. Finding agents, reading and parsing their metadata and
//! checking parameters are the shells' ([`crate::shell::agents`] for
//! resource agents, [`crate::shell::fence_agents`] for fence agents); this
//! module only adds pcs's presentation and policy on top: which fence-agent
//! options a device need not set (the fencer supplies them) and which it
//! may (the fencer's own `pcmk_*` options), how parameter problems become
//! `resource create` errors, and the `describe` text.
//!
//! Invariant: agents are only ever asked for their metadata (never started
//! or stopped here), through the shells, with their time limits, and
//! without any parameter on their command line or environment.

use super::command::Pairs;
use crate::core::action::{AgentRef, Standard};
use crate::shell::agents::{self, ParamSpec, ProblemKind};
use crate::shell::executor::ExecutorConfig;
use crate::shell::fence_agents::{self, AgentRunner};
use std::collections::BTreeMap;

pub use crate::shell::agents::ActionSpec as ActionInfo;

/// Agents queried at once when listing with descriptions.
const LIST_PARALLEL_MAX: usize = 8;

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

/// An agent's metadata as the command line uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMetadata {
    pub agent: AgentRef,
    /// Parameters and actions as `shell::agents` models them; for fence
    /// agents with pcs's adjustments (see [`adjust_fence_metadata`]).
    pub md: agents::AgentMetadata,
    /// Fence agents: the metadata as `shell::fence_agents` reads it (which
    /// parameter obsoletes which, for translating deprecated ones).
    pub fence: Option<fence_agents::AgentMetadata>,
}

impl Default for AgentMetadata {
    fn default() -> Self {
        AgentMetadata {
            agent: AgentRef {
                standard: Standard::Ocf,
                provider: Some("heartbeat".into()),
                kind: "Dummy".into(),
            },
            md: agents::AgentMetadata::default(),
            fence: None,
        }
    }
}

impl AgentMetadata {
    /// A resource agent's metadata as `shell::agents` read it.
    pub fn from_resource(agent: &AgentRef, md: agents::AgentMetadata) -> AgentMetadata {
        AgentMetadata {
            agent: agent.clone(),
            md,
            fence: None,
        }
    }

    /// A fence agent's metadata as `shell::fence_agents` read it.
    pub fn from_fence(agent: &AgentRef, fence: fence_agents::AgentMetadata) -> AgentMetadata {
        let mut md = fence.to_agent_metadata();
        adjust_fence_metadata(&mut md);
        AgentMetadata {
            agent: agent.clone(),
            md,
            fence: Some(fence),
        }
    }

    pub fn actions(&self) -> &[ActionInfo] {
        &self.md.actions
    }

    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.md.parameters.iter().find(|p| p.name == name)
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

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts")
        .block_on(f)
}

// ---- listing -----------------------------------------------------------------

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|s| s.to_lowercase());
    v.dedup();
    v
}

/// The OCF providers installed (`heartbeat`, `pacemaker`, ...).
pub fn list_ocf_providers(cfg: &ExecutorConfig) -> Vec<String> {
    sorted(block_on(agents::providers(cfg)).unwrap_or_default())
}

/// The standards with agents on this machine.
pub fn list_standards(cfg: &ExecutorConfig) -> Vec<String> {
    let mut v = Vec::new();
    let has = |s: &Standard| !list_agents(cfg, s, None).is_empty();
    let (lsb, systemd) = (has(&Standard::Lsb), has(&Standard::Systemd));
    if !list_ocf_providers(cfg).is_empty() {
        v.push("ocf".to_string());
    }
    if lsb {
        v.push("lsb".to_string());
    }
    if lsb || systemd {
        v.push("service".to_string());
    }
    if systemd {
        v.push("systemd".to_string());
    }
    if has(&Standard::Stonith) {
        v.push("stonith".to_string());
    }
    v
}

/// Agent types of a standard (and OCF provider), sorted as pcs sorts them.
pub fn list_agents(
    cfg: &ExecutorConfig,
    standard: &Standard,
    provider: Option<&str>,
) -> Vec<String> {
    let found = match standard {
        Standard::Stonith => AgentRunner::new(&cfg.fence_agent_dir)
            .list_agents()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| !NOT_FENCE_AGENTS.contains(&n.as_str()))
            .collect(),
        _ => block_on(agents::agents(cfg, standard, provider))
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.kind)
            .collect(),
    };
    sorted(found)
}

/// Every resource agent (OCF per provider, LSB, systemd; fence agents
/// apart) as full names, for guessing `resource create X IPaddr2`.
pub fn all_resource_agents(cfg: &ExecutorConfig) -> Vec<AgentRef> {
    let mut v = Vec::new();
    for standard in [Standard::Ocf, Standard::Lsb, Standard::Systemd] {
        let mut found = block_on(agents::agents(cfg, &standard, None)).unwrap_or_default();
        found.sort_by_key(|a| (a.provider.clone(), a.kind.to_lowercase()));
        v.extend(found);
    }
    v
}

// ---- metadata ------------------------------------------------------------------

/// The metadata of one agent, read by the shell that runs it.
pub fn metadata(cfg: &ExecutorConfig, agent: &AgentRef) -> Result<AgentMetadata, AgentError> {
    block_on(metadata_async(cfg, agent))
}

async fn metadata_async(
    cfg: &ExecutorConfig,
    agent: &AgentRef,
) -> Result<AgentMetadata, AgentError> {
    let name = agent.to_string();
    if agent.standard == Standard::Stonith {
        let runner = AgentRunner::new(&cfg.fence_agent_dir);
        return match runner.metadata(&agent.kind).await {
            Ok(m) => Ok(AgentMetadata::from_fence(agent, m)),
            Err(e @ fence_agents::FenceAgentError::NotInstalled { .. })
            | Err(e @ fence_agents::FenceAgentError::BadName(_)) => Err(AgentError::NotInstalled {
                agent: name,
                why: e.to_string(),
            }),
            Err(e) => Err(AgentError::BadMetadata {
                agent: name,
                why: e.to_string(),
            }),
        };
    }
    match agents::metadata(cfg, agent).await {
        Ok(md) => Ok(AgentMetadata::from_resource(agent, md)),
        Err(e @ agents::AgentError::Metadata(_)) => Err(AgentError::BadMetadata {
            agent: name,
            why: e.to_string(),
        }),
        Err(e) => Err(AgentError::NotInstalled {
            agent: name,
            why: e.to_string(),
        }),
    }
}

/// Metadata from its XML, parsed by the shell that reads that kind of
/// agent (for agents known without running them, e.g. in tests).
pub fn from_metadata_xml(agent: &AgentRef, xml: &str) -> Result<AgentMetadata, AgentError> {
    let bad = |why: String| AgentError::BadMetadata {
        agent: agent.to_string(),
        why,
    };
    if agent.standard == Standard::Stonith {
        let m = fence_agents::parse_metadata(xml).map_err(bad)?;
        return Ok(AgentMetadata::from_fence(agent, m));
    }
    let md = agents::parse_metadata(xml, &agent.to_string()).map_err(|e| bad(e.to_string()))?;
    Ok(AgentMetadata::from_resource(agent, md))
}

/// The metadata of many agents at once, in order, a few at a time.
pub fn metadata_many(
    cfg: &ExecutorConfig,
    list: &[AgentRef],
) -> Vec<Result<AgentMetadata, AgentError>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime starts");
    runtime.block_on(async {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(LIST_PARALLEL_MAX));
        let tasks: Vec<_> = list
            .iter()
            .map(|agent| {
                let (cfg, agent, permits) = (cfg.clone(), agent.clone(), permits.clone());
                tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await.expect("never closed");
                    metadata_async(&cfg, &agent).await
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for (task, agent) in tasks.into_iter().zip(list) {
            out.push(task.await.unwrap_or_else(|_| {
                Err(AgentError::BadMetadata {
                    agent: agent.to_string(),
                    why: "reading the metadata failed".into(),
                })
            }));
        }
        out
    })
}

/// pcs's view of a fence agent: `action` is never required and is
/// deprecated (the cluster decides the action), `port` and whatever
/// replaces it are filled in by the fencer, `help`/`version` are not device
/// options, and the fencer's own `pcmk_*` options are added.
fn adjust_fence_metadata(md: &mut agents::AgentMetadata) {
    md.parameters
        .retain(|p| p.name != "help" && p.name != "version");
    for p in &mut md.parameters {
        if p.name == "action" {
            p.required = false;
            p.advanced = true;
            p.deprecated = true;
            for r in ["pcmk_reboot_action", "pcmk_off_action"] {
                if !p.replaced_with.iter().any(|x| x == r) {
                    p.replaced_with.insert(0, r.to_string());
                }
            }
        }
    }
    let mut port_like = vec!["port".to_string()];
    let mut i = 0;
    while i < port_like.len() {
        if let Some(p) = md.parameters.iter().find(|p| p.name == port_like[i]) {
            for n in p.replaced_with.clone() {
                if !port_like.contains(&n) {
                    port_like.push(n);
                }
            }
        }
        i += 1;
    }
    for p in &mut md.parameters {
        if port_like.contains(&p.name) {
            p.required = false;
        }
    }
    for f in fencer_parameters() {
        if !md.parameters.iter().any(|p| p.name == f.name) {
            md.parameters.push(f);
        }
    }
}

/// The options the fencer itself reads from every fence device.
pub fn fencer_parameters() -> Vec<ParamSpec> {
    let p = |name: &str, d: &str, advanced: bool| ParamSpec {
        name: name.into(),
        shortdesc: d.into(),
        content_type: "string".into(),
        advanced,
        ..ParamSpec::default()
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

/// What is wrong with a set of parameters for an agent, as pcs reports it.
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

/// Checks parameter names with `shell::agents::check_params`, then applies
/// pcs's rules: a deprecated name satisfies the required parameter that
/// replaces it, and the tracing parameters of the heartbeat and pacemaker
/// agents are always allowed. Values are the shell's concern (warnings
/// there) and are not reported here.
pub fn check_params(meta: &AgentMetadata, params: &Pairs) -> ParamCheck {
    let given: BTreeMap<String, String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let named: BTreeMap<String, String> = params.iter().cloned().collect();
    let tracing_allowed = meta.agent.standard == Standard::Ocf
        && matches!(
            meta.agent.provider.as_deref(),
            Some("heartbeat") | Some("pacemaker")
        );
    let aliases = |name: &str| -> Vec<&str> {
        meta.md
            .parameters
            .iter()
            .filter(|o| o.replaced_with.iter().any(|r| r == name))
            .map(|o| o.name.as_str())
            .collect()
    };
    let mut out = ParamCheck::default();
    for p in agents::check_params(&meta.md, &named) {
        match p.kind {
            ProblemKind::Unknown => {
                if !(tracing_allowed && matches!(p.param.as_str(), "trace_ra" | "trace_file")) {
                    out.unknown.push(p.param);
                }
            }
            ProblemKind::Missing => {
                let olds = aliases(&p.param);
                if given.contains_key(&p.param) || olds.iter().any(|o| given.contains_key(*o)) {
                    continue;
                }
                let spec = meta.param(&p.param);
                if spec.is_some_and(|s| s.deprecated) {
                    continue;
                }
                let mut names = vec![p.param.clone()];
                names.extend(olds.iter().map(|o| o.to_string()));
                out.missing_required.push(names.join(" or "));
            }
            ProblemKind::Deprecated => {
                let replaced = meta
                    .param(&p.param)
                    .map(|s| s.replaced_with.clone())
                    .unwrap_or_default();
                out.deprecated.push((p.param, replaced));
            }
            ProblemKind::BadValue => {}
        }
    }
    // Required parameters come in the agent's order, as pcs lists them.
    let order = |n: &str| {
        let first = n.split(" or ").next().unwrap_or(n);
        meta.md
            .parameters
            .iter()
            .position(|p| p.name == first)
            .unwrap_or(usize::MAX)
    };
    out.missing_required.sort_by_key(|m| order(m));
    out.unknown.sort_by_key(|u| {
        params
            .iter()
            .position(|(k, _)| k == u)
            .unwrap_or(usize::MAX)
    });
    out
}

/// Translates deprecated fence-device parameters to current ones with
/// `shell::fence_agents::translate_deprecated` (as the fencer reads them):
/// `action` is dropped or becomes `pcmk_off_action`/`pcmk_reboot_action`,
/// `ipaddr`->`ip`, `login`->`username`, `passwd`->`password`,
/// `secure`->`ssh` where the agent says so. Returns the parameters and one
/// warning per change (names only, never values).
pub fn translate_stonith_params(meta: &AgentMetadata, params: Pairs) -> (Pairs, Vec<String>) {
    let map: BTreeMap<String, String> = params.into_iter().collect();
    let t = fence_agents::translate_deprecated(&map, meta.fence.as_ref());
    (
        t.params.into_iter().collect(),
        t.warnings
            .into_iter()
            .map(|w| format!("stonith option {w}"))
            .collect(),
    )
}

// ---- description -------------------------------------------------------------

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// pcs's `describe` text: name and short description, long description,
/// options (deprecated ones and, unless `full`, advanced ones left out),
/// default operations.
pub fn describe(meta: &AgentMetadata, full: bool) -> String {
    let mut s = String::new();
    let name = meta.display_name();
    let short = collapse(&meta.md.shortdesc);
    if short.is_empty() {
        s.push_str(&format!("{name}\n\n"));
    } else {
        s.push_str(&format!("{name} - {short}\n\n"));
    }
    let long = collapse(&meta.md.longdesc);
    if !long.is_empty() {
        s.push_str(&long);
        s.push_str("\n\n");
    }
    let stonith = meta.agent.standard == Standard::Stonith;
    let shown: Vec<&ParamSpec> = meta
        .md
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
            let d = if p.longdesc.trim().is_empty() {
                collapse(&p.shortdesc)
            } else {
                collapse(&p.longdesc)
            };
            if !d.is_empty() {
                s.push_str(": ");
                s.push_str(&d);
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
        from_metadata_xml(&agent, FENCE).unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Pairs {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn fence_metadata_is_adjusted() {
        let m = fence();
        assert_eq!(m.md.shortdesc, "Fence agent for X");
        assert_eq!(collapse(&m.md.longdesc), "Long text over lines.");
        let action = m.param("action").unwrap();
        assert!(!action.required && action.deprecated);
        assert!(
            !m.param("plug").unwrap().required,
            "the fencer fills in the port"
        );
        assert!(m.param("help").is_none());
        assert!(m.param("pcmk_host_list").is_some());
        assert_eq!(
            m.param("ipaddr").unwrap().replaced_with,
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
                ("delay", "30"),
                ("ip", "10.0.0.1"),
                ("password", "s3cret"),
                ("pcmk_host_list", "n1"),
                ("ssh", "yes"),
                ("username", "admin"),
            ])
        );
        assert_eq!(warnings.len(), 5, "{warnings:?}");
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
        let m = from_metadata_xml(
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
            m.param("old").unwrap().replaced_with,
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
        assert!(from_metadata_xml(&agent, "<resource-agent>").is_err());
        assert!(from_metadata_xml(&agent, "<html/>")
            .unwrap_err()
            .to_string()
            .contains("expected the root element <resource-agent>"));
    }
}
