//! Media on the connection: the transceivers behind their handles, SRTP
//! contexts keyed from the DTLS exporter (RFC 5764 §4.2), RTP
//! demultiplexing (RFC 8843 §9.2: mid header extension, then SSRC, then
//! payload type), RTX unwrapping (RFC 4588), and the RTCP that goes out
//! (SR/RR with SDES, NACK, PLI, transport-wide feedback) and comes in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_crypto::Random;
use tern_rtp::codec::Payloads;
use tern_rtp::rtcp::NtpTime;
use tern_rtp::rtp::rtx_original;
use tern_rtp::{ExtensionKind, Packetizer, RtpPacket};
use tern_srtp::{DtlsRole, ProtectionProfile, Protector, SrtpConfig, SrtpKeys, Unprotector};

mod cc;
mod handle;
mod rtcp;

pub use cc::{BandwidthEstimation, BandwidthStats};

use crate::error::PeerError;
use crate::jsep::Mid;
use crate::media::pacer::{Class, Pacer, Queued};
use crate::media::transceiver::Transceiver;
use crate::media::twcc::TwccRecorder;
use crate::media::{
    MediaConfig, MediaKind, RtpCodecParameters, RtpPacketReceived, RtpPacketToSend, TransceiverId,
};
use crate::state::PeerEvent;
pub use handle::TransceiverMut;

/// RTP packets waiting in the event queue beyond which new ones are
/// dropped (and counted): an application that stops reading does not grow
/// memory without bound.
pub(crate) const MAX_QUEUED_RTP: usize = 4096;
/// Payload bytes per RTP packet when packetizing frames: a 1200-byte
/// datagram less the RTP header, extensions and the SRTP tag.
const FRAME_MTU: usize = 1100;
/// Keyframe requests we send at most this often per transceiver.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);
/// Reports go out about this often (randomised ×0.5–1.5, RFC 3550 §6.3.1).
const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// A frame that would wait longer than this in the pacer is discarded
/// (real-time media is dropped, not delayed without bound).
pub(crate) const MAX_PACER_DELAY: Duration = Duration::from_millis(500);

/// Media counters of the connection (what was dropped and why).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCounters {
    /// SRTP or SRTCP packets that failed authentication, were replayed or
    /// were malformed: dropped.
    pub srtp_unprotect_failed: u64,
    /// RTP or RTCP before the SRTP keys existed: dropped.
    pub before_keys: u64,
    /// RTP no transceiver claims (unknown mid, SSRC and payload type).
    pub rtp_unroutable: u64,
    /// RTP with a payload type its section did not negotiate.
    pub rtp_unknown_payload_type: u64,
    /// RTP for a transceiver that does not receive.
    pub rtp_not_receiving: u64,
    /// RTP dropped because the application had not taken earlier packets.
    pub rtp_queue_full: u64,
    /// Duplicate RTP (a retransmission after the original came).
    pub rtp_duplicates: u64,
    /// Padding-only RTP (bandwidth probes), counted and not handed on.
    pub rtp_padding_only: u64,
    /// RTCP compound packets received.
    pub rtcp_received: u64,
    /// RTCP packets that did not parse.
    pub rtcp_malformed: u64,
    /// RTCP compound packets sent.
    pub rtcp_sent: u64,
    /// Transport-wide feedback packets sent.
    pub twcc_feedback_sent: u64,
    /// Transport-wide feedback packets received.
    pub twcc_feedback_received: u64,
    /// REMB packets received.
    pub remb_received: u64,
    /// The last REMB's bitrate.
    pub remb_bitrate_bps: u64,
    /// Keyframe requests the application made that the rate limit folded
    /// into an earlier one.
    pub keyframe_requests_limited: u64,
}

/// See [`MediaState::ext`].
#[derive(Debug, Clone, Copy, Default)]
struct ReceiveExtensions {
    mid: Option<u8>,
    transport_cc: Option<u8>,
    rid: Option<u8>,
}

