//! What a submission created before `sbatch` accepted it, removed again when it did not:
//! a failed submission leaves neither the binary copy, the scripts, the logs folder nor the
//! sweep manifests behind. Only what did not exist before is recorded, so that a binary or
//! folder shared with an earlier submission is kept.

use std::path::{Path, PathBuf};

/// Paths this submission created, in creation order.
#[derive(Debug, Default)]
pub struct Undo {
    created: Vec<PathBuf>,
}

impl Undo {
    /// Records `path` (a file or folder about to be created) and every missing folder above
    /// it, as far up as the first one that exists.
    pub fn before_creating(&mut self, path: &Path) {
        let mut top = None;
        let mut at = Some(path);
        while let Some(p) = at {
            if p.as_os_str().is_empty() || p.exists() {
                break;
            }
            top = Some(p);
            at = p.parent();
        }
        if let Some(top) = top
            && !self.created.iter().any(|c| top.starts_with(c))
        {
            self.created.push(top.to_path_buf());
        }
    }

    /// Removes what was recorded, newest first; what cannot be removed is left as it is.
    pub fn run(self) {
        for path in self.created.into_iter().rev() {
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Undo;

    #[test]
    fn removes_only_what_did_not_exist() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kept = dir.path().join("kept.bin");
        std::fs::write(&kept, b"earlier").expect("write");
        let mut undo = Undo::default();
        undo.before_creating(&kept);
        let new_dir = dir.path().join("slurm/bin");
        undo.before_creating(&new_dir);
        std::fs::create_dir_all(&new_dir).expect("mkdir");
        let inside = new_dir.join("workbench-x");
        undo.before_creating(&inside);
        std::fs::write(&inside, b"copy").expect("write");
        let script = dir.path().join("job.sh");
        undo.before_creating(&script);
        std::fs::write(&script, b"#!/bin/bash").expect("write");
        undo.run();
        assert!(kept.exists());
        assert!(!dir.path().join("slurm").exists());
        assert!(!script.exists());
    }
}
