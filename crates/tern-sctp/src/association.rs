//! The association: handshake with a signed state cookie (RFC 9260 §5),
//! verification tags, packet assembly, delayed SACKs, timers, shutdown and
//! abort. Sans-IO: packets in and out as bytes (DTLS carries them).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_crypto::hmac::HmacSha256Key;
use tern_crypto::Random;

use crate::chunk::{
    chunk_type, parse_packet_into, reconfig_result, Chunk, CommonHeader, Data, Init, PacketWriter,
    ReconfigParam,
};
use crate::heartbeat::{Heartbeat, HeartbeatAction};
use crate::reset::{OutgoingOutcome, StreamReset};
use crate::rx::{Arrival, DataTracker, Message, Reassembly};
use crate::tsn::Tsn;
use crate::tx::{Reliability, SendQueue, Sender};

/// Tunables.
#[derive(Debug, Clone)]
pub struct SctpConfig {
    /// SCTP port on both sides (WebRTC: 5000, or a=sctp-port).
    pub port: u16,
    /// Largest SCTP packet (what fits in one DTLS record over the path).
    pub mtu: usize,
    /// Our receive window (a_rwnd) in bytes. The default, 8 MiB, covers
    /// the bandwidth-delay product of 1 Gbit/s at 50 ms (6.25 MB).
    pub receive_window: u32,
    /// Streams we offer each way.
    pub streams: u16,
    /// Largest message we accept from the peer.
    pub max_message_size: usize,
    /// Initial RTO (RFC 9260: 1 s).
    pub rto_initial: Duration,
    /// Lower bound on the RTO.
    pub rto_min: Duration,
    /// Upper bound on the RTO.
    pub rto_max: Duration,
    /// Delayed SACK timer (RFC 9260 §6.2: at most 500 ms; 200 ms usual).
    pub delayed_sack: Duration,
    /// Packets of new data sent at most in one go (RFC 9260 §6.1 D,
    /// Max.Burst): a SACK that acknowledges a lot at once does not turn
    /// into a line-rate burst that overflows a queue.
    pub max_burst: usize,
    /// INIT / COOKIE ECHO retransmissions before giving up.
    pub max_init_retransmits: u32,
    /// Consecutive T3 expiries before the association is declared dead.
    pub max_retransmits: u32,
    /// Offer zero checksums (RFC 9653) for use over DTLS.
    pub zero_checksum: bool,
    /// HEARTBEAT interval on an idle association (RFC 9260 §8.3: 30 s);
    /// more than `max_retransmits` unanswered in a row fail it. `None`: no
    /// heartbeats (liveness left to ICE consent checks).
    pub heartbeat_interval: Option<Duration>,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            port: 5000,
            mtu: 1200,
            receive_window: 8 * 1024 * 1024,
            streams: 65535,
            max_message_size: 256 * 1024,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            delayed_sack: Duration::from_millis(200),
            max_burst: 4,
            max_init_retransmits: 8,
            max_retransmits: 10,
            zero_checksum: true,
            heartbeat_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// What the association reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SctpEvent {
    /// The association is established.
    Connected,
    /// A complete message.
    Message(Message),
    /// A partially reliable message was given up (RFC 3758): it may not
    /// have arrived. `message` is the id [`Association::send`] returned.
    Abandoned {
        /// Stream.
        stream: u16,
        /// Message id.
        message: u64,
    },
    /// The peer reset these outgoing streams of its own (RFC 6525): their
    /// sequence numbers start again, and a data channel on them is closing.
    /// An empty list means every stream.
    IncomingStreamsReset(Vec<u16>),
    /// Our reset of these outgoing streams is done: they can be used again.
    OutgoingStreamsReset(Vec<u16>),
    /// The peer refused to reset these streams of ours.
    StreamResetDenied(Vec<u16>),
    /// Closed by SHUTDOWN.
    Closed,
    /// Aborted (by the peer, or after too many retransmissions).
    Aborted(String),
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The association is not established (or is closing).
    NotConnected,
    /// Larger than the peer accepts (its a=max-message-size).
    TooLarge {
        /// The message.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stream is being reset (its data channel is closing).
    StreamResetting(u16),
    /// Empty messages are sent by the caller as a one-byte placeholder
    /// with the "empty" PPID (RFC 8831 §6.6); SCTP itself cannot carry them.
    Empty,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::NotConnected => write!(f, "the SCTP association is not established"),
            SendError::TooLarge { len, max } => write!(
                f,
                "message of {len} bytes exceeds the peer's limit of {max}"
            ),
            SendError::Empty => write!(f, "SCTP cannot carry an empty message"),
            SendError::StreamResetting(s) => {
                write!(f, "stream {s} is being reset; wait for its reset to finish")
            }
        }
    }
}
impl std::error::Error for SendError {}

