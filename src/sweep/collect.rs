//! Where a sweep's points stand (`status`), and `collect`: the sweep file `<name>.h5` from
//! whatever point files of the manifest's configurations exist.

use super::manifest::Manifest;
use super::point_stem;
use crate::error::Result;
use crate::session::text_id;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use workbench::results::{Results, ResultsFile, attr, format, path};
use workbench::sweep::{Sweep, display_value};

/// Where each point of a sweep stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its results file is there, of its configuration.
    Done,
    /// It failed (its `.error` file is there).
    Failed,
    /// Neither (not run yet, running, killed, or a file of another configuration).
    Missing,
}

impl Status {
    /// `done`, `failed` or `missing`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Missing => "missing",
        }
    }
}

/// What `collect` found and wrote.
#[derive(Debug)]
pub struct Collected {
    /// The sweep file.
    pub path: PathBuf,
    /// Each point's status, by index.
    pub status: Vec<Status>,
}

impl Collected {
    /// `NAME.h5: 50 done, 2 failed (3, 9), 2 missing (10, 11)`.
    pub fn line(&self) -> String {
        let list = |s: Status| {
            let all: Vec<String> = self
                .status
                .iter()
                .enumerate()
                .filter(|(_, x)| **x == s)
                .map(|(i, _)| i.to_string())
                .collect();
            match all.len() {
                0 => format!("0 {}", s.name()),
                n if n <= 20 => format!("{n} {} ({})", s.name(), all.join(", ")),
                n => format!("{n} {} ({}, …)", s.name(), all[..20].join(", ")),
            }
        };
        let done = self.status.iter().filter(|s| **s == Status::Done).count();
        format!(
            "collect: wrote {}: {done} done, {}, {}",
            self.path.display(),
            list(Status::Failed),
            list(Status::Missing)
        )
    }
}

/// Where one point stands, as read from the sweep's folder.
struct Inspected {
    status: Status,
    /// The first line of its `.error` file, or why a file that is there does not count.
    error: String,
    /// Its file, when done.
    file: Option<PointFile>,
}

/// The manifest of the sweep in `dir` and where each of its points stands.
fn inspect(dir: &Path) -> Result<(Manifest, Sweep, Vec<Inspected>)> {
    let (manifest, sweep) = Manifest::read(dir)?;
    let total = manifest.config_ids.len();
    let points = manifest
        .config_ids
        .iter()
        .enumerate()
        .map(|(index, config_id)| {
            let stem = point_stem(index, total);
            let h5 = dir.join(format!("{stem}.h5"));
            match read_point(&h5, config_id) {
                Ok(Some(file)) => Inspected {
                    status: Status::Done,
                    error: String::new(),
                    file: Some(file),
                },
                Ok(None) => match std::fs::read_to_string(dir.join(format!("{stem}.error"))) {
                    Ok(text) => Inspected {
                        status: Status::Failed,
                        error: text.lines().next().unwrap_or("").to_string(),
                        file: None,
                    },
                    Err(_) => Inspected {
                        status: Status::Missing,
                        error: String::new(),
                        file: None,
                    },
                },
                Err(stale) => Inspected {
                    status: Status::Missing,
                    error: stale,
                    file: None,
                },
            }
        })
        .collect();
    Ok((manifest, sweep, points))
}

/// A sweep's name and where each of its points stands, with the error line of each failed one.
pub struct SweepState {
    /// The experiment's name.
    pub name: String,
    /// Each point's status and error line (empty unless failed or stale).
    pub points: Vec<(Status, String)>,
}

/// Where the points of the sweep in `dir` stand (for `workbench status`).
pub fn state(dir: &Path) -> Result<SweepState> {
    let (manifest, _, points) = inspect(dir)?;
    Ok(SweepState {
        name: manifest.name,
        points: points.into_iter().map(|p| (p.status, p.error)).collect(),
    })
}

