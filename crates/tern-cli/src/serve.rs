//! `tern serve`: signaling, STUN, the browser app and metrics in one process.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use tern_server::{Limits, ServeConfig, Server};

/// Arguments of `tern serve`.
#[derive(clap::Args)]
pub struct Args {
    /// HTTP and WebSocket address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// STUN (UDP) address; `off` to disable.
    #[arg(long, default_value = "127.0.0.1:3478")]
    stun_listen: String,
    /// The IP browsers should reach STUN on (default: the page's host).
    #[arg(long)]
    public_ip: Option<IpAddr>,
    /// Require room tokens signed with this secret (see `tern token`).
    #[arg(long, env = "TERN_TOKEN_SECRET")]
    token_secret: Option<String>,
    /// Members per room.
    #[arg(long, default_value_t = 16)]
    room_size: usize,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let stun_listen = match args.stun_listen.as_str() {
        "off" => None,
        s => Some(s.parse::<SocketAddr>().map_err(|e| {
            format!("--stun-listen {s}: {e} (an address like 0.0.0.0:3478, or off)")
        })?),
    };
    let server = Server::start(ServeConfig {
        listen: args.listen,
        stun_listen,
        public_ip: args.public_ip,
        limits: Limits {
            room_size: args.room_size,
            ..Limits::default()
        },
        token_secret: args.token_secret,
        tls: args.tls_cert.zip(args.tls_key),
    })
    .await
    .map_err(|e| {
        format!(
            "cannot start the server on {}: {e} (pick another with --listen)",
            args.listen
        )
    })?;
    let (http, ws) = if server.tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    println!(
        "tern serve: open {http}://{}/ in a browser (signaling at {ws}://{}/ws{})",
        server.http_addr,
        server.http_addr,
        server
            .stun_addr
            .map(|a| format!(", STUN on udp {a}"))
            .unwrap_or_default()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `tern token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// The room it admits to (`*`: any).
    #[arg(long)]
    room: String,
    /// Seconds it stays valid.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// The server's secret.
    #[arg(long, env = "TERN_TOKEN_SECRET")]
    secret: String,
}

pub fn token(args: TokenArgs) -> Result<ExitCode, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let key = tern_server::TokenKey::new(args.secret.as_bytes());
    println!(
        "{}",
        key.sign(&tern_server::Claims {
            room: args.room,
            exp: now + args.ttl,
        })
    );
    Ok(ExitCode::SUCCESS)
}
