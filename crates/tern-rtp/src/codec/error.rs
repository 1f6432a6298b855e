use std::fmt;

/// Why a frame could not be packetized or a payload could not be
/// depacketized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The MTU budget cannot hold the format's header and one byte of data.
    MtuTooSmall {
        /// The budget given.
        mtu: usize,
        /// The smallest budget the format needs here.
        needed: usize,
    },
    /// An empty frame was given to a packetizer.
    EmptyFrame,
    /// A payload ends inside a field.
    Truncated {
        /// The field or structure being read.
        what: &'static str,
    },
    /// A field holds a value the payload format forbids.
    Invalid {
        /// The field or structure and why.
        what: &'static str,
    },
    /// A structure the format allows but this implementation does not
    /// (e.g. H.264 STAP-B, MTAP, FU-B of the interleaved mode).
    Unsupported {
        /// What was met.
        what: &'static str,
    },
    /// H.264 packetization-mode 0 allows single NAL unit packets only, and
    /// this NAL unit does not fit the MTU (RFC 6184 §6.2).
    NalTooLarge {
        /// The NAL unit's length.
        len: usize,
        /// The MTU budget.
        mtu: usize,
    },
    /// A fragment arrived without its start, or after a sequence gap: the
    /// partial unit was discarded.
    BrokenFragment,
    /// The frame would exceed the size this depacketizer accepts.
    FrameTooLarge,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::MtuTooSmall { mtu, needed } => write!(
                f,
                "MTU budget of {mtu} bytes is too small for this payload format (needs {needed})"
            ),
            CodecError::EmptyFrame => write!(f, "cannot packetize an empty frame"),
            CodecError::Truncated { what } => write!(f, "payload truncated in {what}"),
            CodecError::Invalid { what } => write!(f, "invalid payload: {what}"),
            CodecError::Unsupported { what } => write!(f, "unsupported payload structure: {what}"),
            CodecError::NalTooLarge { len, mtu } => write!(
                f,
                "NAL unit of {len} bytes exceeds the {mtu}-byte MTU in packetization-mode 0; \
                 negotiate packetization-mode=1 or lower the encoder's slice size"
            ),
            CodecError::BrokenFragment => {
                write!(
                    f,
                    "fragment without its start or after a gap; partial unit dropped"
                )
            }
            CodecError::FrameTooLarge => write!(f, "reassembled frame exceeds the size limit"),
        }
    }
}

impl std::error::Error for CodecError {}
