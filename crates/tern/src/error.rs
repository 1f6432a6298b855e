//! Errors of the async API.

use std::fmt;

use tern_peer::PeerError;

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection refused the call (bad SDP, wrong state, …).
    Peer(PeerError),
    /// A socket or name lookup failed.
    Io(std::io::Error),
    /// A configured ICE server URL is unusable; says why.
    IceServer(String),
    /// The connection is closed (or its driver stopped).
    Closed,
    /// The data channel closed before the call could complete.
    ChannelClosed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Peer(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "I/O: {e}"),
            Error::IceServer(s) => write!(f, "ICE server: {s}"),
            Error::Closed => write!(f, "the peer connection is closed"),
            Error::ChannelClosed => write!(f, "the data channel is closed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<PeerError> for Error {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Closed => Error::Closed,
            e => Error::Peer(e),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
