//! Every CIB of Pacemaker's scheduler regression inputs parses without error
//! and is written back semantically equal (same elements, attributes and
//! order of elements; attribute order, comments and formatting aside).

use std::fs;
use std::path::Path;
use warden::core::cib::{self, xml};

const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";

#[test]
fn corpus_inputs_round_trip() {
    let dir = Path::new(CORPUS);
    if !dir.is_dir() {
        eprintln!("SKIP corpus_inputs_round_trip: {CORPUS} is absent");
        return;
    }
    let mut cases: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("input.xml"))
        .filter(|p| p.is_file())
        .collect();
    cases.sort();
    assert!(cases.len() > 100, "only {} cases found", cases.len());
    let mut failures = Vec::new();
    for path in &cases {
        let text = fs::read_to_string(path).unwrap();
        let name = path.display().to_string();
        let parsed = cib::parse(&text, &name);
        let errors: Vec<String> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        if !errors.is_empty() || parsed.cib.is_none() {
            failures.push(format!("{name}: {}", errors.join("; ")));
            continue;
        }
        let out = cib::to_xml(parsed.cib.as_ref().unwrap());
        let before = xml::parse_element(&text).unwrap();
        let after = match xml::parse_element(&out) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{name}: output is not XML: {}", e.message));
                continue;
            }
        };
        if let Some(d) = xml::semantic_diff(&before, &after) {
            failures.push(format!("{name}: {d}"));
        }
        // Writing what was read back must be a fixed point.
        let again = cib::to_xml(cib::parse(&out, &name).cib.as_ref().unwrap());
        if again != out {
            failures.push(format!("{name}: second write differs from the first"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
