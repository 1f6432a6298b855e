//! Endpoint configuration.

use std::sync::Arc;
use std::time::Duration;

use tern_crypto::cert::Certificate;
use tern_crypto::ecdh::Group;

use crate::suite::{CipherSuite, SrtpProfile};

/// What a DTLS endpoint offers and how it behaves.
#[derive(Clone)]
pub struct DtlsConfig {
    /// Our certificate and key (ECDSA P-256).
    pub certificate: Arc<Certificate>,
    /// Cipher suites, in preference order.
    pub cipher_suites: Vec<CipherSuite>,
    /// ECDHE groups, in preference order.
    pub groups: Vec<Group>,
    /// SRTP profiles to offer or accept (empty: no use_srtp).
    pub srtp_profiles: Vec<SrtpProfile>,
    /// Largest datagram we send (handshake messages are fragmented to fit).
    pub mtu: usize,
    /// First retransmission timeout (RFC 6347 §4.2.4.1 suggests 1 s; browsers
    /// start far lower, and so do we, so a lost packet costs little).
    pub initial_retransmit: Duration,
    /// Cap on the doubled timeout.
    pub max_retransmit: Duration,
    /// Retransmissions of one flight before the handshake fails.
    pub max_retransmits: u32,
    /// Refuse peers without extended_master_secret (RFC 7627; browsers require it).
    pub require_extended_master_secret: bool,
    /// Server: require a client certificate (WebRTC does).
    pub require_client_certificate: bool,
    /// Largest handshake message accepted.
    pub max_handshake_message: usize,
    /// Server: HelloVerifyRequest cookies (stateless until the client proves its address).
    pub use_cookies: bool,
}

impl DtlsConfig {
    /// Defaults for WebRTC with `certificate`.
    pub fn new(certificate: Arc<Certificate>) -> Self {
        DtlsConfig {
            certificate,
            cipher_suites: CipherSuite::ALL.to_vec(),
            groups: vec![Group::X25519, Group::P256],
            srtp_profiles: SrtpProfile::ALL.to_vec(),
            mtu: 1200,
            initial_retransmit: Duration::from_millis(100),
            max_retransmit: Duration::from_secs(5),
            max_retransmits: 12,
            require_extended_master_secret: true,
            require_client_certificate: true,
            max_handshake_message: 32 * 1024,
            use_cookies: true,
        }
    }
}

impl std::fmt::Debug for DtlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtlsConfig")
            .field("certificate", &self.certificate.fingerprint())
            .field("cipher_suites", &self.cipher_suites)
            .field("srtp_profiles", &self.srtp_profiles)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}
