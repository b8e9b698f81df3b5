//! What lock files removed by their last holder need: whether a path still names the file
//! a process opened and locked (the results folder's lock, the reference cache's key locks).

use std::fs::File;
use std::path::Path;

/// Whether `path` still names the open `file` (not unlinked or replaced since it was
/// opened): a process that locked a file its previous holder removed must start again.
pub fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
