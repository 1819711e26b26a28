//! `warden sim`: a simulated cluster for people. With no argument it runs
//! the two-node OpenNebula front end of the operators' guide through a
//! failover (the active node crashes; the survivor fences it, then starts
//! the VIP, oned and the web services in order) and prints the timeline.
//! With a scenario file it runs that; with `--seed N` one random run with
//! faults; with `--swarm COUNT` many, reporting the seeds that break an
//! invariant and ending with `N passed, M failed`.
//!
//! Invariant: presentation and argument checks only; the simulation and
//! its verdicts are `crate::sim`'s.

use super::error::CliError;
use super::flags::Flags;
use crate::sim::{scenario, swarm};
use std::io::Write;

/// The built-in demo scenario.
const DEMO: &str = include_str!("../sim/demo.txt");

/// `warden sim` arguments, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimArgs {
    pub scenario: Option<String>,
    /// `--debug`: agent-level and protocol lines in the timeline too.
    pub verbose: bool,
    pub seed: Option<u64>,
    pub nodes: Option<usize>,
    pub cib: Option<String>,
    pub swarm: Option<u64>,
}

fn number<T: std::str::FromStr>(
    flag: &str,
    v: &Option<String>,
    what: &str,
) -> Result<Option<T>, CliError> {
    match v {
        None => Ok(None),
        Some(s) => {
            s.trim().parse().map(Some).map_err(|_| {
                CliError::usage(format!("--{flag} '{s}' is not valid: expected {what}"))
            })
        }
    }
}

impl SimArgs {
    pub fn from_flags(scenario: Option<String>, flags: &Flags) -> Result<SimArgs, CliError> {
        let a = SimArgs {
            scenario,
            verbose: flags.debug,
            seed: number("seed", &flags.seed, "a whole number")?,
            nodes: number("nodes", &flags.nodes, "a number of nodes from 1 to 16")?,
            cib: flags.cib.clone(),
            swarm: number("swarm", &flags.swarm, "a number of seeds")?,
        };
        if a.nodes.is_some_and(|n| !(1..=16).contains(&n)) {
            return Err(CliError::usage(format!(
                "--nodes {} is not valid: expected a number of nodes from 1 to 16",
                a.nodes.unwrap_or(0)
            )));
        }
        if a.swarm.is_some() && a.scenario.is_some() {
            return Err(CliError::usage(
                "--swarm runs random faults: it takes no scenario file",
            ));
        }
        Ok(a)
    }
}

fn io(e: std::io::Error) -> CliError {
    CliError::Io {
        action: "cannot write to",
        path: "standard output".into(),
        source: e,
    }
}

fn load(path: &str) -> Result<crate::core::cib::Cib, CliError> {
    scenario::load_cib(Some(path)).map_err(|e| CliError::rejected(format!("{path}: {e}")))
}

/// Runs `warden sim`; the exit code on success (1 when a swarm seed failed).
pub fn run(a: &SimArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CliError> {
    let cib = match &a.cib {
        Some(p) => Some(load(p)?),
        None => None,
    };
    if let Some(c) = &cib {
        note_unchecked(c, err);
    }
    let cfg = swarm::SwarmConfig {
        nodes: a.nodes,
        cib: cib.clone(),
        verbose: a.verbose,
        ..Default::default()
    };
    if let Some(count) = a.swarm {
        return run_swarm(a, a.seed.unwrap_or(1), count, &cfg, out);
    }
    if a.scenario.is_none() && a.seed.is_some() {
        let seed = a.seed.unwrap_or(1);
        writeln!(
            out,
            "warden sim: seed {seed}, random faults, then a healed cluster must settle"
        )
        .map_err(io)?;
        let (result, timeline) = swarm::run_seed_traced(seed, &cfg, true);
        for l in &timeline {
            writeln!(out, "{l}").map_err(io)?;
        }
        return match result {
            Ok(stats) => {
                writeln!(
                    out,
                    "seed {seed} passed: {} nodes, {} steps, {}s simulated",
                    stats.nodes,
                    stats.steps,
                    stats.sim_ms / 1000
                )
                .map_err(io)?;
                Ok(0)
            }
            Err(f) => Err(CliError::rejected(format!("seed {seed}: {}", f.message))),
        };
    }
    let (text, name) = match &a.scenario {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| CliError::Io {
                action: "cannot read the scenario",
                path: p.clone(),
                source: e,
            })?,
            p.clone(),
        ),
        None => (
            DEMO.to_string(),
            "the two-node OpenNebula failover".to_string(),
        ),
    };
    let mut sc =
        scenario::parse(&text, &name).map_err(|e| CliError::rejected(format!("{name}: {e}")))?;
    sc.verbose = a.verbose;
    if a.nodes.is_some() && sc.nodes.is_none() && cib.is_none() && sc.cib.is_none() {
        let n = a.nodes.unwrap_or(2);
        sc.nodes = Some((1..=n).map(|i| format!("n{i}")).collect());
    }
    let cib = match cib {
        Some(c) => c,
        None => scenario::load_cib_in(
            sc.cib.as_deref(),
            a.scenario
                .as_deref()
                .and_then(|p| std::path::Path::new(p).parent()),
        )
        .map_err(|e| CliError::rejected(format!("{name}: {e}")))
        .inspect(|c| note_unchecked(c, err))?,
    };
    let seed = a.seed.unwrap_or(sc.seeds[0]);
    writeln!(out, "warden sim: {name}, seed {seed}").map_err(io)?;
    let mut write_err = None;
    let result = scenario::run(&sc, &cib, seed, &mut |line| {
        if write_err.is_none() {
            if let Err(e) = writeln!(out, "{line}") {
                write_err = Some(e);
            }
        }
    });
    if let Some(e) = write_err {
        return Err(io(e));
    }
    match result {
        Ok(_) => Ok(0),
        Err(f) => {
            let _ = writeln!(
                err,
                "replay: warden sim {} --seed {seed}",
                a.scenario.as_deref().unwrap_or("")
            );
            Err(CliError::rejected(f.message))
        }
    }
}

