//! Ogg pages (RFC 3533 §6): capture pattern, header, lacing table, body, CRC.

use std::io::Read;

use crate::error::{MediaError, Result};
use crate::io::{read_append, read_exact, read_exact_or_eof};

/// Length of the fixed part of a page header, before the lacing table.
pub const PAGE_HEADER_LEN: usize = 27;
/// The most lacing values (segments) one page holds.
pub const MAX_SEGMENTS: usize = 255;

const CAPTURE: &[u8; 4] = b"OggS";
const OFF_VERSION: usize = 4;
const OFF_TYPE: usize = 5;
const OFF_GRANULE: usize = 6;
const OFF_SERIAL: usize = 14;
const OFF_SEQUENCE: usize = 18;
const OFF_CRC: usize = 22;
const OFF_SEGMENTS: usize = 26;

/// RFC 3533 §6 header_type_flag: this page continues a packet from the previous page.
pub const FLAG_CONTINUED: u8 = 0x01;
/// RFC 3533 §6 header_type_flag: first page of a logical bitstream.
pub const FLAG_BOS: u8 = 0x02;
/// RFC 3533 §6 header_type_flag: last page of a logical bitstream.
pub const FLAG_EOS: u8 = 0x04;

/// The granule position of a page on which no packet ends (RFC 3533 §6).
pub const NO_GRANULE: u64 = u64::MAX;

/// CRC-32 of RFC 3533 §6: polynomial 0x04c11db7, initial value 0, no
/// reflection, no final XOR (not the zlib CRC). Four tables let the loop
/// take four bytes a step ("slicing by 4"): table k is the CRC of a byte
/// followed by k zero bytes.
static CRC_TABLES: [[u32; 256]; 4] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 4] {
    let mut t = [[0u32; 256]; 4];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut b = 0;
        while b < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            b += 1;
        }
        t[0][i] = r;
        i += 1;
    }
    let mut k = 1;
    while k < 4 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 24) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Continues the Ogg CRC over `data`.
pub fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    let [t0, t1, t2, t3] = &CRC_TABLES;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let x = crc ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        crc = t3[(x >> 24) as usize]
            ^ t2[((x >> 16) & 0xFF) as usize]
            ^ t1[((x >> 8) & 0xFF) as usize]
            ^ t0[(x & 0xFF) as usize];
    }
    for &b in words.remainder() {
        crc = (crc << 8) ^ t0[((crc >> 24) as u8 ^ b) as usize];
    }
    crc
}

/// One Ogg page, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OggPage {
    /// header_type_flag bits ([`FLAG_CONTINUED`], [`FLAG_BOS`], [`FLAG_EOS`]).
    pub flags: u8,
    /// Codec-defined position of the last packet ending on this page, or [`NO_GRANULE`].
    pub granule_position: u64,
    /// Logical bitstream serial number.
    pub serial: u32,
    /// Page sequence number within the logical bitstream.
    pub sequence: u32,
    /// Lacing values: a packet is a run of 255s ended by a value below 255.
    pub segments: Vec<u8>,
    /// The page body (sum of the lacing values).
    pub body: Vec<u8>,
}

impl OggPage {
    /// Reads one page, checking its capture pattern, version and CRC. Returns
    /// `None` at a clean end of input.
    pub fn read<R: Read>(r: &mut R) -> Result<Option<Self>> {
        let mut h = [0u8; PAGE_HEADER_LEN];
        if !read_exact_or_eof(r, &mut h, "an Ogg page header")? {
            return Ok(None);
        }
        if &h[..4] != CAPTURE {
            return Err(MediaError::BadMagic {
                what: "an Ogg page",
            });
        }
        if h[OFF_VERSION] != 0 {
            return Err(MediaError::Unsupported {
                what: "Ogg stream structure version other than 0",
            });
        }
        let mut segments = vec![0u8; usize::from(h[OFF_SEGMENTS])];
        read_exact(r, &mut segments, "an Ogg lacing table")?;
        let body_len: usize = segments.iter().map(|&s| usize::from(s)).sum();
        let mut body = Vec::new();
        // At most 255 * 255 bytes: bounded by the format.
        read_append(r, body_len, &mut body, "an Ogg page body")?;

        let stored =
            u32::from_le_bytes([h[OFF_CRC], h[OFF_CRC + 1], h[OFF_CRC + 2], h[OFF_CRC + 3]]);
        h[OFF_CRC..OFF_CRC + 4].fill(0);
        let computed = crc_update(crc_update(crc_update(0, &h), &segments), &body);
        if stored != computed {
            return Err(MediaError::BadCrc { stored, computed });
        }
        let mut g = [0u8; 8];
        g.copy_from_slice(&h[OFF_GRANULE..OFF_GRANULE + 8]);
        Ok(Some(Self {
            flags: h[OFF_TYPE],
            granule_position: u64::from_le_bytes(g),
            serial: u32::from_le_bytes([h[14], h[15], h[16], h[17]]),
            sequence: u32::from_le_bytes([h[18], h[19], h[20], h[21]]),
            segments,
            body,
        }))
    }

