//! Random runs: one seed gives a cluster (unless a CIB is given: a
//! generated one of 2 to 5 nodes, or one time in five the guide's two-node
//! OpenNebula front end with its long fence delays), a schedule of faults,
//! and two phases.
//!
//! 1. **Safety**: faults for a while (crashes and restarts, partitions
//!    including 1|1 splits of two nodes, one-way loss, swizzle-clogging,
//!    services dying, agent failures and hangs, fence device failures and
//!    hangs, message delays, and administrators' requests), with every
//!    invariant checked after every step.
//! 2. **Liveness**: the faults stop, the network heals, every node is
//!    powered on, and an administrator undoes what administrators did
//!    (unstandby, maintenance off, clear move/ban constraints, clean up
//!    failures). Within a bounded simulated time the cluster must settle
//!    ([`Sim::settled`]).
//!
//! Invariant: every choice comes from the seed; a seed replays exactly.

use super::scenario::Failure;
use super::{Chaos, Fault, Power, Sim, SimOptions};
use crate::core::cib::{self, Cib};
use crate::core::replication::ClientRequest;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

/// What a swarm run varies and what it fixes.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// Node count (when `None` and no CIB is given: random 2 to 5, or the
    /// guide's two-node CIB one seed in five).
    pub nodes: Option<usize>,
    /// A CIB to run instead of a generated one.
    pub cib: Option<Cib>,
    /// How long faults go on (simulated).
    pub fault_ms: i64,
    /// The liveness bound (simulated).
    pub settle_ms: i64,
    /// Agent-level and protocol lines in the timeline too.
    pub verbose: bool,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            nodes: None,
            cib: None,
            fault_ms: 150_000,
            settle_ms: 20 * 60 * 1000,
            verbose: false,
        }
    }
}

/// What one passing seed did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub steps: u64,
    pub sim_ms: i64,
    pub nodes: usize,
}

