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

#[test]
fn allocate_permission_channel_and_data_both_ways() {
    let mut h = H::new();
    let mut c = alice();
    let r = h.allocate(&mut c, &[]);
    assert_eq!(r.class(), Class::SuccessResponse, "{:?}", r.code());
    assert_eq!(r.lifetime(), Some(600));
    assert_eq!(r.msg().mapped_address(), Some(c.addr));
    let relay = r.relayed()[0];
    assert_eq!(relay.ip(), RELAY4.parse::<IpAddr>().unwrap());
    assert!((50000..=50099).contains(&relay.port()));
    assert_eq!(
        h.events(),
        vec![Event::OpenRelay {
            relay,
            transport: RelayTransport::Udp,
            dont_fragment: false
        }]
    );
    assert_eq!(h.s.ports_in_use(), 1);

    let peer = sa("198.51.100.7:9000");
    // No permission yet: nothing relayed either way.
    assert!(h.send_ind(&c, peer, b"early").is_empty());
    assert!(h.peer_sends(relay, peer, b"early").is_empty());
    assert_eq!(h.s.stats().no_permission_dropped, 2);

    assert_eq!(h.permit(&mut c, peer).class(), Class::SuccessResponse);
    let out = h.send_ind(&c, peer, b"hello peer");
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].destination,
        Destination::Peer {
            relay,
            peer,
            dont_fragment: false
        }
    );
    assert_eq!(out[0].contents, b"hello peer");

    let out = h.peer_sends(relay, peer, b"hello client");
    let m = Message::parse(&out[0].contents).unwrap();
    assert_eq!(
        m.message_type(),
        MessageType::new(Class::Indication, method::DATA)
    );
    assert_eq!(
        m.get(attr_type::XOR_PEER_ADDRESS),
        Some(Ok(Attribute::XorPeerAddress(peer)))
    );
    assert_eq!(m.raw(attr_type::DATA), Some(&b"hello client"[..]));

    // A second peer IP has no permission.
    assert!(h
        .peer_sends(relay, sa("198.51.100.8:9000"), b"x")
        .is_empty());

    assert_eq!(h.bind(&mut c, 0x4001, peer).class(), Class::SuccessResponse);
    let mut cd = [0u8; 64];
    let n = write_channel_data(
        &mut cd,
        ChannelNumber::new(0x4001).unwrap(),
        b"via channel",
        false,
    )
    .unwrap();
    let out = h.feed(&c, &cd[..n]);
    assert_eq!(out[0].contents, b"via channel");
    assert_eq!(
        out[0].destination,
        Destination::Peer {
            relay,
            peer,
            dont_fragment: false
        }
    );
    let out = h.peer_sends(relay, peer, b"back on channel");
    let v = ChannelData::new_checked(&out[0].contents[..]).unwrap();
    assert_eq!(v.channel().get(), 0x4001);
    assert_eq!(v.data(), b"back on channel");
    // An unbound channel number is dropped.
    let n = write_channel_data(&mut cd, ChannelNumber::new(0x4002).unwrap(), b"x", false).unwrap();
    assert!(h.feed(&c, &cd[..n]).is_empty());

    let r = h.request(&mut c, method::REFRESH, &[Attribute::Lifetime(1200)]);
    assert_eq!(r.lifetime(), Some(1200));
    let st = h.s.stats();
    assert_eq!(
        (st.client_to_peer_packets, st.peer_to_client_packets),
        (2, 2)
    );
    assert_eq!(st.client_to_peer_bytes, 21);
    assert_eq!(
        (
            st.allocations_created,
            st.permissions_created,
            st.channels_bound
        ),
        (1, 1, 1)
    );

    let r = h.request(&mut c, method::REFRESH, &[Attribute::Lifetime(0)]);
    assert_eq!(r.lifetime(), Some(0));
    assert_eq!(
        h.events(),
        vec![Event::CloseRelay {
            relay,
            transport: RelayTransport::Udp
        }]
    );
    assert_eq!(h.s.ports_in_use(), 0);
    assert!(h.peer_sends(relay, peer, b"gone").is_empty());
    // A Refresh after the deletion finds nothing.
    assert_eq!(h.request(&mut c, method::REFRESH, &[]).code(), Some(437));
}

#[test]
fn retransmitted_allocate_gets_the_same_answer_and_another_gets_437() {
    let mut h = H::new();
    let mut c = alice();
    let tid = h.next_tid();
    let first = h.request_tid(
        &mut c,
        method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
        tid,
    );
    assert_eq!(first.class(), Class::SuccessResponse);
    let again = h.request_tid(
        &mut c,
        method::ALLOCATE,
        &[Attribute::RequestedTransport(17)],
        tid,
    );
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(h.s.allocation_count(), 1);
    assert_eq!(h.allocate(&mut c, &[]).code(), Some(437));
}

