//! `unique = true`: outputs distinct within the run, decided in row order.
//!
//! Each domain with a unique column keeps a [`DomainState`]: which output belongs to which
//! input (by 64-bit fingerprints, never the values) and which inputs needed a later attempt.
//! Rows are decided sequentially in table order after the parallel transform, so the result
//! is the same for any thread count or batch size: the first input to produce an output keeps
//! it; a later, different input that produces the same output is re-generated with attempt
//! 1, 2, ... (each a different keyed seed) until its output is free. An input seen again
//! (in any table of the domain) gets the attempt it got the first time, so equal inputs keep
//! equal outputs. After [`MAX_ATTEMPTS`] the run stops with an error naming the row.
//!
//! ```text
//! batch ──parallel──▶ fingerprints + lookups in the state before the batch (cache misses)
//!       ──row order─▶ decisions against those and the batch's own claims (small maps)
//!       ──parallel──▶ the claims merged into the state, shard by shard
//! ```
//!
//! Memory grows with the number of distinct values of unique domains: 64-bit fingerprints of
//! each output and its input, about 17 bytes per value in the maps plus their free slots.
//! The maps are split in [`SHARDS`] by fingerprint, so growing one copies 1/256 of the state:
//! the peak stays near the steady size instead of doubling at each resize.
//!
//! 64-bit fingerprints: two different outputs sharing one only cost an unneeded attempt (the
//! result stays unique and deterministic). Two different inputs sharing one (odds about
//! n²/2⁶⁵, 3·10⁻⁶ for 10 million values) would also need equal outputs to matter.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::{Array, ArrayRef};
use rayon::prelude::*;

use super::values::value_key;

/// Attempts before a collision is reported as an error.
pub const MAX_ATTEMPTS: u32 = 64;

/// Maps per domain state, chosen by a middle byte of the fingerprint (the map inside uses the
/// low bits for the slot and the top bits as its tag, which must vary within a shard).
pub const SHARDS: usize = 256;

/// The maps' keys are already uniform 64-bit hashes: hashing them again is wasted work.
#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map from fingerprints, split in [`SHARDS`] maps by one middle byte of the fingerprint.
struct Sharded<V> {
    shards: Vec<FingerprintMap<V>>,
}

impl<V> Default for Sharded<V> {
    fn default() -> Self {
        Sharded { shards: (0..SHARDS).map(|_| HashMap::default()).collect() }
    }
}

type FingerprintMap<V> = HashMap<u64, V, BuildHasherDefault<PrehashedHasher>>;

impl<V: Send> Sharded<V> {
    fn get(&self, fp: u64) -> Option<&V> {
        self.shards[shard_of(fp)].get(&fp)
    }

    /// Adds `entries` (new fingerprints), every shard on its own thread of the pool.
    fn extend(&mut self, entries: FingerprintMap<V>) {
        if entries.is_empty() {
            return;
        }
        let mut by_shard: Vec<Vec<(u64, V)>> = (0..SHARDS).map(|_| Vec::new()).collect();
        for (fp, v) in entries {
            by_shard[shard_of(fp)].push((fp, v));
        }
        self.shards.par_iter_mut().zip(by_shard).for_each(|(shard, entries)| shard.extend(entries));
    }
}

/// What a row's fingerprints found in the state before its batch.
struct Seen {
    input_fp: u64,
    /// 0 when not needed (the column is not unique, or the input's attempt is known).
    output_fp: u64,
    /// The attempt this input got earlier.
    attempt: Option<u32>,
    /// The input that owns this output.
    owner: Option<u64>,
}

/// What one batch has decided so far, merged into the state at its end.
#[derive(Default)]
struct Batch {
    claimed: FingerprintMap<u64>,
    attempts: FingerprintMap<u32>,
}

fn shard_of(fp: u64) -> usize {
    ((fp >> 40) & 0xff) as usize
}

#[derive(Default)]
pub struct DomainState {
    owner_of_output: Sharded<u64>,
    attempt_of_input: Sharded<u32>,
    /// Text outputs are compared lowercased (a unique column of the domain is `citext` or
    /// under a `lower()` / `upper()` unique index): `Ann@x` and `ann@x` collide.
    fold_case: bool,
}

