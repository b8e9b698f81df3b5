//! `workbench reproduce`: every experiment in a folder, in parallel on the available cores,
//! then the report; `workbench report`: the report from existing results.

use crate::error::{CliError, Result};
use crate::session::{RunOptions, context, load_sized, write_results};
use indicatif::{MultiProgress, ProgressDrawTarget};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use workbench::Registry;
use workbench::experiments::Experiment;

/// What `reproduce` was asked to do.
pub struct Plan<'a> {
    /// Folder of experiment files.
    pub experiments: &'a Path,
    /// Results folder.
    pub out: &'a Path,
    /// Report folder.
    pub report: &'a Path,
    /// Re-run even when a results file is up to date.
    pub force: bool,
    /// Backend, dtype, overrides, quiet.
    pub options: &'a RunOptions,
}

/// How one experiment ended (its log line has been printed already).
enum Outcome {
    Ran,
    Reused,
    Failed,
}

/// Runs every experiment of `plan`, then builds the report; fails naming every experiment
/// that failed, after finishing the others.
pub fn reproduce(registry: &Registry, plan: &Plan<'_>) -> Result<()> {
    let files = experiment_files(plan.experiments)?;
    let started = Instant::now();
    let visible = !plan.options.quiet && std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let log = |line: String| multi.suspend(|| eprintln!("{line}"));
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    log(format!(
        "reproduce: {} experiments from {} on {workers} threads",
        files.len(),
        plan.experiments.display()
    ));
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(file) = files.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let outcome = run_one(registry, file, plan, &multi, &log);
                    let mut outcomes = outcomes.lock().unwrap_or_else(|e| e.into_inner());
                    outcomes.push((file.clone(), outcome));
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(file, outcome)| match outcome {
            Outcome::Failed => Some(file.display().to_string()),
            _ => None,
        })
        .collect();
    let reused = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Reused))
        .count();
    log(format!(
        "reproduce: {} ran, {reused} reused, {} failed in {:.1} s",
        outcomes.len() - reused - failed.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    ));
    report(plan.out, plan.report)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::from(format!(
            "{} experiment(s) failed: {}",
            failed.len(),
            failed.join(", ")
        )))
    }
}

/// One experiment: load, reuse if up to date, else run and write.
fn run_one(
    registry: &Registry,
    file: &Path,
    plan: &Plan<'_>,
    multi: &MultiProgress,
    log: &dyn Fn(String),
) -> Outcome {
    let attempt = || -> Result<Outcome> {
        let experiment = load_sized(registry, file, &plan.options.set, plan.options.smoke)?;
        let mut context = context(file, experiment.as_ref(), plan.options)?;
        let target = plan.out.join(format!("{}.h5", experiment.name()));
        if !plan.force && up_to_date(&target, experiment.as_ref(), &context)? {
            log(format!(
                "{}: reusing {} (same configuration, backend and build; --force to re-run)",
                experiment.name(),
                target.display()
            ));
            return Ok(Outcome::Reused);
        }
        context.progress = crate::bars::within(multi, experiment.name());
        let started = Instant::now();
        let path = write_results(experiment.as_ref(), &context, plan.out)?;
        let seconds = started.elapsed().as_secs_f64();
        log(format!(
            "{}: wrote {} ({seconds:.2} s)",
            experiment.name(),
            path.display()
        ));
        Ok(Outcome::Ran)
    };
    let name = file.display().to_string();
    crate::panics::contained(&name, attempt)
        .map_err(CliError::from)
        .and_then(|outcome| outcome)
        .unwrap_or_else(|e| {
            log(format!("error: {e}"));
            Outcome::Failed
        })
}

/// Whether `path` holds results of exactly this configuration, backend, dtype and build.
fn up_to_date(
    path: &Path,
    experiment: &dyn Experiment,
    context: &workbench::experiments::RunContext,
) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let Ok(file) = hdf5::File::open(path) else {
        return Ok(false);
    };
    let attribute = |name: &str| -> Option<String> {
        let value: hdf5::types::VarLenUnicode = file.attr(name).ok()?.read_scalar().ok()?;
        Some(value.as_str().to_string())
    };
    Ok(
        attribute("config_toml").as_deref() == Some(experiment.config_toml())
            && attribute("backend").as_deref() == Some(context.backend.as_str())
            && attribute("dtype").as_deref() == Some(context.dtype.as_str())
            && attribute("build_id").as_deref() == Some(crate::session::build_id()?.as_str())
            && attribute("inputs_id").as_deref()
                == Some(crate::session::inputs_id(experiment)?.as_str()),
    )
}

/// The `*.toml` files of `dir`, sorted.
fn experiment_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::from(format!(
            "{}: no experiment files (*.toml)",
            dir.display()
        )));
    }
    Ok(files)
}

/// `workbench report`: builds the report from the results in `results` into `out`.
pub fn report(results: &Path, out: &Path) -> Result<()> {
    let report = reports::build_report(results, out).map_err(|e| e.to_string())?;
    for problem in &report.problems {
        eprintln!("report: {problem}");
    }
    eprintln!("report: wrote {}", out.join("report.html").display());
    if report.readable.is_empty() {
        return Err(CliError::from(format!(
            "{}: no usable results file (no *.h5 file that opens)",
            results.display()
        )));
    }
    Ok(())
}
