//! The signaling server against hostile or broken clients (issue 13), over
//! real sockets on loopback, each attack bounded in count and time: members
//! that never read, slowloris and idle floods, quotas, frame floods, foreign
//! origins, expiring tokens, taken-over memberships, echoing input, STUN.
#![allow(clippy::disallowed_methods)] // real sockets, real time

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tern_server::{Claims, Limits, ServeConfig, TokenKey};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Item 2: partial HTTP requests (slowloris), idle TCP connections and
/// WebSockets that never join are closed after the header and join
/// timeouts, and a legitimate client joins within 1 s throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_idle_floods_are_closed_and_clients_still_join() {
    let s = server(Limits {
        header_timeout: Duration::from_secs(1),
        join_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let addr = s.http_addr;
    let mut slow = Vec::new();
    let mut idle = Vec::new();
    for _ in 0..100 {
        let mut t = TcpStream::connect(addr).await.unwrap();
        t.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
            .await
            .unwrap();
        slow.push(t);
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Slowloris: one more header byte every 200 ms, never the blank line.
    let trickle = tokio::spawn(async move {
        for _ in 0..15 {
            for t in &mut slow {
                let _ = t.write_all(b"X").await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        slow
    });
    // WebSockets that only ping, never join.
    let mut lurkers = Vec::new();
    for _ in 0..100 {
        lurkers.push(connect(&s).await);
    }
    let lurk = tokio::spawn(async move {
        let mut closed = 0;
        for _ in 0..15 {
            closed = 0;
            for ws in &mut lurkers {
                if ws
                    .send(Message::Text(json!({"type": "ping"}).to_string().into()))
                    .await
                    .is_err()
                {
                    closed += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        closed
    });
    let mut worst = Duration::ZERO;
    for i in 0..12 {
        let t0 = Instant::now();
        let mut ws = connect(&s).await;
        join(&mut ws, &format!("legit{i}"), "me").await;
        worst = worst.max(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("a legitimate join took at most {worst:?} during the floods");
    assert!(worst < Duration::from_secs(1), "{worst:?}");
    let mut slow = trickle.await.unwrap();
    let lurkers_closed = lurk.await.unwrap();
    assert_eq!(lurkers_closed, 100, "WebSockets that never join are closed");
    for (what, conns) in [("slowloris", &mut slow), ("idle", &mut idle)] {
        for t in conns.iter_mut() {
            assert!(
                closed_within(t, Duration::from_secs(2)).await,
                "{what} connection still open"
            );
        }
    }
}

/// Item 2: the per-IP cap refuses connections at accept, and frees places
/// as connections close.
#[tokio::test]
async fn the_per_ip_connection_cap_refuses_then_recovers() {
    let s = server(Limits {
        connections_per_ip: 20,
        header_timeout: Duration::from_millis(800),
        ..Limits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(s.http_addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(s.http_addr).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_millis(300)).await,
        "the 21st connection is refused"
    );
    // The idle ones time out; then there is room again.
    for t in &mut idle {
        assert!(closed_within(t, Duration::from_secs(2)).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ws = connect(&s).await;
    join(&mut ws, "r", "me").await;
    assert!(metric(&s, "tern_refused_connections_total").await >= 1);
}

/// Item 3: rooms and members per IP address, members in their grace period
/// included; leaving frees the quota.
#[tokio::test]
async fn rooms_and_members_per_address_are_capped() {
    let s = server(Limits {
        rooms_per_ip: 3,
        members_per_ip: 5,
        ..Limits::default()
    })
    .await;
    // Join and abort: the member stays in its grace period, the room open.
    for i in 0..3 {
        let mut ws = connect(&s).await;
        join(&mut ws, &format!("r{i}"), "ghost").await;
    }
    let mut c = connect(&s).await;
    send(&mut c, json!({"type": "join", "room": "r3"})).await;
    let e = recv(&mut c).await.unwrap();
    assert_eq!(e["code"], "quota", "{e}");
    assert!(!e["message"].as_str().unwrap().contains("r3"));
    // Existing rooms can still be joined, up to the member quota.
    join(&mut c, "r0", "two").await;
    let mut d = connect(&s).await;
    join(&mut d, "r1", "three").await;
    let mut e2 = connect(&s).await;
    send(&mut e2, json!({"type": "join", "room": "r2"})).await;
    assert_eq!(recv(&mut e2).await.unwrap()["code"], "quota");
    // Leaving gives a place back.
    send(&mut d, json!({"type": "leave"})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    join(&mut e2, "r2", "four").await;
}

/// Item 5: foreign origins are refused; the server's own, configured ones
/// and clients without an Origin are let in.
#[tokio::test]
async fn only_allowed_origins_may_upgrade() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = server_with(ServeConfig {
        allowed_origins: vec!["https://app.example".into()],
        ..ServeConfig::default()
    })
    .await;
    let host = s.http_addr.to_string();
    let try_origin = |origin: Option<String>| {
        let url = format!("ws://{host}/ws");
        async move {
            let mut req = url.into_client_request().unwrap();
            if let Some(o) = origin {
                req.headers_mut().insert("origin", o.parse().unwrap());
            }
            tokio_tungstenite::connect_async(req).await.is_ok()
        }
    };
    assert!(try_origin(None).await, "no Origin: not a browser");
    assert!(
        try_origin(Some(format!("http://{host}"))).await,
        "same origin"
    );
    assert!(try_origin(Some("https://app.example".into())).await);
    assert!(!try_origin(Some("https://evil.example".into())).await);
    assert!(!try_origin(Some(format!("http://{host}.evil.example"))).await);
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Item 5: a member is disconnected when its token expires (and the room
/// hears it left), not only checked at join.
#[tokio::test]
async fn a_member_is_disconnected_when_its_token_expires() {
    let s = server_with(ServeConfig {
        token_secret: Some("k".into()),
        ..ServeConfig::default()
    })
    .await;
    let key = TokenKey::new(b"k");
    let token = |exp| {
        key.sign(&Claims {
            room: "r".into(),
            exp,
        })
    };
    let mut long = connect(&s).await;
    send(
        &mut long,
        json!({"type": "join", "room": "r", "token": token(unix_now() + 600)}),
    )
    .await;
    assert_eq!(recv(&mut long).await.unwrap()["type"], "joined");
    let mut short = connect(&s).await;
    send(
        &mut short,
        json!({"type": "join", "room": "r", "token": token(unix_now() + 2)}),
    )
    .await;
    let j = recv(&mut short).await.unwrap();
    assert_eq!(j["type"], "joined");
    recv(&mut long).await; // short joined
    let t0 = Instant::now();
    let e = recv(&mut short).await.expect("an error before the close");
    assert_eq!(e["code"], "unauthorized", "{e}");
    assert!(recv(&mut short).await.is_none(), "then closed");
    assert!(t0.elapsed() < Duration::from_secs(4));
    let left = recv(&mut long).await.unwrap();
    assert_eq!(left, json!({"type": "member-left", "member": j["member"]}));
}

/// Item 5: a rejoin that takes over a membership cuts the old connection
/// off: it is told and closed, and what it sends is not relayed as the
/// member.
#[tokio::test]
async fn a_taken_over_connection_can_no_longer_act_as_the_member() {
    let s = server(Limits::default()).await;
    let mut a = connect(&s).await;
    let mut b = connect(&s).await;
    let ja = join(&mut a, "r", "a").await;
    let jb = join(&mut b, "r", "b").await;
    recv(&mut a).await; // b joined
    let mut b2 = connect(&s).await;
    send(
        &mut b2,
        json!({"type": "join", "room": "r", "member": jb["member"], "secret": jb["secret"]}),
    )
    .await;
    assert_eq!(recv(&mut b2).await.unwrap()["member"], jb["member"]);
    // The old connection tries to speak as b, then hears it was replaced.
    let _ = b
        .send(Message::Text(
            json!({"type": "signal", "to": ja["member"], "data": "from the old one"})
                .to_string()
                .into(),
        ))
        .await;
    let e = recv(&mut b).await.expect("told");
    assert_eq!(e["code"], "replaced", "{e}");
    assert!(recv(&mut b).await.is_none(), "and closed");
    send(
        &mut b2,
        json!({"type": "signal", "to": ja["member"], "data": "from the new one"}),
    )
    .await;
    let got = recv(&mut a).await.unwrap();
    assert_eq!(got["data"], "from the new one", "{got}");
}

/// Item 6: errors do not quote the input, and names lose their control
/// characters before others see them.
#[tokio::test]
async fn errors_do_not_echo_input_and_names_are_cleaned() {
    let s = server(Limits::default()).await;
    let mut x = connect(&s).await;
    let long = "t".repeat(60_000);
    send(&mut x, json!({"type": long})).await;
    let e = recv(&mut x).await.unwrap();
    assert_eq!(e["code"], "bad-json");
    let n = e.to_string().len();
    assert!(n < 300, "a {n}-byte error for a bad type");
    join(&mut x, "r", "x").await;
    send(&mut x, json!({"type": "signal", "to": long, "data": 1})).await;
    let e = recv(&mut x).await.unwrap();
    assert_eq!(e["code"], "unknown-member");
    assert!(e.to_string().len() < 300, "{e}");
    let mut y = connect(&s).await;
    join(&mut y, "r", "mallory\u{1b}[2J\r\n\u{202e}").await;
    let seen = recv(&mut x).await.unwrap();
    assert_eq!(seen["member"]["name"], "mallory[2J", "{seen}");
}

async fn answers(sock: &tokio::net::UdpSocket) -> usize {
    let mut buf = [0u8; 512];
    let mut n = 0;
    while tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf))
        .await
        .is_ok()
    {
        n += 1;
    }
    n
}

/// Item 7: STUN answers only Binding requests, at a bounded rate per
/// source.
#[tokio::test]
async fn stun_drops_what_is_not_binding_and_limits_each_source() {
    use tern_stun::{method, Class, MessageBuilder, MessageType, TransactionId};
    let s = server_with(ServeConfig {
        stun_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..ServeConfig::default()
    })
    .await;
    let stun = s.stun_addr.unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let request = |m| {
        let mut req = Vec::new();
        MessageBuilder::new(
            &mut req,
            MessageType::new(Class::Request, m),
            TransactionId::random(&mut tern_crypto::OsRandom),
        );
        req
    };
    // An Allocate request (TURN; not served here) and an indication.
    sock.send_to(&request(method::ALLOCATE), stun)
        .await
        .unwrap();
    let mut ind = Vec::new();
    MessageBuilder::new(
        &mut ind,
        MessageType::new(Class::Indication, method::BINDING),
        TransactionId::random(&mut tern_crypto::OsRandom),
    );
    sock.send_to(&ind, stun).await.unwrap();
    assert_eq!(answers(&sock).await, 0, "no answer to non-Binding requests");
    // 300 Binding requests at once: the per-source burst is answered.
    for _ in 0..300 {
        sock.send_to(&request(method::BINDING), stun).await.unwrap();
    }
    let n = answers(&sock).await;
    let burst = Limits::default().stun_burst;
    assert!(
        (burst as usize..=burst as usize + 10).contains(&n),
        "{n} answers to 300 requests"
    );
    assert!(metric(&s, "tern_stun_dropped_total").await >= 250);
}
