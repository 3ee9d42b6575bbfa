//! `doppel generate` and `doppel profile`, and the benchmark fixture generator.

mod bench_fixture;
pub mod into_postgres;
mod profile;
