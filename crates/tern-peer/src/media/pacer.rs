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

    fn is_empty(&self) -> bool {
        self.media.is_empty() && self.rtx.is_empty()
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    senders: Vec<SenderQueue>,
    total: Option<Bucket>,
    queued: usize,
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

    pub fn push(&mut self, q: Queued) {
        self.queued += 1;
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
        s.media.clear();
        s.rtx.clear();
        self.queued -= n;
        n
    }

    /// The sender whose head packet goes next among those allowed at
    /// `now`, and when the next one would be allowed otherwise.
    fn pick(&self, now: Instant) -> (Option<usize>, Option<Instant>) {
        let total_ready = self.total.map_or(now, |b| b.ready_at(now));
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
        let (Some(i), _) = self.pick(now) else {
            return None;
        };
        let s = &mut self.senders[i];
        let q = s.pop()?;
        self.queued -= 1;
        if let Some(b) = &mut s.cap {
            b.charge(now, q.len);
        }
        if let Some(b) = &mut self.total {
            b.charge(now, q.len);
        }
        Some(q)
    }

    /// When a waiting packet may next leave.
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if self.senders.iter().all(SenderQueue::is_empty) {
            return None;
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
