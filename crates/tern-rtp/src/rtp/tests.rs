use proptest::prelude::*;

use super::*;
use crate::extension::{
    AudioLevel, ExtensionError, ExtensionForm, ExtensionValue, PlayoutDelay, RtpStreamId,
    TransmissionOffset,
};

// Byte arrays from libwebrtc, modules/rtp_rtcp/source/rtp_packet_unittest.cc
// (constants kPayloadType = 100, kSeqNum = 0x1234, kTimestamp = 0x65431278,
// kSsrc = 0x12345678, transmission offset id 1 = 0x56ce, audio level id 9 =
// voice + 0x5a, rsid id 0xa "streamid", mid id 0xb "mid").
const MINIMUM_PACKET: [u8; 12] = [
    0x80, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78,
];
const PACKET_WITH_TO: [u8; 20] = [
    0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde, 0x00, 0x01,
    0x12, 0x00, 0x56, 0xce,
];
const PACKET_WITH_TO_AND_AL: [u8; 24] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0xbe,
    0xde,
    0x00,
    0x02,
    0x12,
    0x00,
    0x56,
    0xce,
    0x90,
    0x80 | 0x5a,
    0x00,
    0x00,
];
const PACKET_WITH_TWO_BYTE_EXTENSION_ID_LAST: [u8; 32] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0x10,
    0x00,
    0x00,
    0x04,
    0x01,
    0x03,
    0x00,
    0x56,
    0xce,
    0x09,
    0x01,
    0x80 | 0x5a,
    0xf0,
    0x03,
    0x00,
    0x30,
    0x22,
    0x00,
    0x00,
    0x00,
];
const PACKET_WITH_TWO_BYTE_EXTENSION_ID_FIRST: [u8; 32] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0x10,
    0x00,
    0x00,
    0x04,
    0xf0,
    0x03,
    0x00,
    0x30,
    0x22,
    0x01,
    0x03,
    0x00,
    0x56,
    0xce,
    0x09,
    0x01,
    0x80 | 0x5a,
    0x00,
    0x00,
    0x00,
];
const PACKET_WITH_TO_AND_AL_INVALID_PADDING: [u8; 28] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0xbe,
    0xde,
    0x00,
    0x03,
    0x12,
    0x00,
    0x56,
    0xce,
    0x00,
    0x02,
    0x00,
    0x00,
    0x90,
    0x80 | 0x5a,
    0x00,
    0x00,
];
const PACKET_WITH_TO_AND_AL_RESERVED_EXTENSION_ID: [u8; 28] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0xbe,
    0xde,
    0x00,
    0x03,
    0x12,
    0x00,
    0x56,
    0xce,
    0x00,
    0xf0,
    0x00,
    0x00,
    0x90,
    0x80 | 0x5a,
    0x00,
    0x00,
];
const PACKET_WITH_RSID: [u8; 28] = [
    0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde, 0x00, 0x03,
    0xa7, b's', b't', b'r', b'e', b'a', b'm', b'i', b'd', 0x00, 0x00, 0x00,
];
const PACKET_WITH_MID: [u8; 20] = [
    0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde, 0x00, 0x01,
    0xb2, b'm', b'i', b'd',
];
/// kPacket: two CSRCs, one extension, payload "payload", 8 bytes padding.
const PACKET: [u8; 43] = [
    0xb2, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0x34, 0x56, 0x78, 0x90,
    0x32, 0x43, 0x54, 0x65, 0xbe, 0xde, 0x00, 0x01, 0x12, 0x00, 0x56, 0xce, b'p', b'a', b'y', b'l',
    b'o', b'a', b'd', b'p', b'a', b'd', b'd', b'i', b'n', b'g', 8,
];
const PACKET_WITH_TWO_BYTE_HEADER_EXTENSION_WITH_PADDING: [u8; 28] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0x10,
    0x00,
    0x00,
    0x03,
    0xf0,
    0x03,
    0x00,
    0x56,
    0xce,
    0x00,
    0x00,
    0x00,
    0x09,
    0x01,
    0x80 | 0x5a,
    0x00,
];
/// kPacketWithInvalidExtension: transmission offset (id 1) with a 7-byte
/// value where its definition has 3.
const PACKET_WITH_INVALID_EXTENSION: [u8; 31] = [
    0x90,
    100,
    0x12,
    0x34,
    0x65,
    0x43,
    0x12,
    0x78,
    0x12,
    0x34,
    0x56,
    0x78,
    0xbe,
    0xde,
    0x00,
    0x02,
    (1 << 4) | 6,
    b'e',
    b'x',
    b't',
    b'd',
    b'a',
    b't',
    b'a',
    b'p',
    b'a',
    b'y',
    b'l',
    b'o',
    b'a',
    b'd',
];

