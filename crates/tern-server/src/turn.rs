//! The TURN server (RFC 8656): the tokio driver of tern-turn's sans-IO
//! [`TurnServer`]. One task owns the core; reader tasks feed it what
//! arrives on the client listeners (UDP, TCP, TLS) and on the relayed UDP
//! sockets, and it writes what the core hands back. Relayed sockets are
//! opened and closed when the core says so, so a port is bound exactly while
//! its allocation lives.
// A server: it reads the clock and owns sockets.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tern_crypto::Random;
use tern_turn::channel_data::stream_frame_len;
use tern_turn::server::{ClientTransport, Destination, Event, FiveTuple, RelayTransport};
use tern_turn::{Cidr, CredentialStore, RestSecret, ServerConfig, StaticUsers, TurnServer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest UDP datagram read (a ChannelData of 65,535 bytes plus its
/// header fits; anything larger is not TURN).
const MAX_DATAGRAM: usize = 65_536 + 4;
/// Inputs waiting for the core; readers wait when it is full.
const INPUT_QUEUE: usize = 8192;
/// Frames waiting to be written to one TCP/TLS client; beyond, the client
/// is too slow and frames are dropped (as a congested UDP path would).
const CLIENT_QUEUE: usize = 1024;

/// How the TURN server runs.
#[derive(Debug, Clone)]
pub struct TurnOptions {
    /// UDP listeners.
    pub udp: Vec<SocketAddr>,
    /// TCP listeners (STUN and ChannelData framed on the stream).
    pub tcp: Vec<SocketAddr>,
    /// TLS listeners and the certificate chain and key (PEM files).
    pub tls: Vec<SocketAddr>,
    /// Certificate chain for the TLS listeners.
    pub tls_cert: Option<PathBuf>,
    /// Its private key.
    pub tls_key: Option<PathBuf>,
    /// REALM.
    pub realm: String,
    /// Static users: (name, password).
    pub users: Vec<(String, String)>,
    /// The REST shared secret (time-limited `expiry:user` usernames).
    pub secret: Option<String>,
    /// The address relayed sockets bind on.
    pub relay_bind: IpAddr,
    /// The address clients are told their relayed address has
    /// (XOR-RELAYED-ADDRESS): the public one behind a 1:1 NAT, else
    /// `relay_bind`.
    pub public_ip: Option<IpAddr>,
    /// Ports for relayed sockets.
    pub relay_range: RangeInclusive<u16>,
    /// Peer ranges opened on purpose (the policy denies loopback, private,
    /// link-local and other special ranges by default).
    pub allow_peers: Vec<Cidr>,
    /// Allocations per user and per client IP.
    pub max_allocations_per_user: usize,
    /// Allocations per client IP.
    pub max_allocations_per_ip: usize,
    /// Allocations in total.
    pub max_allocations: usize,
    /// Relayed bytes per second per allocation (`None`: no cap).
    pub bandwidth_bytes_per_sec: Option<u64>,
}

impl TurnOptions {
    /// Defaults: no listener, realm `tern`, relays on 0.0.0.0:49152-65535.
    pub fn new(realm: &str) -> Self {
        TurnOptions {
            udp: Vec::new(),
            tcp: Vec::new(),
            tls: Vec::new(),
            tls_cert: None,
            tls_key: None,
            realm: realm.to_string(),
            users: Vec::new(),
            secret: None,
            relay_bind: IpAddr::from([0, 0, 0, 0]),
            public_ip: None,
            relay_range: 49152..=65535,
            allow_peers: Vec::new(),
            max_allocations_per_user: 10,
            max_allocations_per_ip: 10,
            max_allocations: 10_000,
            bandwidth_bytes_per_sec: None,
        }
    }
}

/// Static users and the REST secret together: a static user is tried
/// first, then the `expiry:user` scheme.
struct Credentials {
    users: StaticUsers,
    rest: Option<RestSecret>,
}

impl CredentialStore for Credentials {
    fn long_term_key(&self, username: &str, realm: &str, now_unix: u64) -> Option<[u8; 16]> {
        self.users
            .long_term_key(username, realm, now_unix)
            .or_else(|| self.rest.as_ref()?.long_term_key(username, realm, now_unix))
    }

    fn quota_identity<'a>(&self, username: &'a str) -> &'a str {
        match &self.rest {
            Some(r) if !self.users.contains(username) => r.quota_identity(username),
            _ => username,
        }
    }
}

