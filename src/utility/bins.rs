//! A histogram of two sides (source and output) over shared, fixed-width bins whose range
//! grows as values stream in: it starts at the first value and doubles its width (merging
//! neighbouring bins) whenever a value falls outside. Counts are exact, memory is
//! [`FINE_BINS`] counters per side, and the bins depend only on the order of the values,
//! never on batch sizes. The Kolmogorov–Smirnov distance is read off the fine bins; the
//! page gets at most [`SHOWN_BINS`] of them, merged.

use super::Histogram;

/// Bins counted while streaming.
pub const FINE_BINS: usize = 512;
/// Bins in a histogram written to the report.
pub const SHOWN_BINS: usize = 32;
/// The first bins' width is 2^-20 times the power of two at or below the first value's
/// magnitude (at least 1): narrow enough to tell small fractions apart, doubled as the data
/// needs. A power of two keeps the edges of whole-number data exact.
const FIRST_WIDTH_BITS: i32 = 20;

/// Source and output counts over the same bins.
#[derive(Debug, Clone, Default)]
pub struct PairedBins {
    lo: f64,
    width: f64,
    /// `lo + width * FINE_BINS`, the range's (excluded) upper end.
    hi: f64,
    /// `1 / width`: exact, as the width is a power of two.
    per_width: f64,
    before: Vec<u64>,
    after: Vec<u64>,
    /// A value with a fraction was counted (else the page's bins are whole units).
    fractional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Before,
    After,
}

impl PairedBins {
    /// Bins of width 1 from 0 (growing rightwards as needed): for whole numbers such as text
    /// lengths, so that each bin holds whole values and the page's bins are whole too.
    pub fn counting() -> PairedBins {
        let mut bins = PairedBins::default();
        bins.start(0.0, 1.0);
        bins
    }

    /// [`Self::add`] for each of `values` in order: the same counts, with the common case (a
    /// value within the range) inline.
    pub fn add_all(&mut self, side: Side, values: impl Iterator<Item = f64>) {
        for v in values {
            // NaN, infinities and values outside (also before the first) take the slow path.
            if !(v >= self.lo && v < self.hi) {
                self.add(side, v);
                continue;
            }
            self.fractional |= v != (v as i64) as f64;
            let i = (((v - self.lo) * self.per_width) as usize).min(FINE_BINS - 1);
            match side {
                Side::Before => self.before[i] += 1,
                Side::After => self.after[i] += 1,
            }
        }
    }

    /// Counts `v` on `side`; NaN and infinities are not counted (the caller counts them).
    pub fn add(&mut self, side: Side, v: f64) {
        if !v.is_finite() {
            return;
        }
        // (A cast, not `fract`: this runs for every value. Beyond 2^63 counts as fractional.)
        self.fractional |= v != (v as i64) as f64;
        if self.before.is_empty() {
            self.start(v, 2f64.powi(v.abs().max(1.0).log2().floor() as i32 - FIRST_WIDTH_BITS));
        }
        while v < self.lo {
            if !self.grow(true) {
                return;
            }
        }
        while v >= self.hi {
            if !self.grow(false) {
                return;
            }
        }
        let i = (((v - self.lo) * self.per_width) as usize).min(FINE_BINS - 1);
        match side {
            Side::Before => self.before[i] += 1,
            Side::After => self.after[i] += 1,
        }
    }

    fn start(&mut self, lo: f64, width: f64) {
        self.before = vec![0; FINE_BINS];
        self.after = vec![0; FINE_BINS];
        self.set_range(lo, width);
    }

    fn set_range(&mut self, lo: f64, width: f64) {
        (self.lo, self.width, self.per_width, self.hi) = (lo, width, 1.0 / width, lo + width * FINE_BINS as f64);
    }

