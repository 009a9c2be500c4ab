//! The demo's deterministic randomness: a small PRNG, inline ids, and the text pool raw I/O is
//! cut from.

use super::catalog::WORDS;

/// Bytes of text raw I/O and short texts are cut from.
pub(super) const POOL_BYTES: usize = 192 * 1024;

/// xoshiro256** seeded through splitmix64: tiny, fast, and the same on every platform.
pub(super) struct Rng {
    pub(super) state: [u64; 4],
}

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self { state: [next(), next(), next(), next()] }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n > 0); the tiny bias of the multiply-shift doesn't matter here.
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in lo..=hi.
    pub(super) fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Index drawn with the given relative weights.
    pub(super) fn weighted(&mut self, weights: impl Iterator<Item = f64> + Clone) -> usize {
        let total: f64 = weights.clone().sum();
        let mut x = self.unit() * total;
        let mut last = 0;
        for (i, w) in weights.enumerate() {
            if x < w {
                return i;
            }
            x -= w;
            last = i;
        }
        last
    }

    /// Standard normal (Box–Muller).
    pub(super) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln stays finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and spread.
    pub(super) fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean.
    pub(super) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// A trace or session id: a UUID-v4-looking string held inline, so ids cost no allocation.
#[derive(Clone, Copy)]
pub(super) struct Id(pub(super) [u8; 36]);

impl Id {
    pub(super) fn random(rng: &mut Rng) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bits = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        // Version 4, RFC 4122 variant, like Python's uuid4().
        let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        let mut out = [b'-'; 36];
        let mut nibble = 0;
        for (i, byte) in out.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            *byte = HEX[((bits >> (124 - 4 * nibble)) & 0xf) as usize];
            nibble += 1;
        }
        Self(out)
    }

    pub(super) fn as_str(&self) -> &str {
        // Only ASCII hex and dashes are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Pseudo-text that raw I/O and short texts are cut from: words, punctuation, line breaks.
pub(super) fn text_pool(rng: &mut Rng) -> String {
    let mut pool = String::with_capacity(POOL_BYTES + 64);
    let mut words_in_line = 0;
    while pool.len() < POOL_BYTES {
        let word = *rng.pick(&WORDS);
        pool.push_str(word);
        words_in_line += 1;
        if rng.chance(0.06) {
            pool.push('.');
        } else if rng.chance(0.04) {
            pool.push(',');
        }
        if words_in_line > 8 && rng.chance(0.08) {
            pool.push('\n');
            words_in_line = 0;
        } else {
            pool.push(' ');
        }
    }
    pool
}
