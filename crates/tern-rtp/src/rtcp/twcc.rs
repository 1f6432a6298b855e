//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1, RTPFB FMT 15).
//!
//! The writer chooses chunks exactly as libwebrtc's
//! `modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc` does, so the
//! packets match what Chrome produces and always pass its parser: a status
//! vector is extended while it can be, then emitted as a run length when all
//! its symbols are equal, as a 14-symbol one-bit vector when it is full and
//! holds no large delta, and otherwise as a 7-symbol two-bit vector.

use super::error::{malformed, too_small, RtcpError};
use super::header::{
    be16, be24, be32, fmt, frame, packet_type, put16, put32, write_header, Framing, MAX_PACKET_LEN,
};
use super::{SeqNo, Ssrc};

/// Receive deltas count in 250 µs ticks (§3.1.5).
pub const TWCC_DELTA_TICK_US: i64 = 250;
/// The reference time counts in 64 ms ticks (§3.1).
pub const TWCC_REFERENCE_TICK_US: i64 = 64_000;
/// The 24-bit reference time wraps after 2^24 ticks (about 12.4 days).
const REFERENCE_WRAP_US: i64 = TWCC_REFERENCE_TICK_US << 24;

// Offsets from the start of the packet.
const SENDER_SSRC: usize = 4;
const MEDIA_SSRC: usize = 8;
const BASE_SEQ: usize = 12;
const STATUS_COUNT: usize = 14;
const REFERENCE_TIME: usize = 16;
const FB_COUNT: usize = 19;
const CHUNKS: usize = 20;
/// libwebrtc refuses feedback without at least one packet chunk
/// (`kMinPayloadSizeBytes`): header, two SSRCs, the 8 fixed bytes and a chunk.
const MIN_LEN: usize = CHUNKS + 2;

const RUN_LENGTH_CAP: usize = 0x1fff;
const ONE_BIT_CAP: usize = 14;
const TWO_BIT_CAP: usize = 7;
const MAX_STATUS_COUNT: usize = 0xffff;

/// A received packet's timing in a transport-wide feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwccArrival {
    /// The receive delta from the previous received packet (or from the
    /// reference time for the first), in 250 µs ticks.
    pub delta_ticks: i16,
    /// Arrival time in µs on the feedback sender's clock: reference time ×
    /// 64 ms plus the deltas so far. The reference time wraps every 2^24 ×
    /// 64 ms; compare reference times with [`TransportFeedback::reference_delta_us`].
    pub time_us: i64,
}

/// A zero-copy view of a transport-wide CC feedback packet.
#[derive(Debug, Clone, Copy)]
pub struct TransportFeedback<T: AsRef<[u8]>> {
    buffer: T,
    f: Framing,
    chunks_end: usize,
}

/// Decodes the status symbol `idx` of chunk `c`, and how many statuses the
/// chunk carries when `left` remain.
fn chunk_len(c: u16, left: usize) -> usize {
    if c & 0x8000 == 0 {
        usize::from(c & 0x1fff).min(left)
    } else if c & 0x4000 == 0 {
        ONE_BIT_CAP.min(left)
    } else {
        TWO_BIT_CAP.min(left)
    }
}

fn chunk_symbol(c: u16, idx: usize) -> u8 {
    if c & 0x8000 == 0 {
        ((c >> 13) & 3) as u8
    } else if c & 0x4000 == 0 {
        ((c >> (ONE_BIT_CAP - 1 - idx)) & 1) as u8
    } else {
        ((c >> (2 * (TWO_BIT_CAP - 1 - idx))) & 3) as u8
    }
}

