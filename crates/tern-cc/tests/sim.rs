//! GCC against a simulated bottleneck (a FIFO queue at a capacity that
//! changes on a schedule, a fixed one-way delay, feedback every 100 ms):
//! the controller on its own, without RTP, so its dynamics can be checked
//! over minutes of virtual time in milliseconds. The end-to-end version,
//! with tern peers on tern-netsim, is in tern-peer's `tests/cc.rs`.
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tern_cc::{
    Bitrate, CongestionController, Gcc, GccConfig, PacketResult, SendHistory, SentPacket,
};

/// One feedback's entries: (transport-wide sequence number, arrival µs).
type Feedback = Vec<(u16, Option<i64>)>;

struct Sim {
    t0: Instant,
    gcc: Gcc,
    history: SendHistory,
    /// (arrival at the bottleneck's exit in µs, size, seq)
    queue_free_at: f64,
    in_flight: VecDeque<(f64, u64, usize)>,
    arrivals: Vec<(u16, Option<i64>)>,
    delay_us: f64,
    queue_limit_us: f64,
    loss_every: Option<u64>,
    /// Send 30 fps frames of target/30 paced at the pacing rate (as an
    /// encoder and the pacer do), instead of a smooth stream.
    frames: bool,
    seq: u64,
    /// Target samples (time s, bps).
    samples: Vec<(f64, f64)>,
    delivered_bytes: Vec<(f64, usize)>,
}

impl Sim {
    fn new(start: Bitrate) -> Self {
        Sim {
            t0: Instant::now(),
            gcc: Gcc::new(GccConfig {
                start,
                ..GccConfig::default()
            }),
            history: SendHistory::new(),
            queue_free_at: 0.0,
            in_flight: VecDeque::new(),
            arrivals: Vec::new(),
            delay_us: 50_000.0,
            queue_limit_us: 300_000.0,
            loss_every: None,
            frames: false,
            seq: 0,
            samples: Vec::new(),
            delivered_bytes: Vec::new(),
        }
    }

    /// Runs `secs` with capacity `cap(t)`; the sender sends what the
    /// target allows (probes at their rate).
    fn run(&mut self, from: f64, secs: f64, cap: impl Fn(f64) -> f64) {
        let step = 1e-3;
        let mut t = from;
        let mut credit = 0.0f64;
        let mut frame_left = 0.0f64;
        let mut probe: Option<(tern_cc::ProbeCluster, usize, usize)> = None;
        let mut next_fb = (from * 10.0).ceil() / 10.0;
        let mut pending_fb: VecDeque<(f64, Feedback)> = VecDeque::new();
        while t < from + secs {
            let now = self.t0 + Duration::from_secs_f64(t);
            self.gcc.handle_timeout(now);
            if probe.is_none() {
                if let Some(c) = self.gcc.poll_probe(now) {
                    probe = Some((c, 0, 0));
                }
            }
            let target = self.gcc.estimate().target.as_f64();
            if self.frames {
                let ms = (t * 1000.0).round() as u64;
                if ms % 33 == 0 {
                    frame_left += target / 30.0 / 8.0;
                }
                let pace = self.gcc.estimate().pacing.as_f64() * step / 8.0;
                let take = frame_left.min(pace);
                frame_left -= take;
                credit += take;
            } else {
                credit += target * step / 8.0;
            }
            let mut sends = Vec::new();
            // During a probe every packet belongs to its cluster: media
            // first, padding for the rest of the probe rate (as the pacer
            // does).
            let cluster = probe.as_ref().map(|p| p.0.id);
            let mut sent_now = 0.0;
            while credit >= 1200.0 {
                credit -= 1200.0;
                sends.push((1200, cluster));
                sent_now += 1200.0;
            }
            if let Some((c, bytes, pkts)) = probe.as_mut() {
                let per_ms = c.bitrate.as_f64() * step / 8.0;
                while sent_now < per_ms {
                    sends.push((1000, Some(c.id)));
                    sent_now += 1000.0;
                }
                *bytes += sent_now as usize;
                *pkts += sends.len();
                if *bytes >= c.min_bytes && *pkts >= c.min_packets {
                    probe = None;
                }
            }
            for (size, cluster) in sends {
                let p = SentPacket {
                    seq: self.seq,
                    size,
                    sent_at: now,
                    probe_cluster: cluster,
                };
                self.seq += 1;
                self.history.on_sent(p);
                self.gcc.on_packet_sent(now, p);
                // Enter the bottleneck.
                let c = cap(t);
                let now_us = t * 1e6;
                let start = self.queue_free_at.max(now_us);
                let lost = self.loss_every.is_some_and(|n| p.seq % n == n - 1);
                if start - now_us > self.queue_limit_us || lost {
                    self.arrivals.push((p.seq as u16, None));
                    continue;
                }
                let done = start + size as f64 * 8.0 / c * 1e6;
                self.queue_free_at = done;
                self.in_flight
                    .push_back((done + self.delay_us, p.seq, size));
            }
            while self.in_flight.front().is_some_and(|x| x.0 <= t * 1e6) {
                let (at, seq, size) = self.in_flight.pop_front().unwrap();
                self.arrivals.push((seq as u16, Some(at as i64)));
                self.delivered_bytes.push((t, size));
            }
            if t >= next_fb {
                next_fb += 0.1;
                let fb = std::mem::take(&mut self.arrivals);
                pending_fb.push_back((t + self.delay_us / 1e6, fb));
            }
            while pending_fb.front().is_some_and(|f| f.0 <= t) {
                let (_, fb) = pending_fb.pop_front().unwrap();
                let mut results: Vec<PacketResult> = Vec::new();
                self.history.on_feedback(fb, &mut results);
                results.sort_by_key(|r| r.sent.seq);
                self.gcc.on_feedback(now, &results);
            }
            if ((t * 1000.0).round() as u64) % 200 == 0 {
                self.samples.push((t, self.gcc.estimate().target.as_f64()));
            }
            t += step;
        }
    }

