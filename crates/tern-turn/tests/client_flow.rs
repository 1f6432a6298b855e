//! TurnClient against a scripted server, in virtual time: the whole life of
//! an allocation with every message checked, retransmission schedules, and
//! refresh timing over hours.
// Virtual time needs an origin; only differences between instants matter.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use tern_stun::{attr_type, method, Attribute, Class, Integrity, Message};
use tern_turn::channel_data::{write_channel_data, ChannelNumber};
use tern_turn::{Received, RequestedFamily, TurnError, TurnEvent, TurnTransport};

fn attr<'a>(m: &Message<'a>, t: u16) -> Attribute<'a> {
    m.get(t)
        .unwrap_or_else(|| panic!("missing 0x{t:04x}"))
        .unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn full_sequence_with_exact_messages() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    assert_eq!(c.poll_timeout(), None);
    c.allocate(t0).unwrap();

    // 1. The first Allocate: no credentials (RFC 8489 §9.2.3.1).
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1);
    let first = parse(&tx[0]);
    assert_eq!(first.class(), Class::Request);
    assert_eq!(first.method(), method::ALLOCATE);
    assert_eq!(
        attr(&first, attr_type::REQUESTED_TRANSPORT),
        Attribute::RequestedTransport(17)
    );
    assert_eq!(attr(&first, attr_type::LIFETIME), Attribute::Lifetime(600));
    assert_eq!(
        attr(&first, attr_type::SOFTWARE),
        Attribute::Software("tern-test")
    );
    assert!(first.get(attr_type::REQUESTED_ADDRESS_FAMILY).is_none());
    for t in [
        attr_type::USERNAME,
        attr_type::REALM,
        attr_type::NONCE,
        attr_type::PASSWORD_ALGORITHM,
    ] {
        assert!(first.raw(t).is_none());
    }
    assert_eq!(first.integrity(), None);
    first.verify_fingerprint().unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(500)));

    // 2. 401 with REALM and NONCE; the retry carries them and MESSAGE-INTEGRITY.
    let r = challenge(&first, 401, "nonce-1");
    assert!(c.handle_receive(t0, server(), &r));
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1);
    let second = parse(&tx[0]);
    assert_ne!(second.transaction_id(), first.transaction_id());
    assert_eq!(second.method(), method::ALLOCATE);
    assert_eq!(second.username(), Some(USER));
    assert_eq!(attr(&second, attr_type::REALM), Attribute::Realm(REALM));
    assert_eq!(attr(&second, attr_type::NONCE), Attribute::Nonce("nonce-1"));
    assert_eq!(
        attr(&second, attr_type::REQUESTED_TRANSPORT),
        Attribute::RequestedTransport(17)
    );
    assert!(second.raw(attr_type::PASSWORD_ALGORITHMS).is_none());
    assert_eq!(second.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
    second.verify_fingerprint().unwrap();
    // The stale 401 retransmitted by the network is now for no transaction.
    assert!(!c.handle_receive(t0, server(), &r));
    assert_eq!(c.stats().unmatched_responses, 1);

    // 3. Success, signed with the long-term key.
    let ok = respond(
        &second,
        Class::SuccessResponse,
        &[
            Attribute::XorRelayedAddress(relayed()),
            Attribute::XorMappedAddress(mapped()),
            Attribute::Lifetime(600),
        ],
        Some(&md5_key()),
        false,
    );
    let t1 = t0 + Duration::from_millis(30);
    assert!(c.handle_receive(t1, server(), &ok));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::Allocated {
            relayed: vec![relayed()],
            mapped: mapped(),
            lifetime: secs(600)
        }]
    );
    assert!(c.is_allocated());
    assert_eq!(c.relayed_addresses(), &[relayed()]);
    assert_eq!(c.mapped_address(), Some(mapped()));
    // Refresh a minute early, measured from the request that created it.
    assert_eq!(c.poll_timeout(), Some(t0 + secs(540)));

    // 4. CreatePermission.
    c.create_permission(t1, peer().ip()).unwrap();
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1);
    let cp = parse(&tx[0]);
    assert_eq!(cp.method(), method::CREATE_PERMISSION);
    assert_eq!(
        attr(&cp, attr_type::XOR_PEER_ADDRESS),
        Attribute::XorPeerAddress(SocketAddr::new(peer().ip(), 0))
    );
    assert_eq!(cp.username(), Some(USER));
    assert_eq!(attr(&cp, attr_type::NONCE), Attribute::Nonce("nonce-1"));
    assert_eq!(cp.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
    cp.verify_fingerprint().unwrap();
    assert!(c.handle_receive(
        t1,
        server(),
        &respond(&cp, Class::SuccessResponse, &[], Some(&md5_key()), false)
    ));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::PermissionCreated(peer().ip())]
    );
    assert!(c.has_permission(peer().ip()));

    // 5. ChannelBind; until confirmed, data goes as a Send indication.
    let ch = c.bind_channel(t1, peer()).unwrap();
    assert_eq!(ch.get(), 0x4000);
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1, "the permission exists: only ChannelBind");
    let cb = parse(&tx[0]);
    assert_eq!(cb.method(), method::CHANNEL_BIND);
    assert_eq!(
        attr(&cb, attr_type::CHANNEL_NUMBER),
        Attribute::ChannelNumber(0x4000)
    );
    assert_eq!(
        attr(&cb, attr_type::XOR_PEER_ADDRESS),
        Attribute::XorPeerAddress(peer())
    );
    assert_eq!(cb.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
    cb.verify_fingerprint().unwrap();

    c.send_to(t1, peer(), b"early").unwrap();
    let tx = drain_transmits(&mut c);
    let send = parse(&tx[0]);
    assert_eq!(send.class(), Class::Indication);
    assert_eq!(send.method(), method::SEND);
    assert_eq!(
        attr(&send, attr_type::XOR_PEER_ADDRESS),
        Attribute::XorPeerAddress(peer())
    );
    assert_eq!(attr(&send, attr_type::DATA), Attribute::Data(b"early"));
    assert_eq!(
        send.integrity(),
        None,
        "indications cannot be authenticated"
    );

    assert!(c.handle_receive(
        t1,
        server(),
        &respond(&cb, Class::SuccessResponse, &[], Some(&md5_key()), false)
    ));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::ChannelBound {
            peer: peer(),
            channel: ch
        }]
    );
    assert_eq!(c.channel_for(peer()), Some(ch));

    // 6. Data both ways.
    c.send_to(t1, peer(), b"hello").unwrap();
    let tx = drain_transmits(&mut c);
    assert_eq!(
        tx,
        vec![vec![0x40, 0x00, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o']]
    );
    let mut out = [0u8; 64];
    let n = c.send_to_into(t1, peer(), b"zero-copy", &mut out).unwrap();
    assert_eq!(&out[..n], b"\x40\x00\x00\x09zero-copy");
    assert_eq!(c.poll_transmit(), None);

    let mut cd = [0u8; 16];
    let n = write_channel_data(&mut cd, ch, b"pong", false).unwrap();
    assert_eq!(
        c.handle_datagram(t1, server(), &cd[..n]),
        Received::Data {
            peer: peer(),
            data: b"pong"
        }
    );
    let other = ChannelNumber::new(0x4001).unwrap();
    let n = write_channel_data(&mut cd, other, b"nope", false).unwrap();
    assert_eq!(c.handle_datagram(t1, server(), &cd[..n]), Received::Dropped);
    assert_eq!(c.stats().unknown_channel_dropped, 1);
    // A Data indication.
    let peer2: SocketAddr = "203.0.113.100:7000".parse().unwrap();
    let ind = {
        let mut buf = Vec::new();
        let mut b = tern_stun::MessageBuilder::new(
            &mut buf,
            tern_stun::MessageType::new(Class::Indication, method::DATA),
            tern_stun::TransactionId([3; 12]),
        );
        b.add(&Attribute::XorPeerAddress(peer2)).unwrap();
        b.add(&Attribute::Data(b"via indication")).unwrap();
        buf
    };
    assert!(c.handle_receive(t1, server(), &ind));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::Data {
            peer: peer2,
            bytes: b"via indication".to_vec()
        }]
    );
    // Not from the server: not ours.
    assert!(!c.handle_receive(t1, peer(), &ind));

    // 7. Refreshes: permission at +240 s from its request, then allocation and
    // channel at +540 s.
    assert_eq!(c.poll_timeout(), Some(t1 + secs(240)));
    let t2 = t1 + secs(240);
    c.handle_timeout(t2);
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1);
    let cp2 = parse(&tx[0]);
    assert_eq!(cp2.method(), method::CREATE_PERMISSION);
    assert!(c.handle_receive(
        t2,
        server(),
        &respond(&cp2, Class::SuccessResponse, &[], Some(&md5_key()), false)
    ));
    assert_eq!(drain_events(&mut c), vec![], "refreshes are silent");
    assert_eq!(c.poll_timeout(), Some(t1 + secs(480)));
    c.handle_timeout(t1 + secs(480));
    let tx = drain_transmits(&mut c);
    let cp3 = parse(&tx[0]);
    assert_eq!(cp3.method(), method::CREATE_PERMISSION);
    assert!(c.handle_receive(
        t1 + secs(480),
        server(),
        &respond(&cp3, Class::SuccessResponse, &[], Some(&md5_key()), false)
    ));
    assert_eq!(c.poll_timeout(), Some(t0 + secs(540)));
    let t3 = t0 + secs(540);
    c.handle_timeout(t3);
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1, "only the allocation is due at lifetime - 60 s");
    let refresh = parse(&tx[0]);
    assert_eq!(refresh.method(), method::REFRESH);
    assert_eq!(
        attr(&refresh, attr_type::LIFETIME),
        Attribute::Lifetime(600)
    );
    assert_eq!(refresh.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
    refresh.verify_fingerprint().unwrap();
    assert!(c.handle_receive(
        t3,
        server(),
        &respond(
            &refresh,
            Class::SuccessResponse,
            &[Attribute::Lifetime(600)],
            Some(&md5_key()),
            false
        )
    ));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::Refreshed {
            lifetime: secs(600)
        }]
    );

    // 8. Close: Refresh with LIFETIME 0, then Deallocated.
    c.close(t3);
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 1);
    let bye = parse(&tx[0]);
    assert_eq!(bye.method(), method::REFRESH);
    assert_eq!(attr(&bye, attr_type::LIFETIME), Attribute::Lifetime(0));
    assert_eq!(bye.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
    assert!(c.handle_receive(
        t3,
        server(),
        &respond(
            &bye,
            Class::SuccessResponse,
            &[Attribute::Lifetime(0)],
            Some(&md5_key()),
            false
        )
    ));
    assert_eq!(drain_events(&mut c), vec![TurnEvent::Deallocated]);
    assert!(c.is_closed());
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.send_to(t3, peer(), b"x"), Err(TurnError::NotAllocated));
}

