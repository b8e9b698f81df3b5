//! `workbench reproduce`: every experiment in a folder (each sweep point a task of its
//! own), in parallel on the available cores, then the report; `workbench report`: the report from existing results.

use crate::error::{CliError, Result};
use crate::session::{RunOptions, context, load_runs, up_to_date, write_results};
use crate::sweep::Outcome;
use indicatif::{MultiProgress, ProgressDrawTarget};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use workbench::Registry;
use workbench::loader::{ResolvedSweep, Runs};
use workbench::{experiments::Experiment, threads as parallel};

/// What `reproduce` was asked to do.
pub struct Request<'a> {
    /// Folder of experiment files.
    pub experiments: &'a Path,
    /// Also the studies in its `ablations/` folder.
    pub all: bool,
    /// Results folder.
    pub out: &'a Path,
    /// Report folder.
    pub report: &'a Path,
    /// Re-run even when a results file is up to date.
    pub force: bool,
    /// Backend, dtype, overrides, quiet.
    pub options: &'a RunOptions,
    /// Submit to Slurm with these options instead of running here.
    pub slurm: Option<&'a crate::slurm::SlurmOptions>,
}

/// One unit of work: an experiment, or a batch of a sweep's points.
enum Task<'p> {
    Single(&'p Path, &'p dyn Experiment),
    Points(&'p Path, &'p ResolvedSweep, Vec<usize>),
}

