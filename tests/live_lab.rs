//! The live command line against a real two-node cluster (corosync in the
//! lab, `warden daemon` in each node, fence_ipmilan against virtual BMCs;
//! see `tests/daemon_support`): every command runs the real `warden`
//! binary inside a lab node, without `-f`, against that node's daemon. One
//! test drives the scenarios in order on one cluster (they share it):
//!
//! 1. edits: `resource create`, `constraint colocation add`, `property
//!    set`, two edits at once from both nodes (each applied: a conflict is
//!    read again and retried), a replace against a stale version answered
//!    `Conflict`, a bad edit refused by the command line and a broken
//!    document refused by the cluster, nothing changed (the same CIB
//!    digest on both nodes before and after);
//! 2. `resource move` without a node (a ban from where it runs), `clear`,
//!    `move` to a node, `clear`;
//! 3. `resource restart`: the resource's start count goes up, it stays on
//!    its node;
//! 4. `stonith fence` of the passive node: the BMC log shows it, the
//!    command returns after it, `stonith history` lists it; the node boots
//!    again and rejoins; `stonith confirm` of a member is refused;
//! 5. SIGTERM to the active node's daemon: its resources stop there and
//!    start on the other node, nobody is fenced (the BMC log unchanged),
//!    the daemon exits 0; started again, it rejoins.
//!
//! Root and the lab only (`SKIP live_lab: <reason>` otherwise).

use std::time::{Duration, Instant};

mod daemon_support;
use daemon_support::{lab_available, Cluster, ClusterConfig, GROUP, NODES};
use warden::shell::daemon_api::{DaemonReply, DaemonRequest};
use warden::shell::ipc::ClientError;

const S: fn(u64) -> Duration = Duration::from_secs;

fn other(node: &str) -> &'static str {
    if node == "n1" {
        "n2"
    } else {
        "n1"
    }
}

/// The node where the group and `extra` all run, agreed by `asking`'s CIB
/// and the ground truth (the VIP only there, the Dummy state files there).
fn all_on(c: &Cluster, asking: &str, with_extra: bool) -> Option<String> {
    let p = c.placement(asking);
    let first = p.get(GROUP[0])?.clone();
    if first.len() != 1 {
        return None;
    }
    let mut names: Vec<&str> = GROUP.to_vec();
    if with_extra {
        names.push("extra");
    }
    let n = first[0].clone();
    let agreed = names.iter().all(|r| p.get(*r) == Some(&first));
    let real =
        c.vip_holders() == vec![n.clone()] && names[1..].iter().all(|r| c.dummy_running(&n, r));
    (agreed && real).then_some(n)
}

