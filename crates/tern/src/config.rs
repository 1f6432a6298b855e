//! Configuration of an async [`PeerConnection`](crate::PeerConnection)
//! (W3C `RTCConfiguration`, plus what a program needs besides).

use std::net::IpAddr;
use std::sync::Arc;

use tern_crypto::cert::Certificate;
use tern_peer::{MediaConfig, RandomSource};
use tern_sctp::SctpConfig;

/// A STUN (or, later, TURN) server (W3C `RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    /// `stun:host[:port]` and `turn:host[:port][?transport=udp]` URLs (port
    /// 3478 when omitted).
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

/// W3C `RTCIceTransportPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IceTransportPolicy {
    /// Every candidate (host, server-reflexive, relayed).
    #[default]
    All,
    /// Only relayed candidates: the peer never learns our addresses.
    Relay,
}

/// How a connection is set up.
#[derive(Clone)]
pub struct RtcConfiguration {
    /// STUN and TURN servers (server-reflexive and relayed candidates). None by default: a
    /// connection talks to no server unless told to.
    pub ice_servers: Vec<IceServer>,
    /// Gather host candidates only on these addresses (one socket each).
    /// `None`: every up interface, loopback only when there is nothing else.
    pub bind_addresses: Option<Vec<IpAddr>>,
    /// The DTLS certificate (a fresh one per connection when `None`).
    pub certificate: Option<Arc<Certificate>>,
    /// SCTP settings (receive window, our max message size, …).
    pub sctp: SctpConfig,
    /// `DataChannel::send` waits while the channel's buffered amount is
    /// above this many bytes.
    pub send_high_water: usize,
    /// Randomness (seeded only for tests).
    pub random: RandomSource,
    /// Codecs and media behaviour.
    pub media: MediaConfig,
    /// W3C `iceTransportPolicy`: `Relay` uses only TURN relayed candidates.
    pub ice_transport_policy: IceTransportPolicy,
}

impl Default for RtcConfiguration {
    fn default() -> Self {
        RtcConfiguration {
            ice_servers: Vec::new(),
            bind_addresses: None,
            certificate: None,
            sctp: SctpConfig::default(),
            send_high_water: 4 << 20,
            random: RandomSource::Os,
            media: MediaConfig::default(),
            ice_transport_policy: IceTransportPolicy::All,
        }
    }
}

impl std::fmt::Debug for RtcConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcConfiguration")
            .field("ice_servers", &self.ice_servers)
            .field("bind_addresses", &self.bind_addresses)
            .field("send_high_water", &self.send_high_water)
            .finish_non_exhaustive()
    }
}
