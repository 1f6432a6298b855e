//! The sans-IO PeerConnection: the verbs (`handle_*`, `poll_*`) and the
//! wiring between its parts, each in its own module:
//! - `transport`: the BUNDLE group's ICE agent and DTLS endpoint, and the
//!   datagrams for the socket;
//! - `signaling`: the JSEP signaling-state transitions, one pure function;
//! - `negotiation`: offer/answer (the SDP itself is `crate::jsep`'s);
//! - `data`: data channels over SCTP;
//! - `timer`: the deadlines and why they are due.

mod data;
mod negotiation;
mod signaling;
mod timer;
mod transport;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tern_crypto::cert::{Certificate, Fingerprint};
use tern_ice::{IceConnectionState, IceEvent, IceGatheringState};
use tern_sctp::SctpTransport;
use tern_sdp::SessionDescription;

use crate::channels::Channels;
use crate::config::PeerConfig;
use crate::description::{IceCandidateInit, SdpType};
use crate::error::PeerError;
use crate::jsep::Mid;
use crate::state::{
    connection_state, ChannelId, DtlsTransportState, PeerConnectionState, PeerEvent, SignalingState,
};

pub use data::ChannelMut;
pub use negotiation::OfferOptions;
pub use timer::Timer;
use transport::{DtlsNews, Rngs, Transport};

/// Message bytes held for the application; beyond this, messages stay in
/// SCTP and its receive window closes (backpressure on the sender).
const HOLD_BYTES: usize = 1 << 20;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// From which local address (one of the configured host addresses);
    /// `None`: any.
    pub source: Option<SocketAddr>,
    /// The datagram.
    pub contents: Vec<u8>,
}

/// Several datagrams to one destination from one source, laid end to end
/// in the caller's buffer (see [`PeerConnection::poll_transmit_batch`]):
/// one UDP GSO send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransmitBatch {
    /// Where to.
    pub destination: SocketAddr,
    /// From which local address; `None`: any.
    pub source: Option<SocketAddr>,
    /// Bytes written into the buffer.
    pub len: usize,
    /// The size of each datagram but the last (which may be shorter);
    /// `None` when the batch holds one datagram.
    pub segment_size: Option<usize>,
}

/// A description applied locally or remotely, with the index of its data
/// section found once (instead of re-scanning the SDP at every use).
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub sdp_type: SdpType,
    pub desc: SessionDescription,
    pub data_index: Option<usize>,
}

impl Applied {
    fn new(sdp_type: SdpType, desc: SessionDescription) -> Self {
        let data_index = crate::jsep::data_section(&desc);
        Applied {
            sdp_type,
            desc,
            data_index,
        }
    }
}

/// A WebRTC peer connection without I/O: feed it datagrams, time and
/// signaling; poll it for datagrams, events and its next timeout.
pub struct PeerConnection {
    pub(crate) config: PeerConfig,
    fingerprint: [u8; 32],
    certificate: Arc<Certificate>,
    pub(crate) transport: Transport,
    pub(crate) sctp: Option<SctpTransport>,
    signaling: SignalingState,
    local: Option<Applied>,
    remote: Option<Applied>,
    session_id: u64,
    session_version: u64,
    /// The data section's mid, once one was offered or accepted.
    data_mid: Option<Mid>,
    pub(crate) channels: Channels,
    events: VecDeque<PeerEvent>,
    state: PeerConnectionState,
    closed: bool,
    negotiation_needed_sent: bool,
    rngs: Rngs,
    /// Bytes of `ChannelMessage` events not yet taken by the application.
    held: usize,
    last_now: Option<Instant>,
    timers: timer::TimerTable,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("signaling", &self.signaling)
            .field("state", &self.state)
            .field("ice", &self.transport.ice_state)
            .field("dtls", &self.transport.dtls_state)
            .field("channels", &self.channels.map.len())
            .finish_non_exhaustive()
    }
}

impl PeerConnection {
    /// A new connection. Makes a certificate unless the config has one.
    pub fn new(config: PeerConfig) -> Result<Self, PeerError> {
        let random = config.random;
        let certificate = match &config.certificate {
            Some(c) => c.clone(),
            None => Arc::new(
                Certificate::generate_self_signed(random.make(0).as_mut())
                    .map_err(|e| PeerError::Certificate(e.to_string()))?,
            ),
        };
        let session_id = random.make(1).next_u64() >> 1; // JSEP: 63 bits
        Ok(PeerConnection {
            fingerprint: certificate.fingerprint().0,
            certificate,
            config,
            transport: Transport::new(),
            sctp: None,
            signaling: SignalingState::Stable,
            local: None,
            remote: None,
            session_id,
            session_version: 1,
            data_mid: None,
            channels: Channels::default(),
            events: VecDeque::new(),
            state: PeerConnectionState::New,
            closed: false,
            negotiation_needed_sent: false,
            rngs: Rngs::new(random, 2),
            held: 0,
            last_now: None,
            timers: timer::TimerTable::default(),
        })
    }

