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
