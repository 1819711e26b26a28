//! The executor against real agents: Debian's resource-agents (Dummy,
//! IPaddr2 in a network namespace of its own), the lab's OCF and LSB
//! fixtures, agents written here for failure paths, and systemd units on a
//! private systemd manager (`../shared/lab/systemd/sdlab`).
//!
//! Tests that need root, an installed agent or the lab print one
//! `SKIP <test>: <reason>` line and return. Everything created here has a
//! name with this process's id in it and is removed by a guard on drop.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use warden::core::action::{ActionRequest, AgentRef, ExecStatus, Standard};
use warden::shell::agents::{self, Severity};
use warden::shell::executor::{
    self, run_once, BusAddress, Executor, ExecutorConfig, ExecutorEvent, RunOptions, RunReport,
};

const SHARED_LAB: &str = "../shared/lab";

// ---------------------------------------------------------------- helpers

fn skip(test: &str, reason: &str) {
    // Straight to the stderr handle: the test harness captures eprintln!,
    // and a skip must be visible.
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {reason}");
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A directory removed (with its contents) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique(&format!("wdx-{tag}-")));
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A test that failed half-way may have left a daemon running: kill
        // what a pidfile here names, if it is our (adopted) child.
        kill_pidfile_children(&self.0);
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn kill_pidfile_children(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            kill_pidfile_children(&path);
        } else if path.extension().is_some_and(|e| e == "pid") {
            let pid = fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok());
            if let Some(pid) = pid.filter(|p| ppid_of(*p) == Some(std::process::id())) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::SIGKILL,
                );
            }
        }
    }
}

fn write_script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = fs::File::create(path).unwrap();
    f.write_all(body.as_bytes()).unwrap();
    drop(f);
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn shared(rel: &str) -> Option<PathBuf> {
    fs::canonicalize(Path::new(SHARED_LAB).join(rel)).ok()
}

/// An OCF root of our own: the heartbeat agents and their shell library
/// linked in, the lab fixture as `ocf:sdlab:sdlab-fixture`, and test agents
/// under provider `wdx`.
struct OcfRoot {
    dir: TempDir,
}

impl OcfRoot {
    fn new() -> OcfRoot {
        let dir = TempDir::new("ocf");
        let rd = dir.path().join("resource.d");
        fs::create_dir_all(rd.join("sdlab")).unwrap();
        fs::create_dir_all(rd.join("wdx")).unwrap();
        let system = Path::new("/usr/lib/ocf");
        if system.join("resource.d/heartbeat").is_dir() {
            std::os::unix::fs::symlink(system.join("resource.d/heartbeat"), rd.join("heartbeat"))
                .unwrap();
        }
        if system.join("lib").is_dir() {
            std::os::unix::fs::symlink(system.join("lib"), dir.path().join("lib")).unwrap();
        }
        if let Some(fixture) = shared("ocf/agents/sdlab-fixture") {
            std::os::unix::fs::symlink(fixture, rd.join("sdlab/sdlab-fixture")).unwrap();
        }
        OcfRoot { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn has(&self, provider: &str, kind: &str) -> bool {
        self.path()
            .join("resource.d")
            .join(provider)
            .join(kind)
            .is_file()
    }

    fn add_agent(&self, kind: &str, body: &str) {
        write_script(&self.path().join("resource.d/wdx").join(kind), body);
    }

    fn config(&self, rsctmp: &Path) -> ExecutorConfig {
        ExecutorConfig {
            ocf_root: self.path().to_path_buf(),
            ha_rsctmp: Some(rsctmp.to_path_buf()),
            kill_grace_ms: 500,
            ..ExecutorConfig::default()
        }
    }
}

fn request(rsc: &str, agent: &str, action: &str, params: &[(&str, &str)]) -> ActionRequest {
    ActionRequest {
        rsc_id: rsc.to_string(),
        agent: AgentRef::parse(agent).unwrap(),
        action: action.to_string(),
        interval_ms: 0,
        timeout_ms: 20_000,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        meta: BTreeMap::new(),
        node: "n1".to_string(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn once(rt: &tokio::runtime::Runtime, cfg: &ExecutorConfig, req: ActionRequest) -> RunReport {
    rt.block_on(run_once(cfg.clone(), req, RunOptions::default()))
}

#[track_caller]
fn expect(report: &RunReport, rc: i32, status: ExecStatus) {
    assert_eq!(
        (report.result.rc, report.result.status),
        (rc, status),
        "{}: reason {:?}\nstdout:\n{}\nstderr:\n{}",
        report.command,
        report.result.exit_reason,
        report.stdout,
        report.stderr
    );
}

/// The daemon's process supervision, once for this test process: the
/// subreaper flag and a reaper on a runtime of its own that outlives any
/// one test.
fn supervise() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        executor::become_subreaper().expect("prctl(PR_SET_CHILD_SUBREAPER)");
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = executor::spawn_orphan_reaper().await;
            });
        });
    });
}

// Tests poll the OS for a condition from plain test threads; there is no
// runtime timer to hand this to.
#[allow(clippy::disallowed_methods)]
fn process_gone(pid: i32, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[allow(clippy::disallowed_methods)] // as above: polling from a test thread
fn read_pid(path: &Path, within: Duration) -> i32 {
    let until = Instant::now() + within;
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < until, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ppid_of(pid: i32) -> Option<u32> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

async fn next_event(
    rx: &mut mpsc::Receiver<ExecutorEvent>,
    within: Duration,
) -> Option<ExecutorEvent> {
    tokio::time::timeout(within, rx.recv()).await.ok().flatten()
}

// ---------------------------------------------------------------- OCF

#[test]
fn dummy_agent_lifecycle() {
    let root = OcfRoot::new();
    if !root.has("heartbeat", "Dummy") {
        return skip(
            "dummy_agent_lifecycle",
            "ocf:heartbeat:Dummy not installed (resource-agents)",
        );
    }
    let tmp = TempDir::new("dummy");
    let cfg = root.config(tmp.path());
    let rt = runtime();
    let state = tmp.path().join("d1.state");
    let state = state.to_str().unwrap();
    let op = |action: &str| request("d1", "ocf:heartbeat:Dummy", action, &[("state", state)]);

    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("start")), 0, ExecStatus::Done);
    assert!(Path::new(state).exists(), "Dummy got its state parameter");
    expect(&once(&rt, &cfg, op("monitor")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("start")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("validate-all")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("stop")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("stop")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("bogus-action")), 3, ExecStatus::Done);

    let md = once(&rt, &cfg, op("meta-data"));
    expect(&md, 0, ExecStatus::Done);
    let parsed = agents::parse_metadata(&md.stdout, "ocf:heartbeat:Dummy").unwrap();
    assert_eq!(parsed.name, "Dummy");
    assert!(parsed
        .parameters
        .iter()
        .any(|p| p.name == "state" && p.unique));
    let start = parsed.actions.iter().find(|a| a.name == "start").unwrap();
    assert_eq!(start.timeout_ms, Some(20_000));
}

