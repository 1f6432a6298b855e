//! Serial-number arithmetic for TSNs (RFC 9260 §3.3.1 refers to RFC 1982).

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::fmt;

/// A transmission sequence number; compared with 32-bit serial arithmetic.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tsn(pub u32);

impl Tsn {
    /// The next TSN.
    pub fn next(self) -> Tsn {
        Tsn(self.0.wrapping_add(1))
    }
    /// `self + n`.
    pub fn plus(self, n: u32) -> Tsn {
        Tsn(self.0.wrapping_add(n))
    }
    /// How far `self` is after `other` (negative if before), valid within 2^31.
    pub fn distance_from(self, other: Tsn) -> i64 {
        i64::from(self.0.wrapping_sub(other.0) as i32)
    }
}

impl PartialOrd for Tsn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tsn {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.wrapping_sub(other.0) as i32).cmp(&0)
    }
}

impl fmt::Debug for Tsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tsn({})", self.0)
    }
}

/// A map from TSN to `T` for keys in a sliding window: a ring of slots
/// starting at `base`, so lookups are an index and the cumulative point
/// advances by popping the front (no tree rebalancing, no moving values).
#[derive(Debug)]
pub struct TsnRing<T> {
    base: Tsn,
    slots: VecDeque<Option<T>>,
    len: usize,
}

impl<T> TsnRing<T> {
    /// An empty ring whose first slot is `base`.
    pub fn new(base: Tsn) -> Self {
        TsnRing {
            base,
            slots: VecDeque::new(),
            len: 0,
        }
    }
    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn index(&self, t: Tsn) -> Option<usize> {
        let d = t.distance_from(self.base);
        (d >= 0 && (d as usize) < self.slots.len()).then_some(d as usize)
    }
    /// The entry for `t`.
    pub fn get(&self, t: Tsn) -> Option<&T> {
        self.slots.get(self.index(t)?)?.as_ref()
    }
    /// The entry for `t`, mutably.
    pub fn get_mut(&mut self, t: Tsn) -> Option<&mut T> {
        let i = self.index(t)?;
        self.slots.get_mut(i)?.as_mut()
    }
    /// Whether `t` is held.
    pub fn contains(&self, t: Tsn) -> bool {
        self.get(t).is_some()
    }
    /// Stores `v` at `t`, which must not be before the base nor more than
    /// `max_ahead` after it; returns false (storing nothing) otherwise.
    pub fn insert(&mut self, t: Tsn, v: T, max_ahead: usize) -> bool {
        let d = t.distance_from(self.base);
        if d < 0 || d as usize > max_ahead {
            return false;
        }
        let i = d as usize;
        while self.slots.len() <= i {
            self.slots.push_back(None);
        }
        if self.slots[i].replace(v).is_none() {
            self.len += 1;
        }
        true
    }
    /// Inserts at any TSN: the ring grows at the front as well as the back
    /// and starts over at `t` when empty. Used where entries arrive below
    /// the current base (reassembly); the caller bounds the span.
    pub fn insert_anywhere(&mut self, t: Tsn, v: T) {
        if self.len == 0 {
            self.slots.clear();
            self.base = t;
        }
        let d = t.distance_from(self.base);
        if d < 0 {
            for _ in 0..(-d) {
                self.slots.push_front(None);
            }
            self.base = t;
        }
        let i = t.distance_from(self.base) as usize;
        while self.slots.len() <= i {
            self.slots.push_back(None);
        }
        if self.slots[i].replace(v).is_none() {
            self.len += 1;
        }
    }

    /// How many TSNs the ring would span with `t` in it.
    pub fn span_with(&self, t: Tsn) -> usize {
        if self.len == 0 {
            return 1;
        }
        let d = t.distance_from(self.base);
        if d < 0 {
            self.slots.len() + (-d) as usize
        } else {
            self.slots.len().max(d as usize + 1)
        }
    }

