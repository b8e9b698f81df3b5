//! Running a file with `[sweep]`: every point (or those of `--point`) on `--jobs` threads,
//! each into `<out>/<name>/point-NNNN.h5`, a failed point into `point-NNNN.error`, then
//! `collect` builds the sweep file `<out>/<name>.h5` from whatever point files exist.
//! `<out>/<name>/sweep.toml` (the manifest) lists every point, so `collect` can name the
//! missing ones and points computed by other processes can be merged.

use crate::error::{CliError, Result};
use crate::session::{RunOptions, context, text_id, up_to_date, write_computed};
use indicatif::{MultiProgress, ProgressDrawTarget};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use workbench::experiments::parallel;
use workbench::loader::SweepPlan;
use workbench::results::Results;
use workbench::sweep::display_value;

/// How to run a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Points run at once (0: one per core).
    pub jobs: usize,
    /// Only these points (`3`, `0-9`, `1,4,7-9`); all when `None`.
    pub points: Option<String>,
    /// Re-run points whose results are up to date.
    pub force: bool,
    /// Refuse to run unless the file resolves to the sweep with this id (a Slurm task's
    /// check that nothing changed since `workbench submit`; see [`manifest_id`]).
    pub expect: Option<String>,
}

/// How one point ended (its line has been logged already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointOutcome {
    /// Ran and wrote its file.
    Ran,
    /// Its file was up to date.
    Reused,
    /// Failed; its `.error` file says why.
    Failed,
}

