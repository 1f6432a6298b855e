//! ITU-T H.264 Annex B / H.265 Annex B byte streams: NAL units separated by
//! 3- or 4-byte start codes.

/// The 4-byte start code depacketizers write before each NAL unit.
pub(crate) const START_CODE: [u8; 4] = [0, 0, 0, 1];

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
    // Look for the `01` first: a tight byte search the compiler turns into
    // a fast loop, then check the two zeros before it.
    let mut from = 2;
    while from < data.len() {
        let rel = data.get(from..)?.iter().position(|&b| b == 1)?;
        let i = from + rel;
        if data.get(i - 2) == Some(&0) && data.get(i - 1) == Some(&0) {
            return Some((i - 2, i + 1));
        }
        from = i + 1;
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
    fn no_start_code_is_one_nal() {
        let nals: Vec<&[u8]> = AnnexB::new(&[0x41, 9, 9]).collect();
        assert_eq!(nals, vec![&[0x41, 9, 9][..]]);
        assert_eq!(AnnexB::new(&[]).count(), 0);
        assert_eq!(AnnexB::new(&[0, 0, 1]).count(), 0);
    }
}
