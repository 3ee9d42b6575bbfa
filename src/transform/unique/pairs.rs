//! The sorted (output fingerprint, rank) pairs of a unique domain, stored as ranks only
//! (8 bytes per pair; the fingerprint is its group's) and indexed so that a row's lookup
//! costs a few cache misses:
//!
//! ```text
//! fingerprint ──top bits──▶ bucket of distinct fingerprints ──▶ its group's range in `ranks`
//! rank ──its share of the 64-bit range──▶ a guessed index in the group ──gallop──▶ its position
//! ```
//!
//! Ranks are keyed hashes, spread evenly over the 64-bit range, so a rank's index in its
//! sorted group is close to `rank / 2^64 × group size` (off by about the square root of the
//! group size): the search starts there and widens by doubling steps, touching a few
//! neighbouring cache lines where a binary search over the group would jump across it.

use rayon::prelude::*;

/// Pairs are collected and sorted in this many partitions by the top bits of their
/// fingerprint: each grows on its own (a large one by remapping, not copying), so collecting
/// never holds two copies of the pairs.
const PARTITION_BITS: u32 = 8;
pub const PARTITIONS: usize = 1 << PARTITION_BITS;

/// The partition of a pair with fingerprint `fp`.
pub fn partition_of(fp: u64) -> usize {
    (fp >> (64 - PARTITION_BITS)) as usize
}

/// Every pair at most once, by output fingerprint, then rank.
pub struct Pairs {
    /// The ranks, grouped by fingerprint, each group sorted.
    ranks: Vec<u64>,
    /// Each distinct fingerprint, sorted, with the start of its group in `ranks`.
    groups: Vec<(u64, u32)>,
    /// `starts[b]..starts[b + 1]` holds the groups whose fingerprint's top bits are `b`.
    starts: Vec<u32>,
    shift: u32,
}

/// One group: the ranks of the distinct inputs that made one value, sorted.
#[derive(Clone, Copy)]
pub struct Group<'a> {
    pairs: &'a Pairs,
    start: usize,
    end: usize,
}

impl Pairs {
    /// Sorts and deduplicates `partitions` (pairs split by [`partition_of`] their fingerprint;
    /// sorted in the current rayon pool) and indexes them. Each partition, sorted, gives its
    /// ranks and is freed: the peak is the 16-byte pairs once, never pairs and ranks together.
    pub fn new(mut partitions: Vec<Vec<(u64, u64)>>) -> Pairs {
        let total: usize = partitions.iter().map(Vec::len).sum();
        partitions.par_iter_mut().for_each(|p| {
            p.sort_unstable();
            p.dedup();
        });
        // Reserved, not touched: the pages become resident as the ranks are written.
        let mut ranks: Vec<u64> = Vec::with_capacity(total);
        let mut groups: Vec<(u64, u32)> = Vec::new();
        for (i, partition) in partitions.into_iter().enumerate() {
            for p in partition {
                if groups.last().is_none_or(|g| g.0 != p.0) {
                    groups.push((p.0, ranks.len() as u32));
                }
                ranks.push(p.1);
            }
            if i % 16 == 15 {
                release_freed_memory();
            }
        }
        groups.shrink_to_fit();
        ranks.shrink_to_fit();
        // About two groups per bucket; fingerprints are uniform.
        let bits = (usize::BITS - groups.len().leading_zeros()).saturating_sub(1).clamp(1, 24);
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for b in 0..buckets as u64 {
            while at < groups.len() && groups[at].0 >> shift < b {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(groups.len() as u32);
        Pairs { ranks, groups, starts, shift }
    }

    pub fn len(&self) -> usize {
        self.ranks.len()
    }

    /// The index in `groups` of fingerprint `fp`.
    fn group_index(&self, fp: u64) -> Option<usize> {
        let b = (fp >> self.shift) as usize;
        let (start, end) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        self.groups[start..end].iter().position(|g| g.0 == fp).map(|i| start + i)
    }

    fn group_at(&self, i: usize) -> Group<'_> {
        let start = self.groups[i].1 as usize;
        let end = self.groups.get(i + 1).map_or(self.ranks.len(), |g| g.1 as usize);
        Group { pairs: self, start, end }
    }

    /// The group of fingerprint `fp` (empty when no unique cell made that value).
    pub fn group(&self, fp: u64) -> Group<'_> {
        match self.group_index(fp) {
            Some(i) => self.group_at(i),
            None => Group { pairs: self, start: 0, end: 0 },
        }
    }

    /// Whether some unique cell's first output has fingerprint `fp`.
    pub fn contains(&self, fp: u64) -> bool {
        self.group_index(fp).is_some()
    }

    /// Every group, in fingerprint order.
    pub fn groups(&self) -> impl Iterator<Item = Group<'_>> {
        (0..self.groups.len()).map(|i| self.group_at(i))
    }
}

