//! The delay-gradient detector (draft-ietf-rmcat-gcc-02 §5.3–5.4, in the
//! form libwebrtc's `TrendlineEstimator` gives it): the one-way delay
//! variation of each group pair is accumulated and smoothed, a line is
//! fitted over the last [`WINDOW`] points, and its slope, scaled, is
//! compared with a threshold that adapts to it (fast upward, slowly
//! downward), so a queue that grows is overuse, one that drains is
//! underuse, and competing with loss-based flows does not starve us.

use std::collections::VecDeque;

use super::inter_arrival::Delta;

/// Points the line is fitted over.
const WINDOW: usize = 20;
/// Exponential smoothing of the accumulated delay.
const SMOOTHING: f64 = 0.9;
/// The slope's gain before it meets the threshold.
const GAIN: f64 = 4.0;
/// The threshold's adaptation rates up and down (per ms).
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
/// A slope this far above the threshold does not adapt it (a sudden
/// spike is not the new normal).
const MAX_ADAPT_OFFSET_MS: f64 = 15.0;
/// Overuse must last this long (ms) before it is signalled.
const OVERUSE_TIME_MS: f64 = 10.0;
/// Deltas counted toward the slope's weight at most.
const MAX_DELTAS: f64 = 60.0;

/// What the delay gradient says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandwidthUsage {
    /// The queue is steady.
    Normal,
    /// The queue grows: send less.
    Overusing,
    /// The queue drains: hold until it is empty.
    Underusing,
}

#[derive(Debug)]
pub(crate) struct Trendline {
    first_arrival_ms: Option<f64>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    points: VecDeque<(f64, f64)>,
    deltas: f64,
    threshold: f64,
    last_threshold_update_ms: Option<f64>,
    time_over_using: f64,
    overuse_count: u32,
    prev_trend: f64,
    state: BandwidthUsage,
}

impl Default for Trendline {
    fn default() -> Self {
        Trendline {
            first_arrival_ms: None,
            accumulated_ms: 0.0,
            smoothed_ms: 0.0,
            points: VecDeque::with_capacity(WINDOW + 1),
            deltas: 0.0,
            threshold: 12.5,
            last_threshold_update_ms: None,
            time_over_using: -1.0,
            overuse_count: 0,
            prev_trend: 0.0,
            state: BandwidthUsage::Normal,
        }
    }
}

impl Trendline {
    pub fn state(&self) -> BandwidthUsage {
        self.state
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Adds one group delta; the state after it.
    pub fn update(&mut self, d: Delta) -> BandwidthUsage {
        let delay_ms = d.arrival_ms - d.send_ms;
        let arrival_ms = d.arrival_us as f64 / 1e3;
        self.deltas = (self.deltas + 1.0).min(1000.0);
        self.accumulated_ms += delay_ms;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        let first = *self.first_arrival_ms.get_or_insert(arrival_ms);
        self.points
            .push_back((arrival_ms - first, self.smoothed_ms));
        if self.points.len() > WINDOW {
            self.points.pop_front();
        }
        let trend = if self.points.len() == WINDOW {
            slope(&self.points).unwrap_or(self.prev_trend)
        } else {
            self.prev_trend
        };
        self.detect(trend, d.send_ms, arrival_ms);
        self.state
    }

    fn detect(&mut self, trend: f64, send_delta_ms: f64, now_ms: f64) {
        if self.deltas < 2.0 {
            self.state = BandwidthUsage::Normal;
            return;
        }
        let modified = self.deltas.min(MAX_DELTAS) * trend * GAIN;
        if modified > self.threshold {
            if self.time_over_using < 0.0 {
                // Assume the overuse began halfway since the last sample.
                self.time_over_using = send_delta_ms / 2.0;
            } else {
                self.time_over_using += send_delta_ms;
            }
            self.overuse_count += 1;
            if self.time_over_using > OVERUSE_TIME_MS
                && self.overuse_count > 1
                && trend >= self.prev_trend
            {
                self.time_over_using = 0.0;
                self.overuse_count = 0;
                self.state = BandwidthUsage::Overusing;
            }
        } else if modified < -self.threshold {
            self.time_over_using = -1.0;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Underusing;
        } else {
            self.time_over_using = -1.0;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Normal;
        }
        self.prev_trend = trend;
        self.adapt_threshold(modified, now_ms);
    }

    fn adapt_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_threshold_update_ms.get_or_insert(now_ms);
        if modified.abs() > self.threshold + MAX_ADAPT_OFFSET_MS {
            self.last_threshold_update_ms = Some(now_ms);
            return;
        }
        let k = if modified.abs() < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let dt = (now_ms - last).clamp(0.0, 100.0);
        self.threshold += k * (modified.abs() - self.threshold) * dt;
        self.threshold = self.threshold.clamp(6.0, 600.0);
        self.last_threshold_update_ms = Some(now_ms);
    }
}

/// The least-squares slope of `points`.
fn slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den != 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut Trendline, groups: u32, growth_ms: f64) -> Vec<BandwidthUsage> {
        let mut arrival = 0.0;
        (0..groups)
            .map(|_| {
                arrival += 10.0 + growth_ms;
                t.update(Delta {
                    send_ms: 10.0,
                    arrival_ms: 10.0 + growth_ms,
                    arrival_us: (arrival * 1e3) as i64,
                })
            })
            .collect()
    }

    #[test]
    fn a_steady_queue_is_normal() {
        let mut t = Trendline::default();
        let s = feed(&mut t, 200, 0.0);
        assert!(s.iter().all(|&u| u == BandwidthUsage::Normal));
    }

    #[test]
    fn a_growing_queue_is_overuse_and_a_draining_one_underuse() {
        let mut t = Trendline::default();
        let s = feed(&mut t, 60, 2.0);
        assert_eq!(*s.last().unwrap(), BandwidthUsage::Overusing, "{s:?}");
        let mut t = Trendline::default();
        feed(&mut t, 30, 0.0);
        let s = feed(&mut t, 40, -2.0);
        assert!(s.contains(&BandwidthUsage::Underusing), "{s:?}");
    }

    #[test]
    fn the_threshold_stays_within_its_bounds_on_wild_input() {
        let mut t = Trendline::default();
        for i in 0..2000 {
            let g: f64 = if i % 3 == 0 { 500.0 } else { -300.0 };
            t.update(Delta {
                send_ms: 5.0,
                arrival_ms: (5.0 + g).max(0.0),
                arrival_us: i * 20_000,
            });
            assert!((6.0..=600.0).contains(&t.threshold()));
        }
    }
}