fn header() -> RtpHeader<'static> {
    RtpHeader::new(
        PayloadType::new(100).unwrap(),
        SeqNo(0x1234),
        RtpTimestamp(0x6543_1278),
        Ssrc(0x1234_5678),
    )
}

const TO: TransmissionOffset = match TransmissionOffset::new(0x56ce) {
    Some(t) => t,
    None => panic!(),
};
const AL: AudioLevel = AudioLevel {
    voice_activity: true,
    level: 0x5a,
};
const PD: PlayoutDelay = PlayoutDelay { min: 3, max: 34 };

fn build(f: impl FnOnce(&mut RtpWriter<'_>)) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    let mut w = RtpWriter::new(&mut buf, &header()).unwrap();
    f(&mut w);
    let n = w.finish(&[], 0).unwrap();
    buf[..n].to_vec()
}

#[test]
fn writes_libwebrtc_packets() {
    assert_eq!(build(|_| {}), MINIMUM_PACKET);
    assert_eq!(header().emit(&[], 0, &mut [0; 12]), Ok(12));
    assert_eq!(
        build(|w| w.add_extension_value(1, &TO).unwrap()),
        PACKET_WITH_TO
    );
    assert_eq!(
        build(|w| {
            w.add_extension_value(1, &TO).unwrap();
            w.add_extension_value(9, &AL).unwrap();
        }),
        PACKET_WITH_TO_AND_AL
    );
    // The two-byte element added last promotes the one-byte ones in place.
    assert_eq!(
        build(|w| {
            w.add_extension_value(1, &TO).unwrap();
            w.add_extension_value(9, &AL).unwrap();
            w.add_extension_value(0xf0, &PD).unwrap();
        }),
        PACKET_WITH_TWO_BYTE_EXTENSION_ID_LAST
    );
    assert_eq!(
        build(|w| {
            w.add_extension_value(0xf0, &PD).unwrap();
            w.add_extension_value(1, &TO).unwrap();
            w.add_extension_value(9, &AL).unwrap();
        }),
        PACKET_WITH_TWO_BYTE_EXTENSION_ID_FIRST
    );
    assert_eq!(
        build(|w| w
            .add_extension_value(0xa, &RtpStreamId("streamid"))
            .unwrap()),
        PACKET_WITH_RSID
    );
    assert_eq!(
        build(|w| w.add_extension(0xb, b"mid").unwrap()),
        PACKET_WITH_MID
    );
}

#[test]
fn parses_libwebrtc_packet_with_csrcs_extension_and_padding() {
    let p = RtpPacket::new_checked(&PACKET[..]).unwrap();
    assert_eq!(p.version(), 2);
    assert!(p.padding());
    assert!(p.extension());
    assert!(!p.marker());
    assert_eq!(p.csrc_count(), 2);
    assert_eq!(p.payload_type().get(), 100);
    assert_eq!(p.sequence_number(), SeqNo(0x1234));
    assert_eq!(p.timestamp(), RtpTimestamp(0x6543_1278));
    assert_eq!(p.ssrc(), Ssrc(0x1234_5678));
    assert_eq!(
        p.csrcs().collect::<Vec<_>>(),
        [Ssrc(0x3456_7890), Ssrc(0x3243_5465)]
    );
    assert_eq!(p.csrcs().len(), 2);
    assert_eq!(p.extension_profile(), Some(0xbede));
    assert_eq!(p.extension_data(), Some(&[0x12, 0x00, 0x56, 0xce][..]));
    assert_eq!(p.header_len(), 28);
    assert_eq!(p.payload(), b"payload");
    assert_eq!(p.padding_len(), 8);
    let exts = p.extensions().unwrap().unwrap();
    assert_eq!(exts.form(), ExtensionForm::OneByte);
    let v = exts.get(1).unwrap();
    assert_eq!(TransmissionOffset::parse(v).unwrap().get(), 0x56ce);
}

#[test]
fn parses_libwebrtc_extension_packets() {
    let p =
        RtpPacket::new_checked(&PACKET_WITH_TWO_BYTE_HEADER_EXTENSION_WITH_PADDING[..]).unwrap();
    let e = p.extensions().unwrap().unwrap();
    assert_eq!(e.form(), ExtensionForm::TwoByte);
    assert_eq!(e.iter().count(), 2);
    assert_eq!(e.get(0xf0), Some(&[0x00, 0x56, 0xce][..]));
    assert_eq!(AudioLevel::parse(e.get(9).unwrap()), Ok(AL));
    assert!(p.payload().is_empty());

    let p = RtpPacket::new_checked(&PACKET_WITH_TWO_BYTE_EXTENSION_ID_LAST[..]).unwrap();
    let e = p.extensions().unwrap().unwrap();
    assert_eq!(PlayoutDelay::parse(e.get(0xf0).unwrap()), Ok(PD));
    assert_eq!(PD.min_delay().as_millis(), 30);
    assert_eq!(PD.max_delay().as_millis(), 340);

    // Id 0 with a non-zero length, and id 15, end the block: the elements
    // before them stay, the audio level after them is not seen.
    for bytes in [
        &PACKET_WITH_TO_AND_AL_INVALID_PADDING[..],
        &PACKET_WITH_TO_AND_AL_RESERVED_EXTENSION_ID[..],
    ] {
        let p = RtpPacket::new_checked(bytes).unwrap();
        let e = p.extensions().unwrap().unwrap();
        assert_eq!(e.iter().map(|x| x.id).collect::<Vec<_>>(), [1]);
        assert_eq!(p.extension_value(9), None);
    }

    let p = RtpPacket::new_checked(&PACKET_WITH_RSID[..]).unwrap();
    assert_eq!(
        RtpStreamId::parse(p.extension_value(0xa).unwrap()),
        Ok(RtpStreamId("streamid"))
    );

    let p = RtpPacket::new_checked(&PACKET_WITH_INVALID_EXTENSION[..]).unwrap();
    let v = p.extension_value(1).unwrap();
    assert_eq!(v, b"extdata");
    assert_eq!(
        TransmissionOffset::parse(v),
        Err(ExtensionError::BadValue {
            kind: crate::extension::ExtensionKind::TransmissionOffset,
            len: 7
        })
    );
    assert_eq!(p.payload(), b"payload");
}

// Pion, rtp/packet_test.go TestBasic: marker, PT 96, seq 27023, timestamp
// 3653407706, SSRC 476325762, a non-RFC 8285 extension (profile 1, one word
// of 0xff), payload 98 36 be 88 9e.
const PION_BASIC: [u8; 25] = [
    0x90, 0xe0, 0x69, 0x8f, 0xd9, 0xc2, 0x93, 0xda, 0x1c, 0x64, 0x27, 0x82, 0x00, 0x01, 0x00, 0x01,
    0xff, 0xff, 0xff, 0xff, 0x98, 0x36, 0xbe, 0x88, 0x9e,
];

#[test]
fn parses_pion_basic_packet() {
    let p = RtpPacket::new_checked(&PION_BASIC[..]).unwrap();
    assert!(p.marker());
    assert_eq!(p.payload_type().get(), 96);
    assert_eq!(p.sequence_number(), SeqNo(27023));
    assert_eq!(p.timestamp(), RtpTimestamp(3_653_407_706));
    assert_eq!(p.ssrc(), Ssrc(476_325_762));
    assert_eq!(p.extension_profile(), Some(1));
    assert_eq!(p.extension_data(), Some(&[0xff; 4][..]));
    assert_eq!(
        p.extensions().unwrap_err(),
        ExtensionError::UnknownProfile(1)
    );
    assert_eq!(p.header_len(), 20);
    assert_eq!(p.payload(), [0x98, 0x36, 0xbe, 0x88, 0x9e]);
    // Pion's TestExtension: a packet whose X bit promises an extension
    // header that is missing, and one whose extension length overruns.
    let missing = &PION_BASIC[..12];
    assert!(matches!(
        RtpPacket::new_checked(missing),
        Err(RtpError::Truncated {
            needed: 16,
            actual: 12
        })
    ));
    let mut overrun = PION_BASIC[..16].to_vec();
    overrun[12..16].copy_from_slice(&[0x99; 4]);
    assert!(matches!(
        RtpPacket::new_checked(&overrun[..]),
        Err(RtpError::Truncated { .. })
    ));
}

#[test]
fn rejects_bad_headers() {
    assert!(matches!(
        RtpPacket::new_checked(&[][..]),
        Err(RtpError::Truncated { .. })
    ));
    assert!(matches!(
        RtpPacket::new_checked(&MINIMUM_PACKET[..11]),
        Err(RtpError::Truncated {
            needed: 12,
            actual: 11
        })
    ));
    let mut v1 = MINIMUM_PACKET;
    v1[0] = 0x40;
    assert_eq!(
        RtpPacket::new_checked(&v1[..]).unwrap_err(),
        RtpError::BadVersion(1)
    );
    // CC = 2 without the CSRCs.
    let mut cc = MINIMUM_PACKET;
    cc[0] = 0x82;
    assert!(matches!(
        RtpPacket::new_checked(&cc[..]),
        Err(RtpError::Truncated {
            needed: 20,
            actual: 12
        })
    ));
    // P set, padding count zero.
    let mut p0 = MINIMUM_PACKET.to_vec();
    p0[0] |= 0x20;
    p0.push(0);
    assert_eq!(
        RtpPacket::new_checked(&p0[..]).unwrap_err(),
        RtpError::BadPadding {
            padding_len: 0,
            available: 1
        }
    );
    // P set, count larger than what follows the header.
    let mut p2 = MINIMUM_PACKET.to_vec();
    p2[0] |= 0x20;
    p2.extend([0, 3]);
    assert_eq!(
        RtpPacket::new_checked(&p2[..]).unwrap_err(),
        RtpError::BadPadding {
            padding_len: 3,
            available: 2
        }
    );
    // A padding-only packet is valid (RFC 3550 §5.1; used for probing).
    let mut pad_only = MINIMUM_PACKET.to_vec();
    pad_only[0] |= 0x20;
    pad_only.extend([0, 0, 0, 4]);
    let p = RtpPacket::new_checked(&pad_only[..]).unwrap();
    assert!(p.payload().is_empty());
    assert_eq!(p.padding_len(), 4);
}

#[test]
fn writes_padding_and_csrcs() {
    let csrcs = [Ssrc(0x3456_7890), Ssrc(0x3243_5465)];
    let h = RtpHeader {
        marker: true,
        csrcs: &csrcs,
        ..header()
    };
    let mut buf = [0u8; 64];
    let mut w = RtpWriter::new(&mut buf, &h).unwrap();
    w.add_extension_value(1, &TO).unwrap();
    let n = w.finish(b"payload", 8).unwrap();
    // libwebrtc's kPacket, except that our padding bytes are zero and the
    // marker is set.
    let mut expected = PACKET;
    expected[1] |= 0x80;
    expected[35..42].fill(0);
    assert_eq!(&buf[..n], &expected[..]);

    let too_many = [Ssrc(1); 16];
    let h = RtpHeader {
        csrcs: &too_many,
        ..header()
    };
    assert_eq!(
        h.emit(&[], 0, &mut buf).unwrap_err(),
        RtpError::TooManyCsrcs(16)
    );
    assert!(matches!(
        header().emit(&[1, 2, 3], 0, &mut [0; 14]),
        Err(RtpError::BufferTooSmall {
            needed: 15,
            available: 14
        })
    ));
}

#[test]
fn one_byte_only_writer_refuses_two_byte_elements() {
    let mut buf = [0u8; 64];
    let mut w =
        RtpWriter::with_extension_form(&mut buf, &header(), ExtensionForm::OneByte).unwrap();
    assert_eq!(
        w.add_extension(15, &[1]),
        Err(RtpError::Extension(ExtensionError::BadId(15)))
    );
    assert_eq!(
        w.add_extension(1, &[]),
        Err(RtpError::Extension(ExtensionError::EmptyValueInOneByte {
            id: 1
        }))
    );
    assert_eq!(
        w.add_extension(1, &[0; 17]),
        Err(RtpError::Extension(ExtensionError::ValueTooLong {
            id: 1,
            len: 17
        }))
    );
    assert_eq!(
        w.add_extension(0, &[1]),
        Err(RtpError::Extension(ExtensionError::BadId(0)))
    );
    w.add_extension(14, &[1; 16]).unwrap();
    let n = w.finish(&[], 0).unwrap();
    let p = RtpPacket::new_checked(&buf[..n]).unwrap();
    assert_eq!(p.extension_value(14), Some(&[1; 16][..]));
}

#[test]
fn rewrites_fields_in_place() {
    let mut bytes = PACKET;
    let mut p = RtpPacket::new_checked(&mut bytes[..]).unwrap();
    p.set_ssrc(Ssrc(0xdead_beef));
    p.set_sequence_number(SeqNo(7));
    p.set_timestamp(RtpTimestamp(0x0102_0304));
    p.set_payload_type(PayloadType::new(111).unwrap());
    p.set_marker(true);
    p.set_extension_value(1, &[0xaa, 0xbb, 0xcc]).unwrap();
    assert_eq!(
        p.set_extension_value(1, &[0xaa]),
        Err(RtpError::ExtensionLengthMismatch {
            id: 1,
            present: 3,
            new: 1
        })
    );
    assert_eq!(
        p.set_extension_value(2, &[0xaa]),
        Err(RtpError::NoSuchExtension { id: 2 })
    );
    p.extension_value_mut(1).unwrap()[0] = 0xab;
    let p = RtpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.ssrc(), Ssrc(0xdead_beef));
    assert_eq!(p.sequence_number(), SeqNo(7));
    assert_eq!(p.timestamp(), RtpTimestamp(0x0102_0304));
    assert_eq!(p.payload_type().get(), 111);
    assert!(p.marker());
    assert_eq!(p.extension_value(1), Some(&[0xab, 0xbb, 0xcc][..]));
    // Everything else is untouched.
    assert_eq!(bytes[0], PACKET[0]);
    assert_eq!(bytes[12..24], PACKET[12..24]);
    assert_eq!(bytes[28..], PACKET[28..]);
    let mut bytes2 = bytes;
    let mut p = RtpPacket::new_checked(&mut bytes2[..]).unwrap();
    p.set_marker(false);
    p.set_payload_type(PayloadType::new(100).unwrap());
    assert!(!p.marker());
    assert_eq!(p.payload_type().get(), 100);
}

