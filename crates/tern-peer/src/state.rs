//! W3C states and the events a PeerConnection reports.

use std::fmt;

use tern_ice::{IceConnectionState, IceGatheringState};
use tern_sctp::DataChannelMessage;

use crate::description::IceCandidateInit;
use crate::jsep::Mid;
use crate::media::{KeyframeRequestKind, MediaKind, RtpPacketReceived, TransceiverId};

/// W3C `RTCSignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable,
    /// We applied our offer and wait for the answer.
    HaveLocalOffer,
    /// We applied the peer's offer and owe an answer.
    HaveRemoteOffer,
    /// Closed.
    Closed,
}

/// W3C `RTCPeerConnectionState`: ICE and DTLS together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE checks or the DTLS handshake are under way.
    Connecting,
    /// ICE has a path and DTLS is up.
    Connected,
    /// ICE lost consent for a while; may come back.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// Closed by the application.
    Closed,
}

/// DTLS transport state (W3C `RTCDtlsTransportState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DtlsTransportState {
    /// Not started (no negotiated data section yet).
    New,
    /// Handshaking.
    Connecting,
    /// Up; the peer's certificate matched its fingerprint.
    Connected,
    /// Closed.
    Closed,
    /// Failed (bad fingerprint, handshake timeout, fatal alert).
    Failed,
}

/// An opaque handle to a data channel of one PeerConnection. Unlike the
/// SCTP stream id (W3C `id`), it is never reused, so a handle kept after a
/// channel closed cannot reach a new channel that took over its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u64);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What happened (the W3C events, for a sans-IO caller).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PeerEvent {
    /// A local candidate to signal (W3C `icecandidate`); `None` after the
    /// last one (end-of-candidates).
    IceCandidate(Option<IceCandidateInit>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`: something changed that needs an offer/answer.
    NegotiationNeeded,
    /// The peer opened a channel (`datachannel`); it is open.
    DataChannel(ChannelId),
    /// One of our channels opened (`open`).
    ChannelOpen(ChannelId),
    /// A message (`message`).
    ChannelMessage {
        /// The channel.
        channel: ChannelId,
        /// Text or binary.
        message: DataChannelMessage,
    },
    /// `bufferedamountlow`.
    ChannelBufferedAmountLow(ChannelId),
    /// The channel is closing (`closing`).
    ChannelClosing(ChannelId),
    /// The channel closed (`close`); its handle is forgotten.
    ChannelClosed(ChannelId),
    /// W3C `track`: the peer sends media on a transceiver.
    Track {
        /// The transceiver receiving it.
        transceiver: TransceiverId,
        /// Its section.
        mid: Mid,
        /// Audio or video.
        kind: MediaKind,
        /// The peer's msid stream ids (W3C `event.streams`).
        stream_ids: Vec<String>,
        /// The peer's track id (msid's second part).
        track_id: String,
    },
    /// The peer stopped sending on a transceiver (its direction lost
    /// "send", the section was rejected or the transceiver stopped).
    TrackEnded {
        /// The transceiver.
        transceiver: TransceiverId,
    },
    /// An RTP packet for a transceiver.
    Rtp {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The packet.
        packet: RtpPacketReceived,
    },
    /// The bandwidth estimate moved (by 5% or more, or at all after a
    /// second): what all senders together should send. Encoders follow
    /// it; a sender of pre-encoded media switches encodings.
    BandwidthEstimate {
        /// Bits per second.
        target_bitrate: u64,
        /// Whether the senders use much less than the estimate (so it is
        /// not known to hold more).
        application_limited: bool,
    },
    /// The peer asks for a keyframe on what a transceiver sends.
    KeyframeRequest {
        /// The transceiver.
        transceiver: TransceiverId,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
    /// A partially reliable message was given up (`message` is the id the
    /// send returned).
    ChannelAbandoned {
        /// The channel.
        channel: ChannelId,
        /// The message id.
        message: u64,
    },
}

/// The W3C rule: the worst of the ICE and DTLS transports.
pub(crate) fn connection_state(
    closed: bool,
    ice: IceConnectionState,
    dtls: DtlsTransportState,
) -> PeerConnectionState {
    use DtlsTransportState as D;
    use IceConnectionState as I;
    if closed {
        return PeerConnectionState::Closed;
    }
    match (ice, dtls) {
        (I::Failed, _) | (_, D::Failed) => PeerConnectionState::Failed,
        (I::Disconnected, _) => PeerConnectionState::Disconnected,
        (I::New, D::New | D::Closed) => PeerConnectionState::New,
        (I::Connected | I::Completed, D::Connected) => PeerConnectionState::Connected,
        (I::Connected | I::Completed, D::New | D::Closed) => PeerConnectionState::Connected,
        _ => PeerConnectionState::Connecting,
    }
}
