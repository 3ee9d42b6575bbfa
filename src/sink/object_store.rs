//! Parquet into an object store (`--to s3://bucket/prefix`, cargo feature `object-store`): the
//! same files as the local Parquet sink ([`super::parquet`]), staged in the store, then
//! published by copies inside the store.
//!
//! ```text
//! open      ── refuse a non-empty prefix unless --replace (and then only doppel's output, with
//!              the marker .doppel-output, unless --force), as the local sink does
//!           ── write the marker under PREFIX/.doppel-partial-<run>/ (fails early on a missing
//!              bucket or refused credentials)
//! tables    ── each table is written by the local Parquet sink into a temporary folder and,
//!              when complete, uploaded under PREFIX/.doppel-partial-<run>/ and removed locally
//!              (local disk holds only the tables being written)
//! commit    ── PREFIX/.doppel-publishing written
//!           ── every staged object copied to its final key, then the old output's objects that
//!              the new one does not have deleted, then the marker copied
//!           ── .doppel-publishing deleted, then the staging prefix
//! failure   ── (before commit) the staging objects are deleted; the old output is untouched
//! ```
//!
//! What a reader sees: object stores have no rename, so no publish is atomic for a reader that
//! lists the prefix. Until the commit starts, the old output is there, whole. During the
//! commit's copies (server-side, no data through doppel), a lister sees some tables new and
//! some old; doppel's own Parquet source refuses the prefix while `.doppel-publishing` is there.
//! A run that fails during the commit leaves `.doppel-publishing` (its staging objects are
//! still deleted): doppel refuses to read the mixed output until a run with `--replace`
//! publishes a whole one.
//! A killed run leaves its staging prefix `.doppel-partial-<run>/`: hidden, never read, never
//! removed by another run (no lock tells whether its run is still alive); delete it by hand.
//! Two runs must not publish into one prefix at once: a store has no lock to refuse the second.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use super::parquet::{MARKER, ParquetSink};
use super::staging::FileTarget;
use super::{Sink, TableSink};
use crate::error::{Error, Result};
use crate::source::Location;
use crate::store::client::{Object, Store};
use crate::store::{PUBLISHING, StoreUrl};
use crate::table_files;

/// The name of every run's staging prefix starts with this.
const STAGING: &str = ".doppel-partial-";

pub struct StoreSink {
    store: Store,
    /// This run's staging prefix's name (relative to the target's).
    staging: String,
    /// The local Parquet sink the tables are written with, in `_local`.
    local: Box<ParquetSink>,
    local_staging: PathBuf,
    _local: tempfile::TempDir,
    options: FileTarget,
    committed: bool,
}

fn target_err(url: &StoreUrl, e: impl std::fmt::Display) -> Error {
    Error::target(url, e)
}

impl StoreSink {
    /// Prepares a sink writing to `url` as `options` allow (see the module docs). `metadata`
    /// is added to every file and to the marker; `file_rows` as [`ParquetSink::split_files`].
    pub fn create(
        url: &StoreUrl,
        options: &FileTarget,
        metadata: Vec<(String, String)>,
        file_rows: Option<u64>,
    ) -> Result<StoreSink> {
        url.check()?;
        let store = Store::open(url).map_err(|e| target_err(url, e))?;
        check_replaceable(&store, options)?;
        let local = tempfile::Builder::new()
            .prefix("doppel-store-")
            .tempdir()
            .map_err(|e| target_err(url, format!("cannot create a local temporary folder ({e}); set TMPDIR")))?;
        let sink = ParquetSink::create(&local.path().join("out"), &FileTarget::default(), metadata)?;
        let sink = Box::new(match file_rows {
            Some(rows) => sink.split_files(rows),
            None => sink,
        });
        let Some(Location::Parquet(local_staging)) = sink.staged_location() else {
            return Err(target_err(url, "internal error: the local Parquet sink has no staging folder"));
        };
        let staging = format!("{STAGING}{}", run_id());
        let sink = StoreSink {
            store,
            staging,
            local: sink,
            local_staging,
            _local: local,
            options: options.clone(),
            committed: false,
        };
        // The marker first: a missing bucket or refused credentials stop the run here.
        sink.store.upload(&sink.staged(MARKER), &sink.local_staging.join(MARKER)).map_err(|e| target_err(url, e))?;
        Ok(sink)
    }

    /// The name of `name` in this run's staging prefix.
    fn staged(&self, name: &str) -> String {
        format!("{}/{name}", self.staging)
    }

    fn url(&self) -> &StoreUrl {
        self.store.url()
    }

    fn wrap(&self, name: &str, inner: Box<dyn TableSink>) -> Box<dyn TableSink> {
        Box::new(StoreTableSink {
            inner,
            name: name.to_string(),
            store: self.store.clone(),
            staging: Arc::from(self.staging.as_str()),
            local_staging: self.local_staging.clone(),
        })
    }

    /// Deletes every object of this run's staging prefix.
    fn remove_staging(&self) -> Result<()> {
        for object in self.store.list(&self.staging).map_err(|e| target_err(self.url(), e))? {
            self.store.delete(&object.key).map_err(|e| target_err(self.url(), e))?;
        }
        Ok(())
    }
}

