//! The command line, in three layers: raw arguments -> flags and words
//! ([`flags`]) -> a validated [`command::Command`] ([`grammar`], with the
//! command table in [`spec`]) -> the command carried out on a CIB
//! ([`edit`] for changes, [`show`] and the status view for reading).
//!
//! Commands run against a CIB file (`-f FILE` or the `CIB_file` environment
//! variable, as Pacemaker's tools), or without one against the live cluster
//! through the local daemon ([`live`]: the same edit and display code, the
//! CIB exchanged over the socket). [`cluster_setup`] writes a new cluster's
//! configuration and starts or stops it. Agents are known through
//! [`agent_info`].
//!
//! Invariant: a command either succeeds completely or leaves the file (or
//! the live CIB) as it was; the file is only ever replaced atomically
//! (`shell::store::write_atomic`), the live CIB only by a compare-and-swap.
//! No secret value reaches the output, the logs or an error message unless
//! the operator asks for it.

pub mod agent_info;
pub mod cluster_setup;
pub mod command;
pub mod debug;
pub mod edit;
pub mod error;
pub mod flags;
pub mod grammar;
pub mod help;
pub mod ids;
pub mod live;
pub mod ops;
pub mod properties;
pub mod secrets;
pub mod show;
pub mod sim;
pub mod simulate;
pub mod spec;
pub mod stonith_test;

use crate::core::action::{AgentRef, Standard};
use crate::core::cib::{self, Change, Cib};
use crate::shell::store;
use command::{AgentName, Command, OutputFormat};
use edit::{Agents, Ctx, SystemAgents};
use error::CliError;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Entry point of the `warden` binary.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let env_file = std::env::var("CIB_file").ok().filter(|f| !f.is_empty());
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = run(
        &args,
        env_file.as_deref(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    );
    ExitCode::from(code)
}

/// Runs one command line; returns the exit code. Output goes to `out`,
/// warnings and errors to `err`.
pub fn run(
    args: &[String],
    env_file: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match run_inner(args, env_file, out, err) {
        Ok(code) => code,
        Err(e) => {
            report(&e, err);
            1
        }
    }
}

fn report(e: &CliError, err: &mut dyn Write) {
    match e {
        CliError::Cib { diagnostics } => {
            for d in diagnostics {
                let _ = writeln!(err, "Error: {d}");
            }
        }
        CliError::Usage { message, usage } => {
            let _ = writeln!(err, "Error: {message}");
            if let Some(u) = usage {
                let _ = writeln!(err, "Usage: {u}");
            }
        }
        CliError::Rejected(list) => {
            for m in list {
                let _ = writeln!(err, "Error: {m}");
            }
        }
        other => {
            let _ = writeln!(err, "Error: {other}");
        }
    }
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warden=debug"))
        .try_init();
}

