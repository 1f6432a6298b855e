//! The sans-IO PeerConnection: JSEP state, RFC 7983 demultiplexing, and
//! the wiring ICE → DTLS → SCTP → data channels.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tern_crypto::cert::{Certificate, Fingerprint};
use tern_dtls::{Dtls, DtlsConfig, DtlsEvent, DtlsRole};
use tern_ice::{
    Candidate, IceAgent, IceConfig, IceConnectionState, IceEvent, IceGatheringState, PairState,
    Transmit,
};
use tern_sctp::{
    DataChannelEvent, DataChannelId, DataChannelInit, DataChannelMessage, DataChannelState,
    SctpConfig, SctpTransport,
};
use tern_sdp::{HasAttributes, SessionDescription, Setup};

use crate::channels::{ChannelInfo, Channels};
use crate::config::{PeerConfig, RandomSource};
use crate::description::{IceCandidateInit, RtcSessionDescription, SdpType};
use crate::error::PeerError;
use crate::jsep::{self, LocalParams, RemoteTransport};
use crate::state::{
    connection_state, ChannelId, DtlsTransportState, PeerConnectionState, PeerEvent, SignalingState,
};
use crate::stats::TransportCounters;

/// Datagrams held for DTLS while no ICE path exists yet.
const MAX_WAITING: usize = 64;
/// DTLS datagrams kept when they arrive before our DTLS endpoint exists
/// (the answerer's ClientHello racing our set_remote_description).
const MAX_EARLY_DTLS: usize = 16;
/// Message bytes held for the application; beyond this, messages stay in
/// SCTP and its receive window closes (backpressure on the sender).
const HOLD_BYTES: usize = 1 << 20;

fn message_len(m: &DataChannelMessage) -> usize {
    match m {
        DataChannelMessage::Text(t) => t.len(),
        DataChannelMessage::Binary(b) => b.len(),
        _ => 0,
    }
}

/// Options of [`PeerConnection::create_offer`] (W3C `RTCOfferOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// New ICE credentials: restart ICE (RFC 8445 §9).
    pub ice_restart: bool,
}

