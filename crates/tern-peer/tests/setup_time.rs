//! Connection setup in virtual time on a zero-latency path: what the
//! protocol machinery itself costs (timers, pacing), apart from CPU.

mod common;

use std::time::Duration;

use common::*;

use tern_netsim::LinkConfig;
use tern_peer::{DataChannelInit, PeerEvent};

#[test]
fn setup_needs_no_timer_on_a_fast_path() {
    let (mut net, a, b) = pair(30, LinkConfig::with_latency(Duration::from_micros(50)));
    let t0 = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(t0, "x", DataChannelInit::default())
        .unwrap();
    // Signaling is instant here (no trickle needed: candidates are in the
    // descriptions once gathered, which is at once for host candidates).
    let now = net.now();
    let offer = peer(&mut net, a)
        .pc
        .create_offer(now, Default::default())
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_local_description(now, offer)
        .unwrap();
    let offer = peer(&mut net, a).pc.local_description().unwrap();
    peer(&mut net, b)
        .pc
        .set_remote_description(now, offer)
        .unwrap();
    let answer = peer(&mut net, b).pc.create_answer(now).unwrap();
    peer(&mut net, b)
        .pc
        .set_local_description(now, answer)
        .unwrap();
    let answer = peer(&mut net, b).pc.local_description().unwrap();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    let mut connected = None;
    while net.now() - t0 < Duration::from_secs(5) {
        net.run_for(Duration::from_micros(10));
        if connected.is_none()
            && net.endpoint::<Peer>(a).connected()
            && net.endpoint::<Peer>(b).connected()
        {
            connected = Some(net.now() - t0);
        }
        if net
            .endpoint::<Peer>(a)
            .events
            .contains(&PeerEvent::ChannelOpen(ch))
        {
            break;
        }
    }
    let open = net.now() - t0;
    println!("virtual setup at 100 µs RTT: connected {connected:?}, channel open {open:?}");
    // A handful of round trips, no timer waits: well under 10 ms.
    assert!(open < Duration::from_millis(10), "{open:?}");
}

#[test]
fn a_client_hello_before_our_answer_is_kept_not_dropped() {
    let (mut net, a, b) = pair(31, LinkConfig::with_latency(Duration::from_micros(50)));
    let t0 = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(t0, "x", DataChannelInit::default())
        .unwrap();
    let offer = peer(&mut net, a)
        .pc
        .create_offer(t0, Default::default())
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_local_description(t0, offer)
        .unwrap();
    let offer = peer(&mut net, a).pc.local_description().unwrap();
    peer(&mut net, b)
        .pc
        .set_remote_description(t0, offer)
        .unwrap();
    let answer = peer(&mut net, b).pc.create_answer(t0).unwrap();
    peer(&mut net, b)
        .pc
        .set_local_description(t0, answer)
        .unwrap();
    // B checks, finds a path and sends its ClientHello before A has the answer.
    net.run_for(Duration::from_millis(5));
    assert!(
        peer(&mut net, b).pc.stats().transport.dtls.is_some(),
        "B's DTLS started"
    );
    let now = net.now();
    let answer = peer(&mut net, b).pc.local_description().unwrap();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    let t1 = net.now();
    while net.now() - t1 < Duration::from_secs(1) {
        net.run_for(Duration::from_micros(10));
        if net
            .endpoint::<Peer>(a)
            .events
            .contains(&PeerEvent::ChannelOpen(ch))
        {
            break;
        }
    }
    let took = net.now() - t1;
    let s = peer(&mut net, a).pc.stats().transport;
    assert_eq!(s.counters.dropped_early_dtls, 0);
    // No DTLS retransmission (100 ms) was needed.
    assert!(took < Duration::from_millis(20), "{took:?}");
    assert_eq!(
        peer(&mut net, b)
            .pc
            .stats()
            .transport
            .dtls
            .unwrap()
            .retransmissions,
        0
    );
}
