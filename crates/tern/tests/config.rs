//! ICE server URLs in the configuration: STUN is resolved and used, TURN is
//! refused with a reason until it is supported.

use tern::{Error, IceServer, PeerConnection, RtcConfiguration};

mod common;

fn with(urls: &[&str]) -> RtcConfiguration {
    RtcConfiguration {
        ice_servers: vec![IceServer {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            ..IceServer::default()
        }],
        ..common::loopback()
    }
}

#[tokio::test]
async fn stun_urls_resolve_and_turn_is_refused_clearly() {
    PeerConnection::new(with(&[
        "stun:127.0.0.1",
        "stun:127.0.0.1:3479?transport=udp",
    ]))
    .await
    .expect("stun: URLs, with and without a port");
    match PeerConnection::new(with(&["turn:127.0.0.1:3478"])).await {
        Err(Error::IceServer(why)) => assert!(why.contains("only stun:"), "{why}"),
        other => panic!("expected an ICE server error, got {other:?}"),
    }
    match PeerConnection::new(with(&["stun:no-such-host.invalid"])).await {
        Err(Error::IceServer(why)) => assert!(why.contains("no-such-host.invalid"), "{why}"),
        other => panic!("expected a lookup error, got {other:?}"),
    }
}
