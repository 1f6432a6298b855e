//! VP9 (RFC 9628): the payload descriptor in flexible and non-flexible
//! modes, the scalability structure, a single-spatial-layer packetizer and a
//! depacketizer.

use super::bits::BitReader;
use super::{CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};

// RFC 9628 §4.2: bits of the first descriptor octet.
const I_BIT: u8 = 0x80;
const P_BIT: u8 = 0x40;
const L_BIT: u8 = 0x20;
const F_BIT: u8 = 0x10;
const B_BIT: u8 = 0x08;
const E_BIT: u8 = 0x04;
const V_BIT: u8 = 0x02;
const Z_BIT: u8 = 0x01;
const M_BIT: u8 = 0x80;
/// P_DIFF's N bit: another P_DIFF follows.
const N_BIT: u8 = 0x01;
/// RFC 9628 §4.2: at most 3 reference indices.
const MAX_P_DIFFS: usize = 3;
/// RFC 9628 §4.2.1: N_S is 3 bits, so up to 8 spatial layers.
const MAX_SPATIAL_LAYERS: usize = 8;
/// Largest descriptor without SS: 1 + 2 + 1 + 1 + 3.
const MAX_DESCRIPTOR_LEN: usize = 8;
/// The SS the packetizer writes: 1 + 4 + 1 + 1 + 1.
const PACKETIZER_SS_LEN: usize = 8;

/// RFC 9628 §4.2: layer indices (L=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp9LayerIndices {
    /// TID: temporal layer (0–7).
    pub tid: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// SID: spatial layer (0–7).
    pub sid: u8,
    /// D: inter-layer dependency used.
    pub inter_layer_dependent: bool,
}

/// RFC 9628 §4.2: the VP9 payload descriptor (without the SS, which
/// [`Vp9Packet::scalability_structure`] parses on demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp9Descriptor {
    /// I: PictureID, 7 or 15 bits.
    pub picture_id: Option<u16>,
    /// M: PictureID written in 15 bits.
    pub picture_id_15bit: bool,
    /// P: inter-picture predicted.
    pub inter_picture_predicted: bool,
    /// F: flexible mode.
    pub flexible: bool,
    /// B: start of a layer frame.
    pub start_of_frame: bool,
    /// E: end of a layer frame.
    pub end_of_frame: bool,
    /// V: a scalability structure follows the descriptor.
    pub has_scalability_structure: bool,
    /// Z: not used as reference by upper spatial layers.
    pub not_upper_reference: bool,
    /// L: layer indices.
    pub layer: Option<Vp9LayerIndices>,
    /// TL0PICIDX, present in non-flexible mode with L=1.
    pub tl0_pic_idx: Option<u8>,
    /// P_DIFFs (flexible mode, P=1): the first `p_diff_count` are valid.
    pub p_diffs: [u8; MAX_P_DIFFS],
    /// How many P_DIFFs are present.
    pub p_diff_count: u8,
}

impl Vp9Descriptor {
    /// The descriptor's length on the wire, without the SS.
    pub fn len(&self) -> usize {
        let mut n = 1;
        if self.picture_id.is_some() {
            n += if self.picture_id_15bit { 2 } else { 1 };
        }
        if self.layer.is_some() {
            n += 1;
            if !self.flexible {
                n += 1;
            }
        }
        if self.flexible && self.inter_picture_predicted {
            n += usize::from(self.p_diff_count);
        }
        n
    }

