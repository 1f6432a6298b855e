use std::fmt;

use crate::extension::ExtensionError;

/// Why bytes are not an acceptable RTP packet (RFC 3550 §5.1), or why one
/// cannot be written or rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the header its first bytes announce.
    Truncated {
        /// Bytes the header needs (fixed part, CSRCs, extension).
        needed: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The version field is not 2.
    BadVersion(u8),
    /// The P bit is set but the last byte's padding count is zero or longer
    /// than what follows the header (RFC 3550 §5.1).
    BadPadding {
        /// The padding count in the last byte.
        padding_len: u8,
        /// Bytes after the header.
        available: usize,
    },
    /// A payload type above 127.
    BadPayloadType(u8),
    /// More than 15 CSRCs.
    TooManyCsrcs(usize),
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The packet carries no header extension element with this id.
    NoSuchExtension {
        /// The id.
        id: u8,
    },
    /// An in-place extension rewrite must keep the value's length.
    ExtensionLengthMismatch {
        /// The id.
        id: u8,
        /// The length in the packet.
        present: usize,
        /// The length of the new value.
        new: usize,
    },
    /// The header extension block is malformed, or an element cannot be written.
    Extension(ExtensionError),
}

impl From<ExtensionError> for RtpError {
    fn from(e: ExtensionError) -> Self {
        RtpError::Extension(e)
    }
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::Truncated { needed, actual } => write!(
                f,
                "RTP packet truncated: header needs {needed} bytes, packet has {actual}"
            ),
            RtpError::BadVersion(v) => write!(f, "RTP version {v}, expected 2"),
            RtpError::BadPadding {
                padding_len,
                available,
            } => write!(
                f,
                "RTP padding count {padding_len} invalid with {available} bytes after the header"
            ),
            RtpError::BadPayloadType(pt) => write!(f, "RTP payload type {pt} exceeds 7 bits"),
            RtpError::TooManyCsrcs(n) => write!(f, "{n} CSRCs, RTP allows at most 15"),
            RtpError::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small for RTP packet: need {needed} bytes, have {available}"
            ),
            RtpError::NoSuchExtension { id } => {
                write!(f, "RTP packet has no header extension with id {id}")
            }
            RtpError::ExtensionLengthMismatch { id, present, new } => write!(
                f,
                "RTP header extension id {id} is {present} bytes, new value {new}: in-place rewrite needs equal lengths"
            ),
            RtpError::Extension(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RtpError::Extension(e) => Some(e),
            _ => None,
        }
    }
}