    /// Doubles the width, keeping the upper end (`left`) or the lower one. False when the
    /// range would no longer be finite (the value is then not counted).
    fn grow(&mut self, left: bool) -> bool {
        let span = self.width * FINE_BINS as f64;
        let lo = if left { self.lo - span } else { self.lo };
        if !(lo + 2.0 * span).is_finite() || !lo.is_finite() {
            return false;
        }
        let offset = if left { FINE_BINS } else { 0 };
        for counts in [&mut self.before, &mut self.after] {
            let mut merged = vec![0; FINE_BINS];
            for (i, c) in counts.iter().enumerate() {
                merged[(i + offset) / 2] += c;
            }
            *counts = merged;
        }
        self.set_range(lo, self.width * 2.0);
        true
    }

    /// Widens the range (counting nothing) so that it holds `v`; the bins of a side that is
    /// filled by [`Self::expect`] must cover where its values are.
    pub fn cover(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.before.is_empty() {
            self.start(v, 2f64.powi(v.abs().max(1.0).log2().floor() as i32 - FIRST_WIDTH_BITS));
        }
        while v < self.lo && self.grow(true) {}
        while v >= self.hi && self.grow(false) {}
        self.fractional |= v != (v as i64) as f64;
    }

    /// Sets `side`'s counts to `total` values distributed as `cdf` says (`cdf(x)`: the share
    /// of values below `x`, rising from 0 to 1), rounded so that the counts below each bin
    /// edge are `cdf(edge) × total` rounded: no cumulative share is off by more than
    /// `0.5 / total`. Call [`Self::cover`] with the distribution's ends first.
    pub fn expect(&mut self, side: Side, cdf: &dyn Fn(f64) -> f64, total: u64) {
        if self.before.is_empty() {
            return;
        }
        let below = |i: usize| (cdf(self.lo + i as f64 * self.width).clamp(0.0, 1.0) * total as f64).round() as u64;
        let counts: Vec<u64> = (0..FINE_BINS)
            .map(|i| {
                let to = if i + 1 == FINE_BINS { total } else { below(i + 1) };
                to.saturating_sub(if i == 0 { 0 } else { below(i) })
            })
            .collect();
        match side {
            Side::Before => self.before = counts,
            Side::After => self.after = counts,
        }
    }

    /// Counts `side`'s values as the other side too (a kept column: the output is the source).
    pub fn mirror(&mut self, from: Side) {
        match from {
            Side::Before => self.after.clone_from(&self.before),
            Side::After => self.before.clone_from(&self.after),
        }
    }

    /// The largest gap between the two sides' cumulative shares over the bins; `None` when
    /// a side has no finite value.
    pub fn ks(&self) -> Option<f64> {
        let (nb, na) = (self.before.iter().sum::<u64>(), self.after.iter().sum::<u64>());
        if nb == 0 || na == 0 {
            return None;
        }
        let (mut cb, mut ca, mut d) = (0u64, 0u64, 0f64);
        for (b, a) in self.before.iter().zip(&self.after) {
            cb += b;
            ca += a;
            d = d.max((cb as f64 / nb as f64 - ca as f64 / na as f64).abs());
        }
        Some(d)
    }

