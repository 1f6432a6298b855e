//! RFC 8888 RTP control protocol feedback for congestion control (RTPFB
//! FMT 11): per-SSRC runs of 16-bit packet metrics and a report timestamp.

use super::error::{malformed, RtcpError};
use super::header::{
    be16, be32, ensure, fmt, frame, packet_type, put16, put32, write_header, Framing, HEADER_LEN,
};
use super::{SeqNo, Ssrc};

/// RFC 8888 §3.1: arrival time offset meaning "unavailable" (received after
/// the report timestamp's reference, or not measured).
pub const ATO_UNAVAILABLE: u16 = 0x1fff;
/// RFC 8888 §3.1: arrival time offset meaning "too old to express".
pub const ATO_OVER_RANGE: u16 = 0x1ffe;
/// RFC 8888 §3.1: at most 16384 reports per block.
const MAX_REPORTS: usize = 16384;
const BLOCKS: usize = HEADER_LEN + 4;

/// The ECN field (RFC 3168 §5 code points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Ecn {
    /// Not ECN-capable transport (00).
    #[default]
    NotEct,
    /// ECT(1) (01).
    Ect1,
    /// ECT(0) (10).
    Ect0,
    /// Congestion experienced (11).
    Ce,
}

impl Ecn {
    fn from_bits(b: u16) -> Self {
        match b & 3 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }
    fn bits(self) -> u16 {
        match self {
            Ecn::NotEct => 0,
            Ecn::Ect1 => 1,
            Ecn::Ect0 => 2,
            Ecn::Ce => 3,
        }
    }
}

/// One packet's metric (RFC 8888 §3.1): `None`-like when not received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcfbMetric {
    /// The R bit.
    pub received: bool,
    /// ECN marking seen on the packet.
    pub ecn: Ecn,
    /// Arrival time offset before the report timestamp, in 1/1024 s
    /// (13 bits; [`ATO_OVER_RANGE`], [`ATO_UNAVAILABLE`] are special).
    pub arrival_time_offset: u16,
}

impl CcfbMetric {
    fn decode(v: u16) -> Self {
        if v & 0x8000 == 0 {
            // RFC 8888 §3.1: the other bits of a not-received report are zero
            // and ignored.
            return Self::default();
        }
        Self {
            received: true,
            ecn: Ecn::from_bits(v >> 13),
            arrival_time_offset: v & 0x1fff,
        }
    }
    fn encode(&self) -> u16 {
        if !self.received {
            return 0;
        }
        0x8000 | (self.ecn.bits() << 13) | (self.arrival_time_offset & 0x1fff)
    }
}

/// Size of a report block with `n` metrics, padded to 32 bits.
fn block_len(n: usize) -> usize {
    8 + ((2 * n + 3) & !3)
}

/// A zero-copy view of an RFC 8888 feedback packet.
#[derive(Debug, Clone, Copy)]
pub struct CongestionFeedback<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> CongestionFeedback<T> {
    /// Validates the sender SSRC, every report block's length and the
    /// trailing report timestamp.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = frame(buffer.as_ref())?;
        let bad = |r| malformed(packet_type::RTPFB, r);
        if f.header.packet_type != packet_type::RTPFB || f.header.count != fmt::CCFB {
            return Err(malformed(f.header.packet_type, "not RFC 8888 feedback"));
        }
        if f.payload_end < BLOCKS + 4 {
            return Err(bad("no room for sender SSRC and report timestamp"));
        }
        let b = buffer.as_ref();
        let end = f.payload_end - 4;
        let mut pos = BLOCKS;
        while pos < end {
            if pos + 8 > end {
                return Err(bad("truncated report block header"));
            }
            let n = usize::from(be16(b, pos + 6));
            if n > MAX_REPORTS {
                return Err(bad("more than 16384 reports in a block"));
            }
            pos += block_len(n);
            if pos > end {
                return Err(bad("report block runs past the report timestamp"));
            }
        }
        Ok(Self { buffer, f })
    }
    /// SSRC of the feedback sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// Report timestamp: compact NTP time the report was generated.
    pub fn report_timestamp(&self) -> u32 {
        be32(self.buffer.as_ref(), self.f.payload_end - 4)
    }
    /// The per-SSRC report blocks.
    pub fn blocks(&self) -> CcfbReportBlocks<'_> {
        CcfbReportBlocks {
            rest: &self.buffer.as_ref()[BLOCKS..self.f.payload_end - 4],
        }
    }
}

/// An iterator over RFC 8888 report blocks.
#[derive(Debug, Clone)]
pub struct CcfbReportBlocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for CcfbReportBlocks<'a> {
    type Item = CcfbReportBlock<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let head = self.rest.get(..8)?;
        let n = usize::from(be16(head, 6));
        let len = block_len(n);
        let block = self.rest.get(..len)?;
        self.rest = &self.rest[len..];
        Some(CcfbReportBlock {
            ssrc: be32(block, 0),
            begin_seq: be16(block, 4),
            metrics: &block[8..8 + 2 * n],
        })
    }
}

/// One report block: metrics for `begin_seq` onwards of one RTP stream.
#[derive(Debug, Clone, Copy)]
pub struct CcfbReportBlock<'a> {
    /// The RTP stream reported on.
    pub ssrc: Ssrc,
    /// Sequence number of the first metric.
    pub begin_seq: SeqNo,
    metrics: &'a [u8],
}

