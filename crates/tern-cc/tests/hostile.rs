//! A receiver that lies: feedback for packets never sent, arrival times
//! that jump back and forth or run wild, everything reported lost or
//! nothing: the estimate stays within its bounds and nothing panics.
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::time::{Duration, Instant};

use proptest::prelude::*;
use tern_cc::{
    Bitrate, CongestionController, Gcc, GccConfig, PacketResult, SendHistory, SentPacket,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn lies_keep_the_estimate_within_bounds(
        steps in proptest::collection::vec(
            (0u16..2000, proptest::collection::vec((any::<u16>(), proptest::option::of(any::<i64>())), 0..40), 1u64..300),
            1..60,
        )
    ) {
        let t0 = Instant::now();
        let cfg = GccConfig::default();
        let mut gcc = Gcc::new(cfg);
        let mut history = SendHistory::new();
        let mut now = t0;
        let mut seq = 0u64;
        let mut results = Vec::new();
        for (sends, feedback, ms) in steps {
            for _ in 0..sends % 50 {
                let p = SentPacket { seq, size: 1200, sent_at: now, probe_cluster: (seq % 7 == 0).then_some(1) };
                seq += 1;
                history.on_sent(p);
                gcc.on_packet_sent(now, p);
            }
            results.clear();
            history.on_feedback(feedback, &mut results);
            gcc.on_feedback(now, &results);
            // Also results made up outright, out of order.
            let fake: Vec<PacketResult> = (0..5).map(|i| PacketResult {
                sent: SentPacket { seq: 1 << 40, size: 60_000, sent_at: now - Duration::from_millis(i), probe_cluster: Some(i as u32) },
                received_us: Some(i64::MAX - i as i64),
            }).collect();
            gcc.on_feedback(now, &fake);
            gcc.on_rtt(now, Duration::from_millis(ms * 10));
            now += Duration::from_millis(ms);
            gcc.handle_timeout(now);
            let _ = gcc.poll_probe(now);
            let e = gcc.estimate();
            prop_assert!(e.target >= cfg.min && e.target <= cfg.max, "{}", e.target);
            prop_assert!(e.pacing >= e.target);
        }
        prop_assert!(gcc.estimate().target >= Bitrate::kbps(30));
    }
}
