//! RTP and RTCP (RFC 3550, RFC 4585, RFC 5104, RFC 8285): zero-copy views and builders.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod rtcp;
pub mod extension;
pub mod nack;
pub mod rtp;
pub mod stats;

pub use extension::{ExtensionKind, ExtensionMap, HeaderExtensions};
pub use nack::{NackGenerator, PacketHistory};
pub use rtp::{
    ExtendedSeqNo, PayloadType, RtpError, RtpHeader, RtpPacket, RtpTimestamp, RtpWriter, SeqNo,
    SeqNoUnwrapper, Ssrc,
};
pub use stats::{ReceiveStats, ReceptionReport};
