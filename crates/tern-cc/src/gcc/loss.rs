//! Loss-based control (draft-ietf-rmcat-gcc-02 §6, libwebrtc's
//! `SendSideBandwidthEstimation`): over each stretch of at least
//! [`MIN_PACKETS`] reported packets, loss above 10% lowers the limit by
//! half the loss fraction (at most once per 300 ms + RTT), loss under 2%
//! lets it grow by 8% a second, and in between it holds. The limit caps
//! the delay-based rate; it never raises it.

use std::time::{Duration, Instant};

use crate::Bitrate;

/// Packets a loss fraction is measured over at least.
pub(crate) const MIN_PACKETS: u32 = 20;
const LOW_LOSS: f64 = 0.02;
const HIGH_LOSS: f64 = 0.10;

#[derive(Debug)]
pub(crate) struct LossControl {
    lost: u32,
    total: u32,
    /// The last measured fraction.
    pub fraction: f64,
    limit: Option<Bitrate>,
    last_decrease: Option<Instant>,
    last_update: Option<Instant>,
    rtt: Duration,
}

impl Default for LossControl {
    fn default() -> Self {
        LossControl {
            lost: 0,
            total: 0,
            fraction: 0.0,
            limit: None,
            last_decrease: None,
            last_update: None,
            rtt: Duration::from_millis(200),
        }
    }
}

impl LossControl {
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// Packets reported: `lost` of `total`. `current` is the target now.
    pub fn on_feedback(&mut self, now: Instant, lost: u32, total: u32, current: Bitrate) {
        self.lost += lost;
        self.total += total;
        if self.total < MIN_PACKETS {
            return;
        }
        self.fraction = f64::from(self.lost) / f64::from(self.total);
        self.lost = 0;
        self.total = 0;
        let dt = self.last_update.map_or(Duration::ZERO, |t| {
            now.saturating_duration_since(t).min(Duration::from_secs(1))
        });
        self.last_update = Some(now);
        if self.fraction > HIGH_LOSS {
            let due = self.last_decrease.is_none_or(|t| {
                now.saturating_duration_since(t) >= Duration::from_millis(300) + self.rtt
            });
            if due {
                let base = self.limit.map_or(current, |l| l.min(current));
                self.limit = Some(base.scale(1.0 - 0.5 * self.fraction));
                self.last_decrease = Some(now);
            }
        } else if self.fraction < LOW_LOSS {
            if let Some(l) = self.limit {
                let grown = l.scale(1.08f64.powf(dt.as_secs_f64())) + Bitrate::kbps(1);
                // Far above the delay-based rate the limit means nothing.
                self.limit = (grown < current.scale(2.0)).then_some(grown);
            }
        }
    }

    /// The limit loss puts on the target, if any.
    pub fn limit(&self) -> Option<Bitrate> {
        self.limit
    }

    /// A probe or the application set the rate: a limit below it goes.
    pub fn raise_to(&mut self, rate: Bitrate) {
        if self.limit.is_some_and(|l| l < rate) {
            self.limit = Some(rate);
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;

    #[test]
    fn heavy_loss_lowers_the_limit_moderate_loss_holds_it_and_low_loss_lifts_it() {
        let t0 = Instant::now();
        let mut l = LossControl::default();
        let cur = Bitrate::kbps(1000);
        l.on_feedback(t0, 6, 50, cur);
        assert_eq!(l.limit(), Some(Bitrate::kbps(940)));
        // Too soon for another decrease.
        l.on_feedback(t0 + Duration::from_millis(100), 6, 50, cur);
        assert_eq!(l.limit(), Some(Bitrate::kbps(940)));
        l.on_feedback(t0 + Duration::from_millis(600), 2, 50, cur);
        assert_eq!(l.limit(), Some(Bitrate::kbps(940)), "4% holds");
        let mut now = t0 + Duration::from_millis(600);
        for _ in 0..100 {
            now += Duration::from_millis(100);
            l.on_feedback(now, 0, 50, cur);
        }
        assert_eq!(l.limit(), None, "lifted once far above the target");
    }

    #[test]
    fn five_percent_random_loss_does_not_lower_it() {
        let t0 = Instant::now();
        let mut l = LossControl::default();
        for i in 0..100 {
            l.on_feedback(
                t0 + Duration::from_millis(100 * i),
                1,
                20,
                Bitrate::kbps(2000),
            );
        }
        assert_eq!(l.limit(), None);
        assert!((l.fraction - 0.05).abs() < 1e-9);
    }
}
