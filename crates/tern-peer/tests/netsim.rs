//! Two tern peers over tern-netsim: JSEP both ways, trickle, DTLS role and
//! fingerprint, data channels, ICE restart, NATs, bad input, a vanished peer.

mod common;

use std::time::Duration;

use common::*;
use tern_netsim::{LinkConfig, NatConfig};
use tern_peer::{
    DataChannelInit, DataChannelMessage, DataChannelState, DtlsTransportState, OfferOptions,
    PeerConnectionState, PeerEvent, RtcSessionDescription, SignalingState,
};

fn opened_remote(p: &Peer) -> Vec<tern_peer::ChannelId> {
    p.events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::DataChannel(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn messages(p: &Peer, ch: tern_peer::ChannelId) -> Vec<DataChannelMessage> {
    p.events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::ChannelMessage { channel, message } if *channel == ch => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn offer_answer_trickle_and_a_data_channel_both_ways() {
    let (mut net, a, b) = pair(1, LinkConfig::with_latency(Duration::from_millis(20)));
    let now = net.now();
    let chat = peer(&mut net, a)
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    assert!(peer(&mut net, a).pc.poll_event() == Some(PeerEvent::NegotiationNeeded));
    assert_eq!(
        peer(&mut net, a).pc.channel(chat).unwrap().id,
        None,
        "no DTLS role yet"
    );
    assert!(
        negotiate(&mut net, a, b, Duration::from_secs(10)),
        "connected"
    );
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        !opened_remote(n.endpoint::<Peer>(b)).is_empty()
    }));
    let remote = opened_remote(peer(&mut net, b))[0];
    let info = peer(&mut net, b).pc.channel(remote).unwrap();
    assert_eq!(info.label, "chat");
    assert_eq!(info.ready_state, DataChannelState::Open);
    // B answered actpass with active: it is the DTLS client, so A (server)
    // has odd stream ids (RFC 8832 §6).
    assert_eq!(peer(&mut net, a).pc.channel(chat).unwrap().id, Some(1));
    assert!(peer(&mut net, a)
        .events
        .contains(&PeerEvent::ChannelOpen(chat)));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .channel_mut(chat)
        .unwrap()
        .send_text(now, "hello")
        .unwrap();
    peer(&mut net, a)
        .pc
        .channel_mut(chat)
        .unwrap()
        .send_binary(now, &[1, 2, 3])
        .unwrap();
    peer(&mut net, a)
        .pc
        .channel_mut(chat)
        .unwrap()
        .send_text(now, "")
        .unwrap();
    peer(&mut net, b)
        .pc
        .channel_mut(remote)
        .unwrap()
        .send_text(now, "world")
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        messages(n.endpoint::<Peer>(b), remote).len() == 3
            && messages(n.endpoint::<Peer>(a), chat).len() == 1
    }));
    assert_eq!(
        messages(peer(&mut net, b), remote),
        [
            DataChannelMessage::Text("hello".into()),
            DataChannelMessage::Binary(vec![1, 2, 3]),
            DataChannelMessage::Text(String::new())
        ]
    );
    assert_eq!(
        messages(peer(&mut net, a), chat),
        [DataChannelMessage::Text("world".into())]
    );
    for h in [a, b] {
        let p = peer(&mut net, h);
        assert_eq!(p.pc.signaling_state(), SignalingState::Stable);
        assert_eq!(p.pc.dtls_state(), DtlsTransportState::Connected);
        let s = p.pc.stats();
        assert!(s.transport.selected_candidate_pair_id.is_some());
        assert!(s.transport.dtls_cipher.is_some());
        // Browsers offer use_srtp even without media and so do we: GCM first.
        assert_eq!(s.transport.srtp_cipher.as_deref(), Some("AEAD_AES_128_GCM"));
        assert_eq!(s.peer_connection.data_channels_opened, 1);
        assert_eq!(s.data_channels.len(), 1);
    }
    let s = peer(&mut net, a).pc.stats();
    assert_eq!(
        (
            s.data_channels[0].counters.messages_sent,
            s.data_channels[0].counters.bytes_sent
        ),
        (3, 8)
    );
    assert_eq!(s.data_channels[0].counters.messages_received, 1);
    // B closes its end; both see the channel close and forget it.
    let now = net.now();
    peer(&mut net, b)
        .pc
        .channel_mut(remote)
        .unwrap()
        .close(now)
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        n.endpoint::<Peer>(a)
            .events
            .contains(&PeerEvent::ChannelClosed(chat))
            && n.endpoint::<Peer>(b)
                .events
                .contains(&PeerEvent::ChannelClosed(remote))
    }));
    assert!(peer(&mut net, a).pc.channel(chat).is_none());
    assert_eq!(
        peer(&mut net, a)
            .pc
            .stats()
            .peer_connection
            .data_channels_closed,
        1
    );
    // The local description carries what was gathered, then end-of-candidates.
    let local = peer(&mut net, a).pc.local_description().unwrap().sdp;
    assert!(
        local.contains("a=candidate:") && local.contains("a=end-of-candidates"),
        "{local}"
    );
}

