//! The source side of a generated column when there is no source to read (`generate`): the
//! distribution the profile's statistics describe, laid over the generated column's bins so
//! that the page draws both and measures the distance between them, as it does for a run.
//!
//! ```text
//! profile statistics ──Expected (point masses, equal-share buckets, or categories)──▶
//!   numbers and dates: PairedBins::expect (the CDF at every fine bin edge) ──▶ KS
//!   categories:        counts per value                                    ──▶ TV
//! ```
//!
//! PostgreSQL's conventions (`pg_stats`): each most common value holds its share of all rows;
//! the histogram bounds split the other non-null values into buckets of equal population,
//! taken here as spread evenly within each bucket. The shares are of the non-null values:
//! nulls are compared apart (the null fractions on the page).

/// What the profile says about one column's non-null values.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Numbers and dates, read as the column's values are read for its bins (dates in days
    /// since 1970, timestamps in their stored unit since 1970, numbers as they are).
    Numbers {
        /// Most common values: (value, share of all rows).
        common: Vec<(f64, f64)>,
        /// Histogram bounds, ascending; fewer than two: no buckets.
        bounds: Vec<f64>,
        /// The share of all rows in the buckets together.
        spread: f64,
    },
    /// Values of text or booleans, every one named (the profile has no buckets for them):
    /// (value as the column holds it, share of all rows).
    Categories(Vec<(Category, f64)>),
}

/// A category's value as the collector hashes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Category {
    Text(String),
    Bool(bool),
}

impl Expected {
    /// The share of the non-null values below `x` (0 to 1); `None` when the statistics hold
    /// no value at all.
    pub fn cdf(&self) -> Option<impl Fn(f64) -> f64 + '_> {
        let Expected::Numbers { common, bounds, spread } = self else { return None };
        let spread = if bounds.len() >= 2 { spread.max(0.0) } else { 0.0 };
        let total = common.iter().map(|(_, f)| f.max(0.0)).sum::<f64>() + spread;
        (total > 0.0).then_some({
            move |x: f64| {
                let points: f64 = common.iter().filter(|(v, _)| *v < x).map(|(_, f)| f.max(0.0)).sum();
                (points + spread * bucket_share(bounds, x)) / total
            }
        })
    }

    /// The smallest and largest value the statistics name (to cover with the bins).
    pub fn ends(&self) -> Option<(f64, f64)> {
        let Expected::Numbers { common, bounds, .. } = self else { return None };
        let values = common.iter().map(|(v, _)| *v).chain(bounds.iter().copied()).filter(|v| v.is_finite());
        values.fold(None, |ends, v| match ends {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
    }
}

/// The share of equal-population buckets between `bounds` below `x`, each spread evenly.
fn bucket_share(bounds: &[f64], x: f64) -> f64 {
    let buckets = bounds.len().saturating_sub(1);
    if buckets == 0 || x <= bounds[0] {
        return 0.0;
    }
    // Buckets wholly below x, and the part of the one x falls in.
    let whole = bounds.windows(2).take_while(|w| w[1] <= x).count();
    let part = match bounds.get(whole..whole + 2) {
        Some([lo, hi]) if hi > lo => (x - lo) / (hi - lo),
        _ => 0.0,
    };
    (whole as f64 + part.clamp(0.0, 1.0)) / buckets as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdf_spreads_buckets_evenly_and_puts_common_values_at_their_point() {
        // 40% at 5, 60% in [0, 10) and [10, 30) (30% each); no nulls.
        let e = Expected::Numbers { common: vec![(5.0, 0.4)], bounds: vec![0.0, 10.0, 30.0], spread: 0.6 };
        let cdf = e.cdf().unwrap();
        assert_eq!(cdf(0.0), 0.0);
        assert!((cdf(5.0) - 0.15).abs() < 1e-12, "5 itself is not below 5");
        assert!((cdf(5.000001) - 0.55).abs() < 1e-6);
        assert!((cdf(10.0) - 0.7).abs() < 1e-12);
        assert!((cdf(20.0) - 0.85).abs() < 1e-12);
        assert_eq!(cdf(30.0), 1.0);
        assert_eq!(e.ends(), Some((0.0, 30.0)));
        // A quarter of the rows null: the shares are of the non-null rows.
        let with_nulls = Expected::Numbers { common: vec![], bounds: vec![0.0, 10.0], spread: 0.75 };
        assert!((with_nulls.cdf().unwrap()(2.5) - 0.25).abs() < 1e-12);
        assert!(Expected::Numbers { common: vec![], bounds: vec![1.0], spread: 1.0 }.cdf().is_none());
    }
}
