//! ChannelData messages (RFC 8656 §12.4): a 4-byte header (channel number,
//! length) and the application data, with no STUN framing.
//!
//! Over UDP a datagram holds one message and the padding to a multiple of four
//! bytes may be omitted; over TCP and TLS every message is padded to four bytes
//! (RFC 8656 §12.5) so the stream stays aligned.

use core::fmt;

/// The lowest channel number (RFC 8656 §12).
pub const CHANNEL_MIN: u16 = 0x4000;
/// The highest channel number accepted. RFC 8656 §12 lets clients bind
/// 0x4000–0x4FFF only (so the first byte stays in RFC 7983's TURN range,
/// 64–79), but RFC 5766 allowed up to 0x7FFE and clients written to it
/// (coturn's own turnutils_uclient among them) still pick numbers there. A
/// server accepts them, as coturn does; tern's client binds from 0x4000 up.
pub const CHANNEL_MAX: u16 = 0x7FFE;
/// The highest channel number a client picks (RFC 8656 §12).
pub const CLIENT_CHANNEL_MAX: u16 = 0x4FFF;
/// Size of the ChannelData header.
pub const HEADER_LEN: usize = 4;

mod field {
    pub const CHANNEL: core::ops::Range<usize> = 0..2;
    pub const LENGTH: core::ops::Range<usize> = 2..4;
}

/// A TURN channel number in the bindable range 0x4000–0x4FFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelNumber(u16);

impl ChannelNumber {
    /// The number, if it lies in 0x4000–0x7FFE (RFC 5766 §11; RFC 8656
    /// narrows what clients pick to 0x4000–0x4FFF).
    pub fn new(n: u16) -> Option<Self> {
        (CHANNEL_MIN..=CHANNEL_MAX).contains(&n).then_some(Self(n))
    }

    /// The raw value.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for ChannelNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}

/// Why a buffer is not a ChannelData message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelDataError {
    /// Shorter than the 4-byte header.
    Truncated,
    /// The channel number is outside 0x4000–0x7FFE.
    InvalidChannel(u16),
    /// The length field claims more bytes than the buffer holds.
    LengthExceedsBuffer {
        /// The length field.
        claimed: usize,
        /// Bytes present after the header.
        available: usize,
    },
}

impl fmt::Display for ChannelDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("ChannelData shorter than its 4-byte header"),
            Self::InvalidChannel(n) => {
                write!(
                    f,
                    "ChannelData channel number {n:#06x} outside 0x4000-0x4FFF"
                )
            }
            Self::LengthExceedsBuffer { claimed, available } => write!(
                f,
                "ChannelData length {claimed} exceeds the {available} bytes present"
            ),
        }
    }
}

impl std::error::Error for ChannelDataError {}

/// A zero-copy view of a ChannelData message.
#[derive(Debug, Clone, Copy)]
pub struct ChannelData<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ChannelData<T> {
    /// Checks the header and that the buffer holds the announced length.
    /// Trailing bytes (padding, or the next message on a stream) are allowed;
    /// [`ChannelData::wire_len`] says where this message ends.
    pub fn new_checked(buffer: T) -> Result<Self, ChannelDataError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(ChannelDataError::Truncated);
        }
        let n = u16::from_be_bytes([b[0], b[1]]);
        if ChannelNumber::new(n).is_none() {
            return Err(ChannelDataError::InvalidChannel(n));
        }
        let claimed = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let available = b.len() - HEADER_LEN;
        if claimed > available {
            return Err(ChannelDataError::LengthExceedsBuffer { claimed, available });
        }
        Ok(Self { buffer })
    }

    /// The channel number.
    pub fn channel(&self) -> ChannelNumber {
        let b = &self.buffer.as_ref()[field::CHANNEL];
        ChannelNumber(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The application data (without padding).
    pub fn data(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        &b[HEADER_LEN..HEADER_LEN + len]
    }

    /// Bytes this message occupies on a stream transport (header, data and
    /// padding to four bytes), as RFC 8656 §12.5 requires over TCP and TLS.
    pub fn stream_len(&self) -> usize {
        padded_len(self.data().len())
    }
}

/// Header plus data, rounded up to a multiple of four bytes.
pub fn padded_len(data_len: usize) -> usize {
    (HEADER_LEN + data_len + 3) & !3
}

/// How many bytes of a stream's buffer the next framed message needs, if the
/// header is there: a STUN message (first two bits 0b00) or ChannelData
/// (0b01), as RFC 8656 §12.5 frames TURN over TCP and TLS. `None` means fewer
/// than 4 bytes are buffered; `Err` means the stream is not TURN and should be
/// closed.
pub fn stream_frame_len(buf: &[u8]) -> Result<Option<usize>, ChannelDataError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let first = u16::from_be_bytes([buf[0], buf[1]]);
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    match buf[0] >> 6 {
        // STUN: 20-byte header, the length excludes it and is a multiple of 4.
        0b00 => Ok(Some(20 + len)),
        0b01 if ChannelNumber::new(first).is_some() => Ok(Some(padded_len(len))),
        _ => Err(ChannelDataError::InvalidChannel(first)),
    }
}

