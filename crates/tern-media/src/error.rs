//! The crate's one error type.

use std::fmt;

/// Why a media file could not be read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum MediaError {
    /// The underlying reader or writer failed.
    Io(std::io::Error),
    /// The input ended inside a structure (`what` names it).
    Truncated {
        /// The structure that was cut short.
        what: &'static str,
    },
    /// A magic number or signature did not match (`what` names the format).
    BadMagic {
        /// The structure whose signature was wrong.
        what: &'static str,
    },
    /// A size field claims more than this crate accepts (bounds memory on hostile input).
    TooLarge {
        /// The structure that was too large.
        what: &'static str,
        /// The size that was claimed or reached.
        size: u64,
        /// The largest size accepted.
        max: u64,
    },
    /// An Ogg page's CRC did not match its contents (RFC 3533 §6).
    BadCrc {
        /// The checksum stored in the page.
        stored: u32,
        /// The checksum computed over the page.
        computed: u32,
    },
    /// A field holds a value the format forbids.
    Invalid {
        /// What was wrong.
        what: &'static str,
    },
    /// A valid feature this crate does not implement.
    Unsupported {
        /// What is not supported.
        what: &'static str,
    },
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "media I/O error: {e}"),
            Self::Truncated { what } => write!(f, "input ends inside {what}"),
            Self::BadMagic { what } => write!(f, "not {what} (wrong signature)"),
            Self::TooLarge { what, size, max } => {
                write!(
                    f,
                    "{what} of {size} bytes is larger than the {max}-byte limit"
                )
            }
            Self::BadCrc { stored, computed } => write!(
                f,
                "Ogg page CRC mismatch: page says {stored:#010x}, contents give {computed:#010x}"
            ),
            Self::Invalid { what } => write!(f, "invalid media data: {what}"),
            Self::Unsupported { what } => write!(f, "unsupported: {what}"),
        }
    }
}

impl std::error::Error for MediaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for MediaError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, MediaError>;
