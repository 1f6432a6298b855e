//! Ephemeral Diffie-Hellman on X25519 and P-256 (the groups WebRTC's DTLS
//! offers, RFC 8422).

use aws_lc_rs::agreement as ag;

use crate::{CryptoError, Random};

/// A key-exchange group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Group {
    /// Curve25519 (RFC 7748); TLS NamedGroup 29.
    X25519,
    /// NIST P-256 (secp256r1); TLS NamedGroup 23. Public keys are uncompressed points.
    P256,
}

impl Group {
    fn backend(self) -> &'static ag::Algorithm {
        match self {
            Group::X25519 => &ag::X25519,
            Group::P256 => &ag::ECDH_P256,
        }
    }
    /// The TLS NamedGroup code point.
    pub fn tls_id(self) -> u16 {
        match self {
            Group::X25519 => 29,
            Group::P256 => 23,
        }
    }
}

/// One side's private key for a single exchange.
pub struct EcdhPrivateKey {
    key: ag::PrivateKey,
    group: Group,
}

impl EcdhPrivateKey {
    /// Draws a fresh private key from `rng` (so simulations are reproducible).
    pub fn generate(group: Group, rng: &mut dyn Random) -> Result<Self, CryptoError> {
        // A random 32-byte scalar is valid for X25519 (clamped by the backend);
        // for P-256 it must be in [1, n-1], which fails with probability ~2^-32: retry.
        for _ in 0..16 {
            let mut bytes = [0u8; 32];
            rng.fill(&mut bytes);
            if let Ok(k) = Self::from_private_bytes(group, &bytes) {
                return Ok(k);
            }
        }
        Err(CryptoError::Backend("could not draw an ECDH private key"))
    }

    /// A private key from its raw encoding (32 bytes: little-endian for X25519
    /// as RFC 7748 writes it, big-endian scalar for P-256).
    pub fn from_private_bytes(group: Group, bytes: &[u8]) -> Result<Self, CryptoError> {
        let key = ag::PrivateKey::from_private_key(group.backend(), bytes)
            .map_err(|_| CryptoError::Malformed("ECDH private key"))?;
        Ok(EcdhPrivateKey { key, group })
    }

    /// The group of this key.
    pub fn group(&self) -> Group {
        self.group
    }

    /// Our public key as sent on the wire (32 bytes for X25519, 65 for P-256).
    pub fn public_key(&self) -> Result<Vec<u8>, CryptoError> {
        self.key
            .compute_public_key()
            .map(|p| p.as_ref().to_vec())
            .map_err(|_| CryptoError::Backend("ECDH public key"))
    }

    /// The shared secret with `peer_public` (x-coordinate for P-256).
    /// A malformed or off-curve peer key is an error, never a panic.
    pub fn agree(&self, peer_public: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let peer = ag::UnparsedPublicKey::new(self.group.backend(), peer_public);
        ag::agree(
            &self.key,
            peer,
            CryptoError::Malformed("peer ECDH public key"),
            |s| Ok(s.to_vec()),
        )
    }
}

impl std::fmt::Debug for EcdhPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcdhPrivateKey({:?})", self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // RFC 7748 §6.1.
    #[test]
    fn x25519_rfc7748_6_1() {
        let alice = EcdhPrivateKey::from_private_bytes(
            Group::X25519,
            &h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
        )
        .unwrap();
        let bob = EcdhPrivateKey::from_private_bytes(
            Group::X25519,
            &h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
        )
        .unwrap();
        assert_eq!(
            hex::encode(alice.public_key().unwrap()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert_eq!(
            hex::encode(bob.public_key().unwrap()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
        );
        let s1 = alice.agree(&bob.public_key().unwrap()).unwrap();
        let s2 = bob.agree(&alice.public_key().unwrap()).unwrap();
        assert_eq!(s1, s2);
        assert_eq!(
            hex::encode(s1),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        );
    }

    // RFC 5903 §8.1 (256-bit random ECP group).
    #[test]
    fn p256_rfc5903_8_1() {
        let i = EcdhPrivateKey::from_private_bytes(
            Group::P256,
            &h("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"),
        )
        .unwrap();
        let mut gr = h("04");
        gr.extend(h(
            "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
        ));
        gr.extend(h(
            "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        ));
        let pub_i = i.public_key().unwrap();
        assert_eq!(
            hex::encode_upper(&pub_i[1..33]),
            "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
        );
        assert_eq!(
            hex::encode_upper(i.agree(&gr).unwrap()),
            "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"
        );
    }

    #[test]
    fn generated_keys_agree_and_bad_peer_keys_are_errors() {
        let mut rng = SeededRandom::new(3);
        for g in [Group::X25519, Group::P256] {
            let a = EcdhPrivateKey::generate(g, &mut rng).unwrap();
            let b = EcdhPrivateKey::generate(g, &mut rng).unwrap();
            assert_eq!(
                a.agree(&b.public_key().unwrap()).unwrap(),
                b.agree(&a.public_key().unwrap()).unwrap()
            );
        }
        let a = EcdhPrivateKey::generate(Group::P256, &mut rng).unwrap();
        assert!(a.agree(&[4u8; 65]).is_err()); // not on the curve
        assert!(a.agree(&[]).is_err());
        assert!(a.agree(&[0u8; 3]).is_err());
    }
}
