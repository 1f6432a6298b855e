//! Chromium (libwebrtc) ↔ tern media on loopback, both directions.
//!
//! - Chromium sends its fake camera (VP8, VP9, H.264 or AV1, chosen with
//!   `setCodecPreferences`) and microphone (Opus); tern answers, reads
//!   whole frames with `RemoteTrack::read_frame`, asks for a keyframe two
//!   seconds in, records them (IVF, Annex B, Ogg Opus) and ffprobe decodes
//!   every one; tern's count is checked against Chromium's `framesSent`.
//! - tern sends clips ffmpeg made (VP8, VP9, H.264, AV1; Opus, G.722, PCMU,
//!   PCMA) in real time with `LocalTrack::write_sample`; Chromium's
//!   `getStats()` says how many frames it decoded and how much audio it
//!   had to conceal.
//! - Both directions again through 10% random loss of RTP/RTCP (nftables
//!   in the test's own network namespace): NACK and RTX repair it.
//!
//! The tests run one at a time (two Chromiums and an encoder on two cores
//! would starve the real-time senders) and each takes about 10 s.
#![allow(clippy::disallowed_methods)] // real processes, real time

use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tern::{
    Bytes, MediaConfig, MediaKind, PeerConnection, PeerConnectionEvent, RemoteTrack,
    RtcConfiguration, RtcSessionDescription,
};
use tern_interop::browser::{start_chromium, start_chromium_with, Harness};
use tern_interop::require_binary;
use tern_media::{
    split_nal_units, AnnexBReader, AnnexBWriter, FourCc, IvfHeader, IvfReader, IvfWriter,
    OggOpusReader, OggOpusWriter, OpusHead, OpusTags, VideoCodec,
};

/// A temporary directory removed on drop (media is made per test, never committed).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("tern-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    fn join(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One test at a time: two Chromiums and an encoder on two cores would
/// starve the real-time senders and make the counts meaningless.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Random loss, with nftables, of the RTP and RTCP datagrams (first byte
/// `0b10xxxxxx`: no STUN or DTLS) that `selector` matches (`udp sport N`);
/// only inside a loopback-only network namespace, removed on drop. On the
/// input hook: a drop on output fails the sender's `sendmsg` with EPERM,
/// and Chromium sends such a datagram again (nothing is lost).
struct Loss {
    table: String,
}

