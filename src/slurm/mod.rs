//! Handing work to Slurm: `workbench submit FILE --slurm` and `workbench reproduce --slurm`
//! write a job array (each task runs some sweep points, or experiments, with `workbench
//! run --point`) and a job after it (`--dependency=afterany`) that collects the sweeps and
//! builds the report, and submit both with `sbatch`. Every task runs a copy of this very
//! binary with the backend and dtype validated here, and refuses to run if its file
//! resolves to anything else than what was submitted. Points already done, or queued or
//! running in an earlier submission, are not submitted again.

mod plan;
pub mod queue;
pub mod record;
mod script;
mod undo;

use crate::error::{CliError, Result};
use crate::session::RunOptions;
use queue::Queued;
use record::{Record, TaskRecord, Unit};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use workbench::loader::Runs;

pub use script::selection_text;

/// The scheduler's options of `submit --slurm` and `reproduce --slurm`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct SlurmOptions {
    /// Slurm partition for the jobs (sbatch --partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each task (sbatch --time), e.g. 02:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per task (sbatch --cpus-per-task); a task runs that many of its points at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_task: Option<u32>,
    /// GPUs per task (sbatch --gpus-per-task), for --backend tch-cuda, cuda or wgpu.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub gpus_per_task: Option<u32>,
    /// At most this many tasks of the array at once (the array's `%M`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_parallel: Option<u32>,
    /// Any other sbatch option, for both jobs; repeatable: `--sbatch-arg=--account=abc`.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// The most tasks one array may have (more points are shared out among them).
    /// Default: the cluster's MaxArraySize (from `scontrol show config`), else 1001.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_array_size: Option<u64>,
    /// Print the scripts and the sbatch commands; submit and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Requeue a task that nears its time limit instead of losing its work: Slurm warns it
    /// (SIGUSR1, `--signal-before` seconds before the limit), the running point saves its
    /// training state and stops, and the task requeues itself and continues from that
    /// state (sbatch --requeue and --signal).
    #[arg(long)]
    pub requeue: bool,
    /// With --requeue: how many seconds before the time limit Slurm warns the task
    /// (default 300; Slurm may send it up to a minute early).
    #[arg(long, value_name = "SECONDS", requires = "requeue",
          value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub signal_before: Option<u32>,
}

impl SlurmOptions {
    /// Whether any option was given (they need `--slurm`).
    pub fn any(&self) -> bool {
        self.partition.is_some()
            || self.time.is_some()
            || self.cpus_per_task.is_some()
            || self.gpus_per_task.is_some()
            || self.max_parallel.is_some()
            || !self.sbatch_args.is_empty()
            || self.max_array_size.is_some()
            || self.dry_run
            || self.requeue
    }
}

/// What to submit: experiment files, loaded and validated, and where things go.
pub struct Request<'a> {
    /// Names the jobs and scripts: the experiment's name, or `reproduce`.
    pub name: String,
    /// Each file with what it resolves to.
    pub plans: Vec<(PathBuf, Runs)>,
    /// The results folder.
    pub out: &'a Path,
    /// The report folder.
    pub report: &'a Path,
    /// Submit points and experiments whose results are up to date too.
    pub force: bool,
    /// Backend, dtype, overrides.
    pub options: &'a RunOptions,
    /// The scheduler's options.
    pub slurm: &'a SlurmOptions,
}