    /// A descriptor is never empty; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Write the descriptor and, if given, the SS (setting V); returns the
    /// length written.
    pub fn emit(
        &self,
        ss: Option<&Vp9ScalabilityStructure>,
        buf: &mut [u8],
    ) -> Result<usize, CodecError> {
        let ss_len = ss.map_or(0, Vp9ScalabilityStructure::len);
        let len = self.len() + ss_len;
        let total = buf.len();
        let buf = buf.get_mut(..len).ok_or(CodecError::MtuTooSmall {
            mtu: total,
            needed: len,
        })?;
        if self.flexible
            && self.inter_picture_predicted
            && (self.p_diff_count == 0 || usize::from(self.p_diff_count) > MAX_P_DIFFS)
        {
            return Err(CodecError::Invalid {
                what: "VP9 flexible mode with P=1 needs 1 to 3 P_DIFFs",
            });
        }
        let mut b0 = 0;
        for (bit, on) in [
            (I_BIT, self.picture_id.is_some()),
            (P_BIT, self.inter_picture_predicted),
            (L_BIT, self.layer.is_some()),
            (F_BIT, self.flexible),
            (B_BIT, self.start_of_frame),
            (E_BIT, self.end_of_frame),
            (V_BIT, ss.is_some()),
            (Z_BIT, self.not_upper_reference),
        ] {
            if on {
                b0 |= bit;
            }
        }
        let mut w = Writer { buf, at: 0 };
        w.put(b0);
        if let Some(pid) = self.picture_id {
            if self.picture_id_15bit {
                w.put(M_BIT | ((pid >> 8) as u8 & 0x7f));
                w.put(pid as u8);
            } else {
                w.put(pid as u8 & 0x7f);
            }
        }
        if let Some(l) = self.layer {
            w.put(
                ((l.tid & 7) << 5)
                    | (u8::from(l.switching_up) << 4)
                    | ((l.sid & 7) << 1)
                    | u8::from(l.inter_layer_dependent),
            );
            if !self.flexible {
                w.put(self.tl0_pic_idx.unwrap_or(0));
            }
        }
        if self.flexible && self.inter_picture_predicted {
            let n = usize::from(self.p_diff_count);
            for (i, d) in self.p_diffs.iter().take(n).enumerate() {
                w.put((d << 1) | u8::from(i + 1 < n));
            }
        }
        if let Some(ss) = ss {
            ss.write(&mut w);
        }
        Ok(w.at)
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    /// The caller sized `buf` from `len()`, so `at` stays in range; an
    /// overrun would be a bug and is ignored rather than panicking.
    fn put(&mut self, v: u8) {
        if let Some(b) = self.buf.get_mut(self.at) {
            *b = v;
        }
        self.at += 1;
    }
}

/// RFC 9628 §4.2.1: one entry of the picture group description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp9PictureGroup {
    /// TID of the pictures at this index.
    pub tid: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// R: how many of `p_diffs` are valid (0–3).
    pub p_diff_count: u8,
    /// The reference P_DIFFs.
    pub p_diffs: [u8; MAX_P_DIFFS],
}

/// RFC 9628 §4.2.1: the scalability structure (SS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vp9ScalabilityStructure {
    /// N_S + 1: the number of spatial layers (1–8).
    pub spatial_layers: u8,
    /// Y: width and height of each spatial layer.
    pub resolutions: Option<Vec<(u16, u16)>>,
    /// G: the picture group description (at most 255 entries).
    pub picture_group: Option<Vec<Vp9PictureGroup>>,
}

impl Vp9ScalabilityStructure {
    /// Length on the wire.
    pub fn len(&self) -> usize {
        let mut n = 1;
        if self.resolutions.is_some() {
            n += 4 * usize::from(self.spatial_layers.clamp(1, 8));
        }
        if let Some(g) = &self.picture_group {
            n += 1;
            for e in g.iter().take(255) {
                n += 1 + usize::from(e.p_diff_count.min(3));
            }
        }
        n
    }

