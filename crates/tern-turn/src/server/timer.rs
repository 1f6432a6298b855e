//! The timer heap behind `poll_timeout` (O(1) to peek, O(log n) to change).
//!
//! Deadlines are pushed lazily: a refresh that lengthens a lifetime only
//! updates the object, and when its old entry pops the object is found alive
//! and rescheduled. Each object records the deadline of its live entry
//! (`scheduled`), so stale entries are recognised and dropped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;
use std::time::Instant;

use crate::channel_data::ChannelNumber;

use super::ConnectionId;

/// What a deadline is for (str0m's `Reason`: "why did we wake up" is answerable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKey {
    /// An allocation's lifetime (by allocation id).
    Allocation(u64),
    /// A permission of an allocation.
    Permission(u64, IpAddr),
    /// A channel binding of an allocation.
    Channel(u64, ChannelNumber),
    /// An EVEN-PORT reservation (by its token).
    Reservation([u8; 8]),
    /// An RFC 6062 connection waiting to connect or to be bound.
    Connection(ConnectionId),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, TimerKey)>>,
}

impl Timers {
    pub(crate) fn push(&mut self, at: Instant, key: TimerKey) {
        self.heap.push(Reverse((at, key)));
    }

    pub(crate) fn peek(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// The next entry due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, TimerKey)> {
        match self.heap.peek() {
            Some(Reverse((t, _))) if *t <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

/// A deadline that may be extended without touching the heap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub(crate) expires: Instant,
    pub(crate) scheduled: Instant,
}

impl Deadline {
    /// A new deadline, with its heap entry pushed.
    pub(crate) fn new(timers: &mut Timers, expires: Instant, key: TimerKey) -> Self {
        timers.push(expires, key);
        Deadline {
            expires,
            scheduled: expires,
        }
    }

    /// Moves the deadline; an earlier one needs a new heap entry.
    pub(crate) fn set(&mut self, timers: &mut Timers, expires: Instant, key: TimerKey) {
        self.expires = expires;
        if expires < self.scheduled {
            timers.push(expires, key);
            self.scheduled = expires;
        }
    }

    /// What to do with a popped entry of deadline `at`.
    pub(crate) fn on_pop(
        &mut self,
        timers: &mut Timers,
        at: Instant,
        now: Instant,
        key: TimerKey,
    ) -> Fire {
        if at != self.scheduled {
            return Fire::Stale;
        }
        if self.expires <= now {
            return Fire::Expired;
        }
        timers.push(self.expires, key);
        self.scheduled = self.expires;
        Fire::Rescheduled
    }

    pub(crate) fn alive(&self, now: Instant) -> bool {
        self.expires > now
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fire {
    Stale,
    Expired,
    Rescheduled,
}
