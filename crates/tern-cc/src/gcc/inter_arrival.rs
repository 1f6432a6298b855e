//! Inter-arrival deltas over packet groups (draft-ietf-rmcat-gcc-02 §5.2,
//! libwebrtc's `InterArrivalDelta`): packets sent within
//! [`BURST_SEND`] of a group's first belong to it, and a packet that
//! arrives within [`BURST_ARRIVAL`] of the group's last with no more
//! propagation delay joins it too (it was queued behind the group: a
//! burst). Each completed pair of groups gives the send delta, the arrival
//! delta and the arrival time.

use std::time::{Duration, Instant};

/// Packets sent within this of a group's first belong to the group.
pub(crate) const BURST_SEND: Duration = Duration::from_millis(5);
/// A packet that arrives within this of the group's last and whose
/// propagation delta is negative is part of a burst.
const BURST_ARRIVAL_US: i64 = 5_000;
/// A gap in arrival this long (or arrival going back) resets the state.
const ARRIVAL_RESET_US: i64 = 3_000_000;

#[derive(Debug, Clone, Copy)]
struct Group {
    first_send: Instant,
    last_send: Instant,
    last_arrival_us: i64,
}

/// One completed pair of groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Delta {
    /// Send time of the group's last packet minus the previous group's,
    /// in ms.
    pub send_ms: f64,
    /// The same for arrival times, in ms.
    pub arrival_ms: f64,
    /// The arrival time of the group's last packet, µs of the receiver's
    /// clock.
    pub arrival_us: i64,
}

#[derive(Debug, Default)]
pub(crate) struct InterArrival {
    current: Option<Group>,
    previous: Option<Group>,
}

impl InterArrival {
    /// Adds a received packet (in send order); a delta when it completed
    /// a group.
    pub fn push(&mut self, send: Instant, arrival_us: i64) -> Option<Delta> {
        let Some(cur) = self.current.as_mut() else {
            self.current = Some(Group {
                first_send: send,
                last_send: send,
                last_arrival_us: arrival_us,
            });
            return None;
        };
        if send < cur.first_send {
            // Reordered behind the group's start: ignore it.
            return None;
        }
        let in_group = send.saturating_duration_since(cur.first_send) <= BURST_SEND;
        let burst = {
            let arrival_delta = arrival_us.saturating_sub(cur.last_arrival_us);
            let send_delta = send.saturating_duration_since(cur.last_send).as_micros() as i64;
            (0..=BURST_ARRIVAL_US).contains(&arrival_delta) && arrival_delta - send_delta < 0
        };
        if in_group || burst {
            cur.last_send = cur.last_send.max(send);
            cur.last_arrival_us = cur.last_arrival_us.max(arrival_us);
            return None;
        }
        // A new group starts: the one before it is complete.
        let done = *cur;
        let mut delta = None;
        if let Some(prev) = self.previous {
            let send_ms = done
                .last_send
                .saturating_duration_since(prev.last_send)
                .as_secs_f64()
                * 1e3;
            let arrival_us_delta = done.last_arrival_us.saturating_sub(prev.last_arrival_us);
            if !(0..=ARRIVAL_RESET_US).contains(&arrival_us_delta) {
                // The receiver's clock jumped (or lies): start over.
                self.previous = None;
                self.current = Some(Group {
                    first_send: send,
                    last_send: send,
                    last_arrival_us: arrival_us,
                });
                return None;
            }
            delta = Some(Delta {
                send_ms,
                arrival_ms: arrival_us_delta as f64 / 1e3,
                arrival_us: done.last_arrival_us,
            });
        }
        self.previous = Some(done);
        self.current = Some(Group {
            first_send: send,
            last_send: send,
            last_arrival_us: arrival_us,
        });
        delta
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;

    #[test]
    fn packets_within_5_ms_form_a_group_and_pairs_of_groups_give_deltas() {
        let t0 = Instant::now();
        let mut ia = InterArrival::default();
        let mut deltas = Vec::new();
        // Groups every 10 ms, 3 packets each 1 ms apart; each group takes
        // 2 ms longer to arrive than the one before (a growing queue).
        for g in 0..4u64 {
            for p in 0..3u64 {
                let send = t0 + Duration::from_millis(g * 10 + p);
                let arrival = (50_000 + g * 12_000 + p * 1_000) as i64;
                if let Some(d) = ia.push(send, arrival) {
                    deltas.push(d);
                }
            }
        }
        assert_eq!(deltas.len(), 2, "{deltas:?}");
        for d in deltas {
            assert!((d.send_ms - 10.0).abs() < 1e-9);
            assert!((d.arrival_ms - 12.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_clock_that_goes_back_resets_instead_of_giving_a_delta() {
        let t0 = Instant::now();
        let mut ia = InterArrival::default();
        let mut n = 0;
        for (i, arrival) in [0i64, 10_000, 20_000, -5_000_000, 40_000]
            .into_iter()
            .enumerate()
        {
            let send = t0 + Duration::from_millis(i as u64 * 10);
            if let Some(d) = ia.push(send, arrival) {
                assert!(d.arrival_ms >= 0.0 && d.arrival_ms < 3000.0, "{d:?}");
                n += 1;
            }
        }
        assert!(n <= 2);
    }
}
