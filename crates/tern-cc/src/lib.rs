//! Send-side bandwidth estimation for WebRTC, sans-IO: time is passed in,
//! nothing here reads a clock, owns a socket or spawns a thread.
//!
//! A sender tells its [`CongestionController`] about every packet that
//! carried a transport-wide sequence number as it leaves
//! ([`SentPacket`]), hands it the receiver's feedback (transport-wide CC
//! or RFC 8888, turned into [`PacketResult`]s by [`SendHistory`]), and the
//! round-trip time from RTCP; it reads back the target bitrate for its
//! encoders, the rate to pace at, and the probe clusters to send.
//!
//! - [`gcc`]: Google Congestion Control in the design of libwebrtc's
//!   goog_cc (draft-ietf-rmcat-gcc-02): delay-based control from a
//!   trendline over inter-arrival groups with an adaptive threshold and
//!   AIMD, loss-based control, an acknowledged-bitrate estimator,
//!   application-limited-region detection, probing, and pushback when
//!   feedback stops.
//!
//! Other controllers sit beside it as files of their own, behind the
//! same trait (the shape of quinn's `congestion/`).

#![forbid(unsafe_code)]

pub mod gcc;
mod history;

use std::fmt;
use std::time::{Duration, Instant};

pub use gcc::{Gcc, GccConfig};
pub use history::SendHistory;

/// A bitrate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bitrate(pub u64);

impl Bitrate {
    /// From kilobits per second.
    pub const fn kbps(k: u64) -> Self {
        Bitrate(k * 1000)
    }
    /// From bits per second.
    pub const fn bps(b: u64) -> Self {
        Bitrate(b)
    }
    /// Bits per second.
    pub const fn as_bps(self) -> u64 {
        self.0
    }
    /// Bits per second as a float.
    pub fn as_f64(self) -> f64 {
        self.0 as f64
    }
    /// From a float (negative and NaN become 0).
    pub fn from_f64(bps: f64) -> Self {
        Bitrate(if bps.is_finite() && bps > 0.0 {
            bps as u64
        } else {
            0
        })
    }
    /// The rate at which `bytes` take `d`.
    pub fn from_bytes_over(bytes: u64, d: Duration) -> Option<Self> {
        let s = d.as_secs_f64();
        (s > 0.0).then(|| Bitrate::from_f64(bytes as f64 * 8.0 / s))
    }
    /// Scaled by `f`.
    pub fn scale(self, f: f64) -> Self {
        Bitrate::from_f64(self.as_f64() * f)
    }
    /// Bytes sent at this rate in `d`.
    pub fn bytes_in(self, d: Duration) -> f64 {
        self.as_f64() / 8.0 * d.as_secs_f64()
    }
}

impl std::ops::Add for Bitrate {
    type Output = Bitrate;
    fn add(self, o: Bitrate) -> Bitrate {
        Bitrate(self.0.saturating_add(o.0))
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1_000_000 {
            write!(f, "{:.2} Mbit/s", self.0 as f64 / 1e6)
        } else {
            write!(f, "{:.1} kbit/s", self.0 as f64 / 1e3)
        }
    }
}

/// A packet as it left, with its transport-wide sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentPacket {
    /// The transport-wide sequence number, extended past 16 bits.
    pub seq: u64,
    /// Its size on the wire in bytes (IP and UDP headers not counted).
    pub size: usize,
    /// When it left.
    pub sent_at: Instant,
    /// The probe cluster it belongs to, if any.
    pub probe_cluster: Option<u32>,
}

/// What feedback said about one sent packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketResult {
    /// The packet.
    pub sent: SentPacket,
    /// When it arrived, in the receiver's clock (µs from an arbitrary
    /// origin that stays the same for a connection); `None`: reported
    /// lost.
    pub received_us: Option<i64>,
}

/// A probe to send: packets at `bitrate` until at least `min_bytes` and
/// `min_packets` went, tagged with `id` (so the estimate can be read from
/// their feedback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCluster {
    /// The cluster's id.
    pub id: u32,
    /// The rate to send its packets at.
    pub bitrate: Bitrate,
    /// Bytes it needs at least.
    pub min_bytes: usize,
    /// Packets it needs at least.
    pub min_packets: usize,
}

/// What an estimator decided, for the pacer and the encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// What the encoders together should produce.
    pub target: Bitrate,
    /// The rate the pacer sends at (above the target, so queues drain).
    pub pacing: Bitrate,
    /// Whether the sender is application-limited (sends well under the
    /// estimate).
    pub application_limited: bool,
}

/// A send-side congestion controller.
pub trait CongestionController {
    /// A packet with a transport-wide sequence number left.
    fn on_packet_sent(&mut self, now: Instant, packet: SentPacket);
    /// Feedback arrived at `now`: the results of the packets it covers,
    /// in sequence order.
    fn on_feedback(&mut self, now: Instant, results: &[PacketResult]);
    /// The round-trip time RTCP measured.
    fn on_rtt(&mut self, now: Instant, rtt: Duration);
    /// A receiver estimate (REMB): an upper bound when present.
    fn on_remb(&mut self, now: Instant, bitrate: Bitrate);
    /// Runs what is due at `now` (pushback without feedback, probes).
    fn handle_timeout(&mut self, now: Instant);
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The current estimate.
    fn estimate(&self) -> Estimate;
    /// The next probe cluster to send, if one is due.
    fn poll_probe(&mut self, now: Instant) -> Option<ProbeCluster>;
    /// The application wants more than it has (a new encoding turned on):
    /// probe up to `bitrate` if the estimate is lower.
    fn request_probe(&mut self, now: Instant, bitrate: Bitrate);
}
