//! The checksum over each part of a cache entry.

/// A fast 64-bit checksum of bytes (four lanes of eight bytes): it finds a damaged entry, not
/// an attack.
pub(super) fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let seed = bytes.len() as u64;
    let mut lanes = [seed ^ 0x2545_F491_4F6C_DD1D, seed ^ 0x6A09_E667_F3BC_C908, seed ^ 0xBB67_AE85_84CA_A73B, !seed];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane = (*lane ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
        }
    }
    let mut h = lanes.iter().fold(0u64, |h, &l| (h ^ l).wrapping_mul(K).rotate_left(31));
    for &b in blocks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_sees_every_byte() {
        let base: Vec<u8> = (0..100u8).collect();
        let sum = checksum(&base);
        for at in 0..base.len() {
            let mut bad = base.clone();
            bad[at] ^= 1;
            assert_ne!(checksum(&bad), sum, "byte {at}");
        }
        assert_ne!(checksum(&base[..99]), sum);
    }
}