/// How one message is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Unordered delivery (U bit).
    pub unordered: bool,
    /// Give up after this many retransmissions (RFC 3758 "rtx" policy).
    pub max_retransmits: Option<u32>,
    /// Give up after this long (RFC 3758 "timed" policy).
    pub lifetime: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownAckSent,
    Done,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SctpStats {
    /// Packets that failed to parse or had a bad checksum.
    pub malformed: u64,
    /// Packets with the wrong verification tag.
    pub bad_tag: u64,
    /// DATA chunks retransmitted.
    pub retransmitted_chunks: u64,
    /// T3 expiries.
    pub t3_expiries: u64,
    /// Duplicate DATA received.
    pub duplicates_received: u64,
    /// Packets sent.
    pub packets_sent: u64,
    /// DATA dropped for lack of receive buffer (resent by the peer).
    pub dropped_no_buffer: u64,
    /// HEARTBEATs sent.
    pub heartbeats_sent: u64,
}

/// One SCTP association.
pub struct Association {
    config: SctpConfig,
    state: State,
    created: Instant,
    cookie_key: HmacSha256Key,
    my_tag: u32,
    peer_tag: u32,
    my_initial_tsn: Tsn,
    zero_checksum: bool,
    init_chunk: Option<Chunk>,
    cookie: Option<Vec<u8>>,
    t1_at: Option<Instant>,
    t1_rto: Duration,
    t1_count: u32,
    sender: Option<Sender>,
    tracker: Option<DataTracker>,
    reassembly: Reassembly,
    send_queue: SendQueue,
    sack_due: Option<Instant>,
    sack_now: bool,
    packets_since_sack: u32,
    t3_at: Option<Instant>,
    t3_count: u32,
    shutdown_at: Option<Instant>,
    peer_max_message: usize,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<SctpEvent>,
    undelivered: usize,
    stats: SctpStats,
    /// The latest time passed in.
    last_now: Instant,
    /// The a_rwnd in our last SACK.
    advertised_rwnd: u32,
    /// The application read enough to reopen a (nearly) closed window:
    /// tell the peer without waiting for its next packet.
    window_update_due: bool,
    next_message_id: u64,
    forward_tsn_due: bool,
    reset: Option<StreamReset>,
    reconfig_out: Vec<ReconfigParam>,
    scratch: Vec<Chunk>,
    peer_reconfig: bool,
    heartbeat: Option<Heartbeat>,
}

impl std::fmt::Debug for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Association")
            .field("state", &self.state)
            .field("stats", &self.stats)
            .field("queued", &self.send_queue.total)
            .field(
                "outstanding",
                &self.sender.as_ref().map(|s| s.outstanding.len()),
            )
            .field(
                "cum_acked",
                &self.sender.as_ref().map(|s| s.cumulative_acked),
            )
            .field(
                "forward_tsn",
                &self.sender.as_ref().map(|s| s.forward_tsn().map(|f| f.0)),
            )
            .field("peer_cum", &self.tracker.as_ref().map(|t| t.cumulative()))
            .field("t3_at", &self.t3_at.is_some())
            .finish_non_exhaustive()
    }
}

const COOKIE_LIFETIME_MS: u64 = 60_000;
/// Tags, initial TSNs, a_rwnd, zero-checksum and RE-CONFIG flags, timestamp.
const COOKIE_BODY: usize = 30;

impl Association {
    /// An association that waits for the peer's INIT, or starts one itself
    /// with [`connect`](Self::connect). `now` is its time origin.
    pub fn new(config: SctpConfig, mut rng: Box<dyn Random + Send>, now: Instant) -> Self {
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        let my_tag = loop {
            let t = rng.next_u32();
            if t != 0 {
                break t;
            }
        };
        let my_initial_tsn = Tsn(rng.next_u32());
        let t1_rto = config.rto_initial;
        let config_window = config.receive_window;
        Association {
            config,
            state: State::Closed,
            created: now,
            cookie_key: HmacSha256Key::new(&key),
            my_tag,
            peer_tag: 0,
            my_initial_tsn,
            zero_checksum: false,
            init_chunk: None,
            cookie: None,
            t1_at: None,
            t1_rto,
            t1_count: 0,
            sender: None,
            tracker: None,
            reassembly: Reassembly::default(),
            send_queue: SendQueue::default(),
            sack_due: None,
            sack_now: false,
            packets_since_sack: 0,
            t3_at: None,
            t3_count: 0,
            shutdown_at: None,
            peer_max_message: 256 * 1024,
            out: VecDeque::new(),
            events: VecDeque::new(),
            undelivered: 0,
            stats: SctpStats::default(),
            last_now: now,
            // Nothing to update until a SACK has shown a (nearly) closed window.
            advertised_rwnd: config_window,
            window_update_due: false,
            next_message_id: 0,
            forward_tsn_due: false,
            reset: None,
            reconfig_out: Vec::new(),
            scratch: Vec::new(),
            peer_reconfig: false,
            heartbeat: None,
        }
    }

