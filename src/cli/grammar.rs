//! Layer 2 of the command line: words -> a validated [`Command`], with pcs's
//! grammar (`op monitor interval=20s`, `meta k=v`, positional `k=v` lists,
//! `A with B INFINITY`, `R prefers n1=50`, rules). clap is not used for this
//! part: pcs's argument lists are free-form keyword groups that an
//! option-parser cannot express; clap renders help and completions from the
//! same tables instead (`help.rs`).
//!
//! Invariant: pure. No CIB, no agents, no IO: only what the words
//! themselves say is checked here (shapes, ids, scores, roles, numbers).

use super::command::*;
use super::error::CliError;
use super::flags::Lexed;
use super::spec::{self, CommandSpec};
use crate::core::action::{AgentRef, Standard};
use crate::core::cib::Score;

/// Roles as pcs accepts them (any case), mapped to their canonical spelling.
const ROLES: &[&str] = &[
    "Started",
    "Stopped",
    "Promoted",
    "Unpromoted",
    "Master",
    "Slave",
];
/// Actions an order constraint may name.
const ORDER_ACTIONS: &[&str] = &["start", "stop", "promote", "demote"];
/// Top-level words that are command groups.
const GROUPS: &[&str] = &[
    "cluster",
    "cib",
    "property",
    "resource",
    "constraint",
    "stonith",
    "node",
    "host",
];

/// Turns the lexed command line into a command.
pub fn parse(lexed: &Lexed) -> Result<Command, CliError> {
    let words = &lexed.words;
    let flags = &lexed.flags;
    if flags.version {
        return Ok(Command::Version);
    }
    if words.is_empty() {
        return Ok(Command::Help(Vec::new()));
    }
    if words[0] == "help" {
        return Ok(Command::Help(words[1..].to_vec()));
    }
    // Bare group words show the group's configuration, as pcs does.
    if words.len() == 1 && !flags.help {
        match words[0].as_str() {
            "constraint" => return Ok(Command::ConstraintConfig),
            "property" => {
                return Ok(Command::PropertyConfig {
                    names: Vec::new(),
                    all: flags.all,
                    defaults: flags.defaults,
                })
            }
            "resource" | "stonith" => {
                return Ok(Command::ResourceConfig {
                    ids: Vec::new(),
                    stonith: words[0] == "stonith",
                })
            }
            _ => {}
        }
    }
    let Some((spec, n)) = spec::find(words) else {
        if flags.help || GROUPS.contains(&words[0].as_str()) && words.len() == 1 {
            return Ok(Command::Help(words.clone()));
        }
        let known = GROUPS.contains(&words[0].as_str());
        let what = if known {
            format!(
                "unknown command '{}'",
                words[..2.min(words.len())].join(" ")
            )
        } else {
            format!("unknown command '{}'", words[0])
        };
        return Err(CliError::Usage {
            message: format!("{what}: see 'warden help'"),
            usage: None,
        });
    };
    if flags.help {
        return Ok(Command::Help(words[..n].to_vec()));
    }
    check_flags(spec, lexed)?;
    let args = &words[n..];
    command(spec, &words[..n], args, lexed).map_err(|e| e.with_usage(&spec.usage()))
}

/// Refuses flags the command does not take (pcs: "Specified option ... is
/// not supported in this command").
fn check_flags(spec: &CommandSpec, lexed: &Lexed) -> Result<(), CliError> {
    for given in &lexed.flags.given {
        let def = super::flags::FLAGS
            .iter()
            .find(|f| f.long == *given)
            .expect("lexer only records known flags");
        if !def.global && !spec.flags.contains(given) {
            return Err(CliError::Usage {
                message: format!(
                    "option '--{given}' is not supported by 'warden {}'",
                    spec.name()
                ),
                usage: Some(spec.usage()),
            });
        }
    }
    Ok(())
}

