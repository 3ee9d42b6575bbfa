//! What a run read and what it wrote, identified without naming a value: a database (place,
//! server version, snapshot and its time) or files (relative name, size, blake3).

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// The identity of a run's input or output.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Identity {
    Postgres {
        /// host, port, database and user; never the password.
        location: String,
        database: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        server_version: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        snapshot: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        snapshot_taken_at: Option<String>,
    },
    Parquet {
        path: String,
        files: Vec<FileHash>,
    },
    SqlDump {
        path: String,
        /// `None` when the dump went to stdout.
        file: Option<FileHash>,
    },
    /// A profile file `generate` read (`--profile`).
    Profile {
        path: String,
        file: FileHash,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHash {
    /// Relative to the directory (`/`-separated), or the file's own name.
    pub name: String,
    pub bytes: u64,
    pub blake3: String,
}

impl Identity {
    /// A database by its URL alone (place, database; no version or snapshot): a target, or
    /// a source read elsewhere.
    pub fn database(url: &str) -> Result<Identity> {
        let params = crate::pg::connect::ConnectParams::from_url(url)?;
        Ok(Identity::Postgres {
            location: params.location.clone(),
            database: params.dbname.clone(),
            server_version: None,
            snapshot: None,
            snapshot_taken_at: None,
        })
    }
}

/// The `*.parquet` files under `dir` (recursively), in name order, hashed.
pub fn parquet_files(dir: &Path) -> Result<Vec<FileHash>> {
    let mut out = Vec::new();
    collect(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<FileHash>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::target(dir.display(), format!("listing files: {e}")))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::target(dir.display(), format!("listing files: {e}")))?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push(hash_file(&path, name)?);
        }
    }
    Ok(())
}

/// The `*.parquet` objects under an object-store location, in name order, hashed (each is
/// read through once).
pub fn store_files(url: &crate::store::StoreUrl) -> Result<Vec<FileHash>> {
    #[cfg(feature = "object-store")]
    {
        let fail = |e| Error::target(url, format!("hashing the files for the report: {e}"));
        let store = crate::store::client::Store::open(url).map_err(fail)?;
        let mut out = Vec::new();
        for object in store.list("").map_err(fail)? {
            if !object.name.ends_with(".parquet") || object.name.split('/').any(|p| p.starts_with('.')) {
                continue;
            }
            let mut hasher = blake3::Hasher::new();
            store
                .read_all(&object, |chunk| {
                    hasher.update(chunk);
                })
                .map_err(fail)?;
            out.push(FileHash {
                name: object.name,
                bytes: object.size,
                blake3: hasher.finalize().to_hex().to_string(),
            });
        }
        Ok(out)
    }
    #[cfg(not(feature = "object-store"))]
    Err(crate::store::not_built(url))
}

/// Size and blake3 of one file, named `name` in the report.
pub fn hash_file(path: &Path, name: String) -> Result<FileHash> {
    let fail = |e: std::io::Error| Error::target(path.display(), format!("hashing the file for the report: {e}"));
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(fail)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(FileHash { name, bytes, blake3: hasher.finalize().to_hex().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_files_are_listed_recursively_in_name_order_with_their_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("public.b.parquet"), b"b").unwrap();
        std::fs::create_dir(dir.path().join("public.a")).unwrap();
        std::fs::write(dir.path().join("public.a/part-0.parquet"), b"a0").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let files = parquet_files(dir.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["public.a/part-0.parquet", "public.b.parquet"]);
        assert_eq!(files[1].bytes, 1);
        assert_eq!(files[1].blake3, blake3::hash(b"b").to_hex().to_string());
    }
}
