//! Transport-wide congestion-control feedback (draft-holmer-rmcat-
//! transport-wide-cc-extensions-01): the arrival time of every packet that
//! carried a transport-wide sequence number, reported back every 100 ms so
//! the peer's bandwidth estimator (Chromium's goog_cc) can run.

use std::time::{Duration, Instant};

use tern_rtp::rtcp::TwccWriter;
use tern_rtp::{SeqNo, SeqNoUnwrapper};

/// How often feedback goes out while packets arrive (libwebrtc: 100 ms,
/// faster at high rates).
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);
/// Arrivals kept between two feedbacks (a burst beyond this is reported
/// as lost rather than growing memory).
const MAX_PENDING: usize = 8192;

#[derive(Debug, Default)]
pub(crate) struct TwccRecorder {
    unwrap: SeqNoUnwrapper,
    /// (extended transport sequence number, arrival µs since `epoch`).
    pending: Vec<(u64, i64)>,
    epoch: Option<Instant>,
    next_at: Option<Instant>,
    feedback_count: u8,
    /// The first sequence number the next feedback reports, so losses at
    /// the start of an interval are reported too.
    next_base: Option<u64>,
    pub sent: u64,
}

impl TwccRecorder {
    pub fn record(&mut self, now: Instant, seq: u16) {
        let ext = self.unwrap.unwrap(SeqNo(seq)).0;
        let epoch = *self.epoch.get_or_insert(now);
        if self.pending.len() >= MAX_PENDING {
            return;
        }
        let us = now.saturating_duration_since(epoch).as_micros() as i64;
        self.pending.push((ext, us));
        if self.next_at.is_none() {
            self.next_at = Some(now + INTERVAL);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    /// The feedback packets due at `now` (empty if none is).
    pub fn poll_feedback(&mut self, now: Instant, sender: u32, media: u32) -> Vec<Vec<u8>> {
        if self.next_at.is_none_or(|t| t > now) || self.pending.is_empty() {
            return Vec::new();
        }
        self.next_at = None;
        let mut p = std::mem::take(&mut self.pending);
        p.sort_unstable_by_key(|e| e.0);
        p.dedup_by_key(|e| e.0);
        // Anything older than what was already reported is left out.
        if let Some(b) = self.next_base {
            p.retain(|e| e.0 >= b);
        }
        let Some(&(first, _)) = p.first() else {
            return Vec::new();
        };
        let start = self
            .next_base
            .map_or(first, |b| b.max(first.saturating_sub(0x7fff)));
        let mut entries: Vec<(u16, Option<i64>)> = Vec::with_capacity(p.len() + 1);
        if start < first {
            // Report the gap since the last feedback as lost.
            entries.push((start as u16, None));
        }
        let mut prev = entries.last().map(|_| start);
        for (ext, us) in &p {
            if prev.is_some_and(|q| ext - q > 0x8000) {
                // Too far for one feedback's sequence space: restart there.
                entries.clear();
            }
            entries.push((*ext as u16, Some(*us)));
            prev = Some(*ext);
        }
        self.next_base = p.last().map(|e| e.0 + 1);
        let Ok(mut w) = TwccWriter::new(sender, media, &entries, self.feedback_count) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1200];
        while let Ok(Some(n)) = w.write_next(&mut buf) {
            out.push(buf[..n].to_vec());
        }
        self.feedback_count = w.next_feedback_count();
        self.sent += out.len() as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_rtp::rtcp::TransportFeedback;

    fn parse(p: &[u8]) -> Vec<(u16, bool)> {
        TransportFeedback::new_checked(p)
            .unwrap()
            .packets()
            .map(|(s, a)| (s, a.is_some()))
            .collect()
    }

    #[test]
    fn reports_arrivals_and_gaps_across_feedbacks() {
        #[allow(clippy::disallowed_methods)] // a fixed origin for virtual time
        let t0 = Instant::now();
        let mut r = TwccRecorder::default();
        for s in [65534u16, 65535, 1] {
            r.record(t0, s);
        }
        assert!(r.poll_feedback(t0, 1, 2).is_empty(), "not due yet");
        let fb = r.poll_feedback(t0 + INTERVAL, 1, 2);
        assert_eq!(fb.len(), 1);
        assert_eq!(
            parse(&fb[0]),
            [(65534, true), (65535, true), (0, false), (1, true)]
        );
        r.record(t0 + INTERVAL, 4);
        let fb = r.poll_feedback(t0 + 2 * INTERVAL, 1, 2);
        // 2 and 3 never came: reported lost at the start of this feedback.
        assert_eq!(parse(&fb[0]), [(2, false), (3, false), (4, true)]);
        assert_eq!(r.sent, 2);
    }
}
