//! Quotas, capacity, bandwidth, amplification, rate limits and malformed input.

use super::*;

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