/// Counters for `/metrics` (no per-user labels: usernames stay out of
/// metrics).
#[derive(Debug, Default)]
pub struct TurnMetrics {
    allocations: AtomicU64,
    allocations_created: AtomicU64,
    permissions_created: AtomicU64,
    channels_bound: AtomicU64,
    client_to_peer_packets: AtomicU64,
    client_to_peer_bytes: AtomicU64,
    peer_to_client_packets: AtomicU64,
    peer_to_client_bytes: AtomicU64,
    auth_failures: AtomicU64,
    denied_peers: AtomicU64,
    quota_refusals: AtomicU64,
    capacity_refusals: AtomicU64,
    malformed_dropped: AtomicU64,
}

impl TurnMetrics {
    fn update(&self, s: &tern_turn::ServerStats, live: usize) {
        let set = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
        set(&self.allocations, live as u64);
        set(&self.allocations_created, s.allocations_created);
        set(&self.permissions_created, s.permissions_created);
        set(&self.channels_bound, s.channels_bound);
        set(&self.client_to_peer_packets, s.client_to_peer_packets);
        set(&self.client_to_peer_bytes, s.client_to_peer_bytes);
        set(&self.peer_to_client_packets, s.peer_to_client_packets);
        set(&self.peer_to_client_bytes, s.peer_to_client_bytes);
        set(&self.auth_failures, s.auth_failures);
        set(&self.denied_peers, s.denied_peers);
        set(&self.quota_refusals, s.quota_refusals);
        set(&self.capacity_refusals, s.capacity_refusals);
        set(&self.malformed_dropped, s.malformed_dropped);
    }

