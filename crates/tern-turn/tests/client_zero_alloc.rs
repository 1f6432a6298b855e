//! The relay hot path allocates nothing on the Rust heap: `send_to_into` on
//! a bound channel and `handle_datagram` of ChannelData and Data
//! indications, counted by dhat's global allocator over 1,000 packets.
// Virtual time needs an origin; only differences between instants matter.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Instant;

use common::*;
use tern_stun::{method, Attribute, Class, MessageBuilder, MessageType, TransactionId};
use tern_turn::channel_data::{write_channel_data, ChannelNumber};
use tern_turn::{Received, TurnTransport};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn hot_path_does_not_allocate() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let t0 = Instant::now();
    let (mut c, mut s) = allocated(config(TurnTransport::Udp), t0);
    c.bind_channel(t0, peer()).unwrap();
    pump(&mut c, &mut s, t0);
    drain_events(&mut c);
    let payload = [0x5au8; 1200];
    let mut out = vec![0u8; 1500];
    let mut cd = vec![0u8; 1500];
    let n = write_channel_data(
        &mut cd,
        ChannelNumber::new(0x4000).unwrap(),
        &payload,
        false,
    )
    .unwrap();
    cd.truncate(n);
    let mut ind = Vec::new();
    {
        let mut b = MessageBuilder::new(
            &mut ind,
            MessageType::new(Class::Indication, method::DATA),
            TransactionId([1; 12]),
        );
        b.add(&Attribute::XorPeerAddress(peer())).unwrap();
        b.add(&Attribute::Data(&payload)).unwrap();
    }

    // The counter sees allocations (so this test can fail).
    let before = dhat::HeapStats::get();
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(8));
    drop(v);
    assert_eq!(dhat::HeapStats::get().total_blocks, before.total_blocks + 1);

    let before = dhat::HeapStats::get();
    let mut total = 0;
    for _ in 0..1000 {
        total += c.send_to_into(t0, peer(), &payload, &mut out).unwrap();
        match c.handle_datagram(t0, server(), &cd) {
            Received::Data { data, .. } => total += data.len(),
            other => panic!("{other:?}"),
        }
        match c.handle_datagram(t0, server(), &ind) {
            Received::Data { data, .. } => total += data.len(),
            other => panic!("{other:?}"),
        }
    }
    let after = dhat::HeapStats::get();
    assert_eq!(total, 1000 * (1204 + 1200 + 1200));
    dhat::assert_eq!(after.total_blocks, before.total_blocks);

    // send_to allocates exactly the Transmit's bytes, once per packet.
    let before = dhat::HeapStats::get();
    for _ in 0..100 {
        c.send_to(t0, peer(), &payload).unwrap();
        let t = c.poll_transmit().unwrap();
        assert_eq!(t.bytes.len(), 1204);
    }
    let after = dhat::HeapStats::get();
    dhat::assert_eq!(after.total_blocks, before.total_blocks + 100);
}
