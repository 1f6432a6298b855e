//! Rate limits: a token bucket in bytes per second for each allocation's
//! relayed traffic, and a per-source-IP budget of unauthenticated challenge
//! answers (401/438) so the server cannot be used to reflect traffic.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const NANOS: u128 = 1_000_000_000;

/// A token bucket: `rate` units per second, holding at most `burst`.
/// Tokens are kept scaled by 10^9 so refills at any call rate are exact.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    scaled: u128,
    rate: u64,
    burst: u64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: u64, burst: u64, now: Instant) -> Self {
        TokenBucket {
            scaled: u128::from(burst) * NANOS,
            rate,
            burst,
            last: now,
        }
    }

    /// Takes `cost` units if available.
    pub(crate) fn take(&mut self, now: Instant, cost: u64) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        self.last = self.last.max(now);
        let cap = u128::from(self.burst) * NANOS;
        self.scaled = self
            .scaled
            .saturating_add(elapsed.saturating_mul(u128::from(self.rate)))
            .min(cap);
        let need = u128::from(cost) * NANOS;
        if self.scaled >= need {
            self.scaled -= need;
            true
        } else {
            false
        }
    }
}

/// Per-IP budgets in two generations: lookups try the current table, then the
/// previous one; every `window` (or when the current table is full) the
/// previous is dropped. Memory stays bounded without a scan.
#[derive(Debug)]
pub(crate) struct IpLimiter {
    current: HashMap<IpAddr, TokenBucket>,
    previous: HashMap<IpAddr, TokenBucket>,
    rotated: Instant,
    window: Duration,
    max_entries: usize,
    rate: u64,
    burst: u64,
}

impl IpLimiter {
    pub(crate) fn new(rate: u64, burst: u64, max_entries: usize, now: Instant) -> Self {
        IpLimiter {
            current: HashMap::new(),
            previous: HashMap::new(),
            rotated: now,
            window: Duration::from_secs(60),
            max_entries: max_entries.max(2),
            rate,
            burst,
        }
    }

    /// Whether `ip` may have one more answer now.
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        if now.saturating_duration_since(self.rotated) >= self.window
            || self.current.len() >= self.max_entries / 2
        {
            self.previous = std::mem::take(&mut self.current);
            self.rotated = now;
        }
        let bucket = match self.current.get_mut(&ip) {
            Some(b) => b,
            None => {
                let b = self
                    .previous
                    .remove(&ip)
                    .unwrap_or_else(|| TokenBucket::new(self.rate, self.burst, now));
                self.current.entry(ip).or_insert(b)
            }
        };
        bucket.take(now, 1)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Instant::now() only as an origin
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, 1000, t0);
        assert!(b.take(t0, 1000));
        assert!(!b.take(t0, 1));
        // 1 ms at 1000/s is one token, even taken in 1 µs steps.
        let mut t = t0;
        for _ in 0..1000 {
            t += Duration::from_micros(1);
            let _ = b.take(t, 0);
        }
        assert!(b.take(t, 1));
        assert!(!b.take(t, 1));
        assert!(b.take(t + Duration::from_secs(10), 1000));
        assert!(!b.take(t + Duration::from_secs(10), 1));
    }

    #[test]
    fn ip_limiter_is_per_ip_and_bounded() {
        let t0 = Instant::now();
        let mut l = IpLimiter::new(1, 3, 100, t0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!((0..3).all(|_| l.allow(t0, a)));
        assert!(!l.allow(t0, a));
        assert!(l.allow(t0, b));
        assert!(l.allow(t0 + Duration::from_secs(1), a));
        for i in 0..10_000u32 {
            l.allow(t0, IpAddr::from(i.to_be_bytes()));
        }
        assert!(l.current.len() + l.previous.len() <= 100);
    }
}
