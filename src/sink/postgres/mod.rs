//! PostgreSQL target: the pieces that write rows into a PostgreSQL database.
//!
//! - [`database`]: [`database::PostgresSink`], a new database built from the source's schema
//!   (pg_dump pre-data), loaded with COPY, then post-data, sequences and ANALYZE.
//! - [`replace`]: `--replace`: build beside an existing database, swap it in atomically at the
//!   end, clean up after killed runs.
//! - [`dump`]: [`dump::DumpSink`], a plain SQL script (`--to file.sql` or `--to -`) that psql
//!   restores into an empty database: pre-data, COPY blocks, post-data and sequence values, the
//!   data in one transaction that commits at the end of the script.
//! - [`filter`]: [`filter::FilterSink`], a dump's own script to stdout with its table data
//!   anonymised (`--from DUMP --to -`), everything else passed through in its order.
//! - [`archive`]: [`archive::ArchiveSink`], the same as a custom-format archive
//!   (`--format custom`) that `pg_restore --jobs` loads in parallel.
//! - [`existing`]: [`existing::ExistingTablesSink`], existing empty tables of a database whose
//!   schema the user made (the target of a Parquet source), loaded in one transaction.
//! - [`copy_in`]: one table's `COPY … FROM STDIN` on a writer thread of its own.
//! - [`sequences`]: sequences set as the source has them, never below the loaded values.
//! - [`copy_text`]: Arrow batches encoded as `COPY … FROM STDIN` text.
//! - [`copy_binary`]: the same in binary, for tables whose every column has a binary form.

pub mod archive;
pub mod copy_binary;
pub mod copy_in;
pub mod copy_text;
pub mod database;
pub mod dump;
pub mod early;
pub mod existing;
pub mod filter;
pub mod replace;
pub mod sequences;

/// A dump file's schema SQL with its owners and privileges rewritten by `roles`
/// ([`crate::pg::roles::RoleMap::rewrite_dump`]): without a map all of them go, as pg_dump's `--no-owner
/// --no-privileges` would leave them out of a live source's schema.
pub(crate) fn dumped_sql(text: &str, roles: &crate::pg::roles::RoleMap) -> Vec<u8> {
    let (text, dropped) = roles.rewrite_dump(text);
    if !dropped.is_empty() && !roles.is_empty() {
        tracing::warn!(
            roles = %dropped.join(", "),
            "owners and privileges of roles not named by --role-map are not restored"
        );
    }
    text.into_bytes()
}
