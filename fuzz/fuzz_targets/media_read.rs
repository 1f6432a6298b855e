//! Fuzz the media readers: IVF, Ogg Opus and H.264/H.265 Annex B on
//! arbitrary bytes never panic; what IVF parses writes back identically, and
//! the streaming Annex B splitter agrees with the in-memory one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_media::{
    av1_configuration_from_temporal_unit, split_nal_units, AnnexBReader, IvfReader, IvfWriter,
    OggOpusReader, OpusHead, OpusTags, VideoCodec,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = IvfReader::new(data) {
        let header = *r.header();
        let frames: Vec<_> = r.map_while(Result::ok).collect();
        let mut w = IvfWriter::new(Vec::new(), header).expect("writing to a Vec cannot fail");
        for f in &frames {
            w.write_frame(f.pts, &f.data).expect("writing to a Vec cannot fail");
        }
        let out = w.finish().expect("writing to a Vec cannot fail");
        let again: Vec<_> = IvfReader::new(out.as_slice())
            .expect("our header parses")
            .map(|f| f.expect("our frames parse"))
            .collect();
        assert_eq!(again, frames);
    }

    if let Ok(r) = OggOpusReader::new(data) {
        for p in r.take(100_000) {
            if p.is_err() {
                break;
            }
        }
    }
    let _ = OpusHead::parse(data);
    let _ = OpusTags::parse(data);

    for codec in [VideoCodec::H264, VideoCodec::H265] {
        for au in AnnexBReader::new(data, codec) {
            if au.is_err() {
                break;
            }
        }
    }
    let mut r = AnnexBReader::new(data, VideoCodec::H264);
    let mut streamed = Vec::new();
    // Only a NAL unit over the 16 MiB cap is an error; compare when none was.
    while let Ok(next) = r.next_nal() {
        let Some(n) = next else {
            let split: Vec<Vec<u8>> = split_nal_units(data).map(<[u8]>::to_vec).collect();
            assert_eq!(streamed, split);
            break;
        };
        streamed.push(n);
    }
    let _ = av1_configuration_from_temporal_unit(data);
});
