//! Sender and receiver reports with their report blocks (RFC 3550 §6.4).

use super::error::{malformed, RtcpError};
use super::header::{be32, ensure, frame, packet_type, put32, write_header, Framing, HEADER_LEN};
use super::ntp::NtpTime;
use super::Ssrc;

/// Size of one reception report block.
pub const REPORT_BLOCK_LEN: usize = 24;
/// Size of the sender info that follows the SSRC in an SR.
pub const SENDER_INFO_LEN: usize = 20;
/// The 5-bit RC field limits a packet to 31 report blocks.
pub const MAX_REPORT_BLOCKS: usize = 31;

// Offsets inside the payload (after the 4-byte common header).
const SSRC: usize = 0;
const SR_NTP: usize = 4;
const SR_RTP_TS: usize = 12;
const SR_PACKETS: usize = 16;
const SR_OCTETS: usize = 20;
const SR_BLOCKS: usize = 4 + SENDER_INFO_LEN;
const RR_BLOCKS: usize = 4;

/// RFC 3550 §6.4.1: one reception report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC of the source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction of packets lost since the previous report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost: a signed 24-bit value (duplicates can make
    /// it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | seq).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// LSR: the middle 32 bits of the NTP timestamp of the last SR received.
    pub last_sr: u32,
    /// DLSR: delay since that SR in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// Smallest and largest values of the signed 24-bit cumulative-lost field.
const LOST_MIN: i32 = -(1 << 23);
const LOST_MAX: i32 = (1 << 23) - 1;

impl ReportBlock {
    /// Decodes a block from its 24 bytes.
    pub fn parse(b: &[u8; REPORT_BLOCK_LEN]) -> Self {
        // Sign-extend the 24-bit cumulative loss.
        let lost = i32::from_be_bytes([b[5], b[6], b[7], 0]) >> 8;
        Self {
            ssrc: be32(b, 0),
            fraction_lost: b[4],
            cumulative_lost: lost,
            extended_highest_seq: be32(b, 8),
            jitter: be32(b, 12),
            last_sr: be32(b, 16),
            delay_since_last_sr: be32(b, 20),
        }
    }

    /// Encodes the block; fails if `cumulative_lost` does not fit in 24
    /// signed bits (the sender should clamp, RFC 3550 §6.4.1).
    pub fn emit(&self, b: &mut [u8; REPORT_BLOCK_LEN]) -> Result<(), RtcpError> {
        if !(LOST_MIN..=LOST_MAX).contains(&self.cumulative_lost) {
            return Err(RtcpError::InvalidInput(
                "cumulative lost outside the signed 24-bit range",
            ));
        }
        put32(b, 0, self.ssrc);
        let lost = self.cumulative_lost.to_be_bytes();
        b[4] = self.fraction_lost;
        b[5..8].copy_from_slice(&lost[1..4]);
        put32(b, 8, self.extended_highest_seq);
        put32(b, 12, self.jitter);
        put32(b, 16, self.last_sr);
        put32(b, 20, self.delay_since_last_sr);
        Ok(())
    }
}

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wallclock time when the report was sent.
    pub ntp: NtpTime,
    /// The same instant in the RTP timestamp clock.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
}

/// An iterator over report blocks.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    rest: &'a [u8],
}

impl<'a> ReportBlocks<'a> {
    pub(crate) fn new(rest: &'a [u8]) -> Self {
        Self { rest }
    }
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;
    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.rest.split_first_chunk::<REPORT_BLOCK_LEN>()?;
        self.rest = rest;
        Some(ReportBlock::parse(block))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / REPORT_BLOCK_LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}

fn check(buf: &[u8], pt: u8, fixed: usize) -> Result<Framing, RtcpError> {
    let f = frame(buf)?;
    if f.header.packet_type != pt {
        return Err(malformed(f.header.packet_type, "unexpected packet type"));
    }
    let need = HEADER_LEN + fixed + usize::from(f.header.count) * REPORT_BLOCK_LEN;
    if f.payload_end < need {
        return Err(malformed(pt, "shorter than its report count"));
    }
    Ok(f)
}

