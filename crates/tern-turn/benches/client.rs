//! TURN client hot paths: ChannelData out (queued and into a caller buffer),
//! ChannelData in (zero-copy), and a whole allocation handshake against a
//! scripted server (what `tern bench turn` repeats by the thousand).
#![allow(missing_docs)]
// criterion_group! generates undocumented functions
// Virtual time needs an origin; only differences between instants matter.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tern_crypto::SeededRandom;
use tern_stun::{Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType};
use tern_turn::channel_data::{write_channel_data, ChannelNumber};
use tern_turn::{Received, TurnClient, TurnClientConfig};

const REALM: &str = "bench.example";

fn respond(
    req: &[u8],
    class: Class,
    attrs: &[Attribute<'_>],
    key: Option<&IntegrityKey>,
) -> Vec<u8> {
    let m = Message::parse(req).unwrap();
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(class, m.method()),
        m.transaction_id(),
    );
    for a in attrs {
        b.add(a).unwrap();
    }
    if let Some(k) = key {
        b.add_message_integrity(k).unwrap();
    }
    buf
}

fn allocate(server: SocketAddr, key: &IntegrityKey, now: Instant, seed: u64) -> TurnClient {
    let mut c = TurnClient::new(
        TurnClientConfig::new(server, "u", "p"),
        Box::new(SeededRandom::new(seed)),
    );
    c.allocate(now).unwrap();
    let t = c.poll_transmit().unwrap();
    let r = respond(
        &t.bytes,
        Class::ErrorResponse,
        &[
            Attribute::ErrorCode {
                code: 401,
                reason: "Unauthenticated",
            },
            Attribute::Realm(REALM),
            Attribute::Nonce("nonce"),
        ],
        None,
    );
    c.handle_receive(now, server, &r);
    let t = c.poll_transmit().unwrap();
    let r = respond(
        &t.bytes,
        Class::SuccessResponse,
        &[
            Attribute::XorRelayedAddress("198.51.100.1:5000".parse().unwrap()),
            Attribute::XorMappedAddress("203.0.113.1:4000".parse().unwrap()),
            Attribute::Lifetime(600),
        ],
        Some(key),
    );
    c.handle_receive(now, server, &r);
    assert!(c.is_allocated());
    c
}

fn bench(cr: &mut Criterion) {
    let now = Instant::now();
    let server: SocketAddr = "192.0.2.1:3478".parse().unwrap();
    let peer: SocketAddr = "203.0.113.9:9".parse().unwrap();
    let key = IntegrityKey::long_term_md5("u", REALM, "p");
    let mut c = allocate(server, &key, now, 1);
    c.bind_channel(now, peer).unwrap();
    while let Some(t) = c.poll_transmit() {
        let r = respond(&t.bytes, Class::SuccessResponse, &[], Some(&key));
        c.handle_receive(now, server, &r);
    }
    assert!(c.channel_for(peer).is_some());
    let payload = [0x5au8; 1200];
    let mut out = vec![0u8; 1500];

    cr.bench_function("turn_client/send_to_into channel 1200B", |b| {
        b.iter(|| {
            c.send_to_into(now, peer, black_box(&payload), &mut out)
                .unwrap()
        })
    });
    cr.bench_function("turn_client/send_to channel 1200B (+poll_transmit)", |b| {
        b.iter(|| {
            c.send_to(now, peer, black_box(&payload)).unwrap();
            c.poll_transmit().unwrap()
        })
    });
    let mut cd = vec![0u8; 1500];
    let n = write_channel_data(
        &mut cd,
        ChannelNumber::new(0x4000).unwrap(),
        &payload,
        false,
    )
    .unwrap();
    cd.truncate(n);
    cr.bench_function("turn_client/handle_datagram channel 1200B", |b| {
        b.iter(|| match c.handle_datagram(now, server, black_box(&cd)) {
            Received::Data { data, .. } => data.len(),
            _ => 0,
        })
    });
    let mut seed = 0;
    cr.bench_function(
        "turn_client/allocate handshake (401 + signed success)",
        |b| {
            b.iter(|| {
                seed += 1;
                allocate(server, &key, now, seed)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
