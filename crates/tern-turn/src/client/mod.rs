//! A sans-IO TURN client (RFC 8656, with RFC 6156 dual-stack allocations):
//! one [`TurnClient`] per allocation.
//!
//! The client allocates with long-term credentials (RFC 8489 §9.2: the 401
//! challenge, 438 stale-nonce retries, PASSWORD-ALGORITHMS and
//! MESSAGE-INTEGRITY-SHA256 when the server offers them), refreshes the
//! allocation, its permissions and channel bindings before they expire,
//! relays data with Send indications or ChannelData, and deallocates.
//!
//! It never reads a clock: time is passed to every call, and the only timer
//! is [`poll_timeout`](TurnClient::poll_timeout), kept up to date on every
//! change so that polling an idle client costs O(1). Transaction ids come
//! from the injected [`Random`].
//!
//! A driver owns the socket and one client per allocation; thousands of
//! clients share one timer heap keyed by their `poll_timeout`:
//!
//! ```
//! # #![allow(clippy::disallowed_methods)]
//! use std::time::Instant;
//! use tern_crypto::SeededRandom;
//! use tern_turn::{TurnClient, TurnClientConfig, TurnEvent};
//!
//! let server = "192.0.2.1:3478".parse().unwrap();
//! let mut client = TurnClient::new(
//!     TurnClientConfig::new(server, "user", "password"),
//!     Box::new(SeededRandom::new(1)), // tern_crypto::OsRandom in production
//! );
//! let now = Instant::now();
//! client.allocate(now).unwrap();
//! while let Some(t) = client.poll_transmit() {
//!     // socket.send_to(&t.bytes, t.to)
//!     assert_eq!(t.to, server);
//! }
//! // On every datagram from the server:
//! //     client.handle_receive(now, from, &datagram);
//! // At client.poll_timeout():
//! client.handle_timeout(now);
//! while let Some(event) = client.poll_event() {
//!     if let TurnEvent::Allocated { relayed, .. } = event {
//!         // offer `relayed` as relay candidates
//!         let _ = relayed;
//!     }
//! }
//! assert!(client.poll_timeout().is_some()); // the Allocate's retransmission
//! ```

mod config;
mod credentials;
mod error;
mod peers;
mod receive;
mod stream;
mod transaction;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tern_crypto::Random;
use tern_stun::{
    attr_type, method, Attribute, Class, MessageBuilder, MessageType, Method, StunError,
    TransactionId,
};
use tracing::debug;

pub use config::{
    Received, RequestedFamily, Transmit, TurnClientConfig, TurnClientStats, TurnEvent,
    TurnTransport,
};
pub use error::TurnError;

use crate::channel_data::{
    padded_len, write_channel_data, ChannelNumber, HEADER_LEN as CD_HEADER_LEN,
};
use credentials::Credentials;
use peers::{Channels, Permissions, Standing, CHANNEL_LIFETIME, CHANNEL_QUARANTINE};
use stream::StreamBuffer;

/// Events waiting in [`TurnClient::poll_event`]; Data events beyond it are
/// dropped and counted (control events are few and always kept).
const MAX_EVENTS: usize = 256;
/// Datagrams waiting in [`TurnClient::poll_transmit`] before `send_to` refuses more.
const MAX_TRANSMITS: usize = 256;
/// Fresh attempts after 401/438 challenges for one request: the first 401
/// and three stale nonces in a row (RFC 8489 §9.2.5 retries must be bounded).
const MAX_AUTH_RETRIES: u8 = 4;
/// REQUESTED-TRANSPORT value for UDP (RFC 8656 §18.7: the IANA protocol number).
const TRANSPORT_UDP: u8 = 17;

/// Where stream data goes when the caller wants it without a copy.
type DataSink<'s> = &'s mut dyn FnMut(SocketAddr, &[u8]);

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Allocate,
    /// Refresh; `lifetime` 0 deallocates (RFC 8656 §8).
    Refresh {
        lifetime: u32,
    },
    CreatePermission {
        peer: IpAddr,
    },
    ChannelBind {
        peer: SocketAddr,
        channel: ChannelNumber,
    },
}

impl Kind {
    fn method(self) -> Method {
        match self {
            Kind::Allocate => method::ALLOCATE,
            Kind::Refresh { .. } => method::REFRESH,
            Kind::CreatePermission { .. } => method::CREATE_PERMISSION,
            Kind::ChannelBind { .. } => method::CHANNEL_BIND,
        }
    }
}

