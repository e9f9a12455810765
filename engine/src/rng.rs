//! Seeded randomness, split into named streams.
//!
//! A world has one seed. Every component that needs randomness asks for its own stream by a
//! stable name ("link/client-3/up", "server/A/service"): the stream is ChaCha8 keyed by the
//! seed, with the ChaCha stream number taken from a hash of the name. Adding a client therefore
//! does not reshuffle the draws of every other component.
//!
//! Floating-point samples use only IEEE basic operations and `libm` (a pure-Rust libm), never
//! the platform's math library, so that a seed gives bit-identical draws natively and in wasm.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};

use crate::time::Duration;

/// 64-bit FNV-1a: a fixed, platform-independent hash for stream names and event digests.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A named random stream.
#[derive(Clone, Debug)]
pub struct Stream(ChaCha8Rng);

impl Stream {
    /// The stream called `name` under `seed`.
    pub fn new(seed: u64, name: &str) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(fnv1a64(name.as_bytes()));
        Stream(rng)
    }

    /// A uniformly random 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform float in [0, 1), with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// A uniform integer in [0, n); `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Lemire's multiply-shift; the tiny bias for huge n does not matter here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index into a weight table, drawn in proportion to the weights; `None` when all are 0.
    pub fn weighted(&mut self, weights: impl IntoIterator<Item = u64> + Clone) -> Option<usize> {
        let total: u64 = weights.clone().into_iter().sum();
        if total == 0 {
            return None;
        }
        let mut pick = self.below(total);
        for (i, w) in weights.into_iter().enumerate() {
            if pick < w {
                return Some(i);
            }
            pick -= w;
        }
        None
    }

    /// An exponential sample with the given mean (inverse transform).
    pub fn exponential(&mut self, mean: Duration) -> Duration {
        // 1 - unit() is in (0, 1], so the log is finite.
        let u = 1.0 - self.unit();
        Duration::from_secs_f64(-libm::log(u) * mean.as_secs_f64())
    }

    /// A standard normal sample (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
    }

    /// A log-normal sample with the given median and shape `sigma`.
    pub fn lognormal(&mut self, median: Duration, sigma: f64) -> Duration {
        Duration::from_secs_f64(median.as_secs_f64() * libm::exp(sigma * self.normal()))
    }

    /// A uniform duration in [-spread, +spread], as signed microseconds.
    pub fn jitter_micros(&mut self, spread: Duration) -> i64 {
        let s = spread.as_micros();
        if s == 0 {
            return 0;
        }
        self.below(2 * s + 1) as i64 - s as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a1: Vec<u64> = (0..4)
            .map({
                let mut s = Stream::new(7, "a");
                move |_| s.next_u64()
            })
            .collect();
        let a2: Vec<u64> = (0..4)
            .map({
                let mut s = Stream::new(7, "a");
                move |_| s.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut s = Stream::new(7, "b");
                move |_| s.next_u64()
            })
            .collect();
        let other_seed: Vec<u64> = (0..4)
            .map({
                let mut s = Stream::new(8, "a");
                move |_| s.next_u64()
            })
            .collect();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, other_seed);
    }

    #[test]
    fn samples_have_the_requested_shape() {
        let mut s = Stream::new(1, "shape");
        let n = 20_000;
        let mean = Duration::from_millis(10);
        let avg: f64 = (0..n)
            .map(|_| s.exponential(mean).as_secs_f64())
            .sum::<f64>()
            / n as f64;
        assert!((avg - 0.010).abs() < 0.0005, "exponential mean {avg}");

        let mut below_median = 0;
        for _ in 0..n {
            if s.lognormal(mean, 0.8) < mean {
                below_median += 1;
            }
        }
        let share = below_median as f64 / n as f64;
        assert!(
            (share - 0.5).abs() < 0.02,
            "log-normal median share {share}"
        );

        let hits = (0..n).filter(|_| s.chance(0.25)).count() as f64 / n as f64;
        assert!((hits - 0.25).abs() < 0.015, "chance {hits}");

        let mut counts = [0u32; 3];
        for _ in 0..n {
            counts[s.weighted([5u64, 1, 1]).unwrap()] += 1;
        }
        assert!(
            counts[0] > counts[1] * 4 && counts[0] > counts[2] * 4,
            "{counts:?}"
        );
        assert_eq!(s.weighted([0u64, 0]), None);
    }

    #[test]
    fn fnv_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