fn command(
    spec: &CommandSpec,
    path: &[String],
    args: &[String],
    lexed: &Lexed,
) -> Result<Command, CliError> {
    let flags = &lexed.flags;
    let name = spec.name();
    let cmd = match name.as_str() {
        "cluster cib" => {
            at_most(args, 1)?;
            Command::ClusterCib {
                out: args.first().cloned(),
            }
        }
        "cib verify" => {
            exactly(args, 1, "FILE")?;
            Command::Verify {
                file: Some(args[0].clone()),
                full: flags.full,
            }
        }
        "cluster verify" => {
            exactly(args, 0, "")?;
            Command::Verify {
                file: None,
                full: flags.full,
            }
        }
        "cluster setup" => super::cluster_setup::parse_setup(args, flags)?,
        "cluster start" => super::cluster_setup::parse_service(&path[1], args, flags)?,
        "cluster status" => {
            exactly(args, 0, "")?;
            Command::Live(LiveCommand::ClusterStatus)
        }
        "cluster auth" | "host auth" => super::cluster_setup::parse_auth(args, flags)?,
        "cluster destroy" => Command::Unimplemented(path.join(" ")),
        "stonith fence" => {
            exactly(args, 1, "NODE")?;
            Command::Live(LiveCommand::Fence {
                node: args[0].clone(),
                off: flags.off,
            })
        }
        "stonith confirm" => {
            exactly(args, 1, "NODE")?;
            Command::Live(LiveCommand::FenceConfirm {
                node: args[0].clone(),
            })
        }
        "stonith history" => match args.first().map(String::as_str) {
            Some("cleanup" | "update") => {
                Command::Unimplemented(format!("stonith history {}", args[0]))
            }
            Some("show") => {
                at_most(&args[1..], 1)?;
                Command::Live(LiveCommand::FenceHistory {
                    node: args.get(1).cloned(),
                })
            }
            _ => {
                at_most(args, 1)?;
                Command::Live(LiveCommand::FenceHistory {
                    node: args.first().cloned(),
                })
            }
        },
        "resource move" => {
            at_least(args, 1, "RESOURCE")?;
            at_most(args, 2)?;
            if let Some(a) = args.iter().find(|a| a.contains('=')) {
                return Err(CliError::rejected(format!(
                    "'{a}' is not supported: warden's move, ban and clear take only RESOURCE [NODE] (no lifetime)"
                )));
            }
            let (rsc, node) = (args[0].clone(), args.get(1).cloned());
            Command::Live(match path[1].as_str() {
                "move" => LiveCommand::Move { rsc, node },
                "ban" => LiveCommand::Ban { rsc, node },
                _ => LiveCommand::Clear { rsc, node },
            })
        }
        "resource cleanup" => {
            let mut rsc = None;
            let mut node = flags.node.clone();
            for a in args {
                match a.split_once('=') {
                    Some(("node", n)) if !n.is_empty() => node = Some(n.to_string()),
                    Some((k, _)) => {
                        return Err(CliError::rejected(format!(
                            "'{k}' is not supported by 'resource cleanup': expected [RESOURCE] [node=NODE]"
                        )))
                    }
                    None if rsc.is_none() => rsc = Some(a.clone()),
                    None => return Err(CliError::usage(format!("unexpected argument '{a}'"))),
                }
            }
            Command::Live(LiveCommand::Cleanup { rsc, node })
        }
        "resource restart" => {
            at_least(args, 1, "RESOURCE")?;
            at_most(args, 2)?;
            Command::Live(LiveCommand::Restart {
                rsc: args[0].clone(),
                node: args.get(1).cloned(),
            })
        }
        "property set" => {
            at_least(args, 1, "NAME=VALUE")?;
            Command::PropertySet(prepare_options(args)?)
        }
        "property unset" => {
            at_least(args, 1, "NAME")?;
            no_equals(args, "property name")?;
            Command::PropertyUnset(args.to_vec())
        }
        "property config" => Command::PropertyConfig {
            names: args.to_vec(),
            all: flags.all,
            defaults: flags.defaults,
        },
        "resource create" => Command::ResourceCreate(create(args, lexed, false)?),
        "stonith create" => Command::ResourceCreate(create(args, lexed, true)?),
        "resource delete" | "stonith delete" => {
            exactly(args, 1, "RESOURCE")?;
            Command::ResourceDelete {
                id: args[0].clone(),
                stonith: name.starts_with("stonith"),
            }
        }
        "resource update" | "stonith update" => {
            at_least(args, 1, "RESOURCE")?;
            let (params, ops, meta) = update_options(&args[1..])?;
            Command::ResourceUpdate(UpdateSpec {
                id: args[0].clone(),
                params,
                ops,
                meta,
                stonith: name.starts_with("stonith"),
            })
        }
        "resource meta" => {
            at_least(args, 2, "RESOURCE NAME=VALUE")?;
            Command::ResourceMeta {
                id: args[0].clone(),
                meta: prepare_options(&args[1..])?,
            }
        }
        "resource enable" | "resource disable" | "stonith enable" | "stonith disable" => {
            at_least(args, 1, "RESOURCE")?;
            Command::ResourceEnable {
                ids: args.to_vec(),
                enable: name.ends_with("enable"),
                stonith: name.starts_with("stonith"),
            }
        }
        "resource config" | "stonith config" => Command::ResourceConfig {
            ids: args.to_vec(),
            stonith: name.starts_with("stonith"),
        },
        "resource group add" => {
            at_least(args, 2, "GROUP RESOURCE")?;
            Command::GroupAdd {
                group: args[0].clone(),
                members: args[1..].to_vec(),
                placement: placement(lexed)?,
            }
        }
        "resource group remove" | "resource ungroup" => {
            at_least(args, 1, "GROUP")?;
            Command::GroupRemove {
                group: args[0].clone(),
                members: args[1..].to_vec(),
            }
        }
        "resource group list" => {
            exactly(args, 0, "")?;
            Command::GroupList
        }
        "resource describe" | "stonith describe" => {
            exactly(args, 1, "AGENT")?;
            let stonith = name.starts_with("stonith");
            Command::Describe {
                agent: agent_name(&args[0], stonith)?,
                stonith,
            }
        }
        "resource list" | "stonith list" => {
            at_most(args, 1)?;
            Command::ListAgents {
                filter: args.first().cloned(),
                stonith: name.starts_with("stonith"),
            }
        }
        "resource standards" => {
            exactly(args, 0, "")?;
            Command::Standards
        }
        "resource providers" => {
            exactly(args, 0, "")?;
            Command::Providers
        }
        "resource agents" => {
            at_most(args, 1)?;
            Command::Agents(args.first().cloned())
        }
        "resource debug-start" => {
            exactly(args, 1, "RESOURCE")?;
            Command::Debug {
                command: path[1].clone(),
                rsc: args[0].clone(),
                full: flags.full,
            }
        }
        "stonith test" => {
            exactly(args, 1, "DEVICE")?;
            let action = match flags.action.as_deref() {
                None => crate::shell::fence_agents::TestAction::Status,
                Some(a) => crate::shell::fence_agents::TestAction::parse(a).ok_or_else(|| {
                    CliError::usage(format!(
                        "'{a}' is not an action 'stonith test' runs: expected status, list or monitor (it never changes power)"
                    ))
                })?,
            };
            Command::StonithTest {
                device: args[0].clone(),
                action,
                node: flags.node.clone(),
            }
        }
        "constraint colocation add" => Command::ColocationAdd(colocation(args)?),
        "constraint colocation delete" => {
            exactly(args, 2, "RESOURCE WITH-RESOURCE")?;
            Command::ColocationRemove {
                rsc: args[0].clone(),
                with_rsc: args[1].clone(),
            }
        }
        "constraint order" => Command::OrderAdd(order(args)?),
        "constraint location add" => {
            at_least(args, 4, "ID RESOURCE NODE SCORE")?;
            check_id(&args[0], "constraint id")?;
            check_score(&args[3])?;
            let options = prepare_options(&args[4..])?;
            for (k, _) in &options {
                if k != "resource-discovery" && !flags.force {
                    return Err(CliError::rejected(format!(
                        "bad option '{k}': expected resource-discovery, use --force to override"
                    )));
                }
            }
            Command::LocationAdd {
                id: args[0].clone(),
                rsc: rsc_ref(&args[1])?,
                node: args[2].clone(),
                score: args[3].clone(),
                options,
            }
        }
        "constraint location delete" => {
            exactly(args, 1, "ID")?;
            Command::LocationRemove(args[0].clone())
        }
        "constraint location" => location(args)?,
        "constraint config" => {
            exactly(args, 0, "")?;
            Command::ConstraintConfig
        }
        "constraint delete" => {
            at_least(args, 1, "CONSTRAINT-ID")?;
            Command::ConstraintRemove(args.to_vec())
        }
        "constraint ref" => {
            at_least(args, 1, "RESOURCE")?;
            Command::ConstraintRef(args.to_vec())
        }
        "stonith level add" => {
            at_least(args, 3, "LEVEL TARGET DEVICE")?;
            Command::LevelAdd {
                level: level(&args[0])?,
                target: level_target(&args[1])?,
                devices: devices(&args[2..])?,
            }
        }
        "stonith level delete" => {
            at_least(args, 1, "LEVEL")?;
            let (target, devs) = level_target_and_devices(&args[1..])?;
            Command::LevelRemove {
                level: level(&args[0])?,
                target,
                devices: devs,
            }
        }
        "stonith level clear" => {
            let (target, devs) = match args {
                [] => (None, Vec::new()),
                [one] if one.contains(',') => (None, devices(args)?),
                _ => level_target_and_devices(args)?,
            };
            Command::LevelClear {
                target,
                devices: devs,
            }
        }
        "stonith level config" => {
            exactly(args, 0, "")?;
            Command::LevelConfig
        }
        "node standby" | "node unstandby" | "node maintenance" | "node unmaintenance" => {
            if flags.all && !args.is_empty() {
                return Err(CliError::usage("give node names or --all, not both"));
            }
            if !flags.all && args.is_empty() {
                return Err(CliError::usage("give node names or --all"));
            }
            Command::NodeMode {
                mode: if name.contains("standby") {
                    NodeMode::Standby
                } else {
                    NodeMode::Maintenance
                },
                on: !name.starts_with("node un"),
                nodes: args.to_vec(),
                all: flags.all,
            }
        }
        "node attribute" => Command::NodeAttribute {
            node: args.first().cloned(),
            pairs: prepare_options(args.get(1..).unwrap_or(&[]))?,
        },
        "config" => {
            if !(args.is_empty() || args == ["show"]) {
                return Err(CliError::usage(format!(
                    "unknown command 'config {}'",
                    args.join(" ")
                )));
            }
            Command::ConfigShow
        }
        "status" => {
            let format = match (args.first().map(String::as_str), flags.output_as.as_deref()) {
                (None, None) | (None, Some("text")) => OutputFormat::Text,
                (Some("xml"), None) | (None, Some("xml")) => OutputFormat::Xml,
                (None, Some("json")) => OutputFormat::Json,
                (None, Some(other)) => {
                    return Err(CliError::usage(format!(
                        "unknown output format '{other}': expected text, json or xml"
                    )))
                }
                (Some(other), _) => {
                    return Err(CliError::usage(format!("unknown command 'status {other}'")))
                }
            };
            at_most(args, 1)?;
            match (flags.watch, flags.interval.as_deref()) {
                (false, None) => Command::Status(format),
                (false, Some(_)) => return Err(CliError::usage("--interval goes with --watch")),
                (true, interval) => Command::WatchStatus {
                    format,
                    interval_ms: parse_interval(interval)?,
                },
            }
        }
        "sim" => {
            at_most(args, 1)?;
            Command::Sim(super::sim::SimArgs::from_flags(
                args.first().cloned(),
                flags,
            )?)
        }
        "daemon" => {
            exactly(args, 0, "")?;
            Command::Daemon(DaemonArgs {
                config: flags.config.clone(),
                start_empty: flags.start_empty,
                state_dir: flags.state_dir.clone(),
                socket: flags.socket.clone(),
                node_name: flags.node_name.clone(),
                standalone: flags.standalone,
                cib: flags.cib.clone(),
                debug: flags.debug,
            })
        }
        "simulate" => {
            exactly(args, 0, "")?;
            let run = flags.run
                || flags.simulate
                || flags.show_scores
                || flags.save_graph.is_some()
                || flags.save_dotfile.is_some();
            Command::Simulate(SimulateSpec {
                xml_file: flags.xml_file.clone(),
                date: flags.date.clone(),
                run,
                simulate: flags.simulate,
                show_scores: flags.show_scores,
                save_graph: flags.save_graph.clone(),
                save_dotfile: flags.save_dotfile.clone(),
                save_output: flags.save_output.clone(),
                quiet: flags.quiet,
                json: flags.json,
            })
        }
        "completion" => {
            exactly(args, 1, "bash|zsh|fish")?;
            Command::Completion(args[0].clone())
        }
        other => unreachable!("command '{other}' is in the table but has no grammar"),
    };
    Ok(cmd)
}

