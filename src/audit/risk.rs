//! Re-identification risk: the `risk` section of a table in the audit report, from the
//! equivalence classes the run counted on the output ([`crate::pipeline::classes`]): k-anonymity,
//! the share of rows singled out by their quasi-identifiers, a warning, and the rule change that
//! would help, in the rules' words. Nothing of a value reaches it: only column names and counts.

use arrow_schema::{DataType, Field};
use serde::Serialize;

use crate::pipeline::classes::ClassCounts;
use crate::plan::{Strategy, TablePlan};
use crate::rules::suggestion::Rule;
use crate::strategy::generalise::{GeneraliseSpec, Period};

/// The `risk` section of a table in the audit report: names and counts only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskSection {
    pub quasi_identifiers: Vec<String>,
    pub rows: u64,
    /// Rows alone in their class (k = 1).
    pub unique_rows: u64,
    /// `unique_rows / rows` (0 without rows).
    pub unique_share: f64,
    /// The smallest class (0 without rows): the table is k-anonymous on its quasi-identifiers.
    pub k: u64,
    /// `[class size, number of classes of that size]`, by size.
    pub classes: Vec<[u64; 2]>,
    /// Counted class by class (always, since classes spill to disk rather than being sketched).
    pub exact: bool,
    /// The error bound of a sketch; `null` when exact.
    pub error_bound: Option<f64>,
    /// Set when some row is alone in its class.
    pub warning: Option<String>,
    /// The rule change that would merge classes, in the rules' words; with the warning.
    pub suggestion: Option<String>,
}

impl RiskSection {
    pub fn new(table: &TablePlan, counts: &ClassCounts) -> RiskSection {
        let names: Vec<String> =
            table.quasi_identifiers.iter().map(|&i| table.schema.field(i).name().clone()).collect();
        let unique_rows = counts.sizes.get(&1).copied().unwrap_or(0);
        let unique_share = if counts.rows == 0 { 0.0 } else { unique_rows as f64 / counts.rows as f64 };
        let k = counts.sizes.keys().next().copied().unwrap_or(0);
        let warning = (k == 1).then(|| {
            let (rows, are) =
                if unique_rows == 1 { ("1 row".to_string(), "is") } else { (format!("{unique_rows} rows"), "are") };
            format!("{rows} ({:.1}%) {are} unique on ({})", unique_share * 100.0, names.join(", "))
        });
        let suggestion = warning.as_ref().and_then(|_| suggestion(table, counts));
        RiskSection {
            quasi_identifiers: names,
            rows: counts.rows,
            unique_rows,
            unique_share,
            k,
            classes: counts.sizes.iter().map(|(&size, &n)| [size, n]).collect(),
            exact: true,
            error_bound: None,
            warning,
            suggestion,
        }
    }
}

/// The rule change for the quasi-identifier with the most distinct output values that can
/// still be made coarser: `generalise <column> to year: { action = "generalise", to = "year" }`.
fn suggestion(table: &TablePlan, counts: &ClassCounts) -> Option<String> {
    let mut order: Vec<(usize, u64)> = table.quasi_identifiers.iter().copied().zip(counts.distinct.clone()).collect();
    order.sort_by_key(|&(_, distinct)| std::cmp::Reverse(distinct));
    order.into_iter().find_map(|(index, _)| {
        let field = table.schema.field(index);
        let current = table.columns.iter().find(|c| c.index == index).map(|c| &c.strategy);
        let (what, rule) = coarser(field, current)?;
        Some(format!("generalise {} {what}: {}", field.name(), rule.render()))
    })
}