fn run_inner(
    args: &[String],
    env_file: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let lexed = flags::lex(args.iter().cloned())?;
    if lexed.flags.debug {
        init_logging();
    }
    let name = spec::find(&lexed.words)
        .map(|(s, _)| s.name())
        .unwrap_or_default();
    let cmd = grammar::parse(&lexed)?;
    // Only the command's name is logged: its words may hold secrets.
    tracing::debug!(command = %name, "parsed");
    let flags = &lexed.flags;
    let write = |out: &mut dyn Write, text: &str| -> Result<(), CliError> {
        out.write_all(text.as_bytes()).map_err(|e| CliError::Io {
            action: "cannot write to",
            path: "standard output".into(),
            source: e,
        })
    };
    let file = flags.file.as_deref().or(env_file);
    match &cmd {
        Command::Sim(a) => return sim::run(a, out, err),
        Command::Daemon(a) => return Ok(daemon(a, err)),
        Command::Help(path) => return write(out, &help::help_text(path)?).map(|_| 0),
        Command::Version => {
            return write(out, &format!("warden {}\n", env!("CARGO_PKG_VERSION"))).map(|_| 0)
        }
        Command::Completion(shell) => return write(out, &help::completion(shell)?).map(|_| 0),
        Command::Live(_) | Command::ClusterService(_) if file.is_some() => {
            return Err(CliError::NoFileMode { command: name })
        }
        Command::Live(c) => return live::run(c, &name, flags, out, err),
        Command::ClusterService(spec) => return cluster_setup::service(spec, out, err),
        Command::ClusterAuth(spec) => return cluster_setup::auth(spec, out, err),
        Command::WatchStatus {
            format,
            interval_ms,
        } => return watch_status(*format, *interval_ms, file, &name, flags, out, err),
        Command::ClusterSetup(spec) => return cluster_setup::setup(spec, out, err),
        Command::Unimplemented(c) => return Err(CliError::Unimplemented(c.clone())),
        Command::Simulate(spec) => return simulate::run(spec, file, out, err),
        Command::Verify { file: given, full } => {
            let (text, source) = match given.as_deref().or(file) {
                Some(f) => (read_for_verify(f)?, f.to_string()),
                None => {
                    let mut daemon = live::Daemon::connect(&name, false)?;
                    (daemon.get_cib_text(false)?, "the live CIB".to_string())
                }
            };
            return verify(&text, &source, *full, out);
        }
        _ => {}
    }
    if !cmd.needs_cib() {
        return write(out, &agent_command(&cmd, flags, &SystemAgents)?).map(|_| 0);
    }
    let Some(file) = file else {
        return run_live(&cmd, &name, flags, out, err);
    };
    let path = Path::new(file);
    // Changes are read-modify-write cycles: one warden process at a time.
    let _lock = if cmd.writes_cib() {
        Some(store::lock_dir_of(path).map_err(|e| CliError::Io {
            action: "cannot lock the directory of",
            path: file.to_string(),
            source: e,
        })?)
    } else {
        None
    };
    let mut cib = load(path)?;
    if cmd.writes_cib() {
        let before = cib.clone();
        let outcome = apply_edit(&mut cib, &cmd, flags)?;
        report_outcome(&outcome, err);
        if cib != before {
            cib.bump(Change::Configuration);
            let text = cib::to_xml(&cib);
            store::write_atomic(path, text.as_bytes()).map_err(|e| CliError::Io {
                action: "cannot write the CIB file",
                path: file.to_string(),
                source: e,
            })?;
            tracing::debug!(file, epoch = cib.epoch, "CIB written");
        }
        return Ok(0);
    }
    read_and_show(&cib, &cmd, flags, out, err)
}

/// The command against the live cluster: edits as a compare-and-swap of
/// the configuration, reads on the CIB the daemon sends.
fn run_live(
    cmd: &Command,
    name: &str,
    flags: &flags::Flags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let mut daemon = live::Daemon::connect(name, false)?;
    if let Command::NodeMode {
        mode,
        on,
        nodes,
        all,
    } = cmd
    {
        return live::node_mode(&mut daemon, *mode, *on, nodes, *all);
    }
    if cmd.writes_cib() {
        let (outcome, version) = daemon.edit(|cib| apply_edit(cib, cmd, flags))?;
        report_outcome(&outcome, err);
        if let Some(v) = version {
            tracing::debug!(version = %v, "live CIB changed");
        }
        return Ok(0);
    }
    let cib = daemon.get_cib(live::needs_secrets(cmd, flags))?;
    read_and_show(&cib, cmd, flags, out, err)
}

/// `status --watch`: reads the status every `interval_ms` (from the file,
/// or from the daemon, reconnecting when it comes back) and shows it again
/// when it changed; on a terminal the screen is redrawn, otherwise each
/// new status follows the last under a line with the time. Runs until
/// interrupted or standard output closes.
fn watch_status(
    format: OutputFormat,
    interval_ms: u64,
    file: Option<&str>,
    name: &str,
    flags: &flags::Flags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    use std::io::IsTerminal;
    let terminal = std::io::stdout().is_terminal();
    let cmd = Command::Status(format);
    let mut daemon: Option<live::Daemon> = None;
    let mut last: Option<String> = None;
    let timer = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| CliError::Io {
            action: "cannot set up a timer for",
            path: "--watch".into(),
            source: e,
        })?;
    loop {
        let frame = match file {
            Some(f) => load(Path::new(f)).and_then(|cib| {
                let mut text = Vec::new();
                read_and_show(&cib, &cmd, flags, &mut text, &mut std::io::sink())?;
                Ok(String::from_utf8_lossy(&text).into_owned())
            }),
            None => {
                let got = match daemon.as_mut() {
                    Some(d) => d.get_cib(false),
                    None => live::Daemon::connect(name, false).and_then(|mut d| {
                        let cib = d.get_cib(false);
                        daemon = Some(d);
                        cib
                    }),
                };
                if got.is_err() {
                    daemon = None;
                }
                got.and_then(|cib| {
                    let mut text = Vec::new();
                    read_and_show(&cib, &cmd, flags, &mut text, &mut std::io::sink())?;
                    Ok(String::from_utf8_lossy(&text).into_owned())
                })
            }
        };
        let frame = frame.unwrap_or_else(|e| {
            format!(
                "Cannot read the status: {e}\n(trying again every {} ms)\n",
                interval_ms
            )
        });
        if last.as_deref() != Some(frame.as_str()) {
            let stamp = crate::core::time::format_iso8601(now().secs());
            let text = if terminal {
                format!("\x1b[H\x1b[2J{frame}\nLast updated: {stamp} (every {interval_ms} ms; Ctrl-C ends)\n")
            } else {
                format!("--- {stamp}\n{frame}")
            };
            if out
                .write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                // The reader went away (a closed pipe): nothing to show to.
                return Ok(0);
            }
            last = Some(frame);
        }
        let _ = err.flush();
        let pause = std::time::Duration::from_millis(interval_ms);
        timer.block_on(async move { tokio::time::sleep(pause).await });
    }
}

