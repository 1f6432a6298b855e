//! SPAKE2 password-authenticated key exchange (symmetric, Ed25519 group),
//! as magic-wormhole uses it: two sides that share a short code derive the
//! same strong key, and a wrong code only gives each side one guess.

use spake2::{Ed25519Group, Identity, Password, Spake2};

/// One side of the exchange, between sending its message and finishing.
pub struct Pake(Spake2<Ed25519Group>);

impl std::fmt::Debug for Pake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pake(..)")
    }
}

/// The exchange failed (the peer's message is malformed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PakeError;

impl std::fmt::Display for PakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed SPAKE2 message")
    }
}

impl std::error::Error for PakeError {}

impl Pake {
    /// Starts with the shared `password` and an application `id` (both
    /// sides use the same); returns the message to send to the peer.
    pub fn start(password: &[u8], id: &[u8]) -> (Pake, Vec<u8>) {
        let (s, msg) =
            Spake2::<Ed25519Group>::start_symmetric(&Password::new(password), &Identity::new(id));
        (Pake(s), msg)
    }

    /// Finishes with the peer's message: the shared key. With a different
    /// password the keys differ (find out with a key-confirmation MAC).
    pub fn finish(self, peer_message: &[u8]) -> Result<[u8; 32], PakeError> {
        let k = self.0.finish(peer_message).map_err(|_| PakeError)?;
        k.try_into().map_err(|_| PakeError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_code_same_key_other_code_other_key() {
        let (a, ma) = Pake::start(b"7-purple-sausages", b"tern");
        let (b, mb) = Pake::start(b"7-purple-sausages", b"tern");
        assert_eq!(a.finish(&mb).unwrap(), b.finish(&ma).unwrap());
        let (a, ma) = Pake::start(b"7-purple-sausages", b"tern");
        let (c, mc) = Pake::start(b"7-purple-sausage", b"tern");
        assert_ne!(a.finish(&mc).unwrap(), c.finish(&ma).unwrap());
        let (a, _) = Pake::start(b"x", b"tern");
        assert_eq!(a.finish(b"short"), Err(PakeError));
    }
}