#[test]
fn permissions_channels_and_allocations_expire_and_ports_come_back() {
    let mut h = H::new();
    let mut c = alice();
    let relay = h.allocate(&mut c, &[Attribute::Lifetime(2000)]).relayed()[0];
    let (p1, p2) = (sa("198.51.100.1:1000"), sa("198.51.100.2:2000"));
    h.permit(&mut c, p1);
    h.bind(&mut c, 0x4000, p2);
    h.advance(299);
    assert_eq!(h.peer_sends(relay, p1, b"a").len(), 1);
    h.advance(2);
    // The permission lapsed at 300 s.
    assert!(h.peer_sends(relay, p1, b"a").is_empty());
    // The channel's permission also lapsed (ChannelBind installed it for 300 s).
    assert!(h.peer_sends(relay, p2, b"a").is_empty());
    // Refreshing the binding refreshes its permission.
    assert_eq!(h.bind(&mut c, 0x4000, p2).class(), Class::SuccessResponse);
    assert!(ChannelData::new_checked(&h.peer_sends(relay, p2, b"b")[0].contents[..]).is_ok());
    h.advance(601);
    // Channel gone: a new permission alone gives Data indications, not ChannelData.
    h.permit(&mut c, p2);
    let out = h.peer_sends(relay, p2, b"c");
    assert!(Message::parse(&out[0].contents).is_ok());
    // The channel number is free again, for any peer.
    assert_eq!(h.bind(&mut c, 0x4000, p1).class(), Class::SuccessResponse);
    assert_eq!(h.s.ports_in_use(), 1);
    h.advance(2000);
    assert_eq!(h.s.allocation_count(), 0);
    assert_eq!(h.s.ports_in_use(), 0);
    assert_eq!(h.s.stats().allocations_expired, 1);
    assert!(h.events().contains(&Event::CloseRelay {
        relay,
        transport: RelayTransport::Udp
    }));
    assert_eq!(h.s.poll_timeout(), None, "every timer drained");
}

#[test]
fn lifetimes_follow_rfc_8656_rules() {
    let mut h = H::new();
    let mut c = alice();
    assert_eq!(
        h.allocate(&mut c, &[Attribute::Lifetime(30)]).lifetime(),
        Some(600)
    );
    let mut b = client("192.0.2.101:1", "bob", "bob-pass");
    assert_eq!(
        h.allocate(&mut b, &[Attribute::Lifetime(99_999)])
            .lifetime(),
        Some(3600)
    );
    assert_eq!(
        h.request(&mut b, method::REFRESH, &[Attribute::Lifetime(99_999)])
            .lifetime(),
        Some(3600)
    );
}

