//! warden's fencer with Debian's real `fence_ipmilan` (lanplus, cipher 3)
//! and `fence_ilo_ssh` against fencelab's virtual IPMI BMCs and iLOs
//! (`../shared/lab/fencing`). Root only; each test has its own lab
//! (directory + address range), torn down by a guard.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use warden::core::fencer::{
    AgentInfo, FenceAction, FenceRequest, FenceResult, FencerConfig, FencingLevel, HistoryState,
    LevelTarget,
};
use warden::shell::fence_agents::{test_device, AgentRunner, TestAction, TestAnswer};
use warden::shell::fencing::{FencerEvent, FencerHandle};

mod fencing_support;
use fencing_support::{config, lab_available, logs, wait_event, Lab, LAB_PASSWORD};

const T: Duration = Duration::from_secs(30);

async fn agents() -> BTreeMap<String, AgentInfo> {
    let (infos, errors) = AgentRunner::default()
        .agent_infos(["fence_ipmilan", "fence_ilo_ssh"])
        .await;
    assert!(errors.is_empty(), "{errors:?}");
    infos
}

fn request(target: &str, action: FenceAction) -> FenceRequest {
    let mut r = FenceRequest::new(0, target, "n1");
    r.action = Some(action);
    r
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn status_off_on_reboot_with_ipmi_and_ilo_and_the_fence_log_tells_the_story() {
    let name = "status_off_on_reboot_with_ipmi_and_ilo_and_the_fence_log_tells_the_story";
    if !lab_available(name) {
        return;
    }
    let lab = Lab::up("basic", &["n1", "n2"]);
    let agents = agents().await;
    let ipmi_n1 = lab.ipmi(
        "ipmi_n1",
        "n1",
        &[("pcmk_host_list", "n1"), ("power_wait", "0")],
    );
    let ilo_n2 = lab.ilo(
        "ilo_n2",
        "n2",
        &[("pcmk_host_list", "n2"), ("power_wait", "0")],
    );
    let runner = AgentRunner::default();
    for (dev, agent) in [(&ipmi_n1, "fence_ipmilan"), (&ilo_n2, "fence_ilo_ssh")] {
        let info = agents.get(agent);
        let status = test_device(&runner, dev, info, TestAction::Status, None, T)
            .await
            .unwrap();
        assert_eq!(status, TestAnswer::PowerOn, "{}", dev.id);
        let monitor = test_device(&runner, dev, info, TestAction::Monitor, None, T)
            .await
            .unwrap();
        assert_eq!(monitor, TestAnswer::Reachable, "{}", dev.id);
    }
    let t0 = now_s();
    let h = FencerHandle::spawn(
        config("n3", vec![ipmi_n1.clone(), ilo_n2.clone()], &[], &agents),
        1,
        runner.clone(),
    );
    let mut events = h.subscribe();

    let off = h.fence(request("n2", FenceAction::Off)).await.unwrap();
    assert_eq!(
        (off.result, off.devices),
        (FenceResult::Success, vec!["ilo_n2".to_string()])
    );
    assert_eq!(lab.power("n2"), "off");
    let info = agents.get("fence_ilo_ssh");
    assert_eq!(
        test_device(&runner, &ilo_n2, info, TestAction::Status, None, T)
            .await
            .unwrap(),
        TestAnswer::PowerOff
    );

    let on = h.fence(request("n2", FenceAction::On)).await.unwrap();
    assert_eq!(on.result, FenceResult::Success);
    assert_eq!(lab.power("n2"), "on");

    // Reboot (the default action): off, declared fenced, then on.
    let reboot = h.fence(FenceRequest::new(0, "n1", "n2")).await.unwrap();
    assert_eq!(
        (reboot.action, reboot.result),
        (FenceAction::Reboot, FenceResult::Success)
    );
    let powered = wait_event(&mut events, 30, |e| match e {
        FencerEvent::PoweredOn { target, result, .. } if target == "n1" => Some(result.clone()),
        _ => None,
    })
    .await;
    assert_eq!(powered, Ok(()));
    assert_eq!(lab.power("n1"), "on");

    // The agent's own reboot (Pacemaker's behaviour) through the iLO.
    h.configure(config(
        "n3",
        vec![ipmi_n1, ilo_n2],
        &[("warden-reboot-mode", "agent")],
        &agents,
    ))
    .await
    .unwrap();
    let agent_reboot = h.fence(FenceRequest::new(0, "n2", "n1")).await.unwrap();
    assert_eq!(agent_reboot.result, FenceResult::Success);
    let t1 = now_s();

    // fence.log: who, which device, in what order, and when.
    let log = lab.log();
    let story: Vec<String> = log
        .iter()
        .map(|a| format!("{} {} {} {}", a.node, a.device, a.action, a.result))
        .collect();
    assert_eq!(
        story,
        [
            "n2 ilo off ok",
            "n2 ilo on ok",
            "n1 ipmi off ok",
            "n1 ipmi on ok",
            "n2 ilo off ok",
            "n2 ilo on ok",
        ]
    );
    assert!(log
        .windows(2)
        .all(|w| w[0].seq + 1 == w[1].seq && w[0].epoch <= w[1].epoch));
    assert!(
        log.iter().all(|a| a.epoch >= t0 && a.epoch <= t1),
        "log times within the test"
    );
    // The history says the same, and completes after the power action.
    let history = h.history().await.unwrap();
    let summary: Vec<(String, FenceAction, HistoryState, Vec<String>)> = history
        .iter()
        .map(|e| (e.target.clone(), e.action, e.state, e.devices.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "n2".into(),
                FenceAction::Off,
                HistoryState::Done,
                vec!["ilo_n2".into()]
            ),
            (
                "n2".into(),
                FenceAction::On,
                HistoryState::Done,
                vec!["ilo_n2".into()]
            ),
            (
                "n1".into(),
                FenceAction::Reboot,
                HistoryState::Done,
                vec!["ipmi_n1".into()]
            ),
            (
                "n2".into(),
                FenceAction::Reboot,
                HistoryState::Done,
                vec!["ilo_n2".into()]
            ),
        ]
    );
    assert!(history.iter().all(|e| e.executor == "n3"));
    let off_done_s = history[0].completed_ms.unwrap() as f64 / 1000.0;
    assert!(
        off_done_s >= log[0].epoch,
        "declared fenced after the BMC logged the off"
    );
}

