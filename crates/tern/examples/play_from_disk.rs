//! Streams an IVF file (VP8, VP9 or AV1) and an Ogg Opus file to a browser
//! in real time, in Pion's spirit (its play-from-disk).
//!
//! ```sh
//! ffmpeg -f lavfi -i testsrc2=rate=30 -t 10 -c:v libvpx -g 30 -deadline realtime video.ivf
//! ffmpeg -f lavfi -i sine=frequency=440 -t 10 -c:a libopus -frame_duration 20 audio.ogg
//! cargo run -p tern --example play_from_disk -- --video video.ivf --audio audio.ogg
//! ```
//!
//! then open the printed address in a browser. The page offers to receive
//! video and audio, POSTs its offer to `/offer` and plays what comes; every
//! half second it POSTs its `getStats()` counts to `/stats`. The example
//! serves one viewer, sends each file once, prints what it sent and the
//! browser's last report, and exits. Either file may be left out.
#![allow(clippy::disallowed_methods)] // an example program: real time

mod http_signal;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_signal::{Request, Response};
use tern::{Bytes, LocalTrack, MediaKind, PeerConnection, RtcConfiguration};
use tern_media::{IvfReader, OggOpusReader};
use tokio::sync::{mpsc, oneshot};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>tern play_from_disk</title>
<video id="video" autoplay muted playsinline controls></video>
<pre id="log">connecting…</pre>
<script type="module">
const pc = new RTCPeerConnection();
pc.addTransceiver('video', {direction: 'recvonly'});
pc.addTransceiver('audio', {direction: 'recvonly'});
const stream = new MediaStream();
pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; };
await pc.setLocalDescription(await pc.createOffer());
// No trickle: wait for every candidate (at most 2 s).
await new Promise((done) => {
  if (pc.iceGatheringState === 'complete') return done();
  pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
  setTimeout(done, 2000);
});
const res = await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp});
if (!res.ok) throw new Error(await res.text());
await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
setInterval(async () => {
  const s = {state: pc.connectionState, framesDecoded: 0, keyFramesDecoded: 0,
             audioPacketsReceived: 0, audioSamplesReceived: 0};
  (await pc.getStats()).forEach((r) => {
    if (r.type !== 'inbound-rtp') return;
    if (r.kind === 'video') {
      s.framesDecoded = r.framesDecoded;
      s.keyFramesDecoded = r.keyFramesDecoded;
    } else {
      s.audioPacketsReceived = r.packetsReceived;
      s.audioSamplesReceived = r.totalSamplesReceived;
    }
  });
  log.textContent = JSON.stringify(s, null, 1);
  fetch('/stats', {method: 'POST', body: JSON.stringify(s)});
}, 500);
</script>
"#;

