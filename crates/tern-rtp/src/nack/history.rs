//! The sender's packet history for answering NACKs with retransmissions
//! (RFC 4585 §6.2.1, RFC 4588). Modelled on libwebrtc's `RtpPacketHistory`:
//! bounded by count and age, one resend per packet per round trip.

use std::fmt;
use std::time::{Duration, Instant};

use crate::rtp::{write_rtx, PayloadType, RtpError, RtpPacket, SeqNo, SeqNoUnwrapper, Ssrc};

/// Tuning of a [`PacketHistory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Packets kept (libwebrtc keeps up to 600 for video).
    pub capacity: usize,
    /// Largest packet accepted, which bounds memory at `capacity` times this.
    pub max_packet_len: usize,
    /// Packets stay answerable at least this long...
    pub min_age: Duration,
    /// ...or this many round trips, whichever is longer (libwebrtc: 1 s and 3).
    pub rtt_factor: u32,
    /// Round-trip time assumed until [`PacketHistory::set_rtt`] is called.
    pub initial_rtt: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            capacity: 600,
            max_packet_len: 1500,
            min_age: Duration::from_secs(1),
            rtt_factor: 3,
            initial_rtt: Duration::from_millis(100),
        }
    }
}

/// Why a packet cannot be stored or resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryError {
    /// The bytes are not an RTP packet, or the RTX packet does not fit `out`.
    Rtp(RtpError),
    /// The packet is larger than [`HistoryConfig::max_packet_len`].
    TooLarge {
        /// The packet's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not in the history (never stored, or overwritten by newer packets).
    NotFound(SeqNo),
    /// Stored too long ago to be worth resending.
    Expired(SeqNo),
    /// Resent less than one round trip ago: the earlier resend may still
    /// be on its way, so this NACK is not answered.
    TooSoon(SeqNo),
}

impl From<RtpError> for HistoryError {
    fn from(e: RtpError) -> Self {
        HistoryError::Rtp(e)
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Rtp(e) => write!(f, "{e}"),
            HistoryError::TooLarge { len, max } => {
                write!(f, "RTP packet of {len} bytes exceeds the history's {max}")
            }
            HistoryError::NotFound(s) => write!(f, "RTP packet {s} is not in the history"),
            HistoryError::Expired(s) => write!(f, "RTP packet {s} is too old to resend"),
            HistoryError::TooSoon(s) => {
                write!(f, "RTP packet {s} was resent less than one RTT ago")
            }
        }
    }
}

impl std::error::Error for HistoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HistoryError::Rtp(e) => Some(e),
            _ => None,
        }
    }
}

/// Counters of a [`PacketHistory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryStats {
    /// Packets stored.
    pub stored: u64,
    /// Packets handed out for resending.
    pub resent: u64,
    /// Requests refused because the packet was resent within one RTT.
    pub too_soon: u64,
    /// Requests for packets not (or no longer) in the history.
    pub missing: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    ext_seq: Option<u64>,
    stored_at: Option<Instant>,
    last_resent: Option<Instant>,
    resends: u32,
    bytes: Vec<u8>,
}

/// Sent packets of one RTP stream, kept for retransmission.
///
/// A ring of [`HistoryConfig::capacity`] slots indexed by extended sequence
/// number; each slot's buffer is reused, so storing does not allocate once
/// every slot has held a packet of the stream's typical size. A packet can be
/// resent at most once per RTT, so a flood of NACKs for the same packets
/// cannot multiply the traffic.
#[derive(Debug, Clone)]
pub struct PacketHistory {
    config: HistoryConfig,
    rtt: Duration,
    unwrapper: SeqNoUnwrapper,
    slots: Vec<Slot>,
    stats: HistoryStats,
}

impl PacketHistory {
    /// An empty history. A capacity of 0 is taken as 1.
    pub fn new(config: HistoryConfig) -> Self {
        let capacity = config.capacity.max(1);
        let empty = Slot {
            ext_seq: None,
            stored_at: None,
            last_resent: None,
            resends: 0,
            bytes: Vec::new(),
        };
        Self {
            config: HistoryConfig { capacity, ..config },
            rtt: config.initial_rtt,
            unwrapper: SeqNoUnwrapper::new(),
            slots: vec![empty; capacity],
            stats: HistoryStats::default(),
        }
    }

    /// Sets the round-trip time (from RTCP): it spaces resends and
    /// stretches the age limit.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// The counters.
    pub fn stats(&self) -> HistoryStats {
        self.stats
    }

