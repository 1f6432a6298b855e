//! Authenticated encryption: AES-128-GCM and AES-256-GCM (DTLS records,
//! SRTP AEAD profiles of RFC 7714) and ChaCha20-Poly1305 (DTLS, RFC 7905).
//!
//! Everything works in place on caller buffers with a separate tag, so record
//! protection never allocates.

use aws_lc_rs::aead as a;

use crate::CryptoError;

/// Length of a GCM tag in bytes.
pub const TAG_LEN: usize = 16;
/// Length of a GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;

/// Which AES-GCM key size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            AeadAlgorithm::Aes128Gcm => 16,
            AeadAlgorithm::Aes256Gcm | AeadAlgorithm::ChaCha20Poly1305 => 32,
        }
    }
    fn backend(self) -> &'static a::Algorithm {
        match self {
            AeadAlgorithm::Aes128Gcm => &a::AES_128_GCM,
            AeadAlgorithm::Aes256Gcm => &a::AES_256_GCM,
            AeadAlgorithm::ChaCha20Poly1305 => &a::CHACHA20_POLY1305,
        }
    }
}

/// An AES-GCM key, expanded once.
pub struct AeadKey {
    key: a::LessSafeKey,
    alg: AeadAlgorithm,
}

impl AeadKey {
    /// Expands `key`, which must be [`AeadAlgorithm::key_len`] bytes.
    pub fn new(alg: AeadAlgorithm, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::KeyLength {
                expected: match alg {
                    AeadAlgorithm::Aes128Gcm => "16",
                    AeadAlgorithm::Aes256Gcm | AeadAlgorithm::ChaCha20Poly1305 => "32",
                },
                got: key.len(),
            });
        }
        let unbound = a::UnboundKey::new(alg.backend(), key)
            .map_err(|_| CryptoError::Backend("AES-GCM key"))?;
        Ok(AeadKey {
            key: a::LessSafeKey::new(unbound),
            alg,
        })
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    /// Encrypts `in_out` in place and returns the tag. The caller must never
    /// reuse a nonce under the same key (the record sequence number sees to it).
    pub fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(
                a::Nonce::assume_unique_for_key(nonce),
                a::Aad::from(aad),
                in_out,
            )
            .map_err(|_| CryptoError::Backend("AES-GCM seal"))?;
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag.as_ref());
        Ok(t)
    }

    /// Decrypts `ciphertext_and_tag` in place (the last [`TAG_LEN`] bytes are
    /// the tag) and returns the plaintext length. On a bad tag nothing useful
    /// is left in the buffer and [`CryptoError::Authentication`] is returned.
    pub fn open_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if ciphertext_and_tag.len() < TAG_LEN {
            return Err(CryptoError::Authentication);
        }
        let plain = self
            .key
            .open_in_place(
                a::Nonce::assume_unique_for_key(nonce),
                a::Aad::from(aad),
                ciphertext_and_tag,
            )
            .map_err(|_| CryptoError::Authentication)?;
        Ok(plain.len())
    }
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AeadKey({:?})", self.alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2 and 4
    // (the vectors NIST republished with SP 800-38D).
    #[test]
    fn aes128_gcm_test_cases_2_and_4() {
        let k = AeadKey::new(AeadAlgorithm::Aes128Gcm, &[0u8; 16]).unwrap();
        let mut buf = [0u8; 16];
        let tag = k.seal_in_place([0u8; 12], &[], &mut buf).unwrap();
        assert_eq!(hex::encode(buf), "0388dace60b6a392f328c2b971b2fe78");
        assert_eq!(hex::encode(tag), "ab6e47d42cec13bdf53a67b21257bddf");

        let k = AeadKey::new(
            AeadAlgorithm::Aes128Gcm,
            &h("feffe9928665731c6d6a8f9467308308"),
        )
        .unwrap();
        let nonce: [u8; 12] = h("cafebabefacedbaddecaf888").try_into().unwrap();
        let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let plain = h("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        let mut buf = plain.clone();
        let tag = k.seal_in_place(nonce, &aad, &mut buf).unwrap();
        assert_eq!(
            hex::encode(&buf),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
        );
        assert_eq!(hex::encode(tag), "5bc94fbc3221a5db94fae95ae7121a47");

        let mut sealed = buf.clone();
        sealed.extend_from_slice(&tag);
        let n = k.open_in_place(nonce, &aad, &mut sealed).unwrap();
        assert_eq!(&sealed[..n], &plain[..]);

        let mut tampered = buf;
        tampered.extend_from_slice(&tag);
        tampered[3] ^= 0x80;
        assert_eq!(
            k.open_in_place(nonce, &aad, &mut tampered),
            Err(CryptoError::Authentication)
        );
        assert_eq!(
            k.open_in_place(nonce, &aad, &mut [0u8; 5]),
            Err(CryptoError::Authentication)
        );
    }

    // McGrew & Viega test case 14 (AES-256, zero key, zero block).
    #[test]
    fn aes256_gcm_test_case_14() {
        let k = AeadKey::new(AeadAlgorithm::Aes256Gcm, &[0u8; 32]).unwrap();
        let mut buf = [0u8; 16];
        let tag = k.seal_in_place([0u8; 12], &[], &mut buf).unwrap();
        assert_eq!(hex::encode(buf), "cea7403d4d606b6e074ec5d3baf39d18");
        assert_eq!(hex::encode(tag), "d0d1c8a799996bf0265b98b5d48ab919");
    }

    // RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 example.
    #[test]
    fn chacha20_poly1305_rfc8439_2_8_2() {
        let k = AeadKey::new(
            AeadAlgorithm::ChaCha20Poly1305,
            &h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
        )
        .unwrap();
        let nonce: [u8; 12] = h("070000004041424344454647").try_into().unwrap();
        let aad = h("50515253c0c1c2c3c4c5c6c7");
        let mut buf = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
        let tag = k.seal_in_place(nonce, &aad, &mut buf).unwrap();
        assert_eq!(hex::encode(&buf[..16]), "d31a8d34648e60db7b86afbc53ef7ec2");
        assert_eq!(hex::encode(tag), "1ae10b594f09e26a7e902ecbd0600691");
    }

    #[test]
    fn wrong_key_length_is_a_clear_error() {
        let e = AeadKey::new(AeadAlgorithm::Aes256Gcm, &[0u8; 16]).unwrap_err();
        assert_eq!(
            e,
            CryptoError::KeyLength {
                expected: "32",
                got: 16
            }
        );
        assert_eq!(e.to_string(), "key has 16 bytes; expected 32");
    }
}
