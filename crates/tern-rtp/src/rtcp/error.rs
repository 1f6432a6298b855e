use core::fmt;

/// Why an RTCP datagram or packet was rejected, or why a writer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer bytes than a header or a fixed field needs.
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The version field is not 2 (RFC 3550 §6.4.1).
    BadVersion(u8),
    /// The length field points past the end of the datagram.
    LengthOverrun {
        /// Bytes the length field announces for the packet.
        declared: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The padding bit is set but the last octet is zero or larger than the
    /// packet's payload (RFC 3550 §6.4.1).
    BadPadding,
    /// The padding bit is set on a packet that is not the last of the compound
    /// datagram (RFC 3550 §6.1, Appendix A.2).
    PaddingNotLast,
    /// A packet's body does not match its type's layout.
    Malformed {
        /// The packet type (200 SR, 205 RTPFB, ...).
        packet_type: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// The output buffer cannot hold what the writer must emit.
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has left.
        available: usize,
    },
    /// A writer was given something the wire format cannot carry.
    InvalidInput(&'static str),
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(f, "RTCP truncated: need {needed} bytes, have {available}")
            }
            Self::BadVersion(v) => write!(f, "RTCP version {v}, expected 2"),
            Self::LengthOverrun {
                declared,
                available,
            } => write!(
                f,
                "RTCP length field announces {declared} bytes, datagram has {available} left"
            ),
            Self::BadPadding => f.write_str("RTCP padding count is zero or exceeds the packet"),
            Self::PaddingNotLast => {
                f.write_str("RTCP padding bit set on a packet that is not the last in the compound")
            }
            Self::Malformed {
                packet_type,
                reason,
            } => write!(f, "malformed RTCP packet type {packet_type}: {reason}"),
            Self::BufferTooSmall { needed, available } => write!(
                f,
                "RTCP output buffer too small: need {needed} bytes, have {available}"
            ),
            Self::InvalidInput(why) => write!(f, "cannot encode RTCP: {why}"),
        }
    }
}

impl std::error::Error for RtcpError {}

pub(crate) fn malformed(packet_type: u8, reason: &'static str) -> RtcpError {
    RtcpError::Malformed {
        packet_type,
        reason,
    }
}

pub(crate) fn too_small(needed: usize, available: usize) -> RtcpError {
    RtcpError::BufferTooSmall { needed, available }
}