#[tokio::test]
async fn the_device_for_the_target_is_chosen_by_host_list_and_by_host_map() {
    let name = "the_device_for_the_target_is_chosen_by_host_list_and_by_host_map";
    if !lab_available(name) {
        return;
    }
    let lab = Lab::up("select", &["n1", "n2", "n3"]);
    let agents = agents().await;
    let devices = vec![
        lab.ipmi(
            "by_list_n1",
            "n1",
            &[("pcmk_host_list", "n1"), ("power_wait", "0")],
        ),
        lab.ipmi(
            "by_list_n2",
            "n2",
            &[("pcmk_host_list", "n2"), ("power_wait", "0")],
        ),
        lab.ipmi(
            "by_map_n3",
            "n3",
            &[("pcmk_host_map", "n3:bmc3;n9:bmc9"), ("power_wait", "0")],
        ),
    ];
    let h = FencerHandle::spawn(
        config("n1", devices, &[("stonith-action", "off")], &agents),
        1,
        AgentRunner::default(),
    );
    for (target, device) in [
        ("n2", "by_list_n2"),
        ("n3", "by_map_n3"),
        ("n1", "by_list_n1"),
    ] {
        let from = lab.log().len();
        let out = h.fence(FenceRequest::new(0, target, "n1")).await.unwrap();
        assert_eq!(
            (out.result, out.devices),
            (FenceResult::Success, vec![device.to_string()])
        );
        assert_eq!(lab.actions_since(from), [format!("{target} ipmi off")]);
    }
    let none = h.fence(FenceRequest::new(0, "n7", "n1")).await.unwrap();
    assert_eq!(none.result, FenceResult::NoDevice);
    assert_eq!(lab.log().len(), 3, "nothing else was powered off");
}

