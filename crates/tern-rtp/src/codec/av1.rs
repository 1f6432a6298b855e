//! AV1 RTP payload format (aomediacodec.github.io/av1-rtp-spec, v1.0):
//! the aggregation header, OBU elements and their fragmentation.
//!
//! The packetizer takes a temporal unit in the low-overhead bitstream format
//! (AV1 spec §5.2: OBUs with `obu_has_size_field` = 1, as encoders write it
//! to files) and sends OBUs without size fields (RTP spec §5: "the
//! obu_has_size_field ... SHOULD be set to zero"), dropping temporal
//! delimiters and tile lists (§5). The depacketizer restores size fields, so
//! its output is again a low-overhead bitstream a decoder can take.

use super::bits::{leb128_len, read_leb128, write_leb128, LEB128_MAX};
use super::{CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};

// RTP spec §4.4: aggregation header bits.
const Z_BIT: u8 = 0x80;
const Y_BIT: u8 = 0x40;
const W_SHIFT: u8 = 4;
const W_MASK: u8 = 0x30;
const N_BIT: u8 = 0x08;
const AGGREGATION_HEADER_LEN: usize = 1;
// AV1 spec §5.3.2: OBU header bits.
const OBU_EXTENSION_FLAG: u8 = 0x04;
const OBU_HAS_SIZE_FIELD: u8 = 0x02;
// AV1 spec §6.2.2: OBU types.
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_FRAME_HEADER: u8 = 3;
const OBU_METADATA: u8 = 5;
const OBU_FRAME: u8 = 6;
const OBU_TILE_LIST: u8 = 8;
/// The largest OBU fragment the depacketizer will hold (a 4K intra frame is
/// well below this).
const MAX_FRAGMENT_LEN: usize = 8 << 20;

fn obu_type(header: u8) -> u8 {
    (header >> 3) & 0x0f
}

/// RTP spec §4.4: the aggregation header, as an owned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Av1AggregationHeader {
    /// Z: the first OBU element continues an OBU fragment of the previous packet.
    pub continuation: bool,
    /// Y: the last OBU element continues in the next packet.
    pub continues: bool,
    /// W: number of OBU elements (1–3, the last without a length), or 0 when
    /// every element has a length field.
    pub element_count: u8,
    /// N: the packet is the first of a coded video sequence.
    pub new_coded_video_sequence: bool,
}

impl Av1AggregationHeader {
    /// Parse the first byte of a payload.
    pub fn parse(byte: u8) -> Self {
        Self {
            continuation: byte & Z_BIT != 0,
            continues: byte & Y_BIT != 0,
            element_count: (byte & W_MASK) >> W_SHIFT,
            new_coded_video_sequence: byte & N_BIT != 0,
        }
    }

    /// The header byte.
    pub fn to_byte(self) -> u8 {
        let mut b = (self.element_count.min(3) << W_SHIFT) & W_MASK;
        if self.continuation {
            b |= Z_BIT;
        }
        if self.continues {
            b |= Y_BIT;
        }
        if self.new_coded_video_sequence {
            b |= N_BIT;
        }
        b
    }
}

/// One OBU of the input as it will be sent: header (size flag cleared) and
/// optional extension, then the payload.
struct Element<'a> {
    header: [u8; 2],
    header_len: usize,
    payload: &'a [u8],
}

impl Element<'_> {
    fn len(&self) -> usize {
        self.header_len + self.payload.len()
    }

    /// Bytes `from..to` of the element.
    fn write(&self, from: usize, to: usize, out: &mut Payloads) {
        let hl = self.header_len;
        if from < hl {
            out.extend(self.header.get(from..to.min(hl)).unwrap_or(&[]));
        }
        if to > hl {
            out.extend(self.payload.get(from.max(hl) - hl..to - hl).unwrap_or(&[]));
        }
    }
}

