//! When to send RTCP (RFC 3550 §6.2, §6.3 and Appendix A.7): the
//! deterministic interval from the session bandwidth, RTCP's 5 % share split
//! between senders and receivers, randomised over [0.5, 1.5) and divided by
//! e − 3/2, with timer reconsideration. Sans-IO: time is passed in and the
//! randomness comes from a seed.

use std::time::{Duration, Instant};

/// RFC 3550 §6.3.1: the compensation for timer reconsideration's bias.
const COMPENSATION: f64 = core::f64::consts::E - 1.5;
/// RFC 3550 §6.2: senders get a quarter of the RTCP bandwidth when they are
/// at most a quarter of the members.
const SENDER_FRACTION: f64 = 0.25;

/// Parameters of the interval computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtcpIntervalConfig {
    /// Session bandwidth in bits per second (the sum of the senders'
    /// nominal rates, RFC 3550 §6.2).
    pub session_bandwidth_bps: u64,
    /// Fraction of it RTCP may use (RFC 3550 §6.2: 5 %).
    pub rtcp_fraction: f64,
    /// Minimum deterministic interval. RFC 3550 §6.2 recommends 5 s; it
    /// allows a reduced minimum of 360 / (session bandwidth in kb/s) s, and
    /// WebRTC (libwebrtc) uses 1 s for video and 5 s for audio.
    pub min_interval: Duration,
    /// Halve the minimum before the first report (RFC 3550 §6.2).
    pub halve_initial_minimum: bool,
}

impl Default for RtcpIntervalConfig {
    fn default() -> Self {
        Self {
            session_bandwidth_bps: 1_000_000,
            rtcp_fraction: 0.05,
            min_interval: Duration::from_secs(5),
            halve_initial_minimum: true,
        }
    }
}

impl RtcpIntervalConfig {
    /// RFC 3550 §6.2's reduced minimum, 360 / session bandwidth in kb/s
    /// seconds (e.g. 0.36 s at 1 Mb/s).
    pub fn reduced_minimum(session_bandwidth_bps: u64) -> Duration {
        if session_bandwidth_bps == 0 {
            return Duration::from_secs(5);
        }
        Duration::from_secs_f64(360_000.0 / session_bandwidth_bps as f64)
    }
}

/// Who is in the session, as the caller's member table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// Members, this participant included (at least 1).
    pub members: u32,
    /// Members that sent RTP since the last two reports (RFC 3550 §6.3).
    pub senders: u32,
    /// Whether this participant is one of them.
    pub we_sent: bool,
}

/// RFC 3550 Appendix A.7 `rtcp_interval`, with the random factor `r` in
/// [0, 1) given explicitly.
pub fn rtcp_interval(
    config: &RtcpIntervalConfig,
    who: Membership,
    avg_rtcp_size: f64,
    initial: bool,
    r: f64,
) -> Duration {
    let mut min = config.min_interval.as_secs_f64();
    if initial && config.halve_initial_minimum {
        min /= 2.0;
    }
    // Bytes per second available to RTCP.
    let mut bw = config.session_bandwidth_bps as f64 / 8.0 * config.rtcp_fraction;
    let mut n = f64::from(who.members.max(1));
    let senders = f64::from(who.senders);
    if senders <= n * SENDER_FRACTION {
        if who.we_sent {
            bw *= SENDER_FRACTION;
            n = senders.max(1.0);
        } else {
            bw *= 1.0 - SENDER_FRACTION;
            n = (n - senders).max(1.0);
        }
    }
    let mut t = if bw > 0.0 {
        avg_rtcp_size * n / bw
    } else {
        f64::INFINITY
    };
    if t < min {
        t = min;
    }
    let t = t * (r.clamp(0.0, 1.0) + 0.5) / COMPENSATION;
    // An hour caps a zero-bandwidth configuration.
    Duration::from_secs_f64(t.min(3600.0))
}

/// A sans-IO RTCP transmission timer (RFC 3550 §6.3) with timer
/// reconsideration.
#[derive(Debug, Clone)]
pub struct RtcpScheduler {
    config: RtcpIntervalConfig,
    avg_rtcp_size: f64,
    initial: bool,
    last_sent: Instant,
    next: Instant,
    rng: u64,
}

impl RtcpScheduler {
    /// Starts the timer at `now` (RFC 3550 §6.3.2: tp = now, tn = now + T
    /// with the initial, halved minimum). `avg_rtcp_size` seeds the average
    /// compound size in bytes including UDP/IP overhead; `seed` drives the
    /// randomisation.
    pub fn new(
        config: RtcpIntervalConfig,
        now: Instant,
        who: Membership,
        avg_rtcp_size: f64,
        seed: u64,
    ) -> Self {
        let mut s = Self {
            config,
            avg_rtcp_size,
            initial: true,
            last_sent: now,
            next: now,
            rng: seed,
        };
        let t = s.draw(who);
        s.next = now + t;
        s
    }