#[test]
fn channel_bind_rules() {
    let mut h = H::new();
    let mut c = alice();
    h.allocate(&mut c, &[]);
    let (p1, p2) = (sa("198.51.100.1:1"), sa("198.51.100.2:2"));
    assert_eq!(h.bind(&mut c, 0x4000, p1).class(), Class::SuccessResponse);
    assert_eq!(h.bind(&mut c, 0x4000, p1).class(), Class::SuccessResponse);
    assert_eq!(
        h.bind(&mut c, 0x4000, p2).code(),
        Some(400),
        "channel rebound to another peer"
    );
    assert_eq!(
        h.bind(&mut c, 0x4001, p1).code(),
        Some(400),
        "peer bound to a second channel"
    );
    assert_eq!(h.bind(&mut c, 0x3fff, p2).code(), Some(400));
    // RFC 5766's range beyond 0x4FFF is accepted (clients such as coturn's
    // turnutils_uclient pick numbers there); 0x7FFF and above are not.
    assert_eq!(h.bind(&mut c, 0x7fff, p2).code(), Some(400));
    assert_eq!(h.bind(&mut c, 0x5000, p2).class(), Class::SuccessResponse);
    assert_eq!(h.s.stats().channels_bound, 2);
    // Another user cannot use alice's allocation (441).
    let mut mallory = c.clone();
    mallory.user = "bob".into();
    mallory.pass = "bob-pass".into();
    assert_eq!(h.bind(&mut mallory, 0x4002, p2).code(), Some(441));
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

/// Every form of a denied address, including coturn's CVEs.
const DENIED: &[&str] = &[
    "0.0.0.0:80",            // CVE-2020-26262
    "[::]:80",               // CVE-2020-26262
    "[::1]:80",              // CVE-2020-26262
    "[::ffff:127.0.0.1]:80", // CVE-2026-27624
    "127.0.0.1:80",
    "127.1.2.3:80",
    "10.0.0.1:80",
    "172.16.5.5:80",
    "192.168.1.1:80",
    "169.254.169.254:80",
    "100.64.0.1:80",
    "224.0.0.1:80",
    "255.255.255.255:80",
    "240.0.0.1:80",
    "[fe80::1]:80",
    "[febf::1]:80", // byte-wise comparison of fe80::/10 would miss this
    "[fc00::1]:80",
    "[fd12:3456::1]:80",
    "[fec0::1]:80",
    "[ff02::1]:80",
    "[2001::1]:80", // Teredo
    "[::ffff:169.254.169.254]:80",
    "[::ffff:10.0.0.1]:80",
    "[::127.0.0.1]:80",
    "[64:ff9b::7f00:1]:80",
    "[64:ff9b::169.254.169.254]:80",
    "[64:ff9b:1::1]:80",
    "[2002:7f00:1::]:80",
    "[2002:a9fe:a9fe::]:80",
    "192.0.2.1:3478", // our listener, although its range is allow-listed
];

/// Two clients of one server reach each other relay to relay (both behind
/// symmetric NATs, both given this server): another allocation's relayed
/// address is a peer like any other, on both families.
#[test]
fn another_allocations_relayed_address_is_a_peer() {
    let mut h = H::new();
    let (mut c, _, _) = dual_alice(&mut h);
    for s in ["203.0.113.1:50010", "[2001:db8::1]:50010"] {
        assert_eq!(
            h.permit(&mut c, sa(s)).class(),
            Class::SuccessResponse,
            "CreatePermission {s}"
        );
    }
    assert_eq!(h.s.stats().denied_peers, 0);
}

#[test]
fn every_denied_form_is_403_on_every_path() {
    let mut h = H::new();
    let (mut c, relay4, _) = dual_alice(&mut h);
    for (i, s) in DENIED.iter().enumerate() {
        let peer = sa(s);
        let before = h.s.stats().denied_peers;
        assert_eq!(
            h.permit(&mut c, peer).code(),
            Some(403),
            "CreatePermission {s}"
        );
        assert_eq!(
            h.bind(&mut c, 0x4000 + i as u16, peer).code(),
            Some(403),
            "ChannelBind {s}"
        );
        assert!(h.send_ind(&c, peer, b"x").is_empty(), "Send {s}");
        assert_eq!(h.s.stats().denied_peers, before + 3, "{s}");
    }
    // Nothing was installed: even a datagram from the peer is dropped.
    assert!(h.peer_sends(relay4, sa("127.0.0.1:80"), b"x").is_empty());
    assert_eq!(h.s.stats().client_to_peer_packets, 0);
    // One denied address in a CreatePermission poisons the whole request.
    let r = h.request(
        &mut c,
        method::CREATE_PERMISSION,
        &[
            Attribute::XorPeerAddress(sa("198.51.100.1:1")),
            Attribute::XorPeerAddress(sa("10.0.0.1:1")),
        ],
    );
    assert_eq!(r.code(), Some(403));
    assert!(h.send_ind(&c, sa("198.51.100.1:1"), b"x").is_empty());
}

#[test]
fn explicit_allow_list_opens_loopback_deliberately() {
    let mut cfg = test_config();
    cfg.policy.allow("127.0.0.1".parse().unwrap());
    let mut h = H::with(cfg, Box::new(users()));
    let mut c = alice();
    let relay = h.allocate(&mut c, &[]).relayed()[0];
    let peer = sa("127.0.0.1:9999");
    assert_eq!(h.permit(&mut c, peer).class(), Class::SuccessResponse);
    assert_eq!(
        h.send_ind(&c, peer, b"hi")[0].destination,
        Destination::Peer {
            relay,
            peer,
            dont_fragment: false
        }
    );
    assert_eq!(h.permit(&mut c, sa("127.0.0.2:9999")).code(), Some(403));
}

#[test]
fn peer_family_must_match_the_allocation() {
    let mut h = H::new();
    let mut c = alice();
    h.allocate(&mut c, &[]);
    assert_eq!(h.permit(&mut c, sa("[2001:db8::99]:1")).code(), Some(443));
    let mut b = client("192.0.2.101:1", "bob", "bob-pass");
    let r = h.allocate(
        &mut b,
        &[Attribute::RequestedAddressFamily(AddressFamily::V6)],
    );
    let rel = r.relayed();
    assert_eq!(rel.len(), 1);
    assert!(rel[0].is_ipv6());
    assert_eq!(h.permit(&mut b, sa("198.51.100.1:1")).code(), Some(443));
    assert_eq!(
        h.permit(&mut b, sa("[2001:db8::99]:1")).class(),
        Class::SuccessResponse
    );
}

#[test]
fn dual_stack_without_ipv6_reports_address_error() {
    let mut cfg = test_config();
    cfg.relay_ipv6 = None;
    let mut h = H::with(cfg, Box::new(users()));
    let mut c = alice();
    let r = h.allocate(
        &mut c,
        &[Attribute::AdditionalAddressFamily(AddressFamily::V6)],
    );
    assert_eq!(r.class(), Class::SuccessResponse);
    assert_eq!(r.relayed().len(), 1);
    assert!(matches!(
        r.msg().get(attr_type::ADDRESS_ERROR_CODE),
        Some(Ok(Attribute::AddressErrorCode {
            family: AddressFamily::V6,
            code: 440,
            ..
        }))
    ));
    let mut b = client("192.0.2.101:1", "bob", "bob-pass");
    assert_eq!(
        h.allocate(
            &mut b,
            &[Attribute::RequestedAddressFamily(AddressFamily::V6)]
        )
        .code(),
        Some(440)
    );
    // Invalid combinations.
    assert_eq!(
        h.allocate(
            &mut b,
            &[Attribute::AdditionalAddressFamily(AddressFamily::V4)]
        )
        .code(),
        Some(400)
    );
    assert_eq!(
        h.allocate(
            &mut b,
            &[
                Attribute::RequestedAddressFamily(AddressFamily::V4),
                Attribute::AdditionalAddressFamily(AddressFamily::V6)
            ]
        )
        .code(),
        Some(400)
    );
    assert_eq!(h.s.ports_in_use(), 1);
}

#[test]
fn even_port_reservation_is_used_or_expires() {
    let mut h = H::new();
    let mut c = alice();
    let r = h.allocate(&mut c, &[Attribute::EvenPort(true)]);
    let port = r.relayed()[0].port();
    assert_eq!(port % 2, 0);
    let Some(Ok(Attribute::ReservationToken(token))) = r.msg().get(attr_type::RESERVATION_TOKEN)
    else {
        panic!("no token")
    };
    assert_eq!(h.s.ports_in_use(), 2);
    let mut b = client("192.0.2.101:1", "bob", "bob-pass");
    let r2 = h.allocate(&mut b, &[Attribute::ReservationToken(token)]);
    assert_eq!(r2.relayed()[0].port(), port + 1);
    assert_eq!(h.s.reservation_count(), 0);
    // A used token is gone.
    let mut d = client("192.0.2.102:1", "bob", "bob-pass");
    assert_eq!(
        h.allocate(&mut d, &[Attribute::ReservationToken(token)])
            .code(),
        Some(508)
    );
    assert_eq!(
        h.allocate(
            &mut d,
            &[
                Attribute::ReservationToken(token),
                Attribute::EvenPort(false)
            ]
        )
        .code(),
        Some(400)
    );
    // An unused reservation returns its port after 30 s.
    let r3 = h.allocate(&mut d, &[Attribute::EvenPort(true)]);
    assert_eq!(r3.class(), Class::SuccessResponse);
    assert_eq!(h.s.ports_in_use(), 4);
    h.advance(31);
    assert_eq!(h.s.reservation_count(), 0);
    assert_eq!(h.s.ports_in_use(), 3);
    h.advance(700);
    assert_eq!(h.s.ports_in_use(), 0);
}

#[test]
fn dont_fragment_reaches_the_driver() {
    let mut h = H::new();
    let mut c = alice();
    let relay = h.allocate(&mut c, &[Attribute::DontFragment]).relayed()[0];
    assert_eq!(
        h.events(),
        vec![Event::OpenRelay {
            relay,
            transport: RelayTransport::Udp,
            dont_fragment: true
        }]
    );
    let peer = sa("198.51.100.1:1");
    h.permit(&mut c, peer);
    let tid = h.next_tid();
    let b = h.build(
        &c,
        method::SEND,
        Class::Indication,
        &[
            Attribute::XorPeerAddress(peer),
            Attribute::Data(b"d"),
            Attribute::DontFragment,
        ],
        false,
        tid,
    );
    assert_eq!(
        h.feed(&c, &b)[0].destination,
        Destination::Peer {
            relay,
            peer,
            dont_fragment: true
        }
    );
}

#[test]
fn authentication_failures() {
    let mut h = H::new();
    let mut c = alice();
    // Wrong password.
    let mut wrong = c.clone();
    wrong.pass = "nope".into();
    let r = h.allocate(&mut wrong, &[]);
    assert_eq!(r.code(), Some(401));
    assert_eq!(h.s.stats().auth_failures, 1);
    // Unknown user.
    let mut ghost = client("192.0.2.100:40001", "ghost", "x");
    assert_eq!(h.allocate(&mut ghost, &[]).code(), Some(401));
    assert_eq!(h.s.stats().auth_failures, 2);
    assert_eq!(h.s.allocation_count(), 0);

    // A nonce minted for another IP is 438 here.
    let mut other = client("192.0.2.200:1", "alice", "alice-pass");
    h.allocate(&mut other, &[]);
    c.nonce = other.nonce.clone();
    let tid = h.next_tid();
    let req = h.build(
        &c,
        method::ALLOCATE,
        Class::Request,
        &[Attribute::RequestedTransport(17)],
        true,
        tid,
    );
    let out = h.feed(&c, &req);
    assert_eq!(
        Resp {
            bytes: out[0].contents.clone()
        }
        .code(),
        Some(438)
    );
    assert_eq!(h.s.stats().stale_nonces, 1);

    // A stale nonce: 438 with a fresh one, which then works.
    let mut d = client("192.0.2.100:40002", "alice", "alice-pass");
    h.allocate(&mut d, &[Attribute::Lifetime(3600)]);
    let relay_peer = sa("198.51.100.1:1");
    h.advance(601);
    let stale = d.nonce.clone();
    let r = h.permit(&mut d, relay_peer);
    assert_eq!(r.class(), Class::SuccessResponse);
    assert_ne!(d.nonce, stale, "the client learned a new nonce from 438");
    assert_eq!(h.s.stats().stale_nonces, 2);

    // MI present but no NONCE: 400.
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::Request, method::ALLOCATE),
        TransactionId([3; 12]),
    );
    b.add(&Attribute::RequestedTransport(17)).unwrap();
    b.add(&Attribute::Username("alice")).unwrap();
    b.add_message_integrity(&IntegrityKey::long_term_md5("alice", REALM, "alice-pass"))
        .unwrap();
    let out = h.feed(&c, &buf);
    assert_eq!(
        Resp {
            bytes: out[0].contents.clone()
        }
        .code(),
        Some(400)
    );
}