#[test]
fn answer_with_all_candidates_inside_needs_no_trickle() {
    // The `tern echo` contract: the answer is returned once gathering is
    // complete, so the caller needs no trickle; here neither side trickles.
    let (mut net, a, b) = pair(2, LinkConfig::with_latency(Duration::from_millis(5)));
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_local_description(now, RtcSessionDescription::offer(""))
        .unwrap(); // implicit createOffer
    net.run_for(Duration::from_millis(10));
    let offer = peer(&mut net, a).pc.local_description().unwrap();
    assert!(offer.sdp.contains("a=end-of-candidates"));
    let now = net.now();
    peer(&mut net, b)
        .pc
        .set_remote_description(now, offer)
        .unwrap();
    peer(&mut net, b)
        .pc
        .set_local_description(now, RtcSessionDescription::answer(""))
        .unwrap();
    net.run_for(Duration::from_millis(10));
    let answer = peer(&mut net, b).pc.local_description().unwrap();
    assert!(answer.sdp.contains("a=setup:active") && answer.sdp.contains("a=candidate:"));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    peer(&mut net, a).outbox.clear();
    peer(&mut net, b).outbox.clear();
    net.run_until(Duration::from_secs(5), |n| {
        n.endpoint::<Peer>(a)
            .events
            .contains(&PeerEvent::ChannelOpen(ch))
            && !opened_remote(n.endpoint::<Peer>(b)).is_empty()
    });
    assert!(peer(&mut net, a).connected() && peer(&mut net, b).connected());
}

#[test]
fn negotiated_channels_and_many_channels_at_once() {
    let (mut net, a, b) = pair(3, LinkConfig::with_latency(Duration::from_millis(10)));
    let now = net.now();
    let init = DataChannelInit {
        negotiated: true,
        id: Some(7),
        ..DataChannelInit::default()
    };
    let na = peer(&mut net, a)
        .pc
        .create_data_channel(now, "n", init.clone())
        .unwrap();
    let nb = peer(&mut net, b)
        .pc
        .create_data_channel(now, "n", init)
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
    let now = net.now();
    let mut ours = Vec::new();
    for i in 0..50 {
        let init = DataChannelInit {
            ordered: i % 2 == 0,
            max_retransmits: (i % 3 == 0).then_some(0),
            ..DataChannelInit::default()
        };
        ours.push(
            peer(&mut net, a)
                .pc
                .create_data_channel(now, &format!("c{i}"), init)
                .unwrap(),
        );
    }
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        opened_remote(n.endpoint::<Peer>(b)).len() == 50
    }));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .channel_mut(na)
        .unwrap()
        .send_text(now, "over negotiated")
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        messages(n.endpoint::<Peer>(b), nb).len() == 1
    }));
    assert!(
        opened_remote(peer(&mut net, b)).iter().all(|c| *c != nb),
        "no DCEP for negotiated"
    );
    let labels: std::collections::BTreeSet<String> = opened_remote(peer(&mut net, b))
        .into_iter()
        .map(|c| peer(&mut net, b).pc.channel(c).unwrap().label)
        .collect();
    assert_eq!(labels.len(), 50);
    let _ = ours;
}