pub(crate) struct MediaState {
    pub config: MediaConfig,
    pub transceivers: Vec<Transceiver>,
    next_id: u64,
    srtp: Option<(Protector, Unprotector)>,
    pub cname: String,
    /// The SSRC our RTCP comes from when no sender has one.
    rtcp_ssrc: u32,
    twcc: TwccRecorder,
    /// The next transport-wide sequence number.
    twcc_seq: u64,
    pub(crate) cc: Option<cc::Congestion>,
    next_report: Option<Instant>,
    /// (an instant, the Unix time then) for NTP timestamps.
    wall: Option<(Instant, Duration)>,
    rng: Box<dyn Random + Send>,
    pub counters: MediaCounters,
    /// SSRC → transceiver index, learned from mids and descriptions.
    routes: HashMap<u32, usize>,
    pub queued_rtp: usize,
    packetizers: HashMap<(usize, u8), Box<dyn Packetizer + Send>>,
    /// Header extension ids the receive path reads (one per BUNDLE group,
    /// RFC 8843 §9.1.4), found once per negotiation.
    ext: ReceiveExtensions,
    payloads: Payloads,
    nack_buf: Vec<tern_rtp::SeqNo>,
    /// Every outgoing RTP packet waits here for its turn.
    pub(crate) pacer: Pacer,
    /// Keyframe detection for what the pacer may discard.
    keyframes: HashMap<tern_rtp::Codec, Box<dyn tern_rtp::Depacketizer + Send>>,
}

fn random_token(rng: &mut dyn Random, n: usize) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| ABC[(rng.next_u32() as usize) % ABC.len()] as char)
        .collect()
}

impl MediaState {
    pub fn new(config: MediaConfig, mut rng: Box<dyn Random + Send>) -> Self {
        let cname = random_token(rng.as_mut(), 16);
        let rtcp_ssrc = rng.next_u32() | 1;
        MediaState {
            config,
            transceivers: Vec::new(),
            next_id: 0,
            srtp: None,
            cname,
            rtcp_ssrc,
            twcc: TwccRecorder::default(),
            twcc_seq: 1,
            cc: None,
            next_report: None,
            wall: None,
            rng,
            counters: MediaCounters::default(),
            routes: HashMap::new(),
            queued_rtp: 0,
            packetizers: HashMap::new(),
            ext: ReceiveExtensions::default(),
            payloads: Payloads::new(),
            nack_buf: Vec::new(),
            pacer: Pacer::default(),
            keyframes: HashMap::new(),
        }
    }

    fn new_ssrc(&mut self) -> u32 {
        loop {
            let s = self.rng.next_u32();
            let taken = s == 0
                || s == self.rtcp_ssrc
                || self.transceivers.iter().any(|t| {
                    t.sender.ssrc == s
                        || t.sender.rtx_ssrc == Some(s)
                        || t.streams.iter().any(|r| r.ssrc == s)
                });
            if !taken {
                return s;
            }
        }
    }

    /// A new transceiver (W3C `addTransceiver` / `addTrack`).
    pub fn add(
        &mut self,
        kind: MediaKind,
        init: crate::media::TransceiverInit,
        has_track: bool,
        from_add_track: bool,
    ) -> TransceiverId {
        let id = TransceiverId(self.next_id);
        self.next_id += 1;
        let ssrc = self.new_ssrc();
        let rtx = (kind == MediaKind::Video && self.config.rtx).then(|| self.new_ssrc());
        let first_seq = self.rng.next_u32() as u16 & 0x7fff;
        let track_id = init
            .track_id
            .unwrap_or_else(|| random_token(self.rng.as_mut(), 24));
        let sender =
            crate::media::send::RtpSender::new(ssrc, rtx, first_seq, self.config.send_history);
        let encodings = if init.send_encodings.is_empty() {
            vec![crate::media::RtpEncodingParameters::default()]
        } else {
            init.send_encodings
        };
        self.transceivers.push(Transceiver {
            id,
            kind,
            mid: None,
            proposed_mid: None,
            direction: init.direction,
            current_direction: None,
            stopped: false,
            from_add_track,
            codec_preferences: Vec::new(),
            stream_ids: init.stream_ids,
            track_id: track_id.clone(),
            has_track,
            negotiated: None,
            remote_stream_ids: Vec::new(),
            remote_track_id: String::new(),
            track_fired: false,
            sender,
            streams: Vec::new(),
            last_keyframe_request: None,
            encodings,
            last_parameters: None,
            parameters_returned: 0,
            detached: false,
            source_track_id: track_id,
        });
        self.apply_encodings(self.transceivers.len() - 1);
        id
    }