#[tokio::test]
async fn level_two_ilo_fences_when_level_one_ipmi_fails() {
    let name = "level_two_ilo_fences_when_level_one_ipmi_fails";
    if !lab_available(name) {
        return;
    }
    let lab = Lab::up("topology", &["n1", "n2"]);
    let agents = agents().await;
    let devices = vec![
        lab.ipmi(
            "ipmi_n2",
            "n2",
            &[("power_wait", "0"), ("pcmk_host_list", "n2")],
        ),
        // The level-2 delay gives the test time to end the injected failure
        // once level 1 has failed (both devices of a lab node fail together).
        lab.ilo(
            "ilo_n2",
            "n2",
            &[
                ("power_wait", "0"),
                ("pcmk_host_list", "n2"),
                ("pcmk_delay_base", "2s"),
            ],
        ),
    ];
    let mut cfg: FencerConfig = config("n1", devices, &[("stonith-action", "off")], &agents);
    cfg.levels = vec![
        FencingLevel {
            index: 1,
            target: LevelTarget::Node("n2".into()),
            devices: vec!["ipmi_n2".into()],
        },
        FencingLevel {
            index: 2,
            target: LevelTarget::Node("n2".into()),
            devices: vec!["ilo_n2".into()],
        },
    ];
    lab.fail("n2", "error");
    let h = FencerHandle::spawn(cfg, 1, AgentRunner::default());
    let mut events = h.subscribe();
    let fence = tokio::spawn({
        let h = h.clone();
        async move { h.fence(FenceRequest::new(0, "n2", "n1")).await.unwrap() }
    });
    // Level 1: fence_ipmilan tried twice (pcmk_off_retries=2), both fail.
    for _ in 0..2 {
        let (device, exit) = wait_event(&mut events, 30, |e| match e {
            FencerEvent::AgentFinished {
                device, outcome, ..
            } => Some((device.clone(), outcome.exit_code)),
            _ => None,
        })
        .await;
        assert_eq!((device.as_str(), exit), ("ipmi_n2", Some(1)));
    }
    lab.fail("n2", "none");
    let out = fence.await.unwrap();
    assert_eq!(
        (out.result, out.devices),
        (FenceResult::Success, vec!["ilo_n2".to_string()])
    );
    let from_ilo: Vec<String> = lab
        .log()
        .iter()
        .filter(|a| a.result == "ok")
        .map(|a| format!("{} {} {}", a.node, a.device, a.action))
        .collect();
    assert_eq!(from_ilo, ["n2 ilo off"]);
    assert_eq!(lab.power("n2"), "off");
}

