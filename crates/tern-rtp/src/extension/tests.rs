use std::time::Duration;

use proptest::prelude::*;

use super::*;

// RFC 8285 has figures, not byte vectors. These follow its examples with
// concrete ids and values chosen here.

/// RFC 8285 §4.2, the one-byte example: `0xBEDE length=3`, an element with
/// L=0 (1 byte), one with L=1 (2 bytes), two padding bytes, one with L=3
/// (4 bytes).
const RFC8285_ONE_BYTE: [u8; 12] = [
    0x10, 0xaa, // ID 1, L=0, data
    0x21, 0xbb, 0xcc, // ID 2, L=1, data
    0x00, 0x00, // padding
    0x33, 0x01, 0x02, 0x03, 0x04, // ID 3, L=3, data
];

/// RFC 8285 §4.3, the two-byte example: `0x100 appbits length=3`, an
/// element with L=0, one with L=1, one padding byte, one with L=4.
const RFC8285_TWO_BYTE: [u8; 12] = [
    0x01, 0x00, // ID 1, L=0
    0x02, 0x01, 0xbb, // ID 2, L=1, data
    0x00, // padding
    0x03, 0x04, 0x01, 0x02, 0x03, 0x04, // ID 3, L=4, data
];

#[test]
fn rfc8285_one_byte_example() {
    let e = HeaderExtensions::new_checked(0xbede, &RFC8285_ONE_BYTE).unwrap();
    assert_eq!(e.form(), ExtensionForm::OneByte);
    let got: Vec<(u8, &[u8])> = e.iter().map(|x| (x.id, x.data)).collect();
    assert_eq!(
        got,
        [
            (1, &[0xaa][..]),
            (2, &[0xbb, 0xcc][..]),
            (3, &[1, 2, 3, 4][..])
        ]
    );
    assert_eq!(e.value_range(3), Some(8..12));
}

#[test]
fn rfc8285_two_byte_example() {
    // Application bits (the low 4 bits) are free: 0x100f is two-byte too.
    for profile in [0x1000, 0x100f] {
        let e = HeaderExtensions::new_checked(profile, &RFC8285_TWO_BYTE).unwrap();
        assert_eq!(e.form(), ExtensionForm::TwoByte);
        assert_eq!(e.profile(), profile);
        let got: Vec<(u8, &[u8])> = e.iter().map(|x| (x.id, x.data)).collect();
        assert_eq!(
            got,
            [(1, &[][..]), (2, &[0xbb][..]), (3, &[1, 2, 3, 4][..])]
        );
    }
}

#[test]
fn writer_reproduces_rfc_examples_modulo_padding_placement() {
    // Our writer never pads between elements, only at the end.
    let mut buf = [0u8; 32];
    let mut w = ExtensionBlockWriter::new(&mut buf);
    w.add(1, &[0xaa]).unwrap();
    w.add(2, &[0xbb, 0xcc]).unwrap();
    w.add(3, &[1, 2, 3, 4]).unwrap();
    assert_eq!(w.form(), ExtensionForm::OneByte);
    let n = w.finish();
    assert_eq!(
        &buf[..n],
        [0xbe, 0xde, 0, 3, 0x10, 0xaa, 0x21, 0xbb, 0xcc, 0x33, 1, 2, 3, 4, 0, 0]
    );

    let mut buf = [0u8; 32];
    let mut w = ExtensionBlockWriter::new(&mut buf);
    w.add(1, &[]).unwrap();
    w.add(2, &[0xbb]).unwrap();
    w.add(3, &[1, 2, 3, 4]).unwrap();
    let n = w.finish();
    assert_eq!(
        &buf[..n],
        [0x10, 0x00, 0, 3, 1, 0, 2, 1, 0xbb, 3, 4, 1, 2, 3, 4, 0]
    );
}

