//! SRTP hot path: protect and unprotect of a 1,200-byte RTP packet, next to
//! the bare tern-crypto primitives on the same bytes (AES-128-CTR +
//! HMAC-SHA1-80, AES-128-GCM), so the cost of SRTP itself (header parse,
//! index estimation, replay check, IV) is the difference.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use tern_crypto::aead::{AeadAlgorithm, AeadKey};
use tern_crypto::ctr::AesCtrKey;
use tern_crypto::hmac::HmacSha1Key;
use tern_srtp::{DtlsRole, ProtectionProfile, Protector, SrtpConfig, SrtpKeys, Unprotector};

const LEN: usize = 1200;
const HEADER: usize = 12;

fn packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0xabu8; LEN + 16];
    p[..HEADER].copy_from_slice(&[0x80, 96, 0, 0, 0, 0, 0x10, 0, 0xca, 0xfe, 0xba, 0xbe]);
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p
}

fn contexts(profile: ProtectionProfile) -> (Protector, Unprotector) {
    let material = vec![0x42; profile.keying_material_len()];
    let a = SrtpKeys::from_exporter(profile, &material, DtlsRole::Client).unwrap();
    let b = SrtpKeys::from_exporter(profile, &material, DtlsRole::Server).unwrap();
    (
        a.contexts(SrtpConfig::default()).unwrap().0,
        b.contexts(SrtpConfig::default()).unwrap().1,
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("srtp 1200B");

    // --- AES_CM_128_HMAC_SHA1_80 and its bare primitives -----------------
    let (mut tx, mut rx) = contexts(ProtectionProfile::Aes128CmHmacSha1_80);
    let mut buf = packet(1);
    g.bench_function("protect_rtp CM_HMAC_SHA1_80", |b| {
        b.iter(|| black_box(tx.protect_rtp(black_box(&mut buf), LEN).unwrap()))
    });
    let ctr = AesCtrKey::new(&[7; 16]).unwrap();
    let mac = HmacSha1Key::new(&[9; 20]);
    let iv = [3u8; 16];
    let roc = [0u8; 4];
    g.bench_function("bare AES-128-CTR + HMAC-SHA1 (seal)", |b| {
        b.iter(|| {
            let (h, rest) = buf.split_at_mut(HEADER);
            let (payload, tag) = rest.split_at_mut(LEN - HEADER);
            ctr.apply_keystream(iv, payload).unwrap();
            let t = mac.sign(&[h, payload, &roc]);
            tag[..10].copy_from_slice(&t[..10]);
            black_box(tag[0])
        })
    });
    let mut seq = 0u16;
    g.bench_function("unprotect_rtp CM_HMAC_SHA1_80", |b| {
        b.iter_batched(
            || {
                seq = seq.wrapping_add(1);
                let mut p = packet(seq);
                tx.protect_rtp(&mut p, LEN).unwrap();
                p
            },
            |mut p| black_box(rx.unprotect_rtp(&mut p[..LEN + 10]).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("bare AES-128-CTR + HMAC-SHA1 (open)", |b| {
        b.iter_batched(
            || {
                let mut p = packet(1);
                let (h, rest) = p.split_at_mut(HEADER);
                let (payload, tag) = rest.split_at_mut(LEN - HEADER);
                let t = mac.sign(&[h, payload, &roc]);
                tag[..10].copy_from_slice(&t[..10]);
                p
            },
            |mut p| {
                let (authenticated, rest) = p.split_at_mut(LEN);
                assert!(mac.verify(&[authenticated, &roc], &rest[..10]));
                ctr.apply_keystream(iv, &mut authenticated[HEADER..])
                    .unwrap();
                black_box(p)
            },
            BatchSize::SmallInput,
        )
    });

    // Round trips in one loop (no batching): a fresh sequence number is
    // protected and unprotected each time, against seal + open bare.
    // `seq` carries on from the unprotect bench: the receiver's replay
    // window has moved there.
    let mut buf = packet(1);
    g.bench_function("protect+unprotect CM_HMAC_SHA1_80", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            let n = tx.protect_rtp(&mut buf, LEN).unwrap();
            black_box(rx.unprotect_rtp(&mut buf[..n]).unwrap())
        })
    });
    g.bench_function("bare AES-128-CTR + HMAC-SHA1 (seal+open)", |b| {
        b.iter(|| {
            let (h, rest) = buf.split_at_mut(HEADER);
            let (payload, tag) = rest.split_at_mut(LEN - HEADER);
            ctr.apply_keystream(iv, payload).unwrap();
            let t = mac.sign(&[h, payload, &roc]);
            tag[..10].copy_from_slice(&t[..10]);
            assert!(mac.verify(&[h, payload, &roc], &tag[..10]));
            ctr.apply_keystream(iv, payload).unwrap();
            black_box(payload[0])
        })
    });

    // --- AEAD_AES_128_GCM and the bare AEAD ------------------------------
    let (mut tx, mut rx) = contexts(ProtectionProfile::AeadAes128Gcm);
    let mut buf = packet(1);
    g.bench_function("protect_rtp AEAD_AES_128_GCM", |b| {
        b.iter(|| black_box(tx.protect_rtp(black_box(&mut buf), LEN).unwrap()))
    });
    let gcm = AeadKey::new(AeadAlgorithm::Aes128Gcm, &[5; 16]).unwrap();
    let nonce = [1u8; 12];
    g.bench_function("bare AES-128-GCM seal", |b| {
        b.iter(|| {
            let (h, rest) = buf.split_at_mut(HEADER);
            let (payload, tag) = rest.split_at_mut(LEN - HEADER);
            let t = gcm.seal_in_place(nonce, h, payload).unwrap();
            tag[..16].copy_from_slice(&t);
            black_box(tag[0])
        })
    });
    let mut seq = 0u16;
    g.bench_function("unprotect_rtp AEAD_AES_128_GCM", |b| {
        b.iter_batched(
            || {
                seq = seq.wrapping_add(1);
                let mut p = packet(seq);
                tx.protect_rtp(&mut p, LEN).unwrap();
                p
            },
            |mut p| black_box(rx.unprotect_rtp(&mut p[..LEN + 16]).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("bare AES-128-GCM open", |b| {
        b.iter_batched(
            || {
                let mut p = packet(1);
                let (h, rest) = p.split_at_mut(HEADER);
                let (payload, tag) = rest.split_at_mut(LEN - HEADER);
                let t = gcm.seal_in_place(nonce, h, payload).unwrap();
                tag[..16].copy_from_slice(&t);
                p
            },
            |mut p| {
                let (h, rest) = p.split_at_mut(HEADER);
                black_box(gcm.open_in_place(nonce, h, rest).unwrap())
            },
            BatchSize::SmallInput,
        )
    });
    // `seq` carries on from the unprotect bench: the receiver's replay
    // window has moved there.
    let mut buf = packet(1);
    g.bench_function("protect+unprotect AEAD_AES_128_GCM", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            let n = tx.protect_rtp(&mut buf, LEN).unwrap();
            black_box(rx.unprotect_rtp(&mut buf[..n]).unwrap())
        })
    });
    g.bench_function("bare AES-128-GCM (seal+open)", |b| {
        b.iter(|| {
            let (h, rest) = buf.split_at_mut(HEADER);
            let (payload, tag) = rest.split_at_mut(LEN - HEADER);
            let t = gcm.seal_in_place(nonce, h, payload).unwrap();
            tag[..16].copy_from_slice(&t);
            black_box(gcm.open_in_place(nonce, h, rest).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
