//! Allocation, permissions, channels and data; lifetimes and expiry.

use super::*;

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
