//! Hand-written simulator scenarios: every `tests/sim/*.txt` is a script
//! followed by `----` and the transcript it must print (re-bless with
//! `UPDATE_EXPECT=1`, then review the diff). Safety invariants are
//! checked at every step of every scenario; a failure prints the seed and
//! the timeline.

use std::fs;
use std::path::Path;
use warden::sim::scenario;

/// Runs one scenario file under each of its seeds and compares the
/// transcript with the expected one.
fn check(file: &Path) {
    let text = fs::read_to_string(file).unwrap();
    let name = file.display().to_string();
    let sc = scenario::parse(&text, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let cib = scenario::load_cib_in(sc.cib.as_deref(), file.parent())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut first: Option<String> = None;
    for &seed in &sc.seeds {
        let got = scenario::run(&sc, &cib, seed, &mut |_| {})
            .unwrap_or_else(|f| panic!("{name}: {f}\nreplay: SIM_SEED={seed}"));
        match &first {
            None => first = Some(got),
            Some(f) if *f != got => panic!(
                "{name}: seed {seed} printed something else than seed {}:\n--- seed {}\n{f}\n--- seed {seed}\n{got}",
                sc.seeds[0], sc.seeds[0]
            ),
            Some(_) => {}
        }
    }
    let got = first.expect("at least one seed");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let mut out = sc.script.clone();
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("----\n");
        out.push_str(&got);
        fs::write(file, out).unwrap();
        return;
    }
    let expected = sc.expected.clone().unwrap_or_default();
    if expected != got {
        panic!(
            "{name}: the transcript differs (UPDATE_EXPECT=1 to re-bless)\n--- expected\n{expected}\n--- got\n{got}"
        );
    }
}

fn scenario_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir("tests/sim")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn scenarios() {
    let only = std::env::var("SIM_SCENARIO").ok();
    let files = scenario_files();
    assert!(!files.is_empty(), "no scenarios in tests/sim");
    for f in files {
        if only
            .as_deref()
            .is_some_and(|o| !f.display().to_string().contains(o))
        {
            continue;
        }
        check(&f);
    }
}
