//! Rate control from the delay signal (draft-ietf-rmcat-gcc-02 §5.5,
//! libwebrtc's `AimdRateControl`): hold while the queue drains, decrease
//! to 85% of what was acknowledged on overuse, increase otherwise:
//! multiplicatively (8% a second) while far from the link's capacity,
//! additively (about a packet per response time) near it. The capacity
//! is remembered from the acknowledged rates at past decreases, and an
//! increase never goes past 1.5× what the receiver acknowledged (so an
//! application-limited sender's estimate does not grow without bound).

use std::time::{Duration, Instant};

use super::trendline::BandwidthUsage;
use crate::Bitrate;

const BETA: f64 = 0.85;
const MULTIPLICATIVE_PER_SEC: f64 = 1.08;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hold,
    Increase,
    Decrease,
}

/// The link capacity seen at decreases: an average and its deviation, in
/// kbit/s.
#[derive(Debug, Default, Clone, Copy)]
struct LinkCapacity {
    estimate_kbps: Option<f64>,
    deviation: f64,
}

impl LinkCapacity {
    fn update(&mut self, sample: Bitrate) {
        let s = sample.as_f64() / 1e3;
        let alpha = 0.05;
        let est = match self.estimate_kbps {
            None => s,
            Some(e) => (1.0 - alpha) * e + alpha * s,
        };
        let norm = est.max(1.0);
        let err = est - s;
        self.deviation =
            ((1.0 - alpha) * self.deviation.max(0.4) + alpha * err * err / norm).clamp(0.4, 2.5);
        self.estimate_kbps = Some(est);
    }
    fn spread(&self, e: f64) -> f64 {
        3.0 * (e * self.deviation).sqrt()
    }
    fn upper(&self) -> Option<Bitrate> {
        self.estimate_kbps
            .map(|e| Bitrate::from_f64((e + self.spread(e)) * 1e3))
    }
    fn lower(&self) -> Option<Bitrate> {
        self.estimate_kbps
            .map(|e| Bitrate::from_f64((e - self.spread(e)).max(0.0) * 1e3))
    }
    fn get(&self) -> Option<Bitrate> {
        self.estimate_kbps.map(|e| Bitrate::from_f64(e * 1e3))
    }
}

#[derive(Debug)]
pub(crate) struct Aimd {
    rate: Bitrate,
    min: Bitrate,
    max: Bitrate,
    state: State,
    capacity: LinkCapacity,
    last_change: Option<Instant>,
    rtt: Duration,
    /// Whether the last update decreased the rate.
    pub decreased: bool,
    /// Whether the last update found the link grew (the acknowledged
    /// rate went past the capacity seen before).
    pub grew: bool,
}

impl Aimd {
    pub fn new(start: Bitrate, min: Bitrate, max: Bitrate) -> Self {
        Aimd {
            rate: start.clamp(min, max),
            min,
            max,
            state: State::Hold,
            capacity: LinkCapacity::default(),
            last_change: None,
            rtt: Duration::from_millis(200),
            decreased: false,
            grew: false,
        }
    }

    pub fn rate(&self) -> Bitrate {
        self.rate
    }

    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// Sets the rate (a probe measured more).
    pub fn set_estimate(&mut self, now: Instant, rate: Bitrate) {
        self.rate = rate.clamp(self.min, self.max);
        self.last_change = Some(now);
    }

    /// A probe measured `rate`: whether it says something new, which it
    /// does above the capacity seen before (that capacity is then
    /// forgotten) or when the rate is below that capacity (after a drop).
    /// A probe at a known capacity only measures the link the rate
    /// already fills.
    pub fn probe_is_news(&mut self, rate: Bitrate) -> bool {
        match (self.capacity.upper(), self.capacity.lower()) {
            (Some(up), Some(low)) if rate <= up => self.rate < low,
            _ => {
                self.capacity = LinkCapacity::default();
                true
            }
        }
    }

    /// The link capacity estimate, once a decrease measured one.
    pub fn link_capacity(&self) -> Option<Bitrate> {
        self.capacity.get()
    }