/// Iterate the OBUs of a low-overhead bitstream.
fn obus(mut data: &[u8]) -> impl Iterator<Item = Result<Element<'_>, CodecError>> {
    std::iter::from_fn(move || {
        let &h = data.first()?;
        let mut at = 1;
        let mut header = [h & !OBU_HAS_SIZE_FIELD, 0];
        if h & OBU_EXTENSION_FLAG != 0 {
            let Some(&e) = data.get(1) else {
                data = &[];
                return Some(Err(CodecError::Truncated {
                    what: "AV1 OBU extension header",
                }));
            };
            header[1] = e;
            at = 2;
        }
        let header_len = at;
        let payload;
        if h & OBU_HAS_SIZE_FIELD != 0 {
            let Some((size, n)) = read_leb128(data.get(at..).unwrap_or(&[])) else {
                data = &[];
                return Some(Err(CodecError::Truncated {
                    what: "AV1 obu_size",
                }));
            };
            at += n;
            let end = usize::try_from(size).ok().and_then(|s| at.checked_add(s));
            let Some(p) = end.and_then(|e| data.get(at..e)) else {
                data = &[];
                return Some(Err(CodecError::Truncated {
                    what: "AV1 OBU payload",
                }));
            };
            payload = p;
            data = data.get(at + p.len()..).unwrap_or(&[]);
        } else {
            payload = data.get(at..).unwrap_or(&[]);
            data = &[];
        }
        Some(Ok(Element {
            header,
            header_len,
            payload,
        }))
    })
}

/// AV1 RTP packetizer: OBU elements with leb128 lengths (W=0), OBUs
/// fragmented across packets where they do not fit, N=1 on the first packet
/// of a temporal unit that carries a sequence header.
#[derive(Debug, Clone, Default)]
pub struct Av1Packetizer {
    _private: (),
}

impl Av1Packetizer {
    /// A new packetizer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Packetizer for Av1Packetizer {
    fn packetize(
        &mut self,
        frame: &[u8],
        mtu: usize,
        out: &mut Payloads,
    ) -> Result<(), CodecError> {
        out.clear();
        // Aggregation header, a length byte and one byte of OBU.
        if mtu < AGGREGATION_HEADER_LEN + 2 {
            return Err(CodecError::MtuTooSmall {
                mtu,
                needed: AGGREGATION_HEADER_LEN + 2,
            });
        }
        let mut has_sequence_header = false;
        for e in obus(frame) {
            if obu_type(e?.header[0]) == OBU_SEQUENCE_HEADER {
                has_sequence_header = true;
            }
        }
        let mut agg = Av1AggregationHeader {
            new_coded_video_sequence: has_sequence_header,
            ..Default::default()
        };
        let mut open = false;
        let mut elements_in_packet = 0usize;
        let mut leb = [0u8; LEB128_MAX];
        for e in obus(frame) {
            let e = e?;
            let t = obu_type(e.header[0]);
            if t == OBU_TEMPORAL_DELIMITER || t == OBU_TILE_LIST {
                continue;
            }
            let mut from = 0;
            while from < e.len() {
                if !open {
                    out.extend(&[agg.to_byte()]);
                    open = true;
                    elements_in_packet = 0;
                }
                let room = mtu - out.open_len();
                let left = e.len() - from;
                let fits = leb128_len(left as u64) + left <= room;
                let take = if fits {
                    left
                } else {
                    room.saturating_sub(leb128_len(room as u64))
                };
                if take == 0 {
                    // No room for even a byte: close this packet.
                    out.finish(false);
                    open = false;
                    agg.new_coded_video_sequence = false;
                    agg.continuation = false;
                    continue;
                }
                let n = write_leb128(take as u64, &mut leb);
                out.extend(leb.get(..n).unwrap_or(&[]));
                e.write(from, from + take, out);
                elements_in_packet += 1;
                from += take;
                if !fits {
                    // Fragmented: set Y on this packet, Z on the next.
                    if let Some(h) = out.open_bytes_mut().first_mut() {
                        *h |= Y_BIT;
                    }
                    out.finish(false);
                    open = false;
                    agg.new_coded_video_sequence = false;
                    agg.continuation = true;
                } else {
                    agg.continuation = false;
                }
            }
        }
        if open && elements_in_packet > 0 {
            out.finish(false);
        }
        if out.is_empty() {
            return Err(CodecError::EmptyFrame);
        }
        out.mark_last();
        Ok(())
    }
}

/// AV1 RTP depacketizer: joins OBU fragments (in a reused buffer) and writes
/// each OBU with `obu_has_size_field` = 1 and its size.
#[derive(Debug, Clone, Default)]
pub struct Av1Depacketizer {
    /// The OBU fragment in progress (element bytes, no size field).
    fragment: Vec<u8>,
    /// Sequence number the next fragment must carry, while one is in progress.
    next_sequence: Option<u16>,
}

