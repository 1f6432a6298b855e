use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

const RATE: u32 = 90_000;

#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
fn origin() -> Instant {
    Instant::now()
}

/// Feeds packets `seqs` (as u16), 20 ms apart, timestamps advancing 1800
/// per sequence step, to a stream without probation.
fn feed(s: &mut ReceiveStats, t0: Instant, seqs: impl IntoIterator<Item = u32>) {
    for (i, seq) in seqs.into_iter().enumerate() {
        let now = t0 + Duration::from_millis(20 * i as u64);
        s.on_packet(now, SeqNo(seq as u16), RtpTimestamp(seq.wrapping_mul(1800)));
    }
}

#[test]
fn no_loss() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(7), RATE, 0);
    assert!(s.report(t0).is_none());
    feed(&mut s, t0, 1000..1100);
    let r = s.report(t0).unwrap();
    assert_eq!(r.ssrc, Ssrc(7));
    assert_eq!(r.fraction_lost, 0);
    assert_eq!(r.cumulative_lost, 0);
    assert_eq!(r.extended_highest_seq, 1099);
    // Arrivals 20 ms apart exactly match the timestamps: no jitter.
    assert_eq!(r.jitter, 0);
    assert_eq!((r.last_sr, r.delay_since_last_sr), (0, 0));
}

#[test]
fn loss_fraction_and_cumulative() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
    // 100 expected (0..=99), every 10th lost.
    feed(&mut s, t0, (0..100).filter(|i| i % 10 != 5));
    let r = s.report(t0).unwrap();
    assert_eq!(s.expected(), 100);
    assert_eq!(s.received(), 90);
    assert_eq!(r.cumulative_lost, 10);
    // RFC 3550 A.3: (lost_interval << 8) / expected_interval = 2560 / 100.
    assert_eq!(r.fraction_lost, 25);
    // The next interval: 50 more, none lost.
    feed(&mut s, t0, 100..150);
    let r = s.report(t0).unwrap();
    assert_eq!(r.fraction_lost, 0);
    assert_eq!(r.cumulative_lost, 10);
    // An interval where half is lost.
    feed(&mut s, t0, (150..250).step_by(2));
    let r = s.report(t0).unwrap();
    // Expected 150..=248 = 99, received 50: (49 << 8) / 99 = 126.
    assert_eq!(r.fraction_lost, 126);
    assert_eq!(r.cumulative_lost, 59);
}

#[test]
fn duplicates_make_loss_negative_and_fraction_zero() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
    feed(&mut s, t0, (0..10).chain(0..10));
    let r = s.report(t0).unwrap();
    assert_eq!(r.cumulative_lost, -10);
    assert_eq!(r.fraction_lost, 0);
    assert_eq!(r.extended_highest_seq, 9);
}

#[test]
fn extended_highest_seq_counts_wraps() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
    feed(&mut s, t0, 65530..65550);
    let r = s.report(t0).unwrap();
    assert_eq!(r.extended_highest_seq, (1 << 16) | 13);
    assert_eq!(r.cumulative_lost, 0);
    // A packet reordered from before the wrap does not move the maximum.
    s.on_packet(t0, SeqNo(65534), RtpTimestamp(0));
    assert_eq!(s.extended_highest_seq(), (1 << 16) | 13);
}

#[test]
fn probation_and_restart() {
    let t0 = origin();
    let mut s = ReceiveStats::new(Ssrc(1), RATE);
    assert!(!s.on_packet(t0, SeqNo(10), RtpTimestamp(0)));
    assert!(!s.is_valid());
    assert!(s.report(t0).is_none());
    // Out of sequence restarts probation.
    assert!(!s.on_packet(t0, SeqNo(20), RtpTimestamp(0)));
    assert!(s.on_packet(t0, SeqNo(21), RtpTimestamp(0)));
    assert!(s.is_valid());
    assert_eq!(s.received(), 1);
    assert_eq!(s.expected(), 1);
    // A stray jump is not counted...
    assert!(!s.on_packet(t0, SeqNo(30_000), RtpTimestamp(0)));
    assert_eq!(s.extended_highest_seq(), 21);
    assert!(s.on_packet(t0, SeqNo(22), RtpTimestamp(0)));
    // ...but a jump followed by its successor is a restarted sender.
    assert!(!s.on_packet(t0, SeqNo(40_000), RtpTimestamp(0)));
    assert!(s.on_packet(t0, SeqNo(40_001), RtpTimestamp(0)));
    assert_eq!(s.extended_highest_seq(), 40_001);
    assert_eq!(s.expected(), 1);
    assert_eq!(s.received(), 1);
}

