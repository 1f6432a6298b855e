//! Real encoded frames through the payload formats: keyframe detection,
//! frame starts and round trips.
//!
//! The fixtures are the two frames (a key frame and the next frame) of a
//! 16x16 test pattern, made with ffmpeg 5.1 (Debian 12) by:
//!
//! ```text
//! S="-f lavfi -i testsrc=s=16x16:r=30 -frames:v 2"
//! ffmpeg $S -c:v libx264 -preset ultrafast -tune zerolatency \
//!        -bsf:v filter_units=remove_types=6 -f h264 h264.264
//! ffmpeg $S -c:v libx265 -preset ultrafast -x265-params log-level=none:info=0 \
//!        -bsf:v filter_units=remove_types=39 -f hevc h265.265
//! ffmpeg $S -c:v libvpx -b:v 20k -f ivf vp8.ivf
//! ffmpeg $S -c:v libvpx-vp9 -b:v 20k -f ivf vp9.ivf
//! ffmpeg $S -c:v libaom-av1 -cpu-used 8 -b:v 20k -f obu av1.obu
//! ```
//!
//! then split into frames: Annex B before the second access unit's start
//! code, IVF at its 12-byte frame headers, the AV1 low-overhead stream at
//! its second temporal delimiter (SEI NAL units were removed to keep the
//! files small).

use super::*;

const H264_KEY: &[u8] = include_bytes!("fixtures/h264_key.264");
const H264_DELTA: &[u8] = include_bytes!("fixtures/h264_delta.264");
const H265_KEY: &[u8] = include_bytes!("fixtures/h265_key.265");
const H265_DELTA: &[u8] = include_bytes!("fixtures/h265_delta.265");
const VP8_KEY: &[u8] = include_bytes!("fixtures/vp8_key.bin");
const VP8_DELTA: &[u8] = include_bytes!("fixtures/vp8_delta.bin");
const VP9_KEY: &[u8] = include_bytes!("fixtures/vp9_key.bin");
const VP9_DELTA: &[u8] = include_bytes!("fixtures/vp9_delta.bin");
const AV1_KEY: &[u8] = include_bytes!("fixtures/av1_key.obu");
const AV1_DELTA: &[u8] = include_bytes!("fixtures/av1_delta.obu");

const CASES: [(Codec, &[u8], &[u8]); 5] = [
    (Codec::H264, H264_KEY, H264_DELTA),
    (Codec::H265, H265_KEY, H265_DELTA),
    (Codec::Vp8, VP8_KEY, VP8_DELTA),
    (Codec::Vp9, VP9_KEY, VP9_DELTA),
    (Codec::Av1, AV1_KEY, AV1_DELTA),
];

/// The frame as the depacketizer gives it back: Annex B with 4-byte start
/// codes, AV1 without its temporal delimiter.
fn normalized(codec: Codec, frame: &[u8]) -> Vec<u8> {
    match codec {
        Codec::H264 | Codec::H265 => AnnexB::new(frame)
            .flat_map(|n| nal::START_CODE.iter().chain(n).copied())
            .collect(),
        Codec::Av1 => frame.get(2..).unwrap().to_vec(), // 0x12 0x00: the TD
        _ => frame.to_vec(),
    }
}

fn packetize(codec: Codec, frame: &[u8], mtu: usize) -> Payloads {
    let mut out = Payloads::new();
    codec.packetizer().packetize(frame, mtu, &mut out).unwrap();
    out
}

#[test]
fn keyframes_are_detected_and_deltas_are_not() {
    for (codec, key, delta) in CASES {
        for mtu in [60, 200, 1200] {
            let d = codec.depacketizer();
            let k = packetize(codec, key, mtu);
            assert!(
                k.iter().any(|(p, _)| d.is_keyframe(p)),
                "{codec} key at {mtu}"
            );
            assert!(
                d.is_frame_start(k.get(0).unwrap().0),
                "{codec} key start at {mtu}"
            );
            let n = packetize(codec, delta, mtu);
            assert!(
                !n.iter().any(|(p, _)| d.is_keyframe(p)),
                "{codec} delta at {mtu}"
            );
            assert!(
                d.is_frame_start(n.get(0).unwrap().0),
                "{codec} delta start at {mtu}"
            );
            // H.264/H.265/AV1 cannot tell an access unit's first slice or
            // frame OBU after its parameter sets from a new access unit: only
            // VP8 and VP9 carry a bit that says "first packet of the frame".
            let exact = matches!(codec, Codec::Vp8 | Codec::Vp9);
            for (i, (p, _)) in k.iter().chain(n.iter()).enumerate() {
                if exact && i != 0 && i != k.len() {
                    assert!(!d.is_frame_start(p), "{codec} payload {i} at {mtu}");
                }
            }
        }
    }
}

