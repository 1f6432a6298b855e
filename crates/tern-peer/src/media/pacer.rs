//! The pacer: every outgoing RTP packet waits here until it may leave.
//!
//! Leaky buckets decide when: one per sender whose encoding has a
//! `maxBitrate`, and one for the whole connection once a pacing rate is
//! set (the bandwidth estimator will set it). A bucket lets a packet go
//! while its debt is under a burst of [`BURST`] at its rate, and the debt
//! drains at the rate, so a capped sender leaves no faster than its cap
//! and never in bursts longer than a few milliseconds.
//!
//! What goes first when several wait: audio, then retransmissions, then
//! video (libwebrtc's order; padding will rank last). Within a sender,
//! media packets keep their order (sequence numbers go out in order) and
//! retransmissions keep theirs.
//!
//! The transport-wide sequence number is written as a packet leaves, so
//! it counts packets in the order they were sent, as a bandwidth estimator
//! needs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The burst a bucket allows, in time at its rate.
pub(crate) const BURST: Duration = Duration::from_millis(10);

/// What a packet is, for the order in which waiting packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    Audio = 0,
    Retransmission = 1,
    Video = 2,
}

/// One packet waiting: unprotected RTP with room for the SRTP tag.
#[derive(Debug)]
pub(crate) struct Queued {
    /// The transceiver index it belongs to.
    pub owner: usize,
    pub class: Class,
    pub buf: Vec<u8>,
    pub len: usize,
    pub queued_at: Instant,
    /// The probe cluster it left in (set by [`Pacer::pop`]).
    pub probe: Option<u32>,
}

/// A leaky bucket: debt in bytes, draining at `rate` bits per second.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    rate: u64,
    debt: f64,
    at: Option<Instant>,
}

impl Bucket {
    fn new(rate: u64) -> Self {
        Bucket {
            rate: rate.max(1),
            debt: 0.0,
            at: None,
        }
    }

    fn bytes_per_sec(&self) -> f64 {
        self.rate as f64 / 8.0
    }

    fn burst(&self) -> f64 {
        // At least one full packet, or a low rate could never send one.
        (self.bytes_per_sec() * BURST.as_secs_f64()).max(1200.0)
    }

    fn drain(&mut self, now: Instant) {
        if let Some(at) = self.at {
            let dt = now.saturating_duration_since(at).as_secs_f64();
            self.debt = (self.debt - dt * self.bytes_per_sec()).max(0.0);
        }
        self.at = Some(now);
    }

    /// When a packet may leave (now if it may).
    fn ready_at(&self, now: Instant) -> Instant {
        let mut b = *self;
        b.drain(now);
        let over = b.debt + 1.0 - b.burst();
        if over <= 0.0 {
            now
        } else {
            // Whole microseconds, at least one: a wake-up that comes a
            // hair early to float rounding would otherwise repeat at once.
            let us = (over / b.bytes_per_sec() * 1e6).ceil().max(1.0);
            now + Duration::from_micros(us as u64)
        }
    }

    fn charge(&mut self, now: Instant, bytes: usize) {
        self.drain(now);
        self.debt += bytes as f64;
    }
}

#[derive(Debug, Default)]
struct SenderQueue {
    media: VecDeque<Queued>,
    rtx: VecDeque<Queued>,
    cap: Option<Bucket>,
}

impl SenderQueue {
    fn head(&self) -> Option<&Queued> {
        // Retransmissions rank above video, not above audio.
        match (self.media.front(), self.rtx.front()) {
            (Some(m), Some(r)) if m.class < r.class => Some(m),
            (_, Some(r)) => Some(r),
            (m, None) => m,
        }
    }

    fn pop(&mut self) -> Option<Queued> {
        match (self.media.front(), self.rtx.front()) {
            (Some(m), Some(r)) if m.class < r.class => self.media.pop_front(),
            (_, Some(_)) => self.rtx.pop_front(),
            _ => self.media.pop_front(),
        }
    }
}

/// A probe cluster being sent.
#[derive(Debug, Clone, Copy)]
struct Probe {
    id: u32,
    bucket: Bucket,
    bytes: usize,
    packets: usize,
    min_bytes: usize,
    min_packets: usize,
    started: Instant,
}

