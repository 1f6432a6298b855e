//! `tern serve` with a config file, as an operator runs it.
#![allow(clippy::disallowed_methods)] // processes and real time

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_config_file_sets_what_flags_do_not() {
    let dir = std::env::temp_dir().join(format!("tern-serve-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("tern.toml");
    std::fs::write(
        &cfg,
        "listen = \"127.0.0.1:0\"\nstun_listen = \"off\"\ntoken_secret = \"from-file\"\nroom_size = 3\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(!line.contains("STUN"), "stun off from the file: {line}");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    ws.send(Message::Text(r#"{"type":"join","room":"r"}"#.into()))
        .await
        .unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("an answer")
    };
    assert!(
        t.contains("unauthorized"),
        "the token secret from the file applies: {t}"
    );
    let _ = child.kill();
    let _ = child.wait();

    // A bad file is refused with the file's name and the problem.
    std::fs::write(&cfg, "listen = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("tern.toml") && err.contains("listen"),
        "{err}"
    );
    std::fs::write(&cfg, "lisen = \"127.0.0.1:0\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("lisen"),
        "unknown keys are errors: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Kills the server we started if the test fails midway.
struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_members_cost_little_server_memory() {
    let members: usize = std::env::var("IDLE_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stun-listen",
            "off",
            "--room-size",
            "100",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child = Kill(child);
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    // Warm up (one member joins and leaves) before the baseline.
    {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        ws.send(Message::Text(r#"{"type":"join","room":"warm"}"#.into()))
            .await
            .unwrap();
        ws.next().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = rss_kib(child.0.id());
    let mut keep = Vec::new();
    for i in 0..members {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let join = format!(
            r#"{{"type":"join","room":"idle{}","name":"m{i}"}}"#,
            i / 100
        );
        ws.send(Message::Text(join.into())).await.unwrap();
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("joined")
        };
        assert!(t.contains("joined"), "{t}");
        keep.push(ws);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = rss_kib(child.0.id());
    let per = (after.saturating_sub(before)) as f64 / members as f64;
    println!(
        "tern serve: {members} idle members: RSS {before} -> {after} KiB, {per:.1} KiB per member"
    );
    assert!(per < 64.0, "{per:.1} KiB per idle member");
    drop(keep);
    drop(child);
}

#[tokio::test]
async fn tern_token_prints_a_token_the_server_accepts() {
    let tok = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["token", "--secret", "s3", "--room", "lobby", "--ttl", "60"])
        .output()
        .unwrap();
    let token = String::from_utf8(tok.stdout).unwrap().trim().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stun-listen",
            "off",
            "--token-secret",
            "s3",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap();
    let url = format!(
        "{}/ws",
        addr.replace("http://", "ws://").trim_end_matches('/')
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let join = format!(r#"{{"type":"join","room":"lobby","token":"{token}"}}"#);
    ws.send(Message::Text(join.into())).await.unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("an answer")
    };
    assert!(t.contains("\"joined\""), "{t}");
}

#[test]
fn tern_token_refuses_a_ttl_that_would_wrap() {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "token",
            "--secret",
            "s3",
            "--room",
            "lobby",
            "--ttl",
            "18446744073709551615",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "no wrapped, expired token");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--ttl") && err.contains("too large"), "{err}");
}