#[test]
fn rest_credentials_expire() {
    let rest = RestSecret::new(b"shared");
    let mut h = H::with(test_config(), Box::new(rest.clone()));
    let (user, pass) = rest.mint(UNIX0 + 100, "carol");
    let mut c = client("192.0.2.100:1", &user, &pass);
    assert_eq!(h.allocate(&mut c, &[]).class(), Class::SuccessResponse);
    let (old_user, old_pass) = rest.mint(UNIX0 - 1, "carol");
    let mut old = client("192.0.2.100:2", &old_user, &old_pass);
    assert_eq!(h.allocate(&mut old, &[]).code(), Some(401));
    // Once the wall clock passes the expiry, even refreshes are refused.
    h.advance(101);
    assert_eq!(h.request(&mut c, method::REFRESH, &[]).code(), Some(401));
    h.s.set_wall_clock(h.now, UNIX0);
    assert_eq!(
        h.request(&mut c, method::REFRESH, &[]).class(),
        Class::SuccessResponse
    );
}

#[test]
fn quotas_per_user_and_per_ip_leave_others_working() {
    let mut cfg = test_config();
    cfg.max_allocations_per_user = 2;
    cfg.max_allocations_per_ip = 3;
    cfg.max_allocations = 5;
    let mut h = H::with(cfg, Box::new(users()));
    for port in 1..=2 {
        let mut a = client(&format!("192.0.2.100:{port}"), "alice", "alice-pass");
        assert_eq!(h.allocate(&mut a, &[]).class(), Class::SuccessResponse);
    }
    let mut a3 = client("192.0.2.100:3", "alice", "alice-pass");
    assert_eq!(h.allocate(&mut a3, &[]).code(), Some(486));
    // Bob on the same IP: one more fits the per-IP quota of 3.
    let mut b1 = client("192.0.2.100:4", "bob", "bob-pass");
    assert_eq!(h.allocate(&mut b1, &[]).class(), Class::SuccessResponse);
    let mut b2 = client("192.0.2.100:5", "bob", "bob-pass");
    assert_eq!(h.allocate(&mut b2, &[]).code(), Some(486));
    // Bob elsewhere still works; then the total quota of 5 is reached... after one more.
    let mut b3 = client("192.0.2.101:5", "bob", "bob-pass");
    assert_eq!(h.allocate(&mut b3, &[]).class(), Class::SuccessResponse);
    assert_eq!(h.s.stats().quota_refusals, 2);
    assert_eq!(h.s.ports_in_use(), 4);
    // Deleting one frees the quota.
    let mut a1 = client("192.0.2.100:1", "alice", "alice-pass");
    a1.nonce = a3.nonce.clone();
    assert_eq!(
        h.request(&mut a1, method::REFRESH, &[Attribute::Lifetime(0)])
            .lifetime(),
        Some(0)
    );
    assert_eq!(h.allocate(&mut a3, &[]).class(), Class::SuccessResponse);
}

