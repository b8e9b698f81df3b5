//! What every command that runs an experiment shares: its options, loading a file,
//! the run context (backend, dtype, memory check), writing results, and the ids that
//! decide whether a result can be reused.

use crate::error::{CliError, FlagError, Result};
use backends::{BackendName, BackendSupport, Precision};
use std::path::Path;
use workbench::Registry;
use workbench::config::{self, Override};
use workbench::experiments::{Experiment, RunContext};
use workbench::results::{ResultsFile, attr};
use workbench::sequence::reference_cache::ReferenceCache;
use workbench::sequence::training_state::StateRoot;

/// Options shared by commands that run experiments.
#[derive(Debug, Default, clap::Args)]
pub struct RunOptions {
    /// Backend to run on (see `workbench list backends`). Precedence: this flag, then
    /// WORKBENCH_BACKEND, then `backend = ...` in the file, then flex.
    #[arg(
        long,
        env = "WORKBENCH_BACKEND",
        value_parser = FlagError::parser::<BackendName>("--backend (or WORKBENCH_BACKEND)")
    )]
    pub backend: Option<BackendName>,
    /// Float precision of the tensors: f32 or f64. Default: f64 where the backend has it
    /// (the CPU backends, libtorch), else f32 (wgpu).
    #[arg(
        long,
        env = "WORKBENCH_DTYPE",
        value_parser = FlagError::parser::<Precision>("--dtype")
    )]
    pub dtype: Option<Precision>,
    /// Override a configuration value: a dotted key and a TOML value, e.g.
    /// `--set bandit.beta=0.5 --set 'bandit.pi_star=[0.5,0.3,0.2]'`. Repeatable; wins over
    /// the file and over WORKBENCH_<SECTION>__<KEY> environment variables.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Never draw progress bars (they are already hidden when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// Run even when the experiment's memory estimate exceeds the memory available.
    #[arg(long)]
    pub ignore_memory_estimate: bool,
    /// Run at the reduced size the experiment's kind declares for smoke tests (seconds):
    /// its own overrides, applied before --set.
    #[arg(long)]
    pub smoke: bool,
    /// Train every `sequence_dpo` run's reference model itself, instead of loading one
    /// that an earlier run with the same model, data, SFT settings and seed stored in
    /// `<out>/.cache/reference` (and storing its own there).
    #[arg(long)]
    pub no_reference_cache: bool,
}

/// Parses every `--set`.
pub fn overrides(set: &[String]) -> Result<Vec<Override>> {
    Ok(set
        .iter()
        .map(|s| config::parse_override(s))
        .collect::<std::result::Result<_, String>>()?)
}

/// Loads `file` as one run or as the points of its `[sweep]`, each validated.
pub fn load_runs(
    registry: &Registry,
    file: &Path,
    set: &[String],
    smoke: bool,
) -> Result<workbench::loader::Runs> {
    load_runs_keeping(registry, file, set, smoke, workbench::loader::Keep::Every)
}

/// [`load_runs`], keeping only the sweep points `keep` says (all are checked).
pub fn load_runs_keeping(
    registry: &Registry,
    file: &Path,
    set: &[String],
    smoke: bool,
    keep: workbench::loader::Keep<'_>,
) -> Result<workbench::loader::Runs> {
    Ok(workbench::loader::load_runs_keeping(
        file,
        &overrides(set)?,
        registry,
        smoke,
        keep,
    )?)
}

/// Reads `file`: one run, checked, or a sweep whose points resolve on demand.
pub fn open<'a>(
    registry: &'a Registry,
    file: &Path,
    set: &[String],
    smoke: bool,
) -> Result<workbench::loader::Opened<'a>> {
    Ok(workbench::loader::open(
        file,
        &overrides(set)?,
        registry,
        smoke,
    )?)
}

/// [`load`], at the kind's smoke size when `smoke`.
pub fn load_sized(
    registry: &Registry,
    file: &Path,
    set: &[String],
    smoke: bool,
) -> Result<Box<dyn Experiment>> {
    Ok(workbench::loader::load_sized(
        file,
        &overrides(set)?,
        registry,
        smoke,
    )?)
}

/// The run context for `experiment` under `options` (flag/env > file > default).
pub fn context(
    file: &Path,
    experiment: &dyn Experiment,
    options: &RunOptions,
) -> Result<RunContext> {
    let (backend, precision) = run_on(file, experiment, options)?;
    if !options.ignore_memory_estimate {
        check_memory(file, experiment, backend, precision)?;
    }
    let device = backends::device(backend, precision)?;
    Ok(RunContext {
        device,
        backend,
        precision,
        progress: if options.quiet {
            crate::bars::warnings_only()
        } else {
            crate::bars::terminal()
        },
        reference_cache: None,
        training_state: None,
    })
}

