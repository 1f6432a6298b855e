//! The sans-IO WebRTC PeerConnection: data channels and media.
//!
//! [`PeerConnection`] does JSEP (RFC 8829) offer/answer in both roles with
//! audio and video sections (codecs, RTX, header extensions, msid, SSRCs)
//! and `m=application UDP/DTLS/SCTP webrtc-datachannel`, all bundled on one
//! transport (RFC 8843); negotiates the DTLS role from `a=setup`, checks
//! the peer's certificate against its `a=fingerprint`, trickles candidates
//! both ways with end-of-candidates, restarts ICE on request,
//! demultiplexes STUN, DTLS and SRTP on one 5-tuple (RFC 7983), runs SCTP
//! over DTLS with the data-channel model of `tern-sctp`, and moves RTP and
//! RTCP through SRTP keyed from DTLS (RFC 5764) with W3C transceivers,
//! NACK/RTX repair, PLI/FIR, SR/RR and transport-wide feedback. States,
//! events and stats carry W3C names.
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
mod media;
mod state;
mod stats;

pub use channels::{ChannelCounters, ChannelInfo};
pub use config::{PeerConfig, RandomSource};
pub use connection::{
    BandwidthEstimation, BandwidthStats, ChannelMut, MediaCounters, OfferOptions, PeerConnection,
    Timer, TransceiverMut, Transmit, TransmitBatch,
};
pub use description::{IceCandidateInit, RtcSessionDescription, SdpType};
pub use error::PeerError;
pub use jsep::Mid;
pub use media::recv::{InboundCounters, RemoteOutbound};
pub use media::send::{OutboundCounters, RemoteInbound};
pub use media::{
    default_audio_codecs, default_video_codecs, h265_codec, KeyframeRequestKind, MediaConfig,
    MediaKind, RtcpFeedback, RtcpParameters, RtpCodecParameters, RtpEncodingParameters,
    RtpHeaderExtensionParameters, RtpPacketReceived, RtpPacketToSend, RtpSendParameters,
    RtpTransceiverDirection, TransceiverId, TransceiverInit,
};
pub use state::{ChannelId, DtlsTransportState, PeerConnectionState, PeerEvent, SignalingState};
pub use stats::{
    CandidatePairStats, DataChannelStats, InboundRtpStats, MediaSourceStats, OutboundRtpStats,
    PeerConnectionStats, PeerStats, TransportCounters, TransportStats,
};
pub use tern_ice::{IceConnectionState, IceGatheringState};
pub use tern_sctp::{Bytes, DataChannelInit, DataChannelMessage, DataChannelState, Priority};
