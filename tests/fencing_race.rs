//! The two-node fencing race, decided. Two fencers, one per node, each its
//! own process (this test binary started again as `race_node_process`),
//! fence each other at the same instant, as in a 1|1 split of a two-node
//! cluster, with the real `fence_ipmilan` against fencelab's BMCs. The
//! lab's power hook kills a node's fencer (its whole session, agents
//! included) when the node is powered off, as a real power-off would. Over
//! many repetitions of each race-breaking configuration the fence log must
//! show exactly one `off`, always for the node the configuration says.
//! Root only; each configuration has its own lab.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use warden::core::fencer::{
    priority_fencing_delay_ms, race_protection_warnings, AgentInfo, FenceRequest, FenceResult,
    FencerConfig, NodePriority, RequestedDelay,
};
use warden::shell::fence_agents::{parse_metadata, AgentRunner};
use warden::shell::fencing::{FencerEvent, FencerHandle};

mod fencing_support;
use fencing_support::{config, lab_available, Lab};

const NODES: [&str; 2] = ["n1", "n2"];
const MARK: &str = "WARDEN-RACE ";

type Params = Vec<(&'static str, &'static str)>;

fn node_names() -> Vec<String> {
    NODES.iter().map(|n| n.to_string()).collect()
}

/// Repetitions per configuration (`WARDEN_RACE_REPS` to change).
fn reps() -> usize {
    std::env::var("WARDEN_RACE_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// The operators' guide: agent `delay` 30 and 15, scaled to 2 and 1.
    Guide,
    /// `pcmk_delay_base` in its per-node form, protecting n2.
    DelayBase,
    /// `priority-fencing-delay`: n1 runs the resources and wins.
    Priority,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Guide => "guide",
            Scenario::DelayBase => "delay-base",
            Scenario::Priority => "priority",
        }
    }

    fn parse(s: &str) -> Scenario {
        match s {
            "guide" => Scenario::Guide,
            "delay-base" => Scenario::DelayBase,
            "priority" => Scenario::Priority,
            other => panic!("unknown race scenario {other}"),
        }
    }

    /// The node the configuration says must be fenced.
    fn victim(self) -> &'static str {
        match self {
            Scenario::Guide => "n2",
            Scenario::DelayBase => "n1",
            Scenario::Priority => "n2",
        }
    }

    /// The cluster's fencing configuration, the same on both nodes.
    fn config(self, lab: &Lab, local: &str, agents: &BTreeMap<String, AgentInfo>) -> FencerConfig {
        let fast = [("power_wait", "0")];
        let (d1, d2, props): (Params, Params, Params) = match self {
            // fence_n1 fences n1 and waits longer: n1 survives.
            Scenario::Guide => (vec![("delay", "2")], vec![("delay", "1")], vec![]),
            // Fencing n2 waits 2 s whichever device does it: n2 survives.
            Scenario::DelayBase => (
                vec![("pcmk_delay_base", "n1:0s;n2:2s")],
                vec![("pcmk_delay_base", "n1:0s;n2:2s")],
                vec![],
            ),
            Scenario::Priority => (vec![], vec![], vec![("priority-fencing-delay", "2s")]),
        };
        let with = |list: Vec<(&'static str, &'static str)>, host: &'static str| {
            let mut p = vec![("pcmk_host_list", host)];
            p.extend(list);
            p.extend(fast);
            p
        };
        let devices = vec![
            lab.ipmi("fence_n1", "n1", &with(d1, "n1")),
            lab.ipmi("fence_n2", "n2", &with(d2, "n2")),
        ];
        config(local, devices, &props, agents)
    }

    /// The request each node's controller makes for its lost peer.
    fn request(self, cfg: &FencerConfig, local: &str, peer: &str) -> FenceRequest {
        let mut r = FenceRequest::new(0, peer, local);
        // n1 runs the resources (priority 10), n2 nothing; the peer is lost.
        let nodes: Vec<NodePriority> = NODES
            .iter()
            .map(|n| NodePriority {
                name: n.to_string(),
                member: true,
                online: *n == local,
                priority: if *n == "n1" { 10 } else { 0 },
            })
            .collect();
        r.delay = RequestedDelay::Ms(priority_fencing_delay_ms(&cfg.options, peer, &nodes));
        r
    }
}

