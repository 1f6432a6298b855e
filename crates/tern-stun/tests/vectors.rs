//! RFC 5769 "Test Vectors for STUN", every sample message, byte for byte.

use std::net::SocketAddr;

use tern_stun::{
    attr_type, method, Attribute, Class, Integrity, IntegrityKey, Message, MessageBuilder,
    MessageType, StunError, TransactionId,
};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
const TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];

/// RFC 5769 §2.1 Sample Request.
fn request() -> Vec<u8> {
    h("0001 0058 2112a442 b7e7a701bc34d686fa87dfae
       8022 0010 5354554e 20746573 7420636c 69656e74
       0024 0004 6e0001ff
       8029 0008 932ff9b1 51263b36
       0006 0009 6576746a 3a683676 59202020
       0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
       8028 0004 e57a3bcf")
}

/// RFC 5769 §2.2 Sample IPv4 Response.
fn response_v4() -> Vec<u8> {
    h("0101 003c 2112a442 b7e7a701bc34d686fa87dfae
       8022 000b 74657374 20766563 746f7220
       0020 0008 0001a147 e112a643
       0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
       8028 0004 c07d4c96")
}

/// RFC 5769 §2.3 Sample IPv6 Response.
fn response_v6() -> Vec<u8> {
    h("0101 0048 2112a442 b7e7a701bc34d686fa87dfae
       8022 000b 74657374 20766563 746f7220
       0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
       0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
       8028 0004 c8fb0b4c")
}

/// RFC 5769 §2.4 Sample Request with Long-Term Authentication.
fn request_long_term() -> Vec<u8> {
    h("0001 0060 2112a442 78ad3433c6ad72c029da412e
       0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
       0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
       0014 000b 6578616d 706c652e 6f726700
       0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666")
}

#[test]
fn rfc5769_2_1_sample_request() {
    let buf = request();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(
        m.message_type(),
        MessageType::new(Class::Request, method::BINDING)
    );
    assert_eq!(m.transaction_id(), TransactionId(TID));
    assert_eq!(
        m.get(attr_type::SOFTWARE).unwrap().unwrap(),
        Attribute::Software("STUN test client")
    );
    assert_eq!(m.priority(), Some(0x6e0001ff));
    assert_eq!(m.ice_controlled(), Some(0x932ff9b151263b36));
    assert_eq!(m.username(), Some("evtj:h6vY"));
    assert_eq!(
        m.verify_integrity(&IntegrityKey::short_term(PASSWORD)),
        Ok(Integrity::Sha1)
    );
    assert_eq!(m.verify_fingerprint(), Ok(()));
    assert_eq!(
        m.verify_integrity(&IntegrityKey::short_term("wrong")),
        Err(StunError::IntegrityMismatch)
    );
}

#[test]
fn rfc5769_2_2_ipv4_response() {
    let buf = response_v4();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.class(), Class::SuccessResponse);
    let expected: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    assert_eq!(m.mapped_address(), Some(expected));
    assert_eq!(
        m.get(attr_type::SOFTWARE).unwrap().unwrap(),
        Attribute::Software("test vector")
    );
    assert_eq!(
        m.verify_integrity(&IntegrityKey::short_term(PASSWORD)),
        Ok(Integrity::Sha1)
    );
    assert_eq!(m.verify_fingerprint(), Ok(()));
}

#[test]
fn rfc5769_2_3_ipv6_response() {
    let buf = response_v6();
    let m = Message::parse(&buf).unwrap();
    let expected: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    assert_eq!(m.mapped_address(), Some(expected));
    assert_eq!(
        m.verify_integrity(&IntegrityKey::short_term(PASSWORD)),
        Ok(Integrity::Sha1)
    );
    assert_eq!(m.verify_fingerprint(), Ok(()));
}

#[test]
fn rfc5769_2_4_long_term_request() {
    let buf = request_long_term();
    let m = Message::parse(&buf).unwrap();
    let username = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
    assert_eq!(m.username(), Some(username));
    assert_eq!(
        m.get(attr_type::REALM).unwrap().unwrap(),
        Attribute::Realm("example.org")
    );
    assert_eq!(
        m.get(attr_type::NONCE).unwrap().unwrap(),
        Attribute::Nonce("f//499k954d6OL34oL9FSTvy64sA")
    );
    // The RFC's password is "The<U+00AD>M<U+00AA>tr<U+2168>"; after SASLprep it is
    // "TheMatrIX", which is what the key is computed from (we do not normalise).
    let key = IntegrityKey::long_term_md5(username, "example.org", "TheMatrIX");
    assert_eq!(m.verify_integrity(&key), Ok(Integrity::Sha1));
    assert_eq!(m.verify_fingerprint(), Err(StunError::NoFingerprint));
}

/// Rebuilding §2.2 with our builder gives the RFC's bytes exactly (the
/// SOFTWARE padding in the RFC is 0x20; ours is zero, so compare after
/// building with the same value and checking integrity independently).
#[test]
fn builder_reproduces_rfc5769_2_2() {
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::SuccessResponse, method::BINDING),
        TransactionId(TID),
    );
    b.add(&Attribute::Software("test vector")).unwrap();
    b.add(&Attribute::XorMappedAddress(
        "192.0.2.1:32853".parse().unwrap(),
    ))
    .unwrap();
    b.add_message_integrity(&IntegrityKey::short_term(PASSWORD))
        .unwrap();
    b.add_fingerprint().unwrap();
    let ours = b.finish().to_vec();
    let mut rfc = response_v4();
    rfc[35] = 0; // the RFC pads SOFTWARE with 0x20; we pad with zero
                 // Integrity and fingerprint cover the padding, so ours differ there; the
                 // rest must match byte for byte and ours must verify.
    assert_eq!(&ours[..52], &rfc[..52]);
    let m = Message::parse(&ours).unwrap();
    m.verify_integrity(&IntegrityKey::short_term(PASSWORD))
        .unwrap();
    m.verify_fingerprint().unwrap();
}

#[test]
fn mi_sha256_and_userhash_round_trip() {
    let mut buf = Vec::new();
    let key = IntegrityKey::long_term_sha256("user", "realm", "pass");
    let uh = tern_stun::userhash("user", "realm");
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::Request, method::ALLOCATE),
        TransactionId([3; 12]),
    );
    b.add(&Attribute::UserHash(&uh)).unwrap();
    b.add(&Attribute::RequestedTransport(17)).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_message_integrity_sha256(&key).unwrap();
    b.add_fingerprint().unwrap();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(m.verify_integrity(&key), Ok(Integrity::Sha256));
    m.verify_fingerprint().unwrap();
    assert_eq!(
        m.get(attr_type::USERHASH).unwrap().unwrap(),
        Attribute::UserHash(&uh)
    );
    let wrong = IntegrityKey::long_term_md5("user", "realm", "pass");
    assert_eq!(
        m.verify_integrity(&wrong),
        Err(StunError::IntegrityMismatch)
    );
}