type Offer = (Vec<u8>, oneshot::Sender<Response>);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let video = http_signal::flag(&args, "--video").map(PathBuf::from);
    let audio = http_signal::flag(&args, "--audio").map(PathBuf::from);
    if video.is_none() && audio.is_none() {
        return Err("usage: play_from_disk --video FILE.ivf --audio FILE.ogg [--http ADDR]".into());
    }
    // Open both files first: a bad path is an error now, not once a browser came.
    let video = video.map(|p| open_ivf(&p).map(|r| (p, r))).transpose()?;
    let audio = audio.map(|p| open_ogg(&p).map(|r| (p, r))).transpose()?;
    let http = http_signal::http_address(&args)?;
    let listener = http_signal::listen("play_from_disk", http).await?;

    let (offers, mut next_offer) = mpsc::channel::<Offer>(1);
    let report = Arc::new(Mutex::new(String::from("(none)")));
    let page_report = report.clone();
    tokio::spawn(http_signal::serve(listener, move |req: Request| {
        let offers = offers.clone();
        let report = page_report.clone();
        async move {
            match (req.method.as_str(), req.path.as_str()) {
                ("GET", "/") => Response::html(PAGE),
                ("POST", "/offer") => {
                    let (tx, rx) = oneshot::channel();
                    if offers.try_send((req.body, tx)).is_err() {
                        return Response::error(503, "already playing to a browser");
                    }
                    rx.await
                        .unwrap_or_else(|_| Response::error(500, "the example stopped"))
                }
                ("POST", "/stats") => {
                    *report.lock().unwrap_or_else(|e| e.into_inner()) =
                        String::from_utf8_lossy(&req.body).into_owned();
                    Response::text("")
                }
                _ => Response::error(404, "not found"),
            }
        }
    }));

    let (offer, reply) = next_offer.recv().await.ok_or("no offer")?;
    let pc = PeerConnection::new(RtcConfiguration {
        bind_addresses: http_signal::bind_addresses(&http),
        ..RtcConfiguration::default()
    })
    .await?;
    // The tracks take the offer's receive-only transceivers of their kind.
    let setup = async {
        let sdp = String::from_utf8(offer).map_err(|_| "the offer is not UTF-8".to_string())?;
        pc.set_remote_description(tern::RtcSessionDescription::offer(sdp))
            .await
            .map_err(|e| format!("bad offer: {e}"))?;
        let v = match video {
            Some(_) => Some(pc.add_track(MediaKind::Video, &["disk"]).await),
            None => None,
        };
        let a = match audio {
            Some(_) => Some(pc.add_track(MediaKind::Audio, &["disk"]).await),
            None => None,
        };
        let answer = http_signal::answer_local(&pc).await?;
        Ok::<_, String>((answer, v.transpose(), a.transpose()))
    }
    .await;
    let (vtrack, atrack) = match setup {
        Ok((answer, Ok(v), Ok(a))) => {
            let _ = reply.send(Response::text(answer));
            (v, a)
        }
        Ok((_, Err(e), _) | (_, _, Err(e))) => {
            let _ = reply.send(Response::error(500, e.to_string()));
            return Err(e.into());
        }
        Err(e) => {
            let _ = reply.send(Response::error(400, e.clone()));
            return Err(e.into());
        }
    };
    pc.connected().await?;
    eprintln!("play_from_disk: connected; playing");
    let v = vtrack
        .zip(video)
        .map(|(t, (p, r))| tokio::spawn(play_ivf(t, p, r)));
    let a = atrack
        .zip(audio)
        .map(|(t, (p, r))| tokio::spawn(play_ogg(t, p, r)));
    if let Some(v) = v {
        println!("play_from_disk: sent {} video frames", v.await??);
    }
    if let Some(a) = a {
        println!("play_from_disk: sent {} audio packets", a.await??);
    }
    // The page reports every half second: let the last frames land first.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    println!(
        "browser: {}",
        report.lock().unwrap_or_else(|e| e.into_inner())
    );
    pc.close().await;
    Ok(())
}

type Ivf = IvfReader<BufReader<File>>;
type Ogg = OggOpusReader<BufReader<File>>;

fn open_ivf(p: &Path) -> Result<Ivf, String> {
    let f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    IvfReader::new(BufReader::new(f)).map_err(|e| format!("{}: not IVF ({e})", p.display()))
}

fn open_ogg(p: &Path) -> Result<Ogg, String> {
    let f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    OggOpusReader::new(BufReader::new(f))
        .map_err(|e| format!("{}: not Ogg Opus ({e})", p.display()))
}

/// Sends the IVF file's frames, one per frame interval of its time base;
/// returns how many.
async fn play_ivf(mut track: LocalTrack, path: PathBuf, mut r: Ivf) -> Result<u64, String> {
    let h = *r.header();
    // IVF time bases are usually 1/fps; one tick per frame.
    let interval = if h.timebase_rate > 0 && h.timebase_scale > 0 {
        Duration::from_secs_f64(f64::from(h.timebase_scale) / f64::from(h.timebase_rate))
    } else {
        Duration::from_millis(33)
    };
    let mut tick = tokio::time::interval(interval);
    let (mut sent, mut requests) = (0, 0);
    while let Some(f) = r
        .next_frame()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        tick.tick().await;
        if track.keyframe_requests() != requests {
            // A file cannot make a keyframe on demand; its next one will do.
            requests = track.keyframe_requests();
            eprintln!("play_from_disk: keyframe requested ({requests} so far)");
        }
        track
            .write_sample(Bytes::from(f.data), interval)
            .await
            .map_err(|e| e.to_string())?;
        sent += 1;
    }
    Ok(sent)
}

/// Sends the Ogg file's Opus packets, each after the previous one's
/// duration; returns how many.
async fn play_ogg(mut track: LocalTrack, path: PathBuf, mut r: Ogg) -> Result<u64, String> {
    let start = tokio::time::Instant::now();
    let mut at = Duration::ZERO;
    let mut sent = 0;
    while let Some(p) = r
        .next_packet()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        // Pace by the total duration so far, so rounding never drifts.
        tokio::time::sleep_until(start + at).await;
        let d = Duration::from_micros(u64::from(p.duration) * 1_000_000 / 48_000);
        track
            .write_sample(Bytes::from(p.data), d)
            .await
            .map_err(|e| e.to_string())?;
        at += d;
        sent += 1;
    }
    Ok(sent)
}