    /// Serialises the page with its CRC into `out` (appended).
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<()> {
        let nseg = u8::try_from(self.segments.len()).map_err(|_| MediaError::TooLarge {
            what: "Ogg lacing table",
            size: self.segments.len() as u64,
            max: MAX_SEGMENTS as u64,
        })?;
        let body_len: usize = self.segments.iter().map(|&s| usize::from(s)).sum();
        if body_len != self.body.len() {
            return Err(MediaError::Invalid {
                what: "Ogg page body length differs from its lacing values",
            });
        }
        let start = out.len();
        let mut h = [0u8; PAGE_HEADER_LEN];
        h[..4].copy_from_slice(CAPTURE);
        h[OFF_TYPE] = self.flags;
        h[OFF_GRANULE..OFF_GRANULE + 8].copy_from_slice(&self.granule_position.to_le_bytes());
        h[OFF_SERIAL..OFF_SERIAL + 4].copy_from_slice(&self.serial.to_le_bytes());
        h[OFF_SEQUENCE..OFF_SEQUENCE + 4].copy_from_slice(&self.sequence.to_le_bytes());
        h[OFF_SEGMENTS] = nseg;
        out.extend_from_slice(&h);
        out.extend_from_slice(&self.segments);
        out.extend_from_slice(&self.body);
        let crc = crc_update(0, out.get(start..).unwrap_or_default());
        if let Some(c) = out.get_mut(start + OFF_CRC..start + OFF_CRC + 4) {
            c.copy_from_slice(&crc.to_le_bytes());
        }
        Ok(())
    }

    /// Whether this page continues a packet begun on an earlier page.
    pub fn is_continued(&self) -> bool {
        self.flags & FLAG_CONTINUED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_a_known_check_value() {
        // The catalogue CRC-32/CKSUM (POSIX cksum: same polynomial, initial 0,
        // no reflection) has check value 0x765e7680 over "123456789" and
        // differs from Ogg's only by its final XOR with 0xffffffff, so Ogg's
        // check value is !0x765e7680 = 0x89a1897f. Also cross-checked against
        // a bitwise loop of the definition.
        let data = b"123456789";
        let mut crc = 0u32;
        for &b in data {
            crc ^= u32::from(b) << 24;
            for _ in 0..8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04c1_1db7
                } else {
                    crc << 1
                };
            }
        }
        assert_eq!(crc_update(0, data), crc);
        assert_eq!(crc, 0x89a1_897f);
        // The four-byte steps agree with the bytewise definition at every
        // length and split point.
        let long: Vec<u8> = (0..103u32).map(|i| (i * 7 + 3) as u8).collect();
        let bitwise = |d: &[u8]| {
            let mut c = 0u32;
            for &b in d {
                c ^= u32::from(b) << 24;
                for _ in 0..8 {
                    c = if c & 0x8000_0000 != 0 {
                        (c << 1) ^ 0x04c1_1db7
                    } else {
                        c << 1
                    };
                }
            }
            c
        };
        for n in 0..long.len() {
            let (a, b) = long.split_at(n);
            assert_eq!(crc_update(crc_update(0, a), b), bitwise(&long));
            assert_eq!(crc_update(0, a), bitwise(a));
        }
    }

    #[test]
    fn page_round_trips_and_crc_is_checked() {
        let page = OggPage {
            flags: FLAG_BOS,
            granule_position: 0,
            serial: 0x1234_5678,
            sequence: 0,
            segments: vec![255, 10],
            body: (0..265u32).map(|i| i as u8).collect(),
        };
        let mut out = Vec::new();
        page.emit(&mut out).unwrap();
        let back = OggPage::read(&mut out.as_slice()).unwrap().unwrap();
        assert_eq!(back, page);
        let last = out.len() - 1;
        out[last] ^= 1;
        assert!(matches!(
            OggPage::read(&mut out.as_slice()),
            Err(MediaError::BadCrc { .. })
        ));
    }
}
