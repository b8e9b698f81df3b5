//! Command-line definition (clap) and dispatch.

use crate::commands::{self, ListWhat};
use crate::error::{CliError, FlagError};
use crate::session::RunOptions;
use backends::{BackendName, Precision};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use workbench::Registry;

/// Run preference-optimisation experiments (DPO, IPO, f-DPO and their RLHF counterparts)
/// under learning constraints, on any built-in burn backend, with results in HDF5.
#[derive(Debug, Parser)]
#[command(name = "workbench", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one experiment file and write `<out>/<experiment name>.h5`. A file with
    /// `[sweep]` runs its points, several at a time, into `<out>/<name>/point-NNNN.h5`
    /// (reusing those already up to date) and collects them into `<out>/<name>.h5`.
    Run {
        /// The experiment file (TOML), e.g. experiments/fig2_weight_decay.toml.
        file: PathBuf,
        /// Folder for results (created if missing).
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Sweep points (or batches of them) run at once; 0: one per core.
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Run only these sweep points: `7`, `0-9` or `1,4,7-9` (for schedulers); the
        /// sweep file is then left to `workbench collect`.
        #[arg(long, value_name = "I|A-B|LIST")]
        point: Option<String>,
        /// Re-run sweep points whose results are up to date.
        #[arg(long)]
        force: bool,
        /// Run only if the file resolves to what had this id when it was submitted (set
        /// by `workbench submit` in the tasks it writes).
        #[arg(long, hide = true, value_name = "ID")]
        expect_config: Option<String>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Submit a file's sweep points (or its one run) to Slurm as a job array, then a job
    /// after it that collects the sweep and builds the report. Points done already, or
    /// queued or running from an earlier submission, are left out.
    Submit {
        /// The experiment file (TOML).
        file: PathBuf,
        /// Submit to Slurm (the one scheduler supported).
        #[arg(long, required = true)]
        slurm: bool,
        /// Folder for results (created if missing; shared by the nodes). Scripts and
        /// records go to `<out>/slurm/`, logs to `<out>/logs/`.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Folder for the report built after the sweep [default: <out>/report].
        #[arg(long)]
        report: Option<PathBuf>,
        /// Submit points whose results are up to date too.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        scheduler: crate::slurm::SlurmOptions,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Say how many points of a sweep (DIR: its folder), or of every sweep and submitted
    /// experiment in a results folder, are done, running, queued, failed or missing.
    Status {
        /// A sweep's folder (results/NAME) or a results folder.
        dir: PathBuf,
    },
    /// Build (or rebuild) a sweep file `<DIR>.h5` from the point files in DIR (a sweep's
    /// folder, `<out>/<name>`), whichever exist: points run by separate processes or
    /// machines are merged; the others are listed as failed or missing.
    Collect {
        /// The sweep's folder, e.g. results/fig6_ablation.
        dir: PathBuf,
    },
    /// Write a results file's tables (a `sequence_dpo` run's per-pair scores and per-step
    /// metrics, a sweep's one row per point, any other 1-D datasets by group, the
    /// scalars) as CSV or Parquet files `<out>/<stem>.<table>.<format>`, for pandas or
    /// polars.
    Export {
        /// A results file (`.h5`), or a folder: every `*.h5` directly in it.
        target: PathBuf,
        /// `csv` or `parquet`.
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::export::TableFormat,
        /// Folder for the tables [default: beside each results file].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check experiment files without running them; prints each resolved configuration's
    /// name and kind, or the first error of each.
    Validate {
        /// Experiment files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Overrides applied to every file, as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Print each file's fully resolved configuration as TOML.
        #[arg(long)]
        show: bool,
    },
    /// List what this binary knows: losses, policies, constraints, experiment kinds, backends.
    List {
        /// Only this section.
        #[arg(value_enum)]
        what: Option<ListWhat>,
    },
    /// Run every experiment in a folder (in parallel on the available cores), then build the
    /// report. Results already written by this build with the same configuration, backend
    /// and dtype are reused unless --force.
    Reproduce {
        /// Folder of experiment files.
        #[arg(long, default_value = "experiments")]
        experiments: PathBuf,
        /// Also run the studies in the folder's `ablations/` (the Section 5.3 ablation and
        /// real-data seeds: about 7 minutes on 2 cores).
        #[arg(long)]
        all: bool,
        /// Folder for results.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Folder for the report (report.html, report.md, figures).
        #[arg(long, default_value = "reports/out")]
        report: PathBuf,
        /// Re-run experiments whose results are up to date.
        #[arg(long)]
        force: bool,
        /// Submit the experiments and sweep points to Slurm as one job array (each a
        /// task, up to the array's size), then collect and report in a job after it.
        #[arg(long)]
        slurm: bool,
        #[command(flatten)]
        scheduler: crate::slurm::SlurmOptions,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Build the report (figures as SVG and PNG, report.md, report.html) from existing
    /// results files.
    Report {
        /// Folder of results files (*.h5).
        results: PathBuf,
        /// Folder for the report.
        #[arg(long, default_value = "reports/out")]
        out: PathBuf,
    },
    /// Run one list of conformance cases (every bandit experiment at reduced size, every
    /// loss's values and gradients, the transformer's log-probabilities) on every usable
    /// backend and dtype, and compare with ndarray f64.
    Conformance {
        /// Only these backends (repeatable); default: every usable one.
        #[arg(long, value_parser = FlagError::parser::<BackendName>("--backend"))]
        backend: Vec<BackendName>,
        /// Folder holding the bandit experiment files.
        #[arg(long, default_value = "experiments")]
        experiments: PathBuf,
        /// Child mode: run the cases on the one --backend/--dtype and print JSON.
        #[arg(long, hide = true)]
        emit: bool,
        /// Child mode's dtype.
        #[arg(long, hide = true, value_parser = FlagError::parser::<Precision>("--dtype"))]
        dtype: Option<Precision>,
    },
    /// Exit 0 if BACKEND computes correctly in DTYPE here (used by `list backends`).
    #[command(hide = true)]
    Probe {
        /// Backend name.
        #[arg(value_parser = FlagError::parser::<BackendName>("BACKEND"))]
        backend: BackendName,
        /// f32 or f64.
        #[arg(value_parser = FlagError::parser::<Precision>("DTYPE"))]
        dtype: Precision,
    },
    /// Benchmark on any backend: a weight-decay sweep end to end (the α grid as one batch
    /// versus a plain loop over α), or a `sequence_dpo` file's transformer training
    /// throughput in tokens/s.
    Bench {
        /// The experiment to time (any file; one with an α grid is also timed as a loop).
        #[arg(default_value = "experiments/fig2_weight_decay.toml")]
        file: PathBuf,
        /// Timed repetitions of each variant (the median is reported); at least 1.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        repeats: u64,
        #[command(flatten)]
        options: RunOptions,
    },
}

/// Parses the command line and runs it with `registry`; errors are one line on stderr
/// and a non-zero exit code.
pub fn main_with(registry: Registry) -> ExitCode {
    crate::allocator::keep_freed_memory();
    backends::prepare_environment();
    crate::panics::install_hook();
    // Slurm's warning before a time limit (`submit --requeue`): a training run saves its
    // state after its current step and stops; the task is then requeued.
    let stop = workbench::sequence::training_state::stop_flag();
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGUSR1, stop) {
        eprintln!("warning: cannot handle SIGUSR1 ({e}); a stop request will kill the run");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // A backend or dtype that names nothing is one line, like every other error of
            // a command; clap reports the rest (usage, --help, --version) its own way.
            let flag = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<FlagError>());
            match flag {
                Some(flag) => {
                    eprintln!("error: {flag}");
                    return ExitCode::FAILURE;
                }
                None => e.exit(),
            }
        }
    };
    // A panic outside any experiment (while validating, say) is one line too.
    let outcome = crate::panics::contained("workbench", || match cli.command {
        Command::Run {
            file,
            out,
            jobs,
            point,
            force,
            expect_config,
            options,
        } => commands::run(
            &registry,
            &file,
            &out,
            &crate::sweep::SweepOptions {
                jobs,
                points: point,
                force,
                expect: expect_config,
            },
            &options,
        ),
        Command::Submit {
            file,
            slurm: _,
            out,
            report,
            force,
            scheduler,
            options,
        } => commands::submit(
            &registry,
            &file,
            &out,
            &report.unwrap_or_else(|| out.join("report")),
            force,
            &scheduler,
            &options,
        ),
        Command::Status { dir } => crate::status::status(&dir),
        Command::Export {
            target,
            format,
            out,
        } => crate::export::export(&target, format, out.as_deref()),
        Command::Collect { dir } => crate::sweep::collect(&dir).map(|c| eprintln!("{}", c.line())),
        Command::Validate { files, set, show } => commands::validate(&registry, &files, &set, show),
        Command::List { what } => {
            commands::list(&registry, what);
            Ok(())
        }
        Command::Reproduce {
            experiments,
            all,
            out,
            report,
            force,
            slurm,
            scheduler,
            options,
        } => {
            if !slurm && scheduler.any() {
                return Err(crate::error::CliError::from(
                    "--partition, --time, --cpus-per-task, --gpus-per-task, --max-parallel, --sbatch-arg, --max-array-size and --dry-run need --slurm",
                ));
            }
            crate::reproduce::reproduce(
                &registry,
                &crate::reproduce::Request {
                    experiments: &experiments,
                    all,
                    out: &out,
                    report: &report,
                    force,
                    options: &options,
                    slurm: slurm.then_some(&scheduler),
                },
            )
        }
        Command::Report { results, out } => crate::reproduce::report(&results, &out),
        Command::Probe { backend, dtype } => commands::probe(backend, dtype),
        Command::Conformance {
            backend,
            experiments,
            emit,
            dtype,
        } => {
            if emit {
                commands::emit_conformance(&registry, &experiments, &backend, dtype)
            } else {
                crate::conformance::conformance(&experiments, &backend)
            }
        }
        Command::Bench {
            file,
            repeats,
            options,
        } => crate::bench::bench(&registry, &file, repeats as usize, &options),
    })
    .map_err(CliError::from)
    .and_then(|outcome| outcome);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`workbench list | head`): nothing is wrong.
        Err(message) if closed_pipe(&message.to_string()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            if workbench::sequence::training_state::stop_requested() {
                // Stopped on request: the states are saved; run again to continue.
                ExitCode::from(STOPPED)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The exit status of a run stopped on request (SIGUSR1) with its training state saved
/// (`EX_TEMPFAIL`): a `submit --requeue` task requeues itself on it.
pub const STOPPED: u8 = 75;

/// Whether `message` is that of a print to a standard stream whose reader has gone
/// (Rust's `println!` panics with "failed printing to stdout: Broken pipe").
fn closed_pipe(message: &str) -> bool {
    message.contains("failed printing to std") && message.contains("Broken pipe")
}
