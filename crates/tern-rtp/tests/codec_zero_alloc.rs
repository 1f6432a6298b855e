//! Packetizing, depacketizing and the jitter buffer allocate nothing once
//! warmed up: dhat's global allocator counts every allocation in this test
//! binary, and the count does not move across hundreds of frames.

use std::time::{Duration, Instant};

use tern_rtp::codec::{Codec, Payloads, RtpInfo};
use tern_rtp::frame::{JitterBuffer, JitterConfig};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A frame each codec accepts, about 6 KB, so every format fragments.
fn frame(codec: Codec) -> Vec<u8> {
    match codec {
        Codec::H264 => {
            let mut f = vec![0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce];
            f.extend([0, 0, 0, 1, 0x65, 0x88]);
            f.extend(std::iter::repeat_n(0x5a, 6000));
            f
        }
        Codec::H265 => {
            let mut f = vec![0, 0, 0, 1, 0x40, 0x01, 7, 0, 0, 0, 1, 0x42, 0x01, 8];
            f.extend([0, 0, 0, 1, 0x26, 0x01, 0xaf]);
            f.extend(std::iter::repeat_n(0x5a, 6000));
            f
        }
        Codec::Av1 => {
            // Sequence header OBU (size 4), then a frame OBU of 6000 bytes.
            let mut f = vec![0x0a, 4, 0, 0, 0, 0x42, 0x32, 0xf0, 0x2e];
            f.extend(std::iter::repeat_n(0x5a, 6000));
            f
        }
        Codec::Opus => vec![0xfc; 120],
        // VP9: a key frame header; VP8: P=0, a key frame; PCM: samples.
        _ => {
            let mut f = vec![0x82, 0x49, 0x83, 0x42, 0x00, 0x77, 0xf0, 0x32, 0x34];
            f.extend(std::iter::repeat_n(0x10, 6000));
            f
        }
    }
}

#[test]
fn warmed_up_media_path_does_not_allocate() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // The counter sees allocations (so this test can fail).
    let before = dhat::HeapStats::get();
    drop(std::hint::black_box(Vec::<u8>::with_capacity(8)));
    assert_eq!(dhat::HeapStats::get().total_blocks, before.total_blocks + 1);

    for codec in Codec::ALL {
        let f = frame(codec);
        let mut pk = codec.packetizer();
        let mut dep = codec.depacketizer();
        let mut jb = JitterBuffer::new(codec.depacketizer(), JitterConfig::default());
        let mut payloads = Payloads::new();
        let mut out = Vec::new();
        let mut assembled = Vec::new();
        // An arbitrary origin for virtual time; only differences matter.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut seq = 65_000u16;
        let mut run = |n: u32,
                       pk: &mut Box<dyn tern_rtp::Packetizer + Send>,
                       dep: &mut Box<dyn tern_rtp::Depacketizer + Send>| {
            let mut frames = 0;
            for i in 0..n {
                pk.packetize(&f, 1200, &mut payloads).unwrap();
                out.clear();
                dep.reset();
                let ts = i.wrapping_mul(3000);
                for (p, m) in payloads.iter() {
                    let info = RtpInfo {
                        sequence: seq,
                        timestamp: ts,
                        marker: m,
                    };
                    dep.depacketize(p, info, &mut out).unwrap();
                    jb.push(seq, ts, m, p, t0);
                    seq = seq.wrapping_add(1);
                }
                while jb
                    .poll(t0 + Duration::from_millis(100), &mut assembled)
                    .is_some()
                {
                    frames += 1;
                }
            }
            frames
        };
        assert!(run(20, &mut pk, &mut dep) > 0, "{codec}: frames flow");
        let before = dhat::HeapStats::get();
        let frames = run(300, &mut pk, &mut dep);
        let after = dhat::HeapStats::get();
        assert!(frames >= 300, "{codec}: {frames} frames");
        dhat::assert_eq!(after.total_blocks, before.total_blocks, "{}", codec);
    }
}
