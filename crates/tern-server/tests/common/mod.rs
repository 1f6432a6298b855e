//! Helpers shared by the hardening tests.
#![allow(dead_code)] // each test binary uses some of them

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tern_server::{Limits, ServeConfig, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn server(limits: Limits) -> Server {
    server_with(ServeConfig {
        limits,
        ..ServeConfig::default()
    })
    .await
}

pub async fn server_with(config: ServeConfig) -> Server {
    Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    })
    .await
    .unwrap()
}

pub async fn connect(s: &Server) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}/ws", s.http_addr))
        .await
        .unwrap()
        .0
}

pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON message (skipping pongs), within 5 s; `None` once closed.
pub async fn recv(ws: &mut Ws) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "pong" {
                    return Some(v);
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

pub async fn join(ws: &mut Ws, room: &str, name: &str) -> Value {
    send(ws, json!({"type": "join", "room": room, "name": name})).await;
    let j = recv(ws).await.expect("open");
    assert_eq!(j["type"], "joined", "{j}");
    j
}

pub async fn metric(s: &Server, name: &str) -> u64 {
    let mut t = TcpStream::connect(s.http_addr).await.unwrap();
    t.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    t.read_to_string(&mut out).await.unwrap();
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} "))?.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {out}"))
}

pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Whether the server closes `t` within `within` (reading nothing).
pub async fn closed_within(t: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let end = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, t.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {} // e.g. an HTTP error response before the close
            Err(_) => return false,
        }
    }
}
