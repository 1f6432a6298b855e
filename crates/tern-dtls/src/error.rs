use std::fmt;

/// Why a DTLS operation or handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsError {
    /// A message or record did not parse.
    Decode(&'static str),
    /// The peer sent something the state machine did not expect.
    UnexpectedMessage(&'static str),
    /// No cipher suite, group, signature scheme or extension we require in common.
    HandshakeFailure(String),
    /// The peer's certificate is not the one signalled (fingerprint mismatch) or unusable.
    BadCertificate(String),
    /// A signature or Finished did not verify.
    DecryptError(&'static str),
    /// The peer sent a fatal alert.
    PeerAlert(u8),
    /// The handshake did not finish after every retransmission.
    Timeout,
    /// Application data before the handshake completed, or after close.
    NotConnected,
    /// A crypto operation failed.
    Crypto(String),
    /// Data too large for one record.
    TooLarge(usize),
}

impl fmt::Display for DtlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtlsError::Decode(w) => write!(f, "malformed DTLS {w}"),
            DtlsError::UnexpectedMessage(w) => write!(f, "unexpected DTLS message: {w}"),
            DtlsError::HandshakeFailure(w) => write!(f, "DTLS handshake failure: {w}"),
            DtlsError::BadCertificate(w) => write!(f, "DTLS peer certificate rejected: {w}"),
            DtlsError::DecryptError(w) => write!(f, "DTLS verification failed: {w}"),
            DtlsError::PeerAlert(a) => write!(f, "DTLS peer sent fatal alert {a}"),
            DtlsError::Timeout => write!(f, "DTLS handshake timed out"),
            DtlsError::NotConnected => write!(f, "DTLS connection is not established"),
            DtlsError::Crypto(w) => write!(f, "DTLS crypto error: {w}"),
            DtlsError::TooLarge(n) => write!(f, "{n} bytes do not fit in one DTLS record"),
        }
    }
}

impl std::error::Error for DtlsError {}

impl From<tern_crypto::CryptoError> for DtlsError {
    fn from(e: tern_crypto::CryptoError) -> Self {
        DtlsError::Crypto(e.to_string())
    }
}
