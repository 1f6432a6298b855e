//! Google Congestion Control (draft-ietf-rmcat-gcc-02), in the design of
//! libwebrtc's goog_cc, sans-IO:
//! - `inter_arrival` and `trendline`: the delay gradient over packet
//!   groups and the overuse detector with its adaptive threshold;
//! - `aimd`: the delay-based rate (hold, multiplicative/additive increase,
//!   decrease to 85% of the acknowledged rate), capped at 1.5× that rate;
//! - `loss`: the loss-based limit;
//! - `acked`: the acknowledged bitrate;
//! - `alr`: application-limited-region detection (no growth while the
//!   sender does not use what it has);
//! - `probe`: probe clusters at the start, after a drop and on demand,
//!   and their estimates.
//!
//! Feedback that stops while packets go out pushes the target down
//! (×0.8 every 100 ms after 500 ms of silence), so a sender whose
//! receiver vanished falls to the minimum within 3 s.

mod acked;
mod aimd;
mod alr;
mod inter_arrival;
mod loss;
mod probe;
mod trendline;

use std::time::{Duration, Instant};

pub use trendline::BandwidthUsage;

use crate::{Bitrate, CongestionController, Estimate, PacketResult, ProbeCluster, SentPacket};

/// Feedback silence after which the target is pushed down.
const FEEDBACK_TIMEOUT: Duration = Duration::from_millis(500);
const PUSHBACK_INTERVAL: Duration = Duration::from_millis(100);
const PUSHBACK_FACTOR: f64 = 0.8;
/// Packets sent this soon after a probe packet wait behind its burst.
const PROBE_QUIET: Duration = Duration::from_millis(50);

/// What the controller starts from and stays within.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GccConfig {
    /// The first target (libwebrtc: 300 kbit/s).
    pub start: Bitrate,
    /// The target never goes under this.
    pub min: Bitrate,
    /// Nor over this.
    pub max: Bitrate,
    /// The pacer runs at the target times this (libwebrtc: 2.5), so
    /// bursts drain quickly.
    pub pacing_factor: f64,
    /// Probe at the start, after drops and on demand.
    pub probing: bool,
}

impl Default for GccConfig {
    fn default() -> Self {
        GccConfig {
            start: Bitrate::kbps(300),
            min: Bitrate::kbps(30),
            max: Bitrate::kbps(10_000),
            pacing_factor: 2.5,
            probing: true,
        }
    }
}

/// The controller's inner state, for stats and logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GccStats {
    /// The delay-based rate.
    pub delay_based: Bitrate,
    /// The loss-based limit, when loss set one.
    pub loss_limit: Option<Bitrate>,
    /// The acknowledged bitrate.
    pub acknowledged: Option<Bitrate>,
    /// The link capacity seen at decreases.
    pub link_capacity: Option<Bitrate>,
    /// The detector's state.
    pub usage: BandwidthUsage,
    /// The detector's threshold.
    pub threshold: f64,
    /// The last loss fraction.
    pub loss_fraction: f64,
    /// Overuse signals so far.
    pub overuses: u64,
    /// Probe clusters sent and measured.
    pub probes_sent: u64,
    /// Probe clusters that gave an estimate.
    pub probes_succeeded: u64,
    /// Times the sender entered the application-limited region.
    pub alr_entered: u64,
    /// Times feedback stopped and the target was pushed down.
    pub pushbacks: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Gcc {
    config: GccConfig,
    inter: inter_arrival::InterArrival,
    trend: trendline::Trendline,
    aimd: aimd::Aimd,
    loss: loss::LossControl,
    acked: acked::AckedBitrate,
    probes: probe::Probes,
    alr: alr::Alr,
    remb: Option<Bitrate>,
    target: Bitrate,
    last_feedback: Option<Instant>,
    last_sent: Option<Instant>,
    first_sent: Option<Instant>,
    next_pushback: Option<Instant>,
    probe_quiet_until: Option<Instant>,
    overuses: u64,
    pushbacks: u64,
}

