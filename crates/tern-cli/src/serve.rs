//! `tern serve`: signaling, STUN, the browser app and metrics in one process.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use tern_server::{Limits, ServeConfig, Server};

/// Arguments of `tern serve`. Flags override the config file, which
/// overrides the defaults.
#[derive(clap::Args)]
pub struct Args {
    /// A TOML file with any of: listen, stun_listen, public_ip, token_secret,
    /// room_size, max_rooms, max_message, rate, burst, heartbeat_timeout_secs,
    /// reconnect_grace_secs, tls_cert, tls_key.
    #[arg(long)]
    config: Option<PathBuf>,
    /// HTTP and WebSocket address [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// STUN (UDP) address, or `off` [default: 127.0.0.1:3478].
    #[arg(long)]
    stun_listen: Option<String>,
    /// The IP browsers should reach STUN on (default: the page's host).
    #[arg(long)]
    public_ip: Option<IpAddr>,
    /// Require room tokens signed with this secret (see `tern token`).
    #[arg(long, env = "TERN_TOKEN_SECRET")]
    token_secret: Option<String>,
    /// Members per room [default: 16].
    #[arg(long)]
    room_size: Option<usize>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
}

/// What the config file may set.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    stun_listen: Option<String>,
    public_ip: Option<IpAddr>,
    token_secret: Option<String>,
    room_size: Option<usize>,
    max_rooms: Option<usize>,
    max_message: Option<usize>,
    rate: Option<u32>,
    burst: Option<u32>,
    heartbeat_timeout_secs: Option<u64>,
    reconnect_grace_secs: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// The server configuration from flags, file and defaults.
fn config(args: Args) -> Result<ServeConfig, String> {
    let file: FileConfig = match &args.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| format!("--config {}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| format!("--config {}: {e}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let stun = args
        .stun_listen
        .or(file.stun_listen)
        .unwrap_or_else(|| "127.0.0.1:3478".into());
    let stun_listen =
        match stun.as_str() {
            "off" => None,
            s => Some(s.parse::<SocketAddr>().map_err(|e| {
                format!("stun_listen {s}: {e} (an address like 0.0.0.0:3478, or off)")
            })?),
        };
    let d = Limits::default();
    let secs = |v: Option<u64>, default| v.map_or(default, std::time::Duration::from_secs);
    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("give both a TLS certificate and its key (tls_cert and tls_key)".into()),
    };
    Ok(ServeConfig {
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        stun_listen,
        public_ip: args.public_ip.or(file.public_ip),
        limits: Limits {
            room_size: args.room_size.or(file.room_size).unwrap_or(d.room_size),
            max_rooms: file.max_rooms.unwrap_or(d.max_rooms),
            max_message: file.max_message.unwrap_or(d.max_message),
            rate: file.rate.unwrap_or(d.rate),
            burst: file.burst.unwrap_or(d.burst),
            heartbeat_timeout: secs(file.heartbeat_timeout_secs, d.heartbeat_timeout),
            reconnect_grace: secs(file.reconnect_grace_secs, d.reconnect_grace),
            ..d
        },
        token_secret: args.token_secret.or(file.token_secret),
        tls,
    })
}

pub async fn run(args: Args) -> Result<ExitCode, String> {
    let config = config(args)?;
    let listen = config.listen;
    let server = Server::start(config).await.map_err(|e| {
        format!("cannot start the server on {listen}: {e} (pick another with --listen)")
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
