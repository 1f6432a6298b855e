//! Every error a TURN server can answer, and the authentication variants
//! (438 stale nonce, PASSWORD-ALGORITHMS with MESSAGE-INTEGRITY-SHA256,
//! USERHASH), each mapped to the right TurnError or retry.
// Virtual time needs an origin; only differences between instants matter.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use tern_stun::{
    attr_type, encode_password_algorithms, method, Attribute, Class, Integrity, IntegrityKey,
    PasswordAlgorithm, PASSWORD_ALGORITHM_MD5, PASSWORD_ALGORITHM_SHA256,
};
use tern_turn::{Received, TurnClient, TurnError, TurnEvent, TurnTransport};

/// A client whose Allocate has been challenged once: returns the credentialed request.
fn challenged(t0: Instant) -> (TurnClient, Vec<u8>) {
    let mut c = client(config(TurnTransport::Udp));
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    assert!(c.handle_receive(t0, server(), &challenge(&parse(&first), 401, "nonce-1")));
    let second = drain_transmits(&mut c).remove(0);
    (c, second)
}

#[test]
fn allocate_error_codes_map_to_errors() {
    let cases = [
        (
            441,
            TurnError::WrongCredentials {
                code: 441,
                realm: REALM.into(),
            },
        ),
        (486, TurnError::QuotaReached),
        (508, TurnError::InsufficientCapacity),
        (442, TurnError::UnsupportedTransport),
        (440, TurnError::AddressFamilyNotSupported),
        (437, TurnError::AllocationMismatch),
        (
            403,
            TurnError::Forbidden {
                reason: "Forbidden".into(),
            },
        ),
        (
            500,
            TurnError::ServerError {
                code: 500,
                reason: "Server Error".into(),
            },
        ),
    ];
    for (code, expected) in cases {
        for signed in [true, false] {
            let t0 = Instant::now();
            let (mut c, req) = challenged(t0);
            let key = md5_key();
            let r = error(&parse(&req), code, signed.then_some(&key));
            assert!(c.handle_receive(t0, server(), &r));
            assert_eq!(
                drain_events(&mut c),
                vec![TurnEvent::AllocationFailed(expected.clone())],
                "code {code}"
            );
            assert!(!c.is_allocated());
            assert_eq!(c.poll_timeout(), None);
            // The error says what to do, not just the number.
            assert!(expected.to_string().len() > 30);
            // A fresh allocation is allowed (437: "report and allow a fresh allocation").
            c.allocate(t0).unwrap();
            assert_eq!(drain_transmits(&mut c).len(), 1);
        }
    }
}

#[test]
fn try_alternate_reports_the_server() {
    let t0 = Instant::now();
    let (mut c, req) = challenged(t0);
    let alt: SocketAddr = "192.0.2.77:3478".parse().unwrap();
    let r = respond(
        &parse(&req),
        Class::ErrorResponse,
        &[
            Attribute::ErrorCode {
                code: 300,
                reason: "Try Alternate",
            },
            Attribute::AlternateServer(alt),
        ],
        Some(&md5_key()),
        false,
    );
    c.handle_receive(t0, server(), &r);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::TryAlternate {
            alternate: Some(alt)
        })]
    );
}

#[test]
fn unauthenticated_after_credentials_is_wrong_credentials() {
    let t0 = Instant::now();
    let (mut c, req) = challenged(t0);
    // Same realm, fresh nonce: the password is wrong; no retry (RFC 8489 §9.2.5).
    c.handle_receive(t0, server(), &challenge(&parse(&req), 401, "nonce-2"));
    assert!(drain_transmits(&mut c).is_empty());
    let ev = drain_events(&mut c);
    assert_eq!(
        ev,
        vec![TurnEvent::AllocationFailed(TurnError::WrongCredentials {
            code: 401,
            realm: REALM.into()
        })]
    );
    if let [TurnEvent::AllocationFailed(e)] = ev.as_slice() {
        assert!(e.to_string().contains("username and password"));
    }
}

#[test]
fn wrong_password_detected_end_to_end() {
    // A server that knows another password answers 401 again.
    let t0 = Instant::now();
    let mut cfg = config(TurnTransport::Udp);
    cfg.password = "not-the-secret".into();
    let mut c = client(cfg);
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    c.handle_receive(t0, server(), &challenge(&parse(&first), 401, "n1"));
    let second = drain_transmits(&mut c).remove(0);
    let m = parse(&second);
    assert!(m.verify_integrity(&md5_key()).is_err());
    c.handle_receive(t0, server(), &challenge(&m, 401, "n1"));
    assert!(matches!(
        drain_events(&mut c).as_slice(),
        [TurnEvent::AllocationFailed(TurnError::WrongCredentials {
            code: 401,
            ..
        })]
    ));
}