#[test]
fn tampering_is_detected() {
    let key = IntegrityKey::short_term(PASSWORD);
    let orig = request();
    for i in 0..orig.len() {
        let mut buf = orig.clone();
        buf[i] ^= 0x01;
        match Message::parse(&buf) {
            Err(_) => {}
            Ok(m) => {
                let integrity_ok = m.verify_integrity(&key).is_ok();
                let fp_ok = m.verify_fingerprint().is_ok();
                assert!(!(integrity_ok && fp_ok), "flipping byte {i} went unnoticed");
            }
        }
    }
}

#[test]
fn framing_errors() {
    let buf = request();
    assert_eq!(
        Message::parse(&buf[..10]).unwrap_err(),
        StunError::Truncated
    );
    assert_eq!(
        Message::parse(&buf[..buf.len() - 4]).unwrap_err(),
        StunError::Truncated
    );
    let mut longer = buf.clone();
    longer.extend_from_slice(&[0; 4]);
    assert!(matches!(
        Message::parse(&longer),
        Err(StunError::LengthMismatch { .. })
    ));
    let mut no_cookie = buf.clone();
    no_cookie[4] = 0;
    assert_eq!(Message::parse(&no_cookie).unwrap_err(), StunError::NotStun);
    let mut rtp = buf.clone();
    rtp[0] = 0x80;
    assert_eq!(Message::parse(&rtp).unwrap_err(), StunError::NotStun);
    // An attribute whose length points past the end.
    let mut overrun = buf.clone();
    overrun[22] = 0xff;
    assert!(matches!(
        Message::parse(&overrun),
        Err(StunError::AttributeOverrun { .. })
    ));
    // Anything after FINGERPRINT.
    let mut after = buf.clone();
    after.extend_from_slice(&[0x80, 0x22, 0, 0]);
    let len = (after.len() - 20) as u16;
    after[2..4].copy_from_slice(&len.to_be_bytes());
    assert_eq!(
        Message::parse(&after).unwrap_err(),
        StunError::AttributeAfterFingerprint
    );
}

#[test]
fn attributes_after_integrity_are_ignored() {
    // RFC 8489 §14.5: after MESSAGE-INTEGRITY only -SHA256 and FINGERPRINT count.
    let key = IntegrityKey::short_term("pw");
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::Request, method::BINDING),
        TransactionId([1; 12]),
    );
    b.add(&Attribute::Username("a:b")).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add(&Attribute::Priority(5)).unwrap();
    b.add_fingerprint().unwrap();
    let m = Message::parse(&buf).unwrap();
    assert_eq!(
        m.priority(),
        None,
        "PRIORITY after MESSAGE-INTEGRITY must be ignored"
    );
    assert_eq!(m.username(), Some("a:b"));
    m.verify_integrity(&key).unwrap();
    m.verify_fingerprint().unwrap();
}
