//! `tern echo --record DIR`: every call the echo answers is also written to
//! DIR, one WebM/Matroska file per call holding its first video track and
//! its first audio track, in sync.
//!
//! File names: `DIR/call-YYYYMMDDTHHMMSSZ-N.webm`, the UTC time the call's
//! first frame arrived and N counting the calls this echo has answered
//! (from 1); `.mkv` when the video is H.264 (Matroska's `V_MPEG4/ISO/AVC`
//! is outside WebM). A file is created only once a call has sent media,
//! and is complete (with its Duration) when the call ends or the echo is
//! stopped with Ctrl-C; until then it is a live stream that plays up to its
//! last written block.
//!
//! Reflection is untouched: the reflecting task hands each RTP packet to
//! the recorder through a bounded queue (a full queue drops the copy for
//! the file, never the packet sent back), and the recorder runs its own
//! jitter buffer per track. A frame the recorder lost makes it ask the
//! sender for a keyframe through the reflecting task.
//!
//! Sync: without the senders' RTCP reports in tern's API, each track's
//! timeline is its RTP clock anchored at the arrival of its first frame,
//! relative to the first frame of the call on any track. The error is the
//! difference in the two tracks' first-frame delays (milliseconds on a
//! healthy path).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tern::{Assembled, Frame, FrameAssembler, MediaKind, RtpCodecParameters, RtpPacketReceived};
use tern_media::{AudioTrack, OpusHead, VideoTrack, WebmVideoCodec, WebmWriter};
use tern_rtp::Codec;
use tokio::sync::{mpsc, watch, Notify};

/// RTP packets queued from a reflecting task to the recorder.
const TAP_QUEUE: usize = 1024;
/// Audio frames held while the video's first keyframe is awaited (20 s).
const MAX_HELD_AUDIO: usize = 1000;
/// How long Ctrl-C waits for the open recordings to be finished.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// Where and how calls are recorded; shared by every call of the echo.
pub struct Recorder {
    dir: PathBuf,
    calls: AtomicU64,
    active: Arc<Active>,
    stop: watch::Sender<bool>,
}

#[derive(Default)]
struct Active {
    count: AtomicUsize,
    idle: Notify,
}

/// What the reflecting task of one track gives the recorder.
pub enum Tapped {
    /// The track's negotiated codecs (sent first).
    Codecs(Vec<RtpCodecParameters>),
    /// A copy of a received packet.
    Packet(RtpPacketReceived),
}

/// One track's line to its call's recorder.
pub struct Tap {
    packets: mpsc::Sender<Tapped>,
    /// The recorder lost a frame and needs a keyframe from the sender.
    pub keyframe_wanted: mpsc::Receiver<()>,
    dropped: u64,
}

impl Tap {
    /// Hands `m` to the recorder without waiting (a full queue drops it).
    pub fn send(&mut self, m: Tapped) {
        if self.packets.try_send(m).is_err() {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped,
                    "recorder behind; packets not recorded"
                );
            }
        }
    }
}

