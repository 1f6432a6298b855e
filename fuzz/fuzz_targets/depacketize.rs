//! Fuzz the RTP payload formats: the first byte picks the codec, the rest is
//! a run of packets (2-byte length, 1-byte flags, payload) fed to that
//! codec's depacketizer, its classifiers and a jitter buffer. Nothing may
//! panic and the buffer must stay within its packet cap.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_rtp::codec::{Codec, RtpInfo};
use tern_rtp::frame::{JitterBuffer, JitterConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let codec = Codec::ALL[usize::from(pick) % Codec::ALL.len()];
    let mut dep = codec.depacketizer();
    let cfg = JitterConfig {
        max_packets: 32,
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(codec.depacketizer(), cfg);
    let t0 = Instant::now();
    let mut out = Vec::new();
    let mut frame = Vec::new();
    let mut seq = u16::from(pick).wrapping_mul(257);
    let mut step = 0u64;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])) % 1500;
        let flags = rest[2];
        rest = &rest[3..];
        let payload = &rest[..len.min(rest.len())];
        rest = &rest[payload.len()..];
        let marker = flags & 1 != 0;
        // Flags bits 1-3 perturb the sequence number (reorder, gaps, wrap).
        seq = seq.wrapping_add(u16::from(flags >> 1 & 7)).wrapping_sub(2);
        let ts = u32::from(seq / 3).wrapping_mul(3000);
        let _ = (dep.is_keyframe(payload), dep.is_frame_start(payload));
        let _ = dep.is_frame_end(payload, marker);
        let _ = dep.depacketize(
            payload,
            RtpInfo {
                sequence: seq,
                timestamp: ts,
                marker,
            },
            &mut out,
        );
        if flags & 0x10 != 0 {
            dep.reset();
            out.clear();
        }
        step += u64::from(flags >> 5) * 10;
        let now = t0 + Duration::from_millis(step);
        let _ = jb.push(seq, ts, marker, payload, now);
        assert!(jb.len() <= 32);
        while jb.poll(now, &mut frame).is_some() {}
        let _ = jb.poll_timeout();
    }
});
