//! Transmit side: the send queue (messages cut into DATA chunks at send
//! time), outstanding data awaiting acknowledgement, RTO (RFC 9260 §6.3) and
//! congestion control (§7.2: slow start, congestion avoidance, fast
//! retransmit and recovery).

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::FxHashMap as HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::chunk::{Data, Sack};
use crate::tsn::{Tsn, TsnRing};

/// Partial reliability of one message (RFC 3758): give up after this many
/// retransmissions, or once this instant has passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reliability {
    /// Retransmissions allowed (0: sent once).
    pub max_retransmits: Option<u32>,
    /// Abandon at this time.
    pub expires: Option<Instant>,
}

/// A message waiting to be sent.
#[derive(Debug)]
struct Pending {
    stream: u16,
    ppid: u32,
    unordered: bool,
    ssn: u16,
    data: Bytes,
    offset: usize,
    id: u64,
    rel: Reliability,
}

/// Messages not yet cut into chunks.
#[derive(Debug, Default)]
pub struct SendQueue {
    queue: VecDeque<Pending>,
    next_ssn: HashMap<u16, u16>,
    /// Bytes not yet sent, per stream.
    pub buffered: HashMap<u16, usize>,
    /// Bytes not yet sent, in all.
    pub total: usize,
    /// Messages that expired before being sent: (id, stream).
    pub expired: Vec<(u64, u16)>,
}

impl SendQueue {
    /// Queues a message (non-empty).
    pub fn push(
        &mut self,
        stream: u16,
        ppid: u32,
        unordered: bool,
        data: Bytes,
        id: u64,
        rel: Reliability,
    ) {
        let ssn = if unordered {
            0
        } else {
            let n = self.next_ssn.entry(stream).or_insert(0);
            let s = *n;
            *n = n.wrapping_add(1);
            s
        };
        *self.buffered.entry(stream).or_insert(0) += data.len();
        self.total += data.len();
        self.queue.push_back(Pending {
            stream,
            ppid,
            unordered,
            ssn,
            data,
            offset: 0,
            id,
            rel,
        });
    }

    /// Whether anything waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Cuts the next chunk of at most `max_payload` bytes, assigning `tsn`.
    pub fn next_chunk(
        &mut self,
        tsn: Tsn,
        max_payload: usize,
        now: Instant,
    ) -> Option<(Data, u64, Reliability)> {
        // Messages whose lifetime ran out before their first byte went out
        // are dropped here, no TSN spent (RFC 3758 §3.3 A1).
        while let Some(p) = self.queue.front() {
            if p.offset == 0 && p.rel.expires.is_some_and(|e| now >= e) {
                let p = self.queue.pop_front()?;
                if let Some(b) = self.buffered.get_mut(&p.stream) {
                    *b -= p.data.len();
                }
                self.total -= p.data.len();
                self.expired.push((p.id, p.stream));
            } else {
                break;
            }
        }
        let p = self.queue.front_mut()?;
        let (id, rel) = (p.id, p.rel);
        let n = (p.data.len() - p.offset).min(max_payload.max(1));
        let begin = p.offset == 0;
        let payload = p.data.slice(p.offset..p.offset + n);
        p.offset += n;
        let end = p.offset == p.data.len();
        let d = Data {
            tsn,
            stream: p.stream,
            ssn: p.ssn,
            ppid: p.ppid,
            unordered: p.unordered,
            begin,
            end,
            immediate: false,
            payload,
        };
        if let Some(b) = self.buffered.get_mut(&p.stream) {
            *b -= n;
        }
        self.total -= n;
        if end {
            self.queue.pop_front();
        }
        Some((d, id, rel))
    }

    /// The stream was reset: its next SSN is 0 again.
    pub fn reset_ssn(&mut self, stream: u16) {
        self.next_ssn.remove(&stream);
    }

    /// Drops what is left unsent of message `id` (it was abandoned).
    pub fn drop_message(&mut self, id: u64) {
        if let Some(pos) = self.queue.iter().position(|p| p.id == id) {
            if let Some(p) = self.queue.remove(pos) {
                let left = p.data.len() - p.offset;
                if let Some(b) = self.buffered.get_mut(&p.stream) {
                    *b -= left;
                }
                self.total -= left;
            }
        }
    }
}

