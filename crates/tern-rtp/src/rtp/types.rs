//! Newtypes for the RTP header's fields (RFC 3550 §5.1) and sequence number
//! arithmetic across the 16-bit wrap.

use std::fmt;

/// RFC 3550 §5.1: a synchronization (or contributing) source identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

impl From<u32> for Ssrc {
    fn from(v: u32) -> Self {
        Ssrc(v)
    }
}

/// RFC 3550 §5.1: a 16-bit sequence number. It wraps, so it has no total
/// order: compare with [`SeqNo::is_ahead_of`], which treats the nearer way
/// round the circle as the true distance (RFC 1982 serial arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNo(pub u16);

impl SeqNo {
    /// The next sequence number, wrapping from 65,535 to 0.
    #[must_use]
    pub fn next(self) -> SeqNo {
        SeqNo(self.0.wrapping_add(1))
    }

    /// `self + n`, wrapping.
    #[must_use]
    pub fn wrapping_add(self, n: u16) -> SeqNo {
        SeqNo(self.0.wrapping_add(n))
    }

    /// How far forward `later` is from `self`, modulo 2^16.
    pub fn forward_distance(self, later: SeqNo) -> u16 {
        later.0.wrapping_sub(self.0)
    }

    /// Whether `self` comes after `other`: the forward distance from `other`
    /// is in 1..32768, or exactly 32768 and `self` is numerically larger (the
    /// tie-break libwebrtc's `AheadOf` uses, so that of two numbers exactly
    /// half the circle apart exactly one is ahead).
    pub fn is_ahead_of(self, other: SeqNo) -> bool {
        let d = other.forward_distance(self);
        if d == 0x8000 {
            self.0 > other.0
        } else {
            d != 0 && d < 0x8000
        }
    }

    /// `self` is ahead of or equal to `other`.
    pub fn is_ahead_of_or_at(self, other: SeqNo) -> bool {
        self == other || self.is_ahead_of(other)
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u16> for SeqNo {
    fn from(v: u16) -> Self {
        SeqNo(v)
    }
}

/// A sequence number extended past the 16-bit wrap (RFC 3550 §6.4.1's
/// "extended highest sequence number", widened to 64 bits): the low 16 bits
/// are the wire sequence number, the rest count wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ExtendedSeqNo(pub u64);

impl ExtendedSeqNo {
    /// The 16-bit sequence number on the wire.
    pub fn seq(self) -> SeqNo {
        // Truncation to the low 16 bits is the point.
        SeqNo(self.0 as u16)
    }

    /// How many times the 16-bit number has wrapped.
    pub fn cycles(self) -> u64 {
        self.0 >> 16
    }
}

/// Turns a stream of 16-bit sequence numbers into [`ExtendedSeqNo`]s, each
/// one relative to the last one seen (like libwebrtc's `SeqNumUnwrapper`): a
/// step forward of less than half the circle counts forward, anything else
/// backward.
///
/// The first number is placed in cycle 1 (value 65,536 + seq), so a packet
/// reordered from before the first one still unwraps to a smaller value.
/// Values never go below zero: a stream stepping back by more than one whole
/// cycle saturates there.
#[derive(Debug, Clone, Default)]
pub struct SeqNoUnwrapper {
    last: Option<u64>,
}

impl SeqNoUnwrapper {
    /// An unwrapper that has seen nothing yet.
    pub fn new() -> Self {
        Self { last: None }
    }

    /// The extended value of `seq`, updating the reference point to it.
    pub fn unwrap(&mut self, seq: SeqNo) -> ExtendedSeqNo {
        let v = self.peek(seq);
        self.last = Some(v.0);
        v
    }

    /// The extended value `seq` would get, without moving the reference.
    pub fn peek(&self, seq: SeqNo) -> ExtendedSeqNo {
        let Some(last) = self.last else {
            return ExtendedSeqNo((1 << 16) | u64::from(seq.0));
        };
        // Truncation to the low 16 bits is the point.
        let last_seq = SeqNo(last as u16);
        if seq.is_ahead_of_or_at(last_seq) {
            ExtendedSeqNo(last + u64::from(last_seq.forward_distance(seq)))
        } else {
            ExtendedSeqNo(last.saturating_sub(u64::from(seq.forward_distance(last_seq))))
        }
    }

    /// The last extended value returned by [`SeqNoUnwrapper::unwrap`].
    pub fn last(&self) -> Option<ExtendedSeqNo> {
        self.last.map(ExtendedSeqNo)
    }
}

/// RFC 3550 §5.1: the 7-bit payload type. Construct with
/// [`PayloadType::new`], which refuses values above 127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PayloadType(u8);

impl PayloadType {
    /// A payload type, or `None` when `pt` does not fit in 7 bits.
    pub const fn new(pt: u8) -> Option<PayloadType> {
        if pt <= 0x7f {
            Some(PayloadType(pt))
        } else {
            None
        }
    }

    /// The payload type from the low 7 bits of `b` (the header's second byte
    /// without the marker bit).
    pub const fn from_low_bits(b: u8) -> PayloadType {
        PayloadType(b & 0x7f)
    }

    /// The number, 0..=127.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u8> for PayloadType {
    type Error = crate::rtp::RtpError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        PayloadType::new(v).ok_or(crate::rtp::RtpError::BadPayloadType(v))
    }
}

/// RFC 3550 §5.1: the 32-bit media timestamp, in the clock rate of the
/// payload format. It wraps; arithmetic is modular.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RtpTimestamp(pub u32);

impl RtpTimestamp {
    /// `self + ticks`, wrapping.
    #[must_use]
    pub fn wrapping_add(self, ticks: u32) -> RtpTimestamp {
        RtpTimestamp(self.0.wrapping_add(ticks))
    }

