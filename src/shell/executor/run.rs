//! One action, start to end: pick the standard, run the agent (or ask
//! systemd), bound the time, map what came back to an `ActionResult`.
//! Used by the executor for every action and by `run_once` for
//! `warden resource debug-*`.
//!
//! Invariant: whatever happens, exactly one `ActionResult` comes back, and
//! no secret parameter value appears in it.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::process::{self, ProcessEnd, Spawn};
use super::{lsb, ocf, stonith, systemd, ExecutorConfig};
use crate::core::action::{
    is_secret_param, rc, ActionRequest, ActionResult, AgentRef, ExecStatus, Standard,
};

/// Used when a request carries `timeout_ms == 0` (Pacemaker's default
/// action timeout).
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;

/// What an executor needs to run actions: its configuration and the shared
/// systemd connection.
pub struct RunContext {
    pub config: ExecutorConfig,
    pub systemd: systemd::SystemdBus,
    /// Fence devices started here (stonith-class resources).
    pub stonith: stonith::Registered,
}

impl RunContext {
    pub fn new(config: ExecutorConfig) -> Self {
        let systemd = systemd::SystemdBus::new(config.systemd_bus.clone());
        RunContext {
            config,
            systemd,
            stonith: stonith::Registered::default(),
        }
    }
}

/// Options for one run that the executor never uses but `debug-*` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Export `OCF_TRACE_RA=1` so ocf-shellfuncs agents trace themselves
    /// (`set -x`), as `pcs resource debug-* --full` does.
    pub trace: bool,
}

/// The full story of one action: the mapped result and the agent's own
/// output, stream by stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub result: ActionResult,
    /// The agent that actually ran (`service:x` resolved to `lsb:x` or
    /// `systemd:x`).
    pub agent: AgentRef,
    /// What was run, for display: the agent path and action, or the systemd
    /// unit. Never contains parameters.
    pub command: String,
    pub stdout: String,
    pub stderr: String,
}

/// Replaces every secret value of `req` in `text` by `****`.
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn for_request(req: &ActionRequest) -> Self {
        let mut secrets: Vec<String> = req
            .params
            .iter()
            .filter(|(k, v)| is_secret_param(k) && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect();
        // Longest first, so a secret that contains another is hidden whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "****");
            }
        }
        out
    }
}

/// Runs one action to completion. `cancel` (notified once) kills it and
/// yields `ExecStatus::Cancelled`.
pub async fn run_action(
    ctx: &RunContext,
    req: &ActionRequest,
    options: RunOptions,
    cancel: &Notify,
) -> RunReport {
    let started = Instant::now();
    let mut req = req.clone();
    if req.timeout_ms == 0 {
        req.timeout_ms = DEFAULT_TIMEOUT_MS;
    }
    let redactor = Redactor::for_request(&req);
    let mut report = dispatch(ctx, &req, options, cancel).await;
    report.result.duration_ms = started.elapsed().as_millis() as u64;
    report.stdout = redactor.apply(&report.stdout);
    report.stderr = redactor.apply(&report.stderr);
    report.result.exit_reason = report.result.exit_reason.map(|r| redactor.apply(&r));
    report.result.output = combine(&report.stdout, &report.stderr);
    report
}

/// `ActionResult::output`: stdout, then stderr.
fn combine(stdout: &str, stderr: &str) -> String {
    let mut out = String::with_capacity(stdout.len() + stderr.len() + 1);
    out.push_str(stdout);
    if !out.is_empty() && !out.ends_with('\n') && !stderr.is_empty() {
        out.push('\n');
    }
    out.push_str(stderr);
    out
}

fn report(
    agent: &AgentRef,
    command: String,
    rc: i32,
    status: ExecStatus,
    reason: Option<String>,
) -> RunReport {
    RunReport {
        result: ActionResult {
            rc,
            status,
            exit_reason: reason,
            output: String::new(),
            duration_ms: 0,
        },
        agent: agent.clone(),
        command,
        stdout: String::new(),
        stderr: String::new(),
    }
}

