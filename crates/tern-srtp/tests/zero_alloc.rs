//! After a stream's first packet, protect and unprotect allocate nothing on
//! the Rust heap, for every profile, on success and on refusal (forged,
//! replayed): dhat's global allocator counts every allocation in this test
//! binary and the count does not move across thousands of packets.
//!
//! (AES and HMAC run in aws-lc's C code on stack contexts; dhat does not see
//! the C heap, as the tern-stun note says.)

use tern_srtp::{DtlsRole, ProtectionProfile, SrtpConfig, SrtpError, SrtpKeys};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Runs on the main thread with no test harness: libtest's own threads
/// allocate now and then while a test runs (seen under load), and dhat
/// counts every thread's allocations.
fn main() {
    protect_and_unprotect_do_not_allocate();
    println!("test result: ok. 1 passed; 0 failed; 0 ignored (zero_alloc: protect_and_unprotect_do_not_allocate)");
}

fn protect_and_unprotect_do_not_allocate() {
    let _profiler = dhat::Profiler::builder().testing().build();

    // The counter sees allocations (so this test can fail).
    let before = dhat::HeapStats::get();
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(8));
    drop(v);
    assert_eq!(dhat::HeapStats::get().total_blocks, before.total_blocks + 1);

    for profile in ProtectionProfile::ALL {
        let material = vec![0x5a; profile.keying_material_len()];
        let a = SrtpKeys::from_exporter(profile, &material, DtlsRole::Client).unwrap();
        let b = SrtpKeys::from_exporter(profile, &material, DtlsRole::Server).unwrap();
        let (mut tx, _) = a.contexts(SrtpConfig::default()).unwrap();
        let (_, mut rx) = b.contexts(SrtpConfig::default()).unwrap();

        let ssrc = 0x1234_5678u32;
        let mut rtp = vec![0u8; 1500];
        let mut rtcp = vec![0u8; 1500];
        let rtp_len = 1200;
        let rtcp_len = 80;
        let write_headers = |rtp: &mut [u8], rtcp: &mut [u8], seq: u16| {
            rtp[..12].copy_from_slice(&[0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            rtp[2..4].copy_from_slice(&seq.to_be_bytes());
            rtp[8..12].copy_from_slice(&ssrc.to_be_bytes());
            rtcp[..8].copy_from_slice(&[0x81, 200, 0, 19, 0, 0, 0, 0]);
            rtcp[4..8].copy_from_slice(&ssrc.to_be_bytes());
        };
        let mut replayed = vec![0u8; 1500];

        // The first packet of the stream creates its state on both sides.
        write_headers(&mut rtp, &mut rtcp, 65_000);
        let n = tx.protect_rtp(&mut rtp, rtp_len).unwrap();
        rx.unprotect_rtp(&mut rtp[..n]).unwrap();
        let n = tx.protect_rtcp(&mut rtcp, rtcp_len).unwrap();
        rx.unprotect_rtcp(&mut rtcp[..n]).unwrap();

        let before = dhat::HeapStats::get();
        // 2,000 packets: through a sequence-number wrap.
        for i in 1..2_000u16 {
            let seq = 65_000u16.wrapping_add(i);
            write_headers(&mut rtp, &mut rtcp, seq);
            let n = tx.protect_rtp(&mut rtp, rtp_len).unwrap();
            replayed[..n].copy_from_slice(&rtp[..n]);
            assert_eq!(rx.unprotect_rtp(&mut rtp[..n]).unwrap(), rtp_len);
            assert!(matches!(
                rx.unprotect_rtp(&mut replayed[..n]),
                Err(SrtpError::Replay { .. })
            ));
            replayed[n - 1] ^= 1;
            assert!(rx.unprotect_rtp(&mut replayed[..n]).is_err());

            let n = tx.protect_rtcp(&mut rtcp, rtcp_len).unwrap();
            replayed[..n].copy_from_slice(&rtcp[..n]);
            assert_eq!(rx.unprotect_rtcp(&mut rtcp[..n]).unwrap(), rtcp_len);
            assert!(rx.unprotect_rtcp(&mut replayed[..n]).is_err());
        }
        let after = dhat::HeapStats::get();
        dhat::assert_eq!(after.total_blocks, before.total_blocks);
        assert_eq!(rx.roc(ssrc), Some(1), "{profile}");
        assert_eq!(rx.stats().rtp_packets, 2_000);
    }
}
