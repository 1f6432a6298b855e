//! The signaling protocol's JSON messages (documented in docs/signaling.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a client sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Join a room (once per connection).
    Join {
        /// Room name: 1–64 characters of `A-Za-z0-9._-`.
        room: String,
        /// Display name (at most 64 characters).
        #[serde(default)]
        name: String,
        /// Resume an earlier membership: its id…
        #[serde(default)]
        member: Option<String>,
        /// …and the secret the server gave with it.
        #[serde(default)]
        secret: Option<String>,
        /// Access token, when the server requires one.
        #[serde(default)]
        token: Option<String>,
    },
    /// Relay `data` (an offer, answer, candidate, or anything) to one member.
    Signal {
        /// The member to deliver to.
        to: String,
        /// Opaque payload.
        data: Value,
    },
    /// Leave the room.
    Leave,
    /// Heartbeat.
    Ping,
}

/// A member as others see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberInfo {
    /// Member id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// What the server sends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage {
    /// Joined: who you are and who is there.
    Joined {
        /// Room name.
        room: String,
        /// Your member id.
        member: String,
        /// Present it with `member` to rejoin after a dropped connection.
        secret: String,
        /// The other members.
        members: Vec<MemberInfo>,
    },
    /// Someone joined.
    MemberJoined {
        /// Who.
        member: MemberInfo,
    },
    /// Someone left (or their connection expired).
    MemberLeft {
        /// Their id.
        member: String,
    },
    /// A relayed message.
    Signal {
        /// Sender's member id.
        from: String,
        /// What they sent.
        data: Value,
    },
    /// Heartbeat answer.
    Pong,
    /// Something was wrong with what you sent; nothing else happened.
    Error {
        /// Stable code: `bad-json`, `too-large`, `rate-limited`, `not-joined`,
        /// `already-joined`, `bad-room`, `room-full`, `unauthorized`,
        /// `unknown-member`, `busy`.
        code: String,
        /// What to do about it.
        message: String,
    },
}

impl ServerMessage {
    /// An error message.
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code: code.into(),
            message: message.into(),
        }
    }
}
