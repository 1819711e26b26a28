//! Hand-written scenarios as text: one command per line, then `----` and
//! the transcript the commands must print.
//!
//! ```text
//! # The active node crashes; the survivor fences it and takes over.
//! cib opennebula                     # a built-in CIB, or a file
//! run 60s
//! crash one-server1
//! run 90s
//! status
//! ----
//! > status
//! node one-server1: off
//! ...
//! ```
//!
//! Commands: `cib NAME|FILE`, `nodes A B ...`, `seed N`, `seeds N` (run
//! under seeds 1..=N; every one must print the transcript), `boot-time D`,
//! `start`, `run D`, `settle [D]`, `crash NODE`, `boot NODE`,
//! `partition A B | C`, `heal`, `cut A B`, `drop A B` (one way),
//! `restore A B`, `slow D FOR`, `kill RSC on NODE`,
//! `fail RSC on NODE ACTION [rc N|timeout] [times K]`,
//! `fence-fail NODE [times K]`, `request NODE standby|unstandby N`,
//! `request NODE move RSC N`, `request NODE ban RSC [N]`,
//! `request NODE clear RSC [N]`, `request NODE cleanup [RSC [N]]`,
//! `request NODE property NAME=[VALUE]`, `request NODE maintenance on|off [N]`,
//! `request NODE fence N [reboot|off]`, `request NODE confirm N`,
//! `request NODE replace [stale] property NAME=[VALUE]|broken` (the node's
//! CIB as it is then, edited, sent back with the version read, or one
//! epoch behind), `shutdown NODE` (SIGTERM to its daemon).
//! Printing commands: `status` (ground truth), `log` (the timeline since
//! the last `log`), `settle` (says it settled), `replies`, `constraints`
//! (the location constraints in the DC's CIB), `attributes` (the nodes'
//! transient attributes in the DC's CIB: fail counts; `last-failure`
//! times are shown as set, their value is a time).
//!
//! Invariant: parsing and running only; what "correct" means lives in
//! [`super::check`] and in the expected transcripts.

use super::{Fault, Injected, Sim, SimOptions};
use crate::core::cib::{self, duration::parse_interval_ms, Cib};
use crate::core::replication::ClientRequest;

/// One parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Start,
    Run(i64),
    Settle(i64),
    Fault(FaultSpec),
    Request {
        node: String,
        request: ClientRequest,
    },
    /// `request NODE replace [stale] property NAME=VALUE|broken`: the
    /// node's CIB as it is then, edited, sent back as a configuration
    /// replace with the version read (`stale`: one epoch behind).
    Replace {
        node: String,
        stale: bool,
        edit: ReplaceEdit,
    },
    Status,
    Log,
    Replies,
    Constraints,
    Attributes,
}

/// What a scenario's configuration replace changes.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplaceEdit {
    /// A cluster property set (an empty value removes it).
    Property(String, Option<String>),
    /// A colocation of resources that do not exist: verification errors.
    Broken,
}

/// A fault naming nodes by name (resolved when the scenario runs).
#[derive(Debug, Clone, PartialEq)]
pub enum FaultSpec {
    Crash(String),
    Boot(String),
    Partition(Vec<Vec<String>>),
    Heal,
    Cut(String, String),
    Drop(String, String),
    Restore(String, String),
    Slow(i64, i64),
    Kill(String, String),
    Fail {
        rsc: String,
        node: String,
        action: String,
        outcome: Injected,
        times: u32,
    },
    FenceFail(String, u32),
    Shutdown(String),
}

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// `cib` argument: a built-in name (`opennebula`, `opennebula-two-node`)
    /// or a path.
    pub cib: Option<String>,
    pub nodes: Option<Vec<String>>,
    pub seeds: Vec<u64>,
    pub boot_ms: Option<i64>,
    pub commands: Vec<(usize, Command)>,
    /// The text after `----`, if any.
    pub expected: Option<String>,
    /// The command part as written (for re-blessing).
    pub script: String,
    /// Agent-level and protocol lines in the timeline too (not part of a
    /// transcript: `log` would then differ).
    pub verbose: bool,
}