impl Gcc {
    /// A controller at `config.start`.
    pub fn new(config: GccConfig) -> Self {
        let mut alr = alr::Alr::default();
        alr.set_estimate(config.start);
        Gcc {
            config,
            inter: Default::default(),
            trend: Default::default(),
            aimd: aimd::Aimd::new(config.start, config.min, config.max),
            loss: Default::default(),
            acked: Default::default(),
            probes: probe::Probes::new(config.max),
            alr,
            remb: None,
            target: config.start.clamp(config.min, config.max),
            last_feedback: None,
            last_sent: None,
            first_sent: None,
            next_pushback: None,
            probe_quiet_until: None,
            overuses: 0,
            pushbacks: 0,
        }
    }

    /// The controller's inner state.
    pub fn stats(&self) -> GccStats {
        GccStats {
            delay_based: self.aimd.rate(),
            loss_limit: self.loss.limit(),
            acknowledged: self.acked.get(),
            link_capacity: self.aimd.link_capacity(),
            usage: self.trend.state(),
            threshold: self.trend.threshold(),
            loss_fraction: self.loss.fraction,
            overuses: self.overuses,
            probes_sent: self.probes.sent,
            probes_succeeded: self.probes.succeeded,
            alr_entered: self.alr.entered,
            pushbacks: self.pushbacks,
        }
    }

    fn update_target(&mut self, now: Instant) {
        let mut t = self.aimd.rate();
        if let Some(l) = self.loss.limit() {
            t = t.min(l);
        }
        if let Some(r) = self.remb {
            t = t.min(r);
        }
        self.target = t.clamp(self.config.min, self.config.max);
        self.alr.set_estimate(self.target);
        let ok = self.trend.state() == BandwidthUsage::Normal && self.loss.fraction < 0.1;
        self.probes.on_estimate(now, self.target, ok);
        if ok && !self.alr.in_alr && self.config.probing && self.loss.limit().is_none() {
            self.probes.periodic(now, self.target);
        }
    }

    /// When feedback counts as overdue: packets went out after the last
    /// feedback (or the first packet, if none came yet) and
    /// [`FEEDBACK_TIMEOUT`] passed since.
    fn overdue_at(&self) -> Option<Instant> {
        let sent = self.last_sent?;
        let since = self.last_feedback.or(self.first_sent)?;
        if self.last_feedback.is_some() && sent <= since {
            return None;
        }
        Some(since + FEEDBACK_TIMEOUT)
    }
}

impl CongestionController for Gcc {
    fn on_packet_sent(&mut self, now: Instant, packet: SentPacket) {
        if self.first_sent.is_none() {
            self.first_sent = Some(now);
            if self.config.probing {
                self.probes.start(self.target);
            }
        }
        self.last_sent = Some(now);
        self.alr.on_sent(now, packet.size);
    }