#[test]
fn cumulative_lost_clamps_to_24_bits() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
    // Jumps of 2999 (below MAX_DROPOUT) lose 2998 each.
    feed(&mut s, t0, (0..3000u32).map(|i| i * 2999));
    assert!(s.cumulative_lost() > 0x7f_ffff);
    assert_eq!(s.report(t0).unwrap().cumulative_lost, 0x7f_ffff);
}

#[test]
fn last_sr_and_delay() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
    feed(&mut s, t0, 0..3);
    s.on_sender_report(t0, 0x1234_5678_9abc_def0);
    let r = s.report(t0 + Duration::from_millis(1500)).unwrap();
    assert_eq!(r.last_sr, 0x5678_9abc);
    assert_eq!(r.delay_since_last_sr, 98_304); // 1.5 × 65536
}

/// RFC 3550 §6.4.1's definition, in floating point: D(i-1,i) = (Rj - Ri) -
/// (Sj - Si), J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16, with R the arrival
/// in timestamp units.
fn reference_jitter(arrivals: &[u64], timestamps: &[u32]) -> f64 {
    let mut j = 0.0f64;
    for i in 1..arrivals.len() {
        let r = arrivals[i] as f64 - arrivals[i - 1] as f64;
        let s = f64::from(timestamps[i]) - f64::from(timestamps[i - 1]);
        let d = (r - s).abs();
        j += (d - j) / 16.0;
    }
    j
}

#[test]
fn jitter_matches_rfc_formula_on_synthetic_arrivals() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
    let mut arrivals = Vec::new();
    let mut timestamps = Vec::new();
    // 20 ms packets whose network delay cycles through 0, 3, 11, 5, 0, 8 ms.
    let delays_ms = [0u64, 3, 11, 5, 0, 8];
    for i in 0..500u64 {
        let at = Duration::from_millis(20 * i + delays_ms[(i % 6) as usize]);
        let ts = 1_000 + (i as u32) * 1800;
        s.on_packet(t0 + at, SeqNo(i as u16), RtpTimestamp(ts));
        arrivals.push(at.as_millis() as u64 * 90); // 90 ticks per ms
        timestamps.push(ts);
    }
    let want = reference_jitter(&arrivals, &timestamps);
    let got = f64::from(s.jitter());
    assert!(
        (got - want).abs() <= 1.0,
        "jitter {got} vs RFC formula {want}"
    );
    assert!(want > 300.0, "the pattern has real jitter ({want})");
    let d = s.jitter_duration();
    // The mean |D| of the cycle is (3 + 8 + 6 + 5 + 8 + 8) / 6 ≈ 6.3 ms.
    assert!(
        d > Duration::from_millis(5) && d < Duration::from_millis(8),
        "{d:?}"
    );
}

#[test]
fn jitter_of_alternating_delay_converges() {
    let t0 = origin();
    let mut s = ReceiveStats::with_probation(Ssrc(1), 8000, 0);
    // Delay alternates 0 / 10 ms: |D| is 80 ticks at 8 kHz every packet.
    for i in 0..400u64 {
        let at = Duration::from_millis(20 * i + 10 * (i % 2));
        s.on_packet(t0 + at, SeqNo(i as u16), RtpTimestamp(i as u32 * 160));
    }
    assert!((79..=80).contains(&s.jitter()), "{}", s.jitter());
}

proptest! {
    /// Under random loss and reordering, cumulative lost is expected minus
    /// received and the extended maximum is the true maximum.
    #[test]
    fn loss_accounting_under_reordering(
        start in any::<u16>(),
        n in 1usize..2000,
        lost in proptest::collection::btree_set(0usize..2000, 0..200),
        swaps in proptest::collection::vec((0usize..2000, 1usize..5), 0..100),
    ) {
        let mut order: Vec<usize> = (0..n).filter(|i| !lost.contains(i) || *i == 0).collect();
        for (i, k) in swaps {
            if i + k < order.len() && i > 0 {
                order.swap(i, i + k);
            }
        }
        let t0 = origin();
        let mut s = ReceiveStats::with_probation(Ssrc(1), RATE, 0);
        for &i in &order {
            s.on_packet(t0, SeqNo(start.wrapping_add(i as u16)), RtpTimestamp(0));
        }
        let max = *order.iter().max().unwrap() as u32;
        let r = s.report(t0).unwrap();
        prop_assert_eq!(r.extended_highest_seq, u32::from(start) + max);
        prop_assert_eq!(i64::from(r.cumulative_lost), i64::from(max + 1) - order.len() as i64);
    }
}
