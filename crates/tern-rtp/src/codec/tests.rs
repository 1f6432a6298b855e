//! Cross-codec property tests: depacketize(packetize(frame)) == frame at
//! every MTU from 200 to 1500, and depacketizers never panic.

use super::*;
use proptest::prelude::*;

fn round_trip(codec: Codec, frame: &[u8], mtu: usize) -> Vec<u8> {
    let mut pk = codec.packetizer();
    let mut dep = codec.depacketizer();
    let mut out = Payloads::new();
    pk.packetize(frame, mtu, &mut out)
        .unwrap_or_else(|e| panic!("{codec} packetize {} bytes at MTU {mtu}: {e}", frame.len()));
    assert!(!out.is_empty());
    let mut got = Vec::new();
    let n = out.len();
    for (i, (p, marker)) in out.iter().enumerate() {
        assert!(p.len() <= mtu, "{codec}: payload {} > MTU {mtu}", p.len());
        if codec.is_video() {
            assert_eq!(
                marker,
                i + 1 == n,
                "{codec}: marker on the last payload only"
            );
            assert!(dep.is_frame_end(p, marker) || i + 1 < n);
        }
        let info = RtpInfo {
            sequence: 65_530u16.wrapping_add(i as u16),
            timestamp: 1,
            marker,
        };
        dep.depacketize(p, info, &mut got)
            .unwrap_or_else(|e| panic!("{codec} depacketize payload {i}: {e}"));
    }
    got
}

/// MTUs from 200 up to 1500 in random steps.
fn mtus(steps: &[usize]) -> Vec<usize> {
    let mut v = vec![200];
    let mut m = 200;
    for s in steps.iter().cycle() {
        m += s;
        if m >= 1500 {
            break;
        }
        v.push(m);
    }
    v.push(1500);
    v
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..16, 16usize..3000, 90_000usize..110_000]
}

/// A NAL unit body free of start-code emulation (as emulation prevention
/// guarantees in a real stream): no zero bytes at all.
fn nal_body(len: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, len)
}

fn h264_frame() -> impl Strategy<Value = Vec<u8>> {
    let nal = (0u8..4, 1u8..=23, size().prop_map(|s| s / 2 + 1)).prop_flat_map(|(nri, t, len)| {
        nal_body(len).prop_map(move |b| {
            let mut n = vec![(nri << 5) | t];
            n.extend(b);
            n
        })
    });
    proptest::collection::vec(nal, 1..5).prop_map(|nals| {
        let mut f = Vec::new();
        for n in nals {
            f.extend_from_slice(&nal::START_CODE);
            f.extend(n);
        }
        f
    })
}

fn h265_frame() -> impl Strategy<Value = Vec<u8>> {
    let nal = (0u8..=47, 0u8..8, size().prop_map(|s| s / 2 + 1)).prop_flat_map(|(t, tid, len)| {
        nal_body(len).prop_map(move |b| {
            let mut n = vec![t << 1, tid.max(1)];
            n.extend(b);
            n
        })
    });
    proptest::collection::vec(nal, 1..5).prop_map(|nals| {
        let mut f = Vec::new();
        for n in nals {
            f.extend_from_slice(&nal::START_CODE);
            f.extend(n);
        }
        f
    })
}

fn av1_frame() -> impl Strategy<Value = Vec<u8>> {
    let obu = (
        prop::sample::select(vec![1u8, 3, 4, 5, 6, 15]),
        proptest::option::of(any::<u8>()),
        size().prop_map(|s| s / 2),
    )
        .prop_flat_map(|(t, ext, len)| {
            proptest::collection::vec(any::<u8>(), len).prop_map(move |p| {
                let mut o = vec![(t << 3) | 0x02 | if ext.is_some() { 0x04 } else { 0 }];
                o.extend(ext);
                let mut leb = [0; bits::LEB128_MAX];
                let n = bits::write_leb128(p.len() as u64, &mut leb);
                o.extend_from_slice(&leb[..n]);
                o.extend(p);
                o
            })
        });
    proptest::collection::vec(obu, 1..5).prop_map(|obus| obus.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    size().prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n))
}