#[test]
fn fixtures_round_trip() {
    for (codec, key, delta) in CASES {
        for frame in [key, delta] {
            for mtu in [60, 200, 1200] {
                let out = packetize(codec, frame, mtu);
                let mut d = codec.depacketizer();
                let mut got = Vec::new();
                for (i, (p, m)) in out.iter().enumerate() {
                    let info = RtpInfo {
                        sequence: i as u16,
                        timestamp: 0,
                        marker: m,
                    };
                    d.depacketize(p, info, &mut got).unwrap();
                }
                assert_eq!(got, normalized(codec, frame), "{codec} at {mtu}");
            }
        }
    }
}

#[test]
fn h264_fixture_sps_pps_travel_in_one_stap_a_and_are_resent() {
    let mut pk = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
    let mut out = Payloads::new();
    pk.packetize(H264_KEY, 1200, &mut out).unwrap();
    // SPS + PPS + a 367-byte IDR all fit one STAP-A at 1200.
    assert_eq!(out.len(), 1);
    assert_eq!(out.get(0).unwrap().0[0] & 0x1f, 24);
    // The IDR alone (as an encoder that sends parameter sets once would)
    // gets the remembered SPS and PPS in front.
    let idr: Vec<u8> = AnnexB::new(H264_KEY)
        .filter(|n| n[0] & 0x1f == 5)
        .flat_map(|n| nal::START_CODE.iter().chain(n).copied())
        .collect();
    pk.packetize(&idr, 1200, &mut out).unwrap();
    let mut d = H264Depacketizer::new();
    let mut got = vec![];
    d.depacketize(out.get(0).unwrap().0, RtpInfo::default(), &mut got)
        .unwrap();
    assert_eq!(got, normalized(Codec::H264, H264_KEY));
}

#[test]
fn vp9_fixture_size_reaches_the_ss() {
    let out = packetize(Codec::Vp9, VP9_KEY, 1200);
    let p = Vp9Packet::new_checked(out.get(0).unwrap().0).unwrap();
    let ss = p.scalability_structure().unwrap();
    assert_eq!(ss.resolutions, Some(vec![(16, 16)]));
    let out = packetize(Codec::Vp9, VP9_DELTA, 1200);
    let p = Vp9Packet::new_checked(out.get(0).unwrap().0).unwrap();
    assert!(p.scalability_structure().is_none());
    assert!(p.descriptor().inter_picture_predicted);
}

#[test]
fn av1_fixture_sets_n_on_the_sequence_header_only() {
    let k = packetize(Codec::Av1, AV1_KEY, 200);
    let flags: Vec<bool> = k
        .iter()
        .map(|(p, _)| Av1AggregationHeader::parse(p[0]).new_coded_video_sequence)
        .collect();
    assert!(flags[0] && flags[1..].iter().all(|f| !f), "{flags:?}");
}

#[test]
fn fixtures_through_the_jitter_buffer() {
    use crate::frame::{JitterBuffer, JitterConfig, JitterEvent};
    use std::time::{Duration, Instant};
    for (codec, key, delta) in CASES {
        let cfg = JitterConfig {
            reorder_wait: Duration::ZERO,
            ..JitterConfig::default()
        };
        let mut j = JitterBuffer::new(codec.depacketizer(), cfg);
        let now = Instant::now();
        let mut seq = 40_000u16;
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for (n, frame) in [key, delta, delta].into_iter().enumerate() {
            let out = packetize(codec, frame, 100);
            // Reverse order within the frame: the worst reordering.
            let pk: Vec<_> = out.iter().collect();
            for (i, (p, m)) in pk.iter().enumerate().rev() {
                j.push(seq.wrapping_add(i as u16), 3000 * n as u32, *m, p, now);
            }
            seq = seq.wrapping_add(pk.len() as u16);
            while let Some(e) = j.poll(now, &mut buf) {
                if let JitterEvent::Frame(f) = e {
                    got.push((f.keyframe, buf.clone()));
                }
            }
        }
        let want = vec![
            (true, normalized(codec, key)),
            (false, normalized(codec, delta)),
            (false, normalized(codec, delta)),
        ];
        assert_eq!(got, want, "{codec}");
    }
}
