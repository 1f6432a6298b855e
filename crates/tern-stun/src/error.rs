use std::fmt;

/// Why a datagram is not an acceptable STUN message, or why a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StunError {
    /// Shorter than the 20-byte header or than its length field says.
    Truncated,
    /// Not STUN: top bits set, no magic cookie, or a length that is not a multiple of 4.
    NotStun,
    /// The header length does not match the datagram length.
    LengthMismatch {
        /// Bytes the header announces after itself.
        header: usize,
        /// Bytes actually present after the header.
        actual: usize,
    },
    /// An attribute's length runs past the message.
    AttributeOverrun {
        /// The attribute's type.
        attr_type: u16,
    },
    /// An attribute value has a length or content its definition forbids.
    BadAttribute {
        /// The attribute's type.
        attr_type: u16,
    },
    /// Something other than nothing follows FINGERPRINT.
    AttributeAfterFingerprint,
    /// The message carries no MESSAGE-INTEGRITY(-SHA256) attribute.
    NoIntegrity,
    /// MESSAGE-INTEGRITY(-SHA256) did not verify with the key.
    IntegrityMismatch,
    /// The message carries no FINGERPRINT attribute.
    NoFingerprint,
    /// FINGERPRINT does not match the CRC of the message.
    FingerprintMismatch,
    /// The requested attribute is absent.
    MissingAttribute {
        /// The attribute's type.
        attr_type: u16,
    },
    /// A value does not fit in a STUN attribute (over 65,535 bytes, or over the
    /// RFC's limit for that attribute).
    ValueTooLong {
        /// The attribute's type.
        attr_type: u16,
    },
}

impl fmt::Display for StunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StunError::Truncated => write!(f, "STUN message truncated"),
            StunError::NotStun => write!(f, "not a STUN message"),
            StunError::LengthMismatch { header, actual } => {
                write!(
                    f,
                    "STUN header says {header} bytes of attributes, datagram has {actual}"
                )
            }
            StunError::AttributeOverrun { attr_type } => {
                write!(f, "STUN attribute 0x{attr_type:04x} runs past the message")
            }
            StunError::BadAttribute { attr_type } => {
                write!(f, "STUN attribute 0x{attr_type:04x} is malformed")
            }
            StunError::AttributeAfterFingerprint => write!(f, "attribute after FINGERPRINT"),
            StunError::NoIntegrity => write!(f, "no MESSAGE-INTEGRITY"),
            StunError::IntegrityMismatch => write!(f, "MESSAGE-INTEGRITY mismatch"),
            StunError::NoFingerprint => write!(f, "no FINGERPRINT"),
            StunError::FingerprintMismatch => write!(f, "FINGERPRINT mismatch"),
            StunError::MissingAttribute { attr_type } => {
                write!(f, "missing STUN attribute 0x{attr_type:04x}")
            }
            StunError::ValueTooLong { attr_type } => {
                write!(f, "value too long for STUN attribute 0x{attr_type:04x}")
            }
        }
    }
}

impl std::error::Error for StunError {}
