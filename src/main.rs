//! The `coachbot` program: parse the command line, load settings, start logging, and hand
//! over to the library. Errors end the program with one line that names what is wrong.

use std::process::ExitCode;

use clap::Parser as _;
use coachbot::cli::{Cli, Command};
use coachbot::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The sandbox's prompt stays readable: only warnings unless a filter was asked for.
    let quiet = matches!(cli.command, Command::Sandbox { .. })
        && std::env::var_os("COACHBOT_LOG").is_none()
        && std::env::var_os("RUST_LOG").is_none();
    let filter = if quiet {
        "warn"
    } else {
        config.log_filter.as_str()
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log piped to a file or a collector stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(coachbot::cli::run(cli, config)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
