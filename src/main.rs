//! The `warden` binary: the CLI and `warden daemon`. Errors become `anyhow`
//! only here, at the edge.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    warden::cli::main()
}