impl Loss {
    fn new(selector: &str, percent: u32) -> Loss {
        let dev = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
        let ifaces: Vec<&str> = dev
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(
            ifaces,
            ["lo"],
            "loss is only added in a loopback-only network namespace (run the test as scripts/test does)"
        );
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let table = format!(
            "tern_loss_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let loss = Loss { table };
        loss.nft(&["add", "table", "inet", &loss.table]);
        loss.nft(&[
            "add",
            "chain",
            "inet",
            &loss.table,
            "c",
            "{ type filter hook input priority 0; }",
        ]);
        let rule = format!("{selector} @th,64,2 2 numgen random mod 100 < {percent} counter drop");
        let mut args = vec!["add", "rule", "inet", &loss.table, "c"];
        args.extend(rule.split(' '));
        loss.nft(&args);
        loss
    }

    fn nft(&self, args: &[&str]) -> String {
        let out = Command::new(require_binary("nft", "nftables"))
            .args(args)
            .output()
            .expect("nft runs");
        assert!(
            out.status.success(),
            "nft {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Datagrams dropped so far.
    fn dropped(&self) -> u64 {
        let list = self.nft(&["list", "table", "inet", &self.table]);
        list.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Loss {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .status();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn config(media: MediaConfig) -> RtcConfiguration {
    RtcConfiguration {
        bind_addresses: Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        media,
        ..RtcConfiguration::default()
    }
}

fn ffmpeg(args: &[&str]) {
    let ffmpeg = require_binary("ffmpeg", "ffmpeg");
    let t0 = std::time::Instant::now();
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("ffmpeg {:?}: {:?}", args.last().unwrap(), t0.elapsed());
}

/// ffprobe decodes every frame of `stream` (`v:0`, `a:0`): the codec, how
/// many frames it read, and what it complained about.
fn ffprobe_count(path: &Path, stream: &str) -> (String, u64, String) {
    let ffprobe = require_binary("ffprobe", "ffmpeg");
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-count_frames", "-select_streams", stream])
        .args(["-show_entries", "stream=codec_name,nb_read_frames"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().next().unwrap_or_default();
    let (codec, n) = line.split_once(',').unwrap_or((line, ""));
    (
        codec.to_string(),
        n.trim().parse().unwrap_or(0),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Width and height from a VP8 keyframe's header (RFC 6386 §9.1).
fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

fn stat(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

#[derive(Default)]
struct Received {
    frames: Vec<(u32, Bytes, bool)>,
    lost_frames: u64,
}

/// Reads `track`'s frames until `stop` fires, then until it has been quiet
/// for half a second (frames still in flight).
async fn read_until(
    mut track: RemoteTrack,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Received {
    let mut got = Received::default();
    loop {
        let stopping = *stop.borrow();
        let frame = if stopping {
            match tokio::time::timeout(Duration::from_millis(500), track.read_frame()).await {
                Ok(f) => f,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                f = track.read_frame() => f,
                _ = stop.changed() => continue,
            }
        };
        let Some(f) = frame else { break };
        got.frames.push((f.timestamp, f.data, f.keyframe));
    }
    got.lost_frames = track.lost_frames();
    got
}

/// Chromium offers its camera (in `codec` only) and microphone; tern
/// answers, records what it reads and ffprobe decodes the recordings.
fn chromium_sends(codec: &str, loss_percent: u32) {
    let _serial = serial();
    let dir = TempDir::new(&format!("chromium-sends-{codec}"));
    let harness = Harness::start();
    let chromium = start_chromium(&format!(
        "{}/media_offerer.html?secs=5&codec={codec}",
        harness.url
    ));
    let (id, offer) = harness
        .take_offer(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no offer from the page:\n{}", chromium.output()));
    let rt = runtime();
    let (pc, answer) = rt.block_on(async {
        let pc = PeerConnection::new(config(MediaConfig::default()))
            .await
            .unwrap();
        pc.set_remote_description(RtcSessionDescription::offer(offer))
            .await
            .unwrap();
        pc.set_local_description(pc.create_answer().await.unwrap())
            .await
            .unwrap();
        pc.gathering_complete().await.unwrap();
        let answer = pc.local_description().await.unwrap().unwrap().sdp;
        (pc, answer)
    });
    let port = pc.local_addresses()[0].port();
    assert!(harness.answer(id, &answer), "the page waits for the answer");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut pc = pc;
    let readers = rt.block_on(async {
        let mut readers = Vec::new();
        while readers.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(10), pc.next_event()).await {
                Ok(Some(PeerConnectionEvent::Track(t))) => {
                    let kind = t.kind();
                    if kind == MediaKind::Video {
                        // Two seconds in, a PLI: Chromium's encoder makes
                        // no keyframes of its own after the first.
                        let pli = t.request_keyframe();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            pli.await
                        });
                    }
                    readers.push((kind, tokio::spawn(read_until(t, stop_rx.clone()))));
                }
                Ok(Some(_)) => {}
                other => panic!("no track event: {other:?}"),
            }
        }
        tokio::time::timeout(Duration::from_secs(10), pc.connected())
            .await
            .expect("connected in time")
            .unwrap();
        // Loss starts once the streams run: a receiver cannot NACK packets
        // before the first it has heard of (the stream's first frame
        // would be given up, which is not what this test measures).
        tokio::time::sleep(Duration::from_millis(300)).await;
        readers
    });
    let loss = (loss_percent > 0).then(|| Loss::new(&format!("udp dport {port}"), loss_percent));
    // The page sends for 5 s after connecting, then reports and stops.
    let result = harness
        .wait_result(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no result from the page:\n{}", chromium.output()));
    stop_tx.send(true).unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let mut video = None;
    let mut audio = None;
    for (kind, h) in readers {
        let r = rt.block_on(h).unwrap();
        match kind {
            MediaKind::Video => video = Some(r),
            _ => audio = Some(r),
        }
    }
    let (video, audio) = (
        video.expect("a video track"),
        audio.expect("an audio track"),
    );
    let stats = rt.block_on(pc.stats()).unwrap();
    let out = |kind: &str| {
        result["outbound"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} outbound-rtp: {result}"))
    };
    let (vout, aout) = (out("video"), out("audio"));
    for (i, p) in result["series"].as_array().unwrap().iter().enumerate() {
        println!("Chromium after {} s: {p}", i + 1);
    }

    // Video: every frame tern assembled is recorded and decodes.
    let keyframes = video.frames.iter().filter(|f| f.2).count();
    let first = video.frames.first().expect("video frames");
    assert!(first.2, "the first frame is a keyframe");
    let (w, h) = (
        stat(&vout, "frameWidth") as u16,
        stat(&vout, "frameHeight") as u16,
    );
    if codec == "VP8" {
        assert_eq!(vp8_size(&first.1), Some((w, h)), "VP8 keyframe header");
    }
    let file = dir.join("chromium.video");
    if codec == "H264" {
        // The frames are Annex B access units: the file is their concatenation.
        let mut wr = AnnexBWriter::new(BufWriter::new(File::create(&file).unwrap()));
        for (_, data, _) in &video.frames {
            for nal in split_nal_units(data) {
                wr.write_nal(nal).unwrap();
            }
        }
        wr.finish().unwrap();
    } else {
        let fourcc = match codec {
            "VP8" => FourCc::VP8,
            "VP9" => FourCc::VP9,
            _ => FourCc::AV1,
        };
        let mut wr = IvfWriter::new(
            BufWriter::new(File::create(&file).unwrap()),
            IvfHeader {
                fourcc,
                width: w,
                height: h,
                timebase_rate: 90_000,
                timebase_scale: 1,
                frame_count: video.frames.len() as u32,
            },
        )
        .unwrap();
        for (ts, data, _) in &video.frames {
            wr.write_frame(u64::from(ts.wrapping_sub(first.0)), data)
                .unwrap();
        }
        wr.finish().unwrap();
    }
    let last = video.frames.last().unwrap();
    let secs = f64::from(last.0.wrapping_sub(first.0)) / 90_000.0;
    let (probed, decoded, errors) = ffprobe_count(&file, "v:0");
    let sent = stat(&vout, "framesSent");
    println!(
        "{codec}: Chromium sent {sent} frames ({} encoded, {} PLIs, limited by {}), tern read {} ({keyframes} keyframes, {} lost, {w}x{h}, {secs:.2} s: {:.1} fps), ffprobe decoded {decoded} ({probed})",
        vout["framesEncoded"],
        vout["pliCount"],
        vout["qualityLimitationReason"],
        video.frames.len(),
        video.lost_frames,
        video.frames.len() as f64 / secs,
    );
    assert_eq!(probed, codec.to_lowercase());
    assert!(errors.trim().is_empty(), "ffprobe: {errors}");
    assert_eq!(
        decoded,
        video.frames.len() as u64,
        "ffprobe decodes every frame"
    );
    assert!(video.frames.len() > 50);
    assert!(
        stat(&vout, "pliCount") >= 1.0 && keyframes >= 2,
        "tern's PLI reached Chromium and brought a keyframe: {keyframes} keyframes, {vout}"
    );
    assert_eq!(
        video.lost_frames, 0,
        "no frame given up on loopback (NACK and RTX repair the loss)"
    );
    // Every frame Chromium sent (it counted after it stopped sending).
    let n = video.frames.len() as f64;
    assert!(
        n >= sent * 0.98 && n <= sent,
        "tern read {n} of {sent} frames"
    );

    // Audio: the Opus packets recorded in Ogg decode too.
    let ogg = dir.join("chromium.opus");
    let mut ow = OggOpusWriter::new(
        BufWriter::new(File::create(&ogg).unwrap()),
        &OpusHead::new(2, 312),
        &OpusTags::default(),
        1,
    )
    .unwrap();
    for (_, data, _) in &audio.frames {
        ow.write_packet(data).unwrap();
    }
    ow.finish().unwrap();
    let (acodec, adecoded, aerrors) = ffprobe_count(&ogg, "a:0");
    let apackets = stat(&aout, "packetsSent");
    println!(
        "audio: Chromium sent {apackets} packets, tern read {} ({} lost), ffprobe decoded {adecoded} ({acodec})",
        audio.frames.len(),
        audio.lost_frames
    );
    assert_eq!(acodec, "opus");
    assert!(aerrors.trim().is_empty(), "ffprobe: {aerrors}");
    assert_eq!(adecoded, audio.frames.len() as u64);
    let a = audio.frames.len() as f64;
    // Audio is not retransmitted: what is dropped stays lost.
    let kept = 0.98 - 2.0 * f64::from(loss_percent) / 100.0;
    assert!(
        a >= apackets * kept && a <= apackets,
        "tern read {a} of {apackets} packets"
    );
    let inbound: Vec<_> = stats
        .inbound_rtp
        .iter()
        .map(|s| (s.kind, s.packets_lost, s.nack, s.counters))
        .collect();
    println!(
        "tern inbound: {inbound:?}\ntern media counters: {:?}",
        stats.media
    );
    if let Some(loss) = loss {
        let dropped = loss.dropped();
        let nack = stats
            .inbound_rtp
            .iter()
            .find(|s| s.kind == MediaKind::Video)
            .and_then(|s| s.nack)
            .expect("video NACK stats");
        println!(
            "{loss_percent}% loss: {dropped} datagrams to tern dropped; tern sent {} NACKs, {} packets recovered, Chromium retransmitted {}",
            nack.nacks_sent, nack.packets_recovered, vout["retransmittedPacketsSent"]
        );
        assert!(dropped > 0, "the loss rule matched");
        assert!(
            nack.nacks_sent > 0 && nack.packets_recovered > 0,
            "{nack:?}"
        );
        assert!(stat(&vout, "retransmittedPacketsSent") > 0.0, "{vout}");
    }
}

#[test]
fn chromium_sends_vp8_and_opus_tern_records_them() {
    chromium_sends("VP8", 0);
}

#[test]
fn chromium_sends_vp8_through_10_percent_loss_tern_repairs_it() {
    chromium_sends("VP8", 10);
}

#[test]
fn chromium_sends_vp9_tern_records_it() {
    chromium_sends("VP9", 0);
}

#[test]
fn chromium_sends_h264_tern_records_it() {
    chromium_sends("H264", 0);
}

#[test]
fn chromium_sends_av1_tern_records_it() {
    chromium_sends("AV1", 0);
}

/// Encoded samples with their durations.
type Samples = Vec<(Bytes, Duration)>;

/// A clip to send.
struct Clip {
    kind: MediaKind,
    samples: Samples,
}

/// Five seconds of ffmpeg's test pattern at 30 fps in `codec`, a keyframe
/// every 30 frames; made once per process (three tests send the VP8 one).
fn video_clip(codec: &str) -> Clip {
    static CLIPS: std::sync::Mutex<Vec<(String, Samples)>> = std::sync::Mutex::new(Vec::new());
    let mut clips = CLIPS.lock().unwrap_or_else(|e| e.into_inner());
    let samples = match clips.iter().find(|(c, _)| c == codec) {
        Some((_, s)) => s.clone(),
        None => {
            let dir = TempDir::new(&format!("clip-{codec}"));
            let s = make_video_clip(&dir, codec);
            clips.push((codec.to_string(), s.clone()));
            s
        }
    };
    Clip {
        kind: MediaKind::Video,
        samples,
    }
}

fn make_video_clip(dir: &TempDir, codec: &str) -> Samples {
    let src = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-t",
        "5",
    ];
    let frame = Duration::from_nanos(1_000_000_000 / 30);
    let samples = if codec == "H264" {
        let path = dir.join("clip.h264");
        let p = path.to_str().unwrap();
        ffmpeg(
            &[
                &src[..],
                &[
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-tune",
                    "zerolatency",
                ],
            ]
            .concat()
            .into_iter()
            .chain([
                "-profile:v",
                "baseline",
                "-g",
                "30",
                "-bsf:v",
                "h264_mp4toannexb",
                "-f",
                "h264",
                p,
            ])
            .collect::<Vec<_>>(),
        );
        AnnexBReader::new(File::open(&path).unwrap(), VideoCodec::H264)
            .map(|au| (Bytes::from(au.unwrap().to_annex_b()), frame))
            .collect()
    } else {
        let path = dir.join("clip.ivf");
        let p = path.to_str().unwrap();
        let enc: &[&str] = match codec {
            "VP8" => &["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
            "VP9" => &[
                "-c:v",
                "libvpx-vp9",
                "-row-mt",
                "1",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
            // Low delay: SVT's default structure reorders frames.
            "AV1" => &[
                "-c:v",
                "libsvtav1",
                "-preset",
                "12",
                "-svtav1-params",
                "pred-struct=1",
            ],
            other => panic!("no clip for {other}"),
        };
        let args: Vec<&str> = src
            .iter()
            .chain(enc)
            .chain(&["-b:v", "1M", "-g", "30", p])
            .copied()
            .collect();
        ffmpeg(&args);
        let r = IvfReader::new(File::open(&path).unwrap()).unwrap();
        let h = *r.header();
        let frame = Duration::from_nanos(
            1_000_000_000 * u64::from(h.timebase_scale) / u64::from(h.timebase_rate.max(1)),
        );
        r.map(|f| (Bytes::from(f.unwrap().data), frame)).collect()
    };
    samples
}

/// Five seconds of a 440 Hz tone in `codec`: Opus packets from Ogg, or
/// 20 ms chunks of G.711 (8 kHz) or G.722 (16 kHz at 64 kbit/s: also 160
/// bytes, on its 8 kHz RTP clock).
fn audio_clip(dir: &TempDir, codec: &str) -> Clip {
    let tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=5"];
    let path = dir.join("clip.audio");
    let p = path.to_str().unwrap();
    let twenty_ms = Duration::from_millis(20);
    let raw = |enc: &[&str]| {
        ffmpeg(&[&tone[..], enc, &["-ac", "1", p]].concat());
        std::fs::read(&path)
            .unwrap()
            .chunks(160)
            .map(|c| (Bytes::copy_from_slice(c), twenty_ms))
            .collect::<Vec<_>>()
    };
    let samples = match codec {
        "PCMU" => raw(&["-ar", "8000", "-f", "mulaw"]),
        "PCMA" => raw(&["-ar", "8000", "-f", "alaw"]),
        "G722" => raw(&["-ar", "16000", "-c:a", "g722", "-f", "g722"]),
        "opus" => {
            ffmpeg(
                &[
                    &tone[..],
                    &[
                        "-c:a", "libopus", "-b:a", "48k", "-ar", "48000", "-f", "ogg", p,
                    ],
                ]
                .concat(),
            );
            let mut r = OggOpusReader::new(File::open(&path).unwrap()).unwrap();
            let mut samples = Vec::new();
            while let Some(p) = r.next_packet().unwrap() {
                let d = Duration::from_nanos(u64::from(p.duration) * 1_000_000_000 / 48_000);
                samples.push((Bytes::from(p.data), d));
            }
            samples
        }
        other => panic!("no clip for {other}"),
    };
    Clip {
        kind: MediaKind::Audio,
        samples,
    }
}

/// tern offers `clips` to the answering page, sends them in real time and
/// returns what the page reported, with what tern counted per clip.
fn tern_sends(media: MediaConfig, clips: Vec<Clip>, loss_percent: u32) -> Sent {
    let _serial = serial();
    let t0 = std::time::Instant::now();
    let harness = Harness::start();
    let chromium = start_chromium_with(
        &format!("{}/media_answerer.html", harness.url),
        &["--autoplay-policy=no-user-gesture-required"],
    );
    let rt = runtime();
    let (pc, loss, tracks) = rt.block_on(async {
        let pc = PeerConnection::new(config(media)).await.unwrap();
        let port = pc.local_addresses()[0].port();
        let loss =
            (loss_percent > 0).then(|| Loss::new(&format!("udp sport {port}"), loss_percent));
        let mut tracks = Vec::new();
        for c in &clips {
            tracks.push(pc.add_track(c.kind, &["tern"]).await.unwrap());
        }
        pc.set_local_description(pc.create_offer().await.unwrap())
            .await
            .unwrap();
        pc.gathering_complete().await.unwrap();
        let offer = pc.local_description().await.unwrap().unwrap().sdp;
        println!("{:?}: offer made", t0.elapsed());
        let answer = harness
            .relay_offer(&offer, Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("no answer from the page:\n{}", chromium.output()));
        let sdp = answer["sdp"]
            .as_str()
            .unwrap_or_else(|| panic!("the page failed: {answer}"));
        pc.set_remote_description(RtcSessionDescription::answer(sdp))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), pc.connected())
            .await
            .expect("connected in time")
            .unwrap();
        println!("{:?}: connected", t0.elapsed());
        let mut senders = Vec::new();
        for (mut track, clip) in tracks.into_iter().zip(clips) {
            senders.push(tokio::spawn(async move {
                let step = clip.samples[0].1;
                let mut tick = tokio::time::interval(step);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                for (data, d) in clip.samples {
                    tick.tick().await;
                    track.write_sample(data, d).await.unwrap();
                }
                track
            }));
        }
        let mut tracks = Vec::new();
        for s in senders {
            tracks.push(s.await.unwrap());
        }
        println!("{:?}: sent", t0.elapsed());
        (pc, loss, tracks)
    });
    let result = harness
        .wait_result(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no result from the page:\n{}", chromium.output()));
    println!("{:?}: the page reported", t0.elapsed());
    assert_eq!(result["ok"], true, "the page received media: {result}");
    for e in harness.events() {
        println!("page event: {e}");
    }
    let stats = rt.block_on(pc.stats()).unwrap();
    if let Some(loss) = loss {
        println!(
            "{loss_percent}% loss: {} datagrams from tern dropped",
            loss.dropped()
        );
    }
    let keyframe_requests = tracks
        .iter()
        .filter(|t| t.kind() == MediaKind::Video)
        .map(|t| t.keyframe_requests())
        .sum();
    drop(pc);
    Sent {
        result,
        stats,
        keyframe_requests,
    }
}

/// What [`tern_sends`] found out.
struct Sent {
    /// The page's report.
    result: Value,
    /// tern's stats once the page reported.
    stats: tern::PeerStats,
    /// Keyframe requests the video track saw.
    keyframe_requests: u64,
}

/// Chromium decoded at least 95% of the `decodable` frames (those from the
/// first keyframe on) of the `sent`.
fn check_video(sent_: &Sent, mime: &str, sent: usize, decodable: usize, lossy: bool) {
    let (result, stats) = (&sent_.result, &sent_.stats);
    let v = &result["final"]["video"];
    let decoded = stat(v, "framesDecoded");
    let out = stats
        .outbound_rtp
        .iter()
        .find(|o| o.kind == MediaKind::Video)
        .expect("video outbound-rtp");
    println!(
        "{mime}: tern sent {sent} frames ({} by its count, {} packets, {} retransmitted, {} PLI, {} NACK, {} NACKed not resent, {} keyframe requests seen by the track, RTT {:?}), Chromium decoded {decoded} ({} keyframes, {} lost, {} NACKs, {} retransmissions received, {} freezes, {} dropped, {}x{})",
        out.counters.frames_sent,
        out.counters.packets_sent,
        out.counters.retransmitted_packets_sent,
        out.counters.pli_count,
        out.counters.nack_count,
        out.counters.nack_unanswered,
        sent_.keyframe_requests,
        out.remote_inbound.round_trip_time,
        v["keyFramesDecoded"],
        v["packetsLost"],
        v["nackCount"],
        v["retransmittedPacketsReceived"],
        v["freezeCount"],
        v["framesDropped"],
        v["frameWidth"],
        v["frameHeight"],
    );
    assert_eq!(v["mimeType"], mime, "{v}");
    assert_eq!(out.counters.frames_sent, sent as u64);
    assert!(stat(v, "keyFramesDecoded") >= 1.0, "{v}");
    let mut decodable = decodable as f64;
    if lossy {
        assert!(
            stat(v, "nackCount") > 0.0,
            "Chromium asked for the lost packets: {v}"
        );
        assert!(
            out.counters.nack_count > 0
                && out.counters.retransmitted_packets_sent > 0
                && out.counters.nack_unanswered == 0,
            "tern resent every packet asked for: {:?}",
            out.counters
        );
        assert!(
            stat(v, "retransmittedPacketsReceived") >= 0.8 * stat(v, "packetsLost"),
            "most losses repaired: {v}"
        );
        // On loopback nftables sees tern's GSO sends unsplit, so a drop
        // takes a batch of equal-sized packets (most of a frame) at once.
        // Now and then (1 run in 4) Chromium then gives up on a whole
        // keyframe although every lost packet was resent and arrived, and
        // asks for another, which a sender reading a file can only give at
        // the next group of pictures: each keyframe of the clip not
        // decoded may take its group's 30 frames with it, no more.
        let keyframes = sent.div_ceil(30) as f64;
        decodable -= 30.0 * (keyframes - stat(v, "keyFramesDecoded")).max(0.0);
    }
    assert!(
        decoded >= decodable * 0.95 && decoded <= sent as f64,
        "Chromium decoded {decoded} of {sent} frames ({decodable} decodable): {v}"
    );
}

fn check_audio(sent_: &Sent, mime: &str, sent: usize) {
    let result = &sent_.result;
    let a = &result["atStop"]["audio"];
    let total = stat(a, "totalSamplesReceived");
    let concealed = stat(a, "concealedSamples");
    println!(
        "{mime}: tern sent {sent} packets, Chromium received {} ({} lost), {total} samples ({} s, energy {}), {concealed} concealed ({:.2}%); at the end {} samples, {} concealed",
        a["packetsReceived"],
        a["packetsLost"],
        a["totalSamplesDuration"],
        a["totalAudioEnergy"],
        100.0 * concealed / total.max(1.0),
        result["final"]["audio"]["totalSamplesReceived"],
        result["final"]["audio"]["concealedSamples"],
    );
    assert_eq!(a["mimeType"], mime, "{a}");
    assert!(stat(a, "packetsReceived") >= sent as f64 * 0.99, "{a}");
    assert!(total > 0.0, "{a}");
    // A 440 Hz tone, not silence.
    assert!(stat(a, "totalAudioEnergy") > 0.0, "{a}");
    assert!(
        concealed / total < 0.02,
        "concealed {concealed} of {total}: {a}"
    );
}

fn decodable_from_first_keyframe(clip: &Clip) -> usize {
    // VP8 (RFC 6386 §9.1): bit 0 of the first byte is 0 on a keyframe.
    let first = clip
        .samples
        .iter()
        .position(|(d, _)| d[0] & 1 == 0)
        .expect("a keyframe");
    clip.samples.len() - first
}

#[test]
fn tern_sends_vp8_and_opus_chromium_decodes_them() {
    let dir = TempDir::new("tern-sends-vp8");
    let t0 = std::time::Instant::now();
    let video = video_clip("VP8");
    let audio = audio_clip(&dir, "opus");
    println!("{:?}: clips made", t0.elapsed());
    let (nv, na) = (video.samples.len(), audio.samples.len());
    let sent = tern_sends(MediaConfig::default(), vec![video, audio], 0);
    check_video(&sent, "video/VP8", nv, nv, false);
    check_audio(&sent, "audio/opus", na);
}

#[test]
fn tern_sends_vp8_through_10_percent_loss_chromium_repairs_it() {
    let video = video_clip("VP8");
    let n = video.samples.len();
    let sent = tern_sends(MediaConfig::default(), vec![video], 10);
    check_video(&sent, "video/VP8", n, n, true);
}

#[test]
fn tern_sends_vp8_from_mid_gop_chromium_asks_for_a_keyframe() {
    let mut video = video_clip("VP8");
    // Start ten frames into the first group of pictures: Chromium cannot
    // decode until the next keyframe (frame 30 of the clip) and asks.
    video.samples.drain(..10);
    let n = video.samples.len();
    let decodable = decodable_from_first_keyframe(&video);
    assert!(decodable < n);
    let sent = tern_sends(MediaConfig::default(), vec![video], 0);
    check_video(&sent, "video/VP8", n, decodable, false);
    let out = sent
        .stats
        .outbound_rtp
        .iter()
        .find(|o| o.kind == MediaKind::Video)
        .unwrap();
    let v = &sent.result["final"]["video"];
    assert!(
        out.counters.pli_count + out.counters.fir_count >= 1 && sent.keyframe_requests >= 1,
        "Chromium's keyframe request reached tern's track: {:?}, {v}",
        out.counters
    );
}

fn only_video_codec(name: &str) -> MediaConfig {
    let mut m = MediaConfig::default();
    m.video_codecs.retain(|c| c.name() == name);
    assert!(!m.video_codecs.is_empty());
    m
}

fn only_audio_codec(name: &str) -> MediaConfig {
    let mut m = MediaConfig::default();
    m.audio_codecs.retain(|c| c.name() == name);
    assert!(!m.audio_codecs.is_empty());
    m
}

fn tern_sends_video(codec: &str) {
    let video = video_clip(codec);
    let n = video.samples.len();
    let sent = tern_sends(only_video_codec(codec), vec![video], 0);
    check_video(&sent, &format!("video/{codec}"), n, n, false);
}

#[test]
fn tern_sends_h264_chromium_decodes_it() {
    tern_sends_video("H264");
}

#[test]
fn tern_sends_vp9_chromium_decodes_it() {
    tern_sends_video("VP9");
}

#[test]
fn tern_sends_av1_chromium_decodes_it() {
    tern_sends_video("AV1");
}

fn tern_sends_audio(codec: &str) {
    let dir = TempDir::new(&format!("tern-sends-{codec}"));
    let audio = audio_clip(&dir, codec);
    let n = audio.samples.len();
    let sent = tern_sends(only_audio_codec(codec), vec![audio], 0);
    check_audio(&sent, &format!("audio/{codec}"), n);
}

#[test]
fn tern_sends_g722_chromium_decodes_it() {
    tern_sends_audio("G722");
}

#[test]
fn tern_sends_pcmu_chromium_decodes_it() {
    tern_sends_audio("PCMU");
}

#[test]
fn tern_sends_pcma_chromium_decodes_it() {
    tern_sends_audio("PCMA");
}