async fn dispatch(
    ctx: &RunContext,
    req: &ActionRequest,
    options: RunOptions,
    cancel: &Notify,
) -> RunReport {
    let cfg = &ctx.config;
    let agent = &req.agent;
    if !ocf::is_plain_name(&agent.kind)
        || agent
            .provider
            .as_deref()
            .is_some_and(|p| !ocf::is_plain_name(p))
    {
        return report(
            agent,
            String::new(),
            rc::ERR_INSTALLED,
            ExecStatus::NotInstalled,
            Some(format!(
                "agent name '{agent}' is not a plain name (it must not contain '/' or be '.' or '..')"
            )),
        );
    }
    match &agent.standard {
        Standard::Ocf => run_ocf(cfg, req, options, cancel).await,
        Standard::Lsb => run_lsb(cfg, req, cancel).await,
        Standard::Systemd => run_systemd(ctx, req, cancel).await,
        Standard::Service => {
            // systemd first: on a systemd host /etc/init.d scripts are
            // usually wrapped as units anyway, and the unit is the truth.
            let lookup = ctx.systemd.unit_exists(&agent.kind);
            let resolved = match tokio::time::timeout(timeout_of(req), lookup).await {
                Ok(Ok(true)) => Standard::Systemd,
                Ok(Ok(false)) => Standard::Lsb,
                Ok(Err(e)) => {
                    tracing::debug!(agent = %agent, "systemd not reachable, trying lsb: {e}");
                    Standard::Lsb
                }
                Err(_) => {
                    return report(
                        agent,
                        String::new(),
                        rc::ERR_GENERIC,
                        ExecStatus::Timeout,
                        Some(format!(
                            "could not tell within {}ms whether {} is a systemd unit",
                            req.timeout_ms, agent.kind
                        )),
                    )
                }
            };
            let mut req = req.clone();
            req.agent = AgentRef {
                standard: resolved,
                provider: None,
                kind: agent.kind.clone(),
            };
            match req.agent.standard {
                Standard::Systemd => run_systemd(ctx, &req, cancel).await,
                _ => run_lsb(cfg, &req, cancel).await,
            }
        }
        Standard::Stonith => {
            let (code, status, reason) = stonith::run(cfg, &ctx.stonith, req, cancel).await;
            report(
                agent,
                format!(
                    "{} {} (fence device {})",
                    agent.kind, req.action, req.rsc_id
                ),
                code,
                status,
                reason,
            )
        }
        Standard::Other(s) => report(
            agent,
            String::new(),
            rc::ERR_INSTALLED,
            ExecStatus::NotInstalled,
            Some(format!(
                "unknown resource standard '{s}' (known: ocf, lsb, systemd, service, stonith)"
            )),
        ),
    }
}

async fn run_ocf(
    cfg: &ExecutorConfig,
    req: &ActionRequest,
    options: RunOptions,
    cancel: &Notify,
) -> RunReport {
    let provider = req.agent.provider.as_deref().unwrap_or_default();
    let path = ocf::agent_path(&cfg.ocf_root, provider, &req.agent.kind);
    let command = format!("{} {}", path.display(), req.action);
    if let Err(msg) = ocf::check_env_safe(req) {
        return report(
            &req.agent,
            command,
            rc::ERR_CONFIGURED,
            ExecStatus::ErrorFatal,
            Some(msg),
        );
    }
    let spawn = Spawn {
        program: path.clone(),
        args: vec![req.action.clone()],
        env: ocf::environment(req, &cfg.ocf_root, cfg.ha_rsctmp.as_deref(), options.trace),
        remove_env_prefixes: ocf::FOREIGN_ENV_PREFIXES.to_vec(),
    };
    let out = process::run(spawn, timeout_of(req), cfg.kill_grace(), cancel).await;
    finish_process(req, &path, command, out, ocf::map_exit, true)
}

async fn run_lsb(cfg: &ExecutorConfig, req: &ActionRequest, cancel: &Notify) -> RunReport {
    let path = cfg.lsb_dir.join(&req.agent.kind);
    let action = lsb::script_action(&req.action).to_string();
    let command = format!("{} {action}", path.display());
    if req.action == "meta-data" {
        return match lsb::metadata(&cfg.lsb_dir, &req.agent.kind).await {
            Ok(xml) => {
                let mut r = report(&req.agent, command, rc::OK, ExecStatus::Done, None);
                r.stdout = xml;
                r
            }
            Err(e) => not_found(req, command, &path, &e),
        };
    }
    let spawn = Spawn {
        program: path.clone(),
        args: vec![action.clone()],
        env: Vec::new(),
        remove_env_prefixes: Vec::new(),
    };
    let out = process::run(spawn, timeout_of(req), cfg.kill_grace(), cancel).await;
    finish_process(
        req,
        &path,
        command,
        out,
        |code| lsb::map_exit(&action, code),
        false,
    )
}

async fn run_systemd(ctx: &RunContext, req: &ActionRequest, cancel: &Notify) -> RunReport {
    let unit = systemd::unit_name(&req.agent.kind);
    let command = format!("systemd {} {unit} ({})", req.action, ctx.systemd.address());
    let timeout = timeout_of(req);
    if req.action == "meta-data" {
        return match tokio::time::timeout(timeout, ctx.systemd.metadata(&req.agent.kind)).await {
            Ok(xml) => {
                let mut r = report(&req.agent, command, rc::OK, ExecStatus::Done, None);
                r.stdout = xml;
                r
            }
            Err(_) => report(
                &req.agent,
                command,
                rc::ERR_GENERIC,
                ExecStatus::Timeout,
                Some(format!(
                    "systemd did not describe {unit} within {}ms",
                    req.timeout_ms
                )),
            ),
        };
    }
    let work = ctx.systemd.run(
        &req.agent.kind,
        &req.action,
        &ctx.config.systemd_dropin_dir,
        timeout,
    );
    tokio::select! {
        outcome = tokio::time::timeout(timeout, work) => match outcome {
            Ok(o) => {
                let mut r = report(&req.agent, command, o.rc, o.status, o.reason);
                r.stdout = o.output;
                r
            }
            Err(_) => report(
                &req.agent,
                command,
                rc::ERR_GENERIC,
                ExecStatus::Timeout,
                Some(format!("{} of systemd unit {unit} did not complete within {}ms", req.action, req.timeout_ms)),
            ),
        },
        _ = cancel.notified() => report(&req.agent, command, rc::OK, ExecStatus::Cancelled, None),
    }
}

