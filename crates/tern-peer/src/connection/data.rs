//! Data channels (W3C `RTCDataChannel`, RFC 8831/8832) over the
//! connection's SCTP transport: creating them, a handle per channel for
//! what is done to one ([`ChannelMut`]), and SCTP's events turned into
//! W3C events.

use std::time::Instant;

use bytes::Bytes;
use tern_sctp::{
    DataChannelEvent, DataChannelId, DataChannelInit, DataChannelMessage, DataChannelState,
};

use super::PeerConnection;
use crate::channels::{ChannelInfo, Channels};
use crate::error::PeerError;
use crate::state::{ChannelId, PeerEvent};

pub(crate) fn message_len(m: &DataChannelMessage) -> usize {
    match m {
        DataChannelMessage::Text(t) => t.len(),
        DataChannelMessage::Binary(b) => b.len(),
        _ => 0,
    }
}

/// One data channel of a [`PeerConnection`], borrowed to act on it
/// (from [`PeerConnection::channel_mut`]).
pub struct ChannelMut<'a> {
    pc: &'a mut PeerConnection,
    id: ChannelId,
}

impl ChannelMut<'_> {
    /// The channel's handle.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The channel's attributes.
    pub fn info(&self) -> Option<ChannelInfo> {
        self.pc.channel(self.id)
    }

    fn stream(&self) -> Result<DataChannelId, PeerError> {
        let c = self
            .pc
            .channels
            .map
            .get(&self.id)
            .ok_or(PeerError::UnknownChannel(self.id))?;
        match c.stream {
            Some(s) if self.pc.sctp.is_some() => Ok(DataChannelId(s)),
            _ => Err(PeerError::InvalidState(format!(
                "channel {} is still connecting (wait for ChannelOpen)",
                self.id
            ))),
        }
    }

    fn sent(&mut self, len: usize) {
        if let Some(c) = self.pc.channels.map.get_mut(&self.id) {
            c.counters.messages_sent += 1;
            c.counters.bytes_sent += len as u64;
        }
    }

    /// Sends text (W3C `send(string)`); returns the message id.
    pub fn send_text(&mut self, now: Instant, text: &str) -> Result<u64, PeerError> {
        let s = self.stream()?;
        let sctp = self.pc.sctp.as_mut().ok_or(PeerError::Closed)?;
        let m = sctp.send_text(now, s, text)?;
        self.sent(text.len());
        self.pc.pump(now);
        Ok(m)
    }

    /// Sends binary data (W3C `send(ArrayBuffer)`); returns the message id.
    pub fn send_binary(&mut self, now: Instant, data: &[u8]) -> Result<u64, PeerError> {
        self.send_binary_bytes(now, Bytes::copy_from_slice(data))
    }

    /// Sends binary data the caller gives away (no copy).
    pub fn send_binary_bytes(&mut self, now: Instant, data: Bytes) -> Result<u64, PeerError> {
        let s = self.stream()?;
        let sctp = self.pc.sctp.as_mut().ok_or(PeerError::Closed)?;
        let len = data.len();
        let m = sctp.send_binary_bytes(now, s, data)?;
        self.sent(len);
        self.pc.pump(now);
        Ok(m)
    }

    /// Closes the channel (W3C `close`): queued data still goes out first.
    pub fn close(&mut self, now: Instant) -> Result<(), PeerError> {
        let c = self
            .pc
            .channels
            .map
            .get(&self.id)
            .ok_or(PeerError::UnknownChannel(self.id))?;
        match (c.stream, &mut self.pc.sctp) {
            (Some(s), Some(sctp)) => sctp.close(now, DataChannelId(s))?,
            _ => {
                self.pc.channels.remove(self.id);
                self.pc.events.push_back(PeerEvent::ChannelClosed(self.id));
            }
        }
        self.pc.pump(now);
        Ok(())
    }

    /// W3C `bufferedAmount`.
    pub fn buffered_amount(&self) -> usize {
        self.pc.buffered_amount(self.id)
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, threshold: usize) {
        let Some(c) = self.pc.channels.map.get_mut(&self.id) else {
            return;
        };
        c.low_threshold = threshold;
        if let (Some(s), Some(sctp)) = (c.stream, &mut self.pc.sctp) {
            sctp.set_buffered_amount_low_threshold(DataChannelId(s), threshold);
        }
    }
}

