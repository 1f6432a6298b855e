//! The transport of one BUNDLE group (RFC 8843): its ICE agent, its DTLS
//! endpoint, the path DTLS uses, the DTLS datagrams that wait for a path or
//! for the endpoint, and the datagrams ready for the socket. Every m-section
//! of the group (data today, audio and video next) rides on it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use tern_crypto::cert::{Certificate, Fingerprint};
use tern_dtls::{Dtls, DtlsConfig, DtlsEvent, SrtpProfile};
use tern_ice::{
    Candidate, IceAgent, IceConfig, IceConnectionState, IceEvent, IceGatheringState, PairState,
    Received,
};
use tern_sdp::Setup;

use super::timer::{Timer, TimerTable};
use super::Transmit;
use crate::config::RandomSource;
use crate::jsep::RemoteTransport;
use crate::state::DtlsTransportState;
use crate::stats::TransportCounters;

/// Datagrams held for DTLS while no ICE path exists yet.
const MAX_WAITING: usize = 64;
/// DTLS datagrams kept when they arrive before our DTLS endpoint exists
/// (the answerer's ClientHello racing our set_remote_description).
const MAX_EARLY_DTLS: usize = 16;

/// Per-component random streams derived from one source, so a seeded
/// connection replays exactly.
#[derive(Debug)]
pub(crate) struct Rngs {
    source: RandomSource,
    next: u64,
}

impl Rngs {
    pub fn new(source: RandomSource, first: u64) -> Self {
        Rngs {
            source,
            next: first,
        }
    }

    pub fn next(&mut self) -> Box<dyn tern_crypto::Random + Send> {
        self.next += 1;
        self.source.make(self.next)
    }
}

/// What DTLS tells the connection.
#[derive(Debug)]
pub(crate) enum DtlsNews {
    /// DTLS is up: SCTP (and SRTP) may start.
    Connected,
    /// A decrypted DTLS record for SCTP.
    ApplicationData(Vec<u8>),
}

pub(crate) struct Transport {
    pub ice: Option<IceAgent>,
    gathering_started: bool,
    pub dtls: Option<Dtls>,
    pub dtls_state: DtlsTransportState,
    pub ice_state: IceConnectionState,
    pub gathering_state: IceGatheringState,
    /// Our `a=setup` once both descriptions fixed it (active: DTLS client).
    pub local_setup: Option<Setup>,
    /// The peer's side of this transport, from its description.
    pub remote: Option<RemoteTransport>,
    /// Our candidates so far, as `a=candidate` values.
    pub local_candidates: Vec<String>,
    pub end_of_local_candidates: bool,
    /// DTLS datagrams waiting for an ICE path.
    waiting: VecDeque<Vec<u8>>,
    /// DTLS datagrams that came before our endpoint existed.
    early_dtls: VecDeque<Vec<u8>>,
    /// Where the peer's DTLS last came from (local, remote).
    last_dtls_path: Option<(SocketAddr, SocketAddr)>,
    /// Datagrams for the socket.
    pub out: VecDeque<Transmit>,
    pub counters: TransportCounters,
    /// The use_srtp profile DTLS negotiated (RFC 5764 §4.1.2), once
    /// connected. Its keys come from the exporter when media needs them.
    pub srtp_profile: Option<SrtpProfile>,
    /// The latest time the connection gave us: what wrapping DTLS for a
    /// TURN relay is timed with (`flush_dtls` runs within that same pump).
    last_now: Option<Instant>,
}

impl Transport {
    pub fn new() -> Self {
        Transport {
            ice: None,
            gathering_started: false,
            dtls: None,
            dtls_state: DtlsTransportState::New,
            ice_state: IceConnectionState::New,
            gathering_state: IceGatheringState::New,
            local_setup: None,
            remote: None,
            local_candidates: Vec::new(),
            end_of_local_candidates: false,
            waiting: VecDeque::new(),
            early_dtls: VecDeque::new(),
            last_dtls_path: None,
            out: VecDeque::new(),
            counters: TransportCounters::default(),
            srtp_profile: None,
            last_now: None,
        }
    }