// ---- argument-count helpers -------------------------------------------

fn exactly(args: &[String], n: usize, what: &str) -> Result<(), CliError> {
    if args.len() < n {
        return Err(CliError::usage(format!(
            "missing argument: expected {what}"
        )));
    }
    if args.len() > n {
        return Err(CliError::usage(format!(
            "unexpected argument '{}'",
            args[n]
        )));
    }
    Ok(())
}

fn at_least(args: &[String], n: usize, what: &str) -> Result<(), CliError> {
    if args.len() < n {
        return Err(CliError::usage(format!(
            "missing argument: expected {what}"
        )));
    }
    Ok(())
}

fn at_most(args: &[String], n: usize) -> Result<(), CliError> {
    if args.len() > n {
        return Err(CliError::usage(format!(
            "unexpected argument '{}'",
            args[n]
        )));
    }
    Ok(())
}

fn no_equals(args: &[String], what: &str) -> Result<(), CliError> {
    match args.iter().find(|a| a.contains('=')) {
        Some(a) => Err(CliError::usage(format!(
            "'{a}' is not a {what}: remove the '=VALUE'"
        ))),
        None => Ok(()),
    }
}

// ---- values -----------------------------------------------------------------

/// `NAME=VALUE` -> (NAME, VALUE). The value is never echoed in an error: it
/// may be a password.
pub fn split_option(arg: &str) -> Result<(String, String), CliError> {
    match arg.split_once('=') {
        None => Err(CliError::usage(format!(
            "missing value of '{arg}' option: expected NAME=VALUE"
        ))),
        Some(("", _)) => Err(CliError::usage(
            "missing option name before '=': expected NAME=VALUE",
        )),
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
    }
}

