//! Errors of the PeerConnection API.

use std::fmt;

use tern_sctp::DataChannelError;
use tern_sdp::SdpError;

use crate::ChannelId;

/// Why a call was refused. Messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerError {
    /// The call does not fit the signaling state (W3C `InvalidStateError`).
    InvalidState(String),
    /// The SDP did not parse.
    Sdp(SdpError),
    /// The SDP parsed but cannot be used; says why.
    InvalidDescription(String),
    /// A candidate could not be used.
    InvalidCandidate(String),
    /// A data-channel call was refused.
    DataChannel(DataChannelError),
    /// No channel with this handle (closed and forgotten, or never made).
    UnknownChannel(ChannelId),
    /// `set_parameters` changed what may not change (W3C
    /// `InvalidModificationError`).
    InvalidModification(String),
    /// A parameter out of its range (W3C `RangeError`).
    InvalidParameter(String),
    /// Something the peer asked for that is not supported yet.
    Unsupported(String),
    /// The connection is closed.
    Closed,
    /// Making the certificate failed.
    Certificate(String),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::InvalidState(s) => write!(f, "invalid state: {s}"),
            PeerError::Sdp(e) => write!(f, "{e}"),
            PeerError::InvalidDescription(s) => write!(f, "unusable description: {s}"),
            PeerError::InvalidCandidate(s) => write!(f, "unusable ICE candidate: {s}"),
            PeerError::DataChannel(e) => write!(f, "data channel: {e}"),
            PeerError::UnknownChannel(c) => write!(f, "no data channel {c}"),
            PeerError::InvalidModification(s) => write!(f, "invalid modification: {s}"),
            PeerError::InvalidParameter(s) => write!(f, "invalid parameter: {s}"),
            PeerError::Unsupported(s) => write!(f, "not supported: {s}"),
            PeerError::Closed => write!(f, "the peer connection is closed"),
            PeerError::Certificate(s) => write!(f, "could not make a certificate: {s}"),
        }
    }
}

impl std::error::Error for PeerError {}

impl From<SdpError> for PeerError {
    fn from(e: SdpError) -> Self {
        PeerError::Sdp(e)
    }
}

impl From<DataChannelError> for PeerError {
    fn from(e: DataChannelError) -> Self {
        PeerError::DataChannel(e)
    }
}
