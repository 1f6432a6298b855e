//! Probing: sending a short cluster of packets faster than the estimate
//! to measure what the path takes, as libwebrtc's `ProbeController` and
//! `ProbeBitrateEstimator` do.
//!
//! - At the start, clusters at 3× and 6× the start rate; while a probe
//!   comes back near what it was sent at, the next goes at 2× (up to the
//!   maximum), so a 3 Mbit/s path is found within about a second.
//! - After a large drop (the estimate falling under 66% of what it was),
//!   once the path recovers, one probe at 85% of the rate before the drop.
//! - On the application's demand (a new encoding to send).
//! - Every [`PERIODIC`] while the path looks steady and the sender uses
//!   what it has, at 2× the estimate: a capacity that grew is found in
//!   seconds, where additive increase alone takes tens of seconds. A
//!   probe costs 15 ms at twice the rate (about 1% of the traffic).
//!
//! A cluster's estimate is the lower of its send rate and its receive
//! rate (a receive rate well under the send rate means the cluster
//! saturated the link: 95% of the receive rate).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::{Bitrate, PacketResult, ProbeCluster};

/// A probe cluster lasts about this long at its rate.
const CLUSTER_DURATION: Duration = Duration::from_millis(15);
const MIN_PACKETS: usize = 5;
/// A probe that measured this fraction of its rate probes further.
const PROBE_FURTHER: f64 = 0.7;
const DROP_THRESHOLD: f64 = 0.66;
const AFTER_DROP: f64 = 0.85;
/// A drop is remembered this long.
const DROP_MEMORY: Duration = Duration::from_secs(5);
/// Steady-state probes go this often.
const PERIODIC: Duration = Duration::from_secs(3);
/// Clusters we wait for at most (their feedback may be lost).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Pending {
    cluster: ProbeCluster,
    sent_at: Option<Instant>,
    results: Vec<PacketResult>,
}

#[derive(Debug, Default)]
pub(crate) struct Probes {
    next_id: u32,
    queue: VecDeque<ProbeCluster>,
    pending: Vec<Pending>,
    /// Probe further when a result reaches this.
    further_above: Option<Bitrate>,
    started: bool,
    before_drop: Option<(Bitrate, Instant)>,
    /// The highest estimate lately, and when.
    peak: Option<(Bitrate, Instant)>,
    last_cluster_at: Option<Instant>,
    pub max: Bitrate,
    /// Clusters sent and results obtained.
    pub sent: u64,
    pub succeeded: u64,
}

impl Probes {
    pub fn new(max: Bitrate) -> Self {
        Probes {
            max,
            ..Default::default()
        }
    }

    fn cluster(&mut self, bitrate: Bitrate) {
        let bitrate = bitrate.min(self.max);
        self.next_id = self.next_id.wrapping_add(1);
        let min_bytes = bitrate.bytes_in(CLUSTER_DURATION).max(1.0) as usize;
        self.queue.push_back(ProbeCluster {
            id: self.next_id,
            bitrate,
            min_bytes,
            min_packets: MIN_PACKETS,
        });
    }

    /// The start: clusters at 3× and 6× `start`.
    pub fn start(&mut self, start: Bitrate) {
        if self.started {
            return;
        }
        self.started = true;
        self.cluster(start.scale(3.0));
        self.cluster(start.scale(6.0));
        self.further_above = Some(start.scale(6.0 * PROBE_FURTHER));
    }

    /// The link grew past the capacity seen before: probe at twice the
    /// estimate, and further while that succeeds.
    pub fn on_growth(&mut self, estimate: Bitrate) {
        if self.queue.is_empty() && self.pending.is_empty() {
            self.cluster(estimate.scale(2.0));
            self.further_above = Some(estimate.scale(2.0 * PROBE_FURTHER));
        }
    }

