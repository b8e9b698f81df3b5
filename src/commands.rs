//! `run`, `validate` and `list`.

use crate::cli::{ListWhat, RunOptions};
use backends::{Availability, BackendName, Precision};
use std::path::Path;
use workbench::config::{self, Override};
use workbench::experiments::{Accepts, Experiment, Policies, RunContext};
use workbench::progress::Progress;
use workbench::{Registry, constraints};

/// Parses every `--set`.
pub fn overrides(set: &[String]) -> Result<Vec<Override>, String> {
    set.iter().map(|s| config::parse_override(s)).collect()
}

/// Loads and validates `file` with `set` overrides.
pub fn load(
    registry: &Registry,
    file: &Path,
    set: &[String],
) -> Result<Box<dyn Experiment>, String> {
    load_sized(registry, file, set, false)
}

/// [`load`], at the kind's smoke size when `smoke`.
pub fn load_sized(
    registry: &Registry,
    file: &Path,
    set: &[String],
    smoke: bool,
) -> Result<Box<dyn Experiment>, String> {
    workbench::loader::load_sized(file, &overrides(set)?, registry, smoke)
        .map_err(|e| e.to_string())
}

/// The run context for `experiment` under `options` (flag/env > file > default).
pub fn context(
    file: &Path,
    experiment: &dyn Experiment,
    options: &RunOptions,
) -> Result<RunContext, String> {
    let backend = match (options.backend.as_deref(), experiment.backend()) {
        (Some(name), _) => BackendName::from_name(name)
            .map_err(|e| format!("--backend (or WORKBENCH_BACKEND): {e}"))?,
        (None, Some(name)) => BackendName::from_name(name)
            .map_err(|e| format!("{}: backend = {name:?}: {e}", file.display()))?,
        (None, None) => BackendName::DEFAULT,
    };
    let precision = match options.dtype.as_deref() {
        Some(name) => Precision::from_name(name).map_err(|e| format!("--dtype: {e}"))?,
        None => backend.default_precision(),
    };
    if !options.ignore_memory_estimate {
        check_memory(file, experiment)?;
    }
    let device = backends::device(backend, precision)?;
    Ok(RunContext {
        device,
        backend: backend.name().to_string(),
        dtype: precision.name().to_string(),
        progress: if options.quiet {
            Progress::hidden()
        } else {
            Progress::terminal()
        },
    })
}

