//! Lints as tests: things banned in `src/core`, each with the reason and what
//! to use instead. The core must stay pure (no IO, no clock, no randomness,
//! no hash-order iteration) so that the simulator and the daemon drive the
//! same code and the same input gives byte-identical output.

use std::fs;
use std::path::{Path, PathBuf};

const BANNED_IN_CORE: &[(&str, &str)] = &[
    (
        "std::fs",
        "the core never touches files: return an effect, let src/shell/store.rs write",
    ),
    ("std::net", "the core never opens sockets: return an effect"),
    (
        "std::process",
        "the core never runs processes: the executor shell does",
    ),
    (
        "std::thread",
        "the core is single-threaded and never sleeps: return a timer",
    ),
    (
        "Instant::now",
        "the core never reads the clock: `now` is an argument",
    ),
    (
        "SystemTime::now",
        "the core never reads the clock: `now` is an argument",
    ),
    (
        "HashMap",
        "hash iteration order is random: use BTreeMap (or an indexed Vec)",
    ),
    ("HashSet", "hash iteration order is random: use BTreeSet"),
    (
        "thread_rng",
        "randomness comes from the seed passed to the core",
    ),
    (
        "tokio::",
        "the core is sans-IO: async runtimes live in the shells",
    ),
    (
        "println!",
        "the core returns data; printing belongs to the CLI",
    ),
    (
        "eprintln!",
        "the core returns data; use tracing or return a diagnostic",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_stays_pure() {
    let mut files = Vec::new();
    rust_files(Path::new("src/core"), &mut files);
    assert!(
        !files.is_empty(),
        "src/core has no Rust files: run the tests from the crate root"
    );
    let mut problems = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for (lineno, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (banned, why) in BANNED_IN_CORE {
                if code.contains(banned) {
                    problems.push(format!(
                        "{}:{}: `{banned}` is banned in core: {why}",
                        file.display(),
                        lineno + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_module_states_its_invariant() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! header saying what they must never do:\n{}",
        missing.join("\n")
    );
}