/// One node's fencer: started by the race tests with `WARDEN_RACE_NODE`
/// set. It loads its configuration, says READY, fences its peer on GO and
/// reports the outcome; the power hook kills it if its own node goes off.
#[test]
fn race_node_process() {
    let Ok(node) = std::env::var("WARDEN_RACE_NODE") else {
        eprintln!(
            "SKIP race_node_process: only runs as a node's fencer, started by the race tests"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(node_main(node));
    std::process::exit(code);
}

async fn node_main(node: String) -> i32 {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let scenario = Scenario::parse(&env("WARDEN_RACE_SCENARIO"));
    let peer = env("WARDEN_RACE_PEER");
    let lab = Lab::attach(env("FENCELAB_DIR").into(), env("FENCELAB_NET"), &NODES);
    let xml = std::fs::read_to_string(lab.dir.join("fence_ipmilan.xml")).unwrap();
    let agents: BTreeMap<String, AgentInfo> = [(
        "fence_ipmilan".to_string(),
        parse_metadata(&xml).unwrap().info(),
    )]
    .into();
    let cfg = scenario.config(&lab, &node, &agents);
    let req = scenario.request(&cfg, &node, &peer);
    let h = FencerHandle::spawn(cfg, std::process::id() as u64, AgentRunner::default());
    let mut events = h.subscribe();
    println!("{MARK}READY");
    let mut line = String::new();
    let mut stdin = BufReader::new(tokio::io::stdin());
    stdin.read_line(&mut line).await.unwrap();
    assert_eq!(line.trim(), "GO");
    let out = h.fence(req).await.unwrap();
    println!("{MARK}DONE {:?}", out.result);
    if out.result != FenceResult::Success {
        return 1;
    }
    // Stay for the power-on half, as a surviving node's fencer would.
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Ok(FencerEvent::PoweredOn { .. })) | Err(_) => return 0,
            Ok(Ok(_)) => continue,
            Ok(Err(_)) => return 0,
        }
    }
}

/// The lab's power hook: a node that loses power loses its fencer, and the
/// agents its fencer runs (everything in that fencer's session).
const HOOK: &str = r#"#!/bin/bash
case "$1" in off|reset|soft)
  f="$FENCELAB_DIR/fencers/$2.sid"
  [ -f "$f" ] || exit 0
  sid=$(cat "$f")
  for p in $(ps -eo pid=,sid= | awk -v s="$sid" '$2 == s {print $1}'); do kill -KILL "$p" 2>/dev/null; done ;;
esac
exit 0
"#;

fn kill_session(sid: u32) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // Fields after the command name: state ppid pgrp session ...
        let fields: Vec<&str> = stat
            .rsplit_once(") ")
            .map(|x| x.1)
            .unwrap_or("")
            .split(' ')
            .collect();
        if fields.get(3) == Some(&sid.to_string().as_str()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

struct NodeProc {
    child: Child,
    sid: u32,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        kill_session(self.sid);
    }
}

fn start_node(lab: &Lab, scenario: Scenario, node: &str, peer: &str) -> NodeProc {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "race_node_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("WARDEN_RACE_NODE", node)
    .env("WARDEN_RACE_PEER", peer)
    .env("WARDEN_RACE_SCENARIO", scenario.name())
    .env("FENCELAB_DIR", &lab.dir)
    .env("FENCELAB_NET", &lab.net)
    .env("RUST_BACKTRACE", "0")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    // Its own session: the node's fencer and the agents it starts (each in
    // a process group of its own) share it, so the hook can kill them all.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = cmd.spawn().unwrap();
    let sid = child.id().unwrap();
    std::fs::write(lab.dir.join(format!("fencers/{node}.sid")), sid.to_string()).unwrap();
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    tokio::spawn(async move {
        let mut r = BufReader::new(stdout).lines();
        while let Ok(Some(l)) = r.next_line().await {
            // The harness may have printed "test ... " on the same line.
            if let Some(i) = l.find(MARK) {
                let _ = tx.send(l[i + MARK.len()..].to_string());
            }
        }
    });
    NodeProc { child, sid, lines }
}

async fn expect_line(p: &mut NodeProc, prefix: &str) -> Result<String, String> {
    match tokio::time::timeout(Duration::from_secs(30), p.lines.recv()).await {
        Ok(Some(l)) if l.starts_with(prefix) => Ok(l),
        other => Err(format!("expected {prefix}, got {other:?}")),
    }
}

