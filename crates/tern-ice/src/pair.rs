//! Candidate pairs, their states and statistics (RFC 8445 §6.1.2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A check-list pair's state (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PairState {
    /// Waiting for a pair with the same foundation to succeed.
    Frozen,
    /// Ready for a check.
    Waiting,
    /// A check is outstanding.
    InProgress,
    /// A check succeeded: the pair is valid.
    Succeeded,
    /// Checks failed.
    Failed,
}

/// Pair priority (RFC 8445 §6.1.2.3): `2^32·min(G,D) + 2·max(G,D) + (G>D)`,
/// G being the controlling agent's candidate priority.
pub fn pair_priority(controlling: u32, controlled: u32) -> u64 {
    let (g, d) = (u64::from(controlling), u64::from(controlled));
    (g.min(d) << 32) + 2 * g.max(d) + u64::from(g > d)
}

/// Counters and timings of one pair, named as in W3C `RTCIceCandidatePairStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairStats {
    /// Connectivity-check requests sent (retransmissions included).
    pub requests_sent: u64,
    /// Requests received from the peer on this pair.
    pub requests_received: u64,
    /// Responses sent.
    pub responses_sent: u64,
    /// Success responses received.
    pub responses_received: u64,
    /// Consent-freshness requests sent.
    pub consent_requests_sent: u64,
    /// Application bytes sent on this pair (the caller reports them).
    pub bytes_sent: u64,
    /// Application bytes received on this pair.
    pub bytes_received: u64,
    /// Most recent round-trip time of an unambiguous check.
    pub current_round_trip_time: Option<Duration>,
    /// Sum of all measured round trips (with `round_trip_time_measurements`, the mean).
    pub total_round_trip_time: Duration,
    /// How many round trips were measured.
    pub round_trip_time_measurements: u64,
}

/// One pair of the check list.
#[derive(Debug, Clone)]
pub struct CandidatePair {
    /// Index of the local candidate (its base is what we send from).
    pub(crate) local: usize,
    /// Index of the remote candidate.
    pub(crate) remote: usize,
    /// Our base address.
    pub local_addr: SocketAddr,
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// Pair foundation: local and remote foundations joined.
    pub(crate) foundation: String,
    /// Current state.
    pub state: PairState,
    /// Pair priority (recomputed on role change).
    pub priority: u64,
    /// Nominated (selected for data).
    pub nominated: bool,
    /// The controlled side saw USE-CANDIDATE on this pair before it succeeded.
    pub(crate) nominate_on_success: bool,
    /// When a response last proved the path (checks or consent).
    pub(crate) last_response: Option<Instant>,
    /// Statistics.
    pub stats: PairStats,
}

impl CandidatePair {
    pub(crate) fn record_rtt(&mut self, rtt: Duration) {
        self.stats.current_round_trip_time = Some(rtt);
        self.stats.total_round_trip_time += rtt;
        self.stats.round_trip_time_measurements += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_priority_formula() {
        // Symmetric in min/max, with the tie-break bit for the controlling side's larger value.
        assert_eq!(pair_priority(10, 5), (5u64 << 32) + 20 + 1);
        assert_eq!(pair_priority(5, 10), (5u64 << 32) + 20);
        assert!(
            pair_priority(2_130_706_431, 2_130_706_431)
                > pair_priority(1_694_498_815, 2_130_706_431)
        );
    }
}