/// A list of `NAME=VALUE`; the same name twice with different values is an
/// error (pcs's `prepare_options`).
pub fn prepare_options(args: &[String]) -> Result<Pairs, CliError> {
    let mut out: Pairs = Vec::new();
    for a in args {
        let (k, v) = split_option(a)?;
        match out.iter().find(|(n, _)| *n == k) {
            Some((_, old)) if *old != v => {
                return Err(CliError::usage(format!(
                    "option '{k}' is given twice with different values"
                )))
            }
            Some(_) => {}
            None => out.push((k, v)),
        }
    }
    Ok(out)
}

/// Checks an id as Pacemaker's schema (XML NCName, as pcs checks it).
pub fn check_id(id: &str, what: &str) -> Result<(), CliError> {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        return Err(CliError::rejected(format!("{what} cannot be empty")));
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(CliError::rejected(format!(
            "invalid {what} '{id}': '{first}' is not a valid first character (expected a letter or '_')"
        )));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(CliError::rejected(format!(
            "invalid {what} '{id}': '{bad}' is not a valid character (expected letters, digits, '_', '.', '-')"
        )));
    }
    Ok(())
}

/// Checks a score strictly (a typo such as `INFINTY` is an error, not 0).
pub fn check_score(s: &str) -> Result<(), CliError> {
    Score::parse_strict(s)
        .map(|_| ())
        .map_err(|e| CliError::rejected(format!("invalid score: {e}")))
}

fn is_score(s: &str) -> bool {
    Score::parse_strict(s).is_ok()
}

/// The canonical spelling of a role, if `s` is one.
pub fn role(s: &str) -> Option<&'static str> {
    ROLES.iter().copied().find(|r| r.eq_ignore_ascii_case(s))
}

fn checked_role(s: &str) -> Result<String, CliError> {
    role(s).map(str::to_string).ok_or_else(|| {
        CliError::rejected(format!(
            "invalid role '{s}': expected one of {}",
            ROLES.join(", ")
        ))
    })
}

/// `regexp%PATTERN` or a resource id.
fn rsc_ref(s: &str) -> Result<RscRef, CliError> {
    match s.split_once('%') {
        Some(("regexp", p)) => Ok(RscRef::Pattern(p.to_string())),
        Some(("resource", r)) => Ok(RscRef::Id(r.to_string())),
        Some((t, _)) => Err(CliError::usage(format!(
            "'{t}' is not an allowed type for '{s}', use regexp, resource"
        ))),
        None => Ok(RscRef::Id(s.to_string())),
    }
}

// ---- resource create / update ---------------------------------------------

/// Parses an agent name as the operator gave it.
pub fn agent_name(spec: &str, stonith: bool) -> Result<AgentName, CliError> {
    if stonith {
        let kind = spec.strip_prefix("stonith:").unwrap_or(spec);
        if kind.is_empty() || kind.contains(':') {
            return Err(CliError::rejected(format!(
                "'{spec}' is not a fence agent name: expected e.g. fence_ipmilan"
            )));
        }
        return Ok(AgentName::Full(AgentRef {
            standard: Standard::Stonith,
            provider: None,
            kind: kind.to_string(),
        }));
    }
    if !spec.contains(':') {
        return Ok(AgentName::Guess(spec.to_string()));
    }
    // The standard first: a typo there explains any other problem.
    let std = spec.split(':').next().unwrap_or("");
    if let Standard::Other(s) = Standard::parse(std) {
        return Err(CliError::rejected(format!(
            "unknown standard '{s}' in '{spec}': expected ocf, lsb, systemd or service"
        )));
    }
    let agent = AgentRef::parse(spec).map_err(CliError::rejected)?;
    match &agent.standard {
        Standard::Stonith => Err(CliError::rejected(format!(
            "'{spec}' is a fence agent: use 'warden stonith create' for fencing devices"
        ))),
        _ => Ok(AgentName::Full(agent)),
    }
}

/// `op A k=v... B k=v...` groups -> operations (pcs's `build_operations`).
fn build_operations(groups: &[Vec<String>]) -> Result<Vec<OpSpec>, CliError> {
    let mut ops: Vec<(String, Vec<String>)> = Vec::new();
    for group in groups {
        let Some(first) = group.first() else {
            return Err(CliError::usage(
                "when using 'op' you must give an operation name and at least one option",
            ));
        };
        if first.contains('=') {
            return Err(CliError::usage(format!(
                "'op' must be followed by an operation name, not '{}'",
                first.split('=').next().unwrap_or("")
            )));
        }
        for w in group {
            if w.contains('=') {
                ops.last_mut()
                    .expect("first word is a name")
                    .1
                    .push(w.clone());
            } else {
                ops.push((w.clone(), Vec::new()));
            }
        }
    }
    ops.into_iter()
        .map(|(name, attrs)| {
            if attrs.is_empty() {
                return Err(CliError::usage(format!(
                    "operation '{name}' needs at least one option, e.g. op {name} interval=20s"
                )));
            }
            Ok(OpSpec {
                name,
                attrs: prepare_options(&attrs)?,
            })
        })
        .collect()
}

/// Splits `k=v... op ... meta ...` (pcs's `parse_create_simple`).
fn create_groups(args: &[String]) -> Result<(Pairs, Vec<OpSpec>, Pairs), CliError> {
    let mut options = Vec::new();
    let mut ops: Vec<Vec<String>> = Vec::new();
    let mut meta = Vec::new();
    enum In {
        Options,
        Op,
        Meta,
    }
    let mut section = In::Options;
    for a in args {
        match a.as_str() {
            "op" => {
                ops.push(Vec::new());
                section = In::Op;
            }
            "meta" => section = In::Meta,
            "clone" | "promotable" | "bundle" => {
                return Err(CliError::Unimplemented(format!("resource create ... {a}")))
            }
            _ => match section {
                In::Options => options.push(a.clone()),
                In::Op => ops.last_mut().expect("op section opened").push(a.clone()),
                In::Meta => meta.push(a.clone()),
            },
        }
    }
    Ok((
        prepare_options(&options)?,
        build_operations(&ops)?,
        prepare_options(&meta)?,
    ))
}