#[test]
fn udp_retransmission_schedule_then_unreachable() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    c.allocate(t0).unwrap();
    let mut sends = vec![];
    let mut now = t0;
    loop {
        let n = drain_transmits(&mut c).len();
        for _ in 0..n {
            sends.push(now - t0);
        }
        let Some(t) = c.poll_timeout() else { break };
        now = t;
        c.handle_timeout(now);
    }
    let ms = |v: u64| Duration::from_millis(v);
    // RFC 8489 §6.2.1: 0, 500, 1500, 3500, 7500, 15500, 31500 ms, then 16 × RTO.
    assert_eq!(
        sends,
        vec![
            ms(0),
            ms(500),
            ms(1500),
            ms(3500),
            ms(7500),
            ms(15500),
            ms(31500)
        ]
    );
    assert_eq!(now - t0, ms(39_500));
    assert_eq!(c.stats().retransmissions, 6);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::ServerUnreachable {
            after: ms(39_500)
        })]
    );
    // A fresh allocation may be tried again.
    c.allocate(now).unwrap();
    assert_eq!(drain_transmits(&mut c).len(), 1);
}

#[test]
fn retransmissions_are_identical_and_any_copy_is_answered() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    c.allocate(t0).unwrap();
    let a = drain_transmits(&mut c);
    c.handle_timeout(t0 + Duration::from_millis(500));
    let b = drain_transmits(&mut c);
    assert_eq!(a, b);
    let m = parse(&a[0]);
    assert!(c.handle_receive(t0, server(), &challenge(&m, 401, "n")));
    assert_eq!(drain_transmits(&mut c).len(), 1);
    // The retransmission timer restarted for the new transaction.
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(500)));
}

