//! IVF, the simple container libvpx and libaom write for VP8, VP9 and AV1.
//!
//! Layout (little-endian), as written by libvpx's `ivfenc` and FFmpeg:
//! a 32-byte file header (`DKIF`, version 0, header length, FourCC, width,
//! height, time base rate and scale, frame count, unused), then per frame a
//! 12-byte header (frame size in bytes, 64-bit presentation timestamp in time
//! base units) followed by the frame.

use std::io::{Read, Seek, SeekFrom, Write};

use crate::error::{MediaError, Result};
use crate::io::{read_append, read_exact, read_exact_or_eof, MAX_FRAME_SIZE};

/// Length of the IVF file header.
pub const IVF_HEADER_LEN: usize = 32;
/// Length of an IVF frame header.
pub const IVF_FRAME_HEADER_LEN: usize = 12;

const SIGNATURE: &[u8; 4] = b"DKIF";
const OFF_VERSION: usize = 4;
const OFF_HEADER_LEN: usize = 6;
const OFF_FOURCC: usize = 8;
const OFF_WIDTH: usize = 12;
const OFF_HEIGHT: usize = 14;
const OFF_RATE: usize = 16;
const OFF_SCALE: usize = 20;
const OFF_FRAME_COUNT: usize = 24;
/// The largest header length we skip over; real files use 32.
const MAX_HEADER_LEN: usize = 4096;

/// A four-character code naming the codec of an IVF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourCc(pub [u8; 4]);

impl FourCc {
    /// VP8.
    pub const VP8: FourCc = FourCc(*b"VP80");
    /// VP9.
    pub const VP9: FourCc = FourCc(*b"VP90");
    /// AV1.
    pub const AV1: FourCc = FourCc(*b"AV01");
}

/// The IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    /// The codec.
    pub fourcc: FourCc,
    /// Frame width in pixels.
    pub width: u16,
    /// Frame height in pixels.
    pub height: u16,
    /// Time base denominator: timestamps count units of `scale / rate` seconds.
    pub timebase_rate: u32,
    /// Time base numerator.
    pub timebase_scale: u32,
    /// Number of frames, as the header claims (writers that could not seek leave it 0).
    pub frame_count: u32,
}

impl IvfHeader {
    /// Parses the 32-byte header.
    pub fn parse(b: &[u8; IVF_HEADER_LEN]) -> Result<Self> {
        if &b[..4] != SIGNATURE {
            return Err(MediaError::BadMagic {
                what: "an IVF file",
            });
        }
        if le16(b, OFF_VERSION) != 0 {
            return Err(MediaError::Unsupported {
                what: "IVF version other than 0",
            });
        }
        Ok(Self {
            fourcc: FourCc([b[8], b[9], b[10], b[11]]),
            width: le16(b, OFF_WIDTH),
            height: le16(b, OFF_HEIGHT),
            timebase_rate: le32(b, OFF_RATE),
            timebase_scale: le32(b, OFF_SCALE),
            frame_count: le32(b, OFF_FRAME_COUNT),
        })
    }

    /// Writes the 32-byte header.
    pub fn emit(&self) -> [u8; IVF_HEADER_LEN] {
        let mut b = [0u8; IVF_HEADER_LEN];
        b[..4].copy_from_slice(SIGNATURE);
        b[OFF_HEADER_LEN..OFF_HEADER_LEN + 2]
            .copy_from_slice(&(IVF_HEADER_LEN as u16).to_le_bytes());
        b[OFF_FOURCC..OFF_FOURCC + 4].copy_from_slice(&self.fourcc.0);
        b[OFF_WIDTH..OFF_WIDTH + 2].copy_from_slice(&self.width.to_le_bytes());
        b[OFF_HEIGHT..OFF_HEIGHT + 2].copy_from_slice(&self.height.to_le_bytes());
        b[OFF_RATE..OFF_RATE + 4].copy_from_slice(&self.timebase_rate.to_le_bytes());
        b[OFF_SCALE..OFF_SCALE + 4].copy_from_slice(&self.timebase_scale.to_le_bytes());
        b[OFF_FRAME_COUNT..OFF_FRAME_COUNT + 4].copy_from_slice(&self.frame_count.to_le_bytes());
        b
    }
}

