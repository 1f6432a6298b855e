//! VP8 (RFC 7741): the payload descriptor, a packetizer and a depacketizer.

use super::{CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};

// RFC 7741 §4.2: bits of the first descriptor octet.
const X_BIT: u8 = 0x80;
const N_BIT: u8 = 0x20;
const S_BIT: u8 = 0x10;
const PID_MASK: u8 = 0x07;
// Bits of the extension octet (X=1).
const I_BIT: u8 = 0x80;
const L_BIT: u8 = 0x40;
const T_BIT: u8 = 0x20;
const K_BIT: u8 = 0x10;
// PictureID's M bit: 15-bit PictureID.
const M_BIT: u8 = 0x80;
/// Offset of the extension octet.
const EXT_OFFSET: usize = 1;
/// Offset of the first optional field after the extension octet.
const OPT_OFFSET: usize = 2;
/// Largest descriptor: 1 + 1 + 2 + 1 + 1.
pub(crate) const MAX_DESCRIPTOR_LEN: usize = 6;

/// RFC 7741 §4.2: the VP8 payload descriptor, as an owned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp8Descriptor {
    /// N: the frame can be discarded without affecting others.
    pub non_reference: bool,
    /// S: this packet starts a VP8 partition.
    pub start_of_partition: bool,
    /// PID: the partition index (0–7).
    pub partition_index: u8,
    /// I: PictureID, 7 or 15 bits.
    pub picture_id: Option<u16>,
    /// M: whether `picture_id` is written in 15 bits.
    pub picture_id_15bit: bool,
    /// L: TL0PICIDX, the running index of base temporal layer frames.
    pub tl0_pic_idx: Option<u8>,
    /// T: TID, the temporal layer index (0–3).
    pub tid: Option<u8>,
    /// Y: layer sync, meaningful when `tid` is present.
    pub layer_sync: bool,
    /// K: KEYIDX, the temporal key frame index (0–31).
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    fn has_extension(&self) -> bool {
        self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.tid.is_some()
            || self.key_idx.is_some()
    }

    /// The descriptor's length on the wire.
    pub fn len(&self) -> usize {
        let mut n = 1;
        if self.has_extension() {
            n += 1;
            if self.picture_id.is_some() {
                n += if self.picture_id_15bit { 2 } else { 1 };
            }
            n += usize::from(self.tl0_pic_idx.is_some());
            n += usize::from(self.tid.is_some() || self.key_idx.is_some());
        }
        n
    }

    /// A descriptor is never empty; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Write the descriptor at the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, CodecError> {
        let len = self.len();
        let total = buf.len();
        let buf = buf.get_mut(..len).ok_or(CodecError::MtuTooSmall {
            mtu: total,
            needed: len,
        })?;
        let mut b0 = self.partition_index & PID_MASK;
        if self.non_reference {
            b0 |= N_BIT;
        }
        if self.start_of_partition {
            b0 |= S_BIT;
        }
        let mut i = 1;
        if self.has_extension() {
            b0 |= X_BIT;
            let mut ext = 0;
            let ext_at = i;
            i += 1;
            if let Some(pid) = self.picture_id {
                ext |= I_BIT;
                if self.picture_id_15bit {
                    set(buf, i, M_BIT | ((pid >> 8) as u8 & 0x7f));
                    set(buf, i + 1, pid as u8);
                    i += 2;
                } else {
                    set(buf, i, pid as u8 & 0x7f);
                    i += 1;
                }
            }
            if let Some(t) = self.tl0_pic_idx {
                ext |= L_BIT;
                set(buf, i, t);
                i += 1;
            }
            if self.tid.is_some() || self.key_idx.is_some() {
                let mut tk = 0;
                if let Some(tid) = self.tid {
                    ext |= T_BIT;
                    tk |= (tid & 0x03) << 6;
                    if self.layer_sync {
                        tk |= 0x20;
                    }
                }
                if let Some(k) = self.key_idx {
                    ext |= K_BIT;
                    tk |= k & 0x1f;
                }
                set(buf, i, tk);
            }
            set(buf, ext_at, ext);
        }
        set(buf, 0, b0);
        Ok(len)
    }
}

/// Store `v` at `buf[i]`; `i` is always within a slice sized by `len()`.
fn set(buf: &mut [u8], i: usize, v: u8) {
    if let Some(b) = buf.get_mut(i) {
        *b = v;
    }
}

