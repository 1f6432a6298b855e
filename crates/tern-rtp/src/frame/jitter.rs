//! A bounded, allocation-light jitter buffer for one RTP stream.
//!
//! Packets are kept sorted by extended sequence number (RFC 3550 §A.1's
//! unwrapping) in a `VecDeque`; payload bytes live in buffers recycled
//! through a small pool, so steady state allocates nothing per packet and a
//! buffer that holds nothing owns only its structs.
//!
//! Lessons taken from known bugs elsewhere: a frame that cannot complete is
//! skipped after `max_wait` or as soon as a later keyframe is complete (one
//! loss never stalls the stream); sequence numbers and timestamps compare
//! with wrapping arithmetic; padding-only packets fill gaps and are never a
//! frame; the packet count is capped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::codec::{Depacketizer, RtpInfo};

/// Limits of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Most packets held; the oldest frame is dropped to make room.
    pub max_packets: usize,
    /// Longest a packet waits for the packets it needs before the
    /// incomplete frame is skipped.
    pub max_wait: Duration,
    /// How long a gap may wait for a reordered packet once a later keyframe
    /// is complete (video), or at all (audio and other codecs whose frames
    /// are independent, where a gap costs one frame).
    pub reorder_wait: Duration,
    /// Largest reassembled frame; a frame beyond it is dropped as lost.
    pub max_frame_bytes: usize,
    /// Most spare payload buffers kept for reuse.
    pub pool_limit: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            max_packets: 1000,
            max_wait: Duration::from_millis(500),
            reorder_wait: Duration::from_millis(30),
            max_frame_bytes: 4 << 20,
            pool_limit: 256,
        }
    }
}

/// A frame handed out by [`JitterBuffer::poll`]; its bytes are in the
/// caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// RFC 3550 §5.1: the frame's RTP timestamp.
    pub timestamp: u32,
    /// Whether any payload of the frame is a keyframe payload.
    pub keyframe: bool,
    /// Sequence number of the first packet.
    pub first_sequence: u16,
    /// Sequence number of the last packet.
    pub last_sequence: u16,
    /// Bytes written to the caller's buffer.
    pub len: usize,
    /// When the first packet of the frame arrived.
    pub first_arrival: Instant,
}

/// Packets given up on by [`JitterBuffer::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossInfo {
    /// Sequence number of the first packet lost or dropped.
    pub first_sequence: u16,
    /// How many sequence numbers were given up (missing and dropped).
    pub packets: u64,
    /// Later frames depend on what was lost: ask the sender for a keyframe
    /// (RFC 4585 §6.3.1 PLI); frames are held back until one arrives.
    pub need_keyframe: bool,
}

/// What [`JitterBuffer::poll`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JitterEvent {
    /// A complete frame, in order.
    Frame(FrameInfo),
    /// A gap that will not be filled.
    Lost(LossInfo),
}

/// What became of a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// Stored.
    Stored,
    /// Already held.
    Duplicate,
    /// Older than what was already handed out or skipped.
    Late,
    /// Too far from the packets held to be placed (more than `max_packets`
    /// behind the newest); dropped.
    OutOfRange,
}

/// Counters since creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Packets stored.
    pub packets: u64,
    /// Duplicates ignored.
    pub duplicates: u64,
    /// Late packets ignored.
    pub late: u64,
    /// Frames handed out.
    pub frames: u64,
    /// Complete frames dropped while waiting for a keyframe.
    pub frames_dropped: u64,
    /// Loss events reported.
    pub losses: u64,
    /// Frames dropped because a depacketizer refused them.
    pub corrupt: u64,
}

#[derive(Debug)]
struct Slot {
    ext: u64,
    timestamp: u32,
    marker: bool,
    start: bool,
    end: bool,
    key: bool,
    arrival: Instant,
    data: Vec<u8>,
}

/// RFC 3550 §A.1-style sequence unwrapping starts here so that the first
/// packets can move backwards without going negative.
const EXT_BASE: u64 = 1 << 32;

