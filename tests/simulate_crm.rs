//! `warden simulate` against Pacemaker's own `crm_simulate` (2.1.5), run at
//! test time on every input of the scheduler corpus with the case's date:
//!
//! * the text must be byte for byte what `crm_simulate` prints, in each
//!   mode: `-S` (current status, transition summary, the transition carried
//!   out, revised status), `-R` (status and summary) and `-s` (the plain
//!   layout, with allocation scores);
//! * the transition graph saved with `-G` (Pacemaker's XML) and `-D` (dot)
//!   must hold the same actions and the same ordering edges (action ids
//!   aside) — a check of the graph's ordering, which the scheduler's own
//!   conformance test (actions, placement, fencing) does not cover.
//!
//! A case that differs must be listed, with its reason, in
//! `tests/golden/simulate-known-differences.txt` (`CASE MODE reason`, MODE
//! one of S, R, s, graph, dot); an unlisted difference fails, and so does a
//! listed case that now matches, so the list only shrinks.
//!
//! Needs `../shared/corpus` and `crm_simulate` (`pacemaker-cli-utils`);
//! skipped with one line otherwise.

mod cli_support;

use cli_support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";
const KNOWN: &str = "tests/golden/simulate-known-differences.txt";

fn skip(test: &str) -> bool {
    if !Path::new(CORPUS).is_dir() {
        eprintln!("SKIP {test}: {CORPUS} is absent");
        return true;
    }
    if !have("crm_simulate") {
        eprintln!("SKIP {test}: crm_simulate is not installed");
        return true;
    }
    false
}

/// Every corpus case: (name, input, date as crm_simulate takes it).
fn cases() -> Vec<(String, PathBuf, String)> {
    let mut v: Vec<_> = fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .map(|p| {
            let exp: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(p.join("expected.json")).unwrap())
                    .unwrap();
            let args = exp["crm_simulate_args"].as_array().unwrap();
            let t = args.iter().position(|a| a == "-t").expect("-t in the args");
            let date = args[t + 1].as_str().unwrap().to_string();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, p.join("input.xml"), date)
        })
        .collect();
    v.sort();
    assert!(v.len() > 150, "corpus too small: {}", v.len());
    v
}

/// (case, mode) -> reason.
fn known() -> BTreeMap<(String, String), String> {
    known_differences(KNOWN)
}