#[test]
fn checked_view_errors() {
    assert_eq!(
        HeaderExtensions::new_checked(0x1234, &[]).unwrap_err(),
        ExtensionError::UnknownProfile(0x1234)
    );
    // One-byte element needing 4 bytes with 2 left.
    assert_eq!(
        HeaderExtensions::new_checked(0xbede, &[0x00, 0x13, 0x01, 0x02]).unwrap_err(),
        ExtensionError::ElementOverrun { id: 1, offset: 1 }
    );
    // Two-byte element missing its length byte.
    assert_eq!(
        HeaderExtensions::new_checked(0x1000, &[0x00, 0x00, 0x00, 0x07]).unwrap_err(),
        ExtensionError::ElementOverrun { id: 7, offset: 3 }
    );
    // Two-byte element longer than the block.
    assert_eq!(
        HeaderExtensions::new_checked(0x1000, &[0x07, 0x03, 0x01, 0x02]).unwrap_err(),
        ExtensionError::ElementOverrun { id: 7, offset: 0 }
    );
    // Id 15 ends the one-byte block: its length is ignored (RFC 8285 §4.2).
    let e = HeaderExtensions::new_checked(0xbede, &[0x10, 0x01, 0xff, 0x00]).unwrap();
    assert_eq!(e.iter().count(), 1);
    // Only padding: no elements.
    let e = HeaderExtensions::new_checked(0xbede, &[0; 8]).unwrap();
    assert_eq!(e.iter().count(), 0);
}

#[test]
fn writer_limits() {
    let mut buf = [0u8; 300];
    let mut w = ExtensionBlockWriter::new(&mut buf);
    assert_eq!(w.add(0, &[1]), Err(ExtensionError::BadId(0)));
    assert_eq!(
        w.add(1, &[0; 256]),
        Err(ExtensionError::ValueTooLong { id: 1, len: 256 })
    );
    assert!(w.is_empty());
    assert_eq!(w.finish(), 0);
    let mut small = [0u8; 7];
    let mut w = ExtensionBlockWriter::new(&mut small);
    assert_eq!(
        w.add(1, &[0; 4]),
        Err(ExtensionError::BufferTooSmall {
            needed: 12,
            available: 7
        })
    );
    // Promotion needs one more byte per element than is left.
    let mut b = [0u8; 8];
    let mut w = ExtensionBlockWriter::new(&mut b);
    w.add(1, &[1, 2, 3]).unwrap();
    assert!(matches!(
        w.add(20, &[1]),
        Err(ExtensionError::BufferTooSmall { .. })
    ));
    assert_eq!(w.len(), 1);
    let n = w.finish();
    let e = HeaderExtensions::new_checked(u16::from_be_bytes([b[0], b[1]]), &b[4..n]).unwrap();
    assert_eq!(e.get(1), Some(&[1, 2, 3][..]));
}

