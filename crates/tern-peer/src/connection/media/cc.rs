//! Send-side bandwidth estimation on the connection: every RTP packet
//! that carries a transport-wide sequence number is recorded as it leaves
//! the pacer, the peer's transport-wide feedback is matched to it and
//! handed to the congestion controller (tern-cc's GCC), whose estimate
//! sets the pacer's rate and goes to the application as a
//! `BandwidthEstimate` event; probe clusters are sent by the pacer, with
//! padding-only packets where no media waits.

use std::time::{Duration, Instant};

use tern_cc::{Bitrate, CongestionController, Gcc, GccConfig, PacketResult, SentPacket};
use tern_rtp::rtcp::TransportFeedback;

use super::MediaState;
use crate::jsep::Mid;
use crate::state::PeerEvent;

/// Padding bytes per probe packet (RFC 3550 allows at most 255).
const PADDING: u8 = 255;
/// The estimate is reported when it moved this much, or after
/// [`EVENT_INTERVAL`] when it moved at all.
const EVENT_CHANGE: f64 = 0.05;
const EVENT_INTERVAL: Duration = Duration::from_secs(1);

/// How the connection estimates the bandwidth it may send at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandwidthEstimation {
    /// Where the estimate starts (libwebrtc: 300 kbit/s), bits per second.
    pub start_bitrate: u64,
    /// It never goes below this.
    pub min_bitrate: u64,
    /// Nor above this.
    pub max_bitrate: u64,
    /// Probe the path (at the start, after drops, every few seconds at
    /// steady state, and on demand).
    pub probing: bool,
}

impl Default for BandwidthEstimation {
    fn default() -> Self {
        BandwidthEstimation {
            start_bitrate: 300_000,
            min_bitrate: 30_000,
            max_bitrate: 10_000_000,
            probing: true,
        }
    }
}

/// `getStats()`'s view of the estimate (W3C `availableOutgoingBitrate`
/// and the controller's inner state).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandwidthStats {
    /// `availableOutgoingBitrate`: the target, bits per second.
    pub available_outgoing_bitrate: u64,
    /// The delay-based rate.
    pub delay_based_bitrate: u64,
    /// The loss-based limit, if loss set one.
    pub loss_based_bitrate: Option<u64>,
    /// What the peer acknowledged receiving.
    pub acknowledged_bitrate: Option<u64>,
    /// The last loss fraction the peer's feedback showed.
    pub loss_fraction: f64,
    /// Whether the senders use much less than the estimate.
    pub application_limited: bool,
    /// Overuse signals of the delay detector.
    pub overuses: u64,
    /// Probe clusters sent and measured.
    pub probes_sent: u64,
    /// Probe clusters that gave an estimate.
    pub probes_succeeded: u64,
    /// Feedback entries for packets never sent (or reported twice).
    pub unknown_feedback: u64,
}

/// The congestion controller with its send history.
#[derive(Debug)]
pub(crate) struct Congestion {
    gcc: Gcc,
    history: tern_cc::SendHistory,
    results: Vec<PacketResult>,
    last_event: Option<(Instant, u64)>,
}

impl Congestion {
    pub fn new(cfg: BandwidthEstimation) -> Self {
        Congestion {
            gcc: Gcc::new(GccConfig {
                start: Bitrate(cfg.start_bitrate),
                min: Bitrate(cfg.min_bitrate),
                max: Bitrate(cfg.max_bitrate.max(cfg.min_bitrate)),
                probing: cfg.probing,
                ..GccConfig::default()
            }),
            history: tern_cc::SendHistory::new(),
            results: Vec::new(),
            last_event: None,
        }
    }
}

impl MediaState {
    /// The transport-wide sequence number the next packet gets.
    pub(super) fn next_twcc_seq(&mut self) -> u64 {
        let s = self.twcc_seq;
        self.twcc_seq += 1;
        s
    }

    /// A packet with transport-wide sequence number `seq` left.
    pub(super) fn cc_on_sent(&mut self, now: Instant, seq: u64, size: usize, probe: Option<u32>) {
        if self.cc.is_none() {
            let Some(cfg) = self.config.congestion_control else {
                return;
            };
            self.cc = Some(Congestion::new(cfg));
        }
        let Some(c) = self.cc.as_mut() else { return };
        let p = SentPacket {
            seq,
            size,
            sent_at: now,
            probe_cluster: probe,
        };
        c.history.on_sent(p);
        c.gcc.on_packet_sent(now, p);
    }

    /// The peer's transport-wide feedback.
    pub(super) fn cc_on_feedback(
        &mut self,
        now: Instant,
        fb: &TransportFeedback<&[u8]>,
        events: &mut std::collections::VecDeque<PeerEvent>,
    ) {
        let Some(c) = self.cc.as_mut() else { return };
        let mut results = std::mem::take(&mut c.results);
        results.clear();
        c.history.on_feedback(
            fb.packets().map(|(seq, a)| (seq, a.map(|a| a.time_us))),
            &mut results,
        );
        c.gcc.on_feedback(now, &results);
        c.results = results;
        self.cc_update(now, events);
    }

