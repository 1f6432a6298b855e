//! Payload-specific feedback: PLI (RFC 4585 §6.3.1), FIR (RFC 5104 §4.3.1)
//! and REMB (draft-alvestrand-rmcat-remb-03, an RFC 4585 §6.4 AFB message).

use super::error::{malformed, RtcpError};
use super::header::{
    be16, be32, ensure, fmt, frame, packet_type, put16, put32, write_header, Framing, HEADER_LEN,
};
use super::Ssrc;

const FCI: usize = HEADER_LEN + 8;
const REMB_ID: [u8; 4] = *b"REMB";
/// REMB's SSRC count is one octet.
pub const REMB_MAX_SSRCS: usize = 255;
const REMB_MAX_MANTISSA: u64 = 0x3ffff;

fn check(buf: &[u8], want_fmt: u8, what: &'static str) -> Result<Framing, RtcpError> {
    let f = frame(buf)?;
    if f.header.packet_type != packet_type::PSFB || f.header.count != want_fmt {
        return Err(malformed(f.header.packet_type, what));
    }
    if f.payload_end < FCI {
        return Err(malformed(
            packet_type::PSFB,
            "no room for the feedback SSRCs",
        ));
    }
    Ok(f)
}

fn write_common(
    out: &mut [u8],
    fmt: u8,
    len: usize,
    sender: Ssrc,
    media: Ssrc,
) -> Result<(), RtcpError> {
    ensure(out, len)?;
    write_header(out, false, fmt, packet_type::PSFB, len)?;
    put32(out, HEADER_LEN, sender);
    put32(out, HEADER_LEN + 4, media);
    Ok(())
}

/// A zero-copy view of a picture loss indication.
#[derive(Debug, Clone, Copy)]
pub struct Pli<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Pli<T> {
    /// Validates type, FMT 1 and the two SSRCs. Extra FCI bytes (libwebrtc's
    /// experimental LTR fields) are tolerated.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        check(buffer.as_ref(), fmt::PLI, "not a PLI")?;
        Ok(Self { buffer })
    }
    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// SSRC of the media source that should send a key frame.
    pub fn media_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN + 4)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Pli<T> {
    /// Rewrites the media SSRC in place.
    pub fn set_media_ssrc(&mut self, ssrc: Ssrc) {
        put32(self.buffer.as_mut(), HEADER_LEN + 4, ssrc);
    }
}

/// RFC 4585 §6.3.1: writes a PLI; returns its length (12).
pub fn write_pli(out: &mut [u8], sender_ssrc: Ssrc, media_ssrc: Ssrc) -> Result<usize, RtcpError> {
    write_common(out, fmt::PLI, FCI, sender_ssrc, media_ssrc)?;
    Ok(FCI)
}

/// One FIR request: the SSRC asked for a key frame and the command
/// sequence number (RFC 5104 §4.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: Ssrc,
    /// Incremented per new request, repeated on retransmission.
    pub seq_nr: u8,
}

/// A zero-copy view of a full intra request.
#[derive(Debug, Clone, Copy)]
pub struct Fir<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> Fir<T> {
    /// Validates type, FMT 4 and a non-empty whole number of 8-byte FCI
    /// entries (libwebrtc rejects empty and fractional ones too).
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = check(buffer.as_ref(), fmt::FIR, "not a FIR")?;
        let fci = f.payload_end - FCI;
        if fci == 0 || fci % 8 != 0 {
            return Err(malformed(
                packet_type::PSFB,
                "FIR FCI not a positive multiple of 8",
            ));
        }
        Ok(Self { buffer, f })
    }
    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// The requests.
    pub fn entries(&self) -> impl Iterator<Item = FirEntry> + '_ {
        self.buffer.as_ref()[FCI..self.f.payload_end]
            .chunks_exact(8)
            .map(|e| FirEntry {
                ssrc: be32(e, 0),
                seq_nr: e[4],
            })
    }
}

/// RFC 5104 §4.3.1: writes a FIR (media SSRC field zero); returns its length.
pub fn write_fir(
    out: &mut [u8],
    sender_ssrc: Ssrc,
    entries: &[FirEntry],
) -> Result<usize, RtcpError> {
    if entries.is_empty() {
        return Err(RtcpError::InvalidInput("FIR without entries"));
    }
    let len = FCI + 8 * entries.len();
    write_common(out, fmt::FIR, len, sender_ssrc, 0)?;
    for (i, e) in entries.iter().enumerate() {
        let at = FCI + 8 * i;
        put32(out, at, e.ssrc);
        out[at + 4] = e.seq_nr;
        out[at + 5..at + 8].fill(0);
    }
    Ok(len)
}

