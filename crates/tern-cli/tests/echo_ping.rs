//! `tern echo` and `tern ping` as a user runs them: two processes on loopback.
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

mod common;

struct Echo {
    process: common::Proc,
    url: String,
}

fn echo() -> Echo {
    echo_with(&[])
}

fn echo_with(extra: &[&str]) -> Echo {
    let mut args = vec!["echo", "--http", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let (process, url, _) = common::printing_url(&args);
    Echo { process, url }
}

fn ping(url: &str, extra: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("ping")
        .arg(url)
        .arg("--json")
        .args(extra)
        .output()
        .expect("tern ping runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn ping_against_echo_in_every_mode() {
    let e = echo_with(&["--negotiated", "100", "--negotiated", "101"]);
    for extra in [
        vec!["--count", "100"],
        vec!["--bytes", "8388608", "--size", "65536"],
        vec!["--count", "300", "--size", "262144"],
        vec!["--text", "--count", "50", "--size", "100"],
        vec!["--count", "20", "--size", "0"],
        vec!["--text", "--count", "20", "--size", "0"],
        vec!["--unordered", "--count", "200", "--channels", "10"],
        vec!["--max-retransmits", "0", "--unordered", "--count", "200"],
        vec!["--max-packet-life-time", "500", "--count", "200"],
        vec!["--negotiated", "100", "--channels", "2", "--count", "100"],
    ] {
        let (ok, j, err) = ping(&e.url, &extra);
        assert!(ok, "{extra:?}: {err} {j}");
        assert_eq!(j["ok"], true, "{extra:?}");
        assert_eq!(
            j["sent"], j["received"],
            "{extra:?}: loopback loses nothing"
        );
        assert!(j["setup_ms"].as_f64().unwrap() > 0.0);
        let channels: u64 = extra
            .iter()
            .position(|a| *a == "--channels")
            .map_or(1, |i| extra[i + 1].parse().unwrap());
        assert_eq!(
            j["channels_closed"], channels,
            "{extra:?}: closed on both sides"
        );
        for key in ["rtt_ms_p50", "rtt_ms_p99", "throughput_MBps"] {
            assert!(j[key].is_number(), "{key} in {j}");
        }
    }
}

#[test]
fn many_peers_at_once() {
    let e = echo();
    let url = e.url.clone();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || ping(&url, &["--count", "200", "--channels", "3"]))
        })
        .collect();
    for t in threads {
        let (ok, j, err) = t.join().unwrap();
        assert!(ok, "{err} {j}");
    }
}

#[test]
fn clear_errors_for_user_mistakes() {
    // Nothing listening.
    let (ok, _, err) = ping("http://127.0.0.1:9", &["--timeout", "5"]);
    assert!(!ok);
    assert!(
        err.contains("cannot reach") && err.contains("tern echo"),
        "{err}"
    );
    // Not a URL / not http.
    for (url, want) in [
        ("nonsense", "full http:// URL"),
        ("https://127.0.0.1:1", "https is not supported"),
    ] {
        let (ok, _, err) = ping(url, &[]);
        assert!(!ok && err.contains(want), "{url}: {err}");
    }
    // Inconsistent flags.
    let (ok, _, err) = ping(
        "http://127.0.0.1:9",
        &["--max-retransmits", "1", "--max-packet-life-time", "5"],
    );
    assert!(!ok && err.contains("not both"), "{err}");
    // The echo refuses garbage with 400 and a reason, and answers CORS preflights.
    let e = echo();
    let addr = e.url.trim_start_matches("http://");
    let post = |body: &str| {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    let r = post("not json");
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("expected JSON"),
        "{r}"
    );
    let r = post(r#"{"type":"answer","sdp":"v=0"}"#);
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("expected a description of type offer"),
        "{r}"
    );
    let r = post(r#"{"type":"offer","sdp":"garbage"}"#);
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("bad offer") && r.contains("SDP line 1"),
        "{r}"
    );
    assert!(
        r.to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{r}"
    );
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "OPTIONS /offer HTTP/1.1\r\nHost: x\r\nOrigin: http://elsewhere\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n").unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    assert!(
        r.starts_with("HTTP/1.1 204")
            && r.to_ascii_lowercase()
                .contains("access-control-allow-methods"),
        "{r}"
    );
    // A full echo answers 503 with a reason.
    let busy = echo_with(&["--max-peers", "0"]);
    let (ok, _, err) = ping(&busy.url, &["--timeout", "5"]);
    assert!(!ok && err.contains("503") && err.contains("busy"), "{err}");
    // GET / serves the browser page.
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("RTCPeerConnection"),
        "{r}"
    );
}

#[test]
fn a_peer_that_never_answers_or_vanishes_fails_in_bounded_time() {
    // An HTTP endpoint that accepts the offer and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(6));
        drop(s);
    });
    let t0 = std::time::Instant::now();
    let (ok, _, err) = ping(&url, &["--timeout", "2"]);
    assert!(!ok && err.contains("did not answer within 2 s"), "{err}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    hold.join().unwrap();

    // The echo vanishes in the middle of a transfer.
    let mut e = echo();
    let url = e.url.clone();
    let t0 = std::time::Instant::now();
    let pinger = std::thread::spawn(move || {
        ping(
            &url,
            &["--bytes", "4294967296", "--size", "65536", "--timeout", "3"],
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    e.process.0.kill().unwrap();
    let (ok, j, err) = pinger.join().unwrap();
    assert!(!ok, "{j}");
    assert!(
        err.contains("stopped acknowledging") || err.contains("came back"),
        "{err}"
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(12),
        "{:?}",
        t0.elapsed()
    );
}