/// `workbench run FILE` of a file with `[sweep]`.
pub fn run(
    file: &Path,
    plan: &SweepPlan,
    out: &Path,
    sweep: &SweepOptions,
    options: &RunOptions,
) -> Result<()> {
    let dir = out.join(&plan.name);
    if let Some(expected) = &sweep.expect {
        expect_id(file, expected, &manifest_id(plan)?)?;
    }
    begin(plan, &dir)?;
    let selected = match &sweep.points {
        Some(text) => selection(text, plan.points.len())?,
        None => (0..plan.points.len()).collect(),
    };
    let jobs = if sweep.jobs == 0 {
        parallel::cores()
    } else {
        sweep.jobs
    };
    let visible = !options.quiet && std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let log = |line: String| multi.suspend(|| eprintln!("{line}"));
    log(format!(
        "{}: sweep of {} points, running {} on {} threads into {}",
        plan.name,
        plan.points.len(),
        selected.len(),
        jobs.min(selected.len()).max(1),
        dir.display()
    ));
    let started = std::time::Instant::now();
    let points = crate::bars::counter(
        &multi,
        selected.len() as u64,
        &format!("{} points", plan.name),
    );
    let groups = plan.batches(&selected);
    let job = Job {
        file,
        plan,
        dir: &dir,
        force: sweep.force,
        options,
        multi: &multi,
        log: &log,
    };
    let outcomes: Vec<(usize, PointOutcome)> = parallel::map_on(&groups, jobs, |group| {
        let outcomes = job.run(group);
        points.inc(group.len() as u64);
        group.iter().copied().zip(outcomes).collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let outcomes: Vec<PointOutcome> = {
        let mut sorted = outcomes;
        sorted.sort_by_key(|(i, _)| *i);
        sorted.into_iter().map(|(_, o)| o).collect()
    };
    points.finish_and_clear();
    let failed: Vec<usize> = selected
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == PointOutcome::Failed)
        .map(|(i, _)| *i)
        .collect();
    let reused = outcomes
        .iter()
        .filter(|o| **o == PointOutcome::Reused)
        .count();
    log(format!(
        "{}: of {} points ran {}, reused {reused}, failed {} in {:.1} s",
        plan.name,
        outcomes.len(),
        outcomes.len() - reused - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    ));
    if sweep.points.is_none() {
        let collected = collect(&dir)?;
        log(collected.line());
    } else {
        log(format!(
            "{}: when every point is done, `workbench collect {}` writes the sweep file",
            plan.name,
            dir.display()
        ));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::from(format!(
            "{}: {} of {} points failed: {}",
            plan.name,
            failed.len(),
            selected.len(),
            failed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// Prepares `dir` for `plan`'s points and writes its manifest.
pub fn begin(plan: &SweepPlan, dir: &Path) -> Result<()> {
    workbench::results::prepare_dir(dir).map_err(|e| e.to_string())?;
    let text = Manifest::of(plan).text()?;
    crate::files::write_atomic(&dir.join(MANIFEST), text.as_bytes())
}

/// An id of everything `plan`'s points are (each one's resolved configuration and data
/// files): what a Slurm task checks its file still resolves to.
pub fn manifest_id(plan: &SweepPlan) -> Result<String> {
    let mut text = Manifest::of(plan).text()?;
    for (_, experiment) in &plan.points {
        text.push_str(&crate::session::run_id(experiment.as_ref())?);
    }
    Ok(text_id(&text))
}

/// Refuses a run whose file no longer resolves to what was submitted.
pub fn expect_id(file: &Path, expected: &str, found: &str) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(CliError::from(format!(
        "{}: --expect-config {expected}: the file now resolves to {found}; the file, a WORKBENCH_* variable or a data file changed since `workbench submit`: submit it again",
        file.display()
    )))
}

/// What running points needs: where they come from, where they go, how to log.
pub struct Job<'a> {
    /// The experiment file.
    pub file: &'a Path,
    /// Its sweep.
    pub plan: &'a SweepPlan,
    /// The sweep's folder.
    pub dir: &'a Path,
    /// Re-run points that are up to date.
    pub force: bool,
    /// Backend, dtype, quiet.
    pub options: &'a RunOptions,
    /// The shared progress display.
    pub multi: &'a MultiProgress,
    /// Log lines (above the bars).
    pub log: &'a (dyn Fn(String) + Sync),
}

impl Job<'_> {
    /// Runs one batch of points (see `SweepPlan::batches`), reusing those up to date; a failure
    /// fails the points of the batch that ran, each with an `.error` file.
    pub fn run(&self, group: &[usize]) -> Vec<PointOutcome> {
        let plan = self.plan;
        let total = plan.points.len();
        let stem = |i: usize| point_stem(i, total);
        let label = match group {
            [one] => format!("{} point {one}", plan.name),
            [first, .., last] => format!("{} points {first}–{last}", plan.name),
            [] => return Vec::new(),
        };
        let mut outcomes = vec![PointOutcome::Failed; group.len()];
        let mut reused = Vec::new();
        let attempt = || -> Result<Vec<(usize, PointOutcome)>> {
            let first = plan.points[group[0]].1.as_ref();
            let mut context = context(self.file, first, self.options)?;
            let (mut done, mut todo) = (Vec::new(), Vec::new());
            for (slot, &index) in group.iter().enumerate() {
                let target = self.dir.join(format!("{}.h5", stem(index)));
                if !self.force && up_to_date(&target, plan.points[index].1.as_ref(), &context)? {
                    reused.push(slot);
                } else {
                    todo.push((slot, index));
                }
            }
            let Some(&(_, lead)) = todo.first() else {
                return Ok(done);
            };
            for &(_, index) in &todo {
                crate::panics::injected(&format!("{}#{index}", plan.name));
            }
            context.progress = crate::bars::within(self.multi, &label);
            let started = std::time::Instant::now();
            let others: Vec<&dyn workbench::experiments::Experiment> = todo[1..]
                .iter()
                .map(|&(_, i)| plan.points[i].1.as_ref())
                .collect();
            workbench::results::prepare_dir(self.dir).map_err(|e| e.to_string())?;
            let inputs = crate::session::inputs_id(plan.points[lead].1.as_ref())?;
            let computed = crate::panics::contained(&label, || {
                plan.points[lead].1.run_batch(&others, &context)
            })?
            .map_err(|e| e.to_string())?;
            let seconds = started.elapsed().as_secs_f64();
            for ((slot, index), results) in todo.iter().copied().zip(computed) {
                let (point, experiment) = &plan.points[index];
                let notes = vec![
                    ("inputs_id".to_string(), inputs.clone()),
                    ("sweep_index".to_string(), index.to_string()),
                    ("sweep_point".to_string(), point.to_toml()),
                    ("sweep_toml".to_string(), plan.sweep.toml.clone()),
                ];
                let path =
                    write_computed(experiment.as_ref(), results, self.dir, &stem(index), notes)?;
                (self.log)(format!(
                    "{} point {index} ({}): wrote {} ({seconds:.2} s{})",
                    plan.name,
                    point.describe(),
                    path.display(),
                    if todo.len() > 1 {
                        format!(", in a batch of {}", todo.len())
                    } else {
                        String::new()
                    }
                ));
                done.push((slot, PointOutcome::Ran));
            }
            Ok(done)
        };
        let outcome = crate::panics::contained(&label, attempt)
            .map_err(CliError::from)
            .and_then(|outcome| outcome);
        crate::allocator::release_freed_memory();
        match outcome {
            Ok(done) => {
                let reused = reused.iter().map(|&slot| (slot, PointOutcome::Reused));
                for (slot, o) in done.into_iter().chain(reused) {
                    outcomes[slot] = o;
                    let _ =
                        std::fs::remove_file(self.dir.join(format!("{}.error", stem(group[slot]))));
                }
            }
            Err(e) => {
                // Every point of the batch not found up to date failed with it; a stale
                // file of such a point no longer stands for it.
                for (slot, &index) in group.iter().enumerate() {
                    if reused.contains(&slot) {
                        outcomes[slot] = PointOutcome::Reused;
                        continue;
                    }
                    let _ = std::fs::remove_file(self.dir.join(format!("{}.h5", stem(index))));
                    let line = format!("point {index} ({}): {e}", plan.points[index].0.describe());
                    let error_file = self.dir.join(format!("{}.error", stem(index)));
                    if let Err(write) = std::fs::write(&error_file, format!("{line}\n")) {
                        (self.log)(format!("error: {}: {write}", error_file.display()));
                    }
                    (self.log)(format!("error: {}: {line}", plan.name));
                }
            }
        }
        outcomes
    }
}

/// `point-0007` (four digits at least, more when the sweep needs them).
pub fn point_stem(index: usize, total: usize) -> String {
    let width = total.saturating_sub(1).to_string().len().max(4);
    format!("point-{index:0width$}")
}

/// The manifest's file name inside a sweep's folder.
const MANIFEST: &str = "sweep.toml";

/// What a sweep's folder holds besides its point files: every point and what makes it.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// The experiment's name (the sweep file is `<name>.h5` beside the folder).
    name: String,
    /// The points' kind.
    kind: String,
    /// The swept keys, in file order.
    keys: Vec<String>,
    /// The keys the seed is written to.
    seed_keys: Vec<String>,
    /// The `[sweep]` table.
    sweep_toml: String,
    /// Point 0's resolved configuration.
    config_toml: String,
    /// Every point.
    points: Vec<ManifestPoint>,
}

/// One point in the manifest.
#[derive(Debug, Serialize, Deserialize)]
struct ManifestPoint {
    /// Its values, by swept key.
    values: toml::Table,
    /// Its seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    /// A hash of its resolved configuration (a point file of another one is not its).
    config_id: String,
}

impl Manifest {
    fn of(plan: &SweepPlan) -> Self {
        Self {
            name: plan.name.clone(),
            kind: plan.kind.clone(),
            keys: plan.sweep.keys().iter().map(ToString::to_string).collect(),
            seed_keys: plan.seed_keys.clone(),
            sweep_toml: plan.sweep.toml.clone(),
            config_toml: plan
                .points
                .first()
                .map(|(_, e)| e.config_toml().to_string())
                .unwrap_or_default(),
            points: plan
                .points
                .iter()
                .map(|(point, experiment)| ManifestPoint {
                    values: point.values.iter().cloned().collect(),
                    seed: point.seed,
                    config_id: text_id(experiment.config_toml()),
                })
                .collect(),
        }
    }

    fn text(&self) -> Result<String> {
        Ok(toml::to_string(self).map_err(|e| format!("sweep manifest: {e}"))?)
    }

    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: cannot read ({e}); a sweep's folder holds it, written by `workbench run` of a file with [sweep]",
                path.display()
            )
        })?;
        Ok(toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?)
    }
}

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
fn inspect(dir: &Path) -> Result<(Manifest, Vec<Inspected>)> {
    let manifest = Manifest::read(dir)?;
    let total = manifest.points.len();
    let points = manifest
        .points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let stem = point_stem(index, total);
            let h5 = dir.join(format!("{stem}.h5"));
            match read_point(&h5, &point.config_id) {
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
    Ok((manifest, points))
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
    let (manifest, points) = inspect(dir)?;
    Ok(SweepState {
        name: manifest.name,
        points: points.into_iter().map(|p| (p.status, p.error)).collect(),
    })
}

/// `workbench collect DIR`: the sweep file `<DIR>.h5` from the point files in `DIR`.
pub fn collect(dir: &Path) -> Result<Collected> {
    let (manifest, points) = inspect(dir)?;
    let total = manifest.points.len();
    let mut status = Vec::with_capacity(total);
    let mut errors = Vec::with_capacity(total);
    let mut summaries: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut run_on: Option<(String, String)> = None;
    for (index, point) in points.into_iter().enumerate() {
        if let Some(file) = point.file {
            for (name, value) in file.summaries {
                summaries
                    .entry(name)
                    .or_insert_with(|| vec![f64::NAN; total])[index] = value;
            }
            run_on.get_or_insert(file.run_on);
        }
        status.push(point.status);
        errors.push(point.error);
    }

    let mut results = Results::new(&manifest.name, "sweep", &manifest.config_toml);
    (results.backend, results.dtype) = run_on.unwrap_or_default();
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
    results.notes.extend([
        ("point_kind".to_string(), manifest.kind.clone()),
        ("sweep_toml".to_string(), manifest.sweep_toml.clone()),
        ("swept_keys".to_string(), json(&manifest.keys)),
        ("seed_keys".to_string(), json(&manifest.seed_keys)),
    ]);
    for key in &manifest.keys {
        let values: Vec<Option<&toml::Value>> =
            manifest.points.iter().map(|p| p.values.get(key)).collect();
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| match v {
                Some(toml::Value::Integer(i)) => Some(*i as f64),
                Some(toml::Value::Float(x)) => Some(*x),
                _ => None,
            })
            .collect();
        match numbers {
            Some(numbers) => results.vector(format!("sweep/{key}"), numbers),
            None => results.texts(
                format!("sweep/{key}"),
                values
                    .iter()
                    .map(|v| v.map(display_value).unwrap_or_default())
                    .collect(),
            ),
        }
    }
    if manifest.points.iter().any(|p| p.seed.is_some()) {
        let seeds = manifest
            .points
            .iter()
            .map(|p| p.seed.map_or(f64::NAN, |s| s as f64))
            .collect();
        results.vector("sweep/seed", seeds);
    }
    results.texts(
        "sweep/status",
        status.iter().map(|s| s.name().to_string()).collect(),
    );
    results.texts("sweep/error", errors);
    results.texts(
        "sweep/file",
        (0..total)
            .map(|i| format!("{}/{}.h5", manifest.name, point_stem(i, total)))
            .collect(),
    );
    for (name, values) in summaries {
        results.vector(format!("summary/{name}"), values);
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let path = workbench::results::write_as(&results, parent, &manifest.name)?;
    Ok(Collected { path, status })
}

/// A done point file's summaries and where it ran.
struct PointFile {
    summaries: Vec<(String, f64)>,
    run_on: (String, String),
}

/// The point file at `path` if it exists and is of the configuration hashed `config_id`;
/// `Err` says why a file that is there does not count.
fn read_point(path: &Path, config_id: &str) -> std::result::Result<Option<PointFile>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let stale = |why: &str| format!("{}: {why}", path.display());
    let file = hdf5::File::open(path).map_err(|e| stale(&e.to_string()))?;
    let attribute = |name: &str| crate::session::text_attribute(&file, name);
    let config = attribute("config_toml").unwrap_or_default();
    if text_id(&config) != config_id {
        return Err(stale(
            "from another configuration of this point; run the sweep again",
        ));
    }
    let mut summaries = Vec::new();
    if let Ok(group) = file.group("summary") {
        scalars(&group, "", &mut summaries).map_err(|e| stale(&format!("summary/{e}")))?;
    }
    Ok(Some(PointFile {
        summaries,
        run_on: (
            attribute("backend").unwrap_or_default(),
            attribute("dtype").unwrap_or_default(),
        ),
    }))
}

