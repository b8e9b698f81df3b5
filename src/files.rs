//! Files written whole or not at all, and small text files read only when they are
//! regular files of a bounded size.

use crate::error::{CliError, Result};
use std::path::{Path, PathBuf};

/// The regular files directly in `dir` whose extension is `ext`, sorted; an error names
/// `dir` when it cannot be read or holds none (`what`: what such files are, e.g.
/// "experiment files").
pub fn listed(dir: &Path, ext: &str, what: &str) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| CliError::Io {
        what: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::from(format!(
            "{}: no {what} (*.{ext})",
            dir.display()
        )));
    }
    Ok(files)
}

/// Writes `bytes` to `path` through a partial file renamed into place, so that a reader
/// (or a kill mid-write) never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let partial = path.with_file_name(format!(
        ".{name}.partial-{}",
        workbench::results::writer_tag()
    ));
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            CliError::from(format!("{}: cannot write: {e}", path.display()))
        })
}

/// Reads the text file at `path`, refusing what is not a regular file (a FIFO would block
/// forever, a device never end) and a file over `limit` bytes, before reading anything.
pub fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{} bytes, more than the {limit} allowed", meta.len()),
        ));
    }
    let mut text = String::new();
    // `take`: the file may have grown since its size was read.
    std::fs::File::open(path)?
        .take(limit)
        .read_to_string(&mut text)?;
    Ok(text)
}