#[test]
fn rtx_round_trip() {
    let orig = RtpPacket::new_checked(&PACKET[..]).unwrap();
    let mut buf = [0u8; 64];
    let n = write_rtx(
        &orig,
        Ssrc(0x0bad_cafe),
        SeqNo(500),
        PayloadType::new(97).unwrap(),
        &mut buf,
    )
    .unwrap();
    let rtx = RtpPacket::new_checked(&buf[..n]).unwrap();
    assert_eq!(rtx.ssrc(), Ssrc(0x0bad_cafe));
    assert_eq!(rtx.sequence_number(), SeqNo(500));
    assert_eq!(rtx.payload_type().get(), 97);
    assert_eq!(rtx.timestamp(), orig.timestamp());
    assert_eq!(rtx.marker(), orig.marker());
    assert!(!rtx.padding());
    assert_eq!(
        rtx.csrcs().collect::<Vec<_>>(),
        orig.csrcs().collect::<Vec<_>>()
    );
    assert_eq!(rtx.extension_data(), orig.extension_data());
    let (osn, payload) = rtx_original(rtx.payload()).unwrap();
    assert_eq!(osn, SeqNo(0x1234));
    assert_eq!(payload, b"payload");
    assert!(rtx_original(&[1]).is_err());
    assert!(matches!(
        write_rtx(
            &orig,
            Ssrc(1),
            SeqNo(1),
            PayloadType::new(97).unwrap(),
            &mut [0; 36]
        ),
        Err(RtpError::BufferTooSmall {
            needed: 37,
            available: 36
        })
    ));
}