fn placement(lexed: &Lexed) -> Result<Option<Placement>, CliError> {
    match (&lexed.flags.before, &lexed.flags.after) {
        (Some(_), Some(_)) => Err(CliError::usage("you cannot give both --before and --after")),
        (Some(b), None) => Ok(Some(Placement::Before(b.clone()))),
        (None, Some(a)) => Ok(Some(Placement::After(a.clone()))),
        (None, None) => Ok(None),
    }
}

fn create(args: &[String], lexed: &Lexed, stonith: bool) -> Result<CreateSpec, CliError> {
    at_least(
        args,
        2,
        if stonith {
            "NAME AGENT"
        } else {
            "NAME STANDARD:[PROVIDER:]TYPE"
        },
    )?;
    let what = if stonith {
        "stonith id"
    } else {
        "resource name"
    };
    check_id(&args[0], what)?;
    let agent = agent_name(&args[1], stonith)?;
    let (params, ops, meta) = create_groups(&args[2..])?;
    let flags = &lexed.flags;
    let placement = placement(lexed)?;
    if placement.is_some() && flags.group.is_none() {
        return Err(CliError::usage("--before and --after need --group"));
    }
    if let Some(g) = &flags.group {
        check_id(g, "group name")?;
    }
    Ok(CreateSpec {
        id: args[0].clone(),
        agent,
        params,
        ops,
        meta,
        group: flags.group.clone(),
        placement,
        disabled: flags.disabled,
        no_default_ops: flags.no_default_ops,
        stonith,
    })
}

/// pcs's `parse_resource_options` for `update`: options, then `op` groups
/// (a word without `=` starts a new operation), then `meta`.
fn update_options(args: &[String]) -> Result<(Pairs, Vec<OpSpec>, Pairs), CliError> {
    let mut options = Vec::new();
    let mut ops: Vec<Vec<String>> = Vec::new();
    let mut meta = Vec::new();
    let mut section = 0; // 0 options, 1 op, 2 meta
    for a in args {
        match a.as_str() {
            "op" => {
                ops.push(Vec::new());
                section = 1;
            }
            "meta" => section = 2,
            _ => match section {
                0 => options.push(a.clone()),
                1 => {
                    let cur = ops.last_mut().expect("op section opened");
                    if !a.contains('=') && !cur.is_empty() {
                        ops.push(vec![a.clone()]);
                    } else {
                        cur.push(a.clone());
                    }
                }
                _ => meta.push(a.clone()),
            },
        }
    }
    Ok((
        prepare_options(&options)?,
        build_operations(&ops)?,
        prepare_options(&meta)?,
    ))
}

// ---- constraints -------------------------------------------------------------

/// `[ROLE] A [with] [ROLE] B [SCORE] [OPTION=VALUE...]`. pcs 0.10+ requires
/// `with`; the older form without it (used by many how-tos) is accepted too.
fn colocation(args: &[String]) -> Result<ColocationSpec, CliError> {
    let split = args
        .iter()
        .position(|a| a.contains('='))
        .unwrap_or(args.len());
    let (positional, rest) = args.split_at(split);
    let withs = positional.iter().filter(|a| *a == "with").count();
    if withs > 1 {
        return Err(CliError::usage(
            "multiple 'with's cannot be given: one constraint colocates two resources",
        ));
    }
    let mut words: Vec<&str> = positional.iter().map(String::as_str).collect();
    let (left, right): (Vec<&str>, Vec<&str>) = match words.iter().position(|w| *w == "with") {
        Some(i) => {
            let right = words.split_off(i + 1);
            words.pop();
            (words, right)
        }
        None => {
            // Without `with`: [ROLE] A [ROLE] B [SCORE]. A role is taken as
            // a role only when enough words remain for the resources.
            let mut i = 0;
            if words.len() >= 3 && role(words[0]).is_some() {
                i = 1;
            }
            let left = words[..(i + 1).min(words.len())].to_vec();
            let right = words[(i + 1).min(words.len())..].to_vec();
            (left, right)
        }
    };
    let (rsc_role, rsc) = match left.as_slice() {
        [r] => (None, r.to_string()),
        [role_word, r] => (Some(checked_role(role_word)?), r.to_string()),
        [] => return Err(CliError::usage("missing the resource to colocate")),
        _ => {
            return Err(CliError::usage(format!(
                "unexpected argument '{}'",
                left[2]
            )))
        }
    };
    let (with_rsc_role, with_rsc, score) = match right.as_slice() {
        [] => return Err(CliError::usage("missing the resource to colocate with")),
        [b] => (None, b.to_string(), None),
        [x, y] if is_score(y) => (None, x.to_string(), Some(y.to_string())),
        [x, y] if role(x).is_some() => (Some(checked_role(x)?), y.to_string(), None),
        [_, y] => {
            check_score(y)?;
            unreachable!("a valid score was handled above")
        }
        [x, y, s] => {
            check_score(s)?;
            (Some(checked_role(x)?), y.to_string(), Some(s.to_string()))
        }
        _ => {
            return Err(CliError::usage(format!(
                "unexpected argument '{}'",
                right[3]
            )))
        }
    };
    // One role given: the other defaults to Started (pcs).
    let (rsc_role, with_rsc_role) = match (rsc_role, with_rsc_role) {
        (Some(a), None) => (Some(a), Some("Started".to_string())),
        (None, Some(b)) => (Some("Started".to_string()), Some(b)),
        other => other,
    };
    let options = rest
        .iter()
        .map(|a| {
            let (k, v) = split_option(a)?;
            if v.is_empty() {
                return Err(CliError::usage(format!("value of '{k}' option is empty")));
            }
            Ok((k, v))
        })
        .collect::<Result<Pairs, _>>()?;
    for (k, v) in &options {
        match k.as_str() {
            "id" => check_id(v, "constraint id")?,
            "score" => {
                return Err(CliError::usage(
                    "give the score as a word after the resources, not score=...",
                ))
            }
            _ => {}
        }
    }
    Ok(ColocationSpec {
        rsc,
        rsc_role,
        with_rsc,
        with_rsc_role,
        score: score.unwrap_or_else(|| "INFINITY".to_string()),
        options,
    })
}