/// Submits `request` (or prints what it would submit, with `--dry-run`).
pub fn submit(request: &Request<'_>) -> Result<()> {
    let out = std::path::absolute(request.out).map_err(|source| CliError::Io {
        what: "--out".into(),
        source,
    })?;
    let report = std::path::absolute(request.report).map_err(|source| CliError::Io {
        what: "--report".into(),
        source,
    })?;
    let queue = queue::queue();
    let active = active(&Record::all(&out), queue.as_ref());
    let planned = plan::plan(request, &out, &active)?;
    let log = |line: String| {
        if !request.options.quiet {
            eprintln!("{line}");
        }
    };
    let (counted, skipped) = (planned.counted(), planned.skipped());
    if planned.works.is_empty() {
        log(format!(
            "{}: nothing to submit ({skipped}); `workbench status {}` says where it stands",
            request.name,
            out.display()
        ));
        return Ok(());
    }
    let plan::Planned { works, sweeps, .. } = planned;
    let max_array = request
        .slurm
        .max_array_size
        .map(|n| n as usize)
        .or_else(queue::max_array_size)
        .unwrap_or(1001);
    let tasks: Vec<TaskRecord> = script::shard(works, max_array)
        .into_iter()
        .map(|works| TaskRecord {
            units: merge(works),
        })
        .collect();
    let build = crate::session::build_id()?;
    let binary = record::folder(&out)
        .join("bin")
        .join(format!("workbench-{build}"));
    let flags = run_flags(request.options);
    let sweep_dirs: Vec<PathBuf> = sweeps.iter().map(|(d, _)| d.clone()).collect();
    let what = format!("{}: {counted} in {} task(s)", request.name, tasks.len());
    let spec = script::Spec {
        name: &request.name,
        what: &what,
        binary: &binary,
        out: &out,
        report: &report,
        flags: &flags,
        tasks: &tasks,
        sweeps: &sweep_dirs,
        slurm: request.slurm,
    };
    let logs = spec.logs();
    let stem = record::next_stem(&out, &request.name)?;
    let array_script = stem.with_extension("sh");
    let collect_script = stem.with_file_name(format!(
        "{}-collect.sh",
        stem.file_name().unwrap_or_default().to_string_lossy()
    ));
    let (array_text, collect_text) = (spec.array()?, spec.collect(&collect_script)?);
    if request.slurm.dry_run {
        println!("# {}\n{array_text}", array_script.display());
        println!("# {}\n{collect_text}", collect_script.display());
        // Quoted: these two lines are meant to be pasted into a shell.
        println!(
            "sbatch --parsable {}",
            script::quote(&array_script.to_string_lossy())?
        );
        println!(
            "sbatch --parsable --dependency=afterany:<the array's job id> {} <the array's job id>",
            script::quote(&collect_script.to_string_lossy())?
        );
        log(format!("{what} ({skipped}); dry run: nothing submitted"));
        return Ok(());
    }
    queue::require_sbatch()?;
    let mut undo = undo::Undo::default();
    let mut prepare_and_submit = || -> Result<String> {
        for (dir, sweep) in &sweeps {
            for name in crate::sweep::MANIFEST_FILES {
                undo.before_creating(&dir.join(name));
            }
            crate::sweep::begin(sweep, dir)?;
        }
        for dir in [record::folder(&out).join("bin"), logs.clone()] {
            undo.before_creating(&dir);
            std::fs::create_dir_all(&dir).map_err(|source| CliError::Io {
                what: dir.display().to_string(),
                source,
            })?;
        }
        for path in [&binary, &array_script, &collect_script] {
            undo.before_creating(path);
        }
        freeze_binary(&binary)?;
        crate::files::write_atomic(&array_script, array_text.as_bytes())?;
        crate::files::write_atomic(&collect_script, collect_text.as_bytes())?;
        queue::sbatch(&[], &array_script, &[])
    };
    let array_job = match prepare_and_submit() {
        Ok(job) => job,
        Err(e) => {
            undo.run();
            return Err(e);
        }
    };
    // Recorded at once: a later failure must not hide a submitted array from `status`
    // and from the next submission.
    let mut record = Record {
        name: request.name.clone(),
        array_job: array_job.clone(),
        collect_job: String::new(),
        submitted: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        binary,
        script: array_script,
        tasks,
    };
    let path = record.write()?;
    let collect_job = queue::sbatch(
        &[format!("--dependency=afterany:{array_job}")],
        &collect_script,
        std::slice::from_ref(&array_job),
    )
    .map_err(|e| {
        CliError::from(format!(
            "{e}; the array is submitted as job {array_job} (record {}): when it has run, `workbench collect` its sweeps and `workbench report {}`",
            path.display(),
            out.display()
        ))
    })?;
    record.collect_job = collect_job.clone();
    record.write()?;
    log(format!(
        "{what} ({skipped}): submitted as Slurm job {array_job} (array), then job {collect_job} collects and writes the report to {}; logs in {}; record {}; `workbench status {}` says where it stands",
        report.display(),
        logs.display(),
        path.display(),
        out.display()
    ));
    println!("{array_job} {collect_job}");
    Ok(())
}

