//! AES in counter mode (AES-128/256-CM for SRTP, RFC 3711 §4.1.1).

use aws_lc_rs::cipher as c;

use crate::CryptoError;

/// An AES-CTR key. Encryption and decryption are the same operation.
pub struct AesCtrKey {
    key: c::EncryptingKey,
}

impl AesCtrKey {
    /// A key of 16 (AES-128) or 32 (AES-256) bytes.
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let alg = match key.len() {
            16 => &c::AES_128,
            32 => &c::AES_256,
            n => {
                return Err(CryptoError::KeyLength {
                    expected: "16 or 32",
                    got: n,
                })
            }
        };
        let unbound =
            c::UnboundCipherKey::new(alg, key).map_err(|_| CryptoError::Backend("AES key"))?;
        let key = c::EncryptingKey::ctr(unbound).map_err(|_| CryptoError::Backend("AES-CTR"))?;
        Ok(AesCtrKey { key })
    }

    /// XORs the keystream starting at counter block `iv` into `data`.
    pub fn apply_keystream(&self, iv: [u8; 16], data: &mut [u8]) -> Result<(), CryptoError> {
        self.key
            .less_safe_encrypt(data, c::EncryptionContext::Iv128(iv.into()))
            .map(|_| ())
            .map_err(|_| CryptoError::Backend("AES-CTR apply"))
    }
}

impl std::fmt::Debug for AesCtrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesCtrKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }
    fn iv(s: &str) -> [u8; 16] {
        h(s).try_into().unwrap()
    }

    // NIST SP 800-38A, F.5.1 (CTR-AES128.Encrypt) and F.5.5 (CTR-AES256.Encrypt), blocks 1-2.
    #[test]
    fn sp800_38a_ctr_vectors() {
        let k = AesCtrKey::new(&h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let mut d = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        k.apply_keystream(iv("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), &mut d)
            .unwrap();
        assert_eq!(
            hex::encode(&d),
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        );
        k.apply_keystream(iv("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), &mut d)
            .unwrap();
        assert_eq!(
            hex::encode(&d),
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        );

        let k = AesCtrKey::new(&h(
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        ))
        .unwrap();
        let mut d = h("6bc1bee22e409f96e93d7e117393172a");
        k.apply_keystream(iv("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), &mut d)
            .unwrap();
        assert_eq!(hex::encode(&d), "601ec313775789a5b7a7f504bbf3d228");
    }

    // RFC 3711 Appendix B.2: AES-CM keystream segment for SRTP.
    #[test]
    fn rfc3711_b2_keystream() {
        let k = AesCtrKey::new(&h("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        let mut d = [0u8; 48];
        k.apply_keystream(iv("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), &mut d)
            .unwrap();
        assert_eq!(
            hex::encode_upper(d),
            "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0"
        );
    }

    #[test]
    fn wrong_key_length() {
        assert!(matches!(
            AesCtrKey::new(&[0; 24]),
            Err(CryptoError::KeyLength { got: 24, .. })
        ));
    }
}