/// A zero-copy view of a receiver estimated maximum bitrate message.
#[derive(Debug, Clone, Copy)]
pub struct Remb<T: AsRef<[u8]>> {
    buffer: T,
    bitrate: u64,
}

impl<T: AsRef<[u8]>> Remb<T> {
    /// Validates the 'REMB' identifier, that the SSRC count matches the
    /// length exactly, and that the bitrate fits in 63 bits (libwebrtc's
    /// rules).
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = check(buffer.as_ref(), fmt::AFB, "not an AFB message")?;
        let b = buffer.as_ref();
        let bad = |r| malformed(packet_type::PSFB, r);
        if f.payload_end < FCI + 8 || b[FCI..FCI + 4] != REMB_ID {
            return Err(bad("AFB message is not REMB"));
        }
        let n = usize::from(b[FCI + 4]);
        if f.payload_end != FCI + 8 + 4 * n {
            return Err(bad("REMB SSRC count does not match its length"));
        }
        let exp = u32::from(b[FCI + 5] >> 2);
        let mantissa = (u64::from(b[FCI + 5] & 3) << 16) | u64::from(be16(b, FCI + 6));
        let bitrate = mantissa << exp;
        if bitrate >> exp != mantissa || bitrate > i64::MAX as u64 {
            return Err(bad("REMB bitrate overflows 63 bits"));
        }
        Ok(Self { buffer, bitrate })
    }
    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// The estimated maximum bitrate in bits per second.
    pub fn bitrate_bps(&self) -> u64 {
        self.bitrate
    }
    /// The SSRCs the estimate applies to.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = Ssrc> + '_ {
        let b = self.buffer.as_ref();
        let n = usize::from(b[FCI + 4]);
        b[FCI + 8..FCI + 8 + 4 * n]
            .chunks_exact(4)
            .map(|c| be32(c, 0))
    }
}

/// Splits a bitrate into REMB's 6-bit exponent and 18-bit mantissa, as
/// libwebrtc's remb.cc does: shift right until the mantissa fits (the value
/// is rounded down). A u64 needs at most 46 shifts, so the exponent fits.
pub(crate) fn remb_exp_mantissa(bitrate_bps: u64) -> (u8, u32) {
    let mut m = bitrate_bps;
    let mut e = 0u8;
    while m > REMB_MAX_MANTISSA {
        m >>= 1;
        e += 1;
    }
    // m <= 0x3ffff after the loop.
    (e, m as u32)
}