#[test]
fn ice_restart_keeps_the_channel_and_changes_credentials() {
    let (mut net, a, b) = pair(4, LinkConfig::with_latency(Duration::from_millis(10)));
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "r", DataChannelInit::default())
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
    let before = peer(&mut net, a)
        .pc
        .stats()
        .transport
        .ice_local_username_fragment;
    let now = net.now();
    let offer = peer(&mut net, a)
        .pc
        .create_offer(now, OfferOptions { ice_restart: true })
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_local_description(now, offer.clone())
        .unwrap();
    peer(&mut net, b)
        .pc
        .set_remote_description(now, offer)
        .unwrap();
    let answer = peer(&mut net, b).pc.create_answer(now).unwrap();
    peer(&mut net, b)
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    let after = peer(&mut net, a)
        .pc
        .stats()
        .transport
        .ice_local_username_fragment;
    assert_ne!(before, after);
    net.run_for(Duration::from_secs(3));
    trickle(&mut net, a, b);
    net.run_for(Duration::from_secs(3));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .channel_mut(ch)
        .unwrap()
        .send_text(now, "after restart")
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        let b = n.endpoint::<Peer>(b);
        opened_remote(b).first().is_some_and(|c| {
            messages(b, *c).contains(&DataChannelMessage::Text("after restart".into()))
        })
    }));
    assert!(peer(&mut net, a).connected());
}

#[test]
fn connects_across_nats_with_stun() {
    for (i, (na, nb)) in [
        (NatConfig::full_cone(), NatConfig::port_restricted()),
        (NatConfig::restricted(), NatConfig::port_restricted()),
        (NatConfig::full_cone(), NatConfig::symmetric()),
    ]
    .into_iter()
    .enumerate()
    {
        let (mut net, a, b) = natted_pair(10 + i as u64, na, nb);
        let now = net.now();
        let ch = peer(&mut net, a)
            .pc
            .create_data_channel(now, "nat", DataChannelInit::default())
            .unwrap();
        assert!(
            negotiate(&mut net, a, b, Duration::from_secs(20)),
            "NAT case {i}"
        );
        let now = net.now();
        assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
            n.endpoint::<Peer>(a)
                .events
                .contains(&PeerEvent::ChannelOpen(ch))
        }));
        peer(&mut net, a)
            .pc
            .channel_mut(ch)
            .unwrap()
            .send_text(now, "through")
            .unwrap();
        assert!(
            run(&mut net, a, b, Duration::from_secs(5), |n| {
                opened_remote(n.endpoint::<Peer>(b))
                    .first()
                    .is_some_and(|c| !messages(n.endpoint::<Peer>(b), *c).is_empty())
            }),
            "NAT case {i}"
        );
    }
}

#[test]
fn port_restricted_against_symmetric_fails_cleanly_without_a_relay() {
    // No TURN here: this pair of NATs cannot be traversed (RFC 4787), and
    // the connection must say so in bounded time instead of hanging.
    let (mut net, a, b) = natted_pair(20, NatConfig::port_restricted(), NatConfig::symmetric());
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    assert!(!negotiate(&mut net, a, b, Duration::from_secs(60)));
    assert_eq!(
        peer(&mut net, a).pc.connection_state(),
        PeerConnectionState::Failed
    );
    assert!(peer(&mut net, a)
        .events
        .contains(&PeerEvent::ChannelClosed(ch)));
    assert!(peer(&mut net, a).pc.channel(ch).is_none());
}

