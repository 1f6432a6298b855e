//! Hash functions: SHA-256 for fingerprints and STUN long-term keys
//! (RFC 8489 §9.2.2), MD5 only for the legacy long-term key (RFC 5389 §15.4).

use aws_lc_rs::digest as d;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let out = d::digest(&d::SHA256, data);
    let mut r = [0u8; 32];
    r.copy_from_slice(out.as_ref());
    r
}

/// SHA-256 over several pieces, as if concatenated.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = Sha256::new();
    for p in parts {
        ctx.update(p);
    }
    ctx.finish()
}

/// SHA-384 over several pieces, as if concatenated.
pub fn sha384_parts(parts: &[&[u8]]) -> [u8; 48] {
    let mut ctx = d::Context::new(&d::SHA384);
    for p in parts {
        ctx.update(p);
    }
    let mut r = [0u8; 48];
    r.copy_from_slice(ctx.finish().as_ref());
    r
}

/// Incremental SHA-256 (for files and streams).
#[derive(Clone)]
pub struct Sha256(d::Context);

impl Sha256 {
    /// An empty hash state.
    pub fn new() -> Self {
        Sha256(d::Context::new(&d::SHA256))
    }
    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data)
    }
    /// The digest of everything fed so far.
    pub fn finish(self) -> [u8; 32] {
        let out = self.0.finish();
        let mut r = [0u8; 32];
        r.copy_from_slice(out.as_ref());
        r
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

/// MD5 over several pieces. Broken as a hash; present only because the STUN
/// long-term credential key is `MD5(username ":" realm ":" password)`
/// (RFC 8489 §9.2.2). Do not use it for anything else.
pub fn md5_parts(parts: &[&[u8]]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // FIPS 180-2, Appendix B.1 and B.2.
    #[test]
    fn sha256_fips_180_2_vectors() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha256_parts(&[
                b"abcdbcdecdefdefgefghfghighijhijki",
                b"jkljklmklmnlmnomnopnopq"
            ])),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    // FIPS 180-2, Appendix D.1.
    #[test]
    fn sha384_fips_180_2_vector() {
        assert_eq!(
            hex::encode(sha384_parts(&[b"ab", b"c"])),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
    }

    // RFC 1321 §A.5.
    #[test]
    fn md5_rfc1321_vectors() {
        assert_eq!(
            hex::encode(md5_parts(&[b""])),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            hex::encode(md5_parts(&[b"a", b"bc"])),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