/// A chunk in flight.
#[derive(Debug)]
pub struct Outstanding {
    /// The chunk.
    pub data: Data,
    /// When last sent.
    pub sent_at: Instant,
    /// Times sent.
    pub transmissions: u32,
    /// Reported by a gap ack block.
    pub gap_acked: bool,
    /// Miss indications (RFC 9260 §7.2.4).
    pub misses: u32,
    /// Marked for retransmission.
    pub retransmit: bool,
    /// The message it belongs to.
    pub message: u64,
    /// The message's partial reliability.
    pub rel: Reliability,
}

/// Congestion and retransmission state.
#[derive(Debug)]
pub struct Sender {
    /// In flight, by TSN.
    pub outstanding: TsnRing<Outstanding>,
    /// Bytes in flight (not gap-acked, not marked for retransmission).
    pub flight_bytes: usize,
    /// Congestion window.
    pub cwnd: usize,
    /// Slow-start threshold.
    pub ssthresh: usize,
    partial_bytes_acked: usize,
    /// The peer's receive window from its last SACK, less what we sent since.
    pub peer_rwnd: usize,
    /// TSNs marked for retransmission, oldest first (no scan per packet).
    to_retransmit: std::collections::BTreeSet<Tsn>,
    /// Bytes outstanding (not gap-acked) per stream, for bufferedAmount.
    pub inflight_by_stream: HashMap<u16, usize>,
    /// Abandoned TSNs not yet covered by the peer's cumulative ack:
    /// (stream, ssn, unordered), for FORWARD TSN (RFC 3758 §3.5).
    abandoned: BTreeMap<Tsn, (u16, u16, bool)>,
    /// Messages abandoned since last asked: (id, stream).
    pub abandoned_messages: Vec<(u64, u16)>,
    /// Fast recovery until the cumulative ack passes this.
    fast_recovery_exit: Option<Tsn>,
    /// A fast retransmit may send one chunk beyond cwnd.
    fast_bypass: bool,
    /// The one chunk being timed (RFC 9260 §6.3.1 C5: one RTT measurement
    /// per round trip). Timing every newly acked chunk let chunks acked
    /// late (lost SACKs, gap reports past 64 blocks) inflate SRTT to minutes.
    rtt_probe: Option<(Tsn, Instant)>,
    /// The highest TSN acknowledged so far.
    highest_acked: Tsn,
    /// When the newest acknowledged chunk was (last) sent.
    newest_acked_sent: Option<Instant>,
    /// A chunk sent once was acknowledged after a higher one: the path reorders.
    reordering_seen: bool,
    /// The RACK reorder timer.
    rack_at: Option<Instant>,
    /// What to restore if the last fast recovery proves spurious.
    undo: Option<Undo>,
    /// Fast recoveries undone because their retransmissions were spurious.
    pub spurious_recoveries: u64,
    /// Next TSN to assign.
    pub next_tsn: Tsn,
    /// Last cumulative TSN acknowledged.
    pub cumulative_acked: Tsn,
    srtt: Option<Duration>,
    rttvar: Duration,
    /// Current RTO (backed off after T3 expiries).
    pub rto: Duration,
    /// The RTO as measured (SRTT + 4·RTTVAR), before any back-off.
    rto_measured: Duration,
    rto_min: Duration,
    rto_max: Duration,
    mtu: usize,
}

/// The window before a fast recovery, kept until its retransmissions are
/// known to have been needed or not.
#[derive(Debug)]
struct Undo {
    cwnd: usize,
    ssthresh: usize,
    retransmitted: Vec<Tsn>,
    reported: usize,
}

/// What a SACK did.
#[derive(Debug, Default)]
pub struct SackOutcome {
    /// Bytes newly acknowledged.
    pub acked_bytes: usize,
    /// Whether the cumulative point advanced.
    pub advanced: bool,
}

