use std::fmt;

/// Why a cryptographic operation failed.
///
/// The variants say what the caller did wrong (a key of the wrong size, a
/// malformed encoding) or that authentication failed; they never carry secret
/// material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key had a length the algorithm does not accept.
    KeyLength {
        /// What the algorithm wanted.
        expected: &'static str,
        /// What it got.
        got: usize,
    },
    /// A public key, private key, certificate or signature could not be parsed.
    Malformed(&'static str),
    /// An AEAD tag or a signature did not verify.
    Authentication,
    /// The underlying library refused the operation.
    Backend(&'static str),
    /// PEM or certificate handling failed; the text says how.
    Certificate(String),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::KeyLength { expected, got } => {
                write!(f, "key has {got} bytes; expected {expected}")
            }
            CryptoError::Malformed(what) => write!(f, "malformed {what}"),
            CryptoError::Authentication => write!(f, "authentication failed"),
            CryptoError::Backend(what) => write!(f, "crypto backend refused: {what}"),
            CryptoError::Certificate(why) => write!(f, "certificate: {why}"),
        }
    }
}

impl std::error::Error for CryptoError {}
