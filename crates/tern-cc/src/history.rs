//! The send-time history that turns feedback into [`PacketResult`]s: each
//! packet with a transport-wide sequence number is kept from when it left
//! until feedback covers it (or it is too old to matter).

use std::collections::VecDeque;
use std::time::Duration;

use crate::{PacketResult, SentPacket};

/// Packets kept at most (about 10 s at 1,000 packets a second).
const MAX_PACKETS: usize = 10_000;
/// Packets older than this are forgotten even without feedback.
const MAX_AGE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Entry {
    packet: SentPacket,
    reported: bool,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct SendHistory {
    /// Consecutive sequence numbers from `first`.
    entries: VecDeque<Entry>,
    first: u64,
    next: u64,
    /// Feedback entries for packets never sent, or already reported.
    pub unknown_feedback: u64,
    /// Bytes sent that feedback has not yet covered.
    in_flight: u64,
}

impl SendHistory {
    /// A new history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a packet as it leaves. Sequence numbers are consecutive;
    /// after a gap the history starts over (a packet that took a number
    /// and was not sent must not be taken for a lost one).
    pub fn on_sent(&mut self, packet: SentPacket) {
        if self.entries.is_empty() {
            self.first = packet.seq;
        } else if packet.seq != self.next {
            // Not consecutive: start over rather than misattribute.
            self.entries.clear();
            self.first = packet.seq;
            self.in_flight = 0;
        }
        self.next = packet.seq + 1;
        self.in_flight += packet.size as u64;
        self.entries.push_back(Entry {
            packet,
            reported: false,
        });
        while self.entries.len() > MAX_PACKETS
            || self.entries.front().is_some_and(|e| {
                packet.sent_at.saturating_duration_since(e.packet.sent_at) > MAX_AGE
            })
        {
            if let Some(e) = self.entries.pop_front() {
                if !e.reported {
                    self.in_flight = self.in_flight.saturating_sub(e.packet.size as u64);
                }
            }
            self.first += 1;
        }
    }

    /// Bytes sent that no feedback has covered yet.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// The extended sequence number a 16-bit one names: the one nearest
    /// the packets sent.
    fn extend(&self, seq: u16) -> Option<u64> {
        if self.next == 0 {
            return None;
        }
        let last = self.next - 1;
        let diff = (seq.wrapping_sub(last as u16)) as i16 as i64;
        let ext = last as i64 + diff;
        (ext >= 0).then_some(ext as u64)
    }

    /// The results of one feedback's entries `(sequence number, arrival
    /// in µs of the receiver's clock or None when lost)`, in the order
    /// given; entries for packets never sent or already reported are
    /// skipped and counted.
    pub fn on_feedback(
        &mut self,
        entries: impl IntoIterator<Item = (u16, Option<i64>)>,
        out: &mut Vec<PacketResult>,
    ) {
        for (seq, received_us) in entries {
            let Some(ext) = self.extend(seq) else {
                self.unknown_feedback += 1;
                continue;
            };
            let Some(e) = ext
                .checked_sub(self.first)
                .and_then(|i| self.entries.get_mut(i as usize))
            else {
                self.unknown_feedback += 1;
                continue;
            };
            if e.reported {
                // A loss reported before may be reported received later
                // (libwebrtc's feedback repeats what it had not seen);
                // the first report counts.
                self.unknown_feedback += 1;
                continue;
            }
            e.reported = true;
            self.in_flight = self.in_flight.saturating_sub(e.packet.size as u64);
            out.push(PacketResult {
                sent: e.packet,
                received_us,
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // an arbitrary origin for virtual time
mod tests {
    use super::*;
    use std::time::Instant;

    fn sent(seq: u64, at: Instant) -> SentPacket {
        SentPacket {
            seq,
            size: 1000,
            sent_at: at,
            probe_cluster: None,
        }
    }

    #[test]
    fn feedback_across_the_16_bit_wrap_finds_its_packets() {
        let t0 = Instant::now();
        let mut h = SendHistory::new();
        for s in 65_530..65_545u64 {
            h.on_sent(sent(s, t0));
        }
        assert_eq!(h.in_flight(), 15_000);
        let mut out = Vec::new();
        h.on_feedback(
            [
                (65_534u16, Some(10)),
                (65_535, None),
                (0, Some(30)),
                (8, Some(40)),
            ],
            &mut out,
        );
        let seqs: Vec<u64> = out.iter().map(|r| r.sent.seq).collect();
        assert_eq!(seqs, vec![65_534, 65_535, 65_536, 65_544]);
        assert_eq!(out[1].received_us, None);
        assert_eq!(h.in_flight(), 11_000);
    }

    #[test]
    fn unknown_and_repeated_feedback_is_skipped_and_counted() {
        let t0 = Instant::now();
        let mut h = SendHistory::new();
        let mut out = Vec::new();
        h.on_feedback([(5u16, Some(1))], &mut out);
        assert!(out.is_empty());
        for s in 0..10 {
            h.on_sent(sent(s, t0));
        }
        h.on_feedback(
            [
                (3u16, Some(1)),
                (3, Some(2)),
                (40, Some(3)),
                (60_000, Some(4)),
            ],
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(h.unknown_feedback, 4);
    }

    #[test]
    fn memory_is_bounded_without_feedback() {
        let t0 = Instant::now();
        let mut h = SendHistory::new();
        for s in 0..50_000u64 {
            h.on_sent(sent(s, t0 + Duration::from_micros(s * 100)));
        }
        assert!(h.entries.len() <= MAX_PACKETS);
        assert!(h.in_flight() <= (MAX_PACKETS * 1000) as u64);
    }
}
