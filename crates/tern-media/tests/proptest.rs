//! Property tests: readers never panic on arbitrary bytes and never trust a
//! size field; writers and readers round-trip arbitrary content.

use std::time::Duration;

use proptest::prelude::*;
use tern_media::*;

fn drain_ivf(data: &[u8]) {
    if let Ok(r) = IvfReader::new(data) {
        for f in r {
            if f.is_err() {
                break;
            }
        }
    }
}

fn drain_ogg(data: &[u8]) {
    if let Ok(r) = OggOpusReader::new(data) {
        for p in r {
            if p.is_err() {
                break;
            }
        }
    }
}

fn drain_annex_b(data: &[u8], codec: VideoCodec) {
    for au in AnnexBReader::new(data, codec) {
        if au.is_err() {
            break;
        }
    }
}

fn ivf_header() -> IvfHeader {
    IvfHeader {
        fourcc: FourCc::VP8,
        width: 640,
        height: 480,
        timebase_rate: 30,
        timebase_scale: 1,
        frame_count: 0,
    }
}

/// A valid Ogg Opus file with a few packets, to mutate.
fn ogg_sample() -> Vec<u8> {
    let mut w =
        OggOpusWriter::new(Vec::new(), &OpusHead::new(2, 312), &OpusTags::default(), 1).unwrap();
    w.set_page_duration(1920);
    for i in 0..10u8 {
        w.write_packet(&[0xFC, i, i, i]).unwrap();
    }
    w.finish().unwrap()
}

/// Bytes biased towards start codes.
fn annex_b_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()],
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readers_never_panic_on_random_bytes(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        drain_ivf(&data);
        drain_ogg(&data);
        drain_annex_b(&data, VideoCodec::H264);
        drain_annex_b(&data, VideoCodec::H265);
        let _ = OpusHead::parse(&data);
        let _ = OpusTags::parse(&data);
        let _ = opus_packet_duration(&data);
        let _ = av1_configuration_from_temporal_unit(&data);
        let _ = avc_configuration_from_annex_b(&data);
    }

    #[test]
    fn ivf_reader_never_panics_after_a_valid_header(tail in prop::collection::vec(any::<u8>(), 0..2000)) {
        let mut data = ivf_header().emit().to_vec();
        data.extend_from_slice(&tail);
        drain_ivf(&data);
    }

    #[test]
    fn ogg_reader_never_panics_on_a_damaged_file(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut data = ogg_sample();
        for (i, x) in flips {
            let i = i.index(data.len());
            data[i] ^= x;
        }
        drain_ogg(&data);
        let n = cut.index(data.len());
        drain_ogg(&data[..n]);
    }

    #[test]
    fn annex_b_reader_agrees_with_the_in_memory_splitter(data in annex_b_bytes()) {
        let mut r = AnnexBReader::new(data.as_slice(), VideoCodec::H264);
        let mut streamed = Vec::new();
        while let Some(n) = r.next_nal().unwrap() {
            streamed.push(n);
        }
        let split: Vec<Vec<u8>> = split_nal_units(&data).map(<[u8]>::to_vec).collect();
        prop_assert_eq!(streamed, split);
        drain_annex_b(&data, VideoCodec::H264);
        drain_annex_b(&data, VideoCodec::H265);
    }

    #[test]
    fn ivf_round_trips(frames in prop::collection::vec((any::<u64>(), prop::collection::vec(any::<u8>(), 0..300)), 0..20)) {
        let mut w = IvfWriter::new(std::io::Cursor::new(Vec::new()), ivf_header()).unwrap();
        for (pts, f) in &frames {
            w.write_frame(*pts, f).unwrap();
        }
        let bytes = w.finish_seekable().unwrap().into_inner();
        let r = IvfReader::new(bytes.as_slice()).unwrap();
        prop_assert_eq!(r.header().frame_count as usize, frames.len());
        let back: Vec<(u64, Vec<u8>)> = r.map(|f| f.map(|f| (f.pts, f.data))).collect::<Result<_>>().unwrap();
        prop_assert_eq!(back, frames);
    }

    #[test]
    fn ogg_opus_round_trips(
        packets in prop::collection::vec((0u8..32, 0u8..4, prop::collection::vec(any::<u8>(), 1..700)), 1..30),
        page_duration in 0u32..20_000,
    ) {
        let mut w = OggOpusWriter::new(Vec::new(), &OpusHead::new(1, 0), &OpusTags::default(), 9).unwrap();
        w.set_page_duration(page_duration);
        let mut sent = Vec::new();
        for (config, code, mut body) in packets {
            body[0] = (config << 3) | code;
            if code == 3 {
                // Code 3 needs a frame count byte: 1 frame.
                body.insert(1, 1);
            }
            w.write_packet(&body).unwrap();
            sent.push(body);
        }
        let bytes = w.finish().unwrap();
        let r = OggOpusReader::new(bytes.as_slice()).unwrap();
        let mut expect_start = 0u64;
        let back: Vec<OpusPacket> = r.collect::<Result<_>>().unwrap();
        prop_assert_eq!(back.len(), sent.len());
        for (p, s) in back.iter().zip(&sent) {
            prop_assert_eq!(&p.data, s);
            prop_assert_eq!(p.duration, opus_packet_duration(s).unwrap());
            prop_assert_eq!(p.start_granule, expect_start);
            expect_start += u64::from(p.duration);
            prop_assert_eq!(p.granule_position, expect_start);
        }
    }

    #[test]
    fn annex_b_round_trips(nals in prop::collection::vec(prop::collection::vec(1u8..=255, 1..200), 1..30)) {
        // Non-zero bytes cannot contain a start code or end in zero, as
        // emulation prevention guarantees for real NAL units.
        let mut w = AnnexBWriter::new(Vec::new());
        for n in &nals {
            w.write_nal(n).unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut r = AnnexBReader::new(bytes.as_slice(), VideoCodec::H265);
        let mut back = Vec::new();
        while let Some(n) = r.next_nal().unwrap() {
            back.push(n);
        }
        prop_assert_eq!(back, nals);
    }

    #[test]
    fn webm_writer_never_panics(
        events in prop::collection::vec((any::<bool>(), 0u64..100_000, any::<bool>(), prop::collection::vec(any::<u8>(), 0..100)), 0..60),
        codec in prop_oneof![Just(WebmVideoCodec::Vp8), Just(WebmVideoCodec::Av1), Just(WebmVideoCodec::H264)],
    ) {
        let video = VideoTrack { codec, width: 640, height: 480, codec_private: None };
        let audio = AudioTrack { head: OpusHead::new(2, 312) };
        let mut w = WebmWriter::new(Vec::new(), Some(video), Some(audio)).unwrap();
        for (is_video, ms, key, data) in events {
            let t = Duration::from_millis(ms);
            if is_video {
                w.write_video(t, key, &data).unwrap();
            } else {
                w.write_audio(t, &data).unwrap();
            }
        }
        let out = w.finish().unwrap();
        prop_assert_eq!(out.get(..4), Some([0x1A, 0x45, 0xDF, 0xA3].as_slice()));
    }
}