#[test]
fn tcp_sends_once_and_times_out_after_39_5_s() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Tcp));
    c.allocate(t0).unwrap();
    assert_eq!(drain_transmits(&mut c).len(), 1);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(39_500)));
    c.handle_timeout(t0 + secs(20));
    assert!(drain_transmits(&mut c).is_empty());
    c.handle_timeout(t0 + Duration::from_millis(39_500));
    assert!(drain_transmits(&mut c).is_empty());
    assert_eq!(c.stats().retransmissions, 0);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::ServerUnreachable {
            after: Duration::from_millis(39_500)
        })]
    );
}

#[test]
fn refreshes_stay_on_schedule_for_hours() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    let p2: SocketAddr = "203.0.113.50:9".parse().unwrap();
    c.create_permission(t0, peer().ip()).unwrap();
    c.bind_channel(t0, p2).unwrap();
    pump(&mut c, &mut s, t0);
    let ev = drain_events(&mut c);
    assert_eq!(ev.len(), 3, "{ev:?}");
    s.seen.clear();

    let hours = 5;
    let end = run_until(&mut c, &mut s, t0 + secs(3600 * hours));
    assert!(end <= t0 + secs(3600 * hours));
    assert!(c.is_allocated());
    assert_eq!(c.stats().retransmissions, 0);
    let times = |m: tern_stun::Method, p: Option<SocketAddr>| -> Vec<u64> {
        s.seen
            .iter()
            .filter(|x| x.method == m && (p.is_none() || x.peer == p))
            .map(|x| (x.at - t0).as_secs())
            .collect()
    };
    let every = |step: u64| -> Vec<u64> {
        (1..)
            .map(|k| k * step)
            .take_while(|t| *t <= 3600 * hours)
            .collect()
    };
    assert_eq!(times(method::REFRESH, None), every(540));
    assert!(s
        .seen
        .iter()
        .filter(|x| x.method == method::REFRESH)
        .all(|x| x.lifetime == Some(600)));
    // Both permissions (the explicit one and the channel peer's) every 240 s.
    assert_eq!(
        times(
            method::CREATE_PERMISSION,
            Some(SocketAddr::new(peer().ip(), 0))
        ),
        every(240)
    );
    assert_eq!(
        times(method::CREATE_PERMISSION, Some(SocketAddr::new(p2.ip(), 0))),
        every(240)
    );
    assert_eq!(times(method::CHANNEL_BIND, Some(p2)), every(540));
    // Every refresh kept the channel number for its peer.
    assert_eq!(s.channels.len(), 1);
    let refreshes = drain_events(&mut c)
        .into_iter()
        .filter(|e| matches!(e, TurnEvent::Refreshed { .. }))
        .count();
    assert_eq!(refreshes, every(540).len());
}