fn timeout_of(req: &ActionRequest) -> Duration {
    Duration::from_millis(req.timeout_ms)
}

fn not_found(req: &ActionRequest, command: String, path: &Path, e: &std::io::Error) -> RunReport {
    use nix::errno::Errno;
    let errno = e.raw_os_error().map(Errno::from_raw);
    let (code, status) = match (e.kind(), errno) {
        (std::io::ErrorKind::PermissionDenied, _) => (rc::ERR_PERM, ExecStatus::Error),
        (std::io::ErrorKind::NotFound, _)
        | (_, Some(Errno::ENOEXEC | Errno::EISDIR | Errno::ENOTDIR | Errno::EINVAL)) => {
            (rc::ERR_INSTALLED, ExecStatus::NotInstalled)
        }
        _ => (rc::ERR_GENERIC, ExecStatus::Error),
    };
    report(
        &req.agent,
        command,
        code,
        status,
        Some(format!("{} ({}): {e}", req.agent, path.display())),
    )
}

fn finish_process(
    req: &ActionRequest,
    path: &Path,
    command: String,
    out: process::ProcessOutcome,
    map: impl Fn(i32) -> i32,
    exit_reasons: bool,
) -> RunReport {
    let mut r = match &out.end {
        ProcessEnd::Exited(code) => {
            let reason = if exit_reasons {
                out.exit_reason.clone()
            } else {
                None
            };
            report(&req.agent, command, map(*code), ExecStatus::Done, reason)
        }
        ProcessEnd::Signaled(sig) => {
            let name = Signal::try_from(*sig)
                .map(|s| s.as_str())
                .unwrap_or("unknown");
            report(
                &req.agent,
                command,
                rc::ERR_GENERIC,
                ExecStatus::Error,
                Some(format!("{} interrupted by {name} signal", req.action)),
            )
        }
        ProcessEnd::TimedOut => report(
            &req.agent,
            command,
            rc::ERR_GENERIC,
            ExecStatus::Timeout,
            Some(format!(
                "{} did not complete within {}ms",
                req.action, req.timeout_ms
            )),
        ),
        ProcessEnd::Cancelled => report(&req.agent, command, rc::OK, ExecStatus::Cancelled, None),
        ProcessEnd::SpawnFailed(e) => not_found(req, command, path, e),
    };
    r.stdout = out.stdout;
    r.stderr = out.stderr;
    r
}

/// Runs one action now, outside any executor, and returns everything: the
/// mapped result and the agent's stdout and stderr. This is what
/// `warden resource debug-start|debug-stop|debug-monitor RSC` calls (with
/// `req.action` = `start`, `stop` or `monitor`, `interval_ms` 0, and the
/// resource's parameters); `options.trace` corresponds to `--full`.
/// Blocks no thread; needs a tokio runtime.
pub async fn run_once(
    config: ExecutorConfig,
    req: ActionRequest,
    options: RunOptions,
) -> RunReport {
    let ctx = RunContext::new(config);
    let never = Notify::new();
    let report = run_action(&ctx, &req, options, &never).await;
    tracing::info!(
        key = %req.key(),
        agent = %report.agent,
        rc = report.result.rc,
        status = ?report.result.status,
        duration_ms = report.result.duration_ms,
        "one-shot action finished"
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn secret_values_are_redacted() {
        for name in [
            "passwd",
            "password",
            "ipmi_passwd",
            "db_password",
            "PASSWORD",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["pass", "passwd_file", "user", "ip"] {
            assert!(!is_secret_param(name), "{name}");
        }
        let req = ActionRequest {
            rsc_id: "r".into(),
            agent: AgentRef::parse("ocf:x:y").unwrap(),
            action: "start".into(),
            interval_ms: 0,
            timeout_ms: 1,
            params: BTreeMap::from([
                ("passwd".to_string(), "hunter2".to_string()),
                ("login_password".to_string(), "hunter2-long".to_string()),
                ("user".to_string(), "admin".to_string()),
            ]),
            meta: BTreeMap::new(),
            node: String::new(),
        };
        let r = Redactor::for_request(&req);
        assert_eq!(
            r.apply("user admin pw hunter2 and hunter2-long"),
            "user admin pw **** and ****"
        );
    }

    #[test]
    fn output_combines_streams() {
        assert_eq!(combine("a", "b"), "a\nb");
        assert_eq!(combine("a\n", "b"), "a\nb");
        assert_eq!(combine("", "b"), "b");
        assert_eq!(combine("a", ""), "a");
    }
}