#[test]
fn port_range_exhaustion_is_508_and_leaks_nothing() {
    let mut cfg = test_config();
    cfg.port_range = 50000..=50001;
    let mut h = H::with(cfg, Box::new(users()));
    for port in 1..=2 {
        let mut a = client(&format!("192.0.2.100:{port}"), "alice", "alice-pass");
        assert_eq!(h.allocate(&mut a, &[]).class(), Class::SuccessResponse);
    }
    let mut b = client("192.0.2.101:1", "bob", "bob-pass");
    assert_eq!(h.allocate(&mut b, &[]).code(), Some(508));
    assert_eq!(
        h.allocate(&mut b, &[Attribute::EvenPort(true)]).code(),
        Some(508)
    );
    assert_eq!(h.s.stats().capacity_refusals, 2);
    h.advance(601);
    assert_eq!(h.s.ports_in_use(), 0);
    assert_eq!(h.allocate(&mut b, &[]).class(), Class::SuccessResponse);
}

#[test]
fn bandwidth_cap_drops_the_excess() {
    let mut cfg = test_config();
    cfg.bandwidth_bytes_per_sec = Some(1000);
    let mut h = H::with(cfg, Box::new(users()));
    let mut c = alice();
    let relay = h.allocate(&mut c, &[]).relayed()[0];
    let peer = sa("198.51.100.1:1");
    h.permit(&mut c, peer);
    let sent: usize = (0..20).map(|_| h.send_ind(&c, peer, &[0; 100]).len()).sum();
    assert_eq!(sent, 10);
    assert_eq!(h.s.stats().bandwidth_dropped, 10);
    assert!(h.peer_sends(relay, peer, &[0; 100]).is_empty());
    h.now += Duration::from_millis(500);
    assert_eq!(h.peer_sends(relay, peer, &[0; 100]).len(), 1);
}

