//! `warden simulate` on the two-node OpenNebula example after one node was
//! lost (`tests/fixtures/one-server1-lost.xml`): the text of
//! each mode as golden files in `tests/golden/simulate/` (re-blessed with
//! `UPDATE_EXPECT=1`; also checked against `crm_simulate` when installed),
//! the JSON outcome, the saved graph and resulting CIB, and bad input.

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::Path;
use std::process::Command;

const LOST: &str = "tests/fixtures/one-server1-lost.xml";
const GOLDEN: &str = "tests/golden/simulate";
const DATE: &str = "2025-06-01 00:00:00Z";

fn simulate(args: &[&str]) -> std::process::Output {
    let mut all = vec!["simulate"];
    all.extend_from_slice(args);
    warden(&all)
}

#[test]
fn each_mode_prints_its_golden_text() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for (name, mode) in [("lost-S", "-S"), ("lost-R", "-R"), ("lost-s", "-s")] {
        let got = ok(
            simulate(&["-x", LOST, mode, "-t", DATE]),
            &format!("simulate {mode}"),
        );
        let path = Path::new(GOLDEN).join(format!("{name}.txt"));
        if update {
            fs::write(&path, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_EXPECT=1", path.display()));
        if got != expected {
            failures.push(format!("{name}:\n--- expected\n{expected}--- got\n{got}"));
        }
        if have("crm_simulate") {
            let theirs = Command::new("crm_simulate")
                .args(["-x", LOST, mode, "-t", DATE])
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            assert_eq!(
                got,
                String::from_utf8_lossy(&theirs.stdout),
                "{name}: not what crm_simulate prints"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_lost_node_is_fenced_before_its_resources_move() {
    let text = ok(simulate(&["-x", LOST, "-S", "-t", DATE]), "simulate -S");
    let fence = text
        .find("  * Fencing one-server1 (reboot)\n")
        .expect("the lost node is fenced");
    let start = text
        .find("  * Resource action: Cluster_VIP     start on one-server2\n")
        .expect("the VIP starts on the survivor");
    assert!(fence < start, "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn json_gives_the_outcome_in_the_corpus_shape() {
    let out = ok(
        simulate(&["-x", LOST, "--json", "-t", DATE]),
        "simulate --json",
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["fenced"], serde_json::json!(["one-server1"]));
    assert_eq!(v["shutdown"], serde_json::json!([]));
    assert_eq!(v["now"], "2025-06-01T00:00:00Z");
    let placement = v["placement"].as_object().unwrap();
    assert_eq!(placement.len(), 7);
    assert!(
        placement.values().all(|p| p == "one-server2"),
        "{placement:?}"
    );
    let actions = v["actions"].as_array().unwrap();
    assert!(actions
        .iter()
        .any(|a| a["action"] == "fence" && a["to"] == "one-server1"));
    assert_eq!(
        actions
            .iter()
            .filter(|a| a["action"] == "move" && a["from"] == "one-server1")
            .count(),
        7
    );
    assert_eq!(v["final_nodes"]["one-server1"], "offline");
    assert_eq!(v["final_state"]["Cluster_VIP"]["role"], "Started");
    let summary = v["transition_summary"].as_array().unwrap();
    assert_eq!(
        summary[0],
        "* Fence (reboot) one-server1 'peer is no longer part of the cluster'"
    );
    assert!(!out.contains("s3cret"));
}

#[test]
fn the_resulting_cib_needs_nothing_more_and_the_graph_orders_fencing_first() {
    let scratch = Scratch::new("simulate-out");
    let (cib, graph, dot) = (
        scratch.file("after.xml"),
        scratch.file("graph.xml"),
        scratch.file("graph.dot"),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    ok(
        simulate(&[
            "-x",
            LOST,
            "-S",
            "-Q",
            "-t",
            DATE,
            "-O",
            &s(&cib),
            "-G",
            &s(&graph),
            "-D",
            &s(&dot),
        ]),
        "simulate -S -O -G -D",
    );
    // The resulting CIB records the transition: simulating it again finds
    // nothing to do.
    let again = ok(simulate(&["-x", &s(&cib), "-R", "-t", DATE]), "simulate -R");
    let summary = again.split("Transition Summary:\n").nth(1).unwrap();
    assert_eq!(summary, "", "{again}");
    assert!(
        again.contains("    * OFFLINE: [ one-server1 ]\n"),
        "{again}"
    );
    // The graph: one synapse per action, every start after the fencing.
    let xml = fs::read_to_string(&graph).unwrap();
    assert!(
        !xml.contains("s3cret") && xml.contains("password=\"********\""),
        "the graph hides the devices' passwords"
    );
    let root = warden::core::cib::xml::parse_element(&xml).expect("graph XML");
    assert_eq!(root.name, "transition_graph");
    let synapses: Vec<_> = root.elements().collect();
    assert!(!synapses.is_empty());
    let fence_id = synapses
        .iter()
        .flat_map(|s| s.elements().find(|e| e.name == "action_set"))
        .flat_map(|set| set.elements())
        .find(|a| a.attr("operation") == Some("stonith"))
        .and_then(|a| a.attr("id"))
        .expect("a fencing action")
        .to_string();
    let dot = fs::read_to_string(&dot).unwrap();
    assert!(dot.starts_with(" digraph \"g\" {\n") && dot.ends_with("}\n"));
    assert!(
        dot.contains("\"stonith 'reboot' one-server1\" -> \"Cluster_VIP_stop_0 one-server1\" [ style = bold]"),
        "{dot}"
    );
    // Cluster_VIP's stop (implied by the fencing) waits for it.
    let vip_stop = synapses
        .iter()
        .find(|s| {
            s.elements()
                .find(|e| e.name == "action_set")
                .and_then(|set| set.elements().next())
                .and_then(|a| a.attr("operation_key"))
                == Some("Cluster_VIP_stop_0")
        })
        .expect("the VIP's stop");
    let inputs: Vec<String> = vip_stop
        .elements()
        .find(|e| e.name == "inputs")
        .unwrap()
        .elements()
        .filter_map(|t| t.elements().next())
        .filter_map(|a| a.attr("id").map(str::to_string))
        .collect();
    assert!(inputs.contains(&fence_id), "{xml}");
}

#[test]
fn quiet_prints_nothing_and_the_execution_date_is_used_without_t() {
    let out = ok(simulate(&["-x", LOST, "-S", "-Q", "-t", DATE]), "-S -Q");
    assert_eq!(out, "");
    let scratch = Scratch::new("simulate-date");
    let dated = scratch.file("dated.xml");
    let text = fs::read_to_string(LOST).unwrap().replacen(
        "<cib ",
        "<cib execution-date=\"1748736000\" ",
        1,
    );
    fs::write(&dated, text).unwrap();
    let out = ok(
        simulate(&["-x", dated.to_str().unwrap(), "-R"]),
        "simulate -R on a dated CIB",
    );
    assert!(
        out.starts_with("Using the original execution date of: 2025-06-01 00:00:00Z\n"),
        "{out}"
    );
}

#[test]
fn bad_input_is_named() {
    let cases: [(&[&str], &str); 5] = [
        (&["-S"], "'simulate' needs the live cluster"),
        (
            &["-x", "no/such/cib.xml", "-S"],
            "cannot read the CIB file no/such/cib.xml",
        ),
        (
            &["-x", LOST, "-S", "-t", "yesterday"],
            "invalid date 'yesterday' for --set-datetime",
        ),
        (&["-x", LOST, "extra"], "unexpected argument 'extra'"),
        (
            &["-x", LOST, "--group", "g"],
            "option '--group' is not supported by 'warden simulate'",
        ),
    ];
    for (args, message) in cases {
        let out = simulate(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // A broken CIB is reported with its file and line, nothing printed.
    let scratch = Scratch::new("simulate-bad");
    let bad = scratch.file("bad.xml");
    fs::write(&bad, "<cib>\n  <configuration>\n</cib>\n").unwrap();
    let out = simulate(&["-x", bad.to_str().unwrap(), "-S"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bad.xml:"), "{}", stderr(&out));
}
