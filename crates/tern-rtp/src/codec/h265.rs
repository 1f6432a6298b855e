//! H.265 (RFC 7798): single NAL unit packets, aggregation packets (AP) and
//! fragmentation units (FU), without DONL (sprop-max-don-diff=0).

use super::nal::{AnnexB, START_CODE};
use super::{CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};

/// RFC 7798 §1.1.4: the 2-byte NAL unit header.
const NAL_HEADER_LEN: usize = 2;
/// RFC 7798 §4.4.2: aggregation packet.
const AP: u8 = 48;
/// RFC 7798 §4.4.3: fragmentation unit.
const FU: u8 = 49;
/// RFC 7798 §4.4.4: PACI (not supported here).
const PACI: u8 = 50;
const FU_HEADER_LEN: usize = NAL_HEADER_LEN + 1;
const AP_SIZE_LEN: usize = super::nal::AGGREGATION_SIZE_LEN;
const FU_START: u8 = 0x80;
const FU_END: u8 = 0x40;
const F_BIT: u8 = 0x80;
// H.265 Table 7-1 NAL unit types.
const IRAP_FIRST: u8 = 16;
const IRAP_LAST: u8 = 21;
const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;
const AUD: u8 = 35;
const PREFIX_SEI: u8 = 39;

fn nal_type(b0: u8) -> u8 {
    (b0 >> 1) & 0x3f
}

/// Write a PayloadHdr with type `t`, keeping F, LayerId and TID of `hdr`.
fn with_type(hdr: [u8; 2], t: u8) -> [u8; 2] {
    [(hdr[0] & (F_BIT | 0x01)) | (t << 1), hdr[1]]
}

/// RFC 7798 §4.4 packetizer from an Annex B access unit: small NAL units are
/// aggregated into APs, large ones fragmented into FUs.
#[derive(Debug, Clone, Default)]
pub struct H265Packetizer {
    _private: (),
}

impl H265Packetizer {
    /// A new packetizer.
    pub fn new() -> Self {
        Self::default()
    }
}

/// An AP being built in the open payload; a lone unit is turned back into a
/// single NAL unit packet.
#[derive(Default)]
struct Ap {
    units: usize,
}

impl Ap {
    fn try_add(&mut self, nal: &[u8], mtu: usize, out: &mut Payloads) -> bool {
        let (Some(&h0), Some(&h1)) = (nal.first(), nal.get(1)) else {
            return true;
        };
        if nal.len() > usize::from(u16::MAX) {
            return false;
        }
        let size = (nal.len() as u16).to_be_bytes();
        if self.units == 0 {
            if NAL_HEADER_LEN + AP_SIZE_LEN + nal.len() > mtu {
                return false;
            }
            out.extend(&with_type([h0, h1], AP));
        } else {
            if out.open_len() + AP_SIZE_LEN + nal.len() > mtu {
                return false;
            }
            let open = out.open_bytes_mut();
            if let (Some(&a0), Some(&a1)) = (open.first(), open.get(1)) {
                // §4.4.2: F is the OR, LayerId and TID the minimum.
                let f = (a0 | h0) & F_BIT;
                let layer_a = (u16::from(a0 & 1) << 5) | u16::from(a1 >> 3);
                let layer_h = (u16::from(h0 & 1) << 5) | u16::from(h1 >> 3);
                let layer = layer_a.min(layer_h);
                let tid = (a1 & 7).min(h1 & 7);
                open[0] = f | (AP << 1) | (layer >> 5) as u8;
                open[1] = ((layer as u8 & 0x1f) << 3) | tid;
            }
        }
        out.extend(&size);
        out.extend(nal);
        self.units += 1;
        true
    }

    fn flush(&mut self, out: &mut Payloads) {
        match self.units {
            0 => {}
            1 => {
                let open = out.open_bytes_mut();
                open.copy_within(NAL_HEADER_LEN + AP_SIZE_LEN.., 0);
                let keep = open.len() - (NAL_HEADER_LEN + AP_SIZE_LEN);
                out.truncate_open(keep);
                out.finish(false);
            }
            _ => out.finish(false),
        }
        self.units = 0;
    }
}