/// A zero-copy view of a sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy)]
pub struct SenderReport<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> SenderReport<T> {
    /// Validates the header, the sender info and the report blocks the RC
    /// field announces. Bytes after the packet are ignored.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = check(buffer.as_ref(), packet_type::SR, SR_BLOCKS)?;
        Ok(Self { buffer, f })
    }
    fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.f.payload_end]
    }
    /// SSRC of the sender.
    pub fn ssrc(&self) -> Ssrc {
        be32(self.payload(), SSRC)
    }
    /// The sender information block.
    pub fn sender_info(&self) -> SenderInfo {
        let p = self.payload();
        SenderInfo {
            ntp: NtpTime((u64::from(be32(p, SR_NTP)) << 32) | u64::from(be32(p, SR_NTP + 4))),
            rtp_timestamp: be32(p, SR_RTP_TS),
            packet_count: be32(p, SR_PACKETS),
            octet_count: be32(p, SR_OCTETS),
        }
    }
    /// The report blocks, as many as the RC field says.
    pub fn report_blocks(&self) -> ReportBlocks<'_> {
        let n = usize::from(self.f.header.count) * REPORT_BLOCK_LEN;
        ReportBlocks::new(&self.payload()[SR_BLOCKS..SR_BLOCKS + n])
    }
    /// Profile-specific extension bytes after the report blocks.
    pub fn extension(&self) -> &[u8] {
        let n = usize::from(self.f.header.count) * REPORT_BLOCK_LEN;
        &self.payload()[SR_BLOCKS + n..]
    }
    /// Bytes this packet occupies.
    pub fn len(&self) -> usize {
        self.f.len
    }
    /// Always false: a valid packet has at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SenderReport<T> {
    /// Rewrites the SSRC that report block `index` is about (an SFU mapping
    /// a forwarded stream back to its publisher's SSRC); false if there is
    /// no such block.
    pub fn set_report_block_ssrc(&mut self, index: usize, ssrc: Ssrc) -> bool {
        if index >= usize::from(self.f.header.count) {
            return false;
        }
        put32(
            self.buffer.as_mut(),
            HEADER_LEN + SR_BLOCKS + index * REPORT_BLOCK_LEN,
            ssrc,
        );
        true
    }
    /// Rewrites the sender SSRC in place (an SFU's rewriting).
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        put32(self.buffer.as_mut(), HEADER_LEN + SSRC, ssrc);
    }
}

/// A zero-copy view of a receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, Copy)]
pub struct ReceiverReport<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> ReceiverReport<T> {
    /// Validates the header and the report blocks the RC field announces.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = check(buffer.as_ref(), packet_type::RR, RR_BLOCKS)?;
        Ok(Self { buffer, f })
    }
    fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.f.payload_end]
    }
    /// SSRC of the packet sender.
    pub fn ssrc(&self) -> Ssrc {
        be32(self.payload(), SSRC)
    }
    /// The report blocks, as many as the RC field says.
    pub fn report_blocks(&self) -> ReportBlocks<'_> {
        let n = usize::from(self.f.header.count) * REPORT_BLOCK_LEN;
        ReportBlocks::new(&self.payload()[RR_BLOCKS..RR_BLOCKS + n])
    }
    /// Profile-specific extension bytes after the report blocks.
    pub fn extension(&self) -> &[u8] {
        let n = usize::from(self.f.header.count) * REPORT_BLOCK_LEN;
        &self.payload()[RR_BLOCKS + n..]
    }
    /// Bytes this packet occupies.
    pub fn len(&self) -> usize {
        self.f.len
    }
    /// Always false: a valid packet has at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ReceiverReport<T> {
    /// Rewrites the SSRC that report block `index` is about (an SFU mapping
    /// a forwarded stream back to its publisher's SSRC); false if there is
    /// no such block.
    pub fn set_report_block_ssrc(&mut self, index: usize, ssrc: Ssrc) -> bool {
        if index >= usize::from(self.f.header.count) {
            return false;
        }
        put32(
            self.buffer.as_mut(),
            HEADER_LEN + RR_BLOCKS + index * REPORT_BLOCK_LEN,
            ssrc,
        );
        true
    }
    /// Rewrites the sender SSRC in place.
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        put32(self.buffer.as_mut(), HEADER_LEN + SSRC, ssrc);
    }
}

