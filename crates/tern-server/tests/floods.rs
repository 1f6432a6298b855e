//! Frame floods (issue 13, item 4), in a test binary of its own: it also
//! reports relay latency, which other tests running beside it would skew.
#![allow(clippy::disallowed_methods)] // real sockets, real time

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tern_server::Limits;
use tokio_tungstenite::tungstenite::Message;

/// Relay latencies from `a` to `b` (member `idb`), a signal every 20 ms
/// until `end`, sorted.
async fn relay_latencies(a: &mut Ws, b: &mut Ws, idb: &str, end: Instant) -> Vec<Duration> {
    let mut lat = Vec::new();
    while Instant::now() < end {
        let t0 = Instant::now();
        send(a, json!({"type": "signal", "to": idb, "data": 1})).await;
        let got = recv(b).await.unwrap();
        assert_eq!(got["type"], "signal", "{got}");
        lat.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lat.sort_unstable();
    lat
}

/// Item 4: a flood of pings, binary, oversized and refused frames from
/// another room is charged frame by frame: the flooders get at most one
/// `rate-limited` a second and are closed. The quiet room's relay
/// latencies with and without the flood are printed, not asserted: on this
/// shared 2-core machine the flooders' own CPU decides them (see the note
/// on issue 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_charged_and_closed() {
    let s = server(Limits::default()).await;
    let mut a = connect(&s).await;
    let mut b = connect(&s).await;
    join(&mut a, "quiet", "a").await;
    let jb = join(&mut b, "quiet", "b").await;
    recv(&mut a).await; // b joined
    let idb = jb["member"].as_str().unwrap().to_string();
    // The baseline first, without a flood: on a loaded machine (a shared
    // one, a debug build) p99 can exceed 10 ms with no flood at all.
    let base = relay_latencies(
        &mut a,
        &mut b,
        &idb,
        Instant::now() + Duration::from_millis(1500),
    )
    .await;
    let base_p99 = base[base.len() * 99 / 100];
    let url = format!("ws://{}/ws", s.http_addr);
    let flood_end = Instant::now() + Duration::from_secs(3);
    let mut flooders = Vec::new();
    // The flooders run on a runtime (and thread) of their own, in batches
    // of 20 frames every 10 ms (2,000 a second each, 40 times the rate), so
    // what is measured is the server, not the test's scheduler.
    let kinds: Vec<u8> = std::env::var("FLOOD_KINDS")
        .unwrap_or_else(|_| "0123".into())
        .bytes()
        .map(|b| b - b'0')
        .collect();
    for kind in kinds {
        let url = url.clone();
        flooders.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (mut limited, mut closes, mut frames) = (0u32, 0u32, 0u64);
                let big = "z".repeat(70_000); // over the 64 KiB message limit
                while Instant::now() < flood_end {
                    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
                        .await
                        .unwrap();
                    let (mut sink, mut stream) = ws.split();
                    let reader = tokio::spawn(async move {
                        let mut limited = 0;
                        while let Some(Ok(m)) = stream.next().await {
                            if let Message::Text(t) = m {
                                limited += u32::from(t.contains("rate-limited"));
                            }
                        }
                        limited
                    });
                    'conn: while Instant::now() < flood_end {
                        for _ in 0..20 {
                            let m = match kind {
                                0 => Message::Ping(vec![0u8; 8].into()),
                                1 => Message::Binary(vec![1u8; 512].into()),
                                2 => Message::Text(big.clone().into()),
                                _ => Message::Text(json!({"type": "teleport"}).to_string().into()),
                            };
                            if sink.send(m).await.is_err() {
                                break 'conn;
                            }
                            frames += 1;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    let closed_by_server = Instant::now() < flood_end;
                    drop(sink);
                    if closed_by_server {
                        limited += reader.await.unwrap_or(0);
                        closes += 1;
                    } else {
                        reader.abort();
                    }
                }
                (limited, closes, frames)
            })
        }));
    }
    // The quiet pair: a signal every 20 ms, timed from send to receipt.
    let lat = relay_latencies(&mut a, &mut b, &idb, flood_end).await;
    let (p50, p99) = (lat[lat.len() / 2], lat[lat.len() * 99 / 100]);
    let mut report = Vec::new();
    for f in flooders {
        report.push(f.join().unwrap());
    }
    println!(
        "relay p99 {base_p99:?} without a flood; p50 {p50:?}, p99 {p99:?} over {} signals under a 3 s flood; flooders (rate-limited answers, connections closed, frames sent): {report:?}",
        lat.len()
    );
    for (limited, closes, _) in report {
        // Each connection is closed within a few windows, with at most one
        // notice per window plus the closing one.
        assert!(closes >= 1, "flooders are closed ({closes} connections)");
        assert!(limited <= closes * 5, "{limited} notices for {closes}");
    }
}
