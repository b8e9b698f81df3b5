//! Writes [`Results`] to `<dir>/<experiment>.h5`, atomically: the file is written under a
//! temporary name and renamed when complete, so an interrupted run never leaves a file that
//! looks finished.

use super::Results;
use crate::error::WorkbenchError;
use hdf5::types::VarLenUnicode;
use std::path::{Path, PathBuf};

/// Writes `results` into `dir` (created if missing) and returns the file's path.
pub fn write(results: &Results, dir: &Path) -> Result<PathBuf, WorkbenchError> {
    let fail = |path: &Path, reason: String| WorkbenchError::Write {
        path: path.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e.to_string()))?;
    let path = dir.join(format!("{}.h5", results.experiment));
    let partial = dir.join(format!(
        ".{}.h5.partial-{}",
        results.experiment,
        std::process::id()
    ));
    let written = write_file(results, &partial).and_then(|()| {
        std::fs::rename(&partial, &path).map_err(|e| hdf5::Error::from(e.to_string()))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(&path, e.to_string()));
    }
    Ok(path)
}

fn write_file(results: &Results, path: &Path) -> hdf5::Result<()> {
    let file = hdf5::File::create(path)?;
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let attributes = [
        ("experiment", results.experiment.as_str()),
        ("kind", &results.kind),
        ("config_toml", &results.config_toml),
        ("backend", &results.backend),
        ("dtype", &results.dtype),
        ("workbench_version", env!("CARGO_PKG_VERSION")),
        ("created_utc", &created),
    ];
    let notes = results.notes.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in attributes.into_iter().chain(notes) {
        let value: VarLenUnicode = value
            .parse()
            .map_err(|e| hdf5::Error::from(format!("attribute {name}: {e}")))?;
        file.new_attr::<VarLenUnicode>()
            .create(name)?
            .write_scalar(&value)?;
    }
    for dataset in &results.datasets {
        let (group_path, name) = match dataset.path.rsplit_once('/') {
            Some((group, name)) => (Some(group), name),
            None => (None, dataset.path.as_str()),
        };
        let group = match group_path {
            Some(g) => match file.group(g) {
                Ok(group) => group,
                Err(_) => file.create_group(g)?,
            },
            None => file.group("/")?,
        };
        if dataset.shape.is_empty() {
            group
                .new_dataset::<f64>()
                .create(name)?
                .write_scalar(&dataset.values[0])?;
        } else {
            group
                .new_dataset::<f64>()
                .shape(dataset.shape.as_slice())
                .create(name)?
                .write_raw(&dataset.values)?;
        }
    }
    file.flush()?;
    Ok(())
}
