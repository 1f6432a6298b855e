//! Ogg Opus (RFC 7845): identification and comment headers, packet timing
//! from the TOC byte (RFC 6716 §3.1), and a packet reader and writer over
//! Ogg pages.

use std::collections::VecDeque;
use std::io::{Read, Write};

use super::page::{OggPage, FLAG_BOS, FLAG_CONTINUED, FLAG_EOS, MAX_SEGMENTS, NO_GRANULE};
use crate::error::{MediaError, Result};
use crate::io::MAX_FRAME_SIZE;

/// Opus granule positions always count 48 kHz samples (RFC 7845 §4).
pub const OPUS_GRANULE_RATE: u32 = 48_000;

const HEAD_MAGIC: &[u8; 8] = b"OpusHead";
const TAGS_MAGIC: &[u8; 8] = b"OpusTags";
const HEAD_LEN: usize = 19;

/// RFC 7845 §5.1: the identification header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusHead {
    /// Version; the upper four bits (major version) must be 0.
    pub version: u8,
    /// Output channel count (1..=255).
    pub channels: u8,
    /// Samples at 48 kHz to discard from the decoder output at the start.
    pub pre_skip: u16,
    /// Sample rate of the original input (informational; 0 if unknown).
    pub input_sample_rate: u32,
    /// Output gain in Q7.8 dB.
    pub output_gain: i16,
    /// Channel mapping family (0: mono/stereo, 1: Vorbis order, 255: undefined).
    pub mapping_family: u8,
    /// For families other than 0: the number of Opus streams in each packet.
    pub stream_count: u8,
    /// For families other than 0: how many of those streams are coupled (stereo).
    pub coupled_count: u8,
    /// For families other than 0: one stream index per output channel.
    pub channel_mapping: Vec<u8>,
}

impl OpusHead {
    /// A family-0 header for `channels` (1 or 2) channels with `pre_skip` samples.
    pub fn new(channels: u8, pre_skip: u16) -> Self {
        Self {
            version: 1,
            channels,
            pre_skip,
            input_sample_rate: OPUS_GRANULE_RATE,
            output_gain: 0,
            mapping_family: 0,
            stream_count: 1,
            coupled_count: u8::from(channels > 1),
            channel_mapping: Vec::new(),
        }
    }

    /// Parses an `OpusHead` packet (RFC 7845 §5.1).
    pub fn parse(p: &[u8]) -> Result<Self> {
        if p.len() < HEAD_LEN {
            return Err(MediaError::Truncated { what: "OpusHead" });
        }
        if &p[..8] != HEAD_MAGIC {
            return Err(MediaError::BadMagic {
                what: "an OpusHead packet",
            });
        }
        let version = p[8];
        if version & 0xF0 != 0 {
            return Err(MediaError::Unsupported {
                what: "OpusHead major version other than 0",
            });
        }
        let channels = p[9];
        if channels == 0 {
            return Err(MediaError::Invalid {
                what: "OpusHead with 0 channels",
            });
        }
        let mapping_family = p[18];
        let (stream_count, coupled_count, channel_mapping) = if mapping_family == 0 {
            if channels > 2 {
                return Err(MediaError::Invalid {
                    what: "OpusHead mapping family 0 with more than 2 channels",
                });
            }
            (1, u8::from(channels > 1), Vec::new())
        } else {
            let table = p
                .get(HEAD_LEN + 2..HEAD_LEN + 2 + usize::from(channels))
                .ok_or(MediaError::Truncated {
                    what: "OpusHead channel mapping table",
                })?;
            let (s, c) = (p[19], p[20]);
            if s == 0 || c > s {
                return Err(MediaError::Invalid {
                    what: "OpusHead stream counts",
                });
            }
            (s, c, table.to_vec())
        };
        Ok(Self {
            version,
            channels,
            pre_skip: u16::from_le_bytes([p[10], p[11]]),
            input_sample_rate: u32::from_le_bytes([p[12], p[13], p[14], p[15]]),
            output_gain: i16::from_le_bytes([p[16], p[17]]),
            mapping_family,
            stream_count,
            coupled_count,
            channel_mapping,
        })
    }