/// Gives the pages of freed partitions back to the system. The allocator keeps freed blocks
/// of this size in its heap, resident, while the ranks grow beside them: without this the
/// pairs and the ranks would be resident together after all (24 instead of 16 bytes per pair
/// at the peak).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live block.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl<'a> Group<'a> {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// The ranks, lowest first.
    pub fn ranks(&self) -> &'a [u64] {
        &self.pairs.ranks[self.start..self.end]
    }

    /// The index of `rank` in the group: guessed from the rank's share of the 64-bit range,
    /// then searched around the guess by doubling steps (see the module doc).
    pub fn position(&self, rank: u64) -> Option<usize> {
        let ranks = self.ranks();
        let n = ranks.len();
        if n == 0 {
            return None;
        }
        let guess = ((u128::from(rank) * n as u128) >> 64) as usize;
        // The rank's index is in lo..hi.
        let (mut lo, mut hi);
        if ranks[guess] < rank {
            lo = guess + 1;
            hi = n;
            let mut step = 1;
            while guess + step < n {
                let probe = guess + step;
                if ranks[probe] >= rank {
                    hi = probe + 1;
                    break;
                }
                lo = probe + 1;
                step *= 2;
            }
        } else {
            lo = 0;
            hi = guess + 1;
            let mut step = 1;
            while step <= guess {
                let probe = guess - step;
                if ranks[probe] < rank {
                    lo = probe + 1;
                    break;
                }
                hi = probe + 1;
                step *= 2;
            }
        }
        ranks[lo..hi].binary_search(&rank).ok().map(|i| lo + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_found_by_fingerprint_and_sorted_by_rank() {
        let mut raw = Vec::new();
        for i in 0..5000u64 {
            let fp = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            raw.push((fp, 30 - i % 3));
            raw.push((fp, 10 + i % 3));
            raw.push((fp, 10 + i % 3));
        }
        let mut partitions = vec![Vec::new(); PARTITIONS];
        for p in raw {
            partitions[partition_of(p.0)].push(p);
        }
        let pairs = Pairs::new(partitions);
        assert_eq!(pairs.len(), 10_000);
        for i in [0u64, 1, 2, 4999] {
            let fp = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(pairs.group(fp).ranks(), &[10 + i % 3, 30 - i % 3]);
        }
        assert!(!pairs.contains(12345));
        assert_eq!(pairs.groups().count(), 5000);
        let empty = Pairs::new(vec![Vec::new(); PARTITIONS]);
        assert!(empty.group(u64::MAX).len() == 0 && empty.group(0).len() == 0);
    }

    #[test]
    fn positions_are_found_in_large_and_small_groups_wherever_they_start() {
        // Groups of many sizes one after another, so they start at every offset of a sample run.
        let mut raw = Vec::new();
        let sizes = [1u64, 5, 63, 64, 65, 1000, 2, 130];
        for (g, &n) in sizes.iter().enumerate() {
            for i in 0..n {
                raw.push((g as u64 * 0x1000_0000_0000_0000 + 7, i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 1));
            }
        }
        let mut partitions = vec![Vec::new(); PARTITIONS];
        for p in raw {
            partitions[partition_of(p.0)].push(p);
        }
        let pairs = Pairs::new(partitions);
        for (g, &n) in sizes.iter().enumerate() {
            let group = pairs.group(g as u64 * 0x1000_0000_0000_0000 + 7);
            assert_eq!(group.len(), n as usize);
            for (i, &rank) in group.ranks().iter().enumerate() {
                assert_eq!(group.position(rank), Some(i), "group of {n}");
            }
            assert_eq!(group.position(12345), None);
            assert_eq!(group.position(u64::MAX), None);
        }
    }

    #[test]
    fn positions_are_found_when_the_ranks_are_not_spread_evenly() {
        // All near 0, all near the top, and half at each end: the guess is far off.
        let low: Vec<u64> = (0..3000).collect();
        let high: Vec<u64> = (0..3000).map(|i| u64::MAX - 2 * i).collect();
        let split: Vec<u64> = low.iter().take(1500).chain(high.iter().take(1500)).copied().collect();
        for (g, ranks) in [low, high, split].iter().enumerate() {
            let fp = (g as u64 + 1) << 60;
            let mut partitions = vec![Vec::new(); PARTITIONS];
            partitions[partition_of(fp)] = ranks.iter().map(|&r| (fp, r)).collect();
            let pairs = Pairs::new(partitions);
            let group = pairs.group(fp);
            for (i, &rank) in group.ranks().iter().enumerate() {
                assert_eq!(group.position(rank), Some(i));
            }
            assert_eq!(group.position(1 << 62), None);
        }
    }
}
