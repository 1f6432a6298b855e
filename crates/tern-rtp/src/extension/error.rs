use std::fmt;

use super::ExtensionKind;

/// Why a header extension block or value is not acceptable (RFC 8285).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// The block's "defined by profile" field is neither 0xBEDE (one-byte
    /// form) nor 0x100X (two-byte form), so its elements cannot be read.
    UnknownProfile(u16),
    /// An element's length runs past the end of the block.
    ElementOverrun {
        /// The element's id.
        id: u8,
        /// Where the element starts, in bytes from the start of the block data.
        offset: usize,
    },
    /// Id 0 is padding and cannot carry a value; in the one-byte form 15 is
    /// reserved too (RFC 8285 §4.2).
    BadId(u8),
    /// The value is too long for any form (over 255 bytes), or for the form
    /// that was asked for (over 16 bytes in the one-byte form).
    ValueTooLong {
        /// The element's id.
        id: u8,
        /// The value's length.
        len: usize,
    },
    /// An empty value needs the two-byte form (RFC 8285 §4.3), and this
    /// writer was told to use the one-byte form.
    EmptyValueInOneByte {
        /// The element's id.
        id: u8,
    },
    /// The whole extension block would exceed 65,535 32-bit words.
    BlockTooLong,
    /// A typed value has the wrong length or content for its definition.
    BadValue {
        /// What the value was meant to be.
        kind: ExtensionKind,
        /// The value's length.
        len: usize,
    },
    /// A typed value is out of its range and cannot be written.
    ValueOutOfRange {
        /// What the value was meant to be.
        kind: ExtensionKind,
    },
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// An extmap id outside 1..=255 (RFC 8285 §5: 4096-4351 are for
    /// negotiation only and never appear in packets).
    BadMapId(u16),
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtensionError::UnknownProfile(p) => write!(
                f,
                "RTP header extension profile {p:#06x} is neither one-byte (0xbede) nor two-byte (0x100x)"
            ),
            ExtensionError::ElementOverrun { id, offset } => write!(
                f,
                "RTP header extension element id {id} at offset {offset} runs past the block"
            ),
            ExtensionError::BadId(id) => write!(f, "RTP header extension id {id} is reserved"),
            ExtensionError::ValueTooLong { id, len } => {
                write!(f, "RTP header extension id {id}: value of {len} bytes is too long")
            }
            ExtensionError::EmptyValueInOneByte { id } => write!(
                f,
                "RTP header extension id {id}: an empty value needs the two-byte form"
            ),
            ExtensionError::BlockTooLong => write!(f, "RTP header extension block too long"),
            ExtensionError::BadValue { kind, len } => {
                write!(f, "malformed {kind:?} header extension value ({len} bytes)")
            }
            ExtensionError::ValueOutOfRange { kind } => {
                write!(f, "{kind:?} header extension value out of range")
            }
            ExtensionError::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small for header extension: need {needed} bytes, have {available}"
            ),
            ExtensionError::BadMapId(id) => {
                write!(f, "extmap id {id} cannot be used in RTP packets (1..=255)")
            }
        }
    }
}

impl std::error::Error for ExtensionError {}
