//! Sealing and opening application-data records on the hot path allocates
//! nothing on the Rust heap (dhat counts every allocation in this binary).
#![allow(clippy::disallowed_methods)] // an arbitrary origin for time

use std::sync::Arc;
use std::time::Instant;

use tern_crypto::cert::Certificate;
use tern_crypto::SeededRandom;
use tern_dtls::{Dtls, DtlsConfig};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Runs on the main thread with no test harness: libtest's own threads
/// allocate now and then while a test runs (seen under load), and dhat
/// counts every thread's allocations.
fn main() {
    records_on_the_hot_path_do_not_allocate();
    println!("test result: ok. 1 passed; 0 failed; 0 ignored (zero_alloc: records_on_the_hot_path_do_not_allocate)");
}

fn records_on_the_hot_path_do_not_allocate() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut rng = SeededRandom::new(1);
    let cc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let sc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let now = Instant::now();
    let mut c = Dtls::new_client(
        DtlsConfig::new(cc.clone()),
        Box::new(SeededRandom::new(2)),
        Some(sc.fingerprint()),
        now,
    );
    let mut s = Dtls::new_server(
        DtlsConfig::new(sc),
        Box::new(SeededRandom::new(3)),
        Some(cc.fingerprint()),
        b"p",
    );
    c.handle_timeout(now);
    for _ in 0..10 {
        while let Some(d) = c.poll_transmit() {
            s.handle_receive(now, &d);
        }
        while let Some(d) = s.poll_transmit() {
            c.handle_receive(now, &d);
        }
    }
    assert!(c.is_connected() && s.is_connected());
    while c.poll_event().is_some() {}
    while s.poll_event().is_some() {}

    let payload = vec![7u8; 1200];
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    // Warm up once, then count.
    c.seal_application_data(&payload, &mut buf).unwrap();
    assert!(s.handle_receive_in_place(now, &mut buf).is_some());
    let before = dhat::HeapStats::get();
    let mut total = 0usize;
    for _ in 0..1000 {
        buf.clear();
        c.seal_application_data(&payload, &mut buf).unwrap();
        let r = s
            .handle_receive_in_place(now, &mut buf)
            .expect("an application-data record");
        total += buf[r].len();
    }
    let after = dhat::HeapStats::get();
    assert_eq!(total, 1200 * 1000);
    dhat::assert_eq!(after.total_blocks, before.total_blocks);
}
