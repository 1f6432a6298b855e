//! H.264 (RFC 6184): single NAL unit packets, STAP-A and FU-A
//! (packetization-mode 1), single NAL only (packetization-mode 0).

use super::nal::{AnnexB, START_CODE};
use super::{CodecError, Depacketizer, Packetizer, Payloads, RtpInfo};

// H.264 §7.4.1.2.3 NAL unit types, and RFC 6184 §5.4's packet types.
const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SEI: u8 = 6;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;
const STAP_A: u8 = 24;
const STAP_B: u8 = 25;
const MTAP16: u8 = 26;
const MTAP24: u8 = 27;
const FU_A: u8 = 28;
const FU_B: u8 = 29;
const TYPE_MASK: u8 = 0x1f;
const NRI_MASK: u8 = 0x60;
const F_BIT: u8 = 0x80;
const FU_START: u8 = 0x80;
const FU_END: u8 = 0x40;
/// RFC 6184 §5.7.1: STAP-A header octet; each unit then has a 16-bit size.
const STAP_HEADER_LEN: usize = 1;
const STAP_SIZE_LEN: usize = super::nal::AGGREGATION_SIZE_LEN;
/// RFC 6184 §5.8: FU indicator and FU header.
const FU_HEADER_LEN: usize = 2;
/// Largest SPS/PPS we keep for prepending (real ones are tens of bytes).
const MAX_PARAMETER_SET_LEN: usize = 1024;

/// RFC 6184 §6: the packetization mode negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum H264PacketizationMode {
    /// packetization-mode=0: single NAL unit packets only (§6.2).
    SingleNal,
    /// packetization-mode=1: single NAL, STAP-A and FU-A (§6.3).
    NonInterleaved,
}

fn nal_type(b: u8) -> u8 {
    b & TYPE_MASK
}

/// RFC 6184 §5: packetizer from an Annex B access unit. Remembers the last
/// SPS and PPS and sends them before an IDR that comes without them, as
/// libwebrtc and Pion do, so a receiver joining at any keyframe can decode.
#[derive(Debug, Clone)]
pub struct H264Packetizer {
    mode: H264PacketizationMode,
    sps: Vec<u8>,
    pps: Vec<u8>,
}

impl H264Packetizer {
    /// A packetizer for `mode`.
    pub fn new(mode: H264PacketizationMode) -> Self {
        Self {
            mode,
            sps: Vec::new(),
            pps: Vec::new(),
        }
    }

    fn emit_nal(
        &self,
        nal: &[u8],
        mtu: usize,
        out: &mut Payloads,
        stap: &mut StapA,
    ) -> Result<(), CodecError> {
        let Some(&hdr) = nal.first() else {
            return Ok(());
        };
        match self.mode {
            H264PacketizationMode::SingleNal => {
                if nal.len() > mtu {
                    return Err(CodecError::NalTooLarge {
                        len: nal.len(),
                        mtu,
                    });
                }
                out.push(&[nal], false);
            }
            H264PacketizationMode::NonInterleaved => {
                if stap.try_add(nal, mtu, out) {
                    return Ok(());
                }
                stap.flush(out);
                if nal.len() <= mtu {
                    // Small enough to aggregate with what follows: hold it.
                    if !stap.try_add(nal, mtu, out) {
                        out.push(&[nal], false);
                    }
                    return Ok(());
                }
                // RFC 6184 §5.8: FU-A. The NAL header is not sent; its F and
                // NRI go in the FU indicator and its type in the FU header.
                if mtu <= FU_HEADER_LEN {
                    return Err(CodecError::MtuTooSmall {
                        mtu,
                        needed: FU_HEADER_LEN + 1,
                    });
                }
                let body = nal.get(1..).unwrap_or(&[]);
                let indicator = (hdr & (F_BIT | NRI_MASK)) | FU_A;
                let room = mtu - FU_HEADER_LEN;
                let n = body.len().div_ceil(room);
                for (i, chunk) in body.chunks(room).enumerate() {
                    let mut fu = nal_type(hdr);
                    if i == 0 {
                        fu |= FU_START;
                    }
                    if i + 1 == n {
                        fu |= FU_END;
                    }
                    out.push(&[&[indicator, fu], chunk], false);
                }
            }
        }
        Ok(())
    }
}

