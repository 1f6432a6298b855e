//! Fuzz the TURN server core: arbitrary datagrams as client input (UDP and
//! TCP frames) and as peer input on a live allocation, with time moving on.
//! Nothing may panic, and once everything expires no relay port is held.
#![no_main]
#![allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_crypto::SeededRandom;
use tern_stun::{method, attr_type, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType, TransactionId};
use tern_turn::server::{ClientTransport, Destination, Event, ServerConfig, TurnServer};
use tern_turn::StaticUsers;

const LISTEN: &str = "192.0.2.1:3478";
const CLIENT: &str = "192.0.2.100:40000";
const PEER: &str = "198.51.100.7:9000";

fn request(buf: &mut Vec<u8>, m: tern_stun::Method, tid: u8, attrs: &[Attribute<'_>], nonce: Option<&str>) {
    let mut b = MessageBuilder::new(buf, MessageType::new(Class::Request, m), TransactionId([tid; 12]));
    for a in attrs {
        let _ = b.add(a);
    }
    if let Some(n) = nonce {
        let _ = b.add(&Attribute::Username("fuzz"));
        let _ = b.add(&Attribute::Realm("fuzz.test"));
        let _ = b.add(&Attribute::Nonce(n));
        let _ = b.add_message_integrity(&IntegrityKey::long_term_md5("fuzz", "fuzz.test", "pw"));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut cfg = ServerConfig::new("fuzz.test", [1; 32]);
    cfg.relay_ipv4 = Some("203.0.113.1".parse().unwrap());
    cfg.relay_ipv6 = Some("2001:db8::1".parse().unwrap());
    cfg.port_range = 50000..=50015;
    for c in ["198.51.100.0/24", "2001:db8::/32"] {
        cfg.policy.allow(c.parse().unwrap());
    }
    let mut users = StaticUsers::new("fuzz.test");
    users.add_user("fuzz", "pw");
    let mut s = TurnServer::new(cfg, Box::new(users), Box::new(SeededRandom::new(1)), now, 1_800_000_000);
    let (listen, client, peer): (SocketAddr, SocketAddr, SocketAddr) =
        (LISTEN.parse().unwrap(), CLIENT.parse().unwrap(), PEER.parse().unwrap());

    // A live allocation with a permission and a channel, so peer input and
    // ChannelData reach the relay paths.
    let mut buf = Vec::new();
    request(&mut buf, method::ALLOCATE, 1, &[Attribute::RequestedTransport(17)], None);
    s.handle_client(now, ClientTransport::Udp, client, listen, &buf);
    let mut nonce = String::new();
    while let Some(t) = s.poll_transmit() {
        if let Ok(m) = Message::parse(&t.contents) {
            if let Some(Ok(Attribute::Nonce(n))) = m.get(attr_type::NONCE) {
                nonce = n.to_owned();
            }
        }
    }
    request(&mut buf, method::ALLOCATE, 2, &[Attribute::RequestedTransport(17)], Some(&nonce));
    s.handle_client(now, ClientTransport::Udp, client, listen, &buf);
    request(&mut buf, method::CHANNEL_BIND, 3, &[Attribute::ChannelNumber(0x4000), Attribute::XorPeerAddress(peer)], Some(&nonce));
    s.handle_client(now, ClientTransport::Udp, client, listen, &buf);
    let mut relays = Vec::new();
    while let Some(e) = s.poll_event() {
        if let Event::OpenRelay { relay, .. } = e {
            relays.push(relay);
        }
    }
    while s.poll_transmit().is_some() {}

    // Then the fuzz input: [kind, len, bytes...] records.
    let mut rest = data;
    while let [kind, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        match kind % 5 {
            0 => s.handle_client(now, ClientTransport::Udp, client, listen, chunk),
            1 => s.handle_client(now, ClientTransport::Tcp, client, listen, chunk),
            2 => {
                let relay = relays.first().copied().unwrap_or(listen);
                s.handle_peer(now, relay, peer, chunk)
            }
            3 => {
                let other: SocketAddr = SocketAddr::new(client.ip(), u16::from(*len));
                s.handle_client(now, ClientTransport::Udp, other, listen, chunk)
            }
            _ => {
                now += Duration::from_secs(u64::from(*len) * 4);
                s.handle_timeout(now);
            }
        }
        while let Some(t) = s.poll_transmit() {
            if let Destination::Peer { peer: p, .. } = t.destination {
                assert_eq!(p, peer, "relayed to a peer nobody permitted");
            }
            s.recycle(t.contents);
        }
        while let Some(e) = s.poll_event() {
            if let Event::OpenRelay { relay, .. } = e {
                relays.push(relay);
            }
        }
    }
    for _ in 0..3 {
        now += Duration::from_secs(3601);
        while let Some(t) = s.poll_timeout() {
            if t > now {
                break;
            }
            s.handle_timeout(now);
        }
    }
    assert_eq!(s.ports_in_use(), 0, "a relay port leaked");
    assert_eq!(s.allocation_count(), 0);
});
