//! Object storage: `s3://bucket/prefix`, `gs://bucket/prefix` and `az://container/prefix` as
//! Parquet sources and targets (`--from`, `--to`), the same layout as a Parquet directory
//! (`<prefix>/<schema>.<table>.parquet`, `<prefix>/<schema>.<table>/part-….parquet`).
//!
//! [`StoreUrl`] (always built) recognises and parses such a URL; [`client`] (cargo feature
//! `object-store`, on by default) talks to the store through the `object_store` crate:
//!
//! ```text
//! StoreUrl ──▶ client::Store (credentials from the environment only: AWS_*, GOOGLE_*, AZURE_*)
//!                ├── list / hash           source::parquet (files), audit identity
//!                ├── ranged reads          parquet's async reader, driven by one small runtime
//!                └── put / copy / delete   sink::object_store (staging prefix, then publish)
//! ```
//!
//! A URL with a user or password part (`s3://key:secret@bucket/…`) is refused: credentials
//! come from the environment, and a URL is printed in messages. A build without the feature
//! parses these URLs too, and refuses to open them with a message saying how to get a build
//! that can.

#[cfg(feature = "object-store")]
pub mod client;

use std::fmt;

use crate::error::{Error, Result};

/// The object that says a publish is under way (or failed half-way) under a prefix: written
/// by the sink (`sink::object_store`) before it publishes, refused by the source.
pub const PUBLISHING: &str = ".doppel-publishing";

/// The URL schemes of object stores, and the store each names.
const SCHEMES: [(&str, &str); 3] = [("s3", "Amazon S3"), ("gs", "Google Cloud Storage"), ("az", "Azure Blob Storage")];

/// An object-store location: a bucket (container) and a prefix inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    /// `s3`, `gs` or `az`.
    pub scheme: &'static str,
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// The URL had a `user:password@` part (dropped here, refused at [`StoreUrl::check`]).
    userinfo: bool,
}

impl StoreUrl {
    /// Parses `s` when it starts with a store scheme (`s3://`, `gs://`, `az://`); `None` otherwise.
    pub fn parse(s: &str) -> Option<StoreUrl> {
        let (scheme, rest) = s.split_once("://")?;
        let scheme = SCHEMES.iter().map(|(k, _)| *k).find(|k| k.eq_ignore_ascii_case(scheme))?;
        // A user or password part: up to the last `@` of the authority, or, when the authority
        // has a `:` (never in a bucket name), up to the first `@` anywhere, since a pasted
        // secret may hold a `/`. Without any `@`, everything after the scheme is dropped.
        let authority = rest.split('/').next().unwrap_or_default();
        let userinfo_end = match (authority.rfind('@'), authority.contains(':')) {
            (Some(at), _) => Some(Some(at)),
            (None, true) => Some(rest.find('@')),
            (None, false) => None,
        };
        let after = match userinfo_end {
            None => rest,
            Some(Some(at)) => &rest[at + 1..],
            Some(None) => "",
        };
        let (bucket, path) = after.split_once('/').unwrap_or((after, ""));
        let userinfo = userinfo_end.is_some();
        let prefix = path.split('/').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("/");
        Some(StoreUrl { scheme, bucket: bucket.to_string(), prefix, userinfo })
    }

    /// Refuses a URL this version cannot use: one with credentials in it, or without a bucket.
    pub fn check(&self) -> Result<()> {
        if self.userinfo {
            return Err(Error::Usage(format!(
                "{self}: the URL has a user or password part; doppel takes object-store credentials from the \
                 environment only (see `doppel help run` and docs/object-storage.md): remove it from the URL"
            )));
        }
        if self.bucket.is_empty() {
            return Err(Error::Usage(format!("{self}: name a bucket ({}://BUCKET/PREFIX)", self.scheme)));
        }
        if self.prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(Error::Usage(format!("{self}: `.` and `..` are not key names; name the prefix plainly")));
        }
        Ok(())
    }

    /// The store this URL's scheme names.
    pub fn service(&self) -> &'static str {
        SCHEMES.iter().find(|(k, _)| *k == self.scheme).map(|(_, name)| *name).unwrap_or("object store")
    }

    /// The location `name` (one key segment, or several joined by `/`) under this prefix.
    pub fn join(&self, name: &str) -> StoreUrl {
        let prefix = match (self.prefix.is_empty(), name.is_empty()) {
            (_, true) => self.prefix.clone(),
            (true, false) => name.to_string(),
            (false, false) => format!("{}/{name}", self.prefix),
        };
        StoreUrl { prefix, ..self.clone() }
    }

    /// How this location overlaps `other` ("is", "is inside", "contains"); `None` when neither
    /// holds the other.
    pub fn overlap(&self, other: &StoreUrl) -> Option<&'static str> {
        if self.scheme != other.scheme || self.bucket != other.bucket {
            return None;
        }
        let inside = |a: &str, b: &str| b.is_empty() || a.starts_with(&format!("{b}/"));
        if self.prefix == other.prefix {
            Some("is")
        } else if inside(&self.prefix, &other.prefix) {
            Some("is inside")
        } else if inside(&other.prefix, &self.prefix) {
            Some("contains")
        } else {
            None
        }
    }
}

