//! The simulator's speed: simulated steps (events handled) per second,
//! seeds per minute, and how many times faster than real time a simulated
//! cluster runs (a real cluster is the reference: it runs at 1x). Each row
//! runs the same seeds of the swarm (random faults, then liveness) on one
//! thread; the last row runs the CI swarm's mix on every core, as CI does.
//!
//!     cargo bench --bench sim                    # 200 seeds a row
//!     WARDEN_BENCH_SEEDS=1000 cargo bench --bench sim

use std::time::Instant;
use warden::sim::scenario;
use warden::sim::swarm::{self, Stats, SwarmConfig};

struct Row {
    name: String,
    seeds: u64,
    threads: usize,
    steps: u64,
    sim_ms: i64,
    wall_s: f64,
}

fn run(name: &str, cfg: &SwarmConfig, seeds: u64, threads: usize) -> Row {
    let t = Instant::now();
    let results = swarm::run_many(1, seeds, cfg, threads);
    let wall_s = t.elapsed().as_secs_f64();
    let mut stats = Vec::new();
    for (seed, r) in results {
        match r {
            Ok(s) => stats.push(s),
            Err(f) => panic!("{name}: seed {seed} failed: {}", f.message),
        }
    }
    Row {
        name: name.to_string(),
        seeds,
        threads,
        steps: stats.iter().map(|s: &Stats| s.steps).sum(),
        sim_ms: stats.iter().map(|s| s.sim_ms).sum(),
        wall_s,
    }
}

fn main() {
    let seeds: u64 = std::env::var("WARDEN_BENCH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let guide = scenario::load_cib(None).expect("the built-in CIB");
    let cases: Vec<(String, SwarmConfig)> = vec![
        (
            "guide's front end, 2 nodes".into(),
            SwarmConfig {
                cib: Some(guide),
                ..SwarmConfig::default()
            },
        ),
        (
            "generated, 2 nodes".into(),
            SwarmConfig {
                nodes: Some(2),
                ..SwarmConfig::default()
            },
        ),
        (
            "generated, 3 nodes".into(),
            SwarmConfig {
                nodes: Some(3),
                ..SwarmConfig::default()
            },
        ),
        (
            "generated, 5 nodes".into(),
            SwarmConfig {
                nodes: Some(5),
                ..SwarmConfig::default()
            },
        ),
        (
            "CI mix (2-5 nodes, guide 1 in 5)".into(),
            SwarmConfig::default(),
        ),
    ];
    let mut rows = Vec::new();
    for (name, cfg) in &cases {
        rows.push(run(name, cfg, seeds, 1));
    }
    rows.push(run(
        "CI mix, every core",
        &SwarmConfig::default(),
        seeds,
        cores,
    ));

    // The default `warden sim` (the failover demo), as a newcomer runs it.
    let demo = scenario::parse(include_str!("../src/sim/demo.txt"), "demo").expect("demo");
    let cib = scenario::load_cib(demo.cib.as_deref()).expect("demo CIB");
    let t = Instant::now();
    let runs = 20;
    for _ in 0..runs {
        scenario::run(&demo, &cib, demo.seeds[0], &mut |_| {}).expect("the demo passes");
    }
    let demo_ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;

    println!(
        "{:<34} {:>6} {:>7} {:>10} {:>8} {:>12} {:>10} {:>12}",
        "swarm (safety + liveness)",
        "seeds",
        "threads",
        "steps",
        "wall s",
        "steps/s",
        "seeds/min",
        "x real time"
    );
    for r in &rows {
        println!(
            "{:<34} {:>6} {:>7} {:>10} {:>8.2} {:>12.0} {:>10.0} {:>12.0}",
            r.name,
            r.seeds,
            r.threads,
            r.steps,
            r.wall_s,
            r.steps as f64 / r.wall_s,
            r.seeds as f64 * 60.0 / r.wall_s,
            r.sim_ms as f64 / 1000.0 / r.wall_s
        );
    }
    let ci = rows.last().expect("rows");
    println!(
        "\n2,000 seeds of the CI mix on {cores} core(s): about {:.0} s",
        2000.0 * ci.wall_s / ci.seeds as f64
    );
    println!("warden sim (the failover demo, 105 s simulated): {demo_ms:.1} ms");
}
