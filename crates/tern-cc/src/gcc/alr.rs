//! Application-limited-region detection (libwebrtc's `AlrDetector`): a
//! budget fills at 65% of the estimate and drains with every byte sent;
//! when most of it goes unused the sender is application-limited (it
//! sends well under what the path takes, so feedback cannot show the
//! path's limit and the estimate must not grow on it), and it leaves the
//! region once it spends the budget again.

use std::time::{Duration, Instant};

use crate::Bitrate;

const USAGE: f64 = 0.65;
const START_RATIO: f64 = 0.80;
const STOP_RATIO: f64 = 0.50;
/// The budget holds this much time at its rate.
const WINDOW: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
pub(crate) struct Alr {
    /// Unused bytes, up to a window's worth.
    budget: f64,
    at: Option<Instant>,
    rate: Bitrate,
    pub in_alr: bool,
    /// Times it entered the region.
    pub entered: u64,
}

impl Alr {
    pub fn set_estimate(&mut self, rate: Bitrate) {
        self.rate = rate.scale(USAGE);
    }

    fn max(&self) -> f64 {
        self.rate.bytes_in(WINDOW).max(1.0)
    }

    fn advance(&mut self, now: Instant) {
        if let Some(at) = self.at {
            let dt = now.saturating_duration_since(at).min(WINDOW);
            self.budget = (self.budget + self.rate.bytes_in(dt)).min(self.max());
        }
        self.at = Some(now);
    }

    pub fn on_sent(&mut self, now: Instant, bytes: usize) {
        self.advance(now);
        self.budget = (self.budget - bytes as f64).max(-self.max());
        self.check();
    }

    pub fn on_time(&mut self, now: Instant) {
        self.advance(now);
        self.check();
    }

    fn check(&mut self) {
        let ratio = self.budget / self.max();
        if !self.in_alr && ratio > START_RATIO {
            self.in_alr = true;
            self.entered += 1;
        } else if self.in_alr && ratio < STOP_RATIO {
            self.in_alr = false;
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;

    #[test]
    fn sending_a_fifth_of_the_estimate_is_application_limited_and_sending_it_all_is_not() {
        let t0 = Instant::now();
        let mut a = Alr::default();
        a.set_estimate(Bitrate::kbps(1000));
        // 200 kbit/s: 250 bytes every 10 ms.
        for i in 0..200 {
            a.on_sent(t0 + Duration::from_millis(10 * i), 250);
        }
        assert!(a.in_alr);
        // 1 Mbit/s: 1250 bytes every 10 ms.
        for i in 200..400 {
            a.on_sent(t0 + Duration::from_millis(10 * i), 1250);
        }
        assert!(!a.in_alr);
        assert_eq!(a.entered, 1);
    }
}
