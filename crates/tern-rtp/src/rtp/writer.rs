//! Writing RTP packets into a caller's buffer (RFC 3550 §5.1, §5.3.1,
//! RFC 8285 elements), without allocating.

use crate::extension::{ExtensionBlockWriter, ExtensionForm, ExtensionMap, ExtensionValue};

use super::packet::{FIXED_HEADER_LEN, M_BIT, P_BIT, RTP_VERSION, X_BIT};
use super::{PayloadType, RtpError, RtpTimestamp, SeqNo, Ssrc};

/// The most CSRCs the 4-bit CC field can count.
pub const MAX_CSRCS: usize = 15;

/// The fields of an RTP header a sender chooses (RFC 3550 §5.1). V is
/// always 2; P, X and CC follow from what [`RtpWriter`] is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    /// M.
    pub marker: bool,
    /// PT.
    pub payload_type: PayloadType,
    /// Sequence number.
    pub sequence_number: SeqNo,
    /// Timestamp.
    pub timestamp: RtpTimestamp,
    /// SSRC.
    pub ssrc: Ssrc,
    /// Contributing sources, at most 15.
    pub csrcs: &'a [Ssrc],
}

impl RtpHeader<'static> {
    /// A header without marker and CSRCs.
    pub fn new(
        payload_type: PayloadType,
        sequence_number: SeqNo,
        timestamp: RtpTimestamp,
        ssrc: Ssrc,
    ) -> Self {
        Self {
            marker: false,
            payload_type,
            sequence_number,
            timestamp,
            ssrc,
            csrcs: &[],
        }
    }
}

impl RtpHeader<'_> {
    /// Bytes of the fixed header and CSRCs.
    pub fn len(&self) -> usize {
        FIXED_HEADER_LEN + 4 * self.csrcs.len()
    }

    /// Never true: a header has at least 12 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes a packet without header extensions: header, `payload`, then
    /// `padding` bytes of padding (0 for none). Returns the length.
    pub fn emit(&self, payload: &[u8], padding: u8, out: &mut [u8]) -> Result<usize, RtpError> {
        RtpWriter::new(out, self)?.finish(payload, padding)
    }
}

/// Writes one RTP packet: the header on creation, then any header
/// extension elements, then payload and padding on
/// [`RtpWriter::finish`], which returns the packet's length.
///
/// ```
/// # use tern_rtp::rtp::{RtpHeader, RtpWriter, PayloadType, SeqNo, RtpTimestamp, Ssrc, RtpPacket};
/// let mut buf = [0u8; 1500];
/// let pt = PayloadType::new(96).unwrap();
/// let h = RtpHeader::new(pt, SeqNo(1), RtpTimestamp(3000), Ssrc(0x1234));
/// let mut w = RtpWriter::new(&mut buf, &h).unwrap();
/// w.add_extension(3, &[0x12, 0x34]).unwrap();
/// let n = w.finish(b"payload", 0).unwrap();
/// let p = RtpPacket::new_checked(&buf[..n]).unwrap();
/// assert_eq!(p.payload(), b"payload");
/// assert_eq!(p.extension_value(3), Some(&[0x12, 0x34][..]));
/// ```
#[derive(Debug)]
pub struct RtpWriter<'b> {
    head: &'b mut [u8],
    ext: ExtensionBlockWriter<'b>,
}

impl<'b> RtpWriter<'b> {
    /// Starts a packet in `out`; header extensions pick their form
    /// automatically (see [`ExtensionBlockWriter`]).
    pub fn new(out: &'b mut [u8], header: &RtpHeader<'_>) -> Result<Self, RtpError> {
        let (head, rest) = Self::write_header(out, header)?;
        Ok(Self {
            head,
            ext: ExtensionBlockWriter::new(rest),
        })
    }

    /// Starts a packet whose header extensions always use `form`.
    pub fn with_extension_form(
        out: &'b mut [u8],
        header: &RtpHeader<'_>,
        form: ExtensionForm,
    ) -> Result<Self, RtpError> {
        let (head, rest) = Self::write_header(out, header)?;
        Ok(Self {
            head,
            ext: ExtensionBlockWriter::with_form(rest, form),
        })
    }

    fn write_header<'o>(
        out: &'o mut [u8],
        h: &RtpHeader<'_>,
    ) -> Result<(&'o mut [u8], &'o mut [u8]), RtpError> {
        if h.csrcs.len() > MAX_CSRCS {
            return Err(RtpError::TooManyCsrcs(h.csrcs.len()));
        }
        let len = h.len();
        if out.len() < len {
            return Err(RtpError::BufferTooSmall {
                needed: len,
                available: out.len(),
            });
        }
        let (head, rest) = out.split_at_mut(len);
        // At most 15 CSRCs, checked above.
        head[0] = (RTP_VERSION << 6) | h.csrcs.len() as u8;
        head[1] = if h.marker { M_BIT } else { 0 } | h.payload_type.get();
        head[2..4].copy_from_slice(&h.sequence_number.0.to_be_bytes());
        head[4..8].copy_from_slice(&h.timestamp.0.to_be_bytes());
        head[8..12].copy_from_slice(&h.ssrc.0.to_be_bytes());
        for (chunk, c) in head[FIXED_HEADER_LEN..].chunks_exact_mut(4).zip(h.csrcs) {
            chunk.copy_from_slice(&c.0.to_be_bytes());
        }
        Ok((head, rest))
    }

    /// Adds a header extension element with raw value bytes.
    pub fn add_extension(&mut self, id: u8, value: &[u8]) -> Result<(), RtpError> {
        Ok(self.ext.add(id, value)?)
    }

    /// Adds a typed header extension value.
    pub fn add_extension_value<'v, V: ExtensionValue<'v>>(
        &mut self,
        id: u8,
        value: &V,
    ) -> Result<(), RtpError> {
        Ok(self.ext.add_value(id, value)?)
    }

    /// Adds a typed value under the id `map` gives its kind; returns
    /// `Ok(false)` and writes nothing when the session did not negotiate it.
    pub fn add_mapped_value<'v, V: ExtensionValue<'v>>(
        &mut self,
        map: &ExtensionMap,
        value: &V,
    ) -> Result<bool, RtpError> {
        match map.id_of(V::KIND) {
            Some(id) => {
                self.add_extension_value(id, value)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes `payload` and `padding` bytes of padding (0 for none; the last
    /// padding byte holds the count, RFC 3550 §5.1) and returns the
    /// packet's length.
    pub fn finish(self, payload: &[u8], padding: u8) -> Result<usize, RtpError> {
        let Self { head, ext } = self;
        let (ext_len, rest) = ext.finish_into_rest();
        if ext_len > 0 {
            head[0] |= X_BIT;
        }
        let tail_len = payload.len() + usize::from(padding);
        let available = rest.len();
        let Some(tail) = rest.get_mut(..tail_len) else {
            return Err(RtpError::BufferTooSmall {
                needed: head.len() + ext_len + tail_len,
                available: head.len() + ext_len + available,
            });
        };
        let (p, pad) = tail.split_at_mut(payload.len());
        p.copy_from_slice(payload);
        if let Some((last, zeros)) = pad.split_last_mut() {
            zeros.fill(0);
            *last = padding;
            head[0] |= P_BIT;
        }
        Ok(head.len() + ext_len + tail_len)
    }
}