/// The URL without any user or password part.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// The message for a store location in a build without the `object-store` feature.
pub fn not_built(url: &StoreUrl) -> Error {
    Error::Usage(format!(
        "{url}: this doppel was built without object storage; build it with the default features (cargo install \
         doppel, or cargo build --features object-store), or copy the data to a local directory first"
    ))
}

/// `file:///path` (or `file://localhost/path`) as a local path, percent-decoded; `None` for
/// anything else (and for a path that does not decode to UTF-8).
pub fn file_url_path(s: &str) -> Option<std::path::PathBuf> {
    let rest = s.strip_prefix("file://")?;
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    percent_encoding::percent_decode_str(path).decode_utf8().ok().map(|p| std::path::PathBuf::from(p.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_parsed_and_shown_without_credentials() {
        let url = StoreUrl::parse("s3://bucket/a//b/").unwrap();
        assert_eq!((url.scheme, url.bucket.as_str(), url.prefix.as_str()), ("s3", "bucket", "a/b"));
        assert_eq!(url.to_string(), "s3://bucket/a/b");
        assert_eq!(StoreUrl::parse("GS://b").unwrap().to_string(), "gs://b");
        assert!(StoreUrl::parse("https://example.com/x").is_none());
        assert!(StoreUrl::parse("out/s3").is_none());
        let secret = StoreUrl::parse("s3://AKIA:s3cr3t@bucket/p").unwrap();
        assert_eq!(secret.to_string(), "s3://bucket/p");
        let slashed = StoreUrl::parse("s3://AKIA:s3/cr3t@bucket/p").unwrap();
        assert_eq!(slashed.to_string(), "s3://bucket/p");
        assert!(slashed.check().is_err());
        let no_at = StoreUrl::parse("s3://AKIA:s3/cr3t").unwrap();
        assert_eq!(no_at.to_string(), "s3://");
        assert!(no_at.check().is_err());
        assert_eq!(StoreUrl::parse("s3://b/data@2024").unwrap().prefix, "data@2024");
        let err = secret.check().unwrap_err().to_string();
        assert!(err.contains("from the environment only") && !err.contains("s3cr3t"), "{err}");
        assert!(StoreUrl::parse("s3:///p").unwrap().check().unwrap_err().to_string().contains("name a bucket"));
        assert!(StoreUrl::parse("s3://b/x/../y").unwrap().check().is_err());
    }

    #[test]
    fn overlapping_prefixes_are_named() {
        let a = StoreUrl::parse("s3://b/data").unwrap();
        assert_eq!(a.overlap(&StoreUrl::parse("s3://b/data").unwrap()), Some("is"));
        assert_eq!(a.overlap(&StoreUrl::parse("s3://b").unwrap()), Some("is inside"));
        assert_eq!(a.overlap(&StoreUrl::parse("s3://b/data/x").unwrap()), Some("contains"));
        assert_eq!(a.overlap(&StoreUrl::parse("s3://b/database").unwrap()), None);
        assert_eq!(a.overlap(&StoreUrl::parse("s3://c/data").unwrap()), None);
        assert_eq!(a.join("t.parquet").to_string(), "s3://b/data/t.parquet");
    }

    #[test]
    fn file_urls_are_local_paths() {
        assert_eq!(file_url_path("file:///tmp/a%20b"), Some("/tmp/a b".into()));
        assert_eq!(file_url_path("file://localhost/x"), Some("/x".into()));
        assert_eq!(file_url_path("file://host/x"), None);
        assert_eq!(file_url_path("/tmp"), None);
    }
}