#[test]
fn agent_environment_is_pacemakers() {
    let root = OcfRoot::new();
    root.add_agent(
        "envdump",
        "#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ > \"$OCF_RESKEY_dump\"\necho \"args: $#:$*\" >> \"$OCF_RESKEY_dump\"\nexit 0\n",
    );
    let tmp = TempDir::new("env");
    let cfg = root.config(&tmp.path().join("rsctmp"));
    let rt = runtime();
    let dump = tmp.path().join("env.txt");
    let mut req = request(
        "web:1",
        "ocf:wdx:envdump",
        "monitor",
        &[
            ("dump", dump.to_str().unwrap()),
            ("OCF_CHECK_LEVEL", "10"),
            ("with space", "a b"),
        ],
    );
    req.interval_ms = 15_000;
    req.timeout_ms = 12_345;
    req.meta = BTreeMap::from([
        ("clone-max".to_string(), "2".to_string()),
        ("globally-unique".to_string(), "false".to_string()),
    ]);
    expect(&once(&rt, &cfg, req), 0, ExecStatus::Done);
    let text = fs::read_to_string(&dump).unwrap();
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let root_path = root.path().to_str().unwrap();
    let rsctmp = tmp.path().join("rsctmp");
    let expected = [
        ("OCF_ROOT", root_path),
        ("OCF_RA_VERSION_MAJOR", "1"),
        ("OCF_RA_VERSION_MINOR", "1"),
        ("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:"),
        ("OCF_RESOURCE_INSTANCE", "web:1"),
        ("OCF_RESOURCE_TYPE", "envdump"),
        ("OCF_RESOURCE_PROVIDER", "wdx"),
        ("OCF_CHECK_LEVEL", "10"),
        ("OCF_RESKEY_CRM_meta_timeout", "12345"),
        ("OCF_RESKEY_CRM_meta_interval", "15000"),
        ("OCF_RESKEY_CRM_meta_name", "monitor"),
        ("OCF_RESKEY_CRM_meta_on_node", "n1"),
        ("OCF_RESKEY_CRM_meta_clone_max", "2"),
        ("OCF_RESKEY_CRM_meta_globally_unique", "false"),
        ("HA_RSCTMP", rsctmp.to_str().unwrap()),
    ];
    for (key, value) in expected {
        assert_eq!(env.get(key).copied(), Some(value), "{key} in\n{text}");
    }
    // The agent's environment as the executor passed it (read from /proc,
    // because a shell drops names that are not valid variable names).
    let ocf_vars: Vec<&str> = env
        .keys()
        .copied()
        .filter(|k| k.starts_with("OCF_"))
        .collect();
    assert_eq!(
        ocf_vars,
        [
            "OCF_CHECK_LEVEL",
            "OCF_EXIT_REASON_PREFIX",
            "OCF_RA_VERSION_MAJOR",
            "OCF_RA_VERSION_MINOR",
            "OCF_RESKEY_CRM_meta_clone_max",
            "OCF_RESKEY_CRM_meta_globally_unique",
            "OCF_RESKEY_CRM_meta_interval",
            "OCF_RESKEY_CRM_meta_name",
            "OCF_RESKEY_CRM_meta_on_node",
            "OCF_RESKEY_CRM_meta_timeout",
            "OCF_RESKEY_dump",
            "OCF_RESKEY_with space",
            "OCF_RESOURCE_INSTANCE",
            "OCF_RESOURCE_PROVIDER",
            "OCF_RESOURCE_TYPE",
            "OCF_ROOT",
        ],
        "no other OCF variables"
    );
    assert!(text.contains("OCF_RESKEY_with space=a b"), "{text}");
    assert!(
        text.contains("args: 1:monitor"),
        "only the action is an argument: {text}"
    );
}

#[test]
fn fixture_failure_paths() {
    let root = OcfRoot::new();
    if !root.has("sdlab", "sdlab-fixture") {
        return skip(
            "fixture_failure_paths",
            "../shared/lab/ocf/agents/sdlab-fixture not found",
        );
    }
    supervise();
    root.add_agent(
        "exitwith",
        "#!/bin/sh\necho out-line\necho 'ocf-exit-reason:first reason' >&2\necho 'ocf-exit-reason:final reason' >&2\nexit \"$OCF_RESKEY_rc\"\n",
    );
    let tmp = TempDir::new("fix");
    let cfg = root.config(tmp.path());
    let rt = runtime();
    let dir = tmp.path().to_str().unwrap();
    let fx = |action: &str, extra: &[(&str, &str)]| {
        let mut params = vec![("state_dir", dir)];
        params.extend_from_slice(extra);
        request("fx1", "ocf:sdlab:sdlab-fixture", action, &params)
    };

    let failed = once(&rt, &cfg, fx("start", &[("fail_start", "1")]));
    expect(&failed, 1, ExecStatus::Done);
    assert_eq!(
        failed.result.exit_reason.as_deref(),
        Some("start failure requested")
    );
    expect(&once(&rt, &cfg, fx("monitor", &[])), 7, ExecStatus::Done);
    for rc in [1, 5, 6, 8, 9, 190, 191] {
        let r = once(&rt, &cfg, fx("monitor", &[("monitor_rc", &rc.to_string())]));
        expect(&r, rc, ExecStatus::Done);
    }
    expect(&once(&rt, &cfg, fx("start", &[])), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, fx("monitor", &[])), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, fx("stop", &[])), 0, ExecStatus::Done);
    let bad = once(&rt, &cfg, fx("validate-all", &[("http_port", "eighty")]));
    expect(&bad, 6, ExecStatus::Done);
    assert_eq!(
        bad.result.exit_reason.as_deref(),
        Some("http_port must be a number")
    );

    // Codes outside the OCF range are generic errors; the last reason wins.
    for (code, mapped) in [("42", 1), ("193", 1), ("7", 7)] {
        let r = once(
            &rt,
            &cfg,
            request("x", "ocf:wdx:exitwith", "monitor", &[("rc", code)]),
        );
        expect(&r, mapped, ExecStatus::Done);
        assert_eq!(r.result.exit_reason.as_deref(), Some("final reason"));
        assert_eq!(r.stdout, "out-line\n");
        assert!(r.result.output.starts_with("out-line\n"));
        assert!(r.result.output.contains("ocf-exit-reason:final reason"));
    }
}

