//! Room tokens: HS256 JWTs naming a room and an expiry (`tern token` prints
//! one). Signing and checking go through tern-crypto; the MAC is compared in
//! constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tern_crypto::hmac::HmacSha256Key;

/// What a token allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The room it admits to: a name, `*` for any, or a prefix ending in
    /// `*` (`tern-wormhole-*`: every `tern send`/`tern recv` rendezvous).
    pub room: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Signs and checks tokens with one secret.
pub struct TokenKey(HmacSha256Key);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl TokenKey {
    /// A key from the shared secret.
    pub fn new(secret: &[u8]) -> Self {
        TokenKey(HmacSha256Key::new(secret))
    }

    /// A token for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let head = URL_SAFE_NO_PAD.encode(HEADER);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{head}.{body}");
        let mac = self.0.sign(&[signing_input.as_bytes()]);
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Checks a token for `room` at `now` (Unix seconds); says what is wrong.
    pub fn verify(&self, token: &str, room: &str, now: u64) -> Result<Claims, &'static str> {
        let mut parts = token.split('.');
        let (Some(head), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a JWT");
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(head)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or("bad token header")?;
        if header["alg"] != "HS256" {
            return Err("only HS256 tokens are accepted");
        }
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| "bad token signature")?;
        let signing_input = &token[..head.len() + 1 + body.len()];
        if !self.0.verify(&[signing_input.as_bytes()], &sig) {
            return Err("token signature does not verify");
        }
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("bad token claims")?;
        if claims.exp <= now {
            return Err("token expired");
        }
        let admits = match claims.room.strip_suffix('*') {
            Some(prefix) => room.starts_with(prefix),
            None => claims.room == room,
        };
        if !admits {
            return Err("token is for another room");
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_admit_their_room_until_they_expire() {
        let k = TokenKey::new(b"secret");
        let t = k.sign(&Claims {
            room: "r1".into(),
            exp: 1000,
        });
        assert!(k.verify(&t, "r1", 999).is_ok());
        assert_eq!(k.verify(&t, "r1", 1000), Err("token expired"));
        assert_eq!(k.verify(&t, "r2", 10), Err("token is for another room"));
        assert_eq!(
            TokenKey::new(b"other").verify(&t, "r1", 10),
            Err("token signature does not verify")
        );
        let mut forged = t.clone();
        forged.replace_range(t.len() - 3.., "AAA");
        assert!(k.verify(&forged, "r1", 10).is_err());
        assert_eq!(k.verify("a.b", "r1", 10), Err("not a JWT"));
        let any = k.sign(&Claims {
            room: "*".into(),
            exp: 50,
        });
        assert!(k.verify(&any, "whatever", 10).is_ok());
        let wormholes = k.sign(&Claims {
            room: "tern-wormhole-*".into(),
            exp: 50,
        });
        assert!(k.verify(&wormholes, "tern-wormhole-7", 10).is_ok());
        assert_eq!(
            k.verify(&wormholes, "family", 10),
            Err("token is for another room")
        );
    }
}