    /// Drops empty slots at the front, moving the base up to the first entry.
    pub fn trim_front(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base = self.base.next();
        }
    }

    /// Takes the entry for `t` out, leaving its slot empty.
    pub fn remove(&mut self, t: Tsn) -> Option<T> {
        let i = self.index(t)?;
        let v = self.slots.get_mut(i)?.take();
        if v.is_some() {
            self.len -= 1;
        }
        v
    }
    /// Pops the next entry at or before `upto`, advancing the base past
    /// it (and past empty slots); None once the base is beyond `upto`.
    pub fn pop_through(&mut self, upto: Tsn) -> Option<(Tsn, T)> {
        while self.base <= upto {
            let t = self.base;
            self.base = t.next();
            match self.slots.pop_front() {
                Some(Some(v)) => {
                    self.len -= 1;
                    return Some((t, v));
                }
                Some(None) => {}
                None => {
                    self.base = upto.next();
                    return None;
                }
            }
        }
        None
    }
    /// Entries in TSN order.
    pub fn iter(&self) -> impl Iterator<Item = (Tsn, &T)> {
        let base = self.base;
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(i, v)| v.as_ref().map(|v| (base.plus(i as u32), v)))
    }
    /// Entries in TSN order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Tsn, &mut T)> {
        let base = self.base;
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(move |(i, v)| v.as_mut().map(|v| (base.plus(i as u32), v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_behaves_as_a_map_in_its_window() {
        let mut r = TsnRing::new(Tsn(u32::MAX - 1));
        assert!(r.insert(Tsn(u32::MAX - 1), 'a', 10));
        assert!(r.insert(Tsn(1), 'd', 10)); // across the wrap
        assert!(r.insert(Tsn(0), 'c', 10));
        assert!(!r.insert(Tsn(100), 'x', 10));
        assert!(!r.insert(Tsn(5), 'x', 2));
        assert_eq!(r.len(), 3);
        assert_eq!(r.remove(Tsn(0)), Some('c'));
        assert_eq!(r.get(Tsn(1)), Some(&'d'));
        let all: Vec<_> = r.iter().map(|(t, v)| (t.0, *v)).collect();
        assert_eq!(all, vec![(u32::MAX - 1, 'a'), (1, 'd')]);
        assert_eq!(r.pop_through(Tsn(0)), Some((Tsn(u32::MAX - 1), 'a')));
        assert_eq!(r.pop_through(Tsn(0)), None);
        assert!(!r.insert(Tsn(0), 'z', 10), "behind the base");
        assert_eq!(r.pop_through(Tsn(7)), Some((Tsn(1), 'd')));
        assert_eq!(r.pop_through(Tsn(7)), None);
        assert!(r.is_empty());
        assert!(r.insert(Tsn(8), 'e', 0));
    }

    #[test]
    fn ring_grows_at_both_ends_and_trims_its_front() {
        let mut r = TsnRing::new(Tsn(0));
        r.insert_anywhere(Tsn(1), 'b');
        assert_eq!(r.span_with(Tsn(u32::MAX)), 3);
        r.insert_anywhere(Tsn(u32::MAX), 'a'); // below the base, across the wrap
        r.insert_anywhere(Tsn(4), 'c');
        assert_eq!(r.span_with(Tsn(2)), 6);
        assert_eq!(r.span_with(Tsn(9)), 11);
        let all: Vec<_> = r.iter().map(|(t, v)| (t.0, *v)).collect();
        assert_eq!(all, vec![(u32::MAX, 'a'), (1, 'b'), (4, 'c')]);
        assert_eq!(r.remove(Tsn(u32::MAX)), Some('a'));
        assert_eq!(r.remove(Tsn(1)), Some('b'));
        r.trim_front();
        assert_eq!(r.span_with(Tsn(4)), 1);
        assert_eq!(r.remove(Tsn(4)), Some('c'));
        r.insert_anywhere(Tsn(1000), 'd'); // empty: starts over there
        assert_eq!(r.span_with(Tsn(1000)), 1);
        assert_eq!(r.get(Tsn(1000)), Some(&'d'));
    }

    #[test]
    fn serial_comparison_wraps() {
        assert!(Tsn(u32::MAX) < Tsn(0));
        assert!(Tsn(5) > Tsn(u32::MAX - 5));
        assert_eq!(Tsn(u32::MAX).next(), Tsn(0));
        assert_eq!(Tsn(2).distance_from(Tsn(u32::MAX)), 3);
        assert_eq!(Tsn(u32::MAX).distance_from(Tsn(2)), -3);
    }
}
