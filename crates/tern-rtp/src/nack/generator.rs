//! The receiver's NACK generator (RFC 4585 §6.2.1 Generic NACK, the
//! decision of what to request when): sans-IO, time passed in. Modelled on
//! libwebrtc's `NackRequester`, reshaped into poll style.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::rtp::{SeqNo, SeqNoUnwrapper};

/// Tuning of a [`NackGenerator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackConfig {
    /// Most sequence numbers tracked at once. A gap that would exceed it
    /// clears the list and asks for a keyframe instead of growing.
    pub max_list: usize,
    /// Most NACKs sent for one packet. After the last one the packet is
    /// given up one retry interval later if it has not arrived.
    pub max_nacks_per_packet: u8,
    /// A missing packet is given up this long after it was found missing.
    pub max_age: Duration,
    /// A missing packet is given up once the newest sequence number is
    /// more than this far ahead of it.
    pub max_age_packets: u16,
    /// A missing packet is first NACKed once this many later packets have
    /// arrived after it (1: as soon as the gap is seen)...
    pub reorder_packets: u16,
    /// ...or once this long has passed since the gap was seen, whichever
    /// comes first, so a reordered packet usually arrives before its NACK.
    pub reorder_delay: Duration,
    /// Round-trip time assumed until [`NackGenerator::set_rtt`] is called.
    pub initial_rtt: Duration,
    /// Floor of the retry interval, for an RTT measured near zero.
    pub min_retry_interval: Duration,
}

impl Default for NackConfig {
    fn default() -> Self {
        Self {
            max_list: 1000,
            max_nacks_per_packet: 10,
            max_age: Duration::from_secs(2),
            max_age_packets: 10_000,
            reorder_packets: 2,
            reorder_delay: Duration::from_millis(10),
            initial_rtt: Duration::from_millis(100),
            min_retry_interval: Duration::from_millis(5),
        }
    }
}

/// What [`NackGenerator::on_packet`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketOutcome {
    /// The next packet in order (or the first one).
    InOrder,
    /// A packet ahead of the newest; this many before it are now missing.
    Gap {
        /// Sequence numbers newly added to the missing list.
        missing: u16,
    },
    /// A missing packet arrived before any NACK for it went out.
    Reordered,
    /// A missing packet arrived after this many NACKs: a retransmission.
    Recovered {
        /// NACKs sent for it.
        nacks: u8,
    },
    /// A packet already received, or too old to be tracked.
    Duplicate,
    /// The gap was too big for the list: the list was cleared and a
    /// keyframe is needed (see [`NackGenerator::poll_keyframe_request`]).
    KeyframeNeeded,
}

/// Counters of a [`NackGenerator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NackStats {
    /// Sequence numbers requested, retries included.
    pub nacks_sent: u64,
    /// Missing packets that arrived after being NACKed.
    pub packets_recovered: u64,
    /// Missing packets that arrived before their first NACK.
    pub packets_reordered: u64,
    /// Missing packets given up: retries exhausted or too old.
    pub given_up: u64,
    /// Missing packets dropped by a list overflow or [`NackGenerator::clear_up_to`].
    pub cleared: u64,
    /// Keyframe requests raised by list overflows.
    pub keyframe_requests: u64,
}

#[derive(Debug, Clone, Copy)]
struct Missing {
    detected: Instant,
    last_sent: Option<Instant>,
    nacks: u8,
}

/// Tracks missing RTP sequence numbers of one stream and says which to
/// NACK when (RFC 4585 §6.2.1).
///
/// Feed every received packet's sequence number (original ones, and the
/// original sequence number of RTX retransmissions) to
/// [`NackGenerator::on_packet`]; call [`NackGenerator::poll_nack`] (or
/// [`NackGenerator::poll_nack_into`]) when [`NackGenerator::poll_timeout`]
/// is due or after a packet, and send what it returns as a Generic NACK.
/// A first NACK goes out once the reorder window has passed; retries are
/// spaced by the RTT; the list is bounded by [`NackConfig::max_list`].
#[derive(Debug, Clone)]
pub struct NackGenerator {
    config: NackConfig,
    rtt: Duration,
    unwrapper: SeqNoUnwrapper,
    newest: Option<u64>,
    missing: BTreeMap<u64, Missing>,
    /// The earliest time `poll_nack` may have something to do; may be
    /// early (a conservative bound), never late.
    next_deadline: Option<Instant>,
    keyframe_needed: bool,
    stats: NackStats,
}

impl NackGenerator {
    /// A generator with `config`.
    pub fn new(config: NackConfig) -> Self {
        Self {
            rtt: config.initial_rtt,
            config,
            unwrapper: SeqNoUnwrapper::new(),
            newest: None,
            missing: BTreeMap::new(),
            next_deadline: None,
            keyframe_needed: false,
            stats: NackStats::default(),
        }
    }

    /// Sets the round-trip time that spaces retries (from RTCP).
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// The counters.
    pub fn stats(&self) -> NackStats {
        self.stats
    }

    /// Number of sequence numbers currently missing.
    pub fn missing_len(&self) -> usize {
        self.missing.len()
    }

    /// Whether `seq` is currently in the missing list.
    pub fn is_missing(&self, seq: SeqNo) -> bool {
        self.missing.contains_key(&self.unwrapper.peek(seq).0)
    }

    fn retry_interval(&self) -> Duration {
        // Never zero, so a just-sent NACK is never due again at once.
        self.rtt
            .max(self.config.min_retry_interval)
            .max(Duration::from_millis(1))
    }