#[test]
fn missing_and_unrunnable_agents() {
    let root = OcfRoot::new();
    fs::write(
        root.path().join("resource.d/wdx/noexec"),
        "#!/bin/sh\nexit 0\n",
    )
    .unwrap();
    let tmp = TempDir::new("miss");
    let cfg = root.config(tmp.path());
    let rt = runtime();

    let r = once(&rt, &cfg, request("m", "ocf:wdx:nosuch", "start", &[]));
    expect(&r, 5, ExecStatus::NotInstalled);
    assert!(r
        .result
        .exit_reason
        .unwrap()
        .contains("resource.d/wdx/nosuch"));
    expect(
        &once(&rt, &cfg, request("m", "ocf:wdx:noexec", "start", &[])),
        4,
        ExecStatus::Error,
    );
    let r = once(&rt, &cfg, request("m", "ocf:wdx:..", "start", &[]));
    expect(&r, 5, ExecStatus::NotInstalled);

    let r = once(
        &rt,
        &cfg,
        request("f", "stonith:fence_wdx_nosuch", "start", &[]),
    );
    // A fence device's start runs its agent's monitor: a missing agent is
    // not installed, as for any other standard.
    expect(&r, 5, ExecStatus::NotInstalled);
    assert!(r.result.exit_reason.unwrap().contains("fence_wdx_nosuch"));
    let r = once(&rt, &cfg, request("u", "upstart:foo", "start", &[]));
    expect(&r, 5, ExecStatus::NotInstalled);
    assert!(r
        .result
        .exit_reason
        .unwrap()
        .contains("unknown resource standard 'upstart'"));

    let mut bad = request("b", "ocf:wdx:noexec", "start", &[]);
    bad.params.insert("a=b".into(), "1".into());
    let r = once(&rt, &cfg, bad);
    expect(&r, 6, ExecStatus::ErrorFatal);
    assert!(r.result.exit_reason.unwrap().contains("'a=b'"));
}

#[test]
fn ipaddr2_adds_the_address_in_a_namespace() {
    const T: &str = "ipaddr2_adds_the_address_in_a_namespace";
    let root = OcfRoot::new();
    if !root.has("heartbeat", "IPaddr2") {
        return skip(T, "ocf:heartbeat:IPaddr2 not installed (resource-agents)");
    }
    if !is_root() {
        return skip(T, "needs root for network namespaces");
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return skip(T, "ip (iproute2) not installed");
    }
    supervise();
    let ns = Netns::new();
    let tmp = TempDir::new("vip");
    let cfg = root.config(tmp.path());
    let rt = runtime();
    let vip = format!("{}.100", ns.net);
    let op = |action: &str| {
        request(
            "vip",
            "ocf:heartbeat:IPaddr2",
            action,
            &[
                ("ip", &vip),
                ("cidr_netmask", "24"),
                ("network_namespace", &ns.name),
            ],
        )
    };
    let has_vip = || {
        let out = Command::new("ip")
            .args(["-n", &ns.name, "-4", "addr", "show"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!("inet {vip}/24"))
    };

    expect(&once(&rt, &cfg, op("validate-all")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);
    assert!(!has_vip());
    expect(&once(&rt, &cfg, op("start")), 0, ExecStatus::Done);
    assert!(has_vip(), "IPaddr2 start added {vip} in {}", ns.name);
    expect(&once(&rt, &cfg, op("monitor")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("stop")), 0, ExecStatus::Done);
    assert!(!has_vip(), "IPaddr2 stop removed {vip}");
    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);

    let bad = once(
        &rt,
        &cfg,
        request(
            "vip",
            "ocf:heartbeat:IPaddr2",
            "validate-all",
            &[("ip", "notanip"), ("network_namespace", &ns.name)],
        ),
    );
    assert_eq!(bad.result.rc, 6, "{:?}", bad.result);
}

/// A network namespace with a veth pair and an address, deleted on drop.
struct Netns {
    name: String,
    net: String,
}

impl Netns {
    fn new() -> Netns {
        let name = unique("wdx");
        let net = format!("10.233.{}", std::process::id() % 250);
        let ip = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().unwrap();
            assert!(st.success(), "ip {args:?}");
        };
        ip(&["netns", "add", &name]);
        let ns = Netns { name, net };
        ip(&[
            "-n", &ns.name, "link", "add", "wdxa", "type", "veth", "peer", "name", "wdxb",
        ]);
        for dev in ["lo", "wdxa", "wdxb"] {
            ip(&["-n", &ns.name, "link", "set", dev, "up"]);
        }
        ip(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{}.1/24", ns.net),
            "dev",
            "wdxa",
        ]);
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes left in it (a stray send_arp) would keep it alive.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::SIGKILL,
                    );
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

// ---------------------------------------------------------------- LSB

