//! Client configuration, and the types the client hands out.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tern_stun::{AddressFamily, Retransmit};

use super::error::TurnError;
use crate::channel_data::ChannelNumber;

/// How the client reaches the server (RFC 8656 §3.1). Over TCP and TLS the
/// caller feeds the byte stream to
/// [`handle_stream_bytes`](super::TurnClient::handle_stream_bytes) and writes
/// every [`Transmit`] to the stream in order; TLS is the caller's wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TurnTransport {
    /// Datagrams; requests are retransmitted (RFC 8489 §6.2.1).
    Udp,
    /// A TCP stream, STUN and ChannelData framed per RFC 8656 §12.5.
    Tcp,
    /// TCP with TLS (the bytes the client sees are the plaintext).
    Tls,
}

impl TurnTransport {
    /// Whether the transport is a reliable stream (no retransmissions, 4-byte
    /// padded ChannelData).
    pub fn is_stream(self) -> bool {
        !matches!(self, TurnTransport::Udp)
    }
}

/// Which relayed address families to ask for (RFC 8656 §7.1, RFC 6156).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestedFamily {
    /// One IPv4 relayed address (the default; no attribute is sent).
    Ipv4,
    /// One IPv6 relayed address (REQUESTED-ADDRESS-FAMILY IPv6).
    Ipv6,
    /// An IPv4 and an IPv6 relayed address (ADDITIONAL-ADDRESS-FAMILY IPv6,
    /// RFC 8656 §7.1).
    Both,
}

/// Everything a [`TurnClient`](super::TurnClient) needs to allocate.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TurnClientConfig {
    /// The server's transport address.
    pub server: SocketAddr,
    /// How it is reached.
    pub transport: TurnTransport,
    /// Long-term credential username (RFC 8489 §9.2).
    pub username: String,
    /// Long-term credential password, already OpaqueString-normalised if it is
    /// not ASCII (tern-stun applies no SASLprep).
    pub password: String,
    /// If set, the realm the server must offer; a different one fails with
    /// [`TurnError::RealmMismatch`]. If unset, the server's realm is used.
    pub realm: Option<String>,
    /// Relayed address families to request.
    pub family: RequestedFamily,
    /// Requested allocation lifetime (RFC 8656 §7.2: the server may shorten it).
    pub lifetime: Duration,
    /// SOFTWARE to send in Allocate requests.
    pub software: Option<String>,
    /// Retransmission schedule over UDP; over TCP/TLS its total is the
    /// transaction timeout.
    pub retransmit: Retransmit,
}

impl TurnClientConfig {
    /// UDP, IPv4, the default 10-minute lifetime (RFC 8656 §7.2), no realm
    /// constraint, no SOFTWARE, the RFC 8489 retransmission schedule.
    pub fn new(server: SocketAddr, username: &str, password: &str) -> Self {
        TurnClientConfig {
            server,
            transport: TurnTransport::Udp,
            username: username.to_owned(),
            password: password.to_owned(),
            realm: None,
            family: RequestedFamily::Ipv4,
            lifetime: Duration::from_secs(600),
            software: None,
            retransmit: Retransmit::RFC8489,
        }
    }
}

/// Bytes to send to the TURN server (over TCP/TLS: to append to the stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The server.
    pub to: SocketAddr,
    /// One STUN message or ChannelData message.
    pub bytes: Vec<u8>,
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TurnEvent {
    /// RFC 8656 §7.3: the allocation exists.
    Allocated {
        /// XOR-RELAYED-ADDRESS values (two for a dual-family allocation).
        relayed: Vec<SocketAddr>,
        /// XOR-MAPPED-ADDRESS: our address as the server sees it.
        mapped: SocketAddr,
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// In a dual-family request, one family was refused (ADDRESS-ERROR-CODE,
    /// RFC 8656 §7.3) while the other was allocated.
    FamilyNotAllocated {
        /// The refused family.
        family: AddressFamily,
        /// The server's ERROR-CODE value.
        code: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// The allocation could not be made. [`allocate`](super::TurnClient::allocate)
    /// may be called again.
    AllocationFailed(TurnError),
    /// A working allocation is gone (refresh refused or unanswered, 437,
    /// expiry, broken stream). Everything bound to it is forgotten.
    AllocationLost(TurnError),
    /// A refresh succeeded (RFC 8656 §8).
    Refreshed {
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// A permission for this peer IP is installed (RFC 8656 §9).
    PermissionCreated(IpAddr),
    /// A permission could not be installed or refreshed.
    PermissionFailed {
        /// The peer IP.
        peer: IpAddr,
        /// Why.
        error: TurnError,
    },
    /// A channel is bound and ChannelData will be used for this peer (RFC 8656 §11).
    ChannelBound {
        /// The peer.
        peer: SocketAddr,
        /// The channel.
        channel: ChannelNumber,
    },
    /// A channel could not be bound or refreshed; sends to the peer fall back
    /// to Send indications.
    ChannelBindFailed {
        /// The peer.
        peer: SocketAddr,
        /// The channel number (kept for this peer, never reused for another
        /// before its quarantine ends).
        channel: ChannelNumber,
        /// Why.
        error: TurnError,
    },
    /// Data relayed from a peer (Data indication or ChannelData).
    Data {
        /// The peer's transport address.
        peer: SocketAddr,
        /// The application data.
        bytes: Vec<u8>,
    },
    /// The allocation is released (after [`close`](super::TurnClient::close)).
    Deallocated,
}

/// What a received datagram was, for the zero-copy receive path
/// [`handle_datagram`](super::TurnClient::handle_datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received<'a> {
    /// Relayed application data, borrowed from the datagram.
    Data {
        /// The peer's transport address.
        peer: SocketAddr,
        /// The data.
        data: &'a [u8],
    },
    /// A TURN message for this client, consumed (see the events).
    Handled,
    /// From the server but unusable (malformed, unknown channel, stale): dropped and counted.
    Dropped,
    /// Not from the server, not TURN, or a STUN response to a transaction that
    /// is not ours: the caller can hand it to someone else (ICE, DTLS).
    NotForClient,
}

/// Counters a client keeps (all monotonic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnClientStats {
    /// Requests retransmitted over UDP.
    pub retransmissions: u64,
    /// ChannelData received on a channel we have not bound, dropped.
    pub unknown_channel_dropped: u64,
    /// Malformed STUN or ChannelData from the server, dropped.
    pub malformed_dropped: u64,
    /// Responses discarded because MESSAGE-INTEGRITY was missing or wrong.
    pub integrity_dropped: u64,
    /// Responses that matched no outstanding transaction.
    pub unmatched_responses: u64,
    /// Data events dropped because the event queue was full.
    pub events_dropped: u64,
    /// ChannelData messages sent.
    pub channel_data_sent: u64,
    /// Send indications sent.
    pub send_indications_sent: u64,
    /// Application datagrams received from peers.
    pub data_received: u64,
}
