//! `unique = true`: outputs distinct across the run, decided by a keyed order of the inputs,
//! never by the order rows arrive in.
//!
//! # The definition
//!
//! For a domain with a `unique` column, every non-NULL cell of a unique column of the domain
//! (in any table) is a pair (its value at attempt 0, its input). Each input has a **rank**, a
//! keyed 64-bit hash of the input (and of whether its rule is a template), so the order says
//! nothing about the data. Pairs with the same value form a group (values compared by their
//! fingerprint, the unkeyed XXH3-64 hash of the value's bytes with a type prefix, lowercased
//! first when a unique column of the domain is `citext` or under a `lower()` index); within a
//! group, distinct inputs are ordered by rank:
//!
//! - the lowest-ranked input keeps the value;
//! - the input at **position** p ≥ 2 of a `template` group gets the value with a tag:
//!   `ann.smith.2@example.com` ([`tag`]); tags can be undone from the text, so tagged values
//!   never collide with each other, and a tag that would equal an existing value of the
//!   domain (an untagged one, or a redrawn one below) takes the next form (`.x2`, `.xx2`, …);
//! - any other strategy's losing input is drawn again (attempt 1, 2, … with other keyed
//!   seeds) in rounds: in round k every input still without a value proposes its attempt-k
//!   value; a value that exists already (any group's first value, or one taken in an
//!   earlier round) is refused; among inputs proposing the same free value the lowest rank
//!   takes it. After [`MAX_ATTEMPTS`] rounds the run stops with an error naming a row.
//!
//! Non-unique columns of the domain take what their input got in a group of the same value
//! (so a foreign key hashed like its unique key stays equal to it), and their first value
//! otherwise. The result is a function of the set of pairs and the key: the same for any
//! thread count, batch size, `--jobs`, table order or partitioning, so a distributed engine
//! computes the same bytes by grouping on the value fingerprint.
//!
//! # How a run computes it
//!
//! ```text
//! pass 1  every table with a unique column: first values of the unique columns (and of
//!         what their templates read) ──▶ (fingerprint, rank) pairs, collected per domain
//!         ──▶ sorted and indexed (Pairs)        [parallel sort; then 8 bytes per distinct pair]
//! pass 1b only if a non-template input lost: its table again, the losers' next
//!         REDRAWS_PER_READ attempts ──▶ rounds resolved in memory (repeat while needed)
//! pass 2  the run itself: per row, in parallel, its group's position ──▶ keep, tag or redraw
//! ```
//!
//! A table whose unique columns are all templates, in domains of its own, runs passes 1 and 2
//! in one read instead ([`DomainState::collect_ranked`] then [`DomainState::apply_ranked`];
//! see `crate::pipeline::deferred`): the same pairs, the same decisions.
//!
//! Every step is parallel and touches each row a fixed number of times, so the cost per row
//! does not depend on the size of the table. Memory is the sorted pairs: 16 bytes per
//! distinct (value, input) of the unique columns while pass 1 sorts them, then 8 (the ranks,
//! grouped by value, with a small index) from the end of pass 1 to the end of the run: 80 MB
//! for 10 million rows (not spilled to disk in this version).
//!
//! 64-bit fingerprints and ranks: two different values sharing a fingerprint only cost one of
//! them a tag or a redraw (still unique); two different inputs sharing a rank (odds about
//! n²/2⁶⁵, 3·10⁻⁶ for 10 million inputs) and a value would be treated as one input.

mod pairs;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::builder::GenericStringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericStringArray, OffsetSizeTrait, UInt64Array};
use arrow_schema::DataType;
use rayon::prelude::*;

use super::values::{text_key, value_key};
use crate::secret::DomainKey;
use crate::strategy::tag;
use pairs::Pairs;

/// Attempts of a redrawn value before the run stops.
pub const MAX_ATTEMPTS: u32 = 64;

/// Attempts computed per losing input in one reading of its table (pass 1b).
pub const REDRAWS_PER_READ: u32 = 8;

