//! `tern ping --video FILE --audio FILE`: offers audio and video to an
//! endpoint with the `tern echo` contract, sends the files' frames in real
//! time and reads back what comes. Against a reflecting echo every returned
//! frame must match one sent, byte for byte; `--reencoded` accepts an echo
//! that decodes and re-encodes (a browser, aiortc) and counts frames
//! instead. Exits 0 only if at least 99% of the frames came back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tern::{MediaKind, PeerConnection, PeerConnectionEvent, RemoteTrack, RtcConfiguration};

use crate::signal;

/// What the media ping was asked to do.
pub struct MediaArgs {
    pub url: hyper::Uri,
    pub video: Option<std::path::PathBuf>,
    pub audio: Option<std::path::PathBuf>,
    pub duration: Option<f64>,
    pub reencoded: bool,
    pub json: bool,
    pub timeout: Duration,
    pub bind: Option<Vec<IpAddr>>,
}

#[derive(Serialize, Default)]
struct Report {
    ok: bool,
    video_frames_sent: u64,
    video_frames_received: u64,
    video_frames_intact: u64,
    video_keyframes_received: u64,
    audio_packets_sent: u64,
    audio_packets_received: u64,
    nack_sent: u64,
    nack_received: u64,
    retransmitted: u64,
    pli_sent: u64,
    pli_received: u64,
    /// Gaps between returned video frames over three frame intervals.
    freezes: u64,
    jitter_ms: f64,
    setup_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The frames of an IVF file (VP8, VP9, AV1) with their durations.
fn read_ivf(
    path: &std::path::Path,
    limit: Option<f64>,
) -> Result<(Vec<Vec<u8>>, Duration), String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r = tern_media::IvfReader::new(std::io::BufReader::new(f))
        .map_err(|e| format!("{}: not an IVF file ({e})", path.display()))?;
    let h = *r.header();
    // A pts tick lasts scale/rate seconds; one tick per frame is the norm.
    let frame = if h.timebase_rate > 0 && h.timebase_scale > 0 {
        Duration::from_secs_f64(f64::from(h.timebase_scale) / f64::from(h.timebase_rate))
    } else {
        Duration::from_millis(33)
    };
    // IVF time bases are often 1/fps; a 1/90000-style base gives 1 tick:
    // take 30 fps then.
    let frame = if frame < Duration::from_millis(5) {
        Duration::from_millis(33)
    } else {
        frame
    };
    let mut frames = Vec::new();
    while let Some(f) = r
        .next_frame()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        frames.push(f.data);
        if limit.is_some_and(|s| frames.len() as f64 * frame.as_secs_f64() >= s) {
            break;
        }
    }
    Ok((frames, frame))
}

/// The packets of an Ogg Opus file with their durations.
fn read_opus(
    path: &std::path::Path,
    limit: Option<f64>,
) -> Result<Vec<(Vec<u8>, Duration)>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r = tern_media::OggOpusReader::new(std::io::BufReader::new(f))
        .map_err(|e| format!("{}: not an Ogg Opus file ({e})", path.display()))?;
    let mut out = Vec::new();
    let mut total = 0.0;
    while let Some(p) = r
        .next_packet()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        let d = Duration::from_micros(u64::from(p.duration) * 1_000_000 / 48_000);
        total += d.as_secs_f64();
        out.push((p.data, d));
        if limit.is_some_and(|s| total >= s) {
            break;
        }
    }
    Ok(out)
}

/// Reads a returned video track until `n` frames or silence.
async fn collect_video(
    mut t: RemoteTrack,
    sent: HashMap<Vec<u8>, u64>,
    n: u64,
    interval: Duration,
    wait: Duration,
) -> (u64, u64, u64, u64) {
    let (mut received, mut intact, mut keys, mut freezes) = (0, 0, 0, 0);
    let mut sent = sent;
    let mut last: Option<Instant> = None;
    while received < n {
        let Ok(Some(f)) = tokio::time::timeout(wait, t.read_frame()).await else {
            break;
        };
        let now = Instant::now();
        if last.is_some_and(|l| now - l > interval * 3) {
            freezes += 1;
        }
        last = Some(now);
        received += 1;
        keys += u64::from(f.keyframe);
        if let Some(c) = sent.get_mut(f.data.as_ref()) {
            if *c > 0 {
                *c -= 1;
                intact += 1;
            }
        }
    }
    (received, intact, keys, freezes)
}

async fn collect_audio(mut t: RemoteTrack, n: u64, wait: Duration) -> u64 {
    let mut got = 0;
    while got < n {
        let Ok(Some(_)) = tokio::time::timeout(wait, t.read_frame()).await else {
            break;
        };
        got += 1;
    }
    got
}