    /// Serialises the header; this is also Matroska's `CodecPrivate` for `A_OPUS`.
    pub fn emit(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEAD_LEN + 2 + self.channel_mapping.len());
        v.extend_from_slice(HEAD_MAGIC);
        v.push(self.version);
        v.push(self.channels);
        v.extend_from_slice(&self.pre_skip.to_le_bytes());
        v.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        v.extend_from_slice(&self.output_gain.to_le_bytes());
        v.push(self.mapping_family);
        if self.mapping_family != 0 {
            v.push(self.stream_count);
            v.push(self.coupled_count);
            v.extend_from_slice(&self.channel_mapping);
        }
        v
    }
}

/// RFC 7845 §5.2: the comment header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpusTags {
    /// The encoder's vendor string.
    pub vendor: String,
    /// User comments, each `NAME=value`.
    pub comments: Vec<String>,
}

impl OpusTags {
    /// Parses an `OpusTags` packet (RFC 7845 §5.2). Strings that are not
    /// UTF-8 are kept with replacement characters.
    pub fn parse(p: &[u8]) -> Result<Self> {
        if p.get(..8) != Some(TAGS_MAGIC.as_slice()) {
            return Err(MediaError::BadMagic {
                what: "an OpusTags packet",
            });
        }
        let mut rest = p.get(8..).unwrap_or_default();
        let vendor = take_string(&mut rest)?;
        let count = take_u32(&mut rest)?;
        let mut comments = Vec::new();
        for _ in 0..count {
            // Each comment consumes at least 4 bytes, so this loop and the
            // vector are bounded by the packet's length, not by `count`.
            comments.push(take_string(&mut rest)?);
        }
        Ok(Self { vendor, comments })
    }

    /// Serialises the header.
    pub fn emit(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(TAGS_MAGIC);
        put_string(&mut v, &self.vendor);
        v.extend_from_slice(&(self.comments.len() as u32).to_le_bytes());
        for c in &self.comments {
            put_string(&mut v, c);
        }
        v
    }
}

fn take_u32(rest: &mut &[u8]) -> Result<u32> {
    let b = rest
        .get(..4)
        .ok_or(MediaError::Truncated { what: "OpusTags" })?;
    let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    *rest = rest.get(4..).unwrap_or_default();
    Ok(v)
}

fn take_string(rest: &mut &[u8]) -> Result<String> {
    let len = take_u32(rest)? as usize;
    let s = rest.get(..len).ok_or(MediaError::Truncated {
        what: "OpusTags string",
    })?;
    *rest = rest.get(len..).unwrap_or_default();
    Ok(String::from_utf8_lossy(s).into_owned())
}

fn put_string(v: &mut Vec<u8>, s: &str) {
    v.extend_from_slice(&(s.len() as u32).to_le_bytes());
    v.extend_from_slice(s.as_bytes());
}

/// RFC 6716 §3.1: the duration of an Opus packet in 48 kHz samples, from its
/// TOC byte (frame size from the configuration, frame count from the code).
pub fn opus_packet_duration(packet: &[u8]) -> Result<u32> {
    let toc = *packet.first().ok_or(MediaError::Invalid {
        what: "empty Opus packet",
    })?;
    let config = toc >> 3;
    // Frame sizes in 48 kHz samples: SILK 10/20/40/60 ms, Hybrid 10/20 ms,
    // CELT 2.5/5/10/20 ms (RFC 6716 Table 2).
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config & 3)],
        12..=15 => [480, 960][usize::from(config & 1)],
        _ => [120, 240, 480, 960][usize::from(config & 3)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => {
            let c = *packet.get(1).ok_or(MediaError::Truncated {
                what: "Opus code 3 frame count byte",
            })?;
            u32::from(c & 0x3F)
        }
    };
    let total = frame * frames;
    // RFC 6716 §3.2.5: a packet never holds more than 120 ms, nor 0 frames.
    if frames == 0 || total > 5760 {
        return Err(MediaError::Invalid {
            what: "Opus packet frame count",
        });
    }
    Ok(total)
}