/// `[ACTION] A then [ACTION] B [OPTION=VALUE...]`
fn order(args: &[String]) -> Result<OrderSpec, CliError> {
    let mut it = args.iter().map(String::as_str).peekable();
    let mut first_action = "start".to_string();
    if let Some(a) = it.peek() {
        if ORDER_ACTIONS.contains(a) && args.len() > 3 {
            first_action = a.to_string();
            it.next();
        }
    }
    let first = it
        .next()
        .ok_or_else(|| CliError::usage("missing the first resource"))?
        .to_string();
    if it.next() != Some("then") {
        return Err(CliError::usage("expected 'then' after the first resource"));
    }
    let mut then_action = "start".to_string();
    let rest: Vec<&str> = it.collect();
    let mut rest = rest.as_slice();
    if rest.len() >= 2 && ORDER_ACTIONS.contains(&rest[0]) {
        then_action = rest[0].to_string();
        rest = &rest[1..];
    }
    let (then, rest) = rest
        .split_first()
        .ok_or_else(|| CliError::usage("missing the resource after 'then'"))?;
    if rest.contains(&"then") {
        return Err(CliError::usage(
            "multiple 'then's cannot be given: one constraint orders two resources",
        ));
    }
    let mut options: Pairs = Vec::new();
    let mut symmetrical = None;
    for a in rest {
        match *a {
            "symmetrical" => symmetrical = Some("true".to_string()),
            "nonsymmetrical" => symmetrical = Some("false".to_string()),
            _ => {
                let (k, v) = split_option(a)?;
                if v.is_empty() {
                    return Err(CliError::usage(format!("value of '{k}' option is empty")));
                }
                match k.as_str() {
                    "id" => {
                        check_id(&v, "constraint id")?;
                        options.push((k, v));
                    }
                    "symmetrical" => {
                        let l = v.to_ascii_lowercase();
                        if !["true", "false"].contains(&l.as_str()) {
                            return Err(CliError::rejected(format!(
                                "invalid symmetrical value '{v}', allowed values are: true, false"
                            )));
                        }
                        symmetrical = Some(l);
                    }
                    "kind" => {
                        let canon = ["Mandatory", "Optional", "Serialize"]
                            .iter()
                            .find(|c| c.eq_ignore_ascii_case(&v))
                            .ok_or_else(|| {
                                CliError::rejected(format!(
                                    "invalid kind '{v}': expected Mandatory, Optional or Serialize"
                                ))
                            })?;
                        options.push((k, canon.to_string()));
                    }
                    "score" => {
                        check_score(&v)?;
                        options.push((k, v));
                    }
                    "require-all" => options.push((k, v)),
                    _ => {
                        return Err(CliError::rejected(format!(
                        "invalid order option '{k}': expected kind, symmetrical, require-all or id"
                    )))
                    }
                }
            }
        }
    }
    if let Some(s) = symmetrical {
        options.push(("symmetrical".to_string(), s));
    }
    Ok(OrderSpec {
        first,
        first_action,
        then: then.to_string(),
        then_action,
        options,
    })
}

/// `constraint location R prefers|avoids ...` and `... R rule ...`.
fn location(args: &[String]) -> Result<Command, CliError> {
    at_least(
        args,
        3,
        "RESOURCE prefers|avoids NODE[=SCORE] or RESOURCE rule EXPRESSION",
    )?;
    let rsc = rsc_ref(&args[0])?;
    match args[1].as_str() {
        "prefers" | "avoids" => {
            let prefers = args[1] == "prefers";
            let mut nodes = Vec::new();
            for a in &args[2..] {
                let (node, score) = match a.split_once('=') {
                    None => (a.clone(), None),
                    Some((n, s)) => (n.to_string(), Some(s.to_string())),
                };
                if node.is_empty() {
                    return Err(CliError::usage(format!("missing node name in '{a}'")));
                }
                let score = match score {
                    None if prefers => "INFINITY".to_string(),
                    None => "-INFINITY".to_string(),
                    Some(s) => {
                        check_score(&s)?;
                        if prefers {
                            s
                        } else if let Some(pos) = s.strip_prefix('-') {
                            pos.to_string()
                        } else {
                            format!("-{}", s.strip_prefix('+').unwrap_or(&s))
                        }
                    }
                };
                nodes.push((node, score));
            }
            Ok(Command::LocationPrefers(PreferSpec {
                rsc,
                prefers,
                nodes,
            }))
        }
        "rule" => Ok(Command::LocationRule(rule(rsc, &args[2..])?)),
        other => Err(CliError::usage(format!(
            "expected 'prefers', 'avoids' or 'rule' after the resource, not '{other}'"
        ))),
    }
}

/// `[id=] [role=] [score=|score-attribute=] [constraint-id=]
/// [resource-discovery=] EXPRESSION`
fn rule(rsc: RscRef, args: &[String]) -> Result<RuleSpec, CliError> {
    let mut spec = RuleSpec {
        rsc,
        constraint_id: None,
        rule_id: None,
        role: None,
        score: None,
        score_attribute: None,
        resource_discovery: None,
        expression: RuleExpr::Defined {
            attribute: String::new(),
            defined: true,
        },
    };
    let mut i = 0;
    while i < args.len() {
        let Some((k, v)) = args[i].split_once('=') else {
            break;
        };
        let v = v.to_string();
        match k {
            "id" => {
                check_id(&v, "rule id")?;
                spec.rule_id = Some(v)
            }
            "constraint-id" => {
                check_id(&v, "constraint id")?;
                spec.constraint_id = Some(v)
            }
            "role" => spec.role = Some(checked_role(&v)?),
            "score" => {
                check_score(&v)?;
                spec.score = Some(v)
            }
            "score-attribute" => spec.score_attribute = Some(v),
            "resource-discovery" => spec.resource_discovery = Some(v),
            _ => break,
        }
        i += 1;
    }
    if spec.score.is_some() && spec.score_attribute.is_some() {
        return Err(CliError::usage("give score or score-attribute, not both"));
    }
    let expr: Vec<&str> = args[i..].iter().map(String::as_str).collect();
    if expr.is_empty() {
        return Err(CliError::usage("no rule expression was given"));
    }
    spec.expression = rule_expr(&expr).map_err(|e| {
        CliError::rejected(format!(
            "'{}' is not a valid rule expression: {e}",
            expr.join(" ")
        ))
    })?;
    Ok(spec)
}

