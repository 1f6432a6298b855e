//! Receive side: which TSNs we have (for SACKs and duplicates) and message
//! reassembly, ordered per stream or unordered (RFC 9260 §6.2, §6.5, §6.9).

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;

use crate::tsn::TsnRing;

use crate::chunk::{Data, Sack};
use crate::tsn::Tsn;

/// What became of a received DATA chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// New: keep it.
    Fresh,
    /// Already had it: report it in the SACK.
    Duplicate,
    /// Too far ahead of the cumulative TSN: dropped.
    OutOfWindow,
}

/// Tracks received TSNs: the cumulative point and the islands above it.
#[derive(Debug)]
pub struct DataTracker {
    cumulative: Tsn,
    above: BTreeSet<Tsn>,
    duplicates: Vec<u32>,
    window: u32,
}

impl DataTracker {
    /// Expects `initial` as the first TSN; accepts TSNs at most `window` ahead.
    pub fn new(initial: Tsn, window: u32) -> Self {
        DataTracker {
            cumulative: Tsn(initial.0.wrapping_sub(1)),
            above: BTreeSet::new(),
            duplicates: Vec::new(),
            window,
        }
    }

    /// The cumulative TSN ack point.
    pub fn cumulative(&self) -> Tsn {
        self.cumulative
    }

    /// Whether TSNs are missing below the highest received.
    pub fn has_gaps(&self) -> bool {
        !self.above.is_empty()
    }

    /// Whether `tsn` was already received.
    pub fn has(&self, tsn: Tsn) -> bool {
        tsn <= self.cumulative || self.above.contains(&tsn)
    }

    /// Records a TSN.
    pub fn receive(&mut self, tsn: Tsn) -> Arrival {
        if self.has(tsn) {
            if self.duplicates.len() < 32 {
                self.duplicates.push(tsn.0);
            }
            return Arrival::Duplicate;
        }
        if tsn.distance_from(self.cumulative) > i64::from(self.window) {
            return Arrival::OutOfWindow;
        }
        if tsn == self.cumulative.next() {
            self.cumulative = tsn;
            while self.above.remove(&self.cumulative.next()) {
                self.cumulative = self.cumulative.next();
            }
        } else {
            self.above.insert(tsn);
        }
        Arrival::Fresh
    }

    /// A FORWARD TSN (RFC 3758 §3.6): everything up to `new_cum` is done.
    /// A value at or behind the current point is ignored.
    pub fn forward_to(&mut self, new_cum: Tsn) {
        if new_cum <= self.cumulative
            || new_cum.distance_from(self.cumulative) > i64::from(self.window)
        {
            return;
        }
        self.cumulative = new_cum;
        self.above = self.above.split_off(&new_cum.next());
        while self.above.remove(&self.cumulative.next()) {
            self.cumulative = self.cumulative.next();
        }
    }

    /// Builds a SACK (and forgets the reported duplicates).
    pub fn sack(&mut self, a_rwnd: u32) -> Sack {
        let mut gaps: Vec<(u16, u16)> = Vec::new();
        for t in &self.above {
            let off = t.distance_from(self.cumulative);
            if off > i64::from(u16::MAX) {
                break;
            }
            let off = off as u16;
            let full = gaps.len() >= 64;
            match gaps.last_mut() {
                Some(last) if last.1.wrapping_add(1) == off => last.1 = off,
                _ if full => break,
                _ => gaps.push((off, off)),
            }
        }
        Sack {
            cumulative_tsn: self.cumulative.0,
            a_rwnd,
            gaps,
            duplicates: std::mem::take(&mut self.duplicates),
        }
    }
}

/// A complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Stream.
    pub stream: u16,
    /// PPID of the first fragment.
    pub ppid: u32,
    /// Sent unordered.
    pub unordered: bool,
    /// Payload.
    pub data: Vec<u8>,
}

/// Reassembles fragments and releases messages in the right order.
#[derive(Debug)]
pub struct Reassembly {
    /// Fragments of incomplete messages, by TSN (a ring from the lowest held).
    fragments: TsnRing<Data>,
    next_ssn: HashMap<u16, u16>,
    ordered_ready: HashMap<u16, BTreeMap<u16, Message>>,
    /// Bytes held here (fragments and complete-but-blocked messages).
    pub buffered: usize,
    ssn_of_last: u16,
}

impl Default for Reassembly {
    fn default() -> Self {
        Reassembly {
            fragments: TsnRing::new(Tsn(0)),
            next_ssn: HashMap::default(),
            ordered_ready: HashMap::default(),
            buffered: 0,
            ssn_of_last: 0,
        }
    }
}

