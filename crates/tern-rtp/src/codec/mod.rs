//! RTP payload formats: packetizers that split an encoded frame into RTP
//! payloads and depacketizers that put a frame back together.
//!
//! The types here know nothing of the RTP header: a [`Packetizer`] produces
//! payloads plus the marker bit for each, and a [`Depacketizer`] takes a
//! payload plus the few header fields it needs ([`RtpInfo`]) as plain values.
//!
//! Hot paths do not allocate once warmed up: packetizers write into a reused
//! [`Payloads`] arena and depacketizers append into a caller `Vec<u8>`.

mod audio;
mod av1;
mod bits;
mod error;
mod h264;
mod h265;
mod nal;
mod payloads;
mod vp8;
mod vp9;

pub use audio::{AudioDepacketizer, AudioPacketizer};
pub use av1::{Av1AggregationHeader, Av1Depacketizer, Av1Packetizer};
pub use error::CodecError;
pub use h264::{H264Depacketizer, H264PacketizationMode, H264Packetizer};
pub use h265::{H265Depacketizer, H265Packetizer};
pub use nal::AnnexB;
pub use payloads::{Payloads, PayloadsIter};
pub use vp8::{Vp8Depacketizer, Vp8Descriptor, Vp8Packet, Vp8Packetizer};
pub use vp9::{
    Vp9Depacketizer, Vp9Descriptor, Vp9LayerIndices, Vp9Packet, Vp9Packetizer, Vp9PictureGroup,
    Vp9ScalabilityStructure,
};

/// The RTP header fields a depacketizer may need, passed as plain values so
/// that this module does not depend on any RTP header type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpInfo {
    /// RFC 3550 §5.1: the sequence number of the packet carrying the payload.
    pub sequence: u16,
    /// RFC 3550 §5.1: the RTP timestamp.
    pub timestamp: u32,
    /// RFC 3550 §5.1: the marker bit (end of a video frame for every video
    /// format here).
    pub marker: bool,
}

/// Splits one encoded frame into RTP payloads.
pub trait Packetizer {
    /// Packetize `frame` into payloads of at most `mtu` bytes each (the budget
    /// for the payload alone, after the RTP header and extensions). `out` is
    /// cleared first and then holds this frame's payloads; the last carries
    /// the marker bit for video codecs. `out` keeps its capacity between
    /// calls, so a warmed-up packetizer does not allocate.
    fn packetize(&mut self, frame: &[u8], mtu: usize, out: &mut Payloads)
        -> Result<(), CodecError>;
}

/// Turns RTP payloads back into a frame's bytes and classifies payloads.
pub trait Depacketizer {
    /// Append what `payload` carries of the frame to `out`. Payloads of one
    /// frame must be given in sequence order; call [`Depacketizer::reset`]
    /// between frames or after a loss. An empty payload (RTP padding only)
    /// appends nothing.
    fn depacketize(
        &mut self,
        payload: &[u8],
        info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError>;

    /// Forget partial state (a fragment in progress); called at a frame
    /// boundary and after a loss.
    fn reset(&mut self) {}

    /// Whether `payload` carries (part of) an independently decodable frame.
    /// A frame is a keyframe when any of its payloads is.
    fn is_keyframe(&self, payload: &[u8]) -> bool;

    /// Whether `payload` is the first of a frame, as far as the payload format
    /// can tell on its own.
    fn is_frame_start(&self, payload: &[u8]) -> bool;

    /// Whether `payload` is the last of a frame: the marker bit for video, or
    /// a codec bit where the format has one.
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        let _ = payload;
        marker
    }

    /// Whether every frame decodes on its own (audio): a loss then never
    /// makes later frames wait for a keyframe.
    fn frames_independent(&self) -> bool {
        false
    }
}

impl<P: Packetizer + ?Sized> Packetizer for Box<P> {
    fn packetize(
        &mut self,
        frame: &[u8],
        mtu: usize,
        out: &mut Payloads,
    ) -> Result<(), CodecError> {
        (**self).packetize(frame, mtu, out)
    }
}

impl<D: Depacketizer + ?Sized> Depacketizer for Box<D> {
    fn depacketize(
        &mut self,
        payload: &[u8],
        info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        (**self).depacketize(payload, info, out)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        (**self).is_keyframe(payload)
    }
    fn is_frame_start(&self, payload: &[u8]) -> bool {
        (**self).is_frame_start(payload)
    }
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        (**self).is_frame_end(payload, marker)
    }
    fn frames_independent(&self) -> bool {
        (**self).frames_independent()
    }
}