const RULE_OPS: &[&str] = &["lt", "gt", "lte", "gte", "eq", "ne"];
const RULE_TYPES: &[&str] = &["string", "integer", "number", "version"];

fn rule_expr(words: &[&str]) -> Result<RuleExpr, String> {
    // Split on and/or; one operator per expression (no parentheses yet).
    let mut parts: Vec<&[&str]> = Vec::new();
    let mut op: Option<&str> = None;
    let mut start = 0;
    for (i, w) in words.iter().enumerate() {
        if *w == "and" || *w == "or" {
            if op.is_some_and(|o| o != *w) {
                return Err(
                    "mixing 'and' and 'or' needs parentheses, which are not supported".into(),
                );
            }
            op = Some(w);
            parts.push(&words[start..i]);
            start = i + 1;
        }
    }
    parts.push(&words[start..]);
    if let Some(op) = op {
        let items = parts
            .into_iter()
            .map(rule_term)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(RuleExpr::Bool {
            op: op.to_string(),
            items,
        });
    }
    rule_term(words)
}

fn rule_term(words: &[&str]) -> Result<RuleExpr, String> {
    match words {
        [] => Err("unexpected end of rule".into()),
        ["defined", a] => Ok(RuleExpr::Defined {
            attribute: a.to_string(),
            defined: true,
        }),
        ["not_defined", a] => Ok(RuleExpr::Defined {
            attribute: a.to_string(),
            defined: false,
        }),
        ["date", "gt", d] => Ok(RuleExpr::Date {
            op: "gt".into(),
            start: Some(iso_date(d)?),
            end: None,
        }),
        ["date", "lt", d] => Ok(RuleExpr::Date {
            op: "lt".into(),
            start: None,
            end: Some(iso_date(d)?),
        }),
        ["date", "in_range", a, "to", b] => Ok(RuleExpr::Date {
            op: "in_range".into(),
            start: Some(iso_date(a)?),
            end: Some(iso_date(b)?),
        }),
        [a, op, v] if RULE_OPS.contains(op) => Ok(RuleExpr::Compare {
            attribute: a.to_string(),
            op: op.to_string(),
            value_type: None,
            value: v.to_string(),
        }),
        [a, op, t, v] if RULE_OPS.contains(op) && RULE_TYPES.contains(t) => Ok(RuleExpr::Compare {
            attribute: a.to_string(),
            op: op.to_string(),
            value_type: Some(t.to_string()),
            value: v.to_string(),
        }),
        _ => Err(format!(
            "expected 'defined ATTR', 'ATTR lt|gt|lte|gte|eq|ne [TYPE] VALUE' or 'date gt|lt|in_range ...', got '{}'",
            words.join(" ")
        )),
    }
}

/// A loose ISO 8601 check (`2024-01-31`, `2024-01-31T10:00:00`...).
fn iso_date(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let ok = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not an ISO 8601 date (expected YYYY-MM-DD[Thh:mm:ss])"
        ))
    }
}

// ---- fencing levels ------------------------------------------------------

fn level(s: &str) -> Result<u32, CliError> {
    match s.parse::<u32>() {
        Ok(n) if (1..=9).contains(&n) => Ok(n),
        _ => Err(CliError::rejected(format!(
            "'{s}' is not a valid level value, use a positive integer from 1 to 9"
        ))),
    }
}

fn level_target(s: &str) -> Result<LevelTarget, CliError> {
    match s.split_once('%') {
        Some(("regexp", p)) => Ok(LevelTarget::Pattern(p.to_string())),
        Some(("attrib", nv)) => match nv.split_once('=') {
            Some((n, v)) if !n.is_empty() => {
                Ok(LevelTarget::Attribute(n.to_string(), v.to_string()))
            }
            _ => Err(CliError::usage(format!(
                "'{s}': expected attrib%NAME=VALUE"
            ))),
        },
        Some(("node", n)) => Ok(LevelTarget::Node(n.to_string())),
        Some((t, _)) => Err(CliError::usage(format!(
            "'{t}' is not an allowed type for '{s}', use attrib, node, regexp"
        ))),
        None => Ok(LevelTarget::Node(s.to_string())),
    }
}

fn devices(args: &[String]) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for a in args {
        for d in a.split(',') {
            if d.is_empty() {
                return Err(CliError::usage(format!("empty device name in '{a}'")));
            }
            out.push(d.to_string());
        }
    }
    Ok(out)
}

/// `[TARGET] [DEVICE...]` or `target T stonith D...` after a level.
fn level_target_and_devices(
    args: &[String],
) -> Result<(Option<LevelTarget>, Vec<String>), CliError> {
    let mut target = None;
    let mut devs = Vec::new();
    if args.first().map(String::as_str) == Some("target")
        || args.first().map(String::as_str) == Some("stonith")
    {
        let mut i = 0;
        while i < args.len() {
            match args[i].as_str() {
                "target" => {
                    let t = args
                        .get(i + 1)
                        .ok_or_else(|| CliError::usage("missing target after 'target'"))?;
                    target = Some(level_target(t)?);
                    i += 2;
                }
                "stonith" => {
                    devs.extend(devices(&args[i + 1..])?);
                    break;
                }
                other => return Err(CliError::usage(format!("unexpected argument '{other}'"))),
            }
        }
        return Ok((target, devs));
    }
    if let Some((t, rest)) = args.split_first() {
        target = Some(level_target(t)?);
        devs = devices(rest)?;
    }
    Ok((target, devs))
}

