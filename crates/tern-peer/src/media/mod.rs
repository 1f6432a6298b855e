//! Media: W3C transceivers (`RTCRtpTransceiver`) with their senders and
//! receivers, the codecs they negotiate, and the RTP/RTCP they move over
//! the BUNDLE transport:
//! - `codec`: codecs as SDP names them, the defaults, matching rules;
//! - `transceiver`: a transceiver's state and what negotiation fixed;
//! - `send`: an outgoing RTP stream (SSRC, sequence numbers, history for
//!   NACK, counters for SR);
//! - `recv`: incoming RTP streams (statistics, NACK generation, RTX);
//! - `twcc`: transport-wide congestion-control feedback for the peer's
//!   bandwidth estimator.

pub(crate) mod codec;
pub(crate) mod pacer;
pub(crate) mod parameters;
pub(crate) mod recv;
pub(crate) mod send;
pub(crate) mod transceiver;
pub(crate) mod twcc;

use std::fmt;
use std::time::Instant;

use bytes::Bytes;

pub use codec::{
    default_audio_codecs, default_video_codecs, h265_codec, RtcpFeedback, RtpCodecParameters,
};
pub use parameters::{
    RtcpParameters, RtpEncodingParameters, RtpHeaderExtensionParameters, RtpSendParameters,
};

/// Audio or video (W3C `MediaStreamTrack.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
}

impl MediaKind {
    /// As SDP's `m=` line and W3C name it.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// W3C `RTCRtpTransceiverDirection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RtpTransceiverDirection {
    /// `sendrecv`.
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
    /// `stopped` (after [`crate::TransceiverMut::stop`]).
    Stopped,
}

impl RtpTransceiverDirection {
    /// Whether it sends.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }
    /// Whether it receives.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }
    /// From send and receive flags.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }
    /// The direction as the other side sees it (sendonly ↔ recvonly).
    pub fn reverse(self) -> Self {
        match self {
            Self::Stopped => Self::Stopped,
            d => Self::from_flags(d.receives(), d.sends()),
        }
    }
    /// What both allow (RFC 8829 §5.3.1: the answer's direction).
    pub fn intersect(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
    pub(crate) fn to_sdp(self) -> tern_sdp::Direction {
        use tern_sdp::Direction as D;
        match self {
            Self::SendRecv => D::SendRecv,
            Self::SendOnly => D::SendOnly,
            Self::RecvOnly => D::RecvOnly,
            Self::Inactive | Self::Stopped => D::Inactive,
        }
    }
    pub(crate) fn from_sdp(d: Option<tern_sdp::Direction>) -> Self {
        use tern_sdp::Direction as D;
        match d {
            Some(D::SendOnly) => Self::SendOnly,
            Some(D::RecvOnly) => Self::RecvOnly,
            Some(D::Inactive) => Self::Inactive,
            // RFC 8866 §6.7: absent means sendrecv.
            _ => Self::SendRecv,
        }
    }
}

impl fmt::Display for RtpTransceiverDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
            Self::Stopped => "stopped",
        })
    }
}

/// A transceiver's handle, stable from its creation (its mid comes with
/// the first negotiation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub u64);

impl fmt::Display for TransceiverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transceiver#{}", self.0)
    }
}

/// W3C `RTCRtpTransceiverInit`, with the local track's identity (what
/// `addTrack` takes from the `MediaStreamTrack` and its streams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransceiverInit {
    /// `direction`; default sendrecv.
    pub direction: RtpTransceiverDirection,
    /// `streams`: the msid stream ids the track belongs to (`a=msid`).
    pub stream_ids: Vec<String>,
    /// The track's id (`a=msid`'s second part); random if `None`.
    pub track_id: Option<String>,
    /// `sendEncodings`: empty for one default encoding; one encoding may
    /// set `active` and `max_bitrate` (several, simulcast, are refused
    /// for now).
    pub send_encodings: Vec<RtpEncodingParameters>,
}

impl Default for TransceiverInit {
    fn default() -> Self {
        TransceiverInit {
            direction: RtpTransceiverDirection::SendRecv,
            stream_ids: Vec::new(),
            track_id: None,
            send_encodings: Vec::new(),
        }
    }
}

/// What media the connection offers and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Audio codecs in preference order.
    pub audio_codecs: Vec<RtpCodecParameters>,
    /// Video codecs in preference order (each gets RTX when `rtx`).
    pub video_codecs: Vec<RtpCodecParameters>,
    /// Offer and accept RTX (RFC 4588) for video; without it NACKs are
    /// answered by resending the packet itself.
    pub rtx: bool,
    /// Send transport-wide congestion-control feedback for what arrives
    /// (`transport-cc`), which browsers' bandwidth estimators need.
    pub transport_cc: bool,
    /// Packets kept per sender for retransmission (NACK).
    pub send_history: usize,
    /// Send-side bandwidth estimation from the peer's transport-wide
    /// feedback (`None`: off; the pacer then paces only what
    /// `max_bitrate` and `set_pacing_rate` ask).
    pub congestion_control: Option<crate::connection::BandwidthEstimation>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            audio_codecs: default_audio_codecs(),
            video_codecs: default_video_codecs(),
            rtx: true,
            transport_cc: true,
            send_history: 600,
            congestion_control: Some(Default::default()),
        }
    }
}

/// An RTP packet that arrived for a transceiver, after SRTP, with RTX
/// already unwrapped (a retransmission carries its original sequence
/// number and payload type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacketReceived {
    /// The stream's SSRC (the original stream's for a retransmission).
    pub ssrc: u32,
    /// The payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The marker bit.
    pub marker: bool,
    /// The `rid` (RFC 8852) if the packet carried one.
    pub rid: Option<String>,
    /// Whether it came as an RTX retransmission.
    pub retransmission: bool,
    /// When it arrived.
    pub arrival: Instant,
    /// The payload (without padding).
    pub payload: Bytes,
}

/// Why the peer wants a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyframeRequestKind {
    /// A Picture Loss Indication (RFC 4585 §6.3.1).
    Pli,
    /// A Full Intra Request (RFC 5104 §4.3.1).
    Fir,
    /// Not the peer: tern discarded frames that would have waited too
    /// long to be sent (the encoding's `max_bitrate` or the pacing rate is
    /// below what is written) and discards the rest up to the next
    /// keyframe, which it asks for.
    SendBacklog,
}

/// An RTP packet to send on a transceiver: tern fills in the SSRC, the
/// sequence number and the header extensions it negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacketToSend<'a> {
    /// The payload type; `None`: the first negotiated codec's.
    pub payload_type: Option<u8>,
    /// The RTP timestamp, in the codec's clock.
    pub timestamp: u32,
    /// The marker bit (last packet of a video frame).
    pub marker: bool,
    /// The payload.
    pub payload: &'a [u8],
}