impl Sender {
    /// A sender whose first TSN is `initial`.
    pub fn new(
        initial: Tsn,
        mtu: usize,
        peer_rwnd: usize,
        rto_initial: Duration,
        rto_min: Duration,
        rto_max: Duration,
    ) -> Self {
        Sender {
            outstanding: TsnRing::new(initial),
            flight_bytes: 0,
            // RFC 9260 §7.2.1: min(4·MTU, max(2·MTU, 4380)).
            cwnd: (4 * mtu).min((2 * mtu).max(4380)),
            ssthresh: peer_rwnd.max(4 * mtu),
            partial_bytes_acked: 0,
            to_retransmit: std::collections::BTreeSet::new(),
            abandoned: BTreeMap::new(),
            abandoned_messages: Vec::new(),
            inflight_by_stream: HashMap::default(),
            peer_rwnd,
            fast_recovery_exit: None,
            fast_bypass: false,
            rtt_probe: None,
            highest_acked: Tsn(initial.0.wrapping_sub(1)),
            newest_acked_sent: None,
            reordering_seen: false,
            rack_at: None,
            undo: None,
            spurious_recoveries: 0,
            next_tsn: initial,
            cumulative_acked: Tsn(initial.0.wrapping_sub(1)),
            srtt: None,
            rttvar: Duration::ZERO,
            rto: rto_initial,
            rto_measured: rto_initial,
            rto_min,
            rto_max,
            mtu,
        }
    }

    /// Room in the congestion and receive windows for new data.
    pub fn can_send(&self, len: usize) -> bool {
        let cwnd_ok = self.flight_bytes < self.cwnd;
        // A closed window still lets one chunk through when nothing is in
        // flight: the zero-window probe (RFC 9260 §6.1 rule A).
        let rwnd_ok = len <= self.peer_rwnd || self.flight_bytes == 0;
        cwnd_ok && rwnd_ok
    }

    /// Records a first transmission.
    pub fn sent(&mut self, d: Data, now: Instant, message: u64, rel: Reliability) {
        if d.tsn >= self.next_tsn {
            self.next_tsn = d.tsn.next();
        }
        let len = d.payload.len();
        if self.rtt_probe.is_none() {
            self.rtt_probe = Some((d.tsn, now));
        }
        self.flight_bytes += len;
        *self.inflight_by_stream.entry(d.stream).or_insert(0) += len;
        self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
        self.outstanding.insert(
            d.tsn,
            Outstanding {
                data: d,
                sent_at: now,
                transmissions: 1,
                gap_acked: false,
                misses: 0,
                retransmit: false,
                message,
                rel,
            },
            usize::MAX, // TSNs are assigned in order: always the next slot
        );
    }

