//! The rendezvous for `tern send` / `tern recv`: both sides meet in a room
//! of `tern serve` named after the code's number, run SPAKE2 with the whole
//! code as the password, confirm they derived the same key, and exchange
//! offer and answer with a MAC under that key. The DTLS fingerprints inside
//! are thereby authenticated: the server can neither read nor alter the
//! transfer, and a wrong code stops both sides before any data flows.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tern::{RtcSessionDescription, SdpType};
use tern_crypto::hmac::HmacSha256Key;
use tern_crypto::pake::Pake;
use tern_crypto::{OsRandom, Random};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Words for codes (256 of them: one byte each).
const WORDS: &[&str] = &[
    "acid", "acorn", "actor", "agent", "alarm", "album", "alpha", "amber", "anchor", "angel",
    "ankle", "apple", "apron", "arrow", "atlas", "atom", "aunt", "autumn", "avocado", "badge",
    "bagel", "baker", "bamboo", "banana", "banjo", "barley", "basil", "basket", "beach", "beacon",
    "beard", "beetle", "bell", "berry", "bicycle", "bison", "blanket", "blossom", "blue", "boat",
    "bonfire", "bottle", "boulder", "bracket", "bread", "breeze", "brick", "bridge", "broom",
    "bubble", "bucket", "buffalo", "bundle", "butter", "button", "cabin", "cactus", "camel",
    "candle", "canoe", "canyon", "carbon", "carpet", "carrot", "castle", "cedar", "cello",
    "cement", "chalk", "cherry", "chess", "cider", "cinnamon", "circle", "citrus", "clay", "cliff",
    "clock", "cloud", "clover", "cobalt", "cocoa", "comet", "copper", "coral", "cotton", "cougar",
    "crane", "crayon", "cricket", "crystal", "cuckoo", "cupcake", "daisy", "dancer", "delta",
    "desert", "diamond", "dinner", "dolphin", "donkey", "dragon", "drum", "eagle", "earth", "echo",
    "eclipse", "elbow", "ember", "emerald", "engine", "falcon", "feather", "fern", "fiddle", "fig",
    "flame", "flute", "forest", "fossil", "fox", "galaxy", "garden", "garlic", "gecko", "ginger",
    "glacier", "globe", "goose", "granite", "grape", "gravel", "guitar", "hammer", "harbor",
    "hazel", "helmet", "heron", "honey", "horizon", "husky", "iceberg", "igloo", "indigo", "iris",
    "island", "ivory", "jacket", "jaguar", "jasmine", "jelly", "jigsaw", "juniper", "kayak",
    "kettle", "kiwi", "koala", "ladder", "lagoon", "lantern", "lava", "lemon", "lilac", "lizard",
    "lobster", "lotus", "magnet", "mango", "maple", "marble", "meadow", "melon", "meteor", "mint",
    "mirror", "monsoon", "moose", "mosaic", "muffin", "nectar", "nickel", "noodle", "nutmeg",
    "oasis", "ocean", "olive", "onion", "orbit", "orchid", "otter", "owl", "oyster", "paddle",
    "panda", "papaya", "parrot", "peach", "pebble", "pepper", "piano", "pickle", "pigeon",
    "pillow", "pine", "planet", "plum", "pony", "poppy", "prairie", "pretzel", "prism", "pumpkin",
    "quartz", "quill", "rabbit", "radish", "rain", "raven", "reef", "ribbon", "river", "robin",
    "rocket", "saddle", "saffron", "salmon", "sandal", "sapphire", "saturn", "sequoia", "shadow",
    "shell", "silver", "sketch", "sparrow", "spider", "spruce", "squash", "stone", "sugar",
    "summit", "sunset", "swan", "tango", "teapot", "thistle", "thunder", "tiger", "timber",
    "tomato", "topaz", "tulip", "tundra", "turtle", "umbrella", "valley", "velvet", "violet",
    "volcano", "walnut", "walrus", "willow", "window", "winter",
];

/// How many codes a sender tries before giving up.
const ATTEMPTS: usize = 64;

/// Where the `attempt`th random code's number comes from: short numbers
/// first; longer ones only when a busy server has the short ones taken
/// (the browser app's wormhole.js does the same).
fn numbers_for(attempt: usize) -> std::ops::RangeInclusive<u16> {
    match attempt {
        0..16 => 1..=999,
        16..32 => 1..=9999,
        _ => 1..=65535,
    }
}

