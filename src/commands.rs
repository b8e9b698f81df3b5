//! `run`, `validate`, `list`, `probe` and the conformance child.

use crate::error::{CliError, Result};
use crate::session::{RunOptions, computes_in, context, load, load_sized, write_results};
use backends::{Availability, BackendName, Precision};
use clap::ValueEnum;
use std::path::Path;
use workbench::experiments::{Accepts, Policies};
use workbench::{Registry, constraints};

/// Sections of `workbench list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    /// Pairwise losses.
    Losses,
    /// Policies.
    Policies,
    /// Constraints.
    Constraints,
    /// Experiment kinds.
    Kinds,
    /// Backends.
    Backends,
}

/// `workbench run`.
pub fn run(registry: &Registry, file: &Path, out: &Path, options: &RunOptions) -> Result<()> {
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

/// `workbench validate`.
pub fn validate(
    registry: &Registry,
    files: &[std::path::PathBuf],
    set: &[String],
    show: bool,
) -> Result<()> {
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
        n => Err(CliError::from(format!(
            "{n} of {} files invalid",
            files.len()
        ))),
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
) -> Result<()> {
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

/// `workbench probe BACKEND DTYPE` (hidden): exit 0 if the device works in that dtype.
pub fn probe(backend: &str, dtype: &str) -> Result<()> {
    let backend = BackendName::from_name(backend)?;
    let precision = Precision::from_name(dtype)?;
    backends::device(backend, precision)?;
    Ok(())
}
