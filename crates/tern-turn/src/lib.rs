//! TURN (RFC 8656): the client's allocation state machine and the server's allocation table, sans-IO.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod channel_data;

pub use channel_data::{ChannelData, ChannelDataError, ChannelNumber};
pub mod client;

pub use client::{
    Received, RequestedFamily, TurnClient, TurnClientConfig, TurnClientStats, TurnError, TurnEvent,
    TurnTransport,
};
