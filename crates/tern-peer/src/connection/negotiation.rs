//! Offer/answer (RFC 8829 §5): creating descriptions, applying them, and
//! trickled candidates. What goes into the SDP is `crate::jsep`'s; which
//! transitions are allowed is `signaling::next_state`'s.

use std::time::Instant;

use tern_ice::{Candidate, IceConfig};
use tern_sctp::{SctpConfig, SctpTransport};
use tern_sdp::{HasAttributes, MediaDescription, SessionDescription, Setup};

use super::signaling::{next_state, Side};
use super::{Applied, PeerConnection};
use crate::description::{IceCandidateInit, RtcSessionDescription, SdpType};
use crate::error::PeerError;
use crate::jsep::media::{self, MediaSection};
use crate::jsep::{self, LocalParams, Mid};
use crate::media::transceiver::{Negotiated, Transceiver};
use crate::media::{MediaKind, RtpTransceiverDirection, TransceiverId, TransceiverInit};
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

    /// The smallest numeric mid no section or transceiver uses.
    fn next_mid(&self, extra: &[Slot]) -> Mid {
        let used = |m: &str| {
            self.layout
                .iter()
                .chain(extra)
                .any(|s| s.mid(self).as_deref() == Some(m))
                || self.data_mid.as_ref().is_some_and(|d| d.as_str() == m)
                || self.media.transceivers.iter().any(|t| {
                    t.mid.as_ref().is_some_and(|x| x.as_str() == m)
                        || t.proposed_mid.as_ref().is_some_and(|x| x.as_str() == m)
                })
        };
        // Fewer mids are in use than numbers exist: this ends.
        let mut n = 0u32;
        while used(&n.to_string()) {
            n += 1;
        }
        Mid::new(n.to_string())
    }

    /// W3C `createOffer`: every section of the current layout in its
    /// place (stopped transceivers rejected), then new transceivers, then a
    /// data section once a data channel was created.
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
        self.negotiation_needed_sent = false;
        let mut layout = self.layout.clone();
        let mut added = Vec::new();
        for i in 0..self.media.transceivers.len() {
            let t = &self.media.transceivers[i];
            let placed = layout.contains(&Slot::Media(t.id));
            if t.stopped || placed || t.mid.is_some() {
                continue;
            }
            let id = t.id;
            let mid = match &t.proposed_mid {
                Some(m) => m.clone(),
                None => self.next_mid(&added),
            };
            self.media.transceivers[i].proposed_mid = Some(mid);
            added.push(Slot::Media(id));
        }
        layout.extend(added);
        let has_data = layout.iter().any(|s| matches!(s, Slot::Data(_)));
        if !has_data && !self.channels.map.is_empty() {
            let mid = self
                .data_mid
                .clone()
                .unwrap_or_else(|| self.next_mid(&layout));
            layout.push(Slot::Data(mid));
        }
        self.session_version += 1;
        let p = self.local_params(Setup::ActPass)?;
        let mut bundle = Vec::new();
        let mut sections = Vec::new();
        for slot in &layout {
            let m = match slot {
                Slot::Data(mid) => {
                    bundle.push(mid.to_string());
                    jsep::data_media(&p, mid.as_str())
                }
                Slot::Media(id) => {
                    let m = self.offer_section(&p, *id);
                    if m.port != 0 {
                        bundle.extend(m.mid().map(str::to_string));
                    }
                    m
                }
                Slot::Rejected(m) => media::rejected(m),
            };
            sections.push(m);
        }
        self.offer_layout = Some(layout);
        let d = jsep::session_with(&p, bundle, sections);
        self.pump(now);
        Ok(RtcSessionDescription::offer(d.to_string()))
    }

    /// Our offer's section for a transceiver.
    fn offer_section(&self, p: &LocalParams, id: TransceiverId) -> MediaDescription {
        // The layout only holds transceivers that exist (they are never
        // removed, only stopped).
        let Some(i) = self.media.index(id) else {
            let m = MediaDescription::new("video", 0, media::RTP_PROTOCOL, &["0"]);
            return media::rejected(&m);
        };
        let t = &self.media.transceivers[i];
        let mid = t
            .mid
            .clone()
            .or_else(|| t.proposed_mid.clone())
            .unwrap_or_else(|| Mid::new("0"));
        let video = t.kind == MediaKind::Video;
        let (codecs, rtx) = match &t.negotiated {
            Some(n) if t.codec_preferences.is_empty() && !n.codecs.is_empty() => {
                (n.codecs.clone(), n.rtx.clone())
            }
            _ => media::offer_codecs(&self.media.prefs(t), video && self.media.config.rtx),
        };
        let extmaps = match &t.negotiated {
            Some(n) => n.extmaps.clone(),
            None => media::offer_extmaps(),
        };
        if t.stopped {
            let mut m = MediaDescription::new(t.kind.as_str(), 0, media::RTP_PROTOCOL, &["0"]);
            m.push_attribute(tern_sdp::Attribute::new("mid", mid.as_str()));
            return media::rejected(&m);
        }
        let direction = offer_direction(t.direction, t.has_track);
        self.write_section(p, t, &mid, direction, (&codecs, &rtx), &extmaps)
    }

    /// One of our audio or video sections for transceiver `t`.
    fn write_section(
        &self,
        p: &LocalParams,
        t: &Transceiver,
        mid: &Mid,
        direction: RtpTransceiverDirection,
        (codecs, rtx): (
            &[crate::media::RtpCodecParameters],
            &[crate::media::codec::RtxPair],
        ),
        extmaps: &[(u16, String)],
    ) -> MediaDescription {
        let ssrc = (
            t.sender.ssrc,
            (!rtx.is_empty()).then_some(t.sender.rtx_ssrc).flatten(),
        );
        media::write_media(
            p,
            &media::LocalMedia {
                kind: t.kind,
                mid,
                direction,
                codecs,
                rtx,
                extmaps,
                ssrc: Some(ssrc),
                cname: &self.media.cname,
                stream_ids: &t.stream_ids,
                track_id: &t.track_id,
            },
        )
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
            transport_index,
        }) = &self.remote
        else {
            return Err(PeerError::InvalidState(
                "create_answer needs a remote offer (set_remote_description first)".into(),
            ));
        };
        let (offer, data_idx, tidx) = (offer.clone(), *data_index, *transport_index);
        let setup = match &self.transport.remote {
            Some(rt) if tidx.is_some() => jsep::answer_setup(rt.setup)?,
            _ => Setup::Active,
        };
        self.session_version += 1;
        let p = self.local_params(setup)?;
        let mut accepted = Vec::new();
        let mut sections = Vec::new();
        for (i, om) in offer.media.iter().enumerate() {
            let mid = om.mid().unwrap_or("0").to_string();
            if Some(i) == data_idx {
                sections.push(jsep::data_media(&p, &mid));
                accepted.push(mid);
                continue;
            }
            let m = match (media::media_kind(om), om.port) {
                (Some(_), port) if port != 0 => self.answer_section(&p, om)?,
                _ => None,
            };
            match m {
                Some(m) => {
                    sections.push(m);
                    accepted.push(mid);
                }
                None => sections.push(media::rejected(om)),
            }
        }
        let bundle = offer
            .groups()
            .into_iter()
            .find(|g| g.semantics == "BUNDLE")
            .map(|g| {
                g.mids
                    .into_iter()
                    .filter(|m| accepted.contains(m))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let d = jsep::session_with(&p, bundle, sections);
        self.pump(now);
        Ok(RtcSessionDescription::answer(d.to_string()))
    }

    /// Our answer's section for an offered audio or video one; `None` to
    /// reject it (no transceiver, stopped, or no codec in common).
    fn answer_section(
        &self,
        p: &LocalParams,
        om: &MediaDescription,
    ) -> Result<Option<MediaDescription>, PeerError> {
        let offered = media::read_media(om)?;
        let Some(i) = om.mid().and_then(|m| self.media.by_mid(m)) else {
            return Ok(None);
        };
        let t = &self.media.transceivers[i];
        if t.stopped {
            return Ok(None);
        }
        let video = t.kind == MediaKind::Video;
        let (codecs, rtx) = media::answer_codecs(
            &self.media.prefs(t),
            &offered,
            video && self.media.config.rtx,
        );
        if codecs.is_empty() {
            return Ok(None);
        }
        let mut extmaps = media::answer_extmaps(&offered);
        if !self.media.config.transport_cc {
            extmaps.retain(|(_, u)| u != tern_rtp::ExtensionKind::TransportSequenceNumber.uri());
        }
        let direction =
            offer_direction(t.direction, t.has_track).intersect(offered.direction.reverse());
        let mid = Mid::new(om.mid().unwrap_or("0"));
        Ok(Some(self.write_section(
            p,
            t,
            &mid,
            direction,
            (&codecs, &rtx),
            &extmaps,
        )))
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
                self.offer_layout = None;
                for t in &mut self.media.transceivers {
                    t.proposed_mid = None;
                }
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
                let Some(layout) = self.offer_layout.take() else {
                    return Err(PeerError::InvalidDescription(
                        "set_local_description(offer) needs an offer from this connection's create_offer".into(),
                    ));
                };
                for t in &mut self.media.transceivers {
                    if let Some(m) = t.proposed_mid.take() {
                        t.mid = Some(m);
                    }
                }
                self.layout = layout;
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
                if let Some(i) = applied.transport_index {
                    let setup = applied.desc.media[i].setup();
                    if !matches!(setup, Some(Setup::Active | Setup::Passive)) {
                        return Err(PeerError::InvalidDescription(
                            "an answer's a=setup must be active or passive".into(),
                        ));
                    }
                    self.transport.local_setup = setup;
                }
                self.data_mid = applied
                    .data_index
                    .and_then(|i| applied.desc.media[i].mid().map(Mid::new));
                self.local = Some(applied);
                self.start_gathering(now);
            }
            // next_state refuses provisional answers.
            SdpType::Pranswer => {}
        }
        self.set_signaling(next);
        if desc.sdp_type == SdpType::Answer {
            self.apply_media_answer()?;
            self.start_transport(now);
        }
        self.pump(now);
        Ok(())
    }

    /// Our own description must carry our credentials and fingerprint (no
    /// munging of what keeps the connection secure).
    fn check_local(&self, applied: &Applied) -> Result<(), PeerError> {
        let Some(i) = applied.transport_index else {
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
                let rt = match applied.transport_index {
                    Some(i) => Some(jsep::remote_transport(
                        &applied.desc,
                        i,
                        applied.data_index,
                    )?),
                    None => None,
                };
                // Read (and refuse) before anything changes.
                let sections = read_media_sections(&applied.desc)?;
                self.ensure_ice(false);
                if let Some(rt) = &rt {
                    if self.transport_ready && rt.fingerprint != self.remote_fingerprint() {
                        return Err(PeerError::Unsupported(
                            "a new DTLS certificate in a renegotiation".into(),
                        ));
                    }
                    self.transport.apply_remote_ice(now, rt);
                }
                self.data_mid = applied
                    .data_index
                    .and_then(|i| applied.desc.media[i].mid().map(Mid::new));
                self.apply_remote_offer_media(&applied, &sections);
                self.transport.remote = rt;
                self.remote = Some(applied);
            }
            SdpType::Answer => {
                let applied = Applied::new(SdpType::Answer, desc.sdp.parse()?);
                let offered = self.local.as_ref().is_some_and(|l| l.data_index.is_some());
                if offered && applied.data_index.is_none() {
                    return Err(PeerError::InvalidDescription(
                        "the answer rejected the data-channel section".into(),
                    ));
                }
                let local_len = self.local.as_ref().map_or(0, |l| l.desc.media.len());
                if applied.desc.media.len() != local_len {
                    return Err(PeerError::InvalidDescription(format!(
                        "the answer has {} m-sections, the offer {local_len} (RFC 8829 §5.3.1: one per offered section, in order)",
                        applied.desc.media.len()
                    )));
                }
                read_media_sections(&applied.desc)?;
                let rt = match applied.transport_index {
                    Some(i) => Some(jsep::remote_transport(
                        &applied.desc,
                        i,
                        applied.data_index,
                    )?),
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
            self.apply_media_answer()?;
            self.start_transport(now);
        }
        self.pump(now);
        Ok(())
    }

    /// A remote offer's audio and video sections: each is matched to a
    /// transceiver by mid, else to an unassociated `add_track` one of its
    /// kind, else gets a new recvonly transceiver (W3C §4.4.1.6 step
    /// "process remote tracks"); a rejected one stops its transceiver.
    fn apply_remote_offer_media(&mut self, applied: &Applied, sections: &[Option<MediaSection>]) {
        let mut layout = Vec::with_capacity(applied.desc.media.len());
        for (i, m) in applied.desc.media.iter().enumerate() {
            if Some(i) == applied.data_index {
                layout.push(Slot::Data(Mid::new(m.mid().unwrap_or("0"))));
                continue;
            }
            let Some(sec) = &sections[i] else {
                layout.push(Slot::Rejected(Box::new(m.clone())));
                continue;
            };
            let Some(mid) = sec.mid.clone() else {
                layout.push(Slot::Rejected(Box::new(m.clone())));
                continue;
            };
            let found = self.media.by_mid(mid.as_str()).or_else(|| {
                if sec.rejected {
                    return None;
                }
                self.media.transceivers.iter().position(|t| {
                    t.kind == sec.kind
                        && t.mid.is_none()
                        && t.proposed_mid.is_none()
                        && !t.stopped
                        && t.from_add_track
                })
            });
            let idx = match found {
                Some(i) => i,
                None if sec.rejected => {
                    layout.push(Slot::Rejected(Box::new(m.clone())));
                    continue;
                }
                None => {
                    let init = TransceiverInit {
                        direction: RtpTransceiverDirection::RecvOnly,
                        ..TransceiverInit::default()
                    };
                    let id = self.media.add(sec.kind, init, false, false);
                    let Some(i) = self.media.index(id) else {
                        layout.push(Slot::Rejected(Box::new(m.clone())));
                        continue;
                    };
                    i
                }
            };
            let t = &mut self.media.transceivers[idx];
            t.mid = Some(mid);
            if sec.rejected {
                t.stopped = true;
            }
            layout.push(if t.stopped {
                Slot::Rejected(Box::new(m.clone()))
            } else {
                Slot::Media(t.id)
            });
            remote_track(t, sec, &mut self.events);
        }
        self.layout = layout;
    }

    /// Both descriptions are in: what each audio and video section
    /// negotiated (RFC 8829 §5.10/§5.11), the directions, the tracks.
    fn apply_media_answer(&mut self) -> Result<(), PeerError> {
        let (Some(local), Some(remote)) = (&self.local, &self.remote) else {
            return Ok(());
        };
        let we_answered = local.sdp_type == SdpType::Answer;
        let locals = read_media_sections(&local.desc)?;
        let remotes = read_media_sections(&remote.desc)?;
        for (l, r) in locals.iter().zip(&remotes) {
            let (Some(l), Some(r)) = (l, r) else { continue };
            let Some(i) = l.mid.as_ref().and_then(|m| self.media.by_mid(m.as_str())) else {
                continue;
            };
            let t = &mut self.media.transceivers[i];
            if l.rejected || r.rejected || t.stopped {
                t.stopped = true;
                t.negotiated = None;
                t.current_direction = None;
                if std::mem::take(&mut t.track_fired) {
                    self.events
                        .push_back(PeerEvent::TrackEnded { transceiver: t.id });
                }
                continue;
            }
            let answer = if we_answered { l } else { r };
            let n = Negotiated::from_answer(answer, r);
            if n.codecs.is_empty() {
                t.negotiated = None;
                t.current_direction = Some(RtpTransceiverDirection::Inactive);
                continue;
            }
            t.current_direction = Some(l.direction.intersect(r.direction.reverse()));
            t.negotiated = Some(n);
            remote_track(t, r, &mut self.events);
        }
        self.media.reset_routes();
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
        self.transport_ready = true;
        let peer_max = rt.max_message_size;
        let data = self.local.as_ref().is_some_and(|l| l.data_index.is_some())
            && self.remote.as_ref().is_some_and(|r| r.data_index.is_some());
        if !data {
            return;
        }
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
        if let Some(i) = l.transport_index {
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
        let bundled: Vec<(usize, Option<String>)> = remote
            .desc
            .media
            .iter()
            .enumerate()
            .filter(|(_, m)| m.port != 0)
            .map(|(i, m)| (i, m.mid().map(str::to_string)))
            .collect();
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
        // Every accepted section shares the one BUNDLE transport.
        let for_data = match (&c.sdp_mid, c.sdp_m_line_index) {
            (Some(mid), _) => bundled
                .iter()
                .any(|(_, m)| m.as_deref() == Some(mid.as_str())),
            (None, Some(i)) => bundled.iter().any(|(x, _)| *x == usize::from(i)),
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

/// An m-line of the layout every description of the connection keeps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Slot {
    /// The data section.
    Data(Mid),
    /// A transceiver's section.
    Media(TransceiverId),
    /// A section neither side uses, as the peer wrote it.
    Rejected(Box<MediaDescription>),
}

impl Slot {
    fn mid(&self, pc: &PeerConnection) -> Option<String> {
        match self {
            Slot::Data(m) => Some(m.to_string()),
            Slot::Media(id) => {
                let t = &pc.media.transceivers[pc.media.index(*id)?];
                t.mid
                    .clone()
                    .or_else(|| t.proposed_mid.clone())
                    .map(|m| m.to_string())
            }
            Slot::Rejected(m) => m.mid().map(str::to_string),
        }
    }
}

/// The direction a transceiver offers: without a track it cannot send.
fn offer_direction(d: RtpTransceiverDirection, has_track: bool) -> RtpTransceiverDirection {
    if has_track {
        d
    } else {
        RtpTransceiverDirection::from_flags(false, d.receives())
    }
}

/// Each section read as audio or video (`None` for data and for what is
/// not audio or video).
fn read_media_sections(d: &SessionDescription) -> Result<Vec<Option<MediaSection>>, PeerError> {
    d.media
        .iter()
        .map(|m| {
            if media::media_kind(m).is_none() {
                return Ok(None);
            }
            let s = media::read_media(m)?;
            if s.mid.is_none() && !s.rejected {
                return Err(PeerError::InvalidDescription(format!(
                    "an m={} section without a=mid (tern bundles every section and needs mids, RFC 8843)",
                    m.kind
                )));
            }
            Ok(Some(s))
        })
        .collect()
}

/// The peer's track on a transceiver: its msid, and the `track` event
/// when the peer starts sending (or `TrackEnded` when it stops).
fn remote_track(
    t: &mut Transceiver,
    sec: &MediaSection,
    events: &mut std::collections::VecDeque<PeerEvent>,
) {
    let remote_sends = !sec.rejected && sec.direction.sends();
    if let Some((streams, track)) = &sec.msid {
        t.remote_stream_ids.clone_from(streams);
        t.remote_track_id.clone_from(track);
    }
    if remote_sends && t.direction.receives() && !t.track_fired && !t.stopped {
        t.track_fired = true;
        events.push_back(crate::connection::media::track_event(t));
    } else if !remote_sends && t.track_fired {
        t.track_fired = false;
        events.push_back(PeerEvent::TrackEnded { transceiver: t.id });
    }
}
