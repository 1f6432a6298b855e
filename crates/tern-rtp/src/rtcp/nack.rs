//! Generic NACK (RFC 4585 §6.2.1): packet id plus a bitmask of the 16
//! following lost packets.

use super::error::{malformed, RtcpError};
use super::header::{
    be16, be32, ensure, fmt, frame, packet_type, put16, put32, write_header, Framing, HEADER_LEN,
};
use super::{SeqNo, Ssrc};

const FCI: usize = HEADER_LEN + 8;

/// A zero-copy view of a generic NACK.
#[derive(Debug, Clone, Copy)]
pub struct Nack<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> Nack<T> {
    /// Validates the type, FMT 1, and at least one whole FCI entry.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = frame(buffer.as_ref())?;
        if f.header.packet_type != packet_type::RTPFB || f.header.count != fmt::NACK {
            return Err(malformed(f.header.packet_type, "not a generic NACK"));
        }
        if f.payload_end < FCI + 4 {
            return Err(malformed(packet_type::RTPFB, "NACK without an FCI entry"));
        }
        if (f.payload_end - FCI) % 4 != 0 {
            return Err(malformed(
                packet_type::RTPFB,
                "NACK FCI not a multiple of 4",
            ));
        }
        Ok(Self { buffer, f })
    }
    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// SSRC of the media source whose packets are lost.
    pub fn media_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN + 4)
    }
    /// The raw (PID, BLP) entries.
    pub fn items(&self) -> NackItems<'_> {
        NackItems {
            rest: &self.buffer.as_ref()[FCI..self.f.payload_end],
        }
    }
    /// Every lost sequence number, in the order the entries list them.
    pub fn lost(&self) -> NackLost<'_> {
        NackLost {
            items: self.items(),
            current: None,
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Nack<T> {
    /// Rewrites the media SSRC in place (an SFU forwarding upstream).
    pub fn set_media_ssrc(&mut self, ssrc: Ssrc) {
        put32(self.buffer.as_mut(), HEADER_LEN + 4, ssrc);
    }
}

/// An iterator over (PID, BLP) entries.
#[derive(Debug, Clone)]
pub struct NackItems<'a> {
    rest: &'a [u8],
}

impl Iterator for NackItems<'_> {
    type Item = (SeqNo, u16);
    fn next(&mut self) -> Option<Self::Item> {
        let (e, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some((be16(e, 0), be16(e, 2)))
    }
}

/// An iterator over the lost sequence numbers of a NACK.
#[derive(Debug, Clone)]
pub struct NackLost<'a> {
    items: NackItems<'a>,
    /// The entry being expanded and the next BLP bit to look at (0..=16).
    current: Option<(SeqNo, u16, u8)>,
}

impl Iterator for NackLost<'_> {
    type Item = SeqNo;
    fn next(&mut self) -> Option<SeqNo> {
        loop {
            match self.current {
                None => {
                    let (pid, blp) = self.items.next()?;
                    self.current = Some((pid, blp, 0));
                    return Some(pid);
                }
                Some((pid, blp, bit)) => {
                    if bit >= 16 {
                        self.current = None;
                        continue;
                    }
                    self.current = Some((pid, blp, bit + 1));
                    if blp & (1 << bit) != 0 {
                        return Some(pid.wrapping_add(u16::from(bit) + 1));
                    }
                }
            }
        }
    }
}

/// Packs sequence numbers into (PID, BLP) entries: each entry starts at the
/// first number not yet covered and takes every later one within 16
/// (mod 2^16, so a list sorted across the 65535→0 wrap packs as tightly as
/// any other). For a sorted list this is the fewest entries possible; for an
/// unsorted one every number is still reported. Duplicates are harmless.
pub fn nack_items(seqs: &[SeqNo]) -> impl Iterator<Item = (SeqNo, u16)> + '_ {
    let mut rest = seqs;
    core::iter::from_fn(move || {
        let (&pid, tail) = rest.split_first()?;
        let mut blp = 0u16;
        let mut used = 0;
        for &s in tail {
            let d = s.wrapping_sub(pid);
            if d == 0 {
                used += 1;
            } else if d <= 16 {
                blp |= 1 << (d - 1);
                used += 1;
            } else {
                break;
            }
        }
        rest = &tail[used..];
        Some((pid, blp))
    })
}