pub async fn run(a: MediaArgs) -> Result<ExitCode, String> {
    if a.video.is_none() && a.audio.is_none() {
        return Err("give --video FILE.ivf and/or --audio FILE.ogg".into());
    }
    let video = a
        .video
        .as_deref()
        .map(|p| read_ivf(p, a.duration))
        .transpose()?;
    let audio = a
        .audio
        .as_deref()
        .map(|p| read_opus(p, a.duration))
        .transpose()?;
    let mut pc = PeerConnection::new(RtcConfiguration {
        bind_addresses: a.bind.clone(),
        ..RtcConfiguration::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut vtrack = match &video {
        Some(_) => Some(
            pc.add_track(MediaKind::Video, &["ping"])
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let mut atrack = match &audio {
        Some(_) => Some(
            pc.add_track(MediaKind::Audio, &["ping"])
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let offer = async {
        pc.set_local_description(pc.create_offer().await?).await?;
        pc.gathering_complete().await?;
        pc.local_description().await
    };
    let offer = tokio::time::timeout(a.timeout, offer)
        .await
        .map_err(|_| "timed out making the offer".to_string())?
        .map_err(|e| e.to_string())?
        .ok_or("no local description")?;
    let answer = signal::exchange(&a.url, &offer, a.timeout).await?;
    pc.set_remote_description(answer)
        .await
        .map_err(|e| format!("the echo's answer: {e}"))?;
    let (mut vback, mut aback) = (None, None);
    let want = usize::from(video.is_some()) + usize::from(audio.is_some());
    let deadline = tokio::time::Instant::now() + a.timeout;
    while usize::from(vback.is_some()) + usize::from(aback.is_some()) < want {
        match tokio::time::timeout_at(deadline, pc.next_event()).await {
            Ok(Some(PeerConnectionEvent::Track(t))) if t.kind() == MediaKind::Video => {
                vback = Some(t)
            }
            Ok(Some(PeerConnectionEvent::Track(t))) => aback = Some(t),
            Ok(Some(_)) => {}
            _ => return Err("the echo sent no tracks back (does it reflect media?)".into()),
        }
    }
    tokio::time::timeout(a.timeout, pc.connected())
        .await
        .map_err(|_| "timed out connecting".to_string())?
        .map_err(|_| "the connection failed".to_string())?;
    let setup_ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut report = Report {
        setup_ms,
        ..Report::default()
    };
    let wait = Duration::from_secs(3);
    let mut tasks = Vec::new();
    let mut vresult = None;
    if let (Some((frames, interval)), Some(mut t), Some(back)) = (video, vtrack.take(), vback) {
        report.video_frames_sent = frames.len() as u64;
        let mut sent: HashMap<Vec<u8>, u64> = HashMap::new();
        for f in &frames {
            *sent.entry(f.clone()).or_default() += 1;
        }
        let n = frames.len() as u64;
        vresult = Some(tokio::spawn(collect_video(back, sent, n, interval, wait)));
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            for f in frames {
                tick.tick().await;
                if let Err(e) = t.write_sample(Bytes::from(f), interval).await {
                    return Err(format!("sending video: {e}"));
                }
            }
            Ok(())
        }));
    }
    let mut aresult = None;
    if let (Some(packets), Some(mut t), Some(back)) = (audio, atrack.take(), aback) {
        report.audio_packets_sent = packets.len() as u64;
        aresult = Some(tokio::spawn(collect_audio(
            back,
            packets.len() as u64,
            wait,
        )));
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for (p, d) in packets {
                tick.tick().await;
                if let Err(e) = t.write_sample(Bytes::from(p), d).await {
                    return Err(format!("sending audio: {e}"));
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            report.error = Some(e);
        }
    }
    if let Some(v) = vresult {
        let (r, i, k, f) = v.await.unwrap_or_default();
        report.video_frames_received = r;
        report.video_frames_intact = i;
        report.video_keyframes_received = k;
        report.freezes = f;
    }
    if let Some(au) = aresult {
        report.audio_packets_received = au.await.unwrap_or_default();
    }
    if let Ok(st) = pc.stats().await {
        for o in &st.outbound_rtp {
            report.nack_received += o.counters.nack_count;
            report.retransmitted += o.counters.retransmitted_packets_sent;
            report.pli_received += o.counters.pli_count + o.counters.fir_count;
        }
        for i in &st.inbound_rtp {
            report.nack_sent += i.counters.nack_count;
            report.pli_sent += i.counters.pli_count;
            if i.kind == MediaKind::Video {
                report.jitter_ms = (i.jitter * 1e6).round() / 1e3;
            }
        }
    }
    pc.close().await;
    let video_back = if a.reencoded {
        report.video_frames_received
    } else {
        report.video_frames_intact
    };
    let enough = |got: u64, sent: u64| got * 100 >= sent * 99;
    report.ok = report.error.is_none()
        && enough(video_back, report.video_frames_sent)
        && enough(report.audio_packets_received, report.audio_packets_sent);
    if a.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!(
            "video: {} frames sent, {} back ({} intact, {} keyframes), {} freezes; audio: {} packets sent, {} back; NACK {} sent / {} received, {} retransmitted, PLI {} sent / {} received; jitter {} ms; setup {:.1} ms",
            report.video_frames_sent,
            report.video_frames_received,
            report.video_frames_intact,
            report.video_keyframes_received,
            report.freezes,
            report.audio_packets_sent,
            report.audio_packets_received,
            report.nack_sent,
            report.nack_received,
            report.retransmitted,
            report.pli_sent,
            report.pli_received,
            report.jitter_ms,
            report.setup_ms
        );
    }
    if report.ok {
        Ok(ExitCode::SUCCESS)
    } else {
        if !a.json {
            eprintln!(
                "tern ping: fewer than 99% of the frames came back{}",
                report
                    .error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
        }
        Ok(ExitCode::FAILURE)
    }
}
