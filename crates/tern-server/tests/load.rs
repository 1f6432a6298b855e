//! Many signaling clients at once: each room's members relay messages to
//! each other for a while; nothing is lost, memory stays flat, and the relay
//! latency is measured. LOAD_CLIENTS / LOAD_ROOMS / LOAD_SECONDS scale it
//! (the full size: 1000 / 100 / 30; the test command runs 200 / 20 / 3).
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tern_server::{Limits, ServeConfig, Server};
use tokio_tungstenite::tungstenite::Message;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_of_clients_relay_without_loss() {
    let (clients, rooms, secs) = (
        env("LOAD_CLIENTS", 200),
        env("LOAD_ROOMS", 20),
        env("LOAD_SECONDS", 3),
    );
    let per_room = clients / rooms;
    let s = Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        limits: Limits {
            room_size: per_room.max(2),
            ..Limits::default()
        },
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let url = format!("ws://{}/ws", s.http_addr);
    // Join everyone, room by room; each learns the others' ids.
    let mut tasks = Vec::new();
    let start = Instant::now() + Duration::from_secs(2);
    let (ids_tx, _) = tokio::sync::broadcast::channel::<(usize, String)>(clients * 2);
    let rss0 = rss_kib();
    // RSS through the relaying phase, every 100 ms: it must level off.
    let sampler = tokio::spawn(async move {
        let end = start + Duration::from_secs(secs as u64);
        let mut samples = Vec::new();
        tokio::time::sleep_until(start.into()).await;
        while Instant::now() < end {
            samples.push(rss_kib());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        samples
    });
    for c in 0..clients {
        let url = url.clone();
        let room = format!("room{}", c % rooms);
        let ids_tx = ids_tx.clone();
        let mut ids_rx = ids_tx.subscribe();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .unwrap();
            ws.send(Message::Text(
                json!({"type": "join", "room": room, "name": c.to_string()})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("joined")
            };
            let j: Value = serde_json::from_str(&t).unwrap();
            let me = j["member"].as_str().unwrap().to_string();
            let _ = ids_tx.send((c, me.clone()));
            // Wait for the start, learning the room mates' ids meanwhile.
            let mut mates = Vec::new();
            while Instant::now() < start {
                if let Ok(Ok((o, id))) =
                    tokio::time::timeout(Duration::from_millis(50), ids_rx.recv()).await
                {
                    if o % rooms == c % rooms && o != c {
                        mates.push(id);
                    }
                }
            }
            let (mut sink, mut stream) = ws.split();
            let end = start + Duration::from_secs(secs as u64);
            let sender = tokio::spawn(async move {
                let mut sent = 0u64;
                let mut i = 0;
                while Instant::now() < end {
                    let to = &mates[i % mates.len()];
                    i += 1;
                    let stamp = Instant::now().duration_since(start).as_micros() as u64;
                    sink.send(Message::Text(
                        json!({"type": "signal", "to": to, "data": {"t": stamp}})
                            .to_string()
                            .into(),
                    ))
                    .await
                    .unwrap();
                    sent += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await; // 20/s: under the rate limit
                }
                sent
            });
            let mut got = 0u64;
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while let Ok(Some(Ok(m))) = tokio::time::timeout(
                end.saturating_duration_since(Instant::now()) + Duration::from_secs(2),
                stream.next(),
            )
            .await
            {
                if let Message::Text(t) = m {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    match v["type"].as_str() {
                        Some("signal") => {
                            got += 1;
                            let now = Instant::now().duration_since(start).as_micros() as u64;
                            lat.push(now.saturating_sub(v["data"]["t"].as_u64().unwrap()));
                        }
                        Some("error") => errors += 1,
                        _ => {}
                    }
                }
            }
            (sender.await.unwrap(), got, lat, errors)
        }));
    }
    let mut sent = 0;
    let mut got = 0;
    let mut errors = 0;
    let mut lat = Vec::new();
    for t in tasks {
        let (s1, g, l, e) = t.await.unwrap();
        sent += s1;
        got += g;
        errors += e;
        lat.extend(l);
    }
    lat.sort_unstable();
    let p99 = lat.get(lat.len() * 99 / 100).copied().unwrap_or(0);
    let rss1 = rss_kib();
    // Flat memory: the median RSS of the last quarter of the relaying phase
    // against that of the second quarter (the first is warm-up).
    let samples = sampler.await.unwrap();
    let q = samples.len() / 4;
    let median = |s: &[u64]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let (early, late) = (median(&samples[q..2 * q]), median(&samples[3 * q..]));
    let growth_kib = late.saturating_sub(early);
    println!(
        "{clients} clients in {rooms} rooms for {secs} s: {sent} sent, {got} relayed ({:.0}/s), p50 {} µs, p99 {} µs, errors {errors}; RSS (clients included) {rss0} KiB before, {early} -> {late} KiB from the 2nd to the last quarter of relaying ({:.1} bytes per relayed message), {rss1} KiB at the end",
        got as f64 / secs as f64,
        lat.get(lat.len() / 2).copied().unwrap_or(0),
        p99,
        growth_kib as f64 * 1024.0 / got.max(1) as f64 * 4.0 / 2.0,
    );
    assert!(samples.len() >= 8, "{} RSS samples", samples.len());
    assert!(
        growth_kib <= (early / 20).max(4096),
        "memory grew while relaying: {early} -> {late} KiB ({samples:?})"
    );
    assert_eq!(errors, 0);
    assert_eq!(sent, got, "every message relayed");
    assert!(sent > (clients * secs * 10) as u64, "{sent} messages");
}
