//! `tern echo` reflects media: a tern peer offers a video track, sends VP8
//! frames in real time and gets every frame back byte for byte on the same
//! transceiver; its keyframe request travels back upstream to the sender.
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tern::{
    Bytes, MediaKind, PeerConnection, PeerConnectionEvent, RtcConfiguration, RtcSessionDescription,
};

mod common;

/// POST /offer with the offer; the answer's SDP.
fn post_offer(url: &str, sdp: &str) -> String {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let body = serde_json::json!({"type": "offer", "sdp": sdp}).to_string();
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST /offer HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let json = &resp[resp.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["sdp"].as_str().unwrap().to_string()
}

fn vp8_frame(n: u32, len: usize) -> Vec<u8> {
    let mut f = if n % 30 == 0 {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
    } else {
        vec![0x11, 0x02, 0x00]
    };
    f.extend((0..len).map(|i| (i as u32 ^ n.wrapping_mul(131)) as u8));
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_reflects_video_frames_unchanged_and_passes_keyframe_requests_upstream() {
    let (_e, url, _) = common::printing_url(&["echo", "--http", "127.0.0.1:0"]);
    let cfg = RtcConfiguration {
        bind_addresses: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..RtcConfiguration::default()
    };
    let mut pc = PeerConnection::new(cfg).await.unwrap();
    let mut video = pc.add_track(MediaKind::Video, &["me"]).await.unwrap();
    pc.set_local_description(pc.create_offer().await.unwrap())
        .await
        .unwrap();
    pc.gathering_complete().await.unwrap();
    let offer = pc.local_description().await.unwrap().unwrap().sdp;
    let url2 = url.clone();
    let answer = tokio::task::spawn_blocking(move || post_offer(&url2, &offer))
        .await
        .unwrap();
    assert!(
        answer.contains("a=sendrecv"),
        "the echo sends back: {answer}"
    );
    pc.set_remote_description(RtcSessionDescription::answer(answer))
        .await
        .unwrap();
    let mut back = loop {
        match tokio::time::timeout(Duration::from_secs(10), pc.next_event()).await {
            Ok(Some(PeerConnectionEvent::Track(t))) => break t,
            Ok(Some(_)) => continue,
            other => panic!("no track back: {other:?}"),
        }
    };
    assert_eq!(
        back.transceiver(),
        video.transceiver(),
        "on the same transceiver"
    );
    pc.connected().await.unwrap();
    let frames: Vec<Vec<u8>> = (0..45).map(|n| vp8_frame(n, 5000)).collect();
    let sent = frames.clone();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(33));
        for f in sent {
            tick.tick().await;
            video
                .write_sample(Bytes::from(f), Duration::from_millis(33))
                .await
                .unwrap();
        }
        video
    });
    let mut got = Vec::new();
    while got.len() < frames.len() {
        let f = tokio::time::timeout(Duration::from_secs(5), back.read_frame())
            .await
            .expect("a reflected frame in time")
            .expect("the track is live");
        got.push(f.data.to_vec());
    }
    assert_eq!(got, frames, "every frame back, byte for byte");
    let mut video = writer.await.unwrap();
    back.request_keyframe().await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), video.keyframe_requested())
        .await
        .expect("the echo passes our PLI upstream to us")
        .unwrap();
    assert!(n >= 1);
    pc.close().await;
}

#[test]
fn ping_sends_video_and_audio_files_through_the_echo_and_checks_every_frame() {
    let dir = std::env::temp_dir().join(format!("tern-ping-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ivf, ogg) = common::vp8_and_opus_files(&dir, 3);
    let (v, a) = (ivf.to_str().unwrap(), ogg.to_str().unwrap());
    let (_e, url, _) = common::printing_url(&["echo", "--http", "127.0.0.1:0"]);
    let out = common::tern()
        .args(["ping", &url, "--video", v, "--audio", a, "--json"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    let j: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{e}: {line} {}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{j}");
    assert_eq!(j["ok"], true);
    let sent = j["video_frames_sent"].as_u64().unwrap();
    assert!(sent >= 85, "{j}");
    assert_eq!(
        j["video_frames_intact"], sent,
        "every frame back byte for byte: {j}"
    );
    assert!(j["video_keyframes_received"].as_u64().unwrap() >= 3, "{j}");
    let audio = j["audio_packets_sent"].as_u64().unwrap();
    assert!(audio >= 140, "{j}");
    assert!(
        j["audio_packets_received"].as_u64().unwrap() * 100 >= audio * 99,
        "{j}"
    );
    assert_eq!(j["freezes"], 0, "{j}");
    // A missing file is a clear error.
    let out = common::tern()
        .args(["ping", &url, "--video", "/nonexistent.ivf"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent.ivf"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
