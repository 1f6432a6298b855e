//! H.264 and H.265 Annex B byte streams: NAL units separated by start codes
//! (ITU-T H.264 Annex B / H.265 Annex B), grouped into access units.

use std::io::{ErrorKind, Read, Write};

use crate::error::{MediaError, Result};
use crate::io::MAX_FRAME_SIZE;

/// The most NAL units one access unit may hold before the reader gives up.
pub const MAX_NALS_PER_ACCESS_UNIT: usize = 4096;
const READ_CHUNK: usize = 64 * 1024;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Which codec's NAL unit header and access unit rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// H.264 / AVC: 1-byte NAL unit header.
    H264,
    /// H.265 / HEVC: 2-byte NAL unit header.
    H265,
}

/// H.264 nal_unit_type values used here (H.264 Table 7-1).
pub mod h264_nal {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub const SEI: u8 = 6;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
}

/// H.265 nal_unit_type values used here (H.265 Table 7-1).
pub mod h265_nal {
    /// First IRAP type (BLA_W_LP).
    pub const IRAP_FIRST: u8 = 16;
    /// Last IRAP type (RSV_IRAP_VCL23).
    pub const IRAP_LAST: u8 = 23;
    /// Video parameter set.
    pub const VPS: u8 = 32;
    /// Sequence parameter set.
    pub const SPS: u8 = 33;
    /// Picture parameter set.
    pub const PPS: u8 = 34;
    /// Access unit delimiter.
    pub const AUD: u8 = 35;
    /// Prefix SEI.
    pub const PREFIX_SEI: u8 = 39;
}

impl VideoCodec {
    /// The nal_unit_type of a NAL unit (0 if it is too short to have a header).
    pub fn nal_type(self, nal: &[u8]) -> u8 {
        let b = nal.first().copied().unwrap_or(0);
        match self {
            Self::H264 => b & 0x1F,
            Self::H265 => (b >> 1) & 0x3F,
        }
    }

    /// Whether the NAL unit carries coded slice data (VCL).
    pub fn is_vcl(self, nal: &[u8]) -> bool {
        let t = self.nal_type(nal);
        match self {
            Self::H264 => (1..=5).contains(&t),
            Self::H265 => t < 32,
        }
    }

    /// Whether the NAL unit is a random access point: an IDR slice (H.264)
    /// or an IRAP slice (H.265 types 16..=23).
    pub fn is_keyframe_nal(self, nal: &[u8]) -> bool {
        let t = self.nal_type(nal);
        match self {
            Self::H264 => t == h264_nal::IDR,
            Self::H265 => (h265_nal::IRAP_FIRST..=h265_nal::IRAP_LAST).contains(&t),
        }
    }

    fn header_len(self) -> usize {
        match self {
            Self::H264 => 1,
            Self::H265 => 2,
        }
    }

    /// Whether a VCL NAL unit is the first slice of its picture: H.264
    /// `first_mb_in_slice == 0` (ue(v) 0 is the single bit 1), H.265
    /// `first_slice_segment_in_pic_flag`. Both are the first bit after the header.
    pub fn is_first_slice(self, nal: &[u8]) -> bool {
        nal.get(self.header_len()).is_some_and(|b| b & 0x80 != 0)
    }

    /// Whether this non-VCL NAL unit, following a VCL one, begins a new
    /// access unit (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4).
    fn starts_access_unit(self, nal: &[u8]) -> bool {
        let t = self.nal_type(nal);
        match self {
            Self::H264 => matches!(t, 6..=9 | 14..=18),
            Self::H265 => matches!(t, 32..=35 | 39 | 41..=44 | 48..=55),
        }
    }

    fn is_aud(self, nal: &[u8]) -> bool {
        let t = self.nal_type(nal);
        match self {
            Self::H264 => t == h264_nal::AUD,
            Self::H265 => t == h265_nal::AUD,
        }
    }
}

/// One access unit: the NAL units of one coded picture and what precedes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessUnit {
    /// The NAL units, each without its start code.
    pub nals: Vec<Vec<u8>>,
    /// Whether the picture is a random access point (IDR / IRAP).
    pub keyframe: bool,
}

impl AccessUnit {
    /// The access unit as an Annex B byte stream (4-byte start codes).
    pub fn to_annex_b(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.nals.iter().map(|n| n.len() + 4).sum());
        for n in &self.nals {
            v.extend_from_slice(&START_CODE);
            v.extend_from_slice(n);
        }
        v
    }
}

/// Splits an Annex B byte stream into NAL units and access units.
#[derive(Debug)]
pub struct AnnexBReader<R> {
    r: R,
    codec: VideoCodec,
    buf: Vec<u8>,
    /// Start of the current NAL unit's payload in `buf`, once a start code was seen.
    nal_start: Option<usize>,
    /// Where the start-code search resumes.
    scan: usize,
    eof: bool,
    /// A NAL unit read ahead that begins the next access unit.
    pending: Option<Vec<u8>>,
}