/// `--interval SECONDS` of `status --watch` (default 2 s; at least 0.1 s,
/// at most a day).
fn parse_interval(given: Option<&str>) -> Result<u64, CliError> {
    let Some(text) = given else {
        return Ok(2000);
    };
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.1..=86_400.0).contains(&s) => Ok((s * 1000.0).round() as u64),
        _ => Err(CliError::usage(format!(
            "--interval '{text}': expected a number of seconds from 0.1 to 86400"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags::lex;

    fn cmd(line: &str) -> Result<Command, CliError> {
        parse(&lex(line.split_whitespace()).unwrap())
    }

    #[test]
    fn create_with_ops_meta_and_group() {
        let Command::ResourceCreate(c) = cmd(
            "resource create vip ocf:heartbeat:IPaddr2 ip=10.0.0.1 cidr_netmask=24 op monitor interval=20s timeout=30s start timeout=40s op stop timeout=60s meta resource-stickiness=100 --group g --after x",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(c.id, "vip");
        assert_eq!(
            c.params,
            vec![
                ("ip".into(), "10.0.0.1".into()),
                ("cidr_netmask".into(), "24".into())
            ]
        );
        let names: Vec<&str> = c.ops.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, vec!["monitor", "start", "stop"]);
        assert_eq!(c.ops[0].attrs.len(), 2);
        assert_eq!(c.meta, vec![("resource-stickiness".into(), "100".into())]);
        assert_eq!(c.group.as_deref(), Some("g"));
        assert_eq!(c.placement, Some(Placement::After("x".into())));
    }

    #[test]
    fn create_rejects_bad_shapes() {
        for (line, expect) in [
            (
                "resource create 1x ocf:heartbeat:Dummy",
                "'1' is not a valid first character",
            ),
            ("resource create x foo:bar", "unknown standard 'foo'"),
            ("resource create x ocf:Dummy", "need a provider"),
            (
                "resource create x ocf:pacemaker:Dummy ip",
                "missing value of 'ip'",
            ),
            (
                "resource create x ocf:pacemaker:Dummy op monitor",
                "needs at least one option",
            ),
            (
                "resource create x ocf:pacemaker:Dummy a=1 a=2",
                "given twice",
            ),
            (
                "resource create x ocf:pacemaker:Dummy --after y",
                "need --group",
            ),
            ("property set a=1 --group g", "'--group' is not supported"),
        ] {
            let e = cmd(line).unwrap_err().to_string();
            assert!(e.contains(expect), "{line}: {e}");
        }
    }

    #[test]
    fn secret_values_are_not_echoed() {
        let e = cmd("stonith create f fence_x passwd=hunter2 passwd=other")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2") && !e.contains("other"), "{e}");
    }

    #[test]
    fn colocation_with_and_without_with() {
        let c = |l: &str| match cmd(l).unwrap() {
            Command::ColocationAdd(c) => c,
            other => panic!("{other:?}"),
        };
        let a = c("constraint colocation add opennebula Cluster_VIP INFINITY");
        assert_eq!(
            (a.rsc.as_str(), a.with_rsc.as_str(), a.score.as_str()),
            ("opennebula", "Cluster_VIP", "INFINITY")
        );
        let b = c("constraint colocation add opennebula with Cluster_VIP");
        assert_eq!(
            (b.rsc.as_str(), b.with_rsc.as_str(), b.score.as_str()),
            ("opennebula", "Cluster_VIP", "INFINITY")
        );
        let r = c("constraint colocation add promoted A with B -100 id=c1");
        assert_eq!(r.rsc_role.as_deref(), Some("Promoted"));
        assert_eq!(r.with_rsc_role.as_deref(), Some("Started"));
        assert_eq!(r.score, "-100");
        assert_eq!(r.options, vec![("id".into(), "c1".into())]);
        let e = cmd("constraint colocation add A B INFINTY")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'INFINTY' is not a score"), "{e}");
        let e = cmd("constraint colocation add A with B with C")
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiple 'with's"), "{e}");
    }

    #[test]
    fn order_and_location() {
        let Command::OrderAdd(o) =
            cmd("constraint order stop A then start B kind=optional symmetrical=false").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (o.first_action.as_str(), o.then_action.as_str()),
            ("stop", "start")
        );
        assert_eq!(
            o.options,
            vec![
                ("kind".into(), "Optional".into()),
                ("symmetrical".into(), "false".into())
            ]
        );
        let Command::LocationPrefers(p) =
            cmd("constraint location R avoids n1 n2=50 n3=-20").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            p.nodes,
            vec![
                ("n1".into(), "-INFINITY".into()),
                ("n2".into(), "-50".into()),
                ("n3".into(), "20".into())
            ]
        );
        assert!(cmd("constraint location R prefers n1=INFINTY").is_err());
    }

    #[test]
    fn rules() {
        let Command::LocationRule(r) =
            cmd("constraint location R rule score=100 #uname eq n1 or pingd gt integer 0").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.score.as_deref(), Some("100"));
        let RuleExpr::Bool { op, items } = r.expression else {
            panic!()
        };
        assert_eq!((op.as_str(), items.len()), ("or", 2));
        assert!(cmd("constraint location R rule a eq 1 and b eq 2 or c eq 3").is_err());
        assert!(cmd("constraint location R rule date gt 20x").is_err());
    }

    #[test]
    fn unknown_commands_are_named() {
        let e = cmd("frobnicate now").unwrap_err().to_string();
        assert!(e.contains("unknown command 'frobnicate'"), "{e}");
        let e = cmd("resource frob").unwrap_err().to_string();
        assert!(e.contains("unknown command 'resource frob'"), "{e}");
    }

    #[test]
    fn levels() {
        let Command::LevelAdd {
            level,
            target,
            devices,
        } = cmd("stonith level add 1 n1 f1,f2 f3").unwrap()
        else {
            panic!()
        };
        assert_eq!((level, target), (1, LevelTarget::Node("n1".into())));
        assert_eq!(devices, vec!["f1", "f2", "f3"]);
        assert!(cmd("stonith level add 0 n1 f1").is_err());
        assert!(cmd("stonith level add 10 n1 f1").is_err());
    }
}
