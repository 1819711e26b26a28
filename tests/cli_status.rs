//! The status view, as golden files: each `tests/golden/status/NAME.xml`
//! beside the text `warden status` must print for it, `NAME.txt`
//! (re-blessed with `UPDATE_EXPECT=1`, reviewed like code). The same inputs
//! are checked against Pacemaker's own `crm_mon -1 -r` on the file, which
//! must print the same text but for its "Last updated" line (the view
//! describes the file, not the moment it is printed).

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const GOLDEN: &str = "tests/golden/status";

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

#[test]
fn status_text_is_what_crm_mon_prints() {
    if !have("crm_mon") {
        eprintln!("SKIP status_text_is_what_crm_mon_prints: crm_mon is not installed");
        return;
    }
    for input in inputs() {
        let out = Command::new("crm_mon")
            .args(["-1", "-r"])
            .env("CIB_file", &input)
            .env("TZ", "UTC")
            .output()
            .expect("run crm_mon");
        assert!(
            out.status.success(),
            "crm_mon failed on {}",
            input.display()
        );
        let reference: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("  * Last updated:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(status(&input, &[]), reference, "{}", input.display());
    }
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
