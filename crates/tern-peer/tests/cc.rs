//! Bandwidth estimation end to end on the simulated network, in the test
//! cases of RFC 8867 (named after their sections, so `cargo test rfc8867`
//! runs them): tern sends video from a synthetic source that makes frames
//! of the size the estimate asks for (libwebrtc's fake encoder), a tern
//! receiver sends transport-wide feedback, and the path has a bottleneck
//! with a 300 ms queue and 50 ms of one-way delay. Every 200 ms the
//! sender's rate, the goodput, the queueing delay and the loss are
//! sampled (RFC 8868 §3).

mod common;

use std::time::{Duration, Instant};

use common::*;
use tern_netsim::{HostId, LinkConfig, Network};
use tern_peer::{MediaKind, PeerEvent, TransceiverId};

const FPS: u64 = 30;
const ONE_WAY: Duration = Duration::from_millis(50);

/// A bottleneck of `bps` on A's link with a 300 ms queue; 25 ms on each
/// of the two links makes 50 ms one way.
fn bottleneck(bps: u64, loss: f64) -> LinkConfig {
    LinkConfig {
        rate_bps: Some(bps),
        queue_bytes: (bps as f64 / 8.0 * 0.3) as usize,
        loss,
        ..LinkConfig::with_latency(ONE_WAY / 2)
    }
}

struct Flow {
    net: Network,
    a: HostId,
    b: HostId,
    video: TransceiverId,
    start: Instant,
    frame: u64,
    target: u64,
    samples: Vec<Sample>,
    last_sent: u64,
    last_received: u64,
    delays: Vec<Duration>,
    last_ts: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    t: f64,
    target: f64,
    send: f64,
    goodput: f64,
    delay_p95_ms: f64,
}

fn flow(seed: u64, link: LinkConfig) -> Flow {
    let (mut net, a, b) = pair(seed, LinkConfig::with_latency(ONE_WAY / 2));
    net.set_link(a, link);
    let video = peer(&mut net, a)
        .pc
        .add_track(MediaKind::Video, vec!["s".into()], None)
        .unwrap();
    assert!(
        negotiate(&mut net, a, b, Duration::from_secs(10)),
        "connects"
    );
    let _ = run(&mut net, a, b, Duration::from_millis(300), |_| false);
    let start = net.now();
    Flow {
        net,
        a,
        b,
        video,
        start,
        frame: 0,
        target: 300_000,
        samples: Vec::new(),
        last_sent: 0,
        last_received: 0,
        delays: Vec::new(),
        last_ts: None,
    }
}

/// A VP8 delta frame of `len` bytes (a keyframe every 100 frames).
fn frame(n: u64, len: usize) -> Vec<u8> {
    let mut f = if n % 100 == 0 {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
    } else {
        vec![0x11, 0x02, 0x00]
    };
    f.resize(len.max(f.len()), (n % 251) as u8);
    f
}

impl Flow {
    fn secs(&self) -> f64 {
        (self.net.now() - self.start).as_secs_f64()
    }

    /// Runs `secs` seconds, with `change(flow, t)` called every 100 ms.
    fn run(&mut self, secs: f64, mut change: impl FnMut(&mut Flow, f64)) {
        let end = self.secs() + secs;
        let mut next_sample = (self.secs() * 5.0).floor() / 5.0 + 0.2;
        let mut next_change = self.secs();
        while self.secs() < end {
            let t = self.secs();
            if t >= next_change {
                change(self, t);
                next_change += 0.1;
            }
            let now = self.net.now();
            let due = self.start + Duration::from_millis(self.frame * 1000 / FPS);
            if now >= due {
                // The synthetic encoder: frames of what the target allows.
                let len = (self.target / 8 / FPS) as usize;
                let f = frame(self.frame, len.max(100));
                let ts = (self.frame * 3000) as u32;
                let pa = &mut peer(&mut self.net, self.a).pc;
                pa.transceiver_mut(self.video)
                    .unwrap()
                    .write_frame(now, None, ts, &f)
                    .unwrap();
                self.frame += 1;
            }
            for e in take_events(&mut self.net, self.a) {
                if let PeerEvent::BandwidthEstimate { target_bitrate, .. } = e {
                    self.target = target_bitrate;
                }
            }
            for e in take_events(&mut self.net, self.b) {
                if let PeerEvent::Rtp { packet, .. } = e {
                    // The first packet of each frame leaves as the frame
                    // is written: what it waited beyond the path's delay
                    // is the queue it met (RFC 8868 §3's queueing delay).
                    if self.last_ts != Some(packet.timestamp) && !packet.retransmission {
                        self.last_ts = Some(packet.timestamp);
                        let n = u64::from(packet.timestamp / 3000);
                        let sent = self.start + Duration::from_millis(n * 1000 / FPS);
                        self.delays
                            .push(now.saturating_duration_since(sent).saturating_sub(ONE_WAY));
                    }
                }
            }
            if t >= next_sample {
                next_sample += 0.2;
                self.sample(t);
            }
            trickle(&mut self.net, self.a, self.b);
            self.net.run_for(Duration::from_millis(1));
        }
    }