#[test]
fn configured_realm_must_match() {
    let t0 = Instant::now();
    let mut cfg = config(TurnTransport::Udp);
    cfg.realm = Some("other.example".into());
    let mut c = client(cfg);
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    c.handle_receive(t0, server(), &challenge(&parse(&first), 401, "n1"));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::RealmMismatch {
            expected: "other.example".into(),
            offered: REALM.into()
        })]
    );
}

#[test]
fn stale_nonce_retries_with_the_new_nonce_and_is_bounded() {
    let t0 = Instant::now();
    let (mut c, req) = challenged(t0);
    let mut req = req;
    for i in 0..3 {
        let nonce = format!("fresh-{i}");
        let m = parse(&req);
        c.handle_receive(t0, server(), &challenge(&m, 438, &nonce));
        let tx = drain_transmits(&mut c);
        assert_eq!(tx.len(), 1, "438 → retry {i}");
        let retry = parse(&tx[0]);
        assert_ne!(retry.transaction_id(), m.transaction_id());
        assert_eq!(
            retry.get(attr_type::NONCE).unwrap().unwrap(),
            Attribute::Nonce(&nonce)
        );
        assert_eq!(retry.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
        req = tx[0].clone();
    }
    // The fourth 438 in a row gives up.
    c.handle_receive(t0, server(), &challenge(&parse(&req), 438, "again"));
    assert!(drain_transmits(&mut c).is_empty());
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::StaleNonceLoop {
            retries: 4
        })]
    );
}

#[test]
fn stale_nonce_on_refresh_keeps_the_allocation() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    // The server rotates its nonce; the next refresh gets 438 and retries.
    s.nonce = "rotated".into();
    let end = run_until(&mut c, &mut s, t0 + Duration::from_secs(3000));
    assert!(c.is_allocated());
    let ev = drain_events(&mut c);
    assert!(
        ev.iter().all(|e| matches!(e, TurnEvent::Refreshed { .. })),
        "{ev:?}"
    );
    assert_eq!(ev.len(), 5);
    assert!(end > t0);
}

#[test]
fn forbidden_peer_fails_only_that_permission_and_channel() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    let bad: SocketAddr = "10.0.0.1:1234".parse().unwrap();
    c.create_permission(t0, bad.ip()).unwrap();
    let req = drain_transmits(&mut c).remove(0);
    c.handle_receive(t0, server(), &error(&parse(&req), 403, Some(&md5_key())));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::PermissionFailed {
            peer: bad.ip(),
            error: TurnError::ForbiddenPeer { peer: bad.ip() }
        }]
    );
    assert!(c.is_allocated());
    // Sending there reports the failure instead of re-requesting every packet.
    assert_eq!(
        c.send_to(t0, bad, b"x"),
        Err(TurnError::ForbiddenPeer { peer: bad.ip() })
    );
    assert!(drain_transmits(&mut c).is_empty());

    // ChannelBind refused with 403 (the permission went through).
    c.bind_channel(t0, peer()).unwrap();
    let tx = drain_transmits(&mut c);
    assert_eq!(tx.len(), 2);
    for b in &tx {
        let m = parse(b);
        let r = if m.method() == method::CHANNEL_BIND {
            error(&m, 403, Some(&md5_key()))
        } else {
            s.answer(t0, b).unwrap()
        };
        c.handle_receive(t0, server(), &r);
    }
    let ev = drain_events(&mut c);
    assert!(ev.contains(&TurnEvent::PermissionCreated(peer().ip())));
    assert!(ev.contains(&TurnEvent::ChannelBindFailed {
        peer: peer(),
        channel: tern_turn::channel_data::ChannelNumber::new(0x4000).unwrap(),
        error: TurnError::ForbiddenPeer { peer: peer().ip() }
    }));
    assert!(c.is_allocated());
    // Data still flows, as Send indications.
    c.send_to(t0, peer(), b"still").unwrap();
    let m = drain_transmits(&mut c).remove(0);
    assert_eq!(parse(&m).method(), method::SEND);
    // Another peer is unaffected.
    c.create_permission(t0, "203.0.113.1".parse().unwrap())
        .unwrap();
    pump(&mut c, &mut s, t0);
    assert_eq!(drain_events(&mut c).len(), 1);
}

