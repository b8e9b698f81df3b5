//! `workbench bench`: Figure 2 end to end, the α grid batched versus a loop over α.

use crate::cli::RunOptions;
use crate::commands::{context, load};
use std::path::Path;
use std::time::Instant;
use workbench::Registry;

/// Times the sweep in `file` batched and as a loop over its α grid; prints medians.
pub fn bench(
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
        for _ in 0..repeats.max(1) {
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