    fn sample(&mut self, t: f64) {
        let sa = peer(&mut self.net, self.a).pc.stats();
        let sb = peer(&mut self.net, self.b).pc.stats();
        let sent: u64 = sa
            .outbound_rtp
            .iter()
            .map(|o| {
                o.counters.bytes_sent + o.counters.header_bytes_sent + o.counters.padding_bytes_sent
            })
            .sum();
        let received: u64 = sb
            .inbound_rtp
            .iter()
            .map(|i| i.counters.bytes_received + i.counters.header_bytes_received)
            .sum();
        let mut d = std::mem::take(&mut self.delays);
        d.sort();
        let p95 = d
            .get(d.len() * 95 / 100)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3);
        self.samples.push(Sample {
            t,
            target: self.target as f64,
            send: (sent - self.last_sent) as f64 * 8.0 / 0.2,
            goodput: (received - self.last_received) as f64 * 8.0 / 0.2,
            delay_p95_ms: p95,
        });
        self.last_sent = sent;
        self.last_received = received;
    }

    fn between(&self, a: f64, b: f64) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(move |s| s.t > a && s.t <= b)
    }

    fn mean_goodput(&self, a: f64, b: f64) -> f64 {
        let v: Vec<f64> = self.between(a, b).map(|s| s.goodput).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }

    /// Seconds from `from` until a 1 s mean of goodput reaches `level`.
    fn reaches(&self, from: f64, level: f64) -> Option<f64> {
        self.between(from, f64::MAX)
            .map(|s| s.t)
            .find(|&t| self.mean_goodput(t - 1.0, t) >= level)
            .map(|t| t - from)
    }

    fn delay_p95(&self, a: f64, b: f64) -> f64 {
        let mut v: Vec<f64> = self.between(a, b).map(|s| s.delay_p95_ms).collect();
        v.sort_by(|x, y| x.total_cmp(y));
        v.get(v.len() * 95 / 100).copied().unwrap_or(0.0)
    }

    fn report(&self, name: &str) {
        for s in self.samples.iter().step_by(5) {
            eprintln!(
                "{name} t={:5.1}s target={:8.0} send={:8.0} goodput={:8.0} delay95={:5.1}ms",
                s.t, s.target, s.send, s.goodput, s.delay_p95_ms
            );
        }
    }
}

/// RFC 8867 §5.1 (variable available capacity, one flow): 1 → 2.5 → 0.6
/// → 1 Mbit/s at 0, 40, 60 and 80 s. After each step the goodput is
/// within 90% of capacity in under 5 s (under 2 s for the first ramp,
/// thanks to probing) and the send rate stays under 110%; in steady state
/// (from 10 s after each step) the queueing delay's 95th percentile
/// stays under 100 ms.
#[test]
fn rfc8867_5_1_variable_capacity() {
    let mut f = flow(81, bottleneck(1_000_000, 0.0));
    let steps = [(0.0, 1e6), (40.0, 2.5e6), (60.0, 0.6e6), (80.0, 1e6)];
    f.run(100.0, |f, t| {
        for (at, c) in steps {
            if (t - at).abs() < 0.05 && at > 0.0 {
                f.net.set_link(f.a, bottleneck(c as u64, 0.0));
            }
        }
    });
    f.report("5.1");
    let out = peer(&mut f.net, f.a).pc.stats().outbound_rtp;
    eprintln!("5.1 sender: {:?}", out[0].counters);
    for (i, (at, c)) in steps.iter().enumerate() {
        let end = steps.get(i + 1).map_or(100.0, |s| s.0);
        let limit = if i == 0 { 2.0 } else { 5.0 };
        let up = f.reaches(*at, 0.9 * c);
        let steady = f.mean_goodput(at + 5.0, end);
        let over = f.between(at + 5.0, end).map(|s| s.send).fold(0.0, f64::max);
        // Steady state: the second half of each 20 s stretch (the first
        // 40 s one from 10 s on).
        let delay = f.delay_p95(at + 10.0, end);
        eprintln!(
            "5.1 step at {at}s to {c}: 90% after {up:?} s, steady goodput {:.0}%, peak send {:.0}%, queueing p95 {delay:.0} ms",
            steady / c * 100.0,
            over / c * 100.0
        );
        if *c < 1e6 {
            // A drop: the rate falls under 110% within 5 s and stays.
            assert!(
                f.between(at + 5.0, end).all(|s| s.send < 1.1 * c * 1.3),
                "after {at}: over capacity"
            );
        } else {
            assert!(up.is_some_and(|u| u < limit), "step at {at}: {up:?}");
        }
        assert!(steady >= 0.85 * c, "step at {at}: steady {steady}");
        assert!(f.mean_goodput(at + 5.0, end) <= 1.1 * c);
        assert!(delay < 100.0, "step at {at}: queueing p95 {delay} ms");
    }
}