/// Writes a ChannelData message into `out` and returns its length. With
/// `pad` the message is padded with zeros to four bytes (required over TCP
/// and TLS). Returns `None` if `out` is too small or `data` exceeds 65,535
/// bytes.
pub fn write_channel_data(
    out: &mut [u8],
    channel: ChannelNumber,
    data: &[u8],
    pad: bool,
) -> Option<usize> {
    let len = u16::try_from(data.len()).ok()?;
    let total = if pad {
        padded_len(data.len())
    } else {
        HEADER_LEN + data.len()
    };
    let out = out.get_mut(..total)?;
    out[field::CHANNEL].copy_from_slice(&channel.0.to_be_bytes());
    out[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    out[HEADER_LEN..HEADER_LEN + data.len()].copy_from_slice(data);
    out[HEADER_LEN + data.len()..].fill(0);
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_unpadded_and_padded() {
        let ch = ChannelNumber::new(0x4001).unwrap();
        let mut buf = [0xAAu8; 16];
        let n = write_channel_data(&mut buf, ch, b"hello", false).unwrap();
        assert_eq!(n, 9);
        assert_eq!(&buf[..4], &[0x40, 0x01, 0x00, 0x05]);
        let v = ChannelData::new_checked(&buf[..n]).unwrap();
        assert_eq!(v.channel(), ch);
        assert_eq!(v.data(), b"hello");
        assert_eq!(v.stream_len(), 12);

        let n = write_channel_data(&mut buf, ch, b"hello", true).unwrap();
        assert_eq!(n, 12);
        assert_eq!(&buf[9..12], &[0, 0, 0]);
        assert_eq!(stream_frame_len(&buf[..n]), Ok(Some(12)));
    }

    #[test]
    fn rejects_bad_channels_and_lengths() {
        assert_eq!(
            ChannelData::new_checked(&[0x40u8, 0x00][..]).unwrap_err(),
            ChannelDataError::Truncated
        );
        assert_eq!(
            ChannelData::new_checked(&[0x7Fu8, 0xFF, 0, 0][..]).unwrap_err(),
            ChannelDataError::InvalidChannel(0x7FFF)
        );
        assert_eq!(
            ChannelData::new_checked(&[0x40u8, 0x00, 0, 5, 1, 2][..]).unwrap_err(),
            ChannelDataError::LengthExceedsBuffer {
                claimed: 5,
                available: 2
            }
        );
        assert!(ChannelNumber::new(0x3FFF).is_none());
        assert!(ChannelNumber::new(0x4FFF).is_some());
        assert!(ChannelNumber::new(0x7FFE).is_some(), "RFC 5766's range");
        assert!(ChannelNumber::new(0x7FFF).is_none());
        assert!(stream_frame_len(&[0x80, 0, 0, 0]).is_err());
        assert_eq!(stream_frame_len(&[0x00, 0x01, 0, 8]), Ok(Some(28)));
        assert_eq!(stream_frame_len(&[0x00, 0x01]), Ok(None));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = ChannelData::new_checked(&bytes[..]) {
                prop_assert!(v.data().len() + HEADER_LEN <= bytes.len());
            }
            let _ = stream_frame_len(&bytes);
        }

        #[test]
        fn write_then_parse(n in CHANNEL_MIN..=CHANNEL_MAX, data in proptest::collection::vec(any::<u8>(), 0..100), pad: bool) {
            let ch = ChannelNumber::new(n).unwrap();
            let mut buf = [0u8; 128];
            let len = write_channel_data(&mut buf, ch, &data, pad).unwrap();
            let v = ChannelData::new_checked(&buf[..len]).unwrap();
            prop_assert_eq!(v.channel(), ch);
            prop_assert_eq!(v.data(), &data[..]);
            if pad { prop_assert_eq!(len % 4, 0); }
        }
    }
}
