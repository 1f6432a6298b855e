//! Dropping every handle stops the connection's driver and frees its
//! sockets (alone in its binary: the live-connection count is per process).
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tern::{DataChannelInit, PeerConnection, PeerConnectionEvent, RtcConfiguration};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handles_frees_everything() {
    let config = RtcConfiguration {
        bind_addresses: Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..RtcConfiguration::default()
    };
    for round in 0..3 {
        let a = PeerConnection::new(config.clone()).await.unwrap();
        let mut b = PeerConnection::new(config.clone()).await.unwrap();
        let ch = a
            .create_data_channel("x", DataChannelInit::default())
            .await
            .unwrap();
        a.set_local_description(a.create_offer().await.unwrap())
            .await
            .unwrap();
        a.gathering_complete().await.unwrap();
        b.set_remote_description(a.local_description().await.unwrap().unwrap())
            .await
            .unwrap();
        b.set_local_description(b.create_answer().await.unwrap())
            .await
            .unwrap();
        b.gathering_complete().await.unwrap();
        a.set_remote_description(b.local_description().await.unwrap().unwrap())
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), ch.wait_open())
            .await
            .unwrap()
            .unwrap();
        let theirs = loop {
            if let Some(PeerConnectionEvent::DataChannel(c)) = b.next_event().await {
                break c;
            }
        };
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
