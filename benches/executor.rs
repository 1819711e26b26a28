//! Executor benchmark (`cargo bench --bench executor`), two tables:
//!
//! 1. Action overhead: `ocf:heartbeat:Dummy monitor` run directly (same
//!    environment), through `run_once`, through the `Executor` (execute →
//!    event), and through Pacemaker's `crm_resource --force-check` against a
//!    CIB file (its own process start and CIB load included). Median and
//!    p90 of N interleaved runs, ratio to the direct run.
//! 2. 1,000 recurring monitors (a trivial OCF agent, 10 s interval) on one
//!    executor for `WARDEN_BENCH_SECS` (default 45) in a child process of
//!    its own: CPU time of the executor process, CPU of the agents, peak
//!    memory.
//!
//! Needs resource-agents for table 1 (skipped with a line otherwise);
//! table 2 needs nothing but /bin/sh.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use warden::core::action::{ActionRequest, AgentRef, ExecStatus};
use warden::shell::executor::{self, run_once, Executor, ExecutorConfig, RunOptions};

const CHILD_ENV: &str = "WARDEN_BENCH_CHILD";
const MONITORS: usize = 1_000;
const MONITOR_INTERVAL_MS: u64 = 10_000;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("wdx-bench-{tag}-{}", std::process::id()));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn request(rsc: &str, agent: &str, action: &str, params: &[(&str, &str)]) -> ActionRequest {
    ActionRequest {
        rsc_id: rsc.into(),
        agent: AgentRef::parse(agent).unwrap(),
        action: action.into(),
        interval_ms: 0,
        timeout_ms: 20_000,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        meta: BTreeMap::new(),
        node: "bench".into(),
    }
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx]
}