    /// splitmix64, mapped to [0, 1).
    fn random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn draw(&mut self, who: Membership) -> Duration {
        let r = self.random();
        rtcp_interval(&self.config, who, self.avg_rtcp_size, self.initial, r)
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Instant {
        self.next
    }

    /// The current average compound RTCP size in bytes.
    pub fn avg_rtcp_size(&self) -> f64 {
        self.avg_rtcp_size
    }

    /// RFC 3550 §6.3.6: at the timer, recompute the interval from the last
    /// transmission; returns true if a report is due now (the caller sends
    /// it and calls [`Self::on_sent`]), otherwise reschedules.
    pub fn handle_timeout(&mut self, now: Instant, who: Membership) -> bool {
        if now < self.next {
            return false;
        }
        let t = self.draw(who);
        let due = self.last_sent + t;
        if due <= now {
            true
        } else {
            self.next = due;
            false
        }
    }

    /// Records a sent compound packet of `size` bytes (with UDP/IP
    /// overhead) and schedules the next one.
    pub fn on_sent(&mut self, now: Instant, size: usize, who: Membership) {
        self.update_avg(size);
        self.initial = false;
        self.last_sent = now;
        let t = self.draw(who);
        self.next = now + t;
    }

    /// RFC 3550 §6.3.3: folds a received compound packet's size into the
    /// average.
    pub fn on_received(&mut self, size: usize) {
        self.update_avg(size);
    }

    fn update_avg(&mut self, size: usize) {
        self.avg_rtcp_size = size as f64 / 16.0 + self.avg_rtcp_size * 15.0 / 16.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    fn origin() -> Instant {
        Instant::now()
    }

    fn two_party(we_sent: bool) -> Membership {
        Membership {
            members: 2,
            senders: 2,
            we_sent,
        }
    }

    #[test]
    fn interval_follows_rfc3550_a7() {
        let c = RtcpIntervalConfig::default();
        // Small session at 1 Mb/s: 5 % is 6250 B/s, so the 5 s minimum rules;
        // r = 0.5 gives the factor 1 and T = 5 / (e - 1.5).
        let t = rtcp_interval(&c, two_party(true), 100.0, false, 0.5);
        assert!((t.as_secs_f64() - 5.0 / COMPENSATION).abs() < 1e-9);
        // Initial: the minimum is halved.
        let t = rtcp_interval(&c, two_party(true), 100.0, true, 0.5);
        assert!((t.as_secs_f64() - 2.5 / COMPENSATION).abs() < 1e-9);
        // Randomisation bounds: [0.5, 1.5) of the deterministic value.
        let lo = rtcp_interval(&c, two_party(true), 100.0, false, 0.0);
        let hi = rtcp_interval(&c, two_party(true), 100.0, false, 0.999_999);
        assert!((lo.as_secs_f64() * 3.0 - hi.as_secs_f64()).abs() < 1e-3);
    }

    #[test]
    fn large_session_scales_with_members_and_sender_share() {
        let c = RtcpIntervalConfig {
            min_interval: Duration::ZERO,
            ..Default::default()
        };
        // 1000 receivers, 10 senders, 200-byte reports, 6250 B/s of RTCP.
        let recv = Membership {
            members: 1010,
            senders: 10,
            we_sent: false,
        };
        let t = rtcp_interval(&c, recv, 200.0, false, 0.5).as_secs_f64();
        let want = 200.0 * 1000.0 / (6250.0 * 0.75) / COMPENSATION;
        assert!((t - want).abs() < 1e-6, "{t} vs {want}");
        let send = Membership {
            we_sent: true,
            ..recv
        };
        let t = rtcp_interval(&c, send, 200.0, false, 0.5).as_secs_f64();
        let want = 200.0 * 10.0 / (6250.0 * 0.25) / COMPENSATION;
        assert!((t - want).abs() < 1e-6, "{t} vs {want}");
        assert_eq!(
            RtcpIntervalConfig::reduced_minimum(1_000_000),
            Duration::from_millis(360)
        );
    }

    #[test]
    fn scheduler_is_deterministic_and_respects_the_minimum() {
        let start = origin();
        let c = RtcpIntervalConfig {
            min_interval: Duration::from_secs(1),
            ..Default::default()
        };
        let who = two_party(true);
        let mut a = RtcpScheduler::new(c, start, who, 100.0, 42);
        let b = RtcpScheduler::new(c, start, who, 100.0, 42);
        assert_eq!(a.poll_timeout(), b.poll_timeout());
        // First report within [0.25, 0.75) s / (e - 1.5) of the start.
        let first = a.poll_timeout() - start;
        assert!(first >= Duration::from_secs_f64(0.25 / COMPENSATION));
        assert!(first < Duration::from_secs_f64(0.75 / COMPENSATION));
        // Simulate 1000 reports. Reconsideration redraws at each expiry and
        // waits for the later of the draws, which is the bias e - 3/2
        // compensates (RFC 3550 §6.3.1): the mean comes back to the 1 s
        // minimum, and no gap is shorter than 0.5 / (e - 1.5) of it.
        let mut now = a.poll_timeout();
        let mut sent = 0;
        let mut last = now;
        let mut total = Duration::ZERO;
        while sent < 1000 {
            if a.handle_timeout(now, who) {
                if sent > 0 {
                    let gap = now - last;
                    assert!(
                        gap >= Duration::from_secs_f64(0.5 / COMPENSATION)
                            - Duration::from_millis(1)
                    );
                    total += gap;
                }
                last = now;
                a.on_sent(now, 100, who);
                sent += 1;
            }
            now = a.poll_timeout();
        }
        let mean = total.as_secs_f64() / 999.0;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        // Too early: nothing due.
        assert!(!a.handle_timeout(now - Duration::from_millis(1), who));
    }

    #[test]
    fn average_size_moves_by_one_sixteenth() {
        let start = origin();
        let mut s = RtcpScheduler::new(
            RtcpIntervalConfig::default(),
            start,
            two_party(false),
            100.0,
            1,
        );
        s.on_received(260);
        assert!((s.avg_rtcp_size() - 110.0).abs() < 1e-9);
    }
}
