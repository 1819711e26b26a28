//! warden against Pacemaker's own tools (Pacemaker 2.1.5, installed):
//!
//! * `crm_verify -x` and `warden`'s `verify` reject the same documents: the
//!   fixtures in `tests/fixtures/verify/` (each broken in one way, plus
//!   clean ones), the schema fixtures, the golden multi-problem document
//!   and every document of the scheduler corpus. Messages differ; verdicts agree,
//!   except for the listed mistakes warden rejects and crm_verify lets
//!   through (each with the reason), which must stay that way.
//! * Durations are read exactly as Pacemaker reads them: a document with
//!   one resource per spelling goes through Pacemaker's scheduler
//!   (`crm_simulate`), and the intervals (recurring monitor keys) and
//!   timeouts (`CRM_meta_timeout` of each start) in its transition graph
//!   must equal what `duration` computes.
//!
//! Each test is skipped with one line when the Pacemaker tool is absent.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use warden::core::cib::diag::has_errors;
use warden::core::cib::duration::{parse_interval_ms, parse_msec};
use warden::core::cib::verify::verify;
use warden::core::cib::xml::parse_element;

const CORPUS: &str = "../shared/corpus/pacemaker-scheduler";

/// Mistakes warden rejects and crm_verify (2.1.5) accepts, and why.
const STRICTER: &[(&str, &str)] = &[
    (
        "bad-interval.xml",
        "Pacemaker silently reads an unparseable interval as 0: the monitor never runs",
    ),
    (
        "bad-timeout.xml",
        "Pacemaker silently falls back to its default timeout",
    ),
    (
        "idref-wrong-kind.xml",
        "Pacemaker logs the broken id-ref and ignores the set",
    ),
    (
        "self-colocation.xml",
        "a resource colocated with itself means nothing (pcs refuses it)",
    ),
    (
        "topology-missing-device.xml",
        "crm_verify does not read the fencing topology; fencing fails at run time",
    ),
    (
        "topology-not-stonith.xml",
        "crm_verify does not read the fencing topology; fencing fails at run time",
    ),
    (
        "controller-property-invalid.xml",
        "crm_verify checks only the scheduler's properties; the controller rejects this one",
    ),
    (
        "on-fail-stop-for-stop.xml",
        "Pacemaker reports it only once it schedules a stop",
    ),
    (
        "malformed.xml",
        "libxml2 repairs the missing '>'; warden does not guess",
    ),
];

fn xml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

/// crm_verify rejects a document when it reports errors (warnings alone
/// also exit 78, but mean "accepted with warnings") or fails to run it.
fn crm_verify_rejects(path: &Path) -> bool {
    let out = Command::new("crm_verify")
        .arg("-x")
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings_only = stderr.contains("Warnings found during check");
    !(out.status.success() || warnings_only)
}

fn warden_rejects(path: &Path) -> bool {
    let text = fs::read_to_string(path).unwrap();
    has_errors(&verify(&text, &path.display().to_string()))
}

#[test]
fn crm_verify_gives_the_same_verdicts() {
    if Command::new("crm_verify")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP crm_verify_gives_the_same_verdicts: crm_verify is not installed");
        return;
    }
    let mut files = xml_files("tests/fixtures/verify");
    assert!(files.len() >= 30, "only {} fixtures", files.len());
    files.extend(xml_files("tests/fixtures/verify/schema"));
    files.push(PathBuf::from("tests/golden/verify/many-problems.xml"));
    if Path::new(CORPUS).is_dir() {
        let mut corpus: Vec<PathBuf> = fs::read_dir(CORPUS)
            .unwrap()
            .map(|e| e.unwrap().path().join("input.xml"))
            .filter(|p| p.is_file())
            .collect();
        corpus.sort();
        // The whole corpus: every document Pacemaker's scheduler tests use.
        files.extend(corpus);
    } else {
        eprintln!("SKIP (corpus part of) crm_verify_gives_the_same_verdicts: {CORPUS} is absent");
    }
    // Two at a time: crm_verify is a process per document.
    fn run(part: &[PathBuf]) -> Vec<(PathBuf, bool, bool)> {
        part.iter()
            .map(|p| (p.clone(), crm_verify_rejects(p), warden_rejects(p)))
            .collect()
    }
    let verdicts: Vec<(PathBuf, bool, bool)> = std::thread::scope(|s| {
        let (a, b) = files.split_at(files.len() / 2);
        let h = s.spawn(|| run(a));
        let mut v = run(b);
        v.extend(h.join().unwrap());
        v
    });
    let mut wrong = Vec::new();
    for (path, pacemaker, warden) in &verdicts {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let stricter = STRICTER.iter().find(|(n, _)| *n == name);
        let verdict = |r: bool| if r { "rejects" } else { "accepts" };
        match stricter {
            Some((_, why)) if !*warden || *pacemaker => wrong.push(format!(
                "{}: expected warden to reject and crm_verify to accept ({why}), but crm_verify {} and warden {}",
                path.display(),
                verdict(*pacemaker),
                verdict(*warden)
            )),
            None if pacemaker != warden => wrong.push(format!(
                "{}: crm_verify {}, warden {}",
                path.display(),
                verdict(*pacemaker),
                verdict(*warden)
            )),
            _ => {}
        }
    }
    assert!(
        verdicts.len() > 60,
        "only {} documents compared",
        verdicts.len()
    );
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Spellings, odd ones included. Each must be safe to put in an attribute.
const SPECS: &[&str] = &[
    "20",
    "20s",
    "20sec",
    "20seconds",
    " 20 s ",
    "20S",
    "500ms",
    "500msec",
    "10MS",
    "1m",
    "2min",
    "2mins",
    "5mo",
    "1.5m",
    "1h",
    "3hr",
    "90000us",
    "5us",
    "0",
    "007",
    "20x",
    "x20",
    "-5",
    "",
    ".",
    "..5",
    "1e3",
    "PT5S",
    "PT1M",
    "PT10H",
    "P1M",
    "P1D",
    "P2D",
    "P1W",
    "P1DT1S",
    "P1Y",
    "P0D",
    "PT",
    "P/5",
    "PT.5S",
    "PT1.5S",
    "PT5s",
    "PT-5S",
    "P-1DT30S",
    "P5",
    "P",
    "pt5s",
    "4294967294ms",
    "99999999999",
];

