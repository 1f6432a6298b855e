//! One signaling WebSocket: parse, check limits, and hand to the hub.
// A server: real time for heartbeats, rate limits and token expiry.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::messages::{ClientMessage, ServerMessage};
use crate::token::TokenKey;

/// A token bucket: `rate` per second, `burst` at once.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, rate: u32, burst: u32) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * f64::from(rate);
        self.tokens = (self.tokens + refill).min(f64::from(burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Serves one connection until it closes, goes silent, or breaks.
pub(crate) async fn handle(socket: WebSocket, hub: Arc<Hub>, token: Option<Arc<TokenKey>>) {
    let metrics = hub.metrics.clone();
    metrics.connections.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<ServerMessage>(hub.limits.queue);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let Ok(text) = serde_json::to_string(&m) else {
                continue;
            };
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let error = |code: &str, msg: String| {
        metrics.errors.fetch_add(1, Ordering::Relaxed);
        let _ = tx.try_send(ServerMessage::error(code, msg));
    };
    let limits = hub.limits.clone();
    let mut bucket = Bucket {
        tokens: f64::from(limits.burst),
        last: Instant::now(),
    };
    let mut joined: Option<(String, String, u64)> = None;
    loop {
        let msg = match tokio::time::timeout(limits.heartbeat_timeout, stream.next()).await {
            Ok(Some(Ok(m))) => m,
            _ => break, // silent too long, closed, or broken
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                error("bad-json", "send JSON text messages, not binary".into());
                continue;
            }
        };
        if text.len() > limits.max_message {
            error(
                "too-large",
                format!("messages are limited to {} bytes", limits.max_message),
            );
            continue;
        }
        if !bucket.take(limits.rate, limits.burst) {
            error(
                "rate-limited",
                format!("more than {} messages a second; slow down", limits.rate),
            );
            continue;
        }
        let cm: ClientMessage = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                error(
                    "bad-json",
                    format!("not a signaling message ({e}); see docs/signaling.md"),
                );
                continue;
            }
        };
        match cm {
            ClientMessage::Join {
                room,
                name,
                member,
                secret,
                token: t,
            } => {
                if joined.is_some() {
                    error("already-joined", "one room per connection".into());
                    continue;
                }
                if !valid_room(&room) {
                    error(
                        "bad-room",
                        "room names are 1-64 characters of A-Z a-z 0-9 . _ -".into(),
                    );
                    continue;
                }
                if let Some(key) = &token {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    if let Err(why) = key.verify(t.as_deref().unwrap_or(""), &room, now) {
                        error(
                            "unauthorized",
                            format!("{why}: ask for a token (tern token)"),
                        );
                        continue;
                    }
                }
                let name: String = name.chars().take(64).collect();
                let resume = member.as_deref().zip(secret.as_deref());
                match hub.join(&room, &name, resume, tx.clone()) {
                    Ok(j) => joined = Some((room, j.member, j.generation)),
                    Err(e) => {
                        metrics.errors.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.try_send(e);
                    }
                }
            }
            ClientMessage::Signal { to, data } => match &joined {
                Some((room, id, _)) => {
                    if let Err(e) = hub.relay(room, id, &to, data) {
                        metrics.errors.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.try_send(e);
                    }
                }
                None => error("not-joined", "join a room first".into()),
            },
            ClientMessage::Leave => {
                if let Some((room, id, _)) = joined.take() {
                    hub.leave(&room, &id);
                }
            }
            ClientMessage::Ping => {
                let _ = tx.try_send(ServerMessage::Pong);
            }
        }
    }
    if let Some((room, id, generation)) = joined {
        if hub.disconnected(&room, &id, generation) {
            let hub = hub.clone();
            let grace = limits.reconnect_grace;
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                hub.expire(&room, &id, generation);
            });
        }
    }
    drop(tx);
    let _ = writer.await;
    metrics.connections.fetch_sub(1, Ordering::Relaxed);
}
