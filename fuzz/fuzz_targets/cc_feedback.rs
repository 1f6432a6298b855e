//! Fuzz the bandwidth estimator with feedback from a hostile receiver:
//! the input is a run of transport-wide CC feedback packets (each
//! prefixed by a length byte and a time step) for packets the sender did
//! send; their arrival times and losses are whatever the bytes say. The
//! estimate must stay within its bounds and nothing may panic.
#![no_main]
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_cc::{CongestionController, Gcc, GccConfig, SendHistory, SentPacket};
use tern_rtp::rtcp::{CompoundIter, RtcpPacket};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let cfg = GccConfig::default();
    let mut gcc = Gcc::new(cfg);
    let mut history = SendHistory::new();
    let mut results = Vec::new();
    let mut now = t0;
    let mut seq = 0u64;
    let mut rest = data;
    while let [len, step, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (packet, next) = tail.split_at(n);
        rest = next;
        for _ in 0..(step % 40) {
            let p = SentPacket { seq, size: 1200, sent_at: now, probe_cluster: (seq % 9 == 0).then_some(3) };
            seq += 1;
            history.on_sent(p);
            gcc.on_packet_sent(now, p);
        }
        for p in CompoundIter::new(packet).allow_padding_anywhere().flatten() {
            if let RtcpPacket::TransportFeedback(fb) = p {
                results.clear();
                history.on_feedback(fb.packets().map(|(s, a)| (s, a.map(|a| a.time_us))), &mut results);
                gcc.on_feedback(now, &results);
            }
        }
        now += Duration::from_millis(u64::from(*step));
        gcc.handle_timeout(now);
        let _ = gcc.poll_probe(now);
        let e = gcc.estimate();
        assert!(e.target >= cfg.min && e.target <= cfg.max, "{}", e.target);
    }
});