    /// Both sides as at most [`SHOWN_BINS`] bins over the range either side uses; `None`
    /// when no finite value was seen.
    pub fn shown(&self) -> Option<(Histogram, Histogram)> {
        let used = |i: &usize| self.before[*i] + self.after[*i] > 0;
        let mut first = (0..self.before.len()).find(used)?;
        let last = (0..self.before.len()).rev().find(used)?;
        let mut group = (last - first + 1).div_ceil(SHOWN_BINS);
        // Whole numbers in bins narrower than 1: whole-unit bins from a whole edge, so that
        // no shown bin is empty only for falling between two whole numbers.
        if !self.fractional && self.width < 1.0 {
            let per_unit = (1.0 / self.width).round() as usize;
            group = group.div_ceil(per_unit) * per_unit;
            let edge = self.lo + first as f64 * self.width;
            let below = ((edge - edge.floor()) / self.width).round() as usize;
            first = first.saturating_sub(below);
        }
        let bins = (last - first + 1).div_ceil(group);
        let edges: Vec<f64> = (0..=bins).map(|k| self.lo + ((first + k * group) as f64) * self.width).collect();
        let merge = |counts: &[u64]| -> Vec<u64> {
            (0..bins).map(|k| counts[first + k * group..(first + (k + 1) * group).min(last + 1)].iter().sum()).collect()
        };
        Some((
            Histogram { edges: edges.clone(), counts: merge(&self.before) },
            Histogram { edges, counts: merge(&self.after) },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sides_are_at_distance_zero_and_shifted_ones_at_one() {
        let mut same = PairedBins::default();
        let mut apart = PairedBins::default();
        for v in 0..1000 {
            same.add(Side::Before, v as f64);
            same.add(Side::After, v as f64);
            apart.add(Side::Before, v as f64);
            apart.add(Side::After, v as f64 + 5000.0);
        }
        assert_eq!(same.ks(), Some(0.0));
        assert_eq!(apart.ks(), Some(1.0));
    }

    #[test]
    fn the_range_grows_both_ways_and_keeps_every_count() {
        let mut bins = PairedBins::default();
        for v in [0.5, -3.0e6, 7.0e9, 12.0, 12.0] {
            bins.add(Side::Before, v);
        }
        bins.add(Side::Before, f64::NAN);
        let (before, after) = bins.shown().unwrap();
        assert_eq!(before.counts.iter().sum::<u64>(), 5);
        assert_eq!(after.counts.iter().sum::<u64>(), 0);
        assert!(before.counts.len() <= SHOWN_BINS);
        assert!(before.edges[0] <= -3.0e6 && *before.edges.last().unwrap() > 7.0e9);
    }

    #[test]
    fn an_expected_side_lies_over_the_same_bins_with_its_cdf_rounded_per_edge() {
        // Output: 0.5, 1.5, …, 99.5; expected: spread evenly over [0, 200). KS = 1/2 (at 100),
        // read at the bin edges: within the expected share of one bin (here 1/200).
        let mut bins = PairedBins::default();
        bins.add_all(Side::After, (0..100).map(|v| v as f64 + 0.5));
        bins.cover(0.0);
        bins.cover(200.0);
        bins.expect(Side::Before, &|x: f64| (x / 200.0).clamp(0.0, 1.0), 1000);
        assert!((bins.ks().unwrap() - 0.5).abs() <= 0.005, "{:?}", bins.ks());
        let (before, after) = bins.shown().unwrap();
        assert_eq!(before.counts.iter().sum::<u64>(), 1000);
        assert_eq!(after.counts.iter().sum::<u64>(), 100);
        assert!(before.edges[0] <= 0.0 && *before.edges.last().unwrap() >= 200.0);
        // The same distribution on both sides: as near as the rounding allows.
        let mut same = PairedBins::default();
        same.add_all(Side::After, (0..1000).map(|v| v as f64 / 5.0 + 0.1));
        same.cover(0.0);
        same.cover(200.0);
        same.expect(Side::Before, &|x: f64| (x / 200.0).clamp(0.0, 1.0), 1000);
        assert!(same.ks().unwrap() <= 0.002, "{:?}", same.ks());
    }

    #[test]
    fn whole_numbers_are_shown_in_whole_unit_bins() {
        let mut bins = PairedBins::default();
        for v in [0.0, 3.0, 5.0, 8.0, 8.0] {
            bins.add(Side::Before, v);
        }
        let (shown, _) = bins.shown().unwrap();
        assert_eq!(shown.edges, (0..=9).map(f64::from).collect::<Vec<_>>());
        assert_eq!(shown.counts, [1, 0, 0, 1, 0, 1, 0, 0, 2]);
    }
}
