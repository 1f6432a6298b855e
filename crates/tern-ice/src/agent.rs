//! The agent: candidates, check list, timers, states. Check traffic lives in
//! `check.rs` (outgoing), `incoming.rs` (requests) and `consent.rs`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_crypto::Random;
use tern_stun::{BindingClient, BindingEvent, IntegrityKey, Message, TransactionId, Transmit};

use crate::candidate::{Candidate, CandidateKind};
use crate::config::{Credentials, IceConfig};
use crate::pair::{pair_priority, CandidatePair, PairState, PairStats};
use crate::relay::Relay;
use crate::state::{IceConnectionState, IceEvent, IceGatheringState, Role};

/// Most datagrams waiting in the transmit queue; beyond it answers are dropped
/// (and counted), so a flood of checks cannot grow memory.
pub(crate) const MAX_TRANSMIT_QUEUE: usize = 256;

/// Counters of what the agent dropped or refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IceAgentStats {
    /// STUN that did not parse, or failed FINGERPRINT.
    pub malformed: u64,
    /// Requests whose USERNAME named a ufrag that is not ours.
    pub unknown_ufrag: u64,
    /// Requests or responses whose MESSAGE-INTEGRITY did not verify.
    pub integrity_failures: u64,
    /// Responses matching no transaction.
    pub unmatched_responses: u64,
    /// Datagrams dropped because the transmit queue was full.
    pub transmit_queue_full: u64,
    /// Remote candidates refused (limit reached or malformed).
    pub remote_candidates_refused: u64,
    /// Role conflicts seen.
    pub role_conflicts: u64,
    /// TURN allocations that failed, were refused or timed out while
    /// gathering (their relayed candidates are missing; never fatal).
    pub turn_allocations_failed: u64,
    /// Datagrams a TURN allocation could not carry (allocation gone,
    /// permission refused, too many waiting for a permission), and relayed
    /// application data offered to [`IceAgent::handle_receive`], which has no
    /// way to return it (use [`IceAgent::handle_datagram`]).
    pub turn_dropped: u64,
}

/// What a datagram offered to [`IceAgent::handle_datagram`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received<'a> {
    /// STUN for the agent, or TURN control from one of its servers: consumed.
    Consumed,
    /// Application data (DTLS, SRTP) a TURN server relayed to one of our
    /// relayed candidates, unwrapped: handle it as a datagram from `from`
    /// (the peer) on `to` (our relayed address), the selected pair's
    /// addresses when the pair is relayed.
    Relayed {
        /// The peer's transport address.
        from: SocketAddr,
        /// Our relayed address it was sent to.
        to: SocketAddr,
        /// The payload, borrowed from the datagram.
        data: &'a [u8],
    },
    /// Not for the agent (DTLS, RTP from the peer directly): the caller's.
    NotIce,
}

#[derive(Debug, Clone)]
pub(crate) struct LocalCandidate {
    pub cand: Candidate,
    /// Where we send from for this candidate (host: itself; srflx: its host; relay: itself).
    pub base: SocketAddr,
    pub local_preference: u16,
}

/// Which credentials a transaction or request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredSet {
    /// The current generation.
    Current,
    /// The generation the selected pair was nominated in (kept across a restart).
    Selected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxKind {
    Check { use_candidate: bool },
    Consent,
}

#[derive(Debug)]
pub(crate) struct Transaction {
    pub tid: TransactionId,
    pub kind: TxKind,
    pub creds: CredSet,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub request: Vec<u8>,
    pub sent: u32,
    pub first_sent: Instant,
    /// Next retransmission; `None` once cancelled or out of retransmissions.
    pub retransmit_at: Option<Instant>,
    /// When an unanswered transaction is given up.
    pub expire_at: Instant,
    /// Cancelled transactions still accept a response but never fail the pair.
    pub cancelled: bool,
}