/// RFC 7741 §4.2: a zero-copy view of a VP8 RTP payload (descriptor and
/// VP8 data), validated once by [`Vp8Packet::new_checked`].
#[derive(Debug, Clone)]
pub struct Vp8Packet<T: AsRef<[u8]>> {
    buf: T,
    header_len: usize,
    picture_id_at: Option<usize>,
    tl0_at: Option<usize>,
}

impl<T: AsRef<[u8]>> Vp8Packet<T> {
    /// Validate the descriptor's length against the buffer.
    pub fn new_checked(buf: T) -> Result<Self, CodecError> {
        let b = buf.as_ref();
        let b0 = *b.first().ok_or(CodecError::Truncated {
            what: "VP8 payload descriptor",
        })?;
        let mut i = 1;
        let mut picture_id_at = None;
        let mut tl0_at = None;
        if b0 & X_BIT != 0 {
            let trunc = CodecError::Truncated {
                what: "VP8 payload descriptor extension",
            };
            let ext = *b.get(EXT_OFFSET).ok_or(trunc)?;
            i = OPT_OFFSET;
            if ext & I_BIT != 0 {
                let p = *b.get(i).ok_or(trunc)?;
                picture_id_at = Some(i);
                i += if p & M_BIT != 0 { 2 } else { 1 };
            }
            if ext & L_BIT != 0 {
                tl0_at = Some(i);
                i += 1;
            }
            if ext & (T_BIT | K_BIT) != 0 {
                i += 1;
            }
            if b.len() < i {
                return Err(trunc);
            }
        }
        Ok(Self {
            buf,
            header_len: i,
            picture_id_at,
            tl0_at,
        })
    }

    fn byte(&self, i: usize) -> u8 {
        self.buf.as_ref().get(i).copied().unwrap_or(0)
    }

    /// The descriptor's length.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The parsed descriptor.
    pub fn descriptor(&self) -> Vp8Descriptor {
        let b0 = self.byte(0);
        let mut d = Vp8Descriptor {
            non_reference: b0 & N_BIT != 0,
            start_of_partition: b0 & S_BIT != 0,
            partition_index: b0 & PID_MASK,
            ..Vp8Descriptor::default()
        };
        if b0 & X_BIT != 0 {
            let ext = self.byte(EXT_OFFSET);
            d.picture_id = self.picture_id();
            d.picture_id_15bit = self
                .picture_id_at
                .is_some_and(|at| self.byte(at) & M_BIT != 0);
            d.tl0_pic_idx = self.tl0_pic_idx();
            if ext & (T_BIT | K_BIT) != 0 {
                let tk = self.byte(self.header_len - 1);
                if ext & T_BIT != 0 {
                    d.tid = Some(tk >> 6);
                    d.layer_sync = tk & 0x20 != 0;
                }
                if ext & K_BIT != 0 {
                    d.key_idx = Some(tk & 0x1f);
                }
            }
        }
        d
    }

    /// PictureID, if present.
    pub fn picture_id(&self) -> Option<u16> {
        let at = self.picture_id_at?;
        let p = self.byte(at);
        Some(if p & M_BIT != 0 {
            (u16::from(p & 0x7f) << 8) | u16::from(self.byte(at + 1))
        } else {
            u16::from(p)
        })
    }

    /// TL0PICIDX, if present.
    pub fn tl0_pic_idx(&self) -> Option<u8> {
        self.tl0_at.map(|at| self.byte(at))
    }

    /// The VP8 data after the descriptor.
    pub fn payload(&self) -> &[u8] {
        self.buf.as_ref().get(self.header_len..).unwrap_or(&[])
    }

    /// S=1 and PID=0: the first packet of a frame.
    pub fn is_frame_start(&self) -> bool {
        let b0 = self.byte(0);
        b0 & S_BIT != 0 && b0 & PID_MASK == 0
    }