impl<R: Read> AnnexBReader<R> {
    /// A reader for `codec`'s NAL unit rules.
    pub fn new(r: R, codec: VideoCodec) -> Self {
        Self {
            r,
            codec,
            buf: Vec::new(),
            nal_start: None,
            scan: 0,
            eof: false,
            pending: None,
        }
    }

    /// The codec this reader applies.
    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// The next NAL unit (without start code or trailing zero bytes), or
    /// `None` at the end of the stream. Bytes before the first start code are skipped.
    pub fn next_nal(&mut self) -> Result<Option<Vec<u8>>> {
        if let Some(n) = self.pending.take() {
            return Ok(Some(n));
        }
        loop {
            match self.nal_start {
                None => {
                    if let Some((_, end)) = find_start_code(&self.buf, self.scan) {
                        self.nal_start = Some(end);
                        self.scan = end;
                        continue;
                    }
                    // Keep two bytes: they may be the start of a start code.
                    let keep = self.buf.len().min(2);
                    self.buf.drain(..self.buf.len() - keep);
                    self.scan = 0;
                }
                Some(start) => {
                    if let Some((sc, end)) = find_start_code(&self.buf, self.scan) {
                        let nal = trim_trailing_zeros(self.buf.get(start..sc).unwrap_or_default());
                        let nal = nal.to_vec();
                        // Consumed bytes are dropped in `fill`, once per read,
                        // not once per NAL unit.
                        self.nal_start = Some(end);
                        self.scan = end;
                        if nal.is_empty() {
                            continue;
                        }
                        return Ok(Some(nal));
                    }
                    if self.eof {
                        let nal =
                            trim_trailing_zeros(self.buf.get(start..).unwrap_or_default()).to_vec();
                        self.buf.clear();
                        self.nal_start = None;
                        self.scan = 0;
                        return Ok(if nal.is_empty() { None } else { Some(nal) });
                    }
                    // Resume two bytes back so a start code split across reads is found.
                    self.scan = self.buf.len().saturating_sub(2).max(start);
                    if self.buf.len() - start > MAX_FRAME_SIZE {
                        return Err(MediaError::TooLarge {
                            what: "Annex B NAL unit",
                            size: (self.buf.len() - start) as u64,
                            max: MAX_FRAME_SIZE as u64,
                        });
                    }
                }
            }
            if self.eof {
                if self.nal_start.is_none() {
                    return Ok(None);
                }
                continue;
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Result<()> {
        if let Some(start) = self.nal_start.filter(|&s| s > 0) {
            self.buf.drain(..start);
            self.scan = self.scan.saturating_sub(start);
            self.nal_start = Some(0);
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let n = loop {
            match self.r.read(self.buf.get_mut(old..).unwrap_or_default()) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e.into());
                }
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// The next access unit, or `None` at the end of the stream.
    pub fn next_access_unit(&mut self) -> Result<Option<AccessUnit>> {
        let codec = self.codec;
        let mut au = AccessUnit::default();
        let mut seen_vcl = false;
        let mut size = 0usize;
        while let Some(nal) = self.next_nal()? {
            let vcl = codec.is_vcl(&nal);
            let boundary = !au.nals.is_empty()
                && (codec.is_aud(&nal)
                    || (seen_vcl && vcl && codec.is_first_slice(&nal))
                    || (seen_vcl && !vcl && codec.starts_access_unit(&nal)));
            if boundary {
                self.pending = Some(nal);
                return Ok(Some(au));
            }
            size += nal.len();
            if size > MAX_FRAME_SIZE || au.nals.len() >= MAX_NALS_PER_ACCESS_UNIT {
                return Err(MediaError::TooLarge {
                    what: "Annex B access unit",
                    size: size as u64,
                    max: MAX_FRAME_SIZE as u64,
                });
            }
            if vcl {
                seen_vcl = true;
                au.keyframe |= codec.is_keyframe_nal(&nal);
            }
            au.nals.push(nal);
        }
        Ok(if au.nals.is_empty() { None } else { Some(au) })
    }
}

impl<R: Read> Iterator for AnnexBReader<R> {
    type Item = Result<AccessUnit>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_access_unit().transpose()
    }
}

/// Splits an in-memory Annex B buffer into its NAL units (without start
/// codes or trailing zero bytes); bytes before the first start code are skipped.
pub fn split_nal_units(data: &[u8]) -> NalUnits<'_> {
    let rest = find_start_code(data, 0).and_then(|(_, end)| data.get(end..));
    NalUnits { rest }
}

/// Iterator returned by [`split_nal_units`].
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = self.rest?;
            let (nal, next) = match find_start_code(rest, 0) {
                Some((sc, end)) => (rest.get(..sc).unwrap_or_default(), rest.get(end..)),
                None => (rest, None),
            };
            self.rest = next;
            let nal = trim_trailing_zeros(nal);
            if !nal.is_empty() {
                return Some(nal);
            }
        }
    }
}

