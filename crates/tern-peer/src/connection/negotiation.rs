//! Offer/answer (RFC 8829 §5): creating descriptions, applying them, and
//! trickled candidates. What goes into the SDP is `crate::jsep`'s; which
//! transitions are allowed is `signaling::next_state`'s.

use std::time::Instant;

use tern_ice::{Candidate, IceConfig};
use tern_sctp::{SctpConfig, SctpTransport};
use tern_sdp::{HasAttributes, SessionDescription, Setup};

use super::signaling::{next_state, Side};
use super::{Applied, PeerConnection};
use crate::description::{IceCandidateInit, RtcSessionDescription, SdpType};
use crate::error::PeerError;
use crate::jsep::{self, LocalParams, Mid};
use crate::state::{ChannelId, PeerEvent};

/// Options of [`PeerConnection::create_offer`] (W3C `RTCOfferOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// New ICE credentials: restart ICE (RFC 8445 §9).
    pub ice_restart: bool,
}

impl PeerConnection {
    fn ensure_ice(&mut self, controlling: bool) {
        let cfg = IceConfig {
            stun_servers: self.config.stun_servers.clone(),
            ..self.config.ice.clone()
        };
        self.transport.ensure_ice(controlling, cfg, &mut self.rngs);
    }

    fn local_params(&self, setup: Setup) -> Result<LocalParams, PeerError> {
        let creds = self
            .transport
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
            candidates: self.transport.local_candidates.clone(),
            end_of_candidates: self.transport.end_of_local_candidates,
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
        // An offer can be made wherever one could be applied.
        next_state(self.signaling, Side::Local, SdpType::Offer)?;
        self.ensure_ice(true);
        if options.ice_restart && self.remote.is_some() {
            self.transport.restart_ice(now);
        }
        let mid = self
            .data_mid
            .clone()
            .or_else(|| (!self.channels.map.is_empty()).then(|| Mid::new("0")));
        self.session_version += 1;
        let d = jsep::build_offer(&self.local_params(Setup::ActPass)?, mid.as_ref());
        self.pump(now);
        Ok(RtcSessionDescription::offer(d.to_string()))
    }

    /// W3C `createAnswer` to the applied remote offer.
    pub fn create_answer(&mut self, now: Instant) -> Result<RtcSessionDescription, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        let Some(Applied {
            sdp_type: SdpType::Offer,
            desc: offer,
            data_index,
        }) = &self.remote
        else {
            return Err(PeerError::InvalidState(
                "create_answer needs a remote offer (set_remote_description first)".into(),
            ));
        };
        let (offer, idx) = (offer.clone(), *data_index);
        let setup = match &self.transport.remote {
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
        let next = next_state(self.signaling, Side::Local, desc.sdp_type)?;
        match desc.sdp_type {
            SdpType::Rollback => {
                self.local = self.local.take().filter(|l| l.sdp_type == SdpType::Answer);
            }
            SdpType::Offer => {
                let sdp = if desc.sdp.is_empty() {
                    self.create_offer(now, OfferOptions::default())?.sdp
                } else {
                    desc.sdp
                };
                let applied = Applied::new(SdpType::Offer, sdp.parse()?);
                self.check_local(&applied)?;
                if let Some(i) = applied.data_index {
                    self.data_mid = applied.desc.media[i].mid().map(Mid::new);
                }
                self.local = Some(applied);
                self.start_gathering(now);
            }
            SdpType::Answer => {
                let sdp = if desc.sdp.is_empty() {
                    self.create_answer(now)?.sdp
                } else {
                    desc.sdp
                };
                let applied = Applied::new(SdpType::Answer, sdp.parse()?);
                self.check_local(&applied)?;
                match applied.data_index {
                    Some(i) => {
                        let m = &applied.desc.media[i];
                        let setup = m.setup();
                        if !matches!(setup, Some(Setup::Active | Setup::Passive)) {
                            return Err(PeerError::InvalidDescription(
                                "an answer's a=setup must be active or passive".into(),
                            ));
                        }
                        self.transport.local_setup = setup;
                        self.data_mid = m.mid().map(Mid::new);
                    }
                    None => self.data_mid = None,
                }
                self.local = Some(applied);
                self.start_gathering(now);
            }
            // next_state refuses provisional answers.
            SdpType::Pranswer => {}
        }
        self.set_signaling(next);
        if desc.sdp_type == SdpType::Answer {
            self.start_transport(now);
        }
        self.pump(now);
        Ok(())
    }

