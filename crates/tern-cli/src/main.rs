//! `tern`: WebRTC from the command line.
#![allow(clippy::disallowed_methods)] // a program: it reads the real clock

mod echo;
mod ping;
mod signal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// WebRTC from the command line.
#[derive(Parser)]
#[command(name = "tern", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer offers over HTTP and echo every data-channel message back.
    Echo(echo::Args),
    /// Offer to an echo endpoint, send, and check every echo byte for byte.
    Ping(ping::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TERN_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tern: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Echo(a) => echo::run(a).await,
            Command::Ping(a) => ping::run(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::FAILURE
        }
    }
}