    /// The Prometheus text of these counters.
    pub fn render(&self, out: &mut String) {
        let rows: [(&str, &str, &AtomicU64, &str); 13] = [
            (
                "tern_turn_allocations",
                "gauge",
                &self.allocations,
                "live allocations",
            ),
            (
                "tern_turn_allocations_created_total",
                "counter",
                &self.allocations_created,
                "allocations created",
            ),
            (
                "tern_turn_permissions_created_total",
                "counter",
                &self.permissions_created,
                "permissions installed",
            ),
            (
                "tern_turn_channels_bound_total",
                "counter",
                &self.channels_bound,
                "channels bound",
            ),
            (
                "tern_turn_client_to_peer_packets_total",
                "counter",
                &self.client_to_peer_packets,
                "packets relayed from clients to peers",
            ),
            (
                "tern_turn_client_to_peer_bytes_total",
                "counter",
                &self.client_to_peer_bytes,
                "bytes relayed from clients to peers",
            ),
            (
                "tern_turn_peer_to_client_packets_total",
                "counter",
                &self.peer_to_client_packets,
                "packets relayed from peers to clients",
            ),
            (
                "tern_turn_peer_to_client_bytes_total",
                "counter",
                &self.peer_to_client_bytes,
                "bytes relayed from peers to clients",
            ),
            (
                "tern_turn_auth_failures_total",
                "counter",
                &self.auth_failures,
                "requests with wrong or expired credentials",
            ),
            (
                "tern_turn_denied_peers_total",
                "counter",
                &self.denied_peers,
                "peers refused by the address policy",
            ),
            (
                "tern_turn_quota_refusals_total",
                "counter",
                &self.quota_refusals,
                "allocations refused by a quota",
            ),
            (
                "tern_turn_capacity_refusals_total",
                "counter",
                &self.capacity_refusals,
                "allocations refused for want of a port",
            ),
            (
                "tern_turn_malformed_dropped_total",
                "counter",
                &self.malformed_dropped,
                "malformed input dropped",
            ),
        ];
        for (name, kind, v, help) in rows {
            let _ = writeln!(out, "# HELP {name} TURN: {help}.");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
    }
}

/// What the reader tasks hand the core.
enum Input {
    Client {
        transport: ClientTransport,
        from: SocketAddr,
        local: SocketAddr,
        bytes: Vec<u8>,
    },
    ClientOpened {
        five_tuple: FiveTuple,
        writer: mpsc::Sender<Vec<u8>>,
    },
    ClientClosed(FiveTuple),
    Peer {
        relay: SocketAddr,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
}

/// A running TURN server; dropping it stops every task.
pub struct Turn {
    /// Bound UDP listener addresses.
    pub udp: Vec<SocketAddr>,
    /// Bound TCP listener addresses.
    pub tcp: Vec<SocketAddr>,
    /// Bound TLS listener addresses.
    pub tls: Vec<SocketAddr>,
    /// Counters for `/metrics`.
    pub metrics: Arc<TurnMetrics>,
    secret: Option<RestSecret>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Turn {
    /// Short-lived REST credentials for `user` (the `/config` endpoint hands
    /// them to browsers and to `tern send`/`recv`), if a secret is set.
    pub fn mint(&self, user: &str, ttl: Duration) -> Option<(String, String)> {
        let expiry = unix_now().saturating_add(ttl.as_secs());
        Some(self.secret.as_ref()?.mint(expiry, user))
    }

    /// Binds every listener and starts the server.
    pub async fn start(opts: TurnOptions) -> std::io::Result<Turn> {
        let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        if opts.users.is_empty() && opts.secret.is_none() {
            return Err(bad(
                "a TURN server needs credentials: give --user NAME:PASS or --secret S".into(),
            ));
        }
        let tls_config = if opts.tls.is_empty() {
            None
        } else {
            let (Some(cert), Some(key)) = (&opts.tls_cert, &opts.tls_key) else {
                return Err(bad(
                    "TURN over TLS needs a certificate and its key (--tls-cert, --tls-key)".into(),
                ));
            };
            Some(Arc::new(tls_server_config(cert, key)?))
        };
        let mut users = StaticUsers::new(&opts.realm);
        for (u, p) in &opts.users {
            users.add_user(u, p);
        }
        let rest = opts.secret.as_ref().map(|s| RestSecret::new(s.as_bytes()));
        let public = opts.public_ip.unwrap_or(opts.relay_bind);
        let mut seed = [0u8; 32];
        tern_crypto::OsRandom.fill(&mut seed);
        let mut cfg = ServerConfig::new(&opts.realm, seed);
        match public {
            IpAddr::V4(v4) => cfg.relay_ipv4 = Some(v4),
            IpAddr::V6(v6) => cfg.relay_ipv6 = Some(v6),
        }
        cfg.port_range = opts.relay_range.clone();
        cfg.max_allocations = opts.max_allocations;
        cfg.max_allocations_per_user = opts.max_allocations_per_user;
        cfg.max_allocations_per_ip = opts.max_allocations_per_ip;
        cfg.bandwidth_bytes_per_sec = opts.bandwidth_bytes_per_sec;
        // RFC 6062 TCP relays need the driver to connect and splice TCP
        // streams, which this driver does not do yet: refuse them (442).
        cfg.tcp_relay = false;
        for c in &opts.allow_peers {
            cfg.policy.allow(*c);
        }
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let mut tasks = Vec::new();
        let mut udp_sockets = HashMap::new();
        let mut bound = (Vec::new(), Vec::new(), Vec::new());
        for addr in &opts.udp {
            let s = Arc::new(UdpSocket::bind(addr).await?);
            let local = s.local_addr()?;
            bound.0.push(local);
            cfg.policy.add_listener(local);
            tasks.push(tokio::spawn(read_udp_listener(s.clone(), tx.clone())));
            udp_sockets.insert(local, s);
        }
        for addr in &opts.tcp {
            let l = TcpListener::bind(addr).await?;
            let local = l.local_addr()?;
            bound.1.push(local);
            cfg.policy.add_listener(local);
            tasks.push(tokio::spawn(accept(l, None, tx.clone())));
        }
        for addr in &opts.tls {
            let l = TcpListener::bind(addr).await?;
            let local = l.local_addr()?;
            bound.2.push(local);
            cfg.policy.add_listener(local);
            let acceptor = tls_config.clone().map(tokio_rustls::TlsAcceptor::from);
            tasks.push(tokio::spawn(accept(l, acceptor, tx.clone())));
        }
        let creds = Credentials {
            users,
            rest: rest.clone(),
        };
        let now = Instant::now();
        let core = TurnServer::new(
            cfg,
            Box::new(creds),
            Box::new(tern_crypto::OsRandom),
            now,
            unix_now(),
        );
        let metrics = Arc::new(TurnMetrics::default());
        let owner = Owner {
            core,
            listeners: udp_sockets,
            relays: HashMap::new(),
            clients: HashMap::new(),
            bind: opts.relay_bind,
            input: tx,
            metrics: metrics.clone(),
        };
        tasks.push(tokio::spawn(owner.run(rx)));
        tracing::info!(
            udp = ?bound.0, tcp = ?bound.1, tls = ?bound.2, realm = %opts.realm,
            relay = %public, ports = ?opts.relay_range, "TURN server listening"
        );
        Ok(Turn {
            udp: bound.0,
            tcp: bound.1,
            tls: bound.2,
            metrics,
            secret: rest,
            tasks,
        })
    }
}

/// `bytes` random bytes as lowercase hex (secrets and per-request names).
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    tern_crypto::OsRandom.fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn tls_server_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> std::io::Result<tokio_rustls::rustls::ServerConfig> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: String| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(&cert.display().to_string(), e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&cert.display().to_string(), e.to_string()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(&key.display().to_string(), e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("TLS", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad("TLS certificate", e.to_string()))
}

async fn read_udp_listener(socket: Arc<UdpSocket>, tx: mpsc::Sender<Input>) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue; // ICMP errors surface here on Linux; keep serving
        };
        let input = Input::Client {
            transport: ClientTransport::Udp,
            from,
            local,
            bytes: buf[..n].to_vec(),
        };
        if tx.send(input).await.is_err() {
            return;
        }
    }
}

async fn read_relay(socket: Arc<UdpSocket>, relay: SocketAddr, tx: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let input = Input::Peer {
            relay,
            from,
            bytes: buf[..n].to_vec(),
        };
        if tx.send(input).await.is_err() {
            return;
        }
    }
}

