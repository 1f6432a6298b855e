//! ICE server URLs in the configuration: STUN and TURN over UDP are
//! resolved and used; what is not supported is refused with a reason.

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
async fn stun_and_turn_urls_resolve_and_the_rest_is_refused_clearly() {
    PeerConnection::new(with(&[
        "stun:127.0.0.1",
        "stun:127.0.0.1:3479?transport=udp",
    ]))
    .await
    .expect("stun: URLs, with and without a port");
    match PeerConnection::new(with(&["turn:127.0.0.1:3478"])).await {
        Err(Error::IceServer(why)) => assert!(why.contains("username and credential"), "{why}"),
        other => panic!("expected an ICE server error, got {other:?}"),
    }
    let turn = RtcConfiguration {
        ice_servers: vec![IceServer {
            urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
            username: Some("u".into()),
            credential: Some("p".into()),
        }],
        ..common::loopback()
    };
    PeerConnection::new(turn)
        .await
        .expect("a turn: URL with credentials");
    for bad in ["turns:127.0.0.1:5349", "turn:127.0.0.1:3478?transport=tcp"] {
        match PeerConnection::new(with(&[bad])).await {
            Err(Error::IceServer(why)) => assert!(why.contains(bad), "{why}"),
            other => panic!("expected an ICE server error for {bad}, got {other:?}"),
        }
    }
    match PeerConnection::new(with(&["stun:no-such-host.invalid"])).await {
        Err(Error::IceServer(why)) => assert!(why.contains("no-such-host.invalid"), "{why}"),
        other => panic!("expected a lookup error, got {other:?}"),
    }
}
