//! A real two-node cluster: corosync (`two_node`, token 1000) in the lab,
//! `warden daemon` in each node, configured with the guide's commands
//! through the file-mode CLI (VIP as IPaddr2 on the lab network, two Dummy
//! services in a group with it, fence_ipmilan against virtual BMCs with
//! the guide's per-node delays scaled down: 3 s on the device that fences
//! n1, none on n2's, `no-quorum-policy=ignore`). One test drives the
//! scenarios in order on one cluster (they share it):
//!
//! 1. a failed monitor is recovered in place; at `migration-threshold`
//!    failures the group moves;
//! 2. the active node is killed: it is fenced (the BMC log shows the
//!    power-off), then the VIP and the services start on the survivor, in
//!    order, after the fencing; the VIP answers from the survivor;
//! 3. the fenced node comes back: it rejoins, takes the CIB, and the
//!    resources stay where they are (stickiness);
//! 4. a 1|1 partition: exactly one node is fenced, n2 (the delays protect
//!    n1), and at no moment is the VIP on both nodes;
//!
//! and after each, every live daemon holds the same CIB (version and
//! digest, asked over its socket). Root only.

use std::time::{Duration, Instant};

mod daemon_support;
use daemon_support::{
    lab_available, lines_since, Cluster, ClusterConfig, BMC_PASSWORD, GROUP, NODES,
};
use warden::shell::daemon_api::{DaemonReply, DaemonRequest};

const S: fn(u64) -> Duration = Duration::from_secs;

fn other(node: &str) -> &'static str {
    if node == "n1" {
        "n2"
    } else {
        "n1"
    }
}

/// The node every member of the group runs on, as `asking` reads its CIB,
/// if they all run on one node.
fn group_node(c: &Cluster, asking: &str) -> Option<String> {
    let p = c.placement(asking);
    let first = p.get(GROUP[0])?.clone();
    if first.len() != 1 {
        return None;
    }
    GROUP
        .iter()
        .all(|r| p.get(*r) == Some(&first))
        .then(|| first[0].clone())
}

/// The node the whole group runs on, agreed by the daemon's view and the
/// ground truth (the VIP on that node's interface only, the Dummy state
/// files there).
fn group_really_on(c: &Cluster, asking: &str) -> Option<String> {
    let n = group_node(c, asking)?;
    (c.vip_holders() == vec![n.clone()]
        && c.dummy_running(&n, "svc1")
        && c.dummy_running(&n, "svc2"))
    .then_some(n)
}

#[test]
fn daemon_lab() {
    if !lab_available("daemon_lab") {
        return;
    }
    let started = Instant::now();
    let mut c = Cluster::up(
        1,
        &ClusterConfig {
            delay_s: [3, 0],
            migration_threshold: 2,
            svc1_monitor_s: 1,
        },
    );
    c.wait_converged(&NODES, S(60));
    let mut active = String::new();
    c.wait_for(
        "the group started on one node",
        S(60),
        |c| match group_really_on(c, "n1") {
            Some(n) => {
                active = n;
                true
            }
            None => false,
        },
    );
    eprintln!(
        "daemon_lab: group on {active} after {:?}",
        started.elapsed()
    );

    failed_monitor(&mut c, &mut active);
    eprintln!(
        "daemon_lab: failed monitor done after {:?}",
        started.elapsed()
    );
    let fenced = kill_active(&mut c, &active);
    eprintln!("daemon_lab: failover done after {:?}", started.elapsed());
    active = other(&fenced).to_string();
    comes_back(&mut c, &fenced, &active);
    eprintln!("daemon_lab: rejoin done after {:?}", started.elapsed());
    partition(&mut c);
    eprintln!("daemon_lab: partition done after {:?}", started.elapsed());
    no_secret_in_logs(&c);
}

