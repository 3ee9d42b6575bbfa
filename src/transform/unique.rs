//! `unique = true`: outputs distinct within the run, decided in row order.
//!
//! Each domain with a unique column keeps a [`DomainState`]: which output belongs to which
//! input (by 128-bit fingerprints, never the values) and which inputs needed a later attempt.
//! Rows are resolved sequentially in table order after the parallel transform, so the result
//! is the same for any thread count or batch size: the first input to produce an output keeps
//! it; a later, different input that produces the same output is re-generated with attempt
//! 1, 2, ... (each a different keyed seed) until its output is free. An input seen again
//! (in any table of the domain) gets the attempt it got the first time, so equal inputs keep
//! equal outputs. After [`MAX_ATTEMPTS`] the run stops with an error naming the row.
//!
//! Memory grows with the number of distinct values of unique domains (about 50 bytes each).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::{Array, ArrayRef};
use rayon::prelude::*;

use super::values::value_key;

/// Attempts before a collision is reported as an error.
pub const MAX_ATTEMPTS: u32 = 64;

/// The maps' keys are already uniform 128-bit hashes: hashing them again is wasted work.
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

    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FingerprintMap<V> = HashMap<u128, V, BuildHasherDefault<PrehashedHasher>>;

#[derive(Default)]
pub struct DomainState {
    owner_of_output: FingerprintMap<u128>,
    attempt_of_input: FingerprintMap<u32>,
}

fn fingerprint(array: &dyn Array, row: usize, buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    value_key(array, row, buf);
    let h = blake3::hash(buf);
    u128::from_le_bytes(h.as_bytes()[..16].try_into().unwrap_or([0; 16]))
}

impl DomainState {
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
        // Fingerprints in parallel (the pool of the transform); decisions below in row order.
        let fingerprints: Vec<Option<(u128, u128)>> = (0..input.len())
            .into_par_iter()
            .with_min_len(1024)
            .map_init(
                || Vec::with_capacity(64),
                |buf, row| {
                    if input.is_null(row) || output.is_null(row) {
                        return None;
                    }
                    let input_fp = fingerprint(input.as_ref(), row, buf);
                    let output_fp = if unique { fingerprint(output.as_ref(), row, buf) } else { 0 };
                    Some((input_fp, output_fp))
                },
            )
            .collect();
        for (row, fingerprints) in fingerprints.into_iter().enumerate() {
            let Some((input_fp, output_fp)) = fingerprints else { continue };
            if let Some(&attempt) = self.attempt_of_input.get(&input_fp) {
                replacements.push((row, regenerate(row, attempt).map_err(|e| (row, e))?));
                continue;
            }
            if !unique {
                continue;
            }
            match self.owner_of_output.get(&output_fp) {
                None => {
                    self.owner_of_output.insert(output_fp, input_fp);
                }
                Some(&owner) if owner == input_fp => {}
                Some(_) => {
                    let (attempt, value) = self.find_free(row, input_fp, &regenerate, &mut buf)?;
                    self.attempt_of_input.insert(input_fp, attempt);
                    replacements.push((row, value));
                }
            }
        }
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

    fn find_free(
        &mut self,
        row: usize,
        input_fp: u128,
        regenerate: &impl Fn(usize, u32) -> Result<ArrayRef, String>,
        buf: &mut Vec<u8>,
    ) -> Result<(u32, ArrayRef), (usize, String)> {
        for attempt in 1..=MAX_ATTEMPTS {
            let value = regenerate(row, attempt).map_err(|e| (row, e))?;
            if value.is_null(0) {
                return Ok((attempt, value));
            }
            let fp = fingerprint(value.as_ref(), 0, buf);
            if let std::collections::hash_map::Entry::Vacant(e) = self.owner_of_output.entry(fp) {
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