/// The pair carrying data, with the credentials it was nominated under.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    pub pair: CandidatePair,
    pub local_creds: Credentials,
    pub remote_creds: Credentials,
    pub local_key: IntegrityKey,
    pub remote_key: IntegrityKey,
    pub next_consent: Instant,
    /// Last proof the path works: a consent response (full) or a check (lite).
    pub last_alive: Instant,
    /// Whether the pair still belongs to the current generation.
    pub current: bool,
}

/// A sans-IO ICE agent (RFC 8445) for one component (WebRTC's single,
/// rtcp-muxed, BUNDLEd transport).
///
/// Feed it with [`handle_receive`](Self::handle_receive) and
/// [`handle_timeout`](Self::handle_timeout); drain
/// [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event)
/// and [`poll_timeout`](Self::poll_timeout) after each call.
pub struct IceAgent {
    pub(crate) config: IceConfig,
    pub(crate) rng: Box<dyn Random + Send>,
    pub(crate) role: Role,
    pub(crate) tie_breaker: u64,
    pub(crate) local_creds: Credentials,
    pub(crate) local_key: IntegrityKey,
    pub(crate) remote_creds: Option<Credentials>,
    pub(crate) remote_key: Option<IntegrityKey>,
    pub(crate) remote_lite: bool,
    pub(crate) locals: Vec<LocalCandidate>,
    pub(crate) remotes: Vec<Candidate>,
    pub(crate) pairs: Vec<CandidatePair>,
    pub(crate) triggered: VecDeque<(SocketAddr, SocketAddr)>,
    pub(crate) transactions: Vec<Transaction>,
    pub(crate) gathering: Vec<(SocketAddr, BindingClient)>,
    /// TURN allocations (relayed candidates), live or not.
    pub(crate) relays: Vec<Relay>,
    /// Datagrams from a relayed address, waiting to be wrapped for its server.
    pub(crate) relay_out: VecDeque<Transmit>,
    pub(crate) gathering_state: IceGatheringState,
    pub(crate) remote_end_of_candidates: bool,
    pub(crate) selected: Option<Selected>,
    pub(crate) nominating: Option<(SocketAddr, SocketAddr)>,
    pub(crate) nomination_deadline: Option<Instant>,
    pub(crate) next_check_at: Option<Instant>,
    pub(crate) state: IceConnectionState,
    pub(crate) events: VecDeque<IceEvent>,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) timeout: Option<Instant>,
    pub(crate) stats: IceAgentStats,
    pub(crate) buf: Vec<u8>,
    /// Consent expired (RFC 7675): nothing may be sent until a restart.
    pub(crate) consent_expired: bool,
}