/// svc1's state file removed under it: the monitor fails, svc1 recovers
/// where it is; the second time (`migration-threshold=2`) the group moves.
fn failed_monitor(c: &mut Cluster, active: &mut String) {
    let here = active.clone();
    for (round, expect_on) in [(1, here.clone()), (2, other(&here).to_string())] {
        let since = daemon_support::epoch_now();
        c.lab_ok(&[
            "exec",
            &here,
            "rm",
            "-f",
            "/run/resource-agents/Dummy-svc1.state",
        ]);
        c.wait_for(
            &format!("svc1's monitor failure {round} on {here}"),
            S(20),
            |c| {
                // The DC logs it, whichever node that is.
                NODES.iter().any(|n| {
                    lines_since(&c.daemon_log(n), since)
                        .iter()
                        .any(|l| l.contains(&format!("monitor of svc1 on {here} failed")))
                })
            },
        );
        c.wait_for(
            &format!("the group running on {expect_on} after failure {round}"),
            S(30),
            |c| group_really_on(c, &here).as_deref() == Some(expect_on.as_str()),
        );
        let p = c.placement(&here);
        assert_eq!(p["svc1"], vec![expect_on.clone()]);
        c.wait_converged(&NODES, S(30));
    }
    // The move left svc1's failures on `here`: clean them up through the
    // socket (a request the cluster applies in order), as an operator would.
    let reply = c.request(
        &here,
        &DaemonRequest::Cleanup {
            rsc: Some("svc1".into()),
            node: None,
        },
    );
    assert!(
        matches!(reply, Ok(DaemonReply::Done { version: Some(_) })),
        "{reply:?}"
    );
    // The cluster probes svc1 again (its history is gone) and finds it
    // where it runs; stickiness keeps the group there.
    let there = other(&here);
    c.wait_for("svc1 found again where it runs", S(30), |c| {
        group_really_on(c, &here).as_deref() == Some(there)
    });
    c.wait_converged(&NODES, S(30));
    assert_eq!(group_really_on(c, &here).as_deref(), Some(there));
    let fails = c.cib(&here).unwrap();
    let view = warden::status::build(&fails, warden::shell::clock::now());
    assert!(
        view.failed_actions.iter().all(|f| f.resource != "svc1"),
        "svc1's failures were cleaned up: {:?}",
        view.failed_actions
    );
    *active = other(&here).to_string();
}

/// Kills the active node; returns it (the node that was fenced).
fn kill_active(c: &mut Cluster, active: &str) -> String {
    let survivor = other(active);
    let fence_from = c.fence_log().len();
    let killed_at = c.kill(active);
    let mut answered_at = 0.0;
    c.wait_for(&format!("the VIP answering from {survivor}"), S(40), |c| {
        if c.vip_holders() == vec![survivor.to_string()]
            && c.vip_answers(Duration::from_millis(300))
        {
            answered_at = daemon_support::epoch_now();
            true
        } else {
            false
        }
    });
    c.wait_for(&format!("the group running on {survivor}"), S(20), |c| {
        group_really_on(c, survivor).as_deref() == Some(survivor)
    });
    // The reboot's power-on half goes on after recovery started; it ends.
    c.wait_for(&format!("{active} powered on again"), S(30), |c| {
        c.fence_log()[fence_from..]
            .iter()
            .any(|a| a.node == active && a.action == "on")
    });
    // The BMC powered the killed node off, then on (a reboot done as off,
    // then on), and nothing else.
    let actions: Vec<(String, String, String)> = c.fence_log()[fence_from..]
        .iter()
        .map(|a| (a.node.clone(), a.action.clone(), a.result.clone()))
        .collect();
    assert_eq!(
        actions.first(),
        Some(&(active.to_string(), "off".to_string(), "ok".to_string())),
        "fence log: {actions:?}"
    );
    assert!(
        actions.iter().all(|(n, _, _)| n == active),
        "only {active} is power-cycled: {actions:?}"
    );
    let off_at = c.fence_log()[fence_from].epoch;
    // In the survivor's own log: fenced, then the starts in group order,
    // all after the power-off.
    c.fenced_then_started_in_order(survivor, active, killed_at, off_at, "the BMC", &GROUP);
    eprintln!(
        "daemon_lab: kill -> VIP answers {:.2}s (power-off at +{:.2}s)",
        answered_at - killed_at,
        off_at - killed_at
    );
    c.wait_converged(&[survivor], S(30));
    active.to_string()
}