    /// A steady-state probe if one is due.
    pub fn periodic(&mut self, now: Instant, estimate: Bitrate) {
        let due = self
            .last_cluster_at
            .is_some_and(|t| now.saturating_duration_since(t) >= PERIODIC);
        if due && self.queue.is_empty() && self.pending.is_empty() && estimate < self.max {
            self.cluster(estimate.scale(2.0));
            self.further_above = Some(estimate.scale(2.0 * PROBE_FURTHER));
        }
    }

    pub fn request(&mut self, bitrate: Bitrate, estimate: Bitrate) {
        if bitrate > estimate && self.queue.is_empty() {
            self.cluster(bitrate);
        }
    }

    pub fn poll(&mut self, now: Instant) -> Option<ProbeCluster> {
        let c = self.queue.pop_front()?;
        self.sent += 1;
        self.last_cluster_at = Some(now);
        self.pending.push(Pending {
            cluster: c,
            sent_at: Some(now),
            results: Vec::new(),
        });
        Some(c)
    }

    /// The estimate moved (with whether the path looks fine now).
    pub fn on_estimate(&mut self, now: Instant, estimate: Bitrate, path_ok: bool) {
        // The peak of the last few seconds: a drop may come in one step
        // or in several (pushback without feedback).
        let peak = match self.peak {
            Some((p, at)) if p >= estimate && now.saturating_duration_since(at) <= DROP_MEMORY => {
                (p, at)
            }
            _ => (estimate, now),
        };
        self.peak = Some(peak);
        if estimate < peak.0.scale(DROP_THRESHOLD) && self.before_drop.is_none() {
            self.before_drop = Some((peak.0, now));
        }
        if let Some((before, at)) = self.before_drop {
            let age = now.saturating_duration_since(at);
            if age > DROP_MEMORY {
                self.before_drop = None;
            } else if path_ok
                && age > Duration::from_secs(1)
                && estimate < before.scale(AFTER_DROP)
                && self.queue.is_empty()
            {
                self.before_drop = None;
                self.cluster(before.scale(AFTER_DROP));
                self.further_above = None;
            }
        }
    }

    /// Feedback for probe packets; an estimate when a cluster is complete.
    pub fn on_result(&mut self, now: Instant, r: &PacketResult) -> Option<Bitrate> {
        self.pending.retain(|p| {
            p.sent_at
                .is_none_or(|t| now.saturating_duration_since(t) < PROBE_TIMEOUT)
        });
        let id = r.sent.probe_cluster?;
        let i = self.pending.iter().position(|p| p.cluster.id == id)?;
        let p = &mut self.pending[i];
        if r.received_us.is_some() {
            p.results.push(*r);
        }
        let bytes: usize = p.results.iter().map(|r| r.sent.size).sum();
        let enough = p.results.len() * 10 >= p.cluster.min_packets * 8
            && bytes * 10 >= p.cluster.min_bytes * 8;
        if !enough {
            return None;
        }
        let est = estimate(&p.results)?;
        let c = p.cluster;
        self.pending.remove(i);
        self.succeeded += 1;
        if self.further_above.is_some_and(|f| est >= f)
            && c.bitrate < self.max
            && self.queue.is_empty()
        {
            self.cluster(est.scale(2.0));
            self.further_above = Some(est.scale(2.0 * PROBE_FURTHER));
        } else if c.bitrate.scale(PROBE_FURTHER) > est {
            self.further_above = None;
        }
        Some(est)
    }
}