/// Request shapes an attacker might send with a spoofed source.
fn unauthenticated_shapes() -> Vec<Vec<u8>> {
    let tid = TransactionId([5; 12]);
    let mk = |m: Method, class: Class, attrs: &[Attribute<'_>], mi: bool, fp: bool| {
        let mut buf = Vec::new();
        let mut b = MessageBuilder::new(&mut buf, MessageType::new(class, m), tid);
        for a in attrs {
            b.add(a).unwrap();
        }
        if mi {
            b.add_message_integrity(&IntegrityKey::short_term("x"))
                .unwrap();
        }
        if fp {
            b.add_fingerprint().unwrap();
        }
        buf
    };
    let rt = Attribute::RequestedTransport(17);
    let mut v = vec![
        mk(method::ALLOCATE, Class::Request, &[], false, false),
        mk(
            method::ALLOCATE,
            Class::Request,
            std::slice::from_ref(&rt),
            false,
            false,
        ),
        mk(
            method::ALLOCATE,
            Class::Request,
            std::slice::from_ref(&rt),
            false,
            true,
        ),
        mk(
            method::ALLOCATE,
            Class::Request,
            std::slice::from_ref(&rt),
            true,
            true,
        ),
        mk(
            method::ALLOCATE,
            Class::Request,
            &[rt.clone(), Attribute::Username("alice")],
            true,
            false,
        ),
        mk(
            method::ALLOCATE,
            Class::Request,
            &[
                rt.clone(),
                Attribute::Username("alice"),
                Attribute::Realm(REALM),
                Attribute::Nonce("bogus"),
            ],
            true,
            false,
        ),
        mk(method::REFRESH, Class::Request, &[], false, false),
        mk(
            method::CREATE_PERMISSION,
            Class::Request,
            &[Attribute::XorPeerAddress(sa("198.51.100.1:1"))],
            false,
            false,
        ),
        mk(method::CHANNEL_BIND, Class::Request, &[], false, true),
        mk(method::CONNECT, Class::Request, &[], false, false),
        mk(
            method::CONNECTION_BIND,
            Class::Request,
            &[Attribute::ConnectionId(1)],
            false,
            false,
        ),
        mk(Method(0x0ff), Class::Request, &[], false, false),
        mk(method::BINDING, Class::Request, &[], false, false),
        mk(method::BINDING, Class::Request, &[], false, true),
        mk(
            method::SEND,
            Class::Indication,
            &[
                Attribute::XorPeerAddress(sa("198.51.100.1:1")),
                Attribute::Data(b"x"),
            ],
            false,
            false,
        ),
        mk(method::ALLOCATE, Class::SuccessResponse, &[], false, false),
        mk(
            method::ALLOCATE,
            Class::Request,
            &[
                rt.clone(),
                Attribute::Unknown {
                    attr_type: 0x0077,
                    value: &[1, 2, 3, 4],
                },
            ],
            false,
            false,
        ),
    ];
    v.push(vec![0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]);
    v
}

#[test]
fn no_amplification_in_strict_mode() {
    let mut cfg = test_config();
    cfg.strict_amplification = true;
    let mut h = H::with(cfg, Box::new(users()));
    let c = alice();
    for shape in unauthenticated_shapes() {
        for t in h.feed(&c, &shape) {
            assert!(
                t.contents.len() <= shape.len(),
                "{} > {} for {shape:02x?}",
                t.contents.len(),
                shape.len()
            );
        }
    }
    assert!(h.s.stats().amplification_dropped > 0);
}

#[test]
fn unauthenticated_errors_are_small_by_default() {
    let mut h = H::new();
    let c = alice();
    for shape in unauthenticated_shapes() {
        for t in h.feed(&c, &shape) {
            let m = Message::parse(&t.contents).unwrap();
            if let Some((code, reason)) = m.error_code() {
                assert_eq!(reason, "", "no reason phrase in unauthenticated {code}");
                if code != 401 && code != 438 || h.s.cfg.strict_amplification {
                    assert!(
                        t.contents.len() <= shape.len(),
                        "{code}: {} > {}",
                        t.contents.len(),
                        shape.len()
                    );
                } else {
                    // REALM + NONCE bound a challenge's size.
                    assert!(t.contents.len() <= 20 + 8 + 4 + 12 + 4 + 40 + 8);
                }
            }
        }
    }
}

#[test]
fn challenges_are_rate_limited_per_source_ip() {
    let mut h = H::new();
    let attacker = alice();
    let req = h.build(
        &attacker,
        method::ALLOCATE,
        Class::Request,
        &[Attribute::RequestedTransport(17)],
        false,
        TransactionId([1; 12]),
    );
    let answered: usize = (0..100).map(|_| h.feed(&attacker, &req).len()).sum();
    assert_eq!(answered, 20, "the burst, then silence");
    assert_eq!(h.s.stats().rate_limited_challenges, 80);
    // Another source is unaffected; the attacker's budget refills with time.
    let mut bob = client("192.0.2.55:1", "bob", "bob-pass");
    assert_eq!(h.allocate(&mut bob, &[]).class(), Class::SuccessResponse);
    h.now += Duration::from_secs(1);
    let answered: usize = (0..10).map(|_| h.feed(&attacker, &req).len()).sum();
    assert_eq!(answered, 5);
}

/// Over TCP the handshake proved the source, so there is nothing to
/// reflect, and a dropped 401 would never be retransmitted: many clients
/// from one address (coturn's uclient with 50 TCP clients) all get theirs.
#[test]
fn challenges_over_tcp_are_not_rate_limited() {
    let mut h = H::new();
    let c = tcp_alice();
    let req = h.build(
        &c,
        method::ALLOCATE,
        Class::Request,
        &[Attribute::RequestedTransport(17)],
        false,
        TransactionId([2; 12]),
    );
    let answered = (0..100).filter(|_| !h.feed(&c, &req).is_empty()).count();
    assert_eq!(answered, 100);
    assert_eq!(h.s.stats().rate_limited_challenges, 0);
}

