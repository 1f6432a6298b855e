//! A sans-IO ICE agent (RFC 8445) for WebRTC.
//!
//! Full and lite agents; controlling and controlled roles with tie-breaker
//! role-conflict resolution; host, server-reflexive, peer-reflexive and
//! relayed candidates; RFC priorities and foundations; a paced check list
//! with frozen/waiting/in-progress/succeeded/failed pairs, triggered checks
//! and STUN retransmissions; regular nomination; trickle ICE (RFC 8838) with
//! end-of-candidates; ICE restart keeping the old path until a new one is
//! nominated; consent freshness (RFC 7675) with the disconnected → failed
//! path; IPv4 and IPv6; several interfaces; W3C-shaped states; per-pair
//! statistics; and [`UfragDemux`] for many agents on one socket.
//!
//! The agent never touches a socket or a clock: the caller passes `now`,
//! feeds datagrams to [`IceAgent::handle_receive`], and sends what
//! [`IceAgent::poll_transmit`] returns from the `source` address it names.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod agent;
mod candidate;
mod check;
mod config;
mod consent;
mod demux;
mod incoming;
mod pair;
mod relay;
mod state;

pub use agent::{IceAgent, IceAgentStats, Received};
pub use candidate::{candidate_priority, Candidate, CandidateKind, CandidateParseError};
pub use config::{Credentials, IceConfig, TurnServerConfig};
pub use demux::{DemuxStats, UfragDemux};
pub use pair::{pair_priority, CandidatePair, PairState, PairStats};
pub use state::{IceConnectionState, IceEvent, IceGatheringState, Role};
pub use tern_stun::Transmit;
