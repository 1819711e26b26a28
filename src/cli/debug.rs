//! `resource debug-start|debug-stop|debug-monitor|debug-promote|debug-demote
//! RESOURCE [--full]`: run one action of a resource on this machine, as the
//! CIB configures it (agent, instance attributes evaluated for this node,
//! meta attributes, the action's configured timeout), and show what came
//! back the way `pcs resource debug-*` shows it:
//!
//! ```text
//! Operation start for R (ocf:heartbeat:Dummy) returned: 'ok' (0)
//!  >  stdout: ...
//!  >  stderr: ...
//! ```
//!
//! `--full` has OCF agents trace themselves (`OCF_TRACE_RA=1`); the exit
//! code is the agent's result mapped to OCF, as pcs exits.
//!
//! Invariant: the cluster is not involved and the CIB is only read; no
//! secret value reaches the output (the executor's redactor has removed
//! them from what the agent printed) or a command line (agents get their
//! parameters in the environment).

use super::error::CliError;
use crate::core::action::{ExecStatus, Standard};
use crate::core::cib::{Cib, ResourceItem};
use crate::shell::executor::{self, ExecutorConfig, Redactor, RunOptions};
use crate::status::text::{rc_text, status_text};

/// The agent actions of the `debug-*` commands.
pub fn action_of(command: &str) -> Option<&'static str> {
    Some(match command {
        "debug-start" => "start",
        "debug-stop" => "stop",
        "debug-monitor" => "monitor",
        "debug-promote" => "promote",
        "debug-demote" => "demote",
        _ => return None,
    })
}

/// This machine's name, as the CIB would call it.
pub fn local_node() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.split('.').next().unwrap_or(&h).to_string())
        .unwrap_or_default()
}

/// Refuses what cannot be run on its own, as pcs does.
fn check_runnable(cib: &Cib, command: &str, id: &str) -> Result<(), CliError> {
    let c = &cib.configuration;
    if let Some(g) = c.group(id) {
        let members: Vec<&str> = g.primitives.iter().map(|p| p.id.as_str()).collect();
        return Err(CliError::rejected(format!(
            "unable to {command} a group, try one of the group's resource(s) ({})",
            members.join(",")
        )));
    }
    if let Some(p) = c.primitive(id) {
        if p.class.as_deref() == Some("stonith") {
            return Err(CliError::rejected(format!(
                "'{id}' is a fence device: stonith devices are not supported by {command}; try 'warden stonith test {id}'"
            )));
        }
        return Ok(());
    }
    let in_other = c.resources.iter().any(|r| match r {
        ResourceItem::Other(e) => e.id() == Some(id) || contains_id(e, id),
        _ => false,
    });
    if in_other {
        return Err(CliError::rejected(format!(
            "unable to {command} '{id}': clones and bundles are not supported by this version of warden"
        )));
    }
    Err(CliError::rejected(format!(
        "unable to find a resource/clone/group/bundle: {id}"
    )))
}

fn contains_id(e: &crate::core::cib::xml::Element, id: &str) -> bool {
    e.elements()
        .any(|c| c.id() == Some(id) || contains_id(c, id))
}

/// The output lines of one stream, each prefixed as pcs shows them.
fn stream_lines(out: &mut String, name: &str, text: &str) {
    for line in text.lines() {
        out.push_str(" >  ");
        out.push_str(name);
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
}

/// The trace files an agent wrote below `dir`, concatenated.
fn read_traces(dir: &std::path::Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect()
}

/// Runs the command; returns its text and exit code.
pub fn run(
    cib: &Cib,
    config: &ExecutorConfig,
    command: &str,
    id: &str,
    full: bool,
) -> Result<(String, u8), CliError> {
    let action = action_of(command).expect("a debug-* command");
    check_runnable(cib, command, id)?;
    let node = local_node();
    let req = crate::core::scheduler::action_request(cib, super::now(), id, action, &node)
        .ok_or_else(|| CliError::rejected(format!("unable to find a resource: {id}")))?;
    if let Standard::Other(s) = &req.agent.standard {
        return Err(CliError::rejected(format!(
            "'{id}' has an unknown standard '{s}': expected ocf, lsb, systemd or service"
        )));
    }
    let agent = req.agent.clone();
    // OCF agents trace into files below `trace_dir`: a directory of our
    // own, read back and removed afterwards.
    let trace_dir = (full && agent.standard == Standard::Ocf)
        .then(|| std::env::temp_dir().join(format!("warden-debug-{}-{id}", std::process::id())));
    let mut req = req;
    if let Some(d) = &trace_dir {
        req.params
            .insert("trace_dir".into(), d.display().to_string());
    }
    let redactor = Redactor::for_request(&req);
    tracing::debug!(rsc = id, action, %agent, timeout_ms = req.timeout_ms, "debug action");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Io {
            action: "cannot start the runtime for",
            path: command.to_string(),
            source: e,
        })?;
    let report = runtime.block_on(executor::run_once(
        config.clone(),
        req,
        RunOptions { trace: full },
    ));
    let r = &report.result;
    let mut out = if r.status == ExecStatus::Done {
        format!(
            "Operation {action} for {id} ({agent}) returned: '{}' ({})\n",
            rc_text(r.rc),
            r.rc
        )
    } else {
        let code = r.status.code();
        let mut s = format!(
            "Operation {action} for {id} ({agent}) failed: '{}' ({code})\n",
            status_text(code)
        );
        if let Some(reason) = &r.exit_reason {
            stream_lines(&mut s, "reason", reason);
        }
        s
    };
    stream_lines(&mut out, "stdout", &report.stdout);
    stream_lines(&mut out, "stderr", &report.stderr);
    if let Some(d) = &trace_dir {
        stream_lines(&mut out, "trace", &redactor.apply(&read_traces(d)));
        let _ = std::fs::remove_dir_all(d);
    }
    let code = match (r.status, r.rc) {
        (ExecStatus::Done, rc) => rc,
        (_, 0) => 1,
        (_, rc) => rc,
    };
    Ok((out, u8::try_from(code).unwrap_or(1)))
}
