//! Files written whole or not at all.

use crate::error::{CliError, Result};
use std::path::Path;

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