/// A random cluster of `n` nodes: one fence device per node, a group, a
/// resource with a migration threshold and a failure timeout, an ordered
/// and colocated pair, maybe a disabled resource.
pub fn generate_cib(rng: &mut ChaCha8Rng, n: usize) -> Cib {
    let mut x = String::new();
    let two = n == 2;
    let _ = write!(
        x,
        r#"<cib epoch="1" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9" crm_feature_set="3.16.1"><configuration><crm_config><cluster_property_set id="cib-bootstrap-options">"#
    );
    let mut prop = |name: &str, value: &str| {
        let _ = write!(
            x,
            r#"<nvpair id="cib-bootstrap-options-{name}" name="{name}" value="{value}"/>"#
        );
    };
    prop("stonith-enabled", "true");
    if two {
        prop("no-quorum-policy", "ignore");
    }
    prop(
        "start-failure-is-fatal",
        if rng.gen_bool(0.5) { "true" } else { "false" },
    );
    prop("stonith-max-attempts", "5");
    prop("cluster-recheck-interval", "3min");
    let priority_delay = two && rng.gen_bool(0.3);
    if priority_delay {
        prop("priority-fencing-delay", "10s");
    }
    x.push_str("</cluster_property_set></crm_config><nodes>");
    for i in 1..=n {
        let _ = write!(x, r#"<node id="{i}" uname="n{i}"/>"#);
    }
    x.push_str("</nodes><resources>");
    for i in 1..=n {
        // Two nodes need a race breaker: an agent delay on one device, or
        // a random pcmk_delay_max, unless priority-fencing-delay is set.
        let extra = if two && !priority_delay {
            match (rng.gen_range(0..2), i) {
                (0, 1) => r#"<nvpair id="f{i}-delay" name="delay" value="5"/>"#.to_string(),
                (0, _) => String::new(),
                _ => r#"<nvpair id="f{i}-dmax" name="pcmk_delay_max" value="8s"/>"#.to_string(),
            }
        } else {
            String::new()
        };
        let extra = extra.replace("{i}", &i.to_string());
        let _ = write!(
            x,
            r#"<primitive id="fence-n{i}" class="stonith" type="fence_sim"><instance_attributes id="fence-n{i}-ia"><nvpair id="fence-n{i}-hosts" name="pcmk_host_list" value="n{i}"/><nvpair id="fence-n{i}-pw" name="password" value="pw{i}"/>{extra}</instance_attributes><operations><op id="fence-n{i}-mon" name="monitor" interval="60s"/></operations></primitive>"#
        );
    }
    let prim = |x: &mut String,
                id: &str,
                class: &str,
                provider: Option<&str>,
                kind: &str,
                mon: &str,
                meta: &str| {
        let provider = provider
            .map(|p| format!(r#" provider="{p}""#))
            .unwrap_or_default();
        let meta = if meta.is_empty() {
            String::new()
        } else {
            format!(r#"<meta_attributes id="{id}-meta">{meta}</meta_attributes>"#)
        };
        let _ = write!(
            x,
            r#"<primitive id="{id}" class="{class}"{provider} type="{kind}">{meta}<operations><op id="{id}-mon" name="monitor" interval="{mon}" timeout="20s"/><op id="{id}-start" name="start" interval="0s" timeout="20s"/><op id="{id}-stop" name="stop" interval="0s" timeout="20s"/></operations></primitive>"#
        );
    };
    x.push_str(r#"<group id="grp">"#);
    prim(
        &mut x,
        "vip",
        "ocf",
        Some("heartbeat"),
        "IPaddr2",
        "10s",
        "",
    );
    prim(&mut x, "app", "systemd", None, "app", "15s", "");
    if rng.gen_bool(0.6) {
        prim(&mut x, "web", "systemd", None, "web", "20s", "");
    }
    x.push_str("</group>");
    let with_db = rng.gen_bool(0.7);
    if with_db {
        prim(
            &mut x,
            "db",
            "ocf",
            Some("pacemaker"),
            "Dummy",
            "10s",
            r#"<nvpair id="db-mt" name="migration-threshold" value="2"/><nvpair id="db-ft" name="failure-timeout" value="40s"/>"#,
        );
        prim(
            &mut x,
            "cache",
            "ocf",
            Some("pacemaker"),
            "Dummy",
            "12s",
            "",
        );
    }
    if rng.gen_bool(0.5) {
        prim(&mut x, "batch", "lsb", None, "batch", "30s", "");
    }
    if rng.gen_bool(0.3) {
        prim(
            &mut x,
            "spare",
            "ocf",
            Some("pacemaker"),
            "Dummy",
            "30s",
            r#"<nvpair id="spare-tr" name="target-role" value="Stopped"/>"#,
        );
    }
    x.push_str("</resources><constraints>");
    if with_db {
        x.push_str(r#"<rsc_colocation id="cache-with-db" rsc="cache" with-rsc="db" score="INFINITY"/><rsc_order id="db-then-cache" first="db" then="cache"/>"#);
        if rng.gen_bool(0.5) {
            x.push_str(r#"<rsc_location id="db-prefers-n1" rsc="db" node="n1" score="50"/>"#);
        }
    }
    x.push_str(r#"</constraints><rsc_defaults><meta_attributes id="rsc-defaults"><nvpair id="rsc-defaults-stickiness" name="resource-stickiness" value="1"/></meta_attributes></rsc_defaults></configuration><status/></cib>"#);
    let parsed = cib::parse(&x, "generated");
    assert!(!parsed.has_errors(), "{:?}\n{x}", parsed.diagnostics);
    parsed.cib.expect("checked")
}

/// Schedules the random faults of the safety phase.
fn schedule_faults(sim: &mut Sim, rng: &mut ChaCha8Rng, from_ms: i64, until_ms: i64) {
    let n = sim.node_count();
    let base = sim.now();
    sim.schedule_fault(
        base.plus_ms(from_ms),
        Fault::Chaos(Some(Chaos {
            action_fail: 0.02,
            action_hang: 0.005,
            fence_fail: 0.2,
            fence_hang: 0.03,
        })),
    );
    let prims: Vec<String> = sim
        .model
        .prims
        .iter()
        .filter(|p| !p.stonith)
        .map(|p| p.id.clone())
        .collect();
    let tops: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for p in &sim.model.prims {
            if p.stonith {
                continue;
            }
            let top = p.group.clone().unwrap_or_else(|| p.id.clone());
            if !v.contains(&top) {
                v.push(top);
            }
        }
        v
    };
    let names: Vec<String> = (0..n).map(|i| sim.name(i).to_string()).collect();
    let mut t = from_ms;
    loop {
        t += rng.gen_range(3_000..20_000);
        if t >= until_ms {
            break;
        }
        let at = base.plus_ms(t);
        let a = rng.gen_range(0..n);
        let mut b = rng.gen_range(0..n);
        if b == a {
            b = (a + 1) % n;
        }
        let roll = rng.gen_range(0..100);
        let f = match roll {
            0..=11 => Fault::Crash(a),
            12..=25 => Fault::Boot(a),
            26..=33 => {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(rng);
                let cut = rng.gen_range(1..n);
                Fault::Partition(vec![order[..cut].to_vec(), order[cut..].to_vec()])
            }
            34..=45 => Fault::Heal,
            46..=50 => Fault::Cut(a, b),
            51..=55 => Fault::Drop(a, b),
            56..=61 => Fault::Restore(a, b),
            62..=66 => {
                // Swizzle-clog: isolate a subset one node at a time, then
                // bring them back in another order.
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(rng);
                let k = rng.gen_range(1..n.max(2));
                let subset = &order[..k.min(n)];
                let mut dt = 0;
                for &x in subset {
                    dt += rng.gen_range(50..500);
                    for y in 0..n {
                        if y != x {
                            sim.schedule_fault(at.plus_ms(dt), Fault::Cut(x, y));
                        }
                    }
                }
                let mut back = subset.to_vec();
                back.shuffle(rng);
                let mut dt = dt + rng.gen_range(1_000..8_000);
                let mut restored: Vec<usize> = Vec::new();
                for &x in &back {
                    dt += rng.gen_range(100..2_000);
                    for y in 0..n {
                        if y != x && (!subset.contains(&y) || restored.contains(&y)) {
                            sim.schedule_fault(at.plus_ms(dt), Fault::Restore(x, y));
                        }
                    }
                    restored.push(x);
                }
                continue;
            }
            67..=76 if !prims.is_empty() => Fault::Kill {
                node: a,
                rsc: prims[rng.gen_range(0..prims.len())].clone(),
            },
            77..=80 => Fault::Slow {
                extra_ms: rng.gen_range(20..400),
                for_ms: rng.gen_range(2_000..15_000),
            },
            81..=99 if !tops.is_empty() => {
                let rsc = tops[rng.gen_range(0..tops.len())].clone();
                let node = names[b].clone();
                let request = match rng.gen_range(0..10) {
                    // The operator fences a node (a member or not; a
                    // reboot: an `off` completing after the liveness
                    // phase began would leave a node off for good), or a
                    // node's daemon is stopped (a clean shutdown).
                    8 => ClientRequest::Fence {
                        target: node,
                        off: false,
                    },
                    9 => {
                        sim.schedule_fault(at, Fault::Shutdown(a));
                        continue;
                    }
                    0 => ClientRequest::Standby { node, on: true },
                    1 => ClientRequest::Standby { node, on: false },
                    2 => ClientRequest::Move { rsc, node },
                    3 => ClientRequest::Ban {
                        rsc,
                        node: Some(node),
                    },
                    4 => ClientRequest::Clear { rsc, node: None },
                    5 => ClientRequest::Cleanup {
                        rsc: Some(rsc),
                        node: None,
                    },
                    6 => ClientRequest::Maintenance {
                        node: Some(node),
                        on: rng.gen_bool(0.5),
                    },
                    _ => ClientRequest::SetMeta {
                        rsc,
                        name: "target-role".into(),
                        value: Some(
                            if rng.gen_bool(0.5) {
                                "Stopped"
                            } else {
                                "Started"
                            }
                            .into(),
                        ),
                    },
                };
                Fault::Request { node: a, request }
            }
            _ => Fault::Heal,
        };
        sim.schedule_fault(at, f);
    }
    sim.schedule_fault(base.plus_ms(until_ms), Fault::Chaos(None));
}

/// Undoes what the safety phase's administrators did.
fn operator_requests(sim: &Sim) -> Vec<ClientRequest> {
    let mut v = Vec::new();
    for i in 0..sim.node_count() {
        let node = sim.name(i).to_string();
        v.push(ClientRequest::Standby {
            node: node.clone(),
            on: false,
        });
        v.push(ClientRequest::Maintenance {
            node: Some(node),
            on: false,
        });
    }
    let mut tops: Vec<String> = Vec::new();
    for p in &sim.model.prims {
        let top = p.group.clone().unwrap_or_else(|| p.id.clone());
        if !tops.contains(&top) {
            tops.push(top);
        }
    }
    for rsc in tops {
        v.push(ClientRequest::Clear {
            rsc: rsc.clone(),
            node: None,
        });
        let initial = sim
            .initial_cib()
            .configuration
            .primitive(&rsc)
            .and_then(|p| p.attr(crate::core::cib::SetKind::Meta, "target-role"))
            .or_else(|| {
                sim.initial_cib().configuration.group(&rsc).and_then(|g| {
                    g.sets
                        .iter()
                        .filter(|s| s.kind == crate::core::cib::SetKind::Meta)
                        .find_map(|s| s.get("target-role"))
                })
            })
            .map(str::to_string);
        v.push(ClientRequest::SetMeta {
            rsc,
            name: "target-role".into(),
            value: initial,
        });
    }
    v.push(ClientRequest::Cleanup {
        rsc: None,
        node: None,
    });
    v
}

fn failure(sim: &Sim, seed: u64, message: String) -> Failure {
    let t = sim.timeline();
    let from = t.len().saturating_sub(super::TRACE_TAIL);
    Failure {
        seed,
        message,
        trace: t[from..].to_vec(),
    }
}

/// Runs one seed: safety, then liveness.
pub fn run_seed(seed: u64, cfg: &SwarmConfig) -> Result<Stats, Failure> {
    run_seed_traced(seed, cfg, false).0
}

/// Runs seeds `first..first + count` on `threads` threads (each seed is
/// independent and deterministic, so the split changes nothing); results
/// in seed order.
pub fn run_many(
    first: u64,
    count: u64,
    cfg: &SwarmConfig,
    threads: usize,
) -> Vec<(u64, Result<Stats, Failure>)> {
    let threads = threads.clamp(1, count.max(1) as usize) as u64;
    let mut results: Vec<(u64, Result<Stats, Failure>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut v = Vec::new();
                    let mut seed = first + t;
                    while seed < first + count {
                        v.push((seed, run_seed(seed, cfg)));
                        seed += threads;
                    }
                    v
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    });
    results.sort_by_key(|(seed, _)| *seed);
    results
}

/// Runs one seed and returns its timeline too (the whole of it with
/// `keep_trace`, else the last lines).
pub fn run_seed_traced(
    seed: u64,
    cfg: &SwarmConfig,
    keep_trace: bool,
) -> (Result<Stats, Failure>, Vec<String>) {
    let mut sim_out = None;
    let r = run_inner(seed, cfg, keep_trace, &mut sim_out);
    let timeline = sim_out.map(|s: Sim| s.timeline()).unwrap_or_default();
    (r, timeline)
}

fn run_inner(
    seed: u64,
    cfg: &SwarmConfig,
    keep_trace: bool,
    keep: &mut Option<Sim>,
) -> Result<Stats, Failure> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5eed);
    let (cib, names) = match &cfg.cib {
        Some(c) => {
            let names = super::scenario::node_names(c, cfg.nodes.unwrap_or(3));
            (c.clone(), names)
        }
        None if cfg.nodes.is_none() && rng.gen_ratio(1, 5) => {
            let c = super::scenario::load_cib(None).expect("the built-in CIB is valid");
            let names = super::scenario::node_names(&c, 2);
            (c, names)
        }
        None => {
            let n = cfg.nodes.unwrap_or_else(|| rng.gen_range(2..=5));
            let c = generate_cib(&mut rng, n);
            let names = super::scenario::node_names(&c, n);
            (c, names)
        }
    };
    let mut opts = SimOptions::new(seed);
    opts.boot_ms = rng.gen_range(5_000..40_000);
    opts.keep_trace = keep_trace;
    opts.verbose = cfg.verbose;
    let sim = keep.insert(Sim::new(&cib, &names, opts));
    sim.start_all();
    let warmup = rng.gen_range(5_000..40_000);
    schedule_faults(sim, &mut rng, warmup, warmup + cfg.fault_ms);
    let end = sim.now().plus_ms(warmup + cfg.fault_ms);
    sim.run_until(end);
    if let Some(v) = &sim.violation {
        return Err(failure(sim, seed, format!("safety: {}", v.invariant)));
    }
    // Liveness: heal, power everything on, undo the administrators' acts.
    sim.apply_fault(Fault::Chaos(None));
    sim.apply_fault(Fault::Heal);
    for i in 0..sim.node_count() {
        if sim.power(i) == Power::Off {
            sim.apply_fault(Fault::Boot(i));
        }
    }
    let deadline = sim.now().plus_ms(cfg.settle_ms);
    let mut pending: Vec<u64> = Vec::new();
    let mut done = false;
    while sim.now() < deadline && sim.violation.is_none() {
        sim.run_for(5_000);
        // The operator powers on what is off (a node fenced by a node that
        // died before the "on" half of the reboot stays off).
        for i in 0..sim.node_count() {
            if sim.power(i) == Power::Off {
                sim.apply_fault(Fault::Boot(i));
            }
        }
        if done {
            break;
        }
        let all_up = sim.up_nodes().len() == sim.node_count();
        let joined = all_up
            && sim.up_nodes().iter().all(|&i| {
                sim.node(i).is_some_and(|n| {
                    n.is_synced()
                        && n.view()
                            .is_some_and(|v| v.members.len() == sim.node_count())
                })
            });
        if !joined {
            continue;
        }
        if pending.is_empty() {
            let target = sim.up_nodes()[0];
            for r in operator_requests(sim) {
                pending.push(sim.request(target, r));
            }
            continue;
        }
        let answered = pending
            .iter()
            .all(|id| sim.reply(*id).is_some_and(|r| r.result.is_some()));
        if !answered {
            continue;
        }
        let refused = pending.iter().any(|id| {
            sim.reply(*id)
                .is_some_and(|r| matches!(r.result, Some(Err(_))))
        });
        pending.clear();
        if !refused {
            done = true;
            sim.end_maintenance();
        }
    }
    if let Some(v) = &sim.violation {
        return Err(failure(sim, seed, format!("safety: {}", v.invariant)));
    }
    let left = deadline.millis() - sim.now().millis();
    if !sim.run_until_settled(left.max(0)) {
        if let Some(v) = &sim.violation {
            return Err(failure(sim, seed, format!("safety: {}", v.invariant)));
        }
        let why = sim.settled().err().unwrap_or_default();
        return Err(failure(
            sim,
            seed,
            format!(
                "liveness: not settled {}s after the faults stopped: {why}",
                cfg.settle_ms / 1000
            ),
        ));
    }
    Ok(Stats {
        steps: sim.steps,
        sim_ms: sim.elapsed_ms(),
        nodes: sim.node_count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_clusters_are_valid_and_depend_only_on_the_seed() {
        for n in 2..=5 {
            let a = generate_cib(&mut ChaCha8Rng::seed_from_u64(n as u64), n);
            let b = generate_cib(&mut ChaCha8Rng::seed_from_u64(n as u64), n);
            assert_eq!(cib::to_xml(&a), cib::to_xml(&b));
            assert_eq!(a.configuration.nodes.len(), n);
            let fence = a
                .configuration
                .primitives()
                .filter(|p| p.class.as_deref() == Some("stonith"))
                .count();
            assert_eq!(fence, n);
        }
    }
}