#[test]
fn typed_values_round_trip_and_check() {
    fn rt<'a, V: ExtensionValue<'a> + PartialEq + std::fmt::Debug>(v: V, buf: &'a mut [u8]) {
        let n = v.write(buf).unwrap();
        assert_eq!(n, v.encoded_len());
        let back = V::parse(&buf[..n]).unwrap();
        assert_eq!(back, v);
    }
    rt(Mid("0"), &mut [0; 16]);
    rt(RtpStreamId("hi-res_1"), &mut [0; 16]);
    rt(RepairedRtpStreamId("lo"), &mut [0; 16]);
    rt(AbsSendTime::new(0xabcdef).unwrap(), &mut [0; 3]);
    rt(TransportSequenceNumber(0xbeef), &mut [0; 2]);
    rt(
        AudioLevel {
            voice_activity: false,
            level: 127,
        },
        &mut [0; 1],
    );
    rt(PlayoutDelay { min: 0xfff, max: 1 }, &mut [0; 3]);
    rt(
        VideoOrientation {
            back_camera: true,
            flip: false,
            rotation: VideoRotation::Deg270,
        },
        &mut [0; 1],
    );
    rt(
        AbsCaptureTime {
            capture_time: 0x0123_4567_89ab_cdef,
            clock_offset: None,
        },
        &mut [0; 8],
    );
    rt(
        AbsCaptureTime {
            capture_time: 1,
            clock_offset: Some(-(1 << 32)),
        },
        &mut [0; 16],
    );
    rt(TransmissionOffset::new(-1).unwrap(), &mut [0; 3]);
    rt(TransmissionOffset::new(-0x80_0000).unwrap(), &mut [0; 3]);

    // Bytes on the wire.
    assert_eq!(
        PlayoutDelay::parse(&[0x01, 0x01, 0x00]),
        // Pion playoutdelayextension_test.go: MinDelay 1<<4, MaxDelay 1<<8.
        Ok(PlayoutDelay { min: 16, max: 256 })
    );
    assert_eq!(
        AudioLevel::parse(&[0xda]),
        Ok(AudioLevel {
            voice_activity: true,
            level: 0x5a
        })
    );
    assert_eq!(
        TransmissionOffset::parse(&[0xff, 0xff, 0xfe]).map(TransmissionOffset::get),
        Ok(-2)
    );
    assert_eq!(
        VideoOrientation::parse(&[0x05]),
        Ok(VideoOrientation {
            back_camera: false,
            flip: true,
            rotation: VideoRotation::Deg90
        })
    );
    // NUL padding after a string is dropped (libwebrtc does the same).
    assert_eq!(Mid::parse(b"ab\0\0"), Ok(Mid("ab")));

    // Checked parsing.
    assert!(TransportSequenceNumber::parse(&[1]).is_err());
    assert!(TransportSequenceNumber::parse(&[1, 2, 3]).is_err());
    assert!(AbsCaptureTime::parse(&[0; 9]).is_err());
    assert!(AbsSendTime::parse(&[0; 4]).is_err());
    assert!(AudioLevel::parse(&[]).is_err());
    assert!(Mid::parse(b"").is_err());
    assert!(Mid::parse(b"\0").is_err());
    assert!(Mid::parse(b"a b").is_err());
    assert!(RtpStreamId::parse(b"a.b").is_err());
    // Checked writing.
    assert_eq!(
        PlayoutDelay {
            min: 0x1000,
            max: 0
        }
        .write(&mut [0; 3]),
        Err(ExtensionError::ValueOutOfRange {
            kind: ExtensionKind::PlayoutDelay
        })
    );
    assert!(AudioLevel {
        voice_activity: false,
        level: 128
    }
    .write(&mut [0; 1])
    .is_err());
    assert!(Mid("").write(&mut [0; 4]).is_err());
    assert!(matches!(
        AbsSendTime::new(1).unwrap().write(&mut [0; 2]),
        Err(ExtensionError::BufferTooSmall {
            needed: 3,
            available: 2
        })
    ));
    assert!(AbsSendTime::new(1 << 24).is_none());
    assert!(TransmissionOffset::new(0x80_0000).is_none());
}

#[test]
fn abs_send_time_conversions() {
    // 6.18 fixed point: 1.5 s is 0x060000.
    let v = AbsSendTime::from_duration(Duration::from_millis(1500));
    assert_eq!(v.get(), 0x06_0000);
    assert_eq!(v.to_duration(), Duration::from_millis(1500));
    // Wraps every 64 s.
    assert_eq!(
        AbsSendTime::from_duration(Duration::from_millis(65_500)).get(),
        0x06_0000
    );
    // From NTP: seconds 0x12345 (low 6 bits 0x05), fraction 0x8000_0000 (0.5).
    let ntp = (0x12345u64 << 32) | 0x8000_0000;
    assert_eq!(AbsSendTime::from_ntp(ntp).get(), (0x05 << 18) | (1 << 17));
}