    // ---- states ----------------------------------------------------------

    /// W3C `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling
    }
    /// W3C `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.state
    }
    /// W3C `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.transport.ice_state
    }
    /// W3C `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.transport.gathering_state
    }
    /// The DTLS transport's state.
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.transport.dtls_state
    }
    /// Our certificate's SHA-256 fingerprint (what `a=fingerprint` carries).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.fingerprint)
    }
    /// The ICE pair carrying data, once there is one: (local, remote).
    pub fn selected_candidate_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.transport.ice.as_ref()?.selected_pair()
    }

    fn set_signaling(&mut self, s: SignalingState) {
        if self.signaling != s {
            self.signaling = s;
            self.events.push_back(PeerEvent::SignalingStateChange(s));
        }
    }

    /// W3C `close`: closes the channels, the association, DTLS and ICE.
    /// Nothing is sent or received afterwards.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        // An ABORT, not a graceful SHUTDOWN: this side stops answering now,
        // so a shutdown could never complete and the peer's channels would
        // stay open until its timers gave up.
        if let Some(sctp) = &mut self.sctp {
            sctp.abort_transport(now);
        }
        self.flush_sctp();
        self.transport.close(now);
        self.close_all_channels();
        self.closed = true;
        self.signaling = SignalingState::Closed;
        self.state = PeerConnectionState::Closed;
        self.sctp = None;
        self.timers.clear();
    }

    // ---- sans-IO verbs ---------------------------------------------------

    /// A datagram arrived on `to` from `from`.
    pub fn handle_receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.handle_receive_owned(now, from, to, data.to_vec());
    }

    /// A datagram the caller gives away: DTLS decrypts it in place and SCTP
    /// keeps slices of it, so its payload is never copied again.
    pub fn handle_receive_owned(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    ) {
        let Some(&first) = data.first() else { return };
        if self.closed {
            return;
        }
        let counters = &mut self.transport.counters;
        counters.packets_received += 1;
        counters.bytes_received += data.len() as u64;
        // RFC 7983 §7: demultiplex on the first byte.
        match first {
            0..=3 => self.transport.receive_stun(now, from, to, &data),
            20..=63 => {
                self.transport.note_dtls_path(from, to);
                let ready = self.sctp.is_some();
                self.transport
                    .maybe_start_dtls(now, ready, &self.certificate, &mut self.rngs);
                let plain = self.transport.receive_dtls(now, from, to, data);
                if let (Some((data, range)), Some(sctp)) = (plain, &mut self.sctp) {
                    sctp.handle_packet(now, Bytes::from(data).slice(range));
                }
            }
            128..=191 => counters.dropped_rtp += 1,
            _ => counters.dropped_unknown += 1,
        }
        self.pump(now);
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        // The table is a field of its own: iterating it while the
        // components run needs no copy (and no allocation per wake-up).
        for timer in self.timers.expired(now) {
            tracing::trace!(?timer, "timeout");
            match timer {
                Timer::Ice | Timer::Dtls => self.transport.handle_timer(now, timer),
                Timer::Sctp => {
                    if let Some(s) = &mut self.sctp {
                        s.handle_timeout(now);
                    }
                }
            }
        }
        self.pump(now);
    }

    /// The next datagram to send (from `source`, which is one of the
    /// configured host addresses).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transport.out.pop_front()
    }

    /// The next datagrams to send, batched for one UDP GSO send: as many as
    /// `max_segments` consecutive datagrams to the same destination from
    /// the same source, all of the first one's size (the last may be
    /// shorter), laid end to end into `buf` (cleared first), at most
    /// `max_bytes` in all. Order is kept: a datagram that cannot join the
    /// batch starts the next one.
    pub fn poll_transmit_batch(
        &mut self,
        buf: &mut Vec<u8>,
        max_segments: usize,
        max_bytes: usize,
    ) -> Option<TransmitBatch> {
        let first = self.transport.out.pop_front()?;
        let seg = first.contents.len();
        let max = max_segments.min(max_bytes / seg.max(1)).max(1);
        buf.clear();
        buf.extend_from_slice(&first.contents);
        let mut count = 1;
        while count < max {
            match self.transport.out.front() {
                Some(n)
                    if n.destination == first.destination
                        && n.source == first.source
                        && n.contents.len() <= seg =>
                {
                    let shorter = n.contents.len() < seg;
                    buf.extend_from_slice(&n.contents);
                    count += 1;
                    self.transport.out.pop_front();
                    if shorter {
                        break; // only the last segment may be shorter
                    }
                }
                _ => break,
            }
        }
        Some(TransmitBatch {
            destination: first.destination,
            source: first.source,
            len: buf.len(),
            segment_size: (count > 1).then_some(seg),
        })
    }

    /// The next event. Messages are taken from SCTP as the application
    /// takes them from here, so one that stops polling slows the sender.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        let e = self.events.pop_front()?;
        if let PeerEvent::ChannelMessage { message, .. } = &e {
            let was_full = self.held >= HOLD_BYTES;
            self.held -= data::message_len(message);
            if was_full && self.held < HOLD_BYTES {
                if let Some(now) = self.last_now {
                    self.pump(now);
                }
            }
        }
        Some(e)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, and why
    /// (for logs and tests).
    pub fn poll_timeout_reason(&self) -> Option<(Instant, Timer)> {
        self.timers.next()
    }

    // ---- wiring ----------------------------------------------------------

    fn flush_sctp(&mut self) {
        let Some(sctp) = &mut self.sctp else { return };
        if !self.transport.is_dtls_connected() {
            return;
        }
        while let Some(p) = sctp.poll_transmit() {
            if !self.transport.send_application_data(&p) {
                self.transport.counters.dropped_sctp_out += 1;
            }
        }
    }

    fn close_all_channels(&mut self) {
        let ids: Vec<ChannelId> = self.channels.map.keys().copied().collect();
        for id in ids {
            self.channels.remove(id);
            self.events.push_back(PeerEvent::ChannelClosed(id));
        }
    }

    /// Moves everything that can move after an input: ICE → DTLS → SCTP
    /// and back down to the socket queue, then the states and deadlines.
    fn pump(&mut self, now: Instant) {
        let now = self.last_now.map_or(now, |t| t.max(now));
        self.last_now = Some(now);
        self.transport.run_due(now);
        while let Some(e) = self.transport.poll_ice_event() {
            self.on_ice_event(e);
        }
        self.transport.flush_ice();
        let ready = self.sctp.is_some();
        self.transport
            .maybe_start_dtls(now, ready, &self.certificate, &mut self.rngs);
        while let Some(news) = self.transport.poll_dtls_event() {
            let Some(s) = &mut self.sctp else { continue };
            match news {
                DtlsNews::Connected => s.connect(now),
                DtlsNews::ApplicationData(d) => s.handle_packet(now, Bytes::from(d)),
            }
        }
        while self.held < HOLD_BYTES {
            let Some(e) = self.sctp.as_mut().and_then(|s| s.poll_event()) else {
                break;
            };
            self.on_sctp_event(e);
        }
        self.flush_sctp();
        self.transport.flush_dtls();
        if self.transport.is_gone() && self.sctp.is_some() {
            // Consent expired or every pair failed, or the peer closed DTLS:
            // the peer is gone. The association cannot outlive its path, so
            // its channels close now rather than after SCTP's own
            // retransmission limit (minutes). (An ICE restart while
            // `disconnected` keeps them.)
            self.sctp = None;
            self.transport.drop_dtls();
            self.close_all_channels();
        }
        let state = connection_state(
            self.closed,
            self.transport.ice_state,
            self.transport.dtls_state,
        );
        if state != self.state {
            self.state = state;
            self.events
                .push_back(PeerEvent::ConnectionStateChange(state));
        }
        self.transport.update_timers(&mut self.timers);
        self.timers.set(
            Timer::Sctp,
            self.sctp.as_ref().and_then(|s| s.poll_timeout()),
        );
    }

    fn on_ice_event(&mut self, e: IceEvent) {
        match e {
            IceEvent::LocalCandidate(c) => {
                let s = c.to_string();
                let value = s.strip_prefix("candidate:").unwrap_or(&s).to_string();
                self.transport.local_candidates.push(value);
                let idx = self
                    .local
                    .as_ref()
                    .and_then(|l| l.data_index)
                    .and_then(|i| u16::try_from(i).ok());
                let ufrag = self
                    .transport
                    .ice
                    .as_ref()
                    .map(|i| i.local_credentials().ufrag.clone());
                self.events
                    .push_back(PeerEvent::IceCandidate(Some(IceCandidateInit {
                        candidate: s,
                        sdp_mid: self.data_mid.as_ref().map(|m| m.to_string()),
                        sdp_m_line_index: idx.or(Some(0)),
                        username_fragment: ufrag,
                    })));
            }
            IceEvent::EndOfLocalCandidates => {
                self.events.push_back(PeerEvent::IceCandidate(None));
            }
            IceEvent::GatheringStateChange(s) => {
                self.events.push_back(PeerEvent::IceGatheringStateChange(s));
            }
            IceEvent::ConnectionStateChange(s) => {
                self.events
                    .push_back(PeerEvent::IceConnectionStateChange(s));
            }
            _ => {} // selected pair and role changes: path() reads them
        }
    }
}
