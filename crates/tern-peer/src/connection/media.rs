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
use tern_rtp::rtcp::{
    rtt_from_report, sdes_item, CompoundIter, CompoundWriter, NtpTime, ReportBlock, RtcpPacket,
    SdesChunk, SdesItem,
};
use tern_rtp::rtp::rtx_original;
use tern_rtp::{ExtensionKind, Packetizer, RtpPacket};
use tern_srtp::{DtlsRole, ProtectionProfile, Protector, SrtpConfig, SrtpKeys, Unprotector};

use super::PeerConnection;
use crate::error::PeerError;
use crate::jsep::Mid;
use crate::media::transceiver::Transceiver;
use crate::media::twcc::TwccRecorder;
use crate::media::{
    KeyframeRequestKind, MediaConfig, MediaKind, RtpCodecParameters, RtpPacketReceived,
    RtpPacketToSend, RtpTransceiverDirection, TransceiverId,
};
use crate::state::PeerEvent;

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

pub(crate) struct MediaState {
    pub config: MediaConfig,
    pub transceivers: Vec<Transceiver>,
    next_id: u64,
    srtp: Option<(Protector, Unprotector)>,
    pub cname: String,
    /// The SSRC our RTCP comes from when no sender has one.
    rtcp_ssrc: u32,
    twcc: TwccRecorder,
    twcc_seq: u16,
    next_report: Option<Instant>,
    /// (an instant, the Unix time then) for NTP timestamps.
    wall: Option<(Instant, Duration)>,
    rng: Box<dyn Random + Send>,
    pub counters: MediaCounters,
    /// SSRC → transceiver index, learned from mids and descriptions.
    routes: HashMap<u32, usize>,
    pub queued_rtp: usize,
    packetizers: HashMap<(usize, u8), Box<dyn Packetizer + Send>>,
    payloads: Payloads,
    nack_buf: Vec<tern_rtp::SeqNo>,
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
            next_report: None,
            wall: None,
            rng,
            counters: MediaCounters::default(),
            routes: HashMap::new(),
            queued_rtp: 0,
            packetizers: HashMap::new(),
            payloads: Payloads::new(),
            nack_buf: Vec::new(),
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
            track_id,
            has_track,
            negotiated: None,
            remote_stream_ids: Vec::new(),
            remote_track_id: String::new(),
            track_fired: false,
            sender,
            streams: Vec::new(),
            last_keyframe_request: None,
        });
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
        [self.next_report, self.twcc.poll_timeout()]
            .into_iter()
            .flatten()
            .chain(nacks)
            .min()
    }

    /// The mid header extension's id (one per BUNDLE group).
    fn mid_ext(&self) -> Option<u8> {
        self.transceivers
            .iter()
            .filter_map(|t| t.negotiated.as_ref()?.ext_id(ExtensionKind::Mid))
            .next()
    }

    fn twcc_ext(&self) -> Option<u8> {
        self.transceivers
            .iter()
            .filter_map(|t| {
                t.negotiated
                    .as_ref()?
                    .ext_id(ExtensionKind::TransportSequenceNumber)
            })
            .next()
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

    /// Sends one RTP packet on transceiver `i`; the protected datagram.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        i: usize,
        p: &RtpPacketToSend<'_>,
    ) -> Result<Vec<u8>, PeerError> {
        let t = &self.transceivers[i];
        if !t.sends() {
            return Err(PeerError::InvalidState(format!(
                "{} does not send (direction {}, current {:?})",
                t.id,
                t.direction,
                t.current_direction.map(|d| d.to_string())
            )));
        }
        if self.srtp.is_none() {
            return Err(PeerError::InvalidState(
                "not connected yet (no SRTP keys)".into(),
            ));
        }
        let neg = t.negotiated.as_ref().expect("sends() checked it");
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
        let ext = neg.send_extensions();
        let twcc = ext.transport_cc.map(|_| {
            let s = self.twcc_seq;
            self.twcc_seq = s.wrapping_add(1);
            s
        });
        let mid = t.mid.as_ref().map_or("", Mid::as_str).to_string();
        let mut buf = vec![0u8; p.payload.len() + 64];
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
        if !self.protect_rtp(&mut buf, n) {
            return Err(PeerError::InvalidState("SRTP refused the packet".into()));
        }
        self.ensure_report(now);
        Ok(buf)
    }

    /// Packetizes one frame with the codec of `pt` (the first negotiated
    /// one by default) and sends it; the datagrams.
    pub fn write_frame(
        &mut self,
        now: Instant,
        i: usize,
        pt: Option<u8>,
        timestamp: u32,
        frame: &[u8],
    ) -> Result<Vec<Vec<u8>>, PeerError> {
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
        let mut out = Vec::with_capacity(payloads.len());
        let mut result = Ok(());
        for (payload, marker) in payloads.iter() {
            let p = RtpPacketToSend {
                payload_type: Some(codec.payload_type),
                timestamp,
                marker: video && marker,
                payload,
            };
            match self.write_rtp(now, i, &p) {
                Ok(d) => out.push(d),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.payloads = payloads;
        self.transceivers[i].sender.counters.frames_sent += 1;
        result.map(|()| out)
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
        if let Some(id) = self.twcc_ext() {
            if let Some(&[a, b]) = pkt.extension_value(id) {
                self.twcc.record(now, u16::from_be_bytes([a, b]));
            }
        }
        let mid_id = self.mid_ext();
        let mid = mid_id
            .and_then(|id| pkt.extension_value(id))
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string);
        let rid = self
            .transceivers
            .iter()
            .find_map(|t| t.negotiated.as_ref()?.ext_id(ExtensionKind::RtpStreamId))
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
        let Some(neg) = t.negotiated.clone() else {
            self.counters.rtp_not_receiving += 1;
            return;
        };
        let mut media_ssrc = ssrc;
        let mut payload_start = header_len;
        let mut retransmission = false;
        if let Some(apt) = neg.apt(pt) {
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
        let Some(codec) = neg.codec(pt) else {
            self.counters.rtp_unknown_payload_type += 1;
            return;
        };
        let clock = codec.clock_rate;
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

    fn receive_rtcp(
        &mut self,
        now: Instant,
        data: &[u8],
        events: &mut std::collections::VecDeque<PeerEvent>,
        out: &mut Vec<Vec<u8>>,
    ) {
        self.counters.rtcp_received += 1;
        let arrival = self.ntp(now);
        let mut rtt_seen = None;
        for p in CompoundIter::new(data).allow_padding_anywhere() {
            let Ok(p) = p else {
                self.counters.rtcp_malformed += 1;
                break;
            };
            let mut blocks: Vec<ReportBlock> = Vec::new();
            match p {
                RtcpPacket::SenderReport(sr) => {
                    let info = sr.sender_info();
                    let ssrc = sr.ssrc();
                    for t in &mut self.transceivers {
                        if let Some(s) = t.streams.iter_mut().find(|s| s.ssrc == ssrc) {
                            s.stats.on_sender_report(now, info.ntp.0);
                            s.remote.packets_sent = info.packet_count;
                            s.remote.bytes_sent = info.octet_count;
                            s.remote.remote_ntp = info.ntp.0;
                            s.remote.remote_rtp_timestamp = info.rtp_timestamp;
                            s.remote.reports_sent += 1;
                        }
                    }
                    blocks.extend(sr.report_blocks());
                }
                RtcpPacket::ReceiverReport(rr) => blocks.extend(rr.report_blocks()),
                RtcpPacket::Nack(k) => {
                    let Some(i) = self.sender_index(k.media_ssrc()) else {
                        continue;
                    };
                    self.transceivers[i].sender.counters.nack_count += 1;
                    // At most a window's worth, however many a NACK names.
                    let lost: Vec<u16> = k.lost().take(1024).collect();
                    self.retransmit(now, i, &lost, out);
                }
                RtcpPacket::Pli(p) => {
                    if let Some(i) = self.sender_index(p.media_ssrc()) {
                        let t = &mut self.transceivers[i];
                        t.sender.counters.pli_count += 1;
                        events.push_back(PeerEvent::KeyframeRequest {
                            transceiver: t.id,
                            kind: KeyframeRequestKind::Pli,
                        });
                    }
                }
                RtcpPacket::Fir(f) => {
                    let ours: Vec<usize> = f
                        .entries()
                        .filter_map(|e| self.sender_index(e.ssrc))
                        .collect();
                    for i in ours {
                        let t = &mut self.transceivers[i];
                        t.sender.counters.fir_count += 1;
                        events.push_back(PeerEvent::KeyframeRequest {
                            transceiver: t.id,
                            kind: KeyframeRequestKind::Fir,
                        });
                    }
                }
                RtcpPacket::TransportFeedback(_) => self.counters.twcc_feedback_received += 1,
                RtcpPacket::Remb(r) => {
                    self.counters.remb_received += 1;
                    self.counters.remb_bitrate_bps = r.bitrate_bps();
                }
                _ => {}
            }
            for b in blocks {
                let Some(i) = self
                    .transceivers
                    .iter()
                    .position(|t| t.sender.ssrc == b.ssrc)
                else {
                    continue;
                };
                let clock = self.transceivers[i]
                    .negotiated
                    .as_ref()
                    .and_then(|n| n.codecs.first())
                    .map_or(90_000, |c| c.clock_rate);
                let r = &mut self.transceivers[i].sender.remote;
                r.packets_lost = i64::from(b.cumulative_lost);
                r.fraction_lost = f64::from(b.fraction_lost) / 256.0;
                r.jitter = f64::from(b.jitter) / f64::from(clock.max(1));
                r.reports_received += 1;
                if let Some(rtt) = rtt_from_report(arrival, b.last_sr, b.delay_since_last_sr) {
                    r.round_trip_time = Some(rtt);
                    r.total_round_trip_time += rtt;
                    r.round_trip_time_measurements += 1;
                    rtt_seen = Some(rtt);
                }
            }
        }
        if let Some(rtt) = rtt_seen {
            for t in &mut self.transceivers {
                t.sender.set_rtt(rtt);
                for s in &mut t.streams {
                    s.set_rtt(rtt);
                }
            }
        }
    }

    fn retransmit(&mut self, now: Instant, i: usize, lost: &[u16], out: &mut Vec<Vec<u8>>) {
        for &seq in lost {
            let t = &mut self.transceivers[i];
            let Some(neg) = t.negotiated.as_ref() else {
                return;
            };
            // The original's payload type decides the RTX type (RFC 4588
            // §8.1: one RTX payload type per original one).
            let rtx_pt = t
                .sender
                .stored_payload_type(now, seq)
                .and_then(|pt| neg.rtx_for(pt));
            let mut buf = vec![0u8; 1500];
            let Some(n) = t.sender.resend(now, seq, rtx_pt, &mut buf) else {
                t.sender.counters.nack_unanswered += 1;
                continue;
            };
            if self.protect_rtp(&mut buf, n) {
                out.push(buf);
            }
        }
    }

    /// NACKs (and PLIs for what NACK gave up on) due now, for one
    /// transceiver or all.
    fn send_nacks(&mut self, now: Instant, only: Option<usize>, out: &mut Vec<Vec<u8>>) {
        let sender = self.our_rtcp_ssrc();
        for i in 0..self.transceivers.len() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let rsize = self.transceivers[i]
                .negotiated
                .as_ref()
                .is_some_and(|n| n.rsize);
            let pli_ok = self.transceivers[i]
                .negotiated
                .as_ref()
                .is_some_and(|n| n.feedback("nack", Some("pli")));
            for s in 0..self.transceivers[i].streams.len() {
                let mut lost = std::mem::take(&mut self.nack_buf);
                lost.clear();
                let stream = &mut self.transceivers[i].streams[s];
                let Some(gen) = stream.nack.as_mut() else {
                    self.nack_buf = lost;
                    continue;
                };
                gen.poll_nack_into(now, &mut lost);
                let wants_key = gen.poll_keyframe_request();
                let media = stream.ssrc;
                if !lost.is_empty() {
                    stream.counters.nack_count += 1;
                    let mut buf = vec![0u8; 1200];
                    let mut w = CompoundWriter::new(&mut buf);
                    let ok = (rsize || self.prefix_rr(&mut w, sender).is_ok())
                        && w.nack(
                            sender,
                            media,
                            &lost.iter().map(|s| s.0).collect::<Vec<u16>>(),
                        )
                        .is_ok();
                    let n = w.len();
                    if ok {
                        buf.truncate(n);
                        if let Some(d) = self.protect_rtcp(buf) {
                            out.push(d);
                        }
                    }
                }
                self.nack_buf = lost;
                if wants_key && pli_ok {
                    self.send_pli(now, i, out);
                }
            }
        }
    }

    fn prefix_rr(
        &self,
        w: &mut CompoundWriter<'_>,
        sender: u32,
    ) -> Result<(), tern_rtp::rtcp::RtcpError> {
        w.receiver_report(sender, &[])?;
        let cname = [SdesItem {
            kind: sdes_item::CNAME,
            value: self.cname.as_bytes(),
        }];
        w.sdes(&[SdesChunk {
            ssrc: sender,
            items: &cname,
        }])?;
        Ok(())
    }

    /// A PLI for each stream transceiver `i` receives, rate-limited;
    /// false when the limit folded it into an earlier one.
    pub fn send_pli(&mut self, now: Instant, i: usize, out: &mut Vec<Vec<u8>>) -> bool {
        let t = &self.transceivers[i];
        if t.last_keyframe_request
            .is_some_and(|at| now.saturating_duration_since(at) < KEYFRAME_REQUEST_INTERVAL)
        {
            self.counters.keyframe_requests_limited += 1;
            return false;
        }
        let rsize = t.negotiated.as_ref().is_some_and(|n| n.rsize);
        let sender = self.our_rtcp_ssrc();
        let medias: Vec<u32> = t.streams.iter().map(|s| s.ssrc).collect();
        for media in medias {
            let mut buf = vec![0u8; 1200];
            let mut w = CompoundWriter::new(&mut buf);
            let ok =
                (rsize || self.prefix_rr(&mut w, sender).is_ok()) && w.pli(sender, media).is_ok();
            let n = w.len();
            if ok {
                buf.truncate(n);
                if let Some(d) = self.protect_rtcp(buf) {
                    out.push(d);
                }
            }
            if let Some(s) = self.transceivers[i]
                .streams
                .iter_mut()
                .find(|s| s.ssrc == media)
            {
                s.counters.pli_count += 1;
            }
        }
        self.transceivers[i].last_keyframe_request = Some(now);
        true
    }

    /// What is due at `now`: reports, NACK retries, transport feedback.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        if self.srtp.is_none() {
            return;
        }
        self.send_nacks(now, None, out);
        let sender = self.our_rtcp_ssrc();
        let media = self
            .transceivers
            .iter()
            .flat_map(|t| t.streams.first())
            .map(|s| s.ssrc)
            .next()
            .unwrap_or(0);
        for fb in self.twcc.poll_feedback(now, sender, media) {
            self.counters.twcc_feedback_sent += 1;
            if let Some(d) = self.protect_rtcp(fb) {
                out.push(d);
            }
        }
        if self.next_report.is_some_and(|t| t <= now) {
            self.send_reports(now, out);
            let jitter = 500 + u64::from(self.rng.next_u32() % 1000);
            self.next_report = Some(now + REPORT_INTERVAL * jitter as u32 / 1000);
        }
    }

    /// One compound RTCP packet: an SR per sending stream (the first with
    /// the reception reports) or an RR, and SDES CNAME (RFC 3550 §6.1).
    fn send_reports(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        let ntp = self.ntp(now);
        let mut blocks: Vec<ReportBlock> = Vec::new();
        for t in &mut self.transceivers {
            for s in &mut t.streams {
                if let Some(r) = s.stats.report(now) {
                    if blocks.len() < 31 {
                        blocks.push(ReportBlock {
                            ssrc: r.ssrc.0,
                            fraction_lost: r.fraction_lost,
                            cumulative_lost: r.cumulative_lost,
                            extended_highest_seq: r.extended_highest_seq,
                            jitter: r.jitter,
                            last_sr: r.last_sr,
                            delay_since_last_sr: r.delay_since_last_sr,
                        });
                    }
                }
            }
        }
        let senders: Vec<(u32, tern_rtp::rtcp::SenderInfo)> = self
            .transceivers
            .iter()
            .filter(|t| t.sends() && t.sender.counters.packets_sent > 0)
            .map(|t| {
                let clock = t
                    .negotiated
                    .as_ref()
                    .and_then(|n| n.codecs.first())
                    .map_or(90_000, |c| c.clock_rate);
                (t.sender.ssrc, t.sender.sender_info(ntp, now, clock))
            })
            .collect();
        if senders.is_empty() && blocks.is_empty() {
            return;
        }
        let mut buf = vec![0u8; 1200];
        let mut w = CompoundWriter::new(&mut buf);
        let mut ok = true;
        let mut ssrcs = Vec::new();
        if senders.is_empty() {
            ok &= w.receiver_report(self.rtcp_ssrc, &blocks).is_ok();
            ssrcs.push(self.rtcp_ssrc);
        }
        for (k, (ssrc, info)) in senders.iter().enumerate() {
            let b: &[ReportBlock] = if k == 0 { &blocks } else { &[] };
            ok &= w.sender_report(*ssrc, info, b).is_ok();
            ssrcs.push(*ssrc);
        }
        let cname = [SdesItem {
            kind: sdes_item::CNAME,
            value: self.cname.as_bytes(),
        }];
        let chunks: Vec<SdesChunk<'_>> = ssrcs
            .iter()
            .take(31)
            .map(|s| SdesChunk {
                ssrc: *s,
                items: &cname,
            })
            .collect();
        ok &= w.sdes(&chunks).is_ok();
        let n = w.len();
        if !ok {
            return;
        }
        buf.truncate(n);
        for t in &mut self.transceivers {
            t.sender.sent_since_report = false;
        }
        if let Some(d) = self.protect_rtcp(buf) {
            out.push(d);
        }
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
    /// `sender.replaceTrack`/`addTrack`'s effect: whether a local track is
    /// attached (without one nothing is sent and the section's msid is
    /// absent).
    pub fn set_track(&mut self, present: bool) {
        self.pc.media.transceivers[self.index].has_track = present;
    }
    /// Sends one RTP packet (`write_rtp`): the SSRC, sequence number, mid
    /// and transport-wide sequence number are filled in; the packet is kept
    /// for retransmission.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        packet: &RtpPacketToSend<'_>,
    ) -> Result<(), PeerError> {
        let d = self.pc.media.write_rtp(now, self.index, packet)?;
        self.pc.transport.send_datagram(d);
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
        let r = self
            .pc
            .media
            .write_frame(now, self.index, payload_type, timestamp, frame);
        let ds = r?;
        for d in ds {
            self.pc.transport.send_datagram(d);
        }
        self.pc.pump(now);
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
