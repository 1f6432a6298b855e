//! A transceiver (W3C `RTCRtpTransceiver`): its kind, mid and directions,
//! the local track it sends, what the last negotiation fixed (codecs, RTX,
//! header extension ids, the peer's SSRCs and msid), its sender and its
//! receiver's streams.

use std::time::Instant;

use tern_rtp::ExtensionKind;

use super::codec::RtxPair;
use super::parameters::{RtpEncodingParameters, RtpSendParameters};
use super::recv::RecvStream;
use super::send::{RtpSender, SendExtensions};
use super::{MediaKind, RtpCodecParameters, RtpTransceiverDirection, TransceiverId};
use crate::jsep::media::MediaSection;
use crate::jsep::Mid;

/// What an offer/answer exchange fixed for one section.
#[derive(Debug, Clone, Default)]
pub(crate) struct Negotiated {
    /// Codecs both sides use, with the offerer's payload types; the first
    /// is what we send by default.
    pub codecs: Vec<RtpCodecParameters>,
    pub rtx: Vec<RtxPair>,
    /// Header extension ids (the answer's).
    pub extmaps: Vec<(u16, String)>,
    /// The peer's SSRCs (media, RTX) from its description.
    pub remote_ssrcs: Vec<(u32, Option<u32>)>,
    pub rsize: bool,
}

impl Negotiated {
    pub fn from_answer(answer: &MediaSection, remote: &MediaSection) -> Self {
        Negotiated {
            codecs: answer.codecs.clone(),
            rtx: answer.rtx.clone(),
            extmaps: answer.extmaps.clone(),
            remote_ssrcs: remote.ssrcs.clone(),
            rsize: answer.rtcp_rsize,
        }
    }

    pub fn ext_id(&self, kind: ExtensionKind) -> Option<u8> {
        self.extmaps
            .iter()
            .find(|(_, u)| u == kind.uri())
            .and_then(|(id, _)| u8::try_from(*id).ok())
            .filter(|id| *id != 0)
    }

    pub fn send_extensions(&self) -> SendExtensions {
        SendExtensions {
            mid: self.ext_id(ExtensionKind::Mid),
            transport_cc: self.ext_id(ExtensionKind::TransportSequenceNumber),
        }
    }

    pub fn codec(&self, pt: u8) -> Option<&RtpCodecParameters> {
        self.codecs.iter().find(|c| c.payload_type == pt)
    }

    /// The codec an RTX payload type repairs.
    pub fn apt(&self, rtx_pt: u8) -> Option<u8> {
        self.rtx.iter().find(|r| r.rtx == rtx_pt).map(|r| r.apt)
    }

    pub fn rtx_for(&self, pt: u8) -> Option<u8> {
        self.rtx.iter().find(|r| r.apt == pt).map(|r| r.rtx)
    }

    /// Whether the codecs use `kind` feedback.
    pub fn feedback(&self, kind: &str, parameter: Option<&str>) -> bool {
        self.codecs.iter().any(|c| c.has_feedback(kind, parameter))
    }
}

pub(crate) struct Transceiver {
    pub id: TransceiverId,
    pub kind: MediaKind,
    pub mid: Option<Mid>,
    /// The mid our pending offer gave it, until the offer is applied.
    pub proposed_mid: Option<Mid>,
    pub direction: RtpTransceiverDirection,
    pub current_direction: Option<RtpTransceiverDirection>,
    pub stopped: bool,
    /// Made by `add_track` (may be matched to a remote offer's section).
    pub from_add_track: bool,
    pub codec_preferences: Vec<RtpCodecParameters>,
    pub stream_ids: Vec<String>,
    pub track_id: String,
    pub has_track: bool,
    pub negotiated: Option<Negotiated>,
    /// The peer's msid for what it sends here.
    pub remote_stream_ids: Vec<String>,
    pub remote_track_id: String,
    /// Whether the `Track` event went out for the current remote track.
    pub track_fired: bool,
    pub sender: RtpSender,
    pub streams: Vec<RecvStream>,
    /// When we last asked for a keyframe (rate limit).
    pub last_keyframe_request: Option<Instant>,
    /// The sender's encodings (one until simulcast sending comes).
    pub encodings: Vec<RtpEncodingParameters>,
    /// What `get_parameters` last returned (`set_parameters` checks
    /// against it), and how many it has returned.
    pub last_parameters: Option<RtpSendParameters>,
    pub parameters_returned: u64,
    /// `replaceTrack(null)`: nothing is sent (the SDP is unchanged).
    pub detached: bool,
    /// The id of the track being sent (`media-source`'s
    /// `trackIdentifier`).
    pub source_track_id: String,
}

impl Transceiver {
    pub fn sends(&self) -> bool {
        !self.stopped
            && self.has_track
            && self.current_direction.is_some_and(|d| d.sends())
            && self
                .negotiated
                .as_ref()
                .is_some_and(|n| !n.codecs.is_empty())
    }

    /// Whether its (first) encoding is active.
    pub fn active(&self) -> bool {
        self.encodings.first().is_none_or(|e| e.active)
    }

    /// Whether it was ever negotiated to send (W3C: such a transceiver is
    /// not reused by `addTrack`).
    pub fn sender_used(&self) -> bool {
        self.sender.counters.packets_sent > 0 || self.current_direction.is_some_and(|d| d.sends())
    }

    pub fn receives(&self) -> bool {
        !self.stopped && self.current_direction.is_some_and(|d| d.receives())
    }

    /// The stream for a media SSRC, made on first sight.
    pub fn stream_mut(&mut self, ssrc: u32, clock_rate: u32) -> &mut RecvStream {
        let nack = self
            .negotiated
            .as_ref()
            .is_some_and(|n| n.feedback("nack", None));
        let i = match self.streams.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                let mut s = RecvStream::new(ssrc, clock_rate, nack);
                s.rtx_ssrc = self
                    .negotiated
                    .as_ref()
                    .and_then(|n| n.remote_ssrcs.iter().find(|r| r.0 == ssrc))
                    .and_then(|r| r.1);
                if self.streams.len() >= MAX_STREAMS {
                    self.streams.remove(0);
                }
                self.streams.push(s);
                self.streams.len() - 1
            }
        };
        &mut self.streams[i]
    }

    /// The media SSRC an RTX SSRC repairs.
    pub fn rtx_original(&self, rtx_ssrc: u32) -> Option<u32> {
        self.streams
            .iter()
            .find(|s| s.rtx_ssrc == Some(rtx_ssrc))
            .map(|s| s.ssrc)
            .or_else(|| {
                self.negotiated
                    .as_ref()?
                    .remote_ssrcs
                    .iter()
                    .find(|r| r.1 == Some(rtx_ssrc))
                    .map(|r| r.0)
            })
    }
}

/// Streams kept per transceiver (simulcast has three; more is a peer
/// changing SSRCs, whose oldest are forgotten).
pub(crate) const MAX_STREAMS: usize = 8;
