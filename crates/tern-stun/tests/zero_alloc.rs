//! Parsing, integrity checking and fingerprint checking allocate nothing on
//! the Rust heap: dhat's global allocator counts every allocation in this
//! test binary, and the count does not move across 1,000 checks.
//!
//! (aws-lc's HMAC runs in C; its context lives on the stack in aws-lc-rs, and
//! the `c_heap_unchanged` note in the performance report covers the C side.)

use tern_stun::{
    method, Attribute, Class, IntegrityKey, Message, MessageBuilder, MessageType, TransactionId,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Runs on the main thread with no test harness: libtest's own threads
/// allocate now and then while a test runs (seen under load), and dhat
/// counts every thread's allocations.
fn main() {
    parse_integrity_fingerprint_do_not_allocate();
    println!("test result: ok. 1 passed; 0 failed; 0 ignored (zero_alloc: parse_integrity_fingerprint_do_not_allocate)");
}

fn parse_integrity_fingerprint_do_not_allocate() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let key = IntegrityKey::short_term("a-password-of-22-chars");
    let mut buf = Vec::with_capacity(256);
    {
        let mut b = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([7; 12]),
        );
        b.add(&Attribute::Username("abcd:efgh")).unwrap();
        b.add(&Attribute::Priority(0x6e0001ff)).unwrap();
        b.add(&Attribute::IceControlling(42)).unwrap();
        b.add(&Attribute::UseCandidate).unwrap();
        b.add(&Attribute::XorMappedAddress(
            "[2001:db8::1]:9".parse().unwrap(),
        ))
        .unwrap();
        b.add_message_integrity(&key).unwrap();
        b.add_fingerprint().unwrap();
    }
    // The counter sees allocations (so this test can fail).
    let before = dhat::HeapStats::get();
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(8));
    drop(v);
    assert_eq!(dhat::HeapStats::get().total_blocks, before.total_blocks + 1);

    let before = dhat::HeapStats::get();
    let mut sum = 0u64;
    for _ in 0..1000 {
        let m = Message::parse(&buf).unwrap();
        m.verify_integrity(&key).unwrap();
        m.verify_fingerprint().unwrap();
        sum += u64::from(m.priority().unwrap()) + m.ice_controlling().unwrap();
        sum += u64::from(m.use_candidate()) + m.mapped_address().unwrap().port() as u64;
        sum += m.username().unwrap().len() as u64;
    }
    let after = dhat::HeapStats::get();
    assert!(sum > 0);
    dhat::assert_eq!(after.total_blocks, before.total_blocks);

    // Building into a reused buffer with spare capacity does not allocate either.
    let before = dhat::HeapStats::get();
    for _ in 0..1000 {
        let mut b = MessageBuilder::new(
            &mut buf,
            MessageType::new(Class::Request, method::BINDING),
            TransactionId([7; 12]),
        );
        b.add(&Attribute::Username("abcd:efgh")).unwrap();
        b.add(&Attribute::Priority(1)).unwrap();
        b.add_message_integrity(&key).unwrap();
        b.add_fingerprint().unwrap();
    }
    let after = dhat::HeapStats::get();
    dhat::assert_eq!(after.total_blocks, before.total_blocks);
}