/// One outstanding request (RFC 8489 §6.2).
#[derive(Debug)]
struct Transaction {
    tid: TransactionId,
    kind: Kind,
    request: Vec<u8>,
    sent: u32,
    started: Instant,
    deadline: Instant,
    auth_retries: u8,
    had_credentials: bool,
    /// A response came but failed integrity: a timeout then reports
    /// [`TurnError::IntegrityViolation`] (RFC 8489 §9.2.5).
    integrity_dropped: bool,
}

/// A live allocation.
#[derive(Debug)]
struct Allocation {
    relayed: Vec<SocketAddr>,
    mapped: SocketAddr,
    refresh_at: Instant,
    expires_at: Instant,
    refreshing: bool,
}

#[derive(Debug)]
enum Phase {
    /// No allocation; [`TurnClient::allocate`] starts one.
    Idle,
    Allocating,
    Allocated(Allocation),
    /// A Refresh with LIFETIME 0 is outstanding.
    Closing,
    Closed,
}

/// RFC 8656 §8: refresh a minute before expiry, or at half the lifetime when
/// it is short.
fn refresh_interval(lifetime: Duration) -> Duration {
    if lifetime > Duration::from_secs(120) {
        lifetime - Duration::from_secs(60)
    } else {
        lifetime / 2
    }
}

fn encoding_error(e: StunError) -> TurnError {
    match e {
        StunError::ValueTooLong { attr_type: t } if t == attr_type::DATA => {
            TurnError::DataTooLong {
                len: usize::from(u16::MAX) + 1,
            }
        }
        _ => TurnError::InvalidConfig {
            what: "username, realm, nonce or software too long for STUN",
        },
    }
}

/// The TURN client for one allocation. See the [module docs](self).
pub struct TurnClient {
    config: TurnClientConfig,
    rng: Box<dyn Random + Send>,
    phase: Phase,
    /// Boxed: the prepared HMAC key is large and absent until the first 401.
    credentials: Option<Box<Credentials>>,
    transactions: Vec<Transaction>,
    permissions: Permissions,
    channels: Channels,
    stream: StreamBuffer,
    stream_broken: bool,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TurnEvent>,
    scratch: Vec<u8>,
    next_timeout: Option<Instant>,
    stats: TurnClientStats,
}

