//! Packet index estimation (RFC 3711 §3.3.1 and Appendix A) and the replay
//! list (RFC 3711 §3.3.2), per SSRC.

/// Largest replay window this crate keeps: the ring below has this many bits.
pub const MAX_REPLAY_WINDOW: usize = 1024;
/// Smallest replay window accepted by the configuration (RFC 3711 §3.3.2 says
/// at least 64; we insist on 128).
pub const MIN_REPLAY_WINDOW: usize = 128;

const WORDS: usize = MAX_REPLAY_WINDOW / 64;
/// A 48-bit SRTP packet index: ROC is the high 32 bits, SEQ the low 16.
const MAX_SRTP_INDEX: u64 = (1 << 48) - 1;

/// Why a packet index is refused by the replay list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Already received.
    Replay,
    /// Behind the window, or before the stream's first packet.
    TooOld,
    /// The ROC would pass 2^32 - 1.
    Exhausted,
}

/// RFC 3711 Appendix A: the index `SEQ + v * 2^16` closest to `highest`,
/// the largest index received (or sent) so far on the stream.
///
/// `v` is ROC - 1, ROC or ROC + 1 depending on which half of the sequence
/// space `s_l` is in. Where the RFC's `ROC - 1` would underflow (a packet
/// from "before" index 0), the packet is [`Refusal::TooOld`]; where
/// `ROC + 1` would overflow 2^32 the index space is exhausted.
pub fn estimate_index(highest: u64, seq: u16) -> Result<u64, Refusal> {
    let roc = highest >> 16;
    let s_l = (highest & 0xffff) as u16;
    let v = if s_l < 0x8000 {
        if seq > s_l && seq - s_l > 0x8000 {
            roc.checked_sub(1).ok_or(Refusal::TooOld)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        roc + 1
    } else {
        roc
    };
    let index = (v << 16) | u64::from(seq);
    if index > MAX_SRTP_INDEX {
        return Err(Refusal::Exhausted);
    }
    Ok(index)
}

/// A sliding window over the last `window` indices below the highest one
/// accepted (RFC 3711 §3.3.2), kept as a ring of bits indexed by
/// `index mod 1024`, so advancing never shifts the whole bitmap.
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    highest: u64,
    bits: [u64; WORDS],
}

impl ReplayWindow {
    /// A window whose first accepted index is `first`.
    pub fn new(first: u64) -> Self {
        let mut w = ReplayWindow {
            highest: first,
            bits: [0; WORDS],
        };
        w.set(first);
        w
    }

    /// The highest index accepted so far.
    pub fn highest(&self) -> u64 {
        self.highest
    }

    fn slot(index: u64) -> (usize, u64) {
        let bit = (index % MAX_REPLAY_WINDOW as u64) as usize;
        (bit / 64, 1u64 << (bit % 64))
    }

    fn get(&self, index: u64) -> bool {
        let (w, m) = Self::slot(index);
        self.bits.get(w).is_some_and(|x| x & m != 0)
    }

    fn set(&mut self, index: u64) {
        let (w, m) = Self::slot(index);
        if let Some(x) = self.bits.get_mut(w) {
            *x |= m;
        }
    }

    fn clear(&mut self, index: u64) {
        let (w, m) = Self::slot(index);
        if let Some(x) = self.bits.get_mut(w) {
            *x &= !m;
        }
    }

    /// RFC 3711 §3.3.2: may `index` be accepted? `window` is at most
    /// [`MAX_REPLAY_WINDOW`]. Changes nothing: call [`accept`](Self::accept)
    /// once the packet has authenticated.
    pub fn check(&self, index: u64, window: usize) -> Result<(), Refusal> {
        if index > self.highest {
            return Ok(());
        }
        let behind = self.highest - index;
        if behind >= window.min(MAX_REPLAY_WINDOW) as u64 {
            return Err(Refusal::TooOld);
        }
        if self.get(index) {
            return Err(Refusal::Replay);
        }
        Ok(())
    }