#[test]
fn lsb_fixture_through_status_mapping() {
    let Some(fixture) = shared("ocf/lsb/sdlab-lsb-fixture") else {
        return skip(
            "lsb_fixture_through_status_mapping",
            "../shared/lab/ocf/lsb/sdlab-lsb-fixture not found",
        );
    };
    supervise();
    let tmp = TempDir::new("lsb");
    let lsb = tmp.path().join("init.d");
    let state = tmp.path().join("state");
    write_script(
        &lsb.join("wdx-lsb"),
        &format!(
            "#!/bin/sh\nSDLAB_LSB_STATE_DIR='{}' exec '{}' \"$@\"\n",
            state.display(),
            fixture.display()
        ),
    );
    write_script(
        &lsb.join("wdx-lsb-fail"),
        &format!(
            "#!/bin/sh\nSDLAB_LSB_START_FAIL=1 SDLAB_LSB_STATE_DIR='{}/f' exec '{}' \"$@\"\n",
            state.display(),
            fixture.display()
        ),
    );
    std::os::unix::fs::symlink(&fixture, lsb.join("sdlab-lsb-fixture")).unwrap();
    let cfg = ExecutorConfig {
        lsb_dir: lsb.clone(),
        kill_grace_ms: 500,
        ..ExecutorConfig::default()
    };
    let rt = runtime();
    let op = |action: &str| request("l1", "lsb:wdx-lsb", action, &[]);

    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);
    let started = once(&rt, &cfg, op("start"));
    expect(&started, 0, ExecStatus::Done);
    assert!(
        started.command.ends_with("wdx-lsb start"),
        "{}",
        started.command
    );
    let status = once(&rt, &cfg, op("monitor"));
    expect(&status, 0, ExecStatus::Done);
    assert!(
        status.command.ends_with("wdx-lsb status"),
        "monitor runs status: {}",
        status.command
    );
    expect(&once(&rt, &cfg, op("start")), 0, ExecStatus::Done);

    // Killed behind our back: "dead but pidfile exists" (1) is not running.
    // The wrapper execs the fixture, which names its pidfile after itself.
    let pid = read_pid(&state.join("sdlab-lsb-fixture.pid"), Duration::from_secs(2));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    assert!(
        process_gone(pid, Duration::from_secs(5)),
        "killed daemon reaped"
    );
    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("stop")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("monitor")), 7, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("stop")), 0, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("reload")), 3, ExecStatus::Done);
    expect(&once(&rt, &cfg, op("bogus")), 2, ExecStatus::Done);
    expect(
        &once(&rt, &cfg, request("l2", "lsb:wdx-lsb-fail", "start", &[])),
        1,
        ExecStatus::Done,
    );
    expect(
        &once(&rt, &cfg, request("l3", "lsb:nosuch", "monitor", &[])),
        5,
        ExecStatus::NotInstalled,
    );

    // Without systemd on the default bus path here, service: falls back to LSB.
    let cfg_nobus = ExecutorConfig {
        systemd_bus: BusAddress::Address(format!("unix:path={}/nobus", tmp.path().display())),
        ..cfg.clone()
    };
    let svc = once(
        &rt,
        &cfg_nobus,
        request("l4", "service:wdx-lsb", "monitor", &[]),
    );
    expect(&svc, 7, ExecStatus::Done);
    assert_eq!(svc.agent.standard, Standard::Lsb);

    let md = once(
        &rt,
        &cfg,
        request("l5", "lsb:sdlab-lsb-fixture", "meta-data", &[]),
    );
    expect(&md, 0, ExecStatus::Done);
    let parsed = agents::parse_metadata(&md.stdout, "lsb:sdlab-lsb-fixture").unwrap();
    assert_eq!(parsed.shortdesc, "sdlab LSB test fixture");
    assert!(
        parsed
            .longdesc
            .starts_with("Tiny LSB init script for executor tests."),
        "{}",
        parsed.longdesc
    );
    assert!(md.stdout.contains("<Provides>sdlab-lsb-fixture</Provides>"));

    let listed = rt
        .block_on(agents::agents(&cfg, &Standard::Lsb, None))
        .unwrap();
    let names: Vec<String> = listed.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        names,
        ["lsb:sdlab-lsb-fixture", "lsb:wdx-lsb", "lsb:wdx-lsb-fail"]
    );
}

// ---------------------------------------------------------------- processes

#[test]
fn timeout_kills_the_whole_process_group() {
    supervise();
    let root = OcfRoot::new();
    root.add_agent(
        "hang",
        "#!/bin/sh\nsleep 1000 &\necho $! > \"$OCF_RESKEY_dir/child\"\necho $$ > \"$OCF_RESKEY_dir/agent\"\necho started\nsleep 1000\n",
    );
    // Ignores SIGTERM (and so do its children, which inherit that).
    root.add_agent(
        "stubborn",
        "#!/bin/sh\ntrap '' TERM\nsleep 1000 &\necho $! > \"$OCF_RESKEY_dir/child\"\nsleep 1000\n",
    );
    // The agent dies on SIGTERM, a child it left in its group does not.
    root.add_agent(
        "straggler",
        "#!/bin/sh\n( trap '' TERM; exec sleep 1000 ) &\necho $! > \"$OCF_RESKEY_dir/child\"\nsleep 1000\n",
    );
    let tmp = TempDir::new("hang");
    let cfg = root.config(tmp.path());
    let rt = runtime();
    let dir = tmp.path().to_str().unwrap();

    let mut req = request("h", "ocf:wdx:hang", "start", &[("dir", dir)]);
    req.timeout_ms = 1_000;
    let t0 = Instant::now();
    let r = once(&rt, &cfg, req);
    expect(&r, 1, ExecStatus::Timeout);
    assert_eq!(
        r.result.exit_reason.as_deref(),
        Some("start did not complete within 1000ms")
    );
    assert!(
        r.stdout.contains("started"),
        "output before the kill is kept: {:?}",
        r.stdout
    );
    assert!(
        t0.elapsed() < Duration::from_millis(1_000 + 500 + 1_500),
        "TERM was enough"
    );
    for file in ["agent", "child"] {
        let pid = read_pid(&tmp.path().join(file), Duration::ZERO);
        assert!(
            process_gone(pid, Duration::from_secs(6)),
            "{file} {pid} still there after the timeout"
        );
    }

    fs::remove_file(tmp.path().join("child")).unwrap();
    let mut req = request("s", "ocf:wdx:stubborn", "start", &[("dir", dir)]);
    req.timeout_ms = 500;
    let t0 = Instant::now();
    let r = once(&rt, &cfg, req);
    expect(&r, 1, ExecStatus::Timeout);
    assert!(
        t0.elapsed() >= Duration::from_millis(500 + 500),
        "SIGKILL only after the grace period"
    );
    let pid = read_pid(&tmp.path().join("child"), Duration::ZERO);
    assert!(
        process_gone(pid, Duration::from_secs(6)),
        "child {pid} that ignored SIGTERM survived"
    );
}

#[test]
fn daemonised_orphans_are_adopted_and_reaped() {
    supervise();
    let root = OcfRoot::new();
    root.add_agent(
        "forker",
        "#!/bin/sh\n( setsid sleep 1 >/dev/null 2>&1 </dev/null & echo $! > \"$OCF_RESKEY_dir/orphan\" )\nexit 0\n",
    );
    let tmp = TempDir::new("orph");
    let cfg = root.config(tmp.path());
    let rt = runtime();
    let r = once(
        &rt,
        &cfg,
        request(
            "o",
            "ocf:wdx:forker",
            "start",
            &[("dir", tmp.path().to_str().unwrap())],
        ),
    );
    expect(&r, 0, ExecStatus::Done);
    let pid = read_pid(&tmp.path().join("orphan"), Duration::from_secs(2));
    assert_eq!(
        ppid_of(pid),
        Some(std::process::id()),
        "the orphan is ours (subreaper)"
    );
    assert!(
        process_gone(pid, Duration::from_secs(8)),
        "orphan {pid} was never reaped"
    );
}

