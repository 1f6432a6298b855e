//! The sans-IO media path in packets per second on one core: A's
//! `write_rtp` (RTP header with mid and transport-wide sequence number,
//! send history, SRTP AES-128-GCM) → datagram → B's `handle_receive_owned`
//! (SRTP, RTP parse, demultiplexing, receive statistics, NACK bookkeeping,
//! transport-wide arrival record) → `Rtp` event taken by the application.
//! Two connections wired back to back in memory; no sockets, no netsim.
//!
//!     cargo bench -p tern-peer --bench media_path
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_peer::{MediaKind, PeerConfig, PeerConnection, PeerEvent, RandomSource, RtpPacketToSend};

fn pc(addr: SocketAddr, seed: u64) -> PeerConnection {
    PeerConnection::new(PeerConfig {
        host_addresses: vec![addr],
        random: RandomSource::Seeded(seed),
        ..PeerConfig::default()
    })
    .unwrap()
}

/// Moves every datagram each way until nothing is left; returns how many.
fn ferry(
    now: Instant,
    a: &mut PeerConnection,
    b: &mut PeerConnection,
    aa: SocketAddr,
    ba: SocketAddr,
) -> usize {
    let mut n = 0;
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            b.handle_receive_owned(now, aa, ba, t.contents);
            moved = true;
            n += 1;
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_receive_owned(now, ba, aa, t.contents);
            moved = true;
            n += 1;
        }
        if !moved {
            return n;
        }
    }
}

fn main() {
    let (aa, ba): (SocketAddr, SocketAddr) = (
        "192.0.2.1:5000".parse().unwrap(),
        "192.0.2.2:5000".parse().unwrap(),
    );
    let mut a = pc(aa, 1);
    let mut b = pc(ba, 2);
    let mut now = Instant::now();
    let tid = a
        .add_track(MediaKind::Video, vec!["s".into()], None)
        .unwrap();
    let offer = a.create_offer(now, Default::default()).unwrap();
    a.set_local_description(now, offer).unwrap();
    b.set_remote_description(now, a.local_description().unwrap())
        .unwrap();
    let answer = b.create_answer(now).unwrap();
    b.set_local_description(now, answer).unwrap();
    a.set_remote_description(now, b.local_description().unwrap())
        .unwrap();
    for _ in 0..2000 {
        ferry(now, &mut a, &mut b, aa, ba);
        now += Duration::from_millis(5);
        a.handle_timeout(now);
        b.handle_timeout(now);
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if a.transceiver_mut(tid).unwrap().can_send() {
            break;
        }
    }
    assert!(a.transceiver_mut(tid).unwrap().can_send(), "connected");
    let payload = vec![0x5au8; 1100];
    for (label, n) in [("warm-up", 20_000u32), ("measured", 200_000)] {
        let t0 = Instant::now();
        let mut got = 0u64;
        for i in 0..n {
            // 30 packets per virtual millisecond: time moves, as it does.
            if i % 30 == 0 {
                now += Duration::from_millis(1);
            }
            a.transceiver_mut(tid)
                .unwrap()
                .write_rtp(
                    now,
                    &RtpPacketToSend {
                        payload_type: None,
                        timestamp: i / 10 * 3000,
                        marker: i % 10 == 9,
                        payload: &payload,
                    },
                )
                .unwrap();
            while let Some(t) = a.poll_transmit() {
                b.handle_receive_owned(now, aa, ba, t.contents);
            }
            while let Some(e) = b.poll_event() {
                if matches!(e, PeerEvent::Rtp { .. }) {
                    got += 1;
                }
            }
            // Feedback (transport-wide, reports) back to A now and then.
            if i % 100 == 0 {
                b.handle_timeout(now);
                while let Some(t) = b.poll_transmit() {
                    a.handle_receive_owned(now, ba, aa, t.contents);
                }
                a.handle_timeout(now);
                while a.poll_event().is_some() {}
            }
        }
        let dt = t0.elapsed();
        assert_eq!(got, u64::from(n), "every packet arrived");
        if label == "measured" {
            println!(
                "media path (1,100-byte payloads, AES-128-GCM, send + receive on one core): {:.0} packets/s, {:.2} µs per packet, {:.2} Gbit/s of payload",
                f64::from(n) / dt.as_secs_f64(),
                dt.as_secs_f64() * 1e6 / f64::from(n),
                f64::from(n) * 1100.0 * 8.0 / dt.as_secs_f64() / 1e9
            );
        }
    }
}