    /// An SS is never empty; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn write(&self, w: &mut Writer<'_>) {
        let layers = self.spatial_layers.clamp(1, 8);
        w.put(
            ((layers - 1) << 5)
                | (u8::from(self.resolutions.is_some()) << 4)
                | (u8::from(self.picture_group.is_some()) << 3),
        );
        if let Some(r) = &self.resolutions {
            for i in 0..usize::from(layers) {
                let (wd, ht) = r.get(i).copied().unwrap_or((0, 0));
                for b in wd.to_be_bytes().into_iter().chain(ht.to_be_bytes()) {
                    w.put(b);
                }
            }
        }
        if let Some(g) = &self.picture_group {
            let g = g.get(..g.len().min(255)).unwrap_or(&[]);
            w.put(g.len() as u8);
            for e in g {
                let r = e.p_diff_count.min(3);
                w.put(((e.tid & 7) << 5) | (u8::from(e.switching_up) << 4) | (r << 2));
                for &d in e.p_diffs.iter().take(usize::from(r)) {
                    w.put(d);
                }
            }
        }
    }

    /// The length of the SS at the start of `b`, validated without
    /// allocating (what [`Vp9Packet::new_checked`] needs on every packet).
    pub fn wire_len(b: &[u8]) -> Result<usize, CodecError> {
        let trunc = CodecError::Truncated {
            what: "VP9 scalability structure",
        };
        let h = *b.first().ok_or(trunc)?;
        let mut at = 1;
        if h & 0x10 != 0 {
            at += 4 * (usize::from(h >> 5) + 1);
        }
        if h & 0x08 != 0 {
            let n = *b.get(at).ok_or(trunc)?;
            at += 1;
            for _ in 0..n {
                let e = *b.get(at).ok_or(trunc)?;
                at += 1 + usize::from((e >> 2) & 3);
            }
        }
        if b.len() < at {
            return Err(trunc);
        }
        Ok(at)
    }

    /// Parse an SS from the start of `b`; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Self, usize), CodecError> {
        let trunc = CodecError::Truncated {
            what: "VP9 scalability structure",
        };
        let h = *b.first().ok_or(trunc)?;
        let layers = (h >> 5) + 1;
        let mut at = 1;
        let mut ss = Vp9ScalabilityStructure {
            spatial_layers: layers,
            ..Default::default()
        };
        if h & 0x10 != 0 {
            let mut r = Vec::with_capacity(MAX_SPATIAL_LAYERS);
            for _ in 0..layers {
                let f = b.get(at..at + 4).ok_or(trunc)?;
                r.push((
                    u16::from_be_bytes([f[0], f[1]]),
                    u16::from_be_bytes([f[2], f[3]]),
                ));
                at += 4;
            }
            ss.resolutions = Some(r);
        }
        if h & 0x08 != 0 {
            let n = *b.get(at).ok_or(trunc)?;
            at += 1;
            let mut g = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                let e = *b.get(at).ok_or(trunc)?;
                at += 1;
                let r = (e >> 2) & 3;
                let mut p = [0; MAX_P_DIFFS];
                for slot in p.iter_mut().take(usize::from(r)) {
                    *slot = *b.get(at).ok_or(trunc)?;
                    at += 1;
                }
                g.push(Vp9PictureGroup {
                    tid: e >> 5,
                    switching_up: e & 0x10 != 0,
                    p_diff_count: r,
                    p_diffs: p,
                });
            }
            ss.picture_group = Some(g);
        }
        Ok((ss, at))
    }
}

/// RFC 9628 §4.2: a zero-copy view of a VP9 RTP payload.
#[derive(Debug, Clone)]
pub struct Vp9Packet<T: AsRef<[u8]>> {
    buf: T,
    descriptor: Vp9Descriptor,
    picture_id_at: Option<usize>,
    tl0_at: Option<usize>,
    ss_at: usize,
    header_len: usize,
}