/// `workbench run`.
pub fn run(
    registry: &Registry,
    file: &Path,
    out: &Path,
    options: &RunOptions,
) -> Result<(), String> {
    let experiment = load_sized(registry, file, &options.set, options.smoke)?;
    let context = context(file, experiment.as_ref(), options)?;
    let started = std::time::Instant::now();
    let path = write_results(experiment.as_ref(), &context, out)?;
    eprintln!(
        "{}: wrote {} ({} on {}, {:.2} s)",
        experiment.name(),
        path.display(),
        context.dtype,
        context.backend,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `experiment` and writes its results (with this build's id) into `out`.
pub fn write_results(
    experiment: &dyn Experiment,
    context: &RunContext,
    out: &Path,
) -> Result<std::path::PathBuf, String> {
    // A folder that cannot take the results fails now, not after the training.
    workbench::results::prepare_dir(out).map_err(|e| e.to_string())?;
    let inputs = inputs_id(experiment)?;
    let mut results = crate::panics::contained(experiment.name(), || {
        crate::panics::injected(experiment.name());
        experiment.run(context)
    })?
    .map_err(|e| e.to_string())?;
    results.notes.push(("build_id".into(), build_id()?));
    results.notes.push(("inputs_id".into(), inputs));
    workbench::results::write(&results, out).map_err(|e| e.to_string())
}

/// An id of this executable (a hash of its bytes): results written by another build are
/// not reused.
pub fn build_id() -> Result<String, String> {
    static ID: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot locate this executable: {e}"))?;
        file_id(&[exe], false)
    })
    .clone()
}

/// A hex hash of the contents of `files` (and their paths, with `with_paths`).
fn file_id(files: &[std::path::PathBuf], with_paths: bool) -> Result<String, String> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if with_paths {
            path.hash(&mut hasher);
        }
        bytes.hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

/// Refuses an experiment whose memory estimate exceeds the memory available now.
fn check_memory(file: &Path, experiment: &dyn Experiment) -> Result<(), String> {
    let need = experiment.memory_estimate();
    let Some(available) = workbench::resources::available_bytes() else {
        return Ok(());
    };
    if need > available {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        return Err(format!(
            "{}: experiment `{}` needs about {:.1} GiB of memory by its estimate, {:.1} GiB are available; make it smaller, or pass --ignore-memory-estimate to run anyway",
            file.display(),
            experiment.name(),
            gib(need),
            gib(available)
        ));
    }
    Ok(())
}

/// An id of the experiment's data files (paths and contents): results made from other data
/// are not reused.
pub fn inputs_id(experiment: &dyn Experiment) -> Result<String, String> {
    file_id(&experiment.inputs(), true)
}

/// `workbench validate`.
pub fn validate(
    registry: &Registry,
    files: &[std::path::PathBuf],
    set: &[String],
    show: bool,
) -> Result<(), String> {
    let mut failed = 0;
    for file in files {
        match load(registry, file, set) {
            Ok(experiment) => {
                println!(
                    "{}: ok ({}, kind {})",
                    file.display(),
                    experiment.name(),
                    experiment.kind()
                );
                if show {
                    println!("{}", experiment.config_toml());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} files invalid", files.len())),
    }
}

/// `workbench list`.
pub fn list(registry: &Registry, what: Option<ListWhat>) {
    let show = |section: ListWhat| what.is_none_or(|w| w == section);
    if show(ListWhat::Losses) {
        println!("losses (methods = [{{ loss = \"NAME\", ...parameters }}]):");
        for (name, entry) in registry.losses() {
            println!("  {name:<24} {}", entry.description);
            println!("  {:<24} parameters: {}", "", entry.parameters);
        }
    }
    if show(ListWhat::Policies) {
        println!("policies ([policy] name = \"NAME\", ...parameters):");
        for (name, entry) in registry.policies() {
            let kinds = accepting(registry, |a| match a.policies {
                Policies::Fixed => false,
                Policies::Only(names) => names.contains(&name),
                Policies::Registered => true,
            });
            if !kinds.is_empty() {
                println!("  {name:<24} {}", entry.description);
                println!("  {:<24} parameters: {}", "", entry.parameters);
                println!("  {:<24} kinds: {}", "", kinds.join(", "));
            }
        }
    }
    if show(ListWhat::Constraints) {
        println!("constraints ([constraints.NAME]):");
        for (name, description) in constraints::CONSTRAINTS {
            let kinds = accepting(registry, |a| a.constraints.contains(&name));
            if !kinds.is_empty() {
                println!("  {name:<24} {description}");
                println!("  {:<24} kinds: {}", "", kinds.join(", "));
            }
        }
    }
    if show(ListWhat::Kinds) {
        println!("experiment kinds (kind = ...):");
        for kind in registry.kinds() {
            println!("  {:<24} {}", kind.name(), kind.description());
            let names: Vec<&str> = kind.summaries().iter().map(|(name, _)| *name).collect();
            println!("  {:<24} summary/: {}", "", names.join(", "));
        }
    }
    if show(ListWhat::Backends) {
        println!("backends (--backend NAME):");
        for backend in BackendName::ALL {
            let default = if backend == BackendName::DEFAULT {
                " (default)"
            } else {
                ""
            };
            let status = match backend.availability() {
                Availability::Usable => {
                    let precisions: Vec<&str> = [Precision::F64, Precision::F32]
                        .into_iter()
                        .filter(|p| backend.supports(*p) && computes_in(backend, *p))
                        .map(|p| p.name())
                        .collect();
                    format!("built in, usable here ({}){default}", precisions.join(", "))
                }
                Availability::NotBuiltIn => {
                    format!("not built in: {}", backend.build_hint())
                }
                Availability::Unusable(why) => format!(
                    "built in, not usable here: {why}; needs {}",
                    backend.runtime_hint()
                ),
            };
            println!("  {:<10} {status}", backend.name());
        }
    }
}

/// The kinds whose [`Accepts`] satisfies `test`.
fn accepting(registry: &Registry, test: impl Fn(Accepts) -> bool) -> Vec<&'static str> {
    registry
        .kinds()
        .filter(|kind| test(kind.accepts()))
        .map(|kind| kind.name())
        .collect()
}

/// `workbench conformance --emit`: the cases on one backend and dtype, as JSON.
pub fn emit_conformance(
    registry: &Registry,
    experiments: &Path,
    backend: &[String],
    dtype: Option<&str>,
) -> Result<(), String> {
    let [name] = backend else {
        return Err("conformance --emit needs exactly one --backend".into());
    };
    let backend = BackendName::from_name(name)?;
    let precision = match dtype {
        Some(name) => Precision::from_name(name)?,
        None => backend.default_precision(),
    };
    let device = backends::device(backend, precision)?;
    crate::conformance::emit(registry, experiments, &device)
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

/// `workbench probe BACKEND DTYPE` (hidden): exit 0 if the device works in that dtype.
pub fn probe(backend: &str, dtype: &str) -> Result<(), String> {
    let backend = BackendName::from_name(backend)?;
    let precision = Precision::from_name(dtype)?;
    backends::device(backend, precision).map(drop)
}
