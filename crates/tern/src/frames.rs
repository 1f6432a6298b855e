//! [`FrameAssembler`]: whole frames from a track's RTP packets, through a
//! jitter buffer per payload type (reordering, waiting for
//! retransmissions, skipping what cannot be completed). `RemoteTrack::
//! read_frame` runs one; an application that reads the packets itself
//! (to forward them, say) runs its own on a copy.

use std::time::Instant;

use bytes::Bytes;
use tern_peer::{RtpCodecParameters, RtpPacketReceived};
use tern_rtp::frame::JitterEvent;
use tern_rtp::{Codec, Depacketizer, JitterBuffer, JitterConfig};

type Jitter = JitterBuffer<Box<dyn Depacketizer + Send>>;

/// A frame assembled from a remote track's packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's bytes, as the payload format carries them (VP8/VP9/AV1
    /// frames, H.264/H.265 Annex B access units, Opus packets).
    pub data: Bytes,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// Whether it decodes on its own.
    pub keyframe: bool,
    /// The payload type it came with.
    pub payload_type: u8,
    /// Its codec.
    pub codec: Codec,
    /// When its first packet arrived.
    pub first_arrival: Instant,
}

/// What [`FrameAssembler::poll`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Assembled {
    /// A complete frame.
    Frame(Frame),
    /// A frame could not be completed in time and was skipped; with
    /// `need_keyframe`, what follows cannot be decoded until a keyframe
    /// (ask the peer for one).
    Lost {
        /// Whether a keyframe is needed.
        need_keyframe: bool,
    },
}

/// See the module documentation.
pub struct FrameAssembler {
    codecs: Vec<RtpCodecParameters>,
    /// The payload type being assembled, its codec and jitter buffer.
    jitter: Option<Box<(u8, Codec, Jitter)>>,
    buf: Vec<u8>,
    /// Frames given up (a gap that was not repaired in time).
    pub lost_frames: u64,
}

impl std::fmt::Debug for FrameAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameAssembler")
            .field("payload_type", &self.jitter.as_ref().map(|j| j.0))
            .field("lost_frames", &self.lost_frames)
            .finish_non_exhaustive()
    }
}

impl FrameAssembler {
    /// An assembler for a track that negotiated `codecs`.
    pub fn new(codecs: Vec<RtpCodecParameters>) -> Self {
        FrameAssembler {
            codecs,
            jitter: None,
            buf: Vec::new(),
            lost_frames: 0,
        }
    }

    /// The codecs changed (a renegotiation).
    pub fn set_codecs(&mut self, codecs: Vec<RtpCodecParameters>) {
        self.codecs = codecs;
    }

    /// Whether `payload_type` is one of the codecs it knows.
    pub fn knows(&self, payload_type: u8) -> bool {
        self.codecs.iter().any(|c| c.payload_type == payload_type)
    }

    /// Adds a packet; false when its payload type has no codec tern can
    /// depacketize (the packet is skipped). A new payload type starts a
    /// new jitter buffer.
    pub fn push(&mut self, p: &RtpPacketReceived) -> bool {
        if self.jitter.as_ref().is_none_or(|j| j.0 != p.payload_type) {
            let Some(codec) = self
                .codecs
                .iter()
                .find(|c| c.payload_type == p.payload_type)
                .and_then(|c| c.codec())
            else {
                return false;
            };
            let jb = JitterBuffer::new(codec.depacketizer(), JitterConfig::default());
            self.jitter = Some(Box::new((p.payload_type, codec, jb)));
        }
        if let Some(j) = &mut self.jitter {
            j.2.push(
                p.sequence_number,
                p.timestamp,
                p.marker,
                &p.payload,
                p.arrival,
            );
        }
        true
    }

    /// When [`poll`](Self::poll) may next give something without a new
    /// packet (a gap's wait running out).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.jitter.as_ref().and_then(|j| j.2.poll_timeout())
    }

    /// The next frame or loss at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Assembled> {
        let j = self.jitter.as_mut()?;
        let (pt, codec, jb) = &mut **j;
        while let Some(ev) = jb.poll(now, &mut self.buf) {
            match ev {
                JitterEvent::Frame(f) => {
                    let data = Bytes::copy_from_slice(&self.buf[..f.len]);
                    self.buf.clear();
                    return Some(Assembled::Frame(Frame {
                        data,
                        timestamp: f.timestamp,
                        keyframe: f.keyframe,
                        payload_type: *pt,
                        codec: *codec,
                        first_arrival: f.first_arrival,
                    }));
                }
                JitterEvent::Lost(l) => {
                    self.lost_frames += 1;
                    return Some(Assembled::Lost {
                        need_keyframe: l.need_keyframe,
                    });
                }
                _ => {}
            }
        }
        None
    }
}
