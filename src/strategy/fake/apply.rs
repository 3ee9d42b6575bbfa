//! The bound `fake` strategy: its description, fit check and application to arrays.

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use super::{FakeSpec, FakeValue, Generator, generate, ip_like, max_chars};
use crate::secret::DomainKey;
use crate::strategy::Behaviour;
use crate::strategy::apply::{CellError, ColumnInput, Regenerate, map_text};
use crate::strategy::fit::Declared;
use crate::strategy::values::{fake_array, fake_text, text_key, value_key};

impl Behaviour for FakeSpec {
    fn action(&self) -> &'static str {
        "fake"
    }

    fn describe(&self) -> String {
        format!("fake {} locale={}", self.generator.name(), self.locale.name())
    }

    /// Generators with a longest value are checked now, the others at run time.
    fn fit(&self, declared: &Declared) -> Result<Option<usize>, String> {
        match max_chars(self) {
            Some(max) if max > declared.limit => declared.too_long(
                format!("generator `{}` (locale {}) at its longest", self.generator.name(), self.locale.name()),
                max,
                "choose a generator or locale with shorter values, or `hash` with a `length` that fits",
            ),
            Some(_) => Ok(None),
            None => Ok(Some(declared.limit)),
        }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        let input = c.input;
        if matches!(input.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
            return map_text(input, |s, out| self.text_value(c.key, s, c.attempt, out));
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
        Ok(())
    }

    fn regenerate_text(&self, r: &Regenerate) -> Option<Result<String, String>> {
        r.by_text_value(self)
    }
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
        // Unbounded generators are checked at run time.
        assert_eq!(check(&c, &fake(Generator::Email, Locale::En)), Ok(Some(12)));
    }
}
