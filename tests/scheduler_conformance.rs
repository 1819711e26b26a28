//! Conformance: the scheduler against Pacemaker's own scheduler regression
//! inputs, with the outcomes Pacemaker 2.1.5 computed for them
//! (`../shared/corpus/pacemaker-scheduler`). Compared as `check.py` compares:
//! actions as a multiset of (rsc, action, from, to, blocked), placement of
//! every listed primitive, and the set of fenced nodes.
//!
//! Every case that does not match is listed, with its reason, in
//! `tests/conformance/known-differences.txt`; a case that is not listed and
//! does not match fails the test, and so does a listed case that now
//! matches (so the list only shrinks). `CONFORMANCE_OUT=DIR` also writes
//! each case's result as `DIR/<case>.json` for `check.py`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use warden::core::cib;
use warden::core::scheduler::{revised, schedule_with, Placement, ScheduleOptions};
use warden::core::time::{parse_iso8601, Timestamp};

const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";
const KNOWN: &str = "tests/conformance/known-differences.txt";

type ActionKey = (String, String, String, String, bool);

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn action_keys(v: &Value) -> BTreeMap<ActionKey, usize> {
    let mut m = BTreeMap::new();
    for a in v.as_array().into_iter().flatten() {
        let k = (
            s(&a["rsc"]),
            s(&a["action"]).to_lowercase(),
            s(&a["from"]),
            s(&a["to"]),
            a["blocked"].as_bool().unwrap_or(false),
        );
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

fn norm_place(v: &Value) -> Value {
    match v {
        Value::Array(a) => {
            let mut x: Vec<String> = a.iter().map(s).collect();
            x.sort();
            match x.len() {
                0 => Value::Null,
                1 => Value::String(x.remove(0)),
                _ => Value::Array(x.into_iter().map(Value::String).collect()),
            }
        }
        other => other.clone(),
    }
}

/// The differences between an expected and an actual result, as check.py reports them.
fn compare(exp: &Value, out: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let (e, o) = (action_keys(&exp["actions"]), action_keys(&out["actions"]));
    if e != o {
        let missing: Vec<_> = e
            .iter()
            .filter(|(k, n)| o.get(*k).copied().unwrap_or(0) < **n)
            .map(|(k, _)| k)
            .collect();
        let extra: Vec<_> = o
            .iter()
            .filter(|(k, n)| e.get(*k).copied().unwrap_or(0) < **n)
            .map(|(k, _)| k)
            .collect();
        diffs.push(format!(
            "actions: missing {missing:?}; unexpected {extra:?}"
        ));
    }
    if let Some(ep) = exp["placement"].as_object() {
        for (rsc, where_) in ep {
            match out["placement"].get(rsc) {
                None => diffs.push(format!("placement: {rsc} missing (expected {where_})")),
                Some(got) if norm_place(got) != norm_place(where_) => {
                    diffs.push(format!("placement: {rsc} is {got}, expected {where_}"))
                }
                _ => {}
            }
        }
    }
    let ef: BTreeSet<String> = exp["fenced"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    let of: BTreeSet<String> = out["fenced"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    if ef != of {
        diffs.push(format!("fenced: got {of:?}, expected {ef:?}"));
    }
    diffs
}

fn run_case(dir: &Path) -> (Value, Value) {
    let exp: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let text = fs::read_to_string(dir.join("input.xml")).unwrap();
    let cib = cib::parse(&text, "input.xml")
        .cib
        .expect("corpus input parses");
    let now = exp["now"].as_str().and_then(parse_iso8601).expect("now");
    // The expected outcomes come from crm_simulate, which compares private
    // parameters as masked.
    let sched = schedule_with(
        &cib,
        Timestamp::from_secs(now),
        ScheduleOptions {
            sanitized: true,
            ..ScheduleOptions::default()
        },
    );
    let (_, placement) = revised(&cib, &sched, Timestamp::from_secs(now));
    let placement: serde_json::Map<String, Value> = placement
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Placement::Stopped => Value::Null,
                Placement::On(n) => Value::String(n.clone()),
                Placement::Several(ns) => {
                    Value::Array(ns.iter().cloned().map(Value::String).collect())
                }
            };
            (k.clone(), v)
        })
        .collect();
    let out = serde_json::json!({
        "actions": serde_json::to_value(&sched.summary).unwrap(),
        "placement": placement,
        "fenced": sched.fenced,
    });
    (exp, out)
}

fn known_differences() -> BTreeMap<String, String> {
    let text = fs::read_to_string(KNOWN).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, why)) => (name.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[test]
fn scheduler_matches_pacemaker_on_its_regression_inputs() {
    let corpus = Path::new(CORPUS);
    if !corpus.is_dir() {
        eprintln!("SKIP scheduler_matches_pacemaker_on_its_regression_inputs: {CORPUS} is absent");
        return;
    }
    let out_dir = std::env::var_os("CONFORMANCE_OUT");
    let mut cases: Vec<_> = fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    cases.sort();
    let known = known_differences();
    let (mut passed, mut failed) = (0, 0);
    let mut problems = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let (exp, out) = run_case(case);
        if let Some(d) = &out_dir {
            fs::write(
                Path::new(d).join(format!("{name}.json")),
                serde_json::to_string_pretty(&out).unwrap(),
            )
            .unwrap();
        }
        let diffs = compare(&exp, &out);
        match (diffs.is_empty(), known.contains_key(&name)) {
            (true, false) => passed += 1,
            (true, true) => {
                passed += 1;
                problems.push(format!("{name}: now matches; remove it from {KNOWN}"));
            }
            (false, true) => failed += 1,
            (false, false) => {
                failed += 1;
                problems.push(format!("{name}: {}", diffs.join("; ")));
            }
        }
    }
    let total = passed + failed;
    eprintln!("conformance: {passed} of {total} cases match Pacemaker 2.1.5");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        passed * 100 >= total * 95,
        "only {passed} of {total} cases match (95% required)"
    );
}
