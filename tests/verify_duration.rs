//! Durations read exactly as Pacemaker reads them: a document with one
//! resource per spelling goes through Pacemaker's own scheduler
//! (`crm_simulate`), and the intervals (recurring monitor keys) and timeouts
//! (`CRM_meta_timeout` of each start) in its transition graph must equal
//! what `duration` computes. Skipped with one line if `crm_simulate` is
//! absent.

use std::path::PathBuf;
use std::process::Command;
use warden::core::cib::duration::{parse_interval_ms, parse_msec};
use warden::core::cib::xml::parse_element;

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
