//! Shared by the tests and the loopback benchmark: two peers on 127.0.0.1
//! connected by offer/answer with complete gathering (no trickle).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use tern::{DataChannel, DataChannelInit, PeerConnection, PeerConnectionEvent, RtcConfiguration};

/// Loopback only.
pub fn loopback() -> RtcConfiguration {
    RtcConfiguration {
        bind_addresses: Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..RtcConfiguration::default()
    }
}

/// Negotiates `a` (which made `ours`) with `b`; returns `b`'s side of the
/// channel once `ours` is open.
pub async fn negotiate(
    a: &PeerConnection,
    b: &mut PeerConnection,
    ours: &DataChannel,
) -> DataChannel {
    offer_answer(a, b).await;
    let theirs = loop {
        if let Some(PeerConnectionEvent::DataChannel(c)) = b.next_event().await {
            break c;
        }
    };
    ours.wait_open().await.unwrap();
    theirs
}

/// Offer from `a`, answer from `b`, each with every candidate inside.
pub async fn offer_answer(a: &PeerConnection, b: &PeerConnection) {
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
}

/// A new connected pair with one open channel `label`.
pub async fn pair(
    cfg: &RtcConfiguration,
    label: &str,
) -> (PeerConnection, PeerConnection, DataChannel, DataChannel) {
    let a = PeerConnection::new(cfg.clone()).await.unwrap();
    let mut b = PeerConnection::new(cfg.clone()).await.unwrap();
    let ours = a
        .create_data_channel(label, DataChannelInit::default())
        .await
        .unwrap();
    let theirs = negotiate(&a, &mut b, &ours).await;
    (a, b, ours, theirs)
}