impl<T: AsRef<[u8]>> Vp9Packet<T> {
    /// Parse and validate the descriptor and SS lengths.
    pub fn new_checked(buf: T) -> Result<Self, CodecError> {
        let b = buf.as_ref();
        let trunc = CodecError::Truncated {
            what: "VP9 payload descriptor",
        };
        let b0 = *b.first().ok_or(trunc)?;
        let mut d = Vp9Descriptor {
            inter_picture_predicted: b0 & P_BIT != 0,
            flexible: b0 & F_BIT != 0,
            start_of_frame: b0 & B_BIT != 0,
            end_of_frame: b0 & E_BIT != 0,
            has_scalability_structure: b0 & V_BIT != 0,
            not_upper_reference: b0 & Z_BIT != 0,
            ..Default::default()
        };
        let mut at = 1;
        let mut picture_id_at = None;
        let mut tl0_at = None;
        if b0 & I_BIT != 0 {
            let p = *b.get(at).ok_or(trunc)?;
            picture_id_at = Some(at);
            if p & M_BIT != 0 {
                let lo = *b.get(at + 1).ok_or(trunc)?;
                d.picture_id = Some((u16::from(p & 0x7f) << 8) | u16::from(lo));
                d.picture_id_15bit = true;
                at += 2;
            } else {
                d.picture_id = Some(u16::from(p));
                at += 1;
            }
        }
        if b0 & L_BIT != 0 {
            let l = *b.get(at).ok_or(trunc)?;
            at += 1;
            d.layer = Some(Vp9LayerIndices {
                tid: l >> 5,
                switching_up: l & 0x10 != 0,
                sid: (l >> 1) & 7,
                inter_layer_dependent: l & 1 != 0,
            });
            if !d.flexible {
                d.tl0_pic_idx = Some(*b.get(at).ok_or(trunc)?);
                tl0_at = Some(at);
                at += 1;
            }
        }
        if d.flexible && d.inter_picture_predicted {
            loop {
                let p = *b.get(at).ok_or(trunc)?;
                at += 1;
                let i = usize::from(d.p_diff_count);
                let slot = d.p_diffs.get_mut(i).ok_or(CodecError::Invalid {
                    what: "more than 3 VP9 P_DIFFs",
                })?;
                *slot = p >> 1;
                d.p_diff_count += 1;
                if p & N_BIT == 0 {
                    break;
                }
            }
        }
        let ss_at = at;
        if d.has_scalability_structure {
            at += Vp9ScalabilityStructure::wire_len(b.get(at..).unwrap_or(&[]))?;
        }
        Ok(Self {
            buf,
            descriptor: d,
            picture_id_at,
            tl0_at,
            ss_at,
            header_len: at,
        })
    }

    /// The parsed descriptor.
    pub fn descriptor(&self) -> Vp9Descriptor {
        self.descriptor
    }

    /// The SS, when V=1 (parsed again on each call; it allocates).
    pub fn scalability_structure(&self) -> Option<Vp9ScalabilityStructure> {
        if !self.descriptor.has_scalability_structure {
            return None;
        }
        let b = self.buf.as_ref().get(self.ss_at..)?;
        Vp9ScalabilityStructure::parse(b).ok().map(|(s, _)| s)
    }

    /// Descriptor plus SS length.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The VP9 data after the descriptor.
    pub fn payload(&self) -> &[u8] {
        self.buf.as_ref().get(self.header_len..).unwrap_or(&[])
    }

    /// B=1 in the base spatial layer (or without layer indices).
    pub fn is_frame_start(&self) -> bool {
        let d = &self.descriptor;
        d.start_of_frame && d.layer.is_none_or(|l| l.sid == 0)
    }

