//! Figure 2: the distance between each method and its RLHF counterpart as weight decay α
//! grows. The whole α grid trains as one `[A, K]` batch per model.

use super::constraint_gap::{
    ACCEPTS, ConstraintGapFile, ConstraintGapSpec, push_counterpart_note, push_distances,
};
use super::{Accepts, Identity, Kind, RunContext, Validation};
use crate::bandit::training::Record;
use crate::error::{ConfigError, WorkbenchError};
use crate::results::Results;

/// `kind = "weight_decay_sweep"`: the checked Section 3.3 spec with one α grid.
#[derive(Debug, Clone)]
pub struct WeightDecaySweep(ConstraintGapSpec);

impl Kind for WeightDecaySweep {
    const NAME: &'static str = "weight_decay_sweep";
    const DESCRIPTION: &'static str = "Figure 2: method vs RLHF counterpart distance over a weight-decay grid (constraints.weight_decay.alpha = [..])";
    const ACCEPTS: Accepts = ACCEPTS;
    const SEEDS: &'static [&'static str] = &["data.seed"];
    const SMOKE: &'static [&'static str] = &["optimizer.epochs=60"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        (
            "<m>/max_distance",
            "the largest distance to the RLHF counterpart over the α grid",
        ),
        ("<m>/alpha_at_max", "the α where it is largest"),
    ];
    type File = ConstraintGapFile;

    fn validate(file: &ConstraintGapFile, check: &Validation<'_>) -> Result<Self, ConfigError> {
        let spec = file.validate(check.catalogue)?;
        if spec.weight_decay.is_none() && spec.decoupled_weight_decay.is_none() {
            return Err(ConfigError::new(
                "constraints.weight_decay.alpha",
                "",
                "a weight_decay_sweep needs an alpha grid (or constraints.decoupled_weight_decay.alpha)",
            ));
        }
        let grids = [&spec.weight_decay, &spec.decoupled_weight_decay]
            .into_iter()
            .flatten()
            .filter(|a| a.len() > 1)
            .count();
        if grids > 1 {
            return Err(ConfigError::new(
                "constraints",
                "",
                "sweep one alpha grid at a time (weight_decay or decoupled_weight_decay)",
            ));
        }
        Ok(Self(spec))
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        run(&self.0, identity, context)
    }

    fn memory_estimate(&self, _: crate::backend::BackendName, _: crate::backend::Precision) -> u64 {
        self.0.memory_estimate()
    }
}

/// The swept α: the grid with more than one value, else the single one.
fn alpha_grid(spec: &ConstraintGapSpec) -> Vec<f64> {
    [&spec.weight_decay, &spec.decoupled_weight_decay]
        .into_iter()
        .flatten()
        .max_by_key(|a| a.len())
        .cloned()
        .unwrap_or_default()
}

fn run(
    spec: &ConstraintGapSpec,
    identity: &Identity,
    context: &RunContext,
) -> Result<Results, WorkbenchError> {
    let alpha = alpha_grid(spec);
    let (variants, k) = (alpha.len(), spec.problem.actions());
    let mut results = identity.results(context);
    results.vector("alpha", alpha.clone());
    let runs = spec.train_all(identity, variants, Record::Final, context)?;
    for (method, (trained, counterpart)) in spec.methods.iter().zip(runs) {
        let label = method.label();
        push_counterpart_note(&mut results, method.as_ref());
        results.push(
            format!("{label}/policy"),
            &[variants, k],
            trained.last().to_vec(),
        );
        let Some(counterpart) = counterpart else {
            continue;
        };
        let rows: Vec<(&[f64], &[f64])> = (0..variants)
            .map(|v| (trained.policy(0, v), counterpart.policy(0, v)))
            .collect();
        push_distances(&mut results, &format!("{label}/"), spec.distance, &rows);
        let distance = |v: usize| spec.distance.between(rows[v].0, rows[v].1);
        let peak = crate::analysis::argmax(variants, distance);
        results.summary(format!("{label}/max_distance"), distance(peak));
        results.summary(format!("{label}/alpha_at_max"), alpha[peak]);
        results.push(
            format!("{label}/rlhf_policy"),
            &[variants, k],
            counterpart.last().to_vec(),
        );
    }
    Ok(results)
}