    /// How long a packet stays answerable: max(min_age, rtt_factor × RTT).
    pub fn max_age(&self) -> Duration {
        self.config
            .min_age
            .max(self.rtt.saturating_mul(self.config.rtt_factor))
    }

    fn index(&self, ext: u64) -> usize {
        // The remainder is below `capacity`, a usize.
        (ext % self.slots.len() as u64) as usize
    }

    /// Stores a packet as sent at `now`.
    pub fn insert(&mut self, now: Instant, packet: &[u8]) -> Result<(), HistoryError> {
        if packet.len() > self.config.max_packet_len {
            return Err(HistoryError::TooLarge {
                len: packet.len(),
                max: self.config.max_packet_len,
            });
        }
        let seq = RtpPacket::new_checked(packet)?.sequence_number();
        let ext = self.unwrapper.unwrap(seq).0;
        let i = self.index(ext);
        let slot = &mut self.slots[i];
        slot.ext_seq = Some(ext);
        slot.stored_at = Some(now);
        slot.last_resent = None;
        slot.resends = 0;
        slot.bytes.clear();
        slot.bytes.extend_from_slice(packet);
        self.stats.stored += 1;
        Ok(())
    }

    fn find(&self, now: Instant, seq: SeqNo) -> Result<usize, HistoryError> {
        let ext = self.unwrapper.peek(seq).0;
        let i = self.index(ext);
        let slot = &self.slots[i];
        if slot.ext_seq != Some(ext) {
            return Err(HistoryError::NotFound(seq));
        }
        match slot.stored_at {
            Some(t) if now.saturating_duration_since(t) <= self.max_age() => Ok(i),
            _ => Err(HistoryError::Expired(seq)),
        }
    }

    /// The stored bytes of `seq`, without counting it as resent.
    pub fn get(&self, now: Instant, seq: SeqNo) -> Result<&[u8], HistoryError> {
        let i = self.find(now, seq)?;
        Ok(&self.slots[i].bytes)
    }

    /// The slot of `seq` if it may be resent now.
    fn resendable(&mut self, now: Instant, seq: SeqNo) -> Result<usize, HistoryError> {
        let i = self
            .find(now, seq)
            .inspect_err(|_| self.stats.missing += 1)?;
        if self.slots[i]
            .last_resent
            .is_some_and(|t| now.saturating_duration_since(t) < self.rtt)
        {
            self.stats.too_soon += 1;
            return Err(HistoryError::TooSoon(seq));
        }
        Ok(i)
    }

    fn mark_resent(&mut self, i: usize, now: Instant) {
        let slot = &mut self.slots[i];
        slot.last_resent = Some(now);
        slot.resends += 1;
        self.stats.resent += 1;
    }

    /// The stored bytes of `seq` to resend now, unless it was resent less
    /// than one RTT ago.
    pub fn resend(&mut self, now: Instant, seq: SeqNo) -> Result<&[u8], HistoryError> {
        let i = self.resendable(now, seq)?;
        self.mark_resent(i, now);
        Ok(&self.slots[i].bytes)
    }

    /// As [`PacketHistory::resend`], writing the RTX packet (RFC 4588 §4:
    /// RTX SSRC, RTX sequence number, RTX payload type, payload = original
    /// sequence number + original payload) into `out`; returns its length.
    /// The caller advances `rtx_seq` after each packet it sends. Nothing is
    /// counted as resent if `out` is too small.
    pub fn resend_rtx(
        &mut self,
        now: Instant,
        seq: SeqNo,
        rtx_ssrc: Ssrc,
        rtx_seq: SeqNo,
        rtx_pt: PayloadType,
        out: &mut [u8],
    ) -> Result<usize, HistoryError> {
        let i = self.resendable(now, seq)?;
        // Stored packets were checked on insert, so this cannot fail.
        let original = RtpPacket::new_checked(&self.slots[i].bytes[..])?;
        let n = write_rtx(&original, rtx_ssrc, rtx_seq, rtx_pt, out)?;
        self.mark_resent(i, now);
        Ok(n)
    }

    /// How many times `seq` has been resent, if it is stored.
    pub fn resends(&self, seq: SeqNo) -> Option<u32> {
        let ext = self.unwrapper.peek(seq).0;
        let slot = &self.slots[self.index(ext)];
        (slot.ext_seq == Some(ext)).then_some(slot.resends)
    }
}

impl Default for PacketHistory {
    fn default() -> Self {
        Self::new(HistoryConfig::default())
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
