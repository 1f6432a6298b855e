//! Walking a compound RTCP datagram (RFC 3550 §6.1) or a reduced-size one
//! (RFC 5506 §3.1).

use super::error::RtcpError;
use super::header::{fmt, frame, packet_type};
use super::{
    App, Bye, CongestionFeedback, ExtendedReport, Fir, Nack, Pli, ReceiverReport, Remb, Sdes,
    SenderReport, TransportFeedback,
};

/// One packet of a compound datagram, as a typed zero-copy view.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// Sender report.
    SenderReport(SenderReport<&'a [u8]>),
    /// Receiver report.
    ReceiverReport(ReceiverReport<&'a [u8]>),
    /// Source description.
    Sdes(Sdes<&'a [u8]>),
    /// Goodbye.
    Bye(Bye<&'a [u8]>),
    /// Application-defined.
    App(App<&'a [u8]>),
    /// Generic NACK.
    Nack(Nack<&'a [u8]>),
    /// Transport-wide CC feedback.
    TransportFeedback(TransportFeedback<&'a [u8]>),
    /// RFC 8888 congestion control feedback.
    CongestionFeedback(CongestionFeedback<&'a [u8]>),
    /// Picture loss indication.
    Pli(Pli<&'a [u8]>),
    /// Full intra request.
    Fir(Fir<&'a [u8]>),
    /// Receiver estimated maximum bitrate.
    Remb(Remb<&'a [u8]>),
    /// Extended report.
    ExtendedReport(ExtendedReport<&'a [u8]>),
    /// A packet type or feedback format this crate does not decode; its
    /// common header was valid, so the rest of the datagram can be read.
    Unknown {
        /// The packet type.
        packet_type: u8,
        /// The count/FMT field.
        count: u8,
        /// The whole packet, header included.
        raw: &'a [u8],
    },
}

/// An iterator over the packets of a compound datagram.
///
/// Each packet's common header is validated (version 2, length within the
/// datagram, a sane padding count, padding only on the last packet unless
/// [`CompoundIter::allow_padding_anywhere`]), then its body is checked by the
/// matching view. The first error is yielded once and ends iteration: after a
/// malformed packet the following lengths cannot be trusted (RFC 3550
/// Appendix A.2). The first packet need not be an SR or RR, which accepts
/// RFC 5506 reduced-size RTCP.
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    rest: &'a [u8],
    padding_anywhere: bool,
    done: bool,
}

impl<'a> CompoundIter<'a> {
    /// Iterates over `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Self {
            rest: datagram,
            padding_anywhere: false,
            done: false,
        }
    }

    /// Accepts the padding bit on any packet. libwebrtc pads every
    /// transport-wide feedback it emits (1–3 bytes, P set) and may bundle
    /// several into one datagram, which the strict RFC 3550 rule rejects.
    pub fn allow_padding_anywhere(mut self) -> Self {
        self.padding_anywhere = true;
        self
    }

    fn decode(&self, raw: &'a [u8], pt: u8, count: u8) -> Result<RtcpPacket<'a>, RtcpError> {
        Ok(match (pt, count) {
            (packet_type::SR, _) => RtcpPacket::SenderReport(SenderReport::new_checked(raw)?),
            (packet_type::RR, _) => RtcpPacket::ReceiverReport(ReceiverReport::new_checked(raw)?),
            (packet_type::SDES, _) => RtcpPacket::Sdes(Sdes::new_checked(raw)?),
            (packet_type::BYE, _) => RtcpPacket::Bye(Bye::new_checked(raw)?),
            (packet_type::APP, _) => RtcpPacket::App(App::new_checked(raw)?),
            (packet_type::RTPFB, fmt::NACK) => RtcpPacket::Nack(Nack::new_checked(raw)?),
            (packet_type::RTPFB, fmt::TWCC) => {
                RtcpPacket::TransportFeedback(TransportFeedback::new_checked(raw)?)
            }
            (packet_type::RTPFB, fmt::CCFB) => {
                RtcpPacket::CongestionFeedback(CongestionFeedback::new_checked(raw)?)
            }
            (packet_type::PSFB, fmt::PLI) => RtcpPacket::Pli(Pli::new_checked(raw)?),
            (packet_type::PSFB, fmt::FIR) => RtcpPacket::Fir(Fir::new_checked(raw)?),
            // AFB carries other applications' messages too; only REMB is known.
            (packet_type::PSFB, fmt::AFB) if raw.get(12..16) == Some(b"REMB") => {
                RtcpPacket::Remb(Remb::new_checked(raw)?)
            }
            (packet_type::XR, _) => RtcpPacket::ExtendedReport(ExtendedReport::new_checked(raw)?),
            _ => RtcpPacket::Unknown {
                packet_type: pt,
                count,
                raw,
            },
        })
    }
}

impl<'a> Iterator for CompoundIter<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let result = frame(self.rest).and_then(|f| {
            let (raw, rest) = self.rest.split_at(f.len);
            if f.header.padding && !rest.is_empty() && !self.padding_anywhere {
                return Err(RtcpError::PaddingNotLast);
            }
            let p = self.decode(raw, f.header.packet_type, f.header.count)?;
            self.rest = rest;
            Ok(p)
        });
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pion_sr_then_sdes_capture() {
        // pion/rtcp sender_report_test.go "with extension" (pion/rtcp#447):
        // an SR followed by an SDES with a CNAME, as one datagram.
        let d = [
            0x80, 0xc8, 0x0, 0x6, 0x2b, 0x7e, 0xc0, 0xc5, 0xe0, 0x20, 0xa2, 0xa9, 0x52, 0xa5, 0x3f,
            0xc0, 0x2e, 0x48, 0xa5, 0x52, 0x0, 0x0, 0x0, 0x46, 0x0, 0x0, 0x12, 0x1d, 0x81, 0xca,
            0x0, 0x6, 0x2b, 0x7e, 0xc0, 0xc5, 0x1, 0x10, 0x4c, 0x63, 0x49, 0x66, 0x7a, 0x58, 0x6f,
            0x6e, 0x44, 0x6f, 0x72, 0x64, 0x53, 0x65, 0x57, 0x36, 0x0, 0x0,
        ];
        let packets: Vec<_> = CompoundIter::new(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(packets.len(), 2);
        let RtcpPacket::SenderReport(sr) = packets[0] else {
            panic!("not an SR")
        };
        assert_eq!(sr.ssrc(), 0x2b7ec0c5);
        assert_eq!(sr.sender_info().ntp.0, 0xe020a2a952a53fc0);
        assert_eq!(sr.sender_info().packet_count, 70);
        assert_eq!(sr.sender_info().octet_count, 4637);
        let RtcpPacket::Sdes(sdes) = packets[1] else {
            panic!("not SDES")
        };
        let c = sdes.chunks().next().unwrap();
        assert_eq!(c.ssrc, 0x2b7ec0c5);
        assert_eq!(c.cname(), Some(&b"LcIfzXonDordSeW6"[..]));

        // Our writers reproduce the capture byte for byte.
        let mut out = [0u8; 64];
        let mut w = super::super::CompoundWriter::new(&mut out);
        let items = [super::super::SdesItem {
            kind: super::super::sdes_item::CNAME,
            value: b"LcIfzXonDordSeW6",
        }];
        w.sender_report(0x2b7ec0c5, &sr.sender_info(), &[])
            .unwrap()
            .sdes(&[super::super::SdesChunk {
                ssrc: 0x2b7ec0c5,
                items: &items,
            }])
            .unwrap();
        assert_eq!(w.finish(), &d[..]);
    }

    #[test]
    fn unknown_types_are_skipped_and_errors_end_iteration() {
        // An RTPFB FMT 3 (TMMBR, not decoded here), then a PLI.
        let mut d = vec![0x83, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        d.extend_from_slice(&[0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
        let v: Vec<_> = CompoundIter::new(&d).collect();
        assert!(matches!(
            v[0],
            Ok(RtcpPacket::Unknown {
                packet_type: 205,
                count: 3,
                ..
            })
        ));
        assert!(matches!(v[1], Ok(RtcpPacket::Pli(_))));
        // A malformed FIR (no FCI) ends iteration with one error.
        let mut d2 = vec![0x84, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0];
        d2.extend_from_slice(&d);
        let v: Vec<_> = CompoundIter::new(&d2).collect();
        assert_eq!(v.len(), 1);
        assert!(v[0].is_err());
        // Padding on a packet that is not last.
        let mut d3 = vec![0xa1, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4];
        d3.extend_from_slice(&d[12..]);
        let v: Vec<_> = CompoundIter::new(&d3).collect();
        assert_eq!(v[0].as_ref().unwrap_err(), &RtcpError::PaddingNotLast);
        let v: Vec<_> = CompoundIter::new(&d3).allow_padding_anywhere().collect();
        assert!(v.iter().all(Result::is_ok) && v.len() == 2);
        // Trailing garbage shorter than a header.
        let mut d4 = d.clone();
        d4.push(0x80);
        let v: Vec<_> = CompoundIter::new(&d4).collect();
        assert_eq!(v.len(), 3);
        assert!(v[2].is_err());
    }
}
