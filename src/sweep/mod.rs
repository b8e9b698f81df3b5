//! Running a file with `[sweep]`: every point (or those of `--point`) on `--jobs` threads,
//! each into `<out>/<name>/point-NNNN.h5`, a failed point into `point-NNNN.error`, then
//! `collect` builds the sweep file `<out>/<name>.h5` from whatever point files exist.
//! `<out>/<name>/sweep.toml` (the manifest) lists every point, so `collect` can name the
//! missing ones and points computed by other processes can be merged.

mod collect;
mod job;
mod manifest;
mod selection;

pub use collect::{Status, collect, state};
pub use job::Job;
use manifest::Manifest;
pub use manifest::{MANIFEST_FILES, begin, definition_id, manifest_id, point_stem};
pub use selection::selection;

use crate::error::{CliError, Result};
use crate::session::RunOptions;
use indicatif::{MultiProgress, ProgressDrawTarget};
use std::io::IsTerminal;
use std::path::Path;
use workbench::loader::{Keep, Scope, SweepSource};
use workbench::threads as parallel;

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

/// How one run or sweep point ended (its line has been logged already); `run` and
/// `reproduce` count these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran and wrote its file.
    Ran,
    /// Its file was up to date.
    Reused,
    /// Failed; its `.error` file says why.
    Failed,
}

/// `workbench run FILE` of a file with `[sweep]`.
///
/// Every point is resolved and checked, and the manifest written, unless `--point` selects
/// some and the folder's manifest is of the same definition (file, environment, overrides,
/// build): then an earlier command (`submit`, another task) checked them all, and only the
/// selected points are resolved. A Slurm task of a million-point sweep starts in moments.
pub fn run(
    file: &Path,
    source: &SweepSource,
    out: &Path,
    sweep: &SweepOptions,
    options: &RunOptions,
) -> Result<()> {
    // A bad --point is refused before anything is resolved or written.
    let selected = match &sweep.points {
        Some(text) => Some(selection(text, source.count())?),
        None => None,
    };
    let (plan, manifest, fresh) = match &selected {
        None => {
            let plan = source.resolve(Keep::Every, Scope::All)?;
            let manifest = Manifest::of(&plan)?;
            (plan, manifest, true)
        }
        Some(selected) => {
            let plan = source.resolve(Keep::Only(selected), Scope::Kept)?;
            let dir = out.join(&plan.name);
            match Manifest::read_header(&dir).ok().flatten() {
                Some((manifest, _))
                    if manifest.definition == definition_id(&plan.definition)?
                        && plan.inputs.iter().all(|i| manifest.inputs.contains(i)) =>
                {
                    (plan, manifest, false)
                }
                _ => {
                    let plan = source.resolve(Keep::Only(selected), Scope::All)?;
                    let manifest = Manifest::of(&plan)?;
                    (plan, manifest, true)
                }
            }
        }
    };
    let plan = &plan;
    let dir = out.join(&plan.name);
    let id = manifest.id()?;
    if let Some(expected) = &sweep.expect {
        expect_id(file, expected, &id)?;
    }
    let selected = selected.unwrap_or_else(|| (0..plan.total).collect());
    let _lock = crate::lock::ResultsLock::acquire(out, &plan.name, &id)?;
    if fresh {
        manifest.write(&dir)?;
    }
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
        "{}: sweep of {} points, running {} on {} threads into {}; {}",
        plan.name,
        plan.total,
        selected.len(),
        jobs.min(selected.len()).max(1),
        dir.display(),
        if fresh {
            format!("checked all {} points", plan.checked)
        } else {
            format!(
                "checked these {} (its manifest is of this definition: every point was checked when it was written)",
                plan.checked
            )
        }
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
        out,
        dir: &dir,
        force: sweep.force,
        options,
        multi: &multi,
        log: &log,
    };
    let outcomes: Vec<(usize, Outcome)> = parallel::map_on(&groups, jobs, |group| {
        let outcomes = job.run(group);
        points.inc(group.len() as u64);
        group.iter().copied().zip(outcomes).collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let outcomes: Vec<Outcome> = {
        let mut sorted = outcomes;
        sorted.sort_by_key(|(i, _)| *i);
        sorted.into_iter().map(|(_, o)| o).collect()
    };
    points.finish_and_clear();
    let failed: Vec<usize> = selected
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == Outcome::Failed)
        .map(|(i, _)| *i)
        .collect();
    let reused = outcomes.iter().filter(|o| **o == Outcome::Reused).count();
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
