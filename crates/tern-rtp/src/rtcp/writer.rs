//! Appending packets into one compound datagram (RFC 3550 §6.1).

use super::{
    write_app, write_bye, write_ccfb, write_fir, write_nack, write_pli, write_remb, write_rr,
    write_sdes, write_sr, write_xr, CcfbStream, FirEntry, ReportBlock, RtcpError, SdesChunk,
    SenderInfo, SeqNo, Ssrc, TwccWriter, XrWriteBlock,
};

/// Appends RTCP packets into a caller buffer. Each method writes one packet
/// after the previous ones or fails leaving the buffer's written part
/// untouched. RFC 3550 §6.1 wants an SR or RR first and an SDES CNAME in
/// every compound packet; the writer leaves that policy to the caller (RFC
/// 5506 reduced-size packets omit both).
#[derive(Debug)]
pub struct CompoundWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> CompoundWriter<'a> {
    /// Starts an empty datagram in `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True before the first packet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Bytes still free.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }
    /// The datagram written so far.
    pub fn finish(self) -> &'a [u8] {
        &self.buf[..self.len]
    }

    fn push(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, RtcpError>,
    ) -> Result<&mut Self, RtcpError> {
        let n = f(&mut self.buf[self.len..])?;
        self.len += n;
        Ok(self)
    }

    /// Appends an SR (RFC 3550 §6.4.1).
    pub fn sender_report(
        &mut self,
        ssrc: Ssrc,
        info: &SenderInfo,
        blocks: &[ReportBlock],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_sr(o, ssrc, info, blocks))
    }
    /// Appends an RR (RFC 3550 §6.4.2).
    pub fn receiver_report(
        &mut self,
        ssrc: Ssrc,
        blocks: &[ReportBlock],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_rr(o, ssrc, blocks))
    }
    /// Appends an SDES (RFC 3550 §6.5).
    pub fn sdes(&mut self, chunks: &[SdesChunk<'_>]) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_sdes(o, chunks))
    }
    /// Appends a BYE (RFC 3550 §6.6).
    pub fn bye(&mut self, sources: &[Ssrc], reason: Option<&[u8]>) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_bye(o, sources, reason))
    }
    /// Appends an APP packet (RFC 3550 §6.7).
    pub fn app(
        &mut self,
        subtype: u8,
        ssrc: Ssrc,
        name: [u8; 4],
        data: &[u8],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_app(o, subtype, ssrc, name, data))
    }
    /// Appends a generic NACK (RFC 4585 §6.2.1).
    pub fn nack(
        &mut self,
        sender: Ssrc,
        media: Ssrc,
        lost: &[SeqNo],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_nack(o, sender, media, lost))
    }
    /// Appends a PLI (RFC 4585 §6.3.1).
    pub fn pli(&mut self, sender: Ssrc, media: Ssrc) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_pli(o, sender, media))
    }
    /// Appends a FIR (RFC 5104 §4.3.1).
    pub fn fir(&mut self, sender: Ssrc, entries: &[FirEntry]) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_fir(o, sender, entries))
    }
    /// Appends a REMB.
    pub fn remb(
        &mut self,
        sender: Ssrc,
        bitrate_bps: u64,
        ssrcs: &[Ssrc],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_remb(o, sender, bitrate_bps, ssrcs))
    }
    /// Appends an XR (RFC 3611).
    pub fn xr(&mut self, ssrc: Ssrc, blocks: &[XrWriteBlock<'_>]) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_xr(o, ssrc, blocks))
    }
    /// Appends RFC 8888 congestion control feedback.
    pub fn ccfb(
        &mut self,
        sender: Ssrc,
        streams: &[CcfbStream<'_>],
        report_timestamp: u32,
    ) -> Result<&mut Self, RtcpError> {
        self.push(|o| write_ccfb(o, sender, streams, report_timestamp))
    }
    /// Appends the next transport-wide feedback packet of `twcc`, sized to
    /// the space left; returns false when `twcc` had nothing left. The packet
    /// is padded with the P bit set as libwebrtc does, so read such datagrams
    /// with [`super::CompoundIter::allow_padding_anywhere`] unless it is last.
    pub fn transport_feedback(&mut self, twcc: &mut TwccWriter<'_>) -> Result<bool, RtcpError> {
        match twcc.write_next(&mut self.buf[self.len..])? {
            Some(n) => {
                self.len += n;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sdes_item, CompoundIter, NtpTime, RtcpPacket, SdesItem};
    use super::*;

    #[test]
    fn every_packet_type_round_trips_through_one_datagram() {
        let mut buf = [0u8; 1500];
        let mut w = CompoundWriter::new(&mut buf);
        let block = ReportBlock {
            ssrc: 9,
            fraction_lost: 3,
            cumulative_lost: -2,
            ..Default::default()
        };
        let cname = [SdesItem {
            kind: sdes_item::CNAME,
            value: b"tern",
        }];
        let entries = [
            (65534u16, Some(1_000_000i64)),
            (65535, None),
            (0, Some(1_003_000)),
        ];
        let mut twcc = TwccWriter::new(1, 2, &entries, 7).unwrap();
        w.sender_report(
            1,
            &SenderInfo {
                ntp: NtpTime(5),
                ..Default::default()
            },
            &[block],
        )
        .unwrap()
        .sdes(&[SdesChunk {
            ssrc: 1,
            items: &cname,
        }])
        .unwrap()
        .nack(1, 2, &[10, 12])
        .unwrap()
        .pli(1, 2)
        .unwrap()
        .fir(1, &[FirEntry { ssrc: 2, seq_nr: 4 }])
        .unwrap()
        .remb(1, 1_000_000, &[2])
        .unwrap()
        .xr(1, &[XrWriteBlock::Rrtr(NtpTime(6))])
        .unwrap()
        .ccfb(1, &[], 77)
        .unwrap()
        .app(3, 1, *b"tern", b"data")
        .unwrap();
        assert!(w.transport_feedback(&mut twcc).unwrap());
        assert!(!w.transport_feedback(&mut twcc).unwrap());
        w.bye(&[1], Some(b"done")).unwrap();
        let d = w.finish();
        let got: Vec<_> = CompoundIter::new(d)
            .allow_padding_anywhere()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 11);
        assert!(
            matches!(&got[0], RtcpPacket::SenderReport(sr) if sr.report_blocks().next() == Some(block))
        );
        assert!(
            matches!(&got[1], RtcpPacket::Sdes(s) if s.chunks().next().and_then(|c| c.cname()) == Some(&b"tern"[..]))
        );
        assert!(matches!(&got[2], RtcpPacket::Nack(n) if n.lost().collect::<Vec<_>>() == [10, 12]));
        assert!(matches!(&got[3], RtcpPacket::Pli(p) if p.media_ssrc() == 2));
        assert!(
            matches!(&got[4], RtcpPacket::Fir(f) if f.entries().next() == Some(FirEntry { ssrc: 2, seq_nr: 4 }))
        );
        assert!(matches!(&got[5], RtcpPacket::Remb(r) if r.bitrate_bps() == 1_000_000));
        assert!(matches!(&got[6], RtcpPacket::ExtendedReport(x) if x.blocks().count() == 1));
        assert!(matches!(&got[7], RtcpPacket::CongestionFeedback(c) if c.report_timestamp() == 77));
        assert!(matches!(&got[8], RtcpPacket::App(a) if a.data() == b"data"));
        let RtcpPacket::TransportFeedback(tf) = &got[9] else {
            panic!("not TWCC")
        };
        assert_eq!(tf.feedback_count(), 7);
        let p: Vec<_> = tf
            .packets()
            .map(|(s, a)| (s, a.map(|a| a.time_us)))
            .collect();
        assert_eq!(
            p,
            vec![
                (65534, Some(1_000_000)),
                (65535, None),
                (0, Some(1_003_000))
            ]
        );
        assert!(matches!(&got[10], RtcpPacket::Bye(b) if b.reason() == Some(&b"done"[..])));
    }

    #[test]
    fn a_failed_append_leaves_the_datagram_intact() {
        let mut buf = [0u8; 20];
        let mut w = CompoundWriter::new(&mut buf);
        w.pli(1, 2).unwrap();
        assert!(w.receiver_report(1, &[ReportBlock::default()]).is_err());
        assert_eq!(w.len(), 12);
        assert_eq!(CompoundIter::new(w.finish()).count(), 1);
    }
}
