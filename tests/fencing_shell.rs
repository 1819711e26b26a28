//! The fence agent shell and the fencer driver against warden's simulated
//! agent (`fencing/fence_warden_dummy`): real processes, stdin parameters,
//! timeouts that kill the process group, metadata, device tests, and whole
//! fencing operations through `FencerHandle`. Needs only python3.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use warden::core::fencer::{
    AgentArgs, FenceAction, FenceDevice, FenceRequest, FenceResult, FencerConfig, HistoryState,
    PowerOn,
};
use warden::shell::fence_agents::{test_device, AgentRunner, TestAction, TestAnswer};
use warden::shell::fencing::{FencerEvent, FencerHandle};

mod fencing_support;
use fencing_support::logs;

const SECRET: &str = "Pw-9f3kq-dummy";

fn agent_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fencing")
}

fn have_python(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP {test}: python3 is not installed");
    }
    ok
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("warden-fencing-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> String {
        self.0.display().to_string()
    }
    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.0.join("log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split_once(' ').map(|x| x.1).unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dummy(id: &str, state: &TempDir, params: &[(&str, &str)]) -> FenceDevice {
    let state_dir = state.path();
    let mut all = vec![("state_dir", state_dir.as_str()), ("password", SECRET)];
    all.extend_from_slice(params);
    FenceDevice::new(id, "fence_warden_dummy", &all)
}

async fn config(devices: Vec<FenceDevice>, props: &[(&str, &str)]) -> FencerConfig {
    let runner = AgentRunner::new(agent_dir());
    let (agents, errors) = runner.agent_infos(["fence_warden_dummy"]).await;
    assert!(errors.is_empty(), "{errors:?}");
    fencing_support::config("n1", devices, props, &agents)
}

fn args(pairs: &[(&str, &str)]) -> AgentArgs {
    AgentArgs(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn alive(pid: i32) -> bool {
    // A killed orphan may stay a zombie here (PID 1 need not reap): not alive.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn agents_run_with_stdin_and_exit_codes_mean_what_agents_say() {
    if !have_python("agents_run_with_stdin_and_exit_codes_mean_what_agents_say") {
        return;
    }
    let state = TempDir::new("codes");
    let runner = AgentRunner::new(agent_dir());
    let sd = state.path();
    let run = |action: &'static str| {
        let a = args(&[
            ("action", action),
            ("plug", "n2"),
            ("state_dir", &sd),
            ("password", SECRET),
        ]);
        let r = runner.clone();
        async move {
            r.run("fence_warden_dummy", &a, Duration::from_secs(10))
                .await
                .unwrap()
        }
    };
    assert_eq!(run("status").await.exit_code, Some(0));
    let off = run("off").await;
    assert_eq!(
        (off.exit_code, off.stdout.as_str()),
        (Some(0), "Success: Powered OFF\n")
    );
    assert_eq!(run("status").await.exit_code, Some(2));
    assert_eq!(run("on").await.exit_code, Some(0));
    assert_eq!(state.log(), ["n2 off", "n2 on"]);
    let bad = runner
        .run(
            "fence_warden_dummy",
            &args(&[("action", "off"), ("fail", "error")]),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        bad.outcome().reason.as_deref(),
        Some("agent exited with 1: Failed: injected device error")
    );
    assert_eq!(runner.list_agents().unwrap(), ["fence_warden_dummy"]);
}

#[tokio::test]
async fn a_hanging_agent_is_killed_with_its_process_group_at_the_timeout() {
    if !have_python("a_hanging_agent_is_killed_with_its_process_group_at_the_timeout") {
        return;
    }
    let state = TempDir::new("hang");
    let runner = AgentRunner::new(agent_dir());
    let a = args(&[
        ("action", "off"),
        ("plug", "n2"),
        ("state_dir", &state.path()),
        ("fail", "hang"),
    ]);
    let t = Instant::now();
    let out = runner
        .run("fence_warden_dummy", &a, Duration::from_millis(1500))
        .await
        .unwrap();
    let took = t.elapsed();
    assert!(out.timed_out && out.exit_code.is_none(), "{out:?}");
    assert!(
        took >= Duration::from_millis(1500)
            && took < Duration::from_millis(1500) + Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        out.outcome()
            .reason
            .map(|r| r.starts_with("timed out after")),
        Some(true)
    );
    let pids =
        std::fs::read_to_string(state.0.join("hang.pids")).expect("the agent started and hung");
    for pid in pids.split_whitespace().map(|p| p.parse::<i32>().unwrap()) {
        assert!(
            !alive(pid),
            "process {pid} of the timed-out agent is still running"
        );
    }
}

#[tokio::test]
async fn metadata_and_device_tests() {
    if !have_python("metadata_and_device_tests") {
        return;
    }
    let state = TempDir::new("meta");
    let runner = AgentRunner::new(agent_dir());
    let meta = runner.metadata("fence_warden_dummy").await.unwrap();
    assert_eq!(meta.name, "fence_warden_dummy");
    assert!(meta.supports("list") && meta.parameter("port").unwrap().deprecated);
    let info = meta.info();
    let dev = dummy("d", &state, &[("hosts", "n1,n2")]);
    let t = Duration::from_secs(10);
    assert_eq!(
        test_device(
            &runner,
            &dev,
            Some(&info),
            TestAction::Status,
            Some("n2"),
            t
        )
        .await
        .unwrap(),
        TestAnswer::PowerOn
    );
    assert_eq!(
        test_device(&runner, &dev, Some(&info), TestAction::Monitor, None, t)
            .await
            .unwrap(),
        TestAnswer::Reachable
    );
    assert_eq!(
        test_device(&runner, &dev, Some(&info), TestAction::List, None, t)
            .await
            .unwrap(),
        TestAnswer::Hosts(vec!["n1,".into(), "n2,".into()])
    );
    let broken = dummy("d", &state, &[("fail", "error")]);
    assert_eq!(
        test_device(
            &runner,
            &broken,
            Some(&info),
            TestAction::Status,
            Some("n2"),
            t
        )
        .await
        .unwrap()
        .to_string(),
        "failed: agent exited with 1: Failed: injected device error"
    );
    assert!(state.log().is_empty(), "device tests never change power");
}

#[tokio::test]
async fn fencing_through_the_driver_declares_the_node_fenced_once_off_is_confirmed() {
    if !have_python("fencing_through_the_driver_declares_the_node_fenced_once_off_is_confirmed") {
        return;
    }
    let logs = logs();
    let state = TempDir::new("driver");
    let cfg = config(
        vec![
            dummy("fence_n1", &state, &[("pcmk_host_list", "n1")]),
            dummy(
                "fence_n2",
                &state,
                &[("pcmk_host_map", "n2:plug-2"), ("power_wait", "1")],
            ),
        ],
        &[],
    )
    .await;
    let h = FencerHandle::spawn(cfg, 1, AgentRunner::new(agent_dir()));
    let mut events = h.subscribe();
    let t = Instant::now();
    let out = h.fence(FenceRequest::new(0, "n2", "n1")).await.unwrap();
    let fenced_after = t.elapsed();
    assert_eq!(
        (out.result, out.devices, out.action),
        (
            FenceResult::Success,
            vec!["fence_n2".to_string()],
            FenceAction::Reboot
        )
    );
    // Off (1 s power_wait) is confirmed before the on (another second) ends.
    assert_eq!(state.log(), ["plug-2 off"]);
    loop {
        match tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            FencerEvent::PoweredOn { result, .. } => {
                assert_eq!(result, Ok(()));
                break;
            }
            _ => continue,
        }
    }
    assert!(t.elapsed() > fenced_after + Duration::from_millis(900));
    assert_eq!(state.log(), ["plug-2 off", "plug-2 on"]);
    let h1 = &h.history().await.unwrap()[0];
    assert_eq!(
        (h1.state, h1.power_on.clone(), h1.target.as_str()),
        (HistoryState::Done, Some(PowerOn::Done), "n2")
    );
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("running fence agent"), "logging is on");
    assert!(!text.contains(SECRET), "a password was logged");
}

