use std::fmt;

use tern_crypto::CryptoError;

use crate::ProtectionProfile;

/// Why a packet could not be protected or unprotected, or why a context could
/// not be built.
///
/// Unprotect errors say what was wrong with the packet; none of them carries
/// key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrtpError {
    /// The packet is shorter than its own header, or than header plus
    /// trailer (SRTCP index, tag), says it must be.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// The packet is not RTP or RTCP version 2.
    BadVersion {
        /// The version field found.
        version: u8,
    },
    /// The caller's buffer cannot hold the protected packet (`len` plus the
    /// SRTCP index and tag), or `len` is larger than the buffer.
    BufferTooSmall {
        /// Bytes the protected packet needs.
        need: usize,
        /// Bytes in the buffer.
        got: usize,
    },
    /// The authentication tag (HMAC-SHA1 or the GCM tag) did not verify:
    /// forged, corrupted, or keyed for another session.
    Authentication {
        /// SSRC claimed by the packet.
        ssrc: u32,
    },
    /// RFC 3711 §3.3.2: this packet index was already received.
    Replay {
        /// SSRC of the stream.
        ssrc: u32,
        /// The packet index (48-bit SRTP index or 31-bit SRTCP index).
        index: u64,
    },
    /// RFC 3711 §3.3.2: the index lies behind the replay window (or before
    /// the first packet of the stream), so it cannot be checked for replay.
    TooOld {
        /// SSRC of the stream.
        ssrc: u32,
        /// The packet index.
        index: u64,
    },
    /// The context already tracks its configured maximum number of SSRCs;
    /// remove one ([`crate::Unprotector::remove_ssrc`]) or raise
    /// [`crate::SrtpConfig::max_streams`].
    TooManyStreams {
        /// The configured maximum.
        max: usize,
    },
    /// RFC 3711 §3.3.1 / §3.4: the index space of this SSRC under this key is
    /// used up (ROC past 2^32 - 1, or SRTCP index past 2^31 - 1); re-key.
    IndexExhausted {
        /// SSRC of the stream.
        ssrc: u32,
    },
    /// DTLS exporter output of the wrong length for the profile
    /// (RFC 5764 §4.2).
    KeyingMaterialLength {
        /// The negotiated profile.
        profile: ProtectionProfile,
        /// Bytes the profile needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A master key or salt of the wrong length for the profile.
    MasterKeyLength {
        /// The profile.
        profile: ProtectionProfile,
        /// Key bytes given.
        key: usize,
        /// Salt bytes given.
        salt: usize,
    },
    /// A configuration value out of range; the text says which.
    Config(&'static str),
    /// The crypto backend refused an operation that cannot fail on valid
    /// input (a key of the right length, a buffer in range).
    Crypto(CryptoError),
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrtpError::Truncated { what, need, got } => {
                write!(f, "{what} truncated: need {need} bytes, have {got}")
            }
            SrtpError::BadVersion { version } => {
                write!(f, "RTP/RTCP version {version}, expected 2")
            }
            SrtpError::BufferTooSmall { need, got } => write!(
                f,
                "buffer of {got} bytes cannot hold the {need}-byte protected packet"
            ),
            SrtpError::Authentication { ssrc } => {
                write!(f, "SRTP authentication failed for SSRC 0x{ssrc:08x}")
            }
            SrtpError::Replay { ssrc, index } => {
                write!(f, "replayed packet index {index} for SSRC 0x{ssrc:08x}")
            }
            SrtpError::TooOld { ssrc, index } => write!(
                f,
                "packet index {index} for SSRC 0x{ssrc:08x} is behind the replay window"
            ),
            SrtpError::TooManyStreams { max } => write!(
                f,
                "SRTP context already tracks {max} SSRCs; remove one or raise max_streams"
            ),
            SrtpError::IndexExhausted { ssrc } => write!(
                f,
                "SRTP index space of SSRC 0x{ssrc:08x} is exhausted; re-key the session"
            ),
            SrtpError::KeyingMaterialLength {
                profile,
                expected,
                got,
            } => write!(
                f,
                "{profile} needs {expected} bytes of DTLS-SRTP keying material, got {got}"
            ),
            SrtpError::MasterKeyLength { profile, key, salt } => write!(
                f,
                "{profile} needs a {}-byte master key and {}-byte salt, got {key} and {salt}",
                profile.master_key_len(),
                profile.master_salt_len()
            ),
            SrtpError::Config(why) => write!(f, "SRTP configuration: {why}"),
            SrtpError::Crypto(e) => write!(f, "SRTP crypto: {e}"),
        }
    }
}

impl std::error::Error for SrtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SrtpError::Crypto(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CryptoError> for SrtpError {
    fn from(e: CryptoError) -> Self {
        SrtpError::Crypto(e)
    }
}