    pub fn index(&self, id: TransceiverId) -> Option<usize> {
        self.transceivers.iter().position(|t| t.id == id)
    }

    pub fn by_mid(&self, mid: &str) -> Option<usize> {
        self.transceivers
            .iter()
            .position(|t| t.mid.as_ref().is_some_and(|m| m.as_str() == mid))
    }

    /// The codecs a transceiver offers or accepts.
    pub fn prefs(&self, t: &Transceiver) -> Vec<RtpCodecParameters> {
        if !t.codec_preferences.is_empty() {
            return t.codec_preferences.clone();
        }
        match t.kind {
            MediaKind::Audio => self.config.audio_codecs.clone(),
            MediaKind::Video => self.config.video_codecs.clone(),
        }
    }

    /// Routes are rebuilt after each negotiation.
    pub fn reset_routes(&mut self) {
        self.routes.clear();
        for (i, t) in self.transceivers.iter().enumerate() {
            if let Some(n) = &t.negotiated {
                for (m, r) in &n.remote_ssrcs {
                    self.routes.insert(*m, i);
                    if let Some(r) = r {
                        self.routes.insert(*r, i);
                    }
                }
            }
        }
        self.packetizers.clear();
        let id = |k: ExtensionKind| {
            self.transceivers
                .iter()
                .find_map(|t| t.negotiated.as_ref()?.ext_id(k))
        };
        self.ext = ReceiveExtensions {
            mid: id(ExtensionKind::Mid),
            transport_cc: id(ExtensionKind::TransportSequenceNumber),
            rid: id(ExtensionKind::RtpStreamId),
        };
    }

    pub fn ntp(&mut self, now: Instant) -> NtpTime {
        // Without a wall clock from the driver: an arbitrary epoch (the
        // mapping only has to be consistent for LSR/DLSR round trips).
        let (at, unix) = *self
            .wall
            .get_or_insert((now, Duration::from_secs(1_700_000_000)));
        let d = if now >= at {
            unix + (now - at)
        } else {
            unix.saturating_sub(at - now)
        };
        NtpTime::from_unix(d)
    }

    pub fn set_wall_clock(&mut self, now: Instant, unix: Duration) {
        self.wall = Some((now, unix));
    }

    pub fn has_keys(&self) -> bool {
        self.srtp.is_some()
    }

    pub fn drop_keys(&mut self) {
        self.srtp = None;
    }

    /// The SRTP contexts from the DTLS exporter.
    pub fn set_keys(
        &mut self,
        profile: ProtectionProfile,
        material: &[u8],
        role: DtlsRole,
    ) -> Result<(), PeerError> {
        let keys = SrtpKeys::from_exporter(profile, material, role)
            .map_err(|e| PeerError::InvalidState(format!("SRTP keys: {e}")))?;
        let ctx = keys
            .contexts(SrtpConfig::default())
            .map_err(|e| PeerError::InvalidState(format!("SRTP contexts: {e}")))?;
        self.srtp = Some(ctx);
        Ok(())
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.srtp.as_ref()?;
        let nacks = self
            .transceivers
            .iter()
            .flat_map(|t| t.streams.iter())
            .filter_map(|s| s.nack.as_ref()?.poll_timeout());
        [
            self.next_report,
            self.twcc.poll_timeout(),
            self.cc_timeout(),
        ]
        .into_iter()
        .flatten()
        .chain(nacks)
        .min()
    }

    fn protect_rtcp(&mut self, mut buf: Vec<u8>) -> Option<Vec<u8>> {
        let (p, _) = self.srtp.as_mut()?;
        let len = buf.len();
        buf.resize(len + p.profile().rtcp_overhead(), 0);
        let n = p.protect_rtcp(&mut buf, len).ok()?;
        buf.truncate(n);
        self.counters.rtcp_sent += 1;
        Some(buf)
    }