async fn accept(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    tx: mpsc::Sender<Input>,
) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await; // out of descriptors
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tx = tx.clone();
        match &tls {
            None => {
                let ft = FiveTuple {
                    transport: ClientTransport::Tcp,
                    client: from,
                    server: local,
                };
                tokio::spawn(serve_stream(stream, ft, tx));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A handshake that stalls must not hold a task forever.
                    let hs = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                    if let Ok(Ok(s)) = hs.await {
                        let ft = FiveTuple {
                            transport: ClientTransport::Tls,
                            client: from,
                            server: local,
                        };
                        serve_stream(s, ft, tx).await;
                    }
                });
            }
        }
    }
}

/// One TCP or TLS client: frames STUN and ChannelData off the stream (RFC
/// 8656 §12.5) for the core, and writes what the core sends it.
async fn serve_stream<S>(stream: S, ft: FiveTuple, tx: mpsc::Sender<Input>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(CLIENT_QUEUE);
    if tx
        .send(Input::ClientOpened {
            five_tuple: ft,
            writer: wtx,
        })
        .await
        .is_err()
    {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(frame) = wrx.recv().await {
            if wr.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match stream_frame_len(&buf) {
                Ok(Some(len)) if buf.len() >= len => {
                    let rest = buf.split_off(len);
                    let frame = std::mem::replace(&mut buf, rest);
                    let input = Input::Client {
                        transport: ft.transport,
                        from: ft.client,
                        local: ft.server,
                        bytes: frame,
                    };
                    if tx.send(input).await.is_err() {
                        break 'read;
                    }
                }
                Ok(_) => break,
                // Not TURN framing: nothing on this stream can be trusted.
                Err(_) => break 'read,
            }
        }
    }
    writer.abort();
    let _ = tx.send(Input::ClientClosed(ft)).await;
}

/// The task that owns the core.
struct Owner {
    core: TurnServer,
    listeners: HashMap<SocketAddr, Arc<UdpSocket>>,
    relays: HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)>,
    clients: HashMap<FiveTuple, mpsc::Sender<Vec<u8>>>,
    bind: IpAddr,
    input: mpsc::Sender<Input>,
    metrics: Arc<TurnMetrics>,
}

impl Owner {
    async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        loop {
            let deadline = self.core.poll_timeout();
            tokio::select! {
                input = rx.recv() => {
                    let Some(input) = input else { return };
                    self.handle(input);
                    // Take what else is already queued before writing, so a
                    // burst costs one pass over the core's outputs.
                    for _ in 0..256 {
                        match rx.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.map_or_else(tokio::time::Instant::now, Into::into)), if deadline.is_some() => {
                    self.core.handle_timeout(Instant::now());
                }
            }
            self.drain().await;
            self.metrics
                .update(&self.core.stats(), self.core.allocation_count());
        }
    }

