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