/// A cluster's estimate from its received packets.
fn estimate(results: &[PacketResult]) -> Option<Bitrate> {
    let first_send = results.iter().map(|r| r.sent.sent_at).min()?;
    let last_send = results.iter().map(|r| r.sent.sent_at).max()?;
    let recv: Vec<(i64, usize)> = results
        .iter()
        .filter_map(|r| r.received_us.map(|t| (t, r.sent.size)))
        .collect();
    let first_recv = recv.iter().min_by_key(|x| x.0)?;
    let last_recv = recv.iter().max_by_key(|x| x.0)?;
    let send_interval = last_send.saturating_duration_since(first_send);
    let recv_interval =
        Duration::from_micros(last_recv.0.saturating_sub(first_recv.0).max(0) as u64);
    if send_interval.is_zero()
        || recv_interval.is_zero()
        || send_interval > PROBE_TIMEOUT
        || recv_interval > PROBE_TIMEOUT
    {
        return None;
    }
    let total: usize = results.iter().map(|r| r.sent.size).sum();
    let last_sent_size = results.iter().max_by_key(|r| r.sent.sent_at)?.sent.size;
    let send_rate =
        Bitrate::from_bytes_over(total.saturating_sub(last_sent_size) as u64, send_interval)?;
    let recv_rate =
        Bitrate::from_bytes_over(total.saturating_sub(first_recv.1) as u64, recv_interval)?;
    if recv_rate.as_f64() > 2.0 * send_rate.as_f64() {
        // Not a measurement of the path.
        return None;
    }
    if recv_rate.as_f64() < 0.9 * send_rate.as_f64() {
        return Some(recv_rate.scale(0.95));
    }
    Some(send_rate.min(recv_rate))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;
    use crate::SentPacket;

    fn results(id: u32, n: usize, send_gap_us: u64, recv_gap_us: i64) -> Vec<PacketResult> {
        let t0 = Instant::now();
        (0..n)
            .map(|i| PacketResult {
                sent: SentPacket {
                    seq: i as u64,
                    size: 1000,
                    sent_at: t0 + Duration::from_micros(send_gap_us * i as u64),
                    probe_cluster: Some(id),
                },
                received_us: Some(1_000_000 + recv_gap_us * i as i64),
            })
            .collect()
    }

    #[test]
    fn a_cluster_measures_the_lower_of_send_and_receive_rate() {
        // Sent at 8 Mbit/s (1000 B per ms), received at 4 Mbit/s.
        let r = results(1, 10, 1000, 2000);
        let e = estimate(&r).unwrap().as_f64();
        assert!((3.7e6..3.9e6).contains(&e), "{e}");
        // Received as sent.
        let r = results(1, 10, 1000, 1000);
        let e = estimate(&r).unwrap().as_f64();
        assert!((7.9e6..8.1e6).contains(&e), "{e}");
    }

    #[test]
    fn the_start_probes_at_3_and_6_times_and_further_while_they_succeed() {
        let t0 = Instant::now();
        let mut p = Probes::new(Bitrate::kbps(20_000));
        p.start(Bitrate::kbps(300));
        let a = p.poll(t0).unwrap();
        let b = p.poll(t0).unwrap();
        assert_eq!(
            (a.bitrate, b.bitrate),
            (Bitrate::kbps(900), Bitrate::kbps(1800))
        );
        assert!(p.poll(t0).is_none());
        // The 1.8 Mbit/s cluster comes back at 1.8: probe at 3.6.
        let mut est = None;
        for r in results(b.id, 8, 4444, 4444) {
            est = p.on_result(t0, &r).or(est);
        }
        let est = est.unwrap().as_f64();
        assert!((1.7e6..1.9e6).contains(&est), "{est}");
        let c = p.poll(t0).unwrap();
        assert!(c.bitrate.as_f64() > 3.4e6, "{}", c.bitrate);
    }

    #[test]
    fn after_a_large_drop_one_probe_once_the_path_recovers() {
        let t0 = Instant::now();
        let mut p = Probes::new(Bitrate::kbps(20_000));
        p.on_estimate(t0, Bitrate::kbps(2000), true);
        p.on_estimate(t0 + Duration::from_millis(100), Bitrate::kbps(600), false);
        assert!(p.poll(t0).is_none());
        p.on_estimate(t0 + Duration::from_millis(1500), Bitrate::kbps(700), true);
        let c = p.poll(t0).unwrap();
        assert_eq!(c.bitrate, Bitrate::kbps(1700));
        p.on_estimate(t0 + Duration::from_millis(1600), Bitrate::kbps(700), true);
        assert!(p.poll(t0).is_none(), "once");
    }
}
