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
    use std::io::{BufRead, BufReader};
    let mut c = tern()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (Proc(c), url, line)
}
