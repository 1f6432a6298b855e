//! Real encoders and decoders as oracles: media made by FFmpeg (libvpx,
//! libaom, libx264, libx265, libopus) is read with this crate's readers,
//! written back with its writers, and the output decoded by FFmpeg.
//!
//! Every test skips (with a line saying so) when `ffmpeg` or `ffprobe` is
//! not on PATH. Generated media lives in a temporary directory removed at
//! the end.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tern_media::*;

fn have_ffmpeg(test: &str) -> bool {
    let ok = |bin: &str| {
        Command::new(bin)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok("ffmpeg") && ok("ffprobe") {
        true
    } else {
        println!("skipping {test}: ffmpeg/ffprobe not on PATH");
        false
    }
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tern-media-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ffprobe(args: &[&str], file: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe {args:?} {file:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Frames FFmpeg decodes in the first stream of `kind` ("v" or "a").
fn decoded_frames(file: &Path, kind: &str) -> u64 {
    let s = ffprobe(
        &[
            "-count_frames",
            "-select_streams",
            &format!("{kind}:0"),
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    s.trim()
        .trim_end_matches(',')
        .parse()
        .unwrap_or_else(|_| panic!("frame count {s:?}"))
}

/// Packets FFmpeg demuxes in the first stream of `kind`, and how many are keyframes.
fn packets(file: &Path, kind: &str) -> (u64, u64) {
    let s = ffprobe(
        &[
            "-select_streams",
            &format!("{kind}:0"),
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let keys = lines.iter().filter(|l| l.starts_with('K')).count();
    (lines.len() as u64, keys as u64)
}

/// Asserts that FFmpeg decodes every stream of `file` without a single error.
fn decodes_cleanly(file: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg failed to decode {file:?}");
    let msgs =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        msgs.trim().is_empty(),
        "ffmpeg reported while decoding {file:?}:\n{msgs}"
    );
}

fn start_time(file: &Path, kind: &str) -> f64 {
    let s = ffprobe(
        &[
            "-select_streams",
            &format!("{kind}:0"),
            "-show_entries",
            "stream=start_time",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    s.trim()
        .trim_end_matches(',')
        .parse()
        .unwrap_or_else(|_| panic!("start time {s:?}"))
}

const TESTSRC: &[&str] = &[
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=30",
    "-t",
    "2",
];

fn make_video(dir: &TempDir, file: &str, codec_args: &[&str]) -> PathBuf {
    let path = dir.path(file);
    let mut args = TESTSRC.to_vec();
    args.extend_from_slice(codec_args);
    let p = path.to_str().unwrap().to_owned();
    args.push(&p);
    ffmpeg(&args);
    path
}

fn read_ivf(path: &Path) -> (IvfHeader, Vec<IvfFrame>) {
    let r = IvfReader::new(BufReader::new(File::open(path).unwrap())).unwrap();
    let header = *r.header();
    let frames = r.collect::<Result<Vec<_>>>().unwrap();
    (header, frames)
}

fn write_ivf(path: &Path, header: IvfHeader, frames: &[IvfFrame]) {
    let mut w = IvfWriter::new(
        File::create(path).unwrap(),
        IvfHeader {
            frame_count: 0,
            ..header
        },
    )
    .unwrap();
    for f in frames {
        w.write_frame(f.pts, &f.data).unwrap();
    }
    w.finish_seekable().unwrap();
}

fn frame_time(h: &IvfHeader, pts: u64) -> Duration {
    Duration::from_nanos(
        pts * 1_000_000_000 * u64::from(h.timebase_scale) / u64::from(h.timebase_rate),
    )
}

/// Whether a VP8 frame is a keyframe (RFC 6386 §9.1: bit 0 of the frame tag is 0).
fn vp8_keyframe(f: &[u8]) -> bool {
    f.first().is_some_and(|b| b & 1 == 0)
}

/// Whether a VP9 frame is a keyframe (VP9 bitstream §6.2 uncompressed header).
fn vp9_keyframe(f: &[u8]) -> bool {
    let Some(&b) = f.first() else { return false };
    // frame_marker(2) profile_low(1) profile_high(1) [reserved(1) if profile 3]
    // show_existing_frame(1) frame_type(1)
    let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
    let mut bit = 4;
    if profile == 3 {
        bit += 1;
    }
    let show_existing = (b >> (7 - bit)) & 1;
    let frame_type = (b >> (6 - bit)) & 1;
    show_existing == 0 && frame_type == 0
}

/// Whether an AV1 temporal unit starts a coded video sequence (carries a sequence header).
fn av1_keyframe(tu: &[u8]) -> bool {
    av1_configuration_from_temporal_unit(tu).is_some()
}

fn ivf_round_trip(name: &str, codec_args: &[&str], fourcc: FourCc) {
    if !have_ffmpeg(name) {
        return;
    }
    let dir = TempDir::new(name);
    let src = make_video(&dir, "in.ivf", codec_args);
    let (header, frames) = read_ivf(&src);
    assert_eq!(header.fourcc, fourcc);
    assert_eq!((header.width, header.height), (320, 240));
    assert_eq!(frames.len() as u64, decoded_frames(&src, "v"));
    assert_eq!(frames.len(), 60);

    let out = dir.path("out.ivf");
    write_ivf(&out, header, &frames);
    let (h2, back) = read_ivf(&out);
    assert_eq!(h2.frame_count as usize, frames.len());
    assert_eq!(back, frames);
    decodes_cleanly(&out);
    assert_eq!(decoded_frames(&out, "v"), frames.len() as u64);
}

#[test]
fn ivf_vp8_from_libvpx_round_trips() {
    ivf_round_trip(
        "ivf_vp8",
        &[
            "-c:v",
            "libvpx",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
        FourCc::VP8,
    );
}

#[test]
fn ivf_vp9_from_libvpx_round_trips() {
    ivf_round_trip(
        "ivf_vp9",
        &[
            "-c:v",
            "libvpx-vp9",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
        FourCc::VP9,
    );
}

const AV1_ARGS: &[&str] = &[
    "-c:v",
    "libaom-av1",
    "-g",
    "30",
    "-usage",
    "realtime",
    "-cpu-used",
    "8",
    "-lag-in-frames",
    "0",
];

#[test]
fn ivf_av1_from_libaom_round_trips() {
    ivf_round_trip("ivf_av1", AV1_ARGS, FourCc::AV1);
}

fn read_ogg(path: &Path) -> (OpusHead, OpusTags, Vec<OpusPacket>) {
    let r = OggOpusReader::new(BufReader::new(File::open(path).unwrap())).unwrap();
    let (head, tags) = (r.head().clone(), r.tags().clone());
    let packets = r.collect::<Result<Vec<_>>>().unwrap();
    (head, tags, packets)
}

fn make_opus(dir: &TempDir) -> PathBuf {
    let path = dir.path("in.ogg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-c:a",
        "libopus",
        "-b:a",
        "48k",
        path.to_str().unwrap(),
    ]);
    path
}

/// Decoded PCM samples (per channel) FFmpeg produces from a file's audio.
fn decoded_samples(file: &Path) -> usize {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout.len() / 2
}

#[test]
fn ogg_opus_from_libopus_round_trips_sample_exactly() {
    if !have_ffmpeg("ogg_opus") {
        return;
    }
    let dir = TempDir::new("ogg_opus");
    let src = make_opus(&dir);
    let (head, tags, pkts) = read_ogg(&src);
    assert_eq!(head.channels, 1);
    assert!(head.pre_skip > 0);
    assert!(!tags.vendor.is_empty());
    assert_eq!(pkts.len() as u64, decoded_frames(&src, "a"));
    // Packets are contiguous in time, from sample 0.
    assert_eq!(pkts[0].start_granule, 0);
    for w in pkts.windows(2) {
        assert_eq!(
            w[1].start_granule,
            w[0].start_granule + u64::from(w[0].duration)
        );
    }
    let last = pkts.last().unwrap();
    // 2 s of audio plus the encoder's pre-skip, trimmed at the end (RFC 7845 §4.4).
    assert_eq!(last.granule_position, 96_000 + u64::from(head.pre_skip));

    let out = dir.path("out.ogg");
    let mut w = OggOpusWriter::new(
        BufWriter::new(File::create(&out).unwrap()),
        &head,
        &tags,
        0x7E41,
    )
    .unwrap();
    for p in &pkts {
        w.write_packet(&p.data).unwrap();
    }
    w.finish_at(last.granule_position).unwrap();
    let (head2, tags2, back) = read_ogg(&out);
    assert_eq!((head2, tags2), (head, tags));
    assert_eq!(back, pkts);
    decodes_cleanly(&out);
    assert_eq!(decoded_frames(&out, "a"), pkts.len() as u64);
    assert_eq!(decoded_samples(&out), decoded_samples(&src));
    assert_eq!(decoded_samples(&out), 96_000);
}

fn annex_b_round_trip(
    name: &str,
    file: &str,
    codec_args: &[&str],
    codec: VideoCodec,
    demuxer: &str,
) {
    if !have_ffmpeg(name) {
        return;
    }
    let dir = TempDir::new(name);
    let src = make_video(&dir, file, codec_args);
    let aus: Vec<AccessUnit> = AnnexBReader::new(BufReader::new(File::open(&src).unwrap()), codec)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(aus.len(), 60);
    assert_eq!(aus.len() as u64, decoded_frames(&src, "v"));
    let (n, keys) = packets(&src, "v");
    assert_eq!(n, aus.len() as u64);
    assert_eq!(aus.iter().filter(|a| a.keyframe).count() as u64, keys);
    assert!(aus[0].keyframe && aus[30].keyframe && !aus[1].keyframe);

    let out = dir.path(&format!("out.{demuxer}"));
    let mut w = AnnexBWriter::new(BufWriter::new(File::create(&out).unwrap()));
    for au in &aus {
        w.write_access_unit(au).unwrap();
    }
    w.finish().unwrap();
    let back: Vec<AccessUnit> = AnnexBReader::new(File::open(&out).unwrap(), codec)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(back, aus);
    decodes_cleanly(&out);
    assert_eq!(decoded_frames(&out, "v"), aus.len() as u64);
}

const H264_ARGS: &[&str] = &[
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-profile:v",
    "baseline",
    "-g",
    "30",
    "-bsf:v",
    "h264_mp4toannexb",
    "-f",
    "h264",
];
const H265_ARGS: &[&str] = &[
    "-c:v",
    "libx265",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    "30",
    "-x265-params",
    "log-level=error:keyint=30:min-keyint=30:scenecut=0",
    "-f",
    "hevc",
];

#[test]
fn h264_annex_b_from_libx264_round_trips() {
    annex_b_round_trip("h264", "in.h264", H264_ARGS, VideoCodec::H264, "h264");
}

#[test]
fn h265_annex_b_from_libx265_round_trips() {
    annex_b_round_trip("h265", "in.hevc", H265_ARGS, VideoCodec::H265, "hevc");
}

/// A video frame at its capture time, with its keyframe flag.
type VideoFrame = (Duration, bool, Vec<u8>);
/// An Opus packet at the time of its first sample.
type AudioPacket = (Duration, Vec<u8>);

/// Writes `video` (timestamped frames with keyframe flags) and `audio`
/// (timestamped Opus packets) to a WebM in timestamp order, as a recorder
/// fed by two RTP streams would.
fn record(
    path: &Path,
    video: Option<(VideoTrack, Vec<VideoFrame>)>,
    audio: Option<(OpusHead, Vec<AudioPacket>)>,
    seekable: bool,
) -> WebmStats {
    let (vt, vframes) = video.map_or((None, Vec::new()), |(t, f)| (Some(t), f));
    let (at, apkts) = audio.map_or((None, Vec::new()), |(h, p)| {
        (Some(AudioTrack { head: h }), p)
    });
    let mut w = WebmWriter::new(BufWriter::new(File::create(path).unwrap()), vt, at).unwrap();
    let (mut vi, mut ai) = (0, 0);
    while vi < vframes.len() || ai < apkts.len() {
        let take_video = ai >= apkts.len() || (vi < vframes.len() && vframes[vi].0 <= apkts[ai].0);
        if take_video {
            let (t, k, f) = &vframes[vi];
            w.write_video(*t, *k, f).unwrap();
            vi += 1;
        } else {
            let (t, p) = &apkts[ai];
            w.write_audio(*t, p).unwrap();
            ai += 1;
        }
    }
    let stats = w.stats();
    if seekable {
        w.finish_seekable().unwrap();
    } else {
        w.finish().unwrap();
    }
    stats
}

fn ivf_to_track(
    path: &Path,
    codec: WebmVideoCodec,
    keyframe: fn(&[u8]) -> bool,
) -> (VideoTrack, Vec<(Duration, bool, Vec<u8>)>) {
    let (h, frames) = read_ivf(path);
    let track = VideoTrack {
        codec,
        width: u32::from(h.width),
        height: u32::from(h.height),
        codec_private: None,
    };
    let frames = frames
        .into_iter()
        .map(|f| (frame_time(&h, f.pts), keyframe(&f.data), f.data))
        .collect();
    (track, frames)
}

#[test]
fn webm_of_vp8_and_opus_plays_in_sync() {
    if !have_ffmpeg("webm_vp8_opus") {
        return;
    }
    let dir = TempDir::new("webm_vp8_opus");
    let ivf = make_video(
        &dir,
        "in.ivf",
        &[
            "-c:v",
            "libvpx",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    );
    let ogg = make_opus(&dir);
    let (track, frames) = ivf_to_track(&ivf, WebmVideoCodec::Vp8, vp8_keyframe);
    assert_eq!(frames.iter().filter(|f| f.1).count(), 2);
    let (head, _, pkts) = read_ogg(&ogg);
    let audio: Vec<(Duration, Vec<u8>)> = pkts
        .iter()
        .map(|p| {
            (
                Duration::from_micros(p.start_granule * 1_000_000 / 48_000),
                p.data.clone(),
            )
        })
        .collect();
    let out = dir.path("call.webm");
    let stats = record(
        &out,
        Some((track, frames.clone())),
        Some((head, audio.clone())),
        true,
    );
    assert_eq!(stats, WebmStats::default());

    decodes_cleanly(&out);
    let format = ffprobe(
        &["-show_entries", "format=format_name", "-of", "csv=p=0"],
        &out,
    );
    assert!(format.contains("webm"), "{format}");
    assert_eq!(decoded_frames(&out, "v"), frames.len() as u64);
    assert_eq!(packets(&out, "v"), (frames.len() as u64, 2));
    assert_eq!(packets(&out, "a").0, audio.len() as u64);
    let (vs, as_) = (start_time(&out, "v"), start_time(&out, "a"));
    assert!(
        (vs - as_).abs() < 0.050,
        "video starts at {vs}, audio at {as_}"
    );
    // The Opus track decodes to the same 2 s: pre-skip becomes CodecDelay.
    let samples = decoded_samples(&out) as i64;
    assert!((samples - 96_000).abs() <= 960, "{samples} samples");
    // A seekable finish filled in the Duration: 2 s of media.
    let d: f64 = ffprobe(
        &["-show_entries", "format=duration", "-of", "csv=p=0"],
        &out,
    )
    .trim()
    .parse()
    .unwrap();
    assert!((d - 2.0).abs() < 0.05, "duration {d}");
}

#[test]
fn webm_keeps_a_late_starting_track_in_place() {
    if !have_ffmpeg("webm_late_video") {
        return;
    }
    // Video joins the call 1 s after audio; the file must say so.
    let dir = TempDir::new("webm_late_video");
    let ivf = make_video(
        &dir,
        "in.ivf",
        &[
            "-c:v",
            "libvpx",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    );
    let ogg = make_opus(&dir);
    let (track, mut frames) = ivf_to_track(&ivf, WebmVideoCodec::Vp8, vp8_keyframe);
    for f in &mut frames {
        f.0 += Duration::from_secs(1);
    }
    let (head, _, pkts) = read_ogg(&ogg);
    let audio: Vec<(Duration, Vec<u8>)> = pkts
        .iter()
        .map(|p| {
            (
                Duration::from_micros(p.start_granule * 1_000_000 / 48_000),
                p.data.clone(),
            )
        })
        .collect();
    let out = dir.path("call.webm");
    record(
        &out,
        Some((track, frames.clone())),
        Some((head, audio)),
        false,
    );
    decodes_cleanly(&out);
    let (vs, as_) = (start_time(&out, "v"), start_time(&out, "a"));
    assert!(
        (vs - as_ - 1.0).abs() < 0.050,
        "video starts at {vs}, audio at {as_}"
    );
    assert_eq!(decoded_frames(&out, "v"), frames.len() as u64);
}

fn webm_video_only(
    name: &str,
    codec_args: &[&str],
    codec: WebmVideoCodec,
    keyframe: fn(&[u8]) -> bool,
) {
    if !have_ffmpeg(name) {
        return;
    }
    let dir = TempDir::new(name);
    let ivf = make_video(&dir, "in.ivf", codec_args);
    let (track, frames) = ivf_to_track(&ivf, codec, keyframe);
    let keys = frames.iter().filter(|f| f.1).count() as u64;
    assert!(keys >= 2);
    let out = dir.path("out.webm");
    record(&out, Some((track, frames.clone())), None, false);
    decodes_cleanly(&out);
    assert_eq!(decoded_frames(&out, "v"), frames.len() as u64);
    assert_eq!(packets(&out, "v"), (frames.len() as u64, keys));
}

#[test]
fn webm_of_vp9_decodes() {
    webm_video_only(
        "webm_vp9",
        &[
            "-c:v",
            "libvpx-vp9",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
        WebmVideoCodec::Vp9,
        vp9_keyframe,
    );
}

#[test]
fn webm_of_av1_decodes_with_av1c() {
    webm_video_only("webm_av1", AV1_ARGS, WebmVideoCodec::Av1, av1_keyframe);
}

#[test]
fn av1c_matches_ffmpegs() {
    if !have_ffmpeg("av1c") {
        return;
    }
    // FFmpeg's Matroska muxer writes av1C from the same sequence header;
    // ours must match it byte for byte.
    let dir = TempDir::new("av1c");
    let ivf = make_video(&dir, "in.ivf", AV1_ARGS);
    let mkv = dir.path("ff.mkv");
    ffmpeg(&[
        "-i",
        ivf.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    let s = ffprobe(
        &[
            "-show_data",
            "-show_entries",
            "stream=extradata",
            "-of",
            "default=nw=1",
        ],
        &mkv,
    );
    let hex: String = s
        .lines()
        .filter(|l| l.starts_with("0000"))
        .flat_map(|l| l.split_whitespace().skip(1).take(8))
        .collect();
    let theirs: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let (_, frames) = read_ivf(&ivf);
    let ours = av1_configuration_from_temporal_unit(&frames[0].data).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn matroska_of_h264_and_opus_decodes_with_avcc() {
    if !have_ffmpeg("mkv_h264") {
        return;
    }
    let dir = TempDir::new("mkv_h264");
    let src = make_video(&dir, "in.h264", H264_ARGS);
    let aus: Vec<AccessUnit> = AnnexBReader::new(File::open(&src).unwrap(), VideoCodec::H264)
        .collect::<Result<_>>()
        .unwrap();
    let frames: Vec<(Duration, bool, Vec<u8>)> = aus
        .iter()
        .enumerate()
        .map(|(i, au)| {
            (
                Duration::from_micros(i as u64 * 1_000_000 / 30),
                au.keyframe,
                au.to_annex_b(),
            )
        })
        .collect();
    let ogg = make_opus(&dir);
    let (head, _, pkts) = read_ogg(&ogg);
    let audio: Vec<(Duration, Vec<u8>)> = pkts
        .iter()
        .map(|p| {
            (
                Duration::from_micros(p.start_granule * 1_000_000 / 48_000),
                p.data.clone(),
            )
        })
        .collect();
    let track = VideoTrack {
        codec: WebmVideoCodec::H264,
        width: 320,
        height: 240,
        codec_private: None,
    };
    let out = dir.path("call.mkv");
    record(
        &out,
        Some((track, frames.clone())),
        Some((head, audio)),
        false,
    );
    decodes_cleanly(&out);
    let format = ffprobe(
        &["-show_entries", "format=format_name", "-of", "csv=p=0"],
        &out,
    );
    assert!(format.contains("matroska"), "{format}");
    assert_eq!(decoded_frames(&out, "v"), frames.len() as u64);
    assert_eq!(packets(&out, "v"), (frames.len() as u64, 2));
    let (vs, as_) = (start_time(&out, "v"), start_time(&out, "a"));
    assert!(
        (vs - as_).abs() < 0.050,
        "video starts at {vs}, audio at {as_}"
    );
}

#[test]
fn a_recording_cut_short_still_plays_up_to_the_cut() {
    if !have_ffmpeg("webm_cut") {
        return;
    }
    // A crash mid-call leaves a prefix of the file; with unknown-size
    // segment and clusters, every whole block before the cut still plays.
    let dir = TempDir::new("webm_cut");
    let ivf = make_video(
        &dir,
        "in.ivf",
        &[
            "-c:v",
            "libvpx",
            "-g",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    );
    let (track, frames) = ivf_to_track(&ivf, WebmVideoCodec::Vp8, vp8_keyframe);
    let full = dir.path("full.webm");
    record(&full, Some((track.clone(), frames.clone())), None, false);
    // Write the first 45 frames alone to learn where frame 45 starts.
    let prefix = dir.path("prefix.webm");
    record(&prefix, Some((track, frames[..45].to_vec())), None, false);
    let cut_at = std::fs::metadata(&prefix).unwrap().len() as usize;
    let bytes = std::fs::read(&full).unwrap();
    assert_eq!(&bytes[..cut_at], std::fs::read(&prefix).unwrap().as_slice());
    let cut = dir.path("cut.webm");
    std::fs::write(&cut, &bytes[..cut_at]).unwrap();
    decodes_cleanly(&cut);
    assert_eq!(decoded_frames(&cut, "v"), 45);
}

#[test]
fn webm_of_opus_alone_decodes_to_the_same_samples() {
    if !have_ffmpeg("webm_opus") {
        return;
    }
    let dir = TempDir::new("webm_opus");
    let ogg = make_opus(&dir);
    let (head, _, pkts) = read_ogg(&ogg);
    let audio: Vec<AudioPacket> = pkts
        .iter()
        .map(|p| {
            (
                Duration::from_micros(p.start_granule * 1_000_000 / 48_000),
                p.data.clone(),
            )
        })
        .collect();
    let out = dir.path("audio.webm");
    record(&out, None, Some((head, audio.clone())), false);
    decodes_cleanly(&out);
    assert_eq!(packets(&out, "a").0, audio.len() as u64);
    // Without end trimming the file may run up to one packet (20 ms) long.
    let samples = decoded_samples(&out) as i64;
    assert!(
        (96_000..=96_000 + 960).contains(&samples),
        "{samples} samples"
    );
}
