//! The long-term credential state a client learns from a 401 or 438
//! (RFC 8489 §9.2): realm, nonce, password algorithm, and the key.

use tern_stun::{
    attr_type, userhash, Attribute, Integrity, IntegrityKey, Message, MessageBuilder,
    PasswordAlgorithm, StunError, PASSWORD_ALGORITHM_MD5, PASSWORD_ALGORITHM_SHA256,
};

use super::error::TurnError;

/// RFC 8489 §9.2: "obMatJos2" then 4 base64 characters of security features.
const NONCE_COOKIE: &str = "obMatJos2";

/// The STUN Security Features of a nonce that starts with the nonce cookie
/// (RFC 8489 §9.2, §18.1). Bits are numbered from the least significant bit
/// of the last byte, as erratum 6290 corrects the RFC's prose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SecurityFeatures {
    /// Bit 0: the server negotiates PASSWORD-ALGORITHMS.
    pub password_algorithms: bool,
    /// Bit 1: the server wants USERHASH instead of USERNAME.
    pub username_anonymity: bool,
}

fn base64_value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// The security features of `nonce`, if it carries the nonce cookie.
pub(crate) fn security_features(nonce: &str) -> Option<SecurityFeatures> {
    let rest = nonce.as_bytes().strip_prefix(NONCE_COOKIE.as_bytes())?;
    let chars = rest.get(..4)?;
    let mut bits = 0u32;
    for &c in chars {
        bits = (bits << 6) | base64_value(c)?;
    }
    Some(SecurityFeatures {
        password_algorithms: bits & 1 != 0,
        username_anonymity: bits & 2 != 0,
    })
}

/// Credentials for subsequent requests (RFC 8489 §9.2.3.2).
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub realm: String,
    pub nonce: String,
    key: IntegrityKey,
    /// Which integrity attribute requests carry and responses must carry:
    /// SHA-256 only once the server negotiated PASSWORD-ALGORITHMS (§9.2.5).
    integrity: Integrity,
    /// PASSWORD-ALGORITHMS as the server sent it, echoed verbatim.
    algorithms: Option<Vec<u8>>,
    algorithm: u16,
    userhash: Option<[u8; 32]>,
}

impl Credentials {
    /// Credentials from a 401 or 438 `challenge` (RFC 8489 §9.2.5). A 438 may
    /// omit REALM; the previous realm is kept then.
    pub fn from_challenge(
        challenge: &Message<'_>,
        username: &str,
        password: &str,
        configured_realm: Option<&str>,
        previous: Option<&Credentials>,
    ) -> Result<Credentials, TurnError> {
        let nonce = match challenge.get(attr_type::NONCE) {
            Some(Ok(Attribute::Nonce(n))) => n,
            _ => {
                return Err(TurnError::MalformedResponse {
                    what: "401/438 without a valid NONCE",
                })
            }
        };
        let realm = match challenge.get(attr_type::REALM) {
            Some(Ok(Attribute::Realm(r))) => r,
            None if previous.is_some() => previous.map_or("", |p| p.realm.as_str()),
            _ => {
                return Err(TurnError::MalformedResponse {
                    what: "401 without a valid REALM",
                })
            }
        };
        if let Some(expected) = configured_realm {
            if expected != realm {
                return Err(TurnError::RealmMismatch {
                    expected: expected.to_owned(),
                    offered: realm.to_owned(),
                });
            }
        }
        let features = security_features(nonce).unwrap_or_default();
        let algorithms = match challenge.get(attr_type::PASSWORD_ALGORITHMS) {
            Some(Ok(a @ Attribute::PasswordAlgorithms(_))) => Some(a),
            Some(_) => {
                return Err(TurnError::MalformedResponse {
                    what: "invalid PASSWORD-ALGORITHMS",
                })
            }
            None if features.password_algorithms => return Err(TurnError::BidDownDetected),
            None => None,
        };
        let (integrity, algorithm, raw_algorithms) = match &algorithms {
            Some(list) => {
                let chosen = list
                    .password_algorithms()
                    .find(|a| {
                        a.algorithm == PASSWORD_ALGORITHM_MD5
                            || a.algorithm == PASSWORD_ALGORITHM_SHA256
                    })
                    .ok_or(TurnError::UnsupportedPasswordAlgorithms)?;
                let raw = match list {
                    Attribute::PasswordAlgorithms(raw) => raw.to_vec(),
                    _ => Vec::new(),
                };
                (Integrity::Sha256, chosen.algorithm, Some(raw))
            }
            None => (Integrity::Sha1, PASSWORD_ALGORITHM_MD5, None),
        };
        let key = if algorithm == PASSWORD_ALGORITHM_SHA256 {
            IntegrityKey::long_term_sha256(username, realm, password)
        } else {
            IntegrityKey::long_term_md5(username, realm, password)
        };
        Ok(Credentials {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            key,
            integrity,
            algorithms: raw_algorithms,
            algorithm,
            userhash: features
                .username_anonymity
                .then(|| userhash(username, realm)),
        })
    }

