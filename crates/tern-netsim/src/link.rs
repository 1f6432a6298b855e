//! One direction of a host's access link: latency, jitter, loss (random and
//! Gilbert-Elliott bursts), reordering, duplication, a rate limit with a
//! bounded drop-tail queue, and an MTU.

use std::time::{Duration, Instant};

use tern_crypto::Random;

/// The two-state Gilbert-Elliott burst-loss model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// P(good → bad) per packet.
    pub p_good_to_bad: f64,
    /// P(bad → good) per packet.
    pub p_bad_to_good: f64,
    /// Loss probability while good.
    pub loss_good: f64,
    /// Loss probability while bad.
    pub loss_bad: f64,
}

impl GilbertElliott {
    /// Bursts with mean length `mean_burst` packets and long-run loss near
    /// `loss` (all packets lost while bad, none while good).
    pub fn bursty(loss: f64, mean_burst: f64) -> Self {
        let r = 1.0 / mean_burst.max(1.0);
        // Stationary P(bad) = p / (p + r) = loss  =>  p = loss * r / (1 - loss).
        let p = loss * r / (1.0 - loss).max(1e-9);
        GilbertElliott {
            p_good_to_bad: p,
            p_bad_to_good: r,
            loss_good: 0.0,
            loss_bad: 1.0,
        }
    }
}

/// How one direction of a link treats packets.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Fixed one-way delay.
    pub latency: Duration,
    /// Extra uniform random delay in `[0, jitter]` (may reorder).
    pub jitter: Duration,
    /// Independent random loss probability.
    pub loss: f64,
    /// Burst loss on top of `loss`.
    pub burst_loss: Option<GilbertElliott>,
    /// Probability that a packet is held back by `reorder_delay` (so later ones overtake it).
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_delay: Duration,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Bottleneck rate in bits per second (`None`: unlimited).
    pub rate_bps: Option<u64>,
    /// Queue in front of the bottleneck, bytes; arrivals that do not fit are dropped.
    pub queue_bytes: usize,
    /// Largest datagram (UDP payload) that passes.
    pub mtu: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(5),
            jitter: Duration::ZERO,
            loss: 0.0,
            burst_loss: None,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(10),
            duplicate: 0.0,
            rate_bps: None,
            queue_bytes: 256 * 1024,
            mtu: 1500,
        }
    }
}

impl LinkConfig {
    /// A clean link with `latency` each way.
    pub fn with_latency(latency: Duration) -> Self {
        LinkConfig {
            latency,
            ..Default::default()
        }
    }
}

/// Why a packet did not make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Random or burst loss.
    Loss,
    /// The bottleneck queue was full.
    QueueFull,
    /// Larger than the MTU.
    Mtu,
    /// No host or NAT owns the destination address.
    NoRoute,
    /// A NAT had no mapping for it, or its filter refused the source.
    NatFiltered,
    /// Sent to the NAT's own public address from inside with hairpinning off.
    NoHairpin,
}

/// Per-direction mutable state.
#[derive(Debug, Clone)]
pub(crate) struct LinkState {
    pub config: LinkConfig,
    busy_until: Option<Instant>,
    in_bad_state: bool,
}

/// What the link decided for one packet.
pub(crate) enum Fate {
    /// Arrives after these delays (one entry, or two when duplicated).
    Deliver {
        at: Instant,
        duplicate_at: Option<Instant>,
    },
    Drop(DropReason),
}

impl LinkState {
    pub fn new(config: LinkConfig) -> Self {
        LinkState {
            config,
            busy_until: None,
            in_bad_state: false,
        }
    }

