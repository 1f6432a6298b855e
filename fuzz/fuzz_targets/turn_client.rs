//! Fuzz the TURN client's receive paths: datagrams (STUN, ChannelData, and
//! responses carrying the id of a pending transaction, so the response
//! handlers are reached) and the TCP stream framer, on allocated clients with
//! a bound channel. Nothing may panic and the stream buffer stays bounded.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_crypto::SeededRandom;
use tern_stun::{Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType};
use tern_turn::{TurnClient, TurnClientConfig, TurnTransport};

const REALM: &str = "fuzz.example";

fn respond(req: &[u8], class: Class, attrs: &[Attribute<'_>], key: Option<&IntegrityKey>) -> Vec<u8> {
    let m = Message::parse(req).expect("the client sends valid STUN");
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(&mut buf, MessageType::new(class, m.method()), m.transaction_id());
    for a in attrs {
        b.add(a).expect("fits");
    }
    if let Some(k) = key {
        b.add_message_integrity(k).expect("fits");
    }
    buf
}

/// A client allocated through a 401 and a signed success, with channel 0x4000 bound.
fn allocated(transport: TurnTransport, server: SocketAddr, now: Instant) -> TurnClient {
    let mut cfg = TurnClientConfig::new(server, "u", "p");
    cfg.transport = transport;
    let key = IntegrityKey::long_term_md5("u", REALM, "p");
    let mut c = TurnClient::new(cfg, Box::new(SeededRandom::new(1)));
    let _ = c.allocate(now);
    let feed = |c: &mut TurnClient, bytes: &[u8]| {
        if transport == TurnTransport::Udp {
            c.handle_receive(now, server, bytes);
        } else {
            let _ = c.handle_stream_bytes(now, bytes);
        }
    };
    if let Some(t) = c.poll_transmit() {
        let r = respond(&t.bytes, Class::ErrorResponse, &[
            Attribute::ErrorCode { code: 401, reason: "Unauthenticated" },
            Attribute::Realm(REALM),
            Attribute::Nonce("n"),
        ], None);
        feed(&mut c, &r);
    }
    if let Some(t) = c.poll_transmit() {
        let r = respond(&t.bytes, Class::SuccessResponse, &[
            Attribute::XorRelayedAddress("198.51.100.1:5000".parse().unwrap()),
            Attribute::XorMappedAddress("203.0.113.1:4000".parse().unwrap()),
            Attribute::Lifetime(600),
        ], Some(&key));
        feed(&mut c, &r);
    }
    let peer: SocketAddr = "203.0.113.9:9".parse().unwrap();
    let _ = c.bind_channel(now, peer);
    while let Some(t) = c.poll_transmit() {
        let r = respond(&t.bytes, Class::SuccessResponse, &[], Some(&key));
        feed(&mut c, &r);
    }
    c
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let server: SocketAddr = "192.0.2.1:3478".parse().unwrap();

    let mut udp = allocated(TurnTransport::Udp, server, now);
    udp.handle_receive(now, server, data);
    // The fuzz bytes as a response to a pending CreatePermission.
    let _ = udp.create_permission(now, "203.0.113.77".parse().unwrap());
    if let (Some(t), true) = (udp.poll_transmit(), data.len() >= 20) {
        let mut forged = data.to_vec();
        forged[0] &= 0x01;
        forged[4..20].copy_from_slice(&t.bytes[4..20]);
        let len = ((forged.len() - 20) & !3) as u16;
        forged.truncate(20 + usize::from(len));
        forged[2..4].copy_from_slice(&len.to_be_bytes());
        udp.handle_receive(now, server, &forged);
    }
    let _ = udp.send_to(now, "203.0.113.9:9".parse().unwrap(), data);
    udp.handle_timeout(now + Duration::from_secs(600));
    while udp.poll_transmit().is_some() {}
    while udp.poll_event().is_some() {}

    let mut tcp = allocated(TurnTransport::Tcp, server, now);
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    for piece in [&data[..cut], &data[cut..]] {
        let _ = tcp.handle_stream_bytes(now, piece);
        assert!(tcp.buffered_stream_bytes() <= 20 + 65_532);
    }
    while tcp.poll_event().is_some() {}
});
