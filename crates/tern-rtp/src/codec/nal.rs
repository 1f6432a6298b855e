//! ITU-T H.264 Annex B / H.265 Annex B byte streams: NAL units separated by
//! 3- or 4-byte start codes.

/// The 4-byte start code depacketizers write before each NAL unit.
pub(crate) const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The NAL units of an aggregation packet's body (H.264 STAP-A, RFC 6184
/// §5.7.1; H.265 AP, RFC 7798 §4.4.2): each prefixed by a 16-bit size.
/// A unit shorter than `min_len` (a NAL header) is an error, as is a size
/// that runs past the body; `what` names the packet type in errors.
pub(crate) fn aggregated_units<'a>(
    mut body: &'a [u8],
    min_len: usize,
    what: &'static str,
) -> impl Iterator<Item = Result<&'a [u8], super::CodecError>> {
    use super::CodecError;
    std::iter::from_fn(move || {
        if body.is_empty() {
            return None;
        }
        let (Some(&a), Some(&b)) = (body.first(), body.get(1)) else {
            body = &[];
            return Some(Err(CodecError::Truncated { what }));
        };
        let n = usize::from(u16::from_be_bytes([a, b]));
        let Some(unit) = body.get(AGGREGATION_SIZE_LEN..AGGREGATION_SIZE_LEN + n) else {
            body = &[];
            return Some(Err(CodecError::Truncated { what }));
        };
        body = body.get(AGGREGATION_SIZE_LEN + n..).unwrap_or(&[]);
        if n < min_len {
            return Some(Err(CodecError::Invalid { what }));
        }
        Some(Ok(unit))
    })
}

/// The size prefix of each unit in a STAP-A or AP.
pub(crate) const AGGREGATION_SIZE_LEN: usize = 2;

/// Iterator over the NAL units of an Annex B byte stream (H.264 Annex B.1,
/// H.265 Annex B.2), without their start codes. Leading bytes before the
/// first start code are skipped; trailing zero bytes of a NAL unit
/// (`trailing_zero_8bits`, or the first zero of a 4-byte start code) are
/// dropped. A stream with no start code at all is taken as one NAL unit.
#[derive(Debug, Clone)]
pub struct AnnexB<'a> {
    rest: &'a [u8],
}

impl<'a> AnnexB<'a> {
    /// Split `stream` into NAL units.
    pub fn new(stream: &'a [u8]) -> Self {
        let rest = match find_start_code(stream) {
            Some((_, after)) => stream.get(after..).unwrap_or(&[]),
            None => stream,
        };
        Self { rest }
    }
}

/// Find the first `00 00 01`; returns (index of the first zero, index after
/// the `01`).
fn find_start_code(data: &[u8]) -> Option<(usize, usize)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 3 <= data.len() {
        // Eight bytes without a zero cannot hold the first byte of a start
        // code: skip them a word at a time (NAL payloads rarely hold zeros,
        // emulation prevention sees to that).
        if let Some(chunk) = data.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let w = u64::from_le_bytes(w);
            if w.wrapping_sub(ONES) & !w & HIGHS == 0 {
                i += 8;
                continue;
            }
        }
        if data.get(i..i + 3) == Some(&[0, 0, 1]) {
            return Some((i, i + 3));
        }
        i += 1;
    }
    None
}

impl<'a> Iterator for AnnexB<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (nal, rest) = match find_start_code(self.rest) {
                Some((zero, after)) => (
                    self.rest.get(..zero).unwrap_or(&[]),
                    self.rest.get(after..).unwrap_or(&[]),
                ),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let mut end = nal.len();
            while end > 0 && nal.get(end - 1) == Some(&0) {
                end -= 1;
            }
            let nal = nal.get(..end).unwrap_or(&[]);
            if !nal.is_empty() {
                return Some(nal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0,
        ];
        let nals: Vec<&[u8]> = AnnexB::new(&s).collect();
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
    }

    #[test]
    fn start_codes_found_at_every_offset_around_word_skips() {
        for at in 0..20 {
            let mut s = vec![0x5au8; 40];
            s[at..at + 3].copy_from_slice(&[0, 0, 1]);
            assert_eq!(find_start_code(&s), Some((at, at + 3)), "at {at}");
            // A lone zero or a 00 00 02 is not a start code.
            s[at + 2] = 2;
            assert_eq!(find_start_code(&s), None);
        }
    }

    #[test]
    fn no_start_code_is_one_nal() {
        let nals: Vec<&[u8]> = AnnexB::new(&[0x41, 9, 9]).collect();
        assert_eq!(nals, vec![&[0x41, 9, 9][..]]);
        assert_eq!(AnnexB::new(&[]).count(), 0);
        assert_eq!(AnnexB::new(&[0, 0, 1]).count(), 0);
    }
}
