//! Heartbeats on an idle association (RFC 9260 §8.3): a HEARTBEAT every
//! interval while no data is in flight; each answer resets the error count
//! and gives an RTT sample; too many unanswered in a row mean the peer is
//! gone, so the association fails even when nothing is being sent.

use std::time::{Duration, Instant};

/// Heartbeat Info parameter type (RFC 9260 §3.3.5).
const INFO: u16 = 1;

/// What the association should do after a heartbeat timer fired.
#[derive(Debug, PartialEq, Eq)]
pub enum HeartbeatAction {
    /// Nothing now.
    Wait,
    /// Send a HEARTBEAT carrying this info parameter.
    Send(Vec<u8>),
    /// Too many heartbeats went unanswered.
    PeerUnreachable,
}

#[derive(Debug)]
struct Probe {
    nonce: u64,
    sent: Instant,
    deadline: Instant,
}

/// Heartbeat timer and bookkeeping for one association.
#[derive(Debug)]
pub struct Heartbeat {
    interval: Duration,
    max_unanswered: u32,
    next_at: Option<Instant>,
    probe: Option<Probe>,
    nonce: u64,
    unanswered: u32,
    /// HEARTBEATs sent.
    pub sent: u64,
}

impl Heartbeat {
    /// Heartbeats every `interval` once started; the peer is declared
    /// unreachable after more than `max_unanswered` missing answers in a row.
    pub fn new(interval: Duration, max_unanswered: u32, nonce_seed: u64) -> Self {
        Heartbeat {
            interval,
            max_unanswered,
            next_at: None,
            probe: None,
            nonce: nonce_seed,
            unanswered: 0,
            sent: 0,
        }
    }

    /// The association is up: the first heartbeat is due one interval from now.
    pub fn start(&mut self, now: Instant) {
        self.next_at = Some(now + self.interval);
    }

    /// Stops all heartbeat timers (association closing or gone).
    pub fn stop(&mut self) {
        self.next_at = None;
        self.probe = None;
    }

    /// When the heartbeat code next needs [`Heartbeat::on_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.probe {
            Some(p) => Some(p.deadline),
            None => self.next_at,
        }
    }

    /// Runs due timers. `busy`: data is in flight, which tests the path
    /// already (T3 covers it), so no heartbeat is sent; `rto` bounds the wait
    /// for an answer.
    pub fn on_timeout(&mut self, now: Instant, busy: bool, rto: Duration) -> HeartbeatAction {
        if let Some(p) = &self.probe {
            if now < p.deadline {
                return HeartbeatAction::Wait;
            }
            self.probe = None;
            self.unanswered += 1;
            if self.unanswered > self.max_unanswered {
                self.stop();
                return HeartbeatAction::PeerUnreachable;
            }
            self.next_at = Some(now + self.interval);
        }
        if self.next_at.is_none_or(|t| now < t) {
            return HeartbeatAction::Wait;
        }
        if busy {
            self.next_at = Some(now + self.interval);
            return HeartbeatAction::Wait;
        }
        self.nonce = self
            .nonce
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.probe = Some(Probe {
            nonce: self.nonce,
            sent: now,
            deadline: now + rto,
        });
        self.next_at = None;
        self.sent += 1;
        let mut info = Vec::with_capacity(12);
        info.extend_from_slice(&INFO.to_be_bytes());
        info.extend_from_slice(&12u16.to_be_bytes());
        info.extend_from_slice(&self.nonce.to_be_bytes());
        HeartbeatAction::Send(info)
    }

    /// A HEARTBEAT ACK: when it answers the probe in flight, the error count
    /// clears and the round-trip time is returned.
    pub fn on_ack(&mut self, now: Instant, info: &[u8]) -> Option<Duration> {
        let p = self.probe.as_ref()?;
        if info.len() != 12 || info[..4] != [0, 1, 0, 12] || info[4..12] != p.nonce.to_be_bytes() {
            return None;
        }
        let rtt = now.saturating_duration_since(p.sent);
        self.probe = None;
        self.unanswered = 0;
        self.next_at = Some(now + self.interval);
        Some(rtt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
    fn idle_path_is_probed_answers_clear_errors_silence_fails() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut h = Heartbeat::new(s * 30, 2, 7);
        assert_eq!(h.poll_timeout(), None);
        h.start(t0);
        assert_eq!(h.poll_timeout(), Some(t0 + s * 30));
        assert_eq!(h.on_timeout(t0 + s, false, s), HeartbeatAction::Wait);
        // Busy at the due time: pushed back, nothing sent.
        assert_eq!(h.on_timeout(t0 + s * 30, true, s), HeartbeatAction::Wait);
        assert_eq!(h.poll_timeout(), Some(t0 + s * 60));
        let HeartbeatAction::Send(info) = h.on_timeout(t0 + s * 60, false, s) else {
            panic!("heartbeat expected");
        };
        assert_eq!(h.poll_timeout(), Some(t0 + s * 61));
        // A forged or stale answer is ignored; the right one gives the RTT.
        let mut wrong = info.clone();
        wrong[11] ^= 1;
        assert_eq!(h.on_ack(t0 + s * 60, &wrong), None);
        let rtt = Duration::from_millis(40);
        assert_eq!(h.on_ack(t0 + s * 60 + rtt, &info), Some(rtt));
        assert_eq!(h.on_ack(t0 + s * 60 + rtt, &info), None, "answered once");
        // Now silence: three unanswered probes (more than 2) fail the path.
        let mut now;
        let mut sends = 0;
        loop {
            now = h.poll_timeout().unwrap();
            match h.on_timeout(now, false, s) {
                HeartbeatAction::Send(_) => sends += 1,
                HeartbeatAction::Wait => {}
                HeartbeatAction::PeerUnreachable => break,
            }
        }
        assert_eq!(sends, 3);
        assert_eq!(h.poll_timeout(), None);
        assert_eq!(h.sent, 4);
        assert!(now > t0 + s * 150);
    }
}