#[test]
fn a_wrong_fingerprint_fails_the_connection() {
    let (mut net, a, b) = pair(5, LinkConfig::with_latency(Duration::from_millis(5)));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    let offer = peer(&mut net, a)
        .pc
        .create_offer(now, OfferOptions::default())
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_local_description(now, offer.clone())
        .unwrap();
    // A man in the middle swaps the fingerprint B will check A against.
    let line = offer
        .sdp
        .lines()
        .find(|l| l.starts_with("a=fingerprint:"))
        .unwrap()
        .to_string();
    let forged = format!("a=fingerprint:sha-256 {}", vec!["AB"; 32].join(":"));
    let tampered = RtcSessionDescription::offer(offer.sdp.replace(&line, &forged));
    peer(&mut net, b)
        .pc
        .set_remote_description(now, tampered)
        .unwrap();
    let answer = peer(&mut net, b).pc.create_answer(now).unwrap();
    peer(&mut net, b)
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    assert!(run(&mut net, a, b, Duration::from_secs(30), |n| {
        n.endpoint::<Peer>(b).pc.connection_state() == PeerConnectionState::Failed
    }));
    assert_eq!(
        peer(&mut net, b).pc.dtls_state(),
        DtlsTransportState::Failed
    );
    assert!(!peer(&mut net, a).connected());
}

/// Closing ends the peer's channels at once, by SCTP ABORT and, should that
/// be lost, by DTLS close_notify alone; not after consent expires.
#[test]
fn closing_ends_the_peers_channels_by_abort_or_by_close_notify_alone() {
    for abort_lost in [false, true] {
        let (mut net, a, b) = pair(7, LinkConfig::with_latency(Duration::from_millis(10)));
        let now = net.now();
        let ch = peer(&mut net, a)
            .pc
            .create_data_channel(now, "x", DataChannelInit::default())
            .unwrap();
        assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
        assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
            !opened_remote(n.endpoint::<Peer>(b)).is_empty()
        }));
        let theirs = opened_remote(peer(&mut net, b))[0];
        peer(&mut net, a).lose_app_data = abort_lost;
        let now = net.now();
        peer(&mut net, a).pc.close(now);
        let t0 = net.now();
        assert!(
            run(&mut net, a, b, Duration::from_secs(5), |n| {
                n.endpoint::<Peer>(b)
                    .events
                    .contains(&PeerEvent::ChannelClosed(theirs))
            }),
            "B's channel still open 5 s after A closed (ABORT lost: {abort_lost})"
        );
        assert!(net.now() - t0 < Duration::from_millis(100), "one trip");
        assert!(peer(&mut net, a)
            .events
            .contains(&PeerEvent::ChannelClosed(ch)));
        // W3C: B's DTLS transport is closed; its connectionState stays
        // "connected" while ICE is (as in Chromium) until consent ends it.
        assert_eq!(
            peer(&mut net, b).pc.dtls_state(),
            DtlsTransportState::Closed,
            "B's DTLS transport says so"
        );
    }
}

#[test]
fn a_vanished_peer_fails_the_connection_in_bounded_time() {
    let (mut net, a, b) = pair(6, LinkConfig::with_latency(Duration::from_millis(10)));
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        n.endpoint::<Peer>(a)
            .events
            .contains(&PeerEvent::ChannelOpen(ch))
    }));
    // B's link goes dead mid-transfer.
    net.set_link(
        b,
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::with_latency(Duration::from_millis(10))
        },
    );
    let now = net.now();
    for _ in 0..16 {
        peer(&mut net, a)
            .pc
            .channel_mut(ch)
            .unwrap()
            .send_binary(now, &[0; 16_384])
            .unwrap();
    }
    let t0 = net.now();
    assert!(run(&mut net, a, b, Duration::from_secs(120), |n| {
        let p = n.endpoint::<Peer>(a);
        p.pc.connection_state() == PeerConnectionState::Failed
            && p.events.contains(&PeerEvent::ChannelClosed(ch))
    }));
    let took = net.now() - t0;
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn a_receiver_that_stops_reading_slows_the_sender_and_loses_nothing() {
    let (mut net, a, b) = pair(7, LinkConfig::with_latency(Duration::from_millis(10)));
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "bulk", DataChannelInit::default())
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        !opened_remote(n.endpoint::<Peer>(b)).is_empty()
    }));
    let remote = opened_remote(peer(&mut net, b))[0];
    peer(&mut net, b).hold = true;
    let now = net.now();
    let chunk = 256 * 1024;
    // 16 MiB: B buffers at most its 8 MiB window plus 1 MiB in each of
    // SCTP's and the connection's queues.
    for i in 0..64u8 {
        peer(&mut net, a)
            .pc
            .channel_mut(ch)
            .unwrap()
            .send_binary(now, &vec![i; chunk])
            .unwrap();
    }
    net.run_for(Duration::from_secs(10));
    let stuck = peer(&mut net, a).pc.buffered_amount(ch);
    assert!(
        stuck >= 4 << 20,
        "the window must close; sender holds {stuck} bytes"
    );
    peer(&mut net, b).hold = false;
    assert!(run(&mut net, a, b, Duration::from_secs(20), |n| messages(
        n.endpoint::<Peer>(b),
        remote
    )
    .len()
        == 64));
    for (i, m) in messages(peer(&mut net, b), remote).into_iter().enumerate() {
        assert_eq!(m, DataChannelMessage::Binary(vec![i as u8; chunk]));
    }
}

