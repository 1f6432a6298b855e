//! Chromium (libwebrtc) ↔ tern data channels, both directions, on loopback:
//! Chromium offers to `tern echo`, and `tern ping` offers to a page in
//! Chromium that answers and echoes.
#![allow(clippy::disallowed_methods)] // real processes, real time

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tern_interop::browser::{start_chromium, tern_binary, Harness};
use tern_interop::Peer;

fn start_echo(extra: &[&str]) -> (Peer, String) {
    let mut args = vec!["echo".to_string(), "--http".into(), "127.0.0.1:0".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let echo = Peer::start("tern-echo", &tern_binary(), &args);
    assert!(
        echo.wait_for("listening on http://", Duration::from_secs(10)),
        "{}",
        echo.output()
    );
    let out = echo.output();
    let url = out
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("echo URL")
        .to_string();
    (echo, url)
}

#[test]
fn chromium_offers_to_tern_echo() {
    let (echo, echo_url) = start_echo(&["--negotiated", "7"]);
    let harness = Harness::start();
    let _chromium = start_chromium(&format!(
        "{}/offerer.html?echo={echo_url}&negotiated=7",
        harness.url
    ));
    let result = harness
        .wait_result(Duration::from_secs(180))
        .unwrap_or_else(|| {
            panic!(
                "no result from the page; tern echo said:\n{}",
                echo.output()
            )
        });
    let mut failed = Vec::new();
    for r in result.as_array().expect("a list of results") {
        println!(
            "{:<55} {} {}",
            r["name"].as_str().unwrap_or("?"),
            if r["ok"] == true { "ok" } else { "FAILED" },
            r["detail"].as_str().unwrap_or("")
        );
        if r["ok"] != true {
            failed.push(r["name"].to_string());
        }
    }
    assert!(
        result.as_array().unwrap().len() >= 11,
        "every scenario ran: {result}"
    );
    assert!(
        failed.is_empty(),
        "failed: {failed:?}\ntern echo:\n{}",
        echo.output()
    );
}

fn ping(url: &str, extra: &[&str]) -> Value {
    let out = Command::new(tern_binary())
        .arg("ping")
        .arg(url)
        .arg("--json")
        .args(["--timeout", "60"])
        .args(extra)
        .output()
        .expect("tern ping runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let j: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert!(
        out.status.success(),
        "tern ping {extra:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    j
}

#[test]
fn tern_ping_offers_to_chromium() {
    let harness = Harness::start();
    let _chromium = start_chromium(&format!("{}/answerer.html", harness.url));
    let cases: [(&str, Vec<&str>, bool); 9] = [
        ("one message", vec!["--count", "1"], true),
        (
            "10,000 small messages",
            vec!["--count", "10000", "--size", "16"],
            true,
        ),
        (
            "64 MiB in 64 KiB messages",
            vec!["--bytes", "67108864", "--size", "65536"],
            true,
        ),
        (
            "a 256 KiB message",
            vec!["--count", "1", "--size", "262144"],
            true,
        ),
        (
            "text, empty",
            vec!["--text", "--count", "10", "--size", "0"],
            true,
        ),
        ("unordered", vec!["--unordered", "--count", "1000"], true),
        (
            "max_retransmits 0",
            vec!["--unordered", "--max-retransmits", "0", "--count", "1000"],
            false,
        ),
        (
            "50 channels",
            vec!["--channels", "50", "--count", "500"],
            true,
        ),
        (
            "negotiated",
            vec!["--negotiated", "9", "--channels", "2", "--count", "100"],
            true,
        ),
    ];
    for (name, args, reliable) in cases {
        harness.clear_events();
        harness.set_negotiated(if name == "negotiated" {
            vec![9, 10]
        } else {
            vec![]
        });
        let j = ping(&harness.url, &args);
        println!("{name:<28} {j}");
        assert_eq!(j["ok"], true, "{name}");
        assert_eq!(j["corrupted"], 0, "{name}");
        if reliable {
            assert_eq!(j["sent"], j["received"], "{name}");
        }
        let channels: u64 = args
            .iter()
            .position(|a| *a == "--channels")
            .map_or(1, |i| args[i + 1].parse().unwrap());
        // tern ping closes each channel at the end; Chromium must see it.
        assert_eq!(
            j["channels_closed"], channels,
            "{name}: closed on both sides"
        );
        let t0 = std::time::Instant::now();
        while harness
            .events()
            .iter()
            .filter(|e| e["kind"] == "close")
            .count()
            < channels as usize
            && t0.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let closes = harness
            .events()
            .iter()
            .filter(|e| e["kind"] == "close")
            .count();
        assert_eq!(
            closes, channels as usize,
            "{name}: Chromium saw every channel close"
        );
    }
}
