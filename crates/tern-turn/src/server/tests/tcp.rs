//! RFC 6062 TCP allocations.

use super::*;

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
