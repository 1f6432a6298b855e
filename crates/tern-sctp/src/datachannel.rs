//! Data channels (RFC 8831) over one SCTP association, opened with DCEP
//! (RFC 8832) or negotiated out of band, closed by stream reset (RFC 6525).
//! Names follow the W3C `RTCDataChannel`. Sans-IO like the association it
//! owns: packets in and out as bytes, time passed in.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use tern_crypto::Random;

use crate::association::{Association, SctpConfig, SctpEvent, SendError, SendOptions};
use crate::dcep::{ppid, ChannelReliability, DcepMessage, OpenMessage};
use crate::rx::Message;

/// A data channel's id: its SCTP stream (W3C `RTCDataChannel.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataChannelId(pub u16);

impl std::fmt::Display for DataChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Our DTLS role, which decides the stream-id parity (RFC 8832 §6): the
/// DTLS client uses even ids, the server odd ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsRole {
    /// DTLS client: even stream ids.
    Client,
    /// DTLS server: odd stream ids.
    Server,
}

/// W3C `RTCPriorityType`, with the RFC 8831 §6.4 values DCEP carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Priority {
    /// "very-low" (128).
    VeryLow,
    /// "low" (256), the default.
    #[default]
    Low,
    /// "medium" (512).
    Medium,
    /// "high" (1024).
    High,
}

impl Priority {
    /// The DCEP value.
    pub fn value(self) -> u16 {
        match self {
            Priority::VeryLow => 128,
            Priority::Low => 256,
            Priority::Medium => 512,
            Priority::High => 1024,
        }
    }
    /// The nearest priority for a DCEP value.
    pub fn from_value(v: u16) -> Self {
        match v {
            0..=128 => Priority::VeryLow,
            129..=256 => Priority::Low,
            257..=512 => Priority::Medium,
            _ => Priority::High,
        }
    }
}

/// W3C `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInit {
    /// In-order delivery (default true).
    pub ordered: bool,
    /// Give up on a message after this long.
    pub max_packet_life_time: Option<Duration>,
    /// Give up on a message after this many retransmissions.
    pub max_retransmits: Option<u16>,
    /// Subprotocol name.
    pub protocol: String,
    /// Negotiated out of band: no DCEP; both sides create it with `id`.
    pub negotiated: bool,
    /// The stream id (only with `negotiated`).
    pub id: Option<u16>,
    /// Priority.
    pub priority: Priority,
}

impl DataChannelInit {
    /// Checks the dictionary as W3C `createDataChannel` does, with `label`.
    pub fn validate(&self, label: &str) -> Result<(), DataChannelError> {
        if self.max_packet_life_time.is_some() && self.max_retransmits.is_some() {
            return Err(DataChannelError::InvalidInit(
                "set max_packet_life_time or max_retransmits, not both",
            ));
        }
        if label.len() > 65535 || self.protocol.len() > 65535 {
            return Err(DataChannelError::InvalidInit(
                "label and protocol are limited to 65,535 bytes",
            ));
        }
        match (self.negotiated, self.id) {
            (true, Some(u16::MAX)) => Err(DataChannelError::InvalidInit("id 65535 is reserved")),
            (true, None) => Err(DataChannelError::InvalidInit(
                "a negotiated channel needs an id",
            )),
            (false, Some(_)) => Err(DataChannelError::InvalidInit(
                "an id is only given with negotiated: true",
            )),
            _ => Ok(()),
        }
    }
}

impl Default for DataChannelInit {
    fn default() -> Self {
        DataChannelInit {
            ordered: true,
            max_packet_life_time: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated: false,
            id: None,
            priority: Priority::Low,
        }
    }
}

/// W3C `RTCDataChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataChannelState {
    /// Waiting for the association.
    Connecting,
    /// Messages flow.
    Open,
    /// Its streams are being reset.
    Closing,
    /// Done; the id may be reused.
    Closed,
}

/// What a channel is (W3C `RTCDataChannel` attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInfo {
    /// Id (stream).
    pub id: DataChannelId,
    /// Label.
    pub label: String,
    /// Subprotocol.
    pub protocol: String,
    /// In-order delivery.
    pub ordered: bool,
    /// Retransmission limit.
    pub max_retransmits: Option<u32>,
    /// Lifetime limit.
    pub max_packet_life_time: Option<Duration>,
    /// Negotiated out of band.
    pub negotiated: bool,
    /// Priority.
    pub priority: Priority,
    /// State.
    pub ready_state: DataChannelState,
}

