//! Relay port allocation (RFC 8656 §7.2: the server picks the port; EVEN-PORT
//! asks for an even one and optionally reserves the next).
//!
//! Free ports wait in a queue shuffled once at start: a port given back goes
//! to the back, so it is not handed out again at once (a late packet for the
//! old allocation will not reach a new one soon after).

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use tern_crypto::Random;

/// The ports of one relay address.
#[derive(Debug)]
pub(crate) struct PortPool {
    min: u16,
    used: Vec<bool>,
    queue: VecDeque<u16>,
    in_use: usize,
}

impl PortPool {
    pub(crate) fn new(range: RangeInclusive<u16>, rng: &mut dyn Random) -> Self {
        let (min, max) = (*range.start(), *range.end());
        let mut ports: Vec<u16> = if min <= max {
            (min..=max).collect()
        } else {
            Vec::new()
        };
        // Fisher-Yates.
        for i in (1..ports.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            ports.swap(i, j);
        }
        PortPool {
            min,
            used: vec![false; ports.len()],
            queue: ports.into(),
            in_use: 0,
        }
    }

    fn slot(&self, port: u16) -> Option<usize> {
        let i = usize::from(port.checked_sub(self.min)?);
        (i < self.used.len()).then_some(i)
    }

    fn is_free(&self, port: u16) -> bool {
        self.slot(port).is_some_and(|i| !self.used[i])
    }

    fn mark(&mut self, port: u16) {
        if let Some(i) = self.slot(port) {
            if !self.used[i] {
                self.used[i] = true;
                self.in_use += 1;
            }
        }
    }

    /// Any free port.
    pub(crate) fn take(&mut self) -> Option<u16> {
        while let Some(p) = self.queue.pop_front() {
            // The queue may hold ports already taken by `take_even`'s reservation.
            if self.is_free(p) {
                self.mark(p);
                return Some(p);
            }
        }
        None
    }

    /// An even free port; with `reserve_next`, one whose successor is free
    /// too, and the successor is taken as well (returned second).
    pub(crate) fn take_even(&mut self, reserve_next: bool) -> Option<(u16, Option<u16>)> {
        let mut tries = self.queue.len();
        while tries > 0 {
            tries -= 1;
            let p = self.queue.pop_front()?;
            if !self.is_free(p) {
                continue;
            }
            let ok =
                p % 2 == 0 && (!reserve_next || p.checked_add(1).is_some_and(|n| self.is_free(n)));
            if ok {
                self.mark(p);
                let next = if reserve_next {
                    let n = p + 1; // cannot overflow: checked above
                    self.mark(n);
                    Some(n)
                } else {
                    None
                };
                return Some((p, next));
            }
            self.queue.push_back(p);
        }
        None
    }

    /// Gives `port` back.
    pub(crate) fn release(&mut self, port: u16) {
        if let Some(i) = self.slot(port) {
            if self.used[i] {
                self.used[i] = false;
                self.in_use -= 1;
                self.queue.push_back(port);
            }
        }
    }

    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_crypto::SeededRandom;

    #[test]
    fn takes_every_port_once_and_gets_them_back() {
        let mut rng = SeededRandom::new(1);
        let mut pool = PortPool::new(50000..=50009, &mut rng);
        let mut got: Vec<u16> = (0..10).map(|_| pool.take().unwrap()).collect();
        assert!(pool.take().is_none());
        got.sort();
        assert_eq!(got, (50000..=50009).collect::<Vec<_>>());
        assert_eq!(pool.in_use(), 10);
        for p in got {
            pool.release(p);
            pool.release(p);
        }
        assert_eq!(pool.in_use(), 0);
        assert!(pool.take().is_some());
    }

    #[test]
    fn even_ports_with_reservation() {
        let mut rng = SeededRandom::new(2);
        let mut pool = PortPool::new(50000..=50005, &mut rng);
        let (a, b) = pool.take_even(true).unwrap();
        assert_eq!(a % 2, 0);
        assert_eq!(b, Some(a + 1));
        assert_eq!(pool.in_use(), 2);
        let (c, d) = pool.take_even(false).unwrap();
        assert_eq!(c % 2, 0);
        assert_eq!(d, None);
        // Ports a+1 may still sit in the queue; take() must skip it.
        let mut rest = Vec::new();
        while let Some(p) = pool.take() {
            rest.push(p);
        }
        assert!(!rest.contains(&(a + 1)));
        assert_eq!(pool.in_use(), 6);
        assert!(pool.take_even(false).is_none());
    }
}
