//! Source description (RFC 3550 §6.5): chunks of an SSRC and items, each
//! chunk ended by a null octet and padded to a 32-bit boundary.

use super::error::{malformed, RtcpError};
use super::header::{be32, ensure, frame, packet_type, put32, write_header, Framing, HEADER_LEN};
use super::Ssrc;

/// SDES item types (RFC 3550 §6.5, RFC 7941 §4.3, RFC 8843 §15.3).
pub mod sdes_item {
    /// Ends the item list of a chunk.
    pub const END: u8 = 0;
    /// Canonical end-point identifier (RFC 3550 §6.5.1).
    pub const CNAME: u8 = 1;
    /// User name.
    pub const NAME: u8 = 2;
    /// E-mail address.
    pub const EMAIL: u8 = 3;
    /// Phone number.
    pub const PHONE: u8 = 4;
    /// Geographic location.
    pub const LOC: u8 = 5;
    /// Application or tool name.
    pub const TOOL: u8 = 6;
    /// Notice or status.
    pub const NOTE: u8 = 7;
    /// Private extensions.
    pub const PRIV: u8 = 8;
    /// RtpStreamId (RFC 7941).
    pub const RTP_STREAM_ID: u8 = 12;
    /// RepairedRtpStreamId (RFC 7941).
    pub const REPAIRED_RTP_STREAM_ID: u8 = 13;
    /// MID (RFC 8843).
    pub const MID: u8 = 15;
}

/// One SDES item: its type and its value (text, up to 255 octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The item type ([`sdes_item`]).
    pub kind: u8,
    /// The value, usually UTF-8 text.
    pub value: &'a [u8],
}

/// A chunk to write: an SSRC or CSRC and its items.
#[derive(Debug, Clone, Copy)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: Ssrc,
    /// Its items (may be empty: the chunk is then the SSRC and a null word).
    pub items: &'a [SdesItem<'a>],
}

/// Walks one chunk starting at `pos` of `p`; returns the offset after its
/// padding.
fn chunk_end(p: &[u8], pos: usize) -> Result<usize, RtcpError> {
    let bad = |r| malformed(packet_type::SDES, r);
    if p.len() < pos + 4 {
        return Err(bad("no room for the chunk's SSRC"));
    }
    let mut at = pos + 4;
    loop {
        let Some(&kind) = p.get(at) else {
            return Err(bad("chunk without a terminating null item"));
        };
        if kind == sdes_item::END {
            // The null octet, then padding up to the next 32-bit boundary.
            let end = (at + 1 + 3) & !3;
            if end > p.len() {
                return Err(bad("chunk padding runs past the packet"));
            }
            return Ok(end);
        }
        let Some(&len) = p.get(at + 1) else {
            return Err(bad("item without a length"));
        };
        at += 2 + usize::from(len);
        if at > p.len() {
            return Err(bad("item runs past the packet"));
        }
    }
}

/// A zero-copy view of an SDES packet.
#[derive(Debug, Clone, Copy)]
pub struct Sdes<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
}

impl<T: AsRef<[u8]>> Sdes<T> {
    /// Validates every chunk and item the SC field announces.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let f = frame(buffer.as_ref())?;
        if f.header.packet_type != packet_type::SDES {
            return Err(malformed(f.header.packet_type, "unexpected packet type"));
        }
        let p = &buffer.as_ref()[HEADER_LEN..f.payload_end];
        let mut pos = 0;
        for _ in 0..f.header.count {
            pos = chunk_end(p, pos)?;
        }
        Ok(Self { buffer, f })
    }
    /// The chunks, as many as the SC field says.
    pub fn chunks(&self) -> SdesChunks<'_> {
        SdesChunks {
            p: &self.buffer.as_ref()[HEADER_LEN..self.f.payload_end],
            pos: 0,
            left: self.f.header.count,
        }
    }
}

/// An iterator over the chunks of an SDES packet.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    p: &'a [u8],
    pos: usize,
    left: u8,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunkView<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Validated by new_checked; a failure here just ends iteration.
        let end = chunk_end(self.p, self.pos).ok()?;
        let view = SdesChunkView {
            ssrc: be32(self.p, self.pos),
            items: &self.p[self.pos + 4..end],
        };
        self.pos = end;
        Some(view)
    }
}

/// One received chunk.
#[derive(Debug, Clone, Copy)]
pub struct SdesChunkView<'a> {
    /// The source described.
    pub ssrc: Ssrc,
    items: &'a [u8],
}

impl<'a> SdesChunkView<'a> {
    /// The chunk's items, up to the null item.
    pub fn items(&self) -> impl Iterator<Item = SdesItem<'a>> + 'a {
        let mut rest = self.items;
        core::iter::from_fn(move || {
            let (&kind, tail) = rest.split_first()?;
            if kind == sdes_item::END {
                return None;
            }
            let (&len, tail) = tail.split_first()?;
            let value = tail.get(..usize::from(len))?;
            rest = &tail[usize::from(len)..];
            Some(SdesItem { kind, value })
        })
    }
    /// The first CNAME item, if any (RFC 3550 §6.5.1).
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == sdes_item::CNAME)
            .map(|i| i.value)
    }
}

