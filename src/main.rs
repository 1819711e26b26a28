//! The `warden` binary: the CLI and `warden daemon`. Errors become `anyhow`
//! only here, at the edge.

fn main() -> std::process::ExitCode {
    warden::cli::main()
}