    /// Takes an RTT measurement (also from HEARTBEAT ACKs, RFC 9260 §8.3).
    pub fn rtt_sample(&mut self, r: Duration) {
        // RFC 9260 §6.3.1 (RTO.Alpha = 1/8, RTO.Beta = 1/4).
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(s * 7 / 8 + r / 8);
            }
        }
        let s = self.srtt.unwrap_or(r);
        self.rto =
            (s + (self.rttvar * 4).max(Duration::from_millis(1))).clamp(self.rto_min, self.rto_max);
        self.rto_measured = self.rto;
    }

    /// Smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// Processes a SACK (RFC 9260 §6.2.1, §7.2).
    pub fn on_sack(&mut self, s: &Sack, now: Instant) -> SackOutcome {
        let mut out = SackOutcome::default();
        let cum = Tsn(s.cumulative_tsn);
        if cum < self.cumulative_acked {
            return out; // an old SACK, out of order
        }
        if cum >= self.next_tsn {
            return out; // acks what we never sent: ignore rather than corrupt state
        }
        // Cumulatively acknowledged chunks.
        let mut rtt: Option<Duration> = None;
        let mut newest_acked_sent: Option<Instant> = None;
        while let Some((tsn, o)) = self.outstanding.pop_through(cum) {
            {
                let len = o.data.payload.len();
                if !o.gap_acked && !o.retransmit {
                    self.flight_bytes -= len;
                }
                if o.retransmit {
                    self.to_retransmit.remove(&tsn);
                }
                if !o.gap_acked {
                    out.acked_bytes += len;
                    self.stream_acked(o.data.stream, len);
                    if o.transmissions == 1 && tsn < self.highest_acked {
                        self.reordering_seen = true;
                    }
                    newest_acked_sent = newest_acked_sent.max(Some(o.sent_at));
                }
                if self.rtt_probe.is_some_and(|(p, _)| p == tsn) && o.transmissions == 1 {
                    rtt = Some(now.saturating_duration_since(o.sent_at));
                }
            }
        }
        if cum > self.cumulative_acked {
            out.advanced = true;
            self.cumulative_acked = cum;
        }
        self.abandoned = self.abandoned.split_off(&cum.next());
        // Gap-acked chunks, and miss indications for the holes below the
        // highest newly acknowledged TSN (RFC 9260 §7.2.4 HTNA).
        let mut highest_new: Option<(Tsn, Instant)> = None;
        for &(a, b) in &s.gaps {
            if a == 0 || b < a {
                continue;
            }
            for off in a..=b {
                let t = cum.plus(u32::from(off));
                if let Some(o) = self.outstanding.get_mut(t) {
                    if !o.gap_acked {
                        o.gap_acked = true;
                        if o.transmissions == 1 && t < self.highest_acked {
                            self.reordering_seen = true;
                        }
                        let sent = o.sent_at;
                        highest_new =
                            Some(highest_new.map_or((t, sent), |(h, s)| (h.max(t), s.max(sent))));
                        if self.rtt_probe.is_some_and(|(p, _)| p == t) && o.transmissions == 1 {
                            rtt = Some(now.saturating_duration_since(o.sent_at));
                        }
                        let len = o.data.payload.len();
                        let stream = o.data.stream;
                        if o.retransmit {
                            self.to_retransmit.remove(&t);
                        } else {
                            self.flight_bytes -= len;
                        }
                        o.retransmit = false;
                        out.acked_bytes += len;
                        if let Some(b) = self.inflight_by_stream.get_mut(&stream) {
                            *b = b.saturating_sub(len);
                        }
                    }
                }
            }
        }
        if let Some(r) = rtt {
            self.rtt_sample(r);
            self.rtt_probe = None;
        }
        // A probe the peer moved past without a sample (abandoned, or acked
        // in a SACK we never saw) is replaced by the next chunk sent.
        if self.rtt_probe.is_some_and(|(p, _)| p <= cum) {
            self.rtt_probe = None;
        }
        self.highest_acked = self.highest_acked.max(cum);
        if let Some((h, sent)) = highest_new {
            self.highest_acked = self.highest_acked.max(h);
            newest_acked_sent = newest_acked_sent.max(Some(sent));
        }
        if let Some(sent) = newest_acked_sent {
            self.newest_acked_sent = self.newest_acked_sent.max(Some(sent));
        }
        let mut fast_retransmit = false;
        if self.reordering_seen {
            // The path reorders: time-based loss detection (RACK, RFC 8985).
            fast_retransmit = self.rack_detect(now);
        } else if let Some((h, newest_sent)) = highest_new {
            for (t, o) in self.outstanding.iter_mut().take_while(|(t, _)| *t < h) {
                // Only chunks (re)sent no later than what was just acknowledged
                // count as missed: a retransmission still on its way is not
                // lost because older data arrived (no retransmission storms).
                if !o.gap_acked && !o.retransmit && o.sent_at <= newest_sent {
                    o.misses += 1;
                    if o.misses == 3 {
                        o.retransmit = true;
                        self.to_retransmit.insert(t);
                        self.flight_bytes -= o.data.payload.len();
                        fast_retransmit = true;
                    }
                }
            }
        }
        if !s.duplicates.is_empty() {
            self.check_undo(&s.duplicates);
        }
        // Congestion control.
        if let Some(exit) = self.fast_recovery_exit {
            if cum >= exit {
                self.fast_recovery_exit = None;
            }
        }
        if fast_retransmit {
            self.enter_fast_recovery();
        } else if out.advanced && self.fast_recovery_exit.is_none() {
            if self.cwnd <= self.ssthresh {
                // Slow start; the cwnd was in use if we had data in flight near it.
                self.cwnd += out.acked_bytes.min(self.mtu);
            } else {
                self.partial_bytes_acked += out.acked_bytes;
                if self.partial_bytes_acked >= self.cwnd {
                    self.partial_bytes_acked -= self.cwnd;
                    self.cwnd += self.mtu;
                }
            }
        }
        let in_flight: usize = self.flight_bytes;
        self.peer_rwnd = (s.a_rwnd as usize).saturating_sub(in_flight);
        if self.outstanding.is_empty() {
            self.partial_bytes_acked = 0;
        }
        out
    }

    fn enter_fast_recovery(&mut self) {
        self.fast_bypass = true;
        if self.fast_recovery_exit.is_none() {
            self.undo = Some(Undo {
                cwnd: self.cwnd,
                ssthresh: self.ssthresh,
                retransmitted: Vec::new(),
                reported: 0,
            });
            self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
            self.cwnd = self.ssthresh;
            self.partial_bytes_acked = 0;
            // Until the highest TSN outstanding now is acknowledged.
            self.fast_recovery_exit = Some(Tsn(self.next_tsn.0.wrapping_sub(1)));
        }
    }

    /// RACK (RFC 8985 §6.2), once the path has shown reordering: a chunk
    /// sent no later than the newest acknowledged one is lost once it has
    /// been out for SRTT plus a reordering window of SRTT/4; until then the
    /// reorder timer waits for it. Three miss reports alone no longer
    /// count, so reordering does not cause spurious retransmissions.
    fn rack_detect(&mut self, now: Instant) -> bool {
        self.rack_at = None;
        let (Some(newest), Some(srtt)) = (self.newest_acked_sent, self.srtt) else {
            return false;
        };
        let wait = srtt + srtt / 2;
        let mut lost = false;
        let mut next: Option<Instant> = None;
        for (t, o) in self.outstanding.iter_mut() {
            if t >= self.highest_acked {
                break;
            }
            if o.gap_acked || o.retransmit || o.sent_at > newest {
                continue;
            }
            let due = o.sent_at + wait;
            if now >= due {
                o.retransmit = true;
                self.to_retransmit.insert(t);
                self.flight_bytes -= o.data.payload.len();
                lost = true;
            } else {
                next = Some(next.map_or(due, |n: Instant| n.min(due)));
            }
        }
        self.rack_at = next;
        lost
    }

    /// When the RACK reorder timer is due.
    pub fn rack_timeout(&self) -> Option<Instant> {
        self.rack_at
    }

    /// The RACK reorder timer fired.
    pub fn on_rack_timeout(&mut self, now: Instant) {
        if self.rack_detect(now) {
            self.enter_fast_recovery();
        }
    }

    /// Duplicate TSNs the peer reported: if every chunk fast-retransmitted
    /// in the last recovery arrived twice, the originals were only late
    /// (reordering), and the window reduction is undone (as TCP does with
    /// D-SACK, RFC 3708).
    fn check_undo(&mut self, duplicates: &[u32]) {
        let Some(u) = &mut self.undo else {
            return;
        };
        for d in duplicates {
            if u.retransmitted.contains(&Tsn(*d)) {
                u.reported += 1;
            }
        }
        if !u.retransmitted.is_empty() && u.reported >= u.retransmitted.len() {
            self.cwnd = self.cwnd.max(u.cwnd);
            self.ssthresh = self.ssthresh.max(u.ssthresh);
            self.fast_recovery_exit = None;
            self.reordering_seen = true;
            self.spurious_recoveries += 1;
            self.undo = None;
        }
    }

    /// T3-rtx expired (RFC 9260 §6.3.3, §7.2.3): back off, mark everything
    /// outstanding for retransmission, collapse the window.
    pub fn on_t3_timeout(&mut self) {
        self.undo = None;
        let mut marked = false;
        for (t, o) in self.outstanding.iter_mut() {
            if !o.gap_acked && !o.retransmit {
                o.retransmit = true;
                self.to_retransmit.insert(t);
                self.flight_bytes -= o.data.payload.len();
                marked = true;
            }
        }
        // Back off only when data was lost. When everything outstanding is
        // gap-acked and only a FORWARD TSN is owed, doubling the RTO would
        // just delay the peer's catching up (minutes, under loss).
        if marked || !self.to_retransmit.is_empty() {
            self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
            self.cwnd = self.mtu;
            self.partial_bytes_acked = 0;
            self.rto = (self.rto * 2).min(self.rto_max);
            self.fast_recovery_exit = None;
        } else {
            self.rto = self.rto_measured;
        }
    }

    /// The next chunk marked for retransmission, if the window allows; it is
    /// counted in flight again.
    pub fn next_retransmission(
        &mut self,
        now: Instant,
        max_len: usize,
        fast: bool,
    ) -> Option<Data> {
        // On a fast retransmit one chunk may go beyond the window (RFC 9260
        // §7.2.4 step 3); everything else waits for room.
        let bypass = fast && self.fast_bypass;
        if !bypass && self.flight_bytes >= self.cwnd {
            return None;
        }
        let tsn = loop {
            let &tsn = self.to_retransmit.first()?;
            let o = self.outstanding.get(tsn)?;
            // RFC 3758 §3.5 A3: a chunk past its message's limits is abandoned, not resent.
            let give_up = o.rel.max_retransmits.is_some_and(|m| o.transmissions > m)
                || o.rel.expires.is_some_and(|e| now >= e);
            if !give_up {
                break tsn;
            }
            let id = o.message;
            self.abandon(id);
        };
        let o = self.outstanding.get_mut(tsn)?;
        if o.data.payload.len() > max_len {
            return None; // it goes in the next packet
        }
        self.to_retransmit.remove(&tsn);
        self.fast_bypass = false;
        if let Some(u) = &mut self.undo {
            if u.retransmitted.len() < 256 {
                u.retransmitted.push(tsn);
            } else {
                self.undo = None; // too much lost to be reordering
            }
        }
        o.retransmit = false;
        o.misses = 0;
        o.transmissions += 1;
        if self.rtt_probe.is_some_and(|(p, _)| p == tsn) {
            self.rtt_probe = None; // Karn: a retransmitted chunk gives no sample
        }
        o.sent_at = now;
        self.flight_bytes += o.data.payload.len();
        Some(o.data.clone())
    }

    /// Whether any chunk waits for retransmission.
    pub fn has_retransmissions(&self) -> bool {
        !self.to_retransmit.is_empty()
    }

    /// Abandons every outstanding chunk of message `id`.
    pub fn abandon(&mut self, id: u64) {
        let tsns: Vec<Tsn> = self
            .outstanding
            .iter()
            .filter(|(_, o)| o.message == id)
            .map(|(t, _)| t)
            .collect();
        let mut stream = None;
        for t in tsns {
            let Some(o) = self.outstanding.remove(t) else {
                continue;
            };
            let len = o.data.payload.len();
            if o.retransmit {
                self.to_retransmit.remove(&t);
            } else if !o.gap_acked {
                self.flight_bytes -= len;
            }
            if !o.gap_acked {
                self.stream_acked(o.data.stream, len);
            }
            stream = Some(o.data.stream);
            self.abandoned
                .insert(t, (o.data.stream, o.data.ssn, o.data.unordered));
        }
        if let Some(s) = stream {
            self.abandoned_messages.push((id, s));
        }
    }

    /// The FORWARD TSN to send, if abandoned chunks let the peer's ack point
    /// advance: the new cumulative TSN and the ordered streams' last skipped SSNs.
    pub fn forward_tsn(&self) -> Option<(Tsn, Vec<(u16, u16)>)> {
        let mut p = self.cumulative_acked;
        while self.abandoned.contains_key(&p.next()) {
            p = p.next();
        }
        if p == self.cumulative_acked {
            return None;
        }
        let mut streams: Vec<(u16, u16)> = Vec::new();
        for (_, &(stream, ssn, unordered)) in self.abandoned.range(..=p) {
            if unordered {
                continue;
            }
            match streams.iter_mut().find(|(s, _)| *s == stream) {
                Some(e) => e.1 = ssn,
                None => streams.push((stream, ssn)),
            }
        }
        Some((p, streams))
    }

    fn stream_acked(&mut self, stream: u16, len: usize) {
        if let Some(b) = self.inflight_by_stream.get_mut(&stream) {
            *b = b.saturating_sub(len);
        }
    }

    /// Whether nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.outstanding.is_empty() && self.abandoned.is_empty()
    }
}

