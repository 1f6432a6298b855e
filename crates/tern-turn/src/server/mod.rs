//! The sans-IO TURN server core (RFC 8656, RFC 6156 dual-stack, RFC 6062 TCP
//! relays).
//!
//! A driver owns the sockets and feeds this core:
//! - [`TurnServer::handle_client`]: every STUN or ChannelData message from a
//!   client-facing listener (over TCP/TLS, one frame at a time, cut with
//!   [`crate::channel_data::stream_frame_len`]);
//! - [`TurnServer::handle_peer`]: every UDP datagram arriving on a relayed
//!   address;
//! - [`TurnServer::handle_timeout`] when [`TurnServer::poll_timeout`] says.
//!
//! and drains [`TurnServer::poll_transmit`] (datagrams to clients and to
//! peers) and [`TurnServer::poll_event`] (open/close relayed sockets, RFC 6062
//! TCP connections). The core chooses relayed ports from the configured range
//! and gets every one back when an allocation fails, is deleted or expires.
//!
//! The rest of the driver's contract:
//! - a client TCP/TLS connection that closes: [`TurnServer::handle_client_closed`]
//!   (deletes its allocation, or closes the peer connection it was bound to);
//! - a relayed socket that cannot be opened: [`TurnServer::handle_relay_failed`];
//! - RFC 6062: a peer connecting to a relayed TCP listener:
//!   [`TurnServer::handle_peer_connection`] (`None`: close it); the outcome of
//!   an [`Event::Connect`]: [`TurnServer::handle_connection_established`] or
//!   [`TurnServer::handle_connection_failed`]; a peer connection that closes:
//!   [`TurnServer::handle_connection_closed`]. After [`Event::ConnectionBound`]
//!   the driver splices the two TCP streams itself (RFC 6062 §5.5);
//! - the wall clock, for nonces and REST credentials: given at
//!   [`TurnServer::new`], re-anchored with [`TurnServer::set_wall_clock`].

mod allocate;
mod limit;
mod nonce;
mod ports;
mod relay;
mod tcp;
mod timer;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use tern_crypto::Random;
use tern_stun::{
    attr_type, error_code, method, Attribute, Class, Integrity, IntegrityKey, Message,
    MessageBuilder, MessageType, TransactionId, UnknownAttributes,
};

use crate::auth::CredentialStore;
use crate::policy::PeerPolicy;

use allocate::{Allocation, Reservation};
use limit::IpLimiter;
use nonce::{NonceCheck, NonceMinter};
use ports::PortPool;
use tcp::TcpConnection;
use timer::Timers;

/// The transport between a client and the server (RFC 8656 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ClientTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

/// RFC 8656 §2: the 5-tuple that names an allocation: transport, client
/// address, and the server address the client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiveTuple {
    /// Client-to-server transport.
    pub transport: ClientTransport,
    /// The client's address as the server sees it.
    pub client: SocketAddr,
    /// The server's listening address.
    pub server: SocketAddr,
}

/// The transport of a relayed address: UDP (RFC 8656) or TCP (RFC 6062).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RelayTransport {
    /// A UDP socket.
    Udp,
    /// A TCP listener (peers connect in) from which connections are also made out.
    Tcp,
}

/// RFC 6062 §6.2.1: the CONNECTION-ID naming a peer TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u32);

/// Where a [`Transmit`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// To a client, through the listener of the 5-tuple.
    Client(FiveTuple),
    /// To a peer, from a relayed UDP address.
    Peer {
        /// The relayed address (the socket to send from).
        relay: SocketAddr,
        /// The peer.
        peer: SocketAddr,
        /// RFC 8656 §10.2: set the DF bit (the Send indication had DONT-FRAGMENT).
        dont_fragment: bool,
    },
}