impl<T: AsRef<[u8]>> TransportFeedback<T> {
    /// Validates everything once: FMT 15, a non-zero status count, chunks
    /// covering exactly that count with no reserved symbol, and a receive
    /// delta present for every received symbol. Trailing bytes after the
    /// deltas (zero padding without the P bit, which old libwebrtc sent) are
    /// ignored. Feedback without receive deltas (libwebrtc's
    /// `include_timestamps = false` variant) is rejected.
    pub fn new_checked(buffer: T) -> Result<Self, RtcpError> {
        let b = buffer.as_ref();
        let f = frame(b)?;
        let bad = |r| malformed(packet_type::RTPFB, r);
        if f.header.packet_type != packet_type::RTPFB || f.header.count != fmt::TWCC {
            return Err(malformed(
                f.header.packet_type,
                "not transport-wide feedback",
            ));
        }
        if f.payload_end < MIN_LEN {
            return Err(bad("transport feedback without a packet chunk"));
        }
        let count = usize::from(be16(b, STATUS_COUNT));
        if count == 0 {
            return Err(bad("transport feedback with a zero packet status count"));
        }
        let mut left = count;
        let mut pos = CHUNKS;
        let mut delta_bytes = 0usize;
        while left > 0 {
            if pos + 2 > f.payload_end {
                return Err(bad(
                    "packet chunks cover fewer packets than the status count",
                ));
            }
            let c = be16(b, pos);
            pos += 2;
            let n = chunk_len(c, left);
            for i in 0..n {
                let s = chunk_symbol(c, i);
                if s == 3 {
                    return Err(bad("reserved status symbol"));
                }
                delta_bytes += usize::from(s);
                if c & 0x8000 == 0 {
                    // A run: every symbol is the same.
                    delta_bytes += usize::from(s) * (n - 1);
                    break;
                }
            }
            left -= n;
        }
        if pos + delta_bytes > f.payload_end {
            return Err(bad("receive deltas missing for received packets"));
        }
        Ok(Self {
            buffer,
            f,
            chunks_end: pos,
        })
    }
    /// SSRC of the feedback sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), SENDER_SSRC)
    }
    /// The media SSRC field (unused by transport-wide feedback, often 0 or
    /// the first media SSRC).
    pub fn media_ssrc(&self) -> Ssrc {
        be32(self.buffer.as_ref(), MEDIA_SSRC)
    }
    /// Transport-wide sequence number of the first packet reported.
    pub fn base_seq(&self) -> SeqNo {
        be16(self.buffer.as_ref(), BASE_SEQ)
    }
    /// How many packets the feedback reports on.
    pub fn status_count(&self) -> u16 {
        be16(self.buffer.as_ref(), STATUS_COUNT)
    }
    /// The 24-bit reference time in 64 ms ticks, read unsigned as libwebrtc
    /// does (the draft calls it signed; both wrap, so compare with
    /// [`Self::reference_delta_us`]).
    pub fn reference_time(&self) -> u32 {
        be24(self.buffer.as_ref(), REFERENCE_TIME)
    }
    /// The reference time in µs (`reference_time() × 64 ms`).
    pub fn reference_time_us(&self) -> i64 {
        i64::from(self.reference_time()) * TWCC_REFERENCE_TICK_US
    }
    /// The feedback packet count, incremented per feedback sent; gaps show
    /// lost feedback.
    pub fn feedback_count(&self) -> u8 {
        self.buffer.as_ref()[FB_COUNT]
    }
    /// Every reported packet in sequence order: its sequence number and, if
    /// it was received, its arrival.
    pub fn packets(&self) -> TwccPackets<'_> {
        let b = &self.buffer.as_ref()[..self.f.payload_end];
        TwccPackets {
            b,
            chunk_pos: CHUNKS,
            chunks_end: self.chunks_end,
            delta_pos: self.chunks_end,
            left: usize::from(self.status_count()),
            chunk: 0,
            chunk_idx: 0,
            chunk_n: 0,
            seq: self.base_seq(),
            time_us: self.reference_time_us(),
        }
    }

    /// The wrap-aware difference between two reference times (this one minus
    /// `previous`), in µs, choosing the interpretation nearest zero as
    /// libwebrtc's `GetBaseDelta` does.
    pub fn reference_delta_us(&self, previous: u32) -> i64 {
        let d = (i64::from(self.reference_time()) - i64::from(previous)) * TWCC_REFERENCE_TICK_US;
        [d, d - REFERENCE_WRAP_US, d + REFERENCE_WRAP_US]
            .into_iter()
            .min_by_key(|v| v.unsigned_abs())
            .unwrap_or(d)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TransportFeedback<T> {
    /// Rewrites the sender SSRC in place.
    pub fn set_sender_ssrc(&mut self, ssrc: Ssrc) {
        put32(self.buffer.as_mut(), SENDER_SSRC, ssrc);
    }
}

/// An iterator over the packets a transport-wide feedback reports.
#[derive(Debug, Clone)]
pub struct TwccPackets<'a> {
    b: &'a [u8],
    chunk_pos: usize,
    chunks_end: usize,
    delta_pos: usize,
    left: usize,
    chunk: u16,
    chunk_idx: usize,
    chunk_n: usize,
    seq: SeqNo,
    time_us: i64,
}