/// The edit of a writing command (the same on a file and on the live CIB).
fn apply_edit(
    cib: &mut Cib,
    cmd: &Command,
    flags: &flags::Flags,
) -> Result<edit::Outcome, CliError> {
    let ctx = Ctx {
        force: flags.force,
        agents: &SystemAgents,
    };
    edit::apply(cib, cmd, &ctx)
}

fn report_outcome(outcome: &edit::Outcome, err: &mut dyn Write) {
    for w in &outcome.warnings {
        let _ = writeln!(err, "Warning: {w}");
    }
    for n in &outcome.notes {
        let _ = writeln!(err, "{n}");
    }
}

/// A reading command on a CIB (from a file or the daemon).
fn read_and_show(
    cib: &Cib,
    cmd: &Command,
    flags: &flags::Flags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let write = |out: &mut dyn Write, text: &str| -> Result<(), CliError> {
        out.write_all(text.as_bytes()).map_err(|e| CliError::Io {
            action: "cannot write to",
            path: "standard output".into(),
            source: e,
        })
    };
    if let Command::StonithTest {
        device,
        action,
        node,
    } = cmd
    {
        let (text, code) =
            stonith_test::run(cib, &agent_config(), device, *action, node.as_deref())?;
        write(out, &text)?;
        return Ok(code);
    }
    if let Command::Debug { command, rsc, full } = cmd {
        let (text, code) = debug::run(cib, &agent_config(), command, rsc, *full)?;
        write(out, &text)?;
        return Ok(code);
    }
    let text = read_command(cib, cmd, flags, err)?;
    write(out, &text).map(|_| 0)
}

/// `warden daemon`: runs until stopped; logs go to standard error.
fn daemon(a: &command::DaemonArgs, err: &mut dyn Write) -> u8 {
    use crate::daemon::{self, DaemonOptions};
    use crate::shell::cib_store::OnBadCib;
    use crate::shell::config::{self, DaemonConfig, TransportKind};
    // The file: --config (must exist), else $WARDEN_CONFIG or the default
    // path (may be missing: the defaults apply).
    let loaded = match &a.config {
        Some(f) => DaemonConfig::load(Path::new(f)).map(Some),
        None => {
            let path = std::env::var_os(live::CONFIG_ENV)
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| config::DEFAULT_PATH.into());
            DaemonConfig::load_optional(&path)
        }
    };
    let mut config = match loaded {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            let _ = writeln!(err, "Error: {e}");
            return 1;
        }
    };
    if let Some(d) = &a.state_dir {
        config.state_dir = d.into();
    }
    if let Some(s) = &a.socket {
        config.socket = s.into();
    }
    if let Some(n) = &a.node_name {
        config.node_name = Some(n.clone());
    }
    if a.standalone {
        config.transport = TransportKind::Standalone;
    }
    // RUST_LOG, when set, wins over the file's log_level (and --debug).
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| {
            let level = if a.debug {
                "debug"
            } else {
                config.log_level.as_str()
            };
            format!("warden={level}")
        });
    // The CLI holds the standard error lock while a command runs: the
    // daemon's threads log through their own handle on descriptor 2, one
    // write per line.
    use std::os::fd::AsFd;
    let log = match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => std::fs::File::from(fd),
        Err(e) => {
            let _ = writeln!(err, "Error: cannot open standard error for the log: {e}");
            return 1;
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(log))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
    let opts = DaemonOptions {
        config,
        seed_cib: a.cib.as_ref().map(Into::into),
        on_bad_cib: a.start_empty.then_some(OnBadCib::StartEmpty),
        ..DaemonOptions::default()
    };
    match daemon::run(opts) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            let _ = writeln!(err, "Error: {e}");
            e.exit_code()
        }
    }
}