/// A datagram (or TCP frame) to send. Give `contents` back with
/// [`TurnServer::recycle`] once written, so the relay path does not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: Destination,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// What the driver must do with sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Open a relayed socket on `relay` (a UDP socket, or for RFC 6062 a TCP
    /// listener). If that fails, call [`TurnServer::handle_relay_failed`].
    OpenRelay {
        /// The address to bind.
        relay: SocketAddr,
        /// UDP or TCP.
        transport: RelayTransport,
        /// RFC 8656 §7.2: the Allocate carried DONT-FRAGMENT (set DF on everything sent).
        dont_fragment: bool,
    },
    /// Close the relayed socket on `relay`.
    CloseRelay {
        /// The address.
        relay: SocketAddr,
        /// UDP or TCP.
        transport: RelayTransport,
    },
    /// RFC 6062 §5.2: open a TCP connection from `relay` to `peer`; report
    /// with [`TurnServer::handle_connection_established`] or
    /// [`TurnServer::handle_connection_failed`].
    Connect {
        /// The connection's id.
        id: ConnectionId,
        /// Local address to connect from.
        relay: SocketAddr,
        /// The peer.
        peer: SocketAddr,
    },
    /// Close the peer TCP connection `id` and, if bound, its client data connection.
    CloseConnection {
        /// The connection.
        id: ConnectionId,
    },
    /// RFC 6062 §5.4: the client data connection `client` is bound to peer
    /// connection `id`. After sending the pending ConnectionBind success
    /// (already queued in `poll_transmit`), the driver copies bytes both ways
    /// between the two TCP connections without framing; nothing more from
    /// that client connection goes to `handle_client`.
    ConnectionBound {
        /// The peer connection.
        id: ConnectionId,
        /// The client data connection.
        client: FiveTuple,
        /// The peer.
        peer: SocketAddr,
    },
}

/// Counters (monotonic unless noted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Allocations created.
    pub allocations_created: u64,
    /// Allocations deleted by a Refresh with LIFETIME 0 or by the client's TCP connection closing.
    pub allocations_deleted: u64,
    /// Allocations that expired.
    pub allocations_expired: u64,
    /// Permissions installed (not counting refreshes).
    pub permissions_created: u64,
    /// Channels bound (not counting refreshes).
    pub channels_bound: u64,
    /// Packets relayed from clients to peers.
    pub client_to_peer_packets: u64,
    /// Application bytes relayed from clients to peers.
    pub client_to_peer_bytes: u64,
    /// Packets relayed from peers to clients.
    pub peer_to_client_packets: u64,
    /// Application bytes relayed from peers to clients.
    pub peer_to_client_bytes: u64,
    /// Requests whose credentials failed (unknown user, wrong password, expired REST username).
    pub auth_failures: u64,
    /// Requests with a stale, forged or foreign nonce (answered 438).
    pub stale_nonces: u64,
    /// Peers refused by the policy (403, or a dropped Send indication).
    pub denied_peers: u64,
    /// Allocations refused by a quota (486).
    pub quota_refusals: u64,
    /// Allocations refused because no port was free (508).
    pub capacity_refusals: u64,
    /// 401/438 answers not sent because the source IP exceeded its budget.
    pub rate_limited_challenges: u64,
    /// Answers to unauthenticated UDP requests not sent because they were
    /// larger than the request (with `strict_amplification`).
    pub amplification_dropped: u64,
    /// Input that was not STUN or ChannelData, or was malformed.
    pub malformed_dropped: u64,
    /// Data for which no allocation exists.
    pub no_allocation_dropped: u64,
    /// Data to or from a peer without a permission or bound channel.
    pub no_permission_dropped: u64,
    /// Data over an allocation's bandwidth cap.
    pub bandwidth_dropped: u64,
    /// Transmits dropped because the queue was full.
    pub queue_full_dropped: u64,
    /// Error responses sent.
    pub error_responses: u64,
    /// RFC 6062 peer connections created (outgoing and incoming).
    pub tcp_connections: u64,
    /// RFC 6062 connections that failed or timed out before being bound.
    pub tcp_connections_failed: u64,
}