impl std::fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnClient")
            .field("server", &self.config.server)
            .field("transport", &self.config.transport)
            .field("phase", &self.phase)
            .field("transactions", &self.transactions.len())
            .field("permissions", &self.permissions.list.len())
            .field("channels", &self.channels.list.len())
            .field("next_timeout", &self.next_timeout)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TurnClient {
    /// A client for `config`, idle until [`allocate`](Self::allocate).
    /// `rng` supplies transaction ids (RFC 8489 §5: uniformly random).
    pub fn new(config: TurnClientConfig, rng: Box<dyn Random + Send>) -> Self {
        TurnClient {
            config,
            rng,
            phase: Phase::Idle,
            credentials: None,
            transactions: Vec::new(),
            permissions: Permissions::default(),
            channels: Channels::default(),
            stream: StreamBuffer::default(),
            stream_broken: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            next_timeout: None,
            stats: TurnClientStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TurnClientConfig {
        &self.config
    }
    /// Counters.
    pub fn stats(&self) -> TurnClientStats {
        self.stats
    }
    /// Whether an allocation is live.
    pub fn is_allocated(&self) -> bool {
        matches!(self.phase, Phase::Allocated(_))
    }
    /// Whether [`close`](Self::close) has finished (or the client never allocated and was closed).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }
    /// The relayed transport addresses, once allocated.
    pub fn relayed_addresses(&self) -> &[SocketAddr] {
        match &self.phase {
            Phase::Allocated(a) => &a.relayed,
            _ => &[],
        }
    }
    /// Our address as the server sees it, once allocated.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        match &self.phase {
            Phase::Allocated(a) => Some(a.mapped),
            _ => None,
        }
    }
    /// The confirmed channel for `peer`, if bound (ChannelData is used then).
    pub fn channel_for(&self, peer: SocketAddr) -> Option<ChannelNumber> {
        self.channels
            .by_peer(peer)
            .filter(|c| c.standing == Standing::Installed)
            .map(|c| c.number)
    }
    /// Whether a permission for `ip` is installed.
    pub fn has_permission(&self, ip: IpAddr) -> bool {
        self.permissions
            .get(ip)
            .is_some_and(|p| p.standing == Standing::Installed)
    }
    /// Bytes of a partial TCP/TLS frame held between reads (at most one frame, 65,552 bytes).
    pub fn buffered_stream_bytes(&self) -> usize {
        self.stream.len()
    }

    // ---- commands -------------------------------------------------------

    /// RFC 8656 §7.1: sends an Allocate request (first without credentials;
    /// the server's 401 supplies realm and nonce). Allowed when idle, after a
    /// failure or loss (e.g. 437), or after close.
    pub fn allocate(&mut self, now: Instant) -> Result<(), TurnError> {
        if !matches!(self.phase, Phase::Idle | Phase::Closed) {
            return Err(TurnError::AlreadyAllocated);
        }
        if self.stream_broken {
            return Err(TurnError::StreamCorrupted);
        }
        self.reset_allocation();
        self.phase = Phase::Allocating;
        let r = self.start(now, Kind::Allocate, 0);
        if r.is_err() {
            self.phase = Phase::Idle;
        }
        self.rearm();
        r
    }

    /// RFC 8656 §9.1: installs a permission for `peer` (the port is
    /// irrelevant to permissions) and keeps refreshing it every 240 s until
    /// [`remove_permission`](Self::remove_permission). Calling it again for a
    /// failed permission retries.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) -> Result<(), TurnError> {
        self.check_peer(peer)?;
        let r = self.want_permission(now, peer);
        self.rearm();
        r
    }

    /// Stops refreshing the permission for `peer`; the server lets it lapse.
    pub fn remove_permission(&mut self, peer: IpAddr) {
        if let Some(p) = self.permissions.get_mut(peer) {
            if p.in_flight {
                p.standing = Standing::Released;
                p.refresh_at = None;
            } else {
                self.permissions.list.retain(|p| p.ip != peer);
            }
        }
        self.rearm();
    }

    /// RFC 8656 §11.1: binds a channel to `peer` (numbers from 0x4000 up,
    /// never reused for another peer within the binding lifetime plus five
    /// minutes) and refreshes it every 540 s until
    /// [`unbind_channel`](Self::unbind_channel). A permission for the peer's
    /// IP is created too, since channel refreshes alone do not keep it
    /// (300 s against 600 s). Sends use ChannelData once
    /// [`TurnEvent::ChannelBound`] is reported.
    pub fn bind_channel(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<ChannelNumber, TurnError> {
        self.check_peer(peer.ip())?;
        let r = self.bind_channel_inner(now, peer);
        self.rearm();
        r
    }

    fn bind_channel_inner(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<ChannelNumber, TurnError> {
        let installed = self
            .permissions
            .get(peer.ip())
            .is_some_and(|p| p.standing == Standing::Installed || p.in_flight);
        if !installed {
            self.want_permission(now, peer.ip())?;
        }
        let reusable_at = now + self.transaction_timeout() + CHANNEL_LIFETIME + CHANNEL_QUARANTINE;
        let c = self.channels.assign(now, peer, reusable_at)?;
        let number = c.number;
        if c.in_flight || c.standing == Standing::Installed {
            return Ok(number);
        }
        c.standing = Standing::Pending;
        c.in_flight = true;
        c.refresh_at = None;
        if let Err(e) = self.start(
            now,
            Kind::ChannelBind {
                peer,
                channel: number,
            },
            0,
        ) {
            if let Some(c) = self.channels.by_peer_mut(peer) {
                c.in_flight = false;
                c.standing = Standing::Failed(e.clone());
            }
            return Err(e);
        }
        Ok(number)
    }

    /// Stops refreshing the channel for `peer` and sends to it by Send
    /// indication again. The number stays reserved for this peer until the
    /// server's binding and its 5-minute quarantine are over (RFC 8656 §12).
    pub fn unbind_channel(&mut self, peer: SocketAddr) {
        if let Some(c) = self.channels.by_peer_mut(peer) {
            c.standing = Standing::Released;
            c.refresh_at = None;
        }
        self.rearm();
    }

    /// Relays `data` to `peer`: as ChannelData if a channel is bound and
    /// confirmed (RFC 8656 §12.4), else as a Send indication (RFC 8656 §10.1),
    /// creating the permission first if there is none (the CreatePermission
    /// is queued before the indication, so an in-order server installs it in
    /// time). A peer whose permission failed gets that error back.
    pub fn send_to(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), TurnError> {
        if self.transmits.len() >= MAX_TRANSMITS {
            return Err(TurnError::QueueFull);
        }
        let to = self.config.server;
        // The ChannelData path changes no timer: it skips `rearm`.
        match self.bound_channel(peer) {
            Some(channel) => {
                if data.len() > usize::from(u16::MAX) {
                    return Err(TurnError::DataTooLong { len: data.len() });
                }
                let stream = self.config.transport.is_stream();
                let len = if stream {
                    padded_len(data.len())
                } else {
                    CD_HEADER_LEN + data.len()
                };
                let mut bytes = vec![0; len];
                match write_channel_data(&mut bytes, channel, data, stream) {
                    Some(_) => {
                        self.stats.channel_data_sent += 1;
                        self.transmits.push_back(Transmit { to, bytes });
                        Ok(())
                    }
                    None => Err(TurnError::DataTooLong { len: data.len() }),
                }
            }
            None => {
                let r = self.encode_send_indication(now, peer, data).map(|()| {
                    self.stats.send_indications_sent += 1;
                    self.transmits.push_back(Transmit {
                        to,
                        bytes: self.scratch.clone(),
                    });
                });
                self.rearm();
                r
            }
        }
    }

    /// Like [`send_to`](Self::send_to), but writes the message into `out`
    /// and returns its length instead of queueing it: the caller sends
    /// `out[..len]` to the server. Nothing is allocated for a bound channel.
    /// A control message this may cause (the CreatePermission for a peer
    /// without one) is queued in [`poll_transmit`](Self::poll_transmit):
    /// send what it yields before `out[..len]`, so the permission arrives first.
    pub fn send_to_into(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, TurnError> {
        match self.bound_channel(peer) {
            Some(channel) => {
                let stream = self.config.transport.is_stream();
                if data.len() > usize::from(u16::MAX) {
                    Err(TurnError::DataTooLong { len: data.len() })
                } else {
                    let needed = if stream {
                        padded_len(data.len())
                    } else {
                        CD_HEADER_LEN + data.len()
                    };
                    match write_channel_data(out, channel, data, stream) {
                        Some(n) => {
                            self.stats.channel_data_sent += 1;
                            Ok(n)
                        }
                        None => Err(TurnError::BufferTooSmall { needed }),
                    }
                }
            }
            None => {
                let r = self.encode_send_indication(now, peer, data).and_then(|()| {
                    let n = self.scratch.len();
                    let dst = out
                        .get_mut(..n)
                        .ok_or(TurnError::BufferTooSmall { needed: n })?;
                    dst.copy_from_slice(&self.scratch);
                    self.stats.send_indications_sent += 1;
                    Ok(n)
                });
                self.rearm();
                r
            }
        }
    }

    /// RFC 8656 §8: deallocates with a Refresh of LIFETIME 0, then reports
    /// [`TurnEvent::Deallocated`] (also if the server does not answer: the
    /// allocation then expires on its own). Permissions and channels are
    /// forgotten at once.
    pub fn close(&mut self, now: Instant) {
        match self.phase {
            Phase::Allocated(_) => {
                self.reset_allocation();
                self.phase = Phase::Closing;
                if self.start(now, Kind::Refresh { lifetime: 0 }, 0).is_err() {
                    self.phase = Phase::Closed;
                    self.events.push_back(TurnEvent::Deallocated);
                }
            }
            Phase::Allocating => {
                self.reset_allocation();
                self.phase = Phase::Closed;
                self.events.push_back(TurnEvent::Deallocated);
            }
            Phase::Idle => self.phase = Phase::Closed,
            Phase::Closing | Phase::Closed => {}
        }
        self.rearm();
    }

    // ---- input ----------------------------------------------------------

    /// Offers a datagram (UDP). Returns whether it was for this client; relayed
    /// data becomes [`TurnEvent::Data`]. Use [`handle_datagram`](Self::handle_datagram)
    /// to get the data without a copy.
    pub fn handle_receive(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> bool {
        match self.handle_datagram(now, from, bytes) {
            Received::Data { peer, data } => {
                self.emit_data(peer, data);
                true
            }
            Received::NotForClient => false,
            _ => true,
        }
    }

    /// Offers a datagram and returns relayed data borrowed from it (zero-copy:
    /// ChannelData and Data indications are parsed in place). Control
    /// messages update the state and report through events.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &'a [u8],
    ) -> Received<'a> {
        if from != self.config.server {
            return Received::NotForClient;
        }
        let r = self.on_message(now, bytes);
        // Relayed data changes no timer; only control messages need `rearm`.
        if !matches!(r, Received::Data { .. }) {
            self.rearm();
        }
        r
    }

    /// Offers bytes read from the TCP/TLS stream (RFC 8656 §12.5 framing;
    /// partial frames are kept, at most one frame's worth). Relayed data
    /// becomes [`TurnEvent::Data`]. A stream that does not frame fails with
    /// [`TurnError::StreamCorrupted`] (and the allocation is lost): close the
    /// connection.
    pub fn handle_stream_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<(), TurnError> {
        self.feed_stream(now, bytes, None)
    }

    /// Like [`handle_stream_bytes`](Self::handle_stream_bytes), but hands
    /// relayed data to `on_data` without copying it.
    pub fn handle_stream_bytes_with(
        &mut self,
        now: Instant,
        bytes: &[u8],
        on_data: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> Result<(), TurnError> {
        self.feed_stream(now, bytes, Some(on_data))
    }

    fn feed_stream(
        &mut self,
        now: Instant,
        bytes: &[u8],
        mut on_data: Option<DataSink<'_>>,
    ) -> Result<(), TurnError> {
        if self.stream_broken {
            return Err(TurnError::StreamCorrupted);
        }
        let mut sb = std::mem::take(&mut self.stream);
        let result = sb.feed(bytes, |frame| {
            if let Received::Data { peer, data } = self.on_message(now, frame) {
                match on_data.as_mut() {
                    Some(f) => f(peer, data),
                    None => self.emit_data(peer, data),
                }
            }
        });
        self.stream = sb;
        let r = match result {
            Ok(()) => Ok(()),
            Err(_) => {
                self.stream_broken = true;
                match self.phase {
                    Phase::Allocating => self.fail_allocate(TurnError::StreamCorrupted),
                    Phase::Allocated(_) => self.lose_allocation(TurnError::StreamCorrupted),
                    Phase::Closing => self.finish_close(),
                    Phase::Idle | Phase::Closed => {}
                }
                Err(TurnError::StreamCorrupted)
            }
        };
        self.rearm();
        r
    }

    /// Retransmits requests that are due (UDP), gives up on those out of
    /// time, and starts the refreshes that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_timeout.is_none_or(|t| now < t) {
            return;
        }
        self.expire_transactions(now);
        if let Phase::Allocated(a) = &mut self.phase {
            if now >= a.expires_at {
                self.lose_allocation(TurnError::Expired);
            } else if !a.refreshing && now >= a.refresh_at {
                a.refreshing = true;
                let lifetime = self.requested_lifetime();
                if let Err(e) = self.start(now, Kind::Refresh { lifetime }, 0) {
                    self.lose_allocation(e);
                }
            }
        }
        self.refresh_permissions(now);
        self.refresh_channels(now);
        self.rearm();
    }

    // ---- output ---------------------------------------------------------

    /// The next message for the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next (O(1)).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timeout
    }

    // ---- internals ------------------------------------------------------

    fn requested_lifetime(&self) -> u32 {
        u32::try_from(self.config.lifetime.as_secs()).unwrap_or(u32::MAX)
    }

    /// RFC 8489 §6.2.1: Rc transmissions then Rm·RTO over UDP (39.5 s by
    /// default); over TCP the same total as the one timeout.
    fn transaction_timeout(&self) -> Duration {
        let r = &self.config.retransmit;
        (1..=r.max_transmissions).map(|n| r.wait_after(n)).sum()
    }

    fn check_peer(&self, peer: IpAddr) -> Result<(), TurnError> {
        let Phase::Allocated(a) = &self.phase else {
            return Err(TurnError::NotAllocated);
        };
        if a.relayed.iter().any(|r| r.is_ipv4() == peer.is_ipv4()) {
            Ok(())
        } else {
            Err(TurnError::PeerFamilyNotRelayed { peer })
        }
    }

    fn want_permission(&mut self, now: Instant, peer: IpAddr) -> Result<(), TurnError> {
        let (p, send) = self.permissions.want(peer)?;
        if !send {
            return Ok(());
        }
        p.in_flight = true;
        if p.standing != Standing::Installed {
            p.standing = Standing::Pending;
        }
        if let Err(e) = self.start(now, Kind::CreatePermission { peer }, 0) {
            if let Some(p) = self.permissions.get_mut(peer) {
                p.in_flight = false;
                p.standing = Standing::Failed(e.clone());
            }
            return Err(e);
        }
        Ok(())
    }

    fn bound_channel(&self, peer: SocketAddr) -> Option<ChannelNumber> {
        if !matches!(self.phase, Phase::Allocated(_)) {
            return None;
        }
        self.channel_for(peer)
    }

    /// Builds a Send indication for `peer` into `self.scratch`.
    fn encode_send_indication(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), TurnError> {
        self.check_peer(peer.ip())?;
        match self.permissions.get(peer.ip()).map(|p| &p.standing) {
            Some(Standing::Failed(e)) => return Err(e.clone()),
            Some(Standing::Pending | Standing::Installed) => {}
            None | Some(Standing::Released) => self.want_permission(now, peer.ip())?,
        }
        let tid = TransactionId::random(&mut *self.rng);
        let mut b = MessageBuilder::new(
            &mut self.scratch,
            MessageType::new(Class::Indication, method::SEND),
            tid,
        );
        b.add(&Attribute::XorPeerAddress(peer))
            .map_err(encoding_error)?;
        b.add(&Attribute::Data(data))
            .map_err(|_| TurnError::DataTooLong { len: data.len() })?;
        Ok(())
    }

    fn emit_data(&mut self, peer: SocketAddr, data: &[u8]) {
        if self.events.len() >= MAX_EVENTS {
            self.stats.events_dropped += 1;
            return;
        }
        self.events.push_back(TurnEvent::Data {
            peer,
            bytes: data.to_vec(),
        });
    }

    /// Forgets the allocation's transactions, permissions and channels.
    fn reset_allocation(&mut self) {
        self.transactions.clear();
        self.permissions = Permissions::default();
        self.channels = Channels::default();
    }

    fn fail_allocate(&mut self, error: TurnError) {
        debug!(server = %self.config.server, %error, "TURN allocation failed");
        self.reset_allocation();
        self.phase = Phase::Idle;
        self.events.push_back(TurnEvent::AllocationFailed(error));
    }

    fn lose_allocation(&mut self, error: TurnError) {
        debug!(server = %self.config.server, %error, "TURN allocation lost");
        self.reset_allocation();
        self.phase = Phase::Idle;
        self.events.push_back(TurnEvent::AllocationLost(error));
    }

    fn finish_close(&mut self) {
        self.reset_allocation();
        self.phase = Phase::Closed;
        self.events.push_back(TurnEvent::Deallocated);
    }

    /// A transaction ended in `error`. One permission's or channel's failure
    /// leaves the allocation alone, unless the server says it has none (437).
    fn fail(&mut self, kind: Kind, error: TurnError) {
        match kind {
            Kind::Allocate => {
                if matches!(self.phase, Phase::Allocating) {
                    self.fail_allocate(error);
                }
            }
            Kind::Refresh { lifetime: 0 } => {
                if matches!(self.phase, Phase::Closing) {
                    self.finish_close();
                }
            }
            Kind::Refresh { .. } => {
                if matches!(self.phase, Phase::Allocated(_)) {
                    self.lose_allocation(error);
                }
            }
            _ if error == TurnError::AllocationMismatch => {
                if matches!(self.phase, Phase::Allocated(_)) {
                    self.lose_allocation(error);
                }
            }
            Kind::CreatePermission { peer } => {
                let Some(p) = self.permissions.get_mut(peer) else {
                    return;
                };
                p.in_flight = false;
                p.refresh_at = None;
                if p.standing == Standing::Released {
                    self.permissions.list.retain(|p| p.ip != peer);
                    return;
                }
                debug!(%peer, %error, "TURN permission failed");
                p.standing = Standing::Failed(error.clone());
                self.events
                    .push_back(TurnEvent::PermissionFailed { peer, error });
            }
            Kind::ChannelBind { peer, channel } => {
                let Some(c) = self.channels.by_number_mut(channel) else {
                    return;
                };
                c.in_flight = false;
                c.refresh_at = None;
                if c.standing == Standing::Released {
                    return;
                }
                debug!(%peer, %channel, %error, "TURN channel bind failed");
                c.standing = Standing::Failed(error.clone());
                self.events.push_back(TurnEvent::ChannelBindFailed {
                    peer,
                    channel,
                    error,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_interval_is_a_minute_early_or_half() {
        assert_eq!(
            refresh_interval(Duration::from_secs(600)),
            Duration::from_secs(540)
        );
        assert_eq!(
            refresh_interval(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_interval(Duration::from_secs(120)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_interval(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn client_is_small() {
        // Thousands run in one load generator; keep the idle struct compact.
        let size = std::mem::size_of::<TurnClient>();
        assert!(size <= 768, "TurnClient is {size} bytes");
    }
}
