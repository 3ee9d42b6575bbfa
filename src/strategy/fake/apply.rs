//! The bound `fake` strategy: its description, fit check and application to arrays.

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use super::{FIT_ATTEMPTS, FIT_SEED_STRIDE, FakeSpec, FakeValue, Generator, generate, ip_like, max_chars};
use crate::secret::DomainKey;
use crate::strategy::Behaviour;
use crate::strategy::apply::{CellError, ColumnInput, Regenerate, map_text_memo};
use crate::strategy::fit::{Declared, pg_chars};
use crate::strategy::values::{fake_array, fake_text, text_key, value_key};
use crate::strategy::words::{Words, number};

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl Behaviour for FakeSpec {
    fn action(&self) -> &'static str {
        "fake"
    }

    fn describe(&self) -> String {
        // `min` and `max` are held as days or microseconds; the rules write dates and times.
        let bound = |b: Option<f64>| {
            b.map(|v| match self.generator {
                Generator::Date => chrono::NaiveDate::from_num_days_from_ce_opt(EPOCH_DAYS_FROM_CE + v as i32)
                    .map_or_else(|| number(v), |d| d.to_string().into()),
                Generator::DateTime => chrono::DateTime::from_timestamp_micros(v as i64)
                    .map_or_else(|| number(v), |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true).into()),
                _ => number(v),
            })
        };
        let count = self.count.map(|(low, high)| toml::Value::Array(vec![(low as i64).into(), (high as i64).into()]));
        Words::new("fake")
            .opt("generator", self.generator.name())
            .opt("locale", self.locale.name())
            .opt_some("min", bound(self.min))
            .opt_some("max", bound(self.max))
            .opt_some("count", count)
            .opt_some("email_domain", self.email_domain.clone())
            .opt_some("scale", self.scale.map(i64::from))
            .finish()
    }

    /// Generators with a longest value are checked now. The others make values that fit by
    /// construction (re-tried from other seeds, see [`FakeSpec::fit_within`]); the plan
    /// accepts them when a measured sample says a fitting value is all but certain within
    /// [`FIT_ATTEMPTS`] seeds, and each value is still checked at run time.
    fn fit(&self, declared: &Declared) -> Result<Option<usize>, String> {
        match max_chars(self) {
            Some(max) if max > declared.limit => declared.too_long(
                format!("generator `{}` (locale {}) at its longest", self.generator.name(), self.locale.name()),
                max,
                "choose a generator or locale with shorter values, or `hash` with a `length` that fits",
            ),
            Some(_) => Ok(None),
            None => fits_often_enough(self, declared).map(|()| Some(declared.limit)),
        }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        let input = c.input;
        if matches!(input.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
            // A fake is a function of the value: repeated values are generated once.
            return map_text_memo(input, |s, out| self.text_value(c.key, s, c.attempt, out));
        }
        let mut buf = Vec::with_capacity(32);
        let values: Vec<Option<FakeValue>> = (0..input.len())
            .map(|row| {
                input.is_valid(row).then(|| {
                    buf.clear();
                    value_key(input.as_ref(), row, &mut buf);
                    let mut rng = c.key.rng(b"fake", &buf, c.attempt);
                    generate(self, &mut rng, c.attempt)
                })
            })
            .collect();
        fake_array(&values, input.data_type(), self.scale.unwrap_or(2))
    }

    fn text_value(&self, key: &DomainKey, s: &str, attempt: u32, out: &mut String) -> Result<(), String> {
        let mut buf = Vec::with_capacity(s.len() + 1);
        text_key(s, &mut buf);
        let mut rng = key.rng(b"fake", &buf, attempt);
        if self.generator == Generator::Ip {
            return ip_like(&mut rng, s, out);
        }
        fake_text(&generate(self, &mut rng, attempt), out);
        // Too long for the column: another keyed seed, until one fits (the run-time check
        // stops the run if none of them does).
        if let Some(limit) = self.fit_within {
            for retry in 1..FIT_ATTEMPTS {
                if pg_chars(out) <= limit {
                    break;
                }
                let mut rng = key.rng(b"fake", &buf, attempt.wrapping_add(retry * FIT_SEED_STRIDE));
                out.clear();
                fake_text(&generate(self, &mut rng, attempt), out);
            }
        }
        Ok(())
    }

    fn regenerate_text(&self, r: &Regenerate) -> Option<Result<String, String>> {
        r.by_text_value(self)
    }
}

/// Values measured to judge whether a generator fits a declared length.
const FIT_SAMPLE: u32 = 2000;

