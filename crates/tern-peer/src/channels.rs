//! Data-channel handles: stable [`ChannelId`]s over SCTP stream ids that
//! are only known once the DTLS role is, and are reused after a close.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tern_sctp::{DataChannelInit, DataChannelState, Priority};

use crate::ChannelId;

/// A channel's attributes (W3C `RTCDataChannel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The handle.
    pub channel: ChannelId,
    /// The SCTP stream id (W3C `id`); `None` until the DTLS role is known.
    pub id: Option<u16>,
    /// Label.
    pub label: String,
    /// Subprotocol.
    pub protocol: String,
    /// In-order delivery.
    pub ordered: bool,
    /// Retransmission limit, if partially reliable.
    pub max_retransmits: Option<u16>,
    /// Lifetime limit, if partially reliable.
    pub max_packet_life_time: Option<Duration>,
    /// Negotiated out of band.
    pub negotiated: bool,
    /// Priority.
    pub priority: Priority,
    /// W3C `readyState`.
    pub ready_state: DataChannelState,
    /// W3C `bufferedAmount`.
    pub buffered_amount: usize,
}

/// Per-channel counters (W3C `RTCDataChannelStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelCounters {
    /// Messages sent.
    pub messages_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}

#[derive(Debug)]
pub(crate) struct PeerChannel {
    pub stream: Option<u16>,
    pub label: String,
    pub init: DataChannelInit,
    pub counters: ChannelCounters,
    pub low_threshold: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Channels {
    next: u64,
    pub map: BTreeMap<ChannelId, PeerChannel>,
    pub by_stream: HashMap<u16, ChannelId>,
    pub opened: u32,
    pub closed: u32,
}

impl Channels {
    pub fn add(&mut self, label: &str, init: DataChannelInit, stream: Option<u16>) -> ChannelId {
        let id = ChannelId(self.next);
        self.next += 1;
        if let Some(s) = stream {
            self.by_stream.insert(s, id);
        }
        self.map.insert(
            id,
            PeerChannel {
                stream,
                label: label.to_string(),
                init,
                counters: ChannelCounters::default(),
                low_threshold: 0,
            },
        );
        id
    }

    pub fn of_stream(&self, s: u16) -> Option<ChannelId> {
        self.by_stream.get(&s).copied()
    }

    /// Forgets a closed channel.
    pub fn remove(&mut self, id: ChannelId) -> Option<PeerChannel> {
        let c = self.map.remove(&id)?;
        if let Some(s) = c.stream {
            if self.by_stream.get(&s) == Some(&id) {
                self.by_stream.remove(&s);
            }
        }
        self.closed += 1;
        Some(c)
    }
}