/// RFC 4585 §6.2.1: writes a generic NACK for `lost` (best sorted in
/// sequence order); returns the length.
pub fn write_nack(
    out: &mut [u8],
    sender_ssrc: Ssrc,
    media_ssrc: Ssrc,
    lost: &[SeqNo],
) -> Result<usize, RtcpError> {
    if lost.is_empty() {
        return Err(RtcpError::InvalidInput("NACK for no packets"));
    }
    let entries = nack_items(lost).count();
    let len = FCI + entries * 4;
    ensure(out, len)?;
    write_header(out, false, fmt::NACK, packet_type::RTPFB, len)?;
    put32(out, HEADER_LEN, sender_ssrc);
    put32(out, HEADER_LEN + 4, media_ssrc);
    let mut at = FCI;
    for (pid, blp) in nack_items(lost) {
        put16(out, at, pid);
        put16(out, at + 2, blp);
        at += 4;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // libwebrtc modules/rtp_rtcp/source/rtcp_packet/nack_unittest.cc.
    const LIST: [u16; 5] = [0, 1, 3, 8, 16];
    const PACKET: [u8; 16] = [
        0x81, 205, 0, 3, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89, 0x00, 0x00, 0x80, 0x85,
    ];
    const WRAP_LIST: [u16; 9] = [
        0xffdc, 0xffec, 0xfffe, 0xffff, 0x0000, 0x0001, 0x0003, 0x0014, 0x0064,
    ];
    const WRAP_PACKET: [u8; 28] = [
        0x81, 205, 0, 6, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89, 0xff, 0xdc, 0x80, 0x00,
        0xff, 0xfe, 0x00, 0x17, 0x00, 0x14, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
    ];

    #[test]
    fn libwebrtc_vectors_build_and_parse() {
        let mut out = [0u8; 64];
        let n = write_nack(&mut out, 0x12345678, 0x23456789, &LIST).unwrap();
        assert_eq!(&out[..n], &PACKET);
        let n = write_nack(&mut out, 0x12345678, 0x23456789, &WRAP_LIST).unwrap();
        assert_eq!(&out[..n], &WRAP_PACKET);

        let v = Nack::new_checked(&PACKET[..]).unwrap();
        assert_eq!(v.sender_ssrc(), 0x12345678);
        assert_eq!(v.media_ssrc(), 0x23456789);
        assert_eq!(v.lost().collect::<Vec<_>>(), LIST);
        let v = Nack::new_checked(&WRAP_PACKET[..]).unwrap();
        assert_eq!(v.lost().collect::<Vec<_>>(), WRAP_LIST);
        // kTooSmallPacket: no FCI.
        let small = [
            0x81, 205, 0, 2, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89,
        ];
        assert!(Nack::new_checked(&small[..]).is_err());
    }

    #[test]
    fn unsorted_input_still_reports_every_number() {
        // libwebrtc nack_unittest.cc BadOrder.
        let list = [1, 25, 13, 12, 9, 27, 29];
        let mut out = [0u8; 64];
        let n = write_nack(&mut out, 1, 2, &list).unwrap();
        let mut got: Vec<_> = Nack::new_checked(&out[..n]).unwrap().lost().collect();
        got.sort_unstable();
        let mut want = list.to_vec();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    proptest! {
        #[test]
        fn packs_sorted_runs_minimally(start in any::<u16>(), gaps in proptest::collection::vec(1u16..40, 1..60)) {
            let mut seqs = vec![start];
            for g in gaps {
                let next = seqs[seqs.len() - 1].wrapping_add(g);
                seqs.push(next);
            }
            let mut out = [0u8; 1024];
            let n = write_nack(&mut out, 1, 2, &seqs).unwrap();
            let v = Nack::new_checked(&out[..n]).unwrap();
            prop_assert_eq!(v.lost().collect::<Vec<_>>(), seqs.clone());
            // Greedy is optimal: count the entries an exhaustive cover needs.
            let mut need = 0;
            let mut i = 0;
            while i < seqs.len() {
                need += 1;
                let pid = seqs[i];
                while i < seqs.len() && seqs[i].wrapping_sub(pid) <= 16 { i += 1; }
            }
            prop_assert_eq!(v.items().count(), need);
        }
    }
}
