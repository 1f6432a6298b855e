//! Randomness: the operating system's CSPRNG, and a seedable generator for
//! deterministic tests and simulations.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A source of random bytes. Protocol crates take one of these instead of
/// calling a global generator, so a simulation with a fixed seed replays
/// exactly.
pub trait Random {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);

    /// A uniformly random `u32`.
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_le_bytes(b)
    }

    /// A uniformly random `u64`.
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// A uniformly random value in `0..bound` (`bound` > 0), without modulo bias.
    fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        if bound <= 1 {
            return 0;
        }
        // Lemire-style rejection: reject the short tail of the u64 range.
        let zone = u64::MAX - (u64::MAX % bound) - 1;
        loop {
            let v = self.next_u64();
            if v <= zone {
                return v % bound;
            }
        }
    }

    /// A uniformly random `f64` in `[0, 1)`.
    fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl<R: Random + ?Sized> Random for &mut R {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }
}

impl<R: Random + ?Sized> Random for Box<R> {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }
}

/// The operating system's CSPRNG, through aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        // aws-lc's generator only fails if the OS has no entropy source at all;
        // nothing secure can be done then, so this is the one place we stop.
        aws_lc_rs::rand::fill(dest).expect("system random generator failed");
    }
}

/// A deterministic generator (ChaCha20) for tests and simulations: the same
/// seed gives the same stream on every platform and every run.
///
/// It is cryptographically strong given a secret seed, but a fixed seed is
/// public: use [`OsRandom`] for anything real.
#[derive(Debug, Clone)]
pub struct SeededRandom(ChaCha20Rng);

impl SeededRandom {
    /// A generator whose whole output is decided by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom(ChaCha20Rng::seed_from_u64(seed))
    }
}

impl Random for SeededRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_seed_dependent() {
        let mut a = SeededRandom::new(7);
        let mut b = SeededRandom::new(7);
        let mut c = SeededRandom::new(8);
        let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn os_random_is_not_constant() {
        let mut r = OsRandom;
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        r.fill(&mut a);
        r.fill(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = SeededRandom::new(1);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = r.below(10) as usize;
            assert!(v < 10);
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let f = r.unit_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