/// A fresh code: `number-word-word`, the number in `numbers`.
fn new_code_in(numbers: std::ops::RangeInclusive<u16>) -> String {
    let mut b = [0u8; 4];
    OsRandom.fill(&mut b);
    let span = u32::from(*numbers.end()) - u32::from(*numbers.start()) + 1;
    let n = u32::from(*numbers.start()) + u32::from(u16::from_be_bytes([b[0], b[1]])) % span;
    let w = |i: u8| WORDS[usize::from(i) % WORDS.len()];
    format!("{n}-{}-{}", w(b[2]), w(b[3]))
}

/// The room a code meets in (its number), after checking its shape.
fn room_of(code: &str) -> Result<String, String> {
    let mut parts = code.split('-');
    let n = parts.next().and_then(|n| n.parse::<u16>().ok());
    let words: Vec<&str> = parts.collect();
    match n {
        Some(n) if words.len() >= 2 && words.iter().all(|w| !w.is_empty()) => {
            Ok(format!("tern-wormhole-{n}"))
        }
        _ => Err(format!(
            "{code:?} is not a code like 7-purple-sausage (number-word-word)"
        )),
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which side we are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sender,
    Receiver,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
        }
    }
    fn other(self) -> Role {
        match self {
            Role::Sender => Role::Receiver,
            Role::Receiver => Role::Sender,
        }
    }
}

/// A meeting with the other side, once the key is confirmed.
pub struct Rendezvous {
    ws: Ws,
    peer: String,
    key: HmacSha256Key,
    role: Role,
}

fn ws_url(server: &str) -> Result<String, String> {
    let s = server.trim_end_matches('/');
    let base = if let Some(rest) = s.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = s.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if s.starts_with("ws://") || s.starts_with("wss://") {
        s.to_string()
    } else {
        return Err(format!(
            "--server {server}: give http://host:port (where `tern serve` runs)"
        ));
    };
    Ok(if base.ends_with("/ws") {
        base
    } else {
        format!("{base}/ws")
    })
}

async fn send_json(ws: &mut Ws, v: Value) -> Result<(), String> {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| format!("signaling server: {e}"))
}

/// How often a waiting side shows the server it is still there. The server
/// drops a member that stays silent for its heartbeat timeout (30 s by
/// default, shorter on some deployments), and a sender may wait for its
/// receiver for many minutes (`--wait`).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// The next message other than a pong, pinging the server while waiting;
/// the server's errors come back as `Err((code, what to say))`, the code
/// being its stable one (docs/signaling.md), empty for a broken connection.
async fn next_message(ws: &mut Ws, wait: Duration) -> Result<Value, (String, String)> {
    let broken = |why: String| (String::new(), why);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let beat = (tokio::time::Instant::now() + HEARTBEAT).min(deadline);
        let m = match tokio::time::timeout_at(beat, ws.next()).await {
            Ok(m) => m,
            Err(_) if beat >= deadline => {
                return Err(broken("the other side did not show up in time".into()))
            }
            Err(_) => {
                send_json(ws, json!({"type": "ping"}))
                    .await
                    .map_err(broken)?;
                continue;
            }
        };
        let m = m
            .ok_or_else(|| broken("the signaling server closed the connection".into()))?
            .map_err(|e| broken(format!("signaling server: {e}")))?;
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t)
                .map_err(|e| broken(format!("signaling server sent {t}: {e}")))?;
            if v["type"] == "error" {
                let code = v["code"].as_str().unwrap_or_default().to_string();
                let what = v["message"].as_str().unwrap_or("error");
                return Err((code, format!("signaling server: {what}")));
            }
            if v["type"] != "pong" {
                return Ok(v);
            }
        }
    }
}

async fn next_json(ws: &mut Ws, wait: Duration) -> Result<Value, String> {
    next_message(ws, wait).await.map_err(|(_, why)| why)
}

/// Leaves the room and closes the connection.
async fn leave(ws: &mut Ws) {
    let _ = send_json(ws, json!({"type": "leave"})).await;
    let _ = ws.close(None).await;
}

/// In the code's room, before the other side is met.
pub struct Joined {
    ws: Ws,
    code: String,
    role: Role,
    /// The sender already there (for a receiver).
    sender: Option<String>,
}

