//! Parse + MESSAGE-INTEGRITY + FINGERPRINT of the same ICE check in
//! tern-stun and in webrtc-rs's `stun`, in one run.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tern_stun::{method, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType, TransactionId};

const PWD: &str = "a-password-of-22-chars";

fn check_request() -> Vec<u8> {
    let key = IntegrityKey::short_term(PWD);
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(&mut buf, MessageType::new(Class::Request, method::BINDING), TransactionId([7; 12]));
    b.add(&Attribute::Username("abcd:efgh")).unwrap();
    b.add(&Attribute::Priority(0x6e0001ff)).unwrap();
    b.add(&Attribute::IceControlling(0x1234_5678_9abc_def0)).unwrap();
    b.add(&Attribute::UseCandidate).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    buf
}

fn bench(c: &mut Criterion) {
    let req = check_request();
    let mut g = c.benchmark_group("stun parse+integrity+fingerprint");
    let key = IntegrityKey::short_term(PWD);
    g.bench_function("tern-stun", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&req)).unwrap();
            m.verify_integrity(&key).unwrap();
            m.verify_fingerprint().unwrap();
            m.priority()
        })
    });
    let integrity = stun::integrity::MessageIntegrity::new_short_term_integrity(PWD.to_owned());
    g.bench_function("webrtc-rs stun 0.17", |b| {
        b.iter(|| {
            let mut m = stun::message::Message::new();
            m.raw = black_box(&req).clone();
            m.decode().unwrap();
            integrity.check(&mut m).unwrap();
            stun::fingerprint::FINGERPRINT.check(&m).unwrap();
            m.typ
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