impl Av1Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Write a complete OBU element as a low-overhead bitstream OBU.
fn emit_obu(element: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
    let Some(&h) = element.first() else {
        return Ok(()); // RTP spec §4.3: zero-length elements carry nothing.
    };
    if h & OBU_HAS_SIZE_FIELD != 0 {
        // The sender kept the size field: pass the OBU through unchanged.
        out.extend_from_slice(element);
        return Ok(());
    }
    let hl = if h & OBU_EXTENSION_FLAG != 0 { 2 } else { 1 };
    let header = element.get(..hl).ok_or(CodecError::Truncated {
        what: "AV1 OBU extension header",
    })?;
    let payload = element.get(hl..).unwrap_or(&[]);
    out.push(h | OBU_HAS_SIZE_FIELD);
    out.extend_from_slice(header.get(1..).unwrap_or(&[]));
    let mut leb = [0u8; LEB128_MAX];
    let n = write_leb128(payload.len() as u64, &mut leb);
    out.extend_from_slice(leb.get(..n).unwrap_or(&[]));
    out.extend_from_slice(payload);
    Ok(())
}

/// Iterate the OBU elements of a payload body per the W field.
fn elements(body: &[u8], w: u8) -> impl Iterator<Item = Result<&[u8], CodecError>> {
    let mut rest = body;
    let mut index = 0u8;
    std::iter::from_fn(move || {
        if rest.is_empty() || (w != 0 && index >= w) {
            return None;
        }
        index += 1;
        if w != 0 && index == w {
            let e = rest;
            rest = &[];
            return Some(Ok(e));
        }
        let Some((len, n)) = read_leb128(rest) else {
            rest = &[];
            return Some(Err(CodecError::Truncated {
                what: "AV1 OBU element length",
            }));
        };
        let end = usize::try_from(len).ok().and_then(|l| l.checked_add(n));
        let Some(e) = end.and_then(|end| rest.get(n..end)) else {
            rest = &[];
            return Some(Err(CodecError::Truncated {
                what: "AV1 OBU element",
            }));
        };
        rest = rest.get(n + e.len()..).unwrap_or(&[]);
        Some(Ok(e))
    })
}

