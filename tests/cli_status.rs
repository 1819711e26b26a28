//! The status view, as golden files: each `tests/golden/status/NAME.xml`
//! beside the text `warden status` must print for it, `NAME.txt`
//! (re-blessed with `UPDATE_EXPECT=1`, reviewed like code). The same inputs,
//! and every input of the scheduler corpus, are checked against Pacemaker's
//! own `crm_mon` on the file: `crm_mon -1 -r` must print the same text but
//! for its "Last updated" line (the view describes the file, not the moment
//! it is printed), and `crm_mon --output-as xml` the same summary, nodes,
//! resources and failures (`warden status --output-as xml`). Corpus cases
//! that differ are listed with their reason in
//! `tests/golden/crm_mon-known-differences.txt` (`CASE text|xml reason`);
//! an unlisted difference fails, and so does a listed case that matches.

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const GOLDEN: &str = "tests/golden/status";
const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";
const KNOWN: &str = "tests/golden/crm_mon-known-differences.txt";

fn inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(GOLDEN)
        .expect("golden directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "golden inputs missing");
    v
}

fn status(input: &Path, extra: &[&str]) -> String {
    let mut args = vec!["status"];
    args.extend_from_slice(extra);
    ok(
        warden_f(input, &args),
        &format!("status of {}", input.display()),
    )
}

#[test]
fn status_text_matches_the_golden_files() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for input in inputs() {
        let got = status(&input, &[]);
        let expected_path = input.with_extension("txt");
        if update {
            fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with UPDATE_EXPECT=1",
                expected_path.display()
            )
        });
        if got != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{got}",
                input.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `crm_mon ARGS` on a CIB file, in UTC.