#[test]
fn short_lifetime_refreshes_at_half() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    let mut s = FakeServer {
        lifetime: 60,
        ..FakeServer::default()
    };
    c.allocate(t0).unwrap();
    pump(&mut c, &mut s, t0);
    assert!(matches!(
        drain_events(&mut c).as_slice(),
        [TurnEvent::Allocated { lifetime, .. }] if *lifetime == secs(60)
    ));
    s.seen.clear();
    run_until(&mut c, &mut s, t0 + secs(600));
    let at: Vec<u64> = s.seen.iter().map(|x| (x.at - t0).as_secs()).collect();
    assert_eq!(at, (1..=20).map(|k| k * 30).collect::<Vec<_>>());
}

#[test]
fn unanswered_refresh_loses_the_allocation() {
    let t0 = Instant::now();
    let (mut c, _s) = allocated(config(TurnTransport::Udp), t0);
    let mut now = t0;
    while let Some(t) = c.poll_timeout() {
        now = t;
        c.handle_timeout(now);
        drain_transmits(&mut c);
        if !c.is_allocated() {
            break;
        }
    }
    assert_eq!(now - t0, secs(540) + Duration::from_millis(39_500));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationLost(TurnError::ServerUnreachable {
            after: Duration::from_millis(39_500)
        })]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn sending_without_permission_creates_it_first() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    c.send_to(t0, peer(), b"first").unwrap();
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 2);
    assert_eq!(parse(&tx[0]).method(), method::CREATE_PERMISSION);
    assert_eq!(parse(&tx[1]).method(), method::SEND);
    // An in-order server installs the permission before the indication arrives.
    for b in &tx {
        if let Some(r) = s.answer(t0, b) {
            c.handle_receive(t0, server(), &r);
        }
    }
    assert_eq!(s.received, vec![(peer(), b"first".to_vec())]);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::PermissionCreated(peer().ip())]
    );
    // Later sends need no new permission.
    c.send_to(t0, peer(), b"second").unwrap();
    assert_eq!(drain_transmits(&mut c).len(), 1);
}