    pub(super) fn cc_on_rtt(&mut self, now: Instant, rtt: Duration) {
        if let Some(c) = self.cc.as_mut() {
            c.gcc.on_rtt(now, rtt);
        }
    }

    pub(super) fn cc_on_remb(
        &mut self,
        now: Instant,
        bps: u64,
        events: &mut std::collections::VecDeque<PeerEvent>,
    ) {
        if let Some(c) = self.cc.as_mut() {
            c.gcc.on_remb(now, Bitrate(bps));
            self.cc_update(now, events);
        }
    }

    pub(super) fn cc_timeout(&self) -> Option<Instant> {
        self.cc.as_ref()?.gcc.poll_timeout()
    }

    pub(crate) fn cc_handle_timeout(
        &mut self,
        now: Instant,
        events: &mut std::collections::VecDeque<PeerEvent>,
    ) {
        if let Some(c) = self.cc.as_mut() {
            if c.gcc.poll_timeout().is_some_and(|t| t <= now) {
                c.gcc.handle_timeout(now);
                self.cc_update(now, events);
            }
        }
    }

    /// The estimate moved: the pacer follows it, the application hears.
    fn cc_update(&mut self, now: Instant, events: &mut std::collections::VecDeque<PeerEvent>) {
        let Some(c) = self.cc.as_mut() else { return };
        let e = c.gcc.estimate();
        self.pacer.set_soft_rate(Some(e.pacing.as_bps()));
        let target = e.target.as_bps();
        let report = match c.last_event {
            None => true,
            Some((at, last)) => {
                let change = (target as f64 - last as f64).abs() / (last.max(1) as f64);
                change >= EVENT_CHANGE
                    || (target != last && now.saturating_duration_since(at) >= EVENT_INTERVAL)
            }
        };
        if report {
            c.last_event = Some((now, target));
            events.push_back(PeerEvent::BandwidthEstimate {
                target_bitrate: target,
                application_limited: e.application_limited,
            });
        }
    }

    /// Starts the next probe cluster in the pacer if one is due.
    pub(super) fn cc_poll_probe(&mut self, now: Instant) {
        if self.pacer.probing() {
            return;
        }
        let Some(c) = self.cc.as_mut() else { return };
        if let Some(cluster) = c.gcc.poll_probe(now) {
            self.pacer.start_probe(now, &cluster);
        }
    }

    /// The application wants `bps` (an encoding turned on): probe for it.
    pub fn cc_request_probe(&mut self, now: Instant, bps: u64) {
        if let Some(c) = self.cc.as_mut() {
            c.gcc.request_probe(now, Bitrate(bps));
        }
    }

    /// A padding-only packet for the probe, unprotected, on the RTX
    /// stream of a video sender that negotiated transport-wide sequence
    /// numbers. Without RTX there is none: padding on the media stream
    /// would take sequence numbers a receiver NACKs when they are lost
    /// (and no history answers), so the probe is then made of media only.
    pub(super) fn padding_packet(&mut self) -> Option<(usize, Vec<u8>, usize)> {
        let i = self.transceivers.iter().position(|t| {
            t.sends()
                && t.active()
                && !t.detached
                && t.sender.rtx_ssrc.is_some()
                && t.negotiated.as_ref().is_some_and(|n| {
                    n.send_extensions().transport_cc.is_some()
                        && n.codecs
                            .first()
                            .and_then(|c| n.rtx_for(c.payload_type))
                            .is_some()
                })
        })?;
        let overhead = self
            .srtp
            .as_ref()
            .map_or(0, |(p, _)| p.profile().rtp_overhead());
        let t = &mut self.transceivers[i];
        let neg = t.negotiated.as_ref()?;
        let media_pt = neg.codecs.first()?.payload_type;
        let rtx_pt = neg.rtx_for(media_pt)?;
        let ext = neg.send_extensions();
        let mid = t.mid.as_ref().map_or("", Mid::as_str).to_string();
        let mut buf = vec![0u8; 64 + usize::from(PADDING) + overhead];
        let n = t
            .sender
            .write_padding(Some(rtx_pt), media_pt, ext, &mid, PADDING, &mut buf)
            .ok()?;
        Some((i, buf, n))
    }

    /// The estimate for `getStats()`.
    pub fn bandwidth_stats(&self) -> Option<BandwidthStats> {
        let c = self.cc.as_ref()?;
        let e = c.gcc.estimate();
        let s = c.gcc.stats();
        Some(BandwidthStats {
            available_outgoing_bitrate: e.target.as_bps(),
            delay_based_bitrate: s.delay_based.as_bps(),
            loss_based_bitrate: s.loss_limit.map(Bitrate::as_bps),
            acknowledged_bitrate: s.acknowledged.map(Bitrate::as_bps),
            loss_fraction: s.loss_fraction,
            application_limited: e.application_limited,
            overuses: s.overuses,
            probes_sent: s.probes_sent,
            probes_succeeded: s.probes_succeeded,
            unknown_feedback: c.history.unknown_feedback,
        })
    }
}
