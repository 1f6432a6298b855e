//! STUN (RFC 8489, compatible with RFC 5389): a zero-copy message codec, every
//! attribute ICE and TURN use, MESSAGE-INTEGRITY(-SHA256), FINGERPRINT,
//! short- and long-term credentials, and sans-IO Binding client and server.
//!
//! Parsing ([`Message::parse`]) validates the header and every attribute's
//! length once and borrows the datagram; it allocates nothing. Attribute
//! values are decoded on demand into [`Attribute`]. Messages are written by
//! [`MessageBuilder`] into a caller-owned buffer that can be reused.
//!
//! Network input never panics this crate: every malformed message is a
//! [`StunError`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attribute;
mod builder;
mod client;
mod credentials;
mod error;
mod message;
mod server;
mod types;

pub use attribute::{
    attr_type, encode_password_algorithms, AddressFamily, Attribute, PasswordAlgorithm,
    UnknownAttributes,
};
pub use builder::MessageBuilder;
pub use client::{BindingClient, BindingEvent, Retransmit};
pub use credentials::{
    long_term_key_md5, long_term_key_sha256, userhash, IntegrityKey, PASSWORD_ALGORITHM_MD5,
    PASSWORD_ALGORITHM_SHA256,
};
pub use error::StunError;
pub use message::{is_stun, Integrity, Message, RawAttribute, RawAttributes};
pub use server::{BindingServer, BindingServerStats, Transmit};
pub use types::{error_code, method, Class, MessageType, Method, TransactionId, MAGIC_COOKIE};

/// Length of the fixed STUN header.
pub const HEADER_LEN: usize = 20;
