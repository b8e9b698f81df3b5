//! Figure 2: the distance between each method and its RLHF counterpart as weight decay α
//! grows. The whole α grid trains as one `[A, K]` batch per model.

use super::constraint_gap::{
    ConstraintGapExperiment, ConstraintGapSpec, prepare_spec, push_counterpart_note, push_distances,
};
use super::{Experiment, ExperimentKind, Identity, RunContext, prepared};
use crate::error::{ConfigError, WorkbenchError};
use crate::registry::Registry;
use crate::results::Results;
use crate::train::Record;
use figment::Figment;

/// `kind = "weight_decay_sweep"`.
#[derive(Debug, Clone, Copy)]
pub struct WeightDecaySweep;

impl ExperimentKind for WeightDecaySweep {
    fn name(&self) -> &'static str {
        "weight_decay_sweep"
    }

    fn description(&self) -> &'static str {
        "Figure 2: method vs RLHF counterpart distance over a weight-decay grid (constraints.weight_decay.alpha = [..])"
    }

    fn accepts(&self) -> super::Accepts {
        super::constraint_gap::ACCEPTS
    }

    fn prepare(
        &self,
        figment: &Figment,
        registry: &Registry,
        file: &str,
    ) -> Result<Box<dyn Experiment>, ConfigError> {
        let (identity, spec) = prepare_spec(figment, registry, file, self.name())?;
        if spec.weight_decay.is_none() && spec.decoupled_weight_decay.is_none() {
            return Err(ConfigError::new(
                "constraints.weight_decay.alpha",
                "",
                "a weight_decay_sweep needs an alpha grid (or constraints.decoupled_weight_decay.alpha)",
            )
            .in_file(file));
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
            )
            .in_file(file));
        }
        Ok(prepared(identity, ConstraintGapExperiment { spec, run }))
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
    results.vector("alpha", alpha);
    for method in &spec.methods {
        let (trained, counterpart) =
            spec.train_pair(identity, method, variants, Record::Final, context)?;
        let label = method.label();
        push_counterpart_note(&mut results, method.as_ref());
        let rows: Vec<(&[f64], &[f64])> = (0..variants)
            .map(|v| (trained.policy(0, v), counterpart.policy(0, v)))
            .collect();
        push_distances(&mut results, &format!("{label}/"), spec.distance, &rows);
        results.push(
            format!("{label}/policy"),
            &[variants, k],
            trained.last().to_vec(),
        );
        results.push(
            format!("{label}/rlhf_policy"),
            &[variants, k],
            counterpart.last().to_vec(),
        );
    }
    Ok(results)
}
