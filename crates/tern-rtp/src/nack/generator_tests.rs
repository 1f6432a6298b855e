use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn feed(g: &mut NackGenerator, now: Instant, seqs: &[u16]) -> Vec<PacketOutcome> {
    seqs.iter().map(|&s| g.on_packet(now, SeqNo(s))).collect()
}

#[test]
fn first_nack_after_reorder_delay_then_retries_every_rtt() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    assert_eq!(g.poll_timeout(), None);
    let out = feed(&mut g, t0, &[0, 1, 3]);
    assert_eq!(
        out,
        [
            PacketOutcome::InOrder,
            PacketOutcome::InOrder,
            PacketOutcome::Gap { missing: 1 }
        ]
    );
    assert!(g.is_missing(SeqNo(2)));
    // One later packet only: wait for the reorder delay.
    assert_eq!(g.poll_timeout(), Some(t0 + ms(10)));
    assert_eq!(g.poll_nack(t0 + ms(9)), None);
    assert_eq!(g.poll_nack(t0 + ms(10)), Some(vec![SeqNo(2)]));
    assert_eq!(g.poll_timeout(), Some(t0 + ms(110)));
    assert_eq!(g.poll_nack(t0 + ms(109)), None);
    g.set_rtt(ms(50));
    assert_eq!(g.poll_nack(t0 + ms(60)), Some(vec![SeqNo(2)]));
    assert_eq!(
        g.on_packet(t0 + ms(70), SeqNo(2)),
        PacketOutcome::Recovered { nacks: 2 }
    );
    assert_eq!(g.poll_timeout(), None);
    assert_eq!(g.poll_nack(t0 + ms(500)), None);
    let s = g.stats();
    assert_eq!((s.nacks_sent, s.packets_recovered, s.given_up), (2, 1, 0));
}

#[test]
fn reordered_packet_is_never_nacked() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    feed(&mut g, t0, &[0, 1, 3]);
    assert_eq!(g.on_packet(t0 + ms(2), SeqNo(2)), PacketOutcome::Reordered);
    assert_eq!(g.poll_nack(t0 + ms(100)), None);
    assert_eq!(g.stats().packets_reordered, 1);
    assert_eq!(g.on_packet(t0, SeqNo(2)), PacketOutcome::Duplicate);
    assert_eq!(g.on_packet(t0, SeqNo(3)), PacketOutcome::Duplicate);
}

#[test]
fn enough_later_packets_make_it_due_at_once() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    feed(&mut g, t0, &[10, 12]);
    assert_eq!(g.poll_nack(t0), None);
    feed(&mut g, t0, &[13]);
    assert_eq!(g.poll_timeout(), Some(t0));
    assert_eq!(g.poll_nack(t0), Some(vec![SeqNo(11)]));
}

#[test]
fn gaps_across_the_wrap() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    feed(&mut g, t0, &[65533, 65534, 1, 2]);
    assert_eq!(g.poll_nack(t0), Some(vec![SeqNo(65535), SeqNo(0)]));
    assert_eq!(
        g.on_packet(t0, SeqNo(0)),
        PacketOutcome::Recovered { nacks: 1 }
    );
    assert!(g.is_missing(SeqNo(65535)));
    assert!(!g.is_missing(SeqNo(0)));
}

#[test]
fn gives_up_after_the_retry_cap() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    feed(&mut g, t0, &[0, 2, 3]);
    let mut nacks = 0;
    let mut t = t0;
    while let Some(next) = g.poll_timeout() {
        t = next.max(t);
        if let Some(v) = g.poll_nack(t) {
            assert_eq!(v, [SeqNo(1)]);
            nacks += 1;
        }
        assert!(t < t0 + ms(5000), "never gave up");
    }
    assert_eq!(nacks, 10);
    assert_eq!(g.stats().given_up, 1);
    assert_eq!(g.missing_len(), 0);
    // Given up: an arrival now is just old.
    assert_eq!(g.on_packet(t, SeqNo(1)), PacketOutcome::Duplicate);
}

#[test]
fn gives_up_when_too_old() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    g.set_rtt(ms(500));
    feed(&mut g, t0, &[0, 2, 3]);
    let mut nacks = Vec::new();
    let mut t = t0;
    while let Some(next) = g.poll_timeout() {
        t = next.max(t);
        if g.poll_nack(t).is_some() {
            nacks.push(t - t0);
        }
    }
    // Sent at 0, 0.5, 1.0, 1.5 s; gone at 2 s (max_age).
    assert_eq!(nacks, [ms(0), ms(500), ms(1000), ms(1500)]);
    assert_eq!(t - t0, ms(2000));
    assert_eq!(g.stats().given_up, 1);

    // By sequence distance.
    let mut g = NackGenerator::new(NackConfig {
        max_age_packets: 100,
        ..NackConfig::default()
    });
    feed(&mut g, t0, &[0, 2]);
    assert!(g.is_missing(SeqNo(1)));
    for s in 3..=101 {
        g.on_packet(t0, SeqNo(s));
    }
    // 100 ahead is still kept; 101 is too far.
    assert!(g.is_missing(SeqNo(1)));
    for s in 102..=102 {
        g.on_packet(t0, SeqNo(s));
    }
    assert_eq!(g.missing_len(), 0);
    assert_eq!(g.stats().given_up, 1);
}

