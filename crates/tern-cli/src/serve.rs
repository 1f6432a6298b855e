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
    /// reconnect_grace_secs, tls_cert, tls_key, allowed_origins (a list),
    /// max_connections, connections_per_ip, rooms_per_ip, members_per_ip,
    /// queue_bytes, write_timeout_secs, header_timeout_secs,
    /// join_timeout_secs, stun_rate, stun_burst, turn (true/false),
    /// turn_listen, relay_range, turn_secret.
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
    /// A web origin (`https://app.example.com`) whose pages may use the
    /// signaling besides this server's own; repeatable; `*` for any.
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// TCP connections at once from one IP address [default: 1024].
    #[arg(long)]
    connections_per_ip: Option<usize>,
    /// Rooms one IP address may have open [default: 128].
    #[arg(long)]
    rooms_per_ip: Option<usize>,
    /// Members one IP address may have, grace periods included [default: 1024].
    #[arg(long)]
    members_per_ip: Option<usize>,
    /// TCP connections at once in all [default: 16384, kept below the file limit].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Also run a TURN relay (UDP and TCP, on the STUN address unless
    /// --turn-listen), and hand pages and `tern send`/`recv` short-lived
    /// credentials for it through /config.
    #[arg(long)]
    turn: bool,
    /// Where TURN listens (UDP and TCP) [default: the STUN address].
    #[arg(long)]
    turn_listen: Option<SocketAddr>,
    /// Ports for TURN relays, LOW-HIGH [default: 49152-65535].
    #[arg(long)]
    relay_range: Option<String>,
    /// The secret /config's TURN credentials are signed with [default:
    /// random per start]; share it with `tern turn --secret` elsewhere.
    #[arg(long, env = "TERN_TURN_SECRET")]
    turn_secret: Option<String>,
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
    allowed_origins: Option<Vec<String>>,
    max_connections: Option<usize>,
    connections_per_ip: Option<usize>,
    rooms_per_ip: Option<usize>,
    members_per_ip: Option<usize>,
    queue_bytes: Option<usize>,
    write_timeout_secs: Option<u64>,
    header_timeout_secs: Option<u64>,
    join_timeout_secs: Option<u64>,
    stun_rate: Option<u32>,
    stun_burst: Option<u32>,
    turn: Option<bool>,
    turn_listen: Option<SocketAddr>,
    relay_range: Option<String>,
    turn_secret: Option<String>,
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
    let public_ip = args.public_ip.or(file.public_ip);
    let turn = if args.turn || file.turn.unwrap_or(false) {
        let at = args
            .turn_listen
            .or(file.turn_listen)
            .or(stun_listen)
            .ok_or(
                "--turn needs an address: give --turn-listen, or a --stun-listen that is not off",
            )?;
        let mut o = tern_server::turn::TurnOptions::new("tern");
        o.udp.push(at);
        o.tcp.push(at);
        o.secret = Some(
            args.turn_secret
                .or(file.turn_secret)
                .unwrap_or_else(|| tern_server::turn::random_hex(24)),
        );
        o.public_ip = public_ip.or((!at.ip().is_unspecified()).then_some(at.ip()));
        if o.public_ip.is_none() {
            return Err("--turn on an unspecified address needs --public-ip: relayed addresses must be ones clients can reach".into());
        }
        if let Some(r) = args.relay_range.or(file.relay_range) {
            o.relay_range = crate::turn::parse_range(&r)?;
        }
        Some(o)
    } else {
        None
    };
    Ok(ServeConfig {
        turn,
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        stun_listen,
        public_ip,
        limits: Limits {
            room_size: args.room_size.or(file.room_size).unwrap_or(d.room_size),
            max_rooms: file.max_rooms.unwrap_or(d.max_rooms),
            max_message: file.max_message.unwrap_or(d.max_message),
            rate: file.rate.unwrap_or(d.rate),
            burst: file.burst.unwrap_or(d.burst),
            heartbeat_timeout: secs(file.heartbeat_timeout_secs, d.heartbeat_timeout),
            reconnect_grace: secs(file.reconnect_grace_secs, d.reconnect_grace),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            connections_per_ip: args
                .connections_per_ip
                .or(file.connections_per_ip)
                .unwrap_or(d.connections_per_ip),
            rooms_per_ip: args
                .rooms_per_ip
                .or(file.rooms_per_ip)
                .unwrap_or(d.rooms_per_ip),
            members_per_ip: args
                .members_per_ip
                .or(file.members_per_ip)
                .unwrap_or(d.members_per_ip),
            queue_bytes: file.queue_bytes.unwrap_or(d.queue_bytes),
            write_timeout: secs(file.write_timeout_secs, d.write_timeout),
            header_timeout: secs(file.header_timeout_secs, d.header_timeout),
            join_timeout: secs(file.join_timeout_secs, d.join_timeout),
            stun_rate: file.stun_rate.unwrap_or(d.stun_rate),
            stun_burst: file.stun_burst.unwrap_or(d.stun_burst),
            ..d
        },
        token_secret: args.token_secret.or(file.token_secret),
        tls,
        allowed_origins: if args.allowed_origins.is_empty() {
            file.allowed_origins.unwrap_or_default()
        } else {
            args.allowed_origins
        },
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
        match (&server.turn, server.stun_addr) {
            (Some(t), _) => format!(
                ", STUN and TURN on udp {} and tcp {}",
                t.udp.first().map_or("-".into(), |a| a.to_string()),
                t.tcp.first().map_or("-".into(), |a| a.to_string())
            ),
            (None, Some(a)) => format!(", STUN on udp {a}"),
            (None, None) => String::new(),
        }
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
    // A huge --ttl must not wrap into an expired token.
    let exp = now.checked_add(args.ttl).ok_or_else(|| {
        format!(
            "--ttl {} is too large: at most {} seconds from now",
            args.ttl,
            u64::MAX - now
        )
    })?;
    let key = tern_server::TokenKey::new(args.secret.as_bytes());
    println!(
        "{}",
        key.sign(&tern_server::Claims {
            room: args.room,
            exp,
        })
    );
    Ok(ExitCode::SUCCESS)
}