/// Server settings. [`ServerConfig::new`] fills RFC defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// REALM (RFC 8489 §14.9).
    pub realm: String,
    /// Secret for stateless nonces (keep it across restarts to keep nonces valid).
    pub nonce_secret: [u8; 32],
    /// How long a nonce is valid.
    pub nonce_lifetime: Duration,
    /// IPv4 address relayed sockets bind on and XOR-RELAYED-ADDRESS advertises.
    pub relay_ipv4: Option<Ipv4Addr>,
    /// IPv6 address for relayed sockets (RFC 6156).
    pub relay_ipv6: Option<Ipv6Addr>,
    /// Ports relayed sockets may use (on each relay address).
    pub port_range: RangeInclusive<u16>,
    /// RFC 8656 §7.2: 600 s.
    pub default_lifetime: Duration,
    /// RFC 8656 §7.2: 3600 s recommended.
    pub max_lifetime: Duration,
    /// RFC 8656 §9: 300 s.
    pub permission_lifetime: Duration,
    /// RFC 8656 §12: 600 s.
    pub channel_lifetime: Duration,
    /// RFC 8656 §7.2: how long an EVEN-PORT reservation is held (about 30 s).
    pub reservation_lifetime: Duration,
    /// RFC 6062 §5.2-5.4: how long a Connect may take, and how long a peer
    /// connection waits for its ConnectionBind (30 s).
    pub tcp_connection_timeout: Duration,
    /// Allocations in total (486 beyond).
    pub max_allocations: usize,
    /// Allocations per user (486 beyond).
    pub max_allocations_per_user: usize,
    /// Allocations per client IP (486 beyond).
    pub max_allocations_per_ip: usize,
    /// Permissions per allocation (508 beyond).
    pub max_permissions: usize,
    /// Channels per allocation (508 beyond).
    pub max_channels: usize,
    /// RFC 6062 connections per allocation (508 beyond).
    pub max_connections: usize,
    /// Relayed bytes per second per allocation, both directions together;
    /// the burst is one second's worth. `None`: no cap.
    pub bandwidth_bytes_per_sec: Option<u64>,
    /// 401/438 answers per second per source IP.
    pub challenges_per_sec: u64,
    /// Burst of 401/438 answers per source IP.
    pub challenge_burst: u64,
    /// Source IPs tracked by the challenge limiter.
    pub challenge_table_size: usize,
    /// Never answer an unauthenticated UDP request with more bytes than it
    /// had (drops 401s to requests smaller than a 401: browsers' first
    /// Allocate is such a request, so this breaks them over UDP; off by
    /// default, where the amplification of a 401 is bounded and rate-limited).
    pub strict_amplification: bool,
    /// Transmits waiting for `poll_transmit` (beyond, dropped and counted).
    pub max_queue: usize,
    /// Peer address policy.
    pub policy: PeerPolicy,
    /// RFC 6062 TCP allocations are offered (the driver must then serve
    /// the TCP events); without, a TCP REQUESTED-TRANSPORT gets 442.
    pub tcp_relay: bool,
}

impl ServerConfig {
    /// RFC defaults for `realm`. No relay address is set: the driver sets
    /// `relay_ipv4` and/or `relay_ipv6` (the addresses relayed sockets bind
    /// on and XOR-RELAYED-ADDRESS advertises).
    pub fn new(realm: &str, nonce_secret: [u8; 32]) -> Self {
        ServerConfig {
            realm: realm.to_owned(),
            nonce_secret,
            nonce_lifetime: Duration::from_secs(600),
            relay_ipv4: None,
            relay_ipv6: None,
            port_range: 49152..=65535,
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            permission_lifetime: Duration::from_secs(300),
            channel_lifetime: Duration::from_secs(600),
            reservation_lifetime: Duration::from_secs(30),
            tcp_connection_timeout: Duration::from_secs(30),
            max_allocations: 10_000,
            max_allocations_per_user: 10,
            max_allocations_per_ip: 10,
            max_permissions: 64,
            max_channels: 64,
            max_connections: 32,
            bandwidth_bytes_per_sec: None,
            challenges_per_sec: 5,
            challenge_burst: 20,
            challenge_table_size: 65_536,
            strict_amplification: false,
            max_queue: 4096,
            policy: PeerPolicy::new(),
            tcp_relay: true,
        }
    }
}

