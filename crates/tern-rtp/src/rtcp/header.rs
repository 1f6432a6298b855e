//! The common RTCP header (RFC 3550 §6.4.1): version, padding, a 5-bit count
//! or feedback format, the packet type and the length in 32-bit words minus
//! one.

use super::error::{too_small, RtcpError};

/// Size of the common header.
pub const HEADER_LEN: usize = 4;
/// The only RTP/RTCP version (RFC 3550 §5.1).
pub const VERSION: u8 = 2;
/// Largest packet the 16-bit length field can describe.
pub const MAX_PACKET_LEN: usize = (u16::MAX as usize + 1) * 4;

/// RTCP packet type numbers.
pub mod packet_type {
    /// Sender report (RFC 3550 §6.4.1).
    pub const SR: u8 = 200;
    /// Receiver report (RFC 3550 §6.4.2).
    pub const RR: u8 = 201;
    /// Source description (RFC 3550 §6.5).
    pub const SDES: u8 = 202;
    /// Goodbye (RFC 3550 §6.6).
    pub const BYE: u8 = 203;
    /// Application-defined (RFC 3550 §6.7).
    pub const APP: u8 = 204;
    /// Transport-layer feedback (RFC 4585 §6.2).
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback (RFC 4585 §6.3).
    pub const PSFB: u8 = 206;
    /// Extended reports (RFC 3611 §2).
    pub const XR: u8 = 207;
}

/// Feedback message types (the FMT field of RTPFB and PSFB).
pub(crate) mod fmt {
    /// Generic NACK (RFC 4585 §6.2.1).
    pub const NACK: u8 = 1;
    /// RFC 8888 congestion control feedback.
    pub const CCFB: u8 = 11;
    /// Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
    pub const TWCC: u8 = 15;
    /// Picture loss indication (RFC 4585 §6.3.1).
    pub const PLI: u8 = 1;
    /// Full intra request (RFC 5104 §4.3.1).
    pub const FIR: u8 = 4;
    /// Application layer feedback (RFC 4585 §6.4), which carries REMB.
    pub const AFB: u8 = 15;
}

/// The decoded common header of one RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The P bit: the packet ends in padding whose last octet is its count.
    pub padding: bool,
    /// The 5-bit count (RC, SC) or feedback message type (FMT), or APP subtype.
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// The length field: packet size in 32-bit words minus one.
    pub length_words: u16,
}

impl Header {
    /// Decodes the first four bytes of `buf`; checks the version only.
    pub fn parse(buf: &[u8]) -> Result<Self, RtcpError> {
        let Some(h) = buf.get(..HEADER_LEN) else {
            return Err(RtcpError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        };
        let version = h[0] >> 6;
        if version != VERSION {
            return Err(RtcpError::BadVersion(version));
        }
        Ok(Self {
            padding: h[0] & 0x20 != 0,
            count: h[0] & 0x1f,
            packet_type: h[1],
            length_words: u16::from_be_bytes([h[2], h[3]]),
        })
    }

    /// The whole packet's size in bytes, header and padding included.
    pub fn packet_len(&self) -> usize {
        (usize::from(self.length_words) + 1) * 4
    }
}

/// The framing of one packet at the start of a buffer, validated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing {
    pub header: Header,
    /// Header, body and padding.
    pub len: usize,
    /// End of the body: `len` minus the padding.
    pub payload_end: usize,
}

/// Validates the header, the length and the padding of the packet at the
/// start of `buf`. Bytes after the packet are ignored.
pub(crate) fn frame(buf: &[u8]) -> Result<Framing, RtcpError> {
    let header = Header::parse(buf)?;
    let len = header.packet_len();
    if len > buf.len() {
        return Err(RtcpError::LengthOverrun {
            declared: len,
            available: buf.len(),
        });
    }
    let mut payload_end = len;
    if header.padding {
        // RFC 3550 §6.4.1: the last octet counts the padding, itself
        // included. libwebrtc pads transport feedback by 1–3 bytes, so the
        // count need not be a multiple of four.
        let count = usize::from(buf[len - 1]);
        if count == 0 || count > len - HEADER_LEN {
            return Err(RtcpError::BadPadding);
        }
        payload_end = len - count;
    }
    Ok(Framing {
        header,
        len,
        payload_end,
    })
}

/// Writes a common header for a `total_len`-byte packet (a multiple of four).
pub(crate) fn write_header(
    out: &mut [u8],
    padding: bool,
    count: u8,
    packet_type: u8,
    total_len: usize,
) -> Result<(), RtcpError> {
    debug_assert!(total_len % 4 == 0 && total_len >= HEADER_LEN);
    if total_len > MAX_PACKET_LEN {
        return Err(RtcpError::InvalidInput(
            "packet longer than the length field allows",
        ));
    }
    if count > 0x1f {
        return Err(RtcpError::InvalidInput("count or FMT above 31"));
    }
    let available = out.len();
    let h = out
        .get_mut(..HEADER_LEN)
        .ok_or(too_small(HEADER_LEN, available))?;
    h[0] = (VERSION << 6) | if padding { 0x20 } else { 0 } | count;
    h[1] = packet_type;
    // Cannot truncate: total_len <= MAX_PACKET_LEN was checked above.
    let words = (total_len / 4 - 1) as u16;
    h[2..4].copy_from_slice(&words.to_be_bytes());
    Ok(())
}

/// Checks that `out` can hold `needed` bytes.
pub(crate) fn ensure(out: &[u8], needed: usize) -> Result<(), RtcpError> {
    if out.len() < needed {
        Err(too_small(needed, out.len()))
    } else {
        Ok(())
    }
}

// Big-endian reads from slices whose length the caller has validated.
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
pub(crate) fn be24(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, b[at], b[at + 1], b[at + 2]])
}
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_padding() {
        // libwebrtc app_unittest.cc kPacketWithUnalignedPayload: P set, count 1.
        let p = [
            0xa0 | 0x1e,
            204,
            0x00,
            0x03,
            0x12,
            0x34,
            0x56,
            0x78,
            b'n',
            b'a',
            b'm',
            b'e',
            b'd',
            b'a',
            b't',
            1,
        ];
        let f = frame(&p).unwrap();
        assert!(f.header.padding);
        assert_eq!(f.header.count, 0x1e);
        assert_eq!(f.len, 16);
        assert_eq!(f.payload_end, 15);
    }

    #[test]
    fn rejects_bad_version_overrun_and_padding() {
        assert_eq!(
            Header::parse(&[0x40, 200, 0, 0]),
            Err(RtcpError::BadVersion(1))
        );
        assert!(matches!(
            frame(&[0x80, 200, 0, 1, 0, 0]),
            Err(RtcpError::LengthOverrun { .. })
        ));
        assert_eq!(
            frame(&[0xa0, 200, 0, 1, 0, 0, 0, 0]).unwrap_err(),
            RtcpError::BadPadding
        );
        assert_eq!(
            frame(&[0xa0, 200, 0, 1, 0, 0, 0, 5]).unwrap_err(),
            RtcpError::BadPadding
        );
        assert_eq!(
            frame(&[0xa0, 200, 0, 1, 0, 0, 0, 4]).unwrap().payload_end,
            4
        );
    }
}
