//! Typed values of the header extensions WebRTC uses. Each parses from an
//! element's bytes (checked) and writes into bytes.

use std::time::Duration;

use super::{ExtensionError, ExtensionKind, MAX_TWO_BYTE_LEN};

/// A typed header extension value.
pub trait ExtensionValue<'a>: Sized {
    /// The extension this value belongs to (its URI is `KIND.uri()`).
    const KIND: ExtensionKind;
    /// Parses an element's value bytes.
    fn parse(data: &'a [u8]) -> Result<Self, ExtensionError>;
    /// The number of bytes [`ExtensionValue::write`] writes.
    fn encoded_len(&self) -> usize;
    /// Writes the value into the start of `out`, returning its length.
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError>;
}

fn bad<T>(kind: ExtensionKind, data: &[u8]) -> Result<T, ExtensionError> {
    Err(ExtensionError::BadValue {
        kind,
        len: data.len(),
    })
}

fn out_for(out: &mut [u8], needed: usize) -> Result<&mut [u8], ExtensionError> {
    let available = out.len();
    out.get_mut(..needed)
        .ok_or(ExtensionError::BufferTooSmall { needed, available })
}

fn fixed<const N: usize>(kind: ExtensionKind, data: &[u8]) -> Result<[u8; N], ExtensionError> {
    <[u8; N]>::try_from(data).or_else(|_| bad(kind, data))
}

/// RFC 4566 §9 `token` characters (RFC 8843's identification-tag).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b)
}

/// RFC 8851 §10 `rid-id` characters.
fn is_rid_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Reads an SDES-style string value: trailing NUL bytes are dropped (some
/// senders pad strings with zeros, libwebrtc drops them too), the rest must
/// be 1..=255 allowed characters.
fn parse_text(
    kind: ExtensionKind,
    data: &[u8],
    allowed: fn(u8) -> bool,
) -> Result<&str, ExtensionError> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let text = &data[..end];
    if text.is_empty() || !text.iter().all(|&b| allowed(b)) {
        return bad(kind, data);
    }
    // All bytes are ASCII, so this cannot fail.
    std::str::from_utf8(text).or_else(|_| bad(kind, data))
}

fn write_text(
    kind: ExtensionKind,
    text: &str,
    allowed: fn(u8) -> bool,
    out: &mut [u8],
) -> Result<usize, ExtensionError> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > MAX_TWO_BYTE_LEN || !b.iter().all(|&c| allowed(c)) {
        return Err(ExtensionError::ValueOutOfRange { kind });
    }
    out_for(out, b.len())?.copy_from_slice(b);
    Ok(b.len())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name<'a>(pub &'a str);

        impl<'a> ExtensionValue<'a> for $name<'a> {
            const KIND: ExtensionKind = $kind;
            fn parse(data: &'a [u8]) -> Result<Self, ExtensionError> {
                parse_text(Self::KIND, data, $allowed).map($name)
            }
            fn encoded_len(&self) -> usize {
                self.0.len()
            }
            fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
                write_text(Self::KIND, self.0, $allowed, out)
            }
        }
    };
}

text_value!(
    /// RFC 8843 §15.2: the media section's MID, an SDP token of 1..=255
    /// characters.
    Mid,
    ExtensionKind::Mid,
    is_token_char
);
text_value!(
    /// RFC 8852 §3.1: the RtpStreamId (simulcast `rid`), RFC 8851 `rid-id`
    /// characters (letters, digits, `-`, `_`).
    RtpStreamId,
    ExtensionKind::RtpStreamId,
    is_rid_char
);
text_value!(
    /// RFC 8852 §3.2: the RtpStreamId of the stream a redundancy (RTX, FEC)
    /// stream repairs.
    RepairedRtpStreamId,
    ExtensionKind::RepairedRtpStreamId,
    is_rid_char
);

/// abs-send-time (webrtc.org, 3 bytes): the send time in seconds as 6.18
/// fixed point, i.e. bits 14..38 of a 64-bit NTP timestamp; it wraps every
/// 64 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsSendTime(u32);

impl AbsSendTime {
    const MASK: u32 = 0x00ff_ffff;

    /// A value from its 24 bits; `None` when `v` needs more.
    pub const fn new(v: u32) -> Option<Self> {
        if v <= Self::MASK {
            Some(Self(v))
        } else {
            None
        }
    }

