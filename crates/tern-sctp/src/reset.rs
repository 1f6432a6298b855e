//! Stream reset (RFC 6525): closing a data channel resets its outgoing
//! stream so the id can be used again (RFC 8831 §6.7). One request of ours
//! is in flight at a time; streams asked for meanwhile wait for the next
//! one. Requests from the peer are performed once every TSN up to the
//! peer's last assigned one has arrived ("deferred reset processing").

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::chunk::{reconfig_result, ReconfigParam};
use crate::tsn::Tsn;

/// Our request in flight.
#[derive(Debug, Clone)]
struct Request {
    seq: u32,
    last_tsn: Tsn,
    streams: Vec<u16>,
}

/// A peer request waiting for its TSNs to arrive.
#[derive(Debug, Clone)]
struct Deferred {
    seq: u32,
    last_tsn: Tsn,
    streams: Vec<u16>,
}

/// What happened to our request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutgoingOutcome {
    /// The peer reset these streams: their SSNs start again at 0.
    Done(Vec<u16>),
    /// The peer refused.
    Denied(Vec<u16>),
}

/// Both directions of stream reset.
#[derive(Debug)]
pub(crate) struct StreamReset {
    /// Streams to reset, waiting for a request.
    pending: BTreeSet<u16>,
    in_flight: Option<Request>,
    next_seq: u32,
    /// When to resend the request in flight.
    pub retry_at: Option<Instant>,
    retry_rto: Duration,
    /// Consecutive resends without an answer.
    pub retries: u32,
    peer_next_seq: u32,
    last_response: Option<(u32, u32)>,
    deferred: Option<Deferred>,
}

impl StreamReset {
    /// Request sequence numbers start at each side's initial TSN (RFC 6525 §4.1).
    pub fn new(my_initial_tsn: Tsn, peer_initial_tsn: Tsn) -> Self {
        StreamReset {
            pending: BTreeSet::new(),
            in_flight: None,
            next_seq: my_initial_tsn.0,
            retry_at: None,
            retry_rto: Duration::ZERO,
            retries: 0,
            peer_next_seq: peer_initial_tsn.0,
            last_response: None,
            deferred: None,
        }
    }

    /// Asks for `stream` to be reset.
    pub fn request(&mut self, stream: u16) {
        self.pending.insert(stream);
    }

    /// Whether `stream` is being reset (new sends on it are refused).
    pub fn is_resetting(&self, stream: u16) -> bool {
        self.pending.contains(&stream)
            || self
                .in_flight
                .as_ref()
                .is_some_and(|r| r.streams.contains(&stream))
    }

