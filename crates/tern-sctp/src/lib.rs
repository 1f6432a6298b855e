//! Sans-IO SCTP for WebRTC data channels (RFC 9260 as profiled by RFC 8261
//! and RFC 8831): packets in and out as bytes, carried by DTLS.
//!
//! Decomposed as dcSCTP is: the packet and chunk codec (`chunk`), the
//! transmit side (`tx`: send queue, outstanding data, RTO and congestion
//! control), the receive side (`rx`: data tracker and reassembly), and the
//! association state machine (`association`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod association;
pub mod chunk;
mod datachannel;
pub mod dcep;
mod heartbeat;
mod reset;
pub mod rx;
pub mod tsn;
pub mod tx;

pub use association::{Association, SctpConfig, SctpEvent, SctpStats, SendError, SendOptions};
pub use bytes::Bytes;
pub use datachannel::{
    DataChannelError, DataChannelEvent, DataChannelId, DataChannelInfo, DataChannelInit,
    DataChannelMessage, DataChannelState, DataChannelStats, DtlsRole, Priority, SctpTransport,
};
pub use rx::Message;
pub use tsn::Tsn;