impl std::fmt::Debug for IceAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceAgent")
            .field("role", &self.role)
            .field("ufrag", &self.local_creds.ufrag)
            .field("state", &self.state)
            .field("pairs", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

impl IceAgent {
    /// A new agent with random credentials and tie-breaker from `rng`.
    pub fn new(config: IceConfig, mut rng: Box<dyn Random + Send>) -> Self {
        let local_creds = Credentials::random(rng.as_mut());
        let tie_breaker = rng.next_u64();
        let role = if config.controlling && !config.lite {
            Role::Controlling
        } else {
            Role::Controlled
        };
        IceAgent {
            local_key: IntegrityKey::short_term(&local_creds.pwd),
            local_creds,
            config,
            rng,
            role,
            tie_breaker,
            remote_creds: None,
            remote_key: None,
            remote_lite: false,
            locals: Vec::new(),
            remotes: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            transactions: Vec::new(),
            gathering: Vec::new(),
            relays: Vec::new(),
            relay_out: VecDeque::new(),
            gathering_state: IceGatheringState::New,
            remote_end_of_candidates: false,
            selected: None,
            nominating: None,
            nomination_deadline: None,
            next_check_at: None,
            state: IceConnectionState::New,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            timeout: None,
            stats: IceAgentStats::default(),
            buf: Vec::with_capacity(256),
            consent_expired: false,
        }
    }

    // ---- accessors -------------------------------------------------------

    /// Our credentials, to signal in `a=ice-ufrag` / `a=ice-pwd`.
    pub fn local_credentials(&self) -> &Credentials {
        &self.local_creds
    }
    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Whether this is a lite agent.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }
    /// The connection state.
    pub fn connection_state(&self) -> IceConnectionState {
        self.state
    }
    /// The gathering state.
    pub fn gathering_state(&self) -> IceGatheringState {
        self.gathering_state
    }
    /// Local candidates gathered so far (host, server-reflexive, relayed).
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.locals
            .iter()
            .map(|l| &l.cand)
            .filter(|c| c.kind != CandidateKind::PeerReflexive)
            .filter(|c| !self.config.relay_only || c.kind == CandidateKind::Relayed)
    }
    /// Remote candidates known so far (signalled and peer-reflexive).
    pub fn remote_candidates(&self) -> &[Candidate] {
        &self.remotes
    }
    /// The check list.
    pub fn pairs(&self) -> &[CandidatePair] {
        &self.pairs
    }
    /// The pair that carries data: (our base, the peer's address).
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected
            .as_ref()
            .map(|s| (s.pair.local_addr, s.pair.remote_addr))
    }
    /// Statistics of the selected pair.
    pub fn selected_pair_stats(&self) -> Option<PairStats> {
        self.selected.as_ref().map(|s| s.pair.stats)
    }
    /// Drop and refusal counters.
    pub fn stats(&self) -> IceAgentStats {
        self.stats
    }

    // ---- commands --------------------------------------------------------

    /// Adds host candidates for `hosts` (the sockets the caller has bound),
    /// starts learning server-reflexive candidates from the configured STUN
    /// servers and allocating relayed candidates on the configured TURN
    /// servers (one allocation per server per host address of its family).
    /// Gathering completes when every STUN transaction has ended and every
    /// allocation has succeeded, failed or timed out
    /// (`turn_allocation_timeout`).
    pub fn gather(&mut self, now: Instant, hosts: &[SocketAddr]) {
        let mut v4 = 0u16;
        let mut v6 = 0u16;
        for &h in hosts {
            if self
                .locals
                .iter()
                .any(|l| l.base == h && l.cand.kind == CandidateKind::Host)
            {
                continue;
            }
            // RFC 8421: prefer IPv6, and earlier interfaces, through local preference.
            let pref = if h.is_ipv6() {
                v6 += 1;
                0xffff - (v6 - 1)
            } else {
                v4 += 1;
                0x7fff - (v4 - 1)
            };
            let cand = Candidate::host(h, pref);
            self.locals.push(LocalCandidate {
                cand: cand.clone(),
                base: h,
                local_preference: pref,
            });
            if !self.config.relay_only {
                self.events.push_back(IceEvent::LocalCandidate(cand));
            }
            if !self.config.lite {
                let stun = if self.config.relay_only {
                    &[][..]
                } else {
                    &self.config.stun_servers[..]
                };
                for &server in stun {
                    if server.is_ipv4() == h.is_ipv4() {
                        let tid = TransactionId::random(self.rng.as_mut());
                        let client = BindingClient::new(
                            server,
                            Some(h),
                            tid,
                            self.config.gather_retransmit,
                            self.config.software.as_deref(),
                        );
                        self.gathering.push((h, client));
                    }
                }
                self.start_relays(now, h, pref);
            }
            self.pair_local(self.locals.len() - 1);
        }
        self.set_gathering_state(IceGatheringState::Gathering);
        self.drive_gathering(now);
        self.after(now);
    }

    /// Adds a relayed candidate (from a TURN allocation the caller owns).
    /// Datagrams to and from it pass through the caller: transmits with this
    /// `relayed` source must be sent through the allocation, and what arrives
    /// through it is passed to [`handle_receive`](Self::handle_receive) with
    /// `to = relayed`.
    pub fn add_relayed_candidate(
        &mut self,
        now: Instant,
        relayed: SocketAddr,
        mapped: SocketAddr,
        server: SocketAddr,
    ) {
        let key = format!("{}|{}", mapped.ip(), server);
        let cand = Candidate::new(CandidateKind::Relayed, relayed, Some(mapped), 0xffff, &key);
        self.locals.push(LocalCandidate {
            cand: cand.clone(),
            base: relayed,
            local_preference: 0xffff,
        });
        self.events.push_back(IceEvent::LocalCandidate(cand));
        self.pair_local(self.locals.len() - 1);
        self.after(now);
    }

    /// Sets the peer's credentials. A different ufrag than before means the
    /// peer restarted ICE (RFC 8445 §9): its old candidates and our check
    /// list are dropped, while the selected pair keeps carrying data until a
    /// new pair is nominated.
    pub fn set_remote_credentials(&mut self, now: Instant, creds: Credentials) {
        if self.remote_creds.as_ref() == Some(&creds) {
            return;
        }
        let restart = self.remote_creds.is_some();
        self.remote_key = Some(IntegrityKey::short_term(&creds.pwd));
        self.remote_creds = Some(creds);
        if restart {
            self.retire_generation();
            self.remotes.clear();
            self.remote_end_of_candidates = false;
        }
        self.after(now);
    }

    /// Declares the peer an ICE-lite agent: we must then be controlling (RFC 8445 §6.1.1).
    pub fn set_remote_lite(&mut self, now: Instant, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.config.lite && self.role != Role::Controlling {
            self.set_role(Role::Controlling);
        }
        self.after(now);
    }

    /// Adds a signalled remote candidate (trickled or from the SDP).
    /// Candidates with another component or transport than UDP are ignored;
    /// beyond `max_remote_candidates` they are refused and counted.
    pub fn add_remote_candidate(&mut self, now: Instant, cand: Candidate) {
        if cand.component != 1 || !cand.transport.eq_ignore_ascii_case("udp") {
            return;
        }
        if let Some(existing) = self.remotes.iter_mut().find(|r| r.address == cand.address) {
            // A signalled candidate replaces a peer-reflexive one learnt earlier.
            if existing.kind == CandidateKind::PeerReflexive {
                *existing = cand;
            }
            self.after(now);
            return;
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            self.stats.remote_candidates_refused += 1;
            return;
        }
        self.remotes.push(cand);
        self.pair_remote(self.remotes.len() - 1);
        self.after(now);
    }

    /// The peer signalled end-of-candidates (RFC 8838 §4.2).
    pub fn set_remote_end_of_candidates(&mut self, now: Instant) {
        self.remote_end_of_candidates = true;
        self.after(now);
    }

    /// Restarts ICE (RFC 8445 §9): new local credentials, a fresh check list,
    /// local candidates signalled again. The selected pair keeps carrying
    /// data (and answering the peer's consent checks with the old
    /// credentials) until a new pair is nominated. Returns the new credentials.
    pub fn restart(&mut self, now: Instant) -> Credentials {
        self.local_creds = Credentials::random(self.rng.as_mut());
        self.local_key = IntegrityKey::short_term(&self.local_creds.pwd);
        self.retire_generation();
        self.consent_expired = false;
        let cands: Vec<Candidate> = self.local_candidates().cloned().collect();
        for c in cands {
            self.events.push_back(IceEvent::LocalCandidate(c));
        }
        if self.gathering_state == IceGatheringState::Complete {
            self.events.push_back(IceEvent::EndOfLocalCandidates);
        }
        for i in 0..self.locals.len() {
            self.pair_local(i);
        }
        self.after(now);
        self.local_creds.clone()
    }

    /// Closes the agent: no more checks or consent.
    /// TURN allocations are released (RFC 8656 §8: Refresh with LIFETIME 0);
    /// keep feeding the agent and draining
    /// [`poll_transmit`](Self::poll_transmit) until
    /// [`poll_timeout`](Self::poll_timeout) is `None` to see that through.
    pub fn close(&mut self, now: Instant) {
        self.close_relays(now);
        self.set_state(IceConnectionState::Closed);
        self.transactions.clear();
        self.gathering.clear();
        self.triggered.clear();
        self.selected = None;
        self.after(now);
    }

    /// The caller sent `len` bytes of application data on the selected pair.
    pub fn record_data_sent(&mut self, len: usize) {
        if let Some(s) = &mut self.selected {
            s.pair.stats.bytes_sent += len as u64;
        }
    }

    /// The caller received `len` bytes of application data from `from` on `to`.
    pub fn record_data_received(&mut self, from: SocketAddr, to: SocketAddr, len: usize) {
        if let Some(s) = &mut self.selected {
            if s.pair.remote_addr == from && s.pair.local_addr == to {
                s.pair.stats.bytes_received += len as u64;
            }
        }
    }

    // ---- sans-IO verbs ---------------------------------------------------

    /// Offers a received datagram. Returns true if it was STUN for this agent
    /// (consumed); false if it is something else (DTLS, RTP) for the caller.
    /// With TURN servers configured use
    /// [`handle_datagram`](Self::handle_datagram) instead: relayed
    /// application data has no way out of this one (it is dropped and counted).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> bool {
        match self.handle_datagram(now, from, to, data) {
            Received::NotIce => false,
            Received::Relayed { .. } => {
                self.stats.turn_dropped += 1;
                true
            }
            Received::Consumed => true,
        }
    }

    /// Offers a received datagram and says what it was: STUN or TURN for the
    /// agent (consumed), application data a TURN server relayed to one of
    /// our relayed candidates (unwrapped, borrowed from `data`), or the
    /// caller's. Datagrams from a TURN server to the host address its
    /// allocation uses (STUN, and ChannelData: RFC 7983 first byte 64–79)
    /// belong here too.
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: &'a [u8],
    ) -> Received<'a> {
        if data.is_empty() {
            return Received::NotIce;
        }
        if let Some(i) = self
            .relays
            .iter()
            .position(|r| r.server == from && r.base == to)
        {
            match self.relays[i].client.handle_datagram(now, from, data) {
                tern_turn::Received::Data { peer, data } => {
                    let crate::relay::RelayPhase::Allocated { relayed } = self.relays[i].phase
                    else {
                        return Received::Consumed;
                    };
                    if self.state == IceConnectionState::Closed {
                        return Received::Consumed;
                    }
                    if data.first().is_some_and(|&b| b <= 3) {
                        self.handle_stun(now, peer, relayed, data);
                        return Received::Consumed;
                    }
                    return Received::Relayed {
                        from: peer,
                        to: relayed,
                        data,
                    };
                }
                // Not the client's: a Binding response if the TURN server is
                // also our STUN server.
                tern_turn::Received::NotForClient => {}
                _ => {
                    self.after(now);
                    return Received::Consumed;
                }
            }
        }
        if data[0] > 3 {
            return Received::NotIce;
        }
        if self.state != IceConnectionState::Closed {
            self.handle_stun(now, from, to, data);
        }
        Received::Consumed
    }

    /// Application data (DTLS, SRTP) to send from `local` to `remote`, which
    /// are normally the selected pair's addresses: the datagram to put on the
    /// wire. It is `data` unchanged, from `local`, unless `local` is one of
    /// our relayed addresses; then it is wrapped in ChannelData (once a
    /// channel is bound) or a Send indication, to the TURN server from the
    /// host address the allocation uses. `None` if the relay cannot carry it
    /// now (allocation gone, or the peer's permission still pending: it then
    /// goes through [`poll_transmit`](Self::poll_transmit) once installed).
    /// Bytes sent on the selected pair are counted in its statistics.
    pub fn send_data(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: Vec<u8>,
    ) -> Option<Transmit> {
        if let Some(s) = &mut self.selected {
            if s.pair.local_addr == local && s.pair.remote_addr == remote {
                s.pair.stats.bytes_sent += data.len() as u64;
            }
        }
        self.wrap_data(now, local, remote, data)
    }

    fn handle_stun(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        for (_, client) in &mut self.gathering {
            if client.handle_receive(now, from, data) {
                self.drive_gathering(now);
                self.after(now);
                return;
            }
        }
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        if msg.has_fingerprint() && msg.verify_fingerprint().is_err() {
            self.stats.malformed += 1;
            return;
        }
        match msg.class() {
            tern_stun::Class::Request => self.on_request(now, from, to, &msg),
            tern_stun::Class::SuccessResponse | tern_stun::Class::ErrorResponse => {
                self.on_response(now, from, to, &msg)
            }
            _ => {} // Binding indications are keepalives: nothing to do.
        }
        self.after(now);
    }

    /// Runs timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == IceConnectionState::Closed {
            // Only deallocations are left to see through.
            self.after(now);
            return;
        }
        self.drive_gathering(now);
        self.retransmit(now);
        if self.nomination_deadline.is_some_and(|d| now >= d) {
            self.nomination_deadline = None;
            self.nominate_best(now);
        }
        if self.next_check_at.is_none_or(|t| now >= t) {
            if self.send_next_check(now) {
                self.next_check_at = Some(now + self.config.ta);
            } else {
                self.next_check_at = None;
            }
        }
        self.consent(now);
        self.after(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due. O(1): the
    /// deadline is computed after each `handle_*` call, not here.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timeout
    }

    // ---- internals -------------------------------------------------------

    pub(crate) fn queue_transmit(&mut self, t: Transmit) {
        if t.source.is_some_and(|s| self.is_relayed(s)) {
            // Wrapped for the TURN server in `after` (it needs `now`).
            if self.relay_out.len() >= MAX_TRANSMIT_QUEUE {
                self.stats.transmit_queue_full += 1;
            } else {
                self.relay_out.push_back(t);
            }
            return;
        }
        if self.transmits.len() >= MAX_TRANSMIT_QUEUE {
            self.stats.transmit_queue_full += 1;
            return;
        }
        self.transmits.push_back(t);
    }

    pub(crate) fn set_state(&mut self, s: IceConnectionState) {
        if self.state != s {
            tracing::debug!(ufrag = %self.local_creds.ufrag, from = ?self.state, to = ?s, "ice connection state");
            self.state = s;
            self.events.push_back(IceEvent::ConnectionStateChange(s));
        }
    }

    /// Gathering completes once no STUN transaction and no allocation is left.
    pub(crate) fn maybe_complete_gathering(&mut self) {
        if self.gathering.is_empty()
            && !self.relays_allocating()
            && self.gathering_state == IceGatheringState::Gathering
        {
            self.set_gathering_state(IceGatheringState::Complete);
        }
    }

    fn set_gathering_state(&mut self, s: IceGatheringState) {
        if self.gathering_state != s {
            self.gathering_state = s;
            self.events.push_back(IceEvent::GatheringStateChange(s));
            if s == IceGatheringState::Complete {
                self.events.push_back(IceEvent::EndOfLocalCandidates);
            }
        }
    }

    pub(crate) fn set_role(&mut self, role: Role) {
        if self.role == role {
            return;
        }
        self.role = role;
        self.events.push_back(IceEvent::RoleChange(role));
        for i in 0..self.pairs.len() {
            self.pairs[i].priority =
                self.compute_pair_priority(self.pairs[i].local, self.pairs[i].remote);
        }
    }

    /// Ends the current generation: the check list, triggered checks and
    /// outstanding checks go; the selected pair stays but is marked old.
    fn retire_generation(&mut self) {
        self.pairs.clear();
        self.triggered.clear();
        self.transactions.retain(|t| t.kind == TxKind::Consent);
        self.nominating = None;
        self.nomination_deadline = None;
        if let Some(s) = &mut self.selected {
            s.current = false;
        }
        if matches!(
            self.state,
            IceConnectionState::Failed | IceConnectionState::Completed
        ) {
            let s = if self.selected.is_some() {
                IceConnectionState::Connected
            } else {
                IceConnectionState::Checking
            };
            self.set_state(s);
        }
    }

    fn drive_gathering(&mut self, now: Instant) {
        let mut found = Vec::new();
        for (base, client) in &mut self.gathering {
            client.handle_timeout(now);
            while let Some(t) = client.poll_transmit() {
                found.push(Err(t));
            }
            if let Some(BindingEvent::Mapped { mapped, .. }) = client.poll_event() {
                found.push(Ok((*base, mapped, client.server())));
            }
        }
        for f in found {
            match f {
                Err(t) => self.queue_transmit(t),
                Ok((base, mapped, server)) => self.add_server_reflexive(base, mapped, server),
            }
        }
        self.gathering.retain(|(_, c)| !c.is_done());
        self.maybe_complete_gathering();
    }

    fn add_server_reflexive(&mut self, base: SocketAddr, mapped: SocketAddr, server: SocketAddr) {
        if mapped == base || self.locals.iter().any(|l| l.cand.address == mapped) {
            return; // not behind a NAT, or already known
        }
        let pref = self
            .locals
            .iter()
            .find(|l| l.base == base)
            .map_or(0, |l| l.local_preference);
        let key = format!("{}|{}", base.ip(), server);
        let cand = Candidate::new(
            CandidateKind::ServerReflexive,
            mapped,
            Some(base),
            pref,
            &key,
        );
        self.locals.push(LocalCandidate {
            cand: cand.clone(),
            base,
            local_preference: pref,
        });
        // A server-reflexive candidate pairs through its base, which is already
        // paired (RFC 8445 §6.1.2.4), so it only needs signalling.
        self.events.push_back(IceEvent::LocalCandidate(cand));
    }

    pub(crate) fn compute_pair_priority(&self, local: usize, remote: usize) -> u64 {
        let l = self.locals[local].cand.priority;
        let r = self.remotes[remote].priority;
        match self.role {
            Role::Controlling => pair_priority(l, r),
            Role::Controlled => pair_priority(r, l),
        }
    }

    /// Pairs local candidate `i` (if it is a base we send from) with every remote.
    pub(crate) fn pair_local(&mut self, i: usize) {
        if !matches!(
            self.locals[i].cand.kind,
            CandidateKind::Host | CandidateKind::Relayed
        ) {
            return;
        }
        for r in 0..self.remotes.len() {
            self.add_pair(i, r);
        }
    }

    fn pair_remote(&mut self, r: usize) {
        for i in 0..self.locals.len() {
            if matches!(
                self.locals[i].cand.kind,
                CandidateKind::Host | CandidateKind::Relayed
            ) {
                self.add_pair(i, r);
            }
        }
    }

    /// Adds the pair (local `i`, remote `r`) unless the families differ, the
    /// list is full, or a pair with the same addresses exists (pruning, RFC
    /// 8445 §6.1.2.4). Returns its index. Lite agents keep no check list.
    pub(crate) fn add_pair(&mut self, i: usize, r: usize) -> Option<usize> {
        if self.config.lite {
            return None;
        }
        if self.config.relay_only && self.locals[i].cand.kind != CandidateKind::Relayed {
            return None;
        }
        let local_addr = self.locals[i].base;
        let remote_addr = self.remotes[r].address;
        if local_addr.is_ipv4() != remote_addr.is_ipv4() {
            return None;
        }
        if let Some(p) = self
            .pairs
            .iter()
            .position(|p| p.local_addr == local_addr && p.remote_addr == remote_addr)
        {
            return Some(p);
        }
        if self.pairs.len() >= self.config.max_pairs {
            return None;
        }
        let foundation = format!(
            "{}:{}",
            self.locals[i].cand.foundation, self.remotes[r].foundation
        );
        // RFC 8445 §6.1.2.6: the first pair of a foundation waits, the rest are frozen.
        let state = if self.pairs.iter().any(|p| p.foundation == foundation) {
            PairState::Frozen
        } else {
            PairState::Waiting
        };
        let priority = self.compute_pair_priority(i, r);
        self.pairs.push(CandidatePair {
            local: i,
            remote: r,
            local_addr,
            remote_addr,
            foundation,
            state,
            priority,
            nominated: false,
            nominate_on_success: false,
            last_response: None,
            stats: PairStats::default(),
        });
        Some(self.pairs.len() - 1)
    }

    pub(crate) fn find_pair(&self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        self.pairs
            .iter()
            .position(|p| p.local_addr == local && p.remote_addr == remote)
    }

    /// Evaluates the connection state and recomputes the next deadline.
    /// Called at the end of every `handle_*`.
    pub(crate) fn after(&mut self, now: Instant) {
        self.drive_relays(now);
        if self.state != IceConnectionState::Closed {
            self.update_state(now);
        }
        self.timeout = self.compute_timeout(now);
    }

    fn update_state(&mut self, now: Instant) {
        if let Some(sel) = &self.selected {
            let quiet = now.saturating_duration_since(sel.last_alive);
            if quiet >= self.config.consent_timeout {
                // RFC 7675 §5.1: consent expired; stop sending on this pair.
                tracing::debug!(ufrag = %self.local_creds.ufrag, "consent expired");
                self.selected = None;
                self.consent_expired = true;
                self.transactions.clear();
                self.triggered.clear();
                self.set_state(IceConnectionState::Failed);
                return;
            }
            if quiet >= self.config.disconnected_after {
                self.set_state(IceConnectionState::Disconnected);
            } else if self.checks_finished() && sel.current {
                // W3C order: connected before completed.
                if self.state != IceConnectionState::Completed {
                    self.set_state(IceConnectionState::Connected);
                }
                self.set_state(IceConnectionState::Completed);
            } else {
                self.set_state(IceConnectionState::Connected);
            }
            return;
        }
        if self.consent_expired {
            return; // only a restart leaves it
        }
        if self.remotes.is_empty() && self.remote_creds.is_none() {
            return; // still New
        }
        let all_failed = self.pairs.iter().all(|p| p.state == PairState::Failed);
        if self.remote_end_of_candidates
            && self.gathering_state == IceGatheringState::Complete
            && all_failed
            && self.triggered.is_empty()
            && !self.config.lite
        {
            self.set_state(IceConnectionState::Failed);
        } else if !self.remotes.is_empty() || !self.pairs.is_empty() {
            self.set_state(IceConnectionState::Checking);
        }
    }

    fn checks_finished(&self) -> bool {
        self.remote_end_of_candidates
            && self.gathering_state == IceGatheringState::Complete
            && self.triggered.is_empty()
            && self
                .pairs
                .iter()
                .all(|p| matches!(p.state, PairState::Succeeded | PairState::Failed))
    }

    fn compute_timeout(&self, now: Instant) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        for r in &self.relays {
            at(r.deadline());
        }
        if self.state == IceConnectionState::Closed {
            return t.map(|t| t.max(now));
        }
        for (_, c) in &self.gathering {
            at(c.poll_timeout().or(Some(now)));
        }
        for tx in &self.transactions {
            at(Some(tx.retransmit_at.unwrap_or(tx.expire_at)));
        }
        at(self.nomination_deadline);
        if self.has_check_work() {
            at(Some(self.next_check_at.unwrap_or(now)));
        }
        if let Some(sel) = &self.selected {
            if !self.config.lite {
                at(Some(sel.next_consent));
            }
            // State thresholds still ahead (a passed one has already been acted on).
            for d in [self.config.disconnected_after, self.config.consent_timeout] {
                let when = sel.last_alive + d;
                if when > now {
                    at(Some(when));
                }
            }
        }
        // Deadlines already passed mean "now".
        t.map(|t| t.max(now))
    }

    pub(crate) fn has_check_work(&self) -> bool {
        if self.config.lite || self.remote_key.is_none() || self.consent_expired {
            return false;
        }
        if self.nominating.is_some() || !self.triggered.is_empty() {
            return true;
        }
        let done = self.selected.as_ref().is_some_and(|s| s.current);
        !done
            && self
                .pairs
                .iter()
                .any(|p| matches!(p.state, PairState::Waiting | PairState::Frozen))
    }

    pub(crate) fn random_between(&mut self, base: Duration, lo: f64, hi: f64) -> Duration {
        base.mul_f64(lo + (hi - lo) * self.rng.unit_f64())
    }
}
