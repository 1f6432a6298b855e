//! tern's servers in one process, for `tern serve`: WebSocket signaling
//! with rooms (docs/signaling.md), a STUN Binding server, the browser app at
//! `/`, `/healthz` and Prometheus `/metrics`. State is in memory.
#![forbid(unsafe_code)]

mod accept;
mod hub;
mod messages;
mod metrics;
mod origin;
mod outbox;
mod ratelimit;
mod signaling;
mod stun;
pub mod token;
pub mod turn;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use hub::{Hub, Limits};
pub use messages::{ClientMessage, MemberInfo, ServerMessage};
pub use metrics::Metrics;
pub use token::{Claims, TokenKey};

const INDEX: &str = include_str!("../app/index.html");
const APP_JS: &str = include_str!("../app/app.js");
const WORMHOLE_JS: &str = include_str!("../app/wormhole.js");
/// Third-party modules the page imports, unmodified (MIT, Paul Miller;
/// licenses beside them in app/vendor): noble-ed25519 3.2.0 for the point
/// arithmetic of SPAKE2, and noble-hashes 2.4.0's SHA-256, which (unlike
/// WebCrypto) hashes a file piece by piece as it streams.
const VENDOR: &[(&str, &str)] = &[
    (
        "noble-ed25519.js",
        include_str!("../app/vendor/noble-ed25519.js"),
    ),
    (
        "noble-hashes/sha2.js",
        include_str!("../app/vendor/noble-hashes/sha2.js"),
    ),
    (
        "noble-hashes/_md.js",
        include_str!("../app/vendor/noble-hashes/_md.js"),
    ),
    (
        "noble-hashes/_u64.js",
        include_str!("../app/vendor/noble-hashes/_u64.js"),
    ),
    (
        "noble-hashes/utils.js",
        include_str!("../app/vendor/noble-hashes/utils.js"),
    ),
];

async fn vendor(
    axum::extract::Path(path): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match VENDOR.iter().find(|(name, _)| *name == path) {
        Some((_, source)) => js(source).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

fn js(source: &'static str) -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/javascript")], source)
}

/// How `tern serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// HTTP (and WebSocket) address.
    pub listen: SocketAddr,
    /// STUN over UDP, when wanted.
    pub stun_listen: Option<SocketAddr>,
    /// The address browsers should use for STUN (default: the host they
    /// reached the page on).
    pub public_ip: Option<IpAddr>,
    /// Limits on clients.
    pub limits: Limits,
    /// Require room tokens signed with this secret.
    pub token_secret: Option<String>,
    /// Serve HTTPS (and WSS) with this certificate chain and key (PEM
    /// files): browsers give pages camera access only in a secure context.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Web origins (`https://app.example.com`) whose pages may open a
    /// signaling WebSocket besides the server's own; `*` allows any.
    /// Requests without an `Origin` (clients that are not browsers) are
    /// always allowed.
    pub allowed_origins: Vec<String>,
    /// Run the TURN server too. Without UDP listeners of its own it takes
    /// the STUN address (UDP and TCP), which it then serves instead of the
    /// Binding-only server (TURN answers Binding requests as well).
    /// `/config` hands each page and CLI fresh REST credentials for it, so
    /// the options need a `secret`.
    pub turn: Option<turn::TurnOptions>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            stun_listen: None,
            public_ip: None,
            limits: Limits::default(),
            token_secret: None,
            tls: None,
            allowed_origins: Vec::new(),
            turn: None,
        }
    }
}

struct AppState {
    hub: Arc<Hub>,
    token: Option<Arc<TokenKey>>,
    stun_port: Option<u16>,
    public_ip: Option<IpAddr>,
    allowed_origins: Vec<String>,
    turn: Option<Arc<turn::Turn>>,
}