impl<'a> CcfbReportBlock<'a> {
    /// How many packets the block reports.
    pub fn num_reports(&self) -> usize {
        self.metrics.len() / 2
    }
    /// (sequence number, metric) for each reported packet.
    pub fn metrics(&self) -> impl Iterator<Item = (SeqNo, CcfbMetric)> + 'a {
        let begin = self.begin_seq;
        self.metrics.chunks_exact(2).enumerate().map(move |(i, m)| {
            // i < 16384, so the cast cannot truncate.
            (begin.wrapping_add(i as u16), CcfbMetric::decode(be16(m, 0)))
        })
    }
}

/// A stream's metrics for [`write_ccfb`].
#[derive(Debug, Clone, Copy)]
pub struct CcfbStream<'a> {
    /// The RTP stream.
    pub ssrc: Ssrc,
    /// Sequence number of `metrics[0]`.
    pub begin_seq: SeqNo,
    /// One metric per consecutive sequence number (at most 16384).
    pub metrics: &'a [CcfbMetric],
}

/// RFC 8888 §3.1: writes a congestion control feedback packet; returns its
/// length.
pub fn write_ccfb(
    out: &mut [u8],
    sender_ssrc: Ssrc,
    streams: &[CcfbStream<'_>],
    report_timestamp: u32,
) -> Result<usize, RtcpError> {
    let mut len = BLOCKS + 4;
    for s in streams {
        if s.metrics.len() > MAX_REPORTS {
            return Err(RtcpError::InvalidInput("more than 16384 RFC 8888 reports"));
        }
        len += block_len(s.metrics.len());
    }
    ensure(out, len)?;
    write_header(out, false, fmt::CCFB, packet_type::RTPFB, len)?;
    put32(out, HEADER_LEN, sender_ssrc);
    let mut at = BLOCKS;
    for s in streams {
        put32(out, at, s.ssrc);
        put16(out, at + 4, s.begin_seq);
        // <= 16384: checked above.
        put16(out, at + 6, s.metrics.len() as u16);
        for (i, m) in s.metrics.iter().enumerate() {
            put16(out, at + 8 + 2 * i, m.encode());
        }
        let end = at + block_len(s.metrics.len());
        out[at + 8 + 2 * s.metrics.len()..end].fill(0);
        at = end;
    }
    put32(out, at, report_timestamp);
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    // pion/rtcp rfc8888_test.go TestCCFeedbackReportUnmarshalMarshal "Report".
    const REPORT: [u8; 44] = [
        0x8B, 0xCD, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00,
        0x04, 0x9F, 0xFD, 0x9F, 0xFC, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02,
        0x00, 0x03, 0x9F, 0xFD, 0x9F, 0xFC, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    ];

    fn rx(ato: u16) -> CcfbMetric {
        CcfbMetric {
            received: true,
            ecn: Ecn::NotEct,
            arrival_time_offset: ato,
        }
    }

    #[test]
    fn pion_vector_parse_and_build() {
        let v = CongestionFeedback::new_checked(&REPORT[..]).unwrap();
        assert_eq!(v.sender_ssrc(), 1);
        assert_eq!(v.report_timestamp(), 1);
        let blocks: Vec<_> = v.blocks().collect();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            (blocks[0].ssrc, blocks[0].begin_seq, blocks[0].num_reports()),
            (1, 2, 4)
        );
        let m: Vec<_> = blocks[0].metrics().collect();
        assert_eq!(
            m,
            vec![
                (2, rx(8189)),
                (3, rx(8188)),
                (4, CcfbMetric::default()),
                (5, CcfbMetric::default())
            ]
        );
        assert_eq!(blocks[1].num_reports(), 3);
        let a = [
            rx(8189),
            rx(8188),
            CcfbMetric::default(),
            CcfbMetric::default(),
        ];
        let streams = [
            CcfbStream {
                ssrc: 1,
                begin_seq: 2,
                metrics: &a,
            },
            CcfbStream {
                ssrc: 2,
                begin_seq: 2,
                metrics: &a[..3],
            },
        ];
        let mut out = [0u8; 64];
        let n = write_ccfb(&mut out, 1, &streams, 1).unwrap();
        assert_eq!(&out[..n], &REPORT);
        // pion "EmtpyReport".
        let empty = [
            0x8B, 0xCD, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
        ];
        assert_eq!(write_ccfb(&mut out, 1, &[], 1).unwrap(), 12);
        assert_eq!(&out[..12], &empty);
        assert_eq!(
            CongestionFeedback::new_checked(&empty[..])
                .unwrap()
                .blocks()
                .count(),
            0
        );
    }

    #[test]
    fn metric_bits_and_bad_lengths() {
        // pion rfc8888_test.go metric block vectors.
        assert_eq!(
            CcfbMetric::decode(0xFFF8),
            CcfbMetric {
                received: true,
                ecn: Ecn::Ce,
                arrival_time_offset: 8184
            }
        );
        assert_eq!(CcfbMetric::decode(0x6200), CcfbMetric::default());
        assert_eq!(rx(8191).encode(), 0x9FFF);
        // num_reports 6 where 4 fit (pion "incorrectNumReports").
        let mut p = REPORT;
        p[15] = 6;
        assert!(CongestionFeedback::new_checked(&p[..]).is_err());
    }
}