    fn target_at(&self, t: f64) -> f64 {
        self.samples
            .iter()
            .rev()
            .find(|s| s.0 <= t)
            .map_or(0.0, |s| s.1)
    }
    fn first_above(&self, from: f64, level: f64) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.0 >= from && s.1 >= level)
            .map(|s| s.0 - from)
    }
    fn max_between(&self, a: f64, b: f64) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.0 >= a && s.0 < b)
            .map(|s| s.1)
            .fold(0.0, f64::max)
    }
    fn goodput(&self, a: f64, b: f64) -> f64 {
        let bytes: usize = self
            .delivered_bytes
            .iter()
            .filter(|d| d.0 >= a && d.0 < b)
            .map(|d| d.1)
            .sum();
        bytes as f64 * 8.0 / (b - a)
    }
}

#[test]
fn from_300_kbit_s_on_a_3_mbit_s_path_within_3_s() {
    let mut s = Sim::new(Bitrate::kbps(300));
    s.run(0.0, 20.0, |_| 3e6);
    let t = s.first_above(0.0, 2.7e6);
    eprintln!(
        "90% of 3 Mbit/s after {t:?} s; at 10 s {:.0}, at 20 s {:.0}; goodput 10-20 s {:.0}; {:?}",
        s.target_at(10.0),
        s.target_at(19.9),
        s.goodput(10.0, 20.0),
        s.gcc.stats()
    );
    assert!(t.is_some_and(|t| t < 3.0), "{t:?}");
    assert!(s.goodput(10.0, 20.0) > 2.7e6);
    assert!(s.max_between(5.0, 20.0) < 3.3e6 * 1.2);
}

