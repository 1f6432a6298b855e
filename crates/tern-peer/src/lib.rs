//! The sans-IO WebRTC PeerConnection for data channels.
//!
//! [`PeerConnection`] does JSEP (RFC 8829) offer/answer with
//! `m=application UDP/DTLS/SCTP webrtc-datachannel` in both roles,
//! negotiates the DTLS role from `a=setup`, checks the peer's certificate
//! against its `a=fingerprint`, trickles candidates both ways with
//! end-of-candidates, restarts ICE on request, demultiplexes STUN and DTLS
//! on one 5-tuple (RFC 7983), and runs SCTP over DTLS with the data-channel
//! model of `tern-sctp`. States, events and stats carry W3C names.
//!
//! Like every protocol crate here it owns no socket or clock: the caller
//! passes datagrams with [`PeerConnection::handle_receive`], the time with
//! [`PeerConnection::handle_timeout`], and sends what
//! [`PeerConnection::poll_transmit`] returns.
#![forbid(unsafe_code)]

mod channels;
mod config;
mod connection;
mod description;
mod error;
mod jsep;
mod state;
mod stats;

pub use channels::{ChannelCounters, ChannelInfo};
pub use config::{PeerConfig, RandomSource};
pub use connection::{ChannelMut, OfferOptions, PeerConnection, Timer, Transmit, TransmitBatch};
pub use description::{IceCandidateInit, RtcSessionDescription, SdpType};
pub use error::PeerError;
pub use jsep::Mid;
pub use state::{ChannelId, DtlsTransportState, PeerConnectionState, PeerEvent, SignalingState};
pub use stats::{
    CandidatePairStats, DataChannelStats, PeerConnectionStats, PeerStats, TransportCounters,
    TransportStats,
};
pub use tern_ice::{IceConnectionState, IceGatheringState};
pub use tern_sctp::{Bytes, DataChannelInit, DataChannelMessage, DataChannelState, Priority};
