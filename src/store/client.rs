//! The object-store client (cargo feature `object-store`): a [`Store`] opened on a
//! [`StoreUrl`], with the few blocking operations doppel needs (list, ranged Parquet reads,
//! put, copy, delete), each run to completion on one shared tokio runtime with one worker
//! thread. doppel's pipeline stays synchronous: a caller's thread blocks on each operation, and
//! Parquet pages are decoded on the caller's thread, not on the runtime.
//!
//! Credentials and settings come from the environment only, as each ecosystem's own tools read
//! them (`object_store`'s `from_env` builders): `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` (an S3-compatible server),
//! `AWS_ALLOW_HTTP` (a plain-http endpoint); `GOOGLE_SERVICE_ACCOUNT`, …; `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCOUNT_KEY`, …. Error messages name the URL and the key, never a credential:
//! the store's own wording is kept, with the value of every credential variable set in the
//! environment replaced by `***` ([`scrub`]).
//!
//! Reading: parquet's async reader over `object_store` ([`parquet::arrow::async_reader`])
//! fetches the footer and then only the column chunks a read needs, by ranged GETs; nothing is
//! downloaded whole. [`Store::batches`] turns its stream into an iterator.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow_array::RecordBatch;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, FutureExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStream};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::StoreUrl;

/// Files up to this size are uploaded in one request; larger ones in parts of this size.
const UPLOAD_PART_BYTES: usize = 16 * 1024 * 1024;

/// What went wrong talking to a store; never holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{key}: not found; check the bucket and prefix names (a bucket is not created by doppel) and, for S3, \
         AWS_REGION and AWS_ENDPOINT_URL"
    )]
    NotFound { key: String },
    #[error(
        "{key}: access denied ({detail}); check the credentials in the environment ({vars}) and that they may \
         read and write this bucket"
    )]
    Denied { key: String, detail: String, vars: &'static str },
    #[error(
        "{bucket}: the bucket does not exist ({detail}); doppel does not create buckets: create it, or check its \
         name and, for S3, AWS_REGION and AWS_ENDPOINT_URL"
    )]
    NoBucket { bucket: String, detail: String },
    #[error("{0}")]
    Other(String),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// An object found under a store location.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its key relative to the location's prefix (`public.t.parquet`, `public.t/part-….parquet`).
    pub name: String,
    pub key: Key,
    pub size: u64,
}

/// A store opened on one location (bucket and prefix); cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: StoreUrl,
}

/// The one runtime every store operation runs on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // reqwest is built without a bundled TLS provider: ring, as for PostgreSQL connections.
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("doppel-store")
            .enable_all()
            .build()
            .expect("a tokio runtime with one worker thread")
    })
}

fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// The environment variables holding credentials, per scheme, as shown in messages.
fn credential_vars(scheme: &str) -> &'static str {
    match scheme {
        "s3" => "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "gs" => "GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_KEY, GOOGLE_APPLICATION_CREDENTIALS",
        _ => "AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY",
    }
}

/// The text of the first `<name>…</name>` element in `text` (a store's XML error body).
fn xml_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    Some(&text[start..end])
}

/// `text` with the value of every credential-like environment variable replaced by `***`.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for (name, value) in std::env::vars() {
        let upper = name.to_ascii_uppercase();
        let store_var = ["AWS_", "AZURE_", "GOOGLE_"].iter().any(|p| upper.starts_with(p));
        let secret = ["SECRET", "TOKEN", "KEY", "PASSWORD", "SAS", "CREDENTIAL"].iter().any(|s| upper.contains(s));
        if store_var && secret && value.len() >= 4 {
            out = out.replace(&value, "***");
        }
    }
    out
}

impl Store {
    /// A store for `url` with settings and credentials from the environment; connects to
    /// nothing yet.
    pub fn open(url: &StoreUrl) -> StoreResult<Store> {
        // The builders make their HTTP client now: TLS provider and runtime first.
        runtime();
        let built: object_store::Result<Arc<dyn ObjectStore>> = match url.scheme {
            "s3" => object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(&url.bucket)
                .build()
                .map(|s| Arc::new(s) as _),
            "gs" => object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(&url.bucket)
                .build()
                .map(|s| Arc::new(s) as _),
            _ => object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_container_name(&url.bucket)
                .build()
                .map(|s| Arc::new(s) as _),
        };
        let inner = built.map_err(|e| {
            StoreError::Other(format!(
                "cannot set up the {} client ({}); check the {} settings in the environment",
                url.service(),
                scrub(&e.to_string()),
                credential_vars(url.scheme)
            ))
        })?;
        Ok(Store { inner, url: url.clone() })
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The key of `name` under this store's prefix.
    pub fn key(&self, name: &str) -> StoreResult<Key> {
        let full = self.url.join(name).prefix;
        Key::parse(&full).map_err(|e| StoreError::Other(format!("{}: not a valid key ({e})", self.url.join(name))))
    }

    fn error(&self, name: &str, e: object_store::Error) -> StoreError {
        let key = self.url.join(name).to_string();
        let text = scrub(&e.to_string());
        let (code, message) = (xml_field(&text, "Code"), xml_field(&text, "Message"));
        let detail = match (code, message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            _ => text.lines().next().unwrap_or_default().to_string(),
        };
        let denied = ["AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken"];
        match e {
            _ if code == Some("NoSuchBucket") || code == Some("ContainerNotFound") => {
                StoreError::NoBucket { bucket: format!("{}://{}", self.url.scheme, self.url.bucket), detail }
            }
            object_store::Error::NotFound { .. } => StoreError::NotFound { key },
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                StoreError::Denied { key, detail, vars: credential_vars(self.url.scheme) }
            }
            _ if code.is_some_and(|c| denied.contains(&c)) || text.contains(" 403 Forbidden") => {
                StoreError::Denied { key, detail, vars: credential_vars(self.url.scheme) }
            }
            _ if text.contains("error sending request") => StoreError::Other(format!(
                "{key}: cannot reach the store ({detail}); check the network and, for an S3-compatible server, \
                 AWS_ENDPOINT_URL (and AWS_ALLOW_HTTP for plain http)"
            )),
            _ => StoreError::Other(format!("{key}: {detail}")),
        }
    }

