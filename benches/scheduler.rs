//! The scheduler against Pacemaker's on the same CIBs: `warden simulate -x F
//! -R` and `crm_simulate -x F -R` (compute the transition, print the status
//! and the transition summary), side by side, on synthetic clusters from
//! `../shared/corpus/gen_cib.py`: 2x10, 2x100, 16x1000, 32x5000 and 32x10000
//! with every probe recorded (`--status probed`: a cluster in steady state),
//! 16x1000 and 32x5000 with history only where resources run (`--status
//! sparse`: every probe must be scheduled).
//!
//! Per size: the median wall time of each tool, their ratio, the peak
//! resident memory of each (from `wait4`), warden's memory as a multiple of
//! the CIB's size, and at the end the growth exponent of warden's time
//! against the resource count.
//!
//! crm_simulate takes minutes and gigabytes on the large sizes, so by
//! default it runs there once only when `BENCH_CRM_LARGE=1`; otherwise the
//! table quotes the reference timings recorded with the corpus
//! (`../shared/corpus/synthetic/README.md`), marked `ref`. A crm_simulate
//! run is stopped after `BENCH_CRM_TIMEOUT` seconds (default 900).
//!
//! Run: `cargo bench --bench scheduler` (`BENCH_RUNS`, default 5; the large
//! CIBs are generated once into `$TMPDIR/warden-bench-cibs`, ~300 MB).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The date every run is computed at (the generator's CIBs carry none).
const DATE: &str = "2025-06-01T00:00:00Z";

struct Size {
    name: &'static str,
    nodes: u32,
    resources: u32,
    sparse: bool,
    /// crm_simulate -R median recorded with the corpus (seconds; None when
    /// it did not finish), used when the reference is not run here.
    recorded: Option<f64>,
    /// Large enough that crm_simulate runs only on request.
    large: bool,
}

const SIZES: &[Size] = &[
    Size {
        name: "p2x10",
        nodes: 2,
        resources: 10,
        sparse: false,
        recorded: Some(0.034),
        large: false,
    },
    Size {
        name: "p2x100",
        nodes: 2,
        resources: 100,
        sparse: false,
        recorded: Some(0.043),
        large: false,
    },
    Size {
        name: "p16x1000",
        nodes: 16,
        resources: 1000,
        sparse: false,
        recorded: Some(2.0),
        large: false,
    },
    Size {
        name: "p32x5000",
        nodes: 32,
        resources: 5000,
        sparse: false,
        recorded: Some(37.0),
        large: true,
    },
    Size {
        name: "p32x10000",
        nodes: 32,
        resources: 10000,
        sparse: false,
        recorded: Some(185.0),
        large: true,
    },
    Size {
        name: "s16x1000",
        nodes: 16,
        resources: 1000,
        sparse: true,
        recorded: Some(11.1),
        large: false,
    },
    Size {
        name: "s32x5000",
        nodes: 32,
        resources: 5000,
        sparse: true,
        recorded: None,
        large: true,
    },
];

/// One run: wall time, peak RSS in KiB, and whether it finished in time
/// and succeeded.
struct Run {
    wall: Duration,
    rss_kib: u64,
    finished: bool,
}