/// Finds the first 3-byte start code 00 00 01 at or after `from`; returns
/// (its first byte, the byte after it).
fn find_start_code(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let hay = buf.get(from..)?;
    hay.windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|i| (from + i, from + i + 3))
}

/// Drops trailing zero bytes: the leading zero of a 4-byte start code and
/// trailing_zero_8bits belong to the stream, not the NAL unit (a NAL unit
/// never ends in 0x00, H.264 §7.4.1).
fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    nal.get(..end).unwrap_or_default()
}

/// Writes NAL units as an Annex B byte stream with 4-byte start codes.
#[derive(Debug)]
pub struct AnnexBWriter<W> {
    w: W,
}

impl<W: Write> AnnexBWriter<W> {
    /// A writer over `w`.
    pub fn new(w: W) -> Self {
        Self { w }
    }

    /// Writes one NAL unit (which must already carry its emulation prevention bytes).
    pub fn write_nal(&mut self, nal: &[u8]) -> Result<()> {
        if nal.is_empty() {
            return Err(MediaError::Invalid {
                what: "empty NAL unit",
            });
        }
        self.w.write_all(&START_CODE)?;
        self.w.write_all(nal)?;
        Ok(())
    }

    /// Writes every NAL unit of an access unit.
    pub fn write_access_unit(&mut self, au: &AccessUnit) -> Result<()> {
        au.nals.iter().try_for_each(|n| self.write_nal(n))
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8], codec: VideoCodec) -> Vec<AccessUnit> {
        AnnexBReader::new(bytes, codec)
            .map(|a| a.unwrap())
            .collect()
    }

    #[test]
    fn h264_groups_parameter_sets_with_the_idr_and_splits_on_first_mb() {
        let sps = vec![0x67, 0x42, 0xC0, 0x1E];
        let pps = vec![0x68, 0xCE, 0x3C, 0x80];
        let idr_a = vec![0x65, 0x88, 0x84];
        let idr_b = vec![0x65, 0x40, 0x11]; // first_mb_in_slice != 0: same picture
        let p = vec![0x41, 0x9A, 0x02];
        let mut s = vec![0, 0, 0, 1];
        s.extend_from_slice(&sps);
        s.extend_from_slice(&[0, 0, 1]);
        s.extend_from_slice(&pps);
        for n in [&idr_a, &idr_b, &p] {
            s.extend_from_slice(&[0, 0, 0, 1]);
            s.extend_from_slice(n);
        }
        s.extend_from_slice(&[0, 0]); // trailing_zero_8bits
        let aus = read_all(&s, VideoCodec::H264);
        assert_eq!(aus.len(), 2);
        assert_eq!(aus[0].nals, vec![sps, pps, idr_a, idr_b]);
        assert!(aus[0].keyframe);
        assert_eq!(aus[1].nals, vec![p]);
        assert!(!aus[1].keyframe);
    }

    #[test]
    fn h265_splits_on_first_slice_segment_flag() {
        let vps = vec![0x40, 0x01, 0x0C];
        let idr = vec![0x26, 0x01, 0xAF]; // IDR_W_RADL, first slice
        let trail = vec![0x02, 0x01, 0xD0]; // TRAIL_R, first slice
        let trail2 = vec![0x02, 0x01, 0x50]; // same picture, second slice
        let mut s = Vec::new();
        for n in [&vps, &idr, &trail, &trail2] {
            s.extend_from_slice(&[0, 0, 0, 1]);
            s.extend_from_slice(n);
        }
        let aus = read_all(&s, VideoCodec::H265);
        assert_eq!(aus.len(), 2);
        assert!(aus[0].keyframe);
        assert_eq!(aus[0].nals, vec![vps, idr]);
        assert_eq!(aus[1].nals, vec![trail, trail2]);
    }

    #[test]
    fn start_codes_split_across_reads_are_found() {
        // A reader that hands out one byte at a time.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                match (self.0.split_first(), out.first_mut()) {
                    (Some((b, rest)), Some(o)) => {
                        *o = *b;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let s = [
            0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x41, 0x9A,
        ];
        let mut r = AnnexBReader::new(Trickle(&s), VideoCodec::H264);
        let mut nals = Vec::new();
        while let Some(n) = r.next_nal().unwrap() {
            nals.push(n);
        }
        assert_eq!(
            nals,
            vec![
                vec![0x09, 0xF0],
                vec![0x65, 0x88],
                vec![0x09, 0xF0],
                vec![0x41, 0x9A]
            ]
        );
        let aus = read_all(&s, VideoCodec::H264);
        assert_eq!(aus.len(), 2);
        assert!(aus[0].keyframe && !aus[1].keyframe);
        let split: Vec<Vec<u8>> = split_nal_units(&s).map(<[u8]>::to_vec).collect();
        assert_eq!(split, nals);
    }
}