/// A name for this run's staging prefix, unique among runs (process id and the time; the
/// output's bytes never depend on it).
fn run_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos:x}", std::process::id())
}

/// Whether `object` belongs to a run's staging prefix (this run's or another's).
fn is_staging(object: &Object) -> bool {
    object.name.starts_with(STAGING)
}

/// Refuses to replace a non-empty prefix unless `options` allow it (as the local sink:
/// `replace`, and then only doppel's output unless `force`). Staging prefixes do not count.
fn check_replaceable(store: &Store, options: &FileTarget) -> Result<()> {
    let url = store.url();
    let objects = store.list("").map_err(|e| target_err(url, e))?;
    let existing: Vec<&Object> = objects.iter().filter(|o| !is_staging(o)).collect();
    if existing.is_empty() {
        return Ok(());
    }
    if !options.replace {
        return Err(target_err(
            url,
            "holds objects; pass --replace to replace them (they are replaced only when the run succeeds)",
        ));
    }
    if options.force || existing.iter().any(|o| o.name == MARKER || o.name == PUBLISHING) {
        return Ok(());
    }
    Err(target_err(
        url,
        format!(
            "holds objects doppel did not write (there is no {MARKER} marker); --replace replaces only doppel's \
             outputs: name another prefix, empty it yourself, or give --force to replace it anyway"
        ),
    ))
}

impl Sink for StoreSink {
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let inner = self.local.open_table(name, schema)?;
        Ok(self.wrap(name, inner))
    }

    fn open_table_rows(
        &mut self,
        name: &str,
        schema: SchemaRef,
        table_rows: u64,
        first_row: u64,
    ) -> Result<Box<dyn TableSink>> {
        let inner = self.local.open_table_rows(name, schema, table_rows, first_row)?;
        Ok(self.wrap(name, inner))
    }

    fn staged_location(&self) -> Option<Location> {
        Some(Location::Store(self.url().join(&self.staging)))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let url = self.url().clone();
        let fail = |e| target_err(&url, e);
        // Looked at again: the target may have changed while the run was writing.
        check_replaceable(&self.store, &self.options)?;
        self.store.put(PUBLISHING, publishing_note(&self.staging).into_bytes()).map_err(fail)?;
        let staged = self.store.list(&self.staging).map_err(fail)?;
        let mut published = std::collections::BTreeSet::new();
        for object in staged.iter().filter(|o| o.name != format!("{}/{MARKER}", self.staging)) {
            let name = object.name.strip_prefix(&format!("{}/", self.staging)).unwrap_or(&object.name);
            self.store.copy(&object.name, name).map_err(fail)?;
            published.insert(name.to_string());
        }
        for old in self.store.list("").map_err(fail)? {
            let keep = published.contains(&old.name) || is_staging(&old) || old.name == PUBLISHING;
            if !keep {
                self.store.delete(&old.key).map_err(fail)?;
            }
        }
        self.store.copy(&self.staged(MARKER), MARKER).map_err(fail)?;
        self.store.delete(&self.store.key(PUBLISHING).map_err(fail)?).map_err(fail)?;
        self.committed = true;
        self.remove_staging()
    }
}

/// The text of [`PUBLISHING`]: what it means and what to do if it stays.
fn publishing_note(staging: &str) -> String {
    format!(
        "doppel is publishing a new output into this prefix from {staging}/. If this object stays, that run \
         failed half-way: the prefix holds a mix of old and new tables, and doppel refuses to read it; run again \
         with --replace to publish a whole output.\n"
    )
}

impl Drop for StoreSink {
    fn drop(&mut self) {
        if !self.committed
            && let Err(e) = self.remove_staging()
        {
            tracing::warn!("could not remove the staging objects of this run: {e}");
        }
    }
}

/// A table written locally, uploaded into the staging prefix when complete.
struct StoreTableSink {
    inner: Box<dyn TableSink>,
    name: String,
    store: Store,
    staging: Arc<str>,
    local_staging: PathBuf,
}

/// Uploads `path` (a table's file, or its folder of part files) into the staging prefix
/// `staging` under the same name, and removes it locally.
fn upload(store: &Store, staging: &str, path: &Path) -> Result<()> {
    let fail = |e| target_err(store.url(), e);
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if path.is_dir() {
        let mut parts: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| target_err(store.url(), format!("{}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        parts.sort();
        for part in parts {
            store.upload(&format!("{staging}/{}/{}", name(path), name(&part)), &part).map_err(fail)?;
            let _ = std::fs::remove_file(&part);
        }
        let _ = std::fs::remove_dir(path);
    } else {
        store.upload(&format!("{staging}/{}", name(path)), path).map_err(fail)?;
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

impl TableSink for StoreTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch)
    }

    fn finish(self: Box<Self>) -> Result<u64> {
        let this = *self;
        let bytes = this.inner.finish()?;
        let fail = |m| target_err(this.store.url(), m);
        let file = table_files::path_in(&this.local_staging, &this.name, ".parquet").map_err(fail)?;
        let written = if file.is_file() {
            file
        } else {
            table_files::path_in(&this.local_staging, &this.name, "").map_err(fail)?
        };
        upload(&this.store, &this.staging, &written)?;
        Ok(bytes)
    }
}