/// Every scalar dataset under `group`, at any depth, named by its path below it
/// (`dpo/max_distance`); `Err` names the dataset that cannot be read.
fn scalars(
    group: &hdf5::Group,
    prefix: &str,
    out: &mut Vec<(String, f64)>,
) -> std::result::Result<(), String> {
    for name in group.member_names().map_err(|e| format!("{prefix}: {e}"))? {
        let path = format!("{prefix}{name}");
        if let Ok(inner) = group.group(&name) {
            scalars(&inner, &format!("{path}/"), out)?;
        } else {
            let value: f64 = group
                .dataset(&name)
                .and_then(|d| d.read_scalar())
                .map_err(|e| format!("{path}: {e}"))?;
            out.push((path, value));
        }
    }
    Ok(())
}

/// Parses `3`, `0-9` or `1,4,7-9` into sorted distinct indices below `total`.
pub fn selection(text: &str, total: usize) -> Result<Vec<usize>> {
    let bad = |why: String| CliError::from(format!("--point {text}: {why}"));
    let mut chosen = std::collections::BTreeSet::new();
    for part in text.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let parse = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("{part:?} is not an index or a range A-B")))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(bad(format!("the range {part} is empty")));
        }
        if hi >= total {
            return Err(bad(format!(
                "the sweep has points 0 to {}",
                total.saturating_sub(1)
            )));
        }
        chosen.extend(lo..=hi);
    }
    Ok(chosen.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::{point_stem, selection};

    #[test]
    fn selections_and_stems() {
        assert_eq!(selection("3", 10).unwrap(), [3]);
        assert_eq!(selection("1,4,7-9", 10).unwrap(), [1, 4, 7, 8, 9]);
        assert_eq!(selection("2-3,3", 10).unwrap(), [2, 3]);
        assert!(
            selection("10", 10)
                .unwrap_err()
                .to_string()
                .contains("0 to 9")
        );
        assert!(
            selection("x", 10)
                .unwrap_err()
                .to_string()
                .contains("--point x")
        );
        assert!(selection("5-2", 10).is_err());
        assert_eq!(point_stem(7, 54), "point-0007");
        assert_eq!(point_stem(7, 100_001), "point-000007");
    }
}
