//! aiortc ↔ tern media on loopback: tern offers VP8 video (a clip made in
//! the test with ffmpeg's libvpx) to aiortc's echo, which decodes it and
//! sends it back re-encoded; tern counts the frames that come back, so both
//! directions are proven: aiortc decoded what tern sent, tern assembled
//! what aiortc sent.
#![allow(clippy::disallowed_methods)] // real processes, real time

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tern::{Bytes, MediaKind, PeerConnection, PeerConnectionEvent, RtcConfiguration};
use tern_interop::{require_binary, Peer};

fn python() -> PathBuf {
    let p = std::env::var_os("TERN_AIORTC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv/bin/python")
        });
    assert!(
        p.is_file(),
        "{} is missing: run scripts/test (it makes the venv with `pip install aiortc`)",
        p.display()
    );
    p
}

/// A 4 s 320×240 30 fps VP8 clip with a keyframe every 30 frames.
fn vp8_clip(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let ffmpeg = require_binary("ffmpeg", "ffmpeg");
    let out = dir.join("clip.ivf");
    let st = Command::new(ffmpeg)
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30",
            "-t",
            "4",
        ])
        .args([
            "-c:v",
            "libvpx",
            "-deadline",
            "realtime",
            "-b:v",
            "500k",
            "-g",
            "30",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg made the clip");
    let mut r = tern_media::IvfReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        frames.push(f.data);
    }
    frames
}

/// 4 s of a 440 Hz tone as 20 ms Opus packets.
fn opus_clip(dir: &std::path::Path) -> Vec<(Vec<u8>, u32)> {
    let ffmpeg = require_binary("ffmpeg", "ffmpeg");
    let out = dir.join("tone.ogg");
    let st = Command::new(ffmpeg)
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "4",
        ])
        .args(["-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg made the tone");
    let mut r = tern_media::OggOpusReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut packets = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        packets.push((p.data, p.duration));
    }
    packets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tern_sends_vp8_and_opus_to_aiortc_and_gets_them_back_reencoded() {
    let dir = std::env::temp_dir().join(format!("tern-aiortc-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let frames = vp8_clip(&dir);
    let tone = opus_clip(&dir);
    assert!(tone.len() >= 190, "{} Opus packets", tone.len());
    assert!(frames.len() >= 115, "{} frames", frames.len());
    let echo = Peer::start(
        "aiortc-echo",
        &python(),
        &[PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("python/aiortc_echo.py")
            .display()
            .to_string()],
    );
    assert!(
        echo.wait_for("listening on http://", Duration::from_secs(30)),
        "{}",
        echo.output()
    );
    let url = echo
        .output()
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let mut cfg = RtcConfiguration {
        bind_addresses: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..RtcConfiguration::default()
    };
    cfg.media.video_codecs.retain(|c| c.name() == "VP8");
    let mut pc = PeerConnection::new(cfg).await.unwrap();
    let mut video = pc.add_track(MediaKind::Video, &["tern"]).await.unwrap();
    let mut audio = pc.add_track(MediaKind::Audio, &["tern"]).await.unwrap();
    pc.set_local_description(pc.create_offer().await.unwrap())
        .await
        .unwrap();
    pc.gathering_complete().await.unwrap();
    let offer = pc.local_description().await.unwrap().unwrap();
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let body = serde_json::json!({"type": "offer", "sdp": offer.sdp}).to_string();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&host).unwrap();
        write!(
            s,
            "POST /offer HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        let v: serde_json::Value =
            serde_json::from_str(&resp[resp.find("\r\n\r\n").unwrap() + 4..]).unwrap();
        v["sdp"].as_str().unwrap().to_string()
    })
    .await
    .unwrap();
    assert!(answer.contains("VP8/90000"), "{answer}");
    pc.set_remote_description(tern::RtcSessionDescription::answer(answer))
        .await
        .unwrap();
    let (mut back, mut back_audio) = (None, None);
    while back.is_none() || back_audio.is_none() {
        match tokio::time::timeout(Duration::from_secs(10), pc.next_event()).await {
            Ok(Some(PeerConnectionEvent::Track(t))) if t.kind() == MediaKind::Video => {
                back = Some(t)
            }
            Ok(Some(PeerConnectionEvent::Track(t))) => back_audio = Some(t),
            Ok(Some(_)) => continue,
            other => panic!("no tracks back from aiortc: {other:?}\n{}", echo.output()),
        }
    }
    let (mut back, mut back_audio) = (back.unwrap(), back_audio.unwrap());
    assert!(answer_has_opus(&pc).await);
    pc.connected().await.unwrap();
    let sent = frames.len();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(33));
        for f in frames {
            tick.tick().await;
            video
                .write_sample(Bytes::from(f), Duration::from_millis(33))
                .await
                .unwrap();
        }
        video
    });
    let sent_audio = tone.len();
    let audio_writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for (p, samples) in tone {
            tick.tick().await;
            let d = Duration::from_micros(u64::from(samples) * 1_000_000 / 48_000);
            audio.write_sample(Bytes::from(p), d).await.unwrap();
        }
    });
    let audio_reader = tokio::spawn(async move {
        let mut n = 0usize;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, back_audio.read_frame()).await {
            n += 1;
            if n >= sent_audio * 9 / 10 {
                break;
            }
        }
        n
    });
    let mut got = 0usize;
    let mut keyframes = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(f)) = tokio::time::timeout_at(deadline, back.read_frame()).await {
        got += 1;
        keyframes += usize::from(f.keyframe);
        if got >= sent * 9 / 10 {
            break;
        }
    }
    let _video = writer.await.unwrap();
    audio_writer.await.unwrap();
    let got_audio = audio_reader.await.unwrap();
    eprintln!("sent {sent_audio} Opus packets, {got_audio} came back re-encoded");
    assert!(
        got_audio * 10 >= sent_audio * 7,
        "{got_audio} of {sent_audio} Opus packets came back"
    );
    let st = pc.stats().await.unwrap();
    eprintln!(
        "sent {sent} frames, {got} came back re-encoded ({keyframes} keyframes); out {:?}; in {:?}",
        st.outbound_rtp.first().map(|o| o.counters),
        st.inbound_rtp.first().map(|i| i.counters)
    );
    // aiortc's encoder starts after its decoder has a keyframe and may
    // drop frames while it adapts its rate: most, not all, come back.
    assert!(got * 10 >= sent * 7, "{got} of {sent} frames came back");
    assert!(keyframes >= 1);
    pc.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn answer_has_opus(pc: &PeerConnection) -> bool {
    let d = pc.remote_description().await.unwrap().unwrap();
    d.sdp.contains("opus/48000/2")
}
