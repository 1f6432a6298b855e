//! DTLS costs: a full handshake (both sides, in memory), and record
//! protect + unprotect at 1,200-byte records next to bare AES-128-GCM from
//! aws-lc-rs (through tern-crypto) on the same bytes.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
#![allow(clippy::disallowed_methods)] // an arbitrary origin for time

use std::sync::Arc;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tern_crypto::aead::{AeadAlgorithm, AeadKey};
use tern_crypto::cert::Certificate;
use tern_crypto::SeededRandom;
use tern_dtls::{CipherSuite, Dtls, DtlsConfig};

fn connected_pair(
    suite: CipherSuite,
    cc: &Arc<Certificate>,
    sc: &Arc<Certificate>,
    seed: u64,
) -> (Dtls, Dtls) {
    let now = Instant::now();
    let mut ccfg = DtlsConfig::new(cc.clone());
    ccfg.cipher_suites = vec![suite];
    let mut c = Dtls::new_client(
        ccfg,
        Box::new(SeededRandom::new(seed)),
        Some(sc.fingerprint()),
        now,
    );
    let mut s = Dtls::new_server(
        DtlsConfig::new(sc.clone()),
        Box::new(SeededRandom::new(seed + 1)),
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
    (c, s)
}

fn bench(c: &mut Criterion) {
    let mut rng = SeededRandom::new(1);
    let cc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let sc = Arc::new(Certificate::generate_self_signed(&mut rng).unwrap());
    let mut seed = 10;
    c.bench_function(
        "dtls/full handshake, both sides (AES-128-GCM, X25519, cookie)",
        |b| {
            b.iter(|| {
                seed += 2;
                black_box(connected_pair(
                    CipherSuite::EcdheEcdsaAes128GcmSha256,
                    &cc,
                    &sc,
                    seed,
                ))
            })
        },
    );

    let payload = vec![7u8; 1200];
    let mut g = c.benchmark_group("records 1200 B: seal + open");
    g.throughput(Throughput::Bytes(1200));
    for suite in CipherSuite::ALL {
        let (mut client, mut server) = connected_pair(suite, &cc, &sc, 99);
        let mut buf = Vec::with_capacity(2048);
        let now = Instant::now();
        g.bench_function(format!("tern-dtls {}", suite.openssl_name()), |b| {
            b.iter(|| {
                buf.clear();
                client.seal_application_data(&payload, &mut buf).unwrap();
                black_box(server.handle_receive_in_place(now, &mut buf).unwrap());
            })
        });
    }
    let key = AeadKey::new(AeadAlgorithm::Aes128Gcm, &[3u8; 16]).unwrap();
    let mut buf = vec![0u8; 1200 + 16];
    let mut n: u64 = 0;
    g.bench_function("bare aws-lc AES-128-GCM seal + open", |b| {
        b.iter(|| {
            n += 1;
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&n.to_be_bytes());
            buf[..1200].copy_from_slice(&payload);
            let tag = key
                .seal_in_place(nonce, &[0u8; 13], &mut buf[..1200])
                .unwrap();
            buf[1200..].copy_from_slice(&tag);
            black_box(key.open_in_place(nonce, &[0u8; 13], &mut buf).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