impl Packetizer for H265Packetizer {
    fn packetize(
        &mut self,
        frame: &[u8],
        mtu: usize,
        out: &mut Payloads,
    ) -> Result<(), CodecError> {
        out.clear();
        if mtu <= FU_HEADER_LEN {
            return Err(CodecError::MtuTooSmall {
                mtu,
                needed: FU_HEADER_LEN + 1,
            });
        }
        let mut ap = Ap::default();
        for nal in AnnexB::new(frame) {
            let (Some(&h0), Some(&h1)) = (nal.first(), nal.get(1)) else {
                return Err(CodecError::Invalid {
                    what: "H.265 NAL unit shorter than its 2-byte header",
                });
            };
            if ap.try_add(nal, mtu, out) {
                continue;
            }
            ap.flush(out);
            if nal.len() <= mtu {
                if !ap.try_add(nal, mtu, out) {
                    out.push(&[nal], false);
                }
                continue;
            }
            let hdr = with_type([h0, h1], FU);
            let body = nal.get(NAL_HEADER_LEN..).unwrap_or(&[]);
            let room = mtu - FU_HEADER_LEN;
            let n = body.len().div_ceil(room);
            for (i, chunk) in body.chunks(room).enumerate() {
                let mut fu = nal_type(h0);
                if i == 0 {
                    fu |= FU_START;
                }
                if i + 1 == n {
                    fu |= FU_END;
                }
                out.push(&[&hdr, &[fu], chunk], false);
            }
        }
        ap.flush(out);
        if out.is_empty() {
            return Err(CodecError::EmptyFrame);
        }
        out.mark_last();
        Ok(())
    }
}

/// RFC 7798 depacketizer producing an Annex B access unit.
#[derive(Debug, Clone, Default)]
pub struct H265Depacketizer {
    /// Start of the FU NAL unit in progress in the output, and the next
    /// sequence number expected.
    fu: Option<(usize, u16)>,
}

impl H265Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for H265Depacketizer {
    fn depacketize(
        &mut self,
        payload: &[u8],
        info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Ok(());
        }
        let (Some(&h0), Some(&h1)) = (payload.first(), payload.get(1)) else {
            return Err(CodecError::Truncated {
                what: "H.265 payload header",
            });
        };
        let t = nal_type(h0);
        if t != FU {
            if let Some((start, _)) = self.fu.take() {
                out.truncate(start);
            }
        }
        match t {
            AP => {
                let rollback = out.len();
                for unit in ap_units(payload.get(NAL_HEADER_LEN..).unwrap_or(&[])) {
                    match unit {
                        Ok(u) => {
                            out.extend_from_slice(&START_CODE);
                            out.extend_from_slice(u);
                        }
                        Err(e) => {
                            out.truncate(rollback);
                            return Err(e);
                        }
                    }
                }
                Ok(())
            }
            FU => {
                let fu = *payload.get(NAL_HEADER_LEN).ok_or(CodecError::Truncated {
                    what: "H.265 FU header",
                })?;
                let data = payload.get(FU_HEADER_LEN..).unwrap_or(&[]);
                if fu & FU_START != 0 {
                    if let Some((start, _)) = self.fu.take() {
                        out.truncate(start);
                    }
                    let start = out.len();
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(&with_type([h0, h1], fu & 0x3f));
                    out.extend_from_slice(data);
                    self.fu = Some((start, info.sequence.wrapping_add(1)));
                } else {
                    match self.fu {
                        Some((start, next)) if next == info.sequence => {
                            out.extend_from_slice(data);
                            self.fu = Some((start, next.wrapping_add(1)));
                        }
                        Some((start, _)) => {
                            out.truncate(start);
                            self.fu = None;
                            return Err(CodecError::BrokenFragment);
                        }
                        None => return Err(CodecError::BrokenFragment),
                    }
                }
                if fu & FU_END != 0 {
                    self.fu = None;
                }
                Ok(())
            }
            PACI => Err(CodecError::Unsupported {
                what: "H.265 PACI packet",
            }),
            51..=63 => Err(CodecError::Invalid {
                what: "H.265 reserved NAL unit type",
            }),
            _ => {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(payload);
                Ok(())
            }
        }
    }

    fn reset(&mut self) {
        self.fu = None;
    }

    /// H.265 §7.4.2.2: an IRAP picture's slice (types 16–21: BLA, IDR, CRA).
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        first_units(payload).any(|(t, _)| (IRAP_FIRST..=IRAP_LAST).contains(&t))
    }

    /// Parameter sets, AUD or prefix SEI first, or a slice whose
    /// first_slice_segment_in_pic_flag (H.265 §7.3.6.1) is set.
    fn is_frame_start(&self, payload: &[u8]) -> bool {
        match first_units(payload).next() {
            Some((t, next)) => match t {
                VPS | SPS | PPS | AUD | PREFIX_SEI => true,
                0..=31 => next.is_some_and(|b| b & 0x80 != 0),
                _ => false,
            },
            None => false,
        }
    }
}