/// Why a scenario failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seed: u64,
    pub message: String,
    /// The timeline's last lines.
    pub trace: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "seed {}: {}", self.seed, self.message)?;
        if !self.trace.is_empty() {
            writeln!(f, "timeline (last {} lines):", self.trace.len())?;
            for l in &self.trace {
                writeln!(f, "  {l}")?;
            }
        }
        Ok(())
    }
}

fn duration(s: &str, line: usize) -> Result<i64, String> {
    parse_interval_ms(s)
        .map(|ms| ms as i64)
        .map_err(|_| format!("line {line}: '{s}' is not a duration (e.g. 30s, 5min, 500ms)"))
}

fn request(words: &[&str], line: usize) -> Result<ClientRequest, String> {
    let arg = |i: usize| words.get(i).map(|s| s.to_string());
    let need = |i: usize, what: &str| {
        arg(i).ok_or_else(|| format!("line {line}: request {}: missing {what}", words[0]))
    };
    Ok(match words.first().copied() {
        Some("standby") | Some("unstandby") => ClientRequest::Standby {
            node: need(1, "node")?,
            on: words[0] == "standby",
        },
        Some("maintenance") => ClientRequest::Maintenance {
            on: match words.get(1).copied() {
                Some("on") => true,
                Some("off") => false,
                _ => return Err(format!("line {line}: request maintenance: expected on or off")),
            },
            node: arg(2),
        },
        Some("move") => ClientRequest::Move {
            rsc: need(1, "resource")?,
            node: need(2, "node")?,
        },
        Some("ban") => ClientRequest::Ban {
            rsc: need(1, "resource")?,
            node: arg(2),
        },
        Some("clear") => ClientRequest::Clear {
            rsc: need(1, "resource")?,
            node: arg(2),
        },
        Some("cleanup") => ClientRequest::Cleanup {
            rsc: arg(1),
            node: arg(2),
        },
        Some("property") => {
            let spec = need(1, "NAME=VALUE")?;
            let (name, value) = spec
                .split_once('=')
                .ok_or_else(|| format!("line {line}: request property: expected NAME=VALUE"))?;
            ClientRequest::SetProperty {
                name: name.to_string(),
                value: (!value.is_empty()).then(|| value.to_string()),
            }
        }
        Some("fence") => ClientRequest::Fence {
            target: need(1, "node")?,
            off: match words.get(2).copied() {
                None | Some("reboot") => false,
                Some("off") => true,
                Some(other) => {
                    return Err(format!(
                        "line {line}: request fence: expected reboot or off, not '{other}'"
                    ))
                }
            },
        },
        Some("confirm") => ClientRequest::FenceConfirm {
            target: need(1, "node")?,
        },
        Some("meta") => {
            let rsc = need(1, "resource")?;
            let spec = need(2, "NAME=VALUE")?;
            let (name, value) = spec
                .split_once('=')
                .ok_or_else(|| format!("line {line}: request meta: expected NAME=VALUE"))?;
            ClientRequest::SetMeta {
                rsc,
                name: name.to_string(),
                value: (!value.is_empty()).then(|| value.to_string()),
            }
        }
        other => {
            return Err(format!(
                "line {line}: unknown request '{}': expected standby, unstandby, maintenance, move, ban, clear, cleanup, property, meta, fence, confirm or replace",
                other.unwrap_or("")
            ))
        }
    })
}