#[test]
fn mismatch_on_refresh_loses_the_allocation_and_allows_a_new_one() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    c.create_permission(t0, peer().ip()).unwrap();
    let req = drain_transmits(&mut c).remove(0);
    c.handle_receive(t0, server(), &error(&parse(&req), 437, Some(&md5_key())));
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationLost(TurnError::AllocationMismatch)]
    );
    assert!(!c.is_allocated());
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.send_to(t0, peer(), b"x"), Err(TurnError::NotAllocated));
    // Credentials are kept: the fresh Allocate is signed at once.
    c.allocate(t0).unwrap();
    let again = drain_transmits(&mut c).remove(0);
    assert_eq!(
        parse(&again).verify_integrity(&md5_key()),
        Ok(Integrity::Sha1)
    );
    let r = s.answer(t0, &again).unwrap();
    c.handle_receive(t0, server(), &r);
    assert!(c.is_allocated());
}

#[test]
fn forged_success_is_discarded_then_integrity_violation() {
    let t0 = Instant::now();
    let (mut c, req) = challenged(t0);
    let m = parse(&req);
    let good = [
        Attribute::XorRelayedAddress(relayed()),
        Attribute::XorMappedAddress(mapped()),
        Attribute::Lifetime(600),
    ];
    let wrong_key = IntegrityKey::long_term_md5(USER, REALM, "guess");
    let forged = respond(&m, Class::SuccessResponse, &good, Some(&wrong_key), false);
    assert_eq!(c.handle_datagram(t0, server(), &forged), Received::Dropped);
    let unsigned = respond(&m, Class::SuccessResponse, &good, None, false);
    assert_eq!(
        c.handle_datagram(t0, server(), &unsigned),
        Received::Dropped
    );
    // The algorithm must match what we sent (SHA-1 here).
    let sha256 = respond(&m, Class::SuccessResponse, &good, Some(&md5_key()), true);
    assert_eq!(c.handle_datagram(t0, server(), &sha256), Received::Dropped);
    assert_eq!(c.stats().integrity_dropped, 3);
    assert!(!c.is_allocated());
    // Retransmissions continue; the end is an integrity violation, not a timeout.
    while let Some(t) = c.poll_timeout() {
        c.handle_timeout(t);
    }
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::IntegrityViolation)]
    );
}

#[test]
fn forged_success_over_tcp_ends_the_transaction_at_once() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Tcp));
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    c.handle_stream_bytes(t0, &challenge(&parse(&first), 401, "n"))
        .unwrap();
    let second = drain_transmits(&mut c).remove(0);
    let forged = respond(
        &parse(&second),
        Class::SuccessResponse,
        &[
            Attribute::XorRelayedAddress(relayed()),
            Attribute::XorMappedAddress(mapped()),
        ],
        None,
        false,
    );
    c.handle_stream_bytes(t0, &forged).unwrap();
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::IntegrityViolation)]
    );
}