    /// The 24 bits of a 64-bit NTP timestamp (UQ32.32) that make the value.
    pub fn from_ntp(ntp: u64) -> Self {
        // Masked to 24 bits, so the cast keeps everything.
        Self(((ntp >> 14) as u32) & Self::MASK)
    }

    /// The value for a time measured from any epoch (only the time modulo
    /// 64 s survives), rounded down to the 2^-18 s resolution.
    pub fn from_duration(d: Duration) -> Self {
        let units = (d.as_nanos() << 18) / 1_000_000_000;
        // Masked to 24 bits, so the cast keeps everything.
        Self((units as u32) & Self::MASK)
    }

    /// The 24-bit value.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The time the value stands for, within its 64 s cycle.
    pub fn to_duration(self) -> Duration {
        Duration::from_nanos((u64::from(self.0) * 1_000_000_000) >> 18)
    }
}

impl ExtensionValue<'_> for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = fixed::<3>(Self::KIND, data)?;
        Ok(Self(u32::from_be_bytes([0, a, b, c])))
    }
    fn encoded_len(&self) -> usize {
        3
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        out_for(out, 3)?.copy_from_slice(&self.0.to_be_bytes()[1..]);
        Ok(3)
    }
}

/// transport-wide-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// §2): a 16-bit sequence number counting every packet on the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportSequenceNumber(pub u16);

impl ExtensionValue<'_> for TransportSequenceNumber {
    const KIND: ExtensionKind = ExtensionKind::TransportSequenceNumber;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        Ok(Self(u16::from_be_bytes(fixed::<2>(Self::KIND, data)?)))
    }
    fn encoded_len(&self) -> usize {
        2
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        out_for(out, 2)?.copy_from_slice(&self.0.to_be_bytes());
        Ok(2)
    }
}

/// RFC 6464 §3: client-to-mixer audio level: the voice activity flag and
/// the level in -dBov, 0 (loudest) to 127 (silence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    /// The V bit: the sender believes the packet holds voice.
    pub voice_activity: bool,
    /// The level, 0..=127 -dBov.
    pub level: u8,
}

impl ExtensionValue<'_> for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [b] = fixed::<1>(Self::KIND, data)?;
        Ok(Self {
            voice_activity: b & 0x80 != 0,
            level: b & 0x7f,
        })
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        if self.level > 0x7f {
            return Err(ExtensionError::ValueOutOfRange { kind: Self::KIND });
        }
        out_for(out, 1)?[0] = (u8::from(self.voice_activity) << 7) | self.level;
        Ok(1)
    }
}

/// playout-delay (webrtc.org, 3 bytes): the minimum and maximum delay the
/// sender wants before playout, 12 bits each in units of 10 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayoutDelay {
    /// Minimum delay in 10 ms units, 0..=4095.
    pub min: u16,
    /// Maximum delay in 10 ms units, 0..=4095.
    pub max: u16,
}

impl PlayoutDelay {
    /// The largest value of either field.
    pub const MAX: u16 = 0x0fff;
    /// Granularity of the fields.
    pub const UNIT: Duration = Duration::from_millis(10);

    /// The minimum delay as a duration.
    pub fn min_delay(self) -> Duration {
        Self::UNIT * u32::from(self.min)
    }

    /// The maximum delay as a duration.
    pub fn max_delay(self) -> Duration {
        Self::UNIT * u32::from(self.max)
    }
}

impl ExtensionValue<'_> for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = fixed::<3>(Self::KIND, data)?;
        let v = u32::from_be_bytes([0, a, b, c]);
        // Each field is 12 bits, so the casts keep everything.
        Ok(Self {
            min: (v >> 12) as u16,
            max: (v & 0x0fff) as u16,
        })
    }
    fn encoded_len(&self) -> usize {
        3
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        if self.min > Self::MAX || self.max > Self::MAX {
            return Err(ExtensionError::ValueOutOfRange { kind: Self::KIND });
        }
        let v = (u32::from(self.min) << 12) | u32::from(self.max);
        out_for(out, 3)?.copy_from_slice(&v.to_be_bytes()[1..]);
        Ok(3)
    }
}

