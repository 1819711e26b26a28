//! The README's first command: `warden sim` runs the two-node OpenNebula
//! example (`examples/opennebula-two-node/`) through a failover, and
//! `warden simulate` shows the same decision on the example's
//! `active-lost.xml` (its CIB with two nodes and their history). The
//! example itself is checked in `tests/opennebula_examples.rs`.

mod cli_support;

use cli_support::*;
use std::fs;
use std::path::Path;

const EXAMPLE: &str = "examples/opennebula-two-node/cib.xml";

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
        "opennebula-novnc",
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
        "examples/opennebula-two-node/active-lost.xml",
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
    // The example's own CIB shows every resource stopped: it has no nodes yet.
    let status = ok(warden_f(Path::new(EXAMPLE), &["status"]), "status");
    assert!(
        status.contains("  * Cluster_VIP\t(ocf:heartbeat:IPaddr2):\t Stopped\n"),
        "{status}"
    );
}
