//! TURN (RFC 8656): the client's allocation state machine and the server's allocation table, sans-IO.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod channel_data;

pub use channel_data::{ChannelData, ChannelDataError, ChannelNumber};
pub mod auth;
pub mod policy;
pub mod server;

pub use auth::{CredentialStore, RestSecret, StaticUsers};
pub use policy::{Cidr, PeerPolicy};
pub use server::{ClientTransport, ServerConfig, ServerStats, TurnServer};
