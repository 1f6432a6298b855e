//! Jitter buffer tests: reordering, loss, wrap, padding, bounds.

use std::time::{Duration, Instant};

use super::*;
use crate::codec::{Codec, Depacketizer, Payloads};
use proptest::prelude::*;

type Pkt = (u16, u32, bool, Vec<u8>);

/// Packetize `frames` (bytes, keyframe) as VP8 from `seq0`/`ts0`.
fn vp8_packets(frames: &[(Vec<u8>, bool)], seq0: u16, ts0: u32, mtu: usize) -> Vec<Vec<Pkt>> {
    let mut pk = Codec::Vp8.packetizer();
    let mut out = Payloads::new();
    let mut seq = seq0;
    let mut v = Vec::new();
    for (i, (f, key)) in frames.iter().enumerate() {
        let mut f = f.clone();
        // VP8 payload header P bit (RFC 6386 §9.1): 0 for a key frame.
        f[0] = (f[0] & !1) | u8::from(!key);
        pk.packetize(&f, mtu, &mut out).unwrap();
        let ts = ts0.wrapping_add(3000 * i as u32);
        let mut pkts = Vec::new();
        for (p, m) in out.iter() {
            pkts.push((seq, ts, m, p.to_vec()));
            seq = seq.wrapping_add(1);
        }
        v.push(pkts);
    }
    v
}

fn frames(n: usize, keys: &[usize]) -> Vec<(Vec<u8>, bool)> {
    (0..n)
        .map(|i| (vec![i as u8 | 0x10; 300 + 50 * i], keys.contains(&i)))
        .collect()
}

fn expected(f: &(Vec<u8>, bool)) -> Vec<u8> {
    let mut b = f.0.clone();
    b[0] = (b[0] & !1) | u8::from(!f.1);
    b
}

/// A buffer that takes the first frame start at once (`reorder_wait` 0):
/// for tests about what follows the start.
fn jb<D: Depacketizer>(d: D) -> JitterBuffer<D> {
    let cfg = JitterConfig {
        reorder_wait: Duration::ZERO,
        ..JitterConfig::default()
    };
    JitterBuffer::new(d, cfg)
}

/// A buffer with the default limits.
fn jb_default<D: Depacketizer>(d: D) -> JitterBuffer<D> {
    JitterBuffer::new(d, JitterConfig::default())
}

fn drain<D: Depacketizer>(j: &mut JitterBuffer<D>, now: Instant) -> Vec<(JitterEvent, Vec<u8>)> {
    let mut v = Vec::new();
    let mut out = Vec::new();
    while let Some(e) = j.poll(now, &mut out) {
        v.push((
            e,
            if matches!(e, JitterEvent::Frame(_)) {
                out.clone()
            } else {
                vec![]
            },
        ));
    }
    v
}

fn frame_ts(events: &[(JitterEvent, Vec<u8>)]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|(e, _)| match e {
            JitterEvent::Frame(f) => Some(f.timestamp),
            _ => None,
        })
        .collect()
}

#[test]
fn in_order_frames_come_out_with_keyframe_flags() {
    let fr = frames(4, &[0]);
    let pk = vp8_packets(&fr, 100, 1000, 200);
    let mut j = jb(Codec::Vp8.depacketizer());
    let now = Instant::now();
    let mut got = Vec::new();
    for (s, t, m, p) in pk.iter().flatten() {
        assert_eq!(j.push(*s, *t, *m, p, now), PushOutcome::Stored);
        got.extend(drain(&mut j, now));
    }
    assert_eq!(got.len(), 4);
    for (i, (e, bytes)) in got.iter().enumerate() {
        let JitterEvent::Frame(f) = e else {
            panic!("{e:?}")
        };
        assert_eq!(f.keyframe, i == 0);
        assert_eq!(f.timestamp, 1000 + 3000 * i as u32);
        assert_eq!(bytes, &expected(&fr[i]));
        assert_eq!(f.len, bytes.len());
    }
    assert!(j.is_empty());
}

