//! `tern`: WebRTC from the command line.
#![allow(clippy::disallowed_methods)] // a program: it reads the real clock

mod echo;
mod ping;
mod ping_media;
mod record;
mod serve;
mod signal;
mod transfer;
mod turn;
mod wormhole;

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
    /// Answer offers over HTTP, echo data-channel messages and reflect
    /// media back (--record DIR also writes each call to a file).
    Echo(echo::Args),
    /// Offer to an echo endpoint, send, and check every echo byte for byte.
    Ping(ping::Args),
    /// Run the signaling server, STUN and the browser app.
    Serve(serve::Args),
    /// Print a room token for a server started with --token-secret.
    Token(serve::TokenArgs),
    /// Send files or directories to whoever has the code it prints.
    Send(transfer::SendArgs),
    /// Receive what `tern send` offers under a code.
    Recv(transfer::RecvArgs),
    /// Run a TURN relay server (UDP, TCP, TLS).
    Turn(turn::Args),
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
            Command::Serve(a) => serve::run(a).await,
            Command::Token(a) => serve::token(a),
            Command::Send(a) => transfer::send(a).await,
            Command::Recv(a) => transfer::recv(a).await,
            Command::Turn(a) => turn::run(a).await,
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