/// One Opus packet read from an Ogg stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    /// The packet's bytes.
    pub data: Vec<u8>,
    /// RFC 7845 §4: the 48 kHz sample position at the end of this packet
    /// (pre-skip included; subtract [`OpusHead::pre_skip`] for output time).
    /// On a trimmed last page (§4.4) it is less than `start_granule + duration`.
    pub granule_position: u64,
    /// The 48 kHz sample position where this packet starts (pre-skip included).
    pub start_granule: u64,
    /// The packet's duration in 48 kHz samples (RFC 6716 §3.1).
    pub duration: u32,
}

/// Reads the first Ogg Opus logical stream of a file packet by packet; pages
/// of other streams are skipped.
#[derive(Debug)]
pub struct OggOpusReader<R> {
    r: R,
    serial: u32,
    head: OpusHead,
    tags: OpusTags,
    partial: Vec<u8>,
    /// Packets finished on the last page read, in order.
    queue: VecDeque<OpusPacket>,
    /// End granule of the last packet handed out, for pages with no granule.
    granule: u64,
    eos: bool,
}

impl<R: Read> OggOpusReader<R> {
    /// Reads pages up to and including the headers: `OpusHead` on a
    /// beginning-of-stream page, then `OpusTags` (RFC 7845 §3).
    pub fn new(mut r: R) -> Result<Self> {
        let (serial, head) = loop {
            let page = OggPage::read(&mut r)?.ok_or(MediaError::Truncated {
                what: "an Ogg stream before its OpusHead",
            })?;
            if page.flags & FLAG_BOS == 0 {
                return Err(MediaError::Invalid {
                    what: "Ogg stream has no Opus beginning-of-stream page",
                });
            }
            if page.body.starts_with(HEAD_MAGIC) {
                let len = page.segments.first().map_or(0, |&s| usize::from(s));
                if page.segments.len() != 1 || len == 255 {
                    return Err(MediaError::Invalid {
                        what: "OpusHead must be alone on its page",
                    });
                }
                break (page.serial, OpusHead::parse(&page.body)?);
            }
        };
        let mut reader = Self {
            r,
            serial,
            head,
            tags: OpusTags::default(),
            partial: Vec::new(),
            queue: VecDeque::new(),
            granule: 0,
            eos: false,
        };
        let tags = reader.next_raw()?.ok_or(MediaError::Truncated {
            what: "an Ogg Opus stream before OpusTags",
        })?;
        reader.tags = OpusTags::parse(&tags)?;
        Ok(reader)
    }

    /// The identification header.
    pub fn head(&self) -> &OpusHead {
        &self.head
    }

    /// The comment header.
    pub fn tags(&self) -> &OpusTags {
        &self.tags
    }