#[tokio::test]
async fn a_hanging_bmc_hits_the_timeout_and_the_next_attempt_fences() {
    let name = "a_hanging_bmc_hits_the_timeout_and_the_next_attempt_fences";
    if !lab_available(name) {
        return;
    }
    let lab = Lab::up("hang", &["n1", "n2"]);
    let agents = agents().await;
    let devices = vec![lab.ipmi(
        "ipmi_n2",
        "n2",
        &[
            ("power_wait", "0"),
            ("pcmk_host_list", "n2"),
            ("pcmk_off_timeout", "3s"),
        ],
    )];
    let h = FencerHandle::spawn(
        config("n1", devices, &[("stonith-action", "off")], &agents),
        1,
        AgentRunner::default(),
    );
    let mut events = h.subscribe();
    lab.fail("n2", "hang");
    let t = Instant::now();
    let first = h.fence(FenceRequest::new(0, "n2", "n1")).await.unwrap();
    let took = t.elapsed();
    assert!(
        matches!(&first.result, FenceResult::Failed(r) if r.contains("timed out")),
        "{:?}",
        first.result
    );
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(3 + 4),
        "{took:?}"
    );
    let timed_out = wait_event(&mut events, 1, |e| match e {
        FencerEvent::AgentFinished { outcome, .. } => Some(outcome.timed_out),
        _ => None,
    })
    .await;
    assert!(timed_out);
    assert_eq!(h.failures("n2").await.unwrap(), 1);
    lab.fail("n2", "none");
    let second = h.fence(FenceRequest::new(0, "n2", "n1")).await.unwrap();
    assert_eq!(second.result, FenceResult::Success);
    assert_eq!(lab.power("n2"), "off");
    assert_eq!(h.failures("n2").await.unwrap(), 0);
    let attempts: Vec<(u32, HistoryState)> = h
        .history()
        .await
        .unwrap()
        .iter()
        .map(|e| (e.attempt, e.state))
        .collect();
    assert_eq!(
        attempts,
        [(1, HistoryState::Failed), (2, HistoryState::Done)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_shows_in_ps_or_in_logs() {
    let name = "the_password_never_shows_in_ps_or_in_logs";
    if !lab_available(name) {
        return;
    }
    let logs = logs();
    let lab = Lab::up("secret", &["n1", "n2"]);
    let agents = agents().await;
    let devices = vec![
        lab.ipmi(
            "ipmi_n1",
            "n1",
            &[("pcmk_host_list", "n1"), ("power_wait", "0")],
        ),
        lab.ilo(
            "ilo_n2",
            "n2",
            &[("pcmk_host_list", "n2"), ("power_wait", "0")],
        ),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let saw_agent = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let stop = stop.clone();
        let saw_agent = saw_agent.clone();
        async move {
            let (mut seen, mut polls, mut agent_seen) = (Vec::new(), 0, false);
            while !stop.load(Ordering::Relaxed) {
                let out = tokio::process::Command::new("ps")
                    .args(["-eo", "args"])
                    .output()
                    .await
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                agent_seen |= text.contains("fence_ilo_ssh") || text.contains("fence_ipmilan");
                saw_agent.store(agent_seen, Ordering::Relaxed);
                // fence_ipmilan itself hands the password to its ipmitool
                // child as `-P` (with Pacemaker too): that exposure is the
                // agent's; what warden starts must never show it.
                seen.extend(
                    text.lines()
                        .filter(|l| l.contains(LAB_PASSWORD))
                        .filter(|l| {
                            !l.trim_start().starts_with("ipmitool ") && !l.contains("/ipmitool ")
                        })
                        .map(str::to_string),
                );
                polls += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (seen, polls, agent_seen)
        }
    });
    let h = FencerHandle::spawn(
        config("n3", devices, &[], &agents),
        1,
        AgentRunner::default(),
    );
    assert_eq!(h.monitor("ilo_n2").await.unwrap(), Ok(()));
    assert_eq!(
        h.fence(FenceRequest::new(0, "n2", "n3"))
            .await
            .unwrap()
            .result,
        FenceResult::Success
    );
    assert_eq!(
        h.fence(FenceRequest::new(0, "n1", "n3"))
            .await
            .unwrap()
            .result,
        FenceResult::Success
    );
    // On a fast or loaded host the agents may finish between two `ps`
    // samples: run more non-destructive monitors until one was seen.
    for _ in 0..20 {
        if saw_agent.load(Ordering::Relaxed) {
            break;
        }
        assert_eq!(h.monitor("ilo_n2").await.unwrap(), Ok(()));
        assert_eq!(h.monitor("ipmi_n1").await.unwrap(), Ok(()));
    }
    let history = format!("{:?}", h.history().await.unwrap());
    stop.store(true, Ordering::Relaxed);
    let (seen, polls, agent_seen) = watcher.await.unwrap();
    assert!(
        polls > 5 && agent_seen,
        "ps saw the agents run ({polls} polls)"
    );
    assert!(seen.is_empty(), "password visible in ps: {seen:?}");
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("running fence agent") && text.contains("ilo_n2"),
        "logs were captured"
    );
    assert!(!text.contains(LAB_PASSWORD), "password in the logs");
    assert!(!history.contains(LAB_PASSWORD));
}
