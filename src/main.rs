//! The `skycomb` binary: subcommands for batch work; with none, the built-in sample night.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Die quietly when a pipe reader goes away (`skycomb scan DIR | head`), as Unix tools do.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let parsed = cli::Cli::parse();
    match cli::run(parsed) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skycomb: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
