//! Writes [`Results`] to `<dir>/<experiment>.h5`, atomically: the file is built in memory
//! (HDF5's core driver), written under a temporary name, synced and renamed when complete,
//! so an interrupted run never leaves a file that looks finished, and a full disk is an
//! ordinary I/O error (HDF5's own flush to a full disk can crash the process).

use super::{Results, attr};
use crate::error::WorkbenchError;
use hdf5::types::VarLenUnicode;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Makes sure results can be written into `dir` before any work: creates it, removes the
/// partial files that killed runs left there, and writes and removes a probe file.
pub fn prepare_dir(dir: &Path) -> Result<(), WorkbenchError> {
    let fail = |reason: String| WorkbenchError::Write {
        path: dir.to_path_buf(),
        reason,
    };
    create_clean(dir)?;
    let probe = dir.join(format!(".write-probe-{}", writer_tag()));
    let written = std::fs::write(&probe, b"probe");
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| fail(format!("not writable: {e}")))
}

/// Creates `dir` and removes the partial files that killed runs left there.
fn create_clean(dir: &Path) -> Result<(), WorkbenchError> {
    std::fs::create_dir_all(dir).map_err(|e| WorkbenchError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    remove_stale_partials(dir);
    Ok(())
}

/// What names the writer of a partial file: this machine's host name and the process id,
/// `<host>-<pid>` (a results folder may be shared by the nodes of a cluster, where process
/// ids repeat and `/proc` shows only this node's processes).
pub fn writer_tag() -> String {
    format!("{}-{}", this_host(), std::process::id())
}

/// This machine's host name (`localhost` where it cannot be read).
pub(super) fn this_host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().replace(['/', '\\'], "_"))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string())
    })
    .clone()
}

/// The host and process id in a partial file's name `.<experiment>.h5.partial-<host>-<pid>`
/// (no host in those of older versions: this one's).
fn partial_owner(name: &str) -> Option<(String, u32)> {
    let (stem, writer) = name.rsplit_once(".h5.partial-")?;
    stem.starts_with('.').then_some(())?;
    writer_of(writer)
}

/// The host and process id of a [`writer_tag`] (a bare process id: this host's).
pub(super) fn writer_of(tag: &str) -> Option<(String, u32)> {
    match tag.rsplit_once('-') {
        Some((host, pid)) => Some((host.to_string(), pid.parse().ok()?)),
        None => Some((this_host(), tag.parse().ok()?)),
    }
}

/// Removes `dir`'s partial files written on this host by a process that is gone (killed
/// mid-write); those of other hosts are theirs to clean. On a system without `/proc`
/// nothing is removed.
fn remove_stale_partials(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let host = this_host();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((writer_host, pid)) = partial_owner(&name)
            && writer_host == host
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `results` into `dir` (created if missing) and returns the file's path.
pub fn write(results: &Results, dir: &Path) -> Result<PathBuf, WorkbenchError> {
    write_as(results, dir, &results.experiment)
}

/// Writes `results` to `<dir>/<stem>.h5` (a sweep's `point-0007.h5`), atomically.
pub fn write_as(results: &Results, dir: &Path, stem: &str) -> Result<PathBuf, WorkbenchError> {
    let fail = |path: &Path, reason: String| WorkbenchError::Write {
        path: path.to_path_buf(),
        reason,
    };
    create_clean(dir)?;
    let path = dir.join(format!("{stem}.h5"));
    // The folders first: a results file that records them is never seen without them.
    let saved = super::folders::write(&results.folders, dir, stem)?;
    let extra: Vec<(&str, &str)> = if saved.is_empty() {
        vec![]
    } else {
        vec![(attr::SAVED, saved.as_str())]
    };
    let partial = dir.join(format!(".{stem}.h5.partial-{}", writer_tag()));
    let image = image(results, &extra, &partial).map_err(|e| fail(&path, e.to_string()))?;
    let written = std::fs::File::create(&partial)
        .and_then(|mut file| {
            file.write_all(&image)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(&path, e.to_string()));
    }
    Ok(path)
}

/// The bytes of the HDF5 file holding `results` and the root attributes `extra`, built in
/// memory under the name `name` (nothing is written there).
fn image(results: &Results, extra: &[(&str, &str)], name: &Path) -> hdf5::Result<Vec<u8>> {
    let file = hdf5::File::with_options()
        .with_fapl(|p| p.core_filebacked(false))
        .create(name)?;
    fill(results, extra, &file)?;
    file.flush()?;
    let id = file.id();
    // SAFETY: `id` is an open file; a null buffer asks only for the image's size, and the
    // second call writes at most `buffer.len()` bytes into `buffer`. HDF5's global lock
    // (`sync`) serialises these calls with every other HDF5 call of the process.
    let size = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5f::H5Fget_file_image(id, std::ptr::null_mut(), 0)
    });
    if size < 0 {
        return Err(hdf5::Error::from("cannot read the in-memory file image"));
    }
    let mut buffer = vec![0u8; size as usize];
    let copied = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5f::H5Fget_file_image(id, buffer.as_mut_ptr().cast(), buffer.len())
    });
    if copied != size {
        return Err(hdf5::Error::from("cannot copy the in-memory file image"));
    }
    Ok(buffer)
}

