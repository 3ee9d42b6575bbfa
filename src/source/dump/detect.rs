//! Which kind of pg_dump output a `--from` path holds, decided from its content, never from its
//! name: a custom-format archive starts with the magic `PGDMP`, a directory-format dump is a
//! directory holding `toc.dat`, a tar archive has a ustar header in its first block, anything
//! else is read as a plain SQL script (and refused later if it is not one).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The four output formats of pg_dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `pg_dump` / `-Fp`: a SQL script.
    Plain,
    /// `-Fc`.
    Custom,
    /// `-Fd`: a directory with `toc.dat` and one data file per table.
    Directory,
    /// `-Ft`.
    Tar,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain SQL dump",
            Format::Custom => "custom-format archive",
            Format::Directory => "directory-format dump",
            Format::Tar => "tar-format archive",
        }
    }
}

/// The format of the first bytes of a file.
pub fn of_bytes(start: &[u8]) -> Format {
    if start.starts_with(b"PGDMP") {
        Format::Custom
    } else if start.len() >= 263 && &start[257..262] == b"ustar" {
        Format::Tar
    } else {
        Format::Plain
    }
}

/// The format of the dump at `path` (`-`, stdin, is always plain).
pub fn detect(path: &Path) -> Result<Format> {
    if path.as_os_str() == "-" {
        return Ok(Format::Plain);
    }
    let location = path.display().to_string();
    let location = location.as_str();
    let meta = std::fs::metadata(path).map_err(|e| Error::source(location, format!("cannot read the dump ({e})")))?;
    if meta.is_dir() {
        return if path.join("toc.dat").is_file() {
            Ok(Format::Directory)
        } else {
            Err(Error::source(location, "is a directory without toc.dat, so not a directory-format dump"))
        };
    }
    let mut start = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut start))
        .map_err(|e| Error::source(location, format!("cannot read the dump ({e})")))?;
    Ok(of_bytes(&start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_their_first_bytes() {
        assert_eq!(of_bytes(b"PGDMP\x01\x0f\x00"), Format::Custom);
        let mut tar = vec![0u8; 512];
        tar[..7].copy_from_slice(b"toc.dat");
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(of_bytes(&tar), Format::Tar);
        assert_eq!(of_bytes(b"--\n-- PostgreSQL database dump\n"), Format::Plain);
        assert_eq!(of_bytes(b""), Format::Plain);
    }
}
