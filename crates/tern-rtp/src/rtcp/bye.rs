//! Goodbye (RFC 3550 §6.6): the sources leaving and an optional reason.

use super::error::{malformed, RtcpError};
use super::header::{be32, ensure, frame, packet_type, put32, write_header, Framing, HEADER_LEN};
use super::Ssrc;

/// A zero-copy view of a BYE packet.
#[derive(Debug, Clone, Copy)]
pub struct Bye<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> Bye<T> {
    /// Validates the SSRC list and the reason's length octet.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = frame(buffer.as_ref())?;
        if f.header.packet_type != packet_type::BYE {
            return Err(malformed(f.header.packet_type, "unexpected packet type"));
        }
        let p = &buffer.as_ref()[HEADER_LEN..f.payload_end];
        let n = usize::from(f.header.count) * 4;
        if p.len() < n {
            return Err(malformed(packet_type::BYE, "shorter than its source count"));
        }
        if let Some(&len) = p.get(n) {
            if p.len() < n + 1 + usize::from(len) {
                return Err(malformed(packet_type::BYE, "reason runs past the packet"));
            }
        }
        Ok(Self { buffer, f })
    }
    fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.f.payload_end]
    }
    /// The SSRC/CSRCs leaving.
    pub fn sources(&self) -> impl ExactSizeIterator<Item = Ssrc> + '_ {
        let n = usize::from(self.f.header.count) * 4;
        self.payload()[..n].chunks_exact(4).map(|c| be32(c, 0))
    }
    /// The reason for leaving, if present.
    pub fn reason(&self) -> Option<&[u8]> {
        let p = self.payload();
        let n = usize::from(self.f.header.count) * 4;
        let len = usize::from(*p.get(n)?);
        p.get(n + 1..n + 1 + len)
    }
}

/// RFC 3550 §6.6: writes a BYE into `out`; returns its length.
pub fn write_bye(
    out: &mut [u8],
    sources: &[Ssrc],
    reason: Option<&[u8]>,
) -> Result<usize, RtcpError> {
    if sources.len() > 31 {
        return Err(RtcpError::InvalidInput("more than 31 sources in a BYE"));
    }
    let reason_len = match reason {
        Some(r) if r.len() > 255 => {
            return Err(RtcpError::InvalidInput("BYE reason longer than 255 octets"))
        }
        Some(r) => (1 + r.len() + 3) & !3,
        None => 0,
    };
    let len = HEADER_LEN + sources.len() * 4 + reason_len;
    ensure(out, len)?;
    // Fits in 5 bits: checked above.
    write_header(out, false, sources.len() as u8, packet_type::BYE, len)?;
    let mut at = HEADER_LEN;
    for s in sources {
        put32(out, at, *s);
        at += 4;
    }
    if let Some(r) = reason {
        // Fits: checked above.
        out[at] = r.len() as u8;
        out[at + 1..at + 1 + r.len()].copy_from_slice(r);
        out[at + 1 + r.len()..len].fill(0);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libwebrtc_empty_bye_parses() {
        // libwebrtc bye_unittest.cc ParseEmptyPacket.
        let p = [0x80, 203, 0, 0];
        let b = Bye::new_checked(&p[..]).unwrap();
        assert_eq!(b.sources().count(), 0);
        assert_eq!(b.reason(), None);
    }

    #[test]
    fn round_trip_reasons_of_every_padding() {
        // As libwebrtc bye_unittest.cc CreateAndParseWithReasons: lengths 4..7.
        for extra in 0..4 {
            let reason = vec![b'a' + extra as u8; 4 + extra];
            let mut out = [0u8; 64];
            let n = write_bye(&mut out, &[0x12345678, 0x22232425], Some(&reason)).unwrap();
            assert_eq!(n % 4, 0);
            let b = Bye::new_checked(&out[..n]).unwrap();
            assert_eq!(
                b.sources().collect::<Vec<_>>(),
                vec![0x12345678, 0x22232425]
            );
            assert_eq!(b.reason(), Some(&reason[..]));
        }
    }

    #[test]
    fn damaged_counts_are_rejected() {
        let mut out = [0u8; 64];
        let n = write_bye(&mut out, &[0x12345678], None).unwrap();
        out[0] += 1; // libwebrtc ParseFailOnInvalidSrcCount
        assert!(Bye::new_checked(&out[..n]).is_err());
        // A reason whose length octet claims more than is there.
        let p = [0x81, 203, 0, 2, 1, 2, 3, 4, 4, b'F', b'O', b'O'];
        assert!(Bye::new_checked(&p[..]).is_err());
        let p = [0x81, 203, 0, 2, 1, 2, 3, 4, 3, b'F', b'O', b'O'];
        assert_eq!(
            Bye::new_checked(&p[..]).unwrap().reason(),
            Some(&b"FOO"[..])
        );
    }
}
