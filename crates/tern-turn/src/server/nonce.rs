//! Stateless nonces (RFC 8489 §9.2: the server chooses the nonce; §9.2.4: a
//! stale one is answered 438).
//!
//! A nonce is `expiry (16 hex digits) || HMAC-SHA1(secret, expiry || client IP)[..12]
//! (24 hex digits)`: the server keeps nothing per client before a request
//! authenticates, and a nonce handed to one IP address is worthless from
//! another.

use std::net::IpAddr;

use tern_crypto::constant_time_eq;
use tern_crypto::hmac::HmacSha1Key;

/// Length of a nonce in characters.
pub(crate) const NONCE_LEN: usize = 40;
const TAG_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    Valid,
    /// Expired, forged, or minted for another address: answer 438.
    Stale,
}

#[derive(Debug)]
pub(crate) struct NonceMinter {
    key: HmacSha1Key,
    lifetime_secs: u64,
}

fn ip_bytes(ip: IpAddr) -> [u8; 17] {
    let mut b = [0u8; 17];
    match ip {
        IpAddr::V4(a) => {
            b[0] = 4;
            b[1..5].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            b[0] = 6;
            b[1..].copy_from_slice(&a.octets());
        }
    }
    b
}

fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
}

impl NonceMinter {
    pub(crate) fn new(secret: &[u8], lifetime_secs: u64) -> Self {
        NonceMinter {
            key: HmacSha1Key::new(secret),
            lifetime_secs,
        }
    }

    fn tag(&self, expiry: u64, ip: IpAddr) -> [u8; 20] {
        self.key.sign(&[&expiry.to_be_bytes(), &ip_bytes(ip)])
    }

    /// A nonce for `ip`, valid for the configured lifetime from `now_unix`.
    pub(crate) fn mint(&self, ip: IpAddr, now_unix: u64) -> [u8; NONCE_LEN] {
        let expiry = now_unix.saturating_add(self.lifetime_secs);
        let mut out = [0u8; NONCE_LEN];
        hex_into(&mut out[..16], &expiry.to_be_bytes());
        hex_into(&mut out[16..], &self.tag(expiry, ip)[..TAG_LEN]);
        out
    }

    pub(crate) fn check(&self, nonce: &str, ip: IpAddr, now_unix: u64) -> NonceCheck {
        let b = nonce.as_bytes();
        if b.len() != NONCE_LEN || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return NonceCheck::Stale;
        }
        let Ok(expiry) = u64::from_str_radix(&nonce[..16], 16) else {
            return NonceCheck::Stale;
        };
        let mut want = [0u8; 2 * TAG_LEN];
        hex_into(&mut want, &self.tag(expiry, ip)[..TAG_LEN]);
        if !constant_time_eq(&want, &b[16..]) || expiry < now_unix {
            return NonceCheck::Stale;
        }
        NonceCheck::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_for_its_ip_until_expiry() {
        let m = NonceMinter::new(b"secret", 600);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let n = m.mint(ip, 1000);
        let s = std::str::from_utf8(&n).unwrap();
        assert_eq!(m.check(s, ip, 1000), NonceCheck::Valid);
        assert_eq!(m.check(s, ip, 1600), NonceCheck::Valid);
        assert_eq!(m.check(s, ip, 1601), NonceCheck::Stale);
        assert_eq!(m.check(s, other, 1000), NonceCheck::Stale);
        let mut forged = s.to_owned().into_bytes();
        forged[3] = if forged[3] == b'f' { b'e' } else { b'f' };
        assert_eq!(
            m.check(std::str::from_utf8(&forged).unwrap(), ip, 0),
            NonceCheck::Stale
        );
        assert_eq!(m.check("short", ip, 0), NonceCheck::Stale);
        assert_eq!(m.check(&"Z".repeat(NONCE_LEN), ip, 0), NonceCheck::Stale);
        let other_key = NonceMinter::new(b"other", 600);
        assert_eq!(other_key.check(s, ip, 1000), NonceCheck::Stale);
    }
}