/// Why joining failed.
pub enum JoinError {
    /// Another transfer holds the code's number (for a sender).
    Busy(String),
    /// Anything else, said for the user.
    Other(String),
}

impl From<String> for JoinError {
    fn from(s: String) -> Self {
        JoinError::Other(s)
    }
}

impl Joined {
    /// Joins the room of `code` at `server`. A sender gets `Busy` if the
    /// room is taken (another transfer's number); a receiver an error if no
    /// sender is there.
    pub async fn join(
        server: &str,
        token: Option<&str>,
        code: &str,
        role: Role,
    ) -> Result<Joined, JoinError> {
        let room = room_of(code)?;
        let url = ws_url(server)?;
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| format!("cannot reach the signaling server at {url}: {e} (is `tern serve` running there? see --server)"))?;
        let mut join = json!({"type": "join", "room": room, "name": role.name()});
        if let Some(t) = token {
            join["token"] = json!(t);
        }
        send_json(&mut ws, join).await?;
        let joined = match next_message(&mut ws, Duration::from_secs(10)).await {
            Ok(j) => j,
            // A full room is taken too (by several others).
            Err((code, e)) if role == Role::Sender && code == "room-full" => {
                return Err(JoinError::Busy(e))
            }
            Err((code, e)) if code == "unauthorized" && token.is_none() => {
                return Err(JoinError::Other(format!(
                    "{e}; this server wants a token: pass --token (or set TERN_TOKEN)"
                )))
            }
            Err((_, e)) => return Err(JoinError::Other(e)),
        };
        let present = joined["members"].as_array().cloned().unwrap_or_default();
        let sender = present
            .iter()
            .find(|m| m["name"] == Role::Sender.name())
            .and_then(|m| m["id"].as_str())
            .map(str::to_string);
        match role {
            Role::Sender if !present.is_empty() => {
                leave(&mut ws).await;
                return Err(JoinError::Busy(format!(
                    "code number {} is in use by another transfer: pick another number",
                    code.split('-').next().unwrap_or(code)
                )));
            }
            Role::Receiver if sender.is_none() => {
                // Leave at once, or our place would be held for the grace
                // period and the sender would find the number taken.
                leave(&mut ws).await;
                return Err(JoinError::Other(format!(
                    "nobody is sending with code {code}: check the code (or start `tern send` first)"
                )));
            }
            _ => {}
        }
        Ok(Joined {
            ws,
            code: code.to_string(),
            role,
            sender,
        })
    }

    /// Joins with a fresh random code (a sender): tries other numbers while
    /// the room of one is taken.
    pub async fn join_random(server: &str, token: Option<&str>) -> Result<Joined, String> {
        Self::join_random_in(server, token, numbers_for).await
    }

    async fn join_random_in(
        server: &str,
        token: Option<&str>,
        numbers: impl Fn(usize) -> std::ops::RangeInclusive<u16>,
    ) -> Result<Joined, String> {
        for attempt in 0..ATTEMPTS {
            let code = new_code_in(numbers(attempt));
            match Self::join(server, token, &code, Role::Sender).await {
                Ok(j) => return Ok(j),
                Err(JoinError::Busy(_)) => continue,
                Err(JoinError::Other(e)) => return Err(e),
            }
        }
        Err("every code number tried is in use on this server: try again later".into())
    }

    /// Leaves the room at once (the server would otherwise hold our place
    /// for its reconnection grace period).
    #[cfg(test)]
    async fn leave(mut self) {
        leave(&mut self.ws).await;
    }

    /// The code this room belongs to.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Waits (up to `wait`) for the other side, runs SPAKE2 with the code
    /// and confirms the key.
    pub async fn meet(self, wait: Duration) -> Result<Rendezvous, String> {
        let Joined {
            mut ws,
            code,
            role,
            sender,
        } = self;
        let peer = match sender {
            Some(id) => id,
            None => loop {
                let v = next_json(&mut ws, wait).await?;
                if v["type"] == "member-joined" {
                    break v["member"]["id"].as_str().unwrap_or("").to_string();
                }
            },
        };
        Rendezvous::handshake(ws, &code, role, peer, wait).await
    }
}