/// Exit code of `verify` for a CIB with errors.
pub const EXIT_VERIFY_ERRORS: u8 = 1;

fn read_for_verify(file: &str) -> Result<String, CliError> {
    store::read_optional(Path::new(file))
        .map_err(|e| CliError::Io {
            action: "cannot read the CIB file",
            path: file.to_string(),
            source: e,
        })?
        .ok_or_else(|| {
            CliError::rejected(format!(
                "cannot read the CIB file {file}: it does not exist"
            ))
        })
}

/// `cib verify` / `cluster verify`: every problem, then a summary line.
/// `source` names the text in the diagnostics.
fn verify(text: &str, source: &str, full: bool, out: &mut dyn Write) -> Result<u8, CliError> {
    use crate::core::cib::verify as v;
    let mut diags = v::verify(text, source);
    if full && !crate::core::cib::diag::has_errors(&diags) {
        // What the scheduler reads but cannot act on.
        if let Some(cib) = cib::parse(text, source).cib {
            for w in crate::core::scheduler::current_state(&cib, now()).warnings {
                diags.push(crate::core::cib::Diagnostic::warning(format!(
                    "scheduler: {w}"
                )));
            }
        }
    }
    out.write_all(v::render(&diags).as_bytes())
        .map_err(|e| CliError::Io {
            action: "cannot write to",
            path: "standard output".into(),
            source: e,
        })?;
    Ok(if v::exit_code(&diags) == 0 {
        0
    } else {
        EXIT_VERIFY_ERRORS
    })
}

/// Reads and checks a CIB file; a missing file is an empty CIB (as `pcs -f`
/// starts from an empty CIB), an empty or broken one is an error.
pub fn load(path: &Path) -> Result<Cib, CliError> {
    let name = path.display().to_string();
    let text = store::read_optional(path).map_err(|e| CliError::Io {
        action: "cannot read the CIB file",
        path: name.clone(),
        source: e,
    })?;
    let Some(text) = text else {
        tracing::debug!(file = %name, "no such file: starting from an empty CIB");
        return Ok(Cib::empty());
    };
    let parsed = cib::parse(&text, &name);
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

fn read_command(
    cib: &Cib,
    cmd: &Command,
    flags: &flags::Flags,
    err: &mut dyn Write,
) -> Result<String, CliError> {
    let secrets = flags.show_secrets;
    Ok(match cmd {
        Command::ClusterCib { out: None } => cib::to_xml(cib),
        Command::ClusterCib { out: Some(f) } => {
            store::write_atomic(Path::new(f), cib::to_xml(cib).as_bytes()).map_err(|e| {
                CliError::Io {
                    action: "cannot write the CIB to",
                    path: f.clone(),
                    source: e,
                }
            })?;
            String::new()
        }
        Command::PropertyConfig {
            names,
            all,
            defaults,
        } => show::properties(cib, names, *all, *defaults),
        Command::ResourceConfig { ids, stonith } => {
            let mut s = show::resources(cib, ids, *stonith, 0, secrets)?;
            if *stonith && ids.is_empty() {
                let levels = show::levels(cib);
                if !levels.is_empty() {
                    s.push_str("\nFencing Levels:\n");
                    for l in levels.lines() {
                        s.push_str("  ");
                        s.push_str(l);
                        s.push('\n');
                    }
                }
            }
            s
        }
        Command::GroupList => show::groups(cib),
        Command::ConstraintConfig => show::constraints(cib, flags.full),
        Command::ConstraintRef(ids) => show::constraint_ref(cib, ids),
        Command::LevelConfig => show::levels(cib),
        Command::NodeAttribute { node, .. } => show::node_attributes(cib, node.as_deref()),
        Command::ConfigShow => show::config(cib, secrets, flags.full),
        Command::Status(format) => {
            let view = crate::status::build(cib, now());
            // Standard output stays what crm_mon prints; the warnings go
            // beside it (and into the JSON).
            if *format != OutputFormat::Json {
                for w in &view.warnings {
                    let _ = writeln!(err, "Warning: {w}");
                }
            }
            match format {
                OutputFormat::Text => crate::status::text::render(&view),
                OutputFormat::Json => {
                    let mut s = serde_json::to_string_pretty(&view).expect("the view serializes");
                    s.push('\n');
                    s
                }
                OutputFormat::Xml => crate::status::xml::render(&view),
            }
        }
        other => unreachable!("not a read command: {other:?}"),
    })
}

/// Where the agents are: the usual places, or `OCF_ROOT` (OCF agents, as
/// the agents themselves read it), `WARDEN_LSB_DIR` (LSB init scripts) and
/// `WARDEN_FENCE_AGENT_DIR` (fence agents) from the environment.
pub fn agent_config() -> crate::shell::executor::ExecutorConfig {
    let mut cfg = crate::shell::executor::ExecutorConfig::default();
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = var("OCF_ROOT") {
        cfg.ocf_root = d.into();
    }
    if let Some(d) = var("WARDEN_LSB_DIR") {
        cfg.lsb_dir = d.into();
    }
    if let Some(d) = var("WARDEN_FENCE_AGENT_DIR") {
        cfg.fence_agent_dir = d.into();
    }
    cfg
}

/// The time now, for what depends on it (failure expiry, date rules).
pub fn now() -> crate::core::time::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    crate::core::time::Timestamp(ms)
}

