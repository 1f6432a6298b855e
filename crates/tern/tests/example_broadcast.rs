//! The `broadcast` example end to end: a tern publisher sends VP8 frames,
//! two tern viewers each receive every one of them byte for byte, and a
//! viewer's keyframe request reaches the publisher. The example runs as
//! its own process (`cargo test` builds the examples first).
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern::{
    Bytes, MediaKind, PeerConnection, PeerConnectionEvent, RemoteTrack, RtcConfiguration,
    RtcSessionDescription, RtpTransceiverDirection, TransceiverInit,
};

/// The example's process, killed (by its PID) on drop.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `target/…/examples/NAME` and returns it with the address it
/// prints on its first line.
fn start_example(name: &str) -> (Example, String) {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/this-test → target/<profile>/examples/NAME
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    let mut c = Command::new(&path)
        .args(["--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build it: cargo build -p tern --examples)",
                path.display()
            )
        });
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (Example(c), addr)
}

/// POSTs `sdp` to `path`: the status and the body.
fn post(addr: &str, path: &str, sdp: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp[resp.find("\r\n\r\n").unwrap() + 4..].to_string();
    (status, body)
}

async fn offer(pc: &PeerConnection) -> String {
    pc.set_local_description(pc.create_offer().await.unwrap())
        .await
        .unwrap();
    pc.gathering_complete().await.unwrap();
    pc.local_description().await.unwrap().unwrap().sdp
}

/// POSTs the offer of `pc` to `path` (retrying while the example says 503)
/// and applies the answer.
async fn signal(pc: &PeerConnection, addr: &str, path: &'static str) {
    let sdp = offer(pc).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (a, s) = (addr.to_string(), sdp.clone());
        let (status, body) = tokio::task::spawn_blocking(move || post(&a, path, &s))
            .await
            .unwrap();
        if status == 200 {
            pc.set_remote_description(RtcSessionDescription::answer(body))
                .await
                .unwrap();
            return;
        }
        assert!(
            status == 503 && Instant::now() < deadline,
            "{path}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn config() -> RtcConfiguration {
    RtcConfiguration {
        bind_addresses: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..RtcConfiguration::default()
    }
}

async fn track(pc: &mut PeerConnection) -> RemoteTrack {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), pc.next_event()).await {
            Ok(Some(PeerConnectionEvent::Track(t))) => return t,
            Ok(Some(_)) => continue,
            other => panic!("no track: {other:?}"),
        }
    }
}

/// A synthetic VP8 frame: a keyframe every 30, with a recognisable body.
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
async fn one_publisher_reaches_two_viewers_frame_for_frame() {
    let (_ex, addr) = start_example("broadcast");
    let publisher = PeerConnection::new(config()).await.unwrap();
    let mut video = publisher
        .add_transceiver(
            MediaKind::Video,
            TransceiverInit {
                direction: RtpTransceiverDirection::SendOnly,
                ..TransceiverInit::default()
            },
        )
        .await
        .unwrap();
    signal(&publisher, &addr, "/publish").await;
    publisher.connected().await.unwrap();

    let mut viewers = Vec::new();
    for _ in 0..2 {
        let mut pc = PeerConnection::new(config()).await.unwrap();
        pc.add_transceiver(
            MediaKind::Video,
            TransceiverInit {
                direction: RtpTransceiverDirection::RecvOnly,
                ..TransceiverInit::default()
            },
        )
        .await
        .unwrap();
        signal(&pc, &addr, "/view").await;
        let t = track(&mut pc).await;
        pc.connected().await.unwrap();
        viewers.push((pc, t));
    }

    let frames: Vec<Vec<u8>> = (0..60).map(|n| vp8_frame(n, 3000)).collect();
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
    let mut readers = Vec::new();
    for (pc, mut t) in viewers {
        let want = frames.len();
        readers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < want {
                let f = tokio::time::timeout(Duration::from_secs(5), t.read_frame())
                    .await
                    .expect("a frame in time")
                    .expect("the track is live");
                got.push(f.data.to_vec());
            }
            (pc, t, got)
        }));
    }
    let mut viewers = Vec::new();
    for r in readers {
        let (pc, t, got) = r.await.unwrap();
        assert_eq!(got, frames, "every frame, byte for byte, in order");
        viewers.push((pc, t));
    }
    let mut video = writer.await.unwrap();

    // A viewer's keyframe request reaches the publisher (new viewers have
    // asked already: wait for one more than that).
    let before = video.keyframe_requests();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        viewers[1].1.request_keyframe().await.unwrap();
        if let Ok(n) =
            tokio::time::timeout(Duration::from_millis(500), video.keyframe_requested()).await
        {
            if n.unwrap() > before {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no keyframe request reached the publisher"
        );
    }
    for (pc, _) in viewers {
        pc.close().await;
    }
    publisher.close().await;
}