#[test]
fn dual_family_allocation() {
    let t0 = Instant::now();
    let mut cfg = config(TurnTransport::Udp);
    cfg.family = RequestedFamily::Both;
    let mut c = client(cfg);
    let mut s = FakeServer {
        relayed: vec![relayed(), relayed6()],
        ..FakeServer::default()
    };
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c);
    let m = parse(&first[0]);
    assert_eq!(
        attr(&m, attr_type::ADDITIONAL_ADDRESS_FAMILY),
        Attribute::AdditionalAddressFamily(tern_stun::AddressFamily::V6)
    );
    assert!(m.get(attr_type::REQUESTED_ADDRESS_FAMILY).is_none());
    let r = s.answer(t0, &first[0]).unwrap();
    c.handle_receive(t0, server(), &r);
    pump(&mut c, &mut s, t0);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::Allocated {
            relayed: vec![relayed(), relayed6()],
            mapped: mapped(),
            lifetime: secs(600)
        }]
    );
    let v6: SocketAddr = "[2001:db8::99]:5000".parse().unwrap();
    c.create_permission(t0, v6.ip()).unwrap();
    pump(&mut c, &mut s, t0);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::PermissionCreated(v6.ip())]
    );
}

#[test]
fn ipv6_only_request_and_family_checks() {
    let t0 = Instant::now();
    let mut cfg = config(TurnTransport::Udp);
    cfg.family = RequestedFamily::Ipv6;
    let mut c = client(cfg);
    let mut s = FakeServer {
        relayed: vec![relayed6()],
        ..FakeServer::default()
    };
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c);
    assert_eq!(
        attr(&parse(&first[0]), attr_type::REQUESTED_ADDRESS_FAMILY),
        Attribute::RequestedAddressFamily(tern_stun::AddressFamily::V6)
    );
    let r = s.answer(t0, &first[0]).unwrap();
    c.handle_receive(t0, server(), &r);
    pump(&mut c, &mut s, t0);
    assert!(c.is_allocated());
    assert_eq!(
        c.create_permission(t0, peer().ip()),
        Err(TurnError::PeerFamilyNotRelayed { peer: peer().ip() })
    );
    assert!(matches!(
        c.send_to(t0, peer(), b"x"),
        Err(TurnError::PeerFamilyNotRelayed { .. })
    ));
}