    pub fn ensure_ice(&mut self, controlling: bool, cfg: IceConfig, rngs: &mut Rngs) {
        if self.ice.is_none() {
            let cfg = IceConfig { controlling, ..cfg };
            self.ice = Some(IceAgent::new(cfg, rngs.next()));
        }
    }

    /// The peer's credentials and candidates go to the ICE agent.
    pub fn apply_remote_ice(&mut self, now: Instant, rt: &RemoteTransport) {
        let Some(ice) = &mut self.ice else { return };
        ice.set_remote_credentials(now, rt.creds.clone());
        if rt.lite {
            ice.set_remote_lite(now, true);
        }
        for c in &rt.candidates {
            match c.parse::<Candidate>() {
                Ok(c) => ice.add_remote_candidate(now, c),
                Err(_) => self.counters.bad_remote_candidates += 1,
            }
        }
        if rt.end_of_candidates {
            ice.set_remote_end_of_candidates(now);
        }
    }

    pub fn start_gathering(&mut self, now: Instant, host_addresses: &[SocketAddr]) {
        if self.gathering_started {
            return;
        }
        if let Some(ice) = &mut self.ice {
            ice.gather(now, host_addresses);
            self.gathering_started = true;
        }
    }

    /// ICE restart (RFC 8445 §9): new credentials, candidates gathered anew.
    pub fn restart_ice(&mut self, now: Instant) {
        if let Some(ice) = &mut self.ice {
            ice.restart(now);
        }
        self.local_candidates.clear();
        self.end_of_local_candidates = false;
    }

    /// Where DTLS goes: the selected pair, else the best pair that passed a
    /// check (as browsers do, so the handshake need not wait for
    /// nomination), else where the peer's DTLS came from.
    pub fn path(&self) -> Option<(SocketAddr, SocketAddr)> {
        let ice = self.ice.as_ref()?;
        ice.selected_pair()
            .or_else(|| {
                ice.pairs()
                    .iter()
                    .filter(|p| p.state == PairState::Succeeded)
                    .max_by_key(|p| p.priority)
                    .map(|p| (p.local_addr, p.remote_addr))
            })
            .or(self.last_dtls_path)
    }

    /// The DTLS endpoint starts once both descriptions are in (`ready`):
    /// the server at once (it waits for a ClientHello), the client when ICE
    /// has a path.
    pub fn maybe_start_dtls(
        &mut self,
        now: Instant,
        ready: bool,
        certificate: &Arc<Certificate>,
        rngs: &mut Rngs,
    ) {
        if self.dtls.is_some() || !ready {
            return;
        }
        let (Some(setup), Some(rt)) = (self.local_setup, &self.remote) else {
            return;
        };
        let fp = Some(Fingerprint(rt.fingerprint));
        let mut cfg = DtlsConfig::new(certificate.clone());
        // ICE already proved the peer's address: no HelloVerifyRequest round
        // trip. use_srtp is offered even without media, as browsers do
        // (aiortc refuses a handshake without it).
        cfg.use_cookies = false;
        let dtls = match setup {
            Setup::Active => {
                if self.path().is_none() {
                    return;
                }
                Dtls::new_client(cfg, rngs.next(), fp, now)
            }
            _ => {
                let identity = rt.creds.ufrag.clone().into_bytes();
                Dtls::new_server(cfg, rngs.next(), fp, &identity)
            }
        };
        self.dtls = Some(dtls);
        self.dtls_state = DtlsTransportState::Connecting;
        self.run_due(now);
        for d in std::mem::take(&mut self.early_dtls) {
            if let Some(dtls) = &mut self.dtls {
                dtls.handle_receive(now, &d);
            }
        }
    }

