//! Writing an RTP header extension block (RFC 3550 §5.3.1 framing, RFC 8285
//! elements) into a caller's buffer.

use super::{ExtensionError, ExtensionForm, ExtensionValue, MAX_ONE_BYTE_LEN};

/// The 4-byte block header: "defined by profile" and length in words.
const BLOCK_HEADER_LEN: usize = 4;
/// RFC 3550 §5.3.1: the length field counts 32-bit words, in 16 bits.
const MAX_BLOCK_WORDS: usize = 0xffff;

/// Writes a header extension block into `buf`: the 4-byte block header,
/// the elements, zero padding to a 32-bit boundary.
///
/// The form is chosen automatically: one-byte while every element fits it,
/// and the elements already written are rewritten in place into the
/// two-byte form when one arrives that needs it (an id above 14, a value
/// longer than 16 bytes or an empty one). [`ExtensionBlockWriter::with_form`]
/// fixes the form instead, e.g. one-byte when the peer did not offer
/// `a=extmap-allow-mixed` (RFC 8285 §6).
#[derive(Debug)]
pub struct ExtensionBlockWriter<'b> {
    buf: &'b mut [u8],
    end: usize,
    form: ExtensionForm,
    fixed: bool,
    count: usize,
}

impl<'b> ExtensionBlockWriter<'b> {
    /// A writer that picks the form automatically.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            end: BLOCK_HEADER_LEN,
            form: ExtensionForm::OneByte,
            fixed: false,
            count: 0,
        }
    }

    /// A writer that always uses `form` and refuses elements it cannot carry.
    pub fn with_form(buf: &'b mut [u8], form: ExtensionForm) -> Self {
        Self {
            buf,
            end: BLOCK_HEADER_LEN,
            form,
            fixed: true,
            count: 0,
        }
    }

    /// The form the block has so far.
    pub fn form(&self) -> ExtensionForm {
        self.form
    }

    /// Number of elements written.
    pub fn len(&self) -> usize {
        self.count
    }

    /// No element written yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Makes room for an element of `len` value bytes with `id` and returns
    /// the value's bytes to fill.
    fn reserve(&mut self, id: u8, len: usize) -> Result<&mut [u8], ExtensionError> {
        let needed = ExtensionForm::required_for(id, len)?;
        if needed == ExtensionForm::TwoByte && self.form == ExtensionForm::OneByte {
            if self.fixed {
                return Err(if len == 0 {
                    ExtensionError::EmptyValueInOneByte { id }
                } else if len > MAX_ONE_BYTE_LEN {
                    ExtensionError::ValueTooLong { id, len }
                } else {
                    ExtensionError::BadId(id)
                });
            }
            self.promote()?;
        }
        let hdr = self.form.element_header_len();
        let start = self.end + hdr;
        let new_end = start + len;
        let padded = BLOCK_HEADER_LEN + (new_end - BLOCK_HEADER_LEN).div_ceil(4) * 4;
        if (padded - BLOCK_HEADER_LEN) / 4 > MAX_BLOCK_WORDS {
            return Err(ExtensionError::BlockTooLong);
        }
        if padded > self.buf.len() {
            return Err(ExtensionError::BufferTooSmall {
                needed: padded,
                available: self.buf.len(),
            });
        }
        match self.form {
            ExtensionForm::OneByte => {
                // `required_for` returned OneByte or we are two-byte: 1..=16.
                self.buf[self.end] = (id << 4) | ((len - 1) as u8);
            }
            ExtensionForm::TwoByte => {
                self.buf[self.end] = id;
                // `required_for` checked len <= 255.
                self.buf[self.end + 1] = len as u8;
            }
        }
        self.end = new_end;
        self.count += 1;
        Ok(&mut self.buf[start..new_end])
    }

    /// Rewrites the one-byte elements written so far into the two-byte form:
    /// each grows by one byte, so move them back to front.
    fn promote(&mut self) -> Result<(), ExtensionError> {
        let grown = self.end + self.count;
        if grown > self.buf.len() {
            return Err(ExtensionError::BufferTooSmall {
                needed: grown,
                available: self.buf.len(),
            });
        }
        for i in (0..self.count).rev() {
            // Find element i from the start; there are few elements.
            let mut pos = BLOCK_HEADER_LEN;
            for _ in 0..i {
                pos += 1 + usize::from(self.buf[pos] & 0x0f) + 1;
            }
            let id = self.buf[pos] >> 4;
            let len = usize::from(self.buf[pos] & 0x0f) + 1;
            // Element i moves forward by i + 1 bytes (one per element up to
            // and including it).
            let dst = pos + i + 1;
            self.buf.copy_within(pos + 1..pos + 1 + len, dst + 1);
            self.buf[dst - 1] = id;
            self.buf[dst] = len as u8;
        }
        self.end = grown;
        self.form = ExtensionForm::TwoByte;
        Ok(())
    }

    /// Adds an element with raw value bytes.
    pub fn add(&mut self, id: u8, value: &[u8]) -> Result<(), ExtensionError> {
        self.reserve(id, value.len())?.copy_from_slice(value);
        Ok(())
    }

    /// Adds a typed value, encoded straight into the buffer.
    pub fn add_value<'v, V: ExtensionValue<'v>>(
        &mut self,
        id: u8,
        value: &V,
    ) -> Result<(), ExtensionError> {
        let len = value.encoded_len();
        let (end, count, form) = (self.end, self.count, self.form);
        let out = self.reserve(id, len)?;
        if let Err(e) = value.write(out) {
            // Undo the reservation so the block stays well-formed. A
            // promotion that happened stays: it is still valid.
            if self.form == form {
                self.end = end;
            } else {
                self.end = end + count;
            }
            self.count = count;
            return Err(e);
        }
        Ok(())
    }

    /// Pads the elements to a 32-bit boundary, writes the block header and
    /// returns the block's total length, 0 when no element was added (then
    /// nothing is written and the RTP X bit must stay clear).
    pub fn finish(mut self) -> usize {
        self.finish_in_place()
    }

    /// [`ExtensionBlockWriter::finish`], also handing back the buffer after
    /// the block.
    pub(crate) fn finish_into_rest(mut self) -> (usize, &'b mut [u8]) {
        let total = self.finish_in_place();
        let buf = self.buf;
        (total, &mut buf[total..])
    }

    fn finish_in_place(&mut self) -> usize {
        if self.count == 0 {
            return 0;
        }
        let data_len = self.end - BLOCK_HEADER_LEN;
        let words = data_len.div_ceil(4);
        let total = BLOCK_HEADER_LEN + words * 4;
        // `reserve` checked that `total` fits the buffer and 16 bits of words.
        self.buf[self.end..total].fill(0);
        self.buf[0..2].copy_from_slice(&self.form.profile().to_be_bytes());
        self.buf[2..4].copy_from_slice(&(words as u16).to_be_bytes());
        total
    }
}
