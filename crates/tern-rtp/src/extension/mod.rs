//! RTP header extensions (RFC 8285): the one-byte (0xBEDE) and two-byte
//! (0x100X) element forms, a checked view that iterates elements, a writer
//! that picks the form, the SDP extmap table and typed values.

mod error;
mod map;
mod values;
mod writer;

pub use error::ExtensionError;
pub use map::{ExtensionKind, ExtensionMap};
pub use values::{
    AbsCaptureTime, AbsSendTime, AudioLevel, ExtensionValue, Mid, PlayoutDelay,
    RepairedRtpStreamId, RtpStreamId, TransmissionOffset, TransportSequenceNumber,
    VideoOrientation, VideoRotation,
};
pub use writer::ExtensionBlockWriter;

/// RFC 8285 §4.2: the "defined by profile" value of the one-byte form.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 §4.3: the two-byte form's profile, 0x100 followed by four
/// application bits (0x1000..=0x100F).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
const TWO_BYTE_PROFILE_MASK: u16 = 0xFFF0;
/// RFC 8285 §4.2: the largest value of the one-byte form.
pub const MAX_ONE_BYTE_LEN: usize = 16;
/// RFC 8285 §4.2: the largest id of the one-byte form (15 is reserved).
pub const MAX_ONE_BYTE_ID: u8 = 14;
/// RFC 8285 §4.3: the largest value of the two-byte form.
pub const MAX_TWO_BYTE_LEN: usize = 255;
/// RFC 8285 §4.2: id 15 in the one-byte form ends processing of the block.
const ONE_BYTE_RESERVED_ID: u8 = 15;

/// RFC 8285 §4.1: which element header the block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionForm {
    /// RFC 8285 §4.2: 4-bit id (1..=14), 4-bit length minus one; values of
    /// 1..=16 bytes.
    OneByte,
    /// RFC 8285 §4.3: 8-bit id (1..=255), 8-bit length; values of 0..=255
    /// bytes.
    TwoByte,
}

impl ExtensionForm {
    /// The form a "defined by profile" value announces, if any.
    pub fn from_profile(profile: u16) -> Option<ExtensionForm> {
        if profile == ONE_BYTE_PROFILE {
            Some(ExtensionForm::OneByte)
        } else if profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE {
            Some(ExtensionForm::TwoByte)
        } else {
            None
        }
    }

    /// The "defined by profile" value to write (application bits zero).
    pub fn profile(self) -> u16 {
        match self {
            ExtensionForm::OneByte => ONE_BYTE_PROFILE,
            ExtensionForm::TwoByte => TWO_BYTE_PROFILE,
        }
    }

    /// The smallest form that can carry an element with this id and value
    /// length (RFC 8285 §4.2, §4.3): two-byte for ids above 14, values
    /// longer than 16 bytes and empty values.
    pub fn required_for(id: u8, len: usize) -> Result<ExtensionForm, ExtensionError> {
        if id == 0 {
            return Err(ExtensionError::BadId(id));
        }
        if len > MAX_TWO_BYTE_LEN {
            return Err(ExtensionError::ValueTooLong { id, len });
        }
        if id > MAX_ONE_BYTE_ID || len == 0 || len > MAX_ONE_BYTE_LEN {
            Ok(ExtensionForm::TwoByte)
        } else {
            Ok(ExtensionForm::OneByte)
        }
    }

    /// Bytes an element header takes in this form.
    pub fn element_header_len(self) -> usize {
        match self {
            ExtensionForm::OneByte => 1,
            ExtensionForm::TwoByte => 2,
        }
    }
}

/// One header extension element: its local id and value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The local identifier negotiated by SDP extmap (RFC 8285 §5).
    pub id: u8,
    /// The value bytes.
    pub data: &'a [u8],
}