impl PeerConnection {
    /// W3C `createDataChannel`. Before the transport exists the channel
    /// waits (`id` is `None`); the first one asks for negotiation.
    pub fn create_data_channel(
        &mut self,
        now: Instant,
        label: &str,
        init: DataChannelInit,
    ) -> Result<ChannelId, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        init.validate(label)?;
        let id = match &mut self.sctp {
            Some(sctp) => {
                let s = sctp.create_data_channel(now, label, init.clone())?;
                self.channels.add(label, init, Some(s.0))
            }
            None => {
                if let Some(stream) = init.id {
                    let clash = self
                        .channels
                        .map
                        .values()
                        .any(|c| c.init.negotiated && c.init.id == Some(stream));
                    if clash {
                        return Err(
                            tern_sctp::DataChannelError::IdInUse(DataChannelId(stream)).into()
                        );
                    }
                }
                self.channels.add(label, init, None)
            }
        };
        if self.needs_data_section() && !self.negotiation_needed_sent {
            self.negotiation_needed_sent = true;
            self.events.push_back(PeerEvent::NegotiationNeeded);
        }
        self.pump(now);
        Ok(id)
    }

    /// A handle to act on one channel, while it is known.
    pub fn channel_mut(&mut self, ch: ChannelId) -> Option<ChannelMut<'_>> {
        self.channels
            .map
            .contains_key(&ch)
            .then_some(ChannelMut { pc: self, id: ch })
    }

    /// A channel's attributes, while it is known.
    pub fn channel(&self, ch: ChannelId) -> Option<ChannelInfo> {
        let c = self.channels.map.get(&ch)?;
        let live = c
            .stream
            .and_then(|s| self.sctp.as_ref()?.channel(DataChannelId(s)));
        Some(match live {
            Some(i) => ChannelInfo {
                channel: ch,
                id: Some(i.id.0),
                label: i.label,
                protocol: i.protocol,
                ordered: i.ordered,
                max_retransmits: i.max_retransmits.map(|n| n.min(u32::from(u16::MAX)) as u16),
                max_packet_life_time: i.max_packet_life_time,
                negotiated: i.negotiated,
                priority: i.priority,
                ready_state: i.ready_state,
                buffered_amount: self.buffered_amount(ch),
            },
            None => ChannelInfo {
                channel: ch,
                id: c.init.id,
                label: c.label.clone(),
                protocol: c.init.protocol.clone(),
                ordered: c.init.ordered,
                max_retransmits: c.init.max_retransmits,
                max_packet_life_time: c.init.max_packet_life_time,
                negotiated: c.init.negotiated,
                priority: c.init.priority,
                ready_state: DataChannelState::Connecting,
                buffered_amount: 0,
            },
        })
    }

    /// Handles of the channels currently known.
    pub fn channels(&self) -> impl Iterator<Item = ChannelId> + '_ {
        self.channels.map.keys().copied()
    }

    /// W3C `bufferedAmount` of a channel (0 for an unknown one).
    pub fn buffered_amount(&self, ch: ChannelId) -> usize {
        match (
            self.channels.map.get(&ch).and_then(|c| c.stream),
            &self.sctp,
        ) {
            (Some(s), Some(sctp)) => sctp.buffered_amount(DataChannelId(s)),
            _ => 0,
        }
    }

    pub(super) fn on_sctp_event(&mut self, e: DataChannelEvent) {
        let ch = |c: &Channels, id: DataChannelId| c.of_stream(id.0);
        match e {
            DataChannelEvent::Open(id) => {
                if let Some(c) = ch(&self.channels, id) {
                    self.channels.opened += 1;
                    self.events.push_back(PeerEvent::ChannelOpen(c));
                }
            }
            DataChannelEvent::DataChannel(id) => {
                let info = self.sctp.as_ref().and_then(|s| s.channel(id));
                let init = info.as_ref().map(|i| DataChannelInit {
                    ordered: i.ordered,
                    max_packet_life_time: i.max_packet_life_time,
                    max_retransmits: i.max_retransmits.map(|n| n.min(u32::from(u16::MAX)) as u16),
                    protocol: i.protocol.clone(),
                    negotiated: i.negotiated,
                    id: None,
                    priority: i.priority,
                });
                let label = info.map(|i| i.label).unwrap_or_default();
                let c = self
                    .channels
                    .add(&label, init.unwrap_or_default(), Some(id.0));
                self.channels.opened += 1;
                self.events.push_back(PeerEvent::DataChannel(c));
            }
            DataChannelEvent::Message { id, message } => {
                if let Some(c) = ch(&self.channels, id) {
                    let len = message_len(&message);
                    self.held += len;
                    if let Some(pc) = self.channels.map.get_mut(&c) {
                        pc.counters.messages_received += 1;
                        pc.counters.bytes_received += len as u64;
                    }
                    self.events.push_back(PeerEvent::ChannelMessage {
                        channel: c,
                        message,
                    });
                }
            }
            DataChannelEvent::Abandoned { id, message } => {
                if let Some(c) = ch(&self.channels, id) {
                    self.events.push_back(PeerEvent::ChannelAbandoned {
                        channel: c,
                        message,
                    });
                }
            }
            DataChannelEvent::BufferedAmountLow(id) => {
                if let Some(c) = ch(&self.channels, id) {
                    self.events
                        .push_back(PeerEvent::ChannelBufferedAmountLow(c));
                }
            }
            DataChannelEvent::Closing(id) => {
                if let Some(c) = ch(&self.channels, id) {
                    self.events.push_back(PeerEvent::ChannelClosing(c));
                }
            }
            DataChannelEvent::Closed(id) => {
                if let Some(c) = ch(&self.channels, id) {
                    self.channels.remove(c);
                    self.events.push_back(PeerEvent::ChannelClosed(c));
                }
            }
            DataChannelEvent::TransportClosed | DataChannelEvent::TransportFailed(_) => {
                self.close_all_channels();
            }
            _ => {}
        }
    }
}