/// RFC 3550 §6.5: writes an SDES packet into `out`; returns its length.
pub fn write_sdes(out: &mut [u8], chunks: &[SdesChunk<'_>]) -> Result<usize, RtcpError> {
    if chunks.len() > 31 {
        return Err(RtcpError::InvalidInput("more than 31 SDES chunks"));
    }
    let mut len = HEADER_LEN;
    for c in chunks {
        let mut items = 0;
        for i in c.items {
            if i.kind == sdes_item::END {
                return Err(RtcpError::InvalidInput("SDES item of type 0 (END)"));
            }
            if i.value.len() > 255 {
                return Err(RtcpError::InvalidInput("SDES item longer than 255 octets"));
            }
            items += 2 + i.value.len();
        }
        len += (4 + items + 1 + 3) & !3;
    }
    ensure(out, len)?;
    // Fits in 5 bits: checked above.
    write_header(out, false, chunks.len() as u8, packet_type::SDES, len)?;
    let mut at = HEADER_LEN;
    for c in chunks {
        let start = at;
        put32(out, at, c.ssrc);
        at += 4;
        for i in c.items {
            out[at] = i.kind;
            // Fits: checked above.
            out[at + 1] = i.value.len() as u8;
            out[at + 2..at + 2 + i.value.len()].copy_from_slice(i.value);
            at += 2 + i.value.len();
        }
        let end = start + ((at - start + 1 + 3) & !3);
        out[at..end].fill(0);
        at = end;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libwebrtc_skips_non_cname_items() {
        // libwebrtc sdes_unittest.cc ParseSkipsNonCNameField kValidPacket.
        let p = [
            0x81, 202, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78, 2, 3, b'a', b'b', b'c', 1, 2, b'd',
            b'e', 0, 0, 0,
        ];
        let s = Sdes::new_checked(&p[..]).unwrap();
        let chunks: Vec<_> = s.chunks().collect();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].ssrc, 0x12345678);
        assert_eq!(chunks[0].cname(), Some(&b"de"[..]));
        let items: Vec<_> = chunks[0].items().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            SdesItem {
                kind: sdes_item::NAME,
                value: b"abc"
            }
        );
    }

    #[test]
    fn libwebrtc_invalid_packets_are_rejected() {
        // libwebrtc sdes_unittest.cc ParseFailsWithoutChunkItemTerminator.
        let no_end = [
            0x81, 202, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 2, 3, b'a', b'b', b'c', 1, 1, b'd',
        ];
        assert!(Sdes::new_checked(&no_end[..]).is_err());
        // ParseFailsWithDamagedChunkItem.
        let damaged = [
            0x81, 202, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 2, 2, b'a', b'b', 1, 1, b'd', 3,
        ];
        assert!(Sdes::new_checked(&damaged[..]).is_err());
        // ParseFailsWithTooLongChunkItem.
        let too_long = [
            0x81, 202, 0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 2, 3, b'a', b'b', b'c', 1, 2, b'd',
        ];
        assert!(Sdes::new_checked(&too_long[..]).is_err());
        // ParseFailsWithTooLittleSpaceForNextChunk.
        let short = [
            0x82, 202, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78, 1, 1, b'a', 3, 2, b'd', b'e', 0, 0x23,
            0x45, 0x67, 0x89,
        ];
        assert!(Sdes::new_checked(&short[..]).is_err());
    }

    #[test]
    fn libwebrtc_two_chunks_second_has_cname() {
        // libwebrtc sdes_unittest.cc ParseSkipsChunksWithoutCName kPacket.
        let p = [
            0x82, 202, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78, 2, 3, b'a', b'b', 0, 3, 2, b'd', b'e',
            0, 0, 0, 0x23, 0x45, 0x67, 0x89, 1, 3, b'd', b'e', b'f', 0, 0, 0,
        ];
        let s = Sdes::new_checked(&p[..]).unwrap();
        let c: Vec<_> = s.chunks().collect();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].cname(), None);
        assert_eq!(c[1].ssrc, 0x23456789);
        assert_eq!(c[1].cname(), Some(&b"def"[..]));
    }

    #[test]
    fn write_pads_every_chunk_and_round_trips() {
        for n in 0..8 {
            let name = vec![b'x'; n];
            let items = [SdesItem {
                kind: sdes_item::CNAME,
                value: &name,
            }];
            let chunks = [
                SdesChunk {
                    ssrc: 7,
                    items: &items,
                },
                SdesChunk {
                    ssrc: 8,
                    items: &[],
                },
            ];
            let mut out = [0xffu8; 64];
            let len = write_sdes(&mut out, &chunks).unwrap();
            // Chunk 1: ssrc + 2 + n + at least one null, padded to 4.
            assert_eq!(len, 4 + ((4 + 2 + n + 1 + 3) & !3) + 8);
            let s = Sdes::new_checked(&out[..len]).unwrap();
            let got: Vec<_> = s
                .chunks()
                .map(|c| (c.ssrc, c.cname().map(<[u8]>::to_vec)))
                .collect();
            assert_eq!(got, vec![(7, Some(name.clone())), (8, None)]);
        }
        let long = [0u8; 256];
        let items = [SdesItem {
            kind: sdes_item::CNAME,
            value: &long,
        }];
        let mut out = [0u8; 512];
        assert!(write_sdes(
            &mut out,
            &[SdesChunk {
                ssrc: 1,
                items: &items
            }]
        )
        .is_err());
    }
}