fn crm_mon(input: &Path, args: &[&str]) -> String {
    let out = Command::new("crm_mon")
        .args(args)
        .env("CIB_file", input)
        .env("TZ", "UTC")
        .output()
        .expect("run crm_mon");
    assert!(
        out.status.success(),
        "crm_mon failed on {}",
        input.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// crm_mon's text without its "Last updated" line.
fn crm_mon_text(input: &Path) -> String {
    crm_mon(input, &["-1", "-r"])
        .lines()
        .filter(|l| !l.starts_with("  * Last updated:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The sections of a crm_mon XML document that `warden status` writes
/// (summary but `last_update`, nodes, resources, failures), one line per
/// element with its path and sorted attributes.
fn xml_sections(xml: &str) -> Vec<String> {
    use warden::core::cib::xml::{parse_element, Element};
    fn walk(e: &Element, path: &str, out: &mut Vec<String>) {
        if e.name == "last_update" {
            return;
        }
        let mut attrs: Vec<String> = e.attrs.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        attrs.sort();
        let here = format!("{path}/{}", e.name);
        out.push(format!("{here} {}", attrs.join(" ")));
        for c in e.elements() {
            walk(c, &here, out);
        }
    }
    let root = parse_element(xml).expect("well-formed XML");
    let mut out = Vec::new();
    for section in root.elements() {
        if matches!(
            section.name.as_str(),
            "summary" | "nodes" | "resources" | "failures"
        ) {
            walk(section, "", &mut out);
        }
    }
    out
}

#[test]
fn status_text_is_what_crm_mon_prints() {
    if !have("crm_mon") {
        eprintln!("SKIP status_text_is_what_crm_mon_prints: crm_mon is not installed");
        return;
    }
    for input in inputs() {
        assert_eq!(
            status(&input, &[]),
            crm_mon_text(&input),
            "{}",
            input.display()
        );
    }
}

#[test]
fn status_is_what_crm_mon_prints_on_the_whole_corpus() {
    let test = "status_is_what_crm_mon_prints_on_the_whole_corpus";
    if !Path::new(CORPUS).is_dir() {
        eprintln!("SKIP {test}: {CORPUS} is absent");
        return;
    }
    if !have("crm_mon") {
        eprintln!("SKIP {test}: crm_mon is not installed");
        return;
    }
    let mut cases: Vec<PathBuf> = fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input.xml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() > 150, "corpus too small");
    let known = known_differences(KNOWN);
    let mut differing = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let input = case.join("input.xml");
        let text = status(&input, &[]);
        if text != crm_mon_text(&input) {
            differing.insert((name.clone(), "text".to_string()));
        }
        let ours = xml_sections(&status(&input, &["--output-as", "xml"]));
        let theirs = xml_sections(&crm_mon(&input, &["--output-as", "xml"]));
        if ours != theirs {
            let first = ours
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(theirs.len()));
            differing.insert((name.clone(), "xml".to_string()));
            if !known.contains_key(&(name.clone(), "xml".to_string())) {
                problems.push(format!(
                    "{name} (xml): warden {:?}, crm_mon {:?}",
                    ours.get(first),
                    theirs.get(first)
                ));
            }
        }
    }
    for d in &differing {
        if d.1 == "text" && !known.contains_key(d) {
            problems.push(format!("{} (text) differs from crm_mon -1 -r", d.0));
        }
    }
    for k in known.keys() {
        if !differing.contains(k) {
            problems.push(format!(
                "{} ({}) now matches: remove it from {KNOWN}",
                k.0, k.1
            ));
        }
    }
    eprintln!(
        "status: {} of {} corpus cases identical to crm_mon (text and XML)",
        cases.len()
            - differing
                .iter()
                .map(|d| &d.0)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        cases.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn json_and_xml_say_the_same_as_the_text() {
    for input in inputs() {
        let text = status(&input, &[]);
        let json: serde_json::Value =
            serde_json::from_str(&status(&input, &["--output-as", "json"])).expect("JSON");
        let xml = status(&input, &["--output-as", "xml"]);
        let root = warden::core::cib::xml::parse_element(&xml).expect("XML");
        assert_eq!(root.name, "pacemaker-result");
        let nodes = json["nodes"].as_array().unwrap();
        assert_eq!(
            nodes.len() as u64,
            json["summary"]["nodes_configured"].as_u64().unwrap()
        );
        let xml_nodes = root
            .elements()
            .find(|e| e.name == "nodes")
            .unwrap()
            .elements()
            .count();
        assert_eq!(xml_nodes, nodes.len(), "{}", input.display());
        for r in json["resources"].as_array().unwrap() {
            let id = r["id"].as_str().unwrap();
            assert!(
                text.contains(&format!("{id}\t("))
                    || text.contains(&format!("Resource Group: {id}")),
                "{id} not in the text"
            );
            assert!(xml.contains(&format!("id=\"{id}\"")), "{id} not in the XML");
        }
        let failures = json["failed_actions"].as_array().unwrap().len();
        assert_eq!(
            failures > 0,
            text.contains("Failed Resource Actions:"),
            "{}",
            input.display()
        );
        assert_eq!(
            failures,
            xml.matches("<failure ").count(),
            "{}",
            input.display()
        );
    }
}

#[test]
fn status_never_shows_secrets() {
    for input in inputs() {
        let cib = fs::read_to_string(&input).unwrap();
        for fmt in ["text", "json", "xml"] {
            let out = status(&input, &["--output-as", fmt]);
            for secret in ["s3cret-one", "s3cret-two", "hunter2"] {
                if cib.contains(secret) {
                    assert!(
                        !out.contains(secret),
                        "{} {fmt} shows {secret}",
                        input.display()
                    );
                }
            }
        }
    }
}

#[test]
fn status_warns_about_fencing_as_verify_does() {
    let dir = "tests/fixtures/verify";
    for (file, warning) in [
        (
            "no-fencing-delay.xml",
            Some("a two-node cluster has no protection against fencing races"),
        ),
        (
            "stonith-disabled.xml",
            Some("fencing is disabled (stonith-enabled=false)"),
        ),
        (
            "no-fence-devices.xml",
            Some("fencing is enabled but no fence device is configured"),
        ),
        ("clean-two-nodes.xml", None),
    ] {
        let input = Path::new(dir).join(file);
        let out = warden_f(&input, &["status"]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let json: serde_json::Value =
            serde_json::from_str(&status(&input, &["--output-as", "json"])).unwrap();
        let warnings = json["warnings"].as_array().unwrap();
        match warning {
            Some(w) => {
                assert!(
                    stderr(&out).contains(&format!("Warning: {w}")),
                    "{file}: {}",
                    stderr(&out)
                );
                assert!(
                    !stdout(&out).contains(w),
                    "{file}: the warning is not crm_mon's text"
                );
                assert_eq!(warnings.len(), 1, "{file}: {warnings:?}");
                assert!(warnings[0].as_str().unwrap().starts_with(w), "{file}");
            }
            None => {
                assert_eq!(stderr(&out), "", "{file}");
                assert!(warnings.is_empty(), "{file}: {warnings:?}");
            }
        }
    }
}