#[cfg(test)]
// Tests need an arbitrary origin for time.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(
            Tsn(1),
            1200,
            1 << 20,
            Duration::from_secs(1),
            Duration::from_millis(200),
            Duration::from_secs(60),
        )
    }

    fn d(tsn: u32, len: usize) -> Data {
        Data {
            tsn: Tsn(tsn),
            stream: 0,
            ssn: 0,
            ppid: 0,
            unordered: false,
            begin: true,
            end: true,
            immediate: false,
            payload: vec![0; len].into(),
        }
    }

    #[test]
    fn slow_start_then_fast_retransmit_after_three_misses() {
        let now = Instant::now();
        let mut s = sender();
        let cwnd0 = s.cwnd;
        for t in 1..=4 {
            s.sent(d(t, 1000), now, 0, Reliability::default());
        }
        let o = s.on_sack(
            &Sack {
                cumulative_tsn: 1,
                a_rwnd: 1 << 20,
                ..Default::default()
            },
            now + Duration::from_millis(50),
        );
        assert!(o.advanced);
        assert_eq!(s.cwnd, cwnd0 + 1000);
        assert_eq!(s.srtt(), Some(Duration::from_millis(50)));
        // TSN 2 lost: three SACKs with gaps above it.
        for (i, hi) in [(0, 3u32), (1, 4), (2, 5)] {
            if hi == 5 {
                s.sent(d(5, 1000), now, 0, Reliability::default());
            }
            s.on_sack(
                &Sack {
                    cumulative_tsn: 1,
                    a_rwnd: 1 << 20,
                    gaps: vec![(2, (hi - 1) as u16)],
                    duplicates: vec![],
                },
                now,
            );
            let _ = i;
        }
        assert!(s.has_retransmissions());
        let r = s.next_retransmission(now, 1200, true).unwrap();
        assert_eq!(r.tsn, Tsn(2));
    }

    #[test]
    fn a_recovery_whose_retransmission_was_spurious_is_undone() {
        let now = Instant::now();
        let mut s = sender();
        s.cwnd = 20_000;
        for t in 1..=6 {
            s.sent(d(t, 1000), now, 0, Reliability::default());
        }
        // TSN 1 looks lost: three SACKs acknowledge 2, 3 and 4 above it.
        for hi in 2..=4u16 {
            s.on_sack(
                &Sack {
                    cumulative_tsn: 0,
                    a_rwnd: 1 << 20,
                    gaps: vec![(2, hi)],
                    duplicates: vec![],
                },
                now,
            );
        }
        assert_eq!(s.cwnd, 10_000, "halved on fast retransmit");
        assert_eq!(s.next_retransmission(now, 1200, true).unwrap().tsn, Tsn(1));
        // The original was only late: the peer reports TSN 1 twice.
        s.on_sack(
            &Sack {
                cumulative_tsn: 6,
                a_rwnd: 1 << 20,
                gaps: vec![],
                duplicates: vec![1],
            },
            now,
        );
        assert!(s.cwnd >= 20_000, "restored (then grown): {}", s.cwnd);
        assert_eq!(s.spurious_recoveries, 1);
        assert!(s.reordering_seen, "and loss detection turns time-based");
    }

    #[test]
    fn t3_timeout_collapses_the_window_and_backs_off() {
        let now = Instant::now();
        let mut s = sender();
        s.sent(d(1, 500), now, 0, Reliability::default());
        s.on_t3_timeout();
        assert_eq!(s.cwnd, 1200);
        assert_eq!(s.rto, Duration::from_secs(2));
        assert_eq!(s.flight_bytes, 0);
        assert_eq!(s.next_retransmission(now, 1200, false).unwrap().tsn, Tsn(1));
    }

    #[test]
    fn a_sack_for_unsent_tsns_is_ignored() {
        let now = Instant::now();
        let mut s = sender();
        s.sent(d(1, 500), now, 0, Reliability::default());
        let o = s.on_sack(
            &Sack {
                cumulative_tsn: 1000,
                a_rwnd: 1,
                ..Default::default()
            },
            now,
        );
        assert!(!o.advanced);
        assert_eq!(s.outstanding.len(), 1);
    }
}
