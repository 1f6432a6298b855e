//! Media between two tern peers on the simulated network: negotiation of
//! audio, video and data on one BUNDLE transport, frames end to end through
//! SRTP, NACK/RTX repair under loss, reports and their round-trip time,
//! renegotiation, and hostile input.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tern_netsim::{GilbertElliott, HostId, LinkConfig, Network};
use tern_peer::{MediaKind, PeerEvent, RtpTransceiverDirection, TransceiverId, TransceiverInit};
use tern_rtp::frame::JitterEvent;
use tern_rtp::{Codec, JitterBuffer, JitterConfig};

const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// A VP8 frame of `len` bytes whose header says key or delta (RFC 6386
/// §9.1: bit 0 of the first byte clear for a keyframe, then the start code).
fn vp8_frame(n: u32, len: usize, key: bool) -> Vec<u8> {
    let mut f = if key {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
    } else {
        vec![0x11, 0x02, 0x00]
    };
    let mut x = n.wrapping_mul(2_654_435_761) | 1;
    while f.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        f.push(x as u8);
    }
    f
}

fn take_events(net: &mut Network, h: HostId) -> Vec<PeerEvent> {
    let p = peer(net, h);
    while let Some(e) = p.pc.poll_event() {
        if let PeerEvent::IceCandidate(c) = &e {
            p.outbox.push(c.clone());
        }
        p.events.push(e);
    }
    std::mem::take(&mut p.events)
}

fn tracks(events: &[PeerEvent]) -> Vec<(TransceiverId, MediaKind)> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Track {
                transceiver, kind, ..
            } => Some((*transceiver, *kind)),
            _ => None,
        })
        .collect()
}

/// Offers from `a`, answers from `b`; trickles until connected.
fn offer_answer(net: &mut Network, a: HostId, b: HostId) {
    let now = net.now();
    let offer = peer(net, a)
        .pc
        .create_offer(now, Default::default())
        .unwrap();
    peer(net, a)
        .pc
        .set_local_description(now, offer.clone())
        .unwrap();
    peer(net, b).pc.set_remote_description(now, offer).unwrap();
    let answer = peer(net, b).pc.create_answer(now).unwrap();
    peer(net, b)
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    peer(net, a).pc.set_remote_description(now, answer).unwrap();
}

struct Call {
    net: Network,
    a: HostId,
    b: HostId,
    /// A's video sender, and B's transceiver receiving it.
    a_video: TransceiverId,
    b_video: TransceiverId,
}

/// A sends audio and video and has a data channel; B answers and sends
/// video back on the same transceiver (addTrack reuses the one the offer
/// made).
fn call(seed: u64, link: LinkConfig, rtx: bool) -> Call {
    let (mut net, a, b) = pair(seed, link);
    if !rtx {
        for (h, addr, n) in [(a, A, 1), (b, B, 2)] {
            let mut cfg = tern_peer::PeerConfig {
                host_addresses: vec![sa(addr)],
                random: tern_peer::RandomSource::Seeded(seed * 10 + n),
                ..Default::default()
            };
            cfg.media.rtx = false;
            peer(&mut net, h).pc = tern_peer::PeerConnection::new(cfg).unwrap();
        }
    }
    let now = net.now();
    let pa = &mut peer(&mut net, a).pc;
    let a_video = pa
        .add_track(MediaKind::Video, vec!["cam".into()], Some("v1".into()))
        .unwrap();
    pa.add_track(MediaKind::Audio, vec!["cam".into()], Some("a1".into()))
        .unwrap();
    pa.create_data_channel(now, "chat", Default::default())
        .unwrap();
    let offer = pa.create_offer(now, Default::default()).unwrap();
    assert!(offer.sdp.contains("a=group:BUNDLE 0 1 2"), "{}", offer.sdp);
    pa.set_local_description(now, offer.clone()).unwrap();
    let pb = &mut peer(&mut net, b).pc;
    pb.set_remote_description(now, offer).unwrap();
    let ev = take_events(&mut net, b);
    let t = tracks(&ev);
    assert_eq!(t.len(), 2, "one track event per sending section: {ev:?}");
    let b_video = t.iter().find(|x| x.1 == MediaKind::Video).unwrap().0;
    let pb = &mut peer(&mut net, b).pc;
    let back = pb
        .add_track(MediaKind::Video, vec!["b".into()], None)
        .unwrap();
    assert_eq!(
        back, b_video,
        "addTrack reuses the offer's video transceiver"
    );
    let answer = pb.create_answer(now).unwrap();
    assert!(answer.sdp.contains("a=sendrecv"), "{}", answer.sdp);
    pb.set_local_description(now, answer.clone()).unwrap();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    assert!(
        run(&mut net, a, b, Duration::from_secs(10), |n| {
            n.endpoint::<Peer>(a).connected() && n.endpoint::<Peer>(b).connected()
        }),
        "connects"
    );
    // SRTP keys come with DTLS.
    let _ = run(&mut net, a, b, Duration::from_millis(200), |_| false);
    Call {
        net,
        a,
        b,
        a_video,
        b_video,
    }
}

