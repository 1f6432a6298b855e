//! The little of the RTP and RTCP headers SRTP needs (RFC 3550 §5.1, §6.4):
//! where the header ends, the sequence number, the SSRC. Checked views in
//! the smoltcp style: `new_checked` validates lengths once, accessors cannot
//! panic.

use crate::SrtpError;

/// Fixed RTP header length (RFC 3550 §5.1).
pub const RTP_FIXED_HEADER_LEN: usize = 12;
/// RTCP header plus the sender SSRC (RFC 3550 §6.4.1): what SRTCP leaves in
/// the clear (RFC 3711 §3.4).
pub const RTCP_HEADER_LEN: usize = 8;

const VERSION: u8 = 2;
const SEQ: usize = 2;
const SSRC: usize = 8;
const RTCP_SSRC: usize = 4;
const EXTENSION_BIT: u8 = 0x10;
const CSRC_COUNT_MASK: u8 = 0x0f;
const EXT_LENGTH: usize = 2;
const EXT_HEADER_LEN: usize = 4;

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

fn check_version(b: &[u8]) -> Result<(), SrtpError> {
    let version = b.first().map_or(0, |v| v >> 6);
    if version != VERSION {
        return Err(SrtpError::BadVersion { version });
    }
    Ok(())
}

/// RFC 5761 §4: with RTP and RTCP multiplexed on one port, a packet whose
/// second byte is 192 to 223 (RTCP packet types; RTP payload types 64 to 95
/// with the marker bit set) is RTCP. Use it to choose between
/// `unprotect_rtp` and `unprotect_rtcp`.
pub fn is_rtcp(packet: &[u8]) -> bool {
    packet.get(1).is_some_and(|pt| (192..=223).contains(pt))
}

/// A checked view of an RTP header: its length (fixed part, CSRCs and the
/// header extension, RFC 3550 §5.1 and §5.3.1), sequence number and SSRC.
#[derive(Debug, Clone, Copy)]
pub struct RtpHeader<T: AsRef<[u8]>> {
    buffer: T,
    header_len: usize,
}

impl<T: AsRef<[u8]>> RtpHeader<T> {
    /// Checks that `buffer` starts with a whole version-2 RTP header.
    pub fn new_checked(buffer: T) -> Result<Self, SrtpError> {
        let b = buffer.as_ref();
        if b.len() < RTP_FIXED_HEADER_LEN {
            return Err(SrtpError::Truncated {
                what: "RTP header",
                need: RTP_FIXED_HEADER_LEN,
                got: b.len(),
            });
        }
        check_version(b)?;
        let first = b.first().copied().unwrap_or(0);
        let mut len = RTP_FIXED_HEADER_LEN + 4 * usize::from(first & CSRC_COUNT_MASK);
        if first & EXTENSION_BIT != 0 {
            if b.len() < len + EXT_HEADER_LEN {
                return Err(SrtpError::Truncated {
                    what: "RTP header extension",
                    need: len + EXT_HEADER_LEN,
                    got: b.len(),
                });
            }
            len += EXT_HEADER_LEN + 4 * usize::from(be16(b, len + EXT_LENGTH));
        }
        if b.len() < len {
            return Err(SrtpError::Truncated {
                what: "RTP header",
                need: len,
                got: b.len(),
            });
        }
        Ok(RtpHeader {
            buffer,
            header_len: len,
        })
    }

    /// Header length including CSRCs and extension: where the payload starts.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The sequence number.
    pub fn sequence_number(&self) -> u16 {
        be16(self.buffer.as_ref(), SEQ)
    }

    /// The synchronization source.
    pub fn ssrc(&self) -> u32 {
        be32(self.buffer.as_ref(), SSRC)
    }
}

/// A checked view of the first 8 bytes of an RTCP (compound) packet: the
/// header and the sender's SSRC.
#[derive(Debug, Clone, Copy)]
pub struct RtcpHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RtcpHeader<T> {
    /// Checks that `buffer` starts with a version-2 RTCP header and SSRC.
    pub fn new_checked(buffer: T) -> Result<Self, SrtpError> {
        let b = buffer.as_ref();
        if b.len() < RTCP_HEADER_LEN {
            return Err(SrtpError::Truncated {
                what: "RTCP header",
                need: RTCP_HEADER_LEN,
                got: b.len(),
            });
        }
        check_version(b)?;
        Ok(RtcpHeader { buffer })
    }

    /// The sender's SSRC (RFC 3550 §6.4.1), which keys SRTCP state.
    pub fn ssrc(&self) -> u32 {
        be32(self.buffer.as_ref(), RTCP_SSRC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_with_csrcs_and_extension() {
        let mut p = vec![0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        let h = RtpHeader::new_checked(&p[..]).unwrap();
        assert_eq!(
            (h.header_len(), h.sequence_number(), h.ssrc()),
            (12, 0x1234, 0xdeadbeef)
        );
        p[0] = 0x82; // two CSRCs
        assert!(matches!(
            RtpHeader::new_checked(&p[..]),
            Err(SrtpError::Truncated { need: 20, .. })
        ));
        p.extend_from_slice(&[0; 8]);
        assert_eq!(RtpHeader::new_checked(&p[..]).unwrap().header_len(), 20);
        p[0] = 0x92; // and an extension
        assert!(matches!(
            RtpHeader::new_checked(&p[..]),
            Err(SrtpError::Truncated { need: 24, .. })
        ));
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x02]);
        assert!(matches!(
            RtpHeader::new_checked(&p[..]),
            Err(SrtpError::Truncated { need: 32, .. })
        ));
        p.extend_from_slice(&[0; 8]);
        assert_eq!(RtpHeader::new_checked(&p[..]).unwrap().header_len(), 32);
        p[0] = 0x40;
        assert_eq!(
            RtpHeader::new_checked(&p[..]).unwrap_err(),
            SrtpError::BadVersion { version: 1 }
        );
        assert!(RtpHeader::new_checked(&p[..11]).is_err());
        assert!(RtpHeader::new_checked(&[][..]).is_err());
    }

    #[test]
    fn rtcp_mux_demultiplexing() {
        assert!(is_rtcp(&[0x80, 200, 0, 6])); // SR
        assert!(is_rtcp(&[0x81, 205])); // RTPFB
        assert!(!is_rtcp(&[0x80, 96])); // RTP PT 96
        assert!(!is_rtcp(&[0x80, 0xe0])); // RTP PT 96 with the marker bit
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn rtcp_header() {
        let p = [0x81, 0xc8, 0x00, 0x0c, 0xca, 0xfe, 0xba, 0xbe];
        assert_eq!(RtcpHeader::new_checked(&p[..]).unwrap().ssrc(), 0xcafebabe);
        assert!(RtcpHeader::new_checked(&p[..7]).is_err());
        assert!(RtcpHeader::new_checked(&[0x01; 8][..]).is_err());
    }
}