#[test]
fn channels_ascend_per_peer() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    let peers: Vec<SocketAddr> = (0..5)
        .map(|i| SocketAddr::from(([203, 0, 113, 10 + i], 4000)))
        .collect();
    for (i, p) in peers.iter().enumerate() {
        assert_eq!(c.bind_channel(t0, *p).unwrap().get(), 0x4000 + i as u16);
    }
    // Asking again for the same peer keeps its number.
    assert_eq!(c.bind_channel(t0, peers[2]).unwrap().get(), 0x4002);
    pump(&mut c, &mut s, t0);
    for (i, p) in peers.iter().enumerate() {
        assert_eq!(s.channels[&(0x4000 + i as u16)], *p);
        assert_eq!(c.channel_for(*p).map(|n| n.get()), Some(0x4000 + i as u16));
    }
    // Unbinding stops ChannelData and refreshes; rebinding the same peer reuses its number.
    c.unbind_channel(peers[1]);
    assert_eq!(c.channel_for(peers[1]), None);
    c.send_to(t0, peers[1], b"x").unwrap();
    assert_eq!(parse(&drain_transmits(&mut c)[0]).method(), method::SEND);
    assert_eq!(c.bind_channel(t0, peers[1]).unwrap().get(), 0x4001);
    // A new peer gets the next fresh number, never 0x4001.
    let newcomer = SocketAddr::from(([203, 0, 113, 200], 1));
    assert_eq!(c.bind_channel(t0, newcomer).unwrap().get(), 0x4005);
}

#[test]
fn dual_request_with_one_family_refused() {
    let t0 = Instant::now();
    let mut cfg = config(TurnTransport::Udp);
    cfg.family = RequestedFamily::Both;
    let mut c = client(cfg);
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    c.handle_receive(t0, server(), &challenge(&parse(&first), 401, "n"));
    let second = drain_transmits(&mut c).remove(0);
    let r = respond(
        &parse(&second),
        Class::SuccessResponse,
        &[
            Attribute::XorRelayedAddress(relayed()),
            Attribute::XorMappedAddress(mapped()),
            Attribute::Lifetime(600),
            Attribute::AddressErrorCode {
                family: tern_stun::AddressFamily::V6,
                code: 440,
                reason: "Address Family not Supported",
            },
        ],
        Some(&md5_key()),
        false,
    );
    c.handle_receive(t0, server(), &r);
    assert_eq!(
        drain_events(&mut c),
        vec![
            TurnEvent::FamilyNotAllocated {
                family: tern_stun::AddressFamily::V6,
                code: 440,
                reason: "Address Family not Supported".into()
            },
            TurnEvent::Allocated {
                relayed: vec![relayed()],
                mapped: mapped(),
                lifetime: secs(600)
            }
        ]
    );
    let v6: SocketAddr = "[2001:db8::99]:5000".parse().unwrap();
    assert_eq!(
        c.create_permission(t0, v6.ip()),
        Err(TurnError::PeerFamilyNotRelayed { peer: v6.ip() })
    );
}

/// How a load generator drives clients by the thousand: one struct per
/// allocation, a heap of `poll_timeout`s, and only due clients touched.
#[test]
fn a_thousand_clients_on_one_timer_heap() {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let t0 = Instant::now();
    let mut s = FakeServer::default();
    let mut clients: Vec<_> = (0..1000)
        .map(|i| {
            let mut c = tern_turn::TurnClient::new(
                config(TurnTransport::Udp),
                Box::new(tern_crypto::SeededRandom::new(i)),
            );
            // Stagger starts over a second.
            let start = t0 + Duration::from_millis(i);
            c.allocate(start).unwrap();
            pump(&mut c, &mut s, start);
            c
        })
        .collect();
    let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = clients
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.poll_timeout().map(|t| Reverse((t, i))))
        .collect();
    let end = t0 + secs(3600);
    let mut wakeups = 0;
    while let Some(Reverse((t, i))) = heap.pop() {
        if t > end {
            break;
        }
        let c = &mut clients[i];
        c.handle_timeout(t);
        pump(c, &mut s, t);
        wakeups += 1;
        if let Some(next) = c.poll_timeout() {
            heap.push(Reverse((next, i)));
        }
    }
    // Each client woke only for its refreshes (every 540 s: 6 in an hour).
    assert_eq!(wakeups, 1000 * 6);
    for c in &mut clients {
        assert!(c.is_allocated());
        let ev = drain_events(c);
        assert_eq!(ev.len(), 1 + 6);
    }
    let refreshes = s
        .seen
        .iter()
        .filter(|x| x.method == method::REFRESH)
        .count();
    assert_eq!(refreshes, 6000);
}
