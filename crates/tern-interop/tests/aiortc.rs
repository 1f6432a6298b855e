//! aiortc ↔ tern data channels, both roles, on loopback: aiortc offers to
//! `tern echo`, and `tern ping` offers to an aiortc echo.
#![allow(clippy::disallowed_methods)] // real processes, real time

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tern_interop::browser::tern_binary;
use tern_interop::Peer;

/// The Python with aiortc: $TERN_AIORTC_PYTHON, else the venv scripts/test makes.
fn python() -> PathBuf {
    let p = std::env::var_os("TERN_AIORTC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv/bin/python")
        });
    assert!(
        p.is_file(),
        "{} is missing: run scripts/test (it makes the venv with `pip install aiortc`)",
        p.display()
    );
    p
}

fn script(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
        .display()
        .to_string()
}

fn url_of(p: &Peer) -> String {
    assert!(
        p.wait_for("listening on http://", Duration::from_secs(20)),
        "{}",
        p.output()
    );
    p.output()
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL")
        .to_string()
}

#[test]
fn aiortc_offers_to_tern_echo() {
    let echo = Peer::start(
        "tern-echo",
        &tern_binary(),
        &["echo", "--http", "127.0.0.1:0", "--negotiated", "7"].map(String::from),
    );
    let url = url_of(&echo);
    let out = Command::new(python())
        .arg(script("aiortc_ping.py"))
        .arg(&url)
        .arg("7")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no results from aiortc: {}\n{stdout}\ntern echo: {}",
                String::from_utf8_lossy(&out.stderr),
                echo.output()
            )
        });
    let mut failed = Vec::new();
    for r in results.as_array().expect("list") {
        println!(
            "{:<35} {} {}",
            r["name"].as_str().unwrap_or("?"),
            if r["ok"] == true { "ok" } else { "FAILED" },
            r["detail"].as_str().unwrap_or("")
        );
        if r["ok"] != true {
            failed.push(r["name"].to_string());
        }
    }
    assert_eq!(results.as_array().unwrap().len(), 9, "every scenario ran");
    assert!(failed.is_empty(), "failed: {failed:?}");
}

#[test]
fn tern_ping_offers_to_aiortc() {
    let peer = Peer::start(
        "aiortc-echo",
        &python(),
        // Negotiated ids far from the DCEP ones (1, 3, 5, … for tern ping).
        &[script("aiortc_echo.py"), "100".into(), "101".into()],
    );
    let url = url_of(&peer);
    // aiortc announces a=max-message-size:262144.
    let cases: [(&str, Vec<&str>, bool); 8] = [
        ("one message", vec!["--count", "1"], true),
        (
            "2,000 small messages",
            vec!["--count", "2000", "--size", "16"],
            true,
        ),
        (
            "8 MiB in 64 KiB messages",
            vec!["--bytes", "8388608", "--size", "65536"],
            true,
        ),
        (
            "text, empty",
            vec!["--text", "--count", "10", "--size", "0"],
            true,
        ),
        ("unordered", vec!["--unordered", "--count", "500"], true),
        (
            "max_retransmits 0",
            vec!["--unordered", "--max-retransmits", "0", "--count", "500"],
            false,
        ),
        (
            "10 channels",
            vec!["--channels", "10", "--count", "200"],
            true,
        ),
        (
            "negotiated",
            vec!["--negotiated", "100", "--channels", "2", "--count", "100"],
            true,
        ),
    ];
    for (name, args, reliable) in cases {
        let out = Command::new(tern_binary())
            .args(["ping", &url, "--json", "--timeout", "60"])
            .args(&args)
            .output()
            .expect("tern ping runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}\n{stdout}\naiortc: {}",
            String::from_utf8_lossy(&out.stderr),
            peer.output()
        );
        let j: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("JSON");
        println!("{name:<26} {j}");
        assert_eq!(j["corrupted"], 0, "{name}");
        if reliable {
            assert_eq!(j["sent"], j["received"], "{name}");
        }
    }
    // A message above aiortc's announced limit is refused with a clear error.
    let out = Command::new(tern_binary())
        .args(["ping", &url, "--count", "1", "--size", "300000"])
        .output()
        .expect("tern ping runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("exceeds the peer's limit of 262144"),
        "{err}"
    );
}