/// An authenticated request's credentials (RFC 8489 §9.2.4).
#[derive(Clone)]
pub(crate) struct Auth {
    pub(crate) username: String,
    pub(crate) key: IntegrityKey,
    pub(crate) sha256: bool,
}

/// A request being handled.
pub(crate) struct Req<'a> {
    pub(crate) ft: FiveTuple,
    pub(crate) msg: Message<'a>,
    pub(crate) len: usize,
    pub(crate) fingerprint: bool,
}

const MAX_SPARE_BUFFERS: usize = 256;

/// The TURN server core. See the [module documentation](self).
pub struct TurnServer {
    cfg: ServerConfig,
    creds: Box<dyn CredentialStore + Send>,
    rng: Box<dyn Random + Send>,
    nonces: NonceMinter,
    wall: (Instant, u64),
    allocs: HashMap<FiveTuple, Allocation>,
    ids: HashMap<u64, FiveTuple>,
    by_relay: HashMap<SocketAddr, FiveTuple>,
    pool_v4: Option<PortPool>,
    pool_v6: Option<PortPool>,
    reservations: HashMap<[u8; 8], Reservation>,
    per_user: HashMap<String, usize>,
    per_ip: HashMap<IpAddr, usize>,
    conns: HashMap<ConnectionId, TcpConnection>,
    data_conns: HashMap<FiveTuple, ConnectionId>,
    timers: Timers,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    spare: Vec<Vec<u8>>,
    challenges: IpLimiter,
    next_id: u64,
    stats: ServerStats,
}

