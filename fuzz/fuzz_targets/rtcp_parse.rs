//! Fuzz the RTCP views: iterate a compound datagram (strict and lenient
//! padding), touch every field of every packet, and re-encode transport-wide
//! feedback from what parsed. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_rtp::rtcp::{CompoundIter, RtcpPacket, TransportFeedback, TwccWriter};

fn touch(p: &RtcpPacket<'_>) -> u64 {
    let mut n = 0u64;
    match p {
        RtcpPacket::SenderReport(sr) => {
            let i = sr.sender_info();
            n += u64::from(sr.ssrc()) + i.ntp.0 + u64::from(i.rtp_timestamp);
            n += u64::from(i.packet_count) + u64::from(i.octet_count);
            for b in sr.report_blocks() {
                n += u64::from(b.jitter) + b.cumulative_lost as u64 + u64::from(b.last_sr);
            }
            n += sr.extension().len() as u64;
        }
        RtcpPacket::ReceiverReport(rr) => {
            n += u64::from(rr.ssrc()) + rr.report_blocks().count() as u64;
            n += rr.extension().len() as u64;
        }
        RtcpPacket::Sdes(s) => {
            for c in s.chunks() {
                n += u64::from(c.ssrc) + c.cname().map_or(0, |v| v.len() as u64);
                for i in c.items() {
                    n += u64::from(i.kind) + i.value.len() as u64;
                }
            }
        }
        RtcpPacket::Bye(b) => {
            n += b.sources().map(u64::from).sum::<u64>() + b.reason().map_or(0, |r| r.len() as u64);
        }
        RtcpPacket::App(a) => {
            n += u64::from(a.subtype()) + u64::from(a.ssrc()) + a.data().len() as u64;
            n += u64::from(a.name()[0]);
        }
        RtcpPacket::Nack(k) => {
            n += u64::from(k.sender_ssrc()) + u64::from(k.media_ssrc());
            n += k.items().count() as u64 + k.lost().map(u64::from).sum::<u64>();
        }
        RtcpPacket::TransportFeedback(t) => {
            n += u64::from(t.sender_ssrc()) + u64::from(t.media_ssrc()) + u64::from(t.base_seq());
            n += u64::from(t.feedback_count()) + t.reference_time_us() as u64;
            let entries: Vec<_> = t.packets().map(|(s, a)| (s, a.map(|a| a.time_us))).collect();
            assert_eq!(entries.len(), usize::from(t.status_count()));
            // What parsed must re-encode into feedback that parses.
            let mut w = TwccWriter::new(1, 2, &entries, 0).expect("parsed sequence is increasing");
            let mut buf = vec![0u8; 1200];
            while let Some(len) = w.write_next(&mut buf).expect("1200 bytes hold any run") {
                TransportFeedback::new_checked(&buf[..len]).expect("we write what we parse");
            }
        }
        RtcpPacket::CongestionFeedback(c) => {
            n += u64::from(c.sender_ssrc()) + u64::from(c.report_timestamp());
            for b in c.blocks() {
                n += u64::from(b.ssrc) + u64::from(b.begin_seq);
                n += b.metrics().map(|(s, m)| u64::from(s) + u64::from(m.arrival_time_offset)).sum::<u64>();
            }
        }
        RtcpPacket::Pli(p) => n += u64::from(p.sender_ssrc()) + u64::from(p.media_ssrc()),
        RtcpPacket::Fir(f) => {
            n += u64::from(f.sender_ssrc());
            n += f.entries().map(|e| u64::from(e.ssrc) + u64::from(e.seq_nr)).sum::<u64>();
        }
        RtcpPacket::Remb(r) => {
            n += u64::from(r.sender_ssrc()) + r.bitrate_bps() + r.ssrcs().count() as u64;
        }
        RtcpPacket::ExtendedReport(x) => {
            n += u64::from(x.ssrc());
            for b in x.blocks() {
                n += b.dlrr_items().map(|i| u64::from(i.last_rr)).sum::<u64>();
            }
        }
        RtcpPacket::Unknown { packet_type, count, raw } => {
            n += u64::from(*packet_type) + u64::from(*count) + raw.len() as u64;
        }
        _ => {}
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let mut sum = 0u64;
    for p in CompoundIter::new(data).flatten() {
        sum = sum.wrapping_add(touch(&p));
    }
    for p in CompoundIter::new(data).allow_padding_anywhere().flatten() {
        sum = sum.wrapping_add(touch(&p));
    }
    std::hint::black_box(sum);
});