fn arb_ext() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    // Distinct ids so `get` finds each; one-byte-sized values most of the time.
    proptest::collection::btree_map(
        1u8..=255,
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 1..=16),
            1 => proptest::collection::vec(any::<u8>(), 0..=255),
        ],
        0..8,
    )
    .prop_map(|m| m.into_iter().collect())
    .prop_shuffle()
}

proptest! {
    #[test]
    fn build_parse_round_trip(
        marker in any::<bool>(),
        pt in 0u8..=127,
        seq in any::<u16>(),
        ts in any::<u32>(),
        ssrc in any::<u32>(),
        csrcs in proptest::collection::vec(any::<u32>(), 0..=15),
        small_ids in any::<bool>(),
        exts in arb_ext(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        padding in any::<u8>(),
    ) {
        let exts: Vec<(u8, Vec<u8>)> = if small_ids {
            exts.into_iter().filter(|(id, v)| *id <= 14 && !v.is_empty() && v.len() <= 16).collect()
        } else {
            exts
        };
        let csrcs: Vec<Ssrc> = csrcs.into_iter().map(Ssrc).collect();
        let h = RtpHeader {
            marker,
            payload_type: PayloadType::new(pt).unwrap(),
            sequence_number: SeqNo(seq),
            timestamp: RtpTimestamp(ts),
            ssrc: Ssrc(ssrc),
            csrcs: &csrcs,
        };
        let mut buf = vec![0u8; 4096];
        let mut w = RtpWriter::new(&mut buf, &h).unwrap();
        for (id, v) in &exts {
            w.add_extension(*id, v).unwrap();
        }
        let n = w.finish(&payload, padding).unwrap();
        let p = RtpPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(p.marker(), marker);
        prop_assert_eq!(p.payload_type().get(), pt);
        prop_assert_eq!(p.sequence_number(), SeqNo(seq));
        prop_assert_eq!(p.timestamp(), RtpTimestamp(ts));
        prop_assert_eq!(p.ssrc(), Ssrc(ssrc));
        prop_assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert_eq!(p.padding_len(), usize::from(padding));
        prop_assert_eq!(p.padding(), padding > 0);
        prop_assert_eq!(p.extension(), !exts.is_empty());
        match p.extensions().unwrap() {
            None => prop_assert!(exts.is_empty()),
            Some(e) => {
                let got: Vec<(u8, Vec<u8>)> = e.iter().map(|x| (x.id, x.data.to_vec())).collect();
                prop_assert_eq!(&got, &exts);
                let two = exts.iter().any(|(id, v)| *id > 14 || v.is_empty() || v.len() > 16);
                prop_assert_eq!(e.form() == ExtensionForm::TwoByte, two);
            }
        }
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&bytes);
    }

    #[test]
    fn parse_never_panics_on_plausible_headers(
        first in 0x80u8..=0xbf,
        rest in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = vec![first];
        bytes.extend(rest);
        // Make the extension header plausible some of the time.
        if bytes.len() > 16 && first & 0x0f == 0 && bytes[1] & 1 == 0 {
            bytes[12] = 0xbe;
            bytes[13] = 0xde;
            bytes[14] = 0;
            bytes[15] %= 8;
        }
        exercise(&bytes);
    }
}

