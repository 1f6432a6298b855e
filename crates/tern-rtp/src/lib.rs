//! RTP and RTCP, sans-IO: zero-copy views and writers for RTP packets and
//! their header extensions (RFC 3550, RFC 8285) and for every RTCP packet
//! WebRTC uses (RFC 3550, 4585, 5104, 3611, 8888, transport-wide CC, REMB);
//! payload formats with packetizers and depacketizers (`codec`: Opus, G.711,
//! G.722, VP8, VP9, H.264, H.265, AV1); frame assembly (`frame`: the jitter
//! buffer); receive statistics (`stats`) and NACK/retransmission logic
//! (`nack`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod extension;
pub mod frame;
pub mod nack;
pub mod rtcp;
pub mod rtp;
pub mod stats;

pub use extension::{ExtensionKind, ExtensionMap, HeaderExtensions};
pub use nack::{NackGenerator, PacketHistory};
pub use rtp::{
    ExtendedSeqNo, PayloadType, RtpError, RtpHeader, RtpPacket, RtpTimestamp, RtpWriter, SeqNo,
    SeqNoUnwrapper, Ssrc,
};
pub use stats::{ReceiveStats, ReceptionReport};

pub use codec::{Codec, CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};
pub use frame::{JitterBuffer, JitterConfig, JitterEvent};