    /// A STUN or TURN ChannelData datagram (RFC 7983: first byte 0–3 or
    /// 64–79) for the ICE agent. What a TURN server relays from the peer is
    /// unwrapped: DTLS is handled as DTLS from the peer on our relayed
    /// address (its application data then comes out of `poll_dtls_event`);
    /// SRTP is returned for the media layer.
    pub fn receive_stun(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        self.last_now = Some(now);
        let ice = self.ice.as_mut()?;
        let Received::Relayed { from, to, data } = ice.handle_datagram(now, from, to, data) else {
            return None;
        };
        match data.first() {
            Some(20..=63) => {
                ice.record_data_received(from, to, data.len());
                self.note_dtls_path(from, to);
                match &mut self.dtls {
                    Some(dtls) => dtls.handle_receive(now, data),
                    None => {
                        if self.early_dtls.len() >= MAX_EARLY_DTLS {
                            self.early_dtls.pop_front();
                            self.counters.dropped_early_dtls += 1;
                        }
                        self.early_dtls.push_back(data.to_vec());
                    }
                }
            }
            Some(128..=191) => {
                ice.record_data_received(from, to, data.len());
                return Some(data.to_vec());
            }
            _ => self.counters.dropped_unknown += 1,
        }
        None
    }

    /// Where the peer's DTLS comes from: the path of last resort for ours.
    pub fn note_dtls_path(&mut self, from: SocketAddr, to: SocketAddr) {
        self.last_dtls_path = Some((to, from));
    }

    /// A DTLS datagram (RFC 7983: 20–63). Returns the decrypted application
    /// data in place (the datagram and the record's range in it) when the
    /// record carried some. Before the endpoint exists the datagram waits.
    pub fn receive_dtls(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        mut data: Vec<u8>,
    ) -> Option<(Vec<u8>, Range<usize>)> {
        if let Some(ice) = &mut self.ice {
            ice.record_data_received(from, to, data.len());
        }
        match &mut self.dtls {
            Some(dtls) => {
                let r = dtls.handle_receive_in_place(now, &mut data)?;
                Some((data, r))
            }
            None => {
                // Kept for the endpoint about to be made; the oldest go
                // first if too many pile up.
                if self.early_dtls.len() >= MAX_EARLY_DTLS {
                    self.early_dtls.pop_front();
                    self.counters.dropped_early_dtls += 1;
                }
                self.early_dtls.push_back(data);
                None
            }
        }
    }

    /// Encrypts an SCTP packet into a DTLS record for the peer; false if
    /// DTLS is not connected or refused it.
    pub fn send_application_data(&mut self, packet: &[u8]) -> bool {
        match &mut self.dtls {
            Some(d) if d.is_connected() => d.send_application_data(packet).is_ok(),
            _ => false,
        }
    }

    pub fn is_dtls_connected(&self) -> bool {
        self.dtls.as_ref().is_some_and(|d| d.is_connected())
    }

    pub fn send_datagram(&mut self, d: Vec<u8>) {
        match self.path() {
            Some((local, remote)) => {
                // The agent wraps it for the TURN server when `local` is a
                // relayed address, and passes it through otherwise.
                let t = match (&mut self.ice, self.last_now) {
                    (Some(ice), Some(now)) => ice.send_data(now, local, remote, d),
                    _ => Some(tern_ice::Transmit {
                        destination: remote,
                        source: Some(local),
                        contents: d,
                    }),
                };
                let Some(t) = t else { return };
                self.counters.packets_sent += 1;
                self.counters.bytes_sent += t.contents.len() as u64;
                self.out.push_back(Transmit {
                    destination: t.destination,
                    source: t.source,
                    contents: t.contents,
                });
            }
            None => {
                if self.waiting.len() >= MAX_WAITING {
                    self.waiting.pop_front();
                }
                self.waiting.push_back(d);
            }
        }
    }

    /// Moves DTLS's datagrams (and those that waited for a path) out.
    pub fn flush_dtls(&mut self) {
        if self.path().is_some() {
            while let Some(d) = self.waiting.pop_front() {
                self.send_datagram(d);
            }
        }
        while let Some(d) = self.dtls.as_mut().and_then(|d| d.poll_transmit()) {
            self.send_datagram(d);
        }
    }