/// Whether `spec`'s values fit `declared` often enough that [`FIT_ATTEMPTS`] seeds find a
/// fitting one for every row but with odds under one in 10^9: measured on [`FIT_SAMPLE`]
/// values made with a fixed key (the share that fits does not depend on the key).
fn fits_often_enough(spec: &FakeSpec, declared: &Declared) -> Result<(), String> {
    let Ok(key) = crate::secret::Key::from_text("doppel: measuring generated lengths, not a secret") else {
        return Ok(());
    };
    let key = key.domain("fit");
    let measure = FakeSpec { fit_within: None, ..spec.clone() };
    let (mut fitting, mut longest, mut out) = (0u32, 0usize, String::new());
    for i in 0..FIT_SAMPLE {
        out.clear();
        let mut rng = key.rng(b"fake", &i.to_le_bytes(), 0);
        fake_text(&generate(&measure, &mut rng, 0), &mut out);
        let n = pg_chars(&out);
        longest = longest.max(n);
        fitting += u32::from(n <= declared.limit);
    }
    let miss = 1.0 - f64::from(fitting) / f64::from(FIT_SAMPLE);
    if miss.powi(FIT_ATTEMPTS as i32) <= 1e-9 {
        return Ok(());
    }
    let share = 100.0 * f64::from(fitting) / f64::from(FIT_SAMPLE);
    Err(format!(
        "generator `{}` (locale {}) makes values of up to {longest} characters (measured), and only {share:.0}% of \
         them fit the column's type {}, which holds at most {}: doppel could not make every row's value fit; choose \
         a generator or locale with shorter values, or `hash` with a `length` that fits",
        spec.generator.name(),
        spec.locale.name(),
        declared.pg_type,
        declared.limit
    ))
}

#[cfg(test)]
mod tests {
    use crate::strategy::Strategy;
    use crate::strategy::fake::{FakeSpec, Generator, Locale};
    use crate::strategy::fit::{check, declared_text as field};

    #[test]
    fn generators_with_a_longest_value_are_checked_at_plan_time_the_others_at_run_time() {
        let c = field("character varying(12)");
        let fake = |g: Generator, locale: Locale| Strategy::Fake(FakeSpec { locale, ..FakeSpec::new(g) });
        let e = check(&field("character varying(30)"), &fake(Generator::Uuid, Locale::En)).unwrap_err();
        assert!(e.contains("36 characters"), "{e}");
        assert_eq!(check(&field("character varying(15)"), &fake(Generator::Ipv4, Locale::En)), Ok(None));
        assert!(check(&field("character varying(14)"), &fake(Generator::Ipv4, Locale::En)).is_err());
        assert_eq!(check(&field("character(2)"), &fake(Generator::CountryCode, Locale::En)), Ok(None));
        assert_eq!(check(&field("character varying(22)"), &fake(Generator::Iban, Locale::DeDe)), Ok(None));
        assert!(check(&field("character varying(22)"), &fake(Generator::Iban, Locale::FrFr)).is_err());
        assert!(check(&field("character varying(22)"), &fake(Generator::Iban, Locale::En)).is_err(), "up to 27");
        assert!(check(&field("character varying(15)"), &fake(Generator::CreditCard, Locale::En)).is_err());
        // Unbounded generators: accepted when a sample says values can be made to fit (each
        // is still checked at run time), refused when too few of them fit.
        let e = check(&c, &fake(Generator::Email, Locale::En)).unwrap_err();
        assert!(e.contains("(measured)") && e.contains("at most 12"), "{e}");
        assert_eq!(check(&field("character varying(40)"), &fake(Generator::Email, Locale::En)), Ok(Some(40)));
    }

    #[test]
    fn open_ended_generators_make_values_that_fit_the_declared_length() {
        let key = crate::secret::Key::from_text("0123456789abcdef0123456789abcdef").unwrap().domain("t");
        let lengths = |spec: &FakeSpec| -> Vec<usize> {
            let mut out = String::new();
            (0..500)
                .map(|i| {
                    out.clear();
                    crate::strategy::Behaviour::text_value(spec, &key, &format!("input {i}"), 0, &mut out).unwrap();
                    out.chars().count()
                })
                .collect()
        };
        let email = FakeSpec::new(Generator::Email);
        let limit = 24;
        assert!(lengths(&email).iter().any(|&n| n > limit), "the test needs emails longer than {limit}");
        let fitted = FakeSpec { fit_within: Some(limit), ..email.clone() };
        assert!(lengths(&fitted).iter().all(|&n| n <= limit));
        // Values that fit at first are the same as without a limit: only the long ones change.
        let (plain, fit) = (lengths(&email), lengths(&fitted));
        assert!(plain.iter().zip(&fit).filter(|(p, _)| **p <= limit).all(|(p, f)| p == f));
        assert_eq!(check(&field("character varying(24)"), &Strategy::Fake(email)), Ok(Some(24)));
    }
}