impl Iterator for TwccPackets<'_> {
    type Item = (SeqNo, Option<TwccArrival>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        while self.chunk_idx >= self.chunk_n {
            // Validated by new_checked; running out just ends iteration.
            if self.chunk_pos + 2 > self.chunks_end {
                return None;
            }
            self.chunk = be16(self.b, self.chunk_pos);
            self.chunk_pos += 2;
            self.chunk_n = chunk_len(self.chunk, self.left);
            self.chunk_idx = 0;
        }
        let sym = chunk_symbol(self.chunk, self.chunk_idx);
        self.chunk_idx += 1;
        self.left -= 1;
        let seq = self.seq;
        self.seq = seq.wrapping_add(1);
        let delta = match sym {
            0 => return Some((seq, None)),
            1 => {
                let d = *self.b.get(self.delta_pos)?;
                self.delta_pos += 1;
                i16::from(d)
            }
            2 => {
                let d = self.b.get(self.delta_pos..self.delta_pos + 2)?;
                self.delta_pos += 2;
                i16::from_be_bytes([d[0], d[1]])
            }
            _ => return None,
        };
        self.time_us += i64::from(delta) * TWCC_DELTA_TICK_US;
        Some((
            seq,
            Some(TwccArrival {
                delta_ticks: delta,
                time_us: self.time_us,
            }),
        ))
    }
}

/// The chunk under construction: libwebrtc's `TransportFeedback::LastChunk`.
#[derive(Debug, Clone, Copy)]
struct LastChunk {
    sizes: [u8; ONE_BIT_CAP],
    size: usize,
    all_same: bool,
    has_large: bool,
}

impl LastChunk {
    fn new() -> Self {
        Self {
            sizes: [0; ONE_BIT_CAP],
            size: 0,
            all_same: true,
            has_large: false,
        }
    }
    fn is_empty(&self) -> bool {
        self.size == 0
    }
    fn can_add(&self, ds: u8) -> bool {
        self.size < TWO_BIT_CAP
            || (self.size < ONE_BIT_CAP && !self.has_large && ds != 2)
            || (self.size < RUN_LENGTH_CAP && self.all_same && self.sizes[0] == ds)
    }
    fn add(&mut self, ds: u8) {
        if self.size < ONE_BIT_CAP {
            self.sizes[self.size] = ds;
        }
        self.size += 1;
        self.all_same = self.all_same && ds == self.sizes[0];
        self.has_large = self.has_large || ds == 2;
    }
    fn add_missing(&mut self, n: usize) {
        *self = Self::new();
        self.size = n;
    }
    fn run_length(&self) -> u16 {
        // size <= RUN_LENGTH_CAP, sizes[0] <= 2.
        (u16::from(self.sizes[0]) << 13) | self.size as u16
    }
    fn one_bit(&self) -> u16 {
        let mut c = 0x8000;
        for i in 0..self.size {
            c |= u16::from(self.sizes[i]) << (ONE_BIT_CAP - 1 - i);
        }
        c
    }
    fn two_bit(&self, n: usize) -> u16 {
        let mut c = 0xc000;
        for i in 0..n {
            c |= u16::from(self.sizes[i]) << (2 * (TWO_BIT_CAP - 1 - i));
        }
        c
    }
    /// Emits a full chunk (called when a symbol cannot be added).
    fn emit(&mut self) -> u16 {
        if self.all_same {
            let c = self.run_length();
            *self = Self::new();
            return c;
        }
        if self.size == ONE_BIT_CAP {
            let c = self.one_bit();
            *self = Self::new();
            return c;
        }
        let c = self.two_bit(TWO_BIT_CAP);
        let rest = self.size - TWO_BIT_CAP;
        let mut next = Self::new();
        for i in 0..rest {
            next.add(self.sizes[TWO_BIT_CAP + i]);
        }
        *self = next;
        c
    }
    fn encode_last(&self) -> u16 {
        if self.all_same {
            self.run_length()
        } else if self.size <= TWO_BIT_CAP {
            self.two_bit(self.size)
        } else {
            self.one_bit()
        }
    }
}

