//! `run`, `validate`, `list`, `probe` and the conformance child.

use crate::error::{CliError, Result};
use crate::session::{
    RunOptions, computes_in, context, load_runs, load_runs_keeping, open, run_id, write_results,
};
use crate::sweep::SweepOptions;
use backends::{Availability, BackendName, BackendSupport, Precision};
use clap::ValueEnum;
use std::path::Path;
use workbench::experiments::{Accepts, Policies};
use workbench::loader::{Keep, Opened, Runs};
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

/// `workbench run`: one experiment, or every point of a sweep.
pub fn run(
    registry: &Registry,
    file: &Path,
    out: &Path,
    sweep: &SweepOptions,
    options: &RunOptions,
) -> Result<()> {
    let experiment = match open(registry, file, &options.set, options.smoke)? {
        Opened::Single(experiment) => experiment,
        Opened::Sweep(source) => return crate::sweep::run(file, &source, out, sweep, options),
    };
    if sweep.points.is_some() {
        return Err(CliError::from(format!(
            "--point: {} has no [sweep]; it is one run",
            file.display()
        )));
    }
    if let Some(expected) = &sweep.expect {
        crate::sweep::expect_id(file, expected, &run_id(experiment.as_ref())?)?;
    }
    let mut context = context(file, experiment.as_ref(), options)?;
    context.reference_cache = crate::session::reference_cache(out, options)?;
    context.training_state = crate::session::training_state(out)?;
    let started = std::time::Instant::now();
    let path = write_results(experiment.as_ref(), &context, out)?;
    eprintln!(
        "{}: wrote {} ({} on {}, {:.2} s)",
        experiment.name(),
        path.display(),
        context.precision,
        context.backend,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `workbench submit FILE --slurm`: the file's points (or its one run) as a Slurm job array.
pub fn submit(
    registry: &Registry,
    file: &Path,
    out: &Path,
    report: &Path,
    force: bool,
    slurm: &crate::slurm::SlurmOptions,
    options: &RunOptions,
) -> Result<()> {
    let plan = load_runs(registry, file, &options.set, options.smoke)?;
    let name = match &plan {
        Runs::Single(experiment) => experiment.name().to_string(),
        Runs::Sweep(sweep) => sweep.name.clone(),
    };
    crate::slurm::submit(&crate::slurm::Request {
        name,
        plans: vec![(file.to_path_buf(), plan)],
        out,
        report,
        force,
        options,
        slurm,
    })
}

/// `; memory estimate ...` for an experiment that estimates its memory: on the CPU
/// default (flex, f64) and on a GPU in f32 (one gradient set a step there), so that a
/// file meant for a GPU says before it is submitted how much it needs.
fn memory_note(experiment: &dyn workbench::experiments::Experiment) -> String {
    use backends::{BackendName, Precision};
    let gib = |backend, precision| {
        experiment.memory_estimate(backend, precision) as f64 / (1u64 << 30) as f64
    };
    if experiment.memory_estimate(BackendName::Flex, Precision::F64) == 0 {
        return String::new();
    }
    format!(
        "; memory estimate {:.2} GiB on flex f64, {:.2} GiB on cuda f32",
        gib(BackendName::Flex, Precision::F64),
        gib(BackendName::Cuda, Precision::F32)
    )
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
        // A sweep's points are all checked, and only the first is kept (a sweep may have
        // a million).
        match load_runs_keeping(registry, file, set, false, Keep::First) {
            Ok(Runs::Single(experiment)) => {
                println!(
                    "{}: ok ({}, kind {}){}",
                    file.display(),
                    experiment.name(),
                    experiment.kind(),
                    memory_note(experiment.as_ref())
                );
                if show {
                    println!("{}", experiment.config_toml());
                }
            }
            Ok(Runs::Sweep(plan)) => {
                println!(
                    "{}: ok ({}, kind {}, sweep of {} points over {})",
                    file.display(),
                    plan.name,
                    plan.kind,
                    plan.checked,
                    swept(&plan)
                );
                if show {
                    for point in plan.sweep.points() {
                        println!("  point {}: {}", point.index, point.describe());
                    }
                    if let Some((point, experiment)) = plan.points.first() {
                        println!("\n# point {}, resolved", point.index);
                        println!("{}", experiment.config_toml());
                    }
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

/// `dpo.lr, dpo.beta and seeds (data.seed, model.seed)`.
fn swept(plan: &workbench::loader::ResolvedSweep) -> String {
    let mut parts: Vec<String> = plan.sweep.keys().iter().map(|k| k.to_string()).collect();
    if !plan.sweep.seed_axes.is_empty() {
        let axes: Vec<String> = plan
            .sweep
            .seed_axes
            .iter()
            .map(|(key, seeds)| format!("{key} × {}", seeds.len()))
            .collect();
        parts.push(format!(
            "{} replicates ({})",
            plan.sweep.seeds.len(),
            axes.join(", ")
        ));
    } else if !plan.sweep.seeds.is_empty() {
        parts.push(format!(
            "{} seeds ({})",
            plan.sweep.seeds.len(),
            plan.seed_keys.join(", ")
        ));
    }
    parts.join(", ")
}

/// `workbench list`.
pub fn list(registry: &Registry, what: Option<ListWhat>) {
    let show = |section: ListWhat| what.is_none_or(|w| w == section);
    if show(ListWhat::Losses) {
        println!("losses (methods = [{{ loss = \"NAME\", ...parameters }}]):");
        for (name, entry) in registry.losses() {
            println!("  {name:<24} {}", entry.description);
            println!("  {:<24} parameters: {}", "", entry.parameters);
            println!("  {:<24} source: {}", "", entry.source);
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
                    let precisions: Vec<&str> = Precision::ALL
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
    backend: &[BackendName],
    dtype: Option<Precision>,
) -> Result<()> {
    let &[backend] = backend else {
        return Err("conformance --emit needs exactly one --backend".into());
    };
    let precision = dtype.unwrap_or_else(|| backend.default_precision());
    crate::conformance::emit(registry, experiments, backend, precision)
}

/// `workbench probe BACKEND DTYPE` (hidden): exit 0 if the device works in that dtype.
pub fn probe(backend: BackendName, precision: Precision) -> Result<()> {
    backends::device(backend, precision)?;
    Ok(())
}
