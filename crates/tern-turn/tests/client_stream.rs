//! TurnClient over TCP: RFC 8656 §12.5 framing with data split at every
//! byte boundary, padded ChannelData, and random input that must neither
//! panic nor grow memory past the bound.
// Virtual time needs an origin; only differences between instants matter.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::*;
use proptest::prelude::*;
use tern_stun::{method, Attribute, Class, MessageBuilder, MessageType, TransactionId};
use tern_turn::channel_data::{write_channel_data, ChannelNumber};
use tern_turn::{TurnClient, TurnError, TurnEvent, TurnTransport};

fn data_indication(peer: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = MessageBuilder::new(
        &mut buf,
        MessageType::new(Class::Indication, method::DATA),
        TransactionId([5; 12]),
    );
    b.add(&Attribute::XorPeerAddress(peer)).unwrap();
    b.add(&Attribute::Data(data)).unwrap();
    buf
}

fn channel_data(ch: u16, data: &[u8], pad: bool) -> Vec<u8> {
    let mut buf = vec![0; data.len() + 8];
    let n = write_channel_data(&mut buf, ChannelNumber::new(ch).unwrap(), data, pad).unwrap();
    buf.truncate(n);
    buf
}

/// A TCP client, allocated, with a confirmed channel 0x4000 to `peer()`.
fn tcp_with_channel(t0: Instant) -> TurnClient {
    let (mut c, mut s) = allocated(config(TurnTransport::Tcp), t0);
    c.bind_channel(t0, peer()).unwrap();
    pump(&mut c, &mut s, t0);
    drain_events(&mut c);
    assert!(c.channel_for(peer()).is_some());
    c
}

#[test]
fn whole_handshake_fed_one_byte_at_a_time() {
    let t0 = Instant::now();
    let mut c = client(config(TurnTransport::Tcp));
    let mut s = FakeServer::default();
    c.allocate(t0).unwrap();
    while let Some(t) = c.poll_transmit() {
        if let Some(r) = s.answer(t0, &t.bytes) {
            for b in r {
                c.handle_stream_bytes(t0, &[b]).unwrap();
            }
        }
    }
    assert!(c.is_allocated());
    assert_eq!(c.buffered_stream_bytes(), 0);
}

#[test]
fn stream_split_at_every_byte_boundary() {
    let t0 = Instant::now();
    let peer2: SocketAddr = "203.0.113.100:7000".parse().unwrap();
    let mut stream = Vec::new();
    stream.extend(channel_data(0x4000, b"first!", true)); // 6 bytes + 2 padding
    stream.extend(data_indication(peer2, b"indicated"));
    stream.extend(channel_data(0x4000, b"", true));
    stream.extend(channel_data(0x4000, b"last", true));
    let expected = vec![
        TurnEvent::Data {
            peer: peer(),
            bytes: b"first!".to_vec(),
        },
        TurnEvent::Data {
            peer: peer2,
            bytes: b"indicated".to_vec(),
        },
        TurnEvent::Data {
            peer: peer(),
            bytes: vec![],
        },
        TurnEvent::Data {
            peer: peer(),
            bytes: b"last".to_vec(),
        },
    ];
    for cut in 0..=stream.len() {
        let mut c = tcp_with_channel(t0);
        c.handle_stream_bytes(t0, &stream[..cut]).unwrap();
        c.handle_stream_bytes(t0, &stream[cut..]).unwrap();
        assert_eq!(drain_events(&mut c), expected, "cut at {cut}");
        assert_eq!(c.buffered_stream_bytes(), 0);
    }
    // Three pieces, and the zero-copy callback sees the same data.
    for a in (0..stream.len()).step_by(3) {
        for b in (a..=stream.len()).step_by(5) {
            let mut c = tcp_with_channel(t0);
            let mut got: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
            for piece in [&stream[..a], &stream[a..b], &stream[b..]] {
                c.handle_stream_bytes_with(t0, piece, &mut |p, d| got.push((p, d.to_vec())))
                    .unwrap();
            }
            assert_eq!(got.len(), 4, "cuts {a} {b}");
            assert_eq!(got[1], (peer2, b"indicated".to_vec()));
            assert!(drain_events(&mut c).is_empty());
        }
    }
}

#[test]
fn channel_data_over_tcp_is_padded() {
    let t0 = Instant::now();
    let mut c = tcp_with_channel(t0);
    c.send_to(t0, peer(), b"hello").unwrap();
    let t = c.poll_transmit().unwrap();
    assert_eq!(
        t.bytes,
        vec![0x40, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 0, 0, 0]
    );
    let mut out = [0xffu8; 16];
    assert_eq!(c.send_to_into(t0, peer(), b"abc", &mut out), Ok(8));
    assert_eq!(&out[..8], &[0x40, 0, 0, 3, b'a', b'b', b'c', 0]);
    assert_eq!(
        c.send_to_into(t0, peer(), b"abcdefgh", &mut out[..8]),
        Err(TurnError::BufferTooSmall { needed: 12 })
    );
}

#[test]
fn corrupted_stream_loses_the_allocation() {
    let t0 = Instant::now();
    let mut c = tcp_with_channel(t0);
    assert_eq!(
        c.handle_stream_bytes(t0, &[0xff, 0, 0, 0]),
        Err(TurnError::StreamCorrupted)
    );
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::AllocationLost(TurnError::StreamCorrupted)]
    );
    assert_eq!(
        c.handle_stream_bytes(t0, &[0, 1]),
        Err(TurnError::StreamCorrupted)
    );
    assert_eq!(c.allocate(t0), Err(TurnError::StreamCorrupted));
    assert_eq!(c.buffered_stream_bytes(), 0);
}