    /// RFC 7741 §4.3: S=1, PID=0 and the VP8 payload header's inverse key
    /// frame bit P is 0 (RFC 6386 §9.1).
    pub fn is_keyframe(&self) -> bool {
        self.is_frame_start() && self.payload().first().is_some_and(|p| p & 0x01 == 0)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Vp8Packet<T> {
    /// Rewrite PictureID in place (an SFU does this when switching streams),
    /// keeping the field's width: a 7-bit field keeps the low 7 bits.
    /// Returns false when the packet has no PictureID.
    pub fn set_picture_id(&mut self, id: u16) -> bool {
        let Some(at) = self.picture_id_at else {
            return false;
        };
        let b = self.buf.as_mut();
        let long = b.get(at).is_some_and(|p| p & M_BIT != 0);
        if long {
            set(b, at, M_BIT | ((id >> 8) as u8 & 0x7f));
            set(b, at + 1, id as u8);
        } else {
            set(b, at, id as u8 & 0x7f);
        }
        true
    }

    /// Rewrite TL0PICIDX in place. Returns false when absent.
    pub fn set_tl0_pic_idx(&mut self, idx: u8) -> bool {
        let Some(at) = self.tl0_at else {
            return false;
        };
        set(self.buf.as_mut(), at, idx);
        true
    }
}

/// RFC 7741 §4: packetizer writing a descriptor with a PictureID (15-bit by
/// default) that increments per frame, S=1 and PID=0 on the first packet,
/// and the marker on the last.
#[derive(Debug, Clone)]
pub struct Vp8Packetizer {
    picture_id: Option<u16>,
    picture_id_15bit: bool,
}

impl Vp8Packetizer {
    /// Start at `initial_picture_id` (RFC 7741 §4.2 suggests a random start),
    /// 15-bit PictureID.
    pub fn new(initial_picture_id: u16) -> Self {
        Self {
            picture_id: Some(initial_picture_id & 0x7fff),
            picture_id_15bit: true,
        }
    }

    /// No PictureID at all: the 1-byte descriptor.
    pub fn without_picture_id() -> Self {
        Self {
            picture_id: None,
            picture_id_15bit: false,
        }
    }

    /// Use a 7-bit PictureID.
    pub fn with_7bit_picture_id(mut self) -> Self {
        self.picture_id_15bit = false;
        if let Some(p) = self.picture_id.as_mut() {
            *p &= 0x7f;
        }
        self
    }

    /// The PictureID the next frame will carry.
    pub fn next_picture_id(&self) -> Option<u16> {
        self.picture_id
    }
}

impl Packetizer for Vp8Packetizer {
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
        let mut d = Vp8Descriptor {
            start_of_partition: true,
            picture_id: self.picture_id,
            picture_id_15bit: self.picture_id_15bit,
            ..Vp8Descriptor::default()
        };
        let hlen = d.len();
        if mtu <= hlen {
            return Err(CodecError::MtuTooSmall {
                mtu,
                needed: hlen + 1,
            });
        }
        let mut hdr = [0u8; MAX_DESCRIPTOR_LEN];
        let chunks = frame.len().div_ceil(mtu - hlen);
        // Spread bytes evenly so the last packet is not a runt (as libwebrtc
        // does): every payload is within one byte of the others.
        let base = frame.len() / chunks;
        let extra = frame.len() % chunks;
        let mut at = 0;
        for i in 0..chunks {
            let n = base + usize::from(i < extra);
            let n_hdr = d.emit(&mut hdr)?;
            let chunk = frame.get(at..at + n).unwrap_or(&[]);
            out.push(&[hdr.get(..n_hdr).unwrap_or(&[]), chunk], i + 1 == chunks);
            at += n;
            d.start_of_partition = false;
        }
        if let Some(p) = self.picture_id.as_mut() {
            let mask = if self.picture_id_15bit { 0x7fff } else { 0x7f };
            *p = p.wrapping_add(1) & mask;
        }
        Ok(())
    }
}

/// RFC 7741 depacketizer: strips the descriptor and keeps the last one seen.
#[derive(Debug, Clone, Default)]
pub struct Vp8Depacketizer {
    last: Option<Vp8Descriptor>,
}

impl Vp8Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The descriptor of the last payload depacketized.
    pub fn last_descriptor(&self) -> Option<Vp8Descriptor> {
        self.last
    }
}

