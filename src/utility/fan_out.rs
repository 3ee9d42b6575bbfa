//! Foreign-key fan-out: how many rows reference each row of the referenced table (children
//! per parent), before and after, in a bounded number of bins. Built from the counts of
//! referencing rows per key ([`crate::pipeline::classes`] counts them as the run passes, or the
//! source database counts them for a subset) and the referenced table's rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One foreign key of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanOut {
    /// The constraint's name.
    pub foreign_key: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub parent: String,
    /// The source's children per parent (for a subset: the whole source database's).
    pub before: Children,
    /// The output's.
    pub after: Children,
}

/// The distribution of children per parent on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Children {
    /// Rows that reference a parent (no NULL in the key).
    pub children: u64,
    /// Distinct keys referenced: the parents with at least one child.
    pub parents: u64,
    /// Rows of the referenced table, when known (the parents without a child are the rest).
    pub parent_rows: Option<u64>,
    /// Children per parent, on average over `parent_rows` (over `parents` when unknown).
    pub mean: f64,
    /// The most children of one parent.
    pub max: u64,
    /// `[lo, hi, parents]`: parents with `lo` to `hi` children, in bins 0, 1, 2, 3–4, 5–8, 9–16,
    /// … (powers of two; at most 66); empty bins left out.
    pub bins: Vec<[u64; 3]>,
}

impl Children {
    /// From `sizes` (children per key → keys with that many) and the referenced table's rows.
    pub fn new(sizes: &BTreeMap<u64, u64>, parent_rows: Option<u64>) -> Children {
        let children: u64 = sizes.iter().map(|(n, keys)| n * keys).sum();
        let parents: u64 = sizes.values().sum();
        let mut bins: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        // Parents no row references (when the referenced table's rows are known).
        let childless = parent_rows.map_or(0, |rows| rows.saturating_sub(parents));
        if childless > 0 {
            bins.insert((0, 0), childless);
        }
        for (&n, &keys) in sizes {
            *bins.entry(bin(n)).or_default() += keys;
        }
        let over = parent_rows.filter(|&r| r >= parents).unwrap_or(parents);
        Children {
            children,
            parents,
            parent_rows,
            mean: if over == 0 { 0.0 } else { children as f64 / over as f64 },
            max: sizes.keys().next_back().copied().unwrap_or(0),
            bins: bins.into_iter().map(|((lo, hi), n)| [lo, hi, n]).collect(),
        }
    }
}

/// The bin of `n` children: 0, 1, 2, then (2^k, 2^(k+1)].
fn bin(n: u64) -> (u64, u64) {
    if n <= 2 {
        return (n, n);
    }
    match n.checked_next_power_of_two() {
        Some(hi) => (hi / 2 + 1, hi),
        None => ((1 << 63) + 1, u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_binned_by_powers_of_two_with_the_childless_parents_first() {
        // 3 parents with 1 child, 2 with 2, 1 with 3, 1 with 4, 1 with 9; 10 parents in all.
        let sizes = BTreeMap::from([(1, 3), (2, 2), (3, 1), (4, 1), (9, 1)]);
        let c = Children::new(&sizes, Some(10));
        assert_eq!((c.children, c.parents, c.max), (23, 8, 9));
        assert_eq!(c.mean, 2.3);
        assert_eq!(c.bins, vec![[0, 0, 2], [1, 1, 3], [2, 2, 2], [3, 4, 2], [9, 16, 1]]);
        // Without the referenced table's rows: the mean over the parents referenced.
        let unknown = Children::new(&sizes, None);
        assert_eq!((unknown.mean, unknown.bins[0]), (23.0 / 8.0, [1, 1, 3]));
        assert_eq!(bin(u64::MAX), ((1 << 63) + 1, u64::MAX));
        let empty = Children::new(&BTreeMap::new(), Some(0));
        assert_eq!((empty.mean, empty.max, empty.bins.len()), (0.0, 0, 0));
    }
}