/// A received message (W3C `MessageEvent.data`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataChannelMessage {
    /// Text (PPID 51, or 56 when empty).
    Text(String),
    /// Binary (PPID 53, or 57 when empty).
    Binary(Vec<u8>),
}

/// What the data channels report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataChannelEvent {
    /// The SCTP association is up.
    Connected,
    /// One of our channels is open (W3C "open").
    Open(DataChannelId),
    /// The peer opened a channel; it is open (W3C "datachannel").
    DataChannel(DataChannelId),
    /// A message (W3C "message").
    Message {
        /// Channel.
        id: DataChannelId,
        /// Payload.
        message: DataChannelMessage,
    },
    /// A partially reliable message was given up; `message` is the id
    /// the send returned.
    Abandoned {
        /// Channel.
        id: DataChannelId,
        /// Message id.
        message: u64,
    },
    /// The buffered amount fell to the low threshold (W3C "bufferedamountlow").
    BufferedAmountLow(DataChannelId),
    /// The peer started closing the channel (W3C "closing").
    Closing(DataChannelId),
    /// The channel is closed (W3C "close"); its id is free.
    Closed(DataChannelId),
    /// The association closed gracefully; every channel is closed.
    TransportClosed,
    /// The association failed; every channel is closed.
    TransportFailed(String),
}

/// Why a data-channel call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataChannelError {
    /// No such channel.
    UnknownChannel(DataChannelId),
    /// The channel is not open.
    InvalidState(DataChannelId, DataChannelState),
    /// The id is taken by another channel.
    IdInUse(DataChannelId),
    /// Every stream id of our parity is in use.
    NoFreeId,
    /// The init dictionary is inconsistent; says how.
    InvalidInit(&'static str),
    /// SCTP refused the message.
    Send(SendError),
}