fn write_blocks(out: &mut [u8], blocks: &[ReportBlock]) -> Result<(), RtcpError> {
    for (chunk, b) in out.chunks_exact_mut(REPORT_BLOCK_LEN).zip(blocks) {
        // chunks_exact_mut yields exactly REPORT_BLOCK_LEN bytes.
        let arr: &mut [u8; REPORT_BLOCK_LEN] = chunk
            .try_into()
            .map_err(|_| RtcpError::InvalidInput("report block slice"))?;
        b.emit(arr)?;
    }
    Ok(())
}

/// RFC 3550 §6.4.1: writes an SR into `out`; returns its length.
pub fn write_sr(
    out: &mut [u8],
    ssrc: Ssrc,
    info: &SenderInfo,
    blocks: &[ReportBlock],
) -> Result<usize, RtcpError> {
    if blocks.len() > MAX_REPORT_BLOCKS {
        return Err(RtcpError::InvalidInput("more than 31 report blocks"));
    }
    let len = HEADER_LEN + SR_BLOCKS + blocks.len() * REPORT_BLOCK_LEN;
    ensure(out, len)?;
    // Fits in 5 bits: checked against MAX_REPORT_BLOCKS above.
    write_header(out, false, blocks.len() as u8, packet_type::SR, len)?;
    let p = &mut out[HEADER_LEN..len];
    put32(p, SSRC, ssrc);
    put32(p, SR_NTP, info.ntp.seconds());
    put32(p, SR_NTP + 4, info.ntp.fraction());
    put32(p, SR_RTP_TS, info.rtp_timestamp);
    put32(p, SR_PACKETS, info.packet_count);
    put32(p, SR_OCTETS, info.octet_count);
    write_blocks(&mut p[SR_BLOCKS..], blocks)?;
    Ok(len)
}

