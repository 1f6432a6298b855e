//! RTP and RTCP (RFC 3550, RFC 4585, RFC 5104, RFC 8285): zero-copy views and builders.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod frame;

pub use codec::{Codec, CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};
pub use frame::{JitterBuffer, JitterConfig, JitterEvent};