/// `workbench collect DIR`: the sweep file `<DIR>.h5` from the point files in `DIR`.
pub fn collect(dir: &Path) -> Result<Collected> {
    let (manifest, sweep, points) = inspect(dir)?;
    let total = manifest.config_ids.len();
    let mut status = Vec::with_capacity(total);
    let mut errors = Vec::with_capacity(total);
    let mut summaries: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut trajectories: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
    // Each backend and dtype the done points ran on, in point order (a sweep may sweep them).
    let (mut backends, mut dtypes): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for (index, point) in points.into_iter().enumerate() {
        if let Some(file) = point.file {
            for (name, value) in file.summaries {
                summaries
                    .entry(name)
                    .or_insert_with(|| vec![f64::NAN; total])[index] = value;
            }
            for (name, rows) in file.trajectory {
                trajectories
                    .entry(name)
                    .or_insert_with(|| vec![Vec::new(); total])[index] = rows;
            }
            let (backend, dtype) = file.run_on;
            if !backends.contains(&backend) {
                backends.push(backend);
            }
            if !dtypes.contains(&dtype) {
                dtypes.push(dtype);
            }
        }
        status.push(point.status);
        errors.push(point.error);
    }

    let mut results = Results::new(&manifest.name, format::SWEEP_KIND, &manifest.config_toml);
    (results.backend, results.dtype) = (backends.join(", "), dtypes.join(", "));
    results.note(attr::POINT_KIND, manifest.kind.clone());
    results.note(attr::SWEEP_TOML, manifest.sweep_toml.clone());
    results.note(attr::SWEPT_KEYS, format::encode_names(&manifest.keys));
    results.note(attr::SEED_KEYS, format::encode_names(&manifest.seed_keys));
    // Every point's values, as the manifest's `[sweep]` makes them.
    let all = sweep.points();
    for (k, key) in manifest.keys.iter().enumerate() {
        let values: Vec<&toml::Value> = all.iter().map(|p| &p.values[k].1).collect();
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| match v {
                toml::Value::Integer(i) => Some(*i as f64),
                toml::Value::Float(x) => Some(*x),
                _ => None,
            })
            .collect();
        match numbers {
            Some(numbers) => results.vector(path::swept(key), numbers),
            None => results.texts(
                path::swept(key),
                values.iter().map(|v| display_value(v)).collect(),
            ),
        }
    }
    if !sweep.seeds.is_empty() {
        let seeds = all
            .iter()
            .map(|p| p.seed.map_or(f64::NAN, |s| s as f64))
            .collect();
        results.vector(path::SWEEP_SEED, seeds);
    }
    // Per-key seeds: each seed key's value per point, beside the replicate's number.
    for (k, (key, _)) in sweep.seed_axes.iter().enumerate() {
        let values = all.iter().map(|p| p.seed_values[k].1 as f64).collect();
        results.vector(path::swept(key), values);
    }
    results.texts(
        path::SWEEP_STATUS,
        status.iter().map(|s| s.name().to_string()).collect(),
    );
    results.texts(path::SWEEP_ERROR, errors);
    results.texts(
        path::SWEEP_FILE,
        (0..total)
            .map(|i| format!("{}/{}.h5", manifest.name, point_stem(i, total)))
            .collect(),
    );
    let mut columns: Vec<String> = manifest.keys.iter().map(|k| path::swept(k)).collect();
    if !sweep.seeds.is_empty() {
        columns.push(path::SWEEP_SEED.into());
    }
    columns.extend(sweep.seed_axes.iter().map(|(key, _)| path::swept(key)));
    columns.extend([path::SWEEP_STATUS, path::SWEEP_ERROR, path::SWEEP_FILE].map(String::from));
    for (name, values) in summaries {
        columns.push(path::summary(&name));
        results.vector(path::summary(&name), values);
    }
    // Each point's trajectory rows, one matrix row per point, NaN-padded.
    for (name, rows) in trajectories {
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        if width == 0 {
            continue;
        }
        let mut values = vec![f64::NAN; total * width];
        for (p, row) in rows.iter().enumerate() {
            values[p * width..p * width + row.len()].copy_from_slice(row);
        }
        results.push(
            format!("{}/{name}", path::TRAJECTORY),
            &[total, width],
            values,
        );
    }
    // One row per point for `workbench export`.
    results.tables(&[("points".to_string(), columns)]);
    let parent = dir.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let path = workbench::results::write_as(&results, parent, &manifest.name)?;
    Ok(Collected { path, status })
}

/// A done point file's summaries, trajectory and where it ran.
struct PointFile {
    summaries: Vec<(String, f64)>,
    /// `(name, rows)` of each dataset in `trajectory/` as long as `trajectory/step`; empty
    /// when the file has no `trajectory/step`.
    trajectory: Vec<(String, Vec<f64>)>,
    run_on: (String, String),
}

/// The datasets of `file`'s `trajectory/` group with as many values as its
/// `trajectory/step` (the rows of `analysis.every`); none when it has no such steps.
fn trajectory(file: &ResultsFile) -> std::result::Result<Vec<(String, Vec<f64>)>, String> {
    if !file.exists(path::TRAJECTORY_STEP) {
        return Ok(Vec::new());
    }
    let rows = file.values(path::TRAJECTORY_STEP)?.len();
    let mut out = Vec::new();
    for name in file.datasets_in(path::TRAJECTORY) {
        let values = file.values(&format!("{}/{name}", path::TRAJECTORY))?;
        if values.len() == rows {
            out.push((name, values));
        }
    }
    Ok(out)
}

/// The point file at `path` if it exists and is of the configuration hashed `config_id`;
/// `Err` says why a file that is there does not count.
fn read_point(path: &Path, config_id: &str) -> std::result::Result<Option<PointFile>, String> {
    if !path.exists() {
        return Ok(None);
    }
    // The reader's errors name the file; here they name it with its folder.
    let stale = |why: String| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let why = why.strip_prefix(&format!("{name}: ")).unwrap_or(&why);
        format!("{}: {why}", path.display())
    };
    let file = ResultsFile::open(path).map_err(stale)?;
    let identity = file.identity();
    if text_id(identity.config_toml.as_deref().unwrap_or_default()) != config_id {
        return Err(stale(
            "from another configuration of this point; run the sweep again".to_string(),
        ));
    }
    Ok(Some(PointFile {
        summaries: file.summaries().map_err(stale)?,
        trajectory: trajectory(&file).map_err(stale)?,
        run_on: (
            identity.backend.unwrap_or_default(),
            identity.dtype.unwrap_or_default(),
        ),
    }))
}