    /// Records `index` as received, sliding the window forward if it is new
    /// highest. Only for an index [`check`](Self::check) allowed.
    pub fn accept(&mut self, index: u64) {
        if index > self.highest {
            let ahead = index - self.highest;
            if ahead >= MAX_REPLAY_WINDOW as u64 {
                self.bits = [0; WORDS];
            } else {
                // Slots between the old and new highest now stand for indices
                // not yet seen; they still hold bits from a lap ago.
                for i in self.highest + 1..index {
                    self.clear(i);
                }
            }
            self.highest = index;
        }
        self.set(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(roc: u64, seq: u16) -> u64 {
        (roc << 16) | u64::from(seq)
    }

    #[test]
    fn estimate_follows_appendix_a() {
        // In the middle: same ROC either side.
        assert_eq!(estimate_index(idx(3, 1000), 1001), Ok(idx(3, 1001)));
        assert_eq!(estimate_index(idx(3, 1000), 999), Ok(idx(3, 999)));
        // Just after a wrap, a late packet from before it belongs to ROC - 1.
        assert_eq!(estimate_index(idx(3, 5), 65530), Ok(idx(2, 65530)));
        // Just before a wrap, an early packet from after it belongs to ROC + 1.
        assert_eq!(estimate_index(idx(3, 65530), 4), Ok(idx(4, 4)));
        // Half way boundaries.
        assert_eq!(estimate_index(idx(1, 0), 0x8000), Ok(idx(1, 0x8000)));
        assert_eq!(estimate_index(idx(1, 0), 0x8001), Ok(idx(0, 0x8001)));
        assert_eq!(estimate_index(idx(1, 0x8000), 0), Ok(idx(1, 0)));
        assert_eq!(estimate_index(idx(1, 0x8001), 0), Ok(idx(2, 0)));
        // ROC 0: a packet from "before" the stream started.
        assert_eq!(estimate_index(idx(0, 5), 65530), Err(Refusal::TooOld));
        // ROC at its maximum cannot advance.
        assert_eq!(
            estimate_index(idx(0xffff_ffff, 65530), 4),
            Err(Refusal::Exhausted)
        );
        assert_eq!(
            estimate_index(idx(0xffff_ffff, 65530), 65535),
            Ok(MAX_SRTP_INDEX)
        );
    }

    #[test]
    fn window_rejects_replays_and_old_packets() {
        let mut w = ReplayWindow::new(1000);
        assert_eq!(w.check(1000, 128), Err(Refusal::Replay));
        assert_eq!(w.check(999, 128), Ok(()));
        assert_eq!(w.check(873, 128), Ok(()));
        assert_eq!(w.check(872, 128), Err(Refusal::TooOld));
        w.accept(999);
        assert_eq!(w.check(999, 128), Err(Refusal::Replay));
        w.accept(1010);
        assert_eq!(w.highest(), 1010);
        for i in 1001..1010 {
            assert_eq!(w.check(i, 128), Ok(()), "{i}");
        }
        assert_eq!(w.check(1010, 128), Err(Refusal::Replay));
        assert_eq!(w.check(1000, 128), Err(Refusal::Replay));
        // A larger configured window reaches further back.
        let w = ReplayWindow::new(5000);
        assert_eq!(w.check(5000 - 1023, 1024), Ok(()));
        assert_eq!(w.check(5000 - 1024, 1024), Err(Refusal::TooOld));
        assert_eq!(w.check(5000 - 1023, 2048), Ok(()));
        assert_eq!(w.check(5000 - 1024, 2048), Err(Refusal::TooOld));
    }

    #[test]
    fn ring_slots_are_cleared_when_reused() {
        let mut w = ReplayWindow::new(0);
        for i in 1..3000u64 {
            assert_eq!(w.check(i, 1024), Ok(()), "{i}");
            w.accept(i);
            if i >= 1024 {
                // The slot i shares with i - 1024 must not leak that bit onto
                // the unseen i + 1.
                assert_eq!(w.check(i + 1, 1024), Ok(()));
            }
        }
        // A jump of more than the ring clears everything.
        w.accept(10_000);
        assert_eq!(w.check(9_999, 1024), Ok(()));
        assert_eq!(w.check(10_000 - 1023, 1024), Ok(()));
        assert_eq!(w.check(10_000, 1024), Err(Refusal::Replay));
        // A jump of less than the ring clears the skipped slots only.
        w.accept(9_990);
        w.accept(10_500);
        assert_eq!(w.check(9_990, 1024), Err(Refusal::Replay));
        assert_eq!(w.check(10_499, 1024), Ok(()));
        assert_eq!(w.check(10_000, 1024), Err(Refusal::Replay));
    }
}