    /// The stream's serial number.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The next audio packet, or `None` at the end of the stream.
    pub fn next_packet(&mut self) -> Result<Option<OpusPacket>> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                self.granule = p.granule_position;
                return Ok(Some(p));
            }
            if !self.read_page()? {
                return Ok(None);
            }
        }
    }

    /// The next packet's bytes regardless of timing (used for OpusTags).
    fn next_raw(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Ok(Some(p.data));
            }
            if !self.read_page_raw()?.0 {
                return Ok(None);
            }
        }
    }

    /// Reads one page of our stream and queues its finished packets with
    /// their granule positions. Returns false at the end.
    fn read_page(&mut self) -> Result<bool> {
        let was_eos = self.eos;
        let (more, granule) = self.read_page_raw()?;
        if !more {
            return Ok(false);
        }
        let page_eos = self.eos && !was_eos;
        let mut durations = Vec::with_capacity(self.queue.len());
        for p in &self.queue {
            match opus_packet_duration(&p.data) {
                Ok(d) => durations.push(d),
                Err(e) => {
                    self.queue.clear();
                    return Err(e);
                }
            }
        }
        // RFC 7845 §4: the page's granule position is the end of its last
        // finished packet; earlier packets end where the next one starts. On
        // the last page it may be smaller, trimming the end (§4.4): there the
        // packets are timed forward from the previous page instead.
        if granule == NO_GRANULE || page_eos {
            let mut start = self.granule;
            for (p, &d) in self.queue.iter_mut().zip(&durations) {
                p.start_granule = start;
                p.duration = d;
                start = start.saturating_add(u64::from(d));
                p.granule_position = if granule == NO_GRANULE {
                    start
                } else {
                    start.min(granule)
                };
            }
        } else {
            let mut end = granule;
            for (p, &d) in self.queue.iter_mut().zip(&durations).rev() {
                p.granule_position = end;
                p.duration = d;
                end = end.saturating_sub(u64::from(d));
                p.start_granule = end;
            }
        }
        Ok(true)
    }

    /// Reads pages until one of our stream; splits its packets into the
    /// queue (with zero timing). Returns (false, _) at the end of the stream.
    fn read_page_raw(&mut self) -> Result<(bool, u64)> {
        if self.eos {
            return Ok((false, NO_GRANULE));
        }
        let page = loop {
            match OggPage::read(&mut self.r)? {
                None => return Ok((false, NO_GRANULE)),
                Some(p) if p.serial == self.serial => break p,
                Some(_) => {}
            }
        };
        if page.flags & FLAG_EOS != 0 {
            self.eos = true;
        }
        // A continuation whose start we never saw, or a packet that was never
        // finished, is dropped rather than glued to the wrong bytes.
        let mut skip_first = false;
        if page.is_continued() {
            skip_first = self.partial.is_empty();
        } else {
            self.partial.clear();
        }
        let mut offset = 0usize;
        for (i, &lace) in page.segments.iter().enumerate() {
            let n = usize::from(lace);
            if self.partial.is_empty() && !skip_first {
                // Size the packet once: its lacing run on this page (bounded by the page).
                let run = page.segments.get(i..).unwrap_or_default();
                let end = run
                    .iter()
                    .position(|&l| l < 255)
                    .map_or(run.len(), |p| p + 1);
                let len: usize = run.iter().take(end).map(|&l| usize::from(l)).sum();
                self.partial.reserve_exact(len);
            }
            let bytes = page.body.get(offset..offset + n).unwrap_or_default();
            offset += n;
            if !skip_first {
                if self.partial.len() + n > MAX_FRAME_SIZE {
                    return Err(MediaError::TooLarge {
                        what: "Ogg packet",
                        size: (self.partial.len() + n) as u64,
                        max: MAX_FRAME_SIZE as u64,
                    });
                }
                self.partial.extend_from_slice(bytes);
            }
            if lace < 255 {
                if skip_first {
                    skip_first = false;
                } else {
                    self.queue.push_back(OpusPacket {
                        data: std::mem::take(&mut self.partial),
                        granule_position: 0,
                        start_granule: 0,
                        duration: 0,
                    });
                }
            }
        }
        Ok((true, page.granule_position))
    }
}

impl<R: Read> Iterator for OggOpusReader<R> {
    type Item = Result<OpusPacket>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet().transpose()
    }
}

/// How much audio the writer puts on one page before starting the next:
/// 1 s, the most RFC 7845 §4 suggests for seeking granularity; a crash loses
/// at most this much.
pub const DEFAULT_PAGE_DURATION: u32 = OPUS_GRANULE_RATE;

