//! HMAC-SHA1 (STUN MESSAGE-INTEGRITY, SRTP auth) and HMAC-SHA256
//! (STUN MESSAGE-INTEGRITY-SHA256, TLS PRF, cookies).
//!
//! Keys are prepared once ([`HmacSha1Key::new`]) and reused for every message,
//! so signing allocates nothing.

use aws_lc_rs::hmac as h;

use crate::constant_time_eq;

/// A prepared HMAC-SHA1 key.
#[derive(Clone)]
pub struct HmacSha1Key(h::Key);

impl HmacSha1Key {
    /// Prepares `key` (any length).
    pub fn new(key: &[u8]) -> Self {
        HmacSha1Key(h::Key::new(h::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key))
    }
    /// HMAC over `parts`, as if concatenated.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut ctx = h::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        let mut out = [0u8; 20];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
    /// Checks `tag` (which may be truncated, as SRTP's 80-bit tag is) in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let full = self.sign(parts);
        !tag.is_empty() && tag.len() <= full.len() && constant_time_eq(&full[..tag.len()], tag)
    }
}

impl std::fmt::Debug for HmacSha1Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha1Key(..)")
    }
}

/// A prepared HMAC-SHA256 key.
#[derive(Clone)]
pub struct HmacSha256Key(h::Key);

impl HmacSha256Key {
    /// Prepares `key` (any length).
    pub fn new(key: &[u8]) -> Self {
        HmacSha256Key(h::Key::new(h::HMAC_SHA256, key))
    }
    /// HMAC over `parts`, as if concatenated.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = h::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
    /// Checks `tag`, which may be truncated to no fewer than 16 bytes
    /// (RFC 8489 §14.6 allows MESSAGE-INTEGRITY-SHA256 truncation to 16), in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let full = self.sign(parts);
        tag.len() >= 16 && tag.len() <= full.len() && constant_time_eq(&full[..tag.len()], tag)
    }
}

impl std::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256Key(..)")
    }
}

/// Which hash an [`HmacKey`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HmacAlgorithm {
    /// HMAC-SHA256 (32-byte tags).
    Sha256,
    /// HMAC-SHA384 (48-byte tags).
    Sha384,
}

impl HmacAlgorithm {
    /// Tag length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HmacAlgorithm::Sha256 => 32,
            HmacAlgorithm::Sha384 => 48,
        }
    }
}

/// A prepared HMAC key of a hash chosen at run time (the TLS 1.2 PRF's hash
/// depends on the negotiated cipher suite).
#[derive(Clone)]
pub struct HmacKey {
    key: h::Key,
    alg: HmacAlgorithm,
}

impl HmacKey {
    /// Prepares `key` for `alg`.
    pub fn new(alg: HmacAlgorithm, key: &[u8]) -> Self {
        let a = match alg {
            HmacAlgorithm::Sha256 => h::HMAC_SHA256,
            HmacAlgorithm::Sha384 => h::HMAC_SHA384,
        };
        HmacKey {
            key: h::Key::new(a, key),
            alg,
        }
    }
    /// HMAC over `parts` into `out` (which must be `output_len` bytes); returns the length written.
    pub fn sign_into(&self, parts: &[&[u8]], out: &mut [u8; 48]) -> usize {
        let mut ctx = h::Context::with_key(&self.key);
        for p in parts {
            ctx.update(p);
        }
        let tag = ctx.sign();
        let n = self.alg.output_len();
        out[..n].copy_from_slice(tag.as_ref());
        n
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKey({:?})", self.alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2202 §3, test cases 1 and 2.
    #[test]
    fn hmac_sha1_rfc2202() {
        let k = HmacSha1Key::new(&[0x0b; 20]);
        assert_eq!(
            hex::encode(k.sign(&[b"Hi There"])),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        let k = HmacSha1Key::new(b"Jefe");
        let tag = k.sign(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(tag), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert!(k.verify(&[b"what do ya want for nothing?"], &tag));
        assert!(k.verify(&[b"what do ya want for nothing?"], &tag[..10]));
        let mut bad = tag;
        bad[19] ^= 1;
        assert!(!k.verify(&[b"what do ya want for nothing?"], &bad));
        assert!(!k.verify(&[b"what do ya want for nothing?"], &[]));
    }

    // RFC 4231 §4.2 and §4.3, test cases 1 and 2.
    #[test]
    fn hmac_sha256_rfc4231() {
        let k = HmacSha256Key::new(&[0x0b; 20]);
        assert_eq!(
            hex::encode(k.sign(&[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        let k = HmacSha256Key::new(b"Jefe");
        let tag = k.sign(&[b"what do ya want for nothing?"]);
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(k.verify(&[b"what do ya want for nothing?"], &tag[..16]));
        assert!(!k.verify(&[b"what do ya want for nothing?"], &tag[..15]));
    }

    // RFC 4231 §4.2, test case 1, SHA-384 column.
    #[test]
    fn hmac_sha384_rfc4231() {
        let k = HmacKey::new(HmacAlgorithm::Sha384, &[0x0b; 20]);
        let mut out = [0u8; 48];
        let n = k.sign_into(&[b"Hi ", b"There"], &mut out);
        assert_eq!(
            hex::encode(&out[..n]),
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"
        );
        let k = HmacKey::new(HmacAlgorithm::Sha256, &[0x0b; 20]);
        let n = k.sign_into(&[b"Hi There"], &mut out);
        assert_eq!(
            &out[..n],
            &HmacSha256Key::new(&[0x0b; 20]).sign(&[b"Hi There"])
        );
    }
}