/// (NAL type, first byte after the NAL header) of the units a payload
/// carries; for an FU only when it is the first fragment or for its type.
fn first_units(payload: &[u8]) -> impl Iterator<Item = (u8, Option<u8>)> + '_ {
    let t = payload.first().map_or(AP + 10, |&b| nal_type(b));
    let single = match t {
        0..=47 if payload.len() > NAL_HEADER_LEN => Some((t, payload.get(2).copied())),
        FU => payload.get(NAL_HEADER_LEN).and_then(|&fu| {
            (fu & FU_START != 0)
                .then(|| (fu & 0x3f, payload.get(FU_HEADER_LEN).copied()))
                .or(Some((fu & 0x3f, None)))
        }),
        _ => None,
    };
    let ap = (t == AP)
        .then(|| ap_units(payload.get(NAL_HEADER_LEN..).unwrap_or(&[])))
        .into_iter()
        .flatten()
        .map_while(Result::ok)
        .filter_map(|u| u.first().map(|&b| (nal_type(b), u.get(2).copied())));
    single.into_iter().chain(ap)
}

/// The units of an AP body (after its 2-byte header).
fn ap_units(body: &[u8]) -> impl Iterator<Item = Result<&[u8], CodecError>> {
    super::nal::aggregated_units(body, NAL_HEADER_LEN, "AP unit")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annexb(nals: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for n in nals {
            v.extend_from_slice(&START_CODE);
            v.extend_from_slice(n);
        }
        v
    }

    #[test]
    fn parameter_sets_aggregate_and_irap_fragments() {
        let vps = [0x40u8, 0x01, 0x0c, 0x01];
        let sps = [0x42u8, 0x01, 0x01, 0x01];
        let pps = [0x44u8, 0x01, 0xc1, 0x72];
        let mut idr = vec![0x26u8, 0x01, 0xaf]; // IDR_W_RADL (19), first slice
        idr.extend(std::iter::repeat_n(0x11, 400));
        let frame = annexb(&[&vps, &sps, &pps, &idr]);
        let mut out = Payloads::new();
        H265Packetizer::new()
            .packetize(&frame, 200, &mut out)
            .unwrap();
        let d = H265Depacketizer::new();
        let (ap, _) = out.get(0).unwrap();
        assert_eq!(nal_type(ap[0]), AP);
        assert!(d.is_frame_start(ap));
        assert!(!d.is_keyframe(ap));
        let (fu, _) = out.get(1).unwrap();
        assert_eq!(&fu[..3], &[0x62, 0x01, 0x80 | 19]);
        assert!(d.is_keyframe(fu) && d.is_frame_start(fu));
        let (last, m) = out.get(out.len() - 1).unwrap();
        assert!(m && last[2] & FU_END != 0 && !d.is_frame_start(last));
        let mut dep = H265Depacketizer::new();
        let mut got = vec![];
        for (i, (p, m)) in out.iter().enumerate() {
            let info = RtpInfo {
                sequence: i as u16,
                timestamp: 0,
                marker: m,
            };
            dep.depacketize(p, info, &mut got).unwrap();
        }
        assert_eq!(got, frame);
    }

    #[test]
    fn fu_without_start_is_broken() {
        let mut d = H265Depacketizer::new();
        let mut out = vec![];
        let r = d.depacketize(&[0x62, 0x01, 0x13, 1], RtpInfo::default(), &mut out);
        assert_eq!(r, Err(CodecError::BrokenFragment));
        assert!(d
            .depacketize(&[0x64, 0x01], RtpInfo::default(), &mut out)
            .is_err());
    }
}