    fn on_feedback(&mut self, now: Instant, results: &[PacketResult]) {
        self.last_feedback = Some(now);
        self.next_pushback = None;
        let mut lost = 0u32;
        let mut probe: Option<Bitrate> = None;
        for r in results {
            if let Some(e) = self.probes.on_result(now, r) {
                probe = Some(probe.map_or(e, |p| p.max(e)));
            }
            let Some(at) = r.received_us else {
                lost += 1;
                continue;
            };
            self.acked
                .update(at.div_euclid(1000), r.sent.size, self.alr.in_alr);
            if r.sent.probe_cluster.is_some() {
                let q = r.sent.sent_at + PROBE_QUIET;
                self.probe_quiet_until = Some(self.probe_quiet_until.map_or(q, |p| p.max(q)));
            }
            if r.sent.probe_cluster.is_some()
                || self.probe_quiet_until.is_some_and(|q| r.sent.sent_at < q)
            {
                // A probe's burst is meant to queue, and what is sent right
                // after waits behind it: the probe's own estimate judges
                // it. No delta spans it, so its queue is not read as a
                // growing one.
                self.inter = Default::default();
                continue;
            }
            if let Some(d) = self.inter.push(r.sent.sent_at, at) {
                let before = self.trend.state();
                let after = self.trend.update(d);
                if after == BandwidthUsage::Overusing && before != BandwidthUsage::Overusing {
                    self.overuses += 1;
                }
            }
        }
        let usage = self.trend.state();
        self.aimd
            .update(now, usage, self.acked.get(), self.alr.in_alr);
        if self.aimd.grew && self.config.probing {
            self.probes.on_growth(self.aimd.rate());
        }
        if let Some(p) = probe {
            // The probe got through at `p` without loss: a loss limit
            // below that (left from an earlier loss) is lifted to it.
            if self.loss.fraction < 0.02 {
                self.loss.raise_to(p.min(self.aimd.rate()));
            }
            // A probe that measured little more than the rate says
            // nothing new (and at capacity it measures the link itself).
            if p > self.aimd.rate().scale(1.1)
                && usage != BandwidthUsage::Overusing
                && self.aimd.probe_is_news(p)
            {
                self.aimd.set_estimate(now, p);
            }
        }
        self.loss
            .on_feedback(now, lost, results.len() as u32, self.aimd.rate());
        self.update_target(now);
    }

    fn on_rtt(&mut self, _now: Instant, rtt: Duration) {
        self.aimd.set_rtt(rtt);
        self.loss.set_rtt(rtt);
    }

    fn on_remb(&mut self, now: Instant, bitrate: Bitrate) {
        self.remb = Some(bitrate);
        self.update_target(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.alr.on_time(now);
        let overdue = self.overdue_at().is_some_and(|t| now >= t);
        if !overdue || self.next_pushback.is_some_and(|t| now < t) {
            return;
        }
        let r = self.aimd.rate().scale(PUSHBACK_FACTOR);
        self.aimd.set_estimate(now, r);
        self.pushbacks += 1;
        self.next_pushback = Some(now + PUSHBACK_INTERVAL);
        self.update_target(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.target <= self.config.min {
            return None;
        }
        let due = self.overdue_at()?;
        Some(self.next_pushback.map_or(due, |p| p.max(due)))
    }

    fn estimate(&self) -> Estimate {
        Estimate {
            target: self.target,
            pacing: self.target.scale(self.config.pacing_factor),
            application_limited: self.alr.in_alr,
        }
    }

    fn poll_probe(&mut self, now: Instant) -> Option<ProbeCluster> {
        if !self.config.probing {
            return None;
        }
        self.probes.poll(now)
    }

    fn request_probe(&mut self, _now: Instant, bitrate: Bitrate) {
        if self.config.probing {
            self.probes.request(bitrate, self.target);
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;

    #[test]
    fn a_receiver_estimate_caps_the_target() {
        let t0 = Instant::now();
        let mut g = Gcc::new(GccConfig {
            start: Bitrate::kbps(1000),
            ..GccConfig::default()
        });
        g.on_remb(t0, Bitrate::kbps(200));
        assert_eq!(g.estimate().target, Bitrate::kbps(200));
        assert_eq!(g.estimate().pacing, Bitrate::kbps(500));
        g.on_remb(t0, Bitrate::kbps(5000));
        assert_eq!(g.estimate().target, Bitrate::kbps(1000));
    }

    #[test]
    fn the_application_asks_for_a_probe_above_the_estimate_only() {
        let t0 = Instant::now();
        let mut g = Gcc::new(GccConfig::default());
        g.request_probe(t0, Bitrate::kbps(200));
        assert_eq!(g.poll_probe(t0), None, "below the estimate");
        g.request_probe(t0, Bitrate::kbps(2000));
        let c = g.poll_probe(t0).expect("a probe");
        assert_eq!(c.bitrate, Bitrate::kbps(2000));
    }
}