impl Rendezvous {
    async fn handshake(
        mut ws: Ws,
        code: &str,
        role: Role,
        peer: String,
        wait: Duration,
    ) -> Result<Rendezvous, String> {
        // SPAKE2 with the whole code as the password.
        let (pake, msg) = Pake::start(code.as_bytes(), b"tern-wormhole-v1");
        send_json(
            &mut ws,
            json!({"type": "signal", "to": peer, "data": {"pake": B64.encode(msg)}}),
        )
        .await?;
        let theirs = Self::from_peer(&mut ws, &peer, "pake", wait).await?;
        let theirs = B64
            .decode(theirs)
            .map_err(|_| "the other side sent a bad key message".to_string())?;
        let k = pake
            .finish(&theirs)
            .map_err(|e| format!("key exchange failed: {e}"))?;
        let key = HmacSha256Key::new(&k);
        let mut r = Rendezvous {
            ws,
            peer,
            key,
            role,
        };
        // Key confirmation: each side proves it has the same key.
        let mine = r.key.sign(&[b"confirm ", role.name().as_bytes()]);
        r.signal(json!({"confirm": B64.encode(mine)})).await?;
        let theirs = Self::from_peer(&mut r.ws, &r.peer, "confirm", wait).await?;
        let ok = B64.decode(theirs).ok().is_some_and(|t| {
            r.key
                .verify(&[b"confirm ", role.other().name().as_bytes()], &t)
        });
        if !ok {
            return Err(
                "wrong code: the other side derived a different key; nothing was sent".into(),
            );
        }
        Ok(r)
    }

    /// Leaves the room: signaling is done, and the code's number is free
    /// again at once.
    pub async fn close(mut self) {
        leave(&mut self.ws).await;
    }

    async fn signal(&mut self, data: Value) -> Result<(), String> {
        let peer = self.peer.clone();
        send_json(
            &mut self.ws,
            json!({"type": "signal", "to": peer, "data": data}),
        )
        .await
    }

    async fn from_peer(
        ws: &mut Ws,
        peer: &str,
        field: &str,
        wait: Duration,
    ) -> Result<String, String> {
        loop {
            let v = next_json(ws, wait).await?;
            match v["type"].as_str() {
                Some("signal") if v["from"] == peer => {
                    if let Some(s) = v["data"][field].as_str() {
                        return Ok(s.to_string());
                    }
                    if let Some(e) = v["data"]["error"].as_str() {
                        return Err(format!("the other side: {e}"));
                    }
                }
                Some("member-left") if v["member"] == peer => {
                    return Err("the other side went away".into());
                }
                _ => {}
            }
        }
    }

    /// Sends our description with a MAC under the confirmed key.
    pub async fn send_description(&mut self, d: &RtcSessionDescription) -> Result<(), String> {
        let mac = self
            .key
            .sign(&[b"sdp ", self.role.name().as_bytes(), d.sdp.as_bytes()]);
        self.signal(json!({"sdp": d.sdp, "mac": B64.encode(mac)}))
            .await
    }

