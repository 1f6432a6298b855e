//! ICE agent costs: `poll_timeout` over 1,000 idle connected agents (what a
//! server's driver does every loop), and one idle agent's `handle_timeout`
//! when its consent timer fires.
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
    let mut one = agents.pop().unwrap();
    let mut t = now;
    c.bench_function(
        "ice/handle_timeout (consent check due) + poll_transmit",
        |b| {
            b.iter(|| {
                t += Duration::from_secs(3);
                one.handle_timeout(t);
                while let Some(x) = one.poll_transmit() {
                    black_box(x);
                }
                // Keep it alive: pretend every consent check was answered.
                while one.poll_event().is_some() {}
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