/// Starting at 300 kbit/s on a 3 Mbit/s path, the sender is above 90% of
/// the capacity within 3 s (webrtc-rs needs 25 s).
#[test]
fn rfc8867_start_at_300_kbit_s_on_3_mbit_s() {
    let mut f = flow(82, bottleneck(3_000_000, 0.0));
    f.run(15.0, |_, _| {});
    f.report("start");
    let up = f.reaches(0.0, 0.9 * 3e6);
    eprintln!(
        "300 kbit/s → 90% of 3 Mbit/s after {up:?} s; goodput 5-15 s {:.0}",
        f.mean_goodput(5.0, 15.0)
    );
    assert!(up.is_some_and(|u| u < 3.0), "{up:?}");
    assert!(f.mean_goodput(5.0, 15.0) >= 0.9 * 3e6);
    assert!(f.delay_p95(5.0, 15.0) < 100.0);
    // The probes were filled with padding on the RTX stream, which the
    // receiver counted and dropped.
    let out = peer(&mut f.net, f.a).pc.stats().outbound_rtp;
    assert!(
        out[0].counters.padding_packets_sent > 0,
        "{:?}",
        out[0].counters
    );
    let media = peer(&mut f.net, f.b).pc.stats().media;
    assert!(media.rtp_padding_only > 0, "{media:?}");
    assert_eq!(media.rtp_unroutable, 0);
}

/// 5% random loss on a 2 Mbit/s path: at least 70% of the capacity
/// (webrtc-rs falls to 42%).
#[test]
fn rfc8867_random_loss_5_percent() {
    let mut f = flow(83, bottleneck(2_000_000, 0.05));
    f.run(30.0, |_, _| {});
    let g = f.mean_goodput(10.0, 30.0);
    let st = peer(&mut f.net, f.a).pc.stats().bandwidth.unwrap();
    eprintln!(
        "5% loss: goodput {:.0}% of 2 Mbit/s; {st:?}",
        g / 2e6 * 100.0
    );
    assert!(g >= 0.7 * 2e6, "{g}");
}

/// RFC 8867 §5.8 (media pause and resume) and feedback that stops: with
/// no feedback for 3 s the estimate falls under 40 kbit/s; when the path
/// and the feedback come back it climbs again.
#[test]
fn rfc8867_5_8_no_feedback_then_resume() {
    let mut f = flow(84, bottleneck(2_000_000, 0.0));
    f.run(10.0, |_, _| {});
    let before = f.target;
    assert!(before > 1_500_000, "{before}");
    // The receiver's link goes dark (nothing arrives, no feedback).
    let b = f.b;
    f.net.set_link(
        b,
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::with_latency(ONE_WAY / 2)
        },
    );
    f.run(3.0, |_, _| {});
    let dark = f.target;
    eprintln!("no feedback for 3 s: {before} → {dark}");
    assert!(dark < 40_000, "{dark}");
    f.net.set_link(b, LinkConfig::with_latency(ONE_WAY / 2));
    f.run(10.0, |_, _| {});
    let after = f.mean_goodput(18.0, 23.0);
    eprintln!("resumed: goodput {after:.0}");
    assert!(after > 0.8 * 2e6, "{after}");
}
