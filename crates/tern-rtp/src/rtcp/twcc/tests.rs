use super::*;
use proptest::prelude::*;

/// Parses `p` and returns (seq, arrival µs) for every reported packet.
fn parse(p: &[u8]) -> Vec<(u16, Option<i64>)> {
    let tf = TransportFeedback::new_checked(p).unwrap();
    tf.packets()
        .map(|(s, a)| (s, a.map(|a| a.time_us)))
        .collect()
}

/// Writes every packet for `entries`; returns them.
fn write_all(entries: &[(u16, Option<i64>)], max_len: usize) -> Vec<Vec<u8>> {
    let mut w = TwccWriter::new(0xfa17fa17, 0, entries, 0)
        .unwrap()
        .with_max_packet_len(max_len);
    let mut out = vec![];
    let mut buf = vec![0u8; max_len];
    while let Some(n) = w.write_next(&mut buf).unwrap() {
        assert!(n <= max_len && n % 4 == 0);
        out.push(buf[..n].to_vec());
    }
    assert!(w.is_done());
    out
}

// pion/rtcp transport_layer_cc_test.go TestTransportLayerCC_Unmarshal
// "example1": captured from Chrome (pion/rtcp#52, where the padding octet
// turned out to be libwebrtc's padding count).
const CHROME: [u8; 24] = [
    0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0, 0x0, 0x99, 0x0, 0x1, 0x3d,
    0xe8, 0x2, 0x17, 0x20, 0x1, 0x94, 0x1,
];

#[test]
fn chrome_feedback_parses_and_our_writer_reproduces_it() {
    let tf = TransportFeedback::new_checked(&CHROME[..]).unwrap();
    assert_eq!(tf.sender_ssrc(), 4195875351);
    assert_eq!(tf.media_ssrc(), 1124282272);
    assert_eq!(tf.base_seq(), 153);
    assert_eq!(tf.status_count(), 1);
    assert_eq!(tf.reference_time(), 4057090);
    assert_eq!(tf.feedback_count(), 23);
    let t = 4057090 * 64_000 + 37_000;
    let p: Vec<_> = tf.packets().collect();
    assert_eq!(
        p,
        vec![(
            153,
            Some(TwccArrival {
                delta_ticks: 148,
                time_us: t
            })
        )]
    );

    let entries = [(153, Some(t))];
    let mut w = TwccWriter::new(4195875351, 1124282272, &entries, 23).unwrap();
    let mut out = [0u8; 64];
    let n = w.write_next(&mut out).unwrap().unwrap();
    assert_eq!(&out[..n], &CHROME);
    assert_eq!(w.next_feedback_count(), 24);
    assert_eq!(w.write_next(&mut out).unwrap(), None);
}

#[test]
fn pion_run_length_example_round_trips_byte_exact() {
    // pion/rtcp transport_layer_cc_test.go Unmarshal "example4".
    let p = [
        0xaf, 0xcd, 0x0, 0x7, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x0, 0x4, 0x0, 0x7,
        0x10, 0x63, 0x6e, 0x1, 0x20, 0x7, 0x4c, 0x24, 0x24, 0x10, 0xc, 0xc, 0x10, 0x0, 0x0, 0x3,
    ];
    let got = parse(&p);
    let mut t = 1074030 * 64_000;
    let mut want = vec![];
    for (i, d) in [19000, 9000, 9000, 4000, 3000, 3000, 4000]
        .into_iter()
        .enumerate()
    {
        t += d;
        want.push((4 + i as u16, Some(t)));
    }
    assert_eq!(got, want);
    let mut w = TwccWriter::new(0xfa17fa17, 0x193dd8bb, &want, 1).unwrap();
    let mut out = [0u8; 64];
    let n = w.write_next(&mut out).unwrap().unwrap();
    assert_eq!(&out[..n], &p);
}

