//! Dropping every handle stops the connection's driver and frees its
//! sockets (alone in its binary: the live-connection count is per process).
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::time::Duration;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handles_frees_everything() {
    let config = common::loopback();
    for round in 0..3 {
        let (a, b, ch, theirs) =
            tokio::time::timeout(Duration::from_secs(10), common::pair(&config, "x"))
                .await
                .expect("connected within 10 s");
        let ports: Vec<_> = a
            .local_addresses()
            .iter()
            .chain(b.local_addresses())
            .copied()
            .collect();
        assert_eq!(tern::live_connections(), 2, "round {round}");
        drop((a, b, ch, theirs));
        // The drivers notice within a moment and exit.
        let t0 = std::time::Instant::now();
        while tern::live_connections() > 0 && t0.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            tern::live_connections(),
            0,
            "round {round}: drivers still running"
        );
        for p in ports {
            std::net::UdpSocket::bind(p).expect("the socket was closed and its port is free");
        }
    }
}