/// Runs the CLI in `node`; asserts success; its standard output.
fn ok(c: &Cluster, node: &str, args: &[&str]) -> String {
    let out = c.cli(node, args);
    assert!(
        out.status.success(),
        "warden {} in {node}: exit {:?}\nstdout: {}\nstderr: {}\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        c.log_tails(30)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the CLI in `node`; asserts failure; its standard error.
fn fails(c: &Cluster, node: &str, args: &[&str]) -> String {
    let out = c.cli(node, args);
    assert!(
        !out.status.success(),
        "warden {} in {node} should have failed\nstdout: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn wait_all_on(c: &mut Cluster, node: &str, with_extra: bool, timeout: Duration) {
    let want = node.to_string();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if all_on(c, "n1", with_extra).as_ref() == Some(&want)
            && all_on(c, "n2", with_extra).as_ref() == Some(&want)
        {
            return;
        }
        daemon_support::nap(100);
    }
    panic!(
        "not everything runs on {node} within {timeout:?}: n1 sees {:?}, n2 sees {:?}, the VIP is on {:?}\n{}",
        c.placement("n1"),
        c.placement("n2"),
        c.vip_holders(),
        c.log_tails(30)
    );
}

/// What resource-agents' tmpfiles.d entry creates at boot on a real host
/// (a lab node's /run is its own, fresh at each boot, without it): the
/// Dummy agent's state directory. Without it a Dummy start fails on a node
/// where no other agent created it yet.
fn booted(c: &Cluster, node: &str) {
    c.lab_ok(&["exec", node, "mkdir", "-p", "/run/resource-agents"]);
}

/// How many times `rsc` was started on `node`, from its daemon's log.
fn starts(c: &Cluster, node: &str, rsc: &str) -> usize {
    let want = format!("rsc={rsc} action=start ");
    c.daemon_log(node)
        .lines()
        .filter(|l| l.contains("executing") && l.contains(&want))
        .count()
}

#[test]
fn live_lab() {
    if !lab_available("live_lab") {
        return;
    }
    let started = Instant::now();
    let mut c = Cluster::up(3, &ClusterConfig::default());
    for n in NODES {
        booted(&c, n);
    }
    c.wait_converged(&NODES, S(60));
    let mut active = String::new();
    c.wait_for("the group started on one node", S(60), |c| {
        match all_on(c, "n1", false) {
            Some(n) => {
                active = n;
                true
            }
            None => false,
        }
    });
    let phase = |what: &str| eprintln!("live_lab: {what} after {:?}", started.elapsed());
    phase(&format!("group on {active}"));

    edits(&mut c, &active);
    phase("edits");
    moves(&mut c, &active);
    phase("moves");
    restart(&mut c, &active);
    phase("restart");
    fence_and_confirm(&mut c, &active);
    phase("fence and confirm");
    clean_stop(&mut c, &active);
    phase("clean stop");
}

fn edits(c: &mut Cluster, active: &str) {
    let passive = other(active);
    ok(
        c,
        active,
        &[
            "resource",
            "create",
            "extra",
            "ocf:heartbeat:Dummy",
            "op",
            "monitor",
            "interval=10s",
        ],
    );
    ok(
        c,
        passive,
        &[
            "constraint",
            "colocation",
            "add",
            "extra",
            "with",
            "frontend",
            "INFINITY",
        ],
    );
    ok(
        c,
        active,
        &["property", "set", "cluster-recheck-interval=4min"],
    );
    wait_all_on(c, active, true, S(30));
    for n in NODES {
        let cib = c.cib(n).expect("a CIB");
        assert_eq!(
            cib.configuration.property("cluster-recheck-interval"),
            Some("4min"),
            "{n}"
        );
    }
    // What the DC records about the cluster, and who made the last
    // change (the property set, on the active node), as crm_mon shows
    // them.
    c.wait_converged(&NODES, S(30));
    let status = ok(c, passive, &["status"]);
    let line = |key: &str| {
        status
            .lines()
            .map(|l| l.trim_start().trim_start_matches("* ").trim_end())
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key:?} line in:\n{status}"))
            .to_string()
    };
    assert_eq!(line("Stack:"), "Stack: corosync");
    let dc = line("Current DC:");
    assert!(
        dc.contains(&format!("(version {})", warden::daemon::DC_VERSION))
            && dc.contains("partition with quorum"),
        "{dc}"
    );
    let change = line("Last change:");
    assert!(
        change.ends_with(&format!(" by root via warden on {active}")),
        "{change}"
    );

    // Two edits at once, one from each node: each is applied (the one
    // that finds the configuration changed reads it again and retries).
    let shared: &Cluster = c;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| shared.cli("n1", &["property", "set", "batch-limit=17"]));
        let b = s.spawn(|| {
            shared.cli(
                "n2",
                &["resource", "meta", "extra", "resource-stickiness=150"],
            )
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    for (what, out) in [("property set", &a), ("resource meta", &b)] {
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let digest = c.wait_converged(&NODES, S(30));
    let cib = c.cib("n1").unwrap();
    assert_eq!(cib.configuration.property("batch-limit"), Some("17"));
    assert!(
        warden::core::cib::to_xml(&cib).contains(r#"name="resource-stickiness" value="150""#),
        "the meta edit is in the CIB"
    );

    // A replace against a version that is no longer the cluster's.
    let stale_text = c.cib_text(active).unwrap();
    let stale = warden::core::cib::parse(&stale_text, "stale")
        .cib
        .unwrap()
        .version();
    ok(c, active, &["property", "set", "batch-limit=18"]);
    match c.request(
        passive,
        &DaemonRequest::ReplaceConfiguration {
            expected: stale.into(),
            cib_xml: stale_text,
        },
    ) {
        Ok(DaemonReply::Conflict { current }) => assert!(current.epoch > stale.epoch),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let digest_before = c.wait_converged(&NODES, S(30));
    assert_ne!(digest, digest_before);

    // A bad edit, refused by the command line: nothing changed.
    let err = fails(
        c,
        active,
        &[
            "constraint",
            "colocation",
            "add",
            "extra",
            "with",
            "no-such-resource",
        ],
    );
    assert!(err.contains("no-such-resource"), "{err}");
    // A broken document, refused by the cluster with its errors.
    let text = c.cib_text(passive).unwrap();
    let version = warden::core::cib::parse(&text, "t").cib.unwrap().version();
    let broken = text.replacen(
        "<constraints>",
        r#"<constraints><rsc_order id="bad-order" first="no-such-first" then="extra"/>"#,
        1,
    );
    match c.request(
        passive,
        &DaemonRequest::ReplaceConfiguration {
            expected: version.into(),
            cib_xml: broken,
        },
    ) {
        Err(ClientError::Refused { message, .. }) => assert!(
            message.starts_with("the new configuration was refused")
                && message.contains("no-such-first"),
            "{message}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let digest_after = c.wait_converged(&NODES, S(30));
    assert_eq!(digest_before, digest_after, "nothing changed");
    for n in NODES {
        assert_eq!(c.cib_digest(n).as_deref(), Some(digest_after.as_str()));
    }
}

fn moves(c: &mut Cluster, active: &str) {
    let passive = other(active);
    // No node: banned from where it runs now.
    ok(c, passive, &["resource", "move", "frontend"]);
    wait_all_on(c, passive, true, S(40));
    let cib = c.cib(active).unwrap();
    assert!(
        warden::core::cib::to_xml(&cib).contains(&format!(
            r#"<rsc_location id="cli-ban-frontend-on-{active}" rsc="frontend" role="Started" node="{active}" score="-INFINITY"/>"#
        )),
        "the ban is Pacemaker's constraint"
    );
    ok(c, active, &["resource", "clear", "frontend"]);
    c.wait_converged(&NODES, S(30));
    assert_eq!(
        all_on(c, "n1", true).as_deref(),
        Some(passive),
        "stickiness"
    );
    // Back, by name.
    ok(c, active, &["resource", "move", "frontend", active]);
    wait_all_on(c, active, true, S(40));
    ok(c, passive, &["resource", "clear", "frontend"]);
    c.wait_converged(&NODES, S(30));
    assert_eq!(all_on(c, "n1", true).as_deref(), Some(active));
}

fn restart(c: &mut Cluster, active: &str) {
    let before = starts(c, active, "extra");
    let out = c.cli(other(active), &["resource", "restart", "extra"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("Stopping extra") && stderr.contains("extra stopped"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "extra successfully restarted (running on {active})"
        )),
        "{stdout}"
    );
    assert_eq!(starts(c, active, "extra"), before + 1);
    c.wait_converged(&NODES, S(30));
    assert_eq!(all_on(c, "n1", true).as_deref(), Some(active));
    // Its target-role is back as it was (none).
    let cib = c.cib(active).unwrap();
    assert!(!warden::core::cib::to_xml(&cib).contains("extra-meta_attributes-target-role"));
    // On a node where it does not run: refused, nothing changed.
    let passive = other(active);
    let digest = c.wait_converged(&NODES, S(30));
    let err = fails(c, active, &["resource", "restart", "extra", passive]);
    assert!(
        err.contains(&format!(
            "extra is not running on {passive} and so cannot be restarted"
        )),
        "{err}"
    );
    assert_eq!(c.wait_converged(&NODES, S(30)), digest);
    // On the node where it runs: restarted there.
    let out = ok(c, passive, &["resource", "restart", "extra", active]);
    assert!(
        out.contains(&format!(
            "extra successfully restarted (running on {active})"
        )),
        "{out}"
    );
    assert_eq!(starts(c, active, "extra"), before + 2);
}

fn fence_and_confirm(c: &mut Cluster, active: &str) {
    let passive = other(active);
    let log_before = c.fence_log().len();
    let out = ok(c, active, &["stonith", "fence", passive]);
    assert!(out.contains(&format!("Node: {passive} fenced")), "{out}");
    // The command returned after the BMC acted.
    let actions: Vec<_> = c.fence_log()[log_before..].to_vec();
    assert!(
        actions.iter().any(|a| a.node == passive),
        "the BMC log shows {passive}: {actions:?}"
    );
    let history = ok(c, active, &["stonith", "history"]);
    assert!(
        history.contains(&format!("reboot of {passive} successful")),
        "{history}"
    );
    // The fenced node boots and rejoins; the resources stay.
    c.boot(passive);
    booted(c, passive);
    c.wait_converged(&NODES, S(60));
    assert_eq!(all_on(c, "n1", true).as_deref(), Some(active));
    // A member is not down.
    let err = fails(c, passive, &["stonith", "confirm", active, "--force"]);
    assert!(
        err.contains(&format!(
            "{active} is a member of the cluster: it is not down"
        )),
        "{err}"
    );
}

fn clean_stop(c: &mut Cluster, active: &str) {
    let passive = other(active);
    let log_before = c.fence_log().len();
    c.signal_daemon(active, nix::sys::signal::Signal::SIGTERM);
    let status = c.wait_daemon_exit(active, S(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "the daemon exits 0 after a clean shutdown: {status:?}\n{}",
        c.log_tails(40)
    );
    c.wait_for(&format!("everything running on {passive}"), S(30), |c| {
        all_on(c, passive, true).as_deref() == Some(passive)
    });
    for r in ["svc1", "svc2", "extra"] {
        assert!(!c.dummy_running(active, r), "{r} still runs on {active}");
    }
    assert_eq!(c.fence_log().len(), log_before, "nobody was fenced");
    assert!(
        !c.daemon_log(passive)
            .contains(&format!("fencing {active}: ")),
        "{}",
        c.log_tails(40)
    );
    // Started again: it rejoins; the resources stay.
    c.start_daemon(active);
    c.wait_converged(&NODES, S(60));
    assert_eq!(all_on(c, "n1", true).as_deref(), Some(passive));
    assert_eq!(c.fence_log().len(), log_before, "nobody was fenced");
}
