//! Per-command latency of `warden -f FILE` against the reference tool on
//! the same file, for every command line of the operators' how-to
//! (`../shared/seeds/pcs-guide-commands.txt`, lines needing a live cluster
//! left out). Each command runs on the CIB as the guide's earlier lines left
//! it, `BENCH_RUNS` times (default 5); the table shows the medians and
//! their ratio, and a total line.
//!
//! The reference is `pcs -f FILE`, except where pcs has no file mode: agent
//! listing and description run as plain `pcs`, and `status` as `crm_mon -1
//! -r` on the file (what `pcs status` shows). A reference that rejects the
//! command is timed all the same and marked.
//!
//! A second table compares `warden simulate -x F -R` (compute the transition
//! and print status and summary) with `crm_simulate -x F -R` on the example
//! after a node loss and on a generated 16-node, 1000-resource CIB
//! (`../shared/corpus/gen_cib.py --nodes 16 --resources 1000 --status
//! probed`), both at a fixed date.
//!
//! Run: `cargo bench --bench cli` (release build, pcs and pacemaker-cli-utils
//! installed; `../shared` beside the checkout).

#[path = "../tests/cli_support/mod.rs"]
mod cli_support;

use cli_support::{guide_lines, have, warden_bin, Scratch, GUIDE};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One timed run: elapsed time and whether it exited 0.
fn time(mut cmd: Command) -> (Duration, bool) {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd.status().expect("run the command");
    (start.elapsed(), status.success())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Puts the CIB as it was before a line in place (or removes it).
fn restore(state: &Option<Vec<u8>>, file: &Path) {
    match state {
        Some(bytes) => fs::write(file, bytes).unwrap(),
        None => {
            let _ = fs::remove_file(file);
        }
    }
}

/// The command line as printed: secret values masked.
fn shown(args: &[String]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| match a.split_once('=') {
            Some((k, _)) if warden::cli::secrets::is_secret(k) => format!("{k}=********"),
            _ => a.clone(),
        })
        .collect();
    let s = words.join(" ");
    if s.len() > 58 {
        format!("{}...", &s[..55])
    } else {
        s
    }
}

/// How the reference tool runs a guide line.
enum Reference {
    PcsFile,
    PcsPlain,
    CrmMon,
}

fn reference_for(args: &[String]) -> Reference {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["status", ..] => Reference::CrmMon,
        [_, "list" | "describe", ..] | ["resource", "standards" | "providers" | "agents", ..] => {
            Reference::PcsPlain
        }
        _ => Reference::PcsFile,
    }
}

/// Medians of `warden simulate -R` and `crm_simulate -R` on a file.
fn simulate_row(name: &str, file: &Path, runs: usize, crm_simulate: bool) {
    const DATE: &str = "2025-06-01 00:00:00Z";
    let timed = |program: &str, sim_word: bool| {
        let mut v = Vec::new();
        let mut all_ok = true;
        for _ in 0..runs {
            let mut cmd = Command::new(program);
            if sim_word {
                cmd.arg("simulate");
            }
            cmd.arg("-x")
                .arg(file)
                .args(["-R", "-t", DATE])
                .env_remove("CIB_file");
            let (d, ok) = time(cmd);
            v.push(d);
            all_ok &= ok;
        }
        (median(v), all_ok)
    };
    let (w, w_ok) = timed(warden_bin(), true);
    let mark = if w_ok { "" } else { " (warden failed)" };
    if crm_simulate {
        let (r, r_ok) = timed("crm_simulate", false);
        println!(
            "{:<58} {:>11.1} {:>11.1} {:>6.1}x  crm_simulate -x F -R{}{mark}",
            name,
            w.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            r.as_secs_f64() / w.as_secs_f64(),
            if r_ok { "" } else { " (failed)" }
        );
    } else {
        println!(
            "{:<58} {:>11.1} {:>11} {:>7}  crm_simulate not installed{mark}",
            name,
            w.as_secs_f64() * 1e3,
            "-",
            "-"
        );
    }
}

