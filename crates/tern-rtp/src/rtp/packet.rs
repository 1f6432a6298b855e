//! The zero-copy RTP packet view (RFC 3550 §5.1, §5.3.1).

use crate::extension::{ExtensionError, ExtensionMap, ExtensionValue, HeaderExtensions};

use super::{PayloadType, RtpError, RtpTimestamp, SeqNo, Ssrc};

// Field offsets (RFC 3550 §5.1, the fixed header figure).
/// V (2 bits), P, X, CC (4 bits).
const VPXCC: usize = 0;
/// M, PT (7 bits).
const MPT: usize = 1;
const SEQUENCE: usize = 2;
const TIMESTAMP: usize = 4;
const SSRC: usize = 8;
const CSRCS: usize = 12;

/// Bytes of the fixed RTP header (RFC 3550 §5.1).
pub const FIXED_HEADER_LEN: usize = 12;
/// The only RTP version (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Bytes of the header extension's own header: profile and length (RFC 3550 §5.3.1).
pub const EXTENSION_HEADER_LEN: usize = 4;

pub(crate) const P_BIT: u8 = 0x20;
pub(crate) const X_BIT: u8 = 0x10;
pub(crate) const M_BIT: u8 = 0x80;

/// An RTP packet borrowing (or owning) its bytes, in smoltcp's view style.
///
/// [`RtpPacket::new_checked`] validates the version, CSRC count, header
/// extension length and padding once; the accessors afterwards cannot run
/// past the buffer (their indexing is within the validated header). The
/// header extension's elements are checked separately by
/// [`RtpPacket::extensions`], so a packet with a malformed element can
/// still be forwarded.
///
/// Setters (on `T: AsMut<[u8]>`) rewrite fields in place without changing
/// the layout: what an SFU does to every forwarded packet.
#[derive(Debug, Clone)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
    /// Fixed header + CSRCs + extension block.
    header_len: usize,
    /// Where the payload ends (the padding starts).
    payload_end: usize,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Checks `buffer` as one whole RTP packet (RFC 3550 §5.1).
    pub fn new_checked(buffer: T) -> Result<Self, RtpError> {
        let b = buffer.as_ref();
        let actual = b.len();
        let Some(&first) = b.first() else {
            return Err(RtpError::Truncated {
                needed: FIXED_HEADER_LEN,
                actual,
            });
        };
        if first >> 6 != RTP_VERSION {
            return Err(RtpError::BadVersion(first >> 6));
        }
        let mut needed = FIXED_HEADER_LEN + 4 * usize::from(first & 0x0f);
        if first & X_BIT != 0 {
            needed += EXTENSION_HEADER_LEN;
            if actual >= needed {
                let words = u16::from_be_bytes([b[needed - 2], b[needed - 1]]);
                needed += 4 * usize::from(words);
            }
        }
        if actual < needed {
            return Err(RtpError::Truncated { needed, actual });
        }
        let mut payload_end = actual;
        if first & P_BIT != 0 {
            // `actual >= needed >= 12`, so the last byte exists.
            let padding_len = b[actual - 1];
            let available = actual - needed;
            if padding_len == 0 || usize::from(padding_len) > available {
                return Err(RtpError::BadPadding {
                    padding_len,
                    available,
                });
            }
            payload_end -= usize::from(padding_len);
        }
        Ok(Self {
            buffer,
            header_len: needed,
            payload_end,
        })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole packet's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// V: the version, always 2 in a checked packet.
    pub fn version(&self) -> u8 {
        self.b()[VPXCC] >> 6
    }

    /// P: padding follows the payload.
    pub fn padding(&self) -> bool {
        self.b()[VPXCC] & P_BIT != 0
    }

    /// X: a header extension follows the CSRCs.
    pub fn extension(&self) -> bool {
        self.b()[VPXCC] & X_BIT != 0
    }

    /// CC: the number of CSRCs.
    pub fn csrc_count(&self) -> u8 {
        self.b()[VPXCC] & 0x0f
    }

    /// M: the marker bit (end of a video frame, start of a talkspurt).
    pub fn marker(&self) -> bool {
        self.b()[MPT] & M_BIT != 0
    }

    /// PT: the payload type.
    pub fn payload_type(&self) -> PayloadType {
        PayloadType::from_low_bits(self.b()[MPT])
    }

    /// The sequence number.
    pub fn sequence_number(&self) -> SeqNo {
        SeqNo(u16::from_be_bytes([
            self.b()[SEQUENCE],
            self.b()[SEQUENCE + 1],
        ]))
    }

    /// The timestamp.
    pub fn timestamp(&self) -> RtpTimestamp {
        RtpTimestamp(be32(self.b(), TIMESTAMP))
    }

    /// The SSRC.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(be32(self.b(), SSRC))
    }

    /// The CSRC list.
    pub fn csrcs(&self) -> Csrcs<'_> {
        let end = CSRCS + 4 * usize::from(self.csrc_count());
        Csrcs {
            bytes: &self.b()[CSRCS..end],
        }
    }

    fn extension_start(&self) -> usize {
        CSRCS + 4 * usize::from(self.csrc_count())
    }

    /// The header extension's "defined by profile" field, if X is set.
    pub fn extension_profile(&self) -> Option<u16> {
        self.extension().then(|| {
            let at = self.extension_start();
            u16::from_be_bytes([self.b()[at], self.b()[at + 1]])
        })
    }

    /// The raw header extension bytes after its 4-byte header, if X is set.
    pub fn extension_data(&self) -> Option<&[u8]> {
        self.extension().then(|| {
            let at = self.extension_start() + EXTENSION_HEADER_LEN;
            &self.b()[at..self.header_len]
        })
    }

    /// The RFC 8285 elements of the header extension: `Ok(None)` without
    /// one, an error for a profile other than RFC 8285's or a malformed
    /// element.
    pub fn extensions(&self) -> Result<Option<HeaderExtensions<'_>>, ExtensionError> {
        match (self.extension_profile(), self.extension_data()) {
            (Some(profile), Some(data)) => HeaderExtensions::new_checked(profile, data).map(Some),
            _ => Ok(None),
        }
    }

    /// The value of the first header extension element with `id`, if the
    /// block is well-formed and carries it.
    pub fn extension_value(&self, id: u8) -> Option<&[u8]> {
        self.extensions().ok().flatten().and_then(|e| e.get(id))
    }

    /// The typed value `V` under the id `map` gives its kind: `None` when
    /// not negotiated, absent or the block is malformed; `Some(Err)` when
    /// the value is malformed.
    pub fn read_extension<'a, V: ExtensionValue<'a>>(
        &'a self,
        map: &ExtensionMap,
    ) -> Option<Result<V, ExtensionError>> {
        self.extensions().ok().flatten()?.read::<V>(map)
    }

    /// The payload, without padding.
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len..self.payload_end]
    }

    /// Bytes of padding at the end (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.b().len() - self.payload_end
    }

    /// Bytes of the header: fixed part, CSRCs and extension block.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The packet's length.
    pub fn len(&self) -> usize {
        self.b().len()
    }

    /// Never true: a checked packet has at least its 12-byte header.
    pub fn is_empty(&self) -> bool {
        self.b().is_empty()
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Rewrites the SSRC.
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        self.bm()[SSRC..SSRC + 4].copy_from_slice(&ssrc.0.to_be_bytes());
    }

    /// Rewrites the sequence number.
    pub fn set_sequence_number(&mut self, seq: SeqNo) {
        self.bm()[SEQUENCE..SEQUENCE + 2].copy_from_slice(&seq.0.to_be_bytes());
    }

    /// Rewrites the timestamp.
    pub fn set_timestamp(&mut self, ts: RtpTimestamp) {
        self.bm()[TIMESTAMP..TIMESTAMP + 4].copy_from_slice(&ts.0.to_be_bytes());
    }

    /// Rewrites the payload type, keeping the marker bit.
    pub fn set_payload_type(&mut self, pt: PayloadType) {
        let b = self.bm();
        b[MPT] = (b[MPT] & M_BIT) | pt.get();
    }

    /// Sets or clears the marker bit.
    pub fn set_marker(&mut self, marker: bool) {
        let b = self.bm();
        b[MPT] = (b[MPT] & !M_BIT) | if marker { M_BIT } else { 0 };
    }

    /// The payload, writable (e.g. for in-place encryption).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (s, e) = (self.header_len, self.payload_end);
        &mut self.bm()[s..e]
    }

    /// The value bytes of the first header extension element with `id`,
    /// writable in place.
    pub fn extension_value_mut(&mut self, id: u8) -> Option<&mut [u8]> {
        let base = self.extension_start() + EXTENSION_HEADER_LEN;
        let range = self.extensions().ok().flatten()?.value_range(id)?;
        Some(&mut self.bm()[base + range.start..base + range.end])
    }

    /// Overwrites the value of header extension element `id` with `value`
    /// of the same length (e.g. abs-send-time or the transport-wide
    /// sequence number at send time), without moving any byte.
    pub fn set_extension_value(&mut self, id: u8, value: &[u8]) -> Result<(), RtpError> {
        let slot = self
            .extension_value_mut(id)
            .ok_or(RtpError::NoSuchExtension { id })?;
        if slot.len() != value.len() {
            return Err(RtpError::ExtensionLengthMismatch {
                id,
                present: slot.len(),
                new: value.len(),
            });
        }
        slot.copy_from_slice(value);
        Ok(())
    }
}

/// The CSRC list of an [`RtpPacket`] (RFC 3550 §5.1).
#[derive(Debug, Clone)]
pub struct Csrcs<'a> {
    bytes: &'a [u8],
}

impl Iterator for Csrcs<'_> {
    type Item = Ssrc;
    fn next(&mut self) -> Option<Ssrc> {
        let (head, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(Ssrc(u32::from_be_bytes(*head)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / 4;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Csrcs<'_> {}