/// A payload format this crate implements, named as in SDP `a=rtpmap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// RFC 7587: Opus.
    Opus,
    /// RFC 3551 §4.5.14: G.711 µ-law.
    Pcmu,
    /// RFC 3551 §4.5.14: G.711 A-law.
    Pcma,
    /// RFC 3551 §4.5.2: G.722.
    G722,
    /// RFC 7741: VP8.
    Vp8,
    /// RFC 9628: VP9.
    Vp9,
    /// RFC 6184: H.264.
    H264,
    /// RFC 7798: H.265.
    H265,
    /// AV1 RTP payload format (aomediacodec.github.io/av1-rtp-spec).
    Av1,
}

impl Codec {
    /// Every codec, for iteration in tests and tables.
    pub const ALL: [Codec; 9] = [
        Codec::Opus,
        Codec::Pcmu,
        Codec::Pcma,
        Codec::G722,
        Codec::Vp8,
        Codec::Vp9,
        Codec::H264,
        Codec::H265,
        Codec::Av1,
    ];

    /// The codec an SDP encoding name (RFC 8866 §6.6 `a=rtpmap`) names,
    /// compared case-insensitively as RFC 4855 §3 requires.
    pub fn from_sdp_name(name: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.sdp_name().eq_ignore_ascii_case(name))
    }

    /// The encoding name as registered (RFC 4855) and written in SDP.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
            Codec::H264 => "H264",
            Codec::H265 => "H265",
            Codec::Av1 => "AV1",
        }
    }

    /// The RTP clock rate. RFC 3551 §4.5.2: G.722 samples at 16 kHz but its
    /// RTP clock runs at 8000 Hz (an error in RFC 1890 kept for
    /// compatibility). RFC 7587 §4.1: Opus always uses 48000.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8_000,
            Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::H265 | Codec::Av1 => 90_000,
        }
    }

    /// The channel count written in `a=rtpmap` (RFC 7587 §7: Opus is always
    /// "2"), `None` for video.
    pub fn sdp_channels(self) -> Option<u8> {
        match self {
            Codec::Opus => Some(2),
            Codec::Pcmu | Codec::Pcma | Codec::G722 => Some(1),
            _ => None,
        }
    }

    /// RFC 3551 §6 static payload type, if the codec has one.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            _ => None,
        }
    }

    /// Whether this is a video codec.
    pub fn is_video(self) -> bool {
        self.sdp_channels().is_none()
    }

    /// A packetizer with default settings (VP8/VP9 PictureID starting at 0:
    /// use the codec's own constructor to start from a random one, H.264 in
    /// packetization-mode 1).
    pub fn packetizer(self) -> Box<dyn Packetizer + Send> {
        match self {
            Codec::Opus | Codec::Pcmu | Codec::Pcma | Codec::G722 => {
                Box::new(AudioPacketizer::new(self))
            }
            Codec::Vp8 => Box::new(Vp8Packetizer::new(0)),
            Codec::Vp9 => Box::new(Vp9Packetizer::new(0)),
            Codec::H264 => Box::new(H264Packetizer::new(H264PacketizationMode::NonInterleaved)),
            Codec::H265 => Box::new(H265Packetizer::new()),
            Codec::Av1 => Box::new(Av1Packetizer::new()),
        }
    }

    /// A depacketizer for this codec.
    pub fn depacketizer(self) -> Box<dyn Depacketizer + Send> {
        match self {
            Codec::Opus | Codec::Pcmu | Codec::Pcma | Codec::G722 => {
                Box::new(AudioDepacketizer::new(self))
            }
            Codec::Vp8 => Box::new(Vp8Depacketizer::new()),
            Codec::Vp9 => Box::new(Vp9Depacketizer::new()),
            Codec::H264 => Box::new(H264Depacketizer::new()),
            Codec::H265 => Box::new(H265Depacketizer::new()),
            Codec::Av1 => Box::new(Av1Depacketizer::new()),
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sdp_name())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
// Tests need an arbitrary origin for virtual time; only differences matter.
#[allow(clippy::disallowed_methods)]
mod fixture_tests;
