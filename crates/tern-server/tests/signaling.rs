//! The signaling server over real WebSockets on loopback: rooms, presence,
//! relay, reconnection, expiry, tokens, limits and bad input.
#![allow(clippy::disallowed_methods)] // real sockets, real time

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tern_server::{Claims, Limits, ServeConfig, Server, TokenKey};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn server(limits: Limits, secret: Option<&str>) -> Server {
    Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        stun_listen: Some("127.0.0.1:0".parse().unwrap()),
        limits,
        token_secret: secret.map(String::from),
        ..ServeConfig::default()
    })
    .await
    .unwrap()
}

async fn connect(s: &Server) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", s.http_addr))
        .await
        .unwrap();
    ws
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON message (skipping pongs), within 5 s.
async fn recv(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "pong" {
                return v;
            }
        }
    }
}

async fn join(ws: &mut Ws, room: &str, name: &str) -> Value {
    send(ws, json!({"type": "join", "room": room, "name": name})).await;
    let j = recv(ws).await;
    assert_eq!(j["type"], "joined", "{j}");
    j
}

#[tokio::test]
async fn rooms_presence_relay_and_leave() {
    let s = server(Limits::default(), None).await;
    let mut a = connect(&s).await;
    let mut b = connect(&s).await;
    let ja = join(&mut a, "r1", "alice").await;
    assert_eq!(ja["members"], json!([]));
    let jb = join(&mut b, "r1", "bob").await;
    assert_eq!(jb["members"][0]["name"], "alice");
    let seen = recv(&mut a).await;
    assert_eq!(seen["type"], "member-joined");
    assert_eq!(seen["member"]["name"], "bob");
    let (ida, idb) = (
        ja["member"].as_str().unwrap(),
        jb["member"].as_str().unwrap(),
    );
    send(
        &mut a,
        json!({"type": "signal", "to": idb, "data": {"sdp": "offer"}}),
    )
    .await;
    let got = recv(&mut b).await;
    assert_eq!(
        got,
        json!({"type": "signal", "from": ida, "data": {"sdp": "offer"}})
    );
    send(&mut b, json!({"type": "signal", "to": ida, "data": [1, 2]})).await;
    assert_eq!(recv(&mut a).await["data"], json!([1, 2]));
    send(&mut b, json!({"type": "leave"})).await;
    assert_eq!(
        recv(&mut a).await,
        json!({"type": "member-left", "member": idb})
    );
    send(&mut a, json!({"type": "ping"})).await;
    let metrics = http_get(&s, "/metrics").await;
    assert!(
        metrics.contains("tern_messages_relayed_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tern_rooms 1") && metrics.contains("tern_members 1"),
        "{metrics}"
    );
    assert_eq!(http_get(&s, "/healthz").await.trim(), "ok");
}

