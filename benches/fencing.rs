//! Fencing latency: warden's fencer (core state machine + shell driver +
//! agent runner) against calling the same fence agent directly with the
//! same stdin, side by side in one run, against fencelab's virtual IPMI BMC
//! and iLO (`power_wait=0`). Prints a table of medians; the difference is
//! warden's own overhead. Needs root (fencelab); prints SKIP otherwise.
//!
//!     cargo bench --bench fencing            # N=9 runs per case
//!     WARDEN_BENCH_N=21 cargo bench --bench fencing

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden::core::fencer::{
    device_agent_args, AgentInfo, AgentOutcome, FenceAction, FenceDevice, FenceRequest,
    FenceResult, Fencer, FencerEffect, FencerInput,
};
use warden::shell::fence_agents::AgentRunner;
use warden::shell::fencing::{FencerEvent, FencerHandle};

#[path = "../tests/fencing_support/mod.rs"]
mod fencing_support;
use fencing_support::{config, lab_available, Lab};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The agent run directly: same stdin warden would send, no warden.
fn direct(device: &FenceDevice, info: Option<&AgentInfo>, action: &str) -> f64 {
    let (_, args) = device_agent_args(device, info, action, Some("b1"));
    let t = Instant::now();
    let mut child = Command::new(format!("/usr/sbin/{}", device.agent))
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(args.to_stdin().as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(
        status.success(),
        "{} {action} failed directly",
        device.agent
    );
    ms
}

struct Case {
    name: &'static str,
    device: FenceDevice,
    /// Action the direct call runs.
    direct_action: &'static str,
    /// What warden is asked, and in which reboot mode.
    warden_action: FenceAction,
    reboot_mode: &'static str,
}

/// Fencing in the core alone (no processes): requests answered at once.
fn core_only(n: usize) -> f64 {
    let lab_free = FenceDevice::new(
        "d",
        "fence_ipmilan",
        &[("pcmk_host_list", "b1"), ("ip", "192.0.2.1")],
    );
    let cfg = config(
        "b0",
        vec![lab_free],
        &[("stonith-action", "off")],
        &BTreeMap::new(),
    );
    let mut f = Fencer::new(cfg, 1);
    let t = Instant::now();
    for id in 1..=n as u64 {
        f.handle(id, FencerInput::Request(FenceRequest::new(id, "b1", "b0")));
        let FencerEffect::RunAgent(run) = f.poll_effect().unwrap() else {
            panic!("expected an agent run")
        };
        f.handle(
            id,
            FencerInput::AgentDone {
                run: run.run,
                outcome: AgentOutcome::exit(0),
            },
        );
        assert!(matches!(f.poll_effect(), Some(FencerEffect::Done { .. })));
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    if !lab_available("bench fencing") {
        return;
    }
    let n: usize = std::env::var("WARDEN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = Lab::up("bench", &["b1"]);
    let (agents, errors) =
        rt.block_on(AgentRunner::default().agent_infos(["fence_ipmilan", "fence_ilo_ssh"]));
    assert!(errors.is_empty(), "{errors:?}");
    let fast = [("pcmk_host_list", "b1"), ("power_wait", "0")];
    let ipmi = lab.ipmi("ipmi_b1", "b1", &fast);
    let ilo = lab.ilo("ilo_b1", "b1", &fast);
    let cases = [
        Case {
            name: "IPMI off",
            device: ipmi.clone(),
            direct_action: "off",
            warden_action: FenceAction::Off,
            reboot_mode: "agent",
        },
        Case {
            name: "IPMI reboot (agent's reboot)",
            device: ipmi.clone(),
            direct_action: "reboot",
            warden_action: FenceAction::Reboot,
            reboot_mode: "agent",
        },
        Case {
            name: "IPMI reboot, time to fenced (off-then-on)",
            device: ipmi,
            direct_action: "reboot",
            warden_action: FenceAction::Reboot,
            reboot_mode: "off-then-on",
        },
        Case {
            name: "iLO off",
            device: ilo.clone(),
            direct_action: "off",
            warden_action: FenceAction::Off,
            reboot_mode: "agent",
        },
        Case {
            name: "iLO reboot (agent's reboot)",
            device: ilo.clone(),
            direct_action: "reboot",
            warden_action: FenceAction::Reboot,
            reboot_mode: "agent",
        },
        Case {
            name: "iLO reboot, time to fenced (off-then-on)",
            device: ilo,
            direct_action: "reboot",
            warden_action: FenceAction::Reboot,
            reboot_mode: "off-then-on",
        },
    ];
    println!(
        "fencing latency, median of {n} (fencelab, power_wait=0; direct = the agent alone, same stdin;\n\
         own = warden's time outside the agent processes: core, driver, spawn bookkeeping)"
    );
    println!(
        "{:<44} {:>11} {:>11} {:>11} {:>7} {:>10}",
        "case", "direct ms", "warden ms", "difference", "ratio", "own ms"
    );
    for case in &cases {
        let info = agents.get(&case.device.agent);
        let cfg = config(
            "b0",
            vec![case.device.clone()],
            &[("warden-reboot-mode", case.reboot_mode)],
            &agents,
        );
        let h = rt.block_on(async { FencerHandle::spawn(cfg, 1, AgentRunner::default()) });
        let (mut d, mut w, mut own) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            // Alternate so that drift in the machine's load hits both.
            lab.set_power("b1", "on");
            d.push(direct(&case.device, info, case.direct_action));
            lab.set_power("b1", "on");
            let mut events = h.subscribe();
            let mut req = FenceRequest::new(0, "b1", "b0");
            req.action = Some(case.warden_action);
            let t = Instant::now();
            let out = rt.block_on(h.fence(req)).unwrap();
            let total = t.elapsed();
            w.push(total.as_secs_f64() * 1000.0);
            assert_eq!(out.result, FenceResult::Success, "{}", case.name);
            // warden's own time: the operation minus its agent processes
            // (spawn to exit), which the direct call pays as well.
            let mut agent_time = Duration::ZERO;
            while let Ok(e) = events.try_recv() {
                match e {
                    FencerEvent::AgentFinished { duration, .. } => agent_time += duration,
                    FencerEvent::Done(_) => break,
                    _ => {}
                }
            }
            own.push(total.saturating_sub(agent_time).as_secs_f64() * 1000.0);
            if case.reboot_mode == "off-then-on" {
                // Let the on half finish outside the measurement.
                rt.block_on(async {
                    loop {
                        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
                            Ok(Ok(FencerEvent::PoweredOn { .. })) | Err(_) | Ok(Err(_)) => break,
                            Ok(Ok(_)) => continue,
                        }
                    }
                });
            }
        }
        let (dm, wm, om) = (median(d), median(w), median(own));
        println!(
            "{:<44} {:>11.1} {:>11.1} {:>+11.1} {:>7.3} {:>10.2}",
            case.name,
            dm,
            wm,
            wm - dm,
            wm / dm,
            om
        );
    }
    println!(
        "core fencer alone (request -> run -> done, no IO): {:.1} us per operation",
        core_only(20_000)
    );
    drop(lab);
}