/// Commands about agents (no CIB needed).
fn agent_command(
    cmd: &Command,
    flags: &flags::Flags,
    agents: &dyn Agents,
) -> Result<String, CliError> {
    match cmd {
        Command::Describe { agent, .. } => {
            let agent = match agent {
                AgentName::Full(a) => a.clone(),
                AgentName::Guess(kind) => {
                    let found = agents.find_by_type(kind);
                    match found.as_slice() {
                        [one] => one.clone(),
                        [] => {
                            return Err(CliError::rejected(format!(
                                "Unable to find agent '{kind}', try specifying its full name"
                            )))
                        }
                        many => {
                            return Err(CliError::rejected(format!(
                                "Multiple agents match '{kind}', please specify full name: {}",
                                many.iter()
                                    .map(|a| a.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )))
                        }
                    }
                }
            };
            let meta = agents
                .metadata(&agent)
                .map_err(|e| CliError::rejected(e.to_string()))?;
            Ok(agent_info::describe(&meta, flags.full))
        }
        Command::ListAgents { filter, stonith } => {
            let refs: Vec<AgentRef> = if *stonith {
                agent_info::list_agents(&agent_config(), &Standard::Stonith, None)
                    .into_iter()
                    .map(|kind| AgentRef {
                        standard: Standard::Stonith,
                        provider: None,
                        kind,
                    })
                    .collect()
            } else {
                agent_info::all_resource_agents(&agent_config())
            };
            let name_of = |a: &AgentRef| {
                if *stonith {
                    a.kind.clone()
                } else {
                    a.to_string()
                }
            };
            let descs: Vec<Option<String>> = if flags.nodesc {
                vec![None; refs.len()]
            } else {
                agent_info::metadata_many(&agent_config(), &refs)
                    .into_iter()
                    .map(|m| {
                        m.ok()
                            .map(|m| {
                                m.md.shortdesc
                                    .split_whitespace()
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .filter(|d| !d.is_empty())
                    })
                    .collect()
            };
            let mut s = String::new();
            for (a, d) in refs.iter().zip(descs) {
                let name = name_of(a);
                let line = match d {
                    Some(d) => format!("{name} - {d}"),
                    None => name,
                };
                if filter
                    .as_ref()
                    .is_none_or(|f| line.to_lowercase().contains(&f.to_lowercase()))
                {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
            if s.is_empty() && filter.is_some() {
                return Err(CliError::rejected(
                    "No resource agents matching the filter.",
                ));
            }
            Ok(s)
        }
        Command::Standards => Ok(lines(agent_info::list_standards(&agent_config()))),
        Command::Providers => Ok(lines(agent_info::list_ocf_providers(&agent_config()))),
        Command::Agents(spec) => {
            let list = match spec.as_deref() {
                None => {
                    let mut v: Vec<String> = agent_info::all_resource_agents(&agent_config())
                        .into_iter()
                        .map(|a| a.kind)
                        .collect();
                    v.sort_by_key(|s| s.to_lowercase());
                    v.dedup();
                    v
                }
                Some(s) => {
                    let (std, prov) = match s.split_once(':') {
                        Some((a, b)) => (a, Some(b)),
                        None => (s, None),
                    };
                    let standard = Standard::parse(std);
                    if !standard.is_known() {
                        return Err(CliError::rejected(format!(
                            "unknown standard '{std}': expected ocf, lsb, systemd, service or stonith"
                        )));
                    }
                    agent_info::list_agents(&agent_config(), &standard, prov)
                }
            };
            Ok(lines(list))
        }
        other => unreachable!("not an agent command: {other:?}"),
    }
}

fn lines(v: Vec<String>) -> String {
    let mut s = v.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}
