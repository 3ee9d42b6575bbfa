//! The integration tests, as one test binary: one build and link, and one throwaway PostgreSQL
//! cluster ([`common::pg::cluster`]) shared by every test that needs one.
//!
//! Run a group or one test with a filter on the module path, for example
//! `cargo test --test it pg::replace` or `cargo test --test it safety::faults::kill_9`.

mod common;

mod architecture;
mod cli;
mod corpus;
mod docs_examples;
mod drift;
mod dump_archive;
mod dump_filter;
mod dump_source;
pub mod generate;
mod golden;
mod independent_reader;
mod install;
mod object_store;
mod pg;
mod report;
mod safety;
mod scan;
mod verify;
mod zero_columns;