/// Most TSNs the fragment ring spans (at most this many slots are held).
pub const MAX_FRAGMENT_SPAN: usize = 1 << 16;

impl Reassembly {
    /// Whether a fragment at `tsn` fits the ring's bounded span; one that
    /// does not is dropped unacknowledged and resent by the peer later.
    pub fn fits(&self, tsn: Tsn) -> bool {
        self.fragments.span_with(tsn) <= MAX_FRAGMENT_SPAN
    }

    /// Adds a fresh fragment; returns the messages it completes, in delivery order.
    pub fn insert(&mut self, d: Data) -> Vec<Message> {
        let tsn = d.tsn;
        // A message can only be complete once its last fragment is here and
        // every TSN up to it too: skip the walk for a middle fragment whose
        // successor has not arrived (the common, in-order case), so
        // reassembly stays linear in the message length.
        let maybe_complete = d.end || self.fragments.contains(tsn.next());
        self.buffered += d.payload.len();
        self.fragments.insert_anywhere(tsn, d);
        let mut out = Vec::new();
        if !maybe_complete {
            return out;
        }
        if let Some(m) = self.try_complete(tsn) {
            self.fragments.trim_front();
            if m.unordered {
                self.buffered -= m.data.len();
                out.push(m);
            } else {
                let stream = m.stream;
                let ssn = self.ssn_of_last;
                let next = self.next_ssn.entry(stream).or_insert(0);
                if ssn == *next {
                    // Its turn (the common case): out at once, then whatever
                    // was waiting behind it.
                    *next = next.wrapping_add(1);
                    self.buffered -= m.data.len();
                    out.push(m);
                    if self
                        .ordered_ready
                        .get(&stream)
                        .is_some_and(|r| !r.is_empty())
                    {
                        self.release(stream, &mut out);
                    }
                } else {
                    self.ordered_ready.entry(stream).or_default().insert(ssn, m);
                }
            }
        }
        out
    }

    fn release(&mut self, stream: u16, out: &mut Vec<Message>) {
        let next = self.next_ssn.entry(stream).or_insert(0);
        if let Some(ready) = self.ordered_ready.get_mut(&stream) {
            while let Some(m) = ready.remove(next) {
                *next = next.wrapping_add(1);
                self.buffered -= m.data.len();
                out.push(m);
            }
        }
    }

    /// Skips ordered messages abandoned by the sender (FORWARD TSN): the
    /// stream's next expected SSN moves past `ssn`, fragments at or below
    /// `cum` are dropped, and what was waiting behind them is released.
    pub fn forward(&mut self, cum: Tsn, streams: &[(u16, u16)]) -> Vec<Message> {
        while let Some((_, d)) = self.fragments.pop_through(cum) {
            self.buffered -= d.payload.len();
        }
        self.fragments.trim_front();
        let mut out = Vec::new();
        for &(stream, ssn) in streams {
            // Deliver, in order, what is held up to the skipped SSN (RFC 3758
            // §3.6: complete messages are not thrown away), then skip past it.
            let next = *self.next_ssn.entry(stream).or_insert(0);
            if (ssn.wrapping_sub(next) as i16) < 0 {
                continue;
            }
            if let Some(ready) = self.ordered_ready.get_mut(&stream) {
                let mut s = next;
                loop {
                    if let Some(m) = ready.remove(&s) {
                        self.buffered -= m.data.len();
                        out.push(m);
                    }
                    if s == ssn {
                        break;
                    }
                    s = s.wrapping_add(1);
                }
            }
            self.next_ssn.insert(stream, ssn.wrapping_add(1));
            self.release(stream, &mut out);
        }
        out
    }

    /// The peer reset these streams (all when empty): their SSNs start at 0.
    pub fn reset_streams(&mut self, streams: &[u16]) {
        let all: Vec<u16>;
        let streams = if streams.is_empty() {
            all = self
                .ordered_ready
                .keys()
                .chain(self.next_ssn.keys())
                .copied()
                .collect();
            &all
        } else {
            streams
        };
        for s in streams {
            if let Some(ready) = self.ordered_ready.remove(s) {
                self.buffered -= ready.values().map(|m| m.data.len()).sum::<usize>();
            }
            self.next_ssn.remove(s);
        }
    }

