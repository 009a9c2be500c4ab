//! A fast keyed hash for text read from trace files (ids, type and tool names).

/// Builds [`IdHasher`]s with this process's secret keys.
#[derive(Clone, Copy, Debug)]
pub struct IdHashBuilder {
    keys: [u64; 3],
}

impl Default for IdHashBuilder {
    fn default() -> Self {
        use std::hash::BuildHasher as _;
        static KEYS: std::sync::OnceLock<[u64; 3]> = std::sync::OnceLock::new();
        let keys = *KEYS.get_or_init(|| {
            // std's RandomState is randomly keyed per process; three of its hashes are the keys.
            let random = std::collections::hash_map::RandomState::new();
            [random.hash_one(1u8), random.hash_one(2u8), random.hash_one(3u8) | 1]
        });
        Self { keys }
    }
}

impl std::hash::BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher { h: self.keys[0], k1: self.keys[1], k2: self.keys[2] }
    }
}

/// A keyed folded-multiply hash (the construction of wyhash, foldhash and aHash's fallback):
/// several times faster than SipHash on 36-byte UUIDs, which the timeline hashes a few
/// hundred thousand times for a large session. The keys are secret and per process, so ids in
/// a hostile file cannot be chosen to collide.
#[derive(Clone, Copy, Debug)]
pub struct IdHasher {
    h: u64,
    k1: u64,
    k2: u64,
}

impl IdHasher {
    #[inline]
    fn fold(a: u64, b: u64) -> u64 {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.h = Self::fold(w ^ self.k1, self.h ^ self.k2);
    }
}

impl std::hash::Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.word(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        Self::fold(self.h, self.k1 ^ self.k2)
    }
}
