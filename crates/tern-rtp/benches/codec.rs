//! Packetize, depacketize and jitter-buffer throughput for a 30 KB frame at
//! a 1,200-byte MTU.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tern_rtp::codec::{Codec, Payloads, RtpInfo};
use tern_rtp::frame::{JitterBuffer, JitterConfig};

fn frame(codec: Codec) -> Vec<u8> {
    let mut f = match codec {
        Codec::H264 => vec![0, 0, 0, 1, 0x65, 0x88],
        Codec::Av1 => vec![0x32, 0xb0, 0xea, 0x01], // frame OBU, size 30000
        _ => vec![0x10],
    };
    f.extend(std::iter::repeat_n(0x5a, 30_000));
    f
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Bytes(30_000));
    for codec in [Codec::Vp8, Codec::H264, Codec::Av1] {
        let f = frame(codec);
        let mut pk = codec.packetizer();
        let mut payloads = Payloads::new();
        g.bench_function(format!("{codec}/packetize"), |b| {
            b.iter(|| pk.packetize(black_box(&f), 1200, &mut payloads).unwrap())
        });
        pk.packetize(&f, 1200, &mut payloads).unwrap();
        let mut dep = codec.depacketizer();
        let mut out = Vec::new();
        g.bench_function(format!("{codec}/depacketize"), |b| {
            b.iter(|| {
                out.clear();
                dep.reset();
                for (i, (p, m)) in payloads.iter().enumerate() {
                    let info = RtpInfo {
                        sequence: i as u16,
                        timestamp: 0,
                        marker: m,
                    };
                    dep.depacketize(black_box(p), info, &mut out).unwrap();
                }
            })
        });
        let mut jb = JitterBuffer::new(codec.depacketizer(), JitterConfig::default());
        // An arbitrary origin: the benchmark only needs a fixed instant.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(100);
        let mut seq = 0u16;
        let mut ts = 0u32;
        g.bench_function(format!("{codec}/jitter_push_poll"), |b| {
            b.iter(|| {
                ts = ts.wrapping_add(3000);
                for (p, m) in payloads.iter() {
                    jb.push(seq, ts, m, p, t0);
                    seq = seq.wrapping_add(1);
                }
                while jb.poll(later, &mut out).is_some() {}
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