/// A WebRTC peer connection without I/O: feed it datagrams, time and
/// signaling; poll it for datagrams, events and its next timeout.
pub struct PeerConnection {
    pub(crate) config: PeerConfig,
    fingerprint: [u8; 32],
    certificate: Arc<Certificate>,
    pub(crate) ice: Option<IceAgent>,
    gathering_started: bool,
    pub(crate) dtls: Option<Dtls>,
    pub(crate) dtls_state: DtlsTransportState,
    pub(crate) sctp: Option<SctpTransport>,
    signaling: SignalingState,
    local: Option<(SdpType, SessionDescription)>,
    remote: Option<(SdpType, SessionDescription)>,
    session_id: u64,
    session_version: u64,
    data_mid: Option<String>,
    local_setup: Option<Setup>,
    remote_transport: Option<RemoteTransport>,
    local_candidates: Vec<String>,
    end_of_local_candidates: bool,
    pub(crate) channels: Channels,
    events: VecDeque<PeerEvent>,
    out: VecDeque<Transmit>,
    waiting: VecDeque<Vec<u8>>,
    early_dtls: VecDeque<Vec<u8>>,
    last_dtls_path: Option<(SocketAddr, SocketAddr)>,
    ice_state: IceConnectionState,
    gathering_state: IceGatheringState,
    state: PeerConnectionState,
    closed: bool,
    negotiation_needed_sent: bool,
    pub(crate) counters: TransportCounters,
    random: RandomSource,
    next_rng: u64,
    /// Bytes of `ChannelMessage` events not yet taken by the application.
    held: usize,
    last_now: Option<Instant>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("signaling", &self.signaling)
            .field("state", &self.state)
            .field("ice", &self.ice_state)
            .field("dtls", &self.dtls_state)
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
            ice: None,
            gathering_started: false,
            dtls: None,
            dtls_state: DtlsTransportState::New,
            sctp: None,
            signaling: SignalingState::Stable,
            local: None,
            remote: None,
            session_id,
            session_version: 1,
            data_mid: None,
            local_setup: None,
            remote_transport: None,
            local_candidates: Vec::new(),
            end_of_local_candidates: false,
            channels: Channels::default(),
            events: VecDeque::new(),
            out: VecDeque::new(),
            waiting: VecDeque::new(),
            early_dtls: VecDeque::new(),
            last_dtls_path: None,
            ice_state: IceConnectionState::New,
            gathering_state: IceGatheringState::New,
            state: PeerConnectionState::New,
            closed: false,
            negotiation_needed_sent: false,
            counters: TransportCounters::default(),
            random,
            next_rng: 2,
            held: 0,
            last_now: None,
        })
    }

    fn rng(&mut self) -> Box<dyn tern_crypto::Random + Send> {
        self.next_rng += 1;
        self.random.make(self.next_rng)
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
        self.ice_state
    }
    /// W3C `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.gathering_state
    }
    /// The DTLS transport's state.
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.dtls_state
    }
    /// Our certificate's SHA-256 fingerprint (what `a=fingerprint` carries).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.fingerprint)
    }
    /// The ICE pair carrying data, once there is one: (local, remote).
    pub fn selected_candidate_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.ice.as_ref()?.selected_pair()
    }

    fn set_signaling(&mut self, s: SignalingState) {
        if self.signaling != s {
            self.signaling = s;
            self.events.push_back(PeerEvent::SignalingStateChange(s));
        }
    }

    // ---- JSEP ------------------------------------------------------------

    fn ensure_ice(&mut self, controlling: bool) {
        if self.ice.is_none() {
            let cfg = IceConfig {
                controlling,
                stun_servers: self.config.stun_servers.clone(),
                ..self.config.ice.clone()
            };
            let rng = self.rng();
            self.ice = Some(IceAgent::new(cfg, rng));
        }
    }

    fn local_params(&self, setup: Setup) -> Result<LocalParams, PeerError> {
        let creds = self
            .ice
            .as_ref()
            .map(|i| i.local_credentials().clone())
            .ok_or_else(|| PeerError::InvalidState("no ICE agent yet".into()))?;
        Ok(LocalParams {
            session_id: self.session_id,
            session_version: self.session_version,
            creds,
            fingerprint: self.fingerprint,
            setup,
            max_message_size: self.config.sctp.max_message_size,
            candidates: self.local_candidates.clone(),
            end_of_candidates: self.end_of_local_candidates,
        })
    }

    /// W3C `createOffer`. The offer has a data section once a data channel
    /// was created (or one was negotiated before).
    pub fn create_offer(
        &mut self,
        now: Instant,
        options: OfferOptions,
    ) -> Result<RtcSessionDescription, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        if !matches!(
            self.signaling,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(PeerError::InvalidState(format!(
                "create_offer in {:?}: answer the peer's offer first",
                self.signaling
            )));
        }
        self.ensure_ice(true);
        if options.ice_restart && self.remote.is_some() {
            if let Some(ice) = &mut self.ice {
                ice.restart(now);
            }
            self.local_candidates.clear();
            self.end_of_local_candidates = false;
        }
        let mid = self
            .data_mid
            .clone()
            .or_else(|| (!self.channels.map.is_empty()).then(|| "0".to_string()));
        self.session_version += 1;
        let d = jsep::build_offer(&self.local_params(Setup::ActPass)?, mid.as_deref());
        self.pump(now);
        Ok(RtcSessionDescription::offer(d.to_string()))
    }

    /// W3C `createAnswer` to the applied remote offer.
    pub fn create_answer(&mut self, now: Instant) -> Result<RtcSessionDescription, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        let Some((SdpType::Offer, offer)) = &self.remote else {
            return Err(PeerError::InvalidState(
                "create_answer needs a remote offer (set_remote_description first)".into(),
            ));
        };
        let offer = offer.clone();
        let idx = jsep::data_section(&offer);
        let setup = match &self.remote_transport {
            Some(rt) if idx.is_some() => jsep::answer_setup(rt.setup)?,
            _ => Setup::Active,
        };
        self.session_version += 1;
        let d = jsep::build_answer(&offer, idx, &self.local_params(setup)?);
        self.pump(now);
        Ok(RtcSessionDescription::answer(d.to_string()))
    }

    /// W3C `setLocalDescription`. An empty `sdp` means "the offer or answer
    /// you would create now" (W3C's implicit form).
    pub fn set_local_description(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
    ) -> Result<(), PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        match desc.sdp_type {
            SdpType::Rollback => {
                if self.signaling != SignalingState::HaveLocalOffer {
                    return Err(PeerError::InvalidState(format!(
                        "nothing local to roll back in {:?}",
                        self.signaling
                    )));
                }
                self.local = self.local.take().filter(|(t, _)| *t == SdpType::Answer);
                self.set_signaling(SignalingState::Stable);
            }
            SdpType::Pranswer => {
                return Err(PeerError::Unsupported(
                    "provisional answers (pranswer)".into(),
                ))
            }
            SdpType::Offer => {
                if !matches!(
                    self.signaling,
                    SignalingState::Stable | SignalingState::HaveLocalOffer
                ) {
                    return Err(PeerError::InvalidState(format!(
                        "set_local_description(offer) in {:?}",
                        self.signaling
                    )));
                }
                let sdp = if desc.sdp.is_empty() {
                    self.create_offer(now, OfferOptions::default())?.sdp
                } else {
                    desc.sdp
                };
                let d: SessionDescription = sdp.parse()?;
                self.check_local(&d)?;
                if let Some(i) = jsep::data_section(&d) {
                    self.data_mid = d.media[i].mid().map(String::from);
                }
                self.local = Some((SdpType::Offer, d));
                self.set_signaling(SignalingState::HaveLocalOffer);
                self.start_gathering(now);
            }
            SdpType::Answer => {
                if self.signaling != SignalingState::HaveRemoteOffer {
                    return Err(PeerError::InvalidState(format!(
                        "set_local_description(answer) in {:?}: there is no remote offer",
                        self.signaling
                    )));
                }
                let sdp = if desc.sdp.is_empty() {
                    self.create_answer(now)?.sdp
                } else {
                    desc.sdp
                };
                let d: SessionDescription = sdp.parse()?;
                self.check_local(&d)?;
                match jsep::data_section(&d) {
                    Some(i) => {
                        let m = &d.media[i];
                        self.local_setup = m.setup();
                        if !matches!(self.local_setup, Some(Setup::Active | Setup::Passive)) {
                            return Err(PeerError::InvalidDescription(
                                "an answer's a=setup must be active or passive".into(),
                            ));
                        }
                        self.data_mid = m.mid().map(String::from);
                    }
                    None => self.data_mid = None,
                }
                self.local = Some((SdpType::Answer, d));
                self.set_signaling(SignalingState::Stable);
                self.start_gathering(now);
                self.start_transport(now);
            }
        }
        self.pump(now);
        Ok(())
    }

    /// Our own description must carry our credentials and fingerprint (no
    /// munging of what keeps the connection secure).
    fn check_local(&self, d: &SessionDescription) -> Result<(), PeerError> {
        let Some(i) = jsep::data_section(d) else {
            return Ok(());
        };
        let m = &d.media[i];
        let creds = self.ice.as_ref().map(|i| i.local_credentials());
        if m.ice_ufrag() != creds.map(|c| c.ufrag.as_str()) {
            return Err(PeerError::InvalidDescription(
                "the local description's a=ice-ufrag is not ours (create the offer or answer with this connection)".into(),
            ));
        }
        if !m
            .fingerprints()
            .iter()
            .any(|f| f.algorithm == "sha-256" && f.value == self.fingerprint)
        {
            return Err(PeerError::InvalidDescription(
                "the local description's a=fingerprint is not our certificate's".into(),
            ));
        }
        Ok(())
    }

    /// W3C `setRemoteDescription`.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        desc: RtcSessionDescription,
    ) -> Result<(), PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        match desc.sdp_type {
            SdpType::Rollback => {
                if self.signaling != SignalingState::HaveRemoteOffer {
                    return Err(PeerError::InvalidState(format!(
                        "nothing remote to roll back in {:?}",
                        self.signaling
                    )));
                }
                self.remote = None;
                self.remote_transport = None;
                self.set_signaling(SignalingState::Stable);
            }
            SdpType::Pranswer => {
                return Err(PeerError::Unsupported(
                    "provisional answers (pranswer)".into(),
                ))
            }
            SdpType::Offer => {
                if !matches!(
                    self.signaling,
                    SignalingState::Stable | SignalingState::HaveRemoteOffer
                ) {
                    return Err(PeerError::InvalidState(format!(
                        "set_remote_description(offer) in {:?}: roll back our offer first (glare)",
                        self.signaling
                    )));
                }
                let d: SessionDescription = desc.sdp.parse()?;
                let rt = match jsep::data_section(&d) {
                    Some(i) => Some(jsep::remote_transport(&d, i)?),
                    None => None,
                };
                self.ensure_ice(false);
                if let Some(rt) = &rt {
                    if self.sctp.is_some() && rt.fingerprint != self.remote_fingerprint() {
                        return Err(PeerError::Unsupported(
                            "a new DTLS certificate in a renegotiation".into(),
                        ));
                    }
                    self.data_mid = rt.mid.clone();
                    self.apply_remote_ice(now, rt);
                }
                self.remote_transport = rt;
                self.remote = Some((SdpType::Offer, d));
                self.set_signaling(SignalingState::HaveRemoteOffer);
            }
            SdpType::Answer => {
                if self.signaling != SignalingState::HaveLocalOffer {
                    return Err(PeerError::InvalidState(format!(
                        "set_remote_description(answer) in {:?}: we made no offer",
                        self.signaling
                    )));
                }
                let d: SessionDescription = desc.sdp.parse()?;
                let offered = self
                    .local
                    .as_ref()
                    .is_some_and(|(_, l)| jsep::data_section(l).is_some());
                let rt = match jsep::data_section(&d) {
                    Some(i) => Some(jsep::remote_transport(&d, i)?),
                    None if offered => {
                        return Err(PeerError::InvalidDescription(
                            "the answer rejected the data-channel section".into(),
                        ))
                    }
                    None => None,
                };
                if let Some(rt) = &rt {
                    self.local_setup = Some(match rt.setup {
                        Setup::Active => Setup::Passive,
                        Setup::Passive => Setup::Active,
                        s => {
                            return Err(PeerError::InvalidDescription(format!(
                                "an answer's a=setup must be active or passive, not {s}"
                            )))
                        }
                    });
                    self.apply_remote_ice(now, rt);
                }
                self.remote_transport = rt;
                self.remote = Some((SdpType::Answer, d));
                self.set_signaling(SignalingState::Stable);
                self.start_transport(now);
            }
        }
        self.pump(now);
        Ok(())
    }

    fn remote_fingerprint(&self) -> [u8; 32] {
        self.remote_transport
            .as_ref()
            .map_or([0; 32], |r| r.fingerprint)
    }

    fn apply_remote_ice(&mut self, now: Instant, rt: &RemoteTransport) {
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

    fn start_gathering(&mut self, now: Instant) {
        if self.gathering_started {
            return;
        }
        if let Some(ice) = &mut self.ice {
            ice.gather(now, &self.config.host_addresses);
            self.gathering_started = true;
        }
    }

    /// Both descriptions are applied: make the SCTP transport (its stream
    /// ids need the DTLS role) and the channels waiting for it.
    fn start_transport(&mut self, now: Instant) {
        let (Some(rt), Some(setup)) = (&self.remote_transport, self.local_setup) else {
            return;
        };
        let peer_max = rt.max_message_size;
        if self.sctp.is_none() {
            let role = match setup {
                Setup::Active => tern_sctp::DtlsRole::Client,
                _ => tern_sctp::DtlsRole::Server,
            };
            let cfg = SctpConfig {
                port: jsep::SCTP_PORT,
                ..self.config.sctp.clone()
            };
            let rng = self.rng();
            let mut sctp = SctpTransport::new(cfg, rng, now, role);
            let pending: Vec<ChannelId> = self
                .channels
                .map
                .iter()
                .filter(|(_, c)| c.stream.is_none())
                .map(|(id, _)| *id)
                .collect();
            for id in pending {
                let c = &self.channels.map[&id];
                match sctp.create_data_channel(now, &c.label, c.init.clone()) {
                    Ok(s) => {
                        let low = c.low_threshold;
                        sctp.set_buffered_amount_low_threshold(s, low);
                        self.channels.by_stream.insert(s.0, id);
                        if let Some(c) = self.channels.map.get_mut(&id) {
                            c.stream = Some(s.0);
                        }
                    }
                    Err(_) => {
                        // No stream for it (id taken by the peer's negotiated one).
                        self.channels.remove(id);
                        self.events.push_back(PeerEvent::ChannelClosed(id));
                    }
                }
            }
            self.sctp = Some(sctp);
        }
        if let Some(s) = &mut self.sctp {
            s.association_mut().set_peer_max_message_size(peer_max);
        }
    }

    /// The current local description, with the candidates gathered so far
    /// (W3C `localDescription`).
    pub fn local_description(&self) -> Option<RtcSessionDescription> {
        let (t, d) = self.local.as_ref()?;
        let mut d = d.clone();
        if let Some(i) = jsep::data_section(&d) {
            let m = &mut d.media[i];
            m.remove_attributes("candidate");
            m.remove_attributes("end-of-candidates");
            let mut at = 0;
            for c in &self.local_candidates {
                m.attributes
                    .insert(at, tern_sdp::Attribute::new("candidate", c.clone()));
                at += 1;
            }
            if self.end_of_local_candidates {
                m.attributes
                    .insert(at, tern_sdp::Attribute::flag("end-of-candidates"));
            }
        }
        Some(RtcSessionDescription {
            sdp_type: *t,
            sdp: d.to_string(),
        })
    }

    /// The applied remote description (W3C `remoteDescription`).
    pub fn remote_description(&self) -> Option<RtcSessionDescription> {
        let (t, d) = self.remote.as_ref()?;
        Some(RtcSessionDescription {
            sdp_type: *t,
            sdp: d.to_string(),
        })
    }

    /// W3C `addIceCandidate`; `None` or an empty candidate means
    /// end-of-candidates.
    pub fn add_ice_candidate(
        &mut self,
        now: Instant,
        candidate: Option<IceCandidateInit>,
    ) -> Result<(), PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        let Some((_, remote)) = &self.remote else {
            return Err(PeerError::InvalidState(
                "add_ice_candidate before set_remote_description".into(),
            ));
        };
        let data_idx = jsep::data_section(remote);
        let Some(ice) = &mut self.ice else {
            return Err(PeerError::InvalidState("no ICE agent".into()));
        };
        let c = match candidate {
            Some(c) if !c.candidate.trim().is_empty() => c,
            _ => {
                ice.set_remote_end_of_candidates(now);
                self.pump(now);
                return Ok(());
            }
        };
        let for_data = match (&c.sdp_mid, c.sdp_m_line_index) {
            (Some(mid), _) => Some(mid.as_str()) == self.data_mid.as_deref(),
            (None, Some(i)) => Some(usize::from(i)) == data_idx,
            (None, None) => {
                return Err(PeerError::InvalidCandidate(
                    "a candidate needs sdp_mid or sdp_m_line_index".into(),
                ))
            }
        };
        if !for_data {
            return Err(PeerError::InvalidCandidate(format!(
                "no accepted media section for mid {:?} / index {:?}",
                c.sdp_mid, c.sdp_m_line_index
            )));
        }
        let current = self
            .remote_transport
            .as_ref()
            .map(|r| r.creds.ufrag.as_str());
        if c.username_fragment.is_some() && c.username_fragment.as_deref() != current {
            return Ok(()); // from an earlier ICE generation
        }
        let parsed: Candidate =
            c.candidate
                .parse()
                .map_err(|e: tern_ice::CandidateParseError| {
                    PeerError::InvalidCandidate(e.to_string())
                })?;
        ice.add_remote_candidate(now, parsed);
        self.pump(now);
        Ok(())
    }

    // ---- data channels ---------------------------------------------------

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
        if self.data_mid.is_none() && !self.negotiation_needed_sent {
            self.negotiation_needed_sent = true;
            self.events.push_back(PeerEvent::NegotiationNeeded);
        }
        self.pump(now);
        Ok(id)
    }

    fn stream_of(&self, ch: ChannelId) -> Result<DataChannelId, PeerError> {
        let c = self
            .channels
            .map
            .get(&ch)
            .ok_or(PeerError::UnknownChannel(ch))?;
        match c.stream {
            Some(s) if self.sctp.is_some() => Ok(DataChannelId(s)),
            _ => Err(PeerError::InvalidState(format!(
                "channel {ch} is still connecting (wait for ChannelOpen)"
            ))),
        }
    }

    fn sent(&mut self, ch: ChannelId, len: usize) {
        if let Some(c) = self.channels.map.get_mut(&ch) {
            c.counters.messages_sent += 1;
            c.counters.bytes_sent += len as u64;
        }
    }

    /// Sends text (W3C `send(string)`); returns the message id.
    pub fn send_text(&mut self, now: Instant, ch: ChannelId, text: &str) -> Result<u64, PeerError> {
        let s = self.stream_of(ch)?;
        let sctp = self.sctp.as_mut().ok_or(PeerError::Closed)?;
        let m = sctp.send_text(now, s, text)?;
        self.sent(ch, text.len());
        self.pump(now);
        Ok(m)
    }

    /// Sends binary data (W3C `send(ArrayBuffer)`); returns the message id.
    pub fn send_binary(
        &mut self,
        now: Instant,
        ch: ChannelId,
        data: &[u8],
    ) -> Result<u64, PeerError> {
        self.send_binary_bytes(now, ch, Bytes::copy_from_slice(data))
    }

    /// Sends binary data the caller gives away (no copy).
    pub fn send_binary_bytes(
        &mut self,
        now: Instant,
        ch: ChannelId,
        data: Bytes,
    ) -> Result<u64, PeerError> {
        let s = self.stream_of(ch)?;
        let sctp = self.sctp.as_mut().ok_or(PeerError::Closed)?;
        let len = data.len();
        let m = sctp.send_binary_bytes(now, s, data)?;
        self.sent(ch, len);
        self.pump(now);
        Ok(m)
    }

    /// Closes a channel (W3C `close`): queued data still goes out first.
    pub fn close_channel(&mut self, now: Instant, ch: ChannelId) -> Result<(), PeerError> {
        let c = self
            .channels
            .map
            .get(&ch)
            .ok_or(PeerError::UnknownChannel(ch))?;
        match (c.stream, &mut self.sctp) {
            (Some(s), Some(sctp)) => sctp.close(now, DataChannelId(s))?,
            _ => {
                self.channels.remove(ch);
                self.events.push_back(PeerEvent::ChannelClosed(ch));
            }
        }
        self.pump(now);
        Ok(())
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

    /// W3C `bufferedAmount`.
    pub fn buffered_amount(&self, ch: ChannelId) -> usize {
        match (
            self.channels.map.get(&ch).and_then(|c| c.stream),
            &self.sctp,
        ) {
            (Some(s), Some(sctp)) => sctp.buffered_amount(DataChannelId(s)),
            _ => 0,
        }
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, ch: ChannelId, threshold: usize) {
        let Some(c) = self.channels.map.get_mut(&ch) else {
            return;
        };
        c.low_threshold = threshold;
        if let (Some(s), Some(sctp)) = (c.stream, &mut self.sctp) {
            sctp.set_buffered_amount_low_threshold(DataChannelId(s), threshold);
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
        self.flush_sctp(now);
        if let Some(d) = &mut self.dtls {
            d.close();
        }
        self.flush_dtls();
        if let Some(ice) = &mut self.ice {
            ice.close(now);
        }
        let ids: Vec<ChannelId> = self.channels.map.keys().copied().collect();
        for id in ids {
            self.channels.remove(id);
            self.events.push_back(PeerEvent::ChannelClosed(id));
        }
        self.closed = true;
        self.signaling = SignalingState::Closed;
        self.state = PeerConnectionState::Closed;
        self.ice_state = IceConnectionState::Closed;
        self.dtls_state = DtlsTransportState::Closed;
        self.sctp = None;
        self.dtls = None;
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
        mut data: Vec<u8>,
    ) {
        if self.closed || data.is_empty() {
            return;
        }
        self.counters.packets_received += 1;
        self.counters.bytes_received += data.len() as u64;
        // RFC 7983 §7: demultiplex on the first byte.
        match data[0] {
            0..=3 => {
                if let Some(ice) = &mut self.ice {
                    ice.handle_receive(now, from, to, &data);
                }
            }
            20..=63 => {
                self.last_dtls_path = Some((to, from));
                self.maybe_start_dtls(now);
                if let Some(ice) = &mut self.ice {
                    ice.record_data_received(from, to, data.len());
                }
                match &mut self.dtls {
                    Some(dtls) => {
                        if let Some(r) = dtls.handle_receive_in_place(now, &mut data) {
                            if let Some(sctp) = &mut self.sctp {
                                sctp.handle_packet(now, Bytes::from(data).slice(r));
                            }
                        }
                    }
                    None => {
                        // Kept for the endpoint about to be made; the
                        // oldest go first if too many pile up.
                        if self.early_dtls.len() >= MAX_EARLY_DTLS {
                            self.early_dtls.pop_front();
                            self.counters.dropped_early_dtls += 1;
                        }
                        self.early_dtls.push_back(data);
                    }
                }
            }
            128..=191 => self.counters.dropped_rtp += 1,
            _ => self.counters.dropped_unknown += 1,
        }
        self.pump(now);
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(ice) = &mut self.ice {
            if ice.poll_timeout().is_some_and(|t| t <= now) {
                ice.handle_timeout(now);
            }
        }
        if let Some(d) = &mut self.dtls {
            if d.poll_timeout().is_some_and(|t| t <= now) {
                d.handle_timeout(now);
            }
        }
        if let Some(s) = &mut self.sctp {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    /// The next datagram to send (from `source`, which is one of the
    /// configured host addresses).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// The next event. Messages are taken from SCTP as the application
    /// takes them from here, so one that stops polling slows the sender.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        let e = self.events.pop_front()?;
        if let PeerEvent::ChannelMessage { message, .. } = &e {
            let was_full = self.held >= HOLD_BYTES;
            self.held -= message_len(message);
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
        if self.closed {
            return None;
        }
        [
            self.ice.as_ref().and_then(|i| i.poll_timeout()),
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.sctp.as_ref().and_then(|s| s.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- wiring ----------------------------------------------------------

    /// Where DTLS goes: the selected pair, else the best pair that passed a
    /// check (as browsers do, so the handshake need not wait for
    /// nomination), else where the peer's DTLS came from.
    fn path(&self) -> Option<(SocketAddr, SocketAddr)> {
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

    /// The DTLS endpoint starts once both descriptions are in: the server
    /// at once (it waits for a ClientHello), the client when ICE has a path.
    fn maybe_start_dtls(&mut self, now: Instant) {
        if self.dtls.is_some() || self.sctp.is_none() {
            return;
        }
        let (Some(setup), Some(rt)) = (self.local_setup, &self.remote_transport) else {
            return;
        };
        let fp = Some(Fingerprint(rt.fingerprint));
        let mut cfg = DtlsConfig::new(self.certificate.clone());
        // ICE already proved the peer's address: no HelloVerifyRequest round
        // trip. use_srtp is offered even without media, as browsers do
        // (aiortc refuses a handshake without it).
        cfg.use_cookies = false;
        let identity = rt.creds.ufrag.clone().into_bytes();
        let dtls = match setup {
            Setup::Active => {
                if self.path().is_none() {
                    return;
                }
                let rng = self.rng();
                Dtls::new_client(cfg, rng, fp, now)
            }
            _ => {
                let rng = self.rng();
                Dtls::new_server(cfg, rng, fp, &identity)
            }
        };
        debug_assert!(matches!(dtls.role(), DtlsRole::Client | DtlsRole::Server));
        self.dtls = Some(dtls);
        self.dtls_state = DtlsTransportState::Connecting;
        self.run_due(now);
        for d in std::mem::take(&mut self.early_dtls) {
            if let Some(dtls) = &mut self.dtls {
                dtls.handle_receive(now, &d);
            }
        }
    }

    fn send_datagram(&mut self, d: Vec<u8>) {
        match self.path() {
            Some((local, remote)) => {
                if let Some(ice) = &mut self.ice {
                    ice.record_data_sent(d.len());
                }
                self.counters.packets_sent += 1;
                self.counters.bytes_sent += d.len() as u64;
                self.out.push_back(Transmit {
                    destination: remote,
                    source: Some(local),
                    contents: d,
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

    fn flush_dtls(&mut self) {
        if self.path().is_some() {
            while let Some(d) = self.waiting.pop_front() {
                self.send_datagram(d);
            }
        }
        while let Some(d) = self.dtls.as_mut().and_then(|d| d.poll_transmit()) {
            self.send_datagram(d);
        }
    }

    fn flush_sctp(&mut self, _now: Instant) {
        let (Some(sctp), Some(dtls)) = (&mut self.sctp, &mut self.dtls) else {
            return;
        };
        if !dtls.is_connected() {
            return;
        }
        while let Some(p) = sctp.poll_transmit() {
            if dtls.send_application_data(&p).is_err() {
                self.counters.dropped_sctp_out += 1;
            }
        }
    }

    /// Runs timers that are already due (a new DTLS client's first flight,
    /// ICE's first check), so that work does not wait for the driver's
    /// next timer tick (a millisecond on tokio).
    fn run_due(&mut self, now: Instant) {
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

    fn pump(&mut self, now: Instant) {
        let now = self.last_now.map_or(now, |t| t.max(now));
        self.last_now = Some(now);
        self.run_due(now);
        // ICE: events and checks.
        while let Some(e) = self.ice.as_mut().and_then(|i| i.poll_event()) {
            self.on_ice_event(e);
        }
        while let Some(t) = self.ice.as_mut().and_then(|i| i.poll_transmit()) {
            self.counters.packets_sent += 1;
            self.counters.bytes_sent += t.contents.len() as u64;
            self.out.push_back(t);
        }
        self.maybe_start_dtls(now);
        // DTLS: events feed SCTP.
        while let Some(e) = self.dtls.as_mut().and_then(|d| d.poll_event()) {
            match e {
                DtlsEvent::Connected { .. } => {
                    self.dtls_state = DtlsTransportState::Connected;
                    if let Some(s) = &mut self.sctp {
                        s.connect(now);
                    }
                }
                DtlsEvent::ApplicationData(d) => {
                    if let Some(s) = &mut self.sctp {
                        s.handle_packet(now, Bytes::from(d));
                    }
                }
                // The peer's close_notify: nothing more comes over this
                // transport, so the association and its channels end now
                // (below), whether or not an SCTP ABORT came first.
                DtlsEvent::Closed => self.dtls_state = DtlsTransportState::Closed,
                DtlsEvent::Failed(e) => {
                    tracing::debug!("DTLS failed: {e}");
                    self.dtls_state = DtlsTransportState::Failed;
                }
                _ => {}
            }
        }
        // SCTP: events out, packets down through DTLS.
        while self.held < HOLD_BYTES {
            let Some(e) = self.sctp.as_mut().and_then(|s| s.poll_event()) else {
                break;
            };
            self.on_sctp_event(e);
        }
        self.flush_sctp(now);
        self.flush_dtls();
        let transport_gone = self.ice_state == IceConnectionState::Failed
            || self.dtls_state == DtlsTransportState::Closed;
        if transport_gone && self.sctp.is_some() {
            // Consent expired or every pair failed, or the peer closed DTLS:
            // the peer is gone. The association cannot outlive its path, so
            // its channels close now rather than after SCTP's own
            // retransmission limit (minutes). (An ICE restart while
            // `disconnected` keeps them.)
            self.sctp = None;
            self.dtls = None;
            self.dtls_state = DtlsTransportState::Closed;
            let ids: Vec<ChannelId> = self.channels.map.keys().copied().collect();
            for id in ids {
                self.channels.remove(id);
                self.events.push_back(PeerEvent::ChannelClosed(id));
            }
        }
        let state = connection_state(self.closed, self.ice_state, self.dtls_state);
        if state != self.state {
            self.state = state;
            self.events
                .push_back(PeerEvent::ConnectionStateChange(state));
        }
    }

    fn on_ice_event(&mut self, e: IceEvent) {
        match e {
            IceEvent::LocalCandidate(c) => {
                let s = c.to_string();
                let value = s.strip_prefix("candidate:").unwrap_or(&s).to_string();
                self.local_candidates.push(value);
                let idx = self
                    .local
                    .as_ref()
                    .and_then(|(_, d)| jsep::data_section(d))
                    .map(|i| i as u16);
                let ufrag = self
                    .ice
                    .as_ref()
                    .map(|i| i.local_credentials().ufrag.clone());
                self.events
                    .push_back(PeerEvent::IceCandidate(Some(IceCandidateInit {
                        candidate: s,
                        sdp_mid: self.data_mid.clone(),
                        sdp_m_line_index: idx.or(Some(0)),
                        username_fragment: ufrag,
                    })));
            }
            IceEvent::EndOfLocalCandidates => {
                self.end_of_local_candidates = true;
                self.events.push_back(PeerEvent::IceCandidate(None));
            }
            IceEvent::GatheringStateChange(s) => {
                self.gathering_state = s;
                self.events.push_back(PeerEvent::IceGatheringStateChange(s));
            }
            IceEvent::ConnectionStateChange(s) => {
                self.ice_state = s;
                self.events
                    .push_back(PeerEvent::IceConnectionStateChange(s));
            }
            _ => {} // selected pair and role changes: path() reads them
        }
    }

    fn on_sctp_event(&mut self, e: DataChannelEvent) {
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
                let ids: Vec<ChannelId> = self.channels.map.keys().copied().collect();
                for id in ids {
                    self.channels.remove(id);
                    self.events.push_back(PeerEvent::ChannelClosed(id));
                }
            }
            _ => {}
        }
    }
}
