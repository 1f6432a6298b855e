//! SCTP over a simulated path (tern-netsim, virtual time): achieved
//! throughput at 50 ms RTT on a 1 Gbit/s link without loss, the same path
//! with 1% random loss next to the Mathis bound for Reno, and the time to
//! recover after a 200 ms outage.
//!
//! `cargo bench -p tern-sctp --bench netsim` (MIB sets the lossless transfer size).
#![allow(missing_docs)]
#![allow(clippy::disallowed_methods)] // a benchmark: wall time only to report the simulation cost

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;
use tern_netsim::{Attachment, Datagram, Endpoint, HostId, LinkConfig, Network};
use tern_sctp::{Association, SctpConfig, SctpEvent};

struct Peer {
    assoc: Association,
    local: SocketAddr,
    remote: SocketAddr,
    received: usize,
    connected: bool,
    /// (time, bytes received so far), one sample per message.
    progress: Vec<(Instant, usize)>,
}

impl Peer {
    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.assoc.poll_event() {
            match e {
                SctpEvent::Connected => self.connected = true,
                SctpEvent::Message(m) => {
                    self.received += m.data.len();
                    self.progress.push((now, self.received));
                }
                _ => {}
            }
        }
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, _f: SocketAddr, _t: SocketAddr, data: &[u8]) {
        self.assoc.handle_receive(now, data);
        self.drain(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.drain(now);
    }
    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        self.assoc.poll_transmit().map(|p| Datagram {
            source: Some(self.local),
            destination: self.remote,
            contents: p,
        })
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
}

const MSG: usize = 64 * 1024;

fn path(rtt: Duration, loss: f64) -> LinkConfig {
    LinkConfig {
        // Each packet crosses the sender's and the receiver's link.
        latency: rtt / 4,
        loss: loss / 2.0,
        rate_bps: Some(1_000_000_000),
        queue_bytes: 4 << 20,
        ..LinkConfig::default()
    }
}

fn setup(seed: u64, link: LinkConfig) -> (Network, HostId, HostId) {
    let mut net = Network::new(seed);
    let a: SocketAddr = "203.0.113.1:5000".parse().unwrap();
    let b: SocketAddr = "203.0.113.2:5000".parse().unwrap();
    let now = net.now();
    let cfg = SctpConfig {
        receive_window: std::env::var("RWND_MIB")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(SctpConfig::default().receive_window, |m| m << 20),
        ..SctpConfig::default()
    };
    let mut x = Association::new(cfg.clone(), Box::new(SeededRandom::new(seed)), now);
    let y = Association::new(cfg, Box::new(SeededRandom::new(seed + 1)), now);
    x.connect(now);
    let peer = |assoc, local, remote| Peer {
        assoc,
        local,
        remote,
        received: 0,
        connected: false,
        progress: Vec::new(),
    };
    let ha = net.add_host(peer(x, a, b), &[a.ip()], Attachment::Internet, link.clone());
    let hb = net.add_host(peer(y, b, a), &[b.ip()], Attachment::Internet, link);
    assert!(net.run_until(Duration::from_secs(30), |n| n
        .endpoint::<Peer>(ha)
        .connected
        && n.endpoint::<Peer>(hb).connected));
    (net, ha, hb)
}

/// Sends `total` bytes, keeping the send buffer topped up; returns the
/// virtual time from first send to last delivery.
fn transfer(net: &mut Network, a: HostId, b: HostId, total: usize, step: Duration) -> Duration {
    let t0 = net.now();
    let mut sent = 0;
    let payload = vec![0x42u8; MSG];
    while net.endpoint::<Peer>(b).received < total {
        let now = net.now();
        let p = net.endpoint_mut::<Peer>(a);
        while sent < total && p.assoc.buffered_amount(0) < 16 << 20 {
            p.assoc.send(now, 0, 53, &payload, false).expect("send");
            sent += MSG;
        }
        net.run_for(step);
    }
    net.now() - t0
}

fn mbit(bytes: usize, d: Duration) -> f64 {
    bytes as f64 * 8.0 / d.as_secs_f64() / 1e6
}