/// `poll_transmit_batch` lays equal-sized datagrams to one destination end
/// to end for a GSO send: every segment boundary falls on a whole DTLS
/// record, nothing is lost or reordered, and bulk data does form batches.
#[test]
fn transmit_batches_split_into_whole_dtls_records() {
    let (mut net, a, b) = pair(12, LinkConfig::with_latency(Duration::from_millis(5)));
    let now = net.now();
    let ch = peer(&mut net, a)
        .pc
        .create_data_channel(now, "bulk", DataChannelInit::default())
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
    assert!(run(&mut net, a, b, Duration::from_secs(5), |n| {
        !opened_remote(n.endpoint::<Peer>(b)).is_empty()
    }));
    let now = net.now();
    let pc = &mut peer(&mut net, a).pc;
    assert!(pc.channel_mut(tern_peer::ChannelId(9_999)).is_none());
    let before = pc.stats().transport.counters.bytes_sent;
    pc.channel_mut(ch)
        .unwrap()
        .send_binary(now, &vec![7u8; 256 * 1024])
        .unwrap();
    let queued = pc.stats().transport.counters.bytes_sent - before;
    assert!(queued > 3_000, "SCTP sent its initial window: {queued}");
    let mut buf = Vec::new();
    let (mut total, mut batched) = (0usize, 0usize);
    while let Some(t) = pc.poll_transmit_batch(&mut buf, 16, 65_000) {
        assert_eq!(t.len, buf.len());
        assert_eq!(t.destination, sa(B));
        let seg = t.segment_size.unwrap_or(t.len);
        assert!(t.len <= 16 * seg && t.len <= 65_000);
        for d in buf.chunks(seg) {
            // A DTLS 1.2 record: type, version, epoch, seq, length (RFC 6347 §4.1).
            assert_eq!(d[0], 23, "segment starts a record");
            let len = usize::from(u16::from_be_bytes([d[11], d[12]]));
            assert_eq!(d.len(), 13 + len, "one whole record per segment");
        }
        if t.segment_size.is_some() {
            batched += 1;
        }
        total += t.len;
    }
    assert_eq!(total as u64, queued, "every byte once");
    assert!(batched > 0, "bulk data forms GSO batches");
}

/// Every deadline says why: before the DTLS handshake only ICE's and
/// SCTP's are armed; a closed connection has none.
#[test]
fn timeouts_carry_their_reason() {
    let (mut net, a, b) = pair(13, LinkConfig::with_latency(Duration::from_millis(5)));
    let now = net.now();
    peer(&mut net, a)
        .pc
        .create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    assert!(negotiate(&mut net, a, b, Duration::from_secs(10)));
    let (at, reason) = peer(&mut net, a).pc.poll_timeout_reason().unwrap();
    assert_eq!(Some(at), peer(&mut net, a).pc.poll_timeout());
    assert!(matches!(
        reason,
        tern_peer::Timer::Ice | tern_peer::Timer::Sctp | tern_peer::Timer::Dtls
    ));
    let now = net.now();
    peer(&mut net, a).pc.close(now);
    assert_eq!(peer(&mut net, a).pc.poll_timeout_reason(), None);
}
