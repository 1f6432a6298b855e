//! ICE agent costs: `poll_timeout` over 1,000 idle connected agents (what a
//! server's driver does every loop), and a consent round trip between two
//! connected agents.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

#[path = "../tests/memory_pair/mod.rs"]
mod memory_pair;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let start = Instant::now();
    let mut agents = Vec::new();
    let mut now = start;
    for i in 0..500u32 {
        let a: SocketAddr = format!("192.0.2.{}:{}", 1 + i % 200, 5000 + i)
            .parse()
            .unwrap();
        let b: SocketAddr = format!("198.51.100.{}:{}", 1 + i % 200, 6000 + i)
            .parse()
            .unwrap();
        let (x, y, t) = memory_pair::connected_pair(u64::from(i), a, b, start);
        now = now.max(t);
        agents.push(x);
        agents.push(y);
    }
    c.bench_function("ice/poll_timeout over 1000 idle agents", |b| {
        b.iter(|| {
            let mut earliest: Option<Instant> = None;
            for a in &agents {
                if let Some(t) = a.poll_timeout() {
                    earliest = Some(earliest.map_or(t, |e| e.min(t)));
                }
            }
            black_box(earliest)
        })
    });
    // One consent round in each direction between two connected agents:
    // timers fire, requests and responses cross, bookkeeping runs.
    let mut y = agents.pop().unwrap();
    let mut x = agents.pop().unwrap();
    let mut t = now;
    c.bench_function("ice/consent round trip between two idle agents", |b| {
        b.iter(|| {
            t += Duration::from_secs(3);
            for _ in 0..2 {
                if x.poll_timeout().is_some_and(|d| d <= t) {
                    x.handle_timeout(t);
                }
                if y.poll_timeout().is_some_and(|d| d <= t) {
                    y.handle_timeout(t);
                }
                while let Some(m) = x.poll_transmit() {
                    y.handle_receive(t, m.source.unwrap(), m.destination, &m.contents);
                }
                while let Some(m) = y.poll_transmit() {
                    x.handle_receive(t, m.source.unwrap(), m.destination, &m.contents);
                }
            }
            while x.poll_event().is_some() {}
            while y.poll_event().is_some() {}
        })
    });
    assert!(
        memory_pair::connected(&x) && memory_pair::connected(&y),
        "the bench kept consent alive"
    );
    let stats = x.selected_pair_stats().unwrap();
    assert!(
        stats.consent_requests_sent > 10,
        "consent checks were exercised: {stats:?}"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