    /// The request to send now, if none is in flight and some pending
    /// stream has nothing left unsent (`unsent(stream)` is false): its
    /// last fragment already has a TSN at or below `last_tsn`.
    pub fn poll_request(
        &mut self,
        now: Instant,
        rto: Duration,
        last_tsn: Tsn,
        unsent: impl Fn(u16) -> bool,
    ) -> Option<ReconfigParam> {
        if self.in_flight.is_some() || self.pending.is_empty() {
            return None;
        }
        let ready: Vec<u16> = self
            .pending
            .iter()
            .copied()
            .filter(|&s| !unsent(s))
            .take(4096)
            .collect();
        if ready.is_empty() {
            return None;
        }
        for s in &ready {
            self.pending.remove(s);
        }
        let req = Request {
            seq: self.next_seq,
            last_tsn,
            streams: ready,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.retry_rto = rto;
        self.retries = 0;
        self.retry_at = Some(now + rto);
        let p = self.param(&req);
        self.in_flight = Some(req);
        Some(p)
    }

    fn param(&self, r: &Request) -> ReconfigParam {
        ReconfigParam::OutgoingReset {
            request_seq: r.seq,
            response_seq: self.peer_next_seq.wrapping_sub(1),
            last_tsn: r.last_tsn,
            streams: r.streams.clone(),
        }
    }

    /// The retransmission timer fired: the same request again, backed off.
    pub fn on_timeout(&mut self, now: Instant, rto_max: Duration) -> Option<ReconfigParam> {
        if self.retry_at.is_none_or(|t| now < t) {
            return None;
        }
        let Some(r) = self.in_flight.clone() else {
            self.retry_at = None;
            return None;
        };
        self.retries += 1;
        self.retry_rto = (self.retry_rto * 2).min(rto_max);
        self.retry_at = Some(now + self.retry_rto);
        Some(self.param(&r))
    }

    /// A response from the peer.
    pub fn on_response(
        &mut self,
        now: Instant,
        rto: Duration,
        seq: u32,
        result: u32,
    ) -> Option<OutgoingOutcome> {
        let r = self.in_flight.as_ref().filter(|r| r.seq == seq)?;
        match result {
            reconfig_result::IN_PROGRESS => {
                // Ask again once the peer has had time to catch up.
                self.retry_at = Some(now + rto);
                None
            }
            reconfig_result::PERFORMED | reconfig_result::NOTHING_TO_DO => {
                let streams = r.streams.clone();
                self.in_flight = None;
                self.retry_at = None;
                Some(OutgoingOutcome::Done(streams))
            }
            _ => {
                let streams = r.streams.clone();
                self.in_flight = None;
                self.retry_at = None;
                Some(OutgoingOutcome::Denied(streams))
            }
        }
    }

    /// A peer's Outgoing SSN Reset Request (RFC 6525 §5.2.2). `cum` is our
    /// cumulative TSN. Returns the response to send and, when performed,
    /// the streams whose incoming SSNs start again.
    pub fn on_peer_request(
        &mut self,
        seq: u32,
        last_tsn: Tsn,
        streams: Vec<u16>,
        cum: Tsn,
    ) -> (ReconfigParam, Option<Vec<u16>>) {
        let respond = |result| ReconfigParam::Response {
            response_seq: seq,
            result,
        };
        if seq != self.peer_next_seq {
            // A retransmission of the last request gets the same answer.
            return match self.last_response {
                Some((s, result)) if s == seq => (respond(result), None),
                _ if self.deferred.as_ref().is_some_and(|d| d.seq == seq) => {
                    (respond(reconfig_result::IN_PROGRESS), None)
                }
                _ => (respond(reconfig_result::BAD_SEQUENCE), None),
            };
        }
        if last_tsn > cum {
            self.deferred = Some(Deferred {
                seq,
                last_tsn,
                streams,
            });
            // Keep the sequence number: the request is not done yet.
            self.peer_next_seq = seq.wrapping_add(1);
            return (respond(reconfig_result::IN_PROGRESS), None);
        }
        self.peer_next_seq = seq.wrapping_add(1);
        self.last_response = Some((seq, reconfig_result::PERFORMED));
        (respond(reconfig_result::PERFORMED), Some(streams))
    }

    /// The cumulative TSN advanced: a deferred request may now be performed.
    /// Returns its response and streams.
    pub fn on_cumulative(&mut self, cum: Tsn) -> Option<(ReconfigParam, Vec<u16>)> {
        if self.deferred.as_ref().is_none_or(|d| d.last_tsn > cum) {
            return None;
        }
        let d = self.deferred.take()?;
        self.last_response = Some((d.seq, reconfig_result::PERFORMED));
        Some((
            ReconfigParam::Response {
                response_seq: d.seq,
                result: reconfig_result::PERFORMED,
            },
            d.streams,
        ))
    }

    /// Whether a peer request waits for data.
    pub fn has_deferred(&self) -> bool {
        self.deferred.is_some()
    }
}

#[cfg(test)]
// Tests need an arbitrary origin for time.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn one_request_in_flight_then_the_next() {
        let now = Instant::now();
        let rto = Duration::from_millis(300);
        let mut r = StreamReset::new(Tsn(100), Tsn(500));
        r.request(1);
        r.request(3);
        // Stream 3 still has unsent data: only 1 goes.
        let p = r.poll_request(now, rto, Tsn(120), |s| s == 3).unwrap();
        assert_eq!(
            p,
            ReconfigParam::OutgoingReset {
                request_seq: 100,
                response_seq: 499,
                last_tsn: Tsn(120),
                streams: vec![1],
            }
        );
        assert!(r.is_resetting(1) && r.is_resetting(3));
        assert!(r.poll_request(now, rto, Tsn(121), |_| false).is_none());
        // No answer: the same request again.
        assert_eq!(r.on_timeout(now + rto, Duration::from_secs(60)), Some(p));
        // In progress, then performed.
        assert_eq!(
            r.on_response(now, rto, 100, reconfig_result::IN_PROGRESS),
            None
        );
        assert_eq!(
            r.on_response(now, rto, 99, reconfig_result::PERFORMED),
            None
        );
        assert_eq!(
            r.on_response(now, rto, 100, reconfig_result::PERFORMED),
            Some(OutgoingOutcome::Done(vec![1]))
        );
        assert!(!r.is_resetting(1));
        let p = r.poll_request(now, rto, Tsn(130), |_| false).unwrap();
        assert!(matches!(
            p,
            ReconfigParam::OutgoingReset {
                request_seq: 101,
                ..
            }
        ));
    }

    #[test]
    fn peer_requests_wait_for_their_data_and_retransmissions_get_the_same_answer() {
        let mut r = StreamReset::new(Tsn(1), Tsn(1000));
        // TSN 50 has not arrived yet: deferred.
        let (resp, done) = r.on_peer_request(1000, Tsn(50), vec![7], Tsn(45));
        assert_eq!(
            resp,
            ReconfigParam::Response {
                response_seq: 1000,
                result: reconfig_result::IN_PROGRESS
            }
        );
        assert!(done.is_none());
        assert!(r.on_cumulative(Tsn(49)).is_none());
        let (resp, streams) = r.on_cumulative(Tsn(50)).unwrap();
        assert_eq!(streams, vec![7]);
        assert_eq!(
            resp,
            ReconfigParam::Response {
                response_seq: 1000,
                result: reconfig_result::PERFORMED
            }
        );
        // The peer resends: same answer, nothing performed twice.
        let (resp2, done) = r.on_peer_request(1000, Tsn(50), vec![7], Tsn(50));
        assert_eq!(resp2, resp);
        assert!(done.is_none());
        // The next one is performed at once; a wild sequence number is refused.
        let (_, done) = r.on_peer_request(1001, Tsn(60), vec![9], Tsn(60));
        assert_eq!(done, Some(vec![9]));
        let (resp, done) = r.on_peer_request(77, Tsn(60), vec![9], Tsn(60));
        assert!(done.is_none());
        assert_eq!(
            resp,
            ReconfigParam::Response {
                response_seq: 77,
                result: reconfig_result::BAD_SEQUENCE
            }
        );
    }
}
