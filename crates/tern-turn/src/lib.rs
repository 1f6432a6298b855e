//! TURN (RFC 8656, RFC 6156, RFC 6062), sans-IO: the client's allocation
//! state machine (`client`), the server's allocation table (`server`) with
//! its credentials (`auth`) and peer address policy (`policy`), and
//! ChannelData framing (`channel_data`), shared by both.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod channel_data;

pub use channel_data::{ChannelData, ChannelDataError, ChannelNumber};
pub mod auth;
pub mod client;
pub mod policy;
pub mod server;

pub use auth::{CredentialStore, RestSecret, StaticUsers};
pub use client::{
    Received, RequestedFamily, TurnClient, TurnClientConfig, TurnClientStats, TurnError, TurnEvent,
    TurnTransport,
};
pub use policy::{Cidr, PeerPolicy};
pub use server::{ClientTransport, ServerConfig, ServerStats, TurnServer};