/// Receives the encoder's output (a counting pass, then a writing pass).
trait Sink {
    fn chunk(&mut self, c: u16);
    fn delta(&mut self, ticks: i16, size: u8);
}

struct NoSink;
impl Sink for NoSink {
    fn chunk(&mut self, _: u16) {}
    fn delta(&mut self, _: i16, _: u8) {}
}

struct WriteSink<'a> {
    out: &'a mut [u8],
    chunk_at: usize,
    delta_at: usize,
}
impl Sink for WriteSink<'_> {
    fn chunk(&mut self, c: u16) {
        put16(self.out, self.chunk_at, c);
        self.chunk_at += 2;
    }
    fn delta(&mut self, ticks: i16, size: u8) {
        if size == 1 {
            // 0..=255 when the size is 1.
            self.out[self.delta_at] = ticks as u8;
        } else {
            self.out[self.delta_at..self.delta_at + 2].copy_from_slice(&ticks.to_be_bytes());
        }
        self.delta_at += usize::from(size);
    }
}

/// libwebrtc's `TransportFeedback` builder state for one packet.
struct Encoder<'s, S: Sink> {
    sink: &'s mut S,
    num_seq: usize,
    last_us: i64,
    size: usize,
    limit: usize,
    chunks: usize,
    last: LastChunk,
}

fn padded(n: usize) -> usize {
    (n + 3) & !3
}

impl<S: Sink> Encoder<'_, S> {
    fn fits(&self, n: usize) -> bool {
        padded(n) <= self.limit
    }
    fn push_chunk(&mut self, c: u16) {
        self.sink.chunk(c);
        self.chunks += 1;
    }
    fn add_delta_size(&mut self, ds: u8) -> bool {
        if self.num_seq == MAX_STATUS_COUNT {
            return false;
        }
        let add_chunk = if self.last.is_empty() { 2 } else { 0 };
        if !self.fits(self.size + usize::from(ds) + add_chunk) {
            return false;
        }
        if self.last.can_add(ds) {
            self.size += add_chunk;
            self.last.add(ds);
            self.num_seq += 1;
            return true;
        }
        if !self.fits(self.size + usize::from(ds) + 2) {
            return false;
        }
        let c = self.last.emit();
        self.push_chunk(c);
        self.size += 2;
        self.last.add(ds);
        self.num_seq += 1;
        true
    }
    fn add_missing(&mut self, mut n: usize) -> bool {
        let new_num = self.num_seq + n;
        if new_num > MAX_STATUS_COUNT {
            return false;
        }
        if !self.last.is_empty() {
            while n > 0 && self.last.can_add(0) {
                self.last.add(0);
                n -= 1;
            }
            if n == 0 {
                self.num_seq = new_num;
                return true;
            }
            let c = self.last.emit();
            self.push_chunk(c);
        }
        let full = n / RUN_LENGTH_CAP;
        let partial = n % RUN_LENGTH_CAP;
        let chunks = full + usize::from(partial > 0);
        if !self.fits(self.size + 2 * chunks) {
            self.num_seq = new_num - n;
            return false;
        }
        self.size += 2 * chunks;
        for _ in 0..full {
            // A run of RUN_LENGTH_CAP "not received" symbols.
            self.push_chunk(RUN_LENGTH_CAP as u16);
        }
        self.last.add_missing(partial);
        self.num_seq = new_num;
        true
    }
    /// `offset` is the packet's distance from the base sequence number,
    /// counted along the entries (it can exceed 32768, where comparing
    /// wrapped sequence numbers would call it older).
    fn add_received(&mut self, offset: usize, arrival_us: i64) -> bool {
        let d = arrival_us.saturating_sub(self.last_us);
        // Round half away from zero, as libwebrtc does.
        let ticks = if d >= 0 {
            d.saturating_add(TWCC_DELTA_TICK_US / 2) / TWCC_DELTA_TICK_US
        } else {
            d.saturating_sub(TWCC_DELTA_TICK_US / 2) / TWCC_DELTA_TICK_US
        };
        let Ok(ticks) = i16::try_from(ticks) else {
            return false;
        };
        if offset < self.num_seq {
            return false;
        }
        if offset > self.num_seq && !self.add_missing(offset - self.num_seq) {
            return false;
        }
        let ds = if (0..=255).contains(&ticks) { 1 } else { 2 };
        if !self.add_delta_size(ds) {
            return false;
        }
        self.sink.delta(ticks, ds);
        self.last_us += i64::from(ticks) * TWCC_DELTA_TICK_US;
        self.size += usize::from(ds);
        true
    }
    fn finish(&mut self) {
        if !self.last.is_empty() {
            let c = self.last.encode_last();
            self.push_chunk(c);
        }
    }
}