/// A running server.
pub struct Server {
    /// Where HTTP and WebSockets are served.
    pub http_addr: SocketAddr,
    /// Where STUN is served.
    pub stun_addr: Option<SocketAddr>,
    /// The TURN server, when it runs.
    pub turn: Option<Arc<turn::Turn>>,
    /// Whether HTTP is served over TLS.
    pub tls: bool,
    /// Rooms and members (for tests and metrics).
    pub hub: Arc<Hub>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Server {
    /// Binds and starts serving (on the current tokio runtime).
    pub async fn start(config: ServeConfig) -> std::io::Result<Server> {
        let metrics = Arc::new(Metrics::default());
        let hub = Arc::new(Hub::new(config.limits.clone(), metrics.clone()));
        let mut tasks = Vec::new();
        let mut stun_addr = None;
        let turn = match config.turn.clone() {
            Some(mut o) => {
                if o.udp.is_empty() {
                    o.udp.extend(config.stun_listen);
                    o.tcp.extend(config.stun_listen);
                }
                let t = turn::Turn::start(o).await?;
                stun_addr = t.udp.first().copied();
                Some(Arc::new(t))
            }
            None => None,
        };
        if let (Some(addr), None) = (config.stun_listen, &turn) {
            let sock = tokio::net::UdpSocket::bind(addr).await?;
            stun_addr = Some(sock.local_addr()?);
            tasks.push(tokio::spawn(stun::run(
                sock,
                metrics.clone(),
                config.limits.stun_rate,
                config.limits.stun_burst,
            )));
        }
        let state = Arc::new(AppState {
            hub: hub.clone(),
            token: config
                .token_secret
                .as_deref()
                .map(|s| Arc::new(TokenKey::new(s.as_bytes()))),
            stun_port: stun_addr.map(|a| a.port()),
            public_ip: config.public_ip,
            allowed_origins: config.allowed_origins.clone(),
            turn: turn.clone(),
        });
        let app = Router::new()
            .route("/", get(|| async { Html(INDEX) }))
            .route("/app.js", get(|| async { js(APP_JS) }))
            .route("/wormhole.js", get(|| async { js(WORMHOLE_JS) }))
            .route("/vendor/{*path}", get(vendor))
            .route("/config", get(ice_config))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/metrics", get(metrics_text))
            .route("/ws", get(ws))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let http_addr = listener.local_addr()?;
        // Keep the connection cap below the descriptor limit, with room for
        // the listeners, the STUN socket and files.
        let fds = accept::raise_fd_limit().unwrap_or(1024);
        let max_total = config
            .limits
            .max_connections
            .min(usize::try_from(fds.saturating_sub(64)).unwrap_or(usize::MAX))
            .max(1);
        let connections =
            accept::Connections::new(max_total, config.limits.connections_per_ip, metrics.clone());
        let acceptor = match &config.tls {
            None => None,
            Some((cert, key)) => {
                let read = |p: &std::path::Path| {
                    std::fs::read(p)
                        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
                };
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem(read(cert)?, read(key)?)
                    .await
                    .map_err(|e| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("TLS certificate or key unusable: {e}"),
                        )
                    })?;
                // HTTP/1.1 only: WebSockets upgrade over it, and hyper's
                // header timeout is an HTTP/1 feature.
                let mut server = (*tls.get_inner()).clone();
                server.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(server)))
            }
        };
        tasks.push(tokio::spawn(accept::serve(
            listener,
            app,
            acceptor,
            connections,
            config.limits.header_timeout,
        )));
        Ok(Server {
            http_addr,
            stun_addr,
            turn,
            tls: config.tls.is_some(),
            hub,
            tasks,
        })
    }
}

async fn ws(
    State(s): State<Arc<AppState>>,
    Extension(peer): Extension<accept::Peer>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    if !origin::allowed(text(header::ORIGIN), text(header::HOST), &s.allowed_origins) {
        return (
            StatusCode::FORBIDDEN,
            "this page's origin may not use this signaling server (see allowed_origins)\n",
        )
            .into_response();
    }
    // Frames far above the message limit are refused by the WebSocket
    // layer itself (the connection closes); moderately large ones get a
    // `too-large` error message.
    let max = s.hub.limits.max_message * 4;
    let (hub, token) = (s.hub.clone(), s.token.clone());
    // Small buffers: signaling messages are small, and an idle member then
    // costs a few KiB instead of tungstenite's default 128 KiB read buffer.
    upgrade
        .read_buffer_size(8 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            // The connection keeps its place in the caps while it lives.
            let accept::Peer { ip, slot } = peer;
            signaling::handle(socket, hub, token, ip).await;
            drop(slot);
        })
}

/// ICE servers for the browser app: our STUN server, at the address the
/// page was reached on (or `--public-ip`).
async fn ice_config(State(s): State<Arc<AppState>>, headers: HeaderMap) -> impl IntoResponse {
    let host = match s.public_ip {
        Some(ip) => ip.to_string(),
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| match h.rsplit_once(':') {
                Some((host, port)) if port.parse::<u16>().is_ok() => host.to_string(),
                _ => h.to_string(),
            })
            .unwrap_or_else(|| "127.0.0.1".into()),
    };
    let mut servers: Vec<serde_json::Value> = s
        .stun_port
        .map(|p| serde_json::json!({"urls": [format!("stun:{host}:{p}")]}))
        .into_iter()
        .collect();
    if let Some(t) = &s.turn {
        // A fresh name per request: allocation quotas then count per client
        // IP, not against one name every page shares.
        servers.extend(t.ice_servers(&host, &turn::random_hex(8)));
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "iceServers": servers }).to_string(),
    )
}

async fn metrics_text(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], {
        let mut text = s.hub.metrics.render(s.hub.rooms());
        if let Some(t) = &s.turn {
            t.metrics.render(&mut text);
        }
        text
    })
}