    fn protect_rtp(&mut self, buf: &mut Vec<u8>, len: usize) -> bool {
        let Some((p, _)) = self.srtp.as_mut() else {
            return false;
        };
        buf.resize(len + p.profile().rtp_overhead(), 0);
        match p.protect_rtp(buf, len) {
            Ok(n) => {
                buf.truncate(n);
                true
            }
            Err(_) => false,
        }
    }

    /// Queues one RTP packet on transceiver `i` for the pacer (or
    /// discards it while the encoding is inactive); the packet is kept for
    /// retransmission.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        i: usize,
        p: &RtpPacketToSend<'_>,
    ) -> Result<(), PeerError> {
        let t = &self.transceivers[i];
        if !t.sends() {
            return Err(PeerError::InvalidState(format!(
                "{} does not send (direction {}, current {:?})",
                t.id,
                t.direction,
                t.current_direction.map(|d| d.to_string())
            )));
        }
        if t.detached {
            return Err(PeerError::InvalidState(format!(
                "{} has no track (replace_track(None)); attach one with replace_track(Some(..))",
                t.id
            )));
        }
        if self.srtp.is_none() {
            return Err(PeerError::InvalidState(
                "not connected yet (no SRTP keys)".into(),
            ));
        }
        let Some(neg) = t.negotiated.as_ref() else {
            return Err(PeerError::InvalidState(format!(
                "{} is not negotiated",
                t.id
            )));
        };
        let pt = match p.payload_type {
            Some(pt) if neg.codec(pt).is_some() => pt,
            Some(pt) => {
                return Err(PeerError::InvalidState(format!(
                    "payload type {pt} was not negotiated for {}",
                    t.id
                )))
            }
            None => neg.codecs[0].payload_type,
        };
        if !t.active() {
            self.transceivers[i]
                .sender
                .counters
                .packets_discarded_inactive += 1;
            return Ok(());
        }
        let ext = neg.send_extensions();
        // The transport-wide sequence number is written as the packet
        // leaves the pacer; a placeholder holds its place.
        let twcc = ext.transport_cc.map(|_| 0);
        let class = match t.kind {
            MediaKind::Audio => Class::Audio,
            MediaKind::Video => Class::Video,
        };
        let mid = t.mid.as_ref().map_or("", Mid::as_str).to_string();
        let overhead = self
            .srtp
            .as_ref()
            .map_or(0, |(p, _)| p.profile().rtp_overhead());
        let mut buf = vec![0u8; p.payload.len() + 64 + overhead];
        let t = &mut self.transceivers[i];
        let n = t
            .sender
            .write(
                now,
                pt,
                p.timestamp,
                p.marker,
                p.payload,
                ext,
                &mid,
                twcc,
                &mut buf,
            )
            .map_err(|e| PeerError::InvalidState(format!("RTP packet: {e}")))?;
        self.pacer.push(Queued {
            owner: i,
            class,
            buf,
            len: n,
            queued_at: now,
            probe: None,
        });
        self.ensure_report(now);
        Ok(())
    }

    /// Packetizes one frame with the codec of `pt` (the first negotiated
    /// one by default) and queues it for the pacer. A frame that would
    /// wait longer than [`MAX_PACER_DELAY`] behind what is already queued
    /// (the encoding's `max_bitrate` or the pacing rate is below what is
    /// written) is discarded whole, and for video so is every frame after
    /// it up to the next keyframe, which a `KeyframeRequest` event asks
    /// the application for: the peer never gets frames it cannot decode.
    pub fn write_frame(
        &mut self,
        now: Instant,
        i: usize,
        pt: Option<u8>,
        timestamp: u32,
        frame: &[u8],
        events: &mut std::collections::VecDeque<PeerEvent>,
    ) -> Result<(), PeerError> {
        let t = &self.transceivers[i];
        let Some(neg) = t.negotiated.as_ref().filter(|_| t.sends()) else {
            return Err(PeerError::InvalidState(format!("{} does not send", t.id)));
        };
        let codec = match pt {
            Some(pt) => neg.codec(pt),
            None => neg.codecs.first(),
        }
        .cloned()
        .ok_or_else(|| PeerError::InvalidState("no such negotiated codec".into()))?;
        let Some(c) = codec.codec() else {
            return Err(PeerError::Unsupported(format!(
                "tern has no packetizer for {}; send RTP with write_rtp",
                codec.mime_type
            )));
        };
        if t.detached {
            return Err(PeerError::InvalidState(format!(
                "{} has no track (replace_track(None)); attach one with replace_track(Some(..))",
                t.id
            )));
        }
        if !t.active() {
            let t = &mut self.transceivers[i];
            t.sender.counters.frames_discarded_inactive += 1;
            return Ok(());
        }
        let key = (i, codec.payload_type);
        let mut payloads = std::mem::take(&mut self.payloads);
        let pk = self
            .packetizers
            .entry(key)
            .or_insert_with(|| c.packetizer());
        let r = pk.packetize(frame, FRAME_MTU, &mut payloads);
        if let Err(e) = r {
            self.payloads = payloads;
            return Err(PeerError::InvalidState(format!(
                "packetizing {}: {e}",
                codec.mime_type
            )));
        }
        let video = c.is_video();
        if self.discard_frame(now, i, c, &payloads, events) {
            self.payloads = payloads;
            return Ok(());
        }
        let mut result = Ok(());
        for (payload, marker) in payloads.iter() {
            let p = RtpPacketToSend {
                payload_type: Some(codec.payload_type),
                timestamp,
                marker: video && marker,
                payload,
            };
            if let Err(e) = self.write_rtp(now, i, &p) {
                result = Err(e);
                break;
            }
        }
        self.payloads = payloads;
        self.transceivers[i].sender.counters.frames_sent += 1;
        result
    }

    /// Whether a packetized frame is discarded for the pacer's backlog
    /// (see [`Self::write_frame`]).
    fn discard_frame(
        &mut self,
        now: Instant,
        i: usize,
        c: tern_rtp::Codec,
        payloads: &Payloads,
        events: &mut std::collections::VecDeque<PeerEvent>,
    ) -> bool {
        let late = self.pacer.delay(i, now) > MAX_PACER_DELAY;
        let t = &mut self.transceivers[i];
        if !c.is_video() {
            if late {
                t.sender.counters.frames_discarded_on_send += 1;
            }
            return late;
        }
        let key = payloads.iter().next().is_some_and(|(p, _)| {
            self.keyframes
                .entry(c)
                .or_insert_with(|| c.depacketizer())
                .is_keyframe(p)
        });
        if late {
            t.sender.counters.frames_discarded_on_send += 1;
            if !t.sender.awaiting_keyframe {
                t.sender.awaiting_keyframe = true;
                events.push_back(PeerEvent::KeyframeRequest {
                    transceiver: t.id,
                    kind: crate::media::KeyframeRequestKind::SendBacklog,
                });
            }
            return true;
        }
        if t.sender.awaiting_keyframe {
            if key {
                t.sender.awaiting_keyframe = false;
            } else {
                t.sender.counters.frames_discarded_on_send += 1;
                return true;
            }
        }
        false
    }

    /// Sends what the pacer lets go at `now`: the transport-wide sequence
    /// number is written, then SRTP; the datagrams go to `out`. A probe
    /// cluster the controller asks for starts here, and padding fills it
    /// where no media waits.
    pub fn release(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        if self.srtp.is_none() {
            return;
        }
        self.cc_poll_probe(now);
        loop {
            let (owner, mut buf, len, probe, padding) = if let Some(q) = self.pacer.pop(now) {
                if !self.transceivers[q.owner].sends() {
                    // Stopped or turned around while it waited.
                    continue;
                }
                (q.owner, q.buf, q.len, q.probe, false)
            } else if let Some(id) = self.pacer.padding_due(now) {
                match self.padding_packet() {
                    Some((owner, buf, len)) => (owner, buf, len, Some(id), true),
                    None => {
                        // Nothing can carry padding: the probe is off.
                        self.pacer.abandon_probe();
                        break;
                    }
                }
            } else {
                break;
            };
            let twcc = self.transceivers[owner]
                .negotiated
                .as_ref()
                .and_then(|n| n.send_extensions().transport_cc);
            let mut seq = None;
            if let Some(id) = twcc {
                if let Ok(mut pkt) = RtpPacket::new_checked(&mut buf[..len]) {
                    if let Some(v @ [_, _]) = pkt.extension_value_mut(id) {
                        let s = self.next_twcc_seq();
                        v.copy_from_slice(&(s as u16).to_be_bytes());
                        seq = Some(s);
                    }
                }
            }
            if !self.protect_rtp(&mut buf, len) {
                if padding {
                    self.pacer.abandon_probe();
                    break;
                }
                continue;
            }
            {
                if padding {
                    self.pacer.charge_padding(now, buf.len());
                }
                if let Some(s) = seq {
                    self.cc_on_sent(now, s, buf.len(), probe);
                }
                out.push(buf);
            }
        }
    }

    /// When the pacer next lets a packet go.
    pub fn pacer_timeout(&self, now: Instant) -> Option<Instant> {
        self.srtp.as_ref()?;
        self.pacer.poll_timeout(now)
    }

    /// Applies an encoding's `max_bitrate` to the pacer.
    pub fn apply_encodings(&mut self, i: usize) {
        let cap = self.transceivers[i]
            .encodings
            .first()
            .and_then(|e| e.max_bitrate);
        self.pacer.set_sender_cap(i, cap);
    }

    fn ensure_report(&mut self, now: Instant) {
        if self.next_report.is_none() {
            self.next_report = Some(now + Duration::from_millis(200));
        }
    }

    /// A protected RTP or RTCP datagram from the peer. Events go to
    /// `events`; datagrams to send back (retransmissions, feedback) to
    /// `out`.
    pub fn receive(
        &mut self,
        now: Instant,
        mut data: Vec<u8>,
        events: &mut std::collections::VecDeque<PeerEvent>,
        out: &mut Vec<Vec<u8>>,
    ) {
        let Some((_, un)) = self.srtp.as_mut() else {
            self.counters.before_keys += 1;
            return;
        };
        if tern_srtp::is_rtcp(&data) {
            match un.unprotect_rtcp(&mut data) {
                Ok(n) => {
                    data.truncate(n);
                    self.receive_rtcp(now, &data, events, out);
                }
                Err(_) => self.counters.srtp_unprotect_failed += 1,
            }
        } else {
            match un.unprotect_rtp(&mut data) {
                Ok(n) => {
                    data.truncate(n);
                    self.receive_rtp(now, data, events, out);
                }
                Err(_) => self.counters.srtp_unprotect_failed += 1,
            }
        }
        self.ensure_report(now);
    }

    fn route(&mut self, ssrc: u32, mid: Option<&str>, pt: u8) -> Option<usize> {
        if let Some(i) = mid.and_then(|m| self.by_mid(m)) {
            self.routes.insert(ssrc, i);
            return Some(i);
        }
        if let Some(&i) = self.routes.get(&ssrc) {
            return Some(i);
        }
        // RFC 8843 §9.2: a payload type only one receiving section uses.
        let mut found = self.transceivers.iter().enumerate().filter(|(_, t)| {
            t.receives()
                && t.negotiated
                    .as_ref()
                    .is_some_and(|n| n.codec(pt).is_some() || n.apt(pt).is_some())
        });
        let (i, _) = found.next()?;
        if found.next().is_some() {
            return None;
        }
        self.routes.insert(ssrc, i);
        Some(i)
    }

    fn receive_rtp(
        &mut self,
        now: Instant,
        data: Vec<u8>,
        events: &mut std::collections::VecDeque<PeerEvent>,
        out: &mut Vec<Vec<u8>>,
    ) {
        let Ok(pkt) = RtpPacket::new_checked(&data[..]) else {
            self.counters.srtp_unprotect_failed += 1;
            return;
        };
        let ssrc = pkt.ssrc().0;
        let mut pt = pkt.payload_type().get();
        let mut seq = pkt.sequence_number().0;
        let ts = pkt.timestamp().0;
        let marker = pkt.marker();
        let header_len = pkt.header_len();
        let payload_len = pkt.payload().len();
        if let Some(id) = self.ext.transport_cc {
            if let Some(&[a, b]) = pkt.extension_value(id) {
                self.twcc.record(now, u16::from_be_bytes([a, b]));
            }
        }
        let mid_id = self.ext.mid;
        let mid = mid_id
            .and_then(|id| pkt.extension_value(id))
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string);
        let rid = self
            .ext
            .rid
            .and_then(|id| pkt.extension_value(id))
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string);
        let Some(i) = self.route(ssrc, mid.as_deref(), pt) else {
            self.counters.rtp_unroutable += 1;
            return;
        };
        let t = &mut self.transceivers[i];
        if !t.receives() {
            self.counters.rtp_not_receiving += 1;
            return;
        }
        // What the packet needs of the negotiation, read without cloning it
        // (this runs per packet).
        let Some((apt, clock_of)) = t.negotiated.as_ref().map(|n| {
            let apt = n.apt(pt);
            let clock = n.codec(apt.unwrap_or(pt)).map(|c| c.clock_rate);
            (apt, clock)
        }) else {
            self.counters.rtp_not_receiving += 1;
            return;
        };
        let mut media_ssrc = ssrc;
        let mut payload_start = header_len;
        let mut retransmission = false;
        if let Some(apt) = apt {
            let Ok((osn, _)) = rtx_original(pkt.payload()) else {
                // An empty RTX packet: padding for bandwidth probing.
                self.counters.rtp_padding_only += 1;
                return;
            };
            media_ssrc = match t.rtx_original(ssrc) {
                Some(s) => s,
                None if t.streams.len() == 1 => {
                    let s = t.streams[0].ssrc;
                    t.streams[0].rtx_ssrc = Some(ssrc);
                    s
                }
                None => {
                    self.counters.rtp_unroutable += 1;
                    return;
                }
            };
            seq = osn.0;
            pt = apt;
            payload_start += 2;
            retransmission = true;
        }
        let Some(clock) = clock_of else {
            self.counters.rtp_unknown_payload_type += 1;
            return;
        };
        let payload_end = header_len + payload_len;
        let stream = t.stream_mut(media_ssrc, clock);
        if rid.is_some() {
            stream.rid.clone_from(&rid);
        }
        if !stream.on_packet(
            now,
            seq,
            ts,
            payload_end - payload_start,
            header_len,
            retransmission,
        ) {
            self.counters.rtp_duplicates += 1;
            return;
        }
        let id = t.id;
        let fire = !t.track_fired;
        if fire {
            t.track_fired = true;
            events.push_back(track_event(t));
        }
        // NACKs for a gap go out at once (the generator waits for reorder).
        self.send_nacks(now, Some(i), out);
        if payload_end <= payload_start {
            self.counters.rtp_padding_only += 1;
            return;
        }
        if self.queued_rtp >= MAX_QUEUED_RTP {
            self.counters.rtp_queue_full += 1;
            return;
        }
        self.queued_rtp += 1;
        let payload = Bytes::from(data).slice(payload_start..payload_end);
        events.push_back(PeerEvent::Rtp {
            transceiver: id,
            packet: RtpPacketReceived {
                ssrc: media_ssrc,
                payload_type: pt,
                sequence_number: seq,
                timestamp: ts,
                marker,
                rid,
                retransmission,
                arrival: now,
                payload,
            },
        });
    }

    fn sender_index(&self, ssrc: u32) -> Option<usize> {
        self.transceivers
            .iter()
            .position(|t| t.sender.ssrc == ssrc || t.sender.rtx_ssrc == Some(ssrc))
    }

    fn our_rtcp_ssrc(&self) -> u32 {
        self.transceivers
            .iter()
            .find(|t| t.sends())
            .map_or(self.rtcp_ssrc, |t| t.sender.ssrc)
    }
}

/// The W3C `track` event for what transceiver `t` receives.
pub(crate) fn track_event(t: &Transceiver) -> PeerEvent {
    PeerEvent::Track {
        transceiver: t.id,
        mid: t.mid.clone().unwrap_or_else(|| Mid::new("")),
        kind: t.kind,
        stream_ids: t.remote_stream_ids.clone(),
        track_id: t.remote_track_id.clone(),
    }
}