struct Outcome {
    sent: Vec<Vec<u8>>,
    received: Vec<(u32, Vec<u8>)>,
    /// Longest time between two frames handed out.
    longest_gap: Duration,
    keyframe_requests: usize,
}

/// A sends `frames` VP8 frames of `size` bytes in real time (a keyframe
/// every `gop` and whenever B asks); B assembles them with the jitter
/// buffer.
fn stream(c: &mut Call, frames: u32, size: usize, gop: u32) -> Outcome {
    stream_with(c, frames, size, gop, None)
}

/// As [`stream`], switching A's link to `lossy.1` from frame `lossy.0` on
/// (the receiver cannot NACK what it has never heard of, such as the
/// stream's very first packets, so loss starts once the stream runs).
fn stream_with(
    c: &mut Call,
    frames: u32,
    size: usize,
    gop: u32,
    mut lossy: Option<(u32, LinkConfig)>,
) -> Outcome {
    let (a, b) = (c.a, c.b);
    // A gap waits up to four round trips (an RTT is 100 ms here: a NACK,
    // its retransmission and retries of both when they are lost too)
    // before a later complete keyframe is taken instead, and 1 s at most.
    let cfg = JitterConfig {
        reorder_wait: Duration::from_millis(400),
        max_wait: Duration::from_secs(1),
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(Codec::Vp8.depacketizer(), cfg);
    let mut sent = Vec::new();
    let mut received = Vec::new();
    let mut buf = Vec::new();
    let mut last_frame_at: Option<Instant> = None;
    let mut longest_gap = Duration::ZERO;
    let mut keyframe_requests = 0;
    let mut want_key = false;
    let start = c.net.now();
    let mut n = 0u32;
    let end = start + FRAME_INTERVAL * frames + Duration::from_secs(2);
    while c.net.now() < end {
        let now = c.net.now();
        if lossy.as_ref().is_some_and(|l| l.0 == n) {
            let (_, link) = lossy.take().unwrap();
            c.net.set_link(a, link);
        }
        if n < frames && now >= start + FRAME_INTERVAL * n {
            let key = n % gop == 0 || want_key;
            want_key = false;
            let f = vp8_frame(n, if key { size * 3 } else { size }, key);
            let ts = n.wrapping_mul(2970);
            let pa = &mut peer(&mut c.net, a).pc;
            pa.transceiver_mut(c.a_video)
                .unwrap()
                .write_frame(now, None, ts, &f)
                .expect("write_frame");
            sent.push(f);
            n += 1;
        }
        for e in take_events(&mut c.net, a) {
            if let PeerEvent::KeyframeRequest { transceiver, .. } = e {
                assert_eq!(transceiver, c.a_video);
                keyframe_requests += 1;
                want_key = true;
            }
        }
        for e in take_events(&mut c.net, b) {
            if let PeerEvent::Rtp {
                transceiver,
                packet,
            } = e
            {
                if transceiver == c.b_video {
                    jb.push(
                        packet.sequence_number,
                        packet.timestamp,
                        packet.marker,
                        &packet.payload,
                        packet.arrival,
                    );
                }
            }
        }
        while let Some(ev) = jb.poll(now, &mut buf) {
            match ev {
                JitterEvent::Frame(f) => {
                    if let Some(t) = last_frame_at {
                        longest_gap = longest_gap.max(now - t);
                    }
                    last_frame_at = Some(now);
                    received.push((f.timestamp, buf[..f.len].to_vec()));
                    buf.clear();
                }
                JitterEvent::Lost(l) if l.need_keyframe => {
                    let pb = &mut peer(&mut c.net, b).pc;
                    pb.transceiver_mut(c.b_video).unwrap().request_keyframe(now);
                }
                _ => {}
            }
        }
        trickle(&mut c.net, a, b);
        c.net.run_for(Duration::from_millis(1));
    }
    Outcome {
        sent,
        received,
        longest_gap,
        keyframe_requests,
    }
}

fn intact(o: &Outcome) -> usize {
    o.received
        .iter()
        .filter(|(ts, f)| {
            let n = ts / 2970;
            o.sent.get(n as usize) == Some(f)
        })
        .count()
}

#[test]
fn audio_video_and_data_share_one_bundle_and_frames_arrive_intact() {
    let mut c = call(1, LinkConfig::with_latency(Duration::from_millis(25)), true);
    let o = stream(&mut c, 90, 4000, 30);
    assert_eq!(o.received.len(), 90, "every frame");
    assert_eq!(intact(&o), 90, "byte for byte");
    let (a, b) = (c.a, c.b);
    let sa = peer(&mut c.net, a).pc.stats();
    let sb = peer(&mut c.net, b).pc.stats();
    let out = sa
        .outbound_rtp
        .iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap();
    assert!(out.counters.packets_sent >= 90 * 4, "{:?}", out.counters);
    assert_eq!(out.counters.frames_sent, 90);
    let inb = sb
        .inbound_rtp
        .iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap();
    assert_eq!(inb.ssrc, out.ssrc);
    assert_eq!(inb.counters.packets_received, out.counters.packets_sent);
    assert_eq!(inb.packets_lost, 0);
    assert_eq!(sb.media.srtp_unprotect_failed, 0);
    assert_eq!(sb.media.rtp_unroutable, 0);
    // B sends transport-wide feedback for what arrived; A counts it.
    assert!(sb.media.twcc_feedback_sent > 10, "{:?}", sb.media);
    assert!(sa.media.twcc_feedback_received > 10, "{:?}", sa.media);
    // SR from A, RR from B: each host's link adds 25 ms each way, so the
    // simulated round trip is 100 ms.
    let rtt = out
        .remote_inbound
        .round_trip_time
        .expect("an RTT from B's reports");
    assert!(
        rtt >= Duration::from_millis(95) && rtt <= Duration::from_millis(105),
        "RTT {rtt:?}"
    );
    assert!(inb.remote_outbound.reports_sent >= 1);
    assert_eq!(
        sa.transport.srtp_cipher.as_deref(),
        Some("AEAD_AES_128_GCM")
    );
}

/// 50 ms one way (100 ms RTT), 5% random loss each way: NACK and RTX repair what is lost; what they
/// cannot is recovered by a keyframe; playback never stalls over 1 s.
fn lossy(rtx: bool, burst: bool) {
    let link = LinkConfig::with_latency(Duration::from_millis(25));
    let mut c = call(7 + rtx as u64 + 2 * burst as u64, link.clone(), rtx);
    let lossy = if burst {
        LinkConfig {
            burst_loss: Some(GilbertElliott {
                p_good_to_bad: 0.005,
                p_bad_to_good: 0.25,
                loss_good: 0.0,
                loss_bad: 0.5,
            }),
            ..link
        }
    } else {
        LinkConfig { loss: 0.05, ..link }
    };
    let (a, b) = (c.a, c.b);
    // On A's link only: 5% of what goes each way, from the second second.
    // 2 Mbit/s: 30 frames/s of ~8 KB.
    let o = stream_with(&mut c, 330, 8000, 90, Some((30, lossy)));
    let ok = intact(&o);
    let st = peer(&mut c.net, a).pc.stats();
    let out = st
        .outbound_rtp
        .iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap();
    let sb = peer(&mut c.net, b).pc.stats();
    let inb = sb
        .inbound_rtp
        .iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap();
    eprintln!(
        "rtx={rtx} burst={burst}: {ok}/330 intact, {} received, gap {:?}, {} keyframe requests, out {:?}, in {:?} nack {:?}",
        o.received.len(),
        o.longest_gap,
        o.keyframe_requests,
        out.counters,
        inb.counters,
        inb.nack
    );
    assert_eq!(ok, o.received.len(), "whatever is handed out is intact");
    assert!(
        ok * 1000 >= 330 * 995,
        "NACK repairs at least 99.5%: {ok}/330"
    );
    assert!(out.counters.retransmitted_packets_sent > 0);
    assert!(
        o.longest_gap < Duration::from_secs(1),
        "stall {:?}",
        o.longest_gap
    );
}

#[test]
fn random_loss_is_repaired_by_nack_and_rtx() {
    lossy(true, false);
}

#[test]
fn random_loss_is_repaired_by_plain_retransmission_without_rtx() {
    lossy(false, false);
}

#[test]
fn bursty_loss_is_repaired() {
    lossy(true, true);
}

#[test]
fn removing_and_adding_tracks_renegotiates_from_either_side() {
    let mut c = call(3, LinkConfig::with_latency(Duration::from_millis(10)), true);
    let (a, b) = (c.a, c.b);
    let now = c.net.now();
    // A stops sending video: B's track ends.
    peer(&mut c.net, a).pc.remove_track(c.a_video).unwrap();
    take_events(&mut c.net, b);
    offer_answer(&mut c.net, a, b);
    let ev = take_events(&mut c.net, b);
    assert!(
        ev.iter().any(
            |e| matches!(e, PeerEvent::TrackEnded { transceiver } if *transceiver == c.b_video)
        ),
        "{ev:?}"
    );
    let pa = &mut peer(&mut c.net, a).pc;
    let d = pa.transceiver_mut(c.a_video).unwrap().current_direction();
    assert_eq!(
        d,
        Some(RtpTransceiverDirection::RecvOnly),
        "A still receives B's video"
    );
    assert!(pa
        .transceiver_mut(c.a_video)
        .unwrap()
        .write_frame(now, None, 0, &vp8_frame(0, 100, true))
        .is_err());
    // B adds a second video track and offers: A gets a new track.
    let pb = &mut peer(&mut c.net, b).pc;
    let extra = pb
        .add_transceiver(
            MediaKind::Video,
            TransceiverInit {
                direction: RtpTransceiverDirection::SendOnly,
                ..Default::default()
            },
        )
        .unwrap();
    take_events(&mut c.net, a);
    offer_answer(&mut c.net, b, a);
    let ev = take_events(&mut c.net, a);
    let t = tracks(&ev);
    assert_eq!(t.len(), 1, "{ev:?}");
    let a_extra = t[0].0;
    let _ = run(&mut c.net, a, b, Duration::from_millis(100), |_| false);
    let now = c.net.now();
    let pb = &mut peer(&mut c.net, b).pc;
    let mid = pb.transceiver_mut(extra).unwrap().mid().unwrap();
    assert_eq!(
        mid.as_str(),
        "3",
        "a new section after audio, video and data"
    );
    pb.transceiver_mut(extra)
        .unwrap()
        .write_frame(now, None, 90, &vp8_frame(1, 3000, true))
        .unwrap();
    assert!(run(&mut c.net, a, b, Duration::from_secs(1), |n| {
        n.endpoint::<Peer>(a).events.iter().any(|e| {
            matches!(e, PeerEvent::Rtp { transceiver, packet } if *transceiver == a_extra && packet.marker)
        })
    }));
    // And B stops it: the section is rejected, A's track ends.
    peer(&mut c.net, b)
        .pc
        .transceiver_mut(extra)
        .unwrap()
        .stop();
    take_events(&mut c.net, a);
    offer_answer(&mut c.net, b, a);
    let ev = take_events(&mut c.net, a);
    assert!(
        ev.iter()
            .any(|e| matches!(e, PeerEvent::TrackEnded { transceiver } if *transceiver == a_extra)),
        "{ev:?}"
    );
    let offer = peer(&mut c.net, b).pc.local_description().unwrap().sdp;
    assert!(
        offer.contains("m=video 0 "),
        "a stopped transceiver's section is rejected: {offer}"
    );
}

#[test]
fn garbage_replays_and_nack_floods_are_dropped_and_counted() {
    let mut c = call(5, LinkConfig::with_latency(Duration::from_millis(10)), true);
    let (a, b) = (c.a, c.b);
    let o = stream(&mut c, 10, 2000, 30);
    assert_eq!(intact(&o), 10);
    let now = c.net.now();
    let pb = &mut peer(&mut c.net, b).pc;
    // Random bytes that look like RTP and RTCP: SRTP authentication
    // refuses them.
    for i in 0..200u32 {
        let mut d = vp8_frame(i, 60 + (i as usize % 300), false);
        d[0] = 0x80;
        d[1] = if i % 2 == 0 { 96 } else { 200 };
        pb.handle_receive(now, sa(A), sa(B), &d);
    }
    let st = pb.stats();
    assert_eq!(st.media.srtp_unprotect_failed, 200);
    // Still working afterwards.
    let o = stream(&mut c, 10, 2000, 30);
    assert_eq!(intact(&o), 10);
    let _ = a;
}

#[test]
fn codec_preferences_and_no_common_codec() {
    let (mut net, a, b) = pair(9, LinkConfig::with_latency(Duration::from_millis(5)));
    let now = net.now();
    let pa = &mut peer(&mut net, a).pc;
    let t = pa.add_track(MediaKind::Video, vec![], None).unwrap();
    let h264: Vec<_> = tern_peer::default_video_codecs()
        .into_iter()
        .filter(|c| c.name() == "H264")
        .collect();
    pa.transceiver_mut(t)
        .unwrap()
        .set_codec_preferences(h264)
        .unwrap();
    let offer = pa.create_offer(now, Default::default()).unwrap();
    assert!(!offer.sdp.contains("VP8"), "{}", offer.sdp);
    assert!(offer.sdp.contains("H264/90000"));
    // B only does VP8: the section is rejected, and A's transceiver ends
    // up without media.
    let pb = &mut peer(&mut net, b).pc;
    let vp8: Vec<_> = tern_peer::default_video_codecs()
        .into_iter()
        .filter(|c| c.name() == "VP8")
        .collect();
    let mut cfg = tern_peer::PeerConfig {
        host_addresses: vec![sa(B)],
        ..Default::default()
    };
    cfg.media.video_codecs = vp8;
    *pb = tern_peer::PeerConnection::new(cfg).unwrap();
    pa_sld(&mut net, a, offer.clone());
    let pb = &mut peer(&mut net, b).pc;
    pb.set_remote_description(now, offer).unwrap();
    let answer = pb.create_answer(now).unwrap();
    assert!(answer.sdp.contains("m=video 0 "), "{}", answer.sdp);
    pb.set_local_description(now, answer.clone()).unwrap();
    peer(&mut net, a)
        .pc
        .set_remote_description(now, answer)
        .unwrap();
    let pa = &mut peer(&mut net, a).pc;
    assert_eq!(
        pa.transceiver_mut(t).unwrap().current_direction(),
        Some(RtpTransceiverDirection::Stopped)
    );
}

fn pa_sld(net: &mut Network, a: HostId, offer: tern_peer::RtcSessionDescription) {
    let now = net.now();
    peer(net, a).pc.set_local_description(now, offer).unwrap();
}