    fn pull_deadline(&mut self, at: Instant) {
        self.next_deadline = Some(self.next_deadline.map_or(at, |d| d.min(at)));
    }

    /// Accounts a received packet with sequence number `seq`, arriving at `now`.
    pub fn on_packet(&mut self, now: Instant, seq: SeqNo) -> PacketOutcome {
        let ext = self.unwrapper.unwrap(seq).0;
        let Some(newest) = self.newest else {
            self.newest = Some(ext);
            return PacketOutcome::InOrder;
        };
        if ext <= newest {
            return match self.missing.remove(&ext) {
                Some(m) if m.nacks > 0 => {
                    self.stats.packets_recovered += 1;
                    PacketOutcome::Recovered { nacks: m.nacks }
                }
                Some(_) => {
                    self.stats.packets_reordered += 1;
                    PacketOutcome::Reordered
                }
                None => PacketOutcome::Duplicate,
            };
        }
        self.newest = Some(ext);
        // Forget what is now too far behind.
        let horizon = ext.saturating_sub(u64::from(self.config.max_age_packets));
        // Checked first: `split_off` allocates a new tree even when nothing
        // moves, and this runs for every packet.
        if self
            .missing
            .first_key_value()
            .is_some_and(|(&k, _)| k < horizon)
        {
            let keep = self.missing.split_off(&horizon);
            self.stats.given_up += self.missing.len() as u64;
            self.missing = keep;
        }

        let first_missing = (newest + 1).max(horizon);
        let gap = ext - first_missing;
        if gap > 0 {
            if self.missing.len() as u64 + gap > self.config.max_list as u64 {
                self.stats.cleared += self.missing.len() as u64;
                self.missing.clear();
                self.next_deadline = None;
                self.keyframe_needed = true;
                self.stats.keyframe_requests += 1;
                return PacketOutcome::KeyframeNeeded;
            }
            for s in first_missing..ext {
                self.missing.insert(
                    s,
                    Missing {
                        detected: now,
                        last_sent: None,
                        nacks: 0,
                    },
                );
            }
            self.pull_deadline(now + self.config.reorder_delay);
        }
        // Packets that just became `reorder_packets` old are due at once.
        let rp = u64::from(self.config.reorder_packets);
        let crossed = newest.saturating_sub(rp).saturating_add(1)..=ext.saturating_sub(rp);
        if !crossed.is_empty() && self.missing.range(crossed).next().is_some() {
            self.pull_deadline(now);
        }
        if gap == 0 {
            PacketOutcome::InOrder
        } else {
            PacketOutcome::Gap {
                // `gap` fits the list, at most `max_list`; saturate beyond u16.
                missing: u16::try_from(gap).unwrap_or(u16::MAX),
            }
        }
    }

    /// Appends to `out` the sequence numbers to NACK now (oldest first) and
    /// returns how many; gives up on packets past their retries or age.
    /// Reusing `out` keeps this allocation-free.
    pub fn poll_nack_into(&mut self, now: Instant, out: &mut Vec<SeqNo>) -> usize {
        let before = out.len();
        let Some(newest) = self.newest else {
            return 0;
        };
        let interval = self.retry_interval();
        let cfg = self.config;
        let mut given_up = 0u64;
        let mut next: Option<Instant> = None;
        let mut sent = 0u64;
        self.missing.retain(|&seq, m| {
            if now.saturating_duration_since(m.detected) >= cfg.max_age {
                given_up += 1;
                return false;
            }
            let due = match m.last_sent {
                None => {
                    newest - seq >= u64::from(cfg.reorder_packets)
                        || now >= m.detected + cfg.reorder_delay
                }
                Some(t) => now >= t + interval,
            };
            if due && m.nacks >= cfg.max_nacks_per_packet {
                given_up += 1;
                return false;
            }
            if due {
                // The low 16 bits are the wire sequence number.
                out.push(SeqNo(seq as u16));
                m.nacks += 1;
                m.last_sent = Some(now);
                sent += 1;
            }
            let at = match m.last_sent {
                None => m.detected + cfg.reorder_delay,
                Some(t) => t + interval,
            }
            .min(m.detected + cfg.max_age);
            next = Some(next.map_or(at, |n: Instant| n.min(at)));
            true
        });
        self.stats.given_up += given_up;
        self.stats.nacks_sent += sent;
        self.next_deadline = next;
        out.len() - before
    }

    /// The sequence numbers to NACK now, if any (allocates; see
    /// [`NackGenerator::poll_nack_into`]).
    pub fn poll_nack(&mut self, now: Instant) -> Option<Vec<SeqNo>> {
        let mut v = Vec::new();
        (self.poll_nack_into(now, &mut v) > 0).then_some(v)
    }

    /// When [`NackGenerator::poll_nack`] next has something to do (it may
    /// be early, never late); `None` while nothing is missing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.missing.is_empty() {
            None
        } else {
            self.next_deadline
        }
    }

    /// Whether a list overflow asked for a keyframe since the last call
    /// (the caller sends a PLI/FIR); clears the request.
    pub fn poll_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_needed)
    }

    /// Stops asking for packets before `seq` (e.g. a keyframe starting at
    /// `seq` arrived and makes them useless), like libwebrtc's `ClearUpTo`.
    pub fn clear_up_to(&mut self, seq: SeqNo) {
        let ext = self.unwrapper.peek(seq).0;
        let keep = self.missing.split_off(&ext);
        self.stats.cleared += self.missing.len() as u64;
        self.missing = keep;
    }
}

impl Default for NackGenerator {
    fn default() -> Self {
        Self::new(NackConfig::default())
    }
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