    /// One update with the detector's state and the acknowledged rate.
    pub fn update(
        &mut self,
        now: Instant,
        usage: BandwidthUsage,
        acked: Option<Bitrate>,
        alr: bool,
    ) -> Bitrate {
        self.decreased = false;
        self.grew = false;
        self.state = match (usage, self.state) {
            (BandwidthUsage::Overusing, _) => State::Decrease,
            (BandwidthUsage::Underusing, _) => State::Hold,
            (BandwidthUsage::Normal, State::Hold) => {
                self.last_change = Some(now);
                State::Increase
            }
            (BandwidthUsage::Normal, s) => s,
        };
        match self.state {
            State::Hold => {}
            State::Increase => {
                if let (Some(a), Some(up)) = (acked, self.capacity.upper()) {
                    if a > up {
                        // Far above what the link carried before: it grew.
                        self.capacity = LinkCapacity::default();
                        self.grew = true;
                    }
                }
                let limit = match acked {
                    _ if alr => self.rate,
                    Some(a) => a.scale(1.5) + Bitrate::kbps(10),
                    None => self.max,
                };
                if self.rate < limit {
                    let inc = if self.capacity.get().is_some() {
                        self.additive(now)
                    } else {
                        self.multiplicative(now)
                    };
                    self.rate = (self.rate + inc).min(limit);
                }
                self.last_change = Some(now);
            }
            State::Decrease => {
                let base = acked.unwrap_or(self.rate);
                let mut new = base.scale(BETA);
                if new > self.rate {
                    if let Some(c) = self.capacity.get() {
                        new = c.scale(BETA);
                    }
                }
                if new < self.rate {
                    self.rate = new;
                    self.decreased = true;
                }
                if let (Some(a), Some(low)) = (acked, self.capacity.lower()) {
                    if a < low {
                        // Far below: the link shrank; learn it anew.
                        self.capacity = LinkCapacity::default();
                    }
                }
                if let Some(a) = acked {
                    self.capacity.update(a);
                }
                self.state = State::Hold;
                self.last_change = Some(now);
            }
        }
        self.rate = self.rate.clamp(self.min, self.max);
        self.rate
    }

    fn multiplicative(&self, now: Instant) -> Bitrate {
        let secs = self.last_change.map_or(0.0, |t| {
            now.saturating_duration_since(t)
                .min(Duration::from_secs(1))
                .as_secs_f64()
        });
        let alpha = MULTIPLICATIVE_PER_SEC.powf(secs);
        Bitrate::from_f64((self.rate.as_f64() * (alpha - 1.0)).max(1000.0))
    }

    fn additive(&self, now: Instant) -> Bitrate {
        let secs = self
            .last_change
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        // About one packet per response time (libwebrtc's near-max
        // increase): the packet size a 30 fps stream at this rate uses.
        let bits_per_frame = self.rate.as_f64() / 30.0;
        let packets = (bits_per_frame / (1200.0 * 8.0)).ceil().max(1.0);
        let packet_bits = bits_per_frame / packets;
        let response = (self.rtt + Duration::from_millis(100)).as_secs_f64();
        let per_sec = (packet_bits / response).max(4000.0);
        Bitrate::from_f64(per_sec * secs)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;

    #[test]
    fn increases_8_percent_a_second_far_from_capacity_and_decreases_to_85_percent_of_acked() {
        let t0 = Instant::now();
        let mut a = Aimd::new(
            Bitrate::kbps(1000),
            Bitrate::kbps(30),
            Bitrate::kbps(100_000),
        );
        let mut now = t0;
        for _ in 0..100 {
            now += Duration::from_millis(100);
            a.update(
                now,
                BandwidthUsage::Normal,
                Some(Bitrate::kbps(5000)),
                false,
            );
        }
        // 10 s at 8%/s from 1 Mbit/s: about 2.16 Mbit/s.
        let r = a.rate().as_f64();
        assert!((1.9e6..2.4e6).contains(&r), "{r}");
        now += Duration::from_millis(100);
        a.update(
            now,
            BandwidthUsage::Overusing,
            Some(Bitrate::kbps(1800)),
            false,
        );
        assert_eq!(a.rate(), Bitrate::kbps(1530));
        assert!(a.decreased);
        assert!(a.link_capacity().is_some());
    }

    #[test]
    fn an_idle_sender_does_not_grow_past_its_acked_rate() {
        let t0 = Instant::now();
        let mut a = Aimd::new(
            Bitrate::kbps(300),
            Bitrate::kbps(30),
            Bitrate::kbps(100_000),
        );
        let mut now = t0;
        for _ in 0..600 {
            now += Duration::from_millis(100);
            a.update(now, BandwidthUsage::Normal, Some(Bitrate::kbps(100)), false);
        }
        assert!(a.rate() <= Bitrate::kbps(300), "{}", a.rate());
        let mut a = Aimd::new(
            Bitrate::kbps(100),
            Bitrate::kbps(30),
            Bitrate::kbps(100_000),
        );
        for _ in 0..600 {
            now += Duration::from_millis(100);
            a.update(now, BandwidthUsage::Normal, Some(Bitrate::kbps(100)), false);
        }
        assert!(a.rate() <= Bitrate::kbps(160), "{}", a.rate());
    }
}
