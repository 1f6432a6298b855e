//! Audio payload formats that carry one frame per packet unchanged:
//! Opus (RFC 7587) and the RFC 3551 sample formats PCMU, PCMA and G.722.

use super::{Codec, CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};

/// RFC 7587 §4.2 / RFC 3551 §4.2: the frame is the payload. Opus frames are
/// never fragmented (RFC 7587 §4.2: one Opus packet per RTP packet); a frame
/// larger than the MTU is an error, since the encoder chose its size.
/// Sample formats (PCMU/PCMA/G.722) may be split at any byte, as each byte is
/// one sample (or a pair for G.722) (RFC 3551 §4.2), so a large buffer becomes
/// several payloads.
#[derive(Debug, Clone)]
pub struct AudioPacketizer {
    codec: Codec,
}

impl AudioPacketizer {
    /// A packetizer for `codec` (one of Opus, PCMU, PCMA, G.722; any other
    /// codec is treated as an unsplittable frame).
    pub fn new(codec: Codec) -> Self {
        Self { codec }
    }
}

impl Packetizer for AudioPacketizer {
    fn packetize(
        &mut self,
        frame: &[u8],
        mtu: usize,
        out: &mut Payloads,
    ) -> Result<(), CodecError> {
        out.clear();
        if frame.is_empty() {
            return Err(CodecError::EmptyFrame);
        }
        if mtu == 0 {
            return Err(CodecError::MtuTooSmall { mtu, needed: 1 });
        }
        match self.codec {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => {
                // RFC 3551 §4.1: the marker is for the first packet of a
                // talkspurt, which only the caller knows; never set here.
                for chunk in frame.chunks(mtu) {
                    out.push(&[chunk], false);
                }
            }
            _ => {
                if frame.len() > mtu {
                    return Err(CodecError::MtuTooSmall {
                        mtu,
                        needed: frame.len(),
                    });
                }
                out.push(&[frame], false);
            }
        }
        Ok(())
    }
}

/// Depacketizer for the audio formats: the payload is the frame.
#[derive(Debug, Clone)]
pub struct AudioDepacketizer {
    codec: Codec,
}

impl AudioDepacketizer {
    /// A depacketizer for `codec`.
    pub fn new(codec: Codec) -> Self {
        Self { codec }
    }

    /// The codec this depacketizer was made for.
    pub fn codec(&self) -> Codec {
        self.codec
    }
}

impl Depacketizer for AudioDepacketizer {
    fn depacketize(
        &mut self,
        payload: &[u8],
        _info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        out.extend_from_slice(payload);
        Ok(())
    }

    fn is_keyframe(&self, payload: &[u8]) -> bool {
        !payload.is_empty()
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        !payload.is_empty()
    }

    /// Every audio packet is a whole frame; the marker means a talkspurt
    /// start (RFC 3551 §4.1), not a frame end.
    fn is_frame_end(&self, payload: &[u8], _marker: bool) -> bool {
        !payload.is_empty()
    }

    fn frames_independent(&self) -> bool {
        true
    }
}