/// Runs every experiment of `plan` (each sweep point a task of its own, all on the
/// available cores), collects the sweeps, then builds the report; fails naming every
/// experiment that failed, after finishing the others.
pub fn reproduce(registry: &Registry, plan: &Request<'_>) -> Result<()> {
    let mut files = experiment_files(plan.experiments)?;
    if plan.all {
        files.extend(experiment_files(&plan.experiments.join(ABLATIONS))?);
    }
    if let Some(slurm) = plan.slurm {
        return submit(registry, files, plan, slurm);
    }
    let started = Instant::now();
    let visible = !plan.options.quiet && std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let log = |line: String| multi.suspend(|| eprintln!("{line}"));
    let options = plan.options;
    let mut failed: Vec<String> = Vec::new();
    let mut loaded = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        match crate::panics::contained(&name, || {
            load_runs(registry, file, &options.set, options.smoke)
        })
        .map_err(CliError::from)
        .and_then(|plan| plan)
        {
            Ok(loaded_plan) => loaded.push((file.as_path(), loaded_plan)),
            Err(e) => {
                log(format!("error: {e}"));
                failed.push(name);
            }
        }
    }
    let mut tasks = Vec::new();
    for (file, loaded_plan) in &loaded {
        match loaded_plan {
            Runs::Single(experiment) => tasks.push(Task::Single(file, experiment.as_ref())),
            Runs::Sweep(sweep) => {
                let dir = plan.out.join(&sweep.name);
                match crate::sweep::begin(sweep, &dir) {
                    Ok(()) => tasks.extend(
                        sweep
                            .batches(&(0..sweep.points.len()).collect::<Vec<_>>())
                            .into_iter()
                            .map(|group| Task::Points(file, sweep, group)),
                    ),
                    Err(e) => {
                        log(format!("error: {}: {e}", file.display()));
                        failed.push(file.display().to_string());
                    }
                }
            }
        }
    }
    let workers = parallel::cores();
    log(format!(
        "reproduce: {} experiments ({} tasks; a batch of sweep points is one) from {} on {} threads",
        files.len(),
        tasks.len(),
        plan.experiments.display(),
        workers.min(tasks.len()).max(1)
    ));
    let per_task: Vec<Vec<Outcome>> = parallel::map_on(&tasks, workers, |task| match task {
        Task::Single(file, experiment) => vec![run_one(file, *experiment, plan, &multi, &log)],
        Task::Points(file, sweep, group) => {
            let dir = plan.out.join(&sweep.name);
            let job = crate::sweep::Job {
                file,
                plan: sweep,
                out: plan.out,
                dir: &dir,
                force: plan.force,
                options,
                multi: &multi,
                log: &log,
            };
            job.run(group)
        }
    });
    let outcomes: Vec<Outcome> = per_task.iter().flatten().copied().collect();
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    for (file, loaded_plan) in &loaded {
        let mut mine = tasks.iter().zip(&per_task).filter(|(task, _)| match task {
            Task::Single(f, _) | Task::Points(f, _, _) => f == file,
        });
        if mine.any(|(_, o)| o.contains(&Outcome::Failed)) {
            failed.push(file.display().to_string());
        }
        if let Runs::Sweep(sweep) = loaded_plan {
            match crate::sweep::collect(&plan.out.join(&sweep.name)) {
                Ok(collected) => log(collected.line()),
                Err(e) => log(format!("error: {e}")),
            }
        }
    }
    failed.sort();
    failed.dedup();
    log(format!(
        "reproduce: {} ran, {} reused, {} failed in {:.1} s",
        count(Outcome::Ran),
        count(Outcome::Reused),
        count(Outcome::Failed),
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

/// `reproduce --slurm`: every file validated (the first error stops it, nothing is
/// submitted), then every experiment and sweep point a task of one job array.
fn submit(
    registry: &Registry,
    files: Vec<PathBuf>,
    plan: &Request<'_>,
    slurm: &crate::slurm::SlurmOptions,
) -> Result<()> {
    let options = plan.options;
    let plans = files
        .into_iter()
        .map(|file| {
            let loaded = load_runs(registry, &file, &options.set, options.smoke)
                .map_err(|e| CliError::from(format!("{e} (nothing submitted)")))?;
            Ok((file, loaded))
        })
        .collect::<Result<Vec<_>>>()?;
    crate::slurm::submit(&crate::slurm::Request {
        name: "reproduce".to_string(),
        plans,
        out: plan.out,
        report: plan.report,
        force: plan.force,
        options,
        slurm,
    })
}

/// The folder of studies that `reproduce --all` adds.
const ABLATIONS: &str = "ablations";

/// One experiment: reuse if up to date, else run and write.
fn run_one(
    file: &Path,
    experiment: &dyn Experiment,
    plan: &Request<'_>,
    multi: &MultiProgress,
    log: &dyn Fn(String),
) -> Outcome {
    let attempt = || -> Result<Outcome> {
        let mut context = context(file, experiment, plan.options)?;
        let target = plan.out.join(format!("{}.h5", experiment.name()));
        if !plan.force && up_to_date(&target, experiment, &context)? {
            log(format!(
                "{}: reusing {} (same configuration, backend and build; --force to re-run)",
                experiment.name(),
                target.display()
            ));
            return Ok(Outcome::Reused);
        }
        context.progress = crate::bars::within(multi, experiment.name());
        context.reference_cache = crate::session::reference_cache(plan.out, plan.options)?;
        context.training_state = crate::session::training_state(plan.out)?;
        let started = Instant::now();
        let path = write_results(experiment, &context, plan.out)?;
        let seconds = started.elapsed().as_secs_f64();
        log(format!(
            "{}: wrote {} ({seconds:.2} s)",
            experiment.name(),
            path.display()
        ));
        Ok(Outcome::Ran)
    };
    let name = file.display().to_string();
    let outcome = crate::panics::contained(&name, attempt)
        .map_err(CliError::from)
        .and_then(|outcome| outcome)
        .unwrap_or_else(|e| {
            log(format!("error: {e}"));
            Outcome::Failed
        });
    crate::allocator::release_freed_memory();
    outcome
}

/// The `*.toml` files of `dir`, sorted.
fn experiment_files(dir: &Path) -> Result<Vec<PathBuf>> {
    crate::files::listed(dir, "toml", "experiment files")
}

/// `workbench report`: builds the report from the results in `results` into `out`.
pub fn report(results: &Path, out: &Path) -> Result<()> {
    let report = reports::build_report(results, out)?;
    for problem in &report.problems {
        eprintln!(
            "report: {}",
            reports::clip::clip(problem, reports::clip::LINE)
        );
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
