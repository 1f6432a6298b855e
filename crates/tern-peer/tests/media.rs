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
    stream_hooked(c, frames, size, gop, |c, n| {
        if lossy.as_ref().is_some_and(|l| l.0 == n) {
            let (_, link) = lossy.take().unwrap();
            c.net.set_link(c.a, link);
        }
    })
}

/// As [`stream`], calling `hook` before frame `n` is written.
fn stream_hooked(
    c: &mut Call,
    frames: u32,
    size: usize,
    gop: u32,
    mut hook: impl FnMut(&mut Call, u32),
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
        if n < frames && now >= start + FRAME_INTERVAL * n {
            hook(c, n);
            let key = n % gop == 0 || want_key;
            want_key = false;
            let f = vp8_frame(n, if key { size * 3 } else { size }, key);
            let ts = n.wrapping_mul(2970);
            let now = c.net.now();
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

/// Received frames that follow a discarded one must start at a keyframe
/// (RFC 6386 §9.1: bit 0 of a VP8 keyframe's first byte is clear).
fn decodable_chain(o: &Outcome) -> bool {
    let mut prev: Option<u32> = None;
    o.received.iter().all(|(ts, f)| {
        let n = ts / 2970;
        let ok = prev.is_none_or(|p| n == p + 1) || f[0] & 1 == 0;
        prev = Some(n);
        ok
    })
}

fn video_stats(c: &mut Call) -> (tern_peer::OutboundRtpStats, tern_peer::InboundRtpStats) {
    let (a, b) = (c.a, c.b);
    let out = peer(&mut c.net, a)
        .pc
        .stats()
        .outbound_rtp
        .into_iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap();
    let inb = peer(&mut c.net, b)
        .pc
        .stats()
        .inbound_rtp
        .into_iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap();
    (out, inb)
}

/// W3C `setParameters` with `maxBitrate`: 1 Mbit/s of frames written into
/// an encoding capped at 300 kbit/s leave at the cap; what cannot wait is
/// discarded up to a keyframe (which the application is asked for), so
/// every frame that arrives is intact and decodable.
#[test]
fn max_bitrate_paces_the_sender_and_discards_only_what_cannot_wait() {
    let mut c = call(
        21,
        LinkConfig::with_latency(Duration::from_millis(25)),
        true,
    );
    let id = c.a_video;
    let start = c.net.now();
    let o = stream_hooked(&mut c, 300, 4000, 30, |c, n| {
        if n == 0 {
            let pa = &mut peer(&mut c.net, c.a).pc;
            let mut t = pa.transceiver_mut(id).unwrap();
            let mut p = t.get_parameters();
            assert_eq!(p.encodings.len(), 1);
            assert!(p.encodings[0].active);
            assert!(p.rtcp.reduced_size);
            assert!(!p.codecs.is_empty() && !p.header_extensions.is_empty());
            p.encodings[0].max_bitrate = Some(300_000);
            t.set_parameters(p.clone()).unwrap();
            // One get_parameters allows one set_parameters.
            assert!(matches!(
                t.set_parameters(p),
                Err(tern_peer::PeerError::InvalidState(_))
            ));
        }
    });
    let secs = (c.net.now() - start).as_secs_f64();
    let (out, inb) = video_stats(&mut c);
    let rate =
        (inb.counters.bytes_received + inb.counters.header_bytes_received) as f64 * 8.0 / secs;
    eprintln!(
        "capped at 300 kbit/s: received {rate:.0} bit/s over {secs:.1} s, {} frames of 300, {} discarded on send, {} keyframe requests",
        o.received.len(),
        out.counters.frames_discarded_on_send,
        o.keyframe_requests
    );
    assert!(
        rate <= 300_000.0 * 1.05,
        "received {rate} bit/s over {secs} s"
    );
    assert!(
        rate >= 300_000.0 * 0.7,
        "received {rate} bit/s over {secs} s"
    );
    assert!(
        out.counters.frames_discarded_on_send > 50,
        "{:?}",
        out.counters
    );
    assert!(
        o.keyframe_requests > 0,
        "the application is asked for keyframes"
    );
    assert!(o.received.len() > 60, "{} frames", o.received.len());
    assert_eq!(intact(&o), o.received.len(), "every frame intact");
    assert!(
        decodable_chain(&o),
        "a frame after a discarded one is a keyframe"
    );
    assert_eq!(inb.packets_lost, 0, "nothing is lost on the wire");
}

/// W3C `active: false` stops an encoding at once, without renegotiation;
/// `active: true` resumes it.
#[test]
fn an_inactive_encoding_sends_nothing_until_made_active_again() {
    let mut c = call(
        22,
        LinkConfig::with_latency(Duration::from_millis(25)),
        true,
    );
    let id = c.a_video;
    let mut at_pause = None;
    let o = stream_hooked(&mut c, 120, 2000, 15, |c, n| {
        let set = |c: &mut Call, active: bool| {
            let pa = &mut peer(&mut c.net, c.a).pc;
            let mut t = pa.transceiver_mut(id).unwrap();
            let mut p = t.get_parameters();
            p.encodings[0].active = active;
            t.set_parameters(p).unwrap();
        };
        if n == 30 {
            set(c, false);
        }
        if n == 60 {
            at_pause = Some(video_stats(c).1.counters.packets_received);
            set(c, true);
        }
    });
    let (out, inb) = video_stats(&mut c);
    assert_eq!(out.counters.frames_discarded_inactive, 30);
    let n: Vec<u32> = o.received.iter().map(|(ts, _)| ts / 2970).collect();
    assert!(n.iter().all(|&n| !(30..60).contains(&n)), "{n:?}");
    assert_eq!(n.iter().filter(|&&n| n >= 60).count(), 60, "{n:?}");
    assert!(inb.counters.packets_received > at_pause.unwrap());
    assert_eq!(intact(&o), o.received.len());
    // Frame 60 is a keyframe (gop 15), so the chain stays decodable.
    assert!(decodable_chain(&o));
    // A stale transaction id is refused.
    let pa = &mut peer(&mut c.net, c.a).pc;
    let mut t = pa.transceiver_mut(id).unwrap();
    let old = t.get_parameters();
    let _new = t.get_parameters();
    assert!(matches!(
        t.set_parameters(old),
        Err(tern_peer::PeerError::InvalidModification(_))
    ));
}

/// `set_pacing_rate`: everything leaves at the rate, audio first: every
/// audio packet arrives while video gets what is left.
#[test]
fn the_pacing_rate_holds_all_media_and_audio_goes_first() {
    let mut c = call(
        23,
        LinkConfig::with_latency(Duration::from_millis(25)),
        true,
    );
    let a = c.a;
    let audio = peer(&mut c.net, a)
        .pc
        .stats()
        .outbound_rtp
        .iter()
        .find(|s| s.kind == MediaKind::Audio)
        .unwrap()
        .transceiver;
    peer(&mut c.net, a).pc.set_pacing_rate(Some(400_000));
    let start = c.net.now();
    let mut audio_sent = 0u64;
    let o = stream_hooked(&mut c, 200, 4000, 30, |c, n| {
        let now = c.net.now();
        let pa = &mut peer(&mut c.net, c.a).pc;
        pa.transceiver_mut(audio)
            .unwrap()
            .write_frame(now, None, n.wrapping_mul(1584), &[0xfc; 120])
            .unwrap();
        audio_sent += 1;
    });
    let secs = (c.net.now() - start).as_secs_f64();
    let inbound = peer(&mut c.net, c.b).pc.stats().inbound_rtp;
    let total: u64 = inbound
        .iter()
        .map(|s| s.counters.bytes_received + s.counters.header_bytes_received)
        .sum();
    let rate = total as f64 * 8.0 / secs;
    let audio_in = inbound.iter().find(|s| s.kind == MediaKind::Audio).unwrap();
    eprintln!(
        "paced at 400 kbit/s: {rate:.0} bit/s, audio {} of {audio_sent}, video frames {}",
        audio_in.counters.packets_received,
        o.received.len()
    );
    assert!(rate <= 400_000.0 * 1.05, "{rate}");
    assert_eq!(audio_in.counters.packets_received, audio_sent);
    assert_eq!(audio_in.packets_lost, 0);
    assert_eq!(intact(&o), o.received.len());
    assert!(decodable_chain(&o));
    assert!(o.received.len() > 40, "{}", o.received.len());
}

/// W3C `replaceTrack`: `None` stops the sender without renegotiation and
/// refuses writes; another track then continues the same stream (same
/// SSRC, sequence numbers in order), and `media-source` names it.
#[test]
fn replace_track_swaps_the_source_without_renegotiation() {
    let mut c = call(
        24,
        LinkConfig::with_latency(Duration::from_millis(25)),
        true,
    );
    let (a, id) = (c.a, c.a_video);
    let sources = |c: &mut Call| -> Vec<tern_peer::MediaSourceStats> {
        peer(&mut c.net, c.a)
            .pc
            .stats()
            .media_sources
            .into_iter()
            .filter(|s| s.transceiver == c.a_video)
            .collect()
    };
    assert_eq!(sources(&mut c)[0].track_identifier, "v1");
    let o1 = stream(&mut c, 30, 2000, 30);
    let sdp = peer(&mut c.net, a).pc.local_description().unwrap().sdp;
    let now = c.net.now();
    let pa = &mut peer(&mut c.net, a).pc;
    let mut t = pa.transceiver_mut(id).unwrap();
    t.replace_track(None).unwrap();
    let err = t
        .write_frame(now, None, 0, &vp8_frame(0, 100, true))
        .unwrap_err();
    assert!(err.to_string().contains("replace_track"), "{err}");
    assert!(sources(&mut c).is_empty());
    let pa = &mut peer(&mut c.net, a).pc;
    pa.transceiver_mut(id)
        .unwrap()
        .replace_track(Some("screen".into()))
        .unwrap();
    assert!(
        !take_events(&mut c.net, a)
            .iter()
            .any(|e| matches!(e, PeerEvent::NegotiationNeeded)),
        "replaceTrack does not renegotiate"
    );
    let o2 = stream(&mut c, 30, 2000, 30);
    assert_eq!(o1.received.len() + o2.received.len(), 60);
    assert_eq!(intact(&o2), 30);
    let src = sources(&mut c);
    assert_eq!(src[0].track_identifier, "screen");
    assert_eq!(src[0].frames, 60);
    let (out, inb) = video_stats(&mut c);
    assert_eq!(inb.ssrc, out.ssrc, "one stream throughout");
    assert_eq!(inb.packets_lost, 0, "sequence numbers continue");
    assert_eq!(peer(&mut c.net, a).pc.local_description().unwrap().sdp, sdp);
}

/// The peer closing (DTLS close_notify) ends its tracks at once, not when
/// ICE consent expires 30 s later.
#[test]
fn the_peers_close_ends_its_tracks_at_once() {
    let mut c = call(
        25,
        LinkConfig::with_latency(Duration::from_millis(25)),
        true,
    );
    let _ = stream(&mut c, 10, 1000, 30);
    let (a, b) = (c.a, c.b);
    let _ = take_events(&mut c.net, b);
    let now = c.net.now();
    peer(&mut c.net, a).pc.close(now);
    let mut ended = Vec::new();
    let start = c.net.now();
    while c.net.now() < start + Duration::from_secs(2) && ended.is_empty() {
        c.net.run_for(Duration::from_millis(10));
        for e in take_events(&mut c.net, b) {
            if let PeerEvent::TrackEnded { transceiver } = e {
                ended.push(transceiver);
            }
        }
    }
    assert!(ended.contains(&c.b_video), "{ended:?}");
    assert!(c.net.now() - start < Duration::from_secs(1));
}