/// Says which constraints the simulator's checker does not model, so that
/// a passing run is not read as proof about them.
fn note_unchecked(cib: &crate::core::cib::Cib, err: &mut dyn Write) {
    let model = crate::sim::model::Model::from_cib(cib);
    if !model.unchecked.is_empty() {
        let _ = writeln!(
            err,
            "note: the simulator does not check these constraints (resource sets, roles, other actions): {}",
            model.unchecked.join(", ")
        );
    }
}

/// The options that decide what a seed runs, for a replay hint.
fn replay_options(a: &SimArgs) -> String {
    let mut s = String::new();
    if let Some(n) = a.nodes {
        s.push_str(&format!(" --nodes {n}"));
    }
    if let Some(c) = &a.cib {
        s.push_str(&format!(" --cib {c}"));
    }
    s
}

fn run_swarm(
    a: &SimArgs,
    first: u64,
    count: u64,
    cfg: &swarm::SwarmConfig,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let results = swarm::run_many(first, count, cfg, threads);
    report_swarm(&results, &replay_options(a), out)
}

/// Prints each failing seed with the violated invariant and how to replay
/// it, then `N passed, M failed`; the exit code is 1 if any failed.
fn report_swarm(
    results: &[(u64, Result<swarm::Stats, scenario::Failure>)],
    replay_options: &str,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let mut failed = 0;
    for (seed, r) in results {
        if let Err(f) = r {
            failed += 1;
            writeln!(out, "seed {seed}: {}", f.message).map_err(io)?;
            writeln!(out, "  replay: warden sim --seed {seed}{replay_options}").map_err(io)?;
        }
    }
    let passed = results.len() - failed;
    writeln!(out, "{passed} passed, {failed} failed").map_err(io)?;
    // The summary line is the last word: failing seeds only set the exit code.
    Ok(u8::from(failed > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(seed: u64, message: &str) -> scenario::Failure {
        scenario::Failure {
            seed,
            message: message.to_string(),
            trace: vec!["  12.000s n1: crashed (powered off)".to_string()],
        }
    }

    #[test]
    fn a_swarm_report_lists_failing_seeds_then_the_counts() {
        let results = vec![
            (7, Ok(swarm::Stats::default())),
            (8, Err(failure(8, "safety: db active on n1 and n2"))),
            (9, Ok(swarm::Stats::default())),
        ];
        let mut out = Vec::new();
        let code = report_swarm(&results, " --nodes 3", &mut out).unwrap();
        assert_eq!(code, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "seed 8: safety: db active on n1 and n2\n  replay: warden sim --seed 8 --nodes 3\n2 passed, 1 failed\n"
        );
        let mut out = Vec::new();
        assert_eq!(report_swarm(&results[..1], "", &mut out).unwrap(), 0);
        assert_eq!(String::from_utf8(out).unwrap(), "1 passed, 0 failed\n");
    }
}
