//! Retransmission on loss (RFC 4585 §6.2.1 Generic NACK, RFC 4588 RTX):
//! the receiver's [`NackGenerator`] that decides which sequence numbers to
//! request when, and the sender's [`PacketHistory`] that answers them.

mod generator;
mod history;

pub use generator::{NackConfig, NackGenerator, NackStats, PacketOutcome};
pub use history::{HistoryConfig, HistoryError, HistoryStats, PacketHistory};
