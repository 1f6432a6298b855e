//! The connection's deadlines, one slot per reason (the shape of quinn's
//! `connection/timer.rs`), so `poll_timeout` is a fixed-size minimum and a
//! wake-up can say why it happened (str0m's `Reason`).

use std::time::Instant;

/// Why the connection wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// ICE: a connectivity check, a retransmission, consent or keepalive.
    Ice,
    /// DTLS: a handshake flight's retransmission.
    Dtls,
    /// SCTP: retransmission (T3-rtx), delayed SACK, heartbeat, reset.
    Sctp,
    /// Media: an RTCP report, a NACK retry, transport-wide feedback.
    Media,
    /// The pacer lets the next RTP packet go.
    Pacer,
}

impl Timer {
    const ALL: [Timer; 5] = [
        Timer::Ice,
        Timer::Dtls,
        Timer::Sctp,
        Timer::Media,
        Timer::Pacer,
    ];
    const COUNT: usize = Self::ALL.len();

    fn index(self) -> usize {
        match self {
            Timer::Ice => 0,
            Timer::Dtls => 1,
            Timer::Sctp => 2,
            Timer::Media => 3,
            Timer::Pacer => 4,
        }
    }
}

/// The next deadline of each [`Timer`], refreshed from the components after
/// every input.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimerTable {
    data: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.data[timer.index()] = at;
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer.index()]
    }

    pub fn clear(&mut self) {
        self.data = [None; Timer::COUNT];
    }

    /// The earliest deadline and its reason.
    pub fn next(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (at, t)))
            .min_by_key(|&(at, _)| at)
    }

    /// The timers due at `now`, earliest first.
    pub fn expired(&self, now: Instant) -> impl Iterator<Item = Timer> + '_ {
        let mut due: [Option<(Instant, Timer)>; Timer::COUNT] = [None; Timer::COUNT];
        for (slot, t) in due.iter_mut().zip(Timer::ALL) {
            *slot = self.get(t).filter(|&at| at <= now).map(|at| (at, t));
        }
        due.sort_by_key(|d| d.map(|(at, _)| at));
        due.into_iter().flatten().map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    fn next_and_expired_follow_the_deadlines() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Sctp, Some(t0 + Duration::from_millis(30)));
        table.set(Timer::Ice, Some(t0 + Duration::from_millis(50)));
        table.set(Timer::Dtls, Some(t0 + Duration::from_millis(10)));
        assert_eq!(
            table.next(),
            Some((t0 + Duration::from_millis(10), Timer::Dtls))
        );
        let due: Vec<Timer> = table.expired(t0 + Duration::from_millis(40)).collect();
        assert_eq!(due, vec![Timer::Dtls, Timer::Sctp]);
        table.set(Timer::Dtls, None);
        assert_eq!(
            table.next(),
            Some((t0 + Duration::from_millis(30), Timer::Sctp))
        );
        table.clear();
        assert_eq!(table.next(), None);
        assert_eq!(table.expired(t0 + Duration::from_secs(9)).count(), 0);
    }
}
