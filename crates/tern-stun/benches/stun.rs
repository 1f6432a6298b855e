//! STUN hot path: parse + MESSAGE-INTEGRITY + FINGERPRINT of an ICE
//! connectivity check, and building one.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tern_stun::{
    method, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType, TransactionId,
};

fn check_request(key: &IntegrityKey) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::Request, method::BINDING),
        TransactionId([7; 12]),
    );
    b.add(&Attribute::Username("abcd:efgh")).unwrap();
    b.add(&Attribute::Priority(0x6e0001ff)).unwrap();
    b.add(&Attribute::IceControlling(0x1234_5678_9abc_def0))
        .unwrap();
    b.add(&Attribute::UseCandidate).unwrap();
    b.add_message_integrity(key).unwrap();
    b.add_fingerprint().unwrap();
    buf
}

fn bench(c: &mut Criterion) {
    let key = IntegrityKey::short_term("a-password-of-22-chars");
    let req = check_request(&key);
    c.bench_function("stun/parse", |b| {
        b.iter(|| Message::parse(black_box(&req)).unwrap().priority())
    });
    c.bench_function("stun/parse+integrity+fingerprint", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&req)).unwrap();
            m.verify_integrity(&key).unwrap();
            m.verify_fingerprint().unwrap();
            m.priority()
        })
    });
    let mut out = Vec::with_capacity(128);
    c.bench_function("stun/build check (integrity+fingerprint)", |b| {
        b.iter(|| {
            let mut m = MessageBuilder::new(
                &mut out,
                MessageType::new(Class::Request, method::BINDING),
                TransactionId([7; 12]),
            );
            m.add(&Attribute::Username("abcd:efgh")).unwrap();
            m.add(&Attribute::Priority(0x6e0001ff)).unwrap();
            m.add(&Attribute::IceControlling(1)).unwrap();
            m.add_message_integrity(&key).unwrap();
            m.add_fingerprint().unwrap();
            black_box(m.finish().len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