/// libwebrtc's `IsNewerSequenceNumber`.
fn is_newer(a: SeqNo, b: SeqNo) -> bool {
    let d = a.wrapping_sub(b);
    if d == 0x8000 {
        a > b
    } else {
        d != 0 && d < 0x8000
    }
}

/// What one packet covers.
struct Plan {
    num_seq: usize,
    size: usize,
    chunks: usize,
}

/// Each entry with its distance from `base_seq`, summed along the entries
/// (strictly increasing by at most 32768 each, as `TwccWriter::new` checks),
/// so a run longer than half the sequence space is not mistaken for going
/// back.
fn offsets(
    entries: &[(SeqNo, Option<i64>)],
    base_seq: SeqNo,
) -> impl Iterator<Item = (usize, &(SeqNo, Option<i64>))> {
    let mut prev = base_seq;
    let mut offset = 0usize;
    entries.iter().map(move |e| {
        offset += usize::from(e.0.wrapping_sub(prev));
        prev = e.0;
        (offset, e)
    })
}

/// Runs the encoder over `entries`, starting a packet at `entries[0]`.
fn encode<S: Sink>(
    entries: &[(SeqNo, Option<i64>)],
    base_seq: SeqNo,
    base_us: i64,
    limit: usize,
    sink: &mut S,
) -> Plan {
    let mut e = Encoder {
        sink,
        num_seq: 0,
        last_us: base_us,
        size: CHUNKS,
        limit,
        chunks: 0,
        last: LastChunk::new(),
    };
    let mut pending_end: Option<usize> = None;
    let mut exhausted = true;
    for (offset, &(_, arrival)) in offsets(entries, base_seq) {
        if offset >= MAX_STATUS_COUNT {
            // Everything from here to the status limit is lost (listed as
            // lost or a gap); what lies beyond goes in the next packet.
            // A partial failure leaves the rest for the next packet too.
            let _ = e.add_missing(MAX_STATUS_COUNT - e.num_seq);
            exhausted = false;
            break;
        }
        match arrival {
            None => pending_end = Some(offset + 1),
            Some(t) => {
                if !e.add_received(offset, t) {
                    exhausted = false;
                    break;
                }
                pending_end = None;
            }
        }
    }
    if let (true, Some(end)) = (exhausted, pending_end) {
        // Losses after the last received packet; a partial failure leaves
        // the rest for the next packet.
        let _ = e.add_missing(end - e.num_seq);
    }
    e.finish();
    Plan {
        num_seq: e.num_seq,
        size: e.size,
        chunks: e.chunks,
    }
}

/// Builds transport-wide feedback from a receiver's record of
/// (transport sequence number, arrival time in µs or `None` if lost),
/// splitting it into as many packets as receive-delta range (±8.19 s between
/// consecutive arrivals), the 65535-status limit and the packet size need.
/// Gaps between listed sequence numbers count as lost too.
#[derive(Debug, Clone)]
pub struct TwccWriter<'a> {
    sender_ssrc: Ssrc,
    media_ssrc: Ssrc,
    entries: &'a [(SeqNo, Option<i64>)],
    pos: usize,
    /// First sequence number the previous packet did not cover, so losses
    /// implied by a gap are reported even when a packet ends at the gap.
    next_base: Option<SeqNo>,
    fb_count: u8,
    max_len: usize,
    padding_bit: bool,
}

