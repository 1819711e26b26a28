//! Allocation scores: the scheduler's score trace (`crm_simulate -s`)
//! against Pacemaker's own `crm_simulate -s` run on every corpus input at
//! the corpus's date. Both the scores and the order in which assignment
//! looked at them must agree line for line.
//!
//! Needs `../shared/corpus` and Pacemaker's `crm_simulate`
//! (`pacemaker-cli-utils`); skipped with one line otherwise.

use std::fs;
use std::path::Path;
use std::process::Command;
use warden::core::cib;
use warden::core::scheduler::{schedule_with, ScheduleOptions};
use warden::core::time::{parse_iso8601, Timestamp};

const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";

fn crm_simulate_available() -> bool {
    Command::new("crm_simulate")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn allocation_scores_match_crm_simulate() {
    if !Path::new(CORPUS).is_dir() {
        eprintln!("SKIP allocation_scores_match_crm_simulate: {CORPUS} is absent");
        return;
    }
    if !crm_simulate_available() {
        eprintln!("SKIP allocation_scores_match_crm_simulate: crm_simulate is not installed");
        return;
    }
    let mut cases: Vec<_> = fs::read_dir(CORPUS)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("input.xml").is_file())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    let mut lines_compared = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expected: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(case.join("expected.json")).unwrap()).unwrap();
        let now_text = expected["now"].as_str().unwrap();
        let now = parse_iso8601(now_text).unwrap();
        // crm_simulate's -t takes "YYYY-MM-DD HH:MM:SSZ".
        let date = now_text.replace('T', " ");
        let out = Command::new("crm_simulate")
            .arg("-x")
            .arg(case.join("input.xml"))
            .args(["-s", "-t", &date])
            .output()
            .expect("run crm_simulate");
        let reference: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("pcmk__") && l.contains(" allocation score on "))
            .map(str::to_string)
            .collect();
        let text = fs::read_to_string(case.join("input.xml")).unwrap();
        let doc = cib::parse(&text, "input.xml")
            .cib
            .expect("corpus input parses");
        let ours: Vec<String> = schedule_with(
            &doc,
            Timestamp::from_secs(now),
            ScheduleOptions {
                show_scores: true,
                sanitized: true,
                ..ScheduleOptions::default()
            },
        )
        .scores
        .iter()
        .map(|l| l.to_string())
        .collect();
        lines_compared += reference.len();
        if ours != reference {
            let first = ours
                .iter()
                .zip(&reference)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(reference.len()));
            failures.push(format!(
                "{name}: {} lines, crm_simulate {}; first difference at line {}: ours {:?}, crm_simulate {:?}",
                ours.len(),
                reference.len(),
                first + 1,
                ours.get(first),
                reference.get(first)
            ));
        }
    }
    assert!(
        lines_compared > 1000,
        "too few score lines compared: {lines_compared}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