#[test]
fn late_and_duplicate_packets_are_ignored() {
    let pk = vp8_packets(&frames(2, &[0]), 7, 0, 1200);
    let mut j = jb(Codec::Vp8.depacketizer());
    let now = Instant::now();
    let (s, t, m, p) = &pk[0][0];
    j.push(*s, *t, *m, p, now);
    assert_eq!(j.push(*s, *t, *m, p, now), PushOutcome::Duplicate);
    assert_eq!(drain(&mut j, now).len(), 1);
    assert_eq!(j.push(*s, *t, *m, p, now), PushOutcome::Late);
    assert_eq!(j.stats().duplicates, 1);
    assert_eq!(j.stats().late, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any arrival order gives every frame, in order, when nothing is lost;
    /// across a sequence number and timestamp wrap.
    #[test]
    fn any_order_reassembles_in_order(seed in any::<u64>(), seq0 in 65_500u16..=65_535) {
        let fr = frames(6, &[0, 3]);
        let mut pk: Vec<Pkt> = vp8_packets(&fr, seq0, u32::MAX - 7000, 200).concat();
        // Deterministic shuffle within a window of 8 (real jitter is local).
        let mut x = seed | 1;
        for i in 0..pk.len() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            let j = (i + (x as usize % 8)).min(pk.len() - 1);
            pk.swap(i, j);
        }
        let mut j = jb_default(Codec::Vp8.depacketizer());
        let now = Instant::now();
        let mut got = Vec::new();
        for (s, t, m, p) in &pk {
            j.push(*s, *t, *m, p, now);
            got.extend(drain(&mut j, now));
        }
        // Out of sync at the start, the first frame waits reorder_wait for
        // packets sent before it.
        prop_assert!(got.is_empty());
        got.extend(drain(&mut j, now + JitterConfig::default().reorder_wait));
        let frames_out: Vec<&Vec<u8>> = got.iter().map(|(_, b)| b).collect();
        let want: Vec<Vec<u8>> = fr.iter().map(expected).collect();
        prop_assert_eq!(frames_out, want.iter().collect::<Vec<_>>());
        prop_assert!(got.iter().all(|(e, _)| matches!(e, JitterEvent::Frame(_))));
    }
}

#[test]
fn a_loss_skips_after_max_wait_and_waits_for_a_keyframe() {
    let fr = frames(6, &[0, 4]);
    let mut pk = vp8_packets(&fr, 10, 0, 200);
    pk[1].remove(1); // frame 1 loses its second packet
    let mut j = jb(Codec::Vp8.depacketizer());
    let t0 = Instant::now();
    let mut got = Vec::new();
    for f in &pk[..4] {
        for (s, t, m, p) in f {
            j.push(*s, *t, *m, p, t0);
            got.extend(drain(&mut j, t0));
        }
    }
    assert_eq!(
        frame_ts(&got),
        vec![0],
        "frame 1 incomplete, frames 2-3 wait behind it"
    );
    assert_eq!(
        j.poll_timeout(),
        Some(t0 + JitterConfig::default().max_wait)
    );
    let later = t0 + Duration::from_millis(600);
    let ev = drain(&mut j, later);
    assert!(
        matches!(
            ev[0].0,
            JitterEvent::Lost(LossInfo {
                need_keyframe: true,
                ..
            })
        ),
        "{ev:?}"
    );
    // Frames 2 and 3 depend on frame 1: dropped, not handed out.
    assert_eq!(frame_ts(&ev), Vec::<u32>::new());
    assert!(j.needs_keyframe());
    for f in &pk[4..] {
        for (s, t, m, p) in f {
            j.push(*s, *t, *m, p, later);
            got.extend(drain(&mut j, later));
        }
    }
    assert_eq!(frame_ts(&got), vec![0, 12_000, 15_000]);
    assert!(!j.needs_keyframe());
    assert_eq!(j.stats().frames_dropped, 2);
}