/// The reference-model cache of the results folder `out` (`<out>/.cache/reference`),
/// unless `--no-reference-cache`: the runs writing into one folder (the points of a
/// sweep, `reproduce`'s experiments, a submission's tasks) share their reference models.
pub fn reference_cache(out: &Path, options: &RunOptions) -> Result<Option<ReferenceCache>> {
    if options.no_reference_cache {
        return Ok(None);
    }
    Ok(Some(ReferenceCache::under(out, build_id()?)))
}

/// Where the runs writing into the results folder `out` keep their training states
/// (`<out>/.state`, one file per run, removed once the run is trained): a run killed
/// midway continues from its last state.
pub fn training_state(out: &Path) -> Result<Option<StateRoot>> {
    Ok(Some(StateRoot {
        dir: out.join(".state"),
        build: build_id()?,
    }))
}

/// The backend and dtype `experiment` runs on under `options` (flag/env > file > default),
/// without starting a device.
pub fn run_on(
    file: &Path,
    experiment: &dyn Experiment,
    options: &RunOptions,
) -> Result<(BackendName, Precision)> {
    let backend = match (options.backend, experiment.backend()) {
        (Some(backend), _) => backend,
        (None, Some(name)) => name.parse().map_err(|source| CliError::FileBackend {
            file: file.to_path_buf(),
            name: name.to_string(),
            source,
        })?,
        (None, None) => BackendName::DEFAULT,
    };
    backend.require_built_in()?;
    let precision = options.dtype.unwrap_or_else(|| backend.default_precision());
    Ok((backend, precision))
}

/// Runs `experiment` and writes its results (with this build's id) into `out`.
pub fn write_results(
    experiment: &dyn Experiment,
    context: &RunContext,
    out: &Path,
) -> Result<std::path::PathBuf> {
    // A folder that cannot take the results fails now, not after the training.
    workbench::results::prepare_dir(out)?;
    // Another process writing this name with another configuration or backend is refused
    // (naming it) rather than racing this one to `<name>.h5`.
    let work = format!(
        "{}-{}-{}",
        run_id(experiment)?,
        context.backend,
        context.precision
    );
    let _lock = crate::lock::ResultsLock::acquire(out, experiment.name(), &work)?;
    let inputs = inputs_id(experiment)?;
    let results = crate::panics::contained(experiment.name(), || {
        crate::panics::injected(experiment.name());
        experiment.run(context)
    })??;
    let notes = vec![(attr::INPUTS_ID.into(), inputs)];
    write_computed(experiment, results, out, experiment.name(), notes)
}

/// Writes `results` of `experiment` to `<out>/<stem>.h5` with this build's id and `notes`
/// (which hold its `inputs_id`, computed before the run) among its root attributes.
pub fn write_computed(
    experiment: &dyn Experiment,
    mut results: workbench::results::Results,
    out: &Path,
    stem: &str,
    notes: Vec<(String, String)>,
) -> Result<std::path::PathBuf> {
    debug_assert_eq!(results.experiment, experiment.name());
    results.note(attr::BUILD_ID, build_id()?);
    results.notes.extend(notes);
    Ok(workbench::results::write_as(&results, out, stem)?)
}

/// Whether `path` holds results of exactly this configuration, backend, dtype, build and
/// data files.
pub fn up_to_date(path: &Path, experiment: &dyn Experiment, context: &RunContext) -> Result<bool> {
    up_to_date_on(
        path,
        experiment,
        context.backend.name(),
        context.precision.name(),
    )
}

/// [`up_to_date`] for results of `backend` and `dtype` (by name).
pub fn up_to_date_on(
    path: &Path,
    experiment: &dyn Experiment,
    backend: &str,
    dtype: &str,
) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let Ok(file) = ResultsFile::open(path) else {
        return Ok(false);
    };
    // Saved folders (trained models) the file records must still be there.
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Some(saved) = file.attr(attr::SAVED)
        && workbench::results::folders::missing(&saved, dir).is_some()
    {
        return Ok(false);
    }
    let found = file.identity();
    Ok(
        found.config_toml.as_deref() == Some(experiment.config_toml())
            && found.backend.as_deref() == Some(backend)
            && found.dtype.as_deref() == Some(dtype)
            && found.build_id == Some(build_id()?)
            && found.inputs_id == Some(inputs_id(experiment)?),
    )
}