#[tokio::test]
async fn a_timed_out_device_is_killed_and_the_next_device_fences() {
    if !have_python("a_timed_out_device_is_killed_and_the_next_device_fences") {
        return;
    }
    let state = TempDir::new("next");
    let mut hung = dummy(
        "a_hung",
        &state,
        &[
            ("pcmk_host_list", "n2"),
            ("fail", "hang"),
            ("pcmk_off_timeout", "1s"),
        ],
    );
    hung.priority = 10;
    let good = dummy("b_good", &state, &[("pcmk_host_list", "n2")]);
    let cfg = config(vec![hung, good], &[("stonith-action", "off")]).await;
    let h = FencerHandle::spawn(cfg, 1, AgentRunner::new(agent_dir()));
    let mut events = h.subscribe();
    let out = h.fence(FenceRequest::new(0, "n2", "n1")).await.unwrap();
    assert_eq!(
        (out.result, out.devices),
        (FenceResult::Success, vec!["b_good".to_string()])
    );
    let mut finished = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let FencerEvent::AgentFinished {
            device, outcome, ..
        } = e
        {
            finished.push((device, outcome.timed_out, outcome.exit_code));
        }
    }
    assert_eq!(
        finished,
        [
            ("a_hung".to_string(), true, None),
            ("b_good".to_string(), false, Some(0))
        ]
    );
    let pids = std::fs::read_to_string(state.0.join("hang.pids")).unwrap();
    for pid in pids.split_whitespace().map(|p| p.parse::<i32>().unwrap()) {
        assert!(
            !alive(pid),
            "process {pid} of the hung agent is still running"
        );
    }
}

#[tokio::test]
async fn dynamic_list_selects_the_device_and_a_failed_operation_counts_an_attempt() {
    if !have_python("dynamic_list_selects_the_device_and_a_failed_operation_counts_an_attempt") {
        return;
    }
    let state = TempDir::new("list");
    let cfg = config(
        vec![
            dummy("pdu_a", &state, &[("hosts", "n1,n3")]),
            dummy("pdu_b", &state, &[("hosts", "n2,n4")]),
        ],
        &[("stonith-action", "off"), ("stonith-max-attempts", "1")],
    )
    .await;
    let h = FencerHandle::spawn(cfg, 1, AgentRunner::new(agent_dir()));
    let out = h.fence(FenceRequest::new(0, "n4", "n1")).await.unwrap();
    assert_eq!(
        (out.result, out.devices),
        (FenceResult::Success, vec!["pdu_b".to_string()])
    );
    assert_eq!(state.log(), ["n4 off"]);
    let out = h.fence(FenceRequest::new(0, "n9", "n1")).await.unwrap();
    assert_eq!(out.result, FenceResult::NoDevice);
    assert_eq!(h.failures("n9").await.unwrap(), 1);
    let out = h.fence(FenceRequest::new(0, "n9", "n1")).await.unwrap();
    assert_eq!(out.result, FenceResult::TooManyAttempts(1));
    let attempts: Vec<(String, u32)> = h
        .history()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.target, e.attempt))
        .collect();
    assert_eq!(
        attempts,
        [
            ("n4".to_string(), 1),
            ("n9".to_string(), 1),
            ("n9".to_string(), 2)
        ]
    );
}
