//! A scripted TURN server for driving `TurnClient` in tests: it answers with
//! hand-built tern-stun messages, signed with the long-term key, and checks
//! what the client sends.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tern_crypto::SeededRandom;
use tern_stun::{
    attr_type, method, Attribute, Class, Integrity, IntegrityKey, Message, MessageBuilder,
    MessageType, Method,
};
use tern_turn::channel_data::ChannelData;
use tern_turn::{TurnClient, TurnClientConfig, TurnEvent, TurnTransport};

pub const REALM: &str = "example.org";
pub const USER: &str = "alice";
pub const PASS: &str = "secret";

pub fn server() -> SocketAddr {
    "192.0.2.1:3478".parse().unwrap()
}
pub fn relayed() -> SocketAddr {
    "198.51.100.7:49152".parse().unwrap()
}
pub fn relayed6() -> SocketAddr {
    "[2001:db8::7]:49153".parse().unwrap()
}
pub fn mapped() -> SocketAddr {
    "203.0.113.5:40000".parse().unwrap()
}
pub fn peer() -> SocketAddr {
    "203.0.113.99:6000".parse().unwrap()
}

pub fn config(transport: TurnTransport) -> TurnClientConfig {
    let mut c = TurnClientConfig::new(server(), USER, PASS);
    c.transport = transport;
    c.software = Some("tern-test".into());
    c
}

pub fn client(config: TurnClientConfig) -> TurnClient {
    TurnClient::new(config, Box::new(SeededRandom::new(7)))
}

pub fn md5_key() -> IntegrityKey {
    IntegrityKey::long_term_md5(USER, REALM, PASS)
}

pub fn parse(b: &[u8]) -> Message<'_> {
    Message::parse(b).expect("client sent unparsable STUN")
}

/// A response to `req` with `attrs`, signed with `key` (SHA-256 if `sha256`)
/// and fingerprinted.
pub fn respond(
    req: &Message<'_>,
    class: Class,
    attrs: &[Attribute<'_>],
    key: Option<&IntegrityKey>,
    sha256: bool,
) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(class, req.method()),
        req.transaction_id(),
    );
    for a in attrs {
        b.add(a).unwrap();
    }
    if let Some(k) = key {
        if sha256 {
            b.add_message_integrity_sha256(k).unwrap();
        } else {
            b.add_message_integrity(k).unwrap();
        }
    }
    b.add_fingerprint().unwrap();
    buf
}

pub fn error(req: &Message<'_>, code: u16, key: Option<&IntegrityKey>) -> Vec<u8> {
    respond(
        req,
        Class::ErrorResponse,
        &[Attribute::ErrorCode {
            code,
            reason: tern_stun::error_code::reason(code),
        }],
        key,
        false,
    )
}

pub fn challenge(req: &Message<'_>, code: u16, nonce: &str) -> Vec<u8> {
    respond(
        req,
        Class::ErrorResponse,
        &[
            Attribute::ErrorCode {
                code,
                reason: tern_stun::error_code::reason(code),
            },
            Attribute::Realm(REALM),
            Attribute::Nonce(nonce),
        ],
        None,
        false,
    )
}

pub fn drain_events(c: &mut TurnClient) -> Vec<TurnEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

pub fn drain_transmits(c: &mut TurnClient) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| c.poll_transmit())
        .map(|t| {
            assert_eq!(t.to, server());
            t.bytes
        })
        .collect()
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub method: Method,
    pub lifetime: Option<u32>,
    pub peer: Option<SocketAddr>,
}

/// A server that authenticates every request strictly and grants it.
pub struct FakeServer {
    pub nonce: String,
    pub key: IntegrityKey,
    pub sha256: bool,
    pub lifetime: u32,
    pub relayed: Vec<SocketAddr>,
    pub seen: Vec<Seen>,
    pub received: Vec<(SocketAddr, Vec<u8>)>,
    pub channels: HashMap<u16, SocketAddr>,
    pub permissions: Vec<IpAddr>,
}

impl Default for FakeServer {
    fn default() -> Self {
        FakeServer {
            nonce: "nonce-1".into(),
            key: md5_key(),
            sha256: false,
            lifetime: 600,
            relayed: vec![relayed()],
            seen: Vec::new(),
            received: Vec::new(),
            channels: HashMap::new(),
            permissions: Vec::new(),
        }
    }
}