fn exercise(bytes: &[u8]) {
    let mut owned = bytes.to_vec();
    let Ok(mut p) = RtpPacket::new_checked(&mut owned[..]) else {
        return;
    };
    let _ = (
        p.version(),
        p.padding(),
        p.marker(),
        p.payload_type(),
        p.sequence_number(),
        p.timestamp(),
        p.ssrc(),
        p.csrcs().count(),
        p.extension_profile(),
        p.extension_data(),
        p.payload().len(),
        p.padding_len(),
        p.header_len(),
    );
    assert!(p.header_len() + p.payload().len() + p.padding_len() == p.len());
    if let Ok(Some(e)) = p.extensions() {
        let ids: Vec<u8> = e.iter().map(|x| x.id).collect();
        for id in ids {
            assert!(p.extension_value(id).is_some());
            let v = p.extension_value_mut(id).map(|v| v.to_vec()).unwrap();
            p.set_extension_value(id, &v).unwrap();
        }
    }
    p.set_ssrc(Ssrc(1));
    p.set_sequence_number(SeqNo(2));
    assert_eq!(p.ssrc(), Ssrc(1));
}

// Chrome packets captured and dissected with Wireshark, from
// olivermichel/webrtc-analysis, test/include/data.h (rtp_pkt1, rtp_pkt2,
// rtp_pkt3; headers only, the payload was cut). The dissection comments
// there give the field values checked here.
const CHROME_PKT1: [u8; 28] = [
    0x90, 0x2d, 0x1a, 0x5f, 0xd4, 0x09, 0x05, 0x49, 0xf7, 0xb1, 0x6e, 0x83, 0xbe, 0xde, 0x00, 0x03,
    0x22, 0xf3, 0x43, 0x50, 0x41, 0x00, 0x9b, 0xd2, 0x81, 0x00, 0x45, 0x00,
];
const CHROME_PKT2: [u8; 48] = [
    0x90, 0xad, 0x19, 0xd4, 0xd4, 0x05, 0xe7, 0x97, 0xf7, 0xb1, 0x6e, 0x83, 0xbe, 0xde, 0x00, 0x08,
    0x22, 0xea, 0x43, 0x2b, 0x41, 0x00, 0x04, 0x90, 0x30, 0x30, 0x00, 0x60, 0x02, 0x7c, 0x01, 0x00,
    0x03, 0x00, 0x09, 0x00, 0x0a, 0x00, 0x23, 0x00, 0x00, 0x00, 0x00, 0xd2, 0x40, 0x00, 0x01, 0x00,
];
const CHROME_PKT3: [u8; 84] = [
    0x90, 0x2d, 0x61, 0xc5, 0x95, 0x0a, 0x0f, 0xee, 0x8d, 0x38, 0x14, 0xe5, 0x10, 0x00, 0x00, 0x11,
    0x02, 0x03, 0x03, 0xf7, 0xae, 0x04, 0x02, 0x00, 0x02, 0x09, 0x01, 0x30, 0x03, 0x01, 0x00, 0x06,
    0x01, 0x02, 0x07, 0x0d, 0x01, 0x00, 0x01, 0x00, 0x07, 0x00, 0x07, 0x00, 0x0a, 0x00, 0x00, 0x00,
    0x00, 0x0d, 0x21, 0xc0, 0x00, 0x01, 0x80, 0x03, 0x18, 0x7a, 0xaa, 0xf1, 0x30, 0xa0, 0xa0, 0x14,
    0xd1, 0x41, 0x38, 0x23, 0x04, 0x60, 0x08, 0x64, 0x22, 0x22, 0x26, 0x50, 0x09, 0xf0, 0x07, 0x70,
    0x13, 0xf0, 0x0e, 0xf0,
];