async fn http_get(s: &Server, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut t = TcpStream::connect(s.http_addr).await.unwrap();
    t.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    t.read_to_string(&mut out).await.unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn bad_input_gets_an_error_and_disturbs_nobody() {
    let limits = Limits {
        max_message: 1024,
        rate: 20,
        burst: 40,
        room_size: 2,
        ..Limits::default()
    };
    let s = server(limits, None).await;
    // A quiet pair in another room, checked at the end.
    let mut q1 = connect(&s).await;
    let mut q2 = connect(&s).await;
    join(&mut q1, "quiet", "q1").await;
    let j2 = join(&mut q2, "quiet", "q2").await;
    recv(&mut q1).await; // q2 joined

    let mut x = connect(&s).await;
    let code = |v: Value| v["code"].as_str().unwrap_or("").to_string();
    send(&mut x, json!({"type": "signal", "to": "nobody", "data": 1})).await;
    assert_eq!(code(recv(&mut x).await), "not-joined");
    x.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(code(recv(&mut x).await), "bad-json");
    send(&mut x, json!({"type": "teleport"})).await;
    assert_eq!(code(recv(&mut x).await), "bad-json");
    x.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(code(recv(&mut x).await), "bad-json");
    x.send(Message::Text("x".repeat(2000).into()))
        .await
        .unwrap();
    assert_eq!(code(recv(&mut x).await), "too-large");
    send(&mut x, json!({"type": "join", "room": "bad room!"})).await;
    assert_eq!(code(recv(&mut x).await), "bad-room");
    send(&mut x, json!({"type": "join", "room": "quiet"})).await;
    assert_eq!(code(recv(&mut x).await), "room-full");
    join(&mut x, "noisy", "x").await;
    send(&mut x, json!({"type": "signal", "to": "ghost", "data": 1})).await;
    assert_eq!(code(recv(&mut x).await), "unknown-member");
    // A flood: beyond the burst, messages are refused with one
    // rate-limited per second, and a connection that keeps flooding (here
    // four times its burst at once) is closed.
    for _ in 0..200 {
        if x.send(Message::Text(json!({"type": "ping"}).to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut limited = 0;
    let mut closed = false;
    loop {
        match tokio::time::timeout(Duration::from_millis(2000), x.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => limited += usize::from(t.contains("rate-limited")),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                closed = true;
                break;
            }
            Ok(Some(Ok(_))) => {}
            Err(_) => break,
        }
    }
    assert!(closed, "a flooding connection is closed");
    assert!((1..=2).contains(&limited), "{limited} rate-limited answers");
    // The quiet room still works.
    let id2 = j2["member"].as_str().unwrap();
    send(
        &mut q1,
        json!({"type": "signal", "to": id2, "data": "still here"}),
    )
    .await;
    assert_eq!(recv(&mut q2).await["data"], "still here");
    let metrics = http_get(&s, "/metrics").await;
    assert!(!metrics.contains("tern_errors_total 0"), "{metrics}");
}

#[tokio::test]
async fn tokens_are_required_when_configured() {
    let s = server(Limits::default(), Some("s3cret")).await;
    let key = TokenKey::new(b"s3cret");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut c = connect(&s).await;
    send(&mut c, json!({"type": "join", "room": "r"})).await;
    let e = recv(&mut c).await;
    assert_eq!(e["code"], "unauthorized", "{e}");
    let expired = key.sign(&Claims {
        room: "r".into(),
        exp: now - 1,
    });
    send(
        &mut c,
        json!({"type": "join", "room": "r", "token": expired}),
    )
    .await;
    assert!(recv(&mut c).await["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    let other = key.sign(&Claims {
        room: "other".into(),
        exp: now + 60,
    });
    send(&mut c, json!({"type": "join", "room": "r", "token": other})).await;
    assert!(recv(&mut c).await["message"]
        .as_str()
        .unwrap()
        .contains("another room"));
    let good = key.sign(&Claims {
        room: "r".into(),
        exp: now + 60,
    });
    send(&mut c, json!({"type": "join", "room": "r", "token": good})).await;
    assert_eq!(recv(&mut c).await["type"], "joined");
}

#[tokio::test]
async fn reconnection_keeps_the_member_and_silence_expires_it() {
    let limits = Limits {
        heartbeat_timeout: Duration::from_millis(600),
        reconnect_grace: Duration::from_millis(800),
        ..Limits::default()
    };
    let s = server(limits, None).await;
    let mut a = connect(&s).await;
    let mut b = connect(&s).await;
    join(&mut a, "r", "a").await;
    let jb = join(&mut b, "r", "b").await;
    recv(&mut a).await; // b joined
                        // b's connection drops; it comes back with its id and secret in time.
    drop(b);
    let mut b2 = connect(&s).await;
    send(
        &mut b2,
        json!({"type": "join", "room": "r", "member": jb["member"], "secret": jb["secret"]}),
    )
    .await;
    let again = recv(&mut b2).await;
    assert_eq!(again["member"], jb["member"], "same member id");
    // a keeps pinging; b2 goes silent: after the heartbeat timeout and the
    // grace period, a hears that b left.
    let mut left = None;
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        send(&mut a, json!({"type": "ping"})).await;
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(100), a.next()).await
        {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "member-left" {
                left = Some(v);
                break;
            }
        }
    }
    let left = left.expect("b expired");
    assert_eq!(left["member"], jb["member"]);
    // A wrong secret does not take over a membership.
    let mut c = connect(&s).await;
    send(
        &mut c,
        json!({"type": "join", "room": "r", "member": "x", "secret": "guess"}),
    )
    .await;
    assert_ne!(recv(&mut c).await["member"], "x");
}

#[tokio::test]
async fn stun_binding_answers_with_the_reflexive_address() {
    use tern_stun::{method, Class, Message as Stun, MessageBuilder, MessageType, TransactionId};
    let s = server(Limits::default(), None).await;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut req = Vec::new();
    MessageBuilder::new(
        &mut req,
        MessageType::new(Class::Request, method::BINDING),
        TransactionId::random(&mut tern_crypto::OsRandom),
    );
    sock.send_to(&req, s.stun_addr.unwrap()).await.unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let m = Stun::parse(&buf[..n]).unwrap();
    assert_eq!(m.class(), Class::SuccessResponse);
    assert_eq!(m.mapped_address(), Some(sock.local_addr().unwrap()));
    let metrics = http_get(&s, "/metrics").await;
    assert!(metrics.contains("tern_stun_requests_total 1"), "{metrics}");
    let cfg = http_get(&s, "/config").await;
    assert!(
        cfg.contains(&format!("stun:x:{}", s.stun_addr.unwrap().port())),
        "{cfg}"
    );
}

#[tokio::test]
async fn tls_serves_https_and_websocket_upgrades() {
    let cert =
        tern_crypto::cert::Certificate::generate_self_signed(&mut tern_crypto::OsRandom).unwrap();
    let dir = std::env::temp_dir().join(format!("tern-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.cert_pem()).unwrap();
    std::fs::write(&k, cert.key_pem()).unwrap();
    let s = Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some((c.clone(), k.clone())),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    assert!(s.tls);
    let base = format!("https://{}", s.http_addr);
    let curl = |args: Vec<String>| async move {
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(args)
                .output()
                .expect("curl runs")
        })
        .await
        .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let health = curl(vec!["-sk".into(), format!("{base}/healthz")]).await;
    assert_eq!(health.trim(), "ok");
    let upgrade = curl(
        [
            "-sk",
            "-i",
            "--http1.1",
            "--max-time",
            "2",
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("{base}/ws")])
        .collect(),
    )
    .await;
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");
    // Plain HTTP to the TLS port is refused; a bad key file is a clear error.
    assert!(
        curl(vec!["-s".into(), format!("http://{}/healthz", s.http_addr)])
            .await
            .trim()
            != "ok"
    );
    std::fs::write(&k, "not a key").unwrap();
    let e = Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some((c, k)),
        ..ServeConfig::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(
        e.to_string().contains("TLS certificate or key unusable"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn public_ip_names_the_stun_server_for_browsers() {
    let s = Server::start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        stun_listen: Some("127.0.0.1:0".parse().unwrap()),
        public_ip: Some("203.0.113.7".parse().unwrap()),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let cfg = http_get(&s, "/config").await;
    let port = s.stun_addr.unwrap().port();
    assert!(cfg.contains(&format!("stun:203.0.113.7:{port}")), "{cfg}");
}