// The child is reaped by `wait4`, which also gives its own peak memory.
#[allow(clippy::zombie_processes)]
fn run(program: &str, file: &Path, timeout: Duration) -> Run {
    let warden = program.ends_with("warden");
    let child = Command::new(program)
        .args(if warden {
            &["simulate", "-x"][..]
        } else {
            &["-x"][..]
        })
        .arg(file)
        .args(["-R", "-t", DATE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    // A watchdog kills the child when it outlives the timeout.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout).is_err() {
            // SAFETY: our own child, not reaped before the main thread's
            // wait4 returns (which this kill makes happen).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let mut status = 0;
    // SAFETY: plain system call on our own child; the kernel fills rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    let _ = done_tx.send(());
    let killed = watchdog.join().unwrap();
    Run {
        wall,
        rss_kib: usage.ru_maxrss as u64,
        // crm_simulate exits 1 on some transitions it cannot complete.
        finished: !killed
            && libc::WIFEXITED(status)
            && libc::WEXITSTATUS(status) <= u8::from(!warden) as i32,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn cib_for(size: &Size, dir: &Path) -> PathBuf {
    let stored = Path::new("../shared/corpus/synthetic").join(format!("{}.xml", size.name));
    if stored.exists() {
        return stored;
    }
    let path = dir.join(format!("{}.xml", size.name));
    if !path.exists() {
        eprintln!("generating {} ...", path.display());
        let tmp = path.with_extension("tmp");
        let status = Command::new("python3")
            .arg("../shared/corpus/gen_cib.py")
            .args(["--nodes", &size.nodes.to_string()])
            .args(["--resources", &size.resources.to_string()])
            .args(["--status", if size.sparse { "sparse" } else { "probed" }])
            .arg("--out")
            .arg(&tmp)
            .status()
            .expect("run gen_cib.py");
        assert!(status.success(), "gen_cib.py failed for {}", size.name);
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn main() {
    if !Path::new("../shared/corpus/gen_cib.py").exists() {
        eprintln!("SKIP scheduler bench: ../shared/corpus is not beside the checkout");
        return;
    }
    let have_crm = Command::new("crm_simulate")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let crm_large = std::env::var("BENCH_CRM_LARGE").is_ok_and(|v| v == "1");
    let timeout = Duration::from_secs(
        std::env::var("BENCH_CRM_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(900),
    );
    let warden = env!("CARGO_BIN_EXE_warden");
    let dir = std::env::temp_dir().join("warden-bench-cibs");
    std::fs::create_dir_all(&dir).unwrap();

    println!(
        "warden simulate -R vs crm_simulate -R (medians of {runs} runs; crm_simulate once on large sizes)\n"
    );
    println!(
        "{:<10} {:>8} | {:>9} {:>8} {:>6} | {:>12} {:>9} | {:>8}",
        "CIB", "size", "warden", "RSS", "xCIB", "crm_simulate", "RSS", "ratio"
    );
    println!("{}", "-".repeat(86));
    let mut probed_times: Vec<(u32, u32, f64)> = Vec::new();
    for size in SIZES {
        let file = cib_for(size, &dir);
        let bytes = std::fs::metadata(&file).unwrap().len();
        // Warden: first run warms the page cache, then `runs` timed ones.
        let _ = run(warden, &file, Duration::from_secs(600));
        let mut walls = Vec::new();
        let mut rss = 0;
        for _ in 0..runs {
            let r = run(warden, &file, Duration::from_secs(600));
            assert!(r.finished, "warden simulate failed on {}", size.name);
            walls.push(r.wall);
            rss = rss.max(r.rss_kib);
        }
        let ours = median(walls);
        if !size.sparse {
            probed_times.push((size.nodes, size.resources, ours.as_secs_f64()));
        }
        // The reference.
        let (theirs, theirs_text, theirs_rss) = if have_crm && (!size.large || crm_large) {
            let n = if size.large { 1 } else { runs };
            let mut walls = Vec::new();
            let mut rss = 0;
            let mut finished = true;
            for _ in 0..n {
                let r = run("crm_simulate", &file, timeout);
                finished &= r.finished;
                walls.push(r.wall);
                rss = rss.max(r.rss_kib);
                if !r.finished {
                    break;
                }
            }
            let m = median(walls);
            if finished {
                (Some(m.as_secs_f64()), secs(m), mib(rss))
            } else {
                (
                    None,
                    format!("> {}", secs(timeout)),
                    format!(">{}", mib(rss)),
                )
            }
        } else {
            match size.recorded {
                Some(s) => (
                    Some(s),
                    format!("{} ref", secs(Duration::from_secs_f64(s))),
                    "-".into(),
                ),
                None => (None, "> 900 s ref".into(), "-".into()),
            }
        };
        let ratio = match theirs {
            Some(t) => format!("{:.1}x", t / ours.as_secs_f64()),
            None => format!(">{:.0}x", timeout.as_secs_f64() / ours.as_secs_f64()),
        };
        println!(
            "{:<10} {:>8} | {:>9} {:>8} {:>6.1} | {:>12} {:>9} | {:>8}",
            size.name,
            mib(bytes / 1024).replace(" MiB", " MB"),
            secs(ours),
            mib(rss),
            (rss * 1024) as f64 / bytes as f64,
            theirs_text,
            theirs_rss,
            ratio
        );
    }
    // Growth: time against resource count at a fixed node count.
    let at = |m: u32| {
        probed_times
            .iter()
            .find(|(n, r, _)| *n == 32 && *r == m)
            .map(|x| x.2)
    };
    if let (Some(t1), Some(t2)) = (at(5000), at(10000)) {
        println!(
            "\ngrowth of warden's time with the resource count (32 nodes, 5000 -> 10000 resources): exponent {:.2} (1.00 = linear)",
            (t2 / t1).ln() / 2f64.ln()
        );
    }
    let by_entries: Vec<(f64, f64)> = probed_times
        .iter()
        .filter(|(_, r, _)| *r >= 1000)
        .map(|(n, r, t)| (((*n as f64) * (*r as f64)).ln(), t.ln()))
        .collect();
    if by_entries.len() >= 2 {
        let k = by_entries.len() as f64;
        let (sx, sy) = by_entries
            .iter()
            .fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
        let (mx, my) = (sx / k, sy / k);
        let num: f64 = by_entries.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let den: f64 = by_entries.iter().map(|p| (p.0 - mx).powi(2)).sum();
        println!(
            "growth against history entries (nodes x resources, probed sizes from 16x1000): exponent {:.2}",
            num / den
        );
    }
}