/// Parses a scenario; errors name the line.
pub fn parse(text: &str, name: &str) -> Result<Scenario, String> {
    let mut script_end = text.len();
    let mut expected = None;
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        if l.trim_end_matches('\n') == "----" {
            script_end = offset;
            expected = Some(text[offset + l.len()..].to_string());
            break;
        }
        offset += l.len();
    }
    let script = &text[..script_end];
    let mut sc = Scenario {
        name: name.to_string(),
        cib: None,
        nodes: None,
        seeds: vec![1],
        boot_ms: None,
        commands: Vec::new(),
        expected,
        script: script.to_string(),
        verbose: false,
    };
    for (n, raw) in script.lines().enumerate() {
        let line = n + 1;
        let code = raw.split('#').next().unwrap_or("").trim();
        if code.is_empty() {
            continue;
        }
        let words: Vec<&str> = code.split_whitespace().collect();
        let arg = |i: usize, what: &str| -> Result<String, String> {
            words
                .get(i)
                .map(|s| s.to_string())
                .ok_or_else(|| format!("line {line}: {}: missing {what}", words[0]))
        };
        let cmd = match words[0] {
            "cib" => {
                sc.cib = Some(arg(1, "a CIB name or file")?);
                continue;
            }
            "nodes" => {
                if words.len() < 2 {
                    return Err(format!("line {line}: nodes: name at least one node"));
                }
                sc.nodes = Some(words[1..].iter().map(|s| s.to_string()).collect());
                continue;
            }
            "seed" | "seeds" => {
                let v: u64 = arg(1, "a number")?
                    .parse()
                    .map_err(|_| format!("line {line}: {}: expected a number", words[0]))?;
                sc.seeds = if words[0] == "seed" {
                    vec![v]
                } else {
                    (1..=v.max(1)).collect()
                };
                continue;
            }
            "boot-time" => {
                sc.boot_ms = Some(duration(&arg(1, "a duration")?, line)?);
                continue;
            }
            "start" => Command::Start,
            "run" => Command::Run(duration(&arg(1, "a duration")?, line)?),
            "settle" => Command::Settle(match words.get(1) {
                Some(d) => duration(d, line)?,
                None => 20 * 60 * 1000,
            }),
            "status" => Command::Status,
            "log" => Command::Log,
            "replies" => Command::Replies,
            "constraints" => Command::Constraints,
            "attributes" => Command::Attributes,
            "crash" => Command::Fault(FaultSpec::Crash(arg(1, "a node")?)),
            "boot" => Command::Fault(FaultSpec::Boot(arg(1, "a node")?)),
            "shutdown" => Command::Fault(FaultSpec::Shutdown(arg(1, "a node")?)),
            "heal" => Command::Fault(FaultSpec::Heal),
            "partition" => {
                let groups: Vec<Vec<String>> = words[1..]
                    .split(|w| *w == "|")
                    .map(|g| g.iter().map(|s| s.to_string()).collect())
                    .collect();
                if groups.len() < 2 || groups.iter().any(|g| g.is_empty()) {
                    return Err(format!(
                        "line {line}: partition: expected groups of nodes separated by |"
                    ));
                }
                Command::Fault(FaultSpec::Partition(groups))
            }
            "cut" | "drop" | "restore" => {
                let (a, b) = (arg(1, "a node")?, arg(2, "a second node")?);
                Command::Fault(match words[0] {
                    "cut" => FaultSpec::Cut(a, b),
                    "drop" => FaultSpec::Drop(a, b),
                    _ => FaultSpec::Restore(a, b),
                })
            }
            "slow" => Command::Fault(FaultSpec::Slow(
                duration(&arg(1, "the extra delay")?, line)?,
                duration(&arg(2, "for how long")?, line)?,
            )),
            "kill" => {
                if words.get(2) != Some(&"on") {
                    return Err(format!("line {line}: expected: kill RSC on NODE"));
                }
                Command::Fault(FaultSpec::Kill(arg(1, "a resource")?, arg(3, "a node")?))
            }
            "fail" => {
                if words.get(2) != Some(&"on") || words.len() < 5 {
                    return Err(format!(
                        "line {line}: expected: fail RSC on NODE ACTION [rc N|timeout] [times K]"
                    ));
                }
                let mut outcome = Injected::Rc(1);
                let mut times = 1;
                let mut i = 5;
                while i < words.len() {
                    match words[i] {
                        "rc" => {
                            let v = arg(i + 1, "an exit code")?;
                            outcome = Injected::Rc(v.parse().map_err(|_| {
                                format!("line {line}: rc: expected a number, not '{v}'")
                            })?);
                            i += 2;
                        }
                        "timeout" => {
                            outcome = Injected::Hang;
                            i += 1;
                        }
                        "times" => {
                            let v = arg(i + 1, "a count")?;
                            times = v.parse().map_err(|_| {
                                format!("line {line}: times: expected a number, not '{v}'")
                            })?;
                            i += 2;
                        }
                        other => {
                            return Err(format!(
                                "line {line}: fail: unexpected '{other}' (rc N, timeout or times K)"
                            ))
                        }
                    }
                }
                Command::Fault(FaultSpec::Fail {
                    rsc: words[1].to_string(),
                    node: words[3].to_string(),
                    action: words[4].to_string(),
                    outcome,
                    times,
                })
            }
            "fence-fail" => {
                let times = match (words.get(2), words.get(3)) {
                    (Some(&"times"), Some(v)) => v
                        .parse()
                        .map_err(|_| format!("line {line}: times: expected a number"))?,
                    (None, _) => 1,
                    _ => return Err(format!("line {line}: expected: fence-fail NODE [times K]")),
                };
                Command::Fault(FaultSpec::FenceFail(arg(1, "a node")?, times))
            }
            "request" if words.get(2) == Some(&"replace") => {
                let node = arg(1, "the node to ask")?;
                let stale = words.get(3) == Some(&"stale");
                let rest = &words[3 + stale as usize..];
                let edit = match rest {
                    ["broken"] => ReplaceEdit::Broken,
                    ["property", spec] => {
                        let (name, value) = spec.split_once('=').ok_or_else(|| {
                            format!("line {line}: request replace property: expected NAME=VALUE")
                        })?;
                        ReplaceEdit::Property(
                            name.to_string(),
                            (!value.is_empty()).then(|| value.to_string()),
                        )
                    }
                    _ => {
                        return Err(format!(
                            "line {line}: expected: request NODE replace [stale] property NAME=VALUE|broken"
                        ))
                    }
                };
                Command::Replace { node, stale, edit }
            }
            "request" => {
                let node = arg(1, "the node to ask")?;
                Command::Request {
                    node,
                    request: request(&words[2..], line)?,
                }
            }
            other => return Err(format!("line {line}: unknown command '{other}'")),
        };
        sc.commands.push((line, cmd));
    }
    Ok(sc)
}

