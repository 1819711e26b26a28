//! `warden sim` as users run it: the default failover demo, a scenario
//! file, one seed, a small swarm, and bad arguments (named, exit 1).

use std::process::Command;

fn warden(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_remove("CIB_file")
        .output()
        .expect("warden runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The position of the first line containing `what`, after line `from`.
fn line_after(text: &str, from: usize, what: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| l.contains(what))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no line with '{what}' after line {from}:\n{text}"))
}

#[test]
fn the_default_run_is_the_opennebula_failover_in_order() {
    let (code, out, err) = warden(&["sim"]);
    assert_eq!(code, 0, "{err}");
    // The active node crashes; the survivor fences it, and only then
    // starts the VIP, oned and the web services, one after the other.
    let mut at = line_after(&out, 0, "one-server1: crashed");
    at = line_after(&out, at, "one-server2: fencing one-server1");
    at = line_after(&out, at, "one-server1 fenced by one-server2");
    for rsc in [
        "Cluster_VIP",
        "opennebula",
        "opennebula-sunstone",
        "opennebula-gate",
        "opennebula-flow",
    ] {
        at = line_after(&out, at, &format!("starting {rsc} on one-server2"));
        at = line_after(&out, at, &format!("agent: {rsc} start ok"));
    }
    let status = &out[out.rfind("status at").expect("a final status")..];
    assert!(
        status.contains("Cluster_VIP: running on one-server2")
            && status.contains("opennebula-flow: running on one-server2"),
        "{status}"
    );
    // The fence devices' passwords never show, even in the verbose timeline.
    let (_, verbose, _) = warden(&["sim", "--debug"]);
    assert!(verbose.contains("fence agent fence_server1 off one-server1 (delay 30s)"));
    for text in [&out, &verbose] {
        assert!(!text.contains("s3cret"), "a password leaked:\n{text}");
    }
}

#[test]
fn a_scenario_file_runs_and_a_seed_replays() {
    let (code, out, err) = warden(&["sim", "tests/sim/opennebula-start-failure.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("start of Cluster_VIP on one-server1 failed: rc=1"));
    assert!(
        out.contains("attributes at 20s:\n  one-server1: fail-count-Cluster_VIP#start_0=INFINITY")
    );
    let (code, once, err) = warden(&["sim", "--seed", "42", "--nodes", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        once.starts_with("warden sim: seed 42, random faults"),
        "{once}"
    );
    assert!(once.contains("\nseed 42 passed: 3 nodes, "), "{once}");
    let (_, again, _) = warden(&["sim", "--seed", "42", "--nodes", "3"]);
    assert_eq!(once, again, "a seed replays exactly");
}

#[test]
fn a_swarm_ends_with_the_counts() {
    let (code, out, err) = warden(&["sim", "--swarm", "6", "--seed", "100"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().last(), Some("6 passed, 0 failed"), "{out}");
}

#[test]
fn bad_arguments_are_named() {
    for (args, message) in [
        (
            &["sim", "--nodes", "0"][..],
            "Error: --nodes 0 is not valid: expected a number of nodes from 1 to 16",
        ),
        (
            &["sim", "--swarm", "many"][..],
            "Error: --swarm 'many' is not valid: expected a number of seeds",
        ),
        (
            &["sim", "--swarm", "3", "tests/sim/opennebula-split.txt"][..],
            "Error: --swarm runs random faults: it takes no scenario file",
        ),
        (
            &["sim", "tests/sim/no-such-scenario.txt"][..],
            "tests/sim/no-such-scenario.txt",
        ),
        (
            &["sim", "--cib", "tests/sim/no-such.xml"][..],
            "tests/sim/no-such.xml",
        ),
    ] {
        let (code, out, err) = warden(args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn a_mistake_in_a_scenario_names_its_line() {
    let dir = std::env::temp_dir().join(format!("warden-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.txt");
    std::fs::write(&file, "cib opennebula\nrun 10s\ncrash\n").unwrap();
    let (code, _, err) = warden(&["sim", file.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1);
    assert!(err.contains("line 3: crash: missing a node"), "{err}");
}
