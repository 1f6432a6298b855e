//! Media through the async API on loopback: a local video track written
//! sample by sample, the remote track read frame by frame (and as RTP),
//! keyframe requests both ways, and the track ending with renegotiation.

use std::time::Duration;

use tern::{Bytes, MediaKind, PeerConnection, PeerConnectionEvent, RemoteTrack};

mod common;

fn vp8_frame(n: u32, len: usize) -> Vec<u8> {
    let key = n % 30 == 0;
    let mut f = if key {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
    } else {
        vec![0x11, 0x02, 0x00]
    };
    f.extend((0..len).map(|i| (i as u32).wrapping_mul(n + 7) as u8));
    f
}

async fn next_track(b: &mut PeerConnection) -> RemoteTrack {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), b.next_event()).await {
            Ok(Some(PeerConnectionEvent::Track(t))) => return t,
            Ok(Some(_)) => continue,
            other => panic!("no track event: {other:?}"),
        }
    }
}

#[tokio::test]
async fn video_samples_arrive_as_frames_and_the_track_ends_on_removal() {
    let cfg = common::loopback();
    let a = PeerConnection::new(cfg.clone()).await.unwrap();
    let mut b = PeerConnection::new(cfg).await.unwrap();
    let mut video = a.add_track(MediaKind::Video, &["cam"]).await.unwrap();
    common::offer_answer(&a, &b).await;
    let mut remote = next_track(&mut b).await;
    assert_eq!(remote.kind(), MediaKind::Video);
    assert_eq!(remote.stream_ids(), ["cam"]);
    a.connected().await.unwrap();
    assert!(remote
        .codecs()
        .await
        .unwrap()
        .iter()
        .any(|c| c.name() == "VP8"));
    b.connected().await.unwrap();
    let frames: Vec<Vec<u8>> = (0..60).map(|n| vp8_frame(n, 6000)).collect();
    let sender = {
        let frames = frames.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            for f in frames {
                tick.tick().await;
                video
                    .write_sample(Bytes::from(f), Duration::from_millis(33))
                    .await
                    .unwrap();
            }
            video
        })
    };
    let mut got = Vec::new();
    let mut first_ts = None;
    while got.len() < frames.len() {
        let f = tokio::time::timeout(Duration::from_secs(5), remote.read_frame())
            .await
            .expect("a frame in time")
            .expect("the track is live");
        let base = *first_ts.get_or_insert(f.timestamp);
        // 33 ms at 90 kHz per sample.
        assert_eq!(
            f.timestamp.wrapping_sub(base),
            2970 * got.len() as u32,
            "timestamps follow the sample durations"
        );
        assert_eq!(f.keyframe, got.len() % 30 == 0);
        got.push(f.data.to_vec());
    }
    assert_eq!(got, frames, "every frame intact and in order");
    let video = sender.await.unwrap();
    // A keyframe request from B reaches A's track.
    let mut video = video;
    remote.request_keyframe().await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), video.keyframe_requested())
        .await
        .expect("the request arrives")
        .unwrap();
    assert_eq!(n, 1);
    let st = a.stats().await.unwrap();
    let out = &st.outbound_rtp[0];
    assert_eq!(out.counters.frames_sent, 60);
    assert_eq!(out.counters.pli_count, 1);
    // Removing the track and renegotiating ends B's track.
    a.remove_track(&video).await.unwrap();
    common::offer_answer(&a, &b).await;
    let end = tokio::time::timeout(Duration::from_secs(5), remote.read_rtp()).await;
    assert!(matches!(end, Ok(None)), "the track ended: {end:?}");
}

/// The sender's verbs through the async API: `set_parameters` turns the
/// encoding off and on again and caps it, `replace_track` detaches and
/// attaches a source, all without renegotiation, and the per-track stats
/// show it.
#[tokio::test]
async fn sender_parameters_and_replace_track_without_renegotiation() {
    let cfg = common::loopback();
    let a = PeerConnection::new(cfg.clone()).await.unwrap();
    let mut b = PeerConnection::new(cfg).await.unwrap();
    let mut video = a.add_track(MediaKind::Video, &["cam"]).await.unwrap();
    common::offer_answer(&a, &b).await;
    let mut remote = next_track(&mut b).await;
    a.connected().await.unwrap();
    b.connected().await.unwrap();
    let sdp = a.local_description().await.unwrap().unwrap().sdp;

    async fn send(video: &mut tern::LocalTrack, from: u32, n: u32) {
        for i in from..from + n {
            video
                .write_sample(Bytes::from(vp8_frame(i, 3000)), Duration::from_millis(33))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    async fn frames(remote: &mut RemoteTrack, n: usize) -> Vec<tern::Frame> {
        let mut got = Vec::new();
        while got.len() < n {
            let f = tokio::time::timeout(Duration::from_secs(5), remote.read_frame())
                .await
                .expect("a frame in time")
                .expect("the track is live");
            got.push(f);
        }
        got
    }
    send(&mut video, 0, 10).await;
    assert_eq!(frames(&mut remote, 10).await.len(), 10);
    // B's transport-wide feedback gives A an estimate.
    let target = tokio::time::timeout(Duration::from_secs(5), async {
        match a.target_bitrate() {
            Some(t) => Ok(t),
            None => a.target_bitrate_changed().await,
        }
    })
    .await
    .expect("an estimate in time")
    .unwrap();
    assert!(target >= 30_000, "{target}");
    assert_eq!(a.target_bitrate(), Some(target));

    // Inactive: nothing goes; samples are discarded and counted.
    let mut p = video.get_parameters().await.unwrap();
    assert_eq!(p.encodings.len(), 1);
    p.encodings[0].active = false;
    video.set_parameters(p).await.unwrap();
    send(&mut video, 10, 20).await;
    let quiet = tokio::time::timeout(Duration::from_millis(300), remote.read_frame()).await;
    assert!(quiet.is_err(), "nothing while inactive: {quiet:?}");
    let (out, _) = video.stats().await.unwrap();
    let out = out.unwrap();
    assert!(!out.active);
    assert_eq!(out.counters.frames_discarded_inactive, 20);

    // Active again, capped; from frame 30 (a keyframe) on.
    let mut p = video.get_parameters().await.unwrap();
    p.encodings[0].active = true;
    p.encodings[0].max_bitrate = Some(2_000_000);
    video.set_parameters(p).await.unwrap();
    send(&mut video, 30, 10).await;
    let got = frames(&mut remote, 10).await;
    assert!(got[0].keyframe);
    assert_eq!(got[0].data.as_ref(), &vp8_frame(30, 3000)[..]);
    let (out, src) = video.stats().await.unwrap();
    assert_eq!(out.unwrap().max_bitrate, Some(2_000_000));
    assert_eq!(src.unwrap().frames, 40);

    // Detached: writes are refused with what to do.
    video.replace_track(None).await.unwrap();
    let err = video
        .write_sample(Bytes::from(vp8_frame(40, 100)), Duration::from_millis(33))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("replace_track"), "{err}");
    assert!(video.stats().await.unwrap().1.is_none());
    video.replace_track(Some("screen".into())).await.unwrap();
    send(&mut video, 60, 5).await;
    let got = frames(&mut remote, 5).await;
    assert_eq!(got[0].data.as_ref(), &vp8_frame(60, 3000)[..]);
    let (_, src) = video.stats().await.unwrap();
    assert_eq!(src.unwrap().track_identifier, "screen");
    let inbound = remote.stats().await.unwrap();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].packets_lost, 0);
    assert_eq!(a.local_description().await.unwrap().unwrap().sdp, sdp);
}
