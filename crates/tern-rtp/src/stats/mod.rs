//! Receive statistics of one RTP source (RFC 3550 §6.4.1, Appendix A.1,
//! A.3 and A.8): sequence validity with probation, extended highest
//! sequence number, cumulative and fractional loss, interarrival jitter,
//! and the fields of an RTCP reception report block.

use std::time::{Duration, Instant};

use crate::rtp::{RtpTimestamp, SeqNo, Ssrc};

/// RFC 3550 A.1: the largest forward jump still taken as "in order".
pub const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: the largest backward step taken as reordering rather than
/// a restart.
pub const MAX_MISORDER: u16 = 100;
/// RFC 3550 A.1: sequential packets needed before a new source is valid.
pub const MIN_SEQUENTIAL: u8 = 2;
const SEQ_MOD: u32 = 1 << 16;
/// RFC 3550 §6.4.1: cumulative lost is a signed 24-bit field.
const CUMULATIVE_LOST_MAX: i64 = 0x7f_ffff;
const CUMULATIVE_LOST_MIN: i64 = -0x80_0000;

/// The fields of one RTCP reception report block (RFC 3550 §6.4.1), as
/// numbers; the RTCP writer puts them on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceptionReport {
    /// SSRC_n: the source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction lost since the previous report, as a fixed-point number with
    /// the binary point at the left edge (lost / expected × 256).
    pub fraction_lost: u8,
    /// Cumulative number of packets lost, clamped to signed 24 bits;
    /// negative when duplicates outnumber losses.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received: cycles in the high 16
    /// bits, the highest sequence number in the low 16.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// LSR: the middle 32 bits of the NTP timestamp of the last sender
    /// report from this source, 0 if none.
    pub last_sr: u32,
    /// DLSR: time since that sender report arrived, in units of 1/65536 s,
    /// 0 if none.
    pub delay_since_last_sr: u32,
}

/// Receive statistics for one SSRC (RFC 3550 Appendix A.1, A.3, A.8).
///
/// Feed every packet with [`ReceiveStats::on_packet`]; take a
/// [`ReceptionReport`] with [`ReceiveStats::report`] each time an RTCP
/// report goes out (the "since the last report" interval restarts then).
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    ssrc: Ssrc,
    clock_rate: u32,
    probation_len: u8,
    started: bool,
    // RFC 3550 A.1 `source`, field for field.
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u8,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    // A.8, with the jitter scaled by 16 as the RFC's integer version does.
    transit: Option<u32>,
    jitter_q4: u64,
    arrival_base: Option<Instant>,
    last_sr: Option<(u32, Instant)>,
}

impl ReceiveStats {
    /// Statistics for `ssrc`, whose payload format's RTP clock runs at
    /// `clock_rate` Hz (for jitter), with RFC 3550's probation of
    /// [`MIN_SEQUENTIAL`] packets.
    pub fn new(ssrc: Ssrc, clock_rate: u32) -> Self {
        Self::with_probation(ssrc, clock_rate, MIN_SEQUENTIAL)
    }

    /// As [`ReceiveStats::new`] with `probation` sequential packets needed
    /// before the source counts (0 or 1: the first packet counts, e.g. when
    /// signalling already vouched for the SSRC).
    pub fn with_probation(ssrc: Ssrc, clock_rate: u32, probation: u8) -> Self {
        Self {
            ssrc,
            clock_rate,
            probation_len: probation,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            arrival_base: None,
            last_sr: None,
        }
    }

    /// The source.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// RFC 3550 A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// RFC 3550 A.1 `update_seq`: whether the packet counts.
    fn update_seq(&mut self, seq: u16) -> bool {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            if self.probation_len > 1 {
                self.max_seq = seq.wrapping_sub(1);
                self.probation = self.probation_len;
            } else {
                self.received = 1;
                return true;
            }
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = self.probation_len - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump: a restarted sender if the next packet
            // continues from here, else a stray.
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        // Otherwise a duplicate or reordered packet: counted, max unchanged.
        self.received = self.received.wrapping_add(1);
        true
    }

    /// The arrival time in RTP timestamp units since the first packet.
    fn arrival_ticks(&mut self, now: Instant) -> u32 {
        let base = *self.arrival_base.get_or_insert(now);
        let d = now.saturating_duration_since(base);
        let ticks = d.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000;
        // The RTP clock wraps at 2^32; so does this.
        ticks as u32
    }

    /// Accounts one received packet, arriving at `now`, with header fields
    /// `seq` and `timestamp`. Returns whether it counted (RFC 3550 A.1: not
    /// during probation, not a stray large jump). Jitter (A.8) is updated for
    /// every counted packet after the first.
    pub fn on_packet(&mut self, now: Instant, seq: SeqNo, timestamp: RtpTimestamp) -> bool {
        let arrival = self.arrival_ticks(now);
        if !self.update_seq(seq.0) {
            return false;
        }
        let transit = arrival.wrapping_sub(timestamp.0);
        if let Some(prev) = self.transit {
            // Differences of RTP times are taken modulo 2^32 as signed.
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // J += (|D| - J) / 16, on J scaled by 16 (RFC 3550 A.8).
            // In 64 bits: 16 × a 31-bit |D| does not fit 32.
            self.jitter_q4 = self.jitter_q4 + u64::from(d) - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
        true
    }

    /// Records a sender report from this source: its 64-bit NTP timestamp,
    /// arriving at `now` (for LSR and DLSR, RFC 3550 §6.4.1).
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64) {
        // The middle 32 bits, by definition of LSR.
        self.last_sr = Some(((ntp >> 16) as u32, now));
    }

    /// Whether the source has passed probation and counted a packet.
    pub fn is_valid(&self) -> bool {
        self.started && self.probation == 0
    }

    /// RFC 3550 A.3: the extended highest sequence number received.
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets received and counted.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// RFC 3550 A.3: packets expected, from the base to the highest.
    pub fn expected(&self) -> u32 {
        self.extended_highest_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// RFC 3550 A.3: cumulative packets lost, unclamped.
    pub fn cumulative_lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// RFC 3550 A.8: interarrival jitter in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// Interarrival jitter as a duration.
    pub fn jitter_duration(&self) -> Duration {
        if self.clock_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(self.clock_rate))
    }

    /// The reception report block for an RTCP report sent at `now`
    /// (RFC 3550 A.3), starting a new interval for the fraction lost.
    /// `None` until the source is valid.
    pub fn report(&mut self, now: Instant) -> Option<ReceptionReport> {
        if !self.is_valid() {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // lost_interval <= expected_interval, so this is at most 256
            // (nothing received in the interval), which saturates.
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let cumulative_lost = self
            .cumulative_lost()
            .clamp(CUMULATIVE_LOST_MIN, CUMULATIVE_LOST_MAX) as i32;
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                let units = (d.as_nanos() << 16) / 1_000_000_000;
                (lsr, u32::try_from(units).unwrap_or(u32::MAX))
            }
            None => (0, 0),
        };
        Some(ReceptionReport {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests;
