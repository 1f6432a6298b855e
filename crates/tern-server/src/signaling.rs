//! One signaling WebSocket: parse, check limits, and hand to the hub.
// A server: real time for heartbeats, rate limits and token expiry.
#![allow(clippy::disallowed_methods)]

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};

use crate::hub::Hub;
use crate::messages::{ClientMessage, ServerMessage};
use crate::outbox::{outbox, Kick};
use crate::ratelimit::{FrameBudget, Verdict};
use crate::token::TokenKey;

fn valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A display name as others see it: at most 64 characters, without control
/// characters (which could rewrite a terminal that prints it) or the
/// bidirectional overrides and isolates (which could make it read as
/// another name).
pub(crate) fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(64)
        .collect()
}

/// Why a connection's read loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The client closed it, or it broke.
    Closed,
    /// Silent past the heartbeat timeout (or not joined in time).
    Idle,
    /// Told to stop (queue full, stuck write, taken over).
    Kicked(Kick),
    /// Its writer stopped: a write failed or timed out.
    WriteFailed,
    /// Its room token expired.
    TokenExpired,
    /// Kept sending above its rate.
    Flooding,
}

/// Serves one connection from `ip` until it closes, goes silent, breaks,
/// floods, falls behind, or its token expires.
pub(crate) async fn handle(
    socket: WebSocket,
    hub: Arc<Hub>,
    token: Option<Arc<TokenKey>>,
    ip: IpAddr,
) {
    let metrics = hub.metrics.clone();
    metrics.connections.fetch_add(1, Ordering::Relaxed);
    let limits = hub.limits.clone();
    let (mut sink, mut stream) = socket.split();
    let (tx, mut inbox, mut kicked) = outbox(limits.queue_bytes, limits.queue, metrics.clone());
    let write_timeout = limits.write_timeout;
    let mut writer = tokio::spawn(async move {
        while let Some(text) = inbox.recv().await {
            let n = text.len();
            match tokio::time::timeout(write_timeout, sink.send(Message::Text(text.into()))).await {
                Ok(Ok(())) => inbox.written(n),
                _ => return, // broken, or the peer does not read
            }
        }
        let _ = tokio::time::timeout(write_timeout, sink.close()).await;
    });
    let error = |code: &str, msg: String| {
        metrics.errors.fetch_add(1, Ordering::Relaxed);
        let _ = tx.try_send(&ServerMessage::error(code, msg));
    };
    let mut budget = FrameBudget::new(
        limits.rate,
        limits.burst,
        limits.flood_strikes,
        Instant::now(),
    );
    let mut joined: Option<(String, String, u64)> = None;
    let mut expires: Option<tokio::time::Instant> = None;
    let mut last_frame = tokio::time::Instant::now();
    let mut unjoined_since = last_frame;
    let mut writer_done = false;
    let ended = loop {
        // Before joining, the clock runs from the connection (or the last
        // leave), whatever it sends: pings do not keep an idle socket open.
        let deadline = match joined {
            Some(_) => last_frame + limits.heartbeat_timeout,
            None => unjoined_since + limits.join_timeout,
        };
        let msg = tokio::select! {
            m = tokio::time::timeout_at(deadline, stream.next()) => match m {
                Ok(Some(Ok(m))) => m,
                Ok(_) => break Ended::Closed,
                Err(_) => break Ended::Idle,
            },
            _ = kicked.changed() => {
                break Ended::Kicked((*kicked.borrow()).unwrap_or(Kick::TooSlow));
            }
            () = tokio::time::sleep_until(expires.unwrap_or(deadline)), if expires.is_some() => {
                break Ended::TokenExpired;
            }
            _ = &mut writer => {
                writer_done = true;
                break Ended::WriteFailed;
            }
        };
        last_frame = tokio::time::Instant::now();
        // Every frame costs, whatever it is: pings, binary and oversized
        // frames too.
        match budget.charge(Instant::now()) {
            Verdict::Accept => {}
            Verdict::Refuse { notify } => {
                if notify {
                    error(
                        "rate-limited",
                        format!(
                            "more than {} messages a second; slow down (flooding closes the connection)",
                            limits.rate
                        ),
                    );
                }
                continue;
            }
            Verdict::Close => break Ended::Flooding,
        }
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break Ended::Closed,
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
        let cm: ClientMessage = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                // serde's message quotes the input (an unknown `type` of
                // 60 KB would come back whole): say where, not what.
                error(
                    "bad-json",
                    format!(
                        "not a signaling message ({:?} error at line {} column {}); see docs/signaling.md",
                        e.classify(),
                        e.line(),
                        e.column()
                    ),
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
                let mut valid_for = None;
                if let Some(key) = &token {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    match key.verify(t.as_deref().unwrap_or(""), &room, now) {
                        Ok(claims) => valid_for = Some(claims.exp.saturating_sub(now)),
                        Err(why) => {
                            error(
                                "unauthorized",
                                format!("{why}: ask for a token (tern token)"),
                            );
                            continue;
                        }
                    }
                }
                let name = clean_name(&name);
                let resume = member.as_deref().zip(secret.as_deref());
                match hub.join(&room, &name, resume, tx.clone(), ip) {
                    Ok(j) => {
                        joined = Some((room, j.member, j.generation));
                        // A far-future expiry is clamped: tokio's clock
                        // cannot add centuries.
                        expires = valid_for.map(|s| {
                            tokio::time::Instant::now()
                                + Duration::from_secs(s.min(100 * 365 * 86_400))
                        });
                    }
                    Err(e) => {
                        metrics.errors.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.try_send(&e);
                    }
                }
            }
            ClientMessage::Signal { to, data } => match &joined {
                Some((room, id, generation)) => {
                    if let Err(e) = hub.relay(room, id, *generation, &to, data) {
                        metrics.errors.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.try_send(&e);
                    }
                }
                None => error("not-joined", "join a room first".into()),
            },
            ClientMessage::Leave => {
                if let Some((room, id, generation)) = joined.take() {
                    hub.leave(&room, &id, Some(generation));
                    expires = None;
                    unjoined_since = tokio::time::Instant::now();
                }
            }
            ClientMessage::Ping => {
                let _ = tx.try_send(&ServerMessage::Pong);
            }
        }
    };
    tracing::debug!(?ended, %ip, "signaling connection ends");
    match ended {
        Ended::Closed => {}
        Ended::Kicked(Kick::Replaced) => error(
            "replaced",
            "your membership was taken over by a rejoin on another connection".into(),
        ),
        Ended::TokenExpired => {
            error("unauthorized", "token expired: ask for a new one".into());
            // Its place is not kept: rejoining needs a new token anyway.
            if let Some((room, id, generation)) = joined.take() {
                hub.leave(&room, &id, Some(generation));
            }
        }
        Ended::Flooding => error(
            "rate-limited",
            "closing: far more messages than allowed".into(),
        ),
        Ended::Idle | Ended::Kicked(_) | Ended::WriteFailed => {}
    }
    if !matches!(ended, Ended::Closed) {
        metrics.kicked.fetch_add(1, Ordering::Relaxed);
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
    // The writer flushes what is left (a last error) and closes, briefly:
    // a peer that does not read is cut off, and dropping the writer frees
    // its queue and its socket.
    if !writer_done {
        let stuck = matches!(ended, Ended::Kicked(Kick::TooSlow) | Ended::WriteFailed);
        if stuck
            || tokio::time::timeout(Duration::from_secs(1), &mut writer)
                .await
                .is_err()
        {
            writer.abort();
        }
    }
    metrics.connections.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_control_and_direction_characters() {
        assert_eq!(clean_name("ada\u{1b}[2J\r\n\u{7}"), "ada[2J");
        assert_eq!(clean_name("evil\u{202e}gnp.exe"), "evilgnp.exe");
        assert_eq!(clean_name("Zoë 🦀"), "Zoë 🦀");
        assert_eq!(clean_name(&"\u{0}".repeat(100)), "");
        assert_eq!(clean_name(&"é".repeat(100)).chars().count(), 64);
    }
}
