//! Running one batch of a sweep's points: reuse what is up to date, run the rest together,
//! write each point's file, or an `.error` file for each point of a batch that failed.

use super::{Outcome, point_stem};
use crate::error::{CliError, Result};
use crate::session::{RunOptions, context, up_to_date, write_computed};
use indicatif::MultiProgress;
use std::path::Path;
use workbench::loader::ResolvedSweep;
use workbench::results::attr;

/// What running points needs: where they come from, where they go, how to log.
pub struct Job<'a> {
    /// The experiment file.
    pub file: &'a Path,
    /// Its sweep.
    pub plan: &'a ResolvedSweep,
    /// The results folder (whose reference-model cache the points share).
    pub out: &'a Path,
    /// The sweep's folder.
    pub dir: &'a Path,
    /// Re-run points that are up to date.
    pub force: bool,
    /// Backend, dtype, quiet.
    pub options: &'a RunOptions,
    /// The shared progress display.
    pub multi: &'a MultiProgress,
    /// Log lines (above the bars).
    pub log: &'a (dyn Fn(String) + Sync),
}

impl Job<'_> {
    /// Runs one batch of points (see `ResolvedSweep::batches`), reusing those up to date; a failure
    /// fails the points of the batch that ran, each with an `.error` file.
    pub fn run(&self, group: &[usize]) -> Vec<Outcome> {
        let plan = self.plan;
        let total = plan.total;
        let stem = |i: usize| point_stem(i, total);
        let label = match group {
            [one] => format!("{} point {one}", plan.name),
            [first, .., last] => format!("{} points {first}–{last}", plan.name),
            [] => return Vec::new(),
        };
        let mut outcomes = vec![Outcome::Failed; group.len()];
        let mut reused = Vec::new();
        let attempt = || -> Result<Vec<(usize, Outcome)>> {
            let first = plan.at(group[0]).1.as_ref();
            let mut context = context(self.file, first, self.options)?;
            let (mut done, mut todo) = (Vec::new(), Vec::new());
            for (slot, &index) in group.iter().enumerate() {
                let target = self.dir.join(format!("{}.h5", stem(index)));
                if !self.force && up_to_date(&target, plan.at(index).1.as_ref(), &context)? {
                    reused.push(slot);
                } else {
                    todo.push((slot, index));
                }
            }
            let Some(&(_, lead)) = todo.first() else {
                return Ok(done);
            };
            for &(_, index) in &todo {
                crate::panics::injected(&format!("{}#{index}", plan.name));
            }
            context.progress = crate::bars::within(self.multi, &label);
            context.reference_cache = crate::session::reference_cache(self.out, self.options)?;
            context.training_state = crate::session::training_state(self.dir)?;
            let started = std::time::Instant::now();
            let others: Vec<&dyn workbench::experiments::Experiment> = todo[1..]
                .iter()
                .map(|&(_, i)| plan.at(i).1.as_ref())
                .collect();
            workbench::results::prepare_dir(self.dir)?;
            let inputs = crate::session::inputs_id(plan.at(lead).1.as_ref())?;
            let computed =
                crate::panics::contained(&label, || plan.at(lead).1.run_batch(&others, &context))??;
            let seconds = started.elapsed().as_secs_f64();
            for ((slot, index), results) in todo.iter().copied().zip(computed) {
                let (point, experiment) = plan.at(index);
                let notes = vec![
                    (attr::INPUTS_ID.to_string(), inputs.clone()),
                    (attr::SWEEP_INDEX.to_string(), index.to_string()),
                    (attr::SWEEP_POINT.to_string(), point.to_toml()),
                    (attr::SWEEP_TOML.to_string(), plan.sweep.toml.clone()),
                ];
                let path =
                    write_computed(experiment.as_ref(), results, self.dir, &stem(index), notes)?;
                (self.log)(format!(
                    "{} point {index} ({}): wrote {} ({seconds:.2} s{})",
                    plan.name,
                    point.describe(),
                    path.display(),
                    if todo.len() > 1 {
                        format!(", in a batch of {}", todo.len())
                    } else {
                        String::new()
                    }
                ));
                done.push((slot, Outcome::Ran));
            }
            Ok(done)
        };
        let outcome = crate::panics::contained(&label, attempt)
            .map_err(CliError::from)
            .and_then(|outcome| outcome);
        crate::allocator::release_freed_memory();
        match outcome {
            Ok(done) => {
                let reused = reused.iter().map(|&slot| (slot, Outcome::Reused));
                for (slot, o) in done.into_iter().chain(reused) {
                    outcomes[slot] = o;
                    let _ =
                        std::fs::remove_file(self.dir.join(format!("{}.error", stem(group[slot]))));
                }
            }
            Err(e) => {
                // Every point of the batch not found up to date failed with it; a stale
                // file of such a point no longer stands for it.
                for (slot, &index) in group.iter().enumerate() {
                    if reused.contains(&slot) {
                        outcomes[slot] = Outcome::Reused;
                        continue;
                    }
                    let _ = std::fs::remove_file(self.dir.join(format!("{}.h5", stem(index))));
                    let line = format!("point {index} ({}): {e}", plan.at(index).0.describe());
                    let error_file = self.dir.join(format!("{}.error", stem(index)));
                    if let Err(write) = std::fs::write(&error_file, format!("{line}\n")) {
                        (self.log)(format!("error: {}: {write}", error_file.display()));
                    }
                    (self.log)(format!("error: {}: {line}", plan.name));
                }
            }
        }
        outcomes
    }
}
