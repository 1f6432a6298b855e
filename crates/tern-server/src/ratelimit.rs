//! Rate limits: a token bucket, the per-connection frame budget of the
//! signaling WebSocket, and a bounded per-source table (for STUN). Time is
//! passed in, so the rules are tested without a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A token bucket: `rate` per second, `burst` at once.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(burst: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(burst),
            last: now,
        }
    }

    fn refill(&mut self, rate: u32, burst: u32, now: Instant) {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * f64::from(rate);
        self.tokens = (self.tokens + refill).min(f64::from(burst));
        self.last = now;
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, rate: u32, burst: u32, now: Instant) -> bool {
        self.refill(rate, burst, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket has refilled completely by `now` (its source has
    /// been quiet long enough to forget).
    fn is_full(&self, rate: u32, burst: u32, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * f64::from(rate);
        self.tokens + refill >= f64::from(burst)
    }
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the budget: handle it.
    Accept,
    /// Over the budget: drop it; `notify` says whether this is the first
    /// refusal of the window (answer it with one `rate-limited`).
    Refuse {
        /// Send the one `rate-limited` error of this window.
        notify: bool,
    },
    /// Flooding: close the connection.
    Close,
}

/// Every frame a connection sends (text, binary, oversized, ping, pong)
/// costs one token. Refusals are answered once per one-second window, so a
/// flood cannot make the server write as much as it reads; a connection
/// refused in `strikes` windows in a row, or refused more than `burst`
/// times within one window, is closed.
#[derive(Debug)]
pub(crate) struct FrameBudget {
    bucket: Bucket,
    rate: u32,
    burst: u32,
    strikes: u32,
    window_start: Instant,
    refused_in_window: u32,
    windows_refused: u32,
}

const WINDOW: Duration = Duration::from_secs(1);

impl FrameBudget {
    /// A budget of `rate` frames a second, `burst` at once.
    pub(crate) fn new(rate: u32, burst: u32, strikes: u32, now: Instant) -> Self {
        FrameBudget {
            bucket: Bucket::new(burst, now),
            rate,
            burst,
            strikes: strikes.max(1),
            window_start: now,
            refused_in_window: 0,
            windows_refused: 0,
        }
    }

    /// Charges one frame received at `now`.
    pub(crate) fn charge(&mut self, now: Instant) -> Verdict {
        if now.saturating_duration_since(self.window_start) >= WINDOW {
            // A window without refusals (or a gap of more than one
            // window) forgives the earlier ones.
            let consecutive = now.saturating_duration_since(self.window_start) < 2 * WINDOW;
            if self.refused_in_window > 0 && consecutive {
                self.windows_refused += 1;
            } else {
                self.windows_refused = 0;
            }
            self.window_start = now;
            self.refused_in_window = 0;
        }
        if self.bucket.take(self.rate, self.burst, now) {
            return Verdict::Accept;
        }
        self.refused_in_window = self.refused_in_window.saturating_add(1);
        if self.refused_in_window > self.burst.max(1) || self.windows_refused >= self.strikes {
            return Verdict::Close;
        }
        Verdict::Refuse {
            notify: self.refused_in_window == 1,
        }
    }
}

/// Token buckets per source address, in a table of at most `capacity`
/// sources. When it is full, sources whose bucket has refilled (quiet ones)
/// are forgotten; if none is, a new source is refused until one is, so a
/// flood of spoofed sources costs a bounded table and no answers.
#[derive(Debug)]
pub(crate) struct SourceLimiter {
    buckets: HashMap<IpAddr, Bucket>,
    capacity: usize,
    rate: u32,
    burst: u32,
}

impl SourceLimiter {
    /// `rate` per second and `burst` at once per source, `capacity` sources.
    pub(crate) fn new(rate: u32, burst: u32, capacity: usize) -> Self {
        SourceLimiter {
            buckets: HashMap::new(),
            capacity: capacity.max(1),
            rate,
            burst,
        }
    }

    /// Whether `source` may be answered at `now` (and charges it).
    pub(crate) fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        let (rate, burst) = (self.rate, self.burst);
        if !self.buckets.contains_key(&source) && self.buckets.len() >= self.capacity {
            self.buckets.retain(|_, b| !b.is_full(rate, burst, now));
            if self.buckets.len() >= self.capacity {
                return false;
            }
        }
        self.buckets
            .entry(source)
            .or_insert_with(|| Bucket::new(burst, now))
            .take(rate, burst, now)
    }

    /// Sources remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // one real instant to start from; time then moves by hand
mod tests {
    use super::*;

    #[test]
    fn one_notice_per_window_then_close_on_a_sustained_flood() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(10, 20, 3, t0);
        for _ in 0..20 {
            assert_eq!(b.charge(t0), Verdict::Accept);
        }
        assert_eq!(b.charge(t0), Verdict::Refuse { notify: true });
        for _ in 0..5 {
            assert_eq!(b.charge(t0), Verdict::Refuse { notify: false });
        }
        // Each new window gets one notice; over the rate three windows in a
        // row, the connection is closed.
        let mut closed_at = None;
        for ms in (0..6000).step_by(40) {
            let now = t0 + Duration::from_millis(1000 + ms);
            match b.charge(now) {
                Verdict::Close => {
                    closed_at = Some(ms);
                    break;
                }
                Verdict::Refuse { .. } | Verdict::Accept => {}
            }
        }
        // 25 frames a second against a rate of 10 (15 refused a window, under
        // the burst of 20): refused in windows 1, 2, 3, closed in the fourth.
        let at = closed_at.expect("closed");
        assert!((2000..4100).contains(&at), "{at}");
    }

    #[test]
    fn a_burst_beyond_twice_the_budget_in_one_window_closes() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(10, 20, 3, t0);
        let verdicts: Vec<_> = (0..41).map(|_| b.charge(t0)).collect();
        assert_eq!(verdicts[19], Verdict::Accept);
        assert_eq!(verdicts[39], Verdict::Refuse { notify: false });
        assert_eq!(verdicts[40], Verdict::Close);
    }

    #[test]
    fn a_client_within_its_rate_is_never_refused() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(10, 20, 3, t0);
        for i in 0..1000u64 {
            // 9.5 a second
            let now = t0 + Duration::from_micros(i * 105_300);
            assert_eq!(b.charge(now), Verdict::Accept, "frame {i}");
        }
        // An occasional overrun gets a notice, not a close.
        let t1 = t0 + Duration::from_secs(200);
        for _ in 0..20 {
            b.charge(t1);
        }
        assert_eq!(b.charge(t1), Verdict::Refuse { notify: true });
        assert_eq!(
            b.charge(t1 + Duration::from_secs(5)),
            Verdict::Accept,
            "forgiven"
        );
    }

    #[test]
    fn sources_are_limited_each_and_the_table_stays_bounded() {
        let t0 = Instant::now();
        let mut l = SourceLimiter::new(10, 5, 100);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let allowed = (0..50).filter(|_| l.allow(a, t0)).count();
        assert_eq!(allowed, 5);
        assert!(l.allow(a, t0 + Duration::from_millis(150)));
        // 10,000 spoofed sources at once: the table holds 100, the rest are
        // refused; once they are quiet, new sources are welcome again.
        let spoofed = (0..10_000u32)
            .filter(|i| l.allow(IpAddr::from(i.to_be_bytes()), t0))
            .count();
        assert_eq!(spoofed, 99);
        assert!(l.len() <= 100);
        let b: IpAddr = "198.51.100.9".parse().unwrap();
        assert!(!l.allow(b, t0));
        assert!(l.allow(b, t0 + Duration::from_secs(1)));
        assert!(l.len() <= 100);
    }
}
