//! Property tests: arbitrary input never panics the codec, and everything we
//! build parses back to what we put in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use tern_stun::{
    Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType, Method, TransactionId,
};

fn exercise(buf: &[u8]) {
    if let Ok(m) = Message::parse(buf) {
        let tid = m.transaction_id();
        for a in m.attributes() {
            if let Ok(attr) = Attribute::decode(a.attr_type, a.value, &tid) {
                let _ = attr.password_algorithms().count();
                let mut out = Vec::new();
                let _ = attr.encode_value(&mut out, &tid);
            }
        }
        let _ = m.verify_integrity(&IntegrityKey::short_term("pw"));
        let _ = m.verify_fingerprint();
        let _ = (
            m.username(),
            m.priority(),
            m.mapped_address(),
            m.error_code(),
        );
        let _ = m.unknown_comprehension_required().count();
        let _ = format!("{m:?}");
    }
    let _ = tern_stun::is_stun(buf);
}

#[derive(Debug, Clone)]
enum Owned {
    Xor(SocketAddr),
    Mapped(SocketAddr),
    Username(String),
    Priority(u32),
    Controlling(u64),
    Error(u16, String),
    Data(Vec<u8>),
    Lifetime(u32),
    Unknown(u16, Vec<u8>),
    UseCandidate,
}

impl Owned {
    fn as_attr(&self) -> Attribute<'_> {
        match self {
            Owned::Xor(a) => Attribute::XorMappedAddress(*a),
            Owned::Mapped(a) => Attribute::MappedAddress(*a),
            Owned::Username(s) => Attribute::Username(s),
            Owned::Priority(p) => Attribute::Priority(*p),
            Owned::Controlling(t) => Attribute::IceControlling(*t),
            Owned::Error(c, r) => Attribute::ErrorCode {
                code: *c,
                reason: r,
            },
            Owned::Data(d) => Attribute::Data(d),
            Owned::Lifetime(l) => Attribute::Lifetime(*l),
            Owned::Unknown(t, v) => Attribute::Unknown {
                attr_type: *t,
                value: v,
            },
            Owned::UseCandidate => Attribute::UseCandidate,
        }
    }
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(a, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), p)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(a, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), p)),
    ]
}

fn owned() -> impl Strategy<Value = Owned> {
    prop_oneof![
        addr().prop_map(Owned::Xor),
        addr().prop_map(Owned::Mapped),
        "[a-zA-Z0-9+/:]{0,64}".prop_map(Owned::Username),
        any::<u32>().prop_map(Owned::Priority),
        any::<u64>().prop_map(Owned::Controlling),
        (300u16..700, "[ -~]{0,40}").prop_map(|(c, r)| Owned::Error(c, r)),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Owned::Data),
        any::<u32>().prop_map(Owned::Lifetime),
        // Comprehension-optional unknown types that do not collide with known ones.
        (
            0xC000u16..0xFFFF,
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(t, v)| Owned::Unknown(t, v)),
        Just(Owned::UseCandidate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }

    #[test]
    fn arbitrary_bytes_with_a_stun_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        typ in 0u16..0x4000,
    ) {
        // Give random bodies a valid header so the attribute walker is what gets fuzzed.
        let len = body.len() & !3;
        let mut buf = Vec::new();
        buf.extend_from_slice(&typ.to_be_bytes());
        buf.extend_from_slice(&(len as u16).to_be_bytes());
        buf.extend_from_slice(&tern_stun::MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&[1; 12]);
        buf.extend_from_slice(&body[..len]);
        exercise(&buf);
    }

    #[test]
    fn built_messages_round_trip(
        attrs in proptest::collection::vec(owned(), 0..12),
        tid in any::<[u8; 12]>(),
        m in 0u16..0x1000,
        class in 0u8..4,
        integrity in any::<bool>(),
        sha256 in any::<bool>(),
        fingerprint in any::<bool>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let class = [Class::Request, Class::Indication, Class::SuccessResponse, Class::ErrorResponse][class as usize];
        let typ = MessageType::new(class, Method(m));
        let key = IntegrityKey::short_term("secret");
        let mut buf = Vec::new();
        let mut b = MessageBuilder::new(&mut buf, typ, TransactionId(tid));
        for a in &attrs {
            b.add(&a.as_attr()).unwrap();
        }
        if integrity { b.add_message_integrity(&key).unwrap(); }
        if sha256 { b.add_message_integrity_sha256(&key).unwrap(); }
        if fingerprint { b.add_fingerprint().unwrap(); }
        let msg = Message::parse(&buf).unwrap();
        prop_assert_eq!(msg.message_type(), typ);
        prop_assert_eq!(msg.transaction_id(), TransactionId(tid));
        let decoded: Vec<_> = msg.attributes().map(|r| Attribute::decode(r.attr_type, r.value, &TransactionId(tid)).unwrap()).collect();
        let expected: Vec<_> = attrs.iter().map(|a| a.as_attr()).collect();
        prop_assert_eq!(decoded, expected);
        if integrity || sha256 {
            prop_assert!(msg.verify_integrity(&key).is_ok());
            prop_assert!(msg.verify_integrity(&IntegrityKey::short_term("other")).is_err());
        }
        if fingerprint {
            prop_assert!(msg.verify_fingerprint().is_ok());
        }
        // One flipped bit anywhere after the header's type is caught by
        // something: framing, integrity, or fingerprint (when present).
        if (integrity || sha256) && fingerprint {
            let i = 4 + flip.index(buf.len() - 4);
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            if let Ok(m) = Message::parse(&bad) {
                prop_assert!(m.verify_integrity(&key).is_err() || m.verify_fingerprint().is_err());
            }
        }
    }
}