#[test]
fn a_later_complete_keyframe_ends_the_wait_at_once() {
    let fr = frames(4, &[0, 2]);
    let mut pk = vp8_packets(&fr, 65_534, 0, 200);
    pk[1].remove(0); // frame 1 loses its first packet
    let mut j = jb_default(Codec::Vp8.depacketizer());
    let now = Instant::now();
    let mut got = Vec::new();
    for (s, t, m, p) in &pk[0] {
        j.push(*s, *t, *m, p, now);
    }
    let now = now + Duration::from_millis(40);
    got.extend(drain(&mut j, now));
    assert_eq!(
        frame_ts(&got),
        vec![0],
        "the first frame, after reorder_wait"
    );
    for (s, t, m, p) in pk[1..].iter().flatten() {
        j.push(*s, *t, *m, p, now);
        got.extend(drain(&mut j, now));
    }
    assert_eq!(frame_ts(&got), vec![0], "a reordered packet may still come");
    // The complete keyframe cuts the wait to reorder_wait, far below max_wait.
    let cfg = JitterConfig::default();
    assert_eq!(j.poll_timeout(), Some(now + cfg.reorder_wait));
    got.extend(drain(&mut j, now + cfg.reorder_wait));
    assert_eq!(frame_ts(&got), vec![0, 6000, 9000]);
    let lost: Vec<LossInfo> = got
        .iter()
        .filter_map(|(e, _)| match e {
            JitterEvent::Lost(l) => Some(*l),
            _ => None,
        })
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(
        lost[0].first_sequence,
        pk[0].last().unwrap().0.wrapping_add(1)
    );
    assert_eq!(lost[0].packets, pk[1].len() as u64 + 1);
}

#[test]
fn padding_fills_gaps_and_makes_no_frame() {
    let fr = frames(3, &[0]);
    let pk = vp8_packets(&fr, 65_535, 0, 1200);
    // Padding-only packets sit between frames (as bandwidth probes do).
    let mut j = jb(Codec::Vp8.depacketizer());
    let now = Instant::now();
    let (s0, t0, m0, p0) = &pk[0][0];
    let (s1, t1, m1, p1) = &pk[1][0];
    let (s2, t2, m2, p2) = &pk[2][0];
    j.push(*s0, *t0, *m0, p0, now);
    assert_eq!(drain(&mut j, now).len(), 1);
    // Frame 1 and 2 shift by two sequence numbers to make room for padding.
    j.push(s1.wrapping_add(2), *t1, *m1, p1, now);
    j.push(s2.wrapping_add(2), *t2, *m2, p2, now);
    assert!(drain(&mut j, now).is_empty(), "a gap before frame 1");
    j.push(s1.wrapping_add(1), *t0, false, &[], now);
    j.push(*s1, *t0, false, &[], now);
    let ev = drain(&mut j, now);
    assert_eq!(frame_ts(&ev), vec![3000, 6000]);
    assert_eq!(ev.len(), 2, "padding produced no event");
    // Padding alone on an idle stream: nothing, and nothing held.
    j.push(s2.wrapping_add(3), *t2, false, &[], now);
    assert!(drain(&mut j, now).is_empty());
    assert!(j.is_empty());
}

#[test]
fn audio_loss_never_waits_for_a_keyframe() {
    let mut j = jb_default(Codec::Opus.depacketizer());
    let t0 = Instant::now();
    let mut got = Vec::new();
    for i in 0..10u16 {
        if i == 3 {
            continue;
        }
        j.push(i, 960 * u32::from(i), i == 0, &[i as u8 + 1; 40], t0);
        got.extend(drain(&mut j, t0));
    }
    assert!(got.is_empty(), "the first packet waits reorder_wait");
    let t0 = t0 + Duration::from_millis(10);
    assert_eq!(j.poll_timeout(), Some(t0 + Duration::from_millis(20)));
    let t0 = t0 + Duration::from_millis(20);
    got.extend(drain(&mut j, t0));
    let ev = got.split_off(3);
    assert_eq!(ev.len(), 7, "{ev:?}");
    // Packet 3 was missing: 4.. waited behind the gap for reorder_wait only.
    assert_eq!(frame_ts(&got).len(), 3);
    assert!(matches!(
        ev[0].0,
        JitterEvent::Lost(LossInfo {
            first_sequence: 3,
            packets: 1,
            need_keyframe: false
        })
    ));
    assert_eq!(frame_ts(&ev).len(), 6);
}

#[test]
fn bounded_in_packets_when_frames_never_complete() {
    let mut j = jb_default(Codec::Vp8.depacketizer());
    let now = Instant::now();
    let mut out = Vec::new();
    let mut lost = 0;
    for i in 0..5000u32 {
        // Middle-of-frame packets, never a marker: nothing completes.
        j.push(i as u16, i / 10, false, &[0x00, 1, 2, 3], now);
        assert!(j.len() <= 1000);
        while let Some(e) = j.poll(now, &mut out) {
            if let JitterEvent::Lost(l) = e {
                lost += l.packets;
            }
        }
    }
    assert_eq!(j.len(), 1000);
    assert_eq!(lost, 4000);
}