    /// Whether established.
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }
    /// Counters.
    pub fn stats(&self) -> SctpStats {
        self.stats
    }
    /// The peer's maximum message size (its a=max-message-size).
    pub fn set_peer_max_message_size(&mut self, max: usize) {
        self.peer_max_message = max;
    }
    /// Bytes queued or in flight on `stream` (the data channel's bufferedAmount).
    pub fn buffered_amount(&self, stream: u16) -> usize {
        let queued = self.send_queue.buffered.get(&stream).copied().unwrap_or(0);
        let inflight = self
            .sender
            .as_ref()
            .and_then(|s| s.inflight_by_stream.get(&stream).copied())
            .unwrap_or(0);
        queued + inflight
    }
    /// Whether anything sent or queued is still unacknowledged by the peer
    /// (including abandoned data the peer has not yet been moved past).
    pub fn has_unacknowledged(&self) -> bool {
        !self.send_queue.is_empty() || self.sender.as_ref().is_some_and(|s| !s.is_empty())
    }

    /// Smoothed round-trip time, once measured (from data or heartbeats).
    pub fn srtt(&self) -> Option<Duration> {
        self.sender.as_ref().and_then(|s| s.srtt())
    }

    /// Congestion window (for tests and stats).
    pub fn cwnd(&self) -> usize {
        self.sender.as_ref().map_or(0, |s| s.cwnd)
    }

    /// Starts the handshake by sending INIT.
    pub fn connect(&mut self, now: Instant) {
        if self.state != State::Closed {
            return;
        }
        let init = Chunk::Init(self.our_init(None));
        self.init_chunk = Some(init.clone());
        self.send_control(0, &[init]);
        self.state = State::CookieWait;
        self.t1_at = Some(now + self.t1_rto);
    }

    fn our_init(&self, cookie: Option<Vec<u8>>) -> Init {
        Init {
            initiate_tag: self.my_tag,
            a_rwnd: self.config.receive_window,
            outbound_streams: self.config.streams,
            inbound_streams: self.config.streams,
            initial_tsn: self.my_initial_tsn,
            cookie,
            forward_tsn: true,
            zero_checksum: self.config.zero_checksum,
            extensions: vec![chunk_type::FORWARD_TSN, chunk_type::RE_CONFIG],
        }
    }

    /// Queues a reliable message on `stream` with `ppid`; returns its id.
    pub fn send(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        data: &[u8],
        unordered: bool,
    ) -> Result<u64, SendError> {
        self.send_with(
            now,
            stream,
            ppid,
            data,
            SendOptions {
                unordered,
                ..SendOptions::default()
            },
        )
    }

    /// Queues a message with explicit delivery options; returns its id.
    pub fn send_with(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        data: &[u8],
        opts: SendOptions,
    ) -> Result<u64, SendError> {
        self.send_bytes(now, stream, ppid, Bytes::copy_from_slice(data), opts)
    }

    /// Queues a message the caller gives away: its chunks are slices of
    /// `data`, so nothing is copied until packets are written.
    pub fn send_bytes(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        data: Bytes,
        opts: SendOptions,
    ) -> Result<u64, SendError> {
        if self.state != State::Established {
            return Err(SendError::NotConnected);
        }
        if data.is_empty() {
            return Err(SendError::Empty);
        }
        if self.reset.as_ref().is_some_and(|r| r.is_resetting(stream)) {
            return Err(SendError::StreamResetting(stream));
        }
        if data.len() > self.peer_max_message {
            return Err(SendError::TooLarge {
                len: data.len(),
                max: self.peer_max_message,
            });
        }
        let id = self.next_message_id;
        self.next_message_id += 1;
        let rel = Reliability {
            max_retransmits: opts.max_retransmits,
            expires: opts.lifetime.map(|l| now + l),
        };
        self.send_queue
            .push(stream, ppid, opts.unordered, data, id, rel);
        self.transmit(now);
        Ok(id)
    }

    /// Resets these outgoing streams (RFC 6525), as closing a data channel
    /// does: what is already queued on them is sent first, new sends are
    /// refused until [`SctpEvent::OutgoingStreamsReset`] reports them done,
    /// after which their sequence numbers start again at 0.
    pub fn reset_streams(&mut self, now: Instant, streams: &[u16]) -> Result<(), SendError> {
        if self.state != State::Established {
            return Err(SendError::NotConnected);
        }
        if !self.peer_reconfig {
            // The peer cannot reset streams: report it at once.
            self.events
                .push_back(SctpEvent::StreamResetDenied(streams.to_vec()));
            return Ok(());
        }
        if let Some(r) = &mut self.reset {
            for &s in streams {
                r.request(s);
            }
        }
        self.transmit(now);
        Ok(())
    }

    /// Ends the association at once with an ABORT (RFC 9260 §9.1): what is
    /// still queued is dropped. For a connection going away for good (W3C
    /// `RTCPeerConnection.close()`), where a graceful SHUTDOWN could never
    /// complete and the peer would otherwise learn nothing until its own
    /// timers ran out.
    pub fn abort(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        match self.state {
            State::CookieEchoed
            | State::Established
            | State::ShutdownPending
            | State::ShutdownSent
            | State::ShutdownAckSent => self.abort_local("closed by this side"),
            State::Closed | State::CookieWait => {
                self.state = State::Done;
                self.clear_timers();
            }
            State::Done => {}
        }
    }

    /// Starts a graceful shutdown once everything sent is acknowledged.
    pub fn close(&mut self, now: Instant) {
        if self.state == State::Established {
            self.state = State::ShutdownPending;
            self.maybe_shutdown(now);
        }
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        let e = self.events.pop_front();
        if let Some(SctpEvent::Message(m)) = &e {
            self.undelivered -= m.data.len();
            let window = self.config.receive_window;
            if self.advertised_rwnd < window / 4 && self.a_rwnd() >= window / 2 {
                self.window_update_due = true;
            }
        }
        e
    }
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let update = self.window_update_due.then_some(self.last_now);
        [
            update,
            self.t1_at,
            self.t3_at,
            self.sack_due,
            self.shutdown_at,
            self.reset.as_ref().and_then(|r| r.retry_at),
            self.sender.as_ref().and_then(|s| s.rack_timeout()),
            self.heartbeat.as_ref().and_then(|h| h.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Milliseconds since this association was created (cookie timestamps).
    fn now_ms(&self) -> u64 {
        self.last_now
            .saturating_duration_since(self.created)
            .as_millis() as u64
    }

    fn a_rwnd(&self) -> u32 {
        let held = self.reassembly.buffered + self.undelivered;
        (self.config.receive_window as usize).saturating_sub(held) as u32
    }

    fn send_control(&mut self, tag: u32, chunks: &[Chunk]) {
        let mut w = PacketWriter::new(CommonHeader {
            source_port: self.config.port,
            destination_port: self.config.port,
            verification_tag: tag,
        });
        for c in chunks {
            w.push(c);
        }
        self.emit(w);
    }

    fn emit(&mut self, w: PacketWriter) {
        // INIT must carry a real checksum: the peer has not agreed yet.
        self.stats.packets_sent += 1;
        self.out.push_back(w.finish(self.zero_checksum));
    }

    /// Handles one received SCTP packet.
    pub fn handle_receive(&mut self, now: Instant, packet: &[u8]) {
        self.handle_packet(now, Bytes::copy_from_slice(packet));
    }

    /// Handles one received SCTP packet the caller gives away (e.g. the
    /// buffer DTLS decrypted into): DATA payloads are slices of it, so
    /// nothing is copied until reassembly.
    pub fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        self.last_now = self.last_now.max(now);
        if self.state == State::Done {
            return;
        }
        // The chunk list is reused from packet to packet.
        let mut chunks = std::mem::take(&mut self.scratch);
        let zero_ok = self.zero_checksum || self.config.zero_checksum;
        let header = match parse_packet_into(&packet, zero_ok, &mut chunks) {
            Ok(h) => h,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        let has_init = chunks.iter().any(|c| matches!(c, Chunk::Init(_)));
        // RFC 9260 §8.5: the tag must be ours, except for INIT (tag 0) and
        // reflected ABORT / SHUTDOWN COMPLETE.
        let tag_ok = if has_init {
            header.verification_tag == 0 && chunks.len() == 1
        } else {
            header.verification_tag == self.my_tag
                || chunks.iter().any(|c| {
                    matches!(
                        c,
                        Chunk::Abort {
                            reflected: true,
                            ..
                        } | Chunk::ShutdownComplete { reflected: true }
                    ) && header.verification_tag == self.peer_tag
                })
        };
        if !tag_ok {
            self.stats.bad_tag += 1;
            return;
        }
        let mut got_data = false;
        for c in chunks.drain(..) {
            match c {
                Chunk::Init(i) => self.on_init(i),
                Chunk::InitAck(i) => self.on_init_ack(now, i),
                Chunk::CookieEcho(c) => self.on_cookie_echo(now, &c),
                Chunk::CookieAck if self.state == State::CookieEchoed => {
                    self.t1_at = None;
                    self.established(now);
                }
                Chunk::Data(d) => {
                    got_data = true;
                    self.on_data(d);
                    self.after_cumulative();
                }
                Chunk::Sack(s) => self.on_sack(now, &s),
                Chunk::ReConfig(params) => self.on_reconfig(now, params),
                Chunk::ForwardTsn {
                    new_cumulative_tsn,
                    streams,
                } => self.on_forward_tsn(Tsn(new_cumulative_tsn), &streams),
                Chunk::Heartbeat(info) => {
                    self.send_control(self.peer_tag, &[Chunk::HeartbeatAck(info)])
                }
                Chunk::Abort { causes, .. } => {
                    self.state = State::Done;
                    self.clear_timers();
                    self.events.push_back(SctpEvent::Aborted(format!(
                        "peer aborted ({} bytes of causes)",
                        causes.len()
                    )));
                    return;
                }
                Chunk::Shutdown(cum) => {
                    if let Some(s) = &mut self.sender {
                        let sack = crate::chunk::Sack {
                            cumulative_tsn: cum,
                            a_rwnd: u32::MAX,
                            ..Default::default()
                        };
                        s.on_sack(&sack, now);
                    }
                    if matches!(
                        self.state,
                        State::Established | State::ShutdownPending | State::ShutdownSent
                    ) {
                        self.state = State::ShutdownAckSent;
                        self.send_control(self.peer_tag, &[Chunk::ShutdownAck]);
                        self.shutdown_at = Some(now + self.t1_rto);
                    }
                }
                Chunk::ShutdownAck => {
                    if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
                        self.send_control(
                            self.peer_tag,
                            &[Chunk::ShutdownComplete { reflected: false }],
                        );
                        self.finish_closed();
                    }
                }
                Chunk::ShutdownComplete { .. } if self.state == State::ShutdownAckSent => {
                    self.finish_closed();
                }
                // Stale Cookie while echoing: start the handshake again.
                Chunk::Error(causes)
                    if self.state == State::CookieEchoed && causes.get(..2) == Some(&[0, 3]) =>
                {
                    self.state = State::Closed;
                    self.t1_rto = self.config.rto_initial;
                    self.t1_count = 0;
                    self.connect(now);
                }
                Chunk::HeartbeatAck(info) => {
                    let rtt = self.heartbeat.as_mut().and_then(|h| h.on_ack(now, &info));
                    if let (Some(rtt), Some(s)) = (rtt, &mut self.sender) {
                        s.rtt_sample(rtt);
                    }
                }
                _ => {} // unknown
            }
        }
        self.scratch = chunks;
        if got_data {
            self.packets_since_sack += 1;
            if self.packets_since_sack >= 2 || self.sack_now {
                self.sack_now = true;
            } else if self.sack_due.is_none() {
                self.sack_due = Some(now + self.config.delayed_sack);
            }
        }
        self.transmit(now);
    }

    fn finish_closed(&mut self) {
        self.state = State::Done;
        self.clear_timers();
        self.events.push_back(SctpEvent::Closed);
    }

    fn clear_timers(&mut self) {
        self.t1_at = None;
        self.t3_at = None;
        self.sack_due = None;
        self.shutdown_at = None;
        if let Some(h) = &mut self.heartbeat {
            h.stop();
        }
    }

    fn on_init(&mut self, i: Init) {
        // Stateless answer: everything needed later travels in the cookie.
        let now_ms = self.now_ms();
        let mut cookie = Vec::with_capacity(64);
        cookie.extend_from_slice(&self.my_tag.to_be_bytes());
        cookie.extend_from_slice(&self.my_initial_tsn.0.to_be_bytes());
        cookie.extend_from_slice(&i.initiate_tag.to_be_bytes());
        cookie.extend_from_slice(&i.initial_tsn.0.to_be_bytes());
        cookie.extend_from_slice(&i.a_rwnd.to_be_bytes());
        cookie.push(u8::from(i.zero_checksum && self.config.zero_checksum));
        cookie.push(u8::from(i.extensions.contains(&chunk_type::RE_CONFIG)));
        cookie.extend_from_slice(&now_ms.to_be_bytes());
        let mac = self.cookie_key.sign(&[&cookie]);
        cookie.extend_from_slice(&mac);
        let ack = Chunk::InitAck(self.our_init(Some(cookie)));
        // Only the peer's tag, never state: a flood of INITs costs nothing but answers.
        let w = {
            let mut w = PacketWriter::new(CommonHeader {
                source_port: self.config.port,
                destination_port: self.config.port,
                verification_tag: i.initiate_tag,
            });
            w.push(&ack);
            w
        };
        self.stats.packets_sent += 1;
        self.out.push_back(w.finish(false));
    }

    fn on_init_ack(&mut self, now: Instant, i: Init) {
        if self.state != State::CookieWait {
            return;
        }
        let Some(cookie) = i.cookie.clone() else {
            return;
        };
        self.peer_tag = i.initiate_tag;
        self.zero_checksum = self.config.zero_checksum && i.zero_checksum;
        self.peer_reconfig = i.extensions.contains(&chunk_type::RE_CONFIG);
        self.setup_data(i.initial_tsn, i.a_rwnd);
        self.cookie = Some(cookie.clone());
        self.send_control(self.peer_tag, &[Chunk::CookieEcho(cookie)]);
        self.state = State::CookieEchoed;
        // T1-cookie starts afresh (the INIT backoff does not carry over), so
        // the cookie is echoed well within its lifetime.
        self.t1_count = 0;
        self.t1_rto = self.config.rto_initial;
        self.t1_at = Some(now + self.t1_rto);
    }

    fn setup_data(&mut self, peer_initial_tsn: Tsn, peer_rwnd: u32) {
        self.reset = Some(StreamReset::new(self.my_initial_tsn, peer_initial_tsn));
        self.tracker = Some(DataTracker::new(
            peer_initial_tsn,
            self.config.receive_window.max(1 << 16) / 64 + 65536,
        ));
        self.sender = Some(Sender::new(
            self.my_initial_tsn,
            self.config.mtu,
            peer_rwnd as usize,
            self.config.rto_initial,
            self.config.rto_min,
            self.config.rto_max,
        ));
    }

    fn on_cookie_echo(&mut self, now: Instant, c: &[u8]) {
        if c.len() != COOKIE_BODY + 32 {
            self.stats.malformed += 1;
            return;
        }
        let (body, mac) = c.split_at(COOKIE_BODY);
        if !self.cookie_key.verify(&[body], mac) {
            self.stats.malformed += 1;
            return;
        }
        let be32 = |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        let ts = u64::from_be_bytes(body[22..30].try_into().unwrap_or([0; 8]));
        let age = self.now_ms().saturating_sub(ts);
        if age > COOKIE_LIFETIME_MS {
            // RFC 9260 §5.1.5 step 3 and §3.3.10.3: report a Stale Cookie
            // (cause 3, with the staleness in microseconds); the peer starts over.
            let peer_tag = u32::from_be_bytes([body[8], body[9], body[10], body[11]]);
            let stale_us = ((age - COOKIE_LIFETIME_MS) * 1000).min(u64::from(u32::MAX)) as u32;
            let mut cause = vec![0, 3, 0, 8];
            cause.extend_from_slice(&stale_us.to_be_bytes());
            self.send_control(peer_tag, &[Chunk::Error(cause)]);
            return;
        }
        if be32(0) != self.my_tag {
            return;
        }
        if self.state == State::Established {
            // A retransmitted COOKIE ECHO: our COOKIE ACK was lost.
            self.send_control(self.peer_tag, &[Chunk::CookieAck]);
            return;
        }
        self.peer_tag = be32(8);
        self.zero_checksum = body[20] == 1;
        self.peer_reconfig = body[21] == 1;
        self.setup_data(Tsn(be32(12)), be32(16));
        self.t1_at = None;
        self.send_control(self.peer_tag, &[Chunk::CookieAck]);
        self.established(now);
    }

    fn established(&mut self, now: Instant) {
        self.state = State::Established;
        if let Some(interval) = self.config.heartbeat_interval {
            let mut h = Heartbeat::new(
                interval,
                self.config.max_retransmits,
                u64::from(self.my_tag),
            );
            h.start(now);
            self.heartbeat = Some(h);
        }
        self.events.push_back(SctpEvent::Connected);
    }

    fn on_data(&mut self, d: Data) {
        let Some(tracker) = &mut self.tracker else {
            return;
        };
        if d.immediate {
            self.sack_now = true;
        }
        // Out of buffer (bytes, or the span of TSNs held for reassembly):
        // drop before recording it, so it is never acked and the sender
        // resends it later (RFC 9260 §6.2). The next expected TSN is always
        // taken, or fragments waiting for it could deadlock.
        let limit = self
            .config
            .max_message_size
            .max(self.config.receive_window as usize);
        let no_room =
            self.reassembly.buffered + d.payload.len() > limit || !self.reassembly.fits(d.tsn);
        if no_room && d.tsn != tracker.cumulative().next() && !tracker.has(d.tsn) {
            self.stats.dropped_no_buffer += 1;
            self.sack_now = true;
            return;
        }
        match tracker.receive(d.tsn) {
            Arrival::Fresh => {
                if tracker.has_gaps() {
                    self.sack_now = true; // out of order: SACK at once (RFC 9260 §6.7)
                }
                for m in self.reassembly.insert(d) {
                    self.undelivered += m.data.len();
                    self.events.push_back(SctpEvent::Message(m));
                }
            }
            Arrival::Duplicate => {
                self.stats.duplicates_received += 1;
                self.sack_now = true;
            }
            Arrival::OutOfWindow => {}
        }
        // A closed window is reported at once, so a zero-window probe is
        // answered within a round trip rather than after the delayed-SACK
        // timer (which would race the sender's T3).
        if (self.a_rwnd() as usize) < self.config.mtu {
            self.sack_now = true;
        }
    }

    fn on_reconfig(&mut self, now: Instant, params: Vec<ReconfigParam>) {
        let (Some(reset), Some(tracker)) = (&mut self.reset, &self.tracker) else {
            return;
        };
        for p in params {
            match p {
                ReconfigParam::OutgoingReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    let (resp, done) =
                        reset.on_peer_request(request_seq, last_tsn, streams, tracker.cumulative());
                    self.reconfig_out.push(resp);
                    if let Some(streams) = done {
                        self.reassembly.reset_streams(&streams);
                        self.events
                            .push_back(SctpEvent::IncomingStreamsReset(streams));
                    }
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                } => {
                    let rto = self
                        .sender
                        .as_ref()
                        .map_or(self.config.rto_initial, |s| s.rto);
                    match reset.on_response(now, rto, response_seq, result) {
                        Some(OutgoingOutcome::Done(streams)) => {
                            for &s in &streams {
                                self.send_queue.reset_ssn(s);
                            }
                            self.events
                                .push_back(SctpEvent::OutgoingStreamsReset(streams));
                        }
                        Some(OutgoingOutcome::Denied(streams)) => {
                            self.events.push_back(SctpEvent::StreamResetDenied(streams));
                        }
                        None => {}
                    }
                }
                // We do not reset on the peer's behalf (WebRTC never asks).
                ReconfigParam::IncomingReset { request_seq, .. } => {
                    self.reconfig_out.push(ReconfigParam::Response {
                        response_seq: request_seq,
                        result: reconfig_result::DENIED,
                    });
                }
                _ => {}
            }
        }
    }

    /// A deferred peer reset is performed once its data has all arrived
    /// (and been handed to reassembly, so it is delivered before the reset).
    fn after_cumulative(&mut self) {
        let (Some(reset), Some(tracker)) = (&mut self.reset, &self.tracker) else {
            return;
        };
        if !reset.has_deferred() {
            return;
        }
        if let Some((resp, streams)) = reset.on_cumulative(tracker.cumulative()) {
            self.reconfig_out.push(resp);
            self.reassembly.reset_streams(&streams);
            self.events
                .push_back(SctpEvent::IncomingStreamsReset(streams));
        }
    }

    fn on_forward_tsn(&mut self, cum: Tsn, streams: &[(u16, u16)]) {
        let Some(tracker) = &mut self.tracker else {
            return;
        };
        let before = tracker.cumulative();
        tracker.forward_to(cum);
        if tracker.cumulative() != before {
            for m in self.reassembly.forward(tracker.cumulative(), streams) {
                self.undelivered += m.data.len();
                self.events.push_back(SctpEvent::Message(m));
            }
        }
        self.sack_now = true;
        self.after_cumulative();
    }

    fn on_sack(&mut self, now: Instant, s: &crate::chunk::Sack) {
        let Some(sender) = &mut self.sender else {
            return;
        };
        let o = sender.on_sack(s, now);
        if sender.forward_tsn().is_some() {
            self.forward_tsn_due = true; // the peer has not caught up with what we abandoned
        }
        if o.advanced {
            self.t3_count = 0;
            self.t3_at = if sender.is_empty() {
                None
            } else {
                Some(now + sender.rto)
            };
        }
        if sender.is_empty() {
            self.t3_at = None;
        }
        if self.state == State::ShutdownPending {
            self.maybe_shutdown(now);
        }
    }

    fn maybe_shutdown(&mut self, now: Instant) {
        let done = self.send_queue.is_empty() && self.sender.as_ref().is_none_or(|s| s.is_empty());
        if done {
            let cum = self.tracker.as_ref().map_or(0, |t| t.cumulative().0);
            self.send_control(self.peer_tag, &[Chunk::Shutdown(cum)]);
            self.state = State::ShutdownSent;
            self.shutdown_at = Some(now + self.t1_rto);
        }
    }

    /// Runs timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        if self.t1_at.is_some_and(|t| now >= t) {
            self.t1_count += 1;
            if self.t1_count > self.config.max_init_retransmits {
                self.abort_local("no answer to INIT / COOKIE ECHO");
                return;
            }
            self.t1_rto = (self.t1_rto * 2).min(self.config.rto_max);
            match self.state {
                State::CookieWait => {
                    if let Some(i) = self.init_chunk.clone() {
                        self.send_control(0, &[i]);
                    }
                }
                State::CookieEchoed => {
                    if let Some(c) = self.cookie.clone() {
                        self.send_control(self.peer_tag, &[Chunk::CookieEcho(c)]);
                    }
                }
                _ => {}
            }
            self.t1_at = Some(now + self.t1_rto);
        }
        if self.t3_at.is_some_and(|t| now >= t) {
            self.stats.t3_expiries += 1;
            self.t3_count += 1;
            if self.t3_count > self.config.max_retransmits {
                self.abort_local("too many retransmissions");
                return;
            }
            if let Some(s) = &mut self.sender {
                s.on_t3_timeout();
                self.t3_at = Some(now + s.rto);
                if s.forward_tsn().is_some() {
                    self.forward_tsn_due = true;
                }
            }
        }
        if self.sack_due.is_some_and(|t| now >= t) || self.window_update_due {
            self.sack_now = true;
            self.window_update_due = false;
        }
        if let Some(s) = &mut self.sender {
            if s.rack_timeout().is_some_and(|t| now >= t) {
                s.on_rack_timeout(now);
            }
        }
        if let (Some(h), Some(s)) = (&mut self.heartbeat, &self.sender) {
            if h.poll_timeout().is_some_and(|t| now >= t) {
                let busy = self.t3_at.is_some() || !self.send_queue.is_empty();
                match h.on_timeout(now, busy, s.rto) {
                    HeartbeatAction::Wait => {}
                    HeartbeatAction::Send(info) => {
                        self.stats.heartbeats_sent += 1;
                        self.send_control(self.peer_tag, &[Chunk::Heartbeat(info)]);
                    }
                    HeartbeatAction::PeerUnreachable => {
                        self.abort_local("peer unreachable: heartbeats unanswered");
                        return;
                    }
                }
            }
        }
        if let Some(r) = &mut self.reset {
            if let Some(p) = r.on_timeout(now, self.config.rto_max) {
                if r.retries > self.config.max_retransmits {
                    self.abort_local("no answer to a stream reset request");
                    return;
                }
                self.reconfig_out.push(p);
            }
        }
        if self.shutdown_at.is_some_and(|t| now >= t) {
            match self.state {
                State::ShutdownSent => {
                    let cum = self.tracker.as_ref().map_or(0, |t| t.cumulative().0);
                    self.send_control(self.peer_tag, &[Chunk::Shutdown(cum)]);
                }
                State::ShutdownAckSent => self.send_control(self.peer_tag, &[Chunk::ShutdownAck]),
                _ => {}
            }
            self.shutdown_at = Some(now + self.t1_rto);
        }
        self.transmit(now);
    }

    fn abort_local(&mut self, why: &str) {
        self.send_control(
            self.peer_tag,
            &[Chunk::Abort {
                reflected: false,
                causes: Vec::new(),
            }],
        );
        self.state = State::Done;
        self.clear_timers();
        self.events.push_back(SctpEvent::Aborted(why.to_string()));
    }

    /// Builds packets: a SACK if due, retransmissions, then new data, up to
    /// the congestion and receive windows, each packet filled to the MTU.
    fn transmit(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownAckSent
        ) {
            return;
        }
        let header = CommonHeader {
            source_port: self.config.port,
            destination_port: self.config.port,
            verification_tag: self.peer_tag,
        };
        let data_overhead = 16; // DATA chunk header
        let mut new_data_packets = 0;
        loop {
            let mut w = PacketWriter::new(header);
            if self.sack_now {
                let rwnd = self.a_rwnd();
                if let Some(t) = &mut self.tracker {
                    w.push(&Chunk::Sack(t.sack(rwnd)));
                    self.advertised_rwnd = rwnd;
                }
                self.sack_now = false;
                self.sack_due = None;
                self.packets_since_sack = 0;
            }
            let Some(sender) = &mut self.sender else {
                if !w.is_empty() {
                    self.emit(w);
                }
                return;
            };
            let mut added = false;
            // Stream reset requests and responses (RFC 6525).
            if let Some(r) = &mut self.reset {
                let last_tsn = Tsn(sender.next_tsn.0.wrapping_sub(1));
                let q = &self.send_queue;
                if let Some(p) = r.poll_request(now, sender.rto, last_tsn, |s| {
                    q.buffered.get(&s).is_some_and(|&b| b > 0)
                }) {
                    self.reconfig_out.push(p);
                }
            }
            while !self.reconfig_out.is_empty() && w.len() + 64 < self.config.mtu {
                // At most two parameters per chunk (RFC 6525 §3.1); one each keeps it simple.
                let p = self.reconfig_out.remove(0);
                w.push(&Chunk::ReConfig(vec![p]));
            }
            // Retransmissions first (fast retransmit may exceed cwnd once, RFC 9260 §7.2.4).
            while w.len() + data_overhead < self.config.mtu {
                let room = self.config.mtu - w.len() - data_overhead;
                let Some(d) = sender.next_retransmission(now, room, !added) else {
                    break;
                };
                self.stats.retransmitted_chunks += 1;
                w.push_data(&d);
                added = true;
            }
            // Abandoned messages: drop their unsent rest, tell the user, and
            // move the peer past them with FORWARD TSN (RFC 3758 §3.5).
            let mut gone = std::mem::take(&mut sender.abandoned_messages);
            gone.append(&mut self.send_queue.expired);
            for (id, stream) in gone {
                self.send_queue.drop_message(id);
                self.events.push_back(SctpEvent::Abandoned {
                    stream,
                    message: id,
                });
                self.forward_tsn_due = true;
            }
            if self.forward_tsn_due {
                if let Some((cum, streams)) = sender.forward_tsn() {
                    w.push(&Chunk::ForwardTsn {
                        new_cumulative_tsn: cum.0,
                        streams,
                    });
                    added = true;
                }
                self.forward_tsn_due = false;
            }
            // New data, at most Max.Burst packets of it per call.
            let mut carries_new = false;
            if (self.state == State::Established || self.state == State::ShutdownPending)
                && new_data_packets < self.config.max_burst
            {
                while w.len() + data_overhead + 1 < self.config.mtu && !self.send_queue.is_empty() {
                    let room = self.config.mtu - w.len() - data_overhead;
                    if !sender.can_send(room.min(self.send_queue.total.max(1))) {
                        break;
                    }
                    let tsn = sender.next_tsn;
                    let Some((d, id, rel)) = self.send_queue.next_chunk(tsn, room & !3, now) else {
                        break;
                    };
                    sender.next_tsn = tsn.next();
                    w.push_data(&d);
                    sender.sent(d, now, id, rel);
                    added = true;
                    carries_new = true;
                }
            }
            new_data_packets += usize::from(carries_new);
            if added && self.t3_at.is_none() {
                self.t3_at = Some(now + sender.rto);
            }
            if w.is_empty() {
                return;
            }
            self.emit(w);
            if !added {
                return;
            }
        }
    }
}
