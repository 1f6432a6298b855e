//! Self-signed ECDSA P-256 certificates for DTLS and their SHA-256
//! fingerprints (the `a=fingerprint` of RFC 8122 / RFC 8841).

use std::fmt;
use std::str::FromStr;

use crate::digest::sha256;
use crate::ecdsa::SigningKey;
use crate::{CryptoError, Random};

/// The SHA-256 fingerprint of a DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of `der`.
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(sha256(der))
    }
    /// The hash function name as SDP writes it.
    pub const ALGORITHM: &'static str = "sha-256";
}

impl fmt::Display for Fingerprint {
    /// Upper-case hex pairs separated by colons, as in `a=fingerprint:sha-256 AB:CD:…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = CryptoError;
    /// Parses 32 colon-separated hex pairs, either case (RFC 8122 §5).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        let mut n = 0;
        for part in s.trim().split(':') {
            if n == 32 || part.len() != 2 {
                return Err(CryptoError::Malformed("sha-256 fingerprint"));
            }
            out[n] = u8::from_str_radix(part, 16)
                .map_err(|_| CryptoError::Malformed("sha-256 fingerprint"))?;
            n += 1;
        }
        if n != 32 {
            return Err(CryptoError::Malformed("sha-256 fingerprint"));
        }
        Ok(Fingerprint(out))
    }
}

/// A certificate with its private key, as a DTLS endpoint holds it.
pub struct Certificate {
    der: Vec<u8>,
    key: SigningKey,
    fingerprint: Fingerprint,
}

impl Certificate {
    /// A fresh self-signed ECDSA P-256 certificate, as browsers make one per
    /// peer connection. The serial number comes from `rng`; the validity is
    /// rcgen's wide default, since WebRTC authenticates by fingerprint, not by
    /// dates (so no clock is read here).
    pub fn generate_self_signed(rng: &mut dyn Random) -> Result<Self, CryptoError> {
        let key = SigningKey::generate()?;
        let mut serial = [0u8; 8];
        rng.fill(&mut serial);
        serial[0] &= 0x7f; // a positive INTEGER
        let kp = rcgen::KeyPair::try_from(key.pkcs8_der())
            .map_err(|e| CryptoError::Certificate(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| CryptoError::Certificate(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "WebRTC");
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let cert = params
            .self_signed(&kp)
            .map_err(|e| CryptoError::Certificate(e.to_string()))?;
        Ok(Self::from_parts(cert.der().to_vec(), key))
    }

    /// A certificate and key loaded from PEM. The key may be PKCS#8
    /// (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, as `openssl ecparam -genkey` writes).
    /// The certificate's public key must belong to the private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CryptoError> {
        let cert = pem::parse(cert_pem)
            .map_err(|e| CryptoError::Certificate(format!("certificate PEM: {e}")))?;
        if cert.tag() != "CERTIFICATE" {
            return Err(CryptoError::Certificate(format!(
                "expected a CERTIFICATE block, found {}",
                cert.tag()
            )));
        }
        let key = pem::parse_many(key_pem)
            .map_err(|e| CryptoError::Certificate(format!("key PEM: {e}")))?
            .into_iter()
            .find(|p| p.tag() == "PRIVATE KEY" || p.tag() == "EC PRIVATE KEY")
            .ok_or_else(|| {
                CryptoError::Certificate("no PRIVATE KEY or EC PRIVATE KEY block in key PEM".into())
            })?;
        let key = SigningKey::from_private_key_der(key.contents())?;
        // The uncompressed public point appears verbatim inside the certificate's
        // SubjectPublicKeyInfo; a key that does not match would fail every handshake.
        if !contains(cert.contents(), key.public_key()) {
            return Err(CryptoError::Certificate(
                "the private key does not match the certificate's public key".into(),
            ));
        }
        Ok(Self::from_parts(cert.contents().to_vec(), key))
    }

    fn from_parts(der: Vec<u8>, key: SigningKey) -> Self {
        let fingerprint = Fingerprint::of_der(&der);
        Certificate {
            der,
            key,
            fingerprint,
        }
    }

    /// The certificate in DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// Its signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
    /// SHA-256 of the DER certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }
    /// The private key as PKCS#8 PEM (secret).
    pub fn key_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.key.pkcs8_der().to_vec()))
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.fingerprint)
    }
}