    /// RFC 9628 §4.2: P=0 on the first packet of the base spatial layer
    /// frame: the picture does not use inter-picture prediction.
    pub fn is_keyframe(&self) -> bool {
        self.is_frame_start() && !self.descriptor.inter_picture_predicted
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Vp9Packet<T> {
    /// Rewrite PictureID in place, keeping the field width. False if absent.
    pub fn set_picture_id(&mut self, id: u16) -> bool {
        let Some(at) = self.picture_id_at else {
            return false;
        };
        let long = self.descriptor.picture_id_15bit;
        let b = self.buf.as_mut();
        if long {
            if let Some(f) = b.get_mut(at..at + 2) {
                f.copy_from_slice(&[M_BIT | ((id >> 8) as u8 & 0x7f), id as u8]);
            }
            self.descriptor.picture_id = Some(id & 0x7fff);
        } else {
            if let Some(f) = b.get_mut(at) {
                *f = id as u8 & 0x7f;
            }
            self.descriptor.picture_id = Some(id & 0x7f);
        }
        true
    }

    /// Rewrite TL0PICIDX in place (non-flexible mode). False if absent.
    pub fn set_tl0_pic_idx(&mut self, idx: u8) -> bool {
        let Some(at) = self.tl0_at else {
            return false;
        };
        if let Some(f) = self.buf.as_mut().get_mut(at) {
            *f = idx;
        }
        self.descriptor.tl0_pic_idx = Some(idx);
        true
    }
}

/// What the packetizer needs from a VP9 uncompressed header (VP9 bitstream
/// spec §6.2): whether it is a key frame and, if so, its size.
fn parse_uncompressed_header(frame: &[u8]) -> Option<(bool, Option<(u16, u16)>)> {
    let mut r = BitReader::new(frame);
    if r.bits(2)? != 2 {
        return None; // frame_marker
    }
    let low = r.bits(1)?;
    let high = r.bits(1)?;
    let profile = (high << 1) | low;
    if profile == 3 {
        r.bits(1)?;
    }
    if r.bit()? {
        return Some((false, None)); // show_existing_frame
    }
    let key = !r.bit()?; // frame_type 0 = KEY_FRAME
    r.bits(2)?; // show_frame, error_resilient_mode
    if !key {
        return Some((false, None));
    }
    if r.bits(24)? != 0x49_83_42 {
        return None; // frame_sync_code
    }
    if profile >= 2 {
        r.bits(1)?; // ten_or_twelve_bit
    }
    let color_space = r.bits(3)?;
    if color_space != 7 {
        r.bits(1)?; // color_range
        if profile == 1 || profile == 3 {
            r.bits(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        r.bits(1)?;
    }
    let w = r.bits(16)? + 1;
    let h = r.bits(16)? + 1;
    Some((true, u16::try_from(w).ok().zip(u16::try_from(h).ok())))
}

/// RFC 9628 packetizer for one spatial layer in non-flexible mode: 15-bit
/// PictureID incrementing per frame, layer indices TID=0/SID=0 with a
/// TL0PICIDX incrementing per frame, and on key frames an SS (one spatial
/// layer, its resolution read from the uncompressed header, and a
/// one-entry picture group referencing the previous picture).
#[derive(Debug, Clone)]
pub struct Vp9Packetizer {
    picture_id: u16,
    tl0_pic_idx: u8,
}

impl Vp9Packetizer {
    /// Start at `initial_picture_id` (15 bits).
    pub fn new(initial_picture_id: u16) -> Self {
        Self {
            picture_id: initial_picture_id & 0x7fff,
            tl0_pic_idx: 0,
        }
    }
}

impl Packetizer for Vp9Packetizer {
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
        let (key, size) = parse_uncompressed_header(frame).unwrap_or((false, None));
        let mut d = Vp9Descriptor {
            picture_id: Some(self.picture_id),
            picture_id_15bit: true,
            inter_picture_predicted: !key,
            start_of_frame: true,
            layer: Some(Vp9LayerIndices::default()),
            tl0_pic_idx: Some(self.tl0_pic_idx),
            ..Default::default()
        };
        // RFC 9628 §4.2.1 SS for one spatial layer, written by hand so a key
        // frame does not allocate: N_S=0, Y (if the size is known), G=1 with
        // one picture group entry (TID 0, R=1, P_DIFF 1).
        let mut ss = [0u8; PACKETIZER_SS_LEN];
        let ss_len = match (key, size) {
            (false, _) => 0,
            (true, Some((w, h))) => {
                let [w0, w1] = w.to_be_bytes();
                let [h0, h1] = h.to_be_bytes();
                ss = [0x18, w0, w1, h0, h1, 1, 0x04, 1];
                8
            }
            (true, None) => {
                ss[..4].copy_from_slice(&[0x08, 1, 0x04, 1]);
                4
            }
        };
        let mut hdr = [0u8; MAX_DESCRIPTOR_LEN];
        let base = d.len();
        let first = base + ss_len;
        if mtu <= first {
            return Err(CodecError::MtuTooSmall {
                mtu,
                needed: first + 1,
            });
        }
        let mut rest = frame;
        let mut first_packet = true;
        while !rest.is_empty() {
            let hlen = if first_packet { first } else { base };
            let n = rest.len().min(mtu - hlen);
            let (chunk, tail) = rest.split_at(n);
            d.end_of_frame = tail.is_empty();
            let written = d.emit(None, &mut hdr)?;
            let ss_here = if first_packet {
                ss.get(..ss_len).unwrap_or(&[])
            } else {
                &[]
            };
            if !ss_here.is_empty() {
                if let Some(b0) = hdr.first_mut() {
                    *b0 |= V_BIT;
                }
            }
            out.push(
                &[hdr.get(..written).unwrap_or(&[]), ss_here, chunk],
                tail.is_empty(),
            );
            d.start_of_frame = false;
            first_packet = false;
            rest = tail;
        }
        self.picture_id = self.picture_id.wrapping_add(1) & 0x7fff;
        self.tl0_pic_idx = self.tl0_pic_idx.wrapping_add(1);
        Ok(())
    }
}

/// RFC 9628 depacketizer: strips the descriptor, keeps the last one seen.
#[derive(Debug, Clone, Default)]
pub struct Vp9Depacketizer {
    last: Option<Vp9Descriptor>,
}

impl Vp9Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The descriptor of the last payload depacketized.
    pub fn last_descriptor(&self) -> Option<Vp9Descriptor> {
        self.last
    }
}

impl Depacketizer for Vp9Depacketizer {
    fn depacketize(
        &mut self,
        payload: &[u8],
        _info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Ok(());
        }
        let p = Vp9Packet::new_checked(payload)?;
        self.last = Some(p.descriptor());
        out.extend_from_slice(p.payload());
        Ok(())
    }

    fn is_keyframe(&self, payload: &[u8]) -> bool {
        Vp9Packet::new_checked(payload).is_ok_and(|p| p.is_keyframe())
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        Vp9Packet::new_checked(payload).is_ok_and(|p| p.is_frame_start())
    }

    /// The marker ends the picture (all spatial layers); E alone ends one
    /// layer frame, which is the picture's end only without spatial layers.
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        marker
            || Vp9Packet::new_checked(payload).is_ok_and(|p| {
                let d = p.descriptor();
                d.end_of_frame && d.layer.is_none()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flexible_descriptor_with_p_diffs_round_trips() {
        let d = Vp9Descriptor {
            picture_id: Some(0x55),
            inter_picture_predicted: true,
            flexible: true,
            start_of_frame: true,
            layer: Some(Vp9LayerIndices {
                tid: 2,
                switching_up: true,
                sid: 1,
                inter_layer_dependent: true,
            }),
            p_diffs: [1, 2, 3],
            p_diff_count: 3,
            ..Default::default()
        };
        let mut b = [0u8; 16];
        let n = d.emit(None, &mut b).unwrap();
        assert_eq!(b[..n], [0xf8, 0x55, 0x53, 0x03, 0x05, 0x06]);
        let p = Vp9Packet::new_checked(&b[..n]).unwrap();
        assert_eq!(p.descriptor(), d);
        assert!(!p.is_frame_start(), "SID 1 is not the picture's start");
    }

    #[test]
    fn too_many_p_diffs_is_invalid() {
        let b = [0x50u8, 0x03, 0x03, 0x03, 0x02];
        assert!(matches!(
            Vp9Packet::new_checked(&b[..]),
            Err(CodecError::Invalid { .. })
        ));
        // Pion rtp codecs/vp9_packet_test.go "FlexiblePictureIDRefIndex_TooManyPDiff".
        let b = [0xd0u8, 0x02, 0x03, 0x05, 0x07, 0x09, 0x10, 0xaa];
        assert!(Vp9Packet::new_checked(&b[..]).is_err());
    }

    // Pion rtp codecs/vp9_packet_test.go, TestVP9Packet_Unmarshal cases.
    #[test]
    fn pion_unmarshal_cases() {
        let p = Vp9Packet::new_checked(&[0x80u8, 0x81, 0xff, 0xaa][..]).unwrap();
        assert_eq!(p.descriptor().picture_id, Some(0x01ff));
        assert_eq!(p.payload(), &[0xaa]);
        // NonFlexibleLayerIndicePictureID
        let p = Vp9Packet::new_checked(&[0xa0u8, 0x02, 0x23, 0x01, 0xaa][..]).unwrap();
        let d = p.descriptor();
        assert_eq!(d.picture_id, Some(2));
        assert_eq!(
            d.layer,
            Some(Vp9LayerIndices {
                tid: 1,
                switching_up: false,
                sid: 1,
                inter_layer_dependent: true
            })
        );
        assert_eq!(d.tl0_pic_idx, Some(1));
        assert_eq!(p.payload(), &[0xaa]);
        // FlexibleLayerIndicePictureID: no TL0PICIDX in flexible mode.
        let p = Vp9Packet::new_checked(&[0xb0u8, 0x02, 0x23, 0x01, 0xaa][..]).unwrap();
        assert_eq!(p.descriptor().tl0_pic_idx, None);
        assert_eq!(p.payload(), &[0x01, 0xaa]);
        // FlexiblePictureIDRefIndex
        let p = Vp9Packet::new_checked(&[0xd0u8, 0x02, 0x03, 0x04, 0xaa][..]).unwrap();
        let d = p.descriptor();
        assert_eq!((d.p_diff_count, &d.p_diffs[..2]), (2, &[1u8, 2][..]));
        for short in [
            &[0xa0u8, 0x02, 0x23][..],
            &[0xa0, 0x02],
            &[0xd0, 0x02, 0x03],
            &[0x80, 0x81],
        ] {
            assert!(Vp9Packet::new_checked(short).is_err(), "{short:02x?}");
        }
        // ScalabilityStructureResolutionsNoPayload
        let b = [0x0au8, 0x30, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0];
        let ss = Vp9Packet::new_checked(&b[..])
            .unwrap()
            .scalability_structure()
            .unwrap();
        assert_eq!(ss.spatial_layers, 2);
        assert_eq!(ss.resolutions, Some(vec![(640, 360), (1280, 720)]));
        // ScalabilityStructureNoPayload
        let b = [0x0au8, 0x28, 2, 0x10, 0x44, 33];
        let ss = Vp9Packet::new_checked(&b[..])
            .unwrap()
            .scalability_structure()
            .unwrap();
        let g = ss.picture_group.unwrap();
        assert_eq!(
            (g[0].tid, g[0].switching_up, g[0].p_diff_count),
            (0, true, 0)
        );
        assert_eq!((g[1].tid, g[1].p_diff_count, g[1].p_diffs[0]), (2, 1, 33));
        // "ScalabilityMissingWidth": Y=1 with two layers but no sizes.
        assert!(Vp9Packet::new_checked(&b"200"[..]).is_err());
        // (Pion's other ASCII-string SS cases are not taken: by RFC 9628's
        // field order, e.g. "20B0" is a complete 1-byte SS.)
    }

    // Pion rtp codecs/vp9_packet_test.go, "non-flexible OnePacket key frame":
    // Pion's payloader output for a real key frame header; its SS carries
    // the size Pion read from that header, which ours must agree with.
    #[test]
    fn pion_key_frame_payload() {
        let frame = [0x82u8, 0x49, 0x83, 0x42, 0x00, 0x77, 0xf0, 0x32, 0x34];
        let payload = [
            0x8fu8, 0xa1, 0xf4, 0x18, 0x07, 0x80, 0x03, 0x24, 0x01, 0x14, 0x01, 0x82, 0x49, 0x83,
            0x42, 0x00, 0x77, 0xf0, 0x32, 0x34,
        ];
        let p = Vp9Packet::new_checked(&payload[..]).unwrap();
        let d = p.descriptor();
        assert_eq!(d.picture_id, Some(0x21f4));
        assert!(d.start_of_frame && d.end_of_frame && !d.inter_picture_predicted);
        assert!(p.is_keyframe());
        let ss = p.scalability_structure().unwrap();
        assert_eq!(ss.resolutions, Some(vec![(1920, 804)]));
        let g = ss.picture_group.unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(
            (g[0].switching_up, g[0].p_diff_count, g[0].p_diffs[0]),
            (true, 1, 1)
        );
        assert_eq!(p.payload(), &frame);
        assert_eq!(
            parse_uncompressed_header(&frame),
            Some((true, Some((1920, 804))))
        );
        // "non-flexible OnePacket non key frame": P=1, not a key frame.
        let inter = [
            0xcdu8, 0xa1, 0xf4, 0x86, 0x00, 0x40, 0x92, 0xe1, 0x31, 0x42, 0x8c, 0xc0, 0x40,
        ];
        let p = Vp9Packet::new_checked(&inter[..]).unwrap();
        assert!(p.is_frame_start() && !p.is_keyframe());
        assert_eq!(parse_uncompressed_header(p.payload()), Some((false, None)));
    }

    #[test]
    fn scalability_structure_round_trips() {
        let ss = Vp9ScalabilityStructure {
            spatial_layers: 2,
            resolutions: Some(vec![(320, 180), (640, 360)]),
            picture_group: Some(vec![
                Vp9PictureGroup {
                    tid: 0,
                    switching_up: false,
                    p_diff_count: 1,
                    p_diffs: [4, 0, 0],
                },
                Vp9PictureGroup {
                    tid: 1,
                    switching_up: true,
                    p_diff_count: 2,
                    p_diffs: [1, 2, 0],
                },
            ]),
        };
        let d = Vp9Descriptor {
            start_of_frame: true,
            ..Default::default()
        };
        let mut b = [0u8; 64];
        let n = d.emit(Some(&ss), &mut b).unwrap();
        assert_eq!(n, 1 + ss.len());
        assert_eq!(b[..2], [0x0a, 0x38]);
        let p = Vp9Packet::new_checked(&b[..n]).unwrap();
        assert_eq!(p.scalability_structure(), Some(ss));
        assert!(p.is_keyframe());
        assert!(Vp9Packet::new_checked(&b[..n - 1]).is_err());
    }

    #[test]
    fn non_flexible_setters_rewrite_in_place() {
        let mut b = [I_BIT | L_BIT | B_BIT, 0x80 | 0x12, 0x34, 0x00, 7, 0xaa];
        let mut p = Vp9Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!(p.descriptor().tl0_pic_idx, Some(7));
        assert!(p.set_picture_id(0x0102) && p.set_tl0_pic_idx(9));
        assert_eq!(b[..5], [0xa8, 0x81, 0x02, 0x00, 9]);
    }

    /// A VP9 key frame header (profile 0, 8-bit, BT.601, 64x48): frame
    /// marker 2, profile 0, show_existing 0, frame_type 0, show 1, error
    /// resilient 0, sync code, color space 1, range 0, width-1 63, height-1 47.
    fn vp9_key_header() -> Vec<u8> {
        let bits = [
            "10000010", // frame_marker, profile 0/0, show_existing, frame_type, show, err_res
            "010010011000001101000010", // frame_sync_code 0x498342
            "0010",     // color_space 1 (BT.601), color_range 0
            "0000000000111111", // frame_width_minus_1 = 63
            "0000000000101111", // frame_height_minus_1 = 47
        ]
        .concat();
        let mut v = vec![];
        for c in bits.as_bytes().chunks(8) {
            let s = std::str::from_utf8(c).unwrap();
            v.push(u8::from_str_radix(&format!("{s:0<8}"), 2).unwrap());
        }
        v
    }

    #[test]
    fn packetizer_writes_ss_on_keyframes_only() {
        let mut frame = vp9_key_header();
        assert_eq!(
            parse_uncompressed_header(&frame),
            Some((true, Some((64, 48))))
        );
        frame.extend(std::iter::repeat_n(0x5a, 500));
        let mut pk = Vp9Packetizer::new(0x7fff);
        let mut out = Payloads::new();
        pk.packetize(&frame, 200, &mut out).unwrap();
        let dep = Vp9Depacketizer::new();
        let (first, _) = out.get(0).unwrap();
        let p = Vp9Packet::new_checked(first).unwrap();
        assert!(p.is_keyframe() && dep.is_keyframe(first));
        let ss = p.scalability_structure().unwrap();
        assert_eq!(ss.resolutions, Some(vec![(64, 48)]));
        let g = ss.picture_group.unwrap();
        assert_eq!(
            (g.len(), g[0].tid, g[0].p_diff_count, g[0].p_diffs[0]),
            (1, 0, 1, 1)
        );
        assert_eq!(p.descriptor().picture_id, Some(0x7fff));
        let (last, m) = out.get(out.len() - 1).unwrap();
        assert!(
            m && Vp9Packet::new_checked(last)
                .unwrap()
                .descriptor()
                .end_of_frame
        );
        // An inter frame: marker 2, profile 0, frame_type 1.
        pk.packetize(&[0x84, 0, 0, 0], 200, &mut out).unwrap();
        let (p, _) = out.get(0).unwrap();
        let v = Vp9Packet::new_checked(p).unwrap();
        assert!(!v.is_keyframe() && v.is_frame_start());
        assert_eq!(v.descriptor().picture_id, Some(0));
        assert_eq!(v.descriptor().tl0_pic_idx, Some(1));
        assert!(v.scalability_structure().is_none());
    }
}
