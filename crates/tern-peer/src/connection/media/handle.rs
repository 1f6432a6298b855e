//! [`TransceiverMut`]: a transceiver by handle, with its sender's and
//! receiver's verbs.

use std::time::Instant;

use crate::connection::PeerConnection;
use crate::error::PeerError;
use crate::jsep::Mid;
use crate::media::parameters::check_set;
use crate::media::transceiver::Transceiver;
use crate::media::{
    MediaKind, RtcpParameters, RtpCodecParameters, RtpHeaderExtensionParameters, RtpPacketToSend,
    RtpSendParameters, RtpTransceiverDirection, TransceiverId,
};
use crate::state::PeerEvent;

/// A transceiver, by handle (W3C `RTCRtpTransceiver` with its sender and
/// receiver), from [`PeerConnection::transceiver_mut`].
pub struct TransceiverMut<'a> {
    pub(crate) pc: &'a mut PeerConnection,
    pub(crate) index: usize,
}

impl TransceiverMut<'_> {
    fn t(&self) -> &Transceiver {
        &self.pc.media.transceivers[self.index]
    }
    /// Its handle.
    pub fn id(&self) -> TransceiverId {
        self.t().id
    }
    /// `mid`, once negotiated.
    pub fn mid(&self) -> Option<Mid> {
        self.t().mid.clone()
    }
    /// `receiver.track.kind`.
    pub fn kind(&self) -> MediaKind {
        self.t().kind
    }
    /// `direction`.
    pub fn direction(&self) -> RtpTransceiverDirection {
        if self.t().stopped {
            RtpTransceiverDirection::Stopped
        } else {
            self.t().direction
        }
    }
    /// `currentDirection`, once negotiated.
    pub fn current_direction(&self) -> Option<RtpTransceiverDirection> {
        if self.t().stopped {
            return Some(RtpTransceiverDirection::Stopped);
        }
        self.t().current_direction
    }
    /// The codecs negotiated, the one sent by default first.
    pub fn codecs(&self) -> Vec<RtpCodecParameters> {
        self.t()
            .negotiated
            .as_ref()
            .map(|n| n.codecs.clone())
            .unwrap_or_default()
    }
    /// The SSRC we send with.
    pub fn ssrc(&self) -> u32 {
        self.t().sender.ssrc
    }
    /// Whether RTP can be sent now (negotiated to send, with a track, and
    /// connected).
    pub fn can_send(&self) -> bool {
        self.t().sends() && self.pc.media.has_keys()
    }
    /// W3C `direction` setter: takes effect with the next negotiation
    /// (`negotiationneeded` fires).
    pub fn set_direction(&mut self, d: RtpTransceiverDirection) -> Result<(), PeerError> {
        if self.t().stopped {
            return Err(PeerError::InvalidState("the transceiver is stopped".into()));
        }
        if d == RtpTransceiverDirection::Stopped {
            return Err(PeerError::InvalidState(
                "use stop() to stop a transceiver".into(),
            ));
        }
        if self.t().direction != d {
            self.pc.media.transceivers[self.index].direction = d;
            self.pc.note_negotiation_needed();
        }
        Ok(())
    }
    /// W3C `setCodecPreferences`: the codecs (a subset of the configured
    /// ones, in preference order) the next offer or answer lists; empty
    /// restores the defaults.
    pub fn set_codec_preferences(
        &mut self,
        codecs: Vec<RtpCodecParameters>,
    ) -> Result<(), PeerError> {
        let all = match self.t().kind {
            MediaKind::Audio => &self.pc.media.config.audio_codecs,
            MediaKind::Video => &self.pc.media.config.video_codecs,
        };
        for c in &codecs {
            if !all.iter().any(|a| crate::media::codec::same_format(a, c)) {
                return Err(PeerError::InvalidState(format!(
                    "{} is not one of the configured {} codecs",
                    c.mime_type,
                    self.t().kind
                )));
            }
        }
        self.pc.media.transceivers[self.index].codec_preferences = codecs;
        Ok(())
    }
    /// W3C `stop`: the section is rejected at the next negotiation and
    /// nothing is sent or received on it from now on.
    pub fn stop(&mut self) {
        let t = &mut self.pc.media.transceivers[self.index];
        if !t.stopped {
            t.stopped = true;
            self.pc.media.pacer.clear_sender(self.index);
            let t = &mut self.pc.media.transceivers[self.index];
            let ended = t.track_fired;
            t.track_fired = false;
            let id = t.id;
            if ended {
                self.pc
                    .events
                    .push_back(PeerEvent::TrackEnded { transceiver: id });
            }
            self.pc.note_negotiation_needed();
        }
    }
    /// `sender.replaceTrack(track)`, without renegotiation: `None`
    /// detaches the track (nothing is sent and writes are refused until a
    /// track is attached again); `Some(track_id)` attaches the track of
    /// that id, whose samples continue the same SSRC and sequence numbers
    /// (its first video frame should be a keyframe). The track id shows in
    /// `media-source` stats; the SDP keeps the sender's msid.
    pub fn replace_track(&mut self, track_id: Option<String>) -> Result<(), PeerError> {
        let t = &mut self.pc.media.transceivers[self.index];
        if t.stopped {
            return Err(PeerError::InvalidState(format!("{} is stopped", t.id)));
        }
        match track_id {
            None => {
                t.detached = true;
                self.pc.media.pacer.clear_sender(self.index);
            }
            Some(id) => {
                t.detached = false;
                t.source_track_id = id;
            }
        }
        Ok(())
    }
    /// Sends one RTP packet (`write_rtp`): the SSRC, sequence number, mid
    /// and transport-wide sequence number are filled in; the packet is kept
    /// for retransmission.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        packet: &RtpPacketToSend<'_>,
    ) -> Result<(), PeerError> {
        self.pc.media.write_rtp(now, self.index, packet)?;
        self.pc.pump(now);
        Ok(())
    }
    /// Packetizes and sends one encoded frame (an Opus packet, a VP8/VP9/
    /// AV1 frame, an H.264/H.265 access unit in Annex B) with RTP timestamp
    /// `timestamp`, using the codec of `payload_type` (`None`: the first
    /// negotiated).
    pub fn write_frame(
        &mut self,
        now: Instant,
        payload_type: Option<u8>,
        timestamp: u32,
        frame: &[u8],
    ) -> Result<(), PeerError> {
        let r = self.pc.media.write_frame(
            now,
            self.index,
            payload_type,
            timestamp,
            frame,
            &mut self.pc.events,
        );
        self.pc.pump(now);
        r
    }
    /// `sender.getParameters()`: the encodings (change their `active` and
    /// `max_bitrate`), the negotiated codecs and header extensions, and
    /// RTCP's, with a fresh `transaction_id`.
    pub fn get_parameters(&mut self) -> RtpSendParameters {
        let cname = self.pc.media.cname.clone();
        let t = &mut self.pc.media.transceivers[self.index];
        t.parameters_returned += 1;
        let neg = t.negotiated.as_ref();
        let p = RtpSendParameters {
            transaction_id: format!("{}-{}", t.id.0, t.parameters_returned),
            encodings: t.encodings.clone(),
            codecs: neg.map(|n| n.codecs.clone()).unwrap_or_default(),
            header_extensions: neg
                .map(|n| {
                    n.extmaps
                        .iter()
                        .map(|(id, uri)| RtpHeaderExtensionParameters {
                            uri: uri.clone(),
                            id: *id,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            rtcp: RtcpParameters {
                cname,
                reduced_size: neg.is_some_and(|n| n.rsize),
            },
        };
        t.last_parameters = Some(p.clone());
        p
    }
    /// `sender.setParameters()`: applies `encodings[i].active` and
    /// `max_bitrate` at once, without renegotiation. Refused
    /// (`InvalidModification`) when anything else changed or the
    /// `transaction_id` is not the last `get_parameters`' one; each
    /// `get_parameters` allows one `set_parameters`.
    pub fn set_parameters(&mut self, parameters: RtpSendParameters) -> Result<(), PeerError> {
        let t = &mut self.pc.media.transceivers[self.index];
        if t.stopped {
            return Err(PeerError::InvalidState(format!("{} is stopped", t.id)));
        }
        check_set(t.last_parameters.as_ref(), &parameters)?;
        t.last_parameters = None;
        let mut wants = None;
        for (e, new) in t.encodings.iter_mut().zip(parameters.encodings) {
            if new.active && !e.active {
                wants = new.max_bitrate;
            }
            e.active = new.active;
            e.max_bitrate = new.max_bitrate;
        }
        if t.active() {
            // What was written while inactive is gone: start decodable.
            t.sender.awaiting_keyframe = false;
        }
        self.pc.media.apply_encodings(self.index);
        let now = self.pc.last_now;
        if let (Some(now), Some(bps)) = (now, wants) {
            // An encoding turned on that wants up to `bps` more: probe.
            let current = self
                .pc
                .media
                .bandwidth_stats()
                .map_or(0, |b| b.available_outgoing_bitrate);
            self.pc.media.cc_request_probe(now, current + bps);
        }
        if let Some(now) = now {
            self.pc.pump(now);
        }
        Ok(())
    }
    /// `receiver`'s keyframe request: a PLI to the peer (rate-limited to
    /// one per 300 ms). False when folded into an earlier request.
    pub fn request_keyframe(&mut self, now: Instant) -> bool {
        let mut out = Vec::new();
        let sent = self.pc.media.send_pli(now, self.index, &mut out);
        for d in out {
            self.pc.transport.send_datagram(d);
        }
        self.pc.pump(now);
        sent
    }
}
