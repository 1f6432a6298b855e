//! PeerConnection configuration.

use std::net::SocketAddr;
use std::sync::Arc;

use tern_crypto::cert::Certificate;
use tern_crypto::{OsRandom, Random, SeededRandom};
use tern_ice::IceConfig;
use tern_sctp::SctpConfig;

use crate::media::MediaConfig;

/// Where the connection's randomness comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RandomSource {
    /// The operating system's generator (production).
    Os,
    /// A reproducible generator for tests and simulations: every component
    /// gets its own stream derived from this seed. Not for real use.
    Seeded(u64),
}

impl RandomSource {
    /// A generator for component number `n`.
    pub(crate) fn make(self, n: u64) -> Box<dyn Random + Send> {
        match self {
            RandomSource::Os => Box::new(OsRandom),
            RandomSource::Seeded(s) => Box::new(SeededRandom::new(
                s.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(n),
            )),
        }
    }
}

/// How a [`PeerConnection`](crate::PeerConnection) behaves.
#[derive(Clone)]
pub struct PeerConfig {
    /// The local sockets' addresses: one host candidate each. The caller
    /// owns the sockets and passes what arrives on them to
    /// [`handle_receive`](crate::PeerConnection::handle_receive).
    pub host_addresses: Vec<SocketAddr>,
    /// STUN servers (already resolved) for server-reflexive candidates.
    /// Empty by default: no traffic to any server unless asked for.
    pub stun_servers: Vec<SocketAddr>,
    /// The DTLS certificate; a fresh ECDSA P-256 one is made when `None`.
    pub certificate: Option<Arc<Certificate>>,
    /// ICE timings and limits (the role comes from JSEP), and the TURN
    /// servers (already resolved) for relayed candidates:
    /// `ice.turn_servers`, UDP to the server (W3C `iceServers` with
    /// `turn:` URLs). Empty by default.
    pub ice: IceConfig,
    /// SCTP settings; `max_message_size` is what we announce in
    /// `a=max-message-size`.
    pub sctp: SctpConfig,
    /// Codecs and media behaviour.
    pub media: MediaConfig,
    /// Randomness.
    pub random: RandomSource,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            host_addresses: Vec::new(),
            stun_servers: Vec::new(),
            certificate: None,
            ice: IceConfig::default(),
            sctp: SctpConfig::default(),
            media: MediaConfig::default(),
            random: RandomSource::Os,
        }
    }
}

impl std::fmt::Debug for PeerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConfig")
            .field("host_addresses", &self.host_addresses)
            .field("stun_servers", &self.stun_servers)
            .field("turn_servers", &self.ice.turn_servers)
            .field("random", &self.random)
            .finish_non_exhaustive()
    }
}