/// The elements of an RTP header extension block in one of RFC 8285's forms.
///
/// [`HeaderExtensions::new_checked`] walks the elements once; afterwards
/// iteration cannot fail. Padding bytes (0) are skipped. In the one-byte
/// form, id 15 ends the block (RFC 8285 §4.2), and so does a byte with id 0
/// and a non-zero length, which is neither padding nor an element (libwebrtc
/// stops parsing there too); elements before it remain readable.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtensions<'a> {
    form: ExtensionForm,
    profile: u16,
    data: &'a [u8],
}

/// Parses the element at `pos`, skipping padding. `Ok(None)` is the end of
/// the block (its end, or a terminating byte).
fn next_element(
    form: ExtensionForm,
    data: &[u8],
    mut pos: usize,
) -> Result<Option<(Extension<'_>, usize)>, ExtensionError> {
    while let Some(&b) = data.get(pos) {
        if b == 0 {
            pos += 1;
            continue;
        }
        let (id, len, hdr) = match form {
            ExtensionForm::OneByte => {
                let id = b >> 4;
                if id == 0 || id == ONE_BYTE_RESERVED_ID {
                    return Ok(None);
                }
                (id, usize::from(b & 0x0f) + 1, 1)
            }
            ExtensionForm::TwoByte => {
                let Some(&len) = data.get(pos + 1) else {
                    return Err(ExtensionError::ElementOverrun { id: b, offset: pos });
                };
                (b, usize::from(len), 2)
            }
        };
        let start = pos + hdr;
        let Some(value) = data.get(start..start + len) else {
            return Err(ExtensionError::ElementOverrun { id, offset: pos });
        };
        return Ok(Some((Extension { id, data: value }, start + len)));
    }
    Ok(None)
}

impl<'a> HeaderExtensions<'a> {
    /// Checks the block with "defined by profile" value `profile` and element
    /// bytes `data` (the extension bytes after the 4-byte block header).
    pub fn new_checked(profile: u16, data: &'a [u8]) -> Result<Self, ExtensionError> {
        let form =
            ExtensionForm::from_profile(profile).ok_or(ExtensionError::UnknownProfile(profile))?;
        let mut pos = 0;
        while let Some((_, next)) = next_element(form, data, pos)? {
            pos = next;
        }
        Ok(Self {
            form,
            profile,
            data,
        })
    }

    /// The element form.
    pub fn form(&self) -> ExtensionForm {
        self.form
    }

    /// The "defined by profile" value (for the two-byte form it carries four
    /// application bits, RFC 8285 §4.3).
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The raw element bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The elements in order.
    pub fn iter(&self) -> ExtensionIter<'a> {
        ExtensionIter {
            form: self.form,
            data: self.data,
            pos: 0,
        }
    }

    /// The value of the first element with `id`.
    pub fn get(&self, id: u8) -> Option<&'a [u8]> {
        self.iter().find(|e| e.id == id).map(|e| e.data)
    }

    /// Where the value of the first element with `id` sits in the block
    /// data, as a byte range.
    pub fn value_range(&self, id: u8) -> Option<std::ops::Range<usize>> {
        let mut pos = 0;
        while let Ok(Some((e, next))) = next_element(self.form, self.data, pos) {
            if e.id == id {
                return Some(next - e.data.len()..next);
            }
            pos = next;
        }
        None
    }

    /// The typed value `V` if `map` assigns its kind an id and the packet
    /// carries that id: `None` when absent, `Some(Err)` when malformed.
    pub fn read<V: ExtensionValue<'a>>(
        &self,
        map: &ExtensionMap,
    ) -> Option<Result<V, ExtensionError>> {
        let id = map.id_of(V::KIND)?;
        self.get(id).map(V::parse)
    }
}

impl<'a> IntoIterator for &HeaderExtensions<'a> {
    type Item = Extension<'a>;
    type IntoIter = ExtensionIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the elements of a checked [`HeaderExtensions`].
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    form: ExtensionForm,
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = Extension<'a>;
    fn next(&mut self) -> Option<Extension<'a>> {
        // The block was checked, so an error cannot occur; stop if it did.
        match next_element(self.form, self.data, self.pos) {
            Ok(Some((e, next))) => {
                self.pos = next;
                Some(e)
            }
            _ => {
                self.pos = self.data.len();
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
