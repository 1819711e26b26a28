//! `stonith test DEVICE [--action status|list|monitor] [--node NODE]`: one
//! non-destructive action of a configured fence device, run from this
//! machine with the device's parameters from the CIB — the guide's "try
//! out fencing manually" step without typing the password again — and the
//! device's answer: power on or off, the plugs it lists, or that it
//! answers at all.
//!
//! Invariant: never asks a device to change power; the device's
//! parameters reach the agent on its stdin only (`shell::fence_agents`),
//! and no secret value reaches the output.

use super::error::CliError;
use crate::core::cib::{Cib, SetKind};
use crate::core::fencer::FenceDevice;
use crate::shell::executor::ExecutorConfig;
use crate::shell::fence_agents::{test_device, AgentRunner, TestAction, TestAnswer};
use std::time::Duration;

/// How long a test may take unless the device or the cluster says
/// otherwise (Pacemaker's default action timeout).
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;

/// The fence device `id` as the fencer would run it: its agent, its
/// parameters evaluated for this node, its priority.
pub fn fence_device(cib: &Cib, id: &str) -> Result<FenceDevice, CliError> {
    let p = cib.configuration.primitive(id).ok_or_else(|| {
        CliError::rejected(format!(
            "fence device '{id}' does not exist: see 'warden stonith config'"
        ))
    })?;
    if p.class.as_deref() != Some("stonith") {
        return Err(CliError::rejected(format!(
            "'{id}' is not a fence device (it is {}): 'stonith test' runs fence devices; for resources see 'warden resource debug-monitor {id}'",
            p.agent_spec()
        )));
    }
    let node = super::debug::local_node();
    let req = crate::core::scheduler::action_request(cib, super::now(), id, "monitor", &node)
        .ok_or_else(|| CliError::rejected(format!("fence device '{id}' cannot be read")))?;
    let priority = p
        .attr(SetKind::Meta, "priority")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(FenceDevice {
        id: id.to_string(),
        agent: req.agent.kind,
        params: req.params,
        priority,
    })
}

/// The time limit: the device's `pcmk_<action>_timeout`, else the cluster's
/// `stonith-timeout`, else 20s.
fn timeout_ms(cib: &Cib, device: &FenceDevice, action: TestAction) -> u64 {
    let parse = |v: &str| {
        crate::core::cib::duration::parse_msec(v)
            .ok()
            .filter(|ms| *ms > 0)
    };
    device
        .params
        .get(&format!("pcmk_{}_timeout", action.as_str()))
        .and_then(|v| parse(v))
        .or_else(|| {
            cib.configuration
                .property("stonith-timeout")
                .and_then(parse)
        })
        .unwrap_or(DEFAULT_TIMEOUT_MS)
}

/// The one host a device fences, when its `pcmk_host_list` or
/// `pcmk_host_map` names exactly one.
fn single_host(device: &FenceDevice) -> Option<String> {
    use crate::core::fencer::{parse_host_list, parse_host_map};
    let mut hosts: Vec<String> = device
        .params
        .get("pcmk_host_list")
        .map(|l| parse_host_list(l))
        .unwrap_or_default();
    if let Some(m) = device.params.get("pcmk_host_map") {
        hosts.extend(parse_host_map(m).0.into_keys());
    }
    hosts.sort();
    hosts.dedup();
    match hosts.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Runs the test; returns its text and exit code (0: the device answered).
pub fn run(
    cib: &Cib,
    config: &ExecutorConfig,
    id: &str,
    action: TestAction,
    node: Option<&str>,
) -> Result<(String, u8), CliError> {
    let device = fence_device(cib, id)?;
    // A device for one host needs no --node to be asked about it.
    let only_host = (action == TestAction::Status && node.is_none())
        .then(|| single_host(&device))
        .flatten();
    let node = node.or(only_host.as_deref());
    let runner = AgentRunner::new(&config.fence_agent_dir);
    runner
        .agent_path(&device.agent)
        .map_err(|e| CliError::rejected(e.to_string()))?;
    let limit = timeout_ms(cib, &device, action);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Io {
            action: "cannot start the runtime for",
            path: "stonith test".into(),
            source: e,
        })?;
    let answer = runtime.block_on(async {
        // The metadata says which parameter names the agent wants; without
        // it the device's parameters are passed as configured.
        let info = runner.metadata(&device.agent).await.ok().map(|m| m.info());
        test_device(
            &runner,
            &device,
            info.as_ref(),
            action,
            node,
            Duration::from_millis(limit),
        )
        .await
    });
    let answer = answer.map_err(|e| CliError::rejected(e.to_string()))?;
    let what = match (action, node) {
        (TestAction::Status, Some(n)) => format!("status of {n}"),
        (a, _) => a.as_str().to_string(),
    };
    let mut text = format!("{id} ({}): {what}: ", device.agent);
    let code = match &answer {
        TestAnswer::Hosts(hosts) if !hosts.is_empty() => {
            text.push_str(&format!("{} host(s)\n", hosts.len()));
            for h in hosts {
                text.push_str("  ");
                text.push_str(h.trim_end_matches(','));
                text.push('\n');
            }
            0
        }
        TestAnswer::Failed(_) => {
            text.push_str(&answer.to_string());
            text.push('\n');
            if action == TestAction::Status && node.is_none() {
                text.push_str("(a device for several hosts may need --node NODE)\n");
            }
            1
        }
        _ => {
            text.push_str(&answer.to_string());
            text.push('\n');
            0
        }
    };
    Ok((text, code))
}
