//! AV1 in Matroska: low-overhead OBU streams (AV1 spec §5.3), temporal
//! delimiter removal and the av1C `CodecPrivate` (AV1 Codec ISO Media File
//! Format Binding §2.3) built from a sequence header (AV1 spec §5.5).

/// OBU types used here (AV1 spec §6.2.2).
mod obu_type {
    pub const SEQUENCE_HEADER: u8 = 1;
    pub const TEMPORAL_DELIMITER: u8 = 2;
}

/// One OBU located in a buffer.
struct Obu<'a> {
    obu_type: u8,
    /// The whole OBU including its header and size field.
    raw: &'a [u8],
    /// The payload after the header and size field.
    payload: &'a [u8],
}

/// Reads a leb128 value (AV1 spec §4.10.5), at most 8 bytes.
fn leb128(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..8 {
        let byte = *b.get(i)?;
        v |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Iterates the OBUs of a temporal unit; stops at the first malformed one.
fn obus(mut data: &[u8]) -> impl Iterator<Item = Obu<'_>> {
    std::iter::from_fn(move || {
        let header = *data.first()?;
        let obu_type = (header >> 3) & 0x0F;
        let has_extension = header & 0x04 != 0;
        let has_size = header & 0x02 != 0;
        let mut pos = 1 + usize::from(has_extension);
        let size = if has_size {
            let (s, n) = leb128(data.get(pos..)?)?;
            pos += n;
            usize::try_from(s).ok()?
        } else {
            data.len().checked_sub(pos)?
        };
        let end = pos.checked_add(size)?;
        let obu = Obu {
            obu_type,
            raw: data.get(..end)?,
            payload: data.get(pos..end)?,
        };
        data = data.get(end..).unwrap_or_default();
        Some(obu)
    })
}

/// Appends a temporal unit's OBUs to `out` without its temporal delimiters,
/// which the Matroska AV1 mapping forbids inside blocks. If the unit cannot
/// be parsed it is copied unchanged.
pub(crate) fn strip_temporal_delimiters(tu: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let mut consumed = 0;
    for obu in obus(tu) {
        consumed += obu.raw.len();
        if obu.obu_type != obu_type::TEMPORAL_DELIMITER {
            out.extend_from_slice(obu.raw);
        }
    }
    if consumed != tu.len() {
        out.truncate(start);
        out.extend_from_slice(tu);
    }
}

/// A most-significant-bit-first reader (AV1 spec §4.10.2 f(n)).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn f(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            let bit = (byte >> (7 - (self.pos % 8))) & 1;
            v = (v << 1) | u32::from(bit);
            self.pos += 1;
        }
        Some(v)
    }

    fn flag(&mut self) -> Option<bool> {
        self.f(1).map(|b| b == 1)
    }

    /// AV1 spec §4.10.3 uvlc(): only skipped here.
    fn skip_uvlc(&mut self) -> Option<()> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros >= 32 {
                return Some(());
            }
        }
        self.f(zeros).map(|_| ())
    }
}

/// The fields of a sequence header that av1C repeats.
#[derive(Debug, PartialEq, Eq)]
struct SequenceInfo {
    seq_profile: u8,
    seq_level_idx_0: u8,
    seq_tier_0: u8,
    high_bitdepth: bool,
    twelve_bit: bool,
    monochrome: bool,
    subsampling_x: bool,
    subsampling_y: bool,
    chroma_sample_position: u8,
}

