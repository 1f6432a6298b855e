//! The single door to cryptographic primitives in tern.
//!
//! Every other crate reaches AES, HMAC, SHA-2, ECDHE, ECDSA, certificates and
//! randomness through this crate; aws-lc-rs does the work underneath. Nothing
//! here reads a clock, and every generator that needs randomness takes a
//! [`Random`] so tests can be made deterministic with [`SeededRandom`].
//!
//! The types are small wrappers with fixed sizes where the protocol fixes them
//! (`[u8; 20]` for HMAC-SHA1, `[u8; 32]` for SHA-256) so the hot paths of the
//! protocol crates never allocate.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aead;
pub mod cert;
pub mod ctr;
pub mod digest;
pub mod ecdh;
pub mod ecdsa;
mod error;
pub mod hmac;
pub mod pake;
pub mod random;

pub use error::CryptoError;
pub use random::{OsRandom, Random, SeededRandom};

/// Compares two byte strings in time that depends only on their lengths,
/// never on where they first differ. Use it for every MAC or token check.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
