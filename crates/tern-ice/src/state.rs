//! States and events, named after their W3C counterparts.

use std::net::SocketAddr;

use crate::candidate::Candidate;

/// Which side decides nomination (RFC 8445 §6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Nominates pairs.
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
}

/// Mirrors `RTCIceConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IceConnectionState {
    /// Nothing to check yet.
    New,
    /// Checks are running; no pair selected.
    Checking,
    /// A pair is selected and consent is fresh.
    Connected,
    /// Selected, and every pair has been checked with both sides' candidates complete.
    Completed,
    /// Consent has not been refreshed lately; may recover.
    Disconnected,
    /// Every pair failed, or consent expired. Only a restart leaves this state.
    Failed,
    /// Closed by the caller.
    Closed,
}

/// Mirrors `RTCIceGatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IceGatheringState {
    /// Not started.
    New,
    /// Waiting for STUN servers.
    Gathering,
    /// All candidates known.
    Complete,
}

/// What the agent reports through [`IceAgent::poll_event`](crate::IceAgent::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IceEvent {
    /// A local candidate to signal to the peer (trickle, RFC 8838).
    LocalCandidate(Candidate),
    /// All local candidates have been signalled: send end-of-candidates.
    EndOfLocalCandidates,
    /// The gathering state changed.
    GatheringStateChange(IceGatheringState),
    /// The connection state changed.
    ConnectionStateChange(IceConnectionState),
    /// The pair that carries data changed: send from `local` to `remote`.
    SelectedPairChange {
        /// Our base address.
        local: SocketAddr,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// The role changed after a role conflict (RFC 8445 §7.3.1.1).
    RoleChange(Role),
}
