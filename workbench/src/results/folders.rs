//! The folders a run saves beside its results file ([`Folder`]), written whole or not at
//! all, and the `saved` attribute that records them.
//!
//! A folder is written under a temporary name in its final parent (same file system),
//! every file synced, then renamed into place; a folder already there (an earlier run's)
//! is renamed away first and removed after. A run killed at any point leaves either the
//! complete new folder, the complete old one, or none, never a partial folder under the
//! final name. Leftover temporary folders of processes that are gone are removed by the
//! next write into the same parent, as [`super::prepare_dir`] removes partial results
//! files.
//!
//! The `saved` attribute is TOML: one table per folder, keyed by its name, holding `path`
//! (relative to the results file's folder) and `sha256`, a table of each file's SHA-256
//! in hexadecimal:
//!
//! ```toml
//! ["models/policy"]
//! path = "tiny/models/policy"
//! sha256 = { "config.json" = "…", "model.safetensors" = "…" }
//! ```

use super::Folder;
use super::hdf5_writer::{this_host, writer_of, writer_tag};
use crate::error::WorkbenchError;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Writes every folder of `folders` to `<dir>/<stem>/<name>/`; returns the `saved`
/// attribute's TOML (empty when there are none).
pub fn write(folders: &[Folder], dir: &Path, stem: &str) -> Result<String, WorkbenchError> {
    let mut saved = toml::Table::new();
    for folder in folders {
        let relative = Path::new(stem).join(relative(&folder.name)?);
        let sha256 = write_one(folder, &dir.join(&relative))?;
        let mut entry = toml::Table::new();
        entry.insert(
            "path".into(),
            relative.to_string_lossy().into_owned().into(),
        );
        entry.insert(
            "sha256".into(),
            toml::Value::Table(sha256.into_iter().map(|(f, h)| (f, h.into())).collect()),
        );
        saved.insert(folder.name.clone(), entry.into());
    }
    Ok(if saved.is_empty() {
        String::new()
    } else {
        saved.to_string()
    })
}

/// `name` as a relative path of ordinary components (a folder name is the workbench's own,
/// but a path that could leave the results folder is refused all the same).
fn relative(name: &str) -> Result<PathBuf, WorkbenchError> {
    let path = PathBuf::from(name);
    let plain = !name.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(path)
    } else {
        Err(WorkbenchError::Write {
            path,
            reason: "a saved folder's name must be a relative path of plain names".into(),
        })
    }
}

/// The SHA-256 of `bytes`, in lowercase hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `folder` to `target` atomically; each file's name and SHA-256.
fn write_one(folder: &Folder, target: &Path) -> Result<Vec<(String, String)>, WorkbenchError> {
    let fail = |path: &Path, e: std::io::Error| WorkbenchError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let parent = target.parent().expect("a folder under <dir>/<stem>");
    let leaf = target
        .file_name()
        .expect("a folder name of plain components")
        .to_string_lossy();
    std::fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
    remove_stale(parent, &leaf);
    let tag = writer_tag();
    let partial = parent.join(format!(".{leaf}.partial-{tag}"));
    let old = parent.join(format!(".{leaf}.old-{tag}"));
    let written = (|| {
        std::fs::create_dir(&partial).map_err(|e| fail(&partial, e))?;
        let mut hashes = Vec::new();
        for (name, bytes) in &folder.files {
            let path = partial.join(relative(name)?);
            std::fs::File::create(&path)
                .and_then(|mut file| {
                    file.write_all(bytes)?;
                    file.sync_all()
                })
                .map_err(|e| fail(&target.join(name), e))?;
            hashes.push((name.clone(), sha256_hex(bytes)));
        }
        if target.exists() {
            std::fs::rename(target, &old).map_err(|e| fail(target, e))?;
        }
        std::fs::rename(&partial, target).map_err(|e| fail(target, e))?;
        Ok(hashes)
    })();
    let _ = std::fs::remove_dir_all(&old);
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    written
}

/// Removes the temporary folders (`.<leaf>.partial-<host>-<pid>`, `.<leaf>.old-…`) that
/// processes of this host that are gone left in `parent`. Without `/proc` nothing is
/// removed.
fn remove_stale(parent: &Path, leaf: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let host = this_host();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let writer = [".partial-", ".old-"].iter().find_map(|marker| {
            name.strip_prefix(&format!(".{leaf}{marker}"))
                .and_then(writer_of)
        });
        if let Some((writer_host, pid)) = writer
            && writer_host == host
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The first file a `saved` attribute (`text`) records that is missing under `dir` (the
/// results file's folder), or `None` when every one is there: a results file whose saved
/// folders are gone is not up to date.
pub fn missing(text: &str, dir: &Path) -> Option<PathBuf> {
    let saved: toml::Table = match text.parse() {
        Ok(saved) => saved,
        Err(_) => return Some(dir.to_path_buf()),
    };
    for entry in saved.values() {
        let path = entry.get("path").and_then(toml::Value::as_str);
        let files = entry.get("sha256").and_then(toml::Value::as_table);
        let (Some(path), Some(files)) = (path, files) else {
            return Some(dir.to_path_buf());
        };
        let folder = dir.join(path);
        if let Some(file) = files.keys().map(|f| folder.join(f)).find(|f| !f.is_file()) {
            return Some(file);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, content: &[u8]) -> Folder {
        Folder {
            name: name.into(),
            files: vec![
                ("a.json".into(), b"{}".to_vec()),
                ("b.bin".into(), content.to_vec()),
            ],
        }
    }

    #[test]
    fn folders_are_written_whole_replaced_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let text = write(&[folder("models/policy", b"one")], dir.path(), "run").unwrap();
        let saved: toml::Table = text.parse().unwrap();
        let entry = &saved["models/policy"];
        assert_eq!(entry["path"].as_str(), Some("run/models/policy"));
        // SHA-256("abc") is FIPS 180-2's first example.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            entry["sha256"]["b.bin"].as_str(),
            Some(&*sha256_hex(b"one"))
        );
        let target = dir.path().join("run/models/policy");
        assert_eq!(std::fs::read(target.join("b.bin")).unwrap(), b"one");
        assert_eq!(missing(&text, dir.path()), None);
        // A second run replaces the folder and leaves no temporary one behind.
        write(&[folder("models/policy", b"two")], dir.path(), "run").unwrap();
        assert_eq!(std::fs::read(target.join("b.bin")).unwrap(), b"two");
        let names: Vec<String> = std::fs::read_dir(dir.path().join("run/models"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["policy"]);
        std::fs::remove_file(target.join("a.json")).unwrap();
        assert_eq!(missing(&text, dir.path()), Some(target.join("a.json")));
        assert!(write(&[folder("../out", b"x")], dir.path(), "run").is_err());
    }

    #[test]
    fn temporary_folders_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let host = this_host();
        // No process has pid 0 listed in /proc.
        let dead = dir.path().join(format!(".policy.partial-{host}-0"));
        let other_host = dir.path().join(".policy.partial-elsewhere-0");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::create_dir_all(&other_host).unwrap();
        write(&[folder("policy", b"x")], dir.path(), "").unwrap();
        assert!(!dead.exists());
        assert!(other_host.exists());
    }
}