/// A STAP-A being built in the open payload of [`Payloads`].
#[derive(Default)]
struct StapA {
    /// Units in the open payload (0: none open).
    units: usize,
    /// The first unit, kept until a second one arrives (a lone unit is sent
    /// as a single NAL unit packet, not a one-unit STAP-A).
    first_len: usize,
}

impl StapA {
    /// Add `nal` to the aggregate if it fits in `mtu`.
    fn try_add(&mut self, nal: &[u8], mtu: usize, out: &mut Payloads) -> bool {
        let Some(&hdr) = nal.first() else {
            return true;
        };
        if nal.len() > usize::from(u16::MAX) {
            return false;
        }
        let size = (nal.len() as u16).to_be_bytes();
        match self.units {
            0 => {
                if STAP_HEADER_LEN + STAP_SIZE_LEN + nal.len() > mtu {
                    return false;
                }
                out.extend(&[hdr & (F_BIT | NRI_MASK) | STAP_A]);
                out.extend(&size);
                out.extend(nal);
                self.units = 1;
                self.first_len = nal.len();
                true
            }
            _ => {
                if out.open_len() + STAP_SIZE_LEN + nal.len() > mtu {
                    return false;
                }
                let open = out.open_bytes_mut();
                if let Some(h) = open.first_mut() {
                    // §5.7: F is the OR of the units' F bits, NRI their maximum.
                    let nri = (*h & NRI_MASK).max(hdr & NRI_MASK);
                    *h = (*h & F_BIT) | (hdr & F_BIT) | nri | STAP_A;
                }
                out.extend(&size);
                out.extend(nal);
                self.units += 1;
                true
            }
        }
    }

    fn flush(&mut self, out: &mut Payloads) {
        match self.units {
            0 => {}
            1 => {
                // Turn the lone unit back into a single NAL unit packet.
                let n = self.first_len;
                let open = out.open_bytes_mut();
                open.copy_within(STAP_HEADER_LEN + STAP_SIZE_LEN.., 0);
                let keep = open.len() - (STAP_HEADER_LEN + STAP_SIZE_LEN);
                debug_assert_eq!(keep, n);
                out.truncate_open(keep);
                out.finish(false);
            }
            _ => out.finish(false),
        }
        self.units = 0;
    }
}

impl Packetizer for H264Packetizer {
    fn packetize(
        &mut self,
        frame: &[u8],
        mtu: usize,
        out: &mut Payloads,
    ) -> Result<(), CodecError> {
        out.clear();
        let mut has_sps = false;
        let mut has_pps = false;
        let mut has_idr = false;
        for nal in AnnexB::new(frame) {
            match nal.first().map(|&b| nal_type(b)) {
                Some(NAL_SPS) => has_sps = true,
                Some(NAL_PPS) => has_pps = true,
                Some(NAL_IDR) => has_idr = true,
                _ => {}
            }
        }
        let mut stap = StapA::default();
        let mut sent_params = false;
        for nal in AnnexB::new(frame) {
            let t = nal.first().map(|&b| nal_type(b));
            match t {
                Some(NAL_SPS) if nal.len() <= MAX_PARAMETER_SET_LEN => {
                    self.sps.clear();
                    self.sps.extend_from_slice(nal);
                }
                Some(NAL_PPS) if nal.len() <= MAX_PARAMETER_SET_LEN => {
                    self.pps.clear();
                    self.pps.extend_from_slice(nal);
                }
                _ => {}
            }
            if t == Some(NAL_IDR) && !sent_params && has_idr && (!has_sps || !has_pps) {
                sent_params = true;
                if !has_sps && !self.sps.is_empty() {
                    self.emit_nal(&self.sps, mtu, out, &mut stap)?;
                }
                if !has_pps && !self.pps.is_empty() {
                    self.emit_nal(&self.pps, mtu, out, &mut stap)?;
                }
            }
            self.emit_nal(nal, mtu, out, &mut stap)?;
        }
        stap.flush(out);
        if out.is_empty() {
            return Err(CodecError::EmptyFrame);
        }
        out.mark_last();
        Ok(())
    }
}

