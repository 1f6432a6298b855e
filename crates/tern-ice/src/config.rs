//! Agent configuration and credentials.

use std::net::SocketAddr;
use std::time::Duration;

use tern_crypto::Random;
use tern_stun::Retransmit;

/// Tunables of an [`IceAgent`](crate::IceAgent). The defaults follow the RFCs
/// unless noted.
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// Act as an ICE-lite agent (RFC 8445 §2.5): host candidates only, always
    /// controlled, answers checks but sends none.
    pub lite: bool,
    /// Start as the controlling agent (the offerer, usually).
    pub controlling: bool,
    /// Ta: pacing between new checks (RFC 8445 §14.2; 50 ms).
    pub ta: Duration,
    /// Retransmissions of connectivity checks (RFC 8445 §14.3: RTO ≥ 500 ms).
    pub check_retransmit: Retransmit,
    /// STUN servers to learn server-reflexive candidates from.
    pub stun_servers: Vec<SocketAddr>,
    /// Retransmissions of STUN Binding requests while gathering.
    pub gather_retransmit: Retransmit,
    /// TURN servers to allocate relayed candidates on: one allocation per
    /// server per host address of the same family (as libwebrtc and Pion do).
    pub turn_servers: Vec<TurnServerConfig>,
    /// How long gathering waits for a TURN allocation (the 401 round trip
    /// included) before counting it as failed; a failed allocation is never
    /// fatal, gathering just completes without its candidate.
    pub turn_allocation_timeout: Duration,
    /// Bind a TURN channel (RFC 8656 §12) for a selected relayed pair, so its
    /// datagrams carry a 4-byte ChannelData header instead of a 36-byte Send
    /// indication. The caller must then offer datagrams whose first byte is
    /// 64–79 (RFC 7983 §7) to [`IceAgent::handle_datagram`](crate::IceAgent::handle_datagram).
    pub turn_channels: bool,
    /// W3C `iceTransportPolicy: "relay"`: only relayed candidates are
    /// signalled and checked (host addresses stay private; they are only
    /// the bases of the TURN allocations). Without a TURN server nothing is
    /// gathered and the connection cannot succeed.
    pub relay_only: bool,
    /// How long the controlling agent waits after the first valid pair for a
    /// better one before nominating (regular nomination, RFC 8445 §8.1.1).
    pub nomination_delay: Duration,
    /// The same wait when the first valid pair is relayed at either end:
    /// longer, so that a direct path still being checked can win.
    pub relay_nomination_delay: Duration,
    /// Interval of consent-freshness checks on the selected pair, randomised
    /// ±20 % (RFC 7675 §5.1 suggests 5 s; we check more often, as browsers
    /// do, so a dead path is noticed sooner).
    pub consent_interval: Duration,
    /// No consent response for this long: `disconnected`.
    pub disconnected_after: Duration,
    /// No consent response for this long: consent expired, `failed` (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// Largest check list (RFC 8445 §6.1.2.5 suggests 100).
    pub max_pairs: usize,
    /// Most remote candidates accepted (signalled and peer-reflexive).
    pub max_remote_candidates: usize,
    /// SOFTWARE attribute in gathering requests.
    pub software: Option<String>,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            lite: false,
            controlling: false,
            ta: Duration::from_millis(50),
            check_retransmit: Retransmit {
                initial_rto: Duration::from_millis(500),
                max_rto: Duration::from_secs(3),
                max_transmissions: 7,
                final_wait_factor: 16,
            },
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            turn_allocation_timeout: Duration::from_secs(5),
            turn_channels: true,
            relay_only: false,
            // RFC 8489 §6.2.1 (Rc = 7, Rm = 16), RTO capped at 3 s: a dead
            // server ends gathering after about 20 s.
            gather_retransmit: Retransmit {
                initial_rto: Duration::from_millis(500),
                max_rto: Duration::from_secs(3),
                max_transmissions: 7,
                final_wait_factor: 16,
            },
            nomination_delay: Duration::from_millis(100),
            relay_nomination_delay: Duration::from_secs(1),
            consent_interval: Duration::from_secs(2),
            disconnected_after: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            max_pairs: 100,
            max_remote_candidates: 100,
            software: None,
        }
    }
}

/// A TURN server to gather relayed candidates from (RFC 8445 §5.1.1.2).
///
/// The agent reaches it over UDP from each host address; the allocation
/// relays UDP (RFC 8656). Left out for now: TCP and TLS to the server
/// (`turn:…?transport=tcp`, `turns:`), TCP allocations (RFC 6062), and
/// dual-stack allocations (an IPv4 host address gets an IPv4 relayed address,
/// an IPv6 one an IPv6 relayed address from an IPv6 server).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnServerConfig {
    /// The server's UDP transport address, already resolved.
    pub server: SocketAddr,
    /// Long-term credential username (RFC 8489 §9.2), e.g. a REST username.
    pub username: String,
    /// Long-term credential password (the W3C `credential`).
    pub credential: String,
}

impl TurnServerConfig {
    /// A TURN server reached over UDP at `server`.
    pub fn udp(server: SocketAddr, username: &str, credential: &str) -> Self {
        TurnServerConfig {
            server,
            username: username.to_owned(),
            credential: credential.to_owned(),
        }
    }
}

impl std::fmt::Debug for TurnServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServerConfig")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// ICE credentials (RFC 8445 §5.3): ufrag and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username fragment.
    pub ufrag: String,
    /// Password.
    pub pwd: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ..)", self.ufrag)
    }
}

const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Credentials {
    /// Fresh random credentials: an 8-character ufrag (≥ 24 bits of
    /// randomness) and a 24-character password (≥ 128 bits), from `ice-char`s.
    pub fn random(rng: &mut dyn Random) -> Self {
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| ICE_CHARS[rng.below(ICE_CHARS.len() as u64) as usize] as char)
                .collect()
        };
        let ufrag = pick(8);
        let pwd = pick(24);
        Credentials { ufrag, pwd }
    }

    /// Checks the RFC 8839 §5.4 syntax: ufrag 4–256 and pwd 22–256 `ice-char`s.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |s: &str| s.bytes().all(|b| ICE_CHARS.contains(&b));
        if !(4..=256).contains(&self.ufrag.len()) || !ok(&self.ufrag) {
            return Err(format!(
                "ice-ufrag {:?} must be 4 to 256 ice-chars",
                self.ufrag
            ));
        }
        if !(22..=256).contains(&self.pwd.len()) || !ok(&self.pwd) {
            return Err("ice-pwd must be 22 to 256 ice-chars".into());
        }
        Ok(())
    }
}