/// The simulate table.
fn simulate_table(runs: usize) {
    let crm = have("crm_simulate");
    println!();
    println!("warden simulate -x F -R against crm_simulate -x F -R, median of {runs} runs");
    println!(
        "{:<58} {:>11} {:>11} {:>7}  reference",
        "CIB", "warden ms", "ref ms", "ratio"
    );
    simulate_row(
        "tests/fixtures/one-server1-lost.xml",
        Path::new("tests/fixtures/one-server1-lost.xml"),
        runs,
        crm,
    );
    let gen = Path::new("../shared/corpus/gen_cib.py");
    if !gen.is_file() || !have("python3") {
        println!("SKIP generated CIB: {} or python3 is absent", gen.display());
        return;
    }
    let scratch = Scratch::new("bench-simulate");
    let file = scratch.file("16x1000.xml");
    let ok = Command::new("python3")
        .arg(gen)
        .args([
            "--nodes",
            "16",
            "--resources",
            "1000",
            "--status",
            "probed",
            "--out",
        ])
        .arg(&file)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("SKIP generated CIB: gen_cib.py failed");
        return;
    }
    simulate_row(
        "gen_cib.py --nodes 16 --resources 1000 --status probed",
        &file,
        runs,
        crm,
    );
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    guide_table(runs);
    simulate_table(runs);
}

/// The guide table.
fn guide_table(runs: usize) {
    let Some(lines) = guide_lines() else {
        println!("SKIP guide table: {GUIDE} is absent");
        return;
    };
    let pcs = have("pcs");
    let scratch = Scratch::new("bench");
    let replay = scratch.file("replay.xml");
    let file = scratch.file("cib.xml");

    println!("warden -f FILE against the reference on the same file, median of {runs} runs");
    println!(
        "{:<58} {:>11} {:>11} {:>7}  reference",
        "command (the guide's, pcs -> warden)", "warden ms", "ref ms", "ratio"
    );
    let (mut total_w, mut total_r) = (Duration::ZERO, Duration::ZERO);
    for line in lines.iter().filter(|l| !l.live) {
        let state = fs::read(&replay).ok();
        let mut wt = Vec::new();
        let mut w_ok = true;
        for _ in 0..runs {
            restore(&state, &file);
            let mut cmd = Command::new(warden_bin());
            cmd.arg("-f")
                .arg(&file)
                .args(&line.args)
                .env_remove("CIB_file");
            let (d, ok) = time(cmd);
            wt.push(d);
            w_ok &= ok;
        }
        let w = median(wt);
        total_w += w;
        let (r, note) = if pcs {
            let kind = reference_for(&line.args);
            let mut rt = Vec::new();
            let mut r_ok = true;
            for _ in 0..runs {
                restore(&state, &file);
                let mut cmd = match kind {
                    Reference::PcsFile => {
                        let mut c = Command::new("pcs");
                        c.arg("-f").arg(&file).args(&line.args);
                        c
                    }
                    Reference::PcsPlain => {
                        let mut c = Command::new("pcs");
                        c.args(&line.args);
                        c
                    }
                    Reference::CrmMon => {
                        let mut c = Command::new("crm_mon");
                        c.args(["-1", "-r"]).env("CIB_file", &file);
                        c
                    }
                };
                if !matches!(kind, Reference::CrmMon) {
                    cmd.env_remove("CIB_file");
                }
                let (d, ok) = time(cmd);
                rt.push(d);
                r_ok &= ok;
            }
            let name = match kind {
                Reference::PcsFile => "pcs -f",
                Reference::PcsPlain => "pcs",
                Reference::CrmMon => "crm_mon -1 -r",
            };
            let note = if r_ok {
                name.to_string()
            } else {
                format!("{name} (rejects it)")
            };
            (Some(median(rt)), note)
        } else {
            (None, "pcs not installed".to_string())
        };
        let warden_mark = if w_ok == line.error.is_none() {
            ""
        } else {
            " (warden: unexpected result)"
        };
        match r {
            Some(r) => {
                total_r += r;
                println!(
                    "{:<58} {:>11.1} {:>11.1} {:>6.1}x  {note}{warden_mark}",
                    shown(&line.args),
                    w.as_secs_f64() * 1e3,
                    r.as_secs_f64() * 1e3,
                    r.as_secs_f64() / w.as_secs_f64()
                );
            }
            None => println!(
                "{:<58} {:>11.1} {:>11} {:>7}  {note}",
                shown(&line.args),
                w.as_secs_f64() * 1e3,
                "-",
                "-"
            ),
        }
        // Advance the replay file as the guide does (a rejected line changes nothing).
        let mut cmd = Command::new(warden_bin());
        cmd.arg("-f")
            .arg(&replay)
            .args(&line.args)
            .env_remove("CIB_file");
        time(cmd);
    }
    if pcs {
        println!(
            "{:<58} {:>11.1} {:>11.1} {:>6.1}x",
            "total",
            total_w.as_secs_f64() * 1e3,
            total_r.as_secs_f64() * 1e3,
            total_r.as_secs_f64() / total_w.as_secs_f64()
        );
    } else {
        println!("{:<58} {:>11.1}", "total", total_w.as_secs_f64() * 1e3);
    }
}