/// The flags every task's `run` passes on (`--backend` and `--dtype` are per unit).
fn run_flags(options: &RunOptions) -> Vec<String> {
    let mut flags = Vec::new();
    if options.smoke {
        flags.push("--smoke".to_string());
    }
    if options.ignore_memory_estimate {
        flags.push("--ignore-memory-estimate".to_string());
    }
    if options.no_reference_cache {
        flags.push("--no-reference-cache".to_string());
    }
    for set in &options.set {
        flags.push(format!("--set={set}"));
    }
    flags
}

/// One task's works as runs: consecutive batches of one sweep become one `--point` list.
fn merge(works: Vec<plan::Work>) -> Vec<Unit> {
    let mut units: Vec<(Unit, Option<Vec<usize>>)> = Vec::new();
    for work in works {
        if let (Some((last, Some(points))), Some(more)) = (units.last_mut(), &work.points)
            && last.file == work.unit.file
            && last.expect == work.unit.expect
            && last.backend == work.unit.backend
            && last.dtype == work.unit.dtype
        {
            points.extend(more);
            last.points = Some(selection_text(points));
            continue;
        }
        units.push((work.unit, work.points));
    }
    units.into_iter().map(|(unit, _)| unit).collect()
}

/// A copy of this executable at `path` (the exact binary the tasks run, whatever is
/// rebuilt meanwhile); kept when one is there (its name holds the build's hash).
fn freeze_binary(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|source| CliError::Io {
        what: "cannot locate this executable".into(),
        source,
    })?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::copy(&exe, &partial)
        .and_then(|_| std::fs::rename(&partial, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            CliError::Io {
                what: format!("{}: cannot copy the binary", path.display()),
                source: e,
            }
        })
}

/// Where a point (or a plain experiment) of a recorded submission stands in the queue, and
/// the configuration id it was submitted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    /// Queued or running.
    pub state: Queued,
    /// What its task's run expects its file to resolve to.
    pub expect: String,
}

/// (experiment name, sweep point or `None`) → where it stands, for everything that a
/// recorded submission has queued or running now (the latest submission's, where two are).
pub fn active(
    records: &[Record],
    queue: Option<&HashMap<(String, Option<usize>), Queued>>,
) -> HashMap<(String, Option<usize>), Active> {
    let mut active = HashMap::new();
    let Some(queue) = queue else {
        return active;
    };
    for record in records {
        for (index, task) in record.tasks.iter().enumerate() {
            let Some(&state) = queue.get(&(record.array_job.clone(), Some(index))) else {
                continue;
            };
            for unit in &task.units {
                let points: Vec<Option<usize>> = match &unit.points {
                    Some(text) => selected(text).into_iter().map(Some).collect(),
                    None => vec![None],
                };
                for point in points {
                    active.insert(
                        (unit.name.clone(), point),
                        Active {
                            state,
                            expect: unit.expect.clone(),
                        },
                    );
                }
            }
        }
    }
    active
}

/// The indices of a recorded `--point` list.
fn selected(text: &str) -> BTreeSet<usize> {
    crate::sweep::selection(text, usize::MAX)
        .map(|v| v.into_iter().collect())
        .unwrap_or_default()
}
