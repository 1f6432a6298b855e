//! Application-defined packets (RFC 3550 §6.7).

use super::error::{malformed, RtcpError};
use super::header::{be32, ensure, frame, packet_type, put32, write_header, Framing, HEADER_LEN};
use super::Ssrc;

/// A zero-copy view of an APP packet.
#[derive(Debug, Clone, Copy)]
pub struct App<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> App<T> {
    /// Validates the SSRC and name and that the data is a multiple of 32
    /// bits (RFC 3550 §6.7), as libwebrtc also insists.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = frame(buffer.as_ref())?;
        if f.header.packet_type != packet_type::APP {
            return Err(malformed(f.header.packet_type, "unexpected packet type"));
        }
        let body = f.payload_end - HEADER_LEN;
        if body < 8 {
            return Err(malformed(packet_type::APP, "no room for SSRC and name"));
        }
        if body % 4 != 0 {
            return Err(malformed(
                packet_type::APP,
                "data not a multiple of 32 bits",
            ));
        }
        Ok(Self { buffer, f })
    }
    /// The 5-bit subtype.
    pub fn subtype(&self) -> u8 {
        self.f.header.count
    }
    /// SSRC of the sender.
    pub fn ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), HEADER_LEN)
    }
    /// The four-character name.
    pub fn name(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[8], b[9], b[10], b[11]]
    }
    /// The application-dependent data.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN + 8..self.f.payload_end]
    }
}

/// RFC 3550 §6.7: writes an APP packet; `data` must be a multiple of four
/// bytes. Returns the length.
pub fn write_app(
    out: &mut [u8],
    subtype: u8,
    ssrc: Ssrc,
    name: [u8; 4],
    data: &[u8],
) -> Result<usize, RtcpError> {
    if data.len() % 4 != 0 {
        return Err(RtcpError::InvalidInput(
            "APP data not a multiple of 32 bits",
        ));
    }
    let len = HEADER_LEN + 8 + data.len();
    ensure(out, len)?;
    write_header(out, false, subtype, packet_type::APP, len)?;
    put32(out, 4, ssrc);
    out[8..12].copy_from_slice(&name);
    out[12..len].copy_from_slice(data);
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    // libwebrtc modules/rtp_rtcp/source/rtcp_packet/app_unittest.cc.
    const WITH_DATA: [u8; 20] = [
        0x80 | 0x1e,
        204,
        0x00,
        0x04,
        0x12,
        0x34,
        0x56,
        0x78,
        b'n',
        b'a',
        b'm',
        b'e',
        b't',
        b'e',
        b's',
        b't',
        b'd',
        b'a',
        b't',
        b'a',
    ];
    const WITHOUT_DATA: [u8; 12] = [
        0x80 | 0x1e,
        204,
        0x00,
        0x02,
        0x12,
        0x34,
        0x56,
        0x78,
        b'n',
        b'a',
        b'm',
        b'e',
    ];

    #[test]
    fn libwebrtc_vectors() {
        let a = App::new_checked(&WITH_DATA[..]).unwrap();
        assert_eq!(a.subtype(), 0x1e);
        assert_eq!(a.ssrc(), 0x12345678);
        assert_eq!(&a.name(), b"name");
        assert_eq!(a.data(), b"testdata");
        let mut out = [0u8; 32];
        let n = write_app(&mut out, 0x1e, 0x12345678, *b"name", b"testdata").unwrap();
        assert_eq!(&out[..n], &WITH_DATA);
        let n = write_app(&mut out, 0x1e, 0x12345678, *b"name", b"").unwrap();
        assert_eq!(&out[..n], &WITHOUT_DATA);
        // kTooSmallPacket and kPacketWithUnalignedPayload.
        let small = [0x80 | 0x1e, 204, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78];
        assert!(App::new_checked(&small[..]).is_err());
        let unaligned = [
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
        assert!(App::new_checked(&unaligned[..]).is_err());
    }
}
