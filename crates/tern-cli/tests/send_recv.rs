//! `tern send` / `tern recv` through `tern serve`, as a user runs them.
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{serve_with, sha, tern, text, Proc};

/// `tern serve` on a free port; returns it and its URL.
fn serve() -> (Proc, String) {
    let (p, url, _) = serve_with(&["--stun-listen", "off"]);
    (p, url)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tern-sr-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `len` pseudo-random bytes (xorshift, cheap).
fn write_file(p: &Path, len: usize, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
    let mut x = seed | 1;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for c in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
        }
        let n = left.min(buf.len());
        f.write_all(&buf[..n]).unwrap();
        left -= n;
    }
}

/// `tern send ARGS --server URL` with its output kept, given half a second
/// to take its room before a receiver comes.
fn start_send(url: &str, args: &[&str]) -> std::process::Child {
    let sender = tern()
        .arg("send")
        .args(args)
        .args(["--server", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    sender
}

/// Runs send and recv with `code`s; returns both outputs.
fn transfer(
    url: &str,
    what: &[&Path],
    send_code: &str,
    recv_code: &str,
    out: &Path,
    extra: &[&str],
) -> (Output, Output) {
    let mut args: Vec<&str> = what.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(["--code", send_code, "--wait", "1"]);
    let sender = start_send(url, &args);
    let r = tern()
        .args(["recv", recv_code, "--server", url, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    (s, r)
}

#[test]
fn one_gib_file_arrives_intact() {
    let (_s, url) = serve();
    let d = tmp("big");
    let src = d.join("big.bin");
    write_file(&src, 1 << 30, 7);
    let out = d.join("out");
    let t0 = std::time::Instant::now();
    let (s, r) = transfer(
        &url,
        &[&src],
        "11-cactus-river",
        "11-cactus-river",
        &out,
        &[],
    );
    assert!(
        s.status.success() && r.status.success(),
        "send: {}\nrecv: {}",
        text(&s),
        text(&r)
    );
    println!(
        "1 GiB in {:.1} s: {}",
        t0.elapsed().as_secs_f64(),
        text(&s).lines().last().unwrap_or("")
    );
    assert_eq!(sha(&src), sha(&out.join("big.bin")), "SHA-256 equal");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn directories_empty_files_existing_files_and_wrong_codes() {
    let (_s, url) = serve();
    let d = tmp("dir");
    let src = d.join("photos");
    std::fs::create_dir_all(src.join("2026/nov")).unwrap();
    write_file(&src.join("a.jpg"), 300_000, 1);
    write_file(&src.join("2026/nov/b.jpg"), 70_000, 2);
    std::fs::write(src.join("2026/empty.txt"), b"").unwrap();
    std::fs::create_dir_all(src.join("2026/dec/nothing-yet")).unwrap();
    let single = d.join("note.txt");
    std::fs::write(&single, b"hello").unwrap();
    let out = d.join("out");
    let (s, r) = transfer(
        &url,
        &[&src, &single],
        "12-fern-owl",
        "12-fern-owl",
        &out,
        &[],
    );
    assert!(
        s.status.success() && r.status.success(),
        "send: {}\nrecv: {}",
        text(&s),
        text(&r)
    );
    for rel in [
        "photos/a.jpg",
        "photos/2026/nov/b.jpg",
        "photos/2026/empty.txt",
        "note.txt",
    ] {
        let orig = if rel == "note.txt" {
            single.clone()
        } else {
            d.join(rel)
        };
        assert_eq!(sha(&orig), sha(&out.join(rel)), "{rel}");
    }
    assert!(
        out.join("photos/2026/dec/nothing-yet").is_dir(),
        "empty directories arrive too"
    );
    // Again into the same place: the receiver refuses, the sender is told.
    let (s, r) = transfer(&url, &[&single], "13-fern-owl", "13-fern-owl", &out, &[]);
    assert!(
        !r.status.success() && text(&r).contains("exists (use --overwrite"),
        "{}",
        text(&r)
    );
    assert!(
        !s.status.success() && text(&s).contains("the receiver refused"),
        "{}",
        text(&s)
    );
    let (s, r) = transfer(
        &url,
        &[&single],
        "14-fern-owl",
        "14-fern-owl",
        &out,
        &["--overwrite"],
    );
    assert!(s.status.success() && r.status.success(), "{}", text(&r));
    // A wrong code: both sides stop, and no byte reaches the wrong receiver.
    let wrong_out = d.join("wrong");
    let (s, r) = transfer(
        &url,
        &[&src],
        "15-fern-owl",
        "15-fern-owls",
        &wrong_out,
        &[],
    );
    assert!(
        !r.status.success() && text(&r).contains("wrong code"),
        "{}",
        text(&r)
    );
    assert!(
        !s.status.success() && text(&s).contains("wrong code"),
        "{}",
        text(&s)
    );
    assert!(!wrong_out.exists() || std::fs::read_dir(&wrong_out).unwrap().next().is_none());
    // Unknown code, no server, bad code.
    let r = tern()
        .args(["recv", "16-no-body", "--server", &url])
        .output()
        .unwrap();
    assert!(
        !r.status.success() && text(&r).contains("nobody is sending with code"),
        "{}",
        text(&r)
    );
    let r = tern()
        .args(["recv", "17-a-b", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(
        !r.status.success() && text(&r).contains("tern serve"),
        "{}",
        text(&r)
    );
    let r = tern()
        .args(["recv", "words-only", "--server", &url])
        .output()
        .unwrap();
    assert!(
        !r.status.success() && text(&r).contains("number-word-word"),
        "{}",
        text(&r)
    );
    let r = tern()
        .args(["send", "/no/such/file", "--server", &url])
        .output()
        .unwrap();
    assert!(
        !r.status.success() && text(&r).contains("/no/such/file"),
        "{}",
        text(&r)
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// A write that fails in the middle of a file, as on a full disk: the
/// receiver runs with a 2 MiB file-size limit (and SIGXFSZ ignored, so the
/// write fails with EFBIG instead of killing it). It stops with a message
/// that says so and removes the partial file, and the sender is told the
/// transfer failed. (An earlier version linked the partial file to
/// /dev/full; the receiver now refuses to write through any link.)
#[test]
fn a_failing_write_stops_both_sides_with_a_clear_message() {
    let (_s, url) = serve();
    let d = tmp("full");
    let src = d.join("big.bin");
    write_file(&src, 8 << 20, 3);
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let sender = start_send(
        &url,
        &[
            src.to_str().unwrap(),
            "--code",
            "17-fern-owl",
            "--wait",
            "1",
        ],
    );
    let r = Command::new("bash")
        .arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 2048; exec "$0" recv 17-fern-owl --server "$1" --out "$2""#)
        .arg(env!("CARGO_BIN_EXE_tern"))
        .arg(&url)
        .arg(&out)
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    assert!(
        !r.status.success() && text(&r).contains("disk full"),
        "{}",
        text(&r)
    );
    assert!(text(&r).contains("File too large"), "{}", text(&r));
    assert!(
        !s.status.success() && text(&s).contains("disk full"),
        "{}",
        text(&s)
    );
    assert!(!out.join("big.bin").exists());
    assert!(
        !out.join("big.bin.tern-part").exists(),
        "partial file removed"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// One side killed mid-transfer (`kill_sender` picks which): the other
/// stops with a message saying the peer went away (not a hang, not a
/// success) once consent to send expires (RFC 7675, 30 s); a receiver leaves
/// no partial file behind. Returns the survivor's exit status and stderr.
fn kill_mid_transfer(
    name: &str,
    code: &str,
    kill_sender: bool,
) -> (std::process::ExitStatus, String) {
    let (_s, url) = serve();
    let d = tmp(name);
    let src = d.join("big.bin");
    write_file(&src, 256 << 20, 5);
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let part = out.join("big.bin.tern-part");
    let mut send = Proc(
        tern()
            .args([
                "send",
                src.to_str().unwrap(),
                "--server",
                &url,
                "--code",
                code,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut recv = Proc(
        tern()
            .args(["recv", code, "--server", &url, "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let t0 = std::time::Instant::now();
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 4 << 20 {
        assert!(t0.elapsed().as_secs() < 30, "no data arrived");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (victim, survivor, what) = if kill_sender {
        (&mut send, &mut recv, "the receiver")
    } else {
        (&mut recv, &mut send, "the sender")
    };
    victim.0.kill().unwrap();
    victim.0.wait().unwrap();
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(st) = survivor.0.try_wait().unwrap() {
            break st;
        }
        assert!(t0.elapsed().as_secs() < 60, "{what} hangs");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(survivor.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    println!(
        "{what} stopped {:.1} s after the peer died: {}",
        t0.elapsed().as_secs_f64(),
        err.lines().last().unwrap_or("")
    );
    if kill_sender {
        assert!(!part.exists(), "partial file removed");
        assert!(!out.join("big.bin").exists());
    }
    let _ = std::fs::remove_dir_all(&d);
    (status, err)
}

#[test]
fn a_receiver_killed_mid_transfer_is_reported_by_the_sender() {
    let (status, err) = kill_mid_transfer("gone-r", "18-fern-owl", false);
    assert!(!status.success() && err.contains("went away"), "{err}");
}

#[test]
fn a_sender_killed_mid_transfer_is_reported_by_the_receiver() {
    let (status, err) = kill_mid_transfer("gone-s", "19-fern-owl", true);
    assert!(
        !status.success() && err.contains("the sender went away in the middle of the transfer"),
        "{err}"
    );
}

/// A server started with --token-secret: without a token `tern send` says
/// to pass one; with a `tern-wormhole-*` token from `tern token` both sides
/// get through; a token for another room is refused.
#[test]
fn a_token_protected_server_needs_a_wormhole_token() {
    let (_serve, url, _) = serve_with(&["--stun-listen", "off", "--token-secret", "s3cret"]);
    let token = |room: &str| {
        let o = tern()
            .args(["token", "--secret", "s3cret", "--room", room])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let d = tmp("token");
    let src = d.join("note.txt");
    std::fs::write(&src, b"for token holders").unwrap();
    let out = d.join("out");
    let s = tern()
        .args([
            "send",
            src.to_str().unwrap(),
            "--server",
            &url,
            "--wait",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        !s.status.success() && text(&s).contains("pass --token (or set TERN_TOKEN)"),
        "{}",
        text(&s)
    );
    let s = tern()
        .args(["send", src.to_str().unwrap(), "--server", &url])
        .args(["--token", &token("family")])
        .output()
        .unwrap();
    assert!(
        !s.status.success() && text(&s).contains("token is for another room"),
        "{}",
        text(&s)
    );
    let good = token("tern-wormhole-*");
    let sender = start_send(
        &url,
        &[
            src.to_str().unwrap(),
            "--code",
            "20-fern-owl",
            "--token",
            &good,
        ],
    );
    let r = tern()
        .args(["recv", "20-fern-owl", "--server", &url, "--out"])
        .arg(&out)
        .env("TERN_TOKEN", &good)
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    assert!(
        s.status.success() && r.status.success(),
        "send: {}\nrecv: {}",
        text(&s),
        text(&r)
    );
    assert_eq!(
        std::fs::read(out.join("note.txt")).unwrap(),
        b"for token holders"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// A receiver whose disk is too small says so before any byte moves: here
/// its --out is a 1 MiB tmpfs (mounted in a mount namespace of its own, so
/// nothing outside sees it; root, as the test command has) and 4 MiB come.
#[test]
fn too_little_free_space_is_refused_before_the_transfer() {
    let (_s, url) = serve();
    let d = tmp("space");
    let src = d.join("big.bin");
    write_file(&src, 4 << 20, 9);
    let out = d.join("small");
    std::fs::create_dir_all(&out).unwrap();
    let sender = start_send(
        &url,
        &[
            src.to_str().unwrap(),
            "--code",
            "21-fern-owl",
            "--wait",
            "1",
        ],
    );
    let r = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" recv 21-fern-owl --server "$3" --out "$1""#)
        .arg("sh")
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_tern"))
        .arg(&url)
        .output()
        .expect("unshare (util-linux)");
    let s = sender.wait_with_output().unwrap();
    assert!(
        !r.status.success()
            && text(&r).contains("do not fit in")
            && text(&r).contains("bytes are free there"),
        "{}",
        text(&r)
    );
    assert!(
        !s.status.success()
            && text(&s).contains("the receiver refused")
            && text(&s).contains("do not fit"),
        "{}",
        text(&s)
    );
    // The tmpfs was the receiver's alone: here the directory is still empty.
    assert!(std::fs::read_dir(&out).unwrap().next().is_none());
    let _ = std::fs::remove_dir_all(&d);
}

/// `tern send --text`: the receiver prints exactly the text on standard
/// output; `-` reads it from standard input; too long a text says to send a
/// file instead.
#[test]
fn text_instead_of_files() {
    let (_s, url) = serve();
    let message = "the wifi password is \"correct horse\" ✓";
    let sender = start_send(
        &url,
        &["--text", message, "--code", "22-fern-owl", "--wait", "1"],
    );
    let r = tern()
        .args(["recv", "22-fern-owl", "--server", &url])
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    assert!(
        s.status.success() && r.status.success(),
        "{}\n{}",
        text(&s),
        text(&r)
    );
    assert_eq!(String::from_utf8_lossy(&r.stdout), format!("{message}\n"));
    assert!(String::from_utf8_lossy(&s.stderr).contains("Sending a text of"));
    // From standard input.
    let mut sender = tern()
        .args(["send", "--text", "-", "--server", &url])
        .args(["--code", "23-fern-owl", "--wait", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sender
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\nline two")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let r = tern()
        .args(["recv", "23-fern-owl", "--server", &url])
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    assert!(
        s.status.success() && r.status.success(),
        "{}\n{}",
        text(&s),
        text(&r)
    );
    assert_eq!(String::from_utf8_lossy(&r.stdout), "line one\nline two\n");
    // Too long.
    let s = tern()
        .args(["send", "--text", &"x".repeat(70_000), "--server", &url])
        .output()
        .unwrap();
    assert!(
        !s.status.success() && text(&s).contains("put it in a file and send that"),
        "{}",
        text(&s)
    );
}

/// On a terminal (a pseudo-terminal from `script`), `tern recv` shows what
/// comes and asks: "n" declines (the sender is told, nothing is written),
/// "y" receives; `--yes` skips the question.
#[test]
fn on_a_terminal_recv_asks_first() {
    let (_s, url) = serve();
    let d = tmp("ask");
    let src = d.join("note.txt");
    std::fs::write(&src, b"asked for").unwrap();
    let tern_bin = env!("CARGO_BIN_EXE_tern");
    for (code, answer, extra) in [
        ("24-fern-owl", "n", ""),
        ("25-fern-owl", "y", ""),
        ("26-fern-owl", "", " --yes"),
    ] {
        let out = d.join(code);
        let sender = start_send(
            &url,
            &[src.to_str().unwrap(), "--code", code, "--wait", "1"],
        );
        let mut r = Command::new("script")
            .args(["-qec"])
            .arg(format!(
                "{tern_bin} recv {code} --server {url} --out {}{extra}",
                out.display()
            ))
            .arg("/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux)");
        let mut stdin = r.stdin.take().unwrap();
        if !answer.is_empty() {
            // Answer once the question is up (the pty echoes it back).
            std::thread::sleep(std::time::Duration::from_millis(1500));
            writeln!(stdin, "{answer}").unwrap();
        }
        let r = r.wait_with_output().unwrap();
        drop(stdin);
        let s = sender.wait_with_output().unwrap();
        let seen = text(&r);
        if extra.is_empty() {
            assert!(
                seen.contains("Receive 1 file(s)")
                    && seen.contains("note.txt")
                    && seen.contains("[Y/n]"),
                "{seen}"
            );
        } else {
            assert!(!seen.contains("[Y/n]"), "{seen}");
        }
        if answer == "n" {
            assert!(!r.status.success(), "{seen}");
            assert!(
                text(&s).contains("the receiver refused: the receiver declined"),
                "{}",
                text(&s)
            );
            assert!(!out.join("note.txt").exists());
        } else {
            assert!(
                r.status.success() && s.status.success(),
                "{seen}\n{}",
                text(&s)
            );
            assert_eq!(std::fs::read(out.join("note.txt")).unwrap(), b"asked for");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A waiting sender keeps its place: the CLI pings the server while it
/// waits, so a server that drops silent members (after 7 s here, 30 s by
/// default) keeps the sender until the receiver comes 12 s later. Before
/// the CLI sent heartbeats, the default 10-minute `--wait` could never be
/// reached.
#[test]
fn a_waiting_sender_outlives_the_servers_heartbeat_timeout() {
    let d = tmp("heartbeat");
    let cfg = d.join("serve.toml");
    std::fs::write(&cfg, "heartbeat_timeout_secs = 7\n").unwrap();
    let (_server, url, _) =
        serve_with(&["--stun-listen", "off", "--config", cfg.to_str().unwrap()]);
    let sender = start_send(
        &url,
        &[
            "--text",
            "still here",
            "--code",
            "31-fern-owl",
            "--wait",
            "1",
        ],
    );
    std::thread::sleep(std::time::Duration::from_secs(12));
    let r = tern()
        .args(["recv", "31-fern-owl", "--server", &url])
        .output()
        .unwrap();
    let s = sender.wait_with_output().unwrap();
    assert!(
        s.status.success() && r.status.success(),
        "{}\n{}",
        text(&s),
        text(&r)
    );
    assert_eq!(String::from_utf8_lossy(&r.stdout), "still here\n");
    let _ = std::fs::remove_dir_all(&d);
}

/// A symbolic link already inside `--out` does not let a sender write
/// outside it: a directory named like the link is refused, and nothing
/// lands where the link points.
#[test]
fn a_link_inside_out_is_never_written_through() {
    let (_s, url) = serve();
    let d = tmp("linkout");
    let src = d.join("docs");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("passwd"), b"pwned").unwrap();
    let out = d.join("out");
    let outside = d.join("outside");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("docs")).unwrap();
    let (s, r) = transfer(
        &url,
        &[&src],
        "32-fern-owl",
        "32-fern-owl",
        &out,
        &["--yes"],
    );
    assert!(!r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("symbolic link"), "{}", text(&r));
    assert!(!s.status.success(), "the sender is told: {}", text(&s));
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
    let _ = std::fs::remove_dir_all(&d);
}
