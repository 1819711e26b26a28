//! The two-node OpenNebula example: it parses, its `setup.sh` (the guide's
//! commands with warden) reproduces it byte for byte, and the README's first
//! command shows warden's decisions after one of its nodes was lost
//! (`one-server1-lost.xml`, the example's CIB with two nodes and their
//! history).

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::Path;
use std::process::Command;

const EXAMPLE: &str = "examples/opennebula-two-node/cib.xml";
const SETUP: &str = "examples/opennebula-two-node/setup.sh";

#[test]
fn example_parses_and_holds_the_guide() {
    let text = fs::read_to_string(EXAMPLE).unwrap();
    let parsed = warden::core::cib::parse(&text, EXAMPLE);
    assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    let cib = parsed.cib.unwrap();
    let c = &cib.configuration;
    assert_eq!(c.property("no-quorum-policy"), Some("ignore"));
    let ids: Vec<&str> = c.primitives().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "fence_server1",
            "fence_server2",
            "Cluster_VIP",
            "opennebula",
            "opennebula-sunstone",
            "opennebula-gate",
            "opennebula-flow"
        ]
    );
    assert_eq!(c.constraints.len(), 4);
}

#[test]
fn setup_script_reproduces_the_example() {
    let needs = [
        "/usr/lib/ocf/resource.d/heartbeat/IPaddr2",
        "/usr/sbin/fence_ilo_ssh",
        "/bin/sh",
    ];
    if let Some(missing) = needs.iter().find(|p| !Path::new(p).exists()) {
        eprintln!("SKIP setup_script_reproduces_the_example: {missing} is not installed (the example depends on its metadata)");
        return;
    }
    let scratch = Scratch::new("example");
    let out_file = scratch.file("cib.xml");
    let out = Command::new("/bin/sh")
        .arg(SETUP)
        .arg(&out_file)
        .env("WARDEN", warden_bin())
        .env_remove("CIB_file")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setup.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&out_file).unwrap(),
        fs::read_to_string(EXAMPLE).unwrap(),
        "setup.sh no longer produces {EXAMPLE}: rerun it (WARDEN=target/debug/warden {SETUP}) and review the diff"
    );
}

#[test]
fn readme_first_command_shows_the_decisions() {
    let readme = fs::read_to_string("README.md").unwrap();
    let first = readme
        .lines()
        .find(|l| l.starts_with("cargo run"))
        .expect("a first command");
    assert!(
        first.starts_with("cargo run --release -- sim "),
        "the README's first command changed: {first}"
    );
    let text = ok(warden(&["sim"]), "the README's first command");
    // The survivor fences the crashed node, then starts the group in order.
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no '{needle}' in:\n{text}"))
    };
    let fenced = at("one-server1 fenced by one-server2");
    let mut last = fenced;
    for rsc in [
        "Cluster_VIP",
        "opennebula",
        "opennebula-sunstone",
        "opennebula-gate",
        "opennebula-flow",
    ] {
        let started = at(&format!("starting {rsc} on one-server2"));
        assert!(started > last, "{rsc} started out of order:\n{text}");
        last = started;
    }
    assert!(
        text.contains("  Cluster_VIP: running on one-server2\n"),
        "{text}"
    );
    // The same decision, as crm_simulate prints it.
    let out = warden(&[
        "simulate",
        "-x",
        "examples/opennebula-two-node/one-server1-lost.xml",
        "-S",
    ]);
    let text = ok(out, "simulate on the example");
    assert!(text.starts_with("Current cluster status:\n"), "{text}");
    assert!(
        text.contains("  * Fence (reboot) one-server1 'peer is no longer part of the cluster'\n"),
        "{text}"
    );
    assert!(
        text.contains("    * Cluster_VIP\t(ocf:heartbeat:IPaddr2):\t Started one-server2\n"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    // The example's own CIB shows every resource stopped: it has no nodes yet.
    let status = ok(warden_f(Path::new(EXAMPLE), &["status"]), "status");
    assert!(
        status.contains("  * Cluster_VIP\t(ocf:heartbeat:IPaddr2):\t Stopped\n"),
        "{status}"
    );
}