fn le16(b: &[u8; IVF_HEADER_LEN], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn le32(b: &[u8; IVF_HEADER_LEN], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// One IVF frame: a compressed VP8/VP9 frame or AV1 temporal unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// Presentation timestamp in the header's time base.
    pub pts: u64,
    /// The frame's bytes.
    pub data: Vec<u8>,
}

/// Reads an IVF file frame by frame.
#[derive(Debug)]
pub struct IvfReader<R> {
    r: R,
    header: IvfHeader,
}

impl<R: Read> IvfReader<R> {
    /// Reads and checks the file header.
    pub fn new(mut r: R) -> Result<Self> {
        let mut b = [0u8; IVF_HEADER_LEN];
        read_exact(&mut r, &mut b, "the IVF file header")?;
        let header = IvfHeader::parse(&b)?;
        let header_len = usize::from(u16::from_le_bytes([
            b[OFF_HEADER_LEN],
            b[OFF_HEADER_LEN + 1],
        ]));
        if header_len > IVF_HEADER_LEN {
            // A longer header (none seen in practice) is skipped, bounded by its u16 field.
            let mut skip = Vec::new();
            read_append(
                &mut r,
                header_len.min(MAX_HEADER_LEN) - IVF_HEADER_LEN,
                &mut skip,
                "the IVF file header",
            )?;
        }
        Ok(Self { r, header })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// Reads the next frame, or `None` at a clean end of file.
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame>> {
        let mut data = Vec::new();
        Ok(self
            .read_frame_into(&mut data)?
            .map(|pts| IvfFrame { pts, data }))
    }

    /// Reads the next frame into `data` (cleared first, so its capacity is
    /// reused) and returns its timestamp, or `None` at a clean end of file.
    pub fn read_frame_into(&mut self, data: &mut Vec<u8>) -> Result<Option<u64>> {
        let mut h = [0u8; IVF_FRAME_HEADER_LEN];
        if !read_exact_or_eof(&mut self.r, &mut h, "an IVF frame header")? {
            return Ok(None);
        }
        let size = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let mut pts = [0u8; 8];
        pts.copy_from_slice(&h[4..12]);
        if size > MAX_FRAME_SIZE {
            return Err(MediaError::TooLarge {
                what: "IVF frame",
                size: size as u64,
                max: MAX_FRAME_SIZE as u64,
            });
        }
        data.clear();
        read_append(&mut self.r, size, data, "an IVF frame")?;
        Ok(Some(u64::from_le_bytes(pts)))
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.r
    }
}

impl<R: Read> Iterator for IvfReader<R> {
    type Item = Result<IvfFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

/// Writes an IVF file.
#[derive(Debug)]
pub struct IvfWriter<W> {
    w: W,
    header: IvfHeader,
    frames: u32,
    /// Bytes written since the start of the header, to find it again when finishing.
    bytes: u64,
}

impl<W: Write> IvfWriter<W> {
    /// Writes `header` (its `frame_count` as given; see [`IvfWriter::finish_seekable`]).
    pub fn new(mut w: W, header: IvfHeader) -> Result<Self> {
        w.write_all(&header.emit())?;
        Ok(Self {
            w,
            header,
            frames: 0,
            bytes: IVF_HEADER_LEN as u64,
        })
    }

    /// Writes one frame with its timestamp in the header's time base.
    pub fn write_frame(&mut self, pts: u64, data: &[u8]) -> Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| MediaError::TooLarge {
            what: "IVF frame",
            size: data.len() as u64,
            max: u64::from(u32::MAX),
        })?;
        let mut h = [0u8; IVF_FRAME_HEADER_LEN];
        h[..4].copy_from_slice(&size.to_le_bytes());
        h[4..].copy_from_slice(&pts.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        self.frames = self.frames.saturating_add(1);
        self.bytes += (IVF_FRAME_HEADER_LEN + data.len()) as u64;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u32 {
        self.frames
    }

    /// Flushes and returns the writer; the header's frame count stays as given.
    pub fn finish(mut self) -> Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Rewrites the header's frame count with the number of frames written,
    /// then flushes and returns the writer positioned at the end.
    pub fn finish_seekable(mut self) -> Result<W> {
        let end = self.w.stream_position()?;
        let start = end.checked_sub(self.bytes).ok_or(MediaError::Invalid {
            what: "IVF writer's output was moved before finishing",
        })?;
        self.header.frame_count = self.frames;
        self.w
            .seek(SeekFrom::Start(start + OFF_FRAME_COUNT as u64))?;
        self.w.write_all(&self.frames.to_le_bytes())?;
        self.w.seek(SeekFrom::Start(end))?;
        self.w.flush()?;
        Ok(self.w)
    }
}