/// A coarser rule than `current` for a column like `field`, with words saying what it does;
/// `None` when `generalise` cannot make it coarser.
fn coarser(field: &Field, current: Option<&Strategy>) -> Option<(String, Rule)> {
    let generalise = Rule::new("generalise");
    let now = match current {
        Some(Strategy::Generalise(spec)) => Some(*spec),
        _ => None,
    };
    match field.data_type() {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => match now {
            Some(GeneraliseSpec::Period(Period::Year)) => None,
            _ => Some(("to year".into(), generalise.opt("to", "year"))),
        },
        dt if crate::strategy::types::is_text(dt) => match now {
            Some(GeneraliseSpec::Prefix(1)) => None,
            Some(GeneraliseSpec::Prefix(n)) => {
                Some((format!("to its first {} characters", n - 1), generalise.opt("prefix", (n - 1) as i64)))
            }
            _ => Some(("to its first 3 characters".into(), generalise.opt("prefix", 3))),
        },
        dt if crate::strategy::types::int_range(dt).is_some()
            || matches!(dt, DataType::Decimal128(..) | DataType::Float32 | DataType::Float64) =>
        {
            let band = match now {
                Some(GeneraliseSpec::Band { band, .. }) => band * 10.0,
                _ => 10.0,
            };
            let band = crate::strategy::words::number(band);
            Some((format!("to bands of {band}"), generalise.opt("band", band)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::pipeline::classes::DEFAULT_CAP;
    use crate::pipeline::classes::tests::{count, fixture};

    fn plan(strategy: Strategy) -> TablePlan {
        let schema = fixture()[0].schema();
        let column = |name: &str, index: usize, strategy: Strategy| crate::plan::ColumnPlan {
            name: name.into(),
            index,
            data_type: schema.field(index).data_type().clone(),
            nullable: true,
            strategy,
            domain: String::new(),
            unique: false,
            fold_case: false,
            checks: Vec::new(),
            length_limit: None,
            origin: crate::plan::Origin { file: "r.toml".into(), line: 1 },
        };
        TablePlan {
            name: "public.people".into(),
            schema: schema.clone(),
            action: crate::rules::TableAction::Copy,
            columns: vec![
                column("id", 0, Strategy::Keep),
                column("date_of_birth", 1, strategy),
                column("postcode", 2, Strategy::Keep),
            ],
            eval_order: vec![0, 1, 2],
            quasi_identifiers: vec![1, 2],
            origin: crate::plan::Origin { file: "r.toml".into(), line: 1 },
        }
    }

    #[test]
    fn the_section_warns_when_rows_are_singled_out_and_names_the_rule_that_helps() {
        let counts = count(DEFAULT_CAP, &fixture());
        let section = RiskSection::new(&plan(Strategy::Keep), &counts);
        assert_eq!(section.quasi_identifiers, ["date_of_birth", "postcode"]);
        assert_eq!((section.rows, section.unique_rows, section.k), (8, 3, 1));
        assert_eq!(section.unique_share, 3.0 / 8.0);
        assert_eq!(section.classes, vec![[1, 3], [2, 1], [3, 1]]);
        assert_eq!(section.warning.as_deref(), Some("3 rows (37.5%) are unique on (date_of_birth, postcode)"));
        assert_eq!(
            section.suggestion.as_deref(),
            Some("generalise date_of_birth to year: { action = \"generalise\", to = \"year\" }")
        );
        // Dates already by year: the next column with as many distinct values, the postcode.
        let by_year = RiskSection::new(&plan(Strategy::Generalise(GeneraliseSpec::Period(Period::Year))), &counts);
        assert_eq!(
            by_year.suggestion.as_deref(),
            Some("generalise postcode to its first 3 characters: { action = \"generalise\", prefix = 3 }")
        );
        // No row alone: neither warning nor suggestion.
        let pairs = ClassCounts { rows: 4, sizes: BTreeMap::from([(2, 2)]), distinct: vec![2, 2] };
        let safe = RiskSection::new(&plan(Strategy::Keep), &pairs);
        assert_eq!((safe.k, safe.warning, safe.suggestion), (2, None, None));
        let empty = RiskSection::new(&plan(Strategy::Keep), &ClassCounts::default());
        assert_eq!((empty.k, empty.unique_share), (0, 0.0));
        let json = serde_json::to_value(&section).unwrap();
        assert_eq!(json["classes"], serde_json::json!([[1, 3], [2, 1], [3, 1]]));
        assert_eq!(json["error_bound"], serde_json::Value::Null);
    }
}
