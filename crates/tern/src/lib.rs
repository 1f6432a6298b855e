//! WebRTC data channels for Rust programs, on tokio.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tern::Error> {
//! use tern::{DataChannelInit, PeerConnection, RtcConfiguration};
//!
//! let offerer = PeerConnection::new(RtcConfiguration::default()).await?;
//! let mut channel = offerer.create_data_channel("chat", DataChannelInit::default()).await?;
//! offerer.set_local_description(offerer.create_offer().await?).await?;
//! offerer.gathering_complete().await?;
//! let offer = offerer.local_description().await?.expect("set above");
//! // … send `offer.sdp` to the peer, apply its answer with set_remote_description …
//! channel.wait_open().await?;
//! channel.send_text("hello").await?;
//! let reply = channel.recv().await;
//! # let _ = (offer, reply); Ok(()) }
//! ```
//!
//! Each [`PeerConnection`] is one tokio task that owns the sans-IO core
//! (`tern-peer`) and its UDP sockets (batched with quinn-udp: GSO/GRO where
//! the kernel has them). Handles talk to it through bounded queues;
//! [`DataChannel::send_text`]/[`DataChannel::send_binary`] wait while the
//! channel's buffered amount is above the high-water mark, and a reader
//! that stops reading closes the SCTP window. Dropping every handle closes
//! the connection and frees its sockets.

mod channel;
mod config;
mod driver;
mod error;
mod frames;
mod peer;
mod socket;
mod track;

pub use channel::{DataChannel, DataChannelSender};
pub use config::{IceServer, IceTransportPolicy, RtcConfiguration};
pub use driver::PeerConnectionEvent;
pub use error::Error;
pub use frames::{Assembled, FrameAssembler};
pub use peer::PeerConnection;
pub use tern_ice::{IceConnectionState, IceGatheringState};
pub use tern_peer::{
    Bytes, ChannelInfo, DataChannelInit, DataChannelMessage, DataChannelState, IceCandidateInit,
    InboundRtpStats, KeyframeRequestKind, MediaConfig, MediaKind, MediaSourceStats, OfferOptions,
    OutboundRtpStats, PeerConnectionState, PeerStats, Priority, RandomSource,
    RtcSessionDescription, RtpCodecParameters, RtpEncodingParameters, RtpPacketReceived,
    RtpSendParameters, RtpTransceiverDirection, SdpType, SignalingState, TransceiverId,
    TransceiverInit,
};
pub use track::{Frame, LocalTrack, RemoteTrack};

/// How many connections have a running driver in this process (for
/// checking that dropped connections are really gone).
pub fn live_connections() -> usize {
    driver::LIVE.load(std::sync::atomic::Ordering::SeqCst)
}
