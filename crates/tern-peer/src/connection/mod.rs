//! The sans-IO PeerConnection: the verbs (`handle_*`, `poll_*`) and the
//! wiring between its parts, each in its own module:
//! - `transport`: the BUNDLE group's ICE agent and DTLS endpoint, and the
//!   datagrams for the socket;
//! - `signaling`: the JSEP signaling-state transitions, one pure function;
//! - `negotiation`: offer/answer (the SDP itself is `crate::jsep`'s);
//! - `data`: data channels over SCTP;
//! - `media`: transceivers, SRTP, RTP demultiplexing and RTCP;
//! - `timer`: the deadlines and why they are due.

mod data;
mod media;
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
use tern_sdp::{HasAttributes, SessionDescription};

use crate::channels::Channels;
use crate::config::PeerConfig;
use crate::description::{IceCandidateInit, SdpType};
use crate::error::PeerError;
use crate::jsep::Mid;
use crate::state::{
    connection_state, ChannelId, DtlsTransportState, PeerConnectionState, PeerEvent, SignalingState,
};

pub use data::ChannelMut;
pub(crate) use media::MediaState;
pub use media::{BandwidthEstimation, BandwidthStats, MediaCounters, TransceiverMut};
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
    /// The section whose ICE and DTLS attributes are the BUNDLE group's.
    pub transport_index: Option<usize>,
}