/// 3GPP TS 26.114 §7.4.5 coordination of video orientation: the rotation
/// the receiver must apply (counter-clockwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoRotation {
    /// No rotation.
    Deg0,
    /// 90 degrees.
    Deg90,
    /// 180 degrees.
    Deg180,
    /// 270 degrees.
    Deg270,
}

/// 3GPP TS 26.114 §7.4.5 (`urn:3gpp:video-orientation`, 1 byte
/// `0 0 0 0 C F R1 R0`): camera, flip and rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoOrientation {
    /// C: the back-facing camera (false: front-facing).
    pub back_camera: bool,
    /// F: the picture is flipped horizontally.
    pub flip: bool,
    /// R1 R0: the rotation.
    pub rotation: VideoRotation,
}

impl ExtensionValue<'_> for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [b] = fixed::<1>(Self::KIND, data)?;
        Ok(Self {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: match b & 0x03 {
                0 => VideoRotation::Deg0,
                1 => VideoRotation::Deg90,
                2 => VideoRotation::Deg180,
                _ => VideoRotation::Deg270,
            },
        })
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        let r = match self.rotation {
            VideoRotation::Deg0 => 0,
            VideoRotation::Deg90 => 1,
            VideoRotation::Deg180 => 2,
            VideoRotation::Deg270 => 3,
        };
        out_for(out, 1)?[0] = (u8::from(self.back_camera) << 3) | (u8::from(self.flip) << 2) | r;
        Ok(1)
    }
}

/// abs-capture-time (webrtc.org, 8 or 16 bytes): the capture time as a
/// 64-bit NTP timestamp (UQ32.32) on the capturer's clock, optionally with
/// the estimated offset of that clock from the sender's (Q32.32 seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsCaptureTime {
    /// NTP capture time, UQ32.32 seconds.
    pub capture_time: u64,
    /// Estimated capture clock offset, Q32.32 seconds.
    pub clock_offset: Option<i64>,
}

impl ExtensionValue<'_> for AbsCaptureTime {
    const KIND: ExtensionKind = ExtensionKind::AbsCaptureTime;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let word = |i: usize| {
            data.get(i..i + 8)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(u64::from_be_bytes)
        };
        match (data.len(), word(0), word(8)) {
            (8, Some(t), _) => Ok(Self {
                capture_time: t,
                clock_offset: None,
            }),
            (16, Some(t), Some(o)) => Ok(Self {
                capture_time: t,
                // Q32.32 is two's complement in 64 bits.
                clock_offset: Some(o as i64),
            }),
            _ => bad(Self::KIND, data),
        }
    }
    fn encoded_len(&self) -> usize {
        if self.clock_offset.is_some() {
            16
        } else {
            8
        }
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        let n = self.encoded_len();
        let out = out_for(out, n)?;
        out[..8].copy_from_slice(&self.capture_time.to_be_bytes());
        if let Some(o) = self.clock_offset {
            out[8..16].copy_from_slice(&o.to_be_bytes());
        }
        Ok(n)
    }
}

/// RFC 5450 §2: transmission time offset, a 24-bit signed count of RTP
/// timestamp units between the packet's timestamp and its send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransmissionOffset(i32);

impl TransmissionOffset {
    /// The range of 24 signed bits.
    pub const RANGE: std::ops::RangeInclusive<i32> = -0x80_0000..=0x7f_ffff;

    /// An offset, or `None` outside 24 signed bits.
    pub const fn new(v: i32) -> Option<Self> {
        if v >= *Self::RANGE.start() && v <= *Self::RANGE.end() {
            Some(Self(v))
        } else {
            None
        }
    }

    /// The offset in RTP timestamp units.
    pub fn get(self) -> i32 {
        self.0
    }
}

impl ExtensionValue<'_> for TransmissionOffset {
    const KIND: ExtensionKind = ExtensionKind::TransmissionOffset;
    fn parse(data: &[u8]) -> Result<Self, ExtensionError> {
        let [a, b, c] = fixed::<3>(Self::KIND, data)?;
        // Sign-extend from 24 bits.
        Ok(Self(i32::from_be_bytes([a, b, c, 0]) >> 8))
    }
    fn encoded_len(&self) -> usize {
        3
    }
    fn write(&self, out: &mut [u8]) -> Result<usize, ExtensionError> {
        out_for(out, 3)?.copy_from_slice(&self.0.to_be_bytes()[1..]);
        Ok(3)
    }
}
