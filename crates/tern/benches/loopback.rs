//! End-to-end data-channel benchmarks between two tern peers in one process
//! over real UDP on loopback:
//! - throughput: 64 MiB (TOTAL_MIB) through one reliable ordered channel in
//!   64 KiB messages, MB/s and CPU seconds per GB;
//! - connection setup: create_offer to the channel open on both sides, 30 tries;
//! - idle connections: memory per connection and idle CPU with 1,000 of them.
//!
//! `cargo bench -p tern --bench loopback` (ONLY=throughput|setup|idle).
#![allow(missing_docs)]
#![allow(clippy::disallowed_methods)] // a benchmark: real time

use std::time::{Duration, Instant};

use tern::{
    Bytes, DataChannel, DataChannelInit, DataChannelMessage, PeerConnection, RtcConfiguration,
};

#[path = "../tests/common/mod.rs"]
mod common;

fn config() -> RtcConfiguration {
    common::loopback()
}

/// Process CPU seconds (user + system).
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

/// Resident memory in bytes.
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

async fn pair(
    cfg: &RtcConfiguration,
) -> (PeerConnection, PeerConnection, DataChannel, DataChannel) {
    common::pair(cfg, "bench").await
}

async fn throughput() {
    let mib: usize = std::env::var("TOTAL_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let (a, b, ca, mut cb) = pair(&config()).await;
    let kib: usize = std::env::var("MSG_KIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let msg = Bytes::from(vec![0x5a; kib * 1024]);
    let count = (mib << 20) / msg.len();
    let cpu0 = cpu();
    let t0 = Instant::now();
    let tx = ca.sender();
    let msg_len = msg.len();
    let sender = tokio::spawn(async move {
        for _ in 0..count {
            tx.send_binary(msg.clone()).await.unwrap();
        }
    });
    let mut got = 0usize;
    while got < count * msg_len {
        match cb.recv().await {
            Some(DataChannelMessage::Binary(m)) => got += m.len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu_s = cpu() - cpu0;
    sender.await.unwrap();
    let gb = got as f64 / 1e9;
    println!(
        "tern ↔ tern, one process, loopback: {mib} MiB in {kib} KiB messages: {:.0} MB/s, {:.1} CPU s/GB (both peers), {:.2} s",
        got as f64 / 1e6 / secs,
        cpu_s / gb,
        secs
    );
    drop((ca, cb));
    a.close().await;
    b.close().await;
}

async fn setup() {
    let cfg = config();
    let mut ms = Vec::new();
    for _ in 0..30 {
        let a = PeerConnection::new(cfg.clone()).await.unwrap();
        let mut b = PeerConnection::new(cfg.clone()).await.unwrap();
        let t0 = Instant::now();
        let ca = a
            .create_data_channel("s", DataChannelInit::default())
            .await
            .unwrap();
        let cb = common::negotiate(&a, &mut b, &ca).await;
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        drop((ca, cb));
        a.close().await;
        b.close().await;
    }
    ms.sort_by(|x, y| x.total_cmp(y));
    println!(
        "setup (create_offer to open on both sides), 30 tries: median {:.2} ms, max {:.2} ms, {} above 5 ms",
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.iter().filter(|&&m| m > 5.0).count()
    );
}

async fn idle() {
    let pairs: usize = std::env::var("PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let cfg = config();
    let base = rss();
    let mut keep = Vec::new();
    for _ in 0..pairs {
        keep.push(pair(&cfg).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = rss().saturating_sub(base);
    let c0 = cpu();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle_cpu = (cpu() - c0) / 10.0;
    println!(
        "{} idle connections ({} pairs with an open channel): {:.0} KiB each, idle CPU {:.1}% of a core in all",
        pairs * 2,
        pairs,
        used as f64 / 1024.0 / (pairs * 2) as f64,
        idle_cpu * 100.0
    );
    assert_eq!(tern::live_connections(), pairs * 2);
    drop(keep);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("ONLY").unwrap_or_default();
    rt.block_on(async {
        if only.is_empty() || only == "throughput" {
            throughput().await;
        }
        if only.is_empty() || only == "setup" {
            setup().await;
        }
        if only.is_empty() || only == "idle" {
            idle().await;
        }
    });
}