/// RFC 3550 §6.4.2: writes an RR into `out`; returns its length.
pub fn write_rr(out: &mut [u8], ssrc: Ssrc, blocks: &[ReportBlock]) -> Result<usize, RtcpError> {
    if blocks.len() > MAX_REPORT_BLOCKS {
        return Err(RtcpError::InvalidInput("more than 31 report blocks"));
    }
    let len = HEADER_LEN + RR_BLOCKS + blocks.len() * REPORT_BLOCK_LEN;
    ensure(out, len)?;
    // Fits in 5 bits: checked against MAX_REPORT_BLOCKS above.
    write_header(out, false, blocks.len() as u8, packet_type::RR, len)?;
    let p = &mut out[HEADER_LEN..len];
    put32(p, SSRC, ssrc);
    write_blocks(&mut p[RR_BLOCKS..], blocks)?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    // libwebrtc modules/rtp_rtcp/source/rtcp_packet/receiver_report_unittest.cc kPacket.
    const RR_PACKET: [u8; 32] = [
        0x81, 201, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89, 55, 0x11, 0x12,
        0x13, 0x22, 0x23, 0x24, 0x25, 0x33, 0x34, 0x35, 0x36, 0x44, 0x45, 0x46, 0x47, 0x55, 0x56,
        0x57, 0x58,
    ];
    // libwebrtc modules/rtp_rtcp/source/rtcp_packet/sender_report_unittest.cc kPacket.
    const SR_PACKET: [u8; 28] = [
        0x80, 200, 0x00, 0x06, 0x12, 0x34, 0x56, 0x78, 0x11, 0x12, 0x14, 0x18, 0x22, 0x24, 0x26,
        0x28, 0x33, 0x34, 0x35, 0x36, 0x44, 0x45, 0x46, 0x47, 0x55, 0x56, 0x57, 0x58,
    ];

    fn libwebrtc_block() -> ReportBlock {
        ReportBlock {
            ssrc: 0x23456789,
            fraction_lost: 55,
            cumulative_lost: 0x111213,
            extended_highest_seq: 0x22232425,
            jitter: 0x33343536,
            last_sr: 0x44454647,
            delay_since_last_sr: 0x55565758,
        }
    }

    #[test]
    fn rr_libwebrtc_vector_parse_and_build() {
        let mut copy = RR_PACKET;
        let mut rr = ReceiverReport::new_checked(&mut copy[..]).unwrap();
        assert!(rr.set_report_block_ssrc(0, 5));
        assert_eq!(rr.report_blocks().next().unwrap().ssrc, 5);
        rr.set_ssrc(6);
        assert_eq!(rr.ssrc(), 6);
        let rr = ReceiverReport::new_checked(&RR_PACKET[..]).unwrap();
        assert_eq!(rr.ssrc(), 0x12345678);
        let blocks: Vec<_> = rr.report_blocks().collect();
        assert_eq!(blocks, vec![libwebrtc_block()]);
        assert!(rr.extension().is_empty());
        let mut out = [0u8; 64];
        let n = write_rr(&mut out, 0x12345678, &[libwebrtc_block()]).unwrap();
        assert_eq!(&out[..n], &RR_PACKET);
    }

    #[test]
    fn rr_with_count_too_high_is_rejected() {
        let mut p = RR_PACKET;
        p[0] += 1; // libwebrtc ParseFailsOnIncorrectSize
        assert!(ReceiverReport::new_checked(&p[..]).is_err());
    }

    #[test]
    fn sr_libwebrtc_vector_parse_and_build() {
        let sr = SenderReport::new_checked(&SR_PACKET[..]).unwrap();
        assert_eq!(sr.ssrc(), 0x12345678);
        let info = sr.sender_info();
        assert_eq!(info.ntp, NtpTime(0x1112_1418_2224_2628));
        assert_eq!(info.rtp_timestamp, 0x33343536);
        assert_eq!(info.packet_count, 0x44454647);
        assert_eq!(info.octet_count, 0x55565758);
        assert_eq!(sr.report_blocks().count(), 0);
        let mut out = [0u8; 64];
        let n = write_sr(&mut out, 0x12345678, &info, &[]).unwrap();
        assert_eq!(&out[..n], &SR_PACKET);
    }

    #[test]
    fn negative_cumulative_lost_round_trips() {
        let b = ReportBlock {
            cumulative_lost: -5,
            ..libwebrtc_block()
        };
        let mut raw = [0u8; REPORT_BLOCK_LEN];
        b.emit(&mut raw).unwrap();
        assert_eq!(&raw[5..8], &[0xff, 0xff, 0xfb]);
        assert_eq!(ReportBlock::parse(&raw), b);
        for bad in [LOST_MAX + 1, LOST_MIN - 1] {
            let b = ReportBlock {
                cumulative_lost: bad,
                ..b
            };
            assert!(b.emit(&mut raw).is_err());
        }
    }

    #[test]
    fn sr_with_blocks_and_rewrite() {
        let blocks = [libwebrtc_block(), ReportBlock::default()];
        let info = SenderInfo {
            ntp: NtpTime(0xdead_beef_0000_0001),
            rtp_timestamp: 9,
            packet_count: 8,
            octet_count: 7,
        };
        let mut out = [0u8; 128];
        let n = write_sr(&mut out, 1, &info, &blocks).unwrap();
        assert_eq!(n, 4 + 24 + 48);
        let mut sr = SenderReport::new_checked(&mut out[..n]).unwrap();
        sr.set_ssrc(0xabcdef01);
        assert_eq!(sr.ssrc(), 0xabcdef01);
        assert!(sr.set_report_block_ssrc(1, 77));
        assert!(!sr.set_report_block_ssrc(2, 77));
        assert_eq!(sr.report_blocks().nth(1).unwrap().ssrc, 77);
        assert!(sr.set_report_block_ssrc(1, 0));
        assert_eq!(sr.sender_info(), info);
        assert_eq!(sr.report_blocks().collect::<Vec<_>>(), blocks);
        assert!(write_sr(&mut out[..n - 1], 1, &info, &blocks).is_err());
        assert!(write_rr(&mut out, 1, &[ReportBlock::default(); 32]).is_err());
    }
}