    /// The signed distance `self - earlier`, taking the nearer way round
    /// the 32-bit circle.
    pub fn signed_diff(self, earlier: RtpTimestamp) -> i32 {
        // Reinterpreting the modular difference as two's complement is the point.
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Whether `self` is later than `other` (forward distance below 2^31).
    pub fn is_newer_than(self, other: RtpTimestamp) -> bool {
        self.signed_diff(other) > 0
    }
}

impl fmt::Display for RtpTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ahead_of_across_the_wrap() {
        assert!(SeqNo(1).is_ahead_of(SeqNo(0)));
        assert!(SeqNo(0).is_ahead_of(SeqNo(65535)));
        assert!(!SeqNo(65535).is_ahead_of(SeqNo(0)));
        assert!(SeqNo(10).is_ahead_of(SeqNo(65530)));
        assert!(!SeqNo(5).is_ahead_of(SeqNo(5)));
        assert!(SeqNo(5).is_ahead_of_or_at(SeqNo(5)));
        // Exactly half way: exactly one of the two is ahead.
        assert!(SeqNo(0x8000).is_ahead_of(SeqNo(0)));
        assert!(!SeqNo(0).is_ahead_of(SeqNo(0x8000)));
        assert_eq!(SeqNo(65535).next(), SeqNo(0));
        assert_eq!(SeqNo(65530).forward_distance(SeqNo(4)), 10);
    }

    #[test]
    fn payload_type_is_seven_bits() {
        assert_eq!(PayloadType::new(127).map(PayloadType::get), Some(127));
        assert_eq!(PayloadType::new(128), None);
        assert!(PayloadType::try_from(200).is_err());
        assert_eq!(PayloadType::from_low_bits(0xe0).get(), 96);
    }

    #[test]
    fn timestamp_diff_wraps() {
        let a = RtpTimestamp(u32::MAX - 9);
        let b = a.wrapping_add(20);
        assert_eq!(b.0, 10);
        assert_eq!(b.signed_diff(a), 20);
        assert_eq!(a.signed_diff(b), -20);
        assert!(b.is_newer_than(a));
    }

    #[test]
    fn unwrapper_wraps_forward_and_back() {
        let mut u = SeqNoUnwrapper::new();
        let first = u.unwrap(SeqNo(65534));
        assert_eq!(first.0, 65536 + 65534);
        assert_eq!(u.unwrap(SeqNo(65535)).0, first.0 + 1);
        assert_eq!(u.unwrap(SeqNo(0)).0, first.0 + 2);
        assert_eq!(u.unwrap(SeqNo(1)).cycles(), 2);
        // A reordered packet from before the wrap.
        assert_eq!(u.unwrap(SeqNo(65533)).0, first.0 - 1);
        assert_eq!(u.peek(SeqNo(2)).0, first.0 + 4);
        assert_eq!(u.peek(SeqNo(2)).seq(), SeqNo(2));
    }

    #[test]
    fn unwrapper_saturates_at_zero() {
        let mut u = SeqNoUnwrapper::new();
        u.unwrap(SeqNo(0)); // 65536
        u.unwrap(SeqNo(40000)); // back by 25536: 40000
        assert_eq!(u.last().map(|e| e.0), Some(40000));
        u.unwrap(SeqNo(10000)); // back by 30000: 10000
        assert_eq!(u.last().map(|e| e.0), Some(10000));
        u.unwrap(SeqNo(50000)); // back by 25536: would be negative
        assert_eq!(u.last().map(|e| e.0), Some(0));
    }

    proptest! {
        /// Feeding a monotonically increasing extended sequence (steps below
        /// half the circle) through its 16-bit truncation reproduces it.
        #[test]
        fn unwrap_is_monotonic_across_wraps(
            start in any::<u16>(),
            steps in proptest::collection::vec(1u16..0x8000, 1..300),
        ) {
            let mut u = SeqNoUnwrapper::new();
            let mut truth = (1u64 << 16) | u64::from(start);
            prop_assert_eq!(u.unwrap(SeqNo(start)).0, truth);
            for s in steps {
                truth += u64::from(s);
                prop_assert_eq!(u.unwrap(SeqNo(truth as u16)).0, truth);
            }
        }

        /// Small reorderings (back and forth by < 2^15) map back exactly.
        #[test]
        fn unwrap_handles_reordering(
            start in any::<u16>(),
            deltas in proptest::collection::vec(-1000i64..1000, 1..60),
        ) {
            let mut u = SeqNoUnwrapper::new();
            // 60 steps of at most 1000 back cannot fall out of cycles 0..1.
            let mut truth = (1i64 << 16) + i64::from(start);
            prop_assert_eq!(u.unwrap(SeqNo(start)).0 as i64, truth);
            for d in deltas {
                truth += d;
                prop_assert_eq!(u.unwrap(SeqNo(truth as u16)).0 as i64, truth);
            }
        }
    }
}