/// Loads the scenario's CIB: `opennebula` is the built-in CIB of the
/// scenarios, `opennebula-two-node` the two-node example's (`warden sim`'s
/// default run), anything else a file.
pub fn load_cib(spec: Option<&str>) -> Result<Cib, String> {
    load_cib_in(spec, None)
}

/// As [`load_cib`], with a relative file name taken from `dir` (the
/// scenario's directory), so that a scenario names the CIB beside it.
pub fn load_cib_in(spec: Option<&str>, dir: Option<&std::path::Path>) -> Result<Cib, String> {
    let joined;
    let spec = match (spec, dir) {
        (Some(p), Some(d)) if builtin_cib(p).is_none() && std::path::Path::new(p).is_relative() => {
            joined = d.join(p).display().to_string();
            Some(joined.as_str())
        }
        _ => spec,
    };
    let (text, name) = match spec.map(|s| (s, builtin_cib(s))) {
        None => (super::OPENNEBULA_CIB.to_string(), "opennebula".to_string()),
        Some((name, Some(text))) => (text.to_string(), name.to_string()),
        Some((path, None)) => (
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?,
            path.to_string(),
        ),
    };
    let parsed = cib::parse(&text, &name);
    if parsed.has_errors() {
        let errors: Vec<String> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        return Err(errors.join("\n"));
    }
    Ok(parsed.cib.expect("no errors"))
}

