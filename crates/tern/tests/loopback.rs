//! Two tern peers in one process over real UDP on loopback.
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::time::Duration;

use tern::DataChannelMessage;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_both_ways_and_64_mib_intact() {
    let (a, b, mut ours, mut theirs) = tokio::time::timeout(
        Duration::from_secs(10),
        common::pair(&common::loopback(), "bulk"),
    )
    .await
    .expect("connected within 10 s");
    assert_eq!(theirs.label(), "bulk");
    ours.send_text("ping").await.unwrap();
    assert_eq!(
        theirs.recv().await,
        Some(DataChannelMessage::Text("ping".into()))
    );
    theirs.send_binary(vec![1u8, 2, 3]).await.unwrap();
    assert_eq!(
        ours.recv().await,
        Some(DataChannelMessage::Binary(vec![1, 2, 3]))
    );

    // 64 MiB in 64 KiB messages, each one numbered and checked.
    let total = 1024u32;
    let sender = tokio::spawn(async move {
        for i in 0..total {
            let mut m = vec![(i % 251) as u8; 64 * 1024];
            m[..4].copy_from_slice(&i.to_be_bytes());
            ours.send_binary(m).await.unwrap();
        }
        ours
    });
    let t0 = std::time::Instant::now();
    for i in 0..total {
        let m = tokio::time::timeout(Duration::from_secs(30), theirs.recv())
            .await
            .expect("no stall")
            .expect("channel open");
        let DataChannelMessage::Binary(m) = m else {
            panic!("binary expected")
        };
        assert_eq!(m.len(), 64 * 1024);
        assert_eq!(
            u32::from_be_bytes(m[..4].try_into().unwrap()),
            i,
            "in order"
        );
        assert!(
            m[4..].iter().all(|&x| x == (i % 251) as u8),
            "message {i} intact"
        );
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "64 MiB over loopback in {secs:.2} s: {:.0} MB/s",
        64.0 * 1.048_576 / secs
    );
    let ours = sender.await.unwrap();
    let stats = a.stats().await.unwrap();
    assert_eq!(
        stats.data_channels[0].counters.messages_sent,
        u64::from(total) + 1
    );
    drop(ours);
    drop(theirs);
    a.close().await;
    b.close().await;
}
