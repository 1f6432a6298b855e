//! Serial-number arithmetic for TSNs (RFC 9260 §3.3.1 refers to RFC 1982).

use std::cmp::Ordering;
use std::fmt;

/// A transmission sequence number; compared with 32-bit serial arithmetic.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tsn(pub u32);

impl Tsn {
    /// The next TSN.
    pub fn next(self) -> Tsn {
        Tsn(self.0.wrapping_add(1))
    }
    /// `self + n`.
    pub fn plus(self, n: u32) -> Tsn {
        Tsn(self.0.wrapping_add(n))
    }
    /// How far `self` is after `other` (negative if before), valid within 2^31.
    pub fn distance_from(self, other: Tsn) -> i64 {
        i64::from(self.0.wrapping_sub(other.0) as i32)
    }
}

impl PartialOrd for Tsn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tsn {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.wrapping_sub(other.0) as i32).cmp(&0)
    }
}

impl fmt::Debug for Tsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tsn({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_comparison_wraps() {
        assert!(Tsn(u32::MAX) < Tsn(0));
        assert!(Tsn(5) > Tsn(u32::MAX - 5));
        assert_eq!(Tsn(u32::MAX).next(), Tsn(0));
        assert_eq!(Tsn(2).distance_from(Tsn(u32::MAX)), 3);
        assert_eq!(Tsn(u32::MAX).distance_from(Tsn(2)), -3);
    }
}