fn steps() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..200, 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn vp8_vp9_pcm_round_trip(frame in bytes(), steps in steps()) {
        for codec in [Codec::Vp8, Codec::Vp9, Codec::Pcmu, Codec::Pcma, Codec::G722] {
            for mtu in mtus(&steps) {
                prop_assert_eq!(&round_trip(codec, &frame, mtu), &frame, "{} at {}", codec, mtu);
            }
        }
    }

    #[test]
    fn vp8_vp9_first_payload_starts_the_frame(frame in bytes(), mtu in 200usize..1500) {
        for codec in [Codec::Vp8, Codec::Vp9] {
            let mut out = Payloads::new();
            codec.packetizer().packetize(&frame, mtu, &mut out).unwrap();
            let dep = codec.depacketizer();
            for (i, (p, _)) in out.iter().enumerate() {
                prop_assert_eq!(dep.is_frame_start(p), i == 0);
            }
        }
    }

    #[test]
    fn opus_round_trip(frame in proptest::collection::vec(any::<u8>(), 1..200), steps in steps()) {
        for mtu in mtus(&steps) {
            prop_assert_eq!(round_trip(Codec::Opus, &frame, mtu), frame.clone());
        }
        let mut out = Payloads::new();
        let big = vec![0u8; 1600];
        prop_assert!(Codec::Opus.packetizer().packetize(&big, 1500, &mut out).is_err());
    }

    #[test]
    fn h264_round_trip(frame in h264_frame(), steps in steps()) {
        for mtu in mtus(&steps) {
            prop_assert_eq!(&round_trip(Codec::H264, &frame, mtu), &frame, "MTU {}", mtu);
        }
    }

    #[test]
    fn h264_mode_0_round_trip(frame in h264_frame(), mtu in 200usize..1500) {
        let mut pk = H264Packetizer::new(H264PacketizationMode::SingleNal);
        let mut out = Payloads::new();
        let largest = AnnexB::new(&frame).map(<[u8]>::len).max().unwrap_or(0);
        let r = pk.packetize(&frame, mtu, &mut out);
        if largest > mtu {
            let too_large = matches!(r, Err(CodecError::NalTooLarge { .. }));
            prop_assert!(too_large);
        } else {
            prop_assert!(r.is_ok());
            prop_assert_eq!(out.len(), AnnexB::new(&frame).count());
            let mut d = H264Depacketizer::new();
            let mut got = vec![];
            for (i, (p, _)) in out.iter().enumerate() {
                let info = RtpInfo { sequence: i as u16, ..Default::default() };
                d.depacketize(p, info, &mut got).unwrap();
            }
            prop_assert_eq!(got, frame);
        }
    }

    #[test]
    fn h265_round_trip(frame in h265_frame(), steps in steps()) {
        for mtu in mtus(&steps) {
            prop_assert_eq!(&round_trip(Codec::H265, &frame, mtu), &frame, "MTU {}", mtu);
        }
    }

    #[test]
    fn av1_round_trip(frame in av1_frame(), steps in steps()) {
        for mtu in mtus(&steps) {
            prop_assert_eq!(&round_trip(Codec::Av1, &frame, mtu), &frame, "MTU {}", mtu);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn depacketizers_never_panic(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..8),
        seq in any::<u16>(),
    ) {
        for codec in Codec::ALL {
            let mut d = codec.depacketizer();
            let mut out = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                let _ = (d.is_keyframe(p), d.is_frame_start(p), d.is_frame_end(p, i % 2 == 0));
                let info = RtpInfo { sequence: seq.wrapping_add(i as u16), timestamp: 0, marker: false };
                let _ = d.depacketize(p, info, &mut out);
            }
            let _ = Vp8Packet::new_checked(&payloads[0][..]).map(|p| (p.descriptor(), p.payload().len()));
            let _ = Vp9Packet::new_checked(&payloads[0][..])
                .map(|p| (p.descriptor(), p.scalability_structure(), p.payload().len()));
            let _ = AnnexB::new(&payloads[0]).count();
            // The allocation-free SS length agrees with the full parse.
            let b = &payloads[0][..];
            match Vp9ScalabilityStructure::parse(b) {
                Ok((_, n)) => prop_assert_eq!(Vp9ScalabilityStructure::wire_len(b), Ok(n)),
                Err(_) => prop_assert!(Vp9ScalabilityStructure::wire_len(b).is_err()),
            }
        }
    }
}

#[test]
fn sdp_names_and_clock_rates() {
    assert_eq!(Codec::from_sdp_name("opus"), Some(Codec::Opus));
    assert_eq!(Codec::from_sdp_name("h264"), Some(Codec::H264));
    assert_eq!(Codec::from_sdp_name("av1"), Some(Codec::Av1));
    assert_eq!(Codec::from_sdp_name("VP8"), Some(Codec::Vp8));
    assert_eq!(Codec::from_sdp_name("red"), None);
    // RFC 3551 §4.5.2: G.722's RTP clock is 8000 Hz though it samples at 16 kHz.
    assert_eq!(Codec::G722.clock_rate(), 8000);
    assert_eq!(Codec::Opus.clock_rate(), 48_000);
    assert_eq!(Codec::Vp9.clock_rate(), 90_000);
    assert_eq!(Codec::Pcma.static_payload_type(), Some(8));
    for c in Codec::ALL {
        assert_eq!(Codec::from_sdp_name(c.sdp_name()), Some(c));
    }
}

#[test]
fn packetizing_reuses_the_arena() {
    let mut pk = Codec::H264.packetizer();
    let mut out = Payloads::new();
    let mut frame = nal::START_CODE.to_vec();
    frame.push(0x65);
    frame.extend(std::iter::repeat_n(7, 20_000));
    pk.packetize(&frame, 1200, &mut out).unwrap();
    let n = out.len();
    let total = out.total_len();
    pk.packetize(&frame, 1200, &mut out).unwrap();
    assert_eq!(
        (out.len(), out.total_len()),
        (n, total),
        "cleared, not appended"
    );
}