#[test]
fn huge_claimed_ivf_frame_is_refused_before_allocating() {
    let mut data = ivf_header().emit().to_vec();
    data.extend_from_slice(&u32::MAX.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    let mut r = IvfReader::new(data.as_slice()).unwrap();
    assert!(matches!(r.next_frame(), Err(MediaError::TooLarge { .. })));

    // A size just under the cap with no data behind it: truncated, and the
    // buffer only grew as bytes arrived (none did).
    let mut data = ivf_header().emit().to_vec();
    data.extend_from_slice(&(MAX_FRAME_SIZE as u32).to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    data.extend_from_slice(&[1, 2, 3]);
    let mut r = IvfReader::new(data.as_slice()).unwrap();
    let mut buf = Vec::new();
    assert!(matches!(
        r.read_frame_into(&mut buf),
        Err(MediaError::Truncated { .. })
    ));
    assert!(buf.capacity() < 1024 * 1024, "capacity {}", buf.capacity());
}

#[test]
fn endless_ogg_packet_is_refused_at_the_cap() {
    // Pages of 255 lacing values of 255 never finish a packet.
    let mut data = Vec::new();
    let mut head = Vec::new();
    OggPage {
        flags: FLAG_BOS,
        granule_position: 0,
        serial: 5,
        sequence: 0,
        segments: vec![19],
        body: OpusHead::new(1, 0).emit(),
    }
    .emit(&mut head)
    .unwrap();
    data.extend_from_slice(&head);
    let tags = OpusTags::default().emit();
    let mut p = Vec::new();
    OggPage {
        flags: 0,
        granule_position: 0,
        serial: 5,
        sequence: 1,
        segments: vec![tags.len() as u8],
        body: tags,
    }
    .emit(&mut p)
    .unwrap();
    data.extend_from_slice(&p);
    let pages = MAX_FRAME_SIZE / (255 * 255) + 2;
    for seq in 0..pages {
        let mut p = Vec::new();
        OggPage {
            flags: if seq == 0 { 0 } else { FLAG_CONTINUED },
            granule_position: NO_GRANULE,
            serial: 5,
            sequence: 2 + seq as u32,
            segments: vec![255; 255],
            body: vec![0xFC; 255 * 255],
        }
        .emit(&mut p)
        .unwrap();
        data.extend_from_slice(&p);
    }
    let mut r = OggOpusReader::new(data.as_slice()).unwrap();
    assert!(matches!(r.next_packet(), Err(MediaError::TooLarge { .. })));
}

#[test]
fn endless_nal_unit_is_refused_at_the_cap() {
    let mut data = vec![0, 0, 1];
    data.resize(MAX_FRAME_SIZE + 100_000, 0x55);
    let mut r = AnnexBReader::new(data.as_slice(), VideoCodec::H264);
    assert!(matches!(r.next_nal(), Err(MediaError::TooLarge { .. })));
}