/// Parses a capture, checks it against its dissection, and rebuilds it with
/// the writer from the parsed fields: the bytes come out identical.
fn check_capture(
    bytes: &[u8],
    (marker, pt, seq, ts, ssrc): (bool, u8, u16, u32, u32),
    profile: u16,
    elements: &[(u8, &str)],
) {
    let p = RtpPacket::new_checked(bytes).unwrap();
    assert_eq!(p.marker(), marker);
    assert_eq!(p.payload_type().get(), pt);
    assert_eq!(p.sequence_number(), SeqNo(seq));
    assert_eq!(p.timestamp(), RtpTimestamp(ts));
    assert_eq!(p.ssrc(), Ssrc(ssrc));
    assert_eq!(p.extension_profile(), Some(profile));
    let e = p.extensions().unwrap().unwrap();
    let got: Vec<(u8, String)> = e.iter().map(|x| (x.id, hex::encode(x.data))).collect();
    let want: Vec<(u8, String)> = elements.iter().map(|(i, h)| (*i, h.to_string())).collect();
    assert_eq!(got, want);

    let h = RtpHeader {
        marker,
        ..RtpHeader::new(
            PayloadType::new(pt).unwrap(),
            SeqNo(seq),
            RtpTimestamp(ts),
            Ssrc(ssrc),
        )
    };
    let mut buf = [0u8; 128];
    let mut w = RtpWriter::new(&mut buf, &h).unwrap();
    for x in e.iter() {
        w.add_extension(x.id, x.data).unwrap();
    }
    let n = w.finish(p.payload(), 0).unwrap();
    assert_eq!(&buf[..n], bytes);
}

