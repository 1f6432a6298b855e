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
    /// How long the controlling agent waits after the first valid pair for a
    /// better one before nominating (regular nomination, RFC 8445 §8.1.1).
    pub nomination_delay: Duration,
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
            // RFC 8489 §6.2.1 (Rc = 7, Rm = 16), RTO capped at 3 s: a dead
            // server ends gathering after about 20 s.
            gather_retransmit: Retransmit {
                initial_rto: Duration::from_millis(500),
                max_rto: Duration::from_secs(3),
                max_transmissions: 7,
                final_wait_factor: 16,
            },
            nomination_delay: Duration::from_millis(100),
            consent_interval: Duration::from_secs(2),
            disconnected_after: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            max_pairs: 100,
            max_remote_candidates: 100,
            software: None,
        }
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
