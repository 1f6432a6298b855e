//! The per-packet paths allocate nothing on the heap once warm (dhat counts
//! every allocation in this binary): parsing and reading extensions,
//! rewriting in place, writing, receive statistics, the NACK generator on a
//! loss-free stream, the packet history and RTX.
#![allow(clippy::disallowed_methods)] // an arbitrary origin for time

use std::time::{Duration, Instant};

use tern_rtp::extension::{
    AbsSendTime, ExtensionKind, ExtensionValue, Mid, TransportSequenceNumber,
};
use tern_rtp::nack::{HistoryConfig, NackGenerator, PacketHistory};
use tern_rtp::rtp::write_rtx;
use tern_rtp::{
    ExtensionMap, PayloadType, ReceiveStats, RtpHeader, RtpPacket, RtpTimestamp, RtpWriter, SeqNo,
    Ssrc,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn write(out: &mut [u8], seq: u16, payload: &[u8]) -> usize {
    let h = RtpHeader::new(
        PayloadType::new(96).unwrap(),
        SeqNo(seq),
        RtpTimestamp(u32::from(seq) * 3000),
        Ssrc(0x1234_5678),
    );
    let mut w = RtpWriter::new(out, &h).unwrap();
    w.add_extension_value(1, &Mid("video")).unwrap();
    w.add_extension_value(3, &AbsSendTime::new(0x12_3456).unwrap())
        .unwrap();
    w.add_extension_value(5, &TransportSequenceNumber(seq))
        .unwrap();
    w.finish(payload, 0).unwrap()
}

// Run without libtest (`harness = false`): its threads print and allocate
// concurrently with the measurement, which made the count flaky under load.
fn main() {
    per_packet_paths_do_not_allocate();
    println!("zero_alloc: per-packet paths did not allocate");
}

fn per_packet_paths_do_not_allocate() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut map = ExtensionMap::new();
    map.insert(1, ExtensionKind::Mid).unwrap();
    map.insert(3, ExtensionKind::AbsSendTime).unwrap();
    map.insert(5, ExtensionKind::TransportSequenceNumber)
        .unwrap();
    let payload = vec![0x5a_u8; 1100];
    let mut buf = vec![0u8; 1500];
    let mut rtx = vec![0u8; 1500];
    let mut nacks: Vec<SeqNo> = Vec::with_capacity(64);
    let t0 = Instant::now();
    let mut history = PacketHistory::new(HistoryConfig {
        capacity: 64,
        ..HistoryConfig::default()
    });
    let mut nack = NackGenerator::default();
    let mut stats = ReceiveStats::new(Ssrc(0x1234_5678), 90_000);
    let mut step = |i: u16| -> usize {
        let now = t0 + Duration::from_millis(u64::from(i) * 5);
        let n = write(&mut buf, i, &payload);
        history.insert(now, &buf[..n]).unwrap();
        let mut p = RtpPacket::new_checked(&mut buf[..n]).unwrap();
        let (mid, ast, twcc) = {
            let e = p.extensions().unwrap().unwrap();
            (
                e.read::<Mid>(&map).unwrap().unwrap().0.len(),
                e.read::<AbsSendTime>(&map).unwrap().unwrap().get(),
                e.read::<TransportSequenceNumber>(&map).unwrap().unwrap().0,
            )
        };
        stats.on_packet(now, p.sequence_number(), p.timestamp());
        nack.on_packet(now, p.sequence_number());
        nacks.clear();
        nack.poll_nack_into(now, &mut nacks);
        let _ = nack.poll_timeout();
        p.set_ssrc(Ssrc(0xcafe));
        p.set_sequence_number(SeqNo(i.wrapping_add(1000)));
        p.set_timestamp(RtpTimestamp(7));
        let mut v = [0u8; 3];
        AbsSendTime::new(u32::from(i))
            .unwrap()
            .write(&mut v)
            .unwrap();
        p.set_extension_value(3, &v).unwrap();
        let r = history
            .resend_rtx(
                now,
                SeqNo(i),
                Ssrc(9),
                SeqNo(i),
                PayloadType::new(97).unwrap(),
                &mut rtx,
            )
            .unwrap();
        let orig = RtpPacket::new_checked(&buf[..n]).unwrap();
        let r2 = write_rtx(
            &orig,
            Ssrc(9),
            SeqNo(i),
            PayloadType::new(97).unwrap(),
            &mut rtx,
        )
        .unwrap();
        let _ = stats.report(now);
        mid + ast as usize + usize::from(twcc) + r + r2
    };
    // Warm up: one lap of the history ring.
    for i in 0..64 {
        step(i);
    }
    let before = dhat::HeapStats::get();
    let mut total = 0usize;
    for i in 64..2064 {
        total += step(i);
    }
    let after = dhat::HeapStats::get();
    assert!(total > 0);
    dhat::assert_eq!(after.total_blocks, before.total_blocks);
}