/// Attributes and datasets of `results`, and the root attributes `extra`, written into
/// `file`.
fn fill(results: &Results, extra: &[(&str, &str)], file: &hdf5::File) -> hdf5::Result<()> {
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let attributes = [
        (attr::EXPERIMENT, results.experiment.as_str()),
        (attr::KIND, &results.kind),
        (attr::CONFIG_TOML, &results.config_toml),
        (attr::BACKEND, &results.backend),
        (attr::DTYPE, &results.dtype),
        (attr::WORKBENCH_VERSION, env!("CARGO_PKG_VERSION")),
        (attr::CREATED_UTC, &created),
    ];
    let notes = results.notes.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in attributes
        .into_iter()
        .chain(notes)
        .chain(extra.iter().copied())
    {
        let value: VarLenUnicode = value
            .parse()
            .map_err(|e| hdf5::Error::from(format!("attribute {name}: {e}")))?;
        file.new_attr::<VarLenUnicode>()
            .create(name)?
            .write_scalar(&value)?;
    }
    for dataset in &results.datasets {
        let (group, name) = parent(file, &dataset.path)?;
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
    for dataset in &results.texts {
        let (group, name) = parent(file, &dataset.path)?;
        let values = dataset
            .values
            .iter()
            .map(|v| v.parse::<VarLenUnicode>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| hdf5::Error::from(format!("dataset {}: {e}", dataset.path)))?;
        group
            .new_dataset::<VarLenUnicode>()
            .shape([values.len()])
            .create(name)?
            .write_raw(&values)?;
    }
    Ok(())
}

/// The group holding `path` (created as needed) and the dataset's own name.
fn parent<'p>(file: &hdf5::File, path: &'p str) -> hdf5::Result<(hdf5::Group, &'p str)> {
    let Some((group, name)) = path.rsplit_once('/') else {
        return Ok((file.group("/")?, path));
    };
    let group = match file.group(group) {
        Ok(group) => group,
        Err(_) => file.create_group(group)?,
    };
    Ok((group, name))
}

#[cfg(test)]
mod tests {
    use super::partial_owner;

    #[test]
    fn partial_names_give_their_writer() {
        assert_eq!(
            partial_owner(".fig2.h5.partial-node-07-4242"),
            Some(("node-07".to_string(), 4242))
        );
        assert_eq!(
            partial_owner(".fig2.h5.partial-4242"),
            Some((super::this_host(), 4242))
        );
        assert_eq!(partial_owner("fig2.h5"), None);
        assert_eq!(partial_owner(".fig2.h5.partial-node-x"), None);
        assert_eq!(partial_owner("fig2.h5.partial-12"), None);
        let tag = super::writer_tag();
        assert!(tag.ends_with(&format!("-{}", std::process::id())), "{tag}");
    }
}