/// The soft rate is raised so that what waits drains within this.
const SOFT_DRAIN: Duration = Duration::from_millis(250);
/// A probe that could not be completed in this long is given up.
const PROBE_LIMIT: Duration = Duration::from_millis(500);

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    senders: Vec<SenderQueue>,
    /// A rate the application set: packets wait for it however long.
    total: Option<Bucket>,
    /// The rate the bandwidth estimate sets: raised when packets would
    /// wait longer than [`SOFT_DRAIN`] (real-time media is not held back
    /// for an estimate, only smoothed).
    soft: Option<Bucket>,
    soft_base: u64,
    queued: usize,
    queued_bytes: usize,
    probe: Option<Probe>,
    /// Probe clusters completed and given up.
    pub probes_completed: u64,
    pub probes_abandoned: u64,
}

impl Pacer {
    fn sender(&mut self, owner: usize) -> &mut SenderQueue {
        if self.senders.len() <= owner {
            self.senders.resize_with(owner + 1, SenderQueue::default);
        }
        &mut self.senders[owner]
    }

    /// Caps one sender at `rate` bits per second (`None`: no cap).
    pub fn set_sender_cap(&mut self, owner: usize, rate: Option<u64>) {
        let s = self.sender(owner);
        match (rate, &mut s.cap) {
            (None, cap) => *cap = None,
            (Some(r), Some(b)) => b.rate = r.max(1),
            (Some(r), cap) => *cap = Some(Bucket::new(r)),
        }
    }

    /// Paces everything at `rate` bits per second (`None`: as fast as it
    /// comes, only sender caps apply).
    pub fn set_rate(&mut self, rate: Option<u64>) {
        match (rate, &mut self.total) {
            (None, t) => *t = None,
            (Some(r), Some(b)) => b.rate = r.max(1),
            (Some(r), t) => *t = Some(Bucket::new(r)),
        }
    }

    /// Paces at `rate` unless packets would wait longer than
    /// [`SOFT_DRAIN`] (`None`: no such rate).
    pub fn set_soft_rate(&mut self, rate: Option<u64>) {
        match rate {
            None => self.soft = None,
            Some(r) => {
                self.soft_base = r.max(1);
                self.soft.get_or_insert(Bucket::new(r)).rate = r.max(1);
            }
        }
    }

    /// The soft bucket at `now`: its rate raised so that what waits
    /// leaves before the oldest packet has waited [`SOFT_DRAIN`].
    fn soft_at(&self, now: Instant) -> Option<Bucket> {
        let mut b = self.soft?;
        let oldest = self
            .senders
            .iter()
            .flat_map(|s| [s.media.front(), s.rtx.front()])
            .flatten()
            .map(|q| q.queued_at)
            .min();
        if let Some(o) = oldest {
            let left = SOFT_DRAIN
                .saturating_sub(now.saturating_duration_since(o))
                .max(Duration::from_millis(5));
            let need = (self.queued_bytes as f64 * 8.0 / left.as_secs_f64()) as u64;
            b.rate = self.soft_base.max(need).max(1);
        }
        Some(b)
    }

    /// Sends a probe cluster: packets leave at its rate (instead of the
    /// soft rate) and are tagged with it, and padding fills it when no
    /// media waits, until it has its bytes and packets.
    pub fn start_probe(&mut self, now: Instant, c: &tern_cc::ProbeCluster) {
        self.probe = Some(Probe {
            id: c.id,
            bucket: Bucket::new(c.bitrate.as_bps()),
            bytes: 0,
            packets: 0,
            min_bytes: c.min_bytes,
            min_packets: c.min_packets,
            started: now,
        });
    }

