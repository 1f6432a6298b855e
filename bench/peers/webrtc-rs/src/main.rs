//! Two webrtc-rs peers in one process on loopback: TOTAL_MIB (64) through one
//! reliable ordered channel in 64 KiB messages with bufferedAmount flow
//! control; MB/s, CPU s/GB, and setup time (create_offer to open on both
//! sides) over TRIES (10). Run inside `unshare -n` (loopback only):
//!   cargo run --release --manifest-path bench/peers/webrtc-rs/Cargo.toml
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::data_channel::data_channel_message::DataChannelMessage;
use webrtc::data_channel::RTCDataChannel;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::RTCPeerConnection;

fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

async fn peer() -> Arc<RTCPeerConnection> {
    let mut s = SettingEngine::default();
    s.set_include_loopback_candidate(true);
    let api = APIBuilder::new().with_setting_engine(s).build();
    // No ICE servers: nothing leaves the machine.
    Arc::new(api.new_peer_connection(RTCConfiguration::default()).await.unwrap())
}

/// Connects a new pair; returns (a, b, a's channel, b's channel, setup time).
async fn pair() -> (
    Arc<RTCPeerConnection>,
    Arc<RTCPeerConnection>,
    Arc<RTCDataChannel>,
    Arc<RTCDataChannel>,
    Duration,
) {
    let a = peer().await;
    let b = peer().await;
    let t0 = Instant::now();
    let dc = a.create_data_channel("bench", None).await.unwrap();
    let opened = Arc::new(Notify::new());
    let o = opened.clone();
    dc.on_open(Box::new(move || {
        o.notify_one();
        Box::pin(async {})
    }));
    let (tx, mut rx) = mpsc::channel::<Arc<RTCDataChannel>>(1);
    b.on_data_channel(Box::new(move |d| {
        let tx = tx.clone();
        Box::pin(async move {
            let _ = tx.send(d).await;
        })
    }));
    let offer = a.create_offer(None).await.unwrap();
    let mut g = a.gathering_complete_promise().await;
    a.set_local_description(offer).await.unwrap();
    let _ = g.recv().await;
    b.set_remote_description(a.local_description().await.unwrap()).await.unwrap();
    let answer = b.create_answer(None).await.unwrap();
    let mut g = b.gathering_complete_promise().await;
    b.set_local_description(answer).await.unwrap();
    let _ = g.recv().await;
    a.set_remote_description(b.local_description().await.unwrap()).await.unwrap();
    let theirs = rx.recv().await.unwrap();
    opened.notified().await;
    (a, b, dc, theirs, t0.elapsed())
}

#[tokio::main]
async fn main() {
    let mib: usize = std::env::var("TOTAL_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    let tries: usize = std::env::var("TRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let mut setups = Vec::new();
    for _ in 0..tries {
        let (a, b, _, _, t) = pair().await;
        setups.push(t.as_secs_f64() * 1e3);
        let _ = a.close().await;
        let _ = b.close().await;
    }
    setups.sort_by(|x, y| x.total_cmp(y));
    let (a, b, dc, theirs, _) = pair().await;
    let total = mib << 20;
    let got = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(Notify::new());
    let (g, d) = (got.clone(), done.clone());
    theirs.on_message(Box::new(move |m: DataChannelMessage| {
        if g.fetch_add(m.data.len(), Ordering::SeqCst) + m.data.len() >= total {
            d.notify_one();
        }
        Box::pin(async {})
    }));
    let low = Arc::new(Notify::new());
    let l = low.clone();
    dc.set_buffered_amount_low_threshold(1 << 20).await;
    dc.on_buffered_amount_low(Box::new(move || {
        l.notify_one();
        Box::pin(async {})
    }))
    .await;
    let kib: usize = std::env::var("MSG_KIB").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    let msg = Bytes::from(vec![0x5au8; kib * 1024]);
    let c0 = cpu();
    let t0 = Instant::now();
    for _ in 0..total / msg.len() {
        while dc.buffered_amount().await > 4 << 20 {
            low.notified().await;
        }
        if let Err(e) = dc.send(&msg).await {
            eprintln!("webrtc-rs: send failed after {} MiB: {e}", got.load(Ordering::SeqCst) >> 20);
            std::process::exit(1);
        }
    }
    done.notified().await;
    let secs = t0.elapsed().as_secs_f64();
    let cpu_s = cpu() - c0;
    println!(
        "webrtc-rs ↔ webrtc-rs, one process, loopback: {mib} MiB in {kib} KiB messages: {:.0} MB/s, {:.1} CPU s/GB (both peers); setup median {:.1} ms, max {:.1} ms over {tries}",
        total as f64 / 1e6 / secs,
        cpu_s / (total as f64 / 1e9),
        setups[setups.len() / 2],
        setups[setups.len() - 1]
    );
    let _ = a.close().await;
    let _ = b.close().await;
}