/// The P-256 public key (uncompressed SEC1 point, 65 bytes) inside a DER
/// certificate's SubjectPublicKeyInfo. Any other key type, or a malformed
/// certificate, is an error (never a panic): the input comes from the peer.
pub fn p256_public_key_from_der(cert_der: &[u8]) -> Result<&[u8], CryptoError> {
    const ID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let bad = CryptoError::Malformed("certificate");
    let (cert, _) = der_tlv(cert_der, 0x30).ok_or(bad.clone())?;
    let (mut tbs, _) = der_tlv(cert, 0x30).ok_or(bad.clone())?;
    // Optional [0] version, then serial, signature, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = der_skip(tbs).ok_or(bad.clone())?;
    }
    for _ in 0..5 {
        tbs = der_skip(tbs).ok_or(bad.clone())?;
    }
    let (spki, _) = der_tlv(tbs, 0x30).ok_or(bad.clone())?;
    let (alg, rest) = der_tlv(spki, 0x30).ok_or(bad.clone())?;
    let (oid, params) = der_tlv(alg, 0x06).ok_or(bad.clone())?;
    let (curve, _) = der_tlv(params, 0x06).ok_or(bad.clone())?;
    if oid != ID_EC_PUBLIC_KEY || curve != PRIME256V1 {
        return Err(CryptoError::Malformed(
            "certificate key: only ECDSA P-256 is accepted",
        ));
    }
    let (bits, _) = der_tlv(rest, 0x03).ok_or(bad.clone())?;
    match bits {
        [0, point @ ..] if point.len() == 65 && point[0] == 4 => Ok(point),
        _ => Err(bad),
    }
}

/// Reads one DER TLV with tag `tag`: (value, rest).
fn der_tlv(buf: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *buf.first()? != tag {
        return None;
    }
    let (len, hdr): (usize, usize) = match *buf.get(1)? {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(*buf.get(2)?), 3),
        0x82 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        0x83 => (
            (usize::from(*buf.get(2)?) << 16)
                | (usize::from(*buf.get(3)?) << 8)
                | usize::from(*buf.get(4)?),
            5,
        ),
        _ => return None,
    };
    let value = buf.get(hdr..hdr.checked_add(len)?)?;
    Some((value, &buf[hdr + len..]))
}

/// Skips one DER TLV of any tag.
fn der_skip(buf: &[u8]) -> Option<&[u8]> {
    let tag = *buf.first()?;
    der_tlv(buf, tag).map(|(_, rest)| rest)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecdsa::verify_p256_sha256;
    use crate::SeededRandom;

    #[test]
    fn generated_certificate_round_trips_through_pem() {
        let c = Certificate::generate_self_signed(&mut SeededRandom::new(1)).unwrap();
        assert_eq!(c.fingerprint(), Fingerprint::of_der(c.der()));
        let again = Certificate::from_pem(&c.cert_pem(), &c.key_pem()).unwrap();
        assert_eq!(again.fingerprint(), c.fingerprint());
        let sig = again.signing_key().sign(b"m").unwrap();
        verify_p256_sha256(c.signing_key().public_key(), b"m", &sig).unwrap();
    }

    #[test]
    fn mismatched_key_and_bad_pem_are_clear_errors() {
        let a = Certificate::generate_self_signed(&mut SeededRandom::new(1)).unwrap();
        let b = Certificate::generate_self_signed(&mut SeededRandom::new(2)).unwrap();
        let e = Certificate::from_pem(&a.cert_pem(), &b.key_pem()).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        assert!(Certificate::from_pem("junk", &a.key_pem()).is_err());
        assert!(Certificate::from_pem(&a.key_pem(), &a.key_pem())
            .unwrap_err()
            .to_string()
            .contains("CERTIFICATE"));
    }

    #[test]
    fn public_key_is_found_in_our_and_malformed_certificates_fail() {
        let c = Certificate::generate_self_signed(&mut SeededRandom::new(5)).unwrap();
        assert_eq!(
            p256_public_key_from_der(c.der()).unwrap(),
            c.signing_key().public_key()
        );
        for n in 0..c.der().len() {
            // Truncations never panic.
            let _ = p256_public_key_from_der(&c.der()[..n]);
        }
        let mut mangled = c.der().to_vec();
        let oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // id-ecPublicKey
        let pos = mangled.windows(7).position(|w| w == oid).unwrap();
        mangled[pos + 6] ^= 1; // now some other key type
        assert!(p256_public_key_from_der(&mangled).is_err());
        assert!(p256_public_key_from_der(&[]).is_err());
        assert!(p256_public_key_from_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn fingerprint_text_form() {
        let f = Fingerprint([0xab; 32]);
        let s = f.to_string();
        assert_eq!(s.len(), 32 * 3 - 1);
        assert!(s.starts_with("AB:AB:"));
        assert_eq!(s.parse::<Fingerprint>().unwrap(), f);
        assert_eq!(s.to_lowercase().parse::<Fingerprint>().unwrap(), f);
        assert!("AB:CD".parse::<Fingerprint>().is_err());
        assert!(format!("{s}:AB").parse::<Fingerprint>().is_err());
        assert!(s.replace("AB:AB", "ZZ:AB").parse::<Fingerprint>().is_err());
    }
}
