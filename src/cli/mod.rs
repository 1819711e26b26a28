//! The command line: raw args -> validated command -> CIB patch, run against a
//! file (`-f FILE` / `CIB_file`) or the local daemon.

use std::process::ExitCode;

/// Entry point of the `warden` binary.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
