//! The peer address policy on every path that reaches a peer.

use super::*;

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