    /// Whether a probe is being sent.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    fn charge_probe(&mut self, now: Instant, len: usize) -> Option<u32> {
        let p = self.probe.as_mut()?;
        p.bucket.charge(now, len);
        p.bytes += len;
        p.packets += 1;
        let id = p.id;
        if p.bytes >= p.min_bytes && p.packets >= p.min_packets {
            self.probe = None;
            self.probes_completed += 1;
        }
        Some(id)
    }

    /// When the probe wants a padding packet: nothing waits and its rate
    /// allows one now. The cluster id.
    pub fn padding_due(&mut self, now: Instant) -> Option<u32> {
        let p = self.probe?;
        if now.saturating_duration_since(p.started) > PROBE_LIMIT {
            self.probe = None;
            self.probes_abandoned += 1;
            return None;
        }
        if self.queued > 0 {
            return None;
        }
        let ready = p
            .bucket
            .ready_at(now)
            .max(self.total.map_or(now, |b| b.ready_at(now)));
        (ready <= now).then_some(p.id)
    }

    /// Gives the probe up (nothing can carry its padding).
    pub fn abandon_probe(&mut self) {
        if self.probe.take().is_some() {
            self.probes_abandoned += 1;
        }
    }

    /// A padding packet of `len` bytes left for the probe.
    pub fn charge_padding(&mut self, now: Instant, len: usize) {
        if let Some(b) = &mut self.total {
            b.charge(now, len);
        }
        self.charge_probe(now, len);
    }

    pub fn push(&mut self, q: Queued) {
        self.queued += 1;
        self.queued_bytes += q.len;

        let s = self.sender(q.owner);
        if q.class == Class::Retransmission {
            s.rtx.push_back(q);
        } else {
            s.media.push_back(q);
        }
    }

    /// Packets waiting in all.
    pub fn len(&self) -> usize {
        self.queued
    }

    /// How long the oldest of `owner`'s media packets has waited.
    pub fn delay(&self, owner: usize, now: Instant) -> Duration {
        self.senders
            .get(owner)
            .and_then(|s| s.media.front())
            .map_or(Duration::ZERO, |q| {
                now.saturating_duration_since(q.queued_at)
            })
    }

    /// Forgets what `owner` has waiting (its transceiver stopped or was
    /// renumbered); how many packets that was.
    pub fn clear_sender(&mut self, owner: usize) -> usize {
        let Some(s) = self.senders.get_mut(owner) else {
            return 0;
        };
        let n = s.media.len() + s.rtx.len();
        let bytes: usize = s.media.iter().chain(&s.rtx).map(|q| q.len).sum();
        s.media.clear();
        s.rtx.clear();
        self.queued -= n;
        self.queued_bytes -= bytes;
        n
    }

    /// The sender whose head packet goes next among those allowed at
    /// `now`, and when the next one would be allowed otherwise.
    fn pick(&self, now: Instant) -> (Option<usize>, Option<Instant>) {
        let soft = self.probe.map(|p| p.bucket).or_else(|| self.soft_at(now));
        let total_ready = self
            .total
            .map_or(now, |b| b.ready_at(now))
            .max(soft.map_or(now, |b| b.ready_at(now)));
        let mut best: Option<(Class, Instant, usize)> = None;
        let mut next: Option<Instant> = None;
        for (i, s) in self.senders.iter().enumerate() {
            let Some(h) = s.head() else { continue };
            let ready = s.cap.map_or(now, |b| b.ready_at(now)).max(total_ready);
            if ready > now {
                next = Some(next.map_or(ready, |n| n.min(ready)));
                continue;
            }
            let key = (h.class, h.queued_at, i);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        (best.map(|b| b.2), next)
    }

    /// The next packet allowed to leave at `now`, charged to its buckets.
    pub fn pop(&mut self, now: Instant) -> Option<Queued> {
        if self.queued == 0 {
            return None;
        }
        let (Some(i), _) = self.pick(now) else {
            return None;
        };
        let s = &mut self.senders[i];
        let mut q = s.pop()?;
        self.queued -= 1;
        self.queued_bytes -= q.len;
        if let Some(b) = &mut s.cap {
            b.charge(now, q.len);
        }
        if let Some(b) = &mut self.total {
            b.charge(now, q.len);
        }
        if self.probe.is_some() {
            q.probe = self.charge_probe(now, q.len);
        } else if let Some(mut b) = self.soft_at(now) {
            b.charge(now, q.len);
            self.soft = Some(b);
        }

        Some(q)
    }

    /// When a waiting packet may next leave.
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if self.queued == 0 {
            // Only a probe's padding can be due.
            return self.probe.map(|p| {
                p.bucket
                    .ready_at(now)
                    .max(self.total.map_or(now, |b| b.ready_at(now)))
                    .min(p.started + PROBE_LIMIT + Duration::from_millis(1))
            });
        }
        match self.pick(now) {
            (Some(_), _) => Some(now),
            (None, next) => next,
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;

    fn q(owner: usize, class: Class, len: usize, at: Instant) -> Queued {
        Queued {
            owner,
            class,
            buf: vec![0; len],
            len,
            queued_at: at,
            probe: None,
        }
    }

    /// Runs the pacer as a driver would, for `secs`, with `feed` adding
    /// packets each millisecond; bytes sent per owner.
    fn run(
        p: &mut Pacer,
        start: Instant,
        secs: u64,
        mut feed: impl FnMut(&mut Pacer, Instant, u64),
    ) -> Vec<u64> {
        let mut sent = vec![0u64; 4];
        for ms in 0..secs * 1000 {
            let mut now = start + Duration::from_millis(ms);
            let tick = now + Duration::from_millis(1);
            feed(p, now, ms);
            loop {
                while let Some(x) = p.pop(now) {
                    sent[x.owner] += x.len as u64;
                }
                match p.poll_timeout(now) {
                    Some(t) if t < tick => now = t.max(now),
                    _ => break,
                }
            }
        }
        sent
    }

    #[test]
    fn without_caps_everything_leaves_at_once() {
        let mut p = Pacer::default();
        let now = Instant::now();
        for _ in 0..100 {
            p.push(q(0, Class::Video, 1200, now));
        }
        let mut n = 0;
        while p.pop(now).is_some() {
            n += 1;
        }
        assert_eq!(n, 100);
        assert_eq!(p.len(), 0);
        assert_eq!(p.poll_timeout(now), None);
    }

    #[test]
    fn a_capped_sender_leaves_at_its_cap_and_others_are_not_held_up() {
        let mut p = Pacer::default();
        p.set_sender_cap(0, Some(500_000));
        let start = Instant::now();
        // Owner 0 offers 2 Mbit/s, owner 1 offers 1 Mbit/s, uncapped.
        let sent = run(&mut p, start, 10, |p, now, ms| {
            if ms % 5 == 0 {
                p.push(q(0, Class::Video, 1250, now));
            }
            if ms % 10 == 0 {
                p.push(q(1, Class::Video, 1250, now));
            }
        });
        let rate0 = sent[0] as f64 * 8.0 / 10.0;
        let rate1 = sent[1] as f64 * 8.0 / 10.0;
        assert!(
            (480_000.0..=520_000.0).contains(&rate0),
            "capped at {rate0}"
        );
        assert!(
            (990_000.0..=1_010_000.0).contains(&rate1),
            "uncapped {rate1}"
        );
        // What did not fit is still waiting, oldest first.
        assert!(p.delay(0, start + Duration::from_secs(10)) > Duration::from_secs(5));
    }

    #[test]
    fn the_total_rate_is_shared_audio_first_then_retransmissions_then_video() {
        let mut p = Pacer::default();
        p.set_rate(Some(1_000_000));
        let start = Instant::now();
        // Audio 64 kbit/s, retransmissions 200 kbit/s, video 2 Mbit/s.
        let sent = run(&mut p, start, 10, |p, now, ms| {
            if ms % 20 == 0 {
                p.push(q(0, Class::Audio, 160, now));
            }
            if ms % 40 == 0 {
                p.push(q(1, Class::Retransmission, 1000, now));
            }
            if ms % 5 == 0 {
                p.push(q(1, Class::Video, 1250, now));
            }
        });
        let total: u64 = sent.iter().sum();
        let rate = total as f64 * 8.0 / 10.0;
        assert!((970_000.0..=1_030_000.0).contains(&rate), "total {rate}");
        // Audio and retransmissions all went; video had the rest.
        assert_eq!(sent[0], 500 * 160);
        assert!(p.senders[1].rtx.len() <= 1, "{}", p.senders[1].rtx.len());
        assert!(p.senders[0].media.is_empty());
    }

    #[test]
    fn bursts_stay_within_the_bucket() {
        let mut p = Pacer::default();
        p.set_sender_cap(0, Some(1_000_000));
        let now = Instant::now();
        for _ in 0..50 {
            p.push(q(0, Class::Video, 1200, now));
        }
        let mut burst = 0;
        while p.pop(now).is_some() {
            burst += 1;
        }
        // 10 ms at 1 Mbit/s is 1250 bytes: two packets of 1200 at once.
        assert!(burst <= 2, "{burst}");
        let next = p.poll_timeout(now).unwrap();
        assert!(
            next > now && next <= now + Duration::from_millis(20),
            "{next:?}"
        );
        assert_eq!(p.clear_sender(0), 50 - burst);
        assert_eq!(p.len(), 0);
        assert_eq!(p.poll_timeout(now), None);
    }

    #[test]
    fn order_within_a_sender_is_kept() {
        let mut p = Pacer::default();
        let now = Instant::now();
        let mut a = q(0, Class::Video, 1, now);
        a.buf = vec![1];
        let mut b = q(0, Class::Video, 1, now + Duration::from_millis(1));
        b.buf = vec![2];
        let mut r = q(0, Class::Retransmission, 1, now + Duration::from_millis(2));
        r.buf = vec![3];
        p.push(a);
        p.push(b);
        p.push(r);
        let t = now + Duration::from_millis(3);
        let order: Vec<u8> = std::iter::from_fn(|| p.pop(t).map(|x| x.buf[0])).collect();
        assert_eq!(order, vec![3, 1, 2]);
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod probe_tests {
    use super::*;

    fn q(len: usize, at: Instant) -> Queued {
        Queued {
            owner: 0,
            class: Class::Video,
            buf: vec![0; len],
            len,
            queued_at: at,
            probe: None,
        }
    }

    #[test]
    fn the_soft_rate_smooths_but_drains_within_250_ms() {
        let mut p = Pacer::default();
        p.set_soft_rate(Some(100_000));
        let t0 = Instant::now();
        // A 60 KB keyframe at once: 4.8 s at 100 kbit/s.
        for _ in 0..50 {
            p.push(q(1200, t0));
        }
        let mut now = t0;
        let mut sent = 0;
        while sent < 50 {
            while p.pop(now).is_some() {
                sent += 1;
            }
            match p.poll_timeout(now) {
                Some(t) => now = t.max(now),
                None => break,
            }
        }
        assert_eq!(sent, 50);
        let took = now - t0;
        assert!(took <= Duration::from_millis(300), "{took:?}");
        assert!(
            took >= Duration::from_millis(100),
            "paced, not a burst: {took:?}"
        );
    }

    #[test]
    fn a_probe_tags_what_leaves_and_asks_for_padding_to_fill_it() {
        let mut p = Pacer::default();
        p.set_soft_rate(Some(300_000));
        let t0 = Instant::now();
        let c = tern_cc::ProbeCluster {
            id: 7,
            bitrate: tern_cc::Bitrate::kbps(2000),
            min_bytes: 3750,
            min_packets: 5,
        };
        p.start_probe(t0, &c);
        p.push(q(1000, t0));
        let first = p.pop(t0).unwrap();
        assert_eq!(first.probe, Some(7));
        let mut now = t0;
        let mut padding = 0;
        while p.probing() {
            if p.padding_due(now).is_some() {
                p.charge_padding(now, 250);
                padding += 1;
            }
            now = p
                .poll_timeout(now)
                .unwrap_or(now + Duration::from_millis(1))
                .max(now);
        }
        assert_eq!(p.probes_completed, 1);
        // 3750 bytes: 1000 of media and 11 paddings of 250.
        assert_eq!(padding, 11);
        let took = now - t0;
        // 2750 bytes at 2 Mbit/s is 11 ms (less the 10 ms burst).
        assert!(took <= Duration::from_millis(15), "{took:?}");
        assert!(p.padding_due(now).is_none());
    }
}
