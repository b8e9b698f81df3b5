//! `workbench bench`: Figure 2 end to end (the α grid batched versus a loop over α), or
//! the transformer's training throughput (tokens/s) for a `sequence_dpo` file.

use crate::cli::RunOptions;
use crate::commands::{context, load};
use std::path::Path;
use std::time::Instant;
use workbench::Registry;

/// Benchmarks `file` according to its kind.
pub fn bench(
    registry: &Registry,
    file: &Path,
    repeats: usize,
    options: &RunOptions,
) -> Result<(), String> {
    let experiment = load(registry, file, &options.set)?;
    match experiment.kind() {
        "sequence_dpo" => throughput(registry, file, repeats, options),
        _ => sweep(registry, file, repeats, options),
    }
}

/// Pairs per throughput run: ten steps of 64 per phase.
const THROUGHPUT_PAIRS: usize = 640;

/// Training tokens/s of the file's transformer: SFT and DPO, one epoch each over
/// [`THROUGHPUT_PAIRS`] synthetic pairs, median over `repeats` runs.
fn throughput(
    registry: &Registry,
    file: &Path,
    repeats: usize,
    options: &RunOptions,
) -> Result<(), String> {
    let mut set = options.set.clone();
    set.extend([
        "sft.epochs=1".to_string(),
        "dpo.epochs=1".to_string(),
        format!("data.pairs={THROUGHPUT_PAIRS}"),
        "analysis.q=10.0".to_string(),
    ]);
    let experiment = load(registry, file, &set)?;
    let context = workbench::experiments::RunContext {
        progress: workbench::progress::Progress::hidden(),
        ..context(file, experiment.as_ref(), options)?
    };
    let (mut sft, mut dpo) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let results = experiment.run(&context).map_err(|e| e.to_string())?;
        let scalar = |path: &str| {
            results
                .get(path)
                .map(|d| d.values[0])
                .ok_or_else(|| format!("{}: results lack {path}", experiment.name()))
        };
        sft.push(scalar("sft/tokens_per_second")?);
        dpo.push(scalar("dpo/tokens_per_second")?);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{} transformer on {} ({}), {THROUGHPUT_PAIRS} pairs, batch 64, median of {repeats}:",
        experiment.name(),
        context.backend,
        context.dtype
    );
    println!("  SFT training : {:10.0} response tokens/s", median(sft));
    println!("  DPO training : {:10.0} response tokens/s", median(dpo));
    Ok(())
}

/// Times the sweep in `file` batched and as a loop over its α grid; prints medians.
fn sweep(
    registry: &Registry,
    file: &Path,
    repeats: usize,
    options: &RunOptions,
) -> Result<(), String> {
    let batched = load(registry, file, &options.set)?;
    let context = context(file, batched.as_ref(), options)?;
    let config: toml::Table = batched.config_toml().parse().map_err(|e| format!("{e}"))?;
    let grid: Vec<f64> = config
        .get("constraints")
        .and_then(|c| c.get("weight_decay"))
        .and_then(|w| w.get("alpha"))
        .and_then(|a| a.as_array())
        .ok_or_else(|| {
            format!(
                "{}: constraints.weight_decay.alpha: bench needs an alpha grid",
                file.display()
            )
        })?
        .iter()
        .filter_map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
        .collect();
    let looped = grid
        .iter()
        .map(|alpha| {
            let mut set = options.set.clone();
            set.push(format!("constraints.weight_decay.alpha=[{alpha:?}]"));
            load(registry, file, &set)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let quiet = workbench::experiments::RunContext {
        progress: workbench::progress::Progress::hidden(),
        ..context
    };
    let time = |f: &dyn Fn() -> Result<(), String>| -> Result<f64, String> {
        let mut samples = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = Instant::now();
            f()?;
            samples.push(start.elapsed().as_secs_f64());
        }
        samples.sort_by(f64::total_cmp);
        Ok(samples[samples.len() / 2])
    };
    let run_batched = || batched.run(&quiet).map(drop).map_err(|e| e.to_string());
    let run_looped = || {
        looped
            .iter()
            .try_for_each(|e| e.run(&quiet).map(drop).map_err(|e| e.to_string()))
    };
    let t_batched = time(&run_batched)?;
    let t_looped = time(&run_looped)?;
    println!(
        "{} on {} ({}), {} α values, median of {repeats}:",
        batched.name(),
        quiet.backend,
        quiet.dtype,
        grid.len()
    );
    println!("  batched [A, K] : {t_batched:8.3} s");
    println!("  loop over α    : {t_looped:8.3} s");
    println!("  speed-up       : {:8.2}x", t_looped / t_batched);
    Ok(())
}