/// AV1 spec §5.5.1 sequence_header_obu(), read up to color_config().
fn parse_sequence_header(p: &[u8]) -> Option<SequenceInfo> {
    let mut b = Bits { data: p, pos: 0 };
    let seq_profile = b.f(3)? as u8;
    let _still_picture = b.flag()?;
    let reduced = b.flag()?;
    let (seq_level_idx_0, seq_tier_0);
    if reduced {
        seq_level_idx_0 = b.f(5)? as u8;
        seq_tier_0 = 0;
    } else {
        let mut decoder_model_info_present = false;
        let mut buffer_delay_length = 0;
        if b.flag()? {
            // timing_info()
            b.f(32)?;
            b.f(32)?;
            if b.flag()? {
                b.skip_uvlc()?;
            }
            decoder_model_info_present = b.flag()?;
            if decoder_model_info_present {
                buffer_delay_length = b.f(5)? + 1;
                b.f(32)?;
                b.f(5)?;
                b.f(5)?;
            }
        }
        let initial_display_delay_present = b.flag()?;
        let count = b.f(5)? + 1;
        let (mut level0, mut tier0) = (0, 0);
        for i in 0..count {
            b.f(12)?;
            let level = b.f(5)? as u8;
            let tier = if level > 7 { b.f(1)? as u8 } else { 0 };
            if i == 0 {
                (level0, tier0) = (level, tier);
            }
            if decoder_model_info_present && b.flag()? {
                b.f(buffer_delay_length)?;
                b.f(buffer_delay_length)?;
                b.f(1)?;
            }
            if initial_display_delay_present && b.flag()? {
                b.f(4)?;
            }
        }
        seq_level_idx_0 = level0;
        seq_tier_0 = tier0;
    }
    let width_bits = b.f(4)? + 1;
    let height_bits = b.f(4)? + 1;
    b.f(width_bits)?;
    b.f(height_bits)?;
    let frame_id_numbers_present = !reduced && b.flag()?;
    if frame_id_numbers_present {
        b.f(4)?;
        b.f(3)?;
    }
    b.f(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if !reduced {
        b.f(4)?; // interintra, masked compound, warped motion, dual filter
        let enable_order_hint = b.flag()?;
        if enable_order_hint {
            b.f(2)?; // jnt_comp, ref_frame_mvs
        }
        let force_screen_content_tools = if b.flag()? { 2 } else { b.f(1)? };
        if force_screen_content_tools > 0 && !b.flag()? {
            b.f(1)?; // seq_force_integer_mv
        }
        if enable_order_hint {
            b.f(3)?;
        }
    }
    b.f(3)?; // enable_superres, enable_cdef, enable_restoration
             // color_config() (§5.5.2)
    let high_bitdepth = b.flag()?;
    let twelve_bit = seq_profile == 2 && high_bitdepth && b.flag()?;
    let monochrome = seq_profile != 1 && b.flag()?;
    let (mut cp, mut tc, mut mc) = (2, 2, 2);
    if b.flag()? {
        cp = b.f(8)?;
        tc = b.f(8)?;
        mc = b.f(8)?;
    }
    let (subsampling_x, subsampling_y, mut chroma_sample_position) = if monochrome {
        (true, true, 0)
    } else if cp == 1 && tc == 13 && mc == 0 {
        (false, false, 0)
    } else {
        b.f(1)?; // color_range
        let (x, y) = match seq_profile {
            0 => (true, true),
            1 => (false, false),
            _ if twelve_bit => {
                let x = b.flag()?;
                (x, x && b.flag()?)
            }
            _ => (true, false),
        };
        (x, y, 0)
    };
    if !monochrome && subsampling_x && subsampling_y && !(cp == 1 && tc == 13 && mc == 0) {
        chroma_sample_position = b.f(2)? as u8;
    }
    Some(SequenceInfo {
        seq_profile,
        seq_level_idx_0,
        seq_tier_0,
        high_bitdepth,
        twelve_bit,
        monochrome,
        subsampling_x,
        subsampling_y,
        chroma_sample_position,
    })
}

/// Builds the av1C record (AV1-ISOBMFF §2.3.3) from the first sequence
/// header OBU of a temporal unit, or `None` if it has none that parses.
pub fn av1_configuration_from_temporal_unit(tu: &[u8]) -> Option<Vec<u8>> {
    let seq = obus(tu).find(|o| o.obu_type == obu_type::SEQUENCE_HEADER)?;
    let info = parse_sequence_header(seq.payload)?;
    let bit = |b: bool, shift: u8| u8::from(b) << shift;
    let mut v = vec![
        0x81, // marker 1, version 1
        (info.seq_profile << 5) | (info.seq_level_idx_0 & 0x1F),
        (info.seq_tier_0 << 7)
            | bit(info.high_bitdepth, 6)
            | bit(info.twelve_bit, 5)
            | bit(info.monochrome, 4)
            | bit(info.subsampling_x, 3)
            | bit(info.subsampling_y, 2)
            | (info.chroma_sample_position & 3),
        0, // no initial_presentation_delay
    ];
    v.extend_from_slice(seq.raw);
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_delimiters_are_removed_and_sizes_kept() {
        // TD (type 2, has_size, size 0), then a padding OBU (type 15) of 2 bytes.
        let tu = [0x12, 0x00, 0x7A, 0x02, 0xAB, 0xCD];
        let mut out = Vec::new();
        strip_temporal_delimiters(&tu, &mut out);
        assert_eq!(out, [0x7A, 0x02, 0xAB, 0xCD]);
        // A truncated unit is copied as it is.
        let bad = [0x12, 0x05, 0x00];
        let mut out = Vec::new();
        strip_temporal_delimiters(&bad, &mut out);
        assert_eq!(out, bad);
    }

    #[test]
    fn leb128_reads_multi_byte_values() {
        assert_eq!(leb128(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(leb128(&[0x80; 9]), None);
    }
}
