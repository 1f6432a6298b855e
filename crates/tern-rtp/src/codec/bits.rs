//! Small readers shared by the payload formats: an MSB-first bit reader and
//! AV1's leb128 (AV1 bitstream spec §4.10.5).

/// MSB-first bit reader over a byte slice; reading past the end yields `None`.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn bit(&mut self) -> Option<bool> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Some(b)
    }

    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit()?);
        }
        Some(v)
    }
}

/// Maximum encoded length of a leb128 value we write (a `u32` needs 5).
pub(crate) const LEB128_MAX: usize = 8;

/// Decode a leb128 value; returns (value, bytes used). AV1 spec §4.10.5:
/// at most 8 bytes, value below 2^32.
pub(crate) fn read_leb128(data: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..LEB128_MAX {
        let byte = *data.get(i)?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if value > u64::from(u32::MAX) {
                return None;
            }
            return Some((value, i + 1));
        }
    }
    None
}

/// Encode `value` as leb128 into `out`; returns the bytes used.
pub(crate) fn write_leb128(mut value: u64, out: &mut [u8; LEB128_MAX]) -> usize {
    let mut n = 0;
    loop {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value != 0 {
            byte |= 0x80;
        }
        out[n] = byte;
        n += 1;
        if value == 0 || n == LEB128_MAX {
            return n;
        }
    }
}

/// Bytes leb128 needs for `value`.
pub(crate) fn leb128_len(value: u64) -> usize {
    let mut n = 1;
    let mut v = value >> 7;
    while v != 0 {
        n += 1;
        v >>= 7;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trip() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX)] {
            let mut b = [0; LEB128_MAX];
            let n = write_leb128(v, &mut b);
            assert_eq!(n, leb128_len(v));
            assert_eq!(read_leb128(&b[..n]), Some((v, n)));
        }
        // AV1 spec §4.10.5: 0xE5 0x8E 0x26 is 624485 (the classic example).
        assert_eq!(read_leb128(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(read_leb128(&[0x80]), None);
        assert_eq!(read_leb128(&[0xff; 9]), None);
    }

    #[test]
    fn bit_reader_reads_msb_first() {
        let mut r = BitReader::new(&[0b1010_0000, 0xff]);
        assert_eq!(r.bits(3), Some(0b101));
        assert_eq!(r.bits(5), Some(0));
        assert_eq!(r.bits(8), Some(0xff));
        assert_eq!(r.bit(), None);
    }
}