#[test]
fn map_from_extmaps() {
    let m = ExtensionMap::from_extmaps([
        (1, "urn:ietf:params:rtp-hdrext:sdes:mid"),
        (2, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
        (3, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
        (
            4,
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        ),
        (
            5,
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        ),
        (6, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        (
            7,
            "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
        ),
        (8, "urn:3gpp:video-orientation"),
        (
            9,
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
        ),
        (10, "urn:ietf:params:rtp-hdrext:toffset"),
        (11, "urn:example:unknown"),
    ])
    .unwrap();
    for (i, k) in ExtensionKind::ALL.iter().enumerate() {
        let id = i as u8 + 1;
        assert_eq!(m.kind(id), Some(*k));
        assert_eq!(m.id_of(*k), Some(id));
        assert_eq!(ExtensionKind::from_uri(k.uri()), Some(*k));
    }
    assert_eq!(m.kind(11), None);
    assert_eq!(m.iter().count(), 10);
    assert_eq!(
        ExtensionMap::from_extmaps([(0, "urn:3gpp:video-orientation")]).unwrap_err(),
        ExtensionError::BadMapId(0)
    );
    assert_eq!(
        ExtensionMap::from_extmaps([(4096, "urn:3gpp:video-orientation")]).unwrap_err(),
        ExtensionError::BadMapId(4096)
    );
    // Remapping moves a kind and frees its old id.
    let mut m = m;
    m.insert(200, ExtensionKind::Mid).unwrap();
    assert_eq!(m.kind(1), None);
    assert_eq!(m.id_of(ExtensionKind::Mid), Some(200));
    m.insert(200, ExtensionKind::AudioLevel).unwrap();
    assert_eq!(m.id_of(ExtensionKind::Mid), None);
    assert_eq!(m.kind(6), None);
    m.remove(200);
    assert_eq!(m.id_of(ExtensionKind::AudioLevel), None);
}

#[test]
fn typed_read_through_map() {
    let mut m = ExtensionMap::new();
    m.insert(3, ExtensionKind::AudioLevel).unwrap();
    m.insert(20, ExtensionKind::Mid).unwrap();
    m.insert(5, ExtensionKind::AbsSendTime).unwrap();
    let mut buf = [0u8; 64];
    let mut w = ExtensionBlockWriter::new(&mut buf);
    w.add_value(
        3,
        &AudioLevel {
            voice_activity: true,
            level: 30,
        },
    )
    .unwrap();
    w.add_value(20, &Mid("video")).unwrap();
    // A bad value is refused and leaves the block as it was.
    assert!(w.add_value(7, &Mid("bad mid")).is_err());
    assert_eq!(w.len(), 2);
    let n = w.finish();
    let e =
        HeaderExtensions::new_checked(u16::from_be_bytes([buf[0], buf[1]]), &buf[4..n]).unwrap();
    assert_eq!(e.form(), ExtensionForm::TwoByte);
    assert_eq!(e.iter().count(), 2);
    assert_eq!(e.read::<Mid>(&m), Some(Ok(Mid("video"))));
    assert_eq!(
        e.read::<AudioLevel>(&m),
        Some(Ok(AudioLevel {
            voice_activity: true,
            level: 30
        }))
    );
    assert_eq!(e.read::<AbsSendTime>(&m), None);
    assert_eq!(e.read::<PlayoutDelay>(&m), None);
}

proptest! {
    #[test]
    fn view_never_panics(profile in prop_oneof![Just(0xbede_u16), Just(0x1000), any::<u16>()],
                         data in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(e) = HeaderExtensions::new_checked(profile, &data) {
            for x in e.iter() {
                let r = e.value_range(x.id).unwrap();
                prop_assert!(r.end <= data.len());
                let _ = (Mid::parse(x.data), AbsCaptureTime::parse(x.data), PlayoutDelay::parse(x.data));
            }
        }
    }

    #[test]
    fn promotion_preserves_elements(
        elems in proptest::collection::vec((1u8..=14, proptest::collection::vec(any::<u8>(), 1..=16)), 0..10),
        late_id in 15u8..=255,
        late in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut buf = [0u8; 512];
        let mut w = ExtensionBlockWriter::new(&mut buf);
        for (id, v) in &elems {
            w.add(*id, v).unwrap();
        }
        prop_assert_eq!(w.form(), ExtensionForm::OneByte);
        w.add(late_id, &late).unwrap();
        prop_assert_eq!(w.form(), ExtensionForm::TwoByte);
        let n = w.finish();
        prop_assert_eq!(n % 4, 0);
        let e = HeaderExtensions::new_checked(u16::from_be_bytes([buf[0], buf[1]]), &buf[4..n]).unwrap();
        let got: Vec<(u8, Vec<u8>)> = e.iter().map(|x| (x.id, x.data.to_vec())).collect();
        let mut want = elems.clone();
        want.push((late_id, late));
        prop_assert_eq!(got, want);
        prop_assert_eq!(usize::from(u16::from_be_bytes([buf[2], buf[3]])) * 4 + 4, n);
    }
}