#[test]
fn output_is_capped() {
    let root = OcfRoot::new();
    root.add_agent(
        "chatty",
        "#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' 'x'\necho\necho tail-marker\nexit 0\n",
    );
    let tmp = TempDir::new("chat");
    let cfg = root.config(tmp.path());
    let rt = runtime();
    let r = once(&rt, &cfg, request("c", "ocf:wdx:chatty", "monitor", &[]));
    expect(&r, 0, ExecStatus::Done);
    assert!(
        r.stdout.len() <= executor::OUTPUT_CAP_BYTES + 100,
        "{}",
        r.stdout.len()
    );
    assert!(r.stdout.contains("bytes of output dropped"));
    assert!(r.stdout.ends_with("tail-marker\n"));
}

// ---------------------------------------------------------------- secrets

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_never_reach_logs_results_or_command_lines() {
    let root = OcfRoot::new();
    root.add_agent(
        "leaky",
        "#!/bin/sh\ntr '\\0' ' ' < /proc/$$/cmdline > \"$OCF_RESKEY_dir/cmdline\"\necho \"pw=$OCF_RESKEY_passwd ipmi=$OCF_RESKEY_ipmi_passwd\"\necho \"ocf-exit-reason:login failed with $OCF_RESKEY_passwd\" >&2\nexit 1\n",
    );
    let tmp = TempDir::new("sec");
    let cfg = root.config(tmp.path());
    let secret = "S3cr3t-Val";
    let other = "Other-Secret-2";
    let dir = tmp.path().to_str().unwrap().to_string();
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let (oneshot, event) = tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let params = [
                ("dir", dir.as_str()),
                ("passwd", secret),
                ("ipmi_passwd", other),
                ("user", "admin"),
            ];
            let oneshot = run_once(
                cfg.clone(),
                request("sec1", "ocf:wdx:leaky", "start", &params),
                RunOptions { trace: true },
            )
            .await;
            let (exec, mut events) = Executor::start(cfg.clone());
            exec.execute(7, request("sec2", "ocf:wdx:leaky", "start", &params));
            let event = next_event(&mut events, Duration::from_secs(10))
                .await
                .expect("an event");
            (oneshot, event)
        })
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("sec1_start_0") && logs.contains("sec2_start_0"),
        "logging was captured:\n{logs}"
    );
    for s in [secret, other] {
        assert!(!logs.contains(s), "secret in the log:\n{logs}");
        for result in [&oneshot.result, &event.result] {
            assert!(!result.output.contains(s), "{:?}", result.output);
            assert!(!result.exit_reason.as_deref().unwrap_or("").contains(s));
        }
        assert!(!oneshot.stdout.contains(s) && !oneshot.stderr.contains(s));
        assert!(!oneshot.command.contains(s));
    }
    assert_eq!(
        oneshot.result.exit_reason.as_deref(),
        Some("login failed with ****")
    );
    assert!(
        oneshot.stdout.contains("pw=**** ipmi=****"),
        "{}",
        oneshot.stdout
    );
    assert_eq!(event.result.rc, 1);
    let cmdline = fs::read_to_string(tmp.path().join("cmdline")).unwrap();
    assert!(cmdline.contains("leaky start"), "{cmdline}");
    assert!(
        !cmdline.contains(secret) && !cmdline.contains(other),
        "{cmdline}"
    );
}

/// What an agent says reaches the log with the result: the only record an
/// operator has of warnings printed by an action that succeeded (the oned
/// agent's list of VMs to recover after a failover went nowhere before).
#[test]
fn agent_output_is_logged_with_the_result() {
    let root = OcfRoot::new();
    root.add_agent(
        "talker",
        "#!/bin/sh\necho \"WARNING: VM 7 is in PROLOG: run onevm recover 7\" >&2\necho \"note on stdout\"\nexit 0\n",
    );
    let tmp = TempDir::new("talk");
    let cfg = root.config(tmp.path());
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let event = tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (exec, mut events) = Executor::start(cfg.clone());
            exec.execute(3, request("talk", "ocf:wdx:talker", "start", &[]));
            next_event(&mut events, Duration::from_secs(10))
                .await
                .expect("an event")
        })
    });
    assert_eq!(event.result.rc, 0);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("talk_start_0") && l.contains("agent output: "))
        .collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert!(
        lines[0].contains(" INFO ") && lines[0].contains("agent output: note on stdout"),
        "{logs}"
    );
    assert!(
        lines[1].contains("agent output: WARNING: VM 7 is in PROLOG: run onevm recover 7"),
        "{logs}"
    );
}

// ---------------------------------------------------------------- the executor

