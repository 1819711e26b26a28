//! warden's CIB schema (`cib-schemas/`) against real documents:
//!
//! * every Pacemaker scheduler regression input validates (documents that
//!   declare `validate-with="none"` are exempt, as Pacemaker exempts them),
//!   and a validation session reused across them finds what fresh ones do;
//! * the fixtures in `tests/fixtures/verify/schema/` get the verdict their
//!   name says (`valid-*`, `invalid-*`), with the exact messages kept in
//!   `tests/golden/verify/schema.txt` (`UPDATE_EXPECT=1` re-blesses);
//! * `xmllint --relaxng cib-schemas/cib.rng` agrees with warden on the
//!   fixtures and a sample of the corpus (skipped if xmllint is absent);
//! * Pacemaker's own schema (the one each fixture declares, under
//!   /usr/share/pacemaker) gives the same verdicts (skipped if absent).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use warden::core::cib::{schema, xml};

const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";
const FIXTURES: &str = "tests/fixtures/verify/schema";
const GOLDEN: &str = "tests/golden/verify/schema.txt";
const PACEMAKER_SCHEMAS: &str = "/usr/share/pacemaker";

fn corpus_inputs() -> Option<Vec<PathBuf>> {
    let dir = Path::new(CORPUS);
    if !dir.is_dir() {
        return None;
    }
    let mut cases: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("input.xml"))
        .filter(|p| p.is_file())
        .collect();
    cases.sort();
    Some(cases)
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    assert!(v.len() >= 20, "only {} schema fixtures", v.len());
    v
}

fn validate_with(text: &str) -> Option<String> {
    let root = xml::parse_element(text).ok()?;
    root.attr("validate-with").map(str::to_string)
}

/// warden's diagnostics for a file, one per line.
fn warden(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    schema::check(&text, &path.display().to_string())
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// Runs `xmllint --relaxng` on several files at once; whether each
/// validates.
fn xmllint(rng: &Path, files: &[PathBuf]) -> Option<BTreeMap<PathBuf, bool>> {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(rng)
        .args(files)
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("failed to compile"),
        "xmllint cannot compile {}:\n{stderr}",
        rng.display()
    );
    let mut verdicts = BTreeMap::new();
    for f in files {
        let name = f.display().to_string();
        // A document xmllint cannot parse gets no verdict line: invalid.
        let ok = stderr.lines().any(|l| l == format!("{name} validates"));
        verdicts.insert(f.clone(), ok);
    }
    Some(verdicts)
}

#[test]
fn corpus_inputs_validate() {
    let Some(cases) = corpus_inputs() else {
        eprintln!("SKIP corpus_inputs_validate: {CORPUS} is absent");
        return;
    };
    assert!(cases.len() > 100, "only {} cases found", cases.len());
    let mut failures = Vec::new();
    let mut exempt = 0;
    // A session keeps what it learnt between documents; results must be
    // those of a fresh validation.
    let mut session = schema::cib().session();
    for path in &cases {
        let text = fs::read_to_string(path).unwrap();
        let root = xml::parse_element(&text).unwrap();
        assert_eq!(
            session.validate(&root),
            schema::cib().validate(&root),
            "{}: a session validates differently",
            path.display()
        );
        let problems = warden(path);
        if validate_with(&text).as_deref() == Some("none") {
            exempt += 1;
            continue;
        }
        failures.extend(problems);
    }
    assert!(
        failures.is_empty(),
        "{} problems in {} documents:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(exempt < 5, "{exempt} documents skip validation");
}

#[test]
fn fixtures_get_the_verdict_their_name_says() {
    let mut out = String::new();
    let mut wrong = Vec::new();
    for path in fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let problems = warden(&path);
        let valid = name.starts_with("valid-");
        if valid != problems.is_empty() {
            wrong.push(format!("{name}: {problems:#?}"));
        }
        out.push_str(&format!("== {name}\n"));
        for p in problems {
            out.push_str(&p);
            out.push('\n');
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
    golden(GOLDEN, &out);
}

#[test]
fn xmllint_agrees_with_warden() {
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("SKIP xmllint_agrees_with_warden: xmllint is not installed (libxml2-utils)");
        return;
    }
    let mut files = fixtures();
    match corpus_inputs() {
        // Every seventh corpus document, and the one with invalid content.
        Some(corpus) => files.extend(corpus.into_iter().enumerate().filter_map(|(i, p)| {
            (i % 7 == 0 || p.to_string_lossy().contains("order-wrong-kind")).then_some(p)
        })),
        None => eprintln!("SKIP (part of) xmllint_agrees_with_warden: {CORPUS} is absent"),
    }
    let verdicts = xmllint(Path::new("cib-schemas/cib.rng"), &files).unwrap();
    let mut disagreements = Vec::new();
    for (path, xmllint_ok) in &verdicts {
        let problems = warden(path);
        if *xmllint_ok != problems.is_empty() {
            disagreements.push(format!(
                "{}: xmllint says {}, warden says {problems:#?}",
                path.display(),
                if *xmllint_ok { "valid" } else { "invalid" }
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn pacemaker_schema_gives_the_same_verdicts() {
    if !Path::new(PACEMAKER_SCHEMAS)
        .join("pacemaker-3.9.rng")
        .is_file()
        || Command::new("xmllint").arg("--version").output().is_err()
    {
        eprintln!(
            "SKIP pacemaker_schema_gives_the_same_verdicts: needs xmllint and Pacemaker's schemas in {PACEMAKER_SCHEMAS}"
        );
        return;
    }
    let mut by_schema: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for path in fixtures() {
        let text = fs::read_to_string(&path).unwrap();
        let schema = validate_with(&text).unwrap_or_else(|| "pacemaker-3.9".into());
        by_schema.entry(schema).or_default().push(path);
    }
    let mut wrong = Vec::new();
    for (schema, files) in by_schema {
        let rng = Path::new(PACEMAKER_SCHEMAS).join(format!("{schema}.rng"));
        for (path, ok) in xmllint(&rng, &files).unwrap() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if ok != name.starts_with("valid-") {
                wrong.push(format!("{name}: Pacemaker's {schema} says {ok}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Compares `actual` with a golden file, or rewrites it when
/// `UPDATE_EXPECT=1`.
fn golden(path: &str, actual: &str) {
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        fs::create_dir_all(Path::new(path).parent().unwrap()).unwrap();
        fs::write(path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{path} is missing: run with UPDATE_EXPECT=1 to create it"));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .collect();
        panic!(
            "{path} differs (UPDATE_EXPECT=1 re-blesses; review the diff):\n{}\n(expected {} lines, got {})",
            diff.join("\n"),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}
