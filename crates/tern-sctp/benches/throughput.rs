//! In-memory throughput: two associations in one thread, no loss, packets
//! handed across directly; one reliable ordered stream, 256 MiB in 64 KiB
//! messages. Prints MB/s and CPU nanoseconds per byte.
//!
//! `cargo bench -p tern-sctp --bench throughput` (set TOTAL_MIB to change the size).
#![allow(missing_docs)]
#![allow(clippy::disallowed_methods)] // a benchmark: real time for the measurement, virtual time for the associations

use std::time::{Duration, Instant};

use tern_crypto::SeededRandom;
use tern_sctp::{Association, Bytes, SctpConfig, SctpEvent, SendOptions};

fn main() {
    let total_mib: usize = std::env::var("TOTAL_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // `send` copies the caller's slice; `send_bytes` takes a `Bytes` the
    // caller gives away (here one shared buffer, so the sender copies nothing).
    // The machine is noisy: the modes alternate, and the median and best of
    // several rounds are reported.
    let mut results = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, zero_copy) in [true, false].into_iter().enumerate() {
            results[i].push(run(total_mib, zero_copy));
        }
    }
    for (i, name) in ["send_bytes", "send (copies)"].into_iter().enumerate() {
        let r = &mut results[i];
        r.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (best, median) = (r[0], r[r.len() / 2]);
        println!(
            "sctp in memory, {name}: {total_mib} MiB in 64 KiB messages: median {:.0} MB/s ({:.2} CPU ns/byte), best {:.0} MB/s ({:.2} CPU ns/byte), {rounds} rounds",
            median.0, median.1, best.0, best.1
        );
    }
}

/// One transfer: (MB/s, CPU ns per byte).
fn run(total_mib: usize, zero_copy: bool) -> (f64, f64) {
    let total = total_mib << 20;
    let msg = 64 * 1024;
    let mut now = Instant::now();
    let cfg = SctpConfig {
        receive_window: 16 << 20,
        ..SctpConfig::default()
    };
    let mut a = Association::new(cfg.clone(), Box::new(SeededRandom::new(1)), now);
    let mut b = Association::new(cfg, Box::new(SeededRandom::new(2)), now);
    a.connect(now);
    let payload = Bytes::from(vec![0x5au8; msg]);
    let mut sent = 0usize;
    let mut received = 0usize;
    let wall = Instant::now();
    let cpu0 = cpu_time();
    while received < total {
        while sent < total && a.is_established() && a.buffered_amount(0) < 8 << 20 {
            if zero_copy {
                a.send_bytes(now, 0, 53, payload.clone(), SendOptions::default())
            } else {
                a.send(now, 0, 53, &payload, false)
            }
            .expect("send");
            sent += msg;
        }
        let mut moved = false;
        while let Some(p) = a.poll_transmit() {
            b.handle_packet(now, p.into());
            moved = true;
        }
        while let Some(p) = b.poll_transmit() {
            a.handle_receive(now, &p);
            moved = true;
        }
        while let Some(e) = b.poll_event() {
            if let SctpEvent::Message(m) = e {
                received += m.data.len();
            }
        }
        while a.poll_event().is_some() {}
        if !moved {
            // Only timers can make progress (a delayed SACK): jump to them.
            let next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + Duration::from_millis(1));
            now = now.max(next);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }
    let secs = wall.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu0;
    (total as f64 / secs / 1e6, cpu * 1e9 / total as f64)
}

/// Process CPU time in seconds (user + system), from /proc/self/stat.
fn cpu_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}