/// The text of a built-in CIB, by its scenario name.
fn builtin_cib(name: &str) -> Option<&'static str> {
    match name {
        "opennebula" => Some(super::OPENNEBULA_CIB),
        "opennebula-two-node" => Some(super::OPENNEBULA_TWO_NODE_EXAMPLE),
        _ => None,
    }
}

/// The node names a CIB implies: its `<nodes>`, else `n1..nN`.
pub fn node_names(cib: &Cib, default_count: usize) -> Vec<String> {
    let configured: Vec<String> = cib
        .configuration
        .nodes
        .iter()
        .filter(|n| n.kind.as_deref().is_none_or(|k| k == "member"))
        .map(|n| n.uname.clone())
        .collect();
    if configured.is_empty() {
        (1..=default_count).map(|i| format!("n{i}")).collect()
    } else {
        configured
    }
}

/// Runs a scenario under one seed. `echo` receives every timeline line and
/// printed block as it happens (for the CLI); the transcript is returned.
pub fn run(
    sc: &Scenario,
    cib: &Cib,
    seed: u64,
    echo: &mut dyn FnMut(&str),
) -> Result<String, Failure> {
    let names = sc.nodes.clone().unwrap_or_else(|| node_names(cib, 2));
    let mut opts = SimOptions::new(seed);
    opts.keep_trace = true;
    opts.verbose = sc.verbose;
    if let Some(b) = sc.boot_ms {
        opts.boot_ms = b;
    }
    let mut sim = Sim::new(cib, &names, opts);
    let mut out = String::new();
    let mut started = false;
    let mut echoed = 0usize;
    let node_of = |sim: &Sim, name: &str, line: usize| -> Result<usize, Failure> {
        sim.index_of(name).ok_or_else(|| Failure {
            seed,
            message: format!("line {line}: no node named '{name}'"),
            trace: Vec::new(),
        })
    };
    let flush_echo = |sim: &Sim, echoed: &mut usize, echo: &mut dyn FnMut(&str)| {
        let lines = sim.timeline();
        for l in &lines[*echoed..] {
            echo(l);
        }
        *echoed = lines.len();
    };
    for (line, cmd) in &sc.commands {
        if !started && !matches!(cmd, Command::Status) {
            sim.start_all();
            started = true;
        }
        match cmd {
            Command::Start => {}
            Command::Run(ms) => sim.run_for(*ms),
            Command::Settle(ms) => {
                if sim.run_until_settled(*ms) {
                    out.push_str("> settle\nsettled\n");
                    flush_echo(&sim, &mut echoed, echo);
                    echo("settled");
                } else if sim.violation.is_none() {
                    let why = sim.settled().err().unwrap_or_default();
                    return Err(Failure {
                        seed,
                        message: format!(
                            "line {line}: liveness: not settled after {}s: {why}",
                            ms / 1000
                        ),
                        trace: tail(&sim),
                    });
                }
            }
            Command::Fault(spec) => {
                let f = match spec {
                    FaultSpec::Crash(n) => Fault::Crash(node_of(&sim, n, *line)?),
                    FaultSpec::Boot(n) => Fault::Boot(node_of(&sim, n, *line)?),
                    FaultSpec::Partition(groups) => {
                        let mut gs = Vec::new();
                        for g in groups {
                            let mut v = Vec::new();
                            for n in g {
                                v.push(node_of(&sim, n, *line)?);
                            }
                            gs.push(v);
                        }
                        Fault::Partition(gs)
                    }
                    FaultSpec::Heal => Fault::Heal,
                    FaultSpec::Cut(a, b) => {
                        Fault::Cut(node_of(&sim, a, *line)?, node_of(&sim, b, *line)?)
                    }
                    FaultSpec::Drop(a, b) => {
                        Fault::Drop(node_of(&sim, a, *line)?, node_of(&sim, b, *line)?)
                    }
                    FaultSpec::Restore(a, b) => {
                        Fault::Restore(node_of(&sim, a, *line)?, node_of(&sim, b, *line)?)
                    }
                    FaultSpec::Slow(extra, dur) => Fault::Slow {
                        extra_ms: *extra,
                        for_ms: *dur,
                    },
                    FaultSpec::Kill(rsc, n) => Fault::Kill {
                        node: node_of(&sim, n, *line)?,
                        rsc: rsc.clone(),
                    },
                    FaultSpec::Fail {
                        rsc,
                        node,
                        action,
                        outcome,
                        times,
                    } => Fault::Inject {
                        node: node_of(&sim, node, *line)?,
                        rsc: rsc.clone(),
                        action: action.clone(),
                        outcome: *outcome,
                        times: *times,
                    },
                    FaultSpec::FenceFail(n, times) => Fault::FenceFail {
                        target: node_of(&sim, n, *line)?,
                        times: *times,
                    },
                    FaultSpec::Shutdown(n) => Fault::Shutdown(node_of(&sim, n, *line)?),
                };
                sim.apply_fault(f);
            }
            Command::Request { node, request } => {
                let i = node_of(&sim, node, *line)?;
                sim.request(i, request.clone());
            }
            Command::Replace { node, stale, edit } => {
                let i = node_of(&sim, node, *line)?;
                let Some(current) = sim.node(i).map(|n| n.cib().clone()) else {
                    return Err(Failure {
                        seed,
                        message: format!("line {line}: {node} is down: it has no CIB to edit"),
                        trace: Vec::new(),
                    });
                };
                sim.request(i, replace_request(&current, *stale, edit));
            }
            Command::Status => {
                let s = sim.status();
                out.push_str("> status\n");
                out.push_str(&s);
                flush_echo(&sim, &mut echoed, echo);
                echo(s.trim_end());
            }
            Command::Log => {
                out.push_str("> log\n");
                for l in sim.take_log() {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
            Command::Constraints | Command::Attributes => {
                let (head, text) = match cmd {
                    Command::Constraints => ("constraints", constraints(&sim)),
                    _ => ("attributes", attributes(&sim)),
                };
                out.push_str(&format!("> {head}\n{text}"));
                flush_echo(&sim, &mut echoed, echo);
                echo(&format!("{head} at {}s:", sim.elapsed_ms() / 1000));
                echo(text.trim_end());
            }
            Command::Replies => {
                out.push_str("> replies\n");
                let mut id = 1;
                while let Some(r) = sim.reply(id) {
                    let text = match &r.result {
                        Some(Ok(s)) => format!("done: {s}"),
                        Some(Err(e)) => format!("refused: {e}"),
                        None => "no answer".to_string(),
                    };
                    out.push_str(&format!(
                        "{} to {}: {}\n",
                        r.request.describe(),
                        sim.name(r.node),
                        text
                    ));
                    id += 1;
                }
            }
        }
        flush_echo(&sim, &mut echoed, echo);
        if let Some(v) = &sim.violation {
            return Err(Failure {
                seed,
                message: format!("line {line}: safety: {}", v.invariant),
                trace: tail(&sim),
            });
        }
    }
    Ok(out)
}

/// The configuration replace a scenario's `request NODE replace` sends:
/// what a command line would send after reading `current`.
fn replace_request(current: &Cib, stale: bool, edit: &ReplaceEdit) -> ClientRequest {
    use crate::core::replication::{self, WireVersion};
    let mut edited = current.clone();
    let mut text = match edit {
        ReplaceEdit::Property(name, value) => {
            let req = ClientRequest::SetProperty {
                name: name.clone(),
                value: value.clone(),
            };
            // A pure edit of a copy; an unknown property is still set.
            let _ = replication::apply_request(&mut edited, &req, &[], sim_epoch());
            cib::to_xml(&edited)
        }
        ReplaceEdit::Broken => cib::to_xml(&edited),
    };
    if *edit == ReplaceEdit::Broken {
        let bad = r#"<rsc_colocation id="broken" rsc="no-such-resource" with-rsc="no-such-other" score="INFINITY"/>"#;
        text = if text.contains("<constraints/>") {
            text.replacen(
                "<constraints/>",
                &format!("<constraints>{bad}</constraints>"),
                1,
            )
        } else {
            text.replacen("<constraints>", &format!("<constraints>{bad}"), 1)
        };
    }
    let v = current.version();
    ClientRequest::ReplaceConfiguration {
        expected: WireVersion {
            admin_epoch: v.admin_epoch,
            epoch: if stale {
                v.epoch.saturating_sub(1)
            } else {
                v.epoch
            },
            num_updates: v.num_updates,
        },
        cib: replication::CibText(text),
    }
}

/// A fixed time for edits that do not depend on it.
fn sim_epoch() -> crate::core::time::Timestamp {
    crate::core::time::Timestamp::from_secs(0)
}

/// The location constraints of the DC's CIB, one a line.
fn constraints(sim: &Sim) -> String {
    let Some(cib) = sim.dc_cib() else {
        return "  (no node is up)\n".to_string();
    };
    let mut s = String::new();
    for c in &cib.configuration.constraints {
        if let cib::ConstraintItem::Location(l) = c {
            s.push_str(&format!(
                "  {}: {} on {} {}\n",
                l.id,
                l.rsc.as_deref().unwrap_or("?"),
                l.node.as_deref().unwrap_or("(rule)"),
                l.score.as_deref().unwrap_or("(rule)")
            ));
        }
    }
    if s.is_empty() {
        s.push_str("  (none)\n");
    }
    s
}

/// The nodes' transient attributes in the DC's CIB.
fn attributes(sim: &Sim) -> String {
    let Some(cib) = sim.dc_cib() else {
        return "  (no node is up)\n".to_string();
    };
    let mut s = String::new();
    for i in 0..sim.node_count() {
        let name = sim.name(i);
        let attrs = crate::core::replication::recorded_attrs(cib, name);
        if attrs.is_empty() {
            continue;
        }
        let shown: Vec<String> = attrs
            .iter()
            .map(|(k, v)| {
                if k.starts_with("last-failure-") {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        s.push_str(&format!("  {name}: {}\n", shown.join(" ")));
    }
    if s.is_empty() {
        s.push_str("  (none)\n");
    }
    s
}

fn tail(sim: &Sim) -> Vec<String> {
    let t = sim.timeline();
    let from = t.len().saturating_sub(super::TRACE_TAIL);
    t[from..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_with_their_expected_transcript() {
        let sc = parse(
            "cib opennebula\nseeds 3\nrun 1min # warm up\nfail vip on n1 start rc 5 times 2\nrequest n1 move vip n2\nstatus\n----\n> status\nx\n",
            "t",
        )
        .unwrap();
        assert_eq!(sc.seeds, vec![1, 2, 3]);
        assert_eq!(sc.cib.as_deref(), Some("opennebula"));
        assert_eq!(sc.commands.len(), 4);
        assert_eq!(sc.commands[0], (3, Command::Run(60_000)));
        assert_eq!(
            sc.commands[1].1,
            Command::Fault(FaultSpec::Fail {
                rsc: "vip".into(),
                node: "n1".into(),
                action: "start".into(),
                outcome: Injected::Rc(5),
                times: 2
            })
        );
        assert_eq!(sc.expected.as_deref(), Some("> status\nx\n"));
    }

    #[test]
    fn mistakes_name_their_line() {
        assert_eq!(
            parse("run 10s\nfrobnicate\n", "t").unwrap_err(),
            "line 2: unknown command 'frobnicate'"
        );
        assert_eq!(
            parse("run soon\n", "t").unwrap_err(),
            "line 1: 'soon' is not a duration (e.g. 30s, 5min, 500ms)"
        );
        assert_eq!(
            parse("request n1 move vip\n", "t").unwrap_err(),
            "line 1: request move: missing node"
        );
    }
}