#[test]
fn a_huge_sequence_jump_does_not_hold_old_packets() {
    let mut j = jb(Codec::Vp8.depacketizer());
    let now = Instant::now();
    j.push(0, 0, false, &[0x10, 0], now);
    j.push(20_000, 9, false, &[0x00, 0], now);
    assert_eq!(j.len(), 1, "the old packet is given up");
}

#[test]
fn idle_cost_is_small_and_steady_state_does_not_grow() {
    let j = jb(Codec::Vp8.depacketizer());
    assert_eq!(j.heap_bytes(), 0, "a new buffer owns no heap");
    assert!(std::mem::size_of_val(&j) < 512);
    let mut j = jb(Codec::Vp8.depacketizer());
    let fr = frames(1, &[0]);
    let now = Instant::now();
    let mut out = Vec::new();
    let mut pk = Codec::Vp8.packetizer();
    let mut payloads = Payloads::new();
    let mut seq = 0u16;
    let mut peak = 0;
    for n in 0..2000u32 {
        pk.packetize(&expected(&fr[0]), 100, &mut payloads).unwrap();
        for (p, m) in payloads.iter() {
            j.push(seq, n * 3000, m, p, now);
            seq = seq.wrapping_add(1);
        }
        while j.poll(now, &mut out).is_some() {}
        if n == 10 {
            peak = j.heap_bytes();
        }
        assert!(j.heap_bytes() <= peak.max(1 << 16), "grew at frame {n}");
    }
    assert_eq!(j.stats().frames, 2000);
    j.shrink();
    assert!(j.heap_bytes() < 4096, "{}", j.heap_bytes());
}

#[test]
fn h264_through_the_jitter_buffer() {
    let mut frame = vec![
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88,
    ];
    frame.extend(std::iter::repeat_n(0x84, 4000));
    let mut pk = Codec::H264.packetizer();
    let mut out = Payloads::new();
    pk.packetize(&frame, 1000, &mut out).unwrap();
    let mut j = jb(Codec::H264.depacketizer());
    let now = Instant::now();
    let pkts: Vec<(&[u8], bool)> = out.iter().collect();
    for (i, (p, m)) in pkts.iter().enumerate().rev() {
        j.push(500 + i as u16, 90_000, *m, p, now);
    }
    let ev = drain(&mut j, now);
    assert_eq!(ev.len(), 1);
    let JitterEvent::Frame(f) = ev[0].0 else {
        panic!()
    };
    assert!(f.keyframe);
    assert_eq!(ev[0].1, frame);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random packets never panic the buffer and never grow it past its cap.
    #[test]
    fn random_input_is_bounded(
        pkts in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..20), 0u64..2000), 1..300),
        codec in prop::sample::select(Codec::ALL.to_vec()),
    ) {
        let cfg = JitterConfig { max_packets: 64, ..JitterConfig::default() };
        let mut j = JitterBuffer::new(codec.depacketizer(), cfg);
        let t0 = Instant::now();
        let mut out = Vec::new();
        for (s, t, m, p, ms) in &pkts {
            let now = t0 + Duration::from_millis(*ms);
            j.push(*s, *t, *m, p, now);
            prop_assert!(j.len() <= 64);
            while j.poll(now, &mut out).is_some() {}
        }
    }
}

#[test]
fn joining_mid_frame_gives_up_the_tail_after_reorder_wait() {
    let fr = frames(3, &[1]);
    let mut pk = vp8_packets(&fr, 1000, 0, 200);
    pk[0].remove(0); // joined after frame 0's first packet
    let mut j = jb_default(Codec::Vp8.depacketizer());
    let t0 = Instant::now();
    for (s, t, m, p) in pk.iter().flatten() {
        j.push(*s, *t, *m, p, t0);
    }
    assert!(drain(&mut j, t0).is_empty());
    let cfg = JitterConfig::default();
    assert_eq!(j.poll_timeout(), Some(t0 + cfg.reorder_wait));
    let ev = drain(&mut j, t0 + cfg.reorder_wait);
    assert!(
        matches!(
            ev[0].0,
            JitterEvent::Lost(LossInfo {
                first_sequence: 1001,
                ..
            })
        ),
        "{ev:?}"
    );
    assert_eq!(frame_ts(&ev), vec![3000, 6000]);
    assert_eq!(j.poll_timeout(), None);
}
