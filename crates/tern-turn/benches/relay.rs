//! The TURN relay hot path through the server core: ChannelData from a
//! client to its peer, and a peer's datagram back to the client as
//! ChannelData, with buffers recycled as a driver would.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tern_crypto::SeededRandom;
use tern_stun::{
    attr_type, method, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType,
    TransactionId,
};
use tern_turn::channel_data::{write_channel_data, ChannelNumber};
use tern_turn::server::{ClientTransport, Event, ServerConfig, TurnServer};
use tern_turn::StaticUsers;

fn request(m: tern_stun::Method, tid: u8, attrs: &[Attribute<'_>], nonce: Option<&str>) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::Request, m),
        TransactionId([tid; 12]),
    );
    for a in attrs {
        b.add(a).unwrap();
    }
    if let Some(n) = nonce {
        b.add(&Attribute::Username("bench")).unwrap();
        b.add(&Attribute::Realm("bench.test")).unwrap();
        b.add(&Attribute::Nonce(n)).unwrap();
        b.add_message_integrity(&IntegrityKey::long_term_md5("bench", "bench.test", "pw"))
            .unwrap();
    }
    buf
}

/// A server with one allocation whose channel 0x4000 is bound to `peer`.
fn setup(now: Instant) -> (TurnServer, SocketAddr, SocketAddr, SocketAddr, SocketAddr) {
    let mut cfg = ServerConfig::new("bench.test", [1; 32]);
    cfg.relay_ipv4 = Some("203.0.113.1".parse().unwrap());
    cfg.policy.allow("198.51.100.0/24".parse().unwrap());
    let mut users = StaticUsers::new("bench.test");
    users.add_user("bench", "pw");
    let mut s = TurnServer::new(
        cfg,
        Box::new(users),
        Box::new(SeededRandom::new(1)),
        now,
        1_800_000_000,
    );
    let listen: SocketAddr = "192.0.2.1:3478".parse().unwrap();
    let client: SocketAddr = "192.0.2.100:40000".parse().unwrap();
    let peer: SocketAddr = "198.51.100.7:9000".parse().unwrap();
    let udp = ClientTransport::Udp;
    s.handle_client(
        now,
        udp,
        client,
        listen,
        &request(
            method::ALLOCATE,
            1,
            &[Attribute::RequestedTransport(17)],
            None,
        ),
    );
    let challenge = s.poll_transmit().unwrap();
    let m = Message::parse(&challenge.contents).unwrap();
    let Some(Ok(Attribute::Nonce(n))) = m.get(attr_type::NONCE) else {
        panic!("no nonce")
    };
    let nonce = n.to_owned();
    s.handle_client(
        now,
        udp,
        client,
        listen,
        &request(
            method::ALLOCATE,
            2,
            &[Attribute::RequestedTransport(17)],
            Some(&nonce),
        ),
    );
    let bind = [
        Attribute::ChannelNumber(0x4000),
        Attribute::XorPeerAddress(peer),
    ];
    s.handle_client(
        now,
        udp,
        client,
        listen,
        &request(method::CHANNEL_BIND, 3, &bind, Some(&nonce)),
    );
    while s.poll_transmit().is_some() {}
    let Some(Event::OpenRelay { relay, .. }) = s.poll_event() else {
        panic!("no relay")
    };
    (s, listen, client, peer, relay)
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let (mut s, listen, client, peer, relay) = setup(now);
    let payload = [0xabu8; 1000];
    let mut cd = vec![0u8; 1004];
    write_channel_data(
        &mut cd,
        ChannelNumber::new(0x4000).unwrap(),
        &payload,
        false,
    )
    .unwrap();

    let mut g = c.benchmark_group("turn_relay");
    g.throughput(Throughput::Elements(1));
    g.bench_function("channel_data_client_to_peer_1000B", |b| {
        b.iter(|| {
            s.handle_client(now, ClientTransport::Udp, client, listen, black_box(&cd));
            let t = s.poll_transmit().expect("relayed");
            s.recycle(t.contents);
        })
    });
    g.bench_function("peer_to_client_channel_data_1000B", |b| {
        b.iter(|| {
            s.handle_peer(now, relay, peer, black_box(&payload));
            let t = s.poll_transmit().expect("relayed");
            s.recycle(t.contents);
        })
    });
    g.finish();
    assert_eq!(s.stats().bandwidth_dropped, 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