#[test]
fn pion_two_bit_vector_with_truncated_run() {
    // pion/rtcp transport_layer_cc_test.go Unmarshal "example6": a run
    // length chunk of 48 losses that the status count (9) cuts to 2.
    let p = [
        0xaf, 0xcd, 0x0, 0x7, 0x9b, 0x74, 0xf6, 0x1f, 0x93, 0x71, 0xdc, 0xbc, 0x85, 0x3c, 0x0, 0x9,
        0x63, 0xf9, 0x16, 0xb3, 0xd5, 0x52, 0x0, 0x30, 0x9b, 0xaa, 0x6a, 0xaa, 0x7b, 0x1, 0x9, 0x1,
    ];
    let tf = TransportFeedback::new_checked(&p[..]).unwrap();
    assert_eq!(
        (tf.base_seq(), tf.status_count(), tf.feedback_count()),
        (34108, 9, 179)
    );
    let deltas: Vec<_> = tf
        .packets()
        .map(|(_, a)| a.map(|a| a.delta_ticks))
        .collect();
    assert_eq!(
        deltas,
        vec![
            Some(155),
            Some(170),
            Some(106),
            Some(170),
            Some(123),
            None,
            Some(265),
            None,
            None
        ]
    );
}

#[test]
fn libwebrtc_rejects_what_we_reject() {
    // pion/rtcp transport_layer_cc_test.go "example7": a feedback with a zero
    // status count and no chunk, as pion/interceptor and webrtc-rs once sent
    // it; libwebrtc drops it with "Buffer too small (16 bytes) to fit a
    // FeedbackPacket. Minimum size = 18" (pion/interceptor#159,
    // webrtc-rs/webrtc#215). We refuse to parse it and never write it.
    let empty = [
        0x8f, 0xcd, 0x0, 0x4, 0x9a, 0xcb, 0x4, 0x42, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
        0x0, 0x0, 0x0,
    ];
    assert!(TransportFeedback::new_checked(&empty[..]).is_err());
    let mut w = TwccWriter::new(1, 2, &[], 0).unwrap();
    assert_eq!(w.write_next(&mut [0u8; 64]).unwrap(), None);
    // "example8"/"example9": chunks announce more deltas than are present.
    let short = [
        0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0, 0x0, 0x99, 0x0, 0x3,
        0x3d, 0xe8, 0x2, 0x17, 0x20, 0x3, 0x94, 0x1,
    ];
    assert!(TransportFeedback::new_checked(&short[..]).is_err());
    let short_large = [
        0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0, 0x0, 0x99, 0x0, 0x2,
        0x3d, 0xe8, 0x2, 0x17, 0x40, 0x2, 0x94, 0x1,
    ];
    assert!(TransportFeedback::new_checked(&short_large[..]).is_err());
    // A status count the chunks do not reach.
    let mut p = CHROME;
    p[15] = 2;
    assert!(TransportFeedback::new_checked(&p[..]).is_err());
}

