//! What a submission leaves in `<out>/slurm/`: its scripts and a record of which array
//! task runs which points, so `status` can say which points are queued or running and a
//! re-submission can leave them alone.

use crate::error::{CliError, Result};
use backends::{BackendName, Precision};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One `workbench run` inside an array task: a file and, for a sweep, its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// The experiment's name (a sweep's points land in `<out>/<name>/`).
    pub name: String,
    /// The experiment file (absolute).
    pub file: PathBuf,
    /// The sweep points, as `--point` takes them (`0-3,7`); none for a plain experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<String>,
    /// The backend it was validated for.
    pub backend: BackendName,
    /// The dtype.
    pub dtype: Precision,
    /// What the file resolved to at submission (`run --expect-config`).
    pub expect: String,
}

/// One array task: the runs it makes, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Its runs.
    pub units: Vec<Unit>,
}

/// One submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// What was submitted (an experiment's name, or `reproduce`).
    pub name: String,
    /// The array job's id.
    pub array_job: String,
    /// The id of the job that collects and reports after it.
    pub collect_job: String,
    /// Unix time of the submission.
    pub submitted: u64,
    /// The binary the tasks run.
    pub binary: PathBuf,
    /// The array script.
    pub script: PathBuf,
    /// Task `i` of the array is `tasks[i]`.
    pub tasks: Vec<TaskRecord>,
}

/// The folder of scripts and records inside a results folder.
pub fn folder(out: &Path) -> PathBuf {
    out.join("slurm")
}

impl Record {
    /// Writes the record beside its script (`<stem>.toml`).
    pub fn write(&self) -> Result<PathBuf> {
        let path = self.script.with_extension("toml");
        let text = toml::to_string(self).map_err(|e| format!("submission record: {e}"))?;
        crate::files::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Every record in `out`'s submissions folder, oldest first; unreadable ones are
    /// skipped with a line on stderr.
    pub fn all(out: &Path) -> Vec<Record> {
        let Ok(entries) = std::fs::read_dir(folder(out)) else {
            return Vec::new();
        };
        let mut records: Vec<Record> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter_map(|path| {
                let skipped = |why: &dyn std::fmt::Display| {
                    eprintln!("status: {}: skipped ({why})", path.display());
                };
                match std::fs::read_to_string(&path) {
                    Err(e) => {
                        skipped(&e);
                        None
                    }
                    Ok(text) => toml::from_str(&text)
                        .map_err(|e: toml::de::Error| skipped(&e.message()))
                        .ok(),
                }
            })
            .collect();
        records.sort_by_key(|r| (r.submitted, r.array_job.parse::<u64>().unwrap_or(0)));
        records
    }
}

/// The first free `<name>-<k>` stem for a submission's scripts in `out`.
pub fn next_stem(out: &Path, name: &str) -> Result<PathBuf> {
    let dir = folder(out);
    (1..)
        .map(|k| dir.join(format!("{name}-{k}")))
        .find(|stem| !stem.with_extension("sh").exists() && !stem.with_extension("toml").exists())
        .ok_or_else(|| CliError::from("no free script name"))
}