    /// Every object under `name` (the whole location when empty), in key order.
    pub fn list(&self, name: &str) -> StoreResult<Vec<Object>> {
        let prefix = self.key(name)?;
        let base = self.key("")?;
        let mut objects = block_on(async {
            let mut stream = self.inner.list(Some(&prefix));
            let mut found = Vec::new();
            while let Some(meta) = stream.next().await {
                found.push(meta.map_err(|e| self.error(name, e))?);
            }
            Ok::<_, StoreError>(found)
        })?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects
            .into_iter()
            .filter_map(|meta| {
                let rel = meta.location.prefix_match(&base)?.map(|p| p.as_ref().to_string()).collect::<Vec<_>>();
                Some(Object { name: rel.join("/"), key: meta.location, size: meta.size })
            })
            .collect())
    }

    /// Whether the object `name` exists.
    pub fn exists(&self, name: &str) -> StoreResult<bool> {
        let key = self.key(name)?;
        match block_on(self.inner.head(&key)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(name, e)),
        }
    }

    /// Writes `bytes` as the object `name`.
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let key = self.key(name)?;
        block_on(self.inner.put(&key, PutPayload::from(bytes))).map(|_| ()).map_err(|e| self.error(name, e))
    }

    /// Uploads the local file `path` as the object `name` (in parts when it is large).
    pub fn upload(&self, name: &str, path: &Path) -> StoreResult<()> {
        use std::io::Read;
        let local =
            |e: std::io::Error| StoreError::Other(format!("{}: cannot read the staged file ({e})", path.display()));
        let mut file = std::fs::File::open(path).map_err(local)?;
        let size = file.metadata().map_err(local)?.len();
        if size <= UPLOAD_PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).map_err(local)?;
            return self.put(name, bytes);
        }
        let key = self.key(name)?;
        block_on(async {
            let upload = self.inner.put_multipart(&key).await.map_err(|e| self.error(name, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
            let mut buffer = vec![0u8; UPLOAD_PART_BYTES];
            loop {
                let n = file.read(&mut buffer).map_err(local)?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(2).await.map_err(|e| self.error(name, e))?;
                writer.write(&buffer[..n]);
            }
            writer.finish().await.map(|_| ()).map_err(|e| self.error(name, e))
        })
    }

    /// Copies the object `from` to `to` inside the store (no download).
    pub fn copy(&self, from: &str, to: &str) -> StoreResult<()> {
        let (source, target) = (self.key(from)?, self.key(to)?);
        block_on(self.inner.copy(&source, &target)).map_err(|e| self.error(to, e))
    }

    /// Deletes the object `key`; one already gone is not an error.
    pub fn delete(&self, key: &Key) -> StoreResult<()> {
        match block_on(self.inner.delete(key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key.as_ref(), e)),
        }
    }

    /// Feeds the object's bytes to `each`, in order (for hashing).
    pub fn read_all(&self, object: &Object, mut each: impl FnMut(&[u8])) -> StoreResult<()> {
        block_on(async {
            let got = self.inner.get(&object.key).await.map_err(|e| self.error(&object.name, e))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                each(&chunk.map_err(|e| self.error(&object.name, e))?);
            }
            Ok(())
        })
    }

    /// A Parquet reader builder for `object`, its footer read (two ranged GETs at most).
    pub fn parquet(&self, object: &Object) -> Result<ParquetRecordBatchStreamBuilder<RangeReader>, ParquetError> {
        let reader = RangeReader { inner: self.inner.clone(), key: object.key.clone(), size: object.size };
        block_on(ParquetRecordBatchStreamBuilder::new(reader))
    }
}

/// Parquet's async reader over one object: ranged GETs, the footer found from the object's
/// size (known from the listing).
pub struct RangeReader {
    inner: Arc<dyn ObjectStore>,
    key: Key,
    size: u64,
}

fn parquet_err(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(std::io::Error::other(scrub(&e.to_string()))))
}

impl AsyncFileReader for RangeReader {
    fn get_bytes(&mut self, range: std::ops::Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.inner.get_range(&self.key, range).await.map_err(parquet_err) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move { self.inner.get_ranges(&self.key, &ranges).await.map_err(parquet_err) }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            Ok(Arc::new(ParquetMetaDataReader::new().load_and_finish(&mut *self, size).await?))
        }
        .boxed()
    }
}

/// A Parquet stream as a blocking iterator: each batch's pages are fetched and decoded on the
/// caller's thread.
pub fn batches(
    mut stream: ParquetRecordBatchStream<RangeReader>,
) -> impl Iterator<Item = Result<RecordBatch, ParquetError>> + Send {
    std::iter::from_fn(move || block_on(stream.next()))
}