#[test]
fn follows_capacity_steps_1_2_5_0_6_1_mbit_s() {
    let mut s = Sim::new(Bitrate::kbps(300));
    let cap = |t: f64| {
        if t < 40.0 {
            1e6
        } else if t < 60.0 {
            2.5e6
        } else if t < 80.0 {
            0.6e6
        } else {
            1e6
        }
    };
    s.run(0.0, 100.0, cap);
    for (at, c) in [(0.0, 1e6), (40.0, 2.5e6), (60.0, 0.6e6), (80.0, 1e6)] {
        let up = s.first_above(at, 0.9 * c);
        let g = s.goodput(at + 5.0, at + 20.0);
        eprintln!(
            "step at {at}: capacity {c}: 90% after {up:?} s, goodput {g:.0}, target at +10 {:.0}",
            s.target_at(at + 10.0)
        );
    }
    for (at, c) in [(0.0, 1e6), (40.0, 2.5e6), (80.0, 1e6)] {
        assert!(
            s.first_above(at, 0.9 * c).is_some_and(|t| t < 5.0),
            "step at {at}"
        );
        assert!(
            s.goodput(at + 5.0, at + 20.0) > 0.85 * c,
            "goodput after {at}"
        );
    }
    // The drop: under 110% within 5 s.
    let over: Vec<_> = s
        .samples
        .iter()
        .filter(|x| x.0 > 65.0 && x.0 < 80.0 && x.1 > 0.6e6 * 1.1 * 1.2)
        .collect();
    assert!(over.is_empty(), "{over:?}");
    assert!(s.goodput(65.0, 80.0) > 0.8 * 0.6e6);
}

#[test]
fn five_percent_random_loss_keeps_70_percent() {
    let mut s = Sim::new(Bitrate::kbps(300));
    s.loss_every = Some(20);
    s.run(0.0, 30.0, |_| 2e6);
    let g = s.goodput(10.0, 30.0);
    eprintln!("5% loss: goodput {g:.0} of 2 Mbit/s, {:?}", s.gcc.stats());
    assert!(g > 0.7 * 2e6, "{g}");
}

#[test]
fn three_seconds_without_feedback_fall_under_40_kbit_s() {
    let mut s = Sim::new(Bitrate::kbps(1000));
    s.run(0.0, 5.0, |_| 2e6);
    let before = s.gcc.estimate().target;
    // Feedback stops (the receiver is gone): run the sender only.
    let t0 = s.t0;
    for ms in 5000..8000u64 {
        let now = t0 + Duration::from_millis(ms);
        let p = SentPacket {
            seq: s.seq,
            size: 1200,
            sent_at: now,
            probe_cluster: None,
        };
        s.seq += 1;
        s.gcc.on_packet_sent(now, p);
        if s.gcc.poll_timeout().is_some_and(|t| t <= now) {
            s.gcc.handle_timeout(now);
        }
    }
    let after = s.gcc.estimate().target;
    eprintln!("no feedback: {before} → {after}");
    assert!(after < Bitrate::kbps(40), "{after}");
}

#[test]
fn an_application_limited_sender_does_not_grow_without_bound() {
    let mut s = Sim::new(Bitrate::kbps(300));
    // The sender only ever sends 200 kbit/s on a 10 Mbit/s path: drive
    // the controller by hand with a fixed rate.
    let t0 = s.t0;
    let mut results = Vec::new();
    for ms in 0..60_000u64 {
        let now = t0 + Duration::from_millis(ms);
        if ms % 48 == 0 {
            let p = SentPacket {
                seq: s.seq,
                size: 1200,
                sent_at: now,
                probe_cluster: None,
            };
            s.seq += 1;
            s.history.on_sent(p);
            s.gcc.on_packet_sent(now, p);
            s.arrivals
                .push((p.seq as u16, Some((ms as i64 + 50) * 1000)));
        }
        if ms % 100 == 0 {
            let fb = std::mem::take(&mut s.arrivals);
            results.clear();
            s.history.on_feedback(fb, &mut results);
            s.gcc.on_feedback(now, &results);
        }
        s.gcc.handle_timeout(now);
    }
    let t = s.gcc.estimate();
    eprintln!(
        "application-limited at 200 kbit/s for 60 s: {} {:?}",
        t.target,
        s.gcc.stats()
    );
    assert!(t.target < Bitrate::kbps(500), "{}", t.target);
    assert!(t.application_limited);
}

#[test]
fn frames_paced_in_bursts_on_a_3_mbit_s_path() {
    let mut s = Sim::new(Bitrate::kbps(300));
    s.frames = true;
    for i in 0..20 {
        s.run(i as f64, 1.0, |_| 3e6);
        eprintln!("{}: {} {:?}", i + 1, s.gcc.estimate().target, s.gcc.stats());
    }
    let g = s.goodput(5.0, 20.0);
    eprintln!("frames: goodput 5-20 s {g:.0}");
    assert!(g > 0.85 * 3e6, "{g}");
}
