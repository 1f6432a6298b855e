//! The RTCP side of media: what comes in (reports and their round-trip
//! time, NACKs answered from the send history, PLI/FIR, transport-wide
//! feedback and REMB counted) and what goes out (SR/RR with SDES, NACKs,
//! PLIs, transport-wide feedback).

use std::time::Instant;

use tern_rtp::rtcp::{
    rtt_from_report, sdes_item, CompoundIter, CompoundWriter, ReportBlock, RtcpPacket, SdesChunk,
    SdesItem,
};

use super::{MediaState, KEYFRAME_REQUEST_INTERVAL, REPORT_INTERVAL};
use crate::media::pacer::{Class, Queued};
use crate::media::KeyframeRequestKind;
use crate::state::PeerEvent;

impl MediaState {
    pub(super) fn receive_rtcp(
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
                RtcpPacket::TransportFeedback(fb) => {
                    self.counters.twcc_feedback_received += 1;
                    self.cc_on_feedback(now, &fb, events);
                }
                RtcpPacket::Remb(r) => {
                    self.counters.remb_received += 1;
                    self.counters.remb_bitrate_bps = r.bitrate_bps();
                    self.cc_on_remb(now, r.bitrate_bps(), events);
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
            self.cc_on_rtt(now, rtt);
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
            self.pacer.push(Queued {
                owner: i,
                class: Class::Retransmission,
                buf,
                len: n,
                queued_at: now,
                probe: None,
            });
        }
        self.release(now, out);
    }

    /// NACKs (and PLIs for what NACK gave up on) due now, for one
    /// transceiver or all.
    pub(super) fn send_nacks(&mut self, now: Instant, only: Option<usize>, out: &mut Vec<Vec<u8>>) {
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