impl FakeServer {
    /// The answer to one message from the client, if any.
    pub fn answer(&mut self, now: Instant, bytes: &[u8]) -> Option<Vec<u8>> {
        if bytes[0] >> 6 == 1 {
            let cd = ChannelData::new_checked(bytes).expect("client sent bad ChannelData");
            let peer = self.channels[&cd.channel().get()];
            self.received.push((peer, cd.data().to_vec()));
            return None;
        }
        let m = parse(bytes);
        if m.class() == Class::Indication {
            assert_eq!(m.method(), method::SEND);
            let Some(Ok(Attribute::XorPeerAddress(p))) = m.get(attr_type::XOR_PEER_ADDRESS) else {
                panic!("Send indication without XOR-PEER-ADDRESS");
            };
            assert!(self.permissions.contains(&p.ip()), "Send before permission");
            self.received
                .push((p, m.raw(attr_type::DATA).unwrap().to_vec()));
            return None;
        }
        assert_eq!(m.class(), Class::Request);
        m.verify_fingerprint()
            .expect("requests carry a valid FINGERPRINT");
        if m.integrity().is_none() {
            assert!(
                m.username().is_none(),
                "first request carries no credentials"
            );
            return Some(challenge(&m, 401, &self.nonce.clone()));
        }
        assert_eq!(m.username(), Some(USER));
        assert_eq!(
            m.get(attr_type::REALM).unwrap().unwrap(),
            Attribute::Realm(REALM)
        );
        let want = if self.sha256 {
            Integrity::Sha256
        } else {
            Integrity::Sha1
        };
        assert_eq!(m.verify_integrity(&self.key), Ok(want));
        if m.get(attr_type::NONCE).unwrap().unwrap() != Attribute::Nonce(&self.nonce) {
            return Some(challenge(&m, 438, &self.nonce.clone()));
        }
        let lifetime = match m.get(attr_type::LIFETIME) {
            Some(Ok(Attribute::Lifetime(l))) => Some(l),
            _ => None,
        };
        let peer = match m.get(attr_type::XOR_PEER_ADDRESS) {
            Some(Ok(Attribute::XorPeerAddress(p))) => Some(p),
            _ => None,
        };
        self.seen.push(Seen {
            at: now,
            method: m.method(),
            lifetime,
            peer,
        });
        let key = self.key.clone();
        let ok = |attrs: &[Attribute<'_>]| {
            respond(&m, Class::SuccessResponse, attrs, Some(&key), self.sha256)
        };
        Some(match m.method() {
            method::ALLOCATE => {
                assert_eq!(
                    m.get(attr_type::REQUESTED_TRANSPORT).unwrap().unwrap(),
                    Attribute::RequestedTransport(17)
                );
                let mut attrs: Vec<Attribute<'_>> = self
                    .relayed
                    .iter()
                    .map(|r| Attribute::XorRelayedAddress(*r))
                    .collect();
                attrs.push(Attribute::XorMappedAddress(mapped()));
                attrs.push(Attribute::Lifetime(self.lifetime));
                ok(&attrs)
            }
            method::REFRESH => {
                let l = lifetime.unwrap_or(600).min(self.lifetime);
                ok(&[Attribute::Lifetime(l)])
            }
            method::CREATE_PERMISSION => {
                let ip = peer.unwrap().ip();
                if !self.permissions.contains(&ip) {
                    self.permissions.push(ip);
                }
                ok(&[])
            }
            method::CHANNEL_BIND => {
                let Some(Ok(Attribute::ChannelNumber(n))) = m.get(attr_type::CHANNEL_NUMBER) else {
                    panic!("ChannelBind without CHANNEL-NUMBER");
                };
                let p = peer.unwrap();
                if let Some(old) = self.channels.insert(n, p) {
                    assert_eq!(old, p, "channel {n:#x} rebound to another peer");
                }
                if !self.permissions.contains(&p.ip()) {
                    self.permissions.push(p.ip());
                }
                ok(&[])
            }
            other => panic!("unexpected request {other:?}"),
        })
    }
}

/// Delivers everything the client queued to `s`, and its answers back,
/// until the client is quiet. Returns how many messages the client sent.
pub fn pump(c: &mut TurnClient, s: &mut FakeServer, now: Instant) -> usize {
    let mut n = 0;
    while let Some(t) = c.poll_transmit() {
        n += 1;
        assert_eq!(t.to, server());
        if let Some(r) = s.answer(now, &t.bytes) {
            if c.config().transport.is_stream() {
                c.handle_stream_bytes(now, &r).unwrap();
            } else {
                assert!(c.handle_receive(now, server(), &r));
            }
        }
    }
    n
}

/// A client allocated against a fresh FakeServer at `t0`.
pub fn allocated(config: TurnClientConfig, t0: Instant) -> (TurnClient, FakeServer) {
    let mut c = client(config);
    let mut s = FakeServer::default();
    c.allocate(t0).unwrap();
    pump(&mut c, &mut s, t0);
    let ev = drain_events(&mut c);
    assert!(
        matches!(ev.as_slice(), [TurnEvent::Allocated { .. }]),
        "{ev:?}"
    );
    (c, s)
}

/// Advances virtual time to each deadline until `until`, answering through `s`.
pub fn run_until(c: &mut TurnClient, s: &mut FakeServer, until: Instant) -> Instant {
    let mut now = until;
    while let Some(t) = c.poll_timeout() {
        if t > until {
            break;
        }
        now = t;
        c.handle_timeout(now);
        pump(c, s, now);
    }
    now
}