#[test]
fn draft_chunk_examples() {
    // draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.3 and §3.1.4
    // examples (as pion/rtcp's chunk tests carry them).
    assert_eq!(chunk_len(0x00dd, 1000), 221);
    assert_eq!(chunk_symbol(0x00dd, 0), 0);
    let one_bit: Vec<_> = (0..14).map(|i| chunk_symbol(0x9f1c, i)).collect();
    assert_eq!(one_bit, [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
    let two_bit: Vec<_> = (0..7).map(|i| chunk_symbol(0xcd50, i)).collect();
    assert_eq!(two_bit, [0, 3, 1, 1, 1, 0, 0]);
    assert_eq!(chunk_len(0xcd50, 3), 3);
}

#[test]
fn libwebrtc_padding_variants_are_accepted() {
    // transport_feedback_unittest.cc TransportFeedbackPadding: 4 more bytes
    // of padding on top of libwebrtc's own, count in the last octet.
    let mut p = CHROME.to_vec();
    p.extend_from_slice(&[0, 0, 0, 5]);
    p[3] += 1;
    assert_eq!(parse(&p).len(), 1);
    // TransportFeedbackPaddingBackwardsCompatibility: zero padding, no P bit.
    let mut p = CHROME;
    p[0] &= !0x20;
    p[23] = 0;
    assert_eq!(parse(&p).len(), 1);
}

/// libwebrtc's FeedbackTester: arrival = seq × delta, plus a 2^16 × delta
/// jump each time the sequence wraps.
fn tester(seqs: &[u16], delta_us: i64) -> Vec<(u16, Option<i64>)> {
    let mut time = 0;
    let mut last = seqs[0];
    seqs.iter()
        .map(|&s| {
            if s < last {
                time += 0x10000 * delta_us;
            }
            last = s;
            (s, Some(time + i64::from(s) * delta_us))
        })
        .collect()
}

fn one_packet_len(entries: &[(u16, Option<i64>)]) -> usize {
    let packets = write_all(entries, MAX_PACKET_LEN);
    assert_eq!(packets.len(), 1);
    let got = parse(&packets[0]);
    let received: Vec<_> = got.iter().filter(|e| e.1.is_some()).map(|e| e.0).collect();
    let want: Vec<_> = entries.iter().map(|e| e.0).collect();
    assert_eq!(received, want);
    packets[0].len()
}

fn words(n: usize) -> usize {
    (n + 3) & !3
}

#[test]
fn libwebrtc_unittest_sizes() {
    // Expected sizes from libwebrtc transport_feedback_unittest.cc
    // (kHeaderSize 20, chunk 2, small delta 1, large delta 2), padded.
    let d = 4 * TWCC_DELTA_TICK_US; // FeedbackTester's default delta
                                    // TransportFeedbackOneBitVector / FullOneBitVector.
    assert_eq!(
        one_packet_len(&tester(&[1, 2, 7, 8, 9, 10, 13], d)),
        words(20 + 2 + 7)
    );
    assert_eq!(
        one_packet_len(&tester(&[1, 2, 7, 8, 9, 10, 13, 14], d)),
        words(20 + 2 + 8)
    );
    // OneBitVectorWrapReceived / WrapMissing.
    let m = 0xffff;
    assert_eq!(
        one_packet_len(&tester(&[m - 2, m - 1, m, 0, 1, 2], d)),
        words(20 + 2 + 6)
    );
    assert_eq!(
        one_packet_len(&tester(&[m - 2, m - 1, 1, 2], d)),
        words(20 + 2 + 4)
    );
    // TwoBitVector / TwoBitVectorFull: every delta 256 ticks.
    let large = 256 * TWCC_DELTA_TICK_US;
    assert_eq!(
        one_packet_len(&tester(&[1, 2, 6, 7], large)),
        words(20 + 2 + 4 * 2)
    );
    assert_eq!(
        one_packet_len(&tester(&[1, 2, 6, 7, 8], large)),
        words(20 + 4 + 5 * 2)
    );
    // LargeAndNegativeDeltas.
    let ms = 1000;
    let e = [
        (1, Some(2 * ms)),
        (2, Some(ms)),
        (6, Some(4 * ms)),
        (7, Some(3 * ms)),
        (8, Some(3 * ms + 64_000)),
    ];
    assert_eq!(one_packet_len(&e), words(20 + 2 + 3 * 2 + 1));
    // MaxRle and MinRle: vector, run, vector.
    let n = (1 << 13) - 1 + 14;
    assert_eq!(
        one_packet_len(&[(0, Some(ms)), (n, Some(2 * ms))]),
        words(20 + 3 * 2 + 2)
    );
    assert_eq!(
        one_packet_len(&[(0, Some(ms)), (29, Some(2 * ms))]),
        words(20 + 3 * 2 + 2)
    );
    // OneToTwoBitVector and SimpleSplit.
    let big = 64_000;
    assert_eq!(
        one_packet_len(&[(0, Some(0)), (6, Some(big))]),
        words(20 + 2 + 1 + 2)
    );
    assert_eq!(
        one_packet_len(&[(0, Some(0)), (7, Some(big))]),
        words(20 + 4 + 1 + 2)
    );
    // OneToTwoBitVectorSplit: 22 packets, a large delta at the 9th.
    let mut e = vec![];
    let mut t = ms;
    for i in 0..22u16 {
        if i > 0 {
            t += if i == 8 { 64_000 } else { ms };
        }
        e.push((i, Some(t)));
    }
    assert_eq!(one_packet_len(&e), words(20 + 3 * 2 + 21 + 2));
}

#[test]
fn libwebrtc_vector_splits_are_valid() {
    // TransportFeedbackCorrectlySplitsVectorChunks.
    for deltas in 0..=15u16 {
        let mut e: Vec<_> = (0..deltas)
            .map(|i| (i, Some(i64::from(i) * 1000)))
            .collect();
        e.push((deltas, Some(i64::from(deltas) * 1000 + 64_000)));
        let p = write_all(&e, MAX_PACKET_LEN);
        assert_eq!(p.len(), 1);
        assert_eq!(parse(&p[0]).len(), e.len());
    }
}

#[test]
fn delta_overflow_and_seq_limits_split_packets() {
    // TransportFeedbackLimits: the largest positive delta fits, one more
    // tick starts a new feedback.
    let max = i64::from(i16::MAX) * TWCC_DELTA_TICK_US;
    assert_eq!(write_all(&[(0, Some(0)), (1, Some(max))], 1500).len(), 1);
    let p = write_all(&[(0, Some(0)), (1, Some(max + TWCC_DELTA_TICK_US))], 1500);
    assert_eq!(p.len(), 2);
    assert_eq!(parse(&p[1]), vec![(1, Some(max + TWCC_DELTA_TICK_US))]);
    // A gap of 0x8000 is still newer; 0x8001 cannot be ordered.
    assert!(TwccWriter::new(1, 2, &[(0, Some(0)), (0x8000, Some(1000))], 0).is_ok());
    assert!(TwccWriter::new(1, 2, &[(0, Some(0)), (0x8001, Some(1000))], 0).is_err());
    assert!(TwccWriter::new(1, 2, &[(5, Some(0)), (5, Some(1000))], 0).is_err());
    // Losses only: one run-length chunk, no deltas.
    let p = write_all(&[(10, None), (11, None), (12, None)], 1500);
    assert_eq!(parse(&p[0]), vec![(10, None), (11, None), (12, None)]);
}

#[test]
fn size_limit_splits_and_every_packet_fits() {
    // Alternating large/small deltas force two-bit chunks; 60-byte packets.
    let e: Vec<_> = (0..200u16)
        .map(|i| {
            (
                i,
                Some(i64::from(i) * 40_000 + if i % 2 == 0 { 0 } else { 30_000 }),
            )
        })
        .collect();
    let packets = write_all(&e, 60);
    assert!(packets.len() > 5);
    let mut all = vec![];
    for (i, p) in packets.iter().enumerate() {
        let tf = TransportFeedback::new_checked(&p[..]).unwrap();
        assert_eq!(usize::from(tf.feedback_count()), i);
        all.extend(parse(p));
    }
    assert_eq!(
        all.iter().map(|e| e.0).collect::<Vec<_>>(),
        e.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    let mut w = TwccWriter::new(1, 2, &e, 0).unwrap();
    assert!(w.write_next(&mut [0u8; 23]).is_err());
}

/// Checks that `packets` report exactly `entries` (plus the losses implied
/// by gaps), with arrival times within half a tick.
fn check_round_trip(
    entries: &[(u16, Option<i64>)],
    packets: &[Vec<u8>],
) -> Result<(), TestCaseError> {
    let mut got = vec![];
    let mut prev_ref: Option<u32> = None;
    let mut base_shift = 0i64;
    for p in packets {
        let tf = TransportFeedback::new_checked(&p[..]).unwrap();
        if let Some(prev) = prev_ref {
            // Unwrap the 24-bit reference time as a receiver would.
            let d = tf.reference_delta_us(prev);
            base_shift += d - (tf.reference_time_us() - i64::from(prev) * TWCC_REFERENCE_TICK_US);
        }
        prev_ref = Some(tf.reference_time());
        got.extend(
            tf.packets()
                .map(|(s, a)| (s, a.map(|a| a.time_us + base_shift))),
        );
    }
    let first_ref = TransportFeedback::new_checked(&packets[0][..])
        .unwrap()
        .reference_time_us();
    let first_us = entries.iter().find_map(|e| e.1);
    // Our arrival times are relative to the writer's unwrapped base.
    let offset = first_us.map_or(0, |t| {
        t.div_euclid(TWCC_REFERENCE_TICK_US) * TWCC_REFERENCE_TICK_US - first_ref
    });
    let mut want = vec![];
    for (i, &(s, a)) in entries.iter().enumerate() {
        if i > 0 {
            let mut g = entries[i - 1].0.wrapping_add(1);
            while g != s {
                want.push((g, None));
                g = g.wrapping_add(1);
            }
        }
        want.push((s, a));
    }
    prop_assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        prop_assert_eq!(g.0, w.0);
        match (g.1, w.1) {
            (None, None) => {}
            (Some(gt), Some(wt)) => prop_assert!(
                (gt + offset - wt).abs() <= TWCC_DELTA_TICK_US / 2,
                "{} vs {}",
                gt + offset,
                wt
            ),
            _ => prop_assert!(false, "received/lost mismatch at {}", g.0),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_parse_round_trip(
        start in any::<u16>(),
        steps in proptest::collection::vec((1u16..6, any::<bool>(), -30_000i64..90_000, 0u8..20), 1..400),
        max_len in 40usize..1500,
        t0 in 0i64..(1i64 << 40),
    ) {
        let mut entries = vec![];
        let mut seq = start;
        let mut t = t0;
        for (i, &(gap, lost, dt, big)) in steps.iter().enumerate() {
            if i > 0 {
                seq = seq.wrapping_add(gap);
            }
            // Occasional jumps beyond the ±8.19 s a delta can carry.
            t += if big == 0 { 9_000_000 } else { dt };
            entries.push((seq, if lost { None } else { Some(t.max(0)) }));
        }
        let packets = write_all(&entries, max_len);
        prop_assert!(!packets.is_empty());
        check_round_trip(&entries, &packets)?;
    }

    #[test]
    fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut d = data;
        if d.len() >= 2 {
            d[0] = 0x8f | (d[0] & 0x20);
            d[1] = 205;
        }
        if let Ok(tf) = TransportFeedback::new_checked(&d[..]) {
            let n = tf.packets().count();
            prop_assert_eq!(n, usize::from(tf.status_count()));
        }
    }
}

#[test]
fn a_long_loss_run_in_a_tiny_buffer_is_an_error_not_a_hang() {
    // 30000 losses need four run-length chunks: more than 24 bytes hold.
    let e = [(0u16, Some(0i64)), (1, Some(1000)), (30_002, Some(2000))];
    let mut w = TwccWriter::new(1, 2, &e, 0)
        .unwrap()
        .with_max_packet_len(24);
    let mut buf = [0u8; 24];
    let mut n = 0;
    while let Ok(Some(_)) = w.write_next(&mut buf) {
        n += 1;
        assert!(n < 10);
    }
    assert!(!w.is_done());
    // With room the same input goes through.
    assert_eq!(
        write_all(&e, 64)
            .iter()
            .map(|p| parse(p).len())
            .sum::<usize>(),
        30_003
    );
}

#[test]
fn zero_padding_without_p_bit_is_strict_compound_safe() {
    let t = 4057090 * 64_000 + 37_000;
    let entries = [(153, Some(t))];
    let mut w = TwccWriter::new(4195875351, 1124282272, &entries, 23)
        .unwrap()
        .without_padding_bit();
    let mut out = [0u8; 64];
    let n = w.write_next(&mut out[..]).unwrap().unwrap();
    // Chrome's packet with the P bit cleared and the count octet zeroed.
    let mut want = CHROME;
    want[0] &= !0x20;
    want[23] = 0;
    assert_eq!(&out[..n], &want);
    // Followed by a PLI, a strict compound reader accepts it.
    let mut d = out[..n].to_vec();
    d.extend_from_slice(&[0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert!(crate::rtcp::CompoundIter::new(&d).all(|p| p.is_ok()));
}

#[test]
fn pion_pre_fix_padding_is_rejected_like_libwebrtc() {
    // Before pion/rtcp#53 (issue pion/rtcp#52) Pion wrote this Chrome packet
    // with the P bit set but a zero padding octet; libwebrtc's
    // CommonHeader::Parse drops it ("Padding bit set but 0 padding size
    // specified"). So do we, and our writer puts the count there.
    let mut p = CHROME;
    p[23] = 0;
    assert_eq!(
        TransportFeedback::new_checked(&p[..]).unwrap_err(),
        RtcpError::BadPadding
    );
    for n in 1..8u16 {
        let entries: Vec<_> = (0..n)
            .map(|i| (i, Some(5_000 + i64::from(i) * 1000)))
            .collect();
        let p = &write_all(&entries, 100)[0];
        let unpadded = 20 + 2 + usize::from(n);
        assert_eq!(p[0] & 0x20 != 0, unpadded % 4 != 0);
        if unpadded % 4 != 0 {
            assert_eq!(usize::from(p[p.len() - 1]), p.len() - unpadded);
        }
    }
}

/// Found by the rtcp_parse fuzz target (crash-d42e02f4): a feedback whose
/// first received packet lies more than 32768 statuses after the base. The
/// writer took the long loss run for going back and could not re-encode it.
#[test]
fn a_loss_run_longer_than_half_the_sequence_space_reencodes() {
    let data = hex::decode(
        "8fcd001616b6b6b6b6b6b6b6b6b6b6161616161616161616161616161616161616\
         1616eae9161616161616161616161616161616161616161616161616161616161616\
         161616161616161616161616161616161616161616161616161616161616162c2c2c\
         2c2c05",
    )
    .unwrap();
    let tf = TransportFeedback::new_checked(&data[..]).unwrap();
    let entries: Vec<_> = tf
        .packets()
        .map(|(s, a)| (s, a.map(|a| a.time_us)))
        .collect();
    assert_eq!(entries.len(), 46614);
    let first = entries.iter().position(|e| e.1.is_some()).unwrap();
    assert!(first > 0x8000, "the case needs a long leading loss run");
    let mut got = vec![];
    for p in write_all(&entries, 1200) {
        got.extend(parse(&p));
    }
    assert_eq!(got, entries);
}

/// Losses spanning more than the whole sequence space still split into
/// packets that cover each number once.
#[test]
fn losses_beyond_one_status_count_split() {
    let mut entries = vec![(0u16, Some(1_000))];
    entries.extend((1..=4u32).map(|i| ((i * 0x7000) as u16, None)));
    entries.push((0x2000, Some(2_000)));
    let mut statuses = 0usize;
    let mut received = vec![];
    for p in write_all(&entries, 1200) {
        let parsed = parse(&p);
        statuses += parsed.len();
        received.extend(parsed.into_iter().filter(|e| e.1.is_some()));
    }
    // 0x0000 .. 0x7000, 0xe000, 0x1_5000, 0x1_c000, 0x2_2000 along the entries.
    assert_eq!(statuses, 0x2_2000 + 1);
    assert_eq!(received, vec![(0, Some(1_000)), (0x2000, Some(2_000))]);
}