#[test]
fn recurring_monitor_reports_changes_only() {
    let root = OcfRoot::new();
    root.add_agent(
        "rcfile",
        "#!/bin/sh\ncase \"$1\" in\nmonitor) echo run >> \"$OCF_RESKEY_dir/runs\"; exit \"$(cat \"$OCF_RESKEY_dir/rc\")\" ;;\n*) exit 0 ;;\nesac\n",
    );
    let tmp = TempDir::new("rec");
    let cfg = root.config(tmp.path());
    let dir = tmp.path().to_path_buf();
    let set_rc = |rc: &str| fs::write(dir.join("rc"), rc).unwrap();
    let runs = || {
        fs::read_to_string(dir.join("runs"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    set_rc("0");
    let rt = runtime();
    rt.block_on(async {
        let (exec, mut events) = Executor::start(cfg);
        let mut req = request(
            "r1",
            "ocf:wdx:rcfile",
            "monitor",
            &[("dir", dir.to_str().unwrap())],
        );
        req.interval_ms = 100;
        exec.execute(1, req.clone());
        let first = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("first result");
        assert_eq!(
            (first.call_id, first.key(), first.result.rc),
            (1, "r1_monitor_100".to_string(), 0)
        );

        // Same result again and again: nothing reported, but it does run.
        assert!(next_event(&mut events, Duration::from_millis(700))
            .await
            .is_none());
        assert!(runs() >= 3, "monitor kept running: {}", runs());

        set_rc("7");
        let stopped = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("change reported");
        assert_eq!(
            (stopped.call_id, stopped.result.rc, stopped.result.status),
            (1, 7, ExecStatus::Done)
        );
        set_rc("1");
        let failed = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("new failure reported");
        assert_eq!(failed.result.rc, 1);
        assert!(next_event(&mut events, Duration::from_millis(400))
            .await
            .is_none());

        // The same op again takes the new call id and reports its next result.
        exec.execute(2, req.clone());
        let again = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("re-reported");
        assert_eq!((again.call_id, again.result.rc), (2, 1));

        exec.cancel("r1", "monitor", 100);
        let cancelled = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("cancel reported");
        assert_eq!(
            (cancelled.call_id, cancelled.result.status),
            (2, ExecStatus::Cancelled)
        );
        let after = runs();
        assert!(
            next_event(&mut events, Duration::from_millis(500))
                .await
                .is_none(),
            "Cancelled is reported once"
        );
        assert!(runs() <= after + 1, "no runs after cancel");

        // Cancelling what does not exist reports nothing.
        exec.cancel("r1", "monitor", 100);
        assert!(next_event(&mut events, Duration::from_millis(200))
            .await
            .is_none());
    });
}

#[test]
fn cancel_kills_a_running_monitor() {
    let root = OcfRoot::new();
    root.add_agent(
        "slowmon",
        "#!/bin/sh\n[ \"$1\" = monitor ] || exit 0\n[ -f \"$OCF_RESKEY_dir/hang\" ] && { echo $$ > \"$OCF_RESKEY_dir/pid\"; sleep 1000; }\nexit 0\n",
    );
    let tmp = TempDir::new("canc");
    let cfg = root.config(tmp.path());
    let dir = tmp.path().to_path_buf();
    let rt = runtime();
    rt.block_on(async {
        let (exec, mut events) = Executor::start(cfg);
        let mut req = request(
            "c1",
            "ocf:wdx:slowmon",
            "monitor",
            &[("dir", dir.to_str().unwrap())],
        );
        req.interval_ms = 100;
        exec.execute(5, req);
        assert_eq!(
            next_event(&mut events, Duration::from_secs(5))
                .await
                .unwrap()
                .result
                .rc,
            0
        );
        fs::write(dir.join("hang"), "").unwrap();
        let pid = loop {
            if let Ok(p) = fs::read_to_string(dir.join("pid")) {
                if let Ok(p) = p.trim().parse::<i32>() {
                    break p;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        exec.cancel("c1", "monitor", 100);
        let ev = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("cancel reported");
        assert_eq!(
            (ev.call_id, ev.result.status, ev.result.rc),
            (5, ExecStatus::Cancelled, 0)
        );
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "the running monitor was killed"
        );
        assert!(next_event(&mut events, Duration::from_millis(300))
            .await
            .is_none());
    });
}

/// Logs when each action begins and ends, and takes 0.3 s.
const SLOW_AGENT: &str = "#!/bin/sh\necho \"begin $OCF_RESOURCE_INSTANCE $1-$OCF_RESKEY_n $(date +%s%N)\" >> \"$OCF_RESKEY_dir/log\"\nsleep 0.3\necho \"end $OCF_RESOURCE_INSTANCE $1-$OCF_RESKEY_n $(date +%s%N)\" >> \"$OCF_RESKEY_dir/log\"\nexit 0\n";

/// (resource, begin ns, end ns) from the `slow` agent's log.
fn spans(log: &str) -> Vec<(String, u128, u128)> {
    let mut open: BTreeMap<String, u128> = BTreeMap::new();
    let mut out = Vec::new();
    for line in log.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let key = format!("{} {}", f[1], f[2]);
        let t: u128 = f[3].parse().unwrap();
        match f[0] {
            "begin" => {
                open.insert(key, t);
            }
            _ => out.push((f[1].to_string(), open.remove(&key).unwrap(), t)),
        }
    }
    out
}

fn max_overlap(spans: &[(String, u128, u128)]) -> usize {
    let mut points: Vec<(u128, i32)> = spans
        .iter()
        .flat_map(|(_, b, e)| [(*b, 1), (*e, -1)])
        .collect();
    points.sort_by_key(|(t, d)| (*t, *d));
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in points {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

#[test]
fn same_resource_serialised_others_parallel_up_to_the_limit() {
    let root = OcfRoot::new();
    root.add_agent("slow", SLOW_AGENT);
    let tmp = TempDir::new("par");
    let mut cfg = root.config(tmp.path());
    cfg.action_limit = 2;
    let dir = tmp.path().to_str().unwrap().to_string();
    let rt = runtime();
    let events = rt.block_on(async {
        let (exec, mut events) = Executor::start(cfg);
        let mut call = 0;
        for n in 0..3 {
            for rsc in ["a", "b", "c"] {
                call += 1;
                let n = n.to_string();
                let action = ["start", "monitor", "stop"][call % 3];
                exec.execute(
                    call as u64,
                    request(rsc, "ocf:wdx:slow", action, &[("dir", &dir), ("n", &n)]),
                );
            }
        }
        let mut got = Vec::new();
        while got.len() < 9 {
            got.push(
                next_event(&mut events, Duration::from_secs(10))
                    .await
                    .expect("all nine finish"),
            );
        }
        got
    });
    assert!(events
        .iter()
        .all(|e| e.result.rc == 0 && e.result.status == ExecStatus::Done));
    let log = fs::read_to_string(tmp.path().join("log")).unwrap();
    let spans = spans(&log);
    assert_eq!(spans.len(), 9, "{log}");
    for rsc in ["a", "b", "c"] {
        let mine: Vec<_> = spans.iter().filter(|s| s.0 == rsc).cloned().collect();
        assert_eq!(max_overlap(&mine), 1, "actions on {rsc} overlapped:\n{log}");
    }
    assert_eq!(
        max_overlap(&spans),
        2,
        "limit 2 and three resources:\n{log}"
    );
    // Per resource, results come back in the order asked.
    for rsc in ["a", "b", "c"] {
        let calls: Vec<u64> = events
            .iter()
            .filter(|e| e.rsc_id == rsc)
            .map(|e| e.call_id)
            .collect();
        let mut sorted = calls.clone();
        sorted.sort();
        assert_eq!(calls, sorted, "{rsc}");
    }
}

#[test]
fn queued_actions_cancel_and_shutdown_reports_them() {
    let root = OcfRoot::new();
    root.add_agent("slow", SLOW_AGENT);
    let tmp = TempDir::new("down");
    let cfg = root.config(tmp.path());
    let dir = tmp.path().to_str().unwrap().to_string();
    let rt = runtime();
    rt.block_on(async {
        let (exec, mut events) = Executor::start(cfg);
        let op = |action: &str, n: &str| {
            request("q", "ocf:wdx:slow", action, &[("dir", &dir), ("n", n)])
        };
        exec.execute(1, op("start", "1"));
        exec.execute(2, op("reload", "2"));
        exec.execute(3, op("stop", "3"));
        // A queued one-shot can be cancelled by its key.
        exec.cancel("q", "reload", 0);
        let first = next_event(&mut events, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            (first.call_id, first.result.status),
            (2, ExecStatus::Cancelled)
        );
        // Dropping the handle: the running start finishes, the queued stop
        // is reported cancelled, then the channel closes.
        drop(exec);
        let mut got = Vec::new();
        while let Some(ev) = next_event(&mut events, Duration::from_secs(5)).await {
            got.push((ev.call_id, ev.action.clone(), ev.result.status));
        }
        got.sort();
        assert_eq!(
            got,
            [
                (1, "start".to_string(), ExecStatus::Done),
                (3, "stop".to_string(), ExecStatus::Cancelled)
            ]
        );
    });
    let log = fs::read_to_string(tmp.path().join("log")).unwrap();
    assert_eq!(spans(&log).len(), 1, "only the start ran:\n{log}");
}

// ---------------------------------------------------------------- agents

#[test]
fn agents_are_listed_and_described() {
    let root = OcfRoot::new();
    let tmp = TempDir::new("list");
    let cfg = root.config(tmp.path());
    root.add_agent("zeta", "#!/bin/sh\nexit 0\n");
    root.add_agent("alpha", "#!/bin/sh\nexit 0\n");
    fs::write(root.path().join("resource.d/wdx/not-executable"), "").unwrap();
    fs::write(root.path().join("resource.d/wdx/.hidden"), "").unwrap();
    let rt = runtime();

    let std_names: Vec<String> = agents::standards().iter().map(|s| s.to_string()).collect();
    assert_eq!(std_names, ["ocf", "lsb", "service", "systemd", "stonith"]);
    let providers = rt.block_on(agents::providers(&cfg)).unwrap();
    assert!(
        providers.contains(&"wdx".to_string()) && providers.contains(&"sdlab".to_string()),
        "{providers:?}"
    );
    let wdx = rt
        .block_on(agents::agents(&cfg, &Standard::Ocf, Some("wdx")))
        .unwrap();
    let names: Vec<String> = wdx.iter().map(|a| a.to_string()).collect();
    assert_eq!(names, ["ocf:wdx:alpha", "ocf:wdx:zeta"]);
    let err = rt
        .block_on(agents::agents(&cfg, &Standard::Ocf, Some("nosuch")))
        .unwrap_err();
    assert!(err.to_string().contains("resource.d/nosuch"), "{err}");

    if Path::new("/usr/sbin/fence_ipmilan").exists() {
        let fence = rt
            .block_on(agents::agents(&cfg, &Standard::Stonith, None))
            .unwrap();
        assert!(fence
            .iter()
            .any(|a| a.to_string() == "stonith:fence_ipmilan"));
        assert!(fence.iter().all(|a| a.kind.starts_with("fence_")));
    }

    if !root.has("heartbeat", "IPaddr2") {
        return skip(
            "agents_are_listed_and_described (IPaddr2 part)",
            "ocf:heartbeat:IPaddr2 not installed",
        );
    }
    let agent = AgentRef::parse("ocf:heartbeat:IPaddr2").unwrap();
    let md = rt.block_on(agents::metadata(&cfg, &agent)).unwrap();
    let ip = md
        .parameters
        .iter()
        .find(|p| p.name == "ip")
        .expect("ip parameter");
    assert!(ip.required && ip.unique);
    let text = md.render(&agent, false);
    assert!(
        text.starts_with("ocf:heartbeat:IPaddr2 - Manages virtual IPv4 and IPv6 addresses"),
        "{text}"
    );
    assert!(
        text.contains("\n  ip (required) (unique): The IPv4"),
        "{text}"
    );
    assert!(
        text.contains("\nDefault operations:\n  start:\n    interval=0s\n    timeout=20s\n"),
        "{text}"
    );

    let problems = agents::check_params(
        &md,
        &BTreeMap::from([
            ("cidr_netmask".to_string(), "24".to_string()),
            ("nics".to_string(), "eth0".to_string()),
        ]),
    );
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems[0].severity, Severity::Error);
    assert_eq!(
        shown[0],
        "Error: required parameter 'ip' of IPaddr2 is missing (IPv4 or IPv6 address)"
    );
    assert!(
        shown
            .iter()
            .any(|s| s == "Warning: unknown parameter 'nics' for IPaddr2; did you mean 'nic'?"),
        "{shown:?}"
    );

    let missing = rt
        .block_on(agents::metadata(
            &cfg,
            &AgentRef::parse("ocf:wdx:nosuch").unwrap(),
        ))
        .unwrap_err();
    assert!(missing.to_string().contains("rc=5"), "{missing}");
}

// ---------------------------------------------------------------- systemd

/// A private systemd manager from `sdlab`, torn down on drop.
struct SystemdLab {
    dir: PathBuf,
    script: PathBuf,
}

impl SystemdLab {
    fn up(test: &str) -> Option<SystemdLab> {
        if !is_root() {
            skip(test, "needs root for the systemd lab");
            return None;
        }
        let Some(script) = shared("systemd/sdlab") else {
            skip(test, "../shared/lab/systemd/sdlab not found");
            return None;
        };
        if !Path::new("/usr/lib/systemd/systemd").exists()
            && !Path::new("/lib/systemd/systemd").exists()
        {
            skip(test, "systemd binary not installed");
            return None;
        }
        // Short: the bus socket path must stay under 108 bytes.
        let dir = PathBuf::from(format!("/tmp/{}", unique("wdxsd")));
        let lab = SystemdLab { dir, script };
        let out = Command::new("sh")
            .arg(&lab.script)
            .arg("up")
            .env("SDLAB_DIR", &lab.dir)
            .output()
            .unwrap();
        if !out.status.success() {
            skip(
                test,
                &format!(
                    "sdlab up failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            );
            return None;
        }
        Some(lab)
    }

    fn unit_dir(&self) -> PathBuf {
        self.dir.join("config/systemd/user")
    }

    fn bus(&self) -> BusAddress {
        BusAddress::Address(format!("unix:path={}/run/bus", self.dir.display()))
    }
}

impl Drop for SystemdLab {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .arg(&self.script)
            .arg("down")
            .env("SDLAB_DIR", &self.dir)
            .output();
    }
}

#[test]
fn systemd_units_on_a_real_manager() {
    const T: &str = "systemd_units_on_a_real_manager";
    let Some(lab) = SystemdLab::up(T) else { return };
    let units = lab.unit_dir();
    let work = TempDir::new("sdwork");
    let pidfile = work.path().join("sleep.pid");
    // Restart=always: only warden's drop-in (Restart=no) keeps systemd from
    // restarting it when it is killed below.
    fs::write(
        units.join("wdx-sleep.service"),
        format!(
            "[Unit]\nDescription=warden test sleeper\n[Service]\nExecStart=/bin/sh -c 'echo $$$$ > {}; exec sleep 100000'\nRestart=always\nRestartSec=100ms\n",
            pidfile.display()
        ),
    )
    .unwrap();
    fs::write(
        units.join("wdx-fail.service"),
        "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 3'\n",
    )
    .unwrap();
    fs::write(
        units.join("wdx-slow.service"),
        "[Service]\nExecStartPre=/bin/sleep 100\nExecStart=/bin/sleep 100000\n",
    )
    .unwrap();
    let cfg = ExecutorConfig {
        systemd_bus: lab.bus(),
        systemd_dropin_dir: units.clone(),
        ..ExecutorConfig::default()
    };
    let rt = runtime();
    let op = |agent: &str, action: &str| request("s1", agent, action, &[]);
    let dropin = units
        .join("wdx-sleep.service.d")
        .join(executor::DROPIN_FILE);

    expect(
        &once(&rt, &cfg, op("systemd:wdx-sleep", "monitor")),
        7,
        ExecStatus::Done,
    );
    let md = once(&rt, &cfg, op("systemd:wdx-sleep", "meta-data"));
    expect(&md, 0, ExecStatus::Done);
    assert_eq!(
        agents::parse_metadata(&md.stdout, "systemd:wdx-sleep")
            .unwrap()
            .longdesc,
        "warden test sleeper"
    );
    let started = once(&rt, &cfg, op("systemd:wdx-sleep", "start"));
    expect(&started, 0, ExecStatus::Done);
    assert!(
        started.stdout.contains("StartUnit wdx-sleep.service: job "),
        "{}",
        started.stdout
    );
    let text = fs::read_to_string(&dropin).expect("drop-in written while managed");
    assert!(text.contains("[Service]\nRestart=no\n"), "{text}");
    expect(
        &once(&rt, &cfg, op("systemd:wdx-sleep.service", "monitor")),
        0,
        ExecStatus::Done,
    );
    let svc = once(&rt, &cfg, op("service:wdx-sleep", "monitor"));
    expect(&svc, 0, ExecStatus::Done);
    assert_eq!(
        svc.agent.standard,
        Standard::Systemd,
        "service: resolves to the unit"
    );

    let failed = once(&rt, &cfg, op("systemd:wdx-fail", "start"));
    expect(&failed, 1, ExecStatus::Error);
    assert!(
        failed
            .result
            .exit_reason
            .as_deref()
            .unwrap()
            .contains("ended 'failed'"),
        "{:?}",
        failed.result
    );
    expect(
        &once(&rt, &cfg, op("systemd:wdx-fail", "monitor")),
        7,
        ExecStatus::Done,
    );

    let unknown = once(&rt, &cfg, op("systemd:wdx-nosuch", "monitor"));
    expect(&unknown, 5, ExecStatus::NotInstalled);
    assert_eq!(
        unknown.result.exit_reason.as_deref(),
        Some("systemd unit wdx-nosuch.service not found")
    );
    expect(
        &once(&rt, &cfg, op("systemd:wdx-nosuch", "start")),
        5,
        ExecStatus::NotInstalled,
    );
    expect(
        &once(&rt, &cfg, op("systemd:wdx-nosuch", "stop")),
        0,
        ExecStatus::Done,
    );
    expect(
        &once(&rt, &cfg, op("systemd:wdx-sleep", "validate-all")),
        3,
        ExecStatus::Error,
    );

    let mut slow = op("systemd:wdx-slow", "start");
    slow.timeout_ms = 1_000;
    let t0 = Instant::now();
    expect(&once(&rt, &cfg, slow), 1, ExecStatus::Timeout);
    assert!(t0.elapsed() < Duration::from_secs(4));
    expect(
        &once(&rt, &cfg, op("systemd:wdx-slow", "stop")),
        0,
        ExecStatus::Done,
    );

    let listed = rt
        .block_on(agents::agents(&cfg, &Standard::Systemd, None))
        .unwrap();
    assert!(
        listed.iter().any(|a| a.to_string() == "systemd:wdx-sleep"),
        "{listed:?}"
    );

    // Killed behind warden's back: the recurring monitor notices, once.
    rt.block_on(async {
        let (exec, mut events) = Executor::start(cfg.clone());
        let mut mon = op("systemd:wdx-sleep", "monitor");
        mon.interval_ms = 200;
        exec.execute(11, mon);
        let first = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("first monitor");
        assert_eq!(
            (first.result.rc, first.result.status),
            (0, ExecStatus::Done)
        );
        let pid = read_pid(&pidfile, Duration::from_secs(2));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
        let lost = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("failure noticed");
        assert_eq!(
            (lost.call_id, lost.result.rc, lost.result.status),
            (11, 7, ExecStatus::Done)
        );
        assert!(
            next_event(&mut events, Duration::from_millis(1_000))
                .await
                .is_none(),
            "not restarted by systemd (Restart=no), and not re-reported"
        );
        exec.cancel("s1", "monitor", 200);
        let c = next_event(&mut events, Duration::from_secs(5))
            .await
            .expect("cancelled");
        assert_eq!(c.result.status, ExecStatus::Cancelled);
    });

    expect(
        &once(&rt, &cfg, op("systemd:wdx-sleep", "stop")),
        0,
        ExecStatus::Done,
    );
    assert!(
        !dropin.exists(),
        "drop-in removed once warden stopped the unit"
    );
    expect(
        &once(&rt, &cfg, op("systemd:wdx-sleep", "stop")),
        0,
        ExecStatus::Done,
    );
    expect(
        &once(&rt, &cfg, op("systemd:wdx-sleep", "monitor")),
        7,
        ExecStatus::Done,
    );
}