fn main() {
    if std::env::var(CHILD_ENV).is_ok() {
        return monitors_child();
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    overhead_table();
    monitors_table();
}

// ------------------------------------------------------------ table 1

fn overhead_table() {
    let dummy = Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy");
    if !dummy.exists() {
        println!("SKIP overhead: ocf:heartbeat:Dummy not installed (resource-agents)");
        return;
    }
    let n: usize = std::env::var("WARDEN_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let tmp = TempDir::new("ovh");
    let state = tmp.0.join("d1.state");
    let state_s = state.to_str().unwrap().to_string();
    let cfg = ExecutorConfig {
        ha_rsctmp: Some(tmp.0.clone()),
        ..ExecutorConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let monitor = request(
        "d1",
        "ocf:heartbeat:Dummy",
        "monitor",
        &[("state", &state_s)],
    );
    let start = rt.block_on(run_once(
        cfg.clone(),
        request("d1", "ocf:heartbeat:Dummy", "start", &[("state", &state_s)]),
        RunOptions::default(),
    ));
    assert_eq!(start.result.rc, 0, "Dummy start: {:?}", start.result);

    // The environment warden gives the agent, spelled out for the direct run.
    let direct_env: Vec<(String, String)> = vec![
        ("OCF_RESKEY_state".into(), state_s.clone()),
        ("OCF_RESKEY_CRM_meta_timeout".into(), "20000".into()),
        ("OCF_RESKEY_CRM_meta_interval".into(), "0".into()),
        ("OCF_RESKEY_CRM_meta_name".into(), "monitor".into()),
        ("OCF_RESKEY_CRM_meta_on_node".into(), "bench".into()),
        ("OCF_RA_VERSION_MAJOR".into(), "1".into()),
        ("OCF_RA_VERSION_MINOR".into(), "1".into()),
        ("OCF_ROOT".into(), "/usr/lib/ocf".into()),
        ("OCF_EXIT_REASON_PREFIX".into(), "ocf-exit-reason:".into()),
        ("OCF_RESOURCE_INSTANCE".into(), "d1".into()),
        ("OCF_RESOURCE_TYPE".into(), "Dummy".into()),
        ("OCF_RESOURCE_PROVIDER".into(), "heartbeat".into()),
        ("HA_RSCTMP".into(), tmp.0.display().to_string()),
    ];

    let cib = tmp.0.join("cib.xml");
    fs::write(
        &cib,
        format!(
            r#"<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration><crm_config/><nodes/>
    <resources>
      <primitive id="d1" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="d1-ia"><nvpair id="d1-state" name="state" value="{state_s}"/></instance_attributes>
      </primitive>
    </resources><constraints/>
  </configuration><status/>
</cib>
"#
        ),
    )
    .unwrap();
    let crm = Command::new("crm_resource")
        .args(["--force-check", "-r", "d1"])
        .env("CIB_file", &cib)
        .env("HA_RSCTMP", &tmp.0)
        .output()
        .ok()
        .filter(|o| o.status.success());

    let (exec, mut events) = rt.block_on(async { Executor::start(cfg.clone()) });
    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for i in 0..n {
        let t = Instant::now();
        let out = Command::new(dummy)
            .arg("monitor")
            .envs(direct_env.iter().cloned())
            .output()
            .unwrap();
        samples
            .entry("a direct")
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(out.status.code(), Some(0));

        let t = Instant::now();
        let r = rt.block_on(run_once(
            cfg.clone(),
            monitor.clone(),
            RunOptions::default(),
        ));
        samples
            .entry("b run_once")
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!((r.result.rc, r.result.status), (0, ExecStatus::Done));

        let t = Instant::now();
        exec.execute(i as u64, monitor.clone());
        let ev = rt.block_on(events.recv()).unwrap();
        samples
            .entry("c executor")
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(ev.result.rc, 0);

        if crm.is_some() {
            let t = Instant::now();
            let out = Command::new("crm_resource")
                .args(["--force-check", "-r", "d1"])
                .env("CIB_file", &cib)
                .env("HA_RSCTMP", &tmp.0)
                .output()
                .unwrap();
            samples
                .entry("d crm_resource")
                .or_default()
                .push(t.elapsed().as_secs_f64() * 1e3);
            assert!(out.status.success());
        }
    }
    let _ = rt.block_on(run_once(
        cfg.clone(),
        request("d1", "ocf:heartbeat:Dummy", "stop", &[("state", &state_s)]),
        RunOptions::default(),
    ));

    let labels = [
        ("a direct", "Dummy monitor run directly (same env)"),
        ("b run_once", "warden run_once (in process)"),
        ("c executor", "warden Executor execute -> event"),
        (
            "d crm_resource",
            "crm_resource --force-check (CIB_file; own process start + CIB load)",
        ),
    ];
    let base = percentile(samples.get_mut("a direct").unwrap(), 0.5);
    println!("\nexecutor overhead: ocf:heartbeat:Dummy monitor, N={n} interleaved runs");
    println!(
        "{:<72} {:>9} {:>9} {:>8}",
        "how", "median ms", "p90 ms", "ratio"
    );
    for (key, label) in labels {
        match samples.get_mut(key) {
            Some(s) => {
                let med = percentile(s, 0.5);
                let p90 = percentile(s, 0.9);
                println!("{label:<72} {med:>9.2} {p90:>9.2} {:>8.2}", med / base);
            }
            None => println!(
                "{label:<72} {:>9} {:>9} {:>8}",
                "n/a", "n/a", "(crm_resource not installed)"
            ),
        }
    }
}

// ------------------------------------------------------------ table 2

fn monitors_table() {
    let secs: u64 = std::env::var("WARDEN_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    let exe = std::env::current_exe().unwrap();
    println!(
        "\nrecurring monitors: {MONITORS} x ocf monitor every {}s, {secs}s, one executor (child process), action limit {}",
        MONITOR_INTERVAL_MS / 1000,
        executor::default_action_limit()
    );
    let out = Command::new(exe)
        .env(CHILD_ENV, secs.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        println!("FAILED: {}\n{}", text, String::from_utf8_lossy(&out.stderr));
        return;
    }
    let kv: BTreeMap<&str, f64> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.trim(), v.trim().parse().ok()?)))
        .collect();
    let g = |k: &str| kv.get(k).copied().unwrap_or(f64::NAN);
    let runs = g("runs");
    let rows = [
        ("monitor runs completed", format!("{runs:.0}")),
        (
            "expected runs (first + one per interval)",
            format!("{:.0}", g("expected_runs")),
        ),
        (
            "events reported (first results + cancels)",
            format!("{:.0}", g("events")),
        ),
        (
            "time until all first results (ms)",
            format!("{:.0}", g("first_results_ms")),
        ),
        (
            "executor process CPU, user+sys (ms)",
            format!("{:.0}", g("self_cpu_ms")),
        ),
        (
            "executor CPU per monitor run (us)",
            format!("{:.0}", g("self_cpu_ms") * 1e3 / runs),
        ),
        (
            "executor CPU share of one core (%)",
            format!("{:.2}", g("self_cpu_ms") / (g("elapsed_ms")) * 100.0),
        ),
        (
            "agents' CPU (children, ms)",
            format!("{:.0}", g("children_cpu_ms")),
        ),
        (
            "peak RSS of the executor process (MiB)",
            format!("{:.1}", g("max_rss_kib") / 1024.0),
        ),
    ];
    println!("{:<48} {:>12}", "measure", "value");
    for (k, v) in rows {
        println!("{k:<48} {v:>12}");
    }
}

fn cpu_ms(who: nix::sys::resource::UsageWho) -> f64 {
    let u = nix::sys::resource::getrusage(who).unwrap();
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1e3 + t.tv_usec() as f64 / 1e3;
    tv(u.user_time()) + tv(u.system_time())
}

fn monitors_child() {
    let secs: u64 = std::env::var(CHILD_ENV).unwrap().parse().unwrap();
    let tmp = TempDir::new("mon");
    let agent = tmp.0.join("resource.d/bench/ok");
    fs::create_dir_all(agent.parent().unwrap()).unwrap();
    let runs_file = tmp.0.join("runs");
    fs::write(
        &agent,
        format!("#!/bin/sh\nprintf . >> '{}'\nexit 0\n", runs_file.display()),
    )
    .unwrap();
    fs::set_permissions(&agent, fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = ExecutorConfig {
        ocf_root: tmp.0.clone(),
        ha_rsctmp: Some(tmp.0.clone()),
        ..ExecutorConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let (events, first_ms) = rt.block_on(async {
        let _reaper = executor::supervise_children().unwrap();
        let (exec, mut rx) = Executor::start(cfg);
        for i in 0..MONITORS {
            let mut req = request(&format!("m{i}"), "ocf:bench:ok", "monitor", &[]);
            req.interval_ms = MONITOR_INTERVAL_MS;
            exec.execute(i as u64, req);
        }
        let mut events = 0usize;
        let mut first_ms = 0u128;
        let end = tokio::time::Instant::now() + Duration::from_secs(secs);
        while let Ok(Some(ev)) = tokio::time::timeout_at(end, rx.recv()).await {
            assert_eq!(ev.result.rc, 0, "{ev:?}");
            events += 1;
            if events == MONITORS {
                first_ms = started.elapsed().as_millis();
            }
        }
        for i in 0..MONITORS {
            exec.cancel(&format!("m{i}"), "monitor", MONITOR_INTERVAL_MS);
        }
        let mut cancelled = 0;
        while cancelled < MONITORS {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(ev)) if ev.result.status == ExecStatus::Cancelled => cancelled += 1,
                Ok(Some(_)) => events += 1,
                _ => break,
            }
        }
        (events + cancelled, first_ms)
    });
    let elapsed = started.elapsed();
    let runs = fs::read(&runs_file).map(|b| b.len()).unwrap_or(0);
    let expected = MONITORS as u64 * (1 + elapsed.as_millis() as u64 / MONITOR_INTERVAL_MS);
    let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .unwrap()
        .max_rss();
    println!("runs={runs}");
    println!("expected_runs={expected}");
    println!("events={events}");
    println!("first_results_ms={first_ms}");
    println!("elapsed_ms={}", elapsed.as_millis());
    println!(
        "self_cpu_ms={:.1}",
        cpu_ms(nix::sys::resource::UsageWho::RUSAGE_SELF)
    );
    println!(
        "children_cpu_ms={:.1}",
        cpu_ms(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
    );
    println!("max_rss_kib={rss}");
}
