//! Extended reports (RFC 3611): the receiver reference time block (BT 4,
//! §4.4) and the DLRR block (BT 5, §4.5) that give non-senders an RTT;
//! other block types are skipped.

use super::error::{malformed, RtcpError};
use super::header::{
    be16, be32, ensure, frame, packet_type, put16, put32, write_header, Framing, HEADER_LEN,
};
use super::ntp::NtpTime;
use super::Ssrc;

const BT_RRTR: u8 = 4;
const BT_DLRR: u8 = 5;
const BLOCKS: usize = HEADER_LEN + 4;

/// One DLRR sub-block (RFC 3611 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlrrItem {
    /// The receiver whose RRTR this answers.
    pub ssrc: Ssrc,
    /// LRR: compact NTP time of that RRTR.
    pub last_rr: u32,
    /// DLRR: delay since receiving it, in 1/65536 s.
    pub delay_since_last_rr: u32,
}

/// One block of an XR packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum XrBlock<'a> {
    /// Receiver reference time (BT 4).
    Rrtr(NtpTime),
    /// DLRR (BT 5): the raw sub-blocks; iterate with [`XrBlock::dlrr_items`].
    Dlrr(&'a [u8]),
    /// Any other block type, skipped.
    Unknown {
        /// Block type.
        block_type: u8,
        /// The type-specific octet.
        type_specific: u8,
        /// The block's contents after its 4-byte header.
        body: &'a [u8],
    },
}

impl<'a> XrBlock<'a> {
    /// The DLRR sub-blocks (empty for other block types).
    pub fn dlrr_items(&self) -> impl Iterator<Item = DlrrItem> + 'a {
        let raw: &'a [u8] = match self {
            XrBlock::Dlrr(raw) => raw,
            _ => &[],
        };
        raw.chunks_exact(12).map(|c| DlrrItem {
            ssrc: be32(c, 0),
            last_rr: be32(c, 4),
            delay_since_last_rr: be32(c, 8),
        })
    }
}

/// Decodes the block at the start of `b`; returns it and its size.
fn block(b: &[u8]) -> Result<(XrBlock<'_>, usize), RtcpError> {
    let bad = |r| malformed(packet_type::XR, r);
    if b.len() < 4 {
        return Err(bad("truncated block header"));
    }
    let words = usize::from(be16(b, 2));
    let len = 4 + 4 * words;
    let Some(body) = b.get(4..len) else {
        return Err(bad("block runs past the packet"));
    };
    let blk = match b[0] {
        BT_RRTR => {
            if words != 2 {
                return Err(bad("RRTR block length is not 2"));
            }
            XrBlock::Rrtr(NtpTime(
                (u64::from(be32(body, 0)) << 32) | u64::from(be32(body, 4)),
            ))
        }
        BT_DLRR => {
            if words % 3 != 0 {
                return Err(bad("DLRR block length not a multiple of 3"));
            }
            XrBlock::Dlrr(body)
        }
        bt => XrBlock::Unknown {
            block_type: bt,
            type_specific: b[1],
            body,
        },
    };
    Ok((blk, len))
}

/// A zero-copy view of an XR packet.
#[derive(Debug, Clone, Copy)]
pub struct ExtendedReport<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> ExtendedReport<T> {
    /// Validates the sender SSRC and the framing of every block.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = frame(buffer.as_ref())?;
        if f.header.packet_type != packet_type::XR {
            return Err(malformed(f.header.packet_type, "unexpected packet type"));
        }
        if f.payload_end < BLOCKS {
            return Err(malformed(packet_type::XR, "no room for the sender SSRC"));
        }
        let mut rest = &buffer.as_ref()[BLOCKS..f.payload_end];
        while !rest.is_empty() {
            let (_, n) = block(rest)?;
            rest = &rest[n..];
        }
        Ok(Self { buffer, f })
    }
    /// SSRC of the packet sender.
    pub fn ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// The report blocks in order.
    pub fn blocks(&self) -> XrBlocks<'_> {
        XrBlocks {
            rest: &self.buffer.as_ref()[BLOCKS..self.f.payload_end],
        }
    }
}

/// An iterator over XR blocks.
#[derive(Debug, Clone)]
pub struct XrBlocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for XrBlocks<'a> {
    type Item = XrBlock<'a>;
    fn next(&mut self) -> Option<XrBlock<'a>> {
        // Validated by new_checked; an error here just ends iteration.
        let (b, n) = block(self.rest).ok()?;
        self.rest = &self.rest[n..];
        Some(b)
    }
}

/// A block for [`write_xr`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum XrWriteBlock<'a> {
    /// RFC 3611 §4.4 receiver reference time.
    Rrtr(NtpTime),
    /// RFC 3611 §4.5 DLRR with its sub-blocks.
    Dlrr(&'a [DlrrItem]),
}

