//! The swarm: thousands of random clusters under random faults, each
//! checked for safety after every step and for liveness once the faults
//! stop (`warden::sim::swarm`). Every failure prints its seed, the
//! violated invariant and the end of its timeline.
//!
//! * `SIM_SEED=N` replays one seed and prints its whole timeline.
//! * `SIM_SEEDS=COUNT` (and `SIM_FIRST_SEED=N`) changes how many run. The
//!   default is 2,000 in a release build (CI) and 100 in a debug build,
//!   where a seed runs about fifteen times slower; the count is printed.

use warden::sim::swarm::{self, SwarmConfig};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a whole number"))
    })
}

#[test]
fn swarm() {
    let cfg = SwarmConfig::default();
    if let Some(seed) = env_u64("SIM_SEED") {
        let (result, timeline) = swarm::run_seed_traced(seed, &cfg, true);
        for l in &timeline {
            eprintln!("{l}");
        }
        if let Err(f) = result {
            panic!("seed {seed}: {}", f.message);
        }
        eprintln!("seed {seed} passed");
        return;
    }
    let default_count = if cfg!(debug_assertions) { 100 } else { 2_000 };
    let count = env_u64("SIM_SEEDS").unwrap_or(default_count);
    let first = env_u64("SIM_FIRST_SEED").unwrap_or(1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = std::time::Instant::now();
    let results = swarm::run_many(first, count, &cfg, threads);
    let failures: Vec<_> = results
        .iter()
        .filter_map(|(seed, r)| r.as_ref().err().map(|f| (*seed, f)))
        .collect();
    let steps: u64 = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|s| s.steps)
        .sum();
    eprintln!(
        "swarm: seeds {first}..{}: {} passed, {} failed, {steps} steps, {:.1}s",
        first + count - 1,
        results.len() - failures.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(results.len() as u64, count, "every seed ran");
    if let Some((_, f)) = failures.first() {
        let seeds: Vec<String> = failures.iter().map(|(s, _)| s.to_string()).collect();
        for (seed, f) in &failures {
            eprintln!("seed {seed}: {}", f.message);
        }
        panic!(
            "{} of {count} seeds failed: {}\nthe first:\n{f}\nreplay one: SIM_SEED=N cargo test --release --test sim_swarm -- --nocapture (or warden sim --seed N)",
            failures.len(),
            seeds.join(" ")
        );
    }
}