fn run(program: &str, input: &Path, mode: &str, date: &str, extra: &[&str]) -> String {
    let out = Command::new(program)
        .args(if program == "crm_simulate" {
            vec![]
        } else {
            vec!["simulate"]
        })
        .arg("-x")
        .arg(input)
        .args([mode, "-t", date])
        .args(extra)
        .env("LC_ALL", "C")
        .env_remove("CIB_file")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {mode} failed on {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks the outcome of one mode against the list; returns the problems.
fn judge(mode: &str, differing: &BTreeMap<String, String>, total: usize) -> Vec<String> {
    let known = known();
    let mut problems = Vec::new();
    for (case, diff) in differing {
        if !known.contains_key(&(case.clone(), mode.to_string())) {
            problems.push(format!(
                "{case} ({mode}) differs and is not listed in {KNOWN}:\n{diff}"
            ));
        }
    }
    for (case, m) in known.keys() {
        if m == mode && !differing.contains_key(case) {
            problems.push(format!(
                "{case} ({mode}) now matches: remove it from {KNOWN}"
            ));
        }
    }
    eprintln!(
        "simulate {mode}: {} of {total} cases identical to crm_simulate",
        total - differing.len()
    );
    problems
}

/// The first differing line, in context.
fn first_difference(ours: &str, theirs: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        "  line {}: warden {:?}\n  line {}: crm_simulate {:?}",
        i + 1,
        a.get(i),
        i + 1,
        b.get(i)
    )
}

fn compare_text(test: &str, mode: &str) {
    if skip(test) {
        return;
    }
    let cases = cases();
    let mut differing = BTreeMap::new();
    for (name, input, date) in &cases {
        let theirs = run("crm_simulate", input, mode, date, &[]);
        let ours = run(warden_bin(), input, mode, date, &[]);
        if ours != theirs {
            differing.insert(name.clone(), first_difference(&ours, &theirs));
        }
    }
    let problems = judge(&mode[1..], &differing, cases.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn simulate_text_is_crm_simulate_s_text() {
    compare_text("simulate_text_is_crm_simulate_s_text", "-s");
}

#[test]
fn run_text_is_crm_simulate_r_text() {
    compare_text("run_text_is_crm_simulate_r_text", "-R");
}

type Key = (String, String, String, String);

/// The actions (element, operation, key, node) and ordering edges of a
/// graph in Pacemaker's XML.
fn graph_xml(text: &str) -> (BTreeSet<Key>, BTreeSet<(Key, Key)>) {
    use warden::core::cib::xml::{parse_element, Element};
    let key = |e: &Element| {
        let a = |n: &str| e.attr(n).unwrap_or("").to_string();
        (
            e.name.clone(),
            a("operation"),
            a("operation_key"),
            a("on_node"),
        )
    };
    let root = parse_element(text).expect("graph XML");
    let (mut actions, mut edges) = (BTreeSet::new(), BTreeSet::new());
    for syn in root.elements() {
        let set = syn.elements().find(|e| e.name == "action_set").unwrap();
        let action = key(set.elements().next().unwrap());
        if let Some(inputs) = syn.elements().find(|e| e.name == "inputs") {
            for t in inputs.elements() {
                edges.insert((key(t.elements().next().unwrap()), action.clone()));
            }
        }
        actions.insert(action);
    }
    (actions, edges)
}

/// The actions shown as part of the transition (green) and the orderings
/// between them (bold) of a dot file; Pacemaker also draws actions it
/// could not schedule (red) and orderings it did not need (dashed), which
/// are not part of the transition.
fn graph_dot(text: &str) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let (mut actions, mut edges) = (BTreeSet::new(), BTreeSet::new());
    for l in text.lines() {
        if let Some((from, rest)) = l.split_once("\" -> \"") {
            if let Some((to, style)) = rest.split_once("\" [ style = ") {
                if style.starts_with("bold") {
                    edges.insert((from[1..].to_string(), to.to_string()));
                }
            }
        } else if let Some((name, style)) = l.split_once("\" [ style=") {
            if style.contains("color=\"green\"") {
                actions.insert(name[1..].to_string());
            }
        }
    }
    (actions, edges)
}

fn set_diff<T: Ord + std::fmt::Debug>(
    ours: &BTreeSet<T>,
    theirs: &BTreeSet<T>,
    what: &str,
) -> String {
    let missing: Vec<_> = theirs.difference(ours).collect();
    let extra: Vec<_> = ours.difference(theirs).collect();
    format!("  {what}: missing {missing:?}, unexpected {extra:?}")
}

#[test]
fn simulate_text_and_graphs_are_crm_simulate_s() {
    let test = "simulate_text_and_graphs_are_crm_simulate_s";
    if skip(test) {
        return;
    }
    let scratch = Scratch::new("simulate-graphs");
    let cases = cases();
    let (mut text, mut xml, mut dot) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let (mut edges, mut actions) = (0usize, 0usize);
    for (name, input, date) in &cases {
        let files = |who: &str| {
            (
                scratch.file(&format!("{who}.xml")),
                scratch.file(&format!("{who}.dot")),
            )
        };
        let (tx, td) = files("crm_simulate");
        let (wx, wd) = files("warden");
        let arg = |p: &PathBuf| p.to_str().unwrap().to_string();
        let theirs = run(
            "crm_simulate",
            input,
            "-S",
            date,
            &["-G", &arg(&tx), "-D", &arg(&td)],
        );
        let ours = run(
            warden_bin(),
            input,
            "-S",
            date,
            &["-G", &arg(&wx), "-D", &arg(&wd)],
        );
        if ours != theirs {
            text.insert(name.clone(), first_difference(&ours, &theirs));
        }
        let (ta, te) = graph_xml(&fs::read_to_string(&tx).unwrap());
        let (wa, we) = graph_xml(&fs::read_to_string(&wx).unwrap());
        actions += ta.len();
        edges += te.len();
        if (&ta, &te) != (&wa, &we) {
            xml.insert(
                name.clone(),
                format!(
                    "{}\n{}",
                    set_diff(&wa, &ta, "actions"),
                    set_diff(&we, &te, "orderings")
                ),
            );
        }
        let (ta, te) = graph_dot(&fs::read_to_string(&td).unwrap());
        let (wa, we) = graph_dot(&fs::read_to_string(&wd).unwrap());
        if (&ta, &te) != (&wa, &we) {
            dot.insert(
                name.clone(),
                format!(
                    "{}\n{}",
                    set_diff(&wa, &ta, "actions"),
                    set_diff(&we, &te, "orderings")
                ),
            );
        }
    }
    assert!(
        actions > 1000 && edges > 1000,
        "too few graph actions ({actions}) or orderings ({edges}) compared"
    );
    let mut problems = judge("S", &text, cases.len());
    problems.extend(judge("graph", &xml, cases.len()));
    problems.extend(judge("dot", &dot, cases.len()));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A CIB warden writes is one Pacemaker's own tools take: crm_simulate
/// 2.1.5 discards a CIB whose feature set is above its own.
#[test]
fn crm_simulate_takes_a_cib_warden_wrote() {
    if !have("crm_simulate") {
        eprintln!("SKIP crm_simulate_takes_a_cib_warden_wrote: crm_simulate is not installed");
        return;
    }
    let scratch = Scratch::new("pcmk-reads-warden");
    let file = scratch.file("cib.xml");
    ok(
        warden_f(&file, &["property", "set", "stonith-enabled=false"]),
        "property set",
    );
    ok(
        warden_f(&file, &["resource", "create", "d", "ocf:heartbeat:Dummy"]),
        "resource create",
    );
    let out = Command::new("crm_simulate")
        .args(["-S", "-x", file.to_str().unwrap(), "--node-up", "n1"])
        .env_remove("CIB_file")
        .output()
        .expect("run crm_simulate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "crm_simulate failed:\n{text}");
    assert!(!text.contains("Discarding"), "{text}");
    assert!(text.contains("Start      d"), "d is started on n1:\n{text}");
}