fn fingerprint(array: &dyn Array, row: usize, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    value_key(array, row, buf);
    let h = blake3::hash(buf);
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// The fingerprint of a text output compared without regard to case (Unicode lowercase,
/// as PostgreSQL's `lower()` in a UTF-8 database for the letters that matter); other
/// types as [`fingerprint`].
fn folded_fingerprint(array: &dyn Array, row: usize, buf: &mut Vec<u8>) -> u64 {
    use arrow_array::cast::AsArray;
    let text = match array.data_type() {
        arrow_schema::DataType::Utf8 => array.as_string::<i32>().value(row),
        arrow_schema::DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        arrow_schema::DataType::Utf8View => array.as_string_view().value(row),
        _ => return fingerprint(array, row, buf),
    };
    buf.clear();
    buf.extend_from_slice(b"folded:");
    buf.extend_from_slice(text.to_lowercase().as_bytes());
    let h = blake3::hash(buf);
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

impl DomainState {
    /// The state of a domain whose text outputs must differ without regard to case.
    pub fn case_insensitive() -> DomainState {
        DomainState { fold_case: true, ..DomainState::default() }
    }

    fn output_fingerprint(&self, array: &dyn Array, row: usize, buf: &mut Vec<u8>) -> u64 {
        if self.fold_case { folded_fingerprint(array, row, buf) } else { fingerprint(array, row, buf) }
    }

    /// Resolves collisions in `output` (computed from `input` at attempt 0). `unique` says
    /// whether this column must be unique; other columns of the domain only reuse earlier
    /// choices. `regenerate(row, attempt)` computes one row again as a 1-element array.
    pub fn resolve(
        &mut self,
        input: &ArrayRef,
        output: ArrayRef,
        unique: bool,
        regenerate: impl Fn(usize, u32) -> Result<ArrayRef, String>,
    ) -> Result<ArrayRef, (usize, String)> {
        let mut replacements: Vec<(usize, ArrayRef)> = Vec::new();
        let mut buf = Vec::with_capacity(64);
        // 1. In parallel (the pool of the transform): fingerprints, and what the state before
        // this batch holds of them. The lookups into the large maps miss the CPU caches; done
        // here they run on every core instead of in the row-order loop below.
        let state = &*self;
        let seen: Vec<Option<Seen>> = (0..input.len())
            .into_par_iter()
            .with_min_len(1024)
            .map_init(
                || Vec::with_capacity(64),
                |buf, row| {
                    if input.is_null(row) || output.is_null(row) {
                        return None;
                    }
                    let input_fp = fingerprint(input.as_ref(), row, buf);
                    let attempt = state.attempt_of_input.get(input_fp).copied();
                    let (output_fp, owner) = match (unique, attempt) {
                        (true, None) => {
                            let fp = state.output_fingerprint(output.as_ref(), row, buf);
                            (fp, state.owner_of_output.get(fp).copied())
                        }
                        _ => (0, None),
                    };
                    Some(Seen { input_fp, output_fp, attempt, owner })
                },
            )
            .collect();
        // 2. Decisions in row order. What this batch claims is kept in small maps until the
        // end, so the state is the one before the batch plus these.
        let mut batch = Batch::default();
        for (row, seen) in seen.iter().enumerate() {
            let Some(s) = seen else { continue };
            if let Some(attempt) = s.attempt.or_else(|| batch.attempts.get(&s.input_fp).copied()) {
                replacements.push((row, regenerate(row, attempt).map_err(|e| (row, e))?));
                continue;
            }
            if !unique {
                continue;
            }
            match batch.claimed.get(&s.output_fp).copied().or(s.owner) {
                None => {
                    batch.claimed.insert(s.output_fp, s.input_fp);
                }
                Some(owner) if owner == s.input_fp => {}
                Some(_) => {
                    let (attempt, value) = self.find_free(row, s.input_fp, &mut batch, &regenerate, &mut buf)?;
                    batch.attempts.insert(s.input_fp, attempt);
                    replacements.push((row, value));
                }
            }
        }
        // 3. The batch's claims into the state, shard by shard in parallel.
        self.owner_of_output.extend(batch.claimed);
        self.attempt_of_input.extend(batch.attempts);
        if replacements.is_empty() {
            return Ok(output);
        }
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

    /// The first attempt whose output neither the state nor this batch has; claims it.
    fn find_free(
        &self,
        row: usize,
        input_fp: u64,
        batch: &mut Batch,
        regenerate: &impl Fn(usize, u32) -> Result<ArrayRef, String>,
        buf: &mut Vec<u8>,
    ) -> Result<(u32, ArrayRef), (usize, String)> {
        for attempt in 1..=MAX_ATTEMPTS {
            let value = regenerate(row, attempt).map_err(|e| (row, e))?;
            if value.is_null(0) {
                return Ok((attempt, value));
            }
            let fp = self.output_fingerprint(value.as_ref(), 0, buf);
            if self.owner_of_output.get(fp).is_none()
                && let std::collections::hash_map::Entry::Vacant(e) = batch.claimed.entry(fp)
            {
                e.insert(input_fp);
                return Ok((attempt, value));
            }
        }
        Err((
            row,
            format!(
                "no unique value found after {MAX_ATTEMPTS} attempts: the rule's value space is too small for this many rows; \
                 use a generator with more values (e.g. email, uuid) or a template with more columns"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, StringArray};

    use super::DomainState;

    fn strings(a: &ArrayRef) -> Vec<String> {
        let a = a.as_any().downcast_ref::<StringArray>().map(|s| s.iter().flatten().map(String::from).collect());
        a.unwrap_or_default()
    }

    /// Two inputs whose first outputs differ only in case; attempt 1 makes `other-<attempt>`.
    fn resolve(mut state: DomainState) -> Vec<String> {
        let input: ArrayRef = Arc::new(StringArray::from(vec!["first", "second", "first"]));
        let output: ArrayRef = Arc::new(StringArray::from(vec!["Ann@x", "ann@X", "Ann@x"]));
        let regenerate =
            |_row: usize, attempt: u32| Ok(Arc::new(StringArray::from(vec![format!("other-{attempt}")])) as ArrayRef);
        let resolved = state.resolve(&input, output, true, regenerate);
        resolved.map(|a| strings(&a)).unwrap_or_default()
    }

    #[test]
    fn a_case_insensitive_domain_counts_outputs_equal_but_for_case_as_a_collision() {
        assert_eq!(resolve(DomainState::default()), ["Ann@x", "ann@X", "Ann@x"]);
        assert_eq!(resolve(DomainState::case_insensitive()), ["Ann@x", "other-1", "Ann@x"]);
    }
}