#[test]
fn chrome_captures() {
    check_capture(
        &CHROME_PKT1,
        (false, 45, 6751, 3_557_360_969, 0xf7b1_6e83),
        0xbede,
        &[(2, "f34350"), (4, "009b"), (13, "810045")],
    );
    check_capture(
        &CHROME_PKT2,
        (true, 45, 6612, 3_557_156_759, 0xf7b1_6e83),
        0xbede,
        &[
            (2, "ea432b"),
            (4, "0004"),
            (9, "30"),
            (3, "00"),
            (6, "02"),
            (7, "0100030009000a002300000000"),
            (13, "400001"),
        ],
    );
    // Two-byte form: the 33-byte element (id 13) needs it.
    check_capture(
        &CHROME_PKT3,
        (false, 45, 25029, 2_500_464_622, 0x8d38_14e5),
        0x1000,
        &[
            (2, "03f7ae"),
            (4, "0002"),
            (9, "30"),
            (3, "00"),
            (6, "02"),
            (7, "01000100070007000a00000000"),
            (
                13,
                "c000018003187aaaf130a0a014d1413823046008642222265009f0077013f00ef0",
            ),
        ],
    );
    // Read with the ids Chrome's video offers used then (2 abs-send-time,
    // 3 video-orientation, 4 transport-cc, 9 mid). The capture does not
    // carry its SDP: this mapping is our assumption, consistent with the
    // value sizes.
    let mut m = crate::extension::ExtensionMap::new();
    m.insert(3, crate::extension::ExtensionKind::VideoOrientation)
        .unwrap();
    m.insert(2, crate::extension::ExtensionKind::AbsSendTime)
        .unwrap();
    m.insert(4, crate::extension::ExtensionKind::TransportSequenceNumber)
        .unwrap();
    m.insert(9, crate::extension::ExtensionKind::Mid).unwrap();
    let p = RtpPacket::new_checked(&CHROME_PKT2[..]).unwrap();
    let e = p.extensions().unwrap().unwrap();
    use crate::extension::{AbsSendTime, Mid, TransportSequenceNumber};
    assert_eq!(e.read::<AbsSendTime>(&m).unwrap().unwrap().get(), 0xea432b);
    assert_eq!(
        e.read::<TransportSequenceNumber>(&m),
        Some(Ok(TransportSequenceNumber(4)))
    );
    assert_eq!(e.read::<Mid>(&m), Some(Ok(Mid("0"))));
    assert_eq!(
        e.read::<crate::extension::VideoOrientation>(&m)
            .unwrap()
            .unwrap()
            .rotation,
        crate::extension::VideoRotation::Deg0
    );
}

