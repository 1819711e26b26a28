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

fn main() {
    let Some(lines) = guide_lines() else {
        println!("SKIP cli bench: {GUIDE} is absent");
        return;
    };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
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
