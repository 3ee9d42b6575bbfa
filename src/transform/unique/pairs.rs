//! The sorted (output fingerprint, rank) pairs of a unique domain, indexed so that a row's
//! lookup costs a few cache misses, not binary searches over the whole table:
//!
//! ```text
//! fingerprint ──top bits──▶ bucket of distinct fingerprints ──▶ its group's range in `pairs`
//!             ──interpolation on the rank (uniform)──▶ the input's position in the group
//! ```

use rayon::prelude::*;

/// Every pair at most once, sorted by output fingerprint, then rank.
pub struct Pairs {
    pairs: Vec<(u64, u64)>,
    /// Each distinct fingerprint, sorted, with the start of its group in `pairs`.
    groups: Vec<(u64, u32)>,
    /// `starts[b]..starts[b + 1]` holds the groups whose fingerprint's top bits are `b`.
    starts: Vec<u32>,
    shift: u32,
}

impl Pairs {
    /// Sorts and deduplicates `pairs` (in the current rayon pool) and indexes them.
    pub fn new(mut pairs: Vec<(u64, u64)>) -> Pairs {
        pairs.par_sort_unstable();
        pairs.dedup();
        // Shrinking copies the vector; worth it only when many pairs were repeats.
        if pairs.len() < pairs.capacity() / 4 * 3 {
            pairs.shrink_to_fit();
        }
        let mut groups: Vec<(u64, u32)> = Vec::new();
        for (i, p) in pairs.iter().enumerate() {
            if groups.last().is_none_or(|g| g.0 != p.0) {
                groups.push((p.0, i as u32));
            }
        }
        groups.shrink_to_fit();
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
        Pairs { pairs, groups, starts, shift }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// The index in `groups` of fingerprint `fp`.
    fn group_index(&self, fp: u64) -> Option<usize> {
        let b = (fp >> self.shift) as usize;
        let (start, end) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        self.groups[start..end].iter().position(|g| g.0 == fp).map(|i| start + i)
    }

    /// The pairs whose output fingerprint is `fp`, by rank.
    pub fn group(&self, fp: u64) -> &[(u64, u64)] {
        match self.group_index(fp) {
            None => &[],
            Some(i) => {
                let start = self.groups[i].1 as usize;
                let end = self.groups.get(i + 1).map_or(self.pairs.len(), |g| g.1 as usize);
                &self.pairs[start..end]
            }
        }
    }

    /// Whether some unique cell's first output has fingerprint `fp`.
    pub fn contains(&self, fp: u64) -> bool {
        self.group_index(fp).is_some()
    }

    /// Every group (pairs of one fingerprint), in fingerprint order.
    pub fn groups(&self) -> impl Iterator<Item = &[(u64, u64)]> {
        self.pairs.chunk_by(|a, b| a.0 == b.0)
    }
}

/// The index of `rank` in `group` (sorted by rank): interpolation first (ranks are uniform
/// keyed hashes), then a binary search in a window that holds it.
pub fn position(group: &[(u64, u64)], rank: u64) -> Option<usize> {
    let n = group.len();
    if n <= 32 {
        return group.binary_search_by_key(&rank, |p| p.1).ok();
    }
    let (low, high) = (group[0].1, group[n - 1].1);
    if rank < low || rank > high {
        return None;
    }
    let guess = ((u128::from(rank - low) * (n as u128 - 1)) / u128::from((high - low).max(1))) as usize;
    let mut width = 16usize;
    loop {
        let (from, to) = (guess.saturating_sub(width), (guess + width).min(n - 1));
        let holds = group[from].1 <= rank && rank <= group[to].1;
        if holds || (from == 0 && to == n - 1) {
            return group[from..=to].binary_search_by_key(&rank, |p| p.1).ok().map(|i| from + i);
        }
        width *= 4;
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
        let pairs = Pairs::new(raw);
        assert_eq!(pairs.len(), 10_000);
        for i in [0u64, 1, 2, 4999] {
            let fp = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(pairs.group(fp), &[(fp, 10 + i % 3), (fp, 30 - i % 3)]);
        }
        assert!(!pairs.contains(12345));
        assert_eq!(pairs.groups().count(), 5000);
        let empty = Pairs::new(Vec::new());
        assert!(empty.group(u64::MAX).is_empty() && empty.group(0).is_empty());
    }

    #[test]
    fn positions_are_found_in_large_and_small_groups() {
        for n in [1usize, 5, 33, 1000] {
            let group: Vec<(u64, u64)> =
                (0..n as u64).map(|i| (7, i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 1)).collect::<Vec<_>>();
            let mut group = group;
            group.sort_unstable();
            for (i, p) in group.iter().enumerate() {
                assert_eq!(position(&group, p.1), Some(i), "n={n}");
            }
            assert_eq!(position(&group, 12345), None);
            assert_eq!(position(&group, u64::MAX), None);
        }
    }
}