impl Recorder {
    /// A recorder writing into `dir`, which must exist and be writable.
    pub fn new(dir: &Path) -> Result<Self, String> {
        let meta = std::fs::metadata(dir).map_err(|e| {
            format!(
                "--record {}: {e} (create the directory first)",
                dir.display()
            )
        })?;
        if !meta.is_dir() {
            return Err(format!("--record {}: not a directory", dir.display()));
        }
        let probe = dir.join(format!(".tern-echo-probe-{}", std::process::id()));
        File::create_new(&probe)
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|e| format!("--record {}: cannot write there: {e}", dir.display()))?;
        let (stop, _) = watch::channel(false);
        Ok(Self {
            dir: dir.to_path_buf(),
            calls: AtomicU64::new(0),
            active: Arc::new(Active::default()),
            stop,
        })
    }

    /// Starts recording a call whose offer sends `video` and/or `audio`;
    /// the taps go to the reflecting tasks of the first track of each kind.
    /// The recording ends when both taps are dropped.
    pub fn start_call(&self, video: bool, audio: bool) -> (Option<Tap>, Option<Tap>) {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let tap = |kind| {
            let (tx, rx) = mpsc::channel(TAP_QUEUE);
            let (ktx, krx) = mpsc::channel(1);
            let tap = Tap {
                packets: tx,
                keyframe_wanted: krx,
                dropped: 0,
            };
            (tap, TrackRecorder::new(kind, rx, ktx))
        };
        let (vtap, vrec) = if video {
            let (t, r) = tap(MediaKind::Video);
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        let (atap, arec) = if audio {
            let (t, r) = tap(MediaKind::Audio);
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        if vrec.is_none() && arec.is_none() {
            return (None, None);
        }
        let call = CallRecorder {
            dir: self.dir.clone(),
            number: n,
            video: vrec,
            audio: arec,
            origin: None,
            sink: Sink::Waiting(VecDeque::new()),
            video_codec: None,
            frames: [0, 0],
        };
        self.active.count.fetch_add(1, Ordering::SeqCst);
        let active = self.active.clone();
        let stop = self.stop.subscribe();
        tokio::spawn(async move {
            call.run(stop).await;
            if active.count.fetch_sub(1, Ordering::SeqCst) == 1 {
                active.idle.notify_waiters();
            }
        });
        (vtap, atap)
    }

    /// Finishes every open recording (Ctrl-C), waiting at most a few seconds.
    pub async fn stop(&self) {
        let idle = self.active.idle.notified();
        let _ = self.stop.send(true);
        if self.active.count.load(Ordering::SeqCst) > 0 {
            let _ = tokio::time::timeout(STOP_WAIT, idle).await;
        }
    }
}

/// One track's half of a call recording.
struct TrackRecorder {
    kind: MediaKind,
    rx: Option<mpsc::Receiver<Tapped>>,
    keyframe: mpsc::Sender<()>,
    frames: FrameAssembler,
    /// Where the track's RTP clock meets the recording's timeline: the
    /// frame's unwrapped RTP timestamp and its time since the origin.
    anchor: Option<(i64, Duration)>,
    last_ts: u32,
    ext_ts: i64,
}

impl TrackRecorder {
    fn new(kind: MediaKind, rx: mpsc::Receiver<Tapped>, keyframe: mpsc::Sender<()>) -> Self {
        Self {
            kind,
            rx: Some(rx),
            keyframe,
            frames: FrameAssembler::new(Vec::new()),
            anchor: None,
            last_ts: 0,
            ext_ts: 0,
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.frames.poll_timeout()
    }

    /// The next complete frame.
    fn poll(&mut self, now: Instant) -> Option<Frame> {
        while let Some(a) = self.frames.poll(now) {
            match a {
                Assembled::Frame(f) => return Some(f),
                Assembled::Lost { need_keyframe } => {
                    tracing::debug!(kind = %self.kind, "recorder lost a frame");
                    if need_keyframe {
                        let _ = self.keyframe.try_send(());
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The frame's time on the recording's timeline.
    fn time(&mut self, ts: u32, clock: u32, arrival: Instant, origin: Instant) -> Duration {
        let (anchor_ts, anchor_time) = *self.anchor.get_or_insert_with(|| {
            self.last_ts = ts;
            self.ext_ts = i64::from(ts);
            (i64::from(ts), arrival.saturating_duration_since(origin))
        });
        // RTP timestamps wrap: unwrap by the signed distance from the last one.
        self.ext_ts += i64::from(ts.wrapping_sub(self.last_ts) as i32);
        self.last_ts = ts;
        let ticks = self.ext_ts - anchor_ts;
        let since_anchor = Duration::from_secs_f64(ticks.max(0) as f64 / f64::from(clock.max(1)));
        let before_anchor = Duration::from_secs_f64((-ticks).max(0) as f64 / f64::from(clock));
        (anchor_time + since_anchor).saturating_sub(before_anchor)
    }
}

enum Sink {
    /// No file yet: audio frames held until the video's first keyframe.
    Waiting(VecDeque<(Duration, Vec<u8>)>),
    Writing(Box<WebmWriter<BufWriter<File>>>, PathBuf),
    /// Writing failed; the rest of the call is not recorded.
    Failed,
}

struct CallRecorder {
    dir: PathBuf,
    number: u64,
    video: Option<TrackRecorder>,
    audio: Option<TrackRecorder>,
    origin: Option<Instant>,
    sink: Sink,
    /// The codec of the recorded video track.
    video_codec: Option<Codec>,
    /// Video frames and audio frames written.
    frames: [u64; 2],
}

impl CallRecorder {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            let deadline = [&self.video, &self.audio]
                .into_iter()
                .flatten()
                .filter_map(TrackRecorder::poll_timeout)
                .min();
            let open = |t: &Option<TrackRecorder>| t.as_ref().is_some_and(|t| t.rx.is_some());
            if !open(&self.video) && !open(&self.audio) {
                break;
            }
            tokio::select! {
                m = recv(&mut self.video) => self.take(MediaKind::Video, m),
                m = recv(&mut self.audio) => self.take(MediaKind::Audio, m),
                _ = sleep_until(deadline) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            self.drain(Instant::now());
        }
        // Whatever is complete still goes in; incomplete frames are given up.
        self.drain(Instant::now() + Duration::from_secs(5));
        self.finish();
    }

    fn take(&mut self, kind: MediaKind, m: Option<Tapped>) {
        let t = match kind {
            MediaKind::Video => &mut self.video,
            _ => &mut self.audio,
        };
        let Some(t) = t.as_mut() else { return };
        match m {
            None => t.rx = None,
            Some(Tapped::Codecs(c)) => t.frames.set_codecs(c),
            Some(Tapped::Packet(p)) => {
                t.frames.push(&p);
            }
        }
    }

    /// Writes every frame the jitter buffers have ready.
    fn drain(&mut self, now: Instant) {
        for kind in [MediaKind::Video, MediaKind::Audio] {
            loop {
                let t = match kind {
                    MediaKind::Video => &mut self.video,
                    _ => &mut self.audio,
                };
                let Some(t) = t.as_mut() else { break };
                let Some(f) = t.poll(now) else {
                    break;
                };
                let origin = *self.origin.get_or_insert(f.first_arrival);
                let at = t.time(f.timestamp, f.codec.clock_rate(), f.first_arrival, origin);
                self.write(kind, f.codec, at, f.keyframe, &f.data);
            }
        }
    }

    fn write(&mut self, kind: MediaKind, codec: Codec, at: Duration, key: bool, frame: &[u8]) {
        let video = kind == MediaKind::Video;
        if let Sink::Waiting(held) = &mut self.sink {
            if !video && codec != Codec::Opus {
                return;
            }
            if !video && self.video.is_some() {
                if held.len() == MAX_HELD_AUDIO {
                    held.pop_front();
                }
                held.push_back((at, frame.to_vec()));
                return;
            }
            if video && !key {
                return;
            }
            let vtrack = if video {
                webm_video(codec, frame)
            } else {
                None
            };
            if video && vtrack.is_none() {
                tracing::warn!(
                    ?codec,
                    "cannot record this video codec; recording audio only"
                );
                self.video = None;
            }
            if vtrack.is_some() {
                self.video_codec = Some(codec);
            }
            self.open(vtrack);
        }
        let Sink::Writing(w, path) = &mut self.sink else {
            return;
        };
        let r = if video {
            if self.video_codec != Some(codec) {
                // A change of codec mid-call cannot go into the same track.
                return;
            }
            w.write_video(at, key, frame)
        } else if codec == Codec::Opus {
            w.write_audio(at, frame)
        } else {
            return;
        };
        match r {
            Ok(()) => self.frames[usize::from(!video)] += 1,
            Err(e) => {
                eprintln!("tern echo: recording {}: {e}", path.display());
                self.sink = Sink::Failed;
            }
        }
    }

    /// Creates the call's file and writes the held audio into it.
    fn open(&mut self, video: Option<VideoTrack>) {
        let Sink::Waiting(held) = std::mem::replace(&mut self.sink, Sink::Failed) else {
            return;
        };
        let audio = self.audio.as_ref().map(|_| AudioTrack {
            // WebRTC's Opus is always signalled as two channels (RFC 7587 §7);
            // RTP carries no pre-skip.
            head: OpusHead::new(2, 0),
        });
        let ext = match video.as_ref().map(|v| v.codec) {
            Some(WebmVideoCodec::H264) => "mkv",
            _ => "webm",
        };
        let path = self.dir.join(format!(
            "call-{}-{}.{ext}",
            utc_stamp(SystemTime::now()),
            self.number
        ));
        let file = match File::create_new(&path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("tern echo: cannot record to {}: {e}", path.display());
                return;
            }
        };
        let codec = video.as_ref().map(|v| v.codec);
        match WebmWriter::new(BufWriter::new(file), video, audio) {
            Ok(mut w) => {
                for (at, p) in held {
                    if w.write_audio(at, &p).is_ok() {
                        self.frames[1] += 1;
                    }
                }
                tracing::info!(path = %path.display(), ?codec, "recording");
                self.sink = Sink::Writing(Box::new(w), path);
            }
            Err(e) => eprintln!("tern echo: cannot record to {}: {e}", path.display()),
        }
    }

    fn finish(mut self) {
        if let Sink::Waiting(held) = &self.sink {
            if held.is_empty() {
                return; // no media: no file
            }
            // The video never sent a keyframe: keep the audio.
            self.video = None;
            self.open(None);
        }
        let Sink::Writing(w, path) = std::mem::replace(&mut self.sink, Sink::Failed) else {
            return;
        };
        let stats = w.stats();
        match w.finish_seekable() {
            Ok(_) => {
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "tern echo: recorded {} ({} video frames, {} audio frames)",
                    path.display(),
                    self.frames[0],
                    self.frames[1]
                );
                tracing::debug!(?stats, "recording finished");
            }
            Err(e) => eprintln!("tern echo: finishing {}: {e}", path.display()),
        }
    }
}

async fn recv(t: &mut Option<TrackRecorder>) -> Option<Tapped> {
    match t.as_mut().and_then(|t| t.rx.as_mut()) {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// The WebM track for the first keyframe of `codec`, if it can be recorded.
fn webm_video(codec: Codec, keyframe: &[u8]) -> Option<VideoTrack> {
    let (codec, (width, height)) = match codec {
        Codec::Vp8 => (WebmVideoCodec::Vp8, vp8_size(keyframe).unwrap_or((0, 0))),
        Codec::Vp9 => (WebmVideoCodec::Vp9, vp9_size(keyframe).unwrap_or((0, 0))),
        Codec::Av1 => (WebmVideoCodec::Av1, (0, 0)),
        Codec::H264 => (WebmVideoCodec::H264, (0, 0)),
        _ => return None,
    };
    Some(VideoTrack {
        codec,
        width,
        height,
        codec_private: None,
    })
}

/// RFC 6386 §9.1: a VP8 keyframe's frame tag, start code and 14-bit sizes.
fn vp8_size(f: &[u8]) -> Option<(u32, u32)> {
    if f.len() < 10 || f[0] & 1 != 0 || f[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u32::from(u16::from_le_bytes([f[6], f[7]]) & 0x3fff);
    let h = u32::from(u16::from_le_bytes([f[8], f[9]]) & 0x3fff);
    Some((w, h))
}

/// VP9 bitstream spec §6.2: a keyframe's uncompressed header up to
/// frame_size().
fn vp9_size(f: &[u8]) -> Option<(u32, u32)> {
    let mut pos = 0usize;
    let mut bit = |n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let b = f.get(pos / 8)? >> (7 - pos % 8) & 1;
            v = v << 1 | u32::from(b);
            pos += 1;
        }
        Some(v)
    };
    if bit(2)? != 2 {
        return None; // frame_marker
    }
    let profile = bit(1)? | bit(1)? << 1;
    if profile == 3 {
        bit(1)?;
    }
    if bit(1)? == 1 || bit(1)? != 0 {
        return None; // show_existing_frame, or not a keyframe
    }
    bit(2)?; // show_frame, error_resilient_mode
    if bit(24)? != 0x49_83_42 {
        return None;
    }
    if profile >= 2 {
        bit(1)?; // ten_or_twelve_bit
    }
    let color_space = bit(3)?;
    if color_space != 7 {
        bit(1)?; // color_range
        if profile == 1 || profile == 3 {
            bit(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        bit(1)?;
    }
    Some((bit(16)? + 1, bit(16)? + 1))
}

/// `YYYYMMDDTHHMMSSZ` for `t` (UTC; the civil-from-days algorithm of
/// H. Hinnant's date library).
fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101T000000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc_stamp(t), "20240229T123456Z");
    }

    #[test]
    fn vp8_and_vp9_keyframe_sizes() {
        let vp8 = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
        assert_eq!(vp8_size(&vp8), Some((320, 240)));
        assert_eq!(vp8_size(&[0x11, 0, 0]), None, "an interframe");
        // Profile 0 keyframe, show_frame, sync code, BT.601, 320x240.
        let mut bits = String::from("10" /* marker */);
        bits += "00" /* profile 0 */;
        bits += "0" /* show_existing */;
        bits += "0" /* key */;
        bits += "1" /* show */;
        bits += "0" /* error resilient */;
        bits += "010010011000001101000010";
        bits += "001" /* color space */;
        bits += "0" /* range */;
        bits += &format!("{:016b}{:016b}", 319, 239);
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let bytes: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        assert_eq!(vp9_size(&bytes), Some((320, 240)));
        assert_eq!(vp9_size(&bytes[..5]), None, "cut short");
    }
}
