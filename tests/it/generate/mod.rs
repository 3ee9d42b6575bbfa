//! `doppel generate` and `doppel profile`, and the benchmark fixture generator.

mod bench_fixture;
mod into_postgres;
mod profile;