impl Depacketizer for Vp8Depacketizer {
    fn depacketize(
        &mut self,
        payload: &[u8],
        _info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Ok(());
        }
        let p = Vp8Packet::new_checked(payload)?;
        self.last = Some(p.descriptor());
        out.extend_from_slice(p.payload());
        Ok(())
    }

    fn is_keyframe(&self, payload: &[u8]) -> bool {
        Vp8Packet::new_checked(payload).is_ok_and(|p| p.is_keyframe())
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        Vp8Packet::new_checked(payload).is_ok_and(|p| p.is_frame_start())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trip_all_fields() {
        let d = Vp8Descriptor {
            non_reference: true,
            start_of_partition: true,
            partition_index: 3,
            picture_id: Some(0x1234),
            picture_id_15bit: true,
            tl0_pic_idx: Some(0xab),
            tid: Some(2),
            layer_sync: true,
            key_idx: Some(17),
        };
        let mut b = [0u8; 8];
        let n = d.emit(&mut b).unwrap();
        assert_eq!(n, 6);
        assert_eq!(b[..6], [0xb3, 0xf0, 0x92, 0x34, 0xab, 0xb1]);
        let p = Vp8Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.descriptor(), d);
        assert_eq!(p.payload(), &[0, 0]);
    }

    // Pion rtp codecs/vp8_packet_test.go (TestVP8Packet_Unmarshal): which
    // descriptors parse and which are too short.
    #[test]
    fn pion_unmarshal_cases() {
        let ok: [&[u8]; 6] = [
            &[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x90],
            &[0x80, 0x00, 0x00, 0x00],
            &[0x80, 0x80, 0x00, 0x00],
            &[0x80, 0x40, 0x00, 0x00],
            &[0x80, 0x20, 0x00, 0x00],
            &[0x80, 0x10, 0x00, 0x00],
        ];
        for b in ok {
            assert!(Vp8Packet::new_checked(b).is_ok(), "{b:02x?}");
        }
        // X, I with a 15-bit PictureID and nothing after: too short for Pion
        // (it needs a payload byte); for us the descriptor fits exactly.
        let p = Vp8Packet::new_checked(&[0x80u8, 0x80, 0x81, 0x00][..]).unwrap();
        assert_eq!(p.picture_id(), Some(0x0100));
        assert!(p.payload().is_empty());
        // All flags: I (15-bit, needs 2), L, T/K: 6 bytes, only 4 given.
        assert!(Vp8Packet::new_checked(&[0xffu8, 0xff, 0x00, 0x00][..]).is_err());
        let p = Vp8Packet::new_checked(&[0x80u8, 0x80, 0x11, 0xaa][..]).unwrap();
        assert_eq!((p.picture_id(), p.payload()), (Some(0x11), &[0xaa][..]));
    }

    #[test]
    fn set_picture_id_and_tl0_in_place() {
        let d = Vp8Descriptor {
            start_of_partition: true,
            picture_id: Some(5),
            picture_id_15bit: true,
            tl0_pic_idx: Some(1),
            ..Default::default()
        };
        let mut b = vec![0u8; 16];
        let n = d.emit(&mut b).unwrap();
        b.truncate(n + 3);
        let mut p = Vp8Packet::new_checked(&mut b[..]).unwrap();
        assert!(p.set_picture_id(0x7ffe));
        assert!(p.set_tl0_pic_idx(200));
        assert_eq!(p.picture_id(), Some(0x7ffe));
        assert_eq!(p.tl0_pic_idx(), Some(200));
        let mut short = [0x90u8, 0x80, 0x05, 0x10];
        let mut p = Vp8Packet::new_checked(&mut short[..]).unwrap();
        assert!(p.set_picture_id(0x1ff));
        assert_eq!(p.picture_id(), Some(0x7f));
        assert!(!p.set_tl0_pic_idx(1));
    }

    #[test]
    fn truncated_descriptors_are_errors() {
        for b in [
            &[][..],
            &[0x80],
            &[0x80, 0x80],
            &[0x80, 0x80, 0x80],
            &[0x80, 0x40],
        ] {
            assert!(Vp8Packet::new_checked(b).is_err(), "{b:?}");
        }
    }

    #[test]
    fn packetizer_sets_start_marker_and_increments_picture_id() {
        let mut pk = Vp8Packetizer::new(0x7fff);
        let mut out = Payloads::new();
        let frame = [0x10u8; 250]; // P bit 0: keyframe
        pk.packetize(&frame, 100, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        let dep = Vp8Depacketizer::new();
        for (i, (p, m)) in out.iter().enumerate() {
            assert!(p.len() <= 100);
            assert_eq!(m, i == 2);
            assert_eq!(dep.is_frame_start(p), i == 0);
            assert_eq!(dep.is_keyframe(p), i == 0);
            assert_eq!(
                Vp8Packet::new_checked(p).unwrap().picture_id(),
                Some(0x7fff)
            );
        }
        pk.packetize(&[0x11u8; 10], 100, &mut out).unwrap();
        let (p, m) = out.get(0).unwrap();
        assert!(m);
        assert_eq!(Vp8Packet::new_checked(p).unwrap().picture_id(), Some(0));
        assert!(!dep.is_keyframe(p), "P=1 is an interframe");
        assert!(pk.packetize(&[1], 4, &mut out).is_err());
    }
}
