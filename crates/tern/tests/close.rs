//! What a peer sees when the other side closes: its channels close at once
//! (SCTP ABORT / DTLS close_notify), not after consent expires 30 s later.
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::time::{Duration, Instant};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_one_side_closes_the_others_channels_promptly() {
    for close_channel_first in [false, true] {
        let (a, b, ours, mut theirs) = tokio::time::timeout(
            Duration::from_secs(10),
            common::pair(&common::loopback(), "c"),
        )
        .await
        .expect("connected");
        ours.send_text("last words").await.unwrap();
        if close_channel_first {
            ours.close().await.unwrap();
        }
        a.close().await;
        let t0 = Instant::now();
        assert_eq!(
            theirs.recv().await,
            Some(tern::DataChannelMessage::Text("last words".into()))
        );
        tokio::time::timeout(Duration::from_secs(3), theirs.wait_closed())
            .await
            .unwrap_or_else(|_| {
                panic!("the channel still open 3 s after the peer closed (channel closed first: {close_channel_first})")
            });
        println!(
            "closed {:?} after the peer (channel closed first: {close_channel_first})",
            t0.elapsed()
        );
        b.close().await;
    }
}