/// Writes an Ogg Opus stream: header pages at once, then audio pages as they fill.
#[derive(Debug)]
pub struct OggOpusWriter<W> {
    w: W,
    serial: u32,
    sequence: u32,
    granule: u64,
    page: OggPage,
    /// Whether a packet ends on the pending page.
    page_has_end: bool,
    page_samples: u32,
    page_duration: u32,
    /// Duration of the last packet written, bounding an end trim.
    last_duration: u32,
    out: Vec<u8>,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the `OpusHead` page (beginning of stream) and the `OpusTags`
    /// page(s), each with granule position 0 (RFC 7845 §3, §4).
    pub fn new(w: W, head: &OpusHead, tags: &OpusTags, serial: u32) -> Result<Self> {
        let mut writer = Self {
            w,
            serial,
            sequence: 0,
            granule: 0,
            page: OggPage {
                flags: FLAG_BOS,
                serial,
                ..OggPage::default()
            },
            page_has_end: false,
            page_samples: 0,
            page_duration: DEFAULT_PAGE_DURATION,
            last_duration: 0,
            out: Vec::new(),
        };
        writer.append_packet(&head.emit())?;
        writer.emit_page(false)?;
        writer.append_packet(&tags.emit())?;
        writer.emit_page(false)?;
        Ok(writer)
    }

    /// Sets how many 48 kHz samples of audio a page holds before the next
    /// packet starts a new page (at least one packet per page).
    pub fn set_page_duration(&mut self, samples: u32) {
        self.page_duration = samples;
    }

    /// Appends one Opus packet; its duration comes from its TOC byte.
    pub fn write_packet(&mut self, packet: &[u8]) -> Result<()> {
        let d = opus_packet_duration(packet)?;
        if self.page_samples >= self.page_duration
            || self.page.segments.len() + packet.len() / 255 + 1 > MAX_SEGMENTS
        {
            self.flush_page()?;
        }
        self.granule = self.granule.saturating_add(u64::from(d));
        self.page_samples = self.page_samples.saturating_add(d);
        self.last_duration = d;
        self.append_packet(packet)
    }

    /// The granule position after the last packet written (48 kHz samples, pre-skip included).
    pub fn granule_position(&self) -> u64 {
        self.granule
    }

    /// Writes the pending page now, if it holds anything.
    pub fn flush_page(&mut self) -> Result<()> {
        if self.page.segments.is_empty() {
            return Ok(());
        }
        self.emit_page(false)?;
        self.w.flush()?;
        Ok(())
    }

    /// Writes the last page, marked end of stream, and returns the writer.
    pub fn finish(mut self) -> Result<W> {
        self.emit_page(true)?;
        self.w.flush()?;
        Ok(self.w)
    }

    /// Like [`OggOpusWriter::finish`], but trims the end of the stream
    /// (RFC 7845 §4.4): the last page's granule position becomes
    /// `final_granule`, which must lie within the last packet.
    pub fn finish_at(mut self, final_granule: u64) -> Result<W> {
        let last_start = self.granule.saturating_sub(u64::from(self.last_duration));
        if final_granule > self.granule || final_granule < last_start || !self.page_has_end {
            return Err(MediaError::Invalid {
                what: "Ogg Opus end trim outside the last packet",
            });
        }
        self.granule = final_granule;
        self.page.granule_position = final_granule;
        self.finish()
    }

    /// Lays a packet into lacing values, emitting full pages as needed.
    fn append_packet(&mut self, data: &[u8]) -> Result<()> {
        let mut rest = data;
        loop {
            if self.page.segments.len() == MAX_SEGMENTS {
                self.emit_page(false)?;
                self.page.flags |= FLAG_CONTINUED;
            }
            let n = rest.len().min(255);
            // n <= 255 by the min above.
            self.page.segments.push(n as u8);
            self.page
                .body
                .extend_from_slice(rest.get(..n).unwrap_or_default());
            rest = rest.get(n..).unwrap_or_default();
            if n < 255 {
                self.page_has_end = true;
                self.page.granule_position = self.granule;
                return Ok(());
            }
        }
    }

