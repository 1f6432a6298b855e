//! SRTP and SRTCP (RFC 3711) with the AES-CM/HMAC-SHA1 and AES-GCM
//! (RFC 7714) transforms, keyed from the DTLS-SRTP exporter (RFC 5764), for
//! WebRTC media. Sans-IO: packets go in and out of caller buffers, protected
//! and unprotected in place.
//!
//! # Use
//!
//! 1. After the DTLS handshake negotiated a [`ProtectionProfile`] through
//!    `use_srtp`, export [`ProtectionProfile::keying_material_len`] bytes
//!    with label [`EXPORTER_LABEL`] and no context.
//! 2. [`SrtpKeys::from_exporter`] splits them by our [`DtlsRole`] into the
//!    local (outbound) and remote (inbound) master keys.
//! 3. [`SrtpKeys::contexts`] derives the session keys (RFC 3711 §4.3) and
//!    returns a [`Protector`] for what we send and an [`Unprotector`] for what
//!    we receive.
//! 4. `protect_rtp(buf, len)` / `protect_rtcp(buf, len)` rewrite
//!    `buf[..len]` in place and append the tag (and the SRTCP index), so
//!    leave [`ProtectionProfile::rtp_overhead`] /
//!    [`ProtectionProfile::rtcp_overhead`] bytes of room after the packet.
//!    `unprotect_rtp(packet)` / `unprotect_rtcp(packet)` verify, replay-check
//!    and decrypt in place and return the plaintext length.
//!
//! ```
//! use tern_srtp::{DtlsRole, ProtectionProfile, SrtpConfig, SrtpError, SrtpKeys, EXPORTER_LABEL};
//!
//! # fn main() -> Result<(), SrtpError> {
//! let profile = ProtectionProfile::AeadAes128Gcm;
//! // Both peers get the same bytes from their DTLS exporter
//! // (label EXPORTER_LABEL, profile.keying_material_len() bytes).
//! # let _ = EXPORTER_LABEL;
//! let exported = [0x42u8; 56];
//! let client = SrtpKeys::from_exporter(profile, &exported, DtlsRole::Client)?;
//! let server = SrtpKeys::from_exporter(profile, &exported, DtlsRole::Server)?;
//! let (mut client_tx, _client_rx) = client.contexts(SrtpConfig::default())?;
//! let (_server_tx, mut server_rx) = server.contexts(SrtpConfig::default())?;
//!
//! // An RTP packet: V=2, PT 111, seq 1, timestamp 0, SSRC 0x01020304, payload.
//! let mut buf = [0u8; 1500];
//! buf[..12].copy_from_slice(&[0x80, 111, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
//! buf[12..17].copy_from_slice(b"hello");
//! let n = client_tx.protect_rtp(&mut buf, 17)?;
//! assert_eq!(n, 17 + profile.rtp_overhead());
//! assert_ne!(&buf[12..17], b"hello");
//! let mut duplicate = buf; // as if the network delivered the datagram twice
//!
//! let m = server_rx.unprotect_rtp(&mut buf[..n])?;
//! assert_eq!(&buf[12..m], b"hello");
//! assert!(matches!(
//!     server_rx.unprotect_rtp(&mut duplicate[..n]),
//!     Err(SrtpError::Replay { .. })
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - ROC and packet index are estimated per SSRC (RFC 3711 §3.3.1,
//!   Appendix A), so streams survive the 65535 → 0 wrap with reordering
//!   either side of it. Receive state moves only once a packet has
//!   authenticated. As in libsrtp, a receiver takes the first packet of an
//!   SSRC to be of ROC 0, so a stream must reach the receiver before its
//!   first wrap (libwebrtc starts sequence numbers below 2^15 for this).
//! - Replay protection per SSRC, SRTP and SRTCP separately, with a window of
//!   [`SrtpConfig::replay_window`] packets (RFC 3711 §3.3.2).
//! - Per-SSRC state is created by the first packet that authenticates and is
//!   bounded by [`SrtpConfig::max_streams`]; a new SSRC past the bound is an
//!   error ([`SrtpError::TooManyStreams`]), never an eviction, so no replay
//!   list is forgotten behind the caller's back.
//! - SRTCP packets with the E flag clear (authenticated, not encrypted,
//!   RFC 3711 §3.4, RFC 7714 §9.3) are accepted; we always send E = 1.
//! - Tags are compared in constant time. Malformed packets are errors, never
//!   panics. After a stream's first packet, nothing allocates.
//! - Not implemented: MKI, key_derivation_rate other than 0, the NULL cipher,
//!   AES-256-CM profiles, RFC 6904 header extension encryption, cryptex
//!   (RFC 9335), and the packet-count key lifetime (only index exhaustion
//!   is enforced).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod context;
mod error;
mod header;
mod kdf;
mod keying;
mod profile;
mod replay;
mod transform;
#[cfg(test)]
mod vectors;

pub use context::{ProtectStats, Protector, SrtpConfig, UnprotectStats, Unprotector};
pub use error::SrtpError;
pub use header::{is_rtcp, RtcpHeader, RtpHeader, RTCP_HEADER_LEN, RTP_FIXED_HEADER_LEN};
pub use kdf::{derive_session_key, KdfLabel};
pub use keying::{DtlsRole, MasterKey, SrtpKeys, EXPORTER_LABEL};
pub use profile::ProtectionProfile;
pub use replay::{MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