    fn handle(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Client {
                transport,
                from,
                local,
                bytes,
            } => self.core.handle_client(now, transport, from, local, &bytes),
            Input::ClientOpened { five_tuple, writer } => {
                self.clients.insert(five_tuple, writer);
            }
            Input::ClientClosed(ft) => {
                self.clients.remove(&ft);
                self.core.handle_client_closed(now, ft);
            }
            Input::Peer { relay, from, bytes } => self.core.handle_peer(now, relay, from, &bytes),
        }
    }

    async fn drain(&mut self) {
        while let Some(e) = self.core.poll_event() {
            self.event(e).await;
        }
        while let Some(t) = self.core.poll_transmit() {
            match t.destination {
                Destination::Client(ft) => match ft.transport {
                    ClientTransport::Udp => {
                        if let Some(s) = self.listeners.get(&ft.server) {
                            let _ = s.try_send_to(&t.contents, ft.client);
                        }
                    }
                    _ => {
                        if let Some(w) = self.clients.get(&ft) {
                            // A client too slow to take its frames loses
                            // them, as on a congested UDP path.
                            let _ = w.try_send(t.contents);
                            continue;
                        }
                    }
                },
                Destination::Peer { relay, peer, .. } => {
                    if let Some((s, _)) = self.relays.get(&relay) {
                        let _ = s.try_send_to(&t.contents, peer);
                    }
                }
                _ => {}
            }
            // The relay path reuses its buffers.
            let mut buf = t.contents;
            buf.clear();
            self.core.recycle(buf);
        }
    }

    async fn event(&mut self, e: Event) {
        let now = Instant::now();
        match e {
            Event::OpenRelay {
                relay,
                transport: RelayTransport::Udp,
                ..
            } => {
                let bind = SocketAddr::new(self.bind, relay.port());
                match UdpSocket::bind(bind).await {
                    Ok(s) => {
                        let s = Arc::new(s);
                        let reader = tokio::spawn(read_relay(s.clone(), relay, self.input.clone()));
                        self.relays.insert(relay, (s, reader));
                    }
                    Err(err) => {
                        tracing::warn!(%relay, error = %err, "cannot bind a relayed socket");
                        self.core.handle_relay_failed(now, relay);
                    }
                }
            }
            // Not offered (tcp_relay is off), so never asked for.
            Event::OpenRelay { relay, .. } => self.core.handle_relay_failed(now, relay),
            Event::CloseRelay { relay, .. } => {
                if let Some((_, reader)) = self.relays.remove(&relay) {
                    reader.abort();
                }
            }
            Event::Connect { id, .. } => self.core.handle_connection_failed(now, id),
            _ => {}
        }
    }
}

/// How long the credentials `/config` hands out stay valid. The client
/// refreshes its allocation with the same credentials, so this bounds how
/// long a call can keep its relay: long enough for a long call, short enough
/// that a leaked credential soon dies.
pub const CONFIG_CREDENTIAL_TTL: Duration = Duration::from_secs(12 * 3600);

impl Turn {
    /// `RTCIceServer` entries for a page or a CLI that reached us as `host`:
    /// `turn:` over UDP and TCP and `turns:` over TLS at the listeners'
    /// ports, with fresh REST credentials (W3C `RTCIceServer`).
    pub fn ice_servers(&self, host: &str, user: &str) -> Vec<serde_json::Value> {
        let Some((username, credential)) = self.mint(user, CONFIG_CREDENTIAL_TTL) else {
            return Vec::new();
        };
        let host = match host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => host.to_string(),
        };
        let mut urls = Vec::new();
        if let Some(a) = self.udp.first() {
            urls.push(format!("turn:{host}:{}?transport=udp", a.port()));
        }
        if let Some(a) = self.tcp.first() {
            urls.push(format!("turn:{host}:{}?transport=tcp", a.port()));
        }
        if let Some(a) = self.tls.first() {
            urls.push(format!("turns:{host}:{}?transport=tcp", a.port()));
        }
        if urls.is_empty() {
            return Vec::new();
        }
        vec![serde_json::json!({
            "urls": urls,
            "username": username,
            "credential": credential,
        })]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A static user's quota is its own name, even when a REST secret is
    /// configured too; a REST name counts without its expiry.
    #[test]
    fn quotas_count_static_names_whole_and_rest_names_without_expiry() {
        let mut users = StaticUsers::new("tern");
        users.add_user("alice:ops", "pw");
        let c = Credentials {
            users,
            rest: Some(RestSecret::new(b"s")),
        };
        assert_eq!(c.quota_identity("alice:ops"), "alice:ops");
        assert_eq!(c.quota_identity("1700000000:bob"), "bob");
        assert_eq!(random_hex(8).len(), 16);
        assert_ne!(random_hex(8), random_hex(8));
    }
}
