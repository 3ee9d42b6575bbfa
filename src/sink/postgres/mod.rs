//! PostgreSQL target (in progress): the pieces that write rows into a PostgreSQL database.
//!
//! - [`copy_text`]: Arrow batches encoded as `COPY … FROM STDIN` text.

pub mod copy_text;
