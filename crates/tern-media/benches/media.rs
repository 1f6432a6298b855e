//! Throughput of the readers and the WebM writer on synthetic media.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tern_media::*;

const FRAMES: usize = 1000;
const FRAME_LEN: usize = 1200;

fn frame(i: usize) -> Vec<u8> {
    // Non-zero bytes, as emulation prevention guarantees no start code inside.
    (0..FRAME_LEN).map(|j| ((i + j) % 255 + 1) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Bytes((FRAMES * FRAME_LEN) as u64));

    let mut ivf = IvfWriter::new(
        Vec::new(),
        IvfHeader {
            fourcc: FourCc::VP8,
            width: 640,
            height: 480,
            timebase_rate: 30,
            timebase_scale: 1,
            frame_count: 0,
        },
    )
    .unwrap();
    for i in 0..FRAMES {
        ivf.write_frame(i as u64, &frame(i)).unwrap();
    }
    let ivf = ivf.finish().unwrap();
    g.bench_function("ivf_read", |b| {
        b.iter(|| {
            let mut r = IvfReader::new(ivf.as_slice()).unwrap();
            let mut buf = Vec::new();
            let mut n = 0;
            while r.read_frame_into(&mut buf).unwrap().is_some() {
                n += buf.len();
            }
            black_box(n)
        })
    });

    let mut annexb = AnnexBWriter::new(Vec::new());
    for i in 0..FRAMES {
        let mut f = frame(i);
        f[0] = if i % 30 == 0 { 0x65 } else { 0x41 };
        f[1] = 0x88; // first_mb_in_slice = 0
        annexb.write_nal(&f).unwrap();
    }
    let annexb = annexb.finish().unwrap();
    g.bench_function("annex_b_access_units", |b| {
        b.iter(|| {
            let n = AnnexBReader::new(annexb.as_slice(), VideoCodec::H264)
                .map(|a| a.unwrap().nals.len())
                .sum::<usize>();
            black_box(n)
        })
    });

    let mut ogg =
        OggOpusWriter::new(Vec::new(), &OpusHead::new(2, 312), &OpusTags::default(), 1).unwrap();
    for i in 0..FRAMES {
        let mut p = frame(i);
        p[0] = 0xFC; // CELT 20 ms, one frame
        ogg.write_packet(&p).unwrap();
    }
    let ogg = ogg.finish().unwrap();
    g.bench_function("ogg_opus_read", |b| {
        b.iter(|| {
            let r = OggOpusReader::new(ogg.as_slice()).unwrap();
            black_box(r.map(|p| p.unwrap().data.len()).sum::<usize>())
        })
    });

    g.bench_function("ogg_crc", |b| {
        b.iter(|| black_box(crc_update(0, black_box(&ogg))))
    });

    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame).collect();
    let mut out = Vec::with_capacity(2 * FRAMES * FRAME_LEN);
    g.bench_function("webm_write_vp8", |b| {
        b.iter(|| {
            out.clear();
            let video = VideoTrack {
                codec: WebmVideoCodec::Vp8,
                width: 640,
                height: 480,
                codec_private: None,
            };
            let mut w = WebmWriter::new(&mut out, Some(video), None).unwrap();
            for (i, f) in frames.iter().enumerate() {
                let t = Duration::from_millis(i as u64 * 33);
                w.write_video(t, i % 30 == 0, f).unwrap();
            }
            w.finish().unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