/// One repetition: returns the power actions it caused, or what went wrong.
async fn one_race(lab: &Lab, scenario: Scenario) -> Result<Vec<String>, String> {
    for n in NODES {
        if lab.power(n) != "on" {
            lab.set_power(n, "on");
        }
    }
    let from = lab.log().len();
    let mut a = start_node(lab, scenario, "n1", "n2");
    let mut b = start_node(lab, scenario, "n2", "n1");
    expect_line(&mut a, "READY").await?;
    expect_line(&mut b, "READY").await?;
    // Both at the same instant.
    let (ia, ib) = (
        a.child.stdin.as_mut().unwrap(),
        b.child.stdin.as_mut().unwrap(),
    );
    let (ra, rb) = tokio::join!(ia.write_all(b"GO\n"), ib.write_all(b"GO\n"));
    ra.map_err(|e| e.to_string())?;
    rb.map_err(|e| e.to_string())?;
    let limit = Duration::from_secs(40);
    let sa = tokio::time::timeout(limit, a.child.wait())
        .await
        .map_err(|_| "n1's fencer did not finish".to_string())?;
    let sb = tokio::time::timeout(limit, b.child.wait())
        .await
        .map_err(|_| "n2's fencer did not finish".to_string())?;
    let (winner, loser) = if scenario.victim() == "n2" {
        (sa, sb)
    } else {
        (sb, sa)
    };
    let winner = winner.map_err(|e| e.to_string())?;
    let loser = loser.map_err(|e| e.to_string())?;
    use std::os::unix::process::ExitStatusExt;
    if !winner.success() {
        return Err(format!("the survivor's fencer failed: {winner:?}"));
    }
    if loser.signal() != Some(9) {
        return Err(format!(
            "the victim's fencer was not killed with its node: {loser:?}"
        ));
    }
    Ok(lab.actions_since(from))
}

async fn race(test: &str, scenario: Scenario) {
    if !lab_available(test) {
        return;
    }
    let lab = Lab::up(scenario.name(), &NODES);
    std::fs::create_dir_all(lab.dir.join("fencers")).unwrap();
    let meta = AgentRunner::default()
        .metadata("fence_ipmilan")
        .await
        .unwrap();
    let xml = tokio::process::Command::new("/usr/sbin/fence_ipmilan")
        .args(["-o", "metadata"])
        .output()
        .await
        .unwrap()
        .stdout;
    std::fs::write(lab.dir.join("fence_ipmilan.xml"), xml).unwrap();
    let hook = lab.dir.join("race-hook");
    std::fs::write(&hook, HOOK).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    lab.run(&["hook", &hook.display().to_string()]);

    let agents: BTreeMap<String, AgentInfo> = [("fence_ipmilan".to_string(), meta.info())].into();
    let cfg = scenario.config(&lab, "n1", &agents);
    assert_eq!(
        race_protection_warnings(&cfg.devices, &cfg.options, &node_names()),
        Vec::<String>::new(),
        "the configuration protects against the race"
    );

    let n = reps();
    let mut problems = Vec::new();
    let mut victims: BTreeMap<String, usize> = BTreeMap::new();
    let started = std::time::Instant::now();
    for rep in 1..=n {
        match one_race(&lab, scenario).await {
            Ok(actions) => {
                let offs: Vec<&String> = actions.iter().filter(|a| a.ends_with(" off")).collect();
                if offs.len() != 1 || !offs[0].starts_with(&format!("{} ", scenario.victim())) {
                    problems.push(format!("rep {rep}: power actions {actions:?}"));
                }
                for o in offs {
                    *victims.entry(o.clone()).or_default() += 1;
                }
            }
            Err(e) => problems.push(format!("rep {rep}: {e}")),
        }
    }
    eprintln!(
        "race {}: {n} repetitions in {:.0} s; offs: {victims:?}",
        scenario.name(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "race {}:\n{}",
        scenario.name(),
        problems.join("\n")
    );
    assert_eq!(victims.len(), 1);
    assert_eq!(victims.values().sum::<usize>(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_race_guide_delays_fence_n2_every_time() {
    race(
        "fencing_race_guide_delays_fence_n2_every_time",
        Scenario::Guide,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_race_pcmk_delay_base_fences_n1_every_time() {
    race(
        "fencing_race_pcmk_delay_base_fences_n1_every_time",
        Scenario::DelayBase,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_race_priority_fencing_delay_fences_n2_every_time() {
    race(
        "fencing_race_priority_fencing_delay_fences_n2_every_time",
        Scenario::Priority,
    )
    .await;
}

#[test]
fn a_two_node_cluster_without_delays_is_warned_about() {
    let lab = Lab::attach("/nonexistent".into(), "127.0.0".into(), &NODES);
    let devices = vec![
        lab.ipmi("fence_n1", "n1", &[("pcmk_host_list", "n1")]),
        lab.ipmi("fence_n2", "n2", &[("pcmk_host_list", "n2")]),
    ];
    let cfg = config("n1", devices, &[], &BTreeMap::new());
    let w = race_protection_warnings(&cfg.devices, &cfg.options, &node_names());
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("priority-fencing-delay"));
}