#[test]
fn malformed_input_is_dropped_and_counted() {
    let mut h = H::new();
    let c = alice();
    for junk in [
        &[][..],
        &[0xff; 30][..],
        &[0u8; 19][..],
        &[0x40, 0, 0, 9, 1][..],
        &[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42][..],
    ] {
        assert!(h.feed(&c, junk).is_empty());
    }
    assert_eq!(h.s.stats().malformed_dropped, 5);
    // A bad FINGERPRINT is dropped too.
    let mut req = h.build(
        &c,
        method::BINDING,
        Class::Request,
        &[],
        false,
        TransactionId([1; 12]),
    );
    let n = req.len();
    req[n - 1] ^= 1;
    assert!(h.feed(&c, &req).is_empty());
}

#[test]
fn unknown_comprehension_required_attribute_is_420_after_auth() {
    let mut h = H::new();
    let mut c = alice();
    let r = h.allocate(
        &mut c,
        &[Attribute::Unknown {
            attr_type: 0x0077,
            value: &[0; 4],
        }],
    );
    assert_eq!(r.code(), Some(420));
    assert!(r.msg().get(attr_type::UNKNOWN_ATTRIBUTES).is_some());
    assert_eq!(h.s.ports_in_use(), 0);
}

#[test]
fn refresh_storm_keeps_the_timer_heap_small() {
    let mut h = H::new();
    let mut c = alice();
    h.allocate(&mut c, &[]);
    let peer = sa("198.51.100.1:1");
    for _ in 0..200 {
        h.permit(&mut c, peer);
        h.request(&mut c, method::REFRESH, &[]);
    }
    assert!(h.s.timer_entries() <= 4, "{}", h.s.timer_entries());
    assert!(h.s.poll_timeout().is_some());
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

#[test]
fn tcp_allocation_needs_a_tcp_client_and_no_udp_options() {
    let mut h = H::new();
    let mut udp = alice();
    assert_eq!(h.allocate_tcp(&mut udp).code(), Some(400));
    let mut t = tcp_alice();
    let r = h.request(
        &mut t,
        method::ALLOCATE,
        &[Attribute::RequestedTransport(6), Attribute::EvenPort(false)],
    );
    assert_eq!(r.code(), Some(400));
    let r = h.request(
        &mut t,
        method::ALLOCATE,
        &[Attribute::RequestedTransport(99)],
    );
    assert_eq!(r.code(), Some(442));
    assert_eq!(h.s.ports_in_use(), 0);
}

#[test]
fn connect_then_connection_bind() {
    let mut h = H::new();
    let (mut c, relay) = tcp_allocation(&mut h);
    let peer = sa("198.51.100.9:80");
    assert!(
        h.connect(&mut c, peer).is_none(),
        "the answer waits for the driver"
    );
    let [Event::Connect {
        id,
        relay: r,
        peer: p,
    }] = h.events()[..]
    else {
        panic!()
    };
    assert_eq!((r, p), (relay, peer));
    // One connection per peer.
    assert_eq!(h.connect(&mut c, peer).unwrap().code(), Some(446));
    h.s.handle_connection_established(h.now, id);
    let out = h.drain();
    let resp = Resp {
        bytes: out[0].contents.clone(),
    };
    assert_eq!(resp.class(), Class::SuccessResponse);
    assert_eq!(connection_id(&resp), id);
    // The client opens a data connection and binds it.
    let mut data = c.clone();
    data.addr = sa("192.0.2.100:40099");
    let r = h.request(
        &mut data,
        method::CONNECTION_BIND,
        &[Attribute::ConnectionId(id.0)],
    );
    assert_eq!(r.class(), Class::SuccessResponse);
    let data_ft = FiveTuple {
        transport: ClientTransport::Tcp,
        client: data.addr,
        server: sa(LISTEN),
    };
    assert_eq!(
        h.events(),
        vec![Event::ConnectionBound {
            id,
            client: data_ft,
            peer
        }]
    );
    // Binding twice fails.
    let mut data2 = c.clone();
    data2.addr = sa("192.0.2.100:40098");
    assert_eq!(
        h.request(
            &mut data2,
            method::CONNECTION_BIND,
            &[Attribute::ConnectionId(id.0)]
        )
        .code(),
        Some(400)
    );
    // Bound connections do not time out; closing the control connection ends everything.
    h.advance(60);
    assert_eq!(h.s.connection_count(), 1);
    h.s.handle_client_closed(
        h.now,
        FiveTuple {
            transport: ClientTransport::Tcp,
            client: c.addr,
            server: sa(LISTEN),
        },
    );
    let ev = h.events();
    assert!(ev.contains(&Event::CloseConnection { id }));
    assert!(ev.contains(&Event::CloseRelay {
        relay,
        transport: RelayTransport::Tcp
    }));
    assert_eq!((h.s.connection_count(), h.s.ports_in_use()), (0, 0));
}

#[test]
fn connect_failure_timeout_and_unbound_timeout() {
    let mut h = H::new();
    let (mut c, _) = tcp_allocation(&mut h);
    h.connect(&mut c, sa("198.51.100.1:80"));
    let [Event::Connect { id, .. }] = h.events()[..] else {
        panic!()
    };
    h.s.handle_connection_failed(h.now, id);
    assert_eq!(
        Resp {
            bytes: h.drain()[0].contents.clone()
        }
        .code(),
        Some(447)
    );
    // A connect the driver never reports times out with 447.
    h.connect(&mut c, sa("198.51.100.2:80"));
    let [Event::Connect { id: id2, .. }] = h.events()[..] else {
        panic!()
    };
    h.advance(31);
    let out = h.drain();
    assert_eq!(
        Resp {
            bytes: out[0].contents.clone()
        }
        .code(),
        Some(447)
    );
    assert!(h.events().contains(&Event::CloseConnection { id: id2 }));
    // Established but never bound: closed after 30 s.
    h.connect(&mut c, sa("198.51.100.3:80"));
    let [Event::Connect { id: id3, .. }] = h.events()[..] else {
        panic!()
    };
    h.s.handle_connection_established(h.now, id3);
    h.drain();
    h.advance(31);
    assert!(h.events().contains(&Event::CloseConnection { id: id3 }));
    assert_eq!(h.s.connection_count(), 0);
    assert_eq!(h.s.stats().tcp_connections_failed, 3);
}

#[test]
fn connect_applies_the_peer_policy() {
    let mut h = H::new();
    let mut c = tcp_alice();
    let r = h.request(
        &mut c,
        method::ALLOCATE,
        &[
            Attribute::RequestedTransport(6),
            Attribute::AdditionalAddressFamily(AddressFamily::V6),
        ],
    );
    assert_eq!(r.relayed().len(), 2);
    h.events();
    for s in DENIED {
        let r = h.connect(&mut c, sa(s)).expect("an answer");
        assert_eq!(r.code(), Some(403), "Connect {s}");
    }
    assert!(h.events().is_empty(), "no connection attempted");
}

#[test]
fn peer_connection_attempt_needs_a_permission() {
    let mut h = H::new();
    let (mut c, relay) = tcp_allocation(&mut h);
    let peer = sa("198.51.100.4:5555");
    assert_eq!(h.s.handle_peer_connection(h.now, relay, peer), None);
    h.permit(&mut c, peer);
    let id = h.s.handle_peer_connection(h.now, relay, peer).unwrap();
    let out = h.drain();
    let m = Message::parse(&out[0].contents).unwrap();
    assert_eq!(
        m.message_type(),
        MessageType::new(Class::Indication, method::CONNECTION_ATTEMPT)
    );
    assert_eq!(
        m.get(attr_type::XOR_PEER_ADDRESS),
        Some(Ok(Attribute::XorPeerAddress(peer)))
    );
    assert_eq!(
        m.get(attr_type::CONNECTION_ID),
        Some(Ok(Attribute::ConnectionId(id.0)))
    );
    // A ChannelBind on a TCP allocation is refused.
    assert_eq!(h.bind(&mut c, 0x4000, peer).code(), Some(400));
    // Not bound within 30 s: closed.
    h.advance(31);
    assert_eq!(h.events(), vec![Event::CloseConnection { id }]);
}

#[test]
fn relay_open_failure_returns_the_port() {
    let mut h = H::new();
    let mut c = alice();
    let relay = h.allocate(&mut c, &[]).relayed()[0];
    h.s.handle_relay_failed(h.now, relay);
    assert_eq!((h.s.allocation_count(), h.s.ports_in_use()), (0, 0));
}

#[test]
fn channel_data_over_tcp_is_padded() {
    let mut h = H::new();
    let mut c = tcp_alice();
    let relay = h.allocate(&mut c, &[]).relayed()[0];
    let peer = sa("198.51.100.1:1");
    h.bind(&mut c, 0x4000, peer);
    let out = h.peer_sends(relay, peer, b"abcde");
    assert_eq!(out[0].contents.len(), 12);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics_nor_leaks_ports(
        inputs in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..120)), 0..40)
    ) {
        let mut h = H::new();
        let mut c = alice();
        let relay = h.allocate(&mut c, &[Attribute::EvenPort(true)]).relayed()[0];
        let peer = sa("198.51.100.1:1");
        h.bind(&mut c, 0x4000, peer);
        let tcp = { let mut t = tcp_alice(); t.addr = sa("192.0.2.100:1"); t };
        for (kind, bytes) in &inputs {
            match kind {
                0 => { h.feed(&c, bytes); }
                1 => { h.feed(&tcp, bytes); }
                2 => { h.peer_sends(relay, peer, bytes); }
                _ => {
                    // Mutate a valid signed request.
                    let tid = h.next_tid();
                    let mut req = h.build(&c, method::CHANNEL_BIND, Class::Request,
                        &[Attribute::ChannelNumber(0x4001), Attribute::XorPeerAddress(peer)], true, tid);
                    for (i, b) in bytes.iter().enumerate() {
                        let at = (usize::from(*b) * 7 + i) % req.len();
                        req[at] ^= b;
                    }
                    h.feed(&c, &req);
                }
            }
            h.events();
        }
        h.advance(3601);
        h.advance(3601);
        prop_assert_eq!(h.s.ports_in_use(), 0);
        prop_assert_eq!(h.s.allocation_count(), 0);
        prop_assert_eq!(h.s.poll_timeout(), None);
    }
}
