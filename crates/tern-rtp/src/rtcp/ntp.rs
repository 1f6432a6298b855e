//! NTP timestamps (RFC 3550 §4) and round-trip time from report blocks
//! (RFC 3550 §6.4.1).

use core::time::Duration;

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// RFC 3550 §4: a 64-bit NTP timestamp, seconds since 1900 in the high 32
/// bits and the fraction of a second in the low 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Builds a timestamp from whole seconds and a 1/2^32 fraction.
    pub fn new(seconds: u32, fraction: u32) -> Self {
        Self((u64::from(seconds) << 32) | u64::from(fraction))
    }
    /// The integer seconds (wrapping every 2^32 s, in 2036).
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// The fraction of a second in 1/2^32 units.
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }
    /// RFC 3550 §6.4.1: the middle 32 bits (16.16 fixed point seconds), the
    /// form LSR, DLSR and RFC 8888's report timestamp use.
    pub fn compact(self) -> u32 {
        (self.0 >> 16) as u32
    }
    /// The NTP time of an instant given as time since the Unix epoch (the
    /// caller reads the wall clock; this crate never does).
    pub fn from_unix(since_epoch: Duration) -> Self {
        let secs = since_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self((secs << 32) | frac)
    }
    /// Time since the Unix epoch, for timestamps after 1970 in NTP era 0.
    pub fn to_unix(self) -> Option<Duration> {
        let secs = u64::from(self.seconds()).checked_sub(NTP_UNIX_OFFSET_SECS)?;
        let nanos = (u64::from(self.fraction()) * 1_000_000_000) >> 32;
        // nanos < 1e9 because fraction < 2^32.
        Some(Duration::new(secs, nanos as u32))
    }
}

/// A 16.16 compact NTP interval (DLSR, RTT) as a duration.
pub fn compact_to_duration(compact: u32) -> Duration {
    let secs = u64::from(compact >> 16);
    let nanos = (u64::from(compact & 0xffff) * 1_000_000_000) >> 16;
    // nanos < 1e9 because the fraction is below 2^16.
    Duration::new(secs, nanos as u32)
}

/// A duration as a 16.16 compact NTP interval, rounded to the nearest
/// 1/65536 s and saturating at the field's maximum (about 18.2 hours).
pub fn duration_to_compact(d: Duration) -> u32 {
    let units = (d.as_nanos() * 65_536 + 500_000_000) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// RFC 3550 §6.4.1: the round-trip time a report block reveals: arrival time
/// of the report minus LSR minus DLSR, all in compact NTP units and computed
/// modulo 2^32 so the 65536-second wrap of the compact form is harmless.
///
/// `None` when LSR is zero (no SR received yet, so no measurement) or when
/// the result is negative (DLSR larger than the elapsed time: clocks or
/// reports are inconsistent).
pub fn rtt_from_report(
    arrival: NtpTime,
    last_sr: u32,
    delay_since_last_sr: u32,
) -> Option<Duration> {
    if last_sr == 0 {
        return None;
    }
    let rtt = arrival
        .compact()
        .wrapping_sub(last_sr)
        .wrapping_sub(delay_since_last_sr);
    if rtt >= 0x8000_0000 {
        return None;
    }
    Some(compact_to_duration(rtt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_is_the_middle_32_bits() {
        // libwebrtc sender_report_unittest.cc kNtp(0x11121418, 0x22242628).
        let t = NtpTime::new(0x11121418, 0x22242628);
        assert_eq!(t.seconds(), 0x11121418);
        assert_eq!(t.fraction(), 0x22242628);
        assert_eq!(t.compact(), 0x1418_2224);
    }

    #[test]
    fn rfc3550_rtt_example() {
        // RFC 3550 §6.4.1 example: A = 0xb710_8000 (46864.500 s), LSR =
        // 0xb705_2000 (46853.125 s), DLSR = 0x0005_4000 (5.250 s), so
        // RTT = 0x0006_2000 = 6.125 s.
        let arrival = NtpTime(0x0000_b710_8000_0000);
        assert_eq!(arrival.compact(), 0xb710_8000);
        let rtt = rtt_from_report(arrival, 0xb705_2000, 0x0005_4000).unwrap();
        assert_eq!(rtt, Duration::from_millis(6125));
    }

    #[test]
    fn rtt_across_the_compact_wrap() {
        // SR sent at compact 0xffff_8000 (just before the 65536 s wrap),
        // held 0.25 s, report arrives at 0x0000_8000: RTT = 0.75 s.
        let arrival = NtpTime(0x0001_0000_8000_0000);
        let rtt = rtt_from_report(arrival, 0xffff_8000, 0x0000_4000).unwrap();
        assert_eq!(rtt, Duration::from_millis(750));
        assert_eq!(rtt_from_report(arrival, 0, 0), None);
        // DLSR larger than elapsed time: negative, rejected.
        assert_eq!(rtt_from_report(arrival, 0x0000_7000, 0x0000_2000), None);
    }

    #[test]
    fn unix_round_trip_and_compact_durations() {
        let d = Duration::new(1_700_000_000, 250_000_000);
        let t = NtpTime::from_unix(d);
        assert_eq!(u64::from(t.seconds()), 1_700_000_000 + NTP_UNIX_OFFSET_SECS);
        assert_eq!(t.fraction(), 1 << 30);
        let back = t.to_unix().unwrap();
        assert!(back.abs_diff(d) < Duration::from_nanos(2));
        assert_eq!(
            duration_to_compact(Duration::from_millis(5250)),
            0x0005_4000
        );
        assert_eq!(
            compact_to_duration(0x0005_4000),
            Duration::from_millis(5250)
        );
        assert_eq!(duration_to_compact(Duration::from_secs(1 << 20)), u32::MAX);
    }
}