/// RFC 6184 depacketizer producing an Annex B access unit (4-byte start
/// codes). FU-A fragments are written straight into the output; a fragment
/// after a gap, or without a start, drops the partial NAL unit.
#[derive(Debug, Clone, Default)]
pub struct H264Depacketizer {
    /// Where the FU-A NAL unit in progress starts in the output, and the
    /// sequence number expected next.
    fu: Option<(usize, u16)>,
}

impl H264Depacketizer {
    /// A new depacketizer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Depacketizer for H264Depacketizer {
    fn depacketize(
        &mut self,
        payload: &[u8],
        info: RtpInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let Some(&hdr) = payload.first() else {
            return Ok(());
        };
        let t = nal_type(hdr);
        if t != FU_A {
            if let Some((start, _)) = self.fu.take() {
                // A FU-A never ended: drop its partial NAL unit.
                out.truncate(start);
            }
        }
        match t {
            1..=23 => {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(payload);
                Ok(())
            }
            STAP_A => {
                let rollback = out.len();
                for unit in stap_units(payload.get(STAP_HEADER_LEN..).unwrap_or(&[])) {
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
            FU_A => {
                let fu = *payload.get(1).ok_or(CodecError::Truncated {
                    what: "FU-A header",
                })?;
                let data = payload.get(FU_HEADER_LEN..).unwrap_or(&[]);
                if fu & FU_START != 0 {
                    if let Some((start, _)) = self.fu.take() {
                        out.truncate(start);
                    }
                    let start = out.len();
                    out.extend_from_slice(&START_CODE);
                    out.push((hdr & (F_BIT | NRI_MASK)) | nal_type(fu));
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
            STAP_B | MTAP16 | MTAP24 | FU_B => Err(CodecError::Unsupported {
                what: "H.264 interleaved-mode packet (STAP-B, MTAP or FU-B)",
            }),
            _ => Err(CodecError::Invalid {
                what: "H.264 NAL unit type 0 or 30-31",
            }),
        }
    }

    fn reset(&mut self) {
        self.fu = None;
    }

    /// RFC 6184 / H.264 §7.4.1.2.3: an IDR slice (type 5), whole, aggregated
    /// or as any FU-A fragment.
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        payload_nal_types(payload).any(|t| t == NAL_IDR)
    }

    /// A payload that begins an access unit: parameter sets, SEI or AUD
    /// first, or a slice (whole or FU-A start) whose first_mb_in_slice is 0
    /// (ue(v) 0 is the single bit 1, H.264 §7.3.3).
    fn is_frame_start(&self, payload: &[u8]) -> bool {
        let Some(&hdr) = payload.first() else {
            return false;
        };
        let (t, slice_first_byte) = match nal_type(hdr) {
            STAP_A => {
                let first = stap_units(payload.get(1..).unwrap_or(&[])).next();
                match first {
                    Some(Ok(u)) => (u.first().map_or(0, |&b| nal_type(b)), u.get(1).copied()),
                    _ => return false,
                }
            }
            FU_A => match payload.get(1) {
                Some(&fu) if fu & FU_START != 0 => (nal_type(fu), payload.get(2).copied()),
                _ => return false,
            },
            t => (t, payload.get(1).copied()),
        };
        match t {
            NAL_SEI | NAL_SPS | NAL_PPS | NAL_AUD => true,
            NAL_SLICE..=NAL_IDR => slice_first_byte.is_some_and(|b| b & 0x80 != 0),
            _ => false,
        }
    }
}

/// NAL unit types a payload carries (for STAP-A every unit, for FU-A the
/// fragmented unit's type).
fn payload_nal_types(payload: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let hdr = payload.first().copied().unwrap_or(0);
    let single = match nal_type(hdr) {
        1..=23 => Some(nal_type(hdr)),
        FU_A => payload.get(1).map(|&b| nal_type(b)),
        _ => None,
    };
    let stap = (nal_type(hdr) == STAP_A)
        .then(|| stap_units(payload.get(1..).unwrap_or(&[])))
        .into_iter()
        .flatten()
        .map_while(Result::ok)
        .filter_map(|u| u.first().map(|&b| nal_type(b)));
    single.into_iter().chain(stap)
}

/// The units of a STAP-A body (after its header octet).
fn stap_units(body: &[u8]) -> impl Iterator<Item = Result<&[u8], CodecError>> {
    super::nal::aggregated_units(body, 1, "STAP-A unit")
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

    fn depack_all(out: &Payloads) -> Vec<u8> {
        let mut d = H264Depacketizer::new();
        let mut f = Vec::new();
        for (i, (p, m)) in out.iter().enumerate() {
            let info = RtpInfo {
                sequence: i as u16,
                timestamp: 0,
                marker: m,
            };
            d.depacketize(p, info, &mut f).unwrap();
        }
        f
    }

    #[test]
    fn sps_pps_aggregate_and_idr_fragments() {
        let sps = [0x67u8, 0x42, 0xc0, 0x1f, 0xda];
        let pps = [0x68u8, 0xce, 0x3c, 0x80];
        let mut idr = vec![0x65u8, 0x88];
        idr.extend(std::iter::repeat_n(0x42, 300));
        let frame = annexb(&[&sps, &pps, &idr]);
        let mut pk = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
        let mut out = Payloads::new();
        pk.packetize(&frame, 100, &mut out).unwrap();
        let (first, _) = out.get(0).unwrap();
        // STAP-A: NRI is the max of the units' (both 3 here).
        assert_eq!(first[0], 0x78);
        assert_eq!(&first[1..3], &[0, 5]);
        let (second, _) = out.get(1).unwrap();
        assert_eq!(second[..2], [0x7c, 0x85], "FU-A start of an IDR");
        let (last, m) = out.get(out.len() - 1).unwrap();
        assert!(m);
        assert_eq!(last[1], 0x45, "FU-A end");
        let d = H264Depacketizer::new();
        assert!(d.is_frame_start(first));
        assert!(!d.is_keyframe(first));
        assert!(d.is_keyframe(second));
        assert!(!d.is_frame_start(last));
        assert_eq!(depack_all(&out), frame);
    }

    #[test]
    fn idr_without_parameter_sets_gets_the_last_ones() {
        let sps = [0x67u8, 1, 2];
        let pps = [0x68u8, 3];
        let idr = [0x65u8, 0x88, 9];
        let p = [0x41u8, 0x9a, 7];
        let mut pk = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
        let mut out = Payloads::new();
        pk.packetize(&annexb(&[&sps, &pps, &idr]), 1200, &mut out)
            .unwrap();
        pk.packetize(&annexb(&[&p]), 1200, &mut out).unwrap();
        assert_eq!(depack_all(&out), annexb(&[&p]));
        pk.packetize(&annexb(&[&idr]), 1200, &mut out).unwrap();
        assert_eq!(depack_all(&out), annexb(&[&sps, &pps, &idr]));
        assert_eq!(out.len(), 1, "all three in one STAP-A");
    }

    #[test]
    fn mode_0_refuses_large_nal_and_never_aggregates() {
        let mut pk = H264Packetizer::new(H264PacketizationMode::SingleNal);
        let mut out = Payloads::new();
        let frame = annexb(&[&[0x67, 1], &[0x68, 2], &[0x65, 0x88, 3]]);
        pk.packetize(&frame, 1200, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(depack_all(&out), frame);
        let big = annexb(&[&[0x65u8; 1300]]);
        assert_eq!(
            pk.packetize(&big, 1200, &mut out),
            Err(CodecError::NalTooLarge {
                len: 1300,
                mtu: 1200
            })
        );
    }

    #[test]
    fn fu_a_gap_drops_the_partial_nal() {
        let mut d = H264Depacketizer::new();
        let mut out = vec![];
        let info = |s| RtpInfo {
            sequence: s,
            ..Default::default()
        };
        d.depacketize(&[0x7c, 0x85, 1, 2], info(10), &mut out)
            .unwrap();
        assert_eq!(
            d.depacketize(&[0x7c, 0x45, 3], info(12), &mut out),
            Err(CodecError::BrokenFragment)
        );
        assert!(out.is_empty());
        assert_eq!(
            d.depacketize(&[0x7c, 0x05, 3], info(13), &mut out),
            Err(CodecError::BrokenFragment)
        );
        // Sequence wrap inside a FU-A is fine.
        d.depacketize(&[0x7c, 0x85, 1], info(65535), &mut out)
            .unwrap();
        d.depacketize(&[0x7c, 0x45, 2], info(0), &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 1, 2]);
    }

    // Pion rtp codecs/h264_packet_test.go (TestH264Packet_Unmarshal): a real
    // STAP-A with an SPS and a PPS, and the Annex B it must produce.
    #[test]
    fn pion_stap_a_sps_pps() {
        let stap = [
            0x78u8, 0x00, 0x0f, 0x67, 0x42, 0xc0, 0x1f, 0x1a, 0x32, 0x35, 0x01, 0x40, 0x7a, 0x40,
            0x3c, 0x22, 0x11, 0xa8, 0x00, 0x05, 0x68, 0x1a, 0x34, 0xe3, 0xc8,
        ];
        let annexb = [
            0x00u8, 0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1f, 0x1a, 0x32, 0x35, 0x01, 0x40, 0x7a,
            0x40, 0x3c, 0x22, 0x11, 0xa8, 0x00, 0x00, 0x00, 0x01, 0x68, 0x1a, 0x34, 0xe3, 0xc8,
        ];
        let mut d = H264Depacketizer::new();
        let mut out = vec![];
        d.depacketize(&stap, RtpInfo::default(), &mut out).unwrap();
        assert_eq!(out, annexb);
        assert!(d.is_frame_start(&stap) && !d.is_keyframe(&stap));
        // The same STAP-A cut short must be refused.
        assert!(d
            .depacketize(&stap[..17], RtpInfo::default(), &mut vec![])
            .is_err());
        // Type 31 is not a packet type (Pion: [0xFF, 0x00, 0x00]).
        assert!(d
            .depacketize(&[0xff, 0, 0], RtpInfo::default(), &mut vec![])
            .is_err());
        // Our packetizer sends this SPS and PPS as the same STAP-A.
        let mut out = Payloads::new();
        H264Packetizer::new(H264PacketizationMode::NonInterleaved)
            .packetize(&annexb, 1200, &mut out)
            .unwrap();
        assert_eq!(out.get(0).unwrap().0, &stap[..]);
    }

    // Pion rtp codecs/h264_packet_test.go (TestH264Payloader_Payload, "Large
    // Payload split across multiple RTP Packets"): FU-A at an MTU of 5.
    #[test]
    fn pion_fu_a_at_mtu_5() {
        let frame = [
            0x00u8, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10,
            0x11, 0x12, 0x13, 0x14, 0x15,
        ];
        let want: [[u8; 5]; 5] = [
            [0x1c, 0x80, 0x01, 0x02, 0x03],
            [0x1c, 0x00, 0x04, 0x05, 0x06],
            [0x1c, 0x00, 0x07, 0x08, 0x09],
            [0x1c, 0x00, 0x10, 0x11, 0x12],
            [0x1c, 0x40, 0x13, 0x14, 0x15],
        ];
        let mut out = Payloads::new();
        H264Packetizer::new(H264PacketizationMode::NonInterleaved)
            .packetize(&frame, 5, &mut out)
            .unwrap();
        let got: Vec<&[u8]> = out.iter().map(|(p, _)| p).collect();
        assert_eq!(got, want.iter().map(|w| &w[..]).collect::<Vec<_>>());
        let mut back = depack_all(&out);
        assert_eq!(back.drain(..4).collect::<Vec<_>>(), START_CODE);
        assert_eq!(back, frame[3..]);
    }

    #[test]
    fn malformed_stap_a_is_an_error_and_leaves_no_partial_output() {
        let mut d = H264Depacketizer::new();
        let mut out = vec![];
        let r = d.depacketize(
            &[0x78, 0, 2, 0x67, 1, 0, 9, 1],
            RtpInfo::default(),
            &mut out,
        );
        assert!(matches!(r, Err(CodecError::Truncated { .. })));
        assert!(out.is_empty());
        assert!(d
            .depacketize(&[0x7a, 0], RtpInfo::default(), &mut out)
            .is_err());
    }
}
