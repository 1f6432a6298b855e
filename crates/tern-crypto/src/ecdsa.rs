//! ECDSA on P-256 with SHA-256: signing ServerKeyExchange/CertificateVerify
//! and checking the peer's (RFC 8422 §5.4; DER-encoded signatures).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, KeyPair};

use crate::CryptoError;

/// A P-256 signing key.
pub struct SigningKey {
    pair: sig::EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl SigningKey {
    /// A fresh key from the system generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let doc = sig::EcdsaKeyPair::generate_pkcs8(
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            &SystemRandom::new(),
        )
        .map_err(|_| CryptoError::Backend("ECDSA key generation"))?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// A key from its PKCS#8 DER encoding.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pair = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|_| CryptoError::Malformed("PKCS#8 P-256 private key"))?;
        Ok(SigningKey {
            pair,
            pkcs8: der.to_vec(),
        })
    }

    /// A key from DER: PKCS#8 or the SEC1 `EC PRIVATE KEY` form OpenSSL writes
    /// (RFC 5915).
    pub fn from_private_key_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pair =
            sig::EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der)
                .map_err(|_| CryptoError::Malformed("P-256 private key"))?;
        let pkcs8 = pair
            .to_pkcs8v1()
            .map_err(|_| CryptoError::Backend("PKCS#8 encoding"))?
            .as_ref()
            .to_vec();
        Ok(SigningKey { pair, pkcs8 })
    }

    /// The PKCS#8 DER encoding of this key (secret: handle with care).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as an uncompressed SEC1 point (65 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// A DER-encoded ECDSA signature of SHA-256(`msg`).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Backend("ECDSA sign"))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(P-256, ..)")
    }
}

/// Checks a DER-encoded ECDSA P-256/SHA-256 signature of `msg` by the
/// uncompressed SEC1 `public_key`.
pub fn verify_p256_sha256(
    public_key: &[u8],
    msg: &[u8],
    der_sig: &[u8],
) -> Result<(), CryptoError> {
    sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, public_key)
        .verify(msg, der_sig)
        .map_err(|_| CryptoError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // RFC 6979 Appendix A.2.5: P-256, SHA-256, message "sample".
    #[test]
    fn verify_rfc6979_a_2_5() {
        let mut public = h("04");
        public.extend(h(
            "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
        ));
        public.extend(h(
            "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
        ));
        let r = h("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716");
        let s = h("F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
        // DER: SEQUENCE { INTEGER r, INTEGER s }, each with a 0x00 pad (high bit set).
        let mut der = vec![0x30, 0x46, 0x02, 0x21, 0x00];
        der.extend(&r);
        der.extend([0x02, 0x21, 0x00]);
        der.extend(&s);
        verify_p256_sha256(&public, b"sample", &der).unwrap();
        assert_eq!(
            verify_p256_sha256(&public, b"samplf", &der),
            Err(CryptoError::Authentication)
        );
        assert!(verify_p256_sha256(&public, b"sample", &der[..20]).is_err());
        assert!(verify_p256_sha256(&[1, 2, 3], b"sample", &der).is_err());
    }

    #[test]
    fn sign_then_verify_and_reload() {
        let k = SigningKey::generate().unwrap();
        let sig = k.sign(b"hello").unwrap();
        verify_p256_sha256(k.public_key(), b"hello", &sig).unwrap();
        let again = SigningKey::from_pkcs8_der(k.pkcs8_der()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
        assert!(SigningKey::from_pkcs8_der(b"not a key").is_err());
    }
}