impl Depacketizer for Av1Depacketizer {
    fn depacketize(
        &mut self,
        payload: &[u8],
        info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let Some(&h) = payload.first() else {
            return Ok(());
        };
        let agg = Av1AggregationHeader::parse(h);
        let body = payload.get(AGGREGATION_HEADER_LEN..).unwrap_or(&[]);
        let in_progress = self.next_sequence.take();
        let continuing = match in_progress {
            Some(s) if agg.continuation && s == info.sequence => true,
            Some(_) | None => {
                self.fragment.clear();
                false
            }
        };
        let count = elements(body, agg.element_count).count();
        let rollback = out.len();
        let mut broken = false;
        for (i, e) in elements(body, agg.element_count).enumerate() {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    out.truncate(rollback);
                    self.fragment.clear();
                    return Err(err);
                }
            };
            let first = i == 0;
            let last = i + 1 == count;
            if first && agg.continuation {
                if !continuing {
                    broken = true;
                    if last && agg.continues {
                        // A middle fragment of a unit whose start was lost.
                        return Err(CodecError::BrokenFragment);
                    }
                    continue;
                }
                if self.fragment.len() + e.len() > MAX_FRAGMENT_LEN {
                    self.fragment.clear();
                    return Err(CodecError::FrameTooLarge);
                }
                self.fragment.extend_from_slice(e);
                if last && agg.continues {
                    self.next_sequence = Some(info.sequence.wrapping_add(1));
                    return Ok(());
                }
                let r = emit_obu(&self.fragment, out);
                self.fragment.clear();
                if let Err(err) = r {
                    out.truncate(rollback);
                    return Err(err);
                }
                continue;
            }
            if last && agg.continues {
                self.fragment.clear();
                self.fragment.extend_from_slice(e);
                self.next_sequence = Some(info.sequence.wrapping_add(1));
                continue;
            }
            if let Err(err) = emit_obu(e, out) {
                out.truncate(rollback);
                return Err(err);
            }
        }
        if broken {
            return Err(CodecError::BrokenFragment);
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.fragment.clear();
        self.next_sequence = None;
    }

    /// RTP spec §4.4 / libwebrtc: N=1 starts a coded video sequence, which
    /// begins with a key frame.
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        payload
            .first()
            .is_some_and(|&h| Av1AggregationHeader::parse(h).new_coded_video_sequence)
    }

    /// Z=0 and the first element is a sequence header, frame header, frame
    /// or metadata OBU: what a temporal unit begins with once its temporal
    /// delimiter is dropped.
    fn is_frame_start(&self, payload: &[u8]) -> bool {
        let Some(&h) = payload.first() else {
            return false;
        };
        let agg = Av1AggregationHeader::parse(h);
        if agg.continuation {
            return false;
        }
        if agg.new_coded_video_sequence {
            return true;
        }
        let body = payload.get(AGGREGATION_HEADER_LEN..).unwrap_or(&[]);
        match elements(body, agg.element_count).next() {
            Some(Ok(e)) => e.first().is_some_and(|&o| {
                matches!(
                    obu_type(o),
                    OBU_SEQUENCE_HEADER | OBU_FRAME_HEADER | OBU_FRAME | OBU_METADATA
                )
            }),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obu(t: u8, ext: Option<u8>, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(t << 3) | OBU_HAS_SIZE_FIELD | if ext.is_some() { 4 } else { 0 }];
        v.extend(ext);
        let mut leb = [0; LEB128_MAX];
        let n = write_leb128(payload.len() as u64, &mut leb);
        v.extend_from_slice(&leb[..n]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn aggregation_header_bits() {
        let h = Av1AggregationHeader {
            continuation: true,
            continues: false,
            element_count: 2,
            new_coded_video_sequence: true,
        };
        assert_eq!(h.to_byte(), 0xa8);
        assert_eq!(Av1AggregationHeader::parse(0xa8), h);
    }

    #[test]
    fn drops_temporal_delimiter_strips_and_restores_sizes() {
        let seq = obu(OBU_SEQUENCE_HEADER, None, &[0, 0, 0, 0x42]);
        let frame = obu(OBU_FRAME, Some(0x28), &[7; 40]);
        let mut tu = obu(OBU_TEMPORAL_DELIMITER, None, &[]);
        tu.extend(&seq);
        tu.extend(&frame);
        let mut out = Payloads::new();
        Av1Packetizer::new().packetize(&tu, 1200, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let (p, m) = out.get(0).unwrap();
        assert!(m);
        // N=1, W=0; element 1: length 5, header 0x08 (no size field).
        assert_eq!(p[..3], [0x08, 5, 0x08]);
        let mut d = Av1Depacketizer::new();
        assert!(d.is_keyframe(p) && d.is_frame_start(p));
        let mut got = vec![];
        d.depacketize(p, RtpInfo::default(), &mut got).unwrap();
        let mut want = seq.clone();
        want.extend(&frame);
        assert_eq!(got, want);
    }

    #[test]
    fn fragments_across_packets_with_z_and_y() {
        let frame = obu(OBU_FRAME, None, &[9; 500]);
        let mut out = Payloads::new();
        Av1Packetizer::new()
            .packetize(&frame, 200, &mut out)
            .unwrap();
        assert_eq!(out.len(), 3);
        let hdrs: Vec<u8> = out.iter().map(|(p, _)| p[0]).collect();
        assert_eq!(hdrs, [0x40, 0xc0, 0x80]);
        let mut d = Av1Depacketizer::new();
        assert!(!d.is_keyframe(out.get(0).unwrap().0));
        let mut got = vec![];
        for (i, (p, _)) in out.iter().enumerate() {
            let info = RtpInfo {
                sequence: 65535u16.wrapping_add(i as u16),
                ..Default::default()
            };
            d.depacketize(p, info, &mut got).unwrap();
        }
        assert_eq!(got, frame);
        // A lost middle packet: the OBU is dropped, not spliced.
        got.clear();
        d.reset();
        let info = |s| RtpInfo {
            sequence: s,
            ..Default::default()
        };
        d.depacketize(out.get(0).unwrap().0, info(1), &mut got)
            .unwrap();
        let r = d.depacketize(out.get(2).unwrap().0, info(3), &mut got);
        assert_eq!(r, Err(CodecError::BrokenFragment));
        assert!(got.is_empty());
    }

    #[test]
    fn w_count_elements_parse() {
        // W=2: first element has a length, the last takes the rest.
        let p = [0x20u8, 2, 0x30, 0xaa, 0x18, 1, 2];
        let mut got = vec![];
        Av1Depacketizer::new()
            .depacketize(&p, RtpInfo::default(), &mut got)
            .unwrap();
        assert_eq!(got, [0x32, 1, 0xaa, 0x1a, 2, 1, 2]);
    }
}