    /// Appends USERNAME (or USERHASH), REALM, NONCE and, if negotiated,
    /// PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM (RFC 8489 §9.2.5).
    pub fn add_attributes(
        &self,
        b: &mut MessageBuilder<'_>,
        username: &str,
    ) -> Result<(), StunError> {
        match &self.userhash {
            Some(h) => b.add(&Attribute::UserHash(h))?,
            None => b.add(&Attribute::Username(username))?,
        }
        b.add(&Attribute::Realm(&self.realm))?;
        b.add(&Attribute::Nonce(&self.nonce))?;
        if let Some(raw) = &self.algorithms {
            b.add(&Attribute::PasswordAlgorithms(raw))?;
            b.add(&Attribute::PasswordAlgorithm(PasswordAlgorithm {
                algorithm: self.algorithm,
                params: &[],
            }))?;
        }
        Ok(())
    }

    /// Appends the negotiated integrity attribute.
    pub fn sign(&self, b: &mut MessageBuilder<'_>) -> Result<(), StunError> {
        match self.integrity {
            Integrity::Sha256 => b.add_message_integrity_sha256(&self.key),
            _ => b.add_message_integrity(&self.key),
        }
    }

    /// Whether `msg` carries the negotiated integrity attribute and it
    /// verifies with our key (RFC 8489 §9.1.4, §9.2.5).
    pub fn verify(&self, msg: &Message<'_>) -> bool {
        msg.integrity() == Some(self.integrity) && msg.verify_integrity(&self.key).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_stun::{Class, MessageType, TransactionId};

    /// RFC 5769 §2.4 "Sample Request with Long-Term Authentication", verbatim.
    const RFC5769_2_4: &str = "00010060 2112a442 78ad3433 c6ad72c0 29da412e
        00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
        0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
        0014000b 6578616d 706c652e 6f726700
        00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666";

    /// The client's key derivation from a challenge reproduces the RFC 5769
    /// §2.4 MESSAGE-INTEGRITY (username "マトリックス", realm "example.org",
    /// password "TheMatrIX" after SASLprep, as RFC 5769 states).
    #[test]
    fn rfc5769_long_term_vector_verifies_with_challenge_credentials() {
        let vector = hex::decode(RFC5769_2_4.split_whitespace().collect::<String>()).unwrap();
        let vector = Message::parse(&vector).unwrap();
        let mut buf = Vec::new();
        let mut b = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::ErrorResponse, tern_stun::method::BINDING),
            TransactionId([0; 12]),
        );
        b.add(&Attribute::ErrorCode {
            code: 401,
            reason: "Unauthenticated",
        })
        .unwrap();
        b.add(&Attribute::Realm("example.org")).unwrap();
        b.add(&Attribute::Nonce("f//499k954d6OL34oL9FSTvy64sA"))
            .unwrap();
        let challenge = Message::parse(&buf).unwrap();
        let user = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
        let c = Credentials::from_challenge(&challenge, user, "TheMatrIX", None, None).unwrap();
        assert!(c.verify(&vector));
        let wrong = Credentials::from_challenge(&challenge, user, "TheMatrix", None, None).unwrap();
        assert!(!wrong.verify(&vector));
        // What the client would send carries the same USERNAME, REALM and NONCE.
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            MessageType::new(Class::Request, tern_stun::method::BINDING),
            vector.transaction_id(),
        );
        c.add_attributes(&mut b, user).unwrap();
        c.sign(&mut b).unwrap();
        let ours = Message::parse(&out).unwrap();
        for t in [attr_type::USERNAME, attr_type::REALM, attr_type::NONCE] {
            assert_eq!(ours.raw(t), vector.raw(t));
        }
        assert!(c.verify(&ours));
    }

    #[test]
    fn nonce_cookie_features() {
        // "AAAB" = 0x000001: password algorithms; "AAAC" = 0x000002: anonymity.
        assert_eq!(
            security_features("obMatJos2AAABxyz"),
            Some(SecurityFeatures {
                password_algorithms: true,
                username_anonymity: false
            })
        );
        assert_eq!(
            security_features("obMatJos2AAAC"),
            Some(SecurityFeatures {
                password_algorithms: false,
                username_anonymity: true
            })
        );
        assert_eq!(
            security_features("obMatJos2AAAA"),
            Some(SecurityFeatures::default())
        );
        assert_eq!(security_features("obMatJos2AA"), None);
        assert_eq!(security_features("obMatJos2A*AA"), None);
        assert_eq!(security_features("f//499k954d6OL34oL9FSTvy64sA"), None);
    }
}