fn main() {
    let mib: usize = std::env::var("MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let rtt = Duration::from_millis(50);
    let wall = Instant::now();

    let only = std::env::var("ONLY").unwrap_or_default();
    let run = |n: &str| only.is_empty() || only.contains(n);
    if run("1") {
        lossless(rtt, mib);
    }
    if run("2") {
        lossy(rtt);
    }
    if run("3") {
        outage(rtt);
    }
    println!(
        "(simulated in {:.1} s of wall time)",
        wall.elapsed().as_secs_f64()
    );
}

fn lossless(rtt: Duration, mib: usize) {
    let (mut net, a, b) = setup(1, path(rtt, 0.0));
    let total = mib << 20;
    let took = transfer(&mut net, a, b, total, Duration::from_millis(5));
    let prog = &net.endpoint::<Peer>(b).progress;
    // Steady state: the second half of the transfer.
    let half = prog.iter().find(|(_, n)| *n >= total / 2).copied().unwrap();
    let last = *prog.last().unwrap();
    println!(
        "50 ms RTT, 1 Gbit/s, no loss: {mib} MiB in {:.2} s virtual: {:.0} Mbit/s overall, {:.0} Mbit/s in the second half; cwnd {} bytes",
        took.as_secs_f64(),
        mbit(total, took),
        mbit(last.1 - half.1, last.0 - half.0),
        net.endpoint::<Peer>(a).assoc.cwnd()
    );
}

/// 1% random loss, next to the Mathis bound (MSS/RTT · 1.22/√p).
fn lossy(rtt: Duration) {
    let (mut net, a, b) = setup(2, path(rtt, 0.01));
    let total = 16 << 20;
    let took = transfer(&mut net, a, b, total, Duration::from_millis(5));
    let mss = 1200.0 - 12.0 - 16.0;
    let mathis = mss * 8.0 / rtt.as_secs_f64() * 1.22 / 0.01f64.sqrt() / 1e6;
    let stats = net.endpoint::<Peer>(a).assoc.stats();
    println!(
        "50 ms RTT, 1 Gbit/s, 1% loss: 16 MiB in {:.1} s virtual: {:.1} Mbit/s; Mathis bound {:.1} Mbit/s (ratio {:.2}); {} chunks retransmitted, {} T3 expiries",
        took.as_secs_f64(),
        mbit(total, took),
        mathis,
        mbit(total, took) / mathis,
        stats.retransmitted_chunks,
        stats.t3_expiries
    );
}

/// A 200 ms outage in full flow: how long until the rate is back.
fn outage(rtt: Duration) {
    let (mut net, a, b) = setup(3, path(rtt, 0.0));
    transfer(&mut net, a, b, 64 << 20, Duration::from_millis(5));
    let before = net.endpoint::<Peer>(b).received;
    let t_before = net.now();
    let total = before + (256 << 20);
    let mut sent = 0;
    let payload = vec![0x42u8; MSG];
    let mut burst_end = None;
    let mut recovered = None;
    let mut window: Vec<(Instant, usize)> = Vec::new();
    let mut rate_after = [None, None];
    let prog = &net.endpoint::<Peer>(b).progress;
    let (t_half, n_half) = prog[prog.len() / 2];
    let (t_last, n_last) = *prog.last().unwrap();
    let rate_before = mbit(n_last - n_half, t_last - t_half);
    while net.endpoint::<Peer>(b).received < total {
        let now = net.now();
        let elapsed = now - t_before;
        if elapsed >= Duration::from_millis(500) && burst_end.is_none() {
            net.set_link(
                a,
                LinkConfig {
                    loss: 1.0,
                    ..path(rtt, 0.0)
                },
            );
            net.run_for(Duration::from_millis(200));
            net.set_link(a, path(rtt, 0.0));
            burst_end = Some(net.now());
            continue;
        }
        let p = net.endpoint_mut::<Peer>(a);
        while sent < total && p.assoc.buffered_amount(0) < 16 << 20 {
            p.assoc.send(now, 0, 53, &payload, false).expect("send");
            sent += MSG;
        }
        net.run_for(Duration::from_millis(5));
        let now = net.now();
        let got = net.endpoint::<Peer>(b).received;

        window.push((now, got));
        window.retain(|(t, _)| now - *t <= Duration::from_millis(100));
        if let (Some(end), None) = (burst_end, recovered) {
            let (t0, n0) = window[0];
            if now - t0 >= Duration::from_millis(90)
                && mbit(got - n0, now - t0) >= rate_before / 2.0
            {
                recovered = Some(now - end);
            }
        }
        if let Some(end) = burst_end {
            for (i, after) in [1u64, 3].into_iter().enumerate() {
                if rate_after[i].is_none() && now - end >= Duration::from_secs(after) {
                    let (t0, n0) = window[0];
                    rate_after[i] = Some(mbit(got - n0, now - t0));
                }
            }
        }
    }
    let show = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.0} Mbit/s"));
    println!(
        "200 ms outage at {rate_before:.0} Mbit/s, 50 ms RTT: back above half that rate {} after it ended; {} 1 s after, {} 3 s after ({} T3 expiries)",
        recovered.map_or("never".to_string(), |r| format!("{:.2} s", r.as_secs_f64())),
        show(rate_after[0]),
        show(rate_after[1]),
        net.endpoint::<Peer>(a).assoc.stats().t3_expiries
    );
}
