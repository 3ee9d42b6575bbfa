//! The PostgreSQL toolkit: what reading from and writing to PostgreSQL share. The source
//! (`source::postgres`), the sinks (`sink::postgres`), `doppel branch`,
//! `protect`, `profile`, `subset` and `scan` all talk to PostgreSQL through these modules, and
//! none of them reaches into another's internals.
//!
//! ```text
//! url ──▶ connect (+ tls, pgpass) ──▶ postgres::Client ──▶ catalog / types / version
//!                  │                        │
//!                  └─▶ child (pg_dump, psql)└─▶ copy_text ▶ text_forms ▶ decode (COPY out → Arrow)
//! error: every failure in our words, by SQLSTATE       ident: quoting
//! restore: post-data with pg_restore --jobs (several connections, dependencies in order)
//! lock, marker, protect: what runs and branches agree on about the databases they write
//! ```
//!
//! | module         | what it does                                                      |
//! |----------------|-------------------------------------------------------------------|
//! | [`url`]        | URLs split and percent-decoded, another database's URL, password hidden |
//! | [`connect`]    | URL + PG* environment → connection; session settings               |
//! | [`pgpass`]     | libpq's password file                                              |
//! | [`tls`]        | sslmode and certificates → rustls connector; PGSSL* for child programs |
//! | [`error`]      | PostgreSQL errors in doppel's words, by SQLSTATE, never a value    |
//! | [`ident`]      | quoting identifiers and literals                                   |
//! | [`version`]    | server version checks (≥ 10, not newer than the local pg_dump)     |
//! | [`catalog`]    | tables, columns and keys in the catalog; the COPY query of a table |
//! | [`types`]      | PostgreSQL type → Arrow type and field metadata                    |
//! | [`copy_text`]  | COPY text framing: rows, fields, NULL, backslash escapes           |
//! | [`text_forms`] | PostgreSQL text forms ↔ values; errors for values Arrow cannot hold |
//! | [`decode`]     | COPY text rows → Arrow builders → batches                          |
//! | [`raw_copy`]   | tables copied unchanged: COPY data cut into whole rows, counted     |
//! | [`child`]      | pg_dump and psql as child processes; the schema's sections         |
//! | [`restore`]    | post-data over several connections with `pg_restore --jobs`       |
//! | [`roles`]      | `--role-map`: owners and privileges carried over to other roles    |
//! | [`lock`]       | the per-database advisory lock of runs and branches; lock timeout  |
//! | [`marker`]     | the comment doppel puts on the databases it creates                |
//! | [`protect`]    | the `doppel protect` mark that makes a database untouchable        |

pub mod carried;
pub mod catalog;
pub mod child;
pub mod connect;
pub mod conninfo;
pub mod copy_text;
pub mod decode;
pub mod decode_binary;
pub mod error;
pub mod ident;
pub mod lock;
pub mod marker;
pub mod pgpass;
pub mod protect;
pub mod raw_copy;
pub mod restore;
pub mod roles;
pub mod text_forms;
pub mod tls;
pub mod type_class;
pub mod types;
pub mod url;
pub mod version;
