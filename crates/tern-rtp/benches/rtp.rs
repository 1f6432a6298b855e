//! RTP hot paths of an SFU: parse a 1,200-byte packet and read three header
//! extensions through the extmap table; rewrite SSRC, sequence number and
//! timestamp in place; write a packet with extensions.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tern_rtp::extension::{AbsSendTime, AudioLevel, ExtensionKind, Mid, TransportSequenceNumber};
use tern_rtp::{
    ExtensionMap, PayloadType, RtpHeader, RtpPacket, RtpTimestamp, RtpWriter, SeqNo, Ssrc,
};

fn map() -> ExtensionMap {
    let mut m = ExtensionMap::new();
    m.insert(1, ExtensionKind::Mid).unwrap();
    m.insert(3, ExtensionKind::AbsSendTime).unwrap();
    m.insert(5, ExtensionKind::TransportSequenceNumber).unwrap();
    m.insert(9, ExtensionKind::AudioLevel).unwrap();
    m
}

fn write(out: &mut [u8], seq: u16, payload: &[u8]) -> usize {
    let h = RtpHeader {
        marker: true,
        ..RtpHeader::new(
            PayloadType::new(96).unwrap(),
            SeqNo(seq),
            RtpTimestamp(90_000),
            Ssrc(0x1234_5678),
        )
    };
    let mut w = RtpWriter::new(out, &h).unwrap();
    w.add_extension_value(1, &Mid("0")).unwrap();
    w.add_extension_value(3, &AbsSendTime::new(0x12_3456).unwrap())
        .unwrap();
    w.add_extension_value(5, &TransportSequenceNumber(seq))
        .unwrap();
    w.add_extension_value(
        9,
        &AudioLevel {
            voice_activity: true,
            level: 30,
        },
    )
    .unwrap();
    w.finish(payload, 0).unwrap()
}

fn bench(c: &mut Criterion) {
    let m = map();
    let mut buf = vec![0u8; 1500];
    let payload = vec![0xabu8; 1200 - 28]; // 28-byte header with extensions
    let n = write(&mut buf, 1, &payload);
    assert_eq!(n, 1200);
    let packet = buf[..n].to_vec();

    c.bench_function("rtp/parse + 3 extensions (1200 B)", |b| {
        b.iter(|| {
            let p = RtpPacket::new_checked(black_box(&packet[..])).unwrap();
            let e = p.extensions().unwrap().unwrap();
            let mid = e.read::<Mid>(&m).unwrap().unwrap();
            let twcc = e.read::<TransportSequenceNumber>(&m).unwrap().unwrap();
            let ast = e.read::<AbsSendTime>(&m).unwrap().unwrap();
            (mid.0.len(), twcc.0, ast.get(), p.payload().len())
        })
    });

    let mut rewrite = packet.clone();
    let mut seq = 0u16;
    c.bench_function("rtp/rewrite ssrc+seq+ts in place", |b| {
        b.iter(|| {
            let mut p = RtpPacket::new_checked(black_box(&mut rewrite[..])).unwrap();
            seq = seq.wrapping_add(1);
            p.set_ssrc(Ssrc(0xcafe_f00d));
            p.set_sequence_number(SeqNo(seq));
            p.set_timestamp(RtpTimestamp(u32::from(seq) * 3000));
        })
    });

    let mut out = vec![0u8; 1500];
    c.bench_function("rtp/write header + 4 extensions + 1172 B payload", |b| {
        b.iter(|| write(black_box(&mut out), 7, black_box(&payload)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
