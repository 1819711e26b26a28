//! What the lab support modules (`corosync_support`, `daemon_support`,
//! `fencing_support`) share: the one-line SKIP decision, finding a system
//! binary, and wall-clock time. Included by each of them with `#[path]`.
//!
//! Invariant: it only reports; it never decides a test's outcome beyond
//! "this machine cannot run the lab", and it names why in one line.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether a lab test can run: with `reason` (the first check that
/// failed), prints `SKIP <test>: <reason>` and says no.
pub fn runs(test: &str, reason: Option<String>) -> bool {
    match reason {
        Some(r) => {
            eprintln!("SKIP {test}: {r}");
            false
        }
        None => true,
    }
}

/// The lab's first requirement: root (`why` says what for).
pub fn not_root(why: &str) -> Option<String> {
    (!nix::unistd::geteuid().is_root()).then(|| format!("needs root ({why})"))
}

/// The scripts of `../shared` that are missing, as a reason.
pub fn missing_scripts(scripts: &[&str]) -> Option<String> {
    let missing: Vec<&str> = scripts
        .iter()
        .copied()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not found (run from the crate root with ../shared beside it)",
            missing.join(" or ")
        )
    })
}

/// A system binary, looked up where Debian installs them.
pub fn which(bin: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.exists())
}

/// Seconds since the epoch.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