impl Applied {
    fn new(sdp_type: SdpType, desc: SessionDescription) -> Self {
        let data_index = crate::jsep::data_section(&desc);
        let transport_index = crate::jsep::transport_section(&desc);
        Applied {
            transport_index,
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
    pub(crate) media: MediaState,
    /// The m-lines in the order every description keeps (RFC 8829 §5.2.2).
    pub(crate) layout: Vec<negotiation::Slot>,
    /// Both descriptions are applied with a transport: DTLS may start.
    transport_ready: bool,
    /// The layout of the offer `create_offer` made, until it is applied.
    offer_layout: Option<Vec<negotiation::Slot>>,
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
        let media = MediaState::new(config.media.clone(), random.make(1 << 40));
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
            media,
            layout: Vec::new(),
            transport_ready: false,
            offer_layout: None,
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
        self.media.drop_keys();
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
            // STUN, and TURN ChannelData (RFC 7983 §7: 64–79) relaying the
            // peer's DTLS or SRTP.
            0..=3 | 64..=79 => {
                if let Some(srtp) = self.transport.receive_stun(now, from, to, &data) {
                    let mut out = Vec::new();
                    self.media.receive(now, srtp, &mut self.events, &mut out);
                    for d in out {
                        self.transport.send_datagram(d);
                    }
                }
            }
            20..=63 => {
                self.transport.note_dtls_path(from, to);
                let ready = self.transport_ready;
                self.transport
                    .maybe_start_dtls(now, ready, &self.certificate, &mut self.rngs);
                let plain = self.transport.receive_dtls(now, from, to, data);
                if let (Some((data, range)), Some(sctp)) = (plain, &mut self.sctp) {
                    sctp.handle_packet(now, Bytes::from(data).slice(range));
                }
            }
            128..=191 => {
                let mut out = Vec::new();
                self.media.receive(now, data, &mut self.events, &mut out);
                for d in out {
                    self.transport.send_datagram(d);
                }
            }
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
                Timer::Media => {
                    let mut out = Vec::new();
                    self.media.handle_timeout(now, &mut out);
                    self.media.cc_handle_timeout(now, &mut self.events);
                    for d in out {
                        self.transport.send_datagram(d);
                    }
                }
                // `pump` below sends what the pacer lets go.
                Timer::Pacer => {}
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
        if let PeerEvent::Rtp { .. } = &e {
            self.media.queued_rtp = self.media.queued_rtp.saturating_sub(1);
        }
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
        let ready = self.transport_ready;
        self.transport
            .maybe_start_dtls(now, ready, &self.certificate, &mut self.rngs);
        while let Some(news) = self.transport.poll_dtls_event() {
            if let DtlsNews::Connected = news {
                self.start_srtp();
            }
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
        if self.transport.is_gone() && (self.sctp.is_some() || self.media.has_keys()) {
            // Consent expired or every pair failed, or the peer closed DTLS:
            // the peer is gone. The association cannot outlive its path, so
            // its channels close now rather than after SCTP's own
            // retransmission limit (minutes). (An ICE restart while
            // `disconnected` keeps them.)
            self.sctp = None;
            self.transport.drop_dtls();
            self.media.drop_keys();
            self.close_all_channels();
            // Nothing more comes on the peer's tracks either.
            for t in &mut self.media.transceivers {
                if std::mem::take(&mut t.track_fired) {
                    self.events
                        .push_back(PeerEvent::TrackEnded { transceiver: t.id });
                }
            }
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
        self.release_paced(now);
        self.transport.update_timers(&mut self.timers);
        self.timers.set(
            Timer::Sctp,
            self.sctp.as_ref().and_then(|s| s.poll_timeout()),
        );
        self.timers.set(Timer::Media, self.media.poll_timeout());
        self.timers.set(Timer::Pacer, self.media.pacer_timeout(now));
    }

    /// Sends the RTP the pacer lets go now.
    fn release_paced(&mut self, now: Instant) {
        if self.media.pacer.len() == 0 && !self.media.pacer.probing() && self.media.cc.is_none() {
            return;
        }
        let mut out = Vec::new();
        self.media.release(now, &mut out);
        for d in out {
            self.transport.send_datagram(d);
        }
    }

    /// SRTP keys from the DTLS exporter once DTLS is up (RFC 5764 §4.2).
    fn start_srtp(&mut self) {
        use tern_srtp::ProtectionProfile as P;
        let Some(profile) = self.transport.srtp_profile else {
            return;
        };
        let profile = match profile {
            tern_dtls::SrtpProfile::Aes128CmHmacSha1_80 => P::Aes128CmHmacSha1_80,
            tern_dtls::SrtpProfile::AeadAes128Gcm => P::AeadAes128Gcm,
            tern_dtls::SrtpProfile::AeadAes256Gcm => P::AeadAes256Gcm,
            _ => return,
        };
        let role = match self.transport.local_setup {
            Some(tern_sdp::Setup::Active) => tern_srtp::DtlsRole::Client,
            _ => tern_srtp::DtlsRole::Server,
        };
        let Some(dtls) = &self.transport.dtls else {
            return;
        };
        match dtls.export_keying_material(
            tern_srtp::EXPORTER_LABEL.as_bytes(),
            profile.keying_material_len(),
        ) {
            Ok(m) => {
                if let Err(e) = self.media.set_keys(profile, &m, role) {
                    tracing::warn!(error = %e, "no SRTP");
                }
            }
            Err(e) => tracing::warn!(error = %e, "DTLS exporter failed: no SRTP"),
        }
    }

    /// `negotiationneeded` (W3C §4.7.3), once until the next offer.
    pub(crate) fn note_negotiation_needed(&mut self) {
        if !self.negotiation_needed_sent && !self.closed {
            self.negotiation_needed_sent = true;
            self.events.push_back(PeerEvent::NegotiationNeeded);
        }
    }

    /// Tells the connection the wall-clock time at `now` (as time since the
    /// Unix epoch), for the NTP timestamps of sender reports (lip sync at
    /// the peer). Without it an arbitrary epoch is used.
    pub fn set_wall_clock(&mut self, now: Instant, since_unix_epoch: std::time::Duration) {
        self.media.set_wall_clock(now, since_unix_epoch);
    }

    // ---- media -------------------------------------------------------------

    /// W3C `addTransceiver(kind, init)`.
    pub fn add_transceiver(
        &mut self,
        kind: crate::media::MediaKind,
        init: crate::media::TransceiverInit,
    ) -> Result<crate::media::TransceiverId, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        let has_track = init.direction.sends();
        let mut init = init;
        init.send_encodings = crate::media::parameters::check_init(&init.send_encodings)?;
        let id = self.media.add(kind, init, has_track, false);
        self.note_negotiation_needed();
        Ok(id)
    }

    /// W3C `addTrack(track, ...streams)`: reuses a transceiver of the kind
    /// that has no track and was never used to send (one the peer's offer
    /// made), else adds a sendrecv one.
    pub fn add_track(
        &mut self,
        kind: crate::media::MediaKind,
        stream_ids: Vec<String>,
        track_id: Option<String>,
    ) -> Result<crate::media::TransceiverId, PeerError> {
        use crate::media::RtpTransceiverDirection as D;
        if self.closed {
            return Err(PeerError::Closed);
        }
        let reuse = self
            .media
            .transceivers
            .iter()
            .position(|t| t.kind == kind && !t.stopped && !t.has_track && !t.sender_used());
        if let Some(i) = reuse {
            let t = &mut self.media.transceivers[i];
            t.has_track = true;
            t.stream_ids = stream_ids;
            if let Some(tid) = track_id {
                t.track_id = tid;
            }
            t.source_track_id.clone_from(&t.track_id);
            t.detached = false;
            t.direction = match t.direction {
                D::RecvOnly => D::SendRecv,
                D::Inactive => D::SendOnly,
                d => d,
            };
            let id = t.id;
            self.note_negotiation_needed();
            return Ok(id);
        }
        let init = crate::media::TransceiverInit {
            direction: D::SendRecv,
            stream_ids,
            track_id,
            send_encodings: Vec::new(),
        };
        let id = self.media.add(kind, init, true, true);
        self.note_negotiation_needed();
        Ok(id)
    }

    /// W3C `removeTrack(sender)`: stops sending on the transceiver (its
    /// direction loses "send"); takes effect with the next negotiation.
    pub fn remove_track(&mut self, id: crate::media::TransceiverId) -> Result<(), PeerError> {
        use crate::media::RtpTransceiverDirection as D;
        let i = self
            .media
            .index(id)
            .ok_or_else(|| PeerError::InvalidState(format!("no {id}")))?;
        let t = &mut self.media.transceivers[i];
        if !t.has_track {
            return Ok(());
        }
        t.has_track = false;
        t.direction = match t.direction {
            D::SendRecv => D::RecvOnly,
            D::SendOnly => D::Inactive,
            d => d,
        };
        self.note_negotiation_needed();
        Ok(())
    }

    /// Paces all outgoing RTP at `bits_per_second` (audio first, then
    /// retransmissions, then video; `None`, the default: packets leave as
    /// they are written, and only encodings' `max_bitrate` paces them).
    /// For an application that knows its uplink; the bandwidth estimator
    /// will set it itself.
    pub fn set_pacing_rate(&mut self, bits_per_second: Option<u64>) {
        self.media.pacer.set_rate(bits_per_second);
    }

    /// A transceiver by handle.
    pub fn transceiver_mut(
        &mut self,
        id: crate::media::TransceiverId,
    ) -> Option<TransceiverMut<'_>> {
        let index = self.media.index(id)?;
        Some(TransceiverMut { pc: self, index })
    }

    /// A transceiver by its mid (W3C: the transceiver of an m-section).
    pub fn transceiver_by_mid(&mut self, mid: &str) -> Option<TransceiverMut<'_>> {
        let index = self.media.by_mid(mid)?;
        Some(TransceiverMut { pc: self, index })
    }

    /// W3C `getTransceivers()`: the handles, in creation order.
    pub fn transceivers(&self) -> Vec<crate::media::TransceiverId> {
        self.media.transceivers.iter().map(|t| t.id).collect()
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
                    .and_then(|l| l.transport_index)
                    .and_then(|i| u16::try_from(i).ok());
                let mid = self
                    .local
                    .as_ref()
                    .and_then(|l| l.desc.media.get(l.transport_index?)?.mid())
                    .map(str::to_string)
                    .or_else(|| self.data_mid.as_ref().map(|m| m.to_string()));
                let ufrag = self
                    .transport
                    .ice
                    .as_ref()
                    .map(|i| i.local_credentials().ufrag.clone());
                self.events
                    .push_back(PeerEvent::IceCandidate(Some(IceCandidateInit {
                        candidate: s,
                        sdp_mid: mid,
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
