//! What crosses the signaling channel: descriptions (W3C
//! `RTCSessionDescriptionInit`) and trickled candidates (`RTCIceCandidateInit`).

use std::fmt;
use std::str::FromStr;

/// The `type` of a description (W3C `RTCSdpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SdpType {
    /// `offer`.
    Offer,
    /// `pranswer` (provisional answer; refused with a clear error for now).
    Pranswer,
    /// `answer`.
    Answer,
    /// `rollback`: undo a pending offer.
    Rollback,
}

impl SdpType {
    /// The W3C name (`offer`, `answer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

impl fmt::Display for SdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SdpType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "offer" => SdpType::Offer,
            "pranswer" => SdpType::Pranswer,
            "answer" => SdpType::Answer,
            "rollback" => SdpType::Rollback,
            _ => {
                return Err(format!(
                    "description type {s:?} is not offer, answer, pranswer or rollback"
                ))
            }
        })
    }
}

/// A description with its type (W3C `RTCSessionDescriptionInit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcSessionDescription {
    /// `offer`, `answer`, …
    pub sdp_type: SdpType,
    /// The SDP text.
    pub sdp: String,
}

impl RtcSessionDescription {
    /// An offer.
    pub fn offer(sdp: impl Into<String>) -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Offer,
            sdp: sdp.into(),
        }
    }
    /// An answer.
    pub fn answer(sdp: impl Into<String>) -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Answer,
            sdp: sdp.into(),
        }
    }
    /// A rollback (no SDP).
    pub fn rollback() -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Rollback,
            sdp: String::new(),
        }
    }
}

/// A trickled candidate (W3C `RTCIceCandidateInit`). An empty `candidate`
/// means end-of-candidates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceCandidateInit {
    /// `candidate:…` (the attribute value, with or without `a=`).
    pub candidate: String,
    /// The media section's mid.
    pub sdp_mid: Option<String>,
    /// The media section's index.
    pub sdp_m_line_index: Option<u16>,
    /// The ICE generation's ufrag, when given.
    pub username_fragment: Option<String>,
}