/// How a rule makes a losing input's value distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `template`: the value with a tag of its position.
    Tag,
    /// Every other strategy: drawn again with another keyed seed.
    Redraw,
}

/// Where a row is, for errors.
#[derive(Debug, Clone)]
pub struct RowAt {
    pub table: Arc<str>,
    pub column: Arc<str>,
    /// 1-based.
    pub row: u64,
}

/// The next attempts of one losing input, from one reading of its table.
struct Redraws {
    rank: u64,
    first_attempt: u32,
    outputs: Vec<u64>,
    at: RowAt,
}

/// The largest chunk of a partition while pass 1 collects pairs (128 KiB): at most one partly
/// filled chunk per partition, 32 MiB for all of them.
const CHUNK_PAIRS: usize = 8192;

/// What pass 1 and 1b build, before the resolution is final.
#[derive(Default)]
struct Building {
    /// Pairs by partition of their fingerprint ([`pairs::partition_of`]), each partition in
    /// chunks of [`CHUNK_PAIRS`]: a partition grows without reallocating, so collecting never
    /// holds a partition twice nor leaves freed copies behind.
    collected: Vec<Vec<Vec<(u64, u64)>>>,
    pairs: Option<Pairs>,
    /// Ranks of losing inputs of redrawn rules still without a value.
    pending: HashSet<u64>,
    redraws: Vec<Redraws>,
    attempts: HashMap<u64, u32>,
    redrawn: HashSet<u64>,
}

/// The final decisions of a domain, read by every row of pass 2.
struct Resolution {
    pairs: Pairs,
    /// Fingerprints of redrawn values, sorted.
    redrawn: Vec<u64>,
    /// The attempt of each redrawn input, by rank.
    attempts: HashMap<u64, u32>,
}

impl Resolution {
    /// Whether `fp` is a value the domain already has (a first value or a redrawn one).
    fn taken(&self, fp: u64) -> bool {
        self.pairs.contains(fp) || self.redrawn.binary_search(&fp).is_ok()
    }
}

/// One domain's uniqueness: collected in pass 1, resolved, then read in pass 2.
#[derive(Default)]
pub struct DomainState {
    /// Text values are compared lowercased (see the module docs).
    fold_case: bool,
    building: Mutex<Building>,
    resolution: OnceLock<Resolution>,
}

/// What a resolved domain holds, for the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub pairs: usize,
    pub groups: usize,
    pub tagged: usize,
    pub redrawn: usize,
}

/// The fingerprint of a text value, lowercased first when `fold` (as PostgreSQL's `lower()`
/// in a UTF-8 database for the letters that matter).
fn text_fingerprint(s: &str, fold: bool, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    if fold {
        buf.extend_from_slice(b"folded:");
        buf.extend_from_slice(s.to_lowercase().as_bytes());
    } else {
        text_key(s, buf);
    }
    fingerprint(buf)
}