impl std::fmt::Display for DataChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataChannelError::UnknownChannel(id) => write!(f, "no data channel with id {id}"),
            DataChannelError::InvalidState(id, s) => {
                write!(f, "data channel {id} is {s:?}, not Open")
            }
            DataChannelError::IdInUse(id) => {
                write!(
                    f,
                    "data channel id {id} is in use; close that channel first"
                )
            }
            DataChannelError::NoFreeId => write!(f, "every data channel id is in use"),
            DataChannelError::InvalidInit(why) => write!(f, "invalid data channel init: {why}"),
            DataChannelError::Send(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for DataChannelError {}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataChannelStats {
    /// DCEP messages that did not parse, or came for a busy stream.
    pub bad_dcep: u64,
    /// Messages for a stream without a channel, or with an unknown PPID.
    pub unroutable: u64,
    /// Text messages that were not UTF-8 (delivered with U+FFFD).
    pub invalid_utf8: u64,
    /// Channels opened (ours and the peer's).
    pub channels_opened: u64,
    /// Channels closed.
    pub channels_closed: u64,
}

#[derive(Debug)]
struct Channel {
    label: String,
    protocol: String,
    ordered: bool,
    reliability: ChannelReliability,
    negotiated: bool,
    priority: Priority,
    state: DataChannelState,
    /// We sent DATA_CHANNEL_OPEN and no ACK came yet: send ordered (RFC 8832 §6).
    awaiting_ack: bool,
    /// Our outgoing stream is reset (or was never used).
    local_reset: bool,
    /// The peer's outgoing stream is reset.
    remote_reset: bool,
    /// Messages that arrived after the peer's reset: they belong to the
    /// channel that reuses this id once this one is closed.
    for_successor: VecDeque<Message>,
    low_threshold: usize,
}

impl Channel {
    fn info(&self, id: u16) -> DataChannelInfo {
        let (max_retransmits, max_packet_life_time) = match self.reliability {
            ChannelReliability::MaxRetransmits(n) => (Some(n), None),
            ChannelReliability::MaxPacketLifeTime(d) => (None, Some(d)),
            _ => (None, None),
        };
        DataChannelInfo {
            id: DataChannelId(id),
            label: self.label.clone(),
            protocol: self.protocol.clone(),
            ordered: self.ordered,
            max_retransmits,
            max_packet_life_time,
            negotiated: self.negotiated,
            priority: self.priority,
            ready_state: self.state,
        }
    }
}

/// The data channels of one peer connection, over their SCTP association.
#[derive(Debug)]
pub struct SctpTransport {
    assoc: Association,
    role: DtlsRole,
    channels: BTreeMap<u16, Channel>,
    /// Channels whose buffered amount is above their low threshold.
    above_threshold: BTreeSet<u16>,
    /// Ids whose reset the peer refused: never reused.
    burned: BTreeSet<u16>,
    events: VecDeque<DataChannelEvent>,
    stats: DataChannelStats,
    /// Bytes of messages in `events` the application has not taken yet.
    held: usize,
    /// The latest time passed in (for work done when the application reads).
    last_now: Instant,
}

/// Message bytes held for the application before the association is left
/// to buffer the rest: then its receive window closes, so a reader that
/// stops reading slows the sender down instead of growing memory.
const HOLD_BYTES: usize = 1 << 20;

fn message_len(m: &DataChannelMessage) -> usize {
    match m {
        DataChannelMessage::Text(t) => t.len(),
        DataChannelMessage::Binary(b) => b.len(),
    }
}

impl SctpTransport {
    /// Data channels over a new association; `role` is our DTLS role.
    pub fn new(
        config: SctpConfig,
        rng: Box<dyn Random + Send>,
        now: Instant,
        role: DtlsRole,
    ) -> Self {
        SctpTransport {
            assoc: Association::new(config, rng, now),
            role,
            channels: BTreeMap::new(),
            above_threshold: BTreeSet::new(),
            burned: BTreeSet::new(),
            events: VecDeque::new(),
            stats: DataChannelStats::default(),
            held: 0,
            last_now: now,
        }
    }

    /// Sends INIT. In WebRTC both sides may do so: the simultaneous open
    /// resolves into one association (RFC 9260 §5.2.1).
    pub fn connect(&mut self, now: Instant) {
        self.assoc.connect(now);
    }

    /// The association underneath (for its stats and settings).
    pub fn association(&self) -> &Association {
        &self.assoc
    }
    /// The association underneath, mutably (e.g. to set the peer's
    /// max-message-size from SDP).
    pub fn association_mut(&mut self) -> &mut Association {
        &mut self.assoc
    }
    /// Counters.
    pub fn stats(&self) -> DataChannelStats {
        self.stats
    }

    /// Opens a channel (W3C `createDataChannel`). Before the association
    /// is up it waits in `Connecting`.
    pub fn create_data_channel(
        &mut self,
        now: Instant,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannelId, DataChannelError> {
        init.validate(label)?;
        let id = match init.id {
            Some(id) => {
                if self.channels.contains_key(&id) {
                    return Err(DataChannelError::IdInUse(DataChannelId(id)));
                }
                id
            }
            None => self.free_id()?,
        };
        let reliability = match (init.max_retransmits, init.max_packet_life_time) {
            (Some(n), _) => ChannelReliability::MaxRetransmits(u32::from(n)),
            (_, Some(d)) => ChannelReliability::MaxPacketLifeTime(d),
            _ => ChannelReliability::Reliable,
        };
        self.channels.insert(
            id,
            Channel {
                label: label.to_owned(),
                protocol: init.protocol,
                ordered: init.ordered,
                reliability,
                negotiated: init.negotiated,
                priority: init.priority,
                state: DataChannelState::Connecting,
                awaiting_ack: false,
                local_reset: false,
                remote_reset: false,
                for_successor: VecDeque::new(),
                low_threshold: 0,
            },
        );
        if self.assoc.is_established() {
            self.open_channel(now, id);
        }
        Ok(DataChannelId(id))
    }

    fn free_id(&self) -> Result<u16, DataChannelError> {
        let start = match self.role {
            DtlsRole::Client => 0u16,
            DtlsRole::Server => 1,
        };
        (start..u16::MAX)
            .step_by(2)
            .find(|id| !self.channels.contains_key(id) && !self.burned.contains(id))
            .ok_or(DataChannelError::NoFreeId)
    }

    /// Moves a `Connecting` channel to `Open`: sends DATA_CHANNEL_OPEN
    /// unless negotiated. Like Chromium, the channel is open once OPEN is
    /// sent; until the ACK, its messages go ordered behind it.
    fn open_channel(&mut self, now: Instant, id: u16) {
        let Some(c) = self.channels.get_mut(&id) else {
            return;
        };
        if c.state != DataChannelState::Connecting {
            return;
        }
        if !c.negotiated {
            let open = DcepMessage::Open(OpenMessage {
                ordered: c.ordered,
                reliability: c.reliability,
                priority: c.priority.value(),
                label: c.label.clone(),
                protocol: c.protocol.clone(),
            });
            c.awaiting_ack = true;
            if self
                .assoc
                .send(now, id, ppid::DCEP, &open.encode(), false)
                .is_err()
            {
                return;
            }
        }
        c.state = DataChannelState::Open;
        self.stats.channels_opened += 1;
        self.events
            .push_back(DataChannelEvent::Open(DataChannelId(id)));
    }

    /// Sends text (W3C `send(string)`); returns the message id.
    pub fn send_text(
        &mut self,
        now: Instant,
        id: DataChannelId,
        text: &str,
    ) -> Result<u64, DataChannelError> {
        self.send(now, id, Bytes::copy_from_slice(text.as_bytes()), false)
    }

    /// Sends binary data (W3C `send(ArrayBuffer)`); returns the message id.
    pub fn send_binary(
        &mut self,
        now: Instant,
        id: DataChannelId,
        data: &[u8],
    ) -> Result<u64, DataChannelError> {
        self.send(now, id, Bytes::copy_from_slice(data), true)
    }

    /// Sends binary data the caller gives away, without copying it.
    pub fn send_binary_bytes(
        &mut self,
        now: Instant,
        id: DataChannelId,
        data: Bytes,
    ) -> Result<u64, DataChannelError> {
        self.send(now, id, data, true)
    }

    fn send(
        &mut self,
        now: Instant,
        id: DataChannelId,
        data: Bytes,
        binary: bool,
    ) -> Result<u64, DataChannelError> {
        let c = self
            .channels
            .get(&id.0)
            .ok_or(DataChannelError::UnknownChannel(id))?;
        if c.state != DataChannelState::Open {
            return Err(DataChannelError::InvalidState(id, c.state));
        }
        // Empty messages travel as one byte with the "empty" PPID (RFC 8831 §6.6).
        let (ppid, payload) = match (binary, data.is_empty()) {
            (false, false) => (ppid::STRING, data),
            (false, true) => (ppid::STRING_EMPTY, Bytes::from_static(&[0])),
            (true, false) => (ppid::BINARY, data),
            (true, true) => (ppid::BINARY_EMPTY, Bytes::from_static(&[0])),
        };
        let (max_retransmits, lifetime) = match c.reliability {
            ChannelReliability::MaxRetransmits(n) => (Some(n), None),
            ChannelReliability::MaxPacketLifeTime(d) => (None, Some(d)),
            _ => (None, None),
        };
        let opts = SendOptions {
            unordered: !c.ordered && !c.awaiting_ack,
            max_retransmits,
            lifetime,
        };
        let threshold = c.low_threshold;
        let msg = self
            .assoc
            .send_bytes(now, id.0, ppid, payload, opts)
            .map_err(DataChannelError::Send)?;
        if self.assoc.buffered_amount(id.0) > threshold {
            self.above_threshold.insert(id.0);
        }
        self.pump(now);
        Ok(msg)
    }

    /// Closes a channel (W3C `close`): what is queued is still sent, then
    /// its stream is reset; [`DataChannelEvent::Closed`] follows once the
    /// peer has reset its side too.
    pub fn close(&mut self, now: Instant, id: DataChannelId) -> Result<(), DataChannelError> {
        let c = self
            .channels
            .get_mut(&id.0)
            .ok_or(DataChannelError::UnknownChannel(id))?;
        match c.state {
            DataChannelState::Closing | DataChannelState::Closed => Ok(()),
            DataChannelState::Connecting => {
                // Nothing was sent on its stream.
                self.finish_close(now, id.0);
                self.pump(now);
                Ok(())
            }
            DataChannelState::Open => {
                c.state = DataChannelState::Closing;
                let _ = self.assoc.reset_streams(now, &[id.0]);
                self.pump(now);
                Ok(())
            }
        }
    }

    /// A channel's attributes.
    pub fn channel(&self, id: DataChannelId) -> Option<DataChannelInfo> {
        self.channels.get(&id.0).map(|c| c.info(id.0))
    }

    /// Every channel not yet closed.
    pub fn channels(&self) -> impl Iterator<Item = DataChannelInfo> + '_ {
        self.channels.iter().map(|(&id, c)| c.info(id))
    }

    /// Bytes queued or unacknowledged on the channel (W3C `bufferedAmount`).
    pub fn buffered_amount(&self, id: DataChannelId) -> usize {
        self.assoc.buffered_amount(id.0)
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: DataChannelId, threshold: usize) {
        if let Some(c) = self.channels.get_mut(&id.0) {
            c.low_threshold = threshold;
            if self.assoc.buffered_amount(id.0) > threshold {
                self.above_threshold.insert(id.0);
            }
        }
    }

    /// Closes the association gracefully (SHUTDOWN).
    pub fn close_transport(&mut self, now: Instant) {
        self.assoc.close(now);
        self.pump(now);
    }

    /// Ends the association at once with an ABORT (queued data is dropped):
    /// for a connection going away for good, so the peer's channels close
    /// now rather than when its timers give up.
    pub fn abort_transport(&mut self, now: Instant) {
        self.assoc.abort(now);
        self.pump(now);
    }

    /// Handles one SCTP packet (the payload of a DTLS record).
    pub fn handle_receive(&mut self, now: Instant, packet: &[u8]) {
        self.last_now = now;
        self.assoc.handle_receive(now, packet);
        self.pump(now);
    }

    /// Handles one SCTP packet the caller gives away (no copy; see
    /// [`Association::handle_packet`]).
    pub fn handle_packet(&mut self, now: Instant, packet: bytes::Bytes) {
        self.last_now = now;
        self.assoc.handle_packet(now, packet);
        self.pump(now);
    }

    /// Runs timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        self.assoc.handle_timeout(now);
        self.pump(now);
    }

    /// The next SCTP packet to send (inside a DTLS record).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.assoc.poll_transmit()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }

    /// The next event.
    /// Messages are taken from the association as the application takes
    /// them from here: one that stops polling closes the receive window.
    pub fn poll_event(&mut self) -> Option<DataChannelEvent> {
        let e = self.events.pop_front()?;
        if let DataChannelEvent::Message { message, .. } = &e {
            let was_full = self.held >= HOLD_BYTES;
            self.held -= message_len(message);
            if was_full && self.held < HOLD_BYTES {
                self.pump(self.last_now);
            }
        }
        Some(e)
    }

    fn push_message(&mut self, id: DataChannelId, message: DataChannelMessage) {
        self.held += message_len(&message);
        self.events
            .push_back(DataChannelEvent::Message { id, message });
    }

    /// Turns association events into channel events, then reports channels
    /// whose buffered amount fell to their threshold.
    fn pump(&mut self, now: Instant) {
        while self.held < HOLD_BYTES {
            let Some(e) = self.assoc.poll_event() else {
                break;
            };
            match e {
                SctpEvent::Connected => {
                    self.events.push_back(DataChannelEvent::Connected);
                    let waiting: Vec<u16> = self.channels.keys().copied().collect();
                    for id in waiting {
                        self.open_channel(now, id);
                    }
                }
                SctpEvent::Message(m) => self.on_message(now, m),
                SctpEvent::Abandoned { stream, message } => {
                    self.events.push_back(DataChannelEvent::Abandoned {
                        id: DataChannelId(stream),
                        message,
                    });
                }
                SctpEvent::IncomingStreamsReset(streams) => {
                    let streams = if streams.is_empty() {
                        self.channels.keys().copied().collect()
                    } else {
                        streams
                    };
                    for s in streams {
                        self.on_remote_reset(now, s);
                    }
                }
                SctpEvent::OutgoingStreamsReset(streams) => {
                    for s in streams {
                        if let Some(c) = self.channels.get_mut(&s) {
                            c.local_reset = true;
                            if c.remote_reset {
                                self.finish_close(now, s);
                            }
                        }
                    }
                }
                SctpEvent::StreamResetDenied(streams) => {
                    // The peer cannot reset: the channel is closed here, and
                    // its id is never reused (its sequence numbers never restart).
                    for s in streams {
                        self.burned.insert(s);
                        self.finish_close(now, s);
                    }
                }
                SctpEvent::Closed | SctpEvent::Aborted(_) => {
                    let ids: Vec<u16> = self.channels.keys().copied().collect();
                    for id in ids {
                        self.channels.remove(&id);
                        self.stats.channels_closed += 1;
                        self.events
                            .push_back(DataChannelEvent::Closed(DataChannelId(id)));
                    }
                    self.above_threshold.clear();
                    self.events.push_back(match e {
                        SctpEvent::Aborted(why) => DataChannelEvent::TransportFailed(why),
                        _ => DataChannelEvent::TransportClosed,
                    });
                }
            }
        }
        if !self.above_threshold.is_empty() {
            let assoc = &self.assoc;
            let channels = &self.channels;
            let events = &mut self.events;
            self.above_threshold.retain(|&id| {
                let Some(c) = channels.get(&id) else {
                    return false;
                };
                if assoc.buffered_amount(id) <= c.low_threshold {
                    events.push_back(DataChannelEvent::BufferedAmountLow(DataChannelId(id)));
                    false
                } else {
                    true
                }
            });
        }
    }

    /// The peer reset its outgoing stream: the channel is closing on its
    /// side; we reset ours in turn (RFC 8831 §6.7).
    fn on_remote_reset(&mut self, now: Instant, s: u16) {
        let Some(c) = self.channels.get_mut(&s) else {
            return;
        };
        c.remote_reset = true;
        match c.state {
            DataChannelState::Open | DataChannelState::Connecting => {
                c.state = DataChannelState::Closing;
                self.events
                    .push_back(DataChannelEvent::Closing(DataChannelId(s)));
                let _ = self.assoc.reset_streams(now, &[s]);
            }
            DataChannelState::Closing if c.local_reset => self.finish_close(now, s),
            _ => {}
        }
    }

    fn finish_close(&mut self, now: Instant, s: u16) {
        let Some(c) = self.channels.remove(&s) else {
            return;
        };
        self.above_threshold.remove(&s);
        self.stats.channels_closed += 1;
        self.events
            .push_back(DataChannelEvent::Closed(DataChannelId(s)));
        // What arrived after the peer's reset opens the next channel on this id.
        for m in c.for_successor {
            self.on_message(now, m);
        }
    }

    fn on_message(&mut self, now: Instant, m: Message) {
        if let Some(c) = self.channels.get_mut(&m.stream) {
            if c.remote_reset {
                c.for_successor.push_back(m);
                return;
            }
        }
        let id = DataChannelId(m.stream);
        match m.ppid {
            ppid::DCEP => match DcepMessage::parse(&m.data) {
                Ok(DcepMessage::Open(o)) => self.on_open(now, m.stream, o),
                Ok(DcepMessage::Ack) => match self.channels.get_mut(&m.stream) {
                    Some(c) if c.awaiting_ack => c.awaiting_ack = false,
                    _ => self.stats.bad_dcep += 1,
                },
                Err(_) => self.stats.bad_dcep += 1,
            },
            ppid::STRING | ppid::STRING_PARTIAL | ppid::STRING_EMPTY => {
                if !self.is_open(m.stream) {
                    self.stats.unroutable += 1;
                    return;
                }
                let text = if m.ppid == ppid::STRING_EMPTY {
                    String::new()
                } else {
                    match String::from_utf8(m.data) {
                        Ok(t) => t,
                        Err(e) => {
                            self.stats.invalid_utf8 += 1;
                            String::from_utf8_lossy(e.as_bytes()).into_owned()
                        }
                    }
                };
                self.push_message(id, DataChannelMessage::Text(text));
            }
            ppid::BINARY | ppid::BINARY_PARTIAL | ppid::BINARY_EMPTY => {
                if !self.is_open(m.stream) {
                    self.stats.unroutable += 1;
                    return;
                }
                let data = if m.ppid == ppid::BINARY_EMPTY {
                    Vec::new()
                } else {
                    m.data
                };
                self.push_message(id, DataChannelMessage::Binary(data));
            }
            _ => self.stats.unroutable += 1,
        }
    }

    fn is_open(&self, s: u16) -> bool {
        // Closing channels still receive what the peer sent before its reset.
        self.channels
            .get(&s)
            .is_some_and(|c| matches!(c.state, DataChannelState::Open | DataChannelState::Closing))
    }

    fn on_open(&mut self, now: Instant, s: u16, o: OpenMessage) {
        if self.channels.contains_key(&s) || s == u16::MAX {
            self.stats.bad_dcep += 1;
            return;
        }
        if self
            .assoc
            .send(now, s, ppid::DCEP, &DcepMessage::Ack.encode(), false)
            .is_err()
        {
            return;
        }
        self.channels.insert(
            s,
            Channel {
                label: o.label,
                protocol: o.protocol,
                ordered: o.ordered,
                reliability: o.reliability,
                negotiated: false,
                priority: Priority::from_value(o.priority),
                state: DataChannelState::Open,
                awaiting_ack: false,
                local_reset: false,
                remote_reset: false,
                for_successor: VecDeque::new(),
                low_threshold: 0,
            },
        );
        self.stats.channels_opened += 1;
        self.events
            .push_back(DataChannelEvent::DataChannel(DataChannelId(s)));
    }
}