impl<'a> TwccWriter<'a> {
    /// `entries` must be in transport sequence order, each newer than the
    /// previous by 1 to 32768 (mod 2^16); arrival times may go backwards
    /// (reordering gives negative deltas). `feedback_count` is the first
    /// packet's feedback packet count; it increments per packet.
    pub fn new(
        sender_ssrc: Ssrc,
        media_ssrc: Ssrc,
        entries: &'a [(SeqNo, Option<i64>)],
        feedback_count: u8,
    ) -> Result<Self, RtcpError> {
        for w in entries.windows(2) {
            let d = w[1].0.wrapping_sub(w[0].0);
            if d == 0 || d > 0x8000 {
                return Err(RtcpError::InvalidInput(
                    "transport sequence numbers not strictly increasing",
                ));
            }
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            entries,
            pos: 0,
            next_base: None,
            fb_count: feedback_count,
            max_len: MAX_PACKET_LEN,
            padding_bit: true,
        })
    }
    /// Caps each packet at `len` bytes (e.g. what is left of an MTU).
    pub fn with_max_packet_len(mut self, len: usize) -> Self {
        self.max_len = len.min(MAX_PACKET_LEN);
        self
    }
    /// Pads to 32 bits with plain zeros and no P bit instead of libwebrtc's
    /// RFC 3550 padding. libwebrtc still accepts it (its
    /// `TransportFeedbackPaddingBackwardsCompatibility` case), and a strict
    /// RFC 3550 reader then accepts the packet anywhere in a compound.
    pub fn without_padding_bit(mut self) -> Self {
        self.padding_bit = false;
        self
    }
    /// True when every entry has been written.
    pub fn is_done(&self) -> bool {
        self.pos >= self.entries.len()
    }
    /// The feedback packet count the next packet will carry.
    pub fn next_feedback_count(&self) -> u8 {
        self.fb_count
    }
    /// Writes the next feedback packet into `out` and returns its length, or
    /// `None` when all entries are written (an empty feedback, which
    /// libwebrtc rejects, is never produced).
    pub fn write_next(&mut self, out: &mut [u8]) -> Result<Option<usize>, RtcpError> {
        let Some(rest) = self.entries.get(self.pos..).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let limit = out.len().min(self.max_len);
        // Header, one chunk and one small delta, padded.
        if limit < MIN_LEN + 2 {
            return Err(too_small(MIN_LEN + 2, limit));
        }
        let base_seq = match self.next_base {
            Some(b) if b == rest[0].0 || is_newer(rest[0].0, b) => b,
            _ => rest[0].0,
        };
        // libwebrtc takes the base time from the first received packet; a
        // feedback of losses only has no time to report.
        let first_us = rest.iter().find_map(|e| e.1).unwrap_or(0);
        let base_ticks = first_us.div_euclid(TWCC_REFERENCE_TICK_US);
        let base_us = base_ticks * TWCC_REFERENCE_TICK_US;
        let plan = encode(rest, base_seq, base_us, limit, &mut NoSink);
        if plan.num_seq == 0 {
            // Only a loss run too long for this buffer's chunks lies ahead.
            return Err(too_small(CHUNKS + 8, limit));
        }
        let len = padded(plan.size);
        let padding = len - plan.size;
        let p_bit = padding > 0 && self.padding_bit;
        write_header(out, p_bit, fmt::TWCC, packet_type::RTPFB, len)?;
        put32(out, SENDER_SSRC, self.sender_ssrc);
        put32(out, MEDIA_SSRC, self.media_ssrc);
        put16(out, BASE_SEQ, base_seq);
        // num_seq <= MAX_STATUS_COUNT.
        put16(out, STATUS_COUNT, plan.num_seq as u16);
        let reference = base_ticks.rem_euclid(1 << 24) as u32;
        out[REFERENCE_TIME..REFERENCE_TIME + 3].copy_from_slice(&reference.to_be_bytes()[1..]);
        out[FB_COUNT] = self.fb_count;
        let mut sink = WriteSink {
            out: &mut *out,
            chunk_at: CHUNKS,
            delta_at: CHUNKS + 2 * plan.chunks,
        };
        let again = encode(rest, base_seq, base_us, limit, &mut sink);
        debug_assert_eq!(again.size, plan.size);
        out[plan.size..len].fill(0);
        if p_bit {
            // libwebrtc's padding: zeros, the last octet the count (RFC 3550).
            // padding is 1..=3.
            out[len - 1] = padding as u8;
        }
        // Skip every entry the packet's status count covered.
        let covered = offsets(rest, base_seq)
            .take_while(|(offset, _)| *offset < plan.num_seq)
            .count();
        self.pos += covered;
        // num_seq <= MAX_STATUS_COUNT.
        self.next_base = Some(base_seq.wrapping_add(plan.num_seq as u16));
        self.fb_count = self.fb_count.wrapping_add(1);
        Ok(Some(len))
    }
}

#[cfg(test)]
mod tests;
