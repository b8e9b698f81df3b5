//! `workbench bench`: times any experiment file end to end (median of repeated runs) and
//! reports the throughputs its results record (the `*_tokens_per_second` attributes); a file with an α
//! grid is also timed as a plain loop over α, to show what batching the sweep buys.

use crate::error::{CliError, Result};
use crate::session::{RunOptions, context, load_sized};
use std::path::Path;
use std::time::Instant;
use workbench::Registry;

/// Benchmarks `file` (at its kind's smoke size with `--smoke`).
pub fn bench(registry: &Registry, file: &Path, repeats: usize, options: &RunOptions) -> Result<()> {
    let experiment = load_sized(registry, file, &options.set, options.smoke)?;
    match alpha_grid(experiment.config_toml()) {
        Some(grid) if grid.len() > 1 => sweep(registry, file, &grid, repeats, options),
        _ => whole_runs(registry, file, repeats, options),
    }
}

/// The weight-decay grid of a resolved configuration, if it has one.
fn alpha_grid(config_toml: &str) -> Option<Vec<f64>> {
    let config: toml::Table = config_toml.parse().ok()?;
    let grid = config
        .get("constraints")?
        .get("weight_decay")?
        .get("alpha")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
        .collect();
    Some(grid)
}

/// The median of `samples`.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs `file` `repeats` times: median wall time, and the median of every throughput
/// the results record.
fn whole_runs(
    registry: &Registry,
    file: &Path,
    repeats: usize,
    options: &RunOptions,
) -> Result<()> {
    let experiment = load_sized(registry, file, &options.set, options.smoke)?;
    let context = workbench::experiments::RunContext {
        progress: crate::bars::warnings_only(),
        ..context(file, experiment.as_ref(), options)?
    };
    let mut times = Vec::new();
    let mut rates: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for _ in 0..repeats {
        let start = Instant::now();
        let results = experiment.run(&context)?;
        times.push(start.elapsed().as_secs_f64());
        for (name, value) in &results.notes {
            if let (Some(phase), Ok(rate)) = (
                name.strip_suffix("_tokens_per_second"),
                value.parse::<f64>(),
            ) {
                rates.entry(phase.to_string()).or_default().push(rate);
            }
        }
    }
    println!(
        "{} on {} ({}), median of {repeats}:",
        experiment.name(),
        context.backend,
        context.precision
    );
    println!("  whole run      : {:8.3} s", median(times));
    for (phase, values) in rates {
        println!("  {phase:<15}: {:8.0} response tokens/s", median(values));
    }
    if let Some(peak) = workbench::resources::peak_rss_bytes() {
        println!("  peak RSS       : {:8.0} MB", peak as f64 / 1e6);
    }
    let estimate = experiment.memory_estimate(context.backend, context.precision);
    if estimate > 0 {
        println!("  memory estimate: {:8.0} MB", estimate as f64 / 1e6);
    }
    Ok(())
}

/// Times the sweep in `file` batched and as a loop over its α grid; prints medians.
fn sweep(
    registry: &Registry,
    file: &Path,
    grid: &[f64],
    repeats: usize,
    options: &RunOptions,
) -> Result<()> {
    let batched = load_sized(registry, file, &options.set, options.smoke)?;
    let context = context(file, batched.as_ref(), options)?;
    let looped = grid
        .iter()
        .map(|alpha| {
            let mut set = options.set.clone();
            set.push(format!("constraints.weight_decay.alpha=[{alpha:?}]"));
            load_sized(registry, file, &set, options.smoke)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let quiet = workbench::experiments::RunContext {
        progress: crate::bars::warnings_only(),
        ..context
    };
    let time = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
        let mut samples = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = Instant::now();
            f()?;
            samples.push(start.elapsed().as_secs_f64());
        }
        Ok(median(samples))
    };
    let run_batched = || batched.run(&quiet).map(drop).map_err(CliError::from);
    let run_looped = || {
        looped
            .iter()
            .try_for_each(|e| e.run(&quiet).map(drop).map_err(CliError::from))
    };
    let t_batched = time(&run_batched)?;
    let t_looped = time(&run_looped)?;
    println!(
        "{} on {} ({}), {} α values, median of {repeats}:",
        batched.name(),
        quiet.backend,
        quiet.precision,
        grid.len()
    );
    println!("  batched [A, K] : {t_batched:8.3} s");
    println!("  loop over α    : {t_looped:8.3} s");
    println!("  speed-up       : {:8.2}x", t_looped / t_batched);
    Ok(())
}