#[test]
fn unknown_channel_on_stream_is_dropped_and_counted() {
    let t0 = Instant::now();
    let mut c = tcp_with_channel(t0);
    c.handle_stream_bytes(t0, &channel_data(0x4abc, b"who?", true))
        .unwrap();
    assert!(drain_events(&mut c).is_empty());
    assert_eq!(c.stats().unknown_channel_dropped, 1);
    assert!(c.is_allocated());
}

/// Largest frame the client may hold: a STUN message with length 65,532.
const BOUND: usize = 20 + 65_532;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_datagrams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20)) {
        let t0 = Instant::now();
        let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
        c.bind_channel(t0, peer()).unwrap();
        pump(&mut c, &mut s, t0);
        for ch in &chunks {
            let _ = c.handle_receive(t0, server(), ch);
            // Force the STUN and ChannelData paths too.
            let mut stun = ch.clone();
            if stun.len() >= 20 {
                stun[0] &= 0x01;
                stun[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
                let len = (stun.len() - 20) as u16 & !3;
                stun.truncate(20 + len as usize);
                stun[2..4].copy_from_slice(&len.to_be_bytes());
                let _ = c.handle_receive(t0, server(), &stun);
            }
            let mut cd = ch.clone();
            if cd.len() >= 4 {
                cd[0] = 0x40;
                cd[1] = 0;
                let _ = c.handle_receive(t0, server(), &cd);
            }
        }
        prop_assert!(c.is_allocated(), "random input cannot end an allocation over UDP");
        let mut events = 0;
        while c.poll_event().is_some() { events += 1; }
        prop_assert!(events <= 256 + 8);
    }

    #[test]
    fn random_stream_bytes_never_panic_or_grow(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..30)) {
        let t0 = Instant::now();
        let mut c = tcp_with_channel(t0);
        for ch in &chunks {
            let _ = c.handle_stream_bytes(t0, ch);
            prop_assert!(c.buffered_stream_bytes() <= BOUND);
        }
        let mut events = 0;
        while c.poll_event().is_some() { events += 1; }
        prop_assert!(events <= 256 + 8);
    }

    #[test]
    fn valid_frames_split_randomly_are_all_delivered(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..10),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let t0 = Instant::now();
        let mut c = tcp_with_channel(t0);
        let mut stream = Vec::new();
        for p in &payloads {
            stream.extend(channel_data(0x4000, p, true));
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        for w in points.windows(2) {
            c.handle_stream_bytes(t0, &stream[w[0]..w[1]]).unwrap();
        }
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| c.poll_event())
            .map(|e| match e {
                TurnEvent::Data { bytes, .. } => bytes,
                other => panic!("{other:?}"),
            })
            .collect();
        prop_assert_eq!(got, payloads);
    }
}

#[test]
fn a_huge_partial_frame_is_bounded() {
    let t0 = Instant::now();
    let mut c = tcp_with_channel(t0);
    // A STUN header announcing 65,532 bytes, then the bytes dribbling in.
    let mut hdr = vec![0x01, 0x01, 0xff, 0xfc];
    hdr.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    hdr.extend_from_slice(&[1; 12]);
    c.handle_stream_bytes(t0, &hdr).unwrap();
    let chunk = vec![0u8; 4096];
    for _ in 0..15 {
        c.handle_stream_bytes(t0, &chunk).unwrap();
        assert!(c.buffered_stream_bytes() <= BOUND);
    }
    // Then the rest of it and a ChannelData: the STUN message (a response to
    // no transaction of ours) is ignored, the data delivered.
    let rest = BOUND - c.buffered_stream_bytes();
    let mut tail = vec![0u8; rest];
    tail.extend(channel_data(0x4000, b"after", true));
    c.handle_stream_bytes(t0, &tail).unwrap();
    assert_eq!(c.buffered_stream_bytes(), 0);
    assert_eq!(
        drain_events(&mut c),
        vec![TurnEvent::Data {
            peer: peer(),
            bytes: b"after".to_vec()
        }]
    );
}

#[test]
fn tcp_session_refreshes_relays_and_closes() {
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Tcp), t0);
    c.bind_channel(t0, peer()).unwrap();
    pump(&mut c, &mut s, t0);
    drain_events(&mut c);
    let end = t0 + std::time::Duration::from_secs(1200);
    run_until(&mut c, &mut s, end);
    let refreshed = drain_events(&mut c)
        .iter()
        .filter(|e| matches!(e, TurnEvent::Refreshed { .. }))
        .count();
    assert_eq!(refreshed, 2);
    assert_eq!(c.stats().retransmissions, 0);
    c.send_to(end, peer(), b"over tcp").unwrap();
    pump(&mut c, &mut s, end);
    assert_eq!(s.received, vec![(peer(), b"over tcp".to_vec())]);
    c.close(end);
    pump(&mut c, &mut s, end);
    assert_eq!(drain_events(&mut c), vec![TurnEvent::Deallocated]);
    assert_eq!(s.seen.last().unwrap().lifetime, Some(0));
}
