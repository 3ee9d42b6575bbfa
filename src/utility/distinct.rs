//! Distinct values counted in bounded memory: exactly (a set of 64-bit hashes) up to
//! [`EXACT_CAP`] values, then estimated by HyperLogLog with 2^[`HLL_BITS`] registers
//! (standard error about 1.04/√4096 ≈ 1.6%). The hashes never leave memory.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are 64-bit hashes already: used as they are, not hashed again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with it (write_u64); any other input is folded in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map or set keyed by 64-bit hashes.
pub type ByHash = BuildHasherDefault<Prehashed>;

/// Distinct values counted exactly.
pub const EXACT_CAP: usize = 4096;
const HLL_BITS: u32 = 12;

#[derive(Debug, Clone, Default)]
pub struct Distinct {
    exact: HashSet<u64, ByHash>,
    /// Registers, once past [`EXACT_CAP`].
    registers: Option<Vec<u8>>,
}

impl Distinct {
    pub fn add(&mut self, hash: u64) {
        match &mut self.registers {
            Some(registers) => add_hll(registers, hash),
            None => {
                self.exact.insert(hash);
                if self.exact.len() > EXACT_CAP {
                    let mut registers = vec![0u8; 1 << HLL_BITS];
                    for h in self.exact.drain() {
                        add_hll(&mut registers, h);
                    }
                    self.exact.shrink_to_fit();
                    self.registers = Some(registers);
                }
            }
        }
    }

    /// (count, exact).
    pub fn count(&self) -> (u64, bool) {
        let Some(registers) = &self.registers else { return (self.exact.len() as u64, true) };
        let m = registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = registers.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let raw = alpha * m * m / sum;
        let zeros = registers.iter().filter(|&&r| r == 0).count();
        // Small ranges: linear counting, as the HyperLogLog paper does.
        let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        (estimate.round() as u64, false)
    }
}

fn add_hll(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - HLL_BITS)) as usize;
    let rest = hash << HLL_BITS;
    let rank = (rest.leading_zeros() + 1).min(64 - HLL_BITS + 1) as u8;
    registers[index] = registers[index].max(rank);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u64) -> u64 {
        twox_hash::XxHash3_64::oneshot(&i.to_le_bytes())
    }

    #[test]
    fn exact_up_to_the_cap_then_an_estimate_within_a_few_percent() {
        let mut d = Distinct::default();
        for i in 0..EXACT_CAP as u64 {
            d.add(hash(i));
            d.add(hash(i));
        }
        assert_eq!(d.count(), (EXACT_CAP as u64, true));
        for i in 0..100_000u64 {
            d.add(hash(i));
        }
        let (n, exact) = d.count();
        assert!(!exact);
        assert!((n as f64 - 100_000.0).abs() < 5_000.0, "{n}");
    }
}