    /// The peer's description, after checking its MAC.
    pub async fn recv_description(
        &mut self,
        wait: Duration,
    ) -> Result<RtcSessionDescription, String> {
        let peer = self.peer.clone();
        loop {
            let v = next_json(&mut self.ws, wait).await?;
            if v["type"] == "member-left" && v["member"] == peer {
                return Err("the other side went away".into());
            }
            if v["type"] != "signal" || v["from"] != peer {
                continue;
            }
            let (Some(sdp), Some(mac)) = (v["data"]["sdp"].as_str(), v["data"]["mac"].as_str())
            else {
                if let Some(e) = v["data"]["error"].as_str() {
                    return Err(format!("the other side: {e}"));
                }
                continue;
            };
            let tag = B64.decode(mac).unwrap_or_default();
            let other = self.role.other().name();
            if !self
                .key
                .verify(&[b"sdp ", other.as_bytes(), sdp.as_bytes()], &tag)
            {
                return Err(
                    "the offer or answer was altered on the way (bad MAC): not connecting".into(),
                );
            }
            return Ok(RtcSessionDescription {
                sdp_type: match self.role {
                    Role::Sender => SdpType::Answer,
                    Role::Receiver => SdpType::Offer,
                },
                sdp: sdp.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The browser app makes codes too: its word list must be this one.
    #[test]
    fn the_browser_app_has_the_same_words() {
        let js = include_str!("../../tern-server/app/wormhole.js");
        let start = js
            .find("export const WORDS = [")
            .expect("WORDS in wormhole.js");
        let end = start + js[start..].find("];").expect("end of WORDS");
        let js_words: Vec<&str> = js[start..end].split('\'').skip(1).step_by(2).collect();
        assert_eq!(js_words, WORDS);
    }

    /// Code numbers are rooms: a sender never shares one with another
    /// transfer (a random code moves on to a free number, a chosen one is
    /// refused), so a receiver cannot meet the wrong sender.
    #[tokio::test]
    async fn senders_take_free_numbers_only() {
        let server = tern_server::Server::start(tern_server::ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..tern_server::ServeConfig::default()
        })
        .await
        .unwrap();
        let url = format!("http://{}", server.http_addr);
        let first = Joined::join(&url, None, "1-otter-walnut", Role::Sender)
            .await
            .ok()
            .expect("room 1 is free");
        match Joined::join(&url, None, "1-fern-owl", Role::Sender).await {
            Err(JoinError::Busy(e)) => assert!(e.contains("code number 1 is in use"), "{e}"),
            _ => panic!("a second sender with number 1 must be refused"),
        }
        // Among 1..=2, with 1 taken, a random code always lands on 2.
        for _ in 0..3 {
            let j = Joined::join_random_in(&url, None, |_| 1..=2).await.unwrap();
            assert!(j.code().starts_with("2-"), "{}", j.code());
            j.leave().await; // frees number 2 at once
        }
        // Both taken: a clear error, not a wait.
        let _second = Joined::join(&url, None, "2-otter-walnut", Role::Sender)
            .await
            .ok()
            .unwrap();
        let e = Joined::join_random_in(&url, None, |_| 1..=2)
            .await
            .err()
            .unwrap();
        assert!(e.contains("in use"), "{e}");
        // The receiver finds the sender by its name.
        let r = Joined::join(&url, None, "1-otter-walnut", Role::Receiver)
            .await
            .ok()
            .unwrap();
        assert!(r.sender.is_some());
        drop(first);
    }

    /// A full room (the server's `room-full` code) is a taken number too.
    #[tokio::test]
    async fn a_full_room_is_busy_for_a_sender() {
        let server = tern_server::Server::start(tern_server::ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            limits: tern_server::Limits {
                room_size: 1,
                ..tern_server::Limits::default()
            },
            ..tern_server::ServeConfig::default()
        })
        .await
        .unwrap();
        let url = format!("http://{}", server.http_addr);
        // A receiver that came too early leaves no ghost behind: the room
        // is gone (rather than held for the reconnection grace).
        assert!(Joined::join(&url, None, "3-otter-walnut", Role::Receiver)
            .await
            .is_err());
        for _ in 0..100 {
            if server.hub.rooms() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.hub.rooms(), 0, "the early receiver's place is free");
        let _holder = Joined::join(&url, None, "3-otter-walnut", Role::Sender)
            .await
            .ok()
            .expect("room 3 is free");
        match Joined::join(&url, None, "3-fern-owl", Role::Sender).await {
            Err(JoinError::Busy(e)) => assert!(e.contains("has 1 members already"), "{e}"),
            _ => panic!("a full room must read as busy"),
        }
    }

    #[test]
    fn busy_servers_get_longer_numbers_and_every_number_parses() {
        assert_eq!(numbers_for(0), 1..=999);
        assert_eq!(numbers_for(15), 1..=999);
        assert_eq!(numbers_for(16), 1..=9999);
        assert_eq!(numbers_for(ATTEMPTS - 1), 1..=65535);
        for attempt in 0..ATTEMPTS {
            let code = new_code_in(numbers_for(attempt));
            let n: u32 = code.split('-').next().unwrap().parse().unwrap();
            assert!((1..=65535).contains(&n), "{code}");
            assert!(room_of(&code).is_ok(), "{code}");
        }
    }

    #[test]
    fn codes_have_a_room_and_bad_codes_say_what_a_code_looks_like() {
        let code = new_code_in(1..=999);
        assert!(room_of(&code).unwrap().starts_with("tern-wormhole-"));
        assert_eq!(room_of("7-purple-sausage").unwrap(), "tern-wormhole-7");
        assert!(room_of("purple-sausage")
            .unwrap_err()
            .contains("number-word-word"));
        assert!(room_of("7-purple").is_err());
        assert!(room_of("7--x").is_err());
    }
}
