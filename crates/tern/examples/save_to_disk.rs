//! Writes a browser's camera and microphone to disk, in Pion's spirit (its
//! save-to-disk): the video as IVF (VP8, VP9 or AV1, whichever the browser
//! sends), the audio as Ogg Opus.
//!
//! ```sh
//! cargo run -p tern --example save_to_disk -- --out call --seconds 10
//! ```
//!
//! then open the printed address in a browser and allow the camera and
//! microphone. The page POSTs its offer to `/offer`; the example records
//! for `--seconds` after connecting (default 10, or until Ctrl-C), writes
//! `call.ivf` and `call.ogg`, prints what it saved and exits.
//!
//! Frames come from `RemoteTrack::read_frame` (jitter-buffered, in order);
//! the video starts at the first keyframe (one is asked for at once), IVF
//! timestamps are the RTP timestamps (90 kHz time base) and Ogg granules
//! count the Opus packets' samples.
#![allow(clippy::disallowed_methods)] // an example program: real time

mod http_signal;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Duration;

use http_signal::{Request, Response};
use tern::{MediaKind, PeerConnection, PeerConnectionEvent, RemoteTrack, RtcConfiguration};
use tern_media::{FourCc, IvfHeader, IvfWriter, OggOpusWriter, OpusHead, OpusTags};
use tokio::sync::{mpsc, oneshot};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>tern save_to_disk</title>
<video id="video" autoplay muted playsinline></video>
<pre id="log">asking for the camera and microphone…</pre>
<script type="module">
const media = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
video.srcObject = media;
const pc = new RTCPeerConnection();
for (const track of media.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
pc.onconnectionstatechange = () => { log.textContent = 'connection ' + pc.connectionState; };
await pc.setLocalDescription(await pc.createOffer());
await new Promise((done) => {
  if (pc.iceGatheringState === 'complete') return done();
  pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
  setTimeout(done, 2000);
});
const res = await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp});
if (!res.ok) throw new Error(await res.text());
await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
</script>
"#;

type Offer = (Vec<u8>, oneshot::Sender<Response>);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(http_signal::flag(&args, "--out").unwrap_or("call"));
    let seconds: u64 = match http_signal::flag(&args, "--seconds") {
        Some(s) => s.parse().map_err(|e| format!("--seconds: {e}"))?,
        None => 10,
    };
    let ivf = out.with_extension("ivf");
    let ogg = out.with_extension("ogg");
    // Fail now, not once a browser came, if the files cannot be made.
    let video_file = File::create(&ivf).map_err(|e| format!("{}: {e}", ivf.display()))?;
    let audio_file = File::create(&ogg).map_err(|e| format!("{}: {e}", ogg.display()))?;
    let http = http_signal::http_address(&args)?;
    let listener = http_signal::listen("save_to_disk", http).await?;

    let (offers, mut next_offer) = mpsc::channel::<Offer>(1);
    tokio::spawn(http_signal::serve(listener, move |req: Request| {
        let offers = offers.clone();
        async move {
            match (req.method.as_str(), req.path.as_str()) {
                ("GET", "/") => Response::html(PAGE),
                ("POST", "/offer") => {
                    let (tx, rx) = oneshot::channel();
                    if offers.try_send((req.body, tx)).is_err() {
                        return Response::error(503, "already recording a browser");
                    }
                    rx.await
                        .unwrap_or_else(|_| Response::error(500, "the example stopped"))
                }
                _ => Response::error(404, "not found"),
            }
        }
    }));

    let (offer, reply) = next_offer.recv().await.ok_or("no offer")?;
    let mut pc = PeerConnection::new(RtcConfiguration {
        bind_addresses: http_signal::bind_addresses(&http),
        ..RtcConfiguration::default()
    })
    .await?;
    match http_signal::answer(&pc, &offer).await {
        Ok(answer) => {
            let _ = reply.send(Response::text(answer));
        }
        Err(e) => {
            let _ = reply.send(Response::error(400, e.clone()));
            return Err(e.into());
        }
    }
    let mut writers = Vec::new();
    let (mut video_file, mut audio_file) = (Some(video_file), Some(audio_file));
    let record = async {
        // Tracks are announced by the offer; connection follows.
        loop {
            match pc.next_event().await {
                Some(PeerConnectionEvent::Track(t)) => match t.kind() {
                    MediaKind::Video => {
                        if let Some(f) = video_file.take() {
                            writers.push(tokio::spawn(save_video(t, f, ivf.clone())));
                        }
                    }
                    _ => {
                        if let Some(f) = audio_file.take() {
                            writers.push(tokio::spawn(save_audio(t, f, ogg.clone())));
                        }
                    }
                },
                Some(PeerConnectionEvent::ConnectionStateChange(s)) => {
                    eprintln!("save_to_disk: connection {s:?}");
                    if s == tern::PeerConnectionState::Connected {
                        tokio::time::sleep(Duration::from_secs(seconds)).await;
                        return;
                    }
                }
                Some(_) => {}
                None => return,
            }
        }
    };
    tokio::select! {
        _ = record => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // Closing ends the tracks: each writer finishes its file.
    pc.close().await;
    for w in writers {
        match w.await? {
            Ok(line) => println!("save_to_disk: saved {line}"),
            Err(e) => eprintln!("save_to_disk: {e}"),
        }
    }
    Ok(())
}