#[test]
fn overflow_clears_and_asks_for_a_keyframe() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    feed(&mut g, t0, &[0]);
    assert_eq!(
        g.on_packet(t0, SeqNo(1000)),
        PacketOutcome::Gap { missing: 999 }
    );
    assert!(!g.poll_keyframe_request());
    assert_eq!(g.on_packet(t0, SeqNo(1003)), PacketOutcome::KeyframeNeeded);
    assert_eq!(g.missing_len(), 0);
    assert_eq!(g.poll_timeout(), None);
    assert!(g.poll_keyframe_request());
    assert!(!g.poll_keyframe_request());
    let s = g.stats();
    assert_eq!((s.cleared, s.keyframe_requests), (999, 1));
    // Normal service resumes after.
    assert_eq!(
        g.on_packet(t0, SeqNo(1005)),
        PacketOutcome::Gap { missing: 1 }
    );
}

#[test]
fn clear_up_to_drops_older_entries() {
    let t0 = origin();
    let mut g = NackGenerator::default();
    feed(&mut g, t0, &[0, 2, 4, 6]);
    assert_eq!(g.missing_len(), 3);
    g.clear_up_to(SeqNo(4));
    assert!(!g.is_missing(SeqNo(1)));
    assert!(!g.is_missing(SeqNo(3)));
    assert!(g.is_missing(SeqNo(5)));
    assert_eq!(g.stats().cleared, 2);
}

/// A small deterministic generator for the simulation.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, p_percent: u64) -> bool {
        self.next() % 100 < p_percent
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random loss (of originals and retransmissions) and reordering: every
    /// detectable loss is NACKed, nothing already received is NACKed, retries
    /// are at least one RTT apart, the cap holds, the list stays bounded and
    /// every missing packet is accounted for at the end.
    #[test]
    fn random_loss_and_reordering(
        seed in 1u64..u64::MAX,
        start in any::<u16>(),
        n in 50u64..1200,
        loss in 0u64..40,
        jitter_ms in 0u64..30,
        cap in 1u8..=10,
    ) {
        let mut rng = Rng(seed);
        let t0 = origin();
        let rtt = ms(40);
        let cfg = NackConfig {
            max_nacks_per_packet: cap,
            ..NackConfig::default()
        };
        let mut g = NackGenerator::new(cfg);
        g.set_rtt(rtt);
        // Arrivals by time: (ms, packet index). Packets go out every 10 ms.
        let mut arrivals: BTreeMap<(u64, u64), ()> = BTreeMap::new();
        let mut lost_originals = HashSet::new();
        for i in 0..n {
            if rng.chance(loss) {
                lost_originals.insert(i);
            } else {
                let at = 10 * i + 20 + rng.below(jitter_ms + 1);
                arrivals.insert((at, i), ());
            }
        }
        let mut received = HashSet::new();
        let mut nacked: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut added = 0u64;
        let mut max_received: Option<u64> = None;
        let mut first_arrived: Option<u64> = None;
        let end = 10 * n + 20 + jitter_ms + 5000;
        let mut out = Vec::new();
        for t in 0..end {
            let now = t0 + ms(t);
            while let Some((&(at, i), _)) = arrivals.iter().next() {
                if at > t {
                    break;
                }
                arrivals.remove(&(at, i));
                received.insert(i);
                first_arrived.get_or_insert(i);
                max_received = Some(max_received.map_or(i, |m: u64| m.max(i)));
                if let PacketOutcome::Gap { missing } =
                    g.on_packet(now, SeqNo(start.wrapping_add(i as u16)))
                {
                    added += u64::from(missing);
                }
                prop_assert!(g.missing_len() <= cfg.max_list);
            }
            if g.poll_timeout().is_some_and(|d| d <= now) {
                out.clear();
                g.poll_nack_into(now, &mut out);
                for s in &out {
                    let i = u64::from(s.0.wrapping_sub(start));
                    prop_assert!(!received.contains(&i), "NACKed {} after it arrived", i);
                    let times = nacked.entry(i).or_default();
                    if let Some(&last) = times.last() {
                        prop_assert!(t - last >= 40, "retry of {} after {} ms", i, t - last);
                    }
                    times.push(t);
                    prop_assert!(times.len() <= usize::from(cfg.max_nacks_per_packet));
                    // The retransmission comes back one RTT later, unless lost.
                    if !rng.chance(loss) {
                        arrivals.insert((t + 40, i), ());
                    }
                }
            }
            if arrivals.is_empty() && g.poll_timeout().is_none() && t > 10 * n + 60 {
                break;
            }
        }
        prop_assert_eq!(g.missing_len(), 0, "still missing at the end");
        let max_received = max_received.unwrap_or(0);
        let first_arrived = first_arrived.unwrap_or(u64::MAX);
        // Detectable: after the generator's first packet, before the newest.
        for i in &lost_originals {
            if *i > first_arrived && *i < max_received {
                prop_assert!(nacked.contains_key(i), "lost packet {} never NACKed", i);
            }
        }
        let s = g.stats();
        prop_assert_eq!(
            s.packets_recovered + s.packets_reordered + s.given_up + s.cleared,
            added
        );
        prop_assert_eq!(s.nacks_sent, nacked.values().map(|v| v.len() as u64).sum::<u64>());
        prop_assert_eq!(s.keyframe_requests, 0);
    }
}
