//! A scripted TURN client against the server core, in virtual time.
#![allow(clippy::disallowed_methods)] // Instant::now() only as the origin of virtual time

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tern_crypto::SeededRandom;
use tern_stun::{
    attr_type, method, AddressFamily, Attribute, Class, IntegrityKey, Message, MessageBuilder,
    MessageType, Method, TransactionId,
};

use super::*;
use crate::auth::{RestSecret, StaticUsers};
use crate::channel_data::{write_channel_data, ChannelData, ChannelNumber};

mod allocation;
mod auth;
mod limits;
mod policy;
mod robustness;
mod tcp;

const REALM: &str = "tern.test";
const LISTEN: &str = "192.0.2.1:3478";
const RELAY4: &str = "203.0.113.1";
const RELAY6: &str = "2001:db8::1";
const UNIX0: u64 = 1_800_000_000;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn test_config() -> ServerConfig {
    let mut cfg = ServerConfig::new(REALM, [7; 32]);
    cfg.relay_ipv4 = Some(RELAY4.parse().unwrap());
    cfg.relay_ipv6 = Some(RELAY6.parse().unwrap());
    cfg.port_range = 50000..=50099;
    for c in [
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
    ] {
        cfg.policy.allow(c.parse().unwrap());
    }
    cfg.policy.add_listener(sa(LISTEN));
    cfg
}

fn users() -> StaticUsers {
    let mut u = StaticUsers::new(REALM);
    u.add_user("alice", "alice-pass")
        .add_user("bob", "bob-pass");
    u
}

struct H {
    s: TurnServer,
    now: Instant,
    tid: u64,
}

#[derive(Clone)]
struct Client {
    transport: ClientTransport,
    addr: SocketAddr,
    user: String,
    pass: String,
    nonce: Option<String>,
}

fn client(addr: &str, user: &str, pass: &str) -> Client {
    Client {
        transport: ClientTransport::Udp,
        addr: sa(addr),
        user: user.into(),
        pass: pass.into(),
        nonce: None,
    }
}

/// A decoded response: class, error code, and its attributes kept as bytes.
struct Resp {
    bytes: Vec<u8>,
}

impl Resp {
    fn msg(&self) -> Message<'_> {
        Message::parse(&self.bytes).unwrap()
    }
    fn class(&self) -> Class {
        self.msg().class()
    }
    fn code(&self) -> Option<u16> {
        self.msg().error_code().map(|(c, _)| c)
    }
    fn relayed(&self) -> Vec<SocketAddr> {
        let m = self.msg();
        m.attributes()
            .filter(|a| a.attr_type == attr_type::XOR_RELAYED_ADDRESS)
            .map(
                |a| match Attribute::decode(a.attr_type, a.value, &m.transaction_id()) {
                    Ok(Attribute::XorRelayedAddress(r)) => r,
                    other => panic!("{other:?}"),
                },
            )
            .collect()
    }
    fn lifetime(&self) -> Option<u32> {
        match self.msg().get(attr_type::LIFETIME)? {
            Ok(Attribute::Lifetime(l)) => Some(l),
            _ => None,
        }
    }
}

impl H {
    fn new() -> Self {
        Self::with(test_config(), Box::new(users()))
    }

    fn with(cfg: ServerConfig, creds: Box<dyn CredentialStore + Send>) -> Self {
        let now = Instant::now();
        H {
            s: TurnServer::new(cfg, creds, Box::new(SeededRandom::new(9)), now, UNIX0),
            now,
            tid: 1,
        }
    }

    fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        // Step through every deadline, as a driver would.
        while let Some(t) = self.s.poll_timeout() {
            if t > self.now {
                break;
            }
            self.s
                .handle_timeout(t.max(self.now - Duration::from_secs(secs)));
            self.s.handle_timeout(self.now);
        }
        self.s.handle_timeout(self.now);
    }

    fn next_tid(&mut self) -> TransactionId {
        self.tid += 1;
        let mut t = [0u8; 12];
        t[..8].copy_from_slice(&self.tid.to_be_bytes());
        TransactionId(t)
    }

    fn feed(&mut self, c: &Client, bytes: &[u8]) -> Vec<Transmit> {
        self.s
            .handle_client(self.now, c.transport, c.addr, sa(LISTEN), bytes);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.s.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    fn build(
        &mut self,
        c: &Client,
        m: Method,
        class: Class,
        attrs: &[Attribute<'_>],
        sign: bool,
        tid: TransactionId,
    ) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut b = MessageBuilder::new(&mut buf, MessageType::new(class, m), tid);
        for a in attrs {
            b.add(a).unwrap();
        }
        if sign {
            b.add(&Attribute::Username(&c.user)).unwrap();
            b.add(&Attribute::Realm(REALM)).unwrap();
            b.add(&Attribute::Nonce(c.nonce.as_deref().unwrap_or("none")))
                .unwrap();
            b.add_message_integrity(&IntegrityKey::long_term_md5(&c.user, REALM, &c.pass))
                .unwrap();
        }
        b.add_fingerprint().unwrap();
        buf
    }

    /// Sends a request, doing the 401/438 round trip if needed.
    fn request(&mut self, c: &mut Client, m: Method, attrs: &[Attribute<'_>]) -> Resp {
        let tid = self.next_tid();
        self.request_tid(c, m, attrs, tid)
    }

    fn request_tid(
        &mut self,
        c: &mut Client,
        m: Method,
        attrs: &[Attribute<'_>],
        tid: TransactionId,
    ) -> Resp {
        for _ in 0..3 {
            let sign = c.nonce.is_some();
            let req = self.build(c, m, Class::Request, attrs, sign, tid);
            let out = self.feed(c, &req);
            let [t] = &out[..] else {
                panic!("expected one answer, got {}", out.len())
            };
            assert_eq!(
                t.destination,
                Destination::Client(FiveTuple {
                    transport: c.transport,
                    client: c.addr,
                    server: sa(LISTEN)
                })
            );
            let r = Resp {
                bytes: t.contents.clone(),
            };
            match r.code() {
                Some(401 | 438) if r.msg().get(attr_type::NONCE).is_some() => {
                    let Some(Ok(Attribute::Nonce(n))) = r.msg().get(attr_type::NONCE) else {
                        unreachable!()
                    };
                    let fresh = Some(n.to_owned());
                    if sign && r.code() == Some(401) {
                        return r; // credentials refused
                    }
                    c.nonce = fresh;
                }
                _ => {
                    if r.class() == Class::SuccessResponse || sign {
                        // Responses to signed requests are signed.
                        let key = IntegrityKey::long_term_md5(&c.user, REALM, &c.pass);
                        assert!(
                            r.msg().verify_integrity(&key).is_ok()
                                || r.class() == Class::ErrorResponse && !sign
                        );
                    }
                    return r;
                }
            }
        }
        panic!("no answer after three tries");
    }

    fn allocate(&mut self, c: &mut Client, extra: &[Attribute<'_>]) -> Resp {
        let mut attrs = vec![Attribute::RequestedTransport(17)];
        attrs.extend_from_slice(extra);
        self.request(c, method::ALLOCATE, &attrs)
    }

    fn permit(&mut self, c: &mut Client, peer: SocketAddr) -> Resp {
        self.request(
            c,
            method::CREATE_PERMISSION,
            &[Attribute::XorPeerAddress(peer)],
        )
    }

    fn bind(&mut self, c: &mut Client, ch: u16, peer: SocketAddr) -> Resp {
        self.request(
            c,
            method::CHANNEL_BIND,
            &[
                Attribute::ChannelNumber(ch),
                Attribute::XorPeerAddress(peer),
            ],
        )
    }

    fn send_ind(&mut self, c: &Client, peer: SocketAddr, data: &[u8]) -> Vec<Transmit> {
        let tid = self.next_tid();
        let b = self.build(
            c,
            method::SEND,
            Class::Indication,
            &[Attribute::XorPeerAddress(peer), Attribute::Data(data)],
            false,
            tid,
        );
        self.feed(c, &b)
    }

    fn peer_sends(&mut self, relay: SocketAddr, peer: SocketAddr, data: &[u8]) -> Vec<Transmit> {
        self.s.handle_peer(self.now, relay, peer, data);
        self.drain()
    }
}

fn alice() -> Client {
    client("192.0.2.100:40000", "alice", "alice-pass")
}

fn dual_alice(h: &mut H) -> (Client, SocketAddr, SocketAddr) {
    let mut c = alice();
    let r = h.allocate(
        &mut c,
        &[Attribute::AdditionalAddressFamily(AddressFamily::V6)],
    );
    assert_eq!(r.class(), Class::SuccessResponse);
    let rel = r.relayed();
    assert_eq!(rel.len(), 2);
    (c, rel[0], rel[1])
}

// ---- RFC 6062 ----

fn tcp_alice() -> Client {
    let mut c = alice();
    c.transport = ClientTransport::Tcp;
    c
}

fn tcp_allocation(h: &mut H) -> (Client, SocketAddr) {
    let mut c = tcp_alice();
    let r = h.allocate_tcp(&mut c);
    assert_eq!(r.class(), Class::SuccessResponse, "{:?}", r.code());
    let relay = r.relayed()[0];
    assert_eq!(
        h.events(),
        vec![Event::OpenRelay {
            relay,
            transport: RelayTransport::Tcp,
            dont_fragment: false
        }]
    );
    (c, relay)
}

impl H {
    fn allocate_tcp(&mut self, c: &mut Client) -> Resp {
        self.request(c, method::ALLOCATE, &[Attribute::RequestedTransport(6)])
    }
    fn connect(&mut self, c: &mut Client, peer: SocketAddr) -> Option<Resp> {
        let tid = self.next_tid();
        let req = self.build(
            c,
            method::CONNECT,
            Class::Request,
            &[Attribute::XorPeerAddress(peer)],
            true,
            tid,
        );
        let out = self.feed(c, &req);
        out.first().map(|t| Resp {
            bytes: t.contents.clone(),
        })
    }
}

fn connection_id(r: &Resp) -> ConnectionId {
    match r.msg().get(attr_type::CONNECTION_ID) {
        Some(Ok(Attribute::ConnectionId(n))) => ConnectionId(n),
        other => panic!("{other:?}"),
    }
}