    fn try_complete(&mut self, tsn: Tsn) -> Option<Message> {
        let d = self.fragments.get(tsn)?;
        let (stream, unordered) = (d.stream, d.unordered);
        // Walk back to the first fragment and forward to the last; TSNs must be contiguous.
        let mut first = tsn;
        loop {
            let f = self.fragments.get(first)?;
            if f.stream != stream || f.unordered != unordered {
                return None;
            }
            if f.begin {
                break;
            }
            first = Tsn(first.0.wrapping_sub(1));
        }
        let mut last = tsn;
        loop {
            let f = self.fragments.get(last)?;
            if f.stream != stream || f.unordered != unordered {
                return None;
            }
            if f.end {
                break;
            }
            last = last.next();
        }
        let mut len = 0;
        let mut t = first;
        loop {
            len += self.fragments.get(t).map_or(0, |f| f.payload.len());
            if t == last {
                break;
            }
            t = t.next();
        }
        let mut data = Vec::with_capacity(len);
        let mut t = first;
        let mut ppid = 0;
        let mut ssn = 0;
        loop {
            let f = self.fragments.remove(t)?;
            if t == first {
                ppid = f.ppid;
                ssn = f.ssn;
            }
            data.extend_from_slice(&f.payload);
            if t == last {
                break;
            }
            t = t.next();
        }
        self.ssn_of_last = ssn;
        Some(Message {
            stream,
            ppid,
            unordered,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(tsn: u32, stream: u16, ssn: u16, b: bool, e: bool, unordered: bool, p: &[u8]) -> Data {
        Data {
            tsn: Tsn(tsn),
            stream,
            ssn,
            ppid: 53,
            unordered,
            begin: b,
            end: e,
            immediate: false,
            payload: bytes::Bytes::copy_from_slice(p),
        }
    }

    #[test]
    fn tracker_acks_cumulatively_and_reports_gaps_and_duplicates() {
        let mut t = DataTracker::new(Tsn(10), 1000);
        assert_eq!(t.receive(Tsn(10)), Arrival::Fresh);
        assert_eq!(t.receive(Tsn(12)), Arrival::Fresh);
        assert_eq!(t.receive(Tsn(13)), Arrival::Fresh);
        assert_eq!(t.receive(Tsn(15)), Arrival::Fresh);
        assert_eq!(t.receive(Tsn(12)), Arrival::Duplicate);
        assert_eq!(t.receive(Tsn(5000)), Arrival::OutOfWindow);
        let s = t.sack(100);
        assert_eq!(s.cumulative_tsn, 10);
        assert_eq!(s.gaps, vec![(2, 3), (5, 5)]);
        assert_eq!(s.duplicates, vec![12]);
        t.receive(Tsn(11));
        assert_eq!(t.cumulative(), Tsn(13));
        t.forward_to(Tsn(20));
        assert_eq!(t.cumulative(), Tsn(20));
        t.forward_to(Tsn(3)); // backwards: ignored
        assert_eq!(t.cumulative(), Tsn(20));
    }

    #[test]
    fn fragment_span_is_bounded_and_frees_as_messages_complete() {
        let mut r = Reassembly::default();
        assert!(r
            .insert(frag(10, 1, 0, true, false, false, b"a"))
            .is_empty());
        assert!(r.fits(Tsn(10 + MAX_FRAGMENT_SPAN as u32 - 1)));
        assert!(!r.fits(Tsn(10 + MAX_FRAGMENT_SPAN as u32)));
        assert!(!r.fits(Tsn(10u32.wrapping_sub(MAX_FRAGMENT_SPAN as u32))));
        // A fragment below the lowest held one grows the ring downwards.
        assert!(r.insert(frag(8, 1, 1, true, false, false, b"x")).is_empty());
        let m = r.insert(frag(11, 1, 0, false, true, false, b"b"));
        assert_eq!(m[0].data, b"ab");
        // Message 0 is gone; only TSN 8 is held, so the span starts there.
        assert!(r.fits(Tsn(8 + MAX_FRAGMENT_SPAN as u32 - 1)));
        let m = r.insert(frag(9, 1, 1, false, true, false, b"y"));
        assert_eq!(m[0].data, b"xy");
        assert_eq!(r.buffered, 0);
        assert!(r.fits(Tsn(1 << 30)), "empty: anything fits");
    }

    #[test]
    fn ordered_messages_wait_for_their_turn_unordered_do_not() {
        let mut r = Reassembly::default();
        // ssn 1 (two fragments) arrives before ssn 0.
        assert!(r
            .insert(frag(3, 1, 1, true, false, false, b"he"))
            .is_empty());
        assert!(r
            .insert(frag(4, 1, 1, false, true, false, b"llo"))
            .is_empty());
        let u = r.insert(frag(5, 1, 0, true, true, true, b"now"));
        assert_eq!(u[0].data, b"now");
        let m = r.insert(frag(2, 1, 0, true, true, false, b"first"));
        assert_eq!(
            m.iter().map(|m| m.data.clone()).collect::<Vec<_>>(),
            vec![b"first".to_vec(), b"hello".to_vec()]
        );
        assert_eq!(r.buffered, 0);
    }
}