    /// Runs timers that are already due (a new DTLS client's first flight,
    /// ICE's first check), so that work does not wait for the driver's
    /// next timer tick (a millisecond on tokio).
    pub fn run_due(&mut self, now: Instant) {
        self.last_now = Some(now);
        for _ in 0..4 {
            let mut ran = false;
            if let Some(ice) = &mut self.ice {
                if ice.poll_timeout().is_some_and(|t| t <= now) {
                    ice.handle_timeout(now);
                    ran = true;
                }
            }
            if let Some(d) = &mut self.dtls {
                if d.poll_timeout().is_some_and(|t| t <= now) {
                    d.handle_timeout(now);
                    ran = true;
                }
            }
            if !ran {
                return;
            }
        }
    }

    /// Runs the expired ICE or DTLS timer.
    pub fn handle_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Ice => {
                if let Some(ice) = &mut self.ice {
                    ice.handle_timeout(now);
                }
            }
            Timer::Dtls => {
                if let Some(d) = &mut self.dtls {
                    d.handle_timeout(now);
                }
            }
            Timer::Sctp | Timer::Media | Timer::Pacer => {}
        }
    }

    /// Records the ICE and DTLS deadlines.
    pub fn update_timers(&self, timers: &mut TimerTable) {
        timers.set(Timer::Ice, self.ice.as_ref().and_then(|i| i.poll_timeout()));
        timers.set(
            Timer::Dtls,
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
        );
    }

    /// The ICE agent's next event, with the states it changes recorded.
    pub fn poll_ice_event(&mut self) -> Option<IceEvent> {
        let e = self.ice.as_mut()?.poll_event()?;
        match &e {
            IceEvent::GatheringStateChange(s) => self.gathering_state = *s,
            IceEvent::ConnectionStateChange(s) => self.ice_state = *s,
            IceEvent::EndOfLocalCandidates => self.end_of_local_candidates = true,
            _ => {}
        }
        Some(e)
    }

    /// What DTLS has for the connection; state changes are recorded here.
    pub fn poll_dtls_event(&mut self) -> Option<DtlsNews> {
        while let Some(e) = self.dtls.as_mut()?.poll_event() {
            match e {
                DtlsEvent::Connected { srtp_profile, .. } => {
                    self.srtp_profile = srtp_profile;
                    self.dtls_state = DtlsTransportState::Connected;
                    return Some(DtlsNews::Connected);
                }
                DtlsEvent::ApplicationData(d) => return Some(DtlsNews::ApplicationData(d)),
                // The peer's close_notify: nothing more comes over this
                // transport; the connection ends the association.
                DtlsEvent::Closed => self.dtls_state = DtlsTransportState::Closed,
                DtlsEvent::Failed(e) => {
                    tracing::debug!(error = %e, "DTLS failed");
                    self.dtls_state = DtlsTransportState::Failed;
                }
                _ => {}
            }
        }
        None
    }

    /// ICE's own datagrams (checks, responses, keepalives) to the socket.
    pub fn flush_ice(&mut self) {
        while let Some(t) = self.ice.as_mut().and_then(|i| i.poll_transmit()) {
            self.counters.packets_sent += 1;
            self.counters.bytes_sent += t.contents.len() as u64;
            self.out.push_back(Transmit {
                destination: t.destination,
                source: t.source,
                contents: t.contents,
            });
        }
    }

    /// The transport can carry nothing more: DTLS closed by the peer, or
    /// ICE failed (consent expired, every pair failed).
    pub fn is_gone(&self) -> bool {
        self.ice_state == IceConnectionState::Failed
            || self.dtls_state == DtlsTransportState::Closed
    }

    /// DTLS is finished (after `is_gone`): the endpoint is dropped.
    pub fn drop_dtls(&mut self) {
        self.dtls = None;
        self.srtp_profile = None;
        self.dtls_state = DtlsTransportState::Closed;
    }

    /// Sends close_notify and stops ICE (W3C `close`).
    pub fn close(&mut self, now: Instant) {
        if let Some(d) = &mut self.dtls {
            d.close();
        }
        self.flush_dtls();
        if let Some(ice) = &mut self.ice {
            ice.close(now);
        }
        self.ice_state = IceConnectionState::Closed;
        self.dtls_state = DtlsTransportState::Closed;
        self.dtls = None;
        self.srtp_profile = None;
    }
}
