//! The acknowledged bitrate: what the receiver got, by its clock, as
//! libwebrtc's `BitrateEstimator` estimates it: bytes over a window
//! (500 ms for the first sample, 150 ms after), each sample weighed
//! against the estimate by how far it is from it, so one odd window does
//! not swing the result.

use crate::Bitrate;

const INITIAL_WINDOW_MS: i64 = 500;
const WINDOW_MS: i64 = 150;
const UNCERTAINTY_SCALE: f64 = 10.0;
/// In the application-limited region samples say less about capacity.
const UNCERTAINTY_SCALE_ALR: f64 = 20.0;
const VARIANCE_GROWTH: f64 = 5.0;

#[derive(Debug)]
pub(crate) struct AckedBitrate {
    sum_bytes: u64,
    window_ms: i64,
    prev_ms: Option<i64>,
    /// kbit/s and its variance.
    estimate: Option<f64>,
    variance: f64,
}

impl Default for AckedBitrate {
    fn default() -> Self {
        AckedBitrate {
            sum_bytes: 0,
            window_ms: 0,
            prev_ms: None,
            estimate: None,
            variance: 50.0,
        }
    }
}

impl AckedBitrate {
    /// A packet of `bytes` arrived at `arrival_ms` (receiver's clock).
    pub fn update(&mut self, arrival_ms: i64, bytes: usize, alr: bool) {
        let window = if self.estimate.is_none() {
            INITIAL_WINDOW_MS
        } else {
            WINDOW_MS
        };
        let Some(sample) = self.sample(arrival_ms, bytes, window) else {
            return;
        };
        let Some(est) = self.estimate else {
            self.estimate = Some(sample);
            return;
        };
        let scale = if alr {
            UNCERTAINTY_SCALE_ALR
        } else {
            UNCERTAINTY_SCALE
        };
        let uncertainty = scale * (est - sample).abs() / est.max(1.0);
        let sample_var = uncertainty * uncertainty;
        let pred_var = self.variance + VARIANCE_GROWTH;
        let new = (sample_var * est + pred_var * sample) / (sample_var + pred_var);
        self.estimate = Some(new.max(0.0));
        self.variance = sample_var * pred_var / (sample_var + pred_var);
    }

    fn sample(&mut self, now_ms: i64, bytes: usize, window: i64) -> Option<f64> {
        if let Some(prev) = self.prev_ms {
            if now_ms < prev {
                // The receiver's clock went back: start the window over.
                self.sum_bytes = 0;
                self.window_ms = 0;
            } else {
                self.window_ms = self.window_ms.saturating_add(now_ms.saturating_sub(prev));
                if now_ms.saturating_sub(prev) > window {
                    self.sum_bytes = 0;
                    self.window_ms %= window;
                }
            }
        }
        self.prev_ms = Some(now_ms);
        let mut out = None;
        if self.window_ms >= window {
            out = Some(self.sum_bytes as f64 * 8.0 / window as f64);
            self.window_ms -= window;
            self.sum_bytes = 0;
        }
        self.sum_bytes += bytes as u64;
        out
    }

    /// The estimate, once there is one.
    pub fn get(&self) -> Option<Bitrate> {
        self.estimate.map(|k| Bitrate::from_f64(k * 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_is_estimated_at_its_rate() {
        let mut a = AckedBitrate::default();
        // 1200 bytes every 8 ms = 1.2 Mbit/s.
        for i in 0..500 {
            a.update(i * 8, 1200, false);
        }
        let r = a.get().unwrap().as_f64();
        assert!((1.15e6..1.25e6).contains(&r), "{r}");
    }

    #[test]
    fn one_odd_window_moves_the_estimate_only_a_little() {
        let mut a = AckedBitrate::default();
        let mut t = 0;
        for _ in 0..500 {
            a.update(t, 1200, false);
            t += 8;
        }
        // A burst: 20 packets at once.
        for _ in 0..20 {
            a.update(t, 1200, false);
        }
        for _ in 0..30 {
            t += 8;
            a.update(t, 1200, false);
        }
        let r = a.get().unwrap().as_f64();
        assert!((1.1e6..1.6e6).contains(&r), "{r}");
    }
}
