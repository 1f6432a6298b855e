//! The 64-record anti-replay window (RFC 6347 §4.1.2.6).

/// Tracks which sequence numbers of one epoch have been accepted.
#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    max: Option<u64>,
    bits: u64,
}

impl ReplayWindow {
    /// Window size in records.
    pub const SIZE: u64 = 64;

    /// Whether `seq` would be fresh (not yet seen, not too old). Check before
    /// decrypting; [`accept`](Self::accept) only after the record authenticated.
    pub fn check(&self, seq: u64) -> bool {
        match self.max {
            None => true,
            Some(max) if seq > max => true,
            Some(max) => {
                let back = max - seq;
                back < Self::SIZE && self.bits & (1 << back) == 0
            }
        }
    }

    /// Marks `seq` as received.
    pub fn accept(&mut self, seq: u64) {
        match self.max {
            None => {
                self.max = Some(seq);
                self.bits = 1;
            }
            Some(max) if seq > max => {
                let shift = seq - max;
                self.bits = if shift >= Self::SIZE {
                    0
                } else {
                    self.bits << shift
                };
                self.bits |= 1;
                self.max = Some(seq);
            }
            Some(max) => {
                let back = max - seq;
                if back < Self::SIZE {
                    self.bits |= 1 << back;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_old_records_are_refused() {
        let mut w = ReplayWindow::default();
        for s in [5u64, 7, 6, 100] {
            assert!(w.check(s));
            w.accept(s);
        }
        assert!(!w.check(100));
        assert!(
            !w.check(7),
            "seen, and still inside the window? 100-7 >= 64, so too old"
        );
        assert!(w.check(99));
        assert!(!w.check(36), "older than the window");
        assert!(w.check(37));
        w.accept(37);
        assert!(!w.check(37));
        w.accept(1000);
        assert!(!w.check(100));
        assert!(w.check(999));
    }
}