/// An id of this executable (a hash of its bytes): results written by another build are
/// not reused.
pub fn build_id() -> Result<String> {
    // Only success is kept: a failure (rare, cheap) is found again by the next call.
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(id) = ID.get() {
        return Ok(id.clone());
    }
    let exe = std::env::current_exe().map_err(|source| CliError::Io {
        what: "cannot locate this executable".into(),
        source,
    })?;
    let id = file_id(&[exe], false)?;
    Ok(ID.get_or_init(|| id).clone())
}

/// What a run is: a hash of its resolved configuration and of its data files' contents
/// (what a Slurm task checks against the submission, `run --expect-config`).
pub fn run_id(experiment: &dyn Experiment) -> Result<String> {
    Ok(run_id_of(experiment.config_toml(), &inputs_id(experiment)?))
}

/// [`run_id`] from a resolved configuration and its data files' id (as a results file
/// records them: `config_toml`, `inputs_id`).
pub fn run_id_of(config_toml: &str, inputs_id: &str) -> String {
    text_id(&format!("{config_toml}\n{inputs_id}"))
}

pub use workbench::loader::text_id;

/// A hex hash of the contents of `files` (and their paths, with `with_paths`).
fn file_id(files: &[std::path::PathBuf], with_paths: bool) -> Result<String> {
    // xxh3 hashes the ~100 MB executable in milliseconds (SipHash took tens of them).
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for path in files {
        let bytes = std::fs::read(path).map_err(|source| CliError::Io {
            what: path.display().to_string(),
            source,
        })?;
        if with_paths {
            hasher.update(path.as_os_str().as_encoded_bytes());
            hasher.update(&[0]);
        }
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

/// Refuses an experiment whose memory estimate on `backend` in `precision` exceeds the
/// memory available now: on a GPU backend, GPU 0's free memory where `nvidia-smi` reports
/// it (the weights, Adam moments and activations live there), else the host's.
fn check_memory(
    file: &Path,
    experiment: &dyn Experiment,
    backend: BackendName,
    precision: Precision,
) -> Result<()> {
    let need = experiment.memory_estimate(backend, precision);
    let gpu = matches!(
        backend,
        BackendName::Cuda | BackendName::TchCuda | BackendName::Wgpu
    );
    let (available, what) = match gpu.then(workbench::resources::gpu_free_bytes).flatten() {
        Some(free) => (free, "free on GPU 0 (nvidia-smi)"),
        None => {
            let Some(host) = workbench::resources::available_bytes() else {
                return Ok(());
            };
            let what = if gpu {
                "available on the host (the GPU's own memory could not be read: no nvidia-smi)"
            } else {
                "available"
            };
            (host, what)
        }
    };
    if need > available {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        return Err(CliError::from(format!(
            "{}: experiment `{}` needs about {:.1} GiB of memory on {backend} in {precision} by its estimate, {:.1} GiB are {what}; make it smaller, or pass --ignore-memory-estimate to run anyway",
            file.display(),
            experiment.name(),
            gib(need),
            gib(available)
        )));
    }
    Ok(())
}

/// An id of the experiment's data files (paths and contents): results made from other data
/// are not reused.
pub fn inputs_id(experiment: &dyn Experiment) -> Result<String> {
    files_id(&experiment.inputs())
}

/// An id of `files` (paths and contents). Each list is hashed once per command (a sweep's
/// points share their data files, and every point's reuse check and manifest asks).
pub fn files_id(files: &[std::path::PathBuf]) -> Result<String> {
    type Ids = std::collections::HashMap<Vec<std::path::PathBuf>, String>;
    static HASHED: std::sync::Mutex<Option<Ids>> = std::sync::Mutex::new(None);
    let known = HASHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .as_ref()
        .and_then(|ids| ids.get(files).cloned());
    if let Some(id) = known {
        return Ok(id);
    }
    let id = file_id(files, true)?;
    HASHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(Default::default)
        .insert(files.to_vec(), id.clone());
    Ok(id)
}

/// Whether `backend` computes correctly in `precision`, checked in a child process (a
/// device's float type is fixed at its first use in a process).
pub fn computes_in(backend: BackendName, precision: Precision) -> bool {
    std::env::current_exe()
        .and_then(|exe| {
            std::process::Command::new(exe)
                .args(["probe", backend.name(), precision.name()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
        })
        .is_ok_and(|status| status.success())
}