#[test]
fn malformed_success_is_reported() {
    let t0 = Instant::now();
    for (attrs, what) in [
        (
            vec![Attribute::XorMappedAddress(mapped())],
            "XOR-RELAYED-ADDRESS",
        ),
        (
            vec![Attribute::XorRelayedAddress(relayed())],
            "XOR-MAPPED-ADDRESS",
        ),
        (
            vec![
                Attribute::XorRelayedAddress(relayed()),
                Attribute::XorMappedAddress(mapped()),
                Attribute::Lifetime(0),
            ],
            "LIFETIME 0",
        ),
    ] {
        let (mut c, req) = challenged(t0);
        let r = respond(
            &parse(&req),
            Class::SuccessResponse,
            &attrs,
            Some(&md5_key()),
            false,
        );
        c.handle_receive(t0, server(), &r);
        let ev = drain_events(&mut c);
        match ev.as_slice() {
            [TurnEvent::AllocationFailed(TurnError::MalformedResponse { what: w })] => {
                assert!(w.contains(what), "{w}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn bad_request_without_integrity_is_discarded() {
    // RFC 8489 §9.2.5: a 400 without MESSAGE-INTEGRITY to a signed request
    // is discarded as if never received.
    let t0 = Instant::now();
    let (mut c, req) = challenged(t0);
    let r = error(&parse(&req), 400, None);
    assert_eq!(c.handle_datagram(t0, server(), &r), Received::Dropped);
    assert!(drain_events(&mut c).is_empty());
    assert!(c.poll_timeout().is_some());
}

#[test]
fn response_with_wrong_method_or_unknown_tid_is_ignored() {
    let t0 = Instant::now();
    let (mut c, req) = challenged(t0);
    let m = parse(&req);
    // Same transaction id, different method.
    let mut buf = Vec::new();
    let mut b = tern_stun::MessageBuilder::new(
        &mut buf,
        tern_stun::MessageType::new(Class::SuccessResponse, method::REFRESH),
        m.transaction_id(),
    );
    b.add_message_integrity(&md5_key()).unwrap();
    assert_eq!(c.handle_datagram(t0, server(), &buf), Received::Dropped);
    // Unknown transaction: left for someone else (ICE may share the socket).
    let mut buf = Vec::new();
    let mut b = tern_stun::MessageBuilder::new(
        &mut buf,
        tern_stun::MessageType::new(Class::SuccessResponse, method::BINDING),
        tern_stun::TransactionId([9; 12]),
    );
    b.add(&Attribute::XorMappedAddress(mapped())).unwrap();
    assert_eq!(
        c.handle_datagram(t0, server(), &buf),
        Received::NotForClient
    );
    assert!(!c.is_allocated());
}

/// PASSWORD-ALGORITHMS in the 401 (RFC 8489 §9.2.4-9.2.5): the client echoes
/// the list, picks the first it supports, and signs with
/// MESSAGE-INTEGRITY-SHA256 only, keyed with SHA-256(user:realm:pass).
#[test]
fn password_algorithms_sha256() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    let list = encode_password_algorithms(&[
        PasswordAlgorithm {
            algorithm: 0x7777,
            params: &[1, 2],
        },
        PasswordAlgorithm {
            algorithm: PASSWORD_ALGORITHM_SHA256,
            params: &[],
        },
        PasswordAlgorithm {
            algorithm: PASSWORD_ALGORITHM_MD5,
            params: &[],
        },
    ])
    .unwrap();
    // "AAAB": the password-algorithms security feature bit.
    let nonce = "obMatJos2AAABrest-of-nonce";
    let r = respond(
        &parse(&first),
        Class::ErrorResponse,
        &[
            Attribute::ErrorCode {
                code: 401,
                reason: "Unauthenticated",
            },
            Attribute::Realm(REALM),
            Attribute::Nonce(nonce),
            Attribute::PasswordAlgorithms(&list),
        ],
        None,
        false,
    );
    c.handle_receive(t0, server(), &r);
    let second = drain_transmits(&mut c).remove(0);
    let m = parse(&second);
    assert_eq!(m.raw(attr_type::PASSWORD_ALGORITHMS), Some(&list[..]));
    assert_eq!(
        m.get(attr_type::PASSWORD_ALGORITHM).unwrap().unwrap(),
        Attribute::PasswordAlgorithm(PasswordAlgorithm {
            algorithm: PASSWORD_ALGORITHM_SHA256,
            params: &[]
        })
    );
    assert_eq!(m.integrity(), Some(Integrity::Sha256));
    assert!(
        m.raw(attr_type::MESSAGE_INTEGRITY).is_none(),
        "SHA-256 only"
    );
    let key = IntegrityKey::long_term_sha256(USER, REALM, PASS);
    assert_eq!(m.verify_integrity(&key), Ok(Integrity::Sha256));
    m.verify_fingerprint().unwrap();
    // The success must carry MESSAGE-INTEGRITY-SHA256: an SHA-1 one is refused.
    let attrs = [
        Attribute::XorRelayedAddress(relayed()),
        Attribute::XorMappedAddress(mapped()),
        Attribute::Lifetime(600),
    ];
    let sha1 = respond(&m, Class::SuccessResponse, &attrs, Some(&key), false);
    assert_eq!(c.handle_datagram(t0, server(), &sha1), Received::Dropped);
    let ok = respond(&m, Class::SuccessResponse, &attrs, Some(&key), true);
    assert_eq!(c.handle_datagram(t0, server(), &ok), Received::Handled);
    assert!(c.is_allocated());
    // Later requests keep the negotiated algorithm.
    c.create_permission(t0, peer().ip()).unwrap();
    let cp = drain_transmits(&mut c).remove(0);
    let cp = parse(&cp);
    assert_eq!(cp.verify_integrity(&key), Ok(Integrity::Sha256));
    assert_eq!(cp.raw(attr_type::PASSWORD_ALGORITHMS), Some(&list[..]));
}

#[test]
fn password_algorithms_md5_first_and_unsupported() {
    let t0 = Instant::now();
    for (algs, expect) in [
        (
            vec![PASSWORD_ALGORITHM_MD5, PASSWORD_ALGORITHM_SHA256],
            Ok(PASSWORD_ALGORITHM_MD5),
        ),
        (vec![0x0099], Err(TurnError::UnsupportedPasswordAlgorithms)),
    ] {
        let mut c = client(config(TurnTransport::Udp));
        c.allocate(t0).unwrap();
        let first = drain_transmits(&mut c).remove(0);
        let entries: Vec<_> = algs
            .iter()
            .map(|a| PasswordAlgorithm {
                algorithm: *a,
                params: &[],
            })
            .collect();
        let list = encode_password_algorithms(&entries).unwrap();
        let r = respond(
            &parse(&first),
            Class::ErrorResponse,
            &[
                Attribute::ErrorCode {
                    code: 401,
                    reason: "Unauthenticated",
                },
                Attribute::Realm(REALM),
                Attribute::Nonce("obMatJos2AAABx"),
                Attribute::PasswordAlgorithms(&list),
            ],
            None,
            false,
        );
        c.handle_receive(t0, server(), &r);
        match expect {
            Ok(alg) => {
                let m = drain_transmits(&mut c).remove(0);
                let m = parse(&m);
                assert_eq!(
                    m.get(attr_type::PASSWORD_ALGORITHM).unwrap().unwrap(),
                    Attribute::PasswordAlgorithm(PasswordAlgorithm {
                        algorithm: alg,
                        params: &[]
                    })
                );
                // MD5 key, but MESSAGE-INTEGRITY-SHA256 (the list was present).
                assert_eq!(m.verify_integrity(&md5_key()), Ok(Integrity::Sha256));
            }
            Err(e) => {
                assert!(drain_transmits(&mut c).is_empty());
                assert_eq!(drain_events(&mut c), vec![TurnEvent::AllocationFailed(e)]);
            }
        }
    }
}

#[test]
fn bid_down_is_detected() {
    // The cookie says PASSWORD-ALGORITHMS, but an attacker stripped it.
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    c.handle_receive(
        t0,
        server(),
        &challenge(&parse(&first), 401, "obMatJos2AAABxyz"),
    );
    assert!(drain_transmits(&mut c).is_empty());
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationFailed(TurnError::BidDownDetected)]
    );
}

#[test]
fn username_anonymity_sends_userhash() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Udp));
    c.allocate(t0).unwrap();
    let first = drain_transmits(&mut c).remove(0);
    // "AAAC": the username-anonymity bit only.
    c.handle_receive(
        t0,
        server(),
        &challenge(&parse(&first), 401, "obMatJos2AAACabc"),
    );
    let second = drain_transmits(&mut c).remove(0);
    let m = parse(&second);
    assert!(m.username().is_none());
    let h = tern_stun::userhash(USER, REALM);
    assert_eq!(
        m.get(attr_type::USERHASH).unwrap().unwrap(),
        Attribute::UserHash(&h)
    );
    assert_eq!(m.verify_integrity(&md5_key()), Ok(Integrity::Sha1));
}

#[test]
fn close_without_answer_still_deallocates() {
    let t0 = Instant::now();
    let (mut c, _s) = allocated(config(TurnTransport::Udp), t0);
    c.close(t0);
    assert_eq!(drain_transmits(&mut c).len(), 1);
    let mut now = t0;
    while let Some(t) = c.poll_timeout() {
        now = t;
        c.handle_timeout(now);
    }
    assert_eq!(now - t0, Duration::from_millis(39_500));
    assert_eq!(drain_events(&mut c), vec![TurnEvent::Deallocated]);
    assert!(c.is_closed());
    // 437 to the deallocating Refresh also means done.
    let (mut c, _s) = allocated(config(TurnTransport::Udp), t0);
    c.close(t0);
    let bye = drain_transmits(&mut c).remove(0);
    c.handle_receive(t0, server(), &error(&parse(&bye), 437, Some(&md5_key())));
    assert_eq!(drain_events(&mut c), vec![TurnEvent::Deallocated]);
}