/// The fenced node boots again: it rejoins, takes the CIB, and the group
/// stays where it runs.
fn comes_back(c: &mut Cluster, fenced: &str, active: &str) {
    let before = c.status(active).expect("the survivor's status");
    let since = daemon_support::epoch_now();
    let fence_from = c.fence_log().len();
    c.boot(fenced);
    let digest = c.wait_converged(&NODES, S(60));
    no_fencing_after_rejoin(c, fenced, fence_from, since);
    assert_eq!(c.cib_digest(fenced).unwrap(), digest);
    // The returning node took the survivor's CIB, whose version only grew.
    let now = c.status(fenced).unwrap();
    assert!(
        now.cib_version >= before.cib_version,
        "{} < {}",
        now.cib_version,
        before.cib_version
    );
    // Stickiness: nothing moved back, nothing runs on the returning node.
    assert_eq!(group_really_on(c, fenced).as_deref(), Some(active));
    assert!(!c.dummy_running(fenced, "svc1") && !c.dummy_running(fenced, "svc2"));
    for n in NODES {
        let log = c.daemon_log(n);
        let stops: Vec<&str> = lines_since(&log, since)
            .into_iter()
            .filter(|l| GROUP.iter().any(|r| l.contains(&format!("stopping {r} "))))
            .collect();
        assert!(
            stops.is_empty(),
            "the group was stopped when {fenced} came back: {stops:?}"
        );
    }
}

/// 1|1 partition: only n2 is fenced (n1's device carries the delay); the
/// VIP is never on both nodes; n1 ends with the group.
fn partition(c: &mut Cluster) {
    let fence_from = c.fence_log().len();
    c.lab_ok(&["partition", "n1", "n2"]);
    let deadline = Instant::now() + S(60);
    let mut both = 0;
    let mut polls = 0;
    loop {
        let holders = c.vip_holders();
        polls += 1;
        if holders.len() > 1 {
            both += 1;
        }
        let done = c.fence_log()[fence_from..]
            .iter()
            .any(|a| a.node == "n2" && a.action == "off")
            && group_node(c, "n1").as_deref() == Some("n1")
            && holders == vec!["n1".to_string()];
        if done || Instant::now() > deadline {
            break;
        }
        daemon_support::nap(50);
    }
    assert_eq!(
        both, 0,
        "the VIP was on both nodes in {both} of {polls} polls"
    );
    // Keep watching a little longer: n2's pending fencing (delayed) must
    // never go through, and the VIP must stay on n1 only.
    let watch_until = Instant::now() + S(6);
    while Instant::now() < watch_until {
        assert!(c.vip_holders().len() <= 1, "the VIP on both nodes");
        daemon_support::nap(50);
    }
    let offs: Vec<String> = c.fence_log()[fence_from..]
        .iter()
        .filter(|a| a.action == "off")
        .map(|a| a.node.clone())
        .collect();
    assert_eq!(offs, vec!["n2".to_string()], "exactly n2 is fenced");
    assert!(group_really_on(c, "n1").as_deref() == Some("n1"));
    c.wait_converged(&["n1"], S(30));
    // Heal and bring n2 back: one CIB again.
    c.lab_ok(&["heal"]);
    let since = daemon_support::epoch_now();
    let fence_from = c.fence_log().len();
    c.boot("n2");
    c.wait_converged(&NODES, S(60));
    no_fencing_after_rejoin(c, "n2", fence_from, since);
    assert_eq!(group_really_on(c, "n1").as_deref(), Some("n1"));
}

/// A node that boots is often alone in corosync's first ring for about a
/// second: it must not fence the survivor from there. Watches long enough
/// for an agent started then (with the 3 s delay) to have acted.
fn no_fencing_after_rejoin(c: &mut Cluster, booted: &str, fence_from: usize, since: f64) {
    let until = since + 6.0;
    while daemon_support::epoch_now() < until {
        daemon_support::nap(200);
    }
    let actions: Vec<String> = c.fence_log()[fence_from..]
        .iter()
        .map(|a| format!("{} {}", a.node, a.action))
        .collect();
    assert!(
        actions.is_empty(),
        "power actions after {booted} came back: {actions:?}"
    );
    let log = c.daemon_log(booted);
    let fencing: Vec<&str> = lines_since(&log, since)
        .into_iter()
        .filter(|l| l.contains("fencing "))
        .collect();
    assert!(
        fencing.is_empty(),
        "{booted} decided to fence after booting: {fencing:?}"
    );
}

fn no_secret_in_logs(c: &Cluster) {
    for n in NODES {
        assert!(
            !c.daemon_log(n).contains(BMC_PASSWORD),
            "{n}'s daemon log shows the BMC password"
        );
    }
}
