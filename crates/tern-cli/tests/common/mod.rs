//! What the `tern` command's tests share: their processes, the binary, and
//! reading what came out.
#![allow(dead_code)] // each test file uses its part

use std::path::Path;
use std::process::{Child, Command, Output};

use tern_crypto::digest::Sha256;

/// A process we started, killed (by its PID) on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `tern` binary under test.
pub fn tern() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tern"))
}

/// SHA-256 of a file, read in 1 MiB pieces.
pub fn sha(p: &Path) -> [u8; 32] {
    use std::io::Read;
    let mut f = std::fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return h.finish();
        }
        h.update(&buf[..n]);
    }
}

/// Standard output then standard error, for messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `tern serve` on free loopback ports with `extra` flags: the process,
/// its `http://…` URL and the line it printed.
pub fn serve_with(extra: &[&str]) -> (Proc, String, String) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    printing_url(&args)
}

/// `tern ARGS`, which prints the URL it serves on its first line: the
/// process, the URL (without a trailing slash) and the line.
pub fn printing_url(args: &[&str]) -> (Proc, String, String) {
    let (p, url, line, _) = printing_url_and_more(args);
    (p, url, line)
}

/// Like [`printing_url`], with the rest of the process's standard output
/// (dropping it makes the process's later prints fail).
pub fn printing_url_and_more(
    args: &[&str],
) -> (
    Proc,
    String,
    String,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::{BufRead, BufReader};
    let mut c = tern()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (Proc(c), url, line, out)
}

/// Runs ffmpeg with `args` (from apt; scripts/test installs it).
pub fn ffmpeg(args: &[&str]) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg (apt install ffmpeg; scripts/test installs it)");
    assert!(st.success(), "ffmpeg {args:?}");
}

/// `seconds` of 30 fps 320x240 VP8 (keyframe every second) as IVF and of
/// a 440 Hz tone as Ogg Opus in 20 ms packets, made in `dir`.
pub fn vp8_and_opus_files(dir: &Path, seconds: u32) -> (std::path::PathBuf, std::path::PathBuf) {
    let ivf = dir.join("v.ivf");
    let ogg = dir.join("a.ogg");
    let t = seconds.to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-t",
        &t,
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-g",
        "30",
        ivf.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &t,
        "-c:a",
        "libopus",
        "-frame_duration",
        "20",
        ogg.to_str().unwrap(),
    ]);
    (ivf, ogg)
}