    fn emit_page(&mut self, eos: bool) -> Result<()> {
        if eos {
            self.page.flags |= FLAG_EOS;
        }
        if !self.page_has_end {
            self.page.granule_position = NO_GRANULE;
        }
        if eos && self.page.segments.is_empty() {
            self.page.granule_position = self.granule;
        }
        self.page.sequence = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        self.out.clear();
        self.page.emit(&mut self.out)?;
        self.w.write_all(&self.out)?;
        self.page = OggPage {
            serial: self.serial,
            ..OggPage::default()
        };
        self.page_has_end = false;
        self.page_samples = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toc_durations_follow_rfc_6716_table_2() {
        // config 0 (SILK NB 10 ms), code 0 -> 480 samples.
        assert_eq!(opus_packet_duration(&[0x00]).unwrap(), 480);
        // config 31 (CELT FB 20 ms), code 0 -> 960.
        assert_eq!(opus_packet_duration(&[31 << 3]).unwrap(), 960);
        // config 3 (SILK 60 ms), code 1 (two frames) -> 5760 (120 ms, the maximum).
        assert_eq!(opus_packet_duration(&[(3 << 3) | 1]).unwrap(), 5760);
        // config 16 (CELT 2.5 ms), code 3 with 48 frames -> 5760.
        assert_eq!(opus_packet_duration(&[(16 << 3) | 3, 48]).unwrap(), 5760);
        // 49 frames of 2.5 ms exceed 120 ms.
        assert!(opus_packet_duration(&[(16 << 3) | 3, 49]).is_err());
        assert!(opus_packet_duration(&[(16 << 3) | 3]).is_err());
        assert!(opus_packet_duration(&[]).is_err());
    }

    #[test]
    fn head_and_tags_round_trip() {
        let head = OpusHead::new(2, 312);
        assert_eq!(OpusHead::parse(&head.emit()).unwrap(), head);
        let tags = OpusTags {
            vendor: "tern".into(),
            comments: vec!["TITLE=call".into()],
        };
        assert_eq!(OpusTags::parse(&tags.emit()).unwrap(), tags);
        // A huge claimed comment count with no data fails cleanly.
        let mut bad = b"OpusTags".to_vec();
        bad.extend_from_slice(&0u32.to_le_bytes());
        bad.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(OpusTags::parse(&bad).is_err());
    }

    #[test]
    fn writer_and_reader_agree_on_packets_and_granules() {
        let head = OpusHead::new(1, 312);
        let mut w = OggOpusWriter::new(Vec::new(), &head, &OpusTags::default(), 7).unwrap();
        w.set_page_duration(960 * 5);
        // 20 ms CELT packets of varying size, one large enough to span pages.
        let mut sent = Vec::new();
        for i in 0..40u32 {
            let len = if i == 17 {
                70_000
            } else {
                1 + (i as usize * 37) % 600
            };
            let mut p = vec![(i % 251) as u8; len];
            p[0] = 31 << 3;
            w.write_packet(&p).unwrap();
            sent.push(p);
        }
        let end = w.granule_position();
        let bytes = w.finish_at(end - 100).unwrap();
        let mut r = OggOpusReader::new(bytes.as_slice()).unwrap();
        assert_eq!(r.head(), &head);
        let got: Vec<OpusPacket> = r.by_ref().map(|p| p.unwrap()).collect();
        assert_eq!(got.len(), sent.len());
        for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
            assert_eq!(&g.data, s);
            assert_eq!(g.duration, 960);
            assert_eq!(g.start_granule, 960 * i as u64);
            let trim = if i + 1 == sent.len() { 100 } else { 0 };
            assert_eq!(g.granule_position, 960 * (i as u64 + 1) - trim);
        }
    }
}