/// The fingerprint of a value's key bytes: the unkeyed XXH3-64 hash. Unkeyed is enough: a
/// collision only costs one value a tag or a redraw, never a duplicate.
fn fingerprint(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

fn text_of(array: &dyn Array, row: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

/// Applies `f` to every row (in parallel), `None` for rows where either array is NULL.
fn per_row<T: Send>(
    input: &dyn Array,
    output: &dyn Array,
    f: impl Fn(usize, &mut Vec<u8>) -> T + Sync + Send,
) -> Vec<Option<T>> {
    (0..input.len())
        .into_par_iter()
        .with_min_len(1024)
        .map_init(
            || Vec::with_capacity(64),
            |buf, row| (!input.is_null(row) && !output.is_null(row)).then(|| f(row, buf)),
        )
        .collect()
}

impl DomainState {
    /// The state of a domain whose text values must differ without regard to case.
    pub fn case_insensitive() -> DomainState {
        DomainState { fold_case: true, ..DomainState::default() }
    }

    fn output_fingerprint(&self, array: &dyn Array, row: usize, buf: &mut Vec<u8>) -> u64 {
        match text_of(array, row) {
            Some(s) => text_fingerprint(s, self.fold_case, buf),
            None => {
                buf.clear();
                value_key(array, row, buf);
                fingerprint(buf)
            }
        }
    }

    fn rank(key: &DomainKey, input: &dyn Array, row: usize, family: Family, buf: &mut Vec<u8>) -> u64 {
        buf.clear();
        value_key(input, row, buf);
        (key.hash_u64(b"unique rank", buf) & !1) | u64::from(family == Family::Redraw)
    }

    fn building(&self) -> std::sync::MutexGuard<'_, Building> {
        self.building.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Pass 1: the pairs of one batch of a unique column (`output` is its attempt-0 value).
    pub fn collect(&self, key: &DomainKey, input: &ArrayRef, output: &ArrayRef, family: Family) {
        let pairs = per_row(input.as_ref(), output.as_ref(), |row, buf| {
            (self.output_fingerprint(output.as_ref(), row, buf), Self::rank(key, input.as_ref(), row, family, buf))
        });
        self.push(pairs.into_iter().flatten());
    }

    /// [`Self::collect`] for a column whose decisions are applied to the output later, without
    /// its input ([`Self::apply_ranked`]): returns each row's rank (NULL where the row has
    /// no pair).
    pub fn collect_ranked(&self, key: &DomainKey, input: &ArrayRef, output: &ArrayRef, family: Family) -> UInt64Array {
        let pairs = per_row(input.as_ref(), output.as_ref(), |row, buf| {
            (self.output_fingerprint(output.as_ref(), row, buf), Self::rank(key, input.as_ref(), row, family, buf))
        });
        let ranks: UInt64Array = pairs.iter().map(|p| p.map(|(_, rank)| rank)).collect();
        self.push(pairs.into_iter().flatten());
        ranks
    }

    fn push(&self, pairs: impl Iterator<Item = (u64, u64)>) {
        let mut b = self.building();
        if b.collected.is_empty() {
            b.collected = vec![Vec::new(); pairs::PARTITIONS];
        }
        for p in pairs {
            let chunks = &mut b.collected[pairs::partition_of(p.0)];
            match chunks.last_mut() {
                Some(chunk) if chunk.len() < chunk.capacity() => chunk.push(p),
                _ => {
                    // 64 pairs, then twice as many per chunk up to CHUNK_PAIRS: small domains
                    // stay small.
                    let mut chunk = Vec::with_capacity(CHUNK_PAIRS.min(64 << chunks.len().min(16)));
                    chunk.push(p);
                    chunks.push(chunk);
                }
            }
        }
    }

    /// After pass 1: sorts the pairs; returns how many redrawn inputs lost (pass 1b needed).
    pub fn sort_collected(&self) -> usize {
        let mut b = self.building();
        let mut collected = std::mem::take(&mut b.collected);
        collected.resize(pairs::PARTITIONS, Vec::new());
        // One partition at a time into one exact-size vector, its chunks freed as it goes.
        let partitions: Vec<Vec<(u64, u64)>> = collected
            .into_iter()
            .map(|chunks| {
                let mut partition = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
                for chunk in chunks {
                    partition.extend_from_slice(&chunk);
                }
                partition
            })
            .collect();
        let pairs = Pairs::new(partitions);
        let pending: HashSet<u64> =
            pairs.groups().flat_map(|group| group.ranks()[1..].iter().copied().filter(|rank| rank & 1 == 1)).collect();
        b.pairs = Some(pairs);
        b.pending = pending;
        b.pending.len()
    }

    /// Pass 1b: for the rows of one batch whose input lost and is still without a value, the
    /// fingerprints of attempts `first_attempt..first_attempt + REDRAWS_PER_READ`.
    /// `regenerate(row, attempt)` computes one row's value (a 1-element array).
    pub fn collect_redraws(
        &self,
        key: &DomainKey,
        input: &ArrayRef,
        output: &ArrayRef,
        first_attempt: u32,
        at: impl Fn(usize) -> RowAt + Sync,
        regenerate: impl Fn(usize, u32) -> Result<ArrayRef, String> + Sync,
    ) -> Result<(), (usize, String)> {
        let mut b = self.building();
        let pending = &b.pending;
        let found = per_row(input.as_ref(), output.as_ref(), |row, buf| {
            let rank = Self::rank(key, input.as_ref(), row, Family::Redraw, buf);
            if !pending.contains(&rank) {
                return Ok(None);
            }
            let mut outputs = Vec::with_capacity(REDRAWS_PER_READ as usize);
            for attempt in first_attempt..first_attempt + REDRAWS_PER_READ {
                let value = regenerate(row, attempt).map_err(|e| (row, e))?;
                // A NULL redraw (a strategy that makes NULLs) is never a collision.
                outputs.push(if value.is_null(0) { 0 } else { self.output_fingerprint(value.as_ref(), 0, buf) });
            }
            Ok(Some(Redraws { rank, first_attempt, outputs, at: at(row) }))
        });
        for r in found.into_iter().flatten() {
            if let Some(r) = r? {
                b.redraws.push(r);
            }
        }
        Ok(())
    }

    /// After a pass 1b: the rounds of the attempts it collected. Returns the inputs still
    /// without a value; `Err` names a row of one whose attempts are exhausted.
    /// `first_attempt` is the one the last pass 1b started from.
    pub fn resolve_redraws(&self, first_attempt: u32) -> Result<usize, (RowAt, String)> {
        let mut guard = self.building();
        let b = &mut *guard;
        let Some(pairs) = b.pairs.as_ref() else { return Ok(0) };
        let mut redraws = std::mem::take(&mut b.redraws);
        // One entry per input (an input on several rows has the same attempts).
        redraws.sort_by_key(|r| r.rank);
        redraws.dedup_by_key(|r| r.rank);
        redraws.retain(|r| r.first_attempt == first_attempt);
        for round in 0..REDRAWS_PER_READ as usize {
            let mut proposals: Vec<(u64, u64)> =
                redraws.iter().filter(|r| b.pending.contains(&r.rank)).map(|r| (r.outputs[round], r.rank)).collect();
            proposals.sort_unstable();
            for group in proposals.chunk_by(|a, b| a.0 == b.0) {
                let fp = group[0].0;
                if fp != 0 && (pairs.contains(fp) || b.redrawn.contains(&fp)) {
                    continue;
                }
                // NULL (fp 0) is never a collision: every proposer takes it.
                let winners = if fp == 0 { group } else { &group[..1] };
                for &(_, winner) in winners {
                    b.attempts.insert(winner, first_attempt + round as u32);
                    b.pending.remove(&winner);
                }
                if fp != 0 {
                    b.redrawn.insert(fp);
                }
            }
        }
        let next = first_attempt + REDRAWS_PER_READ;
        if !b.pending.is_empty() && next > MAX_ATTEMPTS {
            let at = redraws.iter().find(|r| b.pending.contains(&r.rank)).map(|r| r.at.clone());
            let at = at.unwrap_or(RowAt { table: "?".into(), column: "?".into(), row: 0 });
            return Err((at, no_free_value()));
        }
        Ok(b.pending.len())
    }

    /// Makes the decisions final for pass 2.
    pub fn finish(&self) -> Summary {
        let mut b = self.building();
        let pairs = b.pairs.take().unwrap_or_else(|| Pairs::new(vec![Vec::new(); pairs::PARTITIONS]));
        let mut redrawn: Vec<u64> = b.redrawn.drain().collect();
        redrawn.sort_unstable();
        let attempts = std::mem::take(&mut b.attempts);
        let mut summary = Summary { pairs: pairs.len(), redrawn: attempts.len(), ..Summary::default() };
        for group in pairs.groups() {
            summary.groups += 1;
            summary.tagged += group.ranks()[1..].iter().filter(|&&rank| rank & 1 == 0).count();
        }
        let _ = self.resolution.set(Resolution { pairs, redrawn, attempts });
        summary
    }

    /// Pass 2: `output` (attempt 0 of `input`) with every losing input's value tagged or
    /// redrawn. `regenerate(row, attempt)` computes one row's value (a 1-element array).
    pub fn apply(
        &self,
        key: &DomainKey,
        input: &ArrayRef,
        output: ArrayRef,
        family: Family,
        regenerate: impl Fn(usize, u32) -> Result<ArrayRef, String> + Sync,
    ) -> Result<ArrayRef, (usize, String)> {
        let resolution = self.resolution()?;
        let positions = self.positions(resolution, output.as_ref(), |row, buf| {
            (!input.is_null(row)).then(|| Self::rank(key, input.as_ref(), row, family, buf))
        });
        if positions.iter().all(Option::is_none) {
            return Ok(output);
        }
        match family {
            Family::Tag => self.tag(resolution, &output, &positions),
            Family::Redraw => {
                let replacements: Vec<(usize, ArrayRef)> = positions
                    .par_iter()
                    .enumerate()
                    .filter(|(_, p)| p.is_some())
                    .map(|(row, _)| {
                        let mut buf = Vec::new();
                        let rank = Self::rank(key, input.as_ref(), row, family, &mut buf);
                        let attempt = resolution.attempts.get(&rank).copied().ok_or((row, no_free_value()))?;
                        regenerate(row, attempt).map(|v| (row, v)).map_err(|e| (row, e))
                    })
                    .collect::<Result<_, _>>()?;
                interleave(&output, &replacements)
            }
        }
    }

    /// Pass 2 of a template column collected with [`Self::collect_ranked`]: `output` (its
    /// attempt-0 values) with every losing input's value tagged; `ranks` as collected.
    pub fn apply_ranked(&self, output: ArrayRef, ranks: &UInt64Array) -> Result<ArrayRef, (usize, String)> {
        let resolution = self.resolution()?;
        let positions =
            self.positions(resolution, output.as_ref(), |row, _| ranks.is_valid(row).then(|| ranks.value(row)));
        if positions.iter().all(Option::is_none) {
            return Ok(output);
        }
        self.tag(resolution, &output, &positions)
    }

    fn resolution(&self) -> Result<&Resolution, (usize, String)> {
        self.resolution
            .get()
            .ok_or((0, "internal error: the unique values of this column were not resolved before the run".to_string()))
    }

    /// The position of each row's input in its value's group, `None` for the rows that keep
    /// their value (the first of their group, NULL, or without a rank from `rank_of`).
    fn positions(
        &self,
        resolution: &Resolution,
        output: &dyn Array,
        rank_of: impl Fn(usize, &mut Vec<u8>) -> Option<u64> + Sync,
    ) -> Vec<Option<u32>> {
        (0..output.len())
            .into_par_iter()
            .with_min_len(1024)
            .map_init(
                || Vec::with_capacity(64),
                |buf, row| {
                    if output.is_null(row) {
                        return None;
                    }
                    let group = resolution.pairs.group(self.output_fingerprint(output, row, buf));
                    if group.len() < 2 {
                        return None;
                    }
                    // A group is sorted by rank: its position is its index.
                    let position = group.position(rank_of(row, buf)?)?;
                    (position > 0).then_some(position as u32)
                },
            )
            .collect()
    }

    /// Tagged values for the rows with a position (see [`tag`]).
    fn tag(
        &self,
        resolution: &Resolution,
        output: &ArrayRef,
        positions: &[Option<u32>],
    ) -> Result<ArrayRef, (usize, String)> {
        let tags: Vec<Option<String>> = positions
            .par_iter()
            .enumerate()
            .with_min_len(1024)
            .map_init(Vec::new, |buf, (row, position)| -> Result<Option<String>, (usize, String)> {
                let Some(position) = position else { return Ok(None) };
                let value = text_of(output.as_ref(), row).ok_or((row, "a template's value is not text".to_string()))?;
                for form in 0..tag::MAX_FORMS {
                    let tagged = tag::tagged(value, position + 1, form);
                    if !resolution.taken(text_fingerprint(&tagged, self.fold_case, buf)) {
                        return Ok(Some(tagged));
                    }
                }
                Err((row, no_free_value()))
            })
            .collect::<Result<_, _>>()?;
        match output.data_type() {
            DataType::LargeUtf8 => Ok(with_tags::<i64>(output.as_string::<i64>(), &tags)),
            _ => Ok(with_tags::<i32>(output.as_string::<i32>(), &tags)),
        }
    }
}

fn with_tags<O: OffsetSizeTrait>(output: &GenericStringArray<O>, tags: &[Option<String>]) -> ArrayRef {
    let mut b = GenericStringBuilder::<O>::with_capacity(output.len(), output.value_data().len() + tags.len() * 4);
    for (row, tag) in tags.iter().enumerate() {
        match tag {
            Some(t) => b.append_value(t),
            None if output.is_null(row) => b.append_null(),
            None => b.append_value(output.value(row)),
        }
    }
    Arc::new(b.finish())
}

/// `output` with the rows of `replacements` (1-element arrays) put in.
fn interleave(output: &ArrayRef, replacements: &[(usize, ArrayRef)]) -> Result<ArrayRef, (usize, String)> {
    let mut arrays: Vec<&dyn Array> = vec![output.as_ref()];
    arrays.extend(replacements.iter().map(|(_, a)| a.as_ref()));
    let mut next = replacements.iter().map(|(r, _)| *r).enumerate().peekable();
    let indices: Vec<(usize, usize)> = (0..output.len())
        .map(|row| match next.peek() {
            Some(&(k, r)) if r == row => {
                next.next();
                (k + 1, 0)
            }
            _ => (0, row),
        })
        .collect();
    arrow_select::interleave::interleave(&arrays, &indices).map_err(|e| (0, e.to_string()))
}

fn no_free_value() -> String {
    format!(
        "no unique value found after {MAX_ATTEMPTS} attempts: the rule's value space is too small for this many rows; \
         use a generator with more values (e.g. email, uuid) or a template with more columns"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, StringArray};

    use super::{DomainState, Family};
    use crate::secret::Key;

    fn strings(a: &ArrayRef) -> Vec<String> {
        let a = a.as_any().downcast_ref::<StringArray>().map(|s| s.iter().flatten().map(String::from).collect());
        a.unwrap_or_default()
    }

    /// Three inputs whose template values differ only in case.
    fn resolve(state: DomainState) -> Vec<String> {
        let key = Key::from_text("unit-test-key-0123456789abcdef0123456789").unwrap().domain("d");
        let input: ArrayRef = Arc::new(StringArray::from(vec!["first", "second", "first"]));
        let output: ArrayRef = Arc::new(StringArray::from(vec!["Ann@x", "ann@X", "Ann@x"]));
        state.collect(&key, &input, &output, Family::Tag);
        assert_eq!(state.sort_collected(), 0);
        state.finish();
        let never = |_row: usize, _attempt: u32| -> Result<ArrayRef, String> { Err("no redraws".into()) };
        strings(&state.apply(&key, &input, output, Family::Tag, never).unwrap())
    }

    #[test]
    fn a_case_insensitive_domain_counts_values_equal_but_for_case_as_a_collision() {
        assert_eq!(resolve(DomainState::default()), ["Ann@x", "ann@X", "Ann@x"]);
        let folded = resolve(DomainState::case_insensitive());
        // One of the two inputs keeps its value (which one is the keyed order's choice).
        assert!(folded == ["Ann@x", "ann.2@X", "Ann@x"] || folded == ["Ann.2@x", "ann@X", "Ann.2@x"], "{folded:?}");
    }
}