/// A jitter buffer for one RTP stream, generic over the codec's
/// [`Depacketizer`], which supplies the frame-start/end and keyframe rules.
#[derive(Debug)]
pub struct JitterBuffer<D> {
    depacketizer: D,
    config: JitterConfig,
    slots: VecDeque<Slot>,
    pool: Vec<Vec<u8>>,
    /// Highest extended sequence number seen.
    highest: Option<u64>,
    /// The next extended sequence number to hand out, once in sync.
    next: Option<u64>,
    /// Everything below this was handed out or given up.
    floor: u64,
    /// Timestamp of the last packet handed out or given up.
    last_timestamp: Option<u32>,
    need_keyframe: bool,
    pending_loss: Option<LossInfo>,
    stats: JitterStats,
}

impl<D: Depacketizer> JitterBuffer<D> {
    /// A buffer using `depacketizer` for `config`'s limits.
    pub fn new(depacketizer: D, config: JitterConfig) -> Self {
        Self {
            depacketizer,
            config: JitterConfig {
                max_packets: config.max_packets.max(1),
                ..config
            },
            slots: VecDeque::new(),
            pool: Vec::new(),
            highest: None,
            next: None,
            floor: 0,
            last_timestamp: None,
            need_keyframe: false,
            pending_loss: None,
            stats: JitterStats::default(),
        }
    }

    /// The depacketizer.
    pub fn depacketizer(&self) -> &D {
        &self.depacketizer
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether a loss left the stream waiting for a keyframe.
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// Release the spare payload buffers (an idle stream then owns only
    /// its structs).
    pub fn shrink(&mut self) {
        self.pool = Vec::new();
        if self.slots.is_empty() {
            self.slots = VecDeque::new();
        }
    }

    /// Bytes of heap this buffer owns (slots, pool and payload buffers).
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Slot>();
        self.slots.capacity() * slot
            + self.pool.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.slots.iter().map(|s| s.data.capacity()).sum::<usize>()
            + self.pool.iter().map(Vec::capacity).sum::<usize>()
    }