/// Writes a REMB (media SSRC zero), the bitrate rounded down to what 18
/// bits of mantissa express and clamped to 2^63 - 1; returns its length.
pub fn write_remb(
    out: &mut [u8],
    sender_ssrc: Ssrc,
    bitrate_bps: u64,
    ssrcs: &[Ssrc],
) -> Result<usize, RtcpError> {
    if ssrcs.len() > REMB_MAX_SSRCS {
        return Err(RtcpError::InvalidInput("more than 255 SSRCs in a REMB"));
    }
    let len = FCI + 8 + 4 * ssrcs.len();
    write_common(out, fmt::AFB, len, sender_ssrc, 0)?;
    out[FCI..FCI + 4].copy_from_slice(&REMB_ID);
    // libwebrtc rejects values above 2^63 - 1, so clamp to what it accepts.
    let (e, m) = remb_exp_mantissa(bitrate_bps.min(i64::MAX as u64));
    // Fits: checked against REMB_MAX_SSRCS above.
    out[FCI + 4] = ssrcs.len() as u8;
    out[FCI + 5] = (e << 2) | (m >> 16) as u8;
    put16(out, FCI + 6, m as u16);
    for (i, s) in ssrcs.iter().enumerate() {
        put32(out, FCI + 8 + 4 * i, *s);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pli_libwebrtc_vector() {
        // libwebrtc modules/rtp_rtcp/source/rtcp_packet/pli_unittest.cc kPacket.
        let p = [
            0x81, 206, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89,
        ];
        let v = Pli::new_checked(&p[..]).unwrap();
        assert_eq!((v.sender_ssrc(), v.media_ssrc()), (0x12345678, 0x23456789));
        let mut out = [0u8; 16];
        let n = write_pli(&mut out, 0x12345678, 0x23456789).unwrap();
        assert_eq!(&out[..n], &p);
        let small = [0x81, 206, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78];
        assert!(Pli::new_checked(&small[..]).is_err());
    }

    #[test]
    fn fir_libwebrtc_vectors() {
        // libwebrtc modules/rtp_rtcp/source/rtcp_packet/fir_unittest.cc kPacket.
        let p = [
            0x84, 206, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0x23, 0x45,
            0x67, 0x89, 0x0d, 0x00, 0x00, 0x00,
        ];
        let v = Fir::new_checked(&p[..]).unwrap();
        assert_eq!(v.sender_ssrc(), 0x12345678);
        let e = FirEntry {
            ssrc: 0x23456789,
            seq_nr: 13,
        };
        assert_eq!(v.entries().collect::<Vec<_>>(), vec![e]);
        let mut out = [0u8; 32];
        let n = write_fir(&mut out, 0x12345678, &[e]).unwrap();
        assert_eq!(&out[..n], &p);
        // ParseFailsOnZeroFciEntries, ParseFailsOnFractionalFciEntries.
        let none = [0x84, 206, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0];
        assert!(Fir::new_checked(&none[..]).is_err());
        let half = [
            0x84, 206, 0x00, 0x05, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0x23, 0x45,
            0x67, 0x89, 0x0d, 0x00, 0x00, 0x00, b'h', b'a', b'l', b'f',
        ];
        assert!(Fir::new_checked(&half[..]).is_err());
    }

    // libwebrtc modules/rtp_rtcp/source/rtcp_packet/remb_unittest.cc kPacket.
    const REMB: [u8; 32] = [
        0x8f, 206, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, b'R', b'E', b'M',
        b'B', 0x03, 0x07, 0xfb, 0x93, 0x23, 0x45, 0x67, 0x89, 0x23, 0x45, 0x67, 0x8a, 0x23, 0x45,
        0x67, 0x8b,
    ];

    #[test]
    fn remb_libwebrtc_vectors() {
        let ssrcs = [0x23456789, 0x2345678a, 0x2345678b];
        let v = Remb::new_checked(&REMB[..]).unwrap();
        assert_eq!(v.sender_ssrc(), 0x12345678);
        assert_eq!(v.bitrate_bps(), 0x3fb93 * 2);
        assert_eq!(v.ssrcs().collect::<Vec<_>>(), ssrcs);
        let mut out = [0u8; 64];
        let n = write_remb(&mut out, 0x12345678, 0x3fb93 * 2, &ssrcs).unwrap();
        assert_eq!(&out[..n], &REMB);
        // CreateAndParse64bitBitrate.
        let big = 0x3fb93u64 << 30;
        let n = write_remb(&mut out, 1, big, &[]).unwrap();
        assert_eq!(Remb::new_checked(&out[..n]).unwrap().bitrate_bps(), big);
        // Not 'REMB', SSRC count mismatch, exponent 63 and 200 * 2^56.
        let mut p = REMB;
        p[12] = b'N';
        assert!(Remb::new_checked(&p[..]).is_err());
        let mut p = REMB;
        p[16] += 1;
        assert!(Remb::new_checked(&p[..]).is_err());
        let mut p = REMB;
        p[17] |= 0xfc;
        p[19] |= 0x02;
        assert!(Remb::new_checked(&p[..]).is_err());
        let mut p = REMB;
        p[17] = 56 << 2;
        p[18] = 0;
        p[19] = 200;
        assert!(Remb::new_checked(&p[..]).is_err());
    }

    proptest! {
        #[test]
        fn remb_encoding_is_the_largest_representable_not_above(bps in any::<u64>()) {
            let (e, m) = remb_exp_mantissa(bps);
            let v = u64::from(m) << e;
            prop_assert!(v <= bps);
            prop_assert!(m <= 0x3ffff && e < 64);
            // One more mantissa step would overshoot (or the value is exact).
            prop_assert!(v == bps || (u64::from(m) + 1) << e > bps);
        }
    }
}
