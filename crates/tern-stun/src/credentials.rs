//! Credentials and the keys they yield (RFC 8489 §9).
//!
//! Passwords are used as given: we do not apply OpaqueString/SASLprep
//! (RFC 8265) normalisation. ICE passwords are ASCII `ice-char`s, where it is
//! the identity; a TURN user with a non-ASCII password must pass it already
//! normalised.

use tern_crypto::digest::{md5_parts, sha256_parts};
use tern_crypto::hmac::{HmacSha1Key, HmacSha256Key};

/// PASSWORD-ALGORITHM value for MD5 (RFC 8489 §18.5).
pub const PASSWORD_ALGORITHM_MD5: u16 = 0x0001;
/// PASSWORD-ALGORITHM value for SHA-256 (RFC 8489 §18.5).
pub const PASSWORD_ALGORITHM_SHA256: u16 = 0x0002;

/// The long-term key `MD5(username ":" realm ":" password)` (RFC 8489 §9.2.2).
pub fn long_term_key_md5(username: &str, realm: &str, password: &str) -> [u8; 16] {
    md5_parts(&[
        username.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ])
}

/// The long-term key `SHA-256(username ":" realm ":" password)` (RFC 8489 §9.2.2).
pub fn long_term_key_sha256(username: &str, realm: &str, password: &str) -> [u8; 32] {
    sha256_parts(&[
        username.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ])
}

/// USERHASH: `SHA-256(username ":" realm)` (RFC 8489 §14.4).
pub fn userhash(username: &str, realm: &str) -> [u8; 32] {
    sha256_parts(&[username.as_bytes(), b":", realm.as_bytes()])
}

/// A prepared key for MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256. Build
/// it once per credential and reuse it: HMAC-SHA1 signing and checking then
/// allocate nothing. The HMAC-SHA256 context (over 1 KiB) is derived only
/// when MESSAGE-INTEGRITY-SHA256 is used, which ICE never does, so an agent
/// holding several keys stays small.
#[derive(Clone, Debug)]
pub struct IntegrityKey {
    key: Box<[u8]>,
    sha1: HmacSha1Key,
}

impl IntegrityKey {
    /// A key from raw key bytes.
    pub fn from_key(key: &[u8]) -> Self {
        IntegrityKey {
            key: key.into(),
            sha1: HmacSha1Key::new(key),
        }
    }
    /// Short-term credentials (ICE): the key is the password (RFC 8489 §9.1.1).
    pub fn short_term(password: &str) -> Self {
        Self::from_key(password.as_bytes())
    }
    /// Long-term credentials with the MD5 key (the default, and what RFC 5389 knew).
    pub fn long_term_md5(username: &str, realm: &str, password: &str) -> Self {
        Self::from_key(&long_term_key_md5(username, realm, password))
    }
    /// Long-term credentials with the SHA-256 key (PASSWORD-ALGORITHM 0x0002).
    pub fn long_term_sha256(username: &str, realm: &str, password: &str) -> Self {
        Self::from_key(&long_term_key_sha256(username, realm, password))
    }
    pub(crate) fn sha1(&self) -> &HmacSha1Key {
        &self.sha1
    }
    pub(crate) fn sha256(&self) -> HmacSha256Key {
        HmacSha256Key::new(&self.key)
    }
}
