//! `tern echo --record DIR`: a call that `tern ping` sends VP8 video and
//! Opus audio through is reflected as usual and also lands in one WebM file
//! that ffmpeg decodes without an error, with every frame and the two
//! tracks in sync, finished when the echo is stopped with Ctrl-C; a missing
//! or unusable DIR is refused at start.
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

/// The temporary directory of one test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tern-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// ffprobe's CSV output for `args` on `file`; any message on standard
/// error (a decoding error included) fails the test.
fn ffprobe(args: &[&str], file: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(file)
        .output()
        .expect("ffprobe (apt install ffmpeg)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "ffprobe {args:?}: {err}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Frames ffmpeg decodes from the first stream of `kind` ("v" or "a").
fn decoded_frames(file: &Path, kind: &str) -> u64 {
    let s = ffprobe(
        &[
            "-count_frames",
            "-select_streams",
            &format!("{kind}:0"),
            "-show_entries",
            "stream=nb_read_frames,codec_name",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    let line = s.trim();
    line.rsplit(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count for {kind}: {line:?}"))
}

/// The first packet's start and the last packet's end (seconds) of the
/// first stream of `kind`.
fn span(file: &Path, kind: &str) -> (f64, f64) {
    let s = ffprobe(
        &[
            "-select_streams",
            &format!("{kind}:0"),
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    let mut first = None;
    let mut end: f64 = 0.0;
    for l in s.lines() {
        let mut f = l.split(',');
        let pts: f64 = f.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
        // Video blocks carry no duration: a 30 fps frame lasts 1/30 s.
        let d: f64 = f.next().and_then(|x| x.parse().ok()).unwrap_or(1.0 / 30.0);
        if pts.is_nan() {
            continue;
        }
        first.get_or_insert(pts);
        end = end.max(pts + d);
    }
    (first.expect("packets"), end)
}

#[test]
fn a_call_through_the_echo_is_recorded_to_one_webm_that_ffmpeg_decodes_in_sync() {
    let t = TempDir::new("echo-record");
    let (ivf, ogg) = common::vp8_and_opus_files(&t.0, 3);
    let rec = t.0.join("calls");
    std::fs::create_dir(&rec).unwrap();
    let (mut echo, url, _, out) = common::printing_url_and_more(&[
        "echo",
        "--http",
        "127.0.0.1:0",
        "--record",
        rec.to_str().unwrap(),
    ]);
    // The echo's next line says which file it finished.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in out.lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let ping = common::tern()
        .args([
            "ping",
            &url,
            "--video",
            ivf.to_str().unwrap(),
            "--audio",
            ogg.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&ping.stdout).to_string();
    let j: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{e}: {}", common::text(&ping)));
    // Recording does not disturb the reflection.
    assert!(ping.status.success(), "{j}");
    let video_sent = j["video_frames_sent"].as_u64().unwrap();
    let audio_sent = j["audio_packets_sent"].as_u64().unwrap();
    assert_eq!(j["video_frames_intact"], video_sent, "{j}");

    // Ctrl-C finishes the open recordings before the echo exits. (A call
    // also finishes by itself when its connection ends, which tern only
    // notices at consent expiry, 30 s after the peer closed.)
    let st = Command::new("kill")
        .args(["-INT", &echo.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let done = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the echo reports the finished recording when stopped");
    let exit = echo.0.wait().unwrap();
    assert!(exit.success(), "the echo stops cleanly: {exit}");
    let path = done
        .strip_prefix("tern echo: recorded ")
        .and_then(|r| r.split(" (").next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("unexpected line {done:?}"));
    assert_eq!(path.parent(), Some(rec.as_path()), "{done}");
    let name = path.file_name().unwrap().to_str().unwrap();
    // call-YYYYMMDDTHHMMSSZ-1.webm
    assert!(
        name.starts_with("call-") && name.ends_with("Z-1.webm") && name.len() == 28,
        "{name}"
    );
    let files: Vec<_> = std::fs::read_dir(&rec).unwrap().collect();
    assert_eq!(files.len(), 1, "one file per call");

    let video = decoded_frames(&path, "v");
    let audio = decoded_frames(&path, "a");
    assert!(
        video * 100 >= video_sent * 95 && video <= video_sent,
        "{video} video frames decoded of {video_sent} sent"
    );
    assert!(
        audio * 100 >= audio_sent * 95 && audio <= audio_sent,
        "{audio} audio frames decoded of {audio_sent} sent"
    );
    let (v0, v1) = span(&path, "v");
    let (a0, a1) = span(&path, "a");
    assert!(
        ((v1 - v0) - (a1 - a0)).abs() <= 0.1,
        "video lasts {:.3} s, audio {:.3} s",
        v1 - v0,
        a1 - a0
    );
    assert!(
        (v0 - a0).abs() <= 0.1,
        "video starts at {v0}, audio at {a0}"
    );
}

#[test]
fn a_missing_or_unusable_record_directory_is_refused_at_start() {
    let t = TempDir::new("echo-record-bad");
    let missing = t.0.join("nowhere");
    let file = t.0.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    for (dir, why) in [
        (&missing, "create the directory"),
        (&file, "not a directory"),
    ] {
        let out = common::tern()
            .args(["echo", "--http", "127.0.0.1:0", "--record"])
            .arg(dir)
            .output()
            .unwrap();
        let text = common::text(&out);
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains(dir.to_str().unwrap()) && text.contains(why),
            "{text}"
        );
        assert!(!text.contains("panicked"), "{text}");
    }
}