/// Writes the track's frames to an IVF file from its first keyframe on.
async fn save_video(mut t: RemoteTrack, f: File, path: PathBuf) -> Result<String, String> {
    let err = |e: tern_media::MediaError| format!("{}: {e}", path.display());
    let _ = t.request_keyframe().await;
    let codecs = t.codecs().await.map_err(|e| e.to_string())?;
    let mut file = Some(f);
    let mut w: Option<IvfWriter<BufWriter<File>>> = None;
    let (mut first_ts, mut skipped) = (0u32, 0u64);
    while let Some(frame) = t.read_frame().await {
        if w.is_none() {
            if !frame.keyframe {
                skipped += 1;
                continue;
            }
            let mime = codecs
                .iter()
                .find(|c| c.payload_type == frame.payload_type)
                .map(|c| c.mime_type.to_ascii_lowercase())
                .unwrap_or_default();
            let fourcc = match mime.as_str() {
                "video/vp8" => FourCc::VP8,
                "video/vp9" => FourCc::VP9,
                "video/av1" => FourCc::AV1,
                other => return Err(format!("IVF cannot hold {other}")),
            };
            let (width, height) = vp8_size(&frame.data).unwrap_or((0, 0));
            let header = IvfHeader {
                fourcc,
                width,
                height,
                timebase_rate: 90_000,
                timebase_scale: 1,
                frame_count: 0,
            };
            let f = file.take().ok_or("file already used")?;
            w = Some(IvfWriter::new(BufWriter::new(f), header).map_err(err)?);
            first_ts = frame.timestamp;
        }
        if let Some(w) = &mut w {
            // RTP's 90 kHz clock is the time base; it wraps after 13 hours.
            let pts = u64::from(frame.timestamp.wrapping_sub(first_ts));
            w.write_frame(pts, &frame.data).map_err(err)?;
        }
    }
    let w = w.ok_or_else(|| format!("{}: no keyframe came", path.display()))?;
    let n = w.frames_written();
    w.finish_seekable().map_err(err)?;
    Ok(format!(
        "{} ({n} video frames; {skipped} before the first keyframe skipped)",
        path.display()
    ))
}

/// Writes the track's Opus packets to an Ogg file.
async fn save_audio(mut t: RemoteTrack, f: File, path: PathBuf) -> Result<String, String> {
    let err = |e: tern_media::MediaError| format!("{}: {e}", path.display());
    let tags = OpusTags {
        vendor: "tern save_to_disk".into(),
        comments: Vec::new(),
    };
    // WebRTC signals Opus as two channels (RFC 7587 §7); RTP has no pre-skip.
    let mut w =
        OggOpusWriter::new(BufWriter::new(f), &OpusHead::new(2, 0), &tags, 1).map_err(err)?;
    let mut n = 0u64;
    while let Some(frame) = t.read_frame().await {
        w.write_packet(&frame.data).map_err(err)?;
        n += 1;
    }
    w.finish().map_err(err)?;
    Ok(format!("{} ({n} audio packets)", path.display()))
}

/// RFC 6386 §9.1: a VP8 keyframe's 14-bit width and height.
fn vp8_size(f: &[u8]) -> Option<(u16, u16)> {
    if f.len() < 10 || f[0] & 1 != 0 || f[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    Some((
        u16::from_le_bytes([f[6], f[7]]) & 0x3fff,
        u16::from_le_bytes([f[8], f[9]]) & 0x3fff,
    ))
}