/// RFC 3611 §2: writes an XR packet; returns its length.
pub fn write_xr(
    out: &mut [u8],
    ssrc: Ssrc,
    blocks: &[XrWriteBlock<'_>],
) -> Result<usize, RtcpError> {
    let mut len = BLOCKS;
    for b in blocks {
        len += match b {
            XrWriteBlock::Rrtr(_) => 12,
            XrWriteBlock::Dlrr(items) => {
                if items.len() * 3 > usize::from(u16::MAX) {
                    return Err(RtcpError::InvalidInput("DLRR block too long"));
                }
                4 + 12 * items.len()
            }
        };
    }
    ensure(out, len)?;
    write_header(out, false, 0, packet_type::XR, len)?;
    put32(out, HEADER_LEN, ssrc);
    let mut at = BLOCKS;
    for b in blocks {
        match b {
            XrWriteBlock::Rrtr(ntp) => {
                out[at] = BT_RRTR;
                out[at + 1] = 0;
                put16(out, at + 2, 2);
                put32(out, at + 4, ntp.seconds());
                put32(out, at + 8, ntp.fraction());
                at += 12;
            }
            XrWriteBlock::Dlrr(items) => {
                out[at] = BT_DLRR;
                out[at + 1] = 0;
                // Fits: checked above.
                put16(out, at + 2, (items.len() * 3) as u16);
                at += 4;
                for i in *items {
                    put32(out, at, i.ssrc);
                    put32(out, at + 4, i.last_rr);
                    put32(out, at + 8, i.delay_since_last_rr);
                    at += 12;
                }
            }
        }
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libwebrtc_block_vectors() {
        // libwebrtc rrtr_unittest.cc kBlock and dlrr_unittest.cc kBlock,
        // wrapped in an XR header with sender 0x12345678.
        let rrtr = [
            0x04, 0x00, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89,
        ];
        let dlrr = [
            0x05, 0x00, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 0x23, 0x34, 0x45, 0x56, 0x33, 0x34,
            0x35, 0x36,
        ];
        let mut p = vec![0x80, 207, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78];
        p.extend_from_slice(&rrtr);
        p.extend_from_slice(&dlrr);
        p[3] = (p.len() / 4 - 1) as u8;
        let xr = ExtendedReport::new_checked(&p[..]).unwrap();
        assert_eq!(xr.ssrc(), 0x12345678);
        let blocks: Vec<_> = xr.blocks().collect();
        assert_eq!(
            blocks[0],
            XrBlock::Rrtr(NtpTime::new(0x12345678, 0x23456789))
        );
        let item = DlrrItem {
            ssrc: 0x12345678,
            last_rr: 0x23344556,
            delay_since_last_rr: 0x33343536,
        };
        assert_eq!(blocks[1].dlrr_items().collect::<Vec<_>>(), vec![item]);
        let mut out = [0u8; 64];
        let n = write_xr(
            &mut out,
            0x12345678,
            &[
                XrWriteBlock::Rrtr(NtpTime::new(0x12345678, 0x23456789)),
                XrWriteBlock::Dlrr(&[item]),
            ],
        )
        .unwrap();
        assert_eq!(&out[..n], &p[..]);
        // libwebrtc extended_reports_unittest.cc kEmptyPacket.
        let empty = [0x80, 207, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78];
        assert_eq!(write_xr(&mut out, 0x12345678, &[]).unwrap(), 8);
        assert_eq!(&out[..8], &empty);
        assert_eq!(
            ExtendedReport::new_checked(&empty[..])
                .unwrap()
                .blocks()
                .count(),
            0
        );
    }

    #[test]
    fn unknown_blocks_are_skipped_and_bad_sizes_rejected() {
        // A VoIP metrics block (BT 7, 8 words) between nothing else.
        let mut p = vec![0x80, 207, 0, 0, 0, 0, 0, 1, 7, 0, 0, 8];
        p.extend_from_slice(&[0xaa; 32]);
        p.extend_from_slice(&[4, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
        p[3] = (p.len() / 4 - 1) as u8;
        let xr = ExtendedReport::new_checked(&p[..]).unwrap();
        let b: Vec<_> = xr.blocks().collect();
        assert!(matches!(b[0], XrBlock::Unknown { block_type: 7, body, .. } if body.len() == 32));
        assert_eq!(b[1], XrBlock::Rrtr(NtpTime(0x0102030405060708)));
        // DLRR sizes 3..6 words: only multiples of 3 are valid (libwebrtc
        // dlrr_unittest.cc ParseFailsOnBadSize).
        for words in 3u8..6 {
            let mut p = vec![0x80, 207, 0, 0, 0, 0, 0, 1, 5, 0, 0, words];
            p.extend(std::iter::repeat_n(0, 4 * usize::from(words)));
            p[3] = (p.len() / 4 - 1) as u8;
            assert_eq!(ExtendedReport::new_checked(&p[..]).is_ok(), words % 3 == 0);
        }
        // A block whose length runs past the packet.
        let p = [0x80, 207, 0, 2, 0, 0, 0, 1, 4, 0, 0, 2];
        assert!(ExtendedReport::new_checked(&p[..]).is_err());
    }
}
