//! Long-term credentials, nonces and REST usernames.

use super::*;

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