impl std::fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServer")
            .field("realm", &self.cfg.realm)
            .field("allocations", &self.allocs.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TurnServer {
    /// A server. `now` and `now_unix` anchor the wall clock (seconds since
    /// 1970) for nonces and REST credentials; re-anchor with
    /// [`set_wall_clock`](Self::set_wall_clock). `rng` picks ports,
    /// reservation tokens, connection ids and transaction ids.
    pub fn new(
        mut cfg: ServerConfig,
        creds: Box<dyn CredentialStore + Send>,
        mut rng: Box<dyn Random + Send>,
        now: Instant,
        now_unix: u64,
    ) -> Self {
        let pool_v4 = cfg
            .relay_ipv4
            .map(|_| PortPool::new(cfg.port_range.clone(), &mut *rng));
        let pool_v6 = cfg
            .relay_ipv6
            .map(|_| PortPool::new(cfg.port_range.clone(), &mut *rng));
        let range = cfg.port_range.clone();
        if let Some(ip) = cfg.relay_ipv4 {
            cfg.policy.add_relay_ip(IpAddr::V4(ip), range.clone());
        }
        if let Some(ip) = cfg.relay_ipv6 {
            cfg.policy.add_relay_ip(IpAddr::V6(ip), range);
        }
        let challenges = IpLimiter::new(
            cfg.challenges_per_sec,
            cfg.challenge_burst,
            cfg.challenge_table_size,
            now,
        );
        TurnServer {
            nonces: NonceMinter::new(&cfg.nonce_secret, cfg.nonce_lifetime.as_secs()),
            cfg,
            creds,
            rng,
            wall: (now, now_unix),
            allocs: HashMap::new(),
            ids: HashMap::new(),
            by_relay: HashMap::new(),
            pool_v4,
            pool_v6,
            reservations: HashMap::new(),
            per_user: HashMap::new(),
            per_ip: HashMap::new(),
            conns: HashMap::new(),
            data_conns: HashMap::new(),
            timers: Timers::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            spare: Vec::new(),
            challenges,
            next_id: 1,
            stats: ServerStats::default(),
        }
    }

    /// Re-anchors the wall clock: at `now` it is `now_unix` seconds since 1970.
    pub fn set_wall_clock(&mut self, now: Instant, now_unix: u64) {
        self.wall = (now, now_unix);
    }

    fn unix(&self, now: Instant) -> u64 {
        let (at, unix) = self.wall;
        if now >= at {
            unix.saturating_add(now.duration_since(at).as_secs())
        } else {
            unix.saturating_sub(at.duration_since(now).as_secs())
        }
    }

    /// The peer policy, e.g. to register listener addresses.
    pub fn policy_mut(&mut self) -> &mut PeerPolicy {
        &mut self.cfg.policy
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// Live allocations.
    pub fn allocation_count(&self) -> usize {
        self.allocs.len()
    }

    /// Relay ports in use on both families (allocations and reservations).
    pub fn ports_in_use(&self) -> usize {
        self.pool_v4.as_ref().map_or(0, PortPool::in_use)
            + self.pool_v6.as_ref().map_or(0, PortPool::in_use)
    }

    /// Live RFC 6062 connections (connecting, waiting for a bind, or bound).
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Entries in the timer heap (live and stale; for tests of boundedness).
    pub fn timer_entries(&self) -> usize {
        self.timers.len()
    }

    /// Handles a STUN message or ChannelData message from a client: a UDP
    /// datagram, or one frame of a TCP/TLS stream.
    pub fn handle_client(
        &mut self,
        now: Instant,
        transport: ClientTransport,
        client: SocketAddr,
        server_local: SocketAddr,
        bytes: &[u8],
    ) {
        let ft = FiveTuple {
            transport,
            client,
            server: server_local,
        };
        match bytes.first().map(|b| b >> 6) {
            Some(0b00) => self.client_stun(now, ft, bytes),
            Some(0b01) => self.client_channel_data(now, ft, bytes),
            _ => self.stats.malformed_dropped += 1,
        }
    }

    /// A client's TCP or TLS connection closed: its allocation is deleted
    /// (RFC 8656 §3.1, RFC 6062 §5.1), or its bound peer connection closed.
    pub fn handle_client_closed(&mut self, _now: Instant, five_tuple: FiveTuple) {
        if self.allocs.contains_key(&five_tuple) {
            self.stats.allocations_deleted += 1;
            self.delete_allocation(five_tuple);
        } else if let Some(id) = self.data_conns.get(&five_tuple).copied() {
            self.close_connection(id, true);
        }
    }

    /// The driver could not open the relayed socket on `relay`: the
    /// allocation owning it is deleted and its ports returned.
    pub fn handle_relay_failed(&mut self, _now: Instant, relay: SocketAddr) {
        if let Some(ft) = self.by_relay.get(&relay).copied() {
            self.delete_allocation(ft);
        }
    }

    /// Expires allocations, permissions, channels, reservations and RFC 6062
    /// connections due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, key)) = self.timers.pop_due(now) {
            self.fire(at, now, key);
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next (the top of
    /// a heap: O(1); it may be early, never late).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next socket action for the driver.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Gives a transmitted buffer back for reuse.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_SPARE_BUFFERS {
            buf.clear();
            self.spare.push(buf);
        }
    }

    fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    fn push_transmit(&mut self, destination: Destination, contents: Vec<u8>) -> bool {
        if self.transmits.len() >= self.cfg.max_queue {
            self.stats.queue_full_dropped += 1;
            self.recycle(contents);
            return false;
        }
        self.transmits.push_back(Transmit {
            destination,
            contents,
        });
        true
    }

    fn client_stun(&mut self, now: Instant, ft: FiveTuple, bytes: &[u8]) {
        let Ok(msg) = Message::parse(bytes) else {
            self.stats.malformed_dropped += 1;
            return;
        };
        let fingerprint = msg.has_fingerprint();
        if fingerprint && msg.verify_fingerprint().is_err() {
            self.stats.malformed_dropped += 1;
            return;
        }
        let req = Req {
            ft,
            msg,
            len: bytes.len(),
            fingerprint,
        };
        match msg.class() {
            Class::Request => self.request(now, &req),
            Class::Indication if msg.method() == method::SEND => self.send_indication(now, &req),
            // Responses and other indications need no answer.
            _ => {}
        }
    }

    fn request(&mut self, now: Instant, req: &Req<'_>) {
        let m = req.msg.method();
        if m == method::BINDING {
            // RFC 8656 §4: a TURN server is a STUN server too; Binding needs no credentials.
            let attrs = [Attribute::XorMappedAddress(req.ft.client)];
            let typ = MessageType::new(Class::SuccessResponse, m);
            if let Some(buf) =
                self.build(typ, req.msg.transaction_id(), &attrs, None, req.fingerprint)
            {
                self.send_unauthenticated(req, buf);
            }
            return;
        }
        let known = [
            method::ALLOCATE,
            method::REFRESH,
            method::CREATE_PERMISSION,
            method::CHANNEL_BIND,
            method::CONNECT,
            method::CONNECTION_BIND,
        ];
        if !known.contains(&m) {
            self.error(req, error_code::BAD_REQUEST, None, &[]);
            return;
        }
        let Some(auth) = self.authenticate(now, req) else {
            return;
        };
        let mut unknown = Vec::new();
        for t in req.msg.unknown_comprehension_required().take(16) {
            unknown.extend_from_slice(&t.to_be_bytes());
        }
        if !unknown.is_empty() {
            let attrs = [Attribute::UnknownAttributes(
                UnknownAttributes::from_encoded(&unknown),
            )];
            self.error(req, error_code::UNKNOWN_ATTRIBUTE, Some(&auth), &attrs);
            return;
        }
        match m {
            method::ALLOCATE => self.allocate(now, req, &auth),
            method::REFRESH => self.refresh(now, req, &auth),
            method::CREATE_PERMISSION => self.create_permission(now, req, &auth),
            method::CHANNEL_BIND => self.channel_bind(now, req, &auth),
            method::CONNECT => self.connect(now, req, &auth),
            _ => self.connection_bind(now, req, &auth),
        }
    }

    /// RFC 8489 §9.2.4: the long-term credential checks, in the RFC's order.
    /// On failure the answer (400, 401, 438) is queued and `None` returned.
    fn authenticate(&mut self, now: Instant, req: &Req<'_>) -> Option<Auth> {
        let msg = &req.msg;
        let Some(integrity) = msg.integrity() else {
            self.challenge(now, req, error_code::UNAUTHENTICATED);
            return None;
        };
        let username = msg.username();
        let realm = match msg.get(attr_type::REALM) {
            Some(Ok(Attribute::Realm(r))) => Some(r),
            _ => None,
        };
        let nonce = match msg.get(attr_type::NONCE) {
            Some(Ok(Attribute::Nonce(n))) => Some(n),
            _ => None,
        };
        let (Some(username), Some(realm), Some(nonce)) = (username, realm, nonce) else {
            self.error(req, error_code::BAD_REQUEST, None, &[]);
            return None;
        };
        let unix = self.unix(now);
        if self.nonces.check(nonce, req.ft.client.ip(), unix) != NonceCheck::Valid {
            self.stats.stale_nonces += 1;
            self.challenge(now, req, error_code::STALE_NONCE);
            return None;
        }
        let key = if realm == self.cfg.realm {
            self.creds.long_term_key(username, realm, unix)
        } else {
            None
        };
        let Some(key) = key.map(|k| IntegrityKey::from_key(&k)) else {
            self.stats.auth_failures += 1;
            self.challenge(now, req, error_code::UNAUTHENTICATED);
            return None;
        };
        if msg.verify_integrity(&key).is_err() {
            self.stats.auth_failures += 1;
            self.challenge(now, req, error_code::UNAUTHENTICATED);
            return None;
        }
        Some(Auth {
            username: username.to_owned(),
            key,
            sha256: integrity == Integrity::Sha256,
        })
    }

    /// 401 or 438 with REALM and a fresh NONCE, within the source IP's
    /// budget over UDP. The budget exists against reflection: over TCP and
    /// TLS the handshake proved the source address, so there is nothing to
    /// amplify, and a dropped answer would never be retransmitted (the
    /// client would wait forever, as coturn's uclient did with 50 clients).
    fn challenge(&mut self, now: Instant, req: &Req<'_>, code: u16) {
        if req.ft.transport == ClientTransport::Udp
            && !self.challenges.allow(now, req.ft.client.ip())
        {
            self.stats.rate_limited_challenges += 1;
            return;
        }
        let nonce = self.nonces.mint(req.ft.client.ip(), self.unix(now));
        // The nonce is ASCII hex by construction.
        let nonce = std::str::from_utf8(&nonce).unwrap_or_default();
        let realm = self.cfg.realm.clone();
        let attrs = [Attribute::Realm(&realm), Attribute::Nonce(nonce)];
        self.error(req, code, None, &attrs);
    }

    /// An error response; its reason phrase only when authenticated (an
    /// unauthenticated answer must stay small).
    fn error(&mut self, req: &Req<'_>, code: u16, auth: Option<&Auth>, extra: &[Attribute<'_>]) {
        self.stats.error_responses += 1;
        let reason = if auth.is_some() {
            error_code::reason(code)
        } else {
            ""
        };
        let mut attrs = Vec::with_capacity(extra.len() + 1);
        attrs.push(Attribute::ErrorCode { code, reason });
        attrs.extend_from_slice(extra);
        let typ = MessageType::new(Class::ErrorResponse, req.msg.method());
        let Some(buf) = self.build(typ, req.msg.transaction_id(), &attrs, auth, req.fingerprint)
        else {
            return;
        };
        let challenge = code == error_code::UNAUTHENTICATED || code == error_code::STALE_NONCE;
        if auth.is_some() {
            self.push_transmit(Destination::Client(req.ft), buf);
        } else if !challenge && req.ft.transport == ClientTransport::Udp && buf.len() > req.len {
            // Never amplify: an error that cannot fit in the request's size is not sent.
            self.stats.amplification_dropped += 1;
            self.recycle(buf);
        } else {
            self.send_unauthenticated(req, buf);
        }
    }

    /// A success response, signed.
    fn success(&mut self, req: &Req<'_>, auth: &Auth, attrs: &[Attribute<'_>]) -> Option<Vec<u8>> {
        let typ = MessageType::new(Class::SuccessResponse, req.msg.method());
        self.build(
            typ,
            req.msg.transaction_id(),
            attrs,
            Some(auth),
            req.fingerprint,
        )
    }

    fn send_unauthenticated(&mut self, req: &Req<'_>, buf: Vec<u8>) {
        if self.cfg.strict_amplification
            && req.ft.transport == ClientTransport::Udp
            && buf.len() > req.len
        {
            self.stats.amplification_dropped += 1;
            self.recycle(buf);
            return;
        }
        self.push_transmit(Destination::Client(req.ft), buf);
    }

    /// Writes a message: attributes, then MESSAGE-INTEGRITY(-SHA256) if
    /// authenticated, then FINGERPRINT if the request had one.
    fn build(
        &mut self,
        typ: MessageType,
        tid: TransactionId,
        attrs: &[Attribute<'_>],
        auth: Option<&Auth>,
        fingerprint: bool,
    ) -> Option<Vec<u8>> {
        let mut buf = self.buffer();
        let mut b = MessageBuilder::new(&mut buf, typ, tid);
        let mut ok = attrs.iter().all(|a| b.add(a).is_ok());
        if let Some(auth) = auth {
            ok &= if auth.sha256 {
                b.add_message_integrity_sha256(&auth.key).is_ok()
            } else {
                b.add_message_integrity(&auth.key).is_ok()
            };
        }
        if fingerprint {
            ok &= b.add_fingerprint().is_ok();
        }
        if ok {
            Some(buf)
        } else {
            self.recycle(buf);
            None
        }
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

#[cfg(test)]
mod tests;