    /// Decides the fate of a `len`-byte packet entering the link at `now`.
    pub fn transit(&mut self, now: Instant, len: usize, rng: &mut dyn Random) -> Fate {
        let c = &self.config;
        if len > c.mtu {
            return Fate::Drop(DropReason::Mtu);
        }
        // Burst state advances once per packet, whether or not it is lost.
        if let Some(ge) = c.burst_loss {
            let flip = if self.in_bad_state {
                ge.p_bad_to_good
            } else {
                ge.p_good_to_bad
            };
            if rng.unit_f64() < flip {
                self.in_bad_state = !self.in_bad_state;
            }
            let p = if self.in_bad_state {
                ge.loss_bad
            } else {
                ge.loss_good
            };
            if rng.unit_f64() < p {
                return Fate::Drop(DropReason::Loss);
            }
        }
        if c.loss > 0.0 && rng.unit_f64() < c.loss {
            return Fate::Drop(DropReason::Loss);
        }
        let mut depart = now;
        if let Some(rate) = c.rate_bps.filter(|r| *r > 0) {
            let start = self.busy_until.map_or(now, |b| b.max(now));
            let backlog = start.saturating_duration_since(now);
            let queued_bytes = (backlog.as_secs_f64() * rate as f64 / 8.0) as usize;
            if queued_bytes + len > c.queue_bytes {
                return Fate::Drop(DropReason::QueueFull);
            }
            let tx = Duration::from_secs_f64(len as f64 * 8.0 / rate as f64);
            depart = start + tx;
            self.busy_until = Some(depart);
        }
        let mut at = depart + c.latency;
        if !c.jitter.is_zero() {
            at += c.jitter.mul_f64(rng.unit_f64());
        }
        if c.reorder > 0.0 && rng.unit_f64() < c.reorder {
            at += c.reorder_delay;
        }
        let duplicate_at = (c.duplicate > 0.0 && rng.unit_f64() < c.duplicate)
            .then(|| at + Duration::from_micros(1 + rng.below(1000)));
        Fate::Deliver { at, duplicate_at }
    }
}

#[cfg(test)]
// Tests need an arbitrary origin for virtual time; only differences matter.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use tern_crypto::SeededRandom;

    #[test]
    fn loss_rate_is_close_to_configured() {
        let mut l = LinkState::new(LinkConfig {
            loss: 0.2,
            ..Default::default()
        });
        let mut rng = SeededRandom::new(1);
        let t = Instant::now();
        let lost = (0..10_000)
            .filter(|_| matches!(l.transit(t, 100, &mut rng), Fate::Drop(_)))
            .count();
        assert!((1800..2200).contains(&lost), "{lost}");
    }

    #[test]
    fn gilbert_elliott_is_bursty_with_target_loss() {
        let mut l = LinkState::new(LinkConfig {
            burst_loss: Some(GilbertElliott::bursty(0.05, 10.0)),
            ..Default::default()
        });
        let mut rng = SeededRandom::new(2);
        let t = Instant::now();
        let fates: Vec<bool> = (0..100_000)
            .map(|_| matches!(l.transit(t, 100, &mut rng), Fate::Drop(_)))
            .collect();
        let lost = fates.iter().filter(|x| **x).count();
        let bursts = fates.windows(2).filter(|w| !w[0] && w[1]).count();
        let mean_burst = lost as f64 / bursts as f64;
        assert!((4000..6000).contains(&lost), "{lost}");
        assert!(mean_burst > 6.0, "mean burst {mean_burst}");
    }

    #[test]
    fn rate_limit_spaces_packets_and_queue_drops() {
        let mut l = LinkState::new(LinkConfig {
            latency: Duration::ZERO,
            rate_bps: Some(8_000_000), // 1 byte per microsecond
            queue_bytes: 10_000,
            ..Default::default()
        });
        let mut rng = SeededRandom::new(3);
        let t = Instant::now();
        let mut arrivals = Vec::new();
        let mut dropped = 0;
        for _ in 0..20 {
            match l.transit(t, 1000, &mut rng) {
                Fate::Deliver { at, .. } => arrivals.push(at - t),
                Fate::Drop(DropReason::QueueFull) => dropped += 1,
                Fate::Drop(_) => unreachable!(),
            }
        }
        assert_eq!(arrivals[0], Duration::from_micros(1000));
        assert_eq!(arrivals[1], Duration::from_micros(2000));
        assert_eq!(arrivals.len(), 10);
        assert_eq!(dropped, 10);
    }

    #[test]
    fn mtu_drops_large_packets() {
        let mut l = LinkState::new(LinkConfig {
            mtu: 576,
            ..Default::default()
        });
        let mut rng = SeededRandom::new(4);
        assert!(matches!(
            l.transit(Instant::now(), 577, &mut rng),
            Fate::Drop(DropReason::Mtu)
        ));
        assert!(matches!(
            l.transit(Instant::now(), 576, &mut rng),
            Fate::Deliver { .. }
        ));
    }
}