/// Pacemaker's default operation timeout, used when a timeout is invalid.
const DEFAULT_TIMEOUT_MS: u64 = 20_000;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn document() -> String {
    let mut prims = String::new();
    for (i, spec) in SPECS.iter().enumerate() {
        prims.push_str(&format!(
            r#"<primitive id="r{i}" class="ocf" provider="pacemaker" type="Dummy"><operations>
<op id="r{i}-start" name="start" interval="0" timeout="{spec}"/>
<op id="r{i}-mon" name="monitor" interval="{spec}"/></operations></primitive>
"#
        ));
    }
    format!(
        r#"<cib epoch="1" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9" have-quorum="1">
<configuration><crm_config><cluster_property_set id="o">
<nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="n1"/></nodes><resources>
{prims}</resources><constraints/></configuration>
<status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/></status></cib>"#
    )
}

#[test]
fn intervals_and_timeouts_match_pacemaker() {
    if Command::new("crm_simulate")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP intervals_and_timeouts_match_pacemaker: crm_simulate is not installed");
        return;
    }
    let dir = TempDir(
        std::env::temp_dir().join(format!("warden-verify-duration-{}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let input = dir.0.join("in.xml");
    let graph = dir.0.join("graph.xml");
    std::fs::write(&input, document()).unwrap();
    let out = Command::new("crm_simulate")
        .arg("-S")
        .arg("-x")
        .arg(&input)
        .arg("-G")
        .arg(&graph)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "crm_simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph = parse_element(&std::fs::read_to_string(&graph).unwrap()).unwrap();

    let mut pacemaker_interval = vec![0u64; SPECS.len()];
    let mut pacemaker_timeout: Vec<Option<i64>> = vec![None; SPECS.len()];
    for op in graph.descendants() {
        let Some(key) = op.attr("operation_key") else {
            continue;
        };
        let Some((rsc, rest)) = key.split_once('_') else {
            continue;
        };
        let Ok(i) = rsc.trim_start_matches('r').parse::<usize>() else {
            continue;
        };
        if let Some(ms) = rest.strip_prefix("monitor_") {
            let ms: u64 = ms.parse().unwrap();
            if ms != 0 {
                pacemaker_interval[i] = ms;
            }
        } else if rest == "start_0" {
            // The action itself, not a reference to it from another's inputs.
            if let Some(attrs) = op.elements().find(|e| e.name == "attributes") {
                pacemaker_timeout[i] = attrs
                    .attr("CRM_meta_timeout")
                    .map(|t| t.parse::<i64>().unwrap());
            }
        }
    }

    let mut mismatches = Vec::new();
    for (i, spec) in SPECS.iter().enumerate() {
        // Pacemaker schedules no recurring monitor for an interval of 0 or an
        // invalid one.
        let ours = parse_interval_ms(spec).unwrap_or(0);
        if ours != pacemaker_interval[i] {
            mismatches.push(format!(
                "interval {spec:?}: warden {ours}, Pacemaker {}",
                pacemaker_interval[i]
            ));
        }
        let ours = parse_msec(spec).unwrap_or(DEFAULT_TIMEOUT_MS);
        if ours > i32::MAX as u64 {
            // Pacemaker stores a timeout in a C int; what it makes of a
            // larger value is the compiler's business, not the parser's.
            continue;
        }
        if Some(ours as i64) != pacemaker_timeout[i] {
            mismatches.push(format!(
                "timeout {spec:?}: warden {ours}, Pacemaker {:?}",
                pacemaker_timeout[i]
            ));
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
