//! Whole-datagram property tests: arbitrary input never panics, and what the
//! writers emit parses back to what went in.

use super::*;
use proptest::prelude::*;

/// Reads every field of every packet, as the fuzz target does.
fn touch(p: &RtcpPacket<'_>) -> usize {
    let mut n = 0usize;
    match p {
        RtcpPacket::SenderReport(sr) => {
            n += sr.ssrc() as usize + sr.sender_info().packet_count as usize;
            n +=
                sr.report_blocks().map(|b| b.jitter as usize).sum::<usize>() + sr.extension().len();
        }
        RtcpPacket::ReceiverReport(rr) => {
            n += rr.report_blocks().count() + rr.extension().len() + rr.ssrc() as usize;
        }
        RtcpPacket::Sdes(s) => {
            for c in s.chunks() {
                n += c.items().map(|i| i.value.len()).sum::<usize>()
                    + c.cname().map_or(0, <[u8]>::len);
            }
        }
        RtcpPacket::Bye(b) => n += b.sources().count() + b.reason().map_or(0, <[u8]>::len),
        RtcpPacket::App(a) => n += a.data().len() + usize::from(a.subtype()) + a.name().len(),
        RtcpPacket::Nack(k) => n += k.lost().count() + k.items().count(),
        RtcpPacket::TransportFeedback(t) => {
            n += t.packets().filter(|p| p.1.is_some()).count();
            n += usize::from(t.feedback_count()) + t.reference_time() as usize;
        }
        RtcpPacket::CongestionFeedback(c) => {
            n += c.blocks().map(|b| b.metrics().count()).sum::<usize>()
                + c.report_timestamp() as usize;
        }
        RtcpPacket::Pli(p) => n += p.media_ssrc() as usize,
        RtcpPacket::Fir(f) => n += f.entries().count(),
        RtcpPacket::Remb(r) => n += r.ssrcs().count() + r.bitrate_bps() as usize,
        RtcpPacket::ExtendedReport(x) => {
            n += x
                .blocks()
                .map(|b| b.dlrr_items().count() + 1)
                .sum::<usize>();
        }
        RtcpPacket::Unknown { raw, .. } => n += raw.len(),
    }
    n
}

fn arb_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -(1i32 << 23)..(1 << 23),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq,
                jitter,
                last_sr,
                delay_since_last_sr,
            )| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq,
                jitter,
                last_sr,
                delay_since_last_sr,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), pt in 200u8..208, fmt in 0u8..32) {
        // Bias towards valid headers so bodies get exercised.
        let mut d = data;
        let len = d.len();
        if len >= 4 {
            d[0] = 0x80 | (d[0] & 0x20) | fmt;
            d[1] = pt;
            let words = (len / 4).saturating_sub(1) as u16;
            d[2..4].copy_from_slice(&words.to_be_bytes());
        }
        for strict in [true, false] {
            let it = CompoundIter::new(&d);
            let it = if strict { it } else { it.allow_padding_anywhere() };
            for p in it.take(1000).flatten() {
                let _ = touch(&p);
            }
        }
    }

    #[test]
    fn reports_round_trip(ssrc in any::<u32>(), blocks in proptest::collection::vec(arb_block(), 0..32), ntp in any::<u64>(), rtp in any::<u32>()) {
        let mut buf = [0u8; 2000];
        let info = SenderInfo { ntp: NtpTime(ntp), rtp_timestamp: rtp, packet_count: 1, octet_count: 2 };
        let mut w = CompoundWriter::new(&mut buf);
        let sr_ok = w.sender_report(ssrc, &info, &blocks).is_ok();
        let rr_ok = w.receiver_report(ssrc, &blocks).is_ok();
        prop_assert_eq!(sr_ok, blocks.len() <= 31);
        prop_assert_eq!(rr_ok, blocks.len() <= 31);
        let d = w.finish();
        for p in CompoundIter::new(d) {
            match p.unwrap() {
                RtcpPacket::SenderReport(sr) => {
                    prop_assert_eq!(sr.ssrc(), ssrc);
                    prop_assert_eq!(sr.sender_info(), info);
                    prop_assert_eq!(sr.report_blocks().collect::<Vec<_>>(), blocks.clone());
                }
                RtcpPacket::ReceiverReport(rr) => {
                    prop_assert_eq!(rr.report_blocks().collect::<Vec<_>>(), blocks.clone());
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    #[test]
    fn feedback_round_trips(
        ssrcs in proptest::collection::vec(any::<u32>(), 0..20),
        bitrate in any::<u64>(),
        lost in proptest::collection::vec(any::<u16>(), 1..50),
        reason in proptest::collection::vec(any::<u8>(), 0..255),
        items in proptest::collection::vec((1u8..16, proptest::collection::vec(any::<u8>(), 0..40)), 0..5),
    ) {
        let mut buf = [0u8; 4000];
        let sdes_items: Vec<_> = items.iter().map(|(k, v)| SdesItem { kind: *k, value: v }).collect();
        let mut w = CompoundWriter::new(&mut buf);
        w.remb(1, bitrate, &ssrcs).unwrap()
            .nack(1, 2, &lost).unwrap()
            .bye(&ssrcs, Some(&reason)).unwrap()
            .sdes(&[SdesChunk { ssrc: 3, items: &sdes_items }]).unwrap();
        let d = w.finish();
        let got: Vec<_> = CompoundIter::new(d).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got.len(), 4);
        let RtcpPacket::Remb(r) = &got[0] else { panic!() };
        let (e, m) = psfb::remb_exp_mantissa(bitrate.min(i64::MAX as u64));
        prop_assert_eq!(r.bitrate_bps(), u64::from(m) << e);
        prop_assert_eq!(r.ssrcs().collect::<Vec<_>>(), ssrcs.clone());
        let RtcpPacket::Nack(n) = &got[1] else { panic!() };
        let mut a: Vec<_> = n.lost().collect();
        let mut b = lost.clone();
        a.sort_unstable();
        a.dedup();
        b.sort_unstable();
        b.dedup();
        prop_assert_eq!(a, b);
        let RtcpPacket::Bye(y) = &got[2] else { panic!() };
        prop_assert_eq!(y.sources().collect::<Vec<_>>(), ssrcs.clone());
        prop_assert_eq!(y.reason(), Some(&reason[..]));
        let RtcpPacket::Sdes(s) = &got[3] else { panic!() };
        let c = s.chunks().next().unwrap();
        prop_assert_eq!(c.items().collect::<Vec<_>>(), sdes_items.clone());
    }
}