    /// Our own description must carry our credentials and fingerprint (no
    /// munging of what keeps the connection secure).
    fn check_local(&self, applied: &Applied) -> Result<(), PeerError> {
        let Some(i) = applied.data_index else {
            return Ok(());
        };
        let m = &applied.desc.media[i];
        let creds = self.transport.ice.as_ref().map(|i| i.local_credentials());
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
        let next = next_state(self.signaling, Side::Remote, desc.sdp_type)?;
        match desc.sdp_type {
            SdpType::Rollback => {
                self.remote = None;
                self.transport.remote = None;
            }
            SdpType::Offer => {
                let applied = Applied::new(SdpType::Offer, desc.sdp.parse()?);
                let rt = match applied.data_index {
                    Some(i) => Some(jsep::remote_transport(&applied.desc, i)?),
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
                    self.transport.apply_remote_ice(now, rt);
                }
                self.transport.remote = rt;
                self.remote = Some(applied);
            }
            SdpType::Answer => {
                let applied = Applied::new(SdpType::Answer, desc.sdp.parse()?);
                let offered = self.local.as_ref().is_some_and(|l| l.data_index.is_some());
                let rt = match applied.data_index {
                    Some(i) => Some(jsep::remote_transport(&applied.desc, i)?),
                    None if offered => {
                        return Err(PeerError::InvalidDescription(
                            "the answer rejected the data-channel section".into(),
                        ))
                    }
                    None => None,
                };
                if let Some(rt) = &rt {
                    self.transport.local_setup = Some(match rt.setup {
                        Setup::Active => Setup::Passive,
                        Setup::Passive => Setup::Active,
                        s => {
                            return Err(PeerError::InvalidDescription(format!(
                                "an answer's a=setup must be active or passive, not {s}"
                            )))
                        }
                    });
                    self.transport.apply_remote_ice(now, rt);
                }
                self.transport.remote = rt;
                self.remote = Some(applied);
            }
            SdpType::Pranswer => {}
        }
        self.set_signaling(next);
        if desc.sdp_type == SdpType::Answer {
            self.start_transport(now);
        }
        self.pump(now);
        Ok(())
    }

    fn remote_fingerprint(&self) -> [u8; 32] {
        self.transport
            .remote
            .as_ref()
            .map_or([0; 32], |r| r.fingerprint)
    }

    fn start_gathering(&mut self, now: Instant) {
        let hosts = &self.config.host_addresses;
        self.transport.start_gathering(now, hosts);
    }

    /// Both descriptions are applied: make the SCTP transport (its stream
    /// ids need the DTLS role) and the channels waiting for it.
    fn start_transport(&mut self, now: Instant) {
        let (Some(rt), Some(setup)) = (&self.transport.remote, self.transport.local_setup) else {
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
            let mut sctp = SctpTransport::new(cfg, self.rngs.next(), now, role);
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
        let l = self.local.as_ref()?;
        let mut d: SessionDescription = l.desc.clone();
        if let Some(i) = l.data_index {
            let m = &mut d.media[i];
            m.remove_attributes("candidate");
            m.remove_attributes("end-of-candidates");
            let mut at = 0;
            for c in &self.transport.local_candidates {
                m.attributes
                    .insert(at, tern_sdp::Attribute::new("candidate", c.clone()));
                at += 1;
            }
            if self.transport.end_of_local_candidates {
                m.attributes
                    .insert(at, tern_sdp::Attribute::flag("end-of-candidates"));
            }
        }
        Some(RtcSessionDescription {
            sdp_type: l.sdp_type,
            sdp: d.to_string(),
        })
    }

    /// The applied remote description (W3C `remoteDescription`).
    pub fn remote_description(&self) -> Option<RtcSessionDescription> {
        let r = self.remote.as_ref()?;
        Some(RtcSessionDescription {
            sdp_type: r.sdp_type,
            sdp: r.desc.to_string(),
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
        let Some(remote) = &self.remote else {
            return Err(PeerError::InvalidState(
                "add_ice_candidate before set_remote_description".into(),
            ));
        };
        let data_idx = remote.data_index;
        let Some(ice) = &mut self.transport.ice else {
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
            (Some(mid), _) => Some(mid.as_str()) == self.data_mid.as_ref().map(Mid::as_str),
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
            .transport
            .remote
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

    /// Whether a data channel is waiting for its first negotiation.
    pub(crate) fn needs_data_section(&self) -> bool {
        self.data_mid.is_none()
    }
}