#[test]
fn mapped_values_write_and_read() {
    use crate::extension::{ExtensionKind, ExtensionMap, Mid, TransportSequenceNumber};
    let mut m = ExtensionMap::new();
    m.insert(4, ExtensionKind::TransportSequenceNumber).unwrap();
    m.insert(9, ExtensionKind::Mid).unwrap();
    let mut buf = [0u8; 64];
    let mut w = RtpWriter::new(&mut buf, &header()).unwrap();
    assert_eq!(
        w.add_mapped_value(&m, &TransportSequenceNumber(77)),
        Ok(true)
    );
    assert_eq!(w.add_mapped_value(&m, &Mid("a")), Ok(true));
    assert_eq!(w.add_mapped_value(&m, &AL), Ok(false));
    let n = w.finish(b"x", 0).unwrap();
    let p = RtpPacket::new_checked(&buf[..n]).unwrap();
    assert_eq!(
        p.read_extension::<TransportSequenceNumber>(&m),
        Some(Ok(TransportSequenceNumber(77)))
    );
    assert_eq!(p.read_extension::<Mid>(&m), Some(Ok(Mid("a"))));
    assert_eq!(p.read_extension::<AudioLevel>(&m), None);
    assert_eq!(p.extensions().unwrap().unwrap().iter().count(), 2);
}