    fn unwrap_sequence(&self, seq: u16) -> u64 {
        match self.highest {
            None => EXT_BASE + u64::from(seq),
            Some(h) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                h.saturating_add_signed(delta)
            }
        }
    }

    /// Store one RTP packet's payload. `payload` is the RTP payload with any
    /// padding removed; an empty one (padding only) fills its sequence
    /// number and is never a frame.
    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        now: Instant,
    ) -> PushOutcome {
        let ext = self.unwrap_sequence(sequence);
        if ext < self.floor {
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        if let Some(h) = self.highest {
            if ext + (self.config.max_packets as u64) < h {
                return PushOutcome::OutOfRange;
            }
        }
        let at = match self.slots.binary_search_by_key(&ext, |s| s.ext) {
            Ok(_) => {
                self.stats.duplicates += 1;
                return PushOutcome::Duplicate;
            }
            Err(at) => at,
        };
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        let empty = payload.is_empty();
        let d = &self.depacketizer;
        let mut data = self.pool.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(payload);
        let slot = Slot {
            ext,
            timestamp,
            marker,
            start: !empty && d.is_frame_start(payload),
            end: !empty && d.is_frame_end(payload, marker),
            key: !empty && d.is_keyframe(payload),
            arrival: now,
            data,
        };
        self.slots.insert(at, slot);
        self.stats.packets += 1;
        // Bounded in packets: drop the oldest frame's packets to make room.
        while self.slots.len() > self.config.max_packets {
            self.skip(1);
        }
        // And in span: a packet far ahead of the head pushes old ones out.
        while let Some(front) = self.slots.front() {
            let newest = self.highest.unwrap_or(front.ext);
            if newest - front.ext < self.config.max_packets as u64 {
                break;
            }
            self.skip(1);
        }
        PushOutcome::Stored
    }

    /// When [`JitterBuffer::poll`] should next be called if nothing is
    /// pushed: when the oldest packet's wait runs out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let front = self.slots.front()?;
        if self.pending_loss.is_some() {
            return Some(front.arrival);
        }
        let new_frame = front.start && Some(front.timestamp) != self.last_timestamp;
        if self.next.is_none()
            && new_frame
            && front.ext != self.floor
            && self.complete_frame_len(0).is_some()
        {
            // A complete frame out of sync is handed out after reorder_wait.
            return Some(front.arrival + self.config.reorder_wait);
        }
        Some(front.arrival + self.head_wait(new_frame))
    }

    /// How long an incomplete head may wait before it is given up: out of
    /// sync with no frame start at the head (joined mid-frame, or the rest
    /// of a frame already given up), `reorder_wait`; otherwise
    /// [`JitterBuffer::gap_wait`].
    fn head_wait(&self, new_frame: bool) -> Duration {
        if self.next.is_none() && !new_frame {
            self.config.reorder_wait.min(self.config.max_wait)
        } else {
            self.gap_wait()
        }
    }

    /// How long the head may wait for missing packets: `reorder_wait` when
    /// frames are independent or a later keyframe is complete, else
    /// `max_wait`.
    fn gap_wait(&self) -> Duration {
        if self.depacketizer.frames_independent() || self.later_complete_keyframe().is_some() {
            self.config.reorder_wait.min(self.config.max_wait)
        } else {
            self.config.max_wait
        }
    }

    /// Hand out the next event: a complete frame (its bytes appended to
    /// `out`, which is cleared first) or a loss. Call until `None`.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<JitterEvent> {
        loop {
            if let Some(loss) = self.pending_loss.take() {
                self.stats.losses += 1;
                return Some(JitterEvent::Lost(loss));
            }
            self.drop_leading_padding();
            let front = self.slots.front()?;
            let waited = now.saturating_duration_since(front.arrival);
            let new_frame = front.start && Some(front.timestamp) != self.last_timestamp;
            let aligned = match self.next {
                Some(n) => front.ext == n,
                // Out of sync (start, or after a loss): a frame start right
                // after what was given up is taken at once; any other (e.g.
                // the first packet received) waits `reorder_wait` in case
                // earlier packets are still on their way.
                None => {
                    new_frame && (front.ext == self.floor || waited >= self.config.reorder_wait)
                }
            };
            if aligned {
                if let Some(n) = self.complete_frame_len(0) {
                    let independent = self.depacketizer.frames_independent();
                    let key = self.slots.iter().take(n).any(|s| s.key);
                    if self.need_keyframe && !key && !independent {
                        self.stats.frames_dropped += 1;
                        self.release(n);
                        continue;
                    }
                    match self.emit(n, key, out) {
                        Some(f) => return Some(JitterEvent::Frame(f)),
                        None => continue,
                    }
                }
            }
            let limit = self.head_wait(new_frame);
            // The head cannot complete yet. Give up on it when it waited too
            // long: `max_wait`, or only `reorder_wait` when a later keyframe
            // is complete (so one loss never holds a decodable keyframe).
            if waited < limit || (self.next.is_none() && new_frame && !aligned) {
                return None;
            }
            let gap_before_start = self.next.is_some_and(|n| front.ext != n) && new_frame;
            if gap_before_start {
                // Packets before a frame start are missing: give up on them
                // only; the frame itself may still complete.
                self.skip(0);
                continue;
            }
            let key_at = if self.depacketizer.frames_independent() {
                None
            } else {
                self.later_complete_keyframe()
            };
            let resync = key_at
                .or_else(|| self.resync_point())
                .unwrap_or(self.slots.len());
            self.skip(resync.max(1));
        }
    }

    /// Hand out `n` head packets as a frame.
    fn emit(&mut self, n: usize, key: bool, out: &mut Vec<u8>) -> Option<FrameInfo> {
        out.clear();
        self.depacketizer.reset();
        let mut failed = false;
        for s in self.slots.iter().take(n) {
            let info = RtpInfo {
                sequence: s.ext as u16,
                timestamp: s.timestamp,
                marker: s.marker,
            };
            if self.depacketizer.depacketize(&s.data, info, out).is_err()
                || out.len() > self.config.max_frame_bytes
            {
                failed = true;
                break;
            }
        }
        self.depacketizer.reset();
        let first = self.slots.front()?;
        let last = self.slots.get(n - 1)?;
        let info = FrameInfo {
            timestamp: first.timestamp,
            keyframe: key,
            first_sequence: first.ext as u16,
            last_sequence: last.ext as u16,
            len: out.len(),
            first_arrival: first.arrival,
        };
        if failed {
            out.clear();
            self.stats.corrupt += 1;
            self.skip(n);
            return None;
        }
        if key {
            self.need_keyframe = false;
        }
        self.stats.frames += 1;
        self.release(n);
        Some(info)
    }

    /// Remove `n` head packets that were handed out (not a loss).
    fn release(&mut self, n: usize) {
        for _ in 0..n {
            if let Some(s) = self.slots.pop_front() {
                self.next = Some(s.ext + 1);
                self.floor = s.ext + 1;
                self.last_timestamp = Some(s.timestamp);
                self.recycle(s.data);
            }
        }
    }

    /// Give up on the `n` head packets and any gap before them: record a
    /// loss and wait for a resync point.
    fn skip(&mut self, n: usize) {
        let first = self
            .next
            .unwrap_or_else(|| self.slots.front().map_or(self.floor, |s| s.ext));
        let mut last_ext = None;
        for _ in 0..n {
            if let Some(s) = self.slots.pop_front() {
                last_ext = Some(s.ext);
                self.last_timestamp = Some(s.timestamp);
                self.recycle(s.data);
            }
        }
        // The next packet held is where the stream resumes, unless it does
        // not start a frame; then wait for one that does.
        let resume = self.slots.front().map(|s| s.ext);
        let end = resume.or(last_ext.map(|e| e + 1)).unwrap_or(first);
        self.floor = self.floor.max(end);
        self.next = None;
        let independent = self.depacketizer.frames_independent();
        self.need_keyframe |= !independent;
        let packets = end.saturating_sub(first);
        if packets == 0 {
            return;
        }
        let merged = match self.pending_loss {
            Some(p) => LossInfo {
                first_sequence: p.first_sequence,
                packets: p.packets + packets,
                need_keyframe: self.need_keyframe,
            },
            None => LossInfo {
                first_sequence: first as u16,
                packets,
                need_keyframe: self.need_keyframe,
            },
        };
        self.pending_loss = Some(merged);
    }

    fn recycle(&mut self, data: Vec<u8>) {
        if self.pool.len() < self.config.pool_limit {
            self.pool.push(data);
        }
    }

    /// Padding-only packets at the head (contiguous with what was handed
    /// out) are consumed: they fill the sequence and are never a frame.
    fn drop_leading_padding(&mut self) {
        while let Some(front) = self.slots.front() {
            let at_head = self.next.is_none_or(|n| front.ext == n);
            if !front.data.is_empty() || !at_head {
                return;
            }
            if let Some(s) = self.slots.pop_front() {
                if self.next.is_some() {
                    self.next = Some(s.ext + 1);
                }
                self.floor = self.floor.max(s.ext + 1);
                self.recycle(s.data);
            }
        }
    }

    /// If the packets from index `i` form a complete frame (contiguous, one
    /// timestamp, ending with an end packet), its packet count.
    fn complete_frame_len(&self, i: usize) -> Option<usize> {
        let first = self.slots.get(i)?;
        let mut prev = first.ext;
        for (k, s) in self.slots.iter().enumerate().skip(i) {
            if k > i {
                if s.ext != prev + 1 {
                    return None;
                }
                if s.timestamp != first.timestamp {
                    // No end bit was seen but the next frame began with no
                    // gap: the frame ended without a marker (lost only if a
                    // gap were present, and there is none).
                    return Some(k - i);
                }
            }
            if s.end {
                return Some(k - i + 1);
            }
            prev = s.ext;
        }
        None
    }

    /// Index of the first keyframe start after the head whose frame is
    /// complete.
    fn later_complete_keyframe(&self) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, s)| s.start && s.key)
            .find(|&(i, s)| {
                let prev_ts = self.slots.get(i - 1).map(|p| p.timestamp);
                prev_ts != Some(s.timestamp) && self.complete_frame_len(i).is_some()
            })
            .map(|(i, _)| i)
    }

    /// Index of the first packet after the head that starts a new frame.
    fn resync_point(&self) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .skip(1)
            .find(|&(i, s)| {
                s.start && self.slots.get(i - 1).map(|p| p.timestamp) != Some(s.timestamp)
            })
            .map(|(i, _)| i)
    }
}
