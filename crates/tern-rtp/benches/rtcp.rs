//! RTCP hot paths: walking a received compound datagram, and building and
//! parsing transport-wide feedback for 100 packets.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tern_rtp::rtcp::{
    CompoundIter, CompoundWriter, ReportBlock, RtcpPacket, SenderInfo, TransportFeedback,
    TwccWriter,
};

fn bench(c: &mut Criterion) {
    let mut buf = [0u8; 1500];
    let mut w = CompoundWriter::new(&mut buf);
    let blocks = [ReportBlock::default(); 3];
    w.sender_report(1, &SenderInfo::default(), &blocks)
        .unwrap()
        .nack(1, 2, &[5, 7, 9, 30])
        .unwrap()
        .pli(1, 2)
        .unwrap()
        .remb(1, 2_500_000, &[2, 3])
        .unwrap();
    let datagram = w.finish().to_vec();
    c.bench_function("rtcp/compound_iter", |b| {
        b.iter(|| {
            let mut n = 0;
            for p in CompoundIter::new(black_box(&datagram)).flatten() {
                if let RtcpPacket::Nack(k) = p {
                    n += k.lost().count();
                }
            }
            n
        })
    });

    // 100 packets, every tenth lost, 1-2 ms apart with some reordering.
    let entries: Vec<(u16, Option<i64>)> = (0..100u16)
        .map(|i| {
            let seq = 65_500u16.wrapping_add(i);
            let t = 10_000_000 + i64::from(i) * 1_500 + if i % 7 == 0 { -2_000 } else { 0 };
            (seq, (i % 10 != 3).then_some(t))
        })
        .collect();
    let mut out = [0u8; 1200];
    c.bench_function("rtcp/twcc_write_100", |b| {
        b.iter(|| {
            let mut w = TwccWriter::new(1, 2, black_box(&entries), 0).unwrap();
            let mut total = 0;
            while let Some(n) = w.write_next(&mut out).unwrap() {
                total += n;
            }
            total
        })
    });
    let mut w = TwccWriter::new(1, 2, &entries, 0).unwrap();
    let n = w.write_next(&mut out).unwrap().unwrap();
    let packet = out[..n].to_vec();
    c.bench_function("rtcp/twcc_parse_100", |b| {
        b.iter(|| {
            let tf = TransportFeedback::new_checked(black_box(&packet[..])).unwrap();
            tf.packets().filter(|p| p.1.is_some()).count()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
