//! A sans-IO DTLS 1.2 (RFC 6347) client and server for WebRTC.
//!
//! ECDHE-ECDSA with AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305; X25519 and
//! P-256; extended_master_secret (RFC 7627, required by default);
//! use_srtp (RFC 5764) with the AEAD-GCM and AES-CM profiles and the RFC 5705
//! exporter for their keys; renegotiation refused (RFC 5746); a stateless
//! HelloVerifyRequest cookie; mutual authentication checked against the
//! signalled certificate fingerprint; handshake fragmentation to the MTU and
//! reassembly; flight retransmission with exponential backoff; a 64-record
//! anti-replay window; alerts.
//!
//! The codec (`codec`) is apart from the handshake logic (`client`,
//! `server`) and from record protection (`keys`), so DTLS 1.3 (RFC 9147) can
//! be added beside 1.2 later. All crypto comes from `tern-crypto`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
pub mod codec;
mod config;
mod endpoint;
mod error;
mod keys;
pub mod reassembly;
pub mod replay;
mod server;
mod suite;

pub use config::DtlsConfig;
pub use endpoint::{Dtls, DtlsEvent, DtlsRole, DtlsStats, MAX_PLAINTEXT};
pub use error::DtlsError;
pub use keys::prf;
pub use suite::{CipherSuite, SrtpProfile, ECDSA_SECP256R1_SHA256};
