//! Figure 3: the distance between each method and its RLHF counterpart after every epoch
//! (early stopping as an epoch budget), against the counterpart at the same budget and
//! against the counterpart trained for all epochs.

use super::constraint_gap::{
    ConstraintGapExperiment, ConstraintGapSpec, prepare_spec, push_counterpart_note, push_distances,
};
use super::{Experiment, ExperimentKind, Identity, RunContext, prepared};
use crate::error::{ConfigError, WorkbenchError};
use crate::registry::Registry;
use crate::results::Results;
use crate::train::Record;
use figment::Figment;

/// `kind = "early_stopping"`.
#[derive(Debug, Clone, Copy)]
pub struct EarlyStopping;

impl ExperimentKind for EarlyStopping {
    fn name(&self) -> &'static str {
        "early_stopping"
    }

    fn description(&self) -> &'static str {
        "Figure 3: method vs RLHF counterpart distance after every epoch (same budget and converged)"
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
        for (key, alpha) in [
            ("constraints.weight_decay.alpha", &spec.weight_decay),
            (
                "constraints.decoupled_weight_decay.alpha",
                &spec.decoupled_weight_decay,
            ),
        ] {
            if let Some(alpha) = alpha.as_ref().filter(|a| a.len() > 1) {
                return Err(ConfigError::new(
                    key,
                    format!("{alpha:?}"),
                    "early_stopping takes one alpha, not a grid",
                )
                .in_file(file));
            }
        }
        Ok(prepared(identity, ConstraintGapExperiment { spec, run }))
    }
}

fn run(
    spec: &ConstraintGapSpec,
    identity: &Identity,
    context: &RunContext,
) -> Result<Results, WorkbenchError> {
    let k = spec.problem.actions();
    let mut results = identity.results(context);
    let mut epochs = 0;
    for method in &spec.methods {
        let (trained, counterpart) =
            spec.train_pair(identity, method, 1, Record::EveryEpoch, context)?;
        let label = method.label();
        push_counterpart_note(&mut results, method.as_ref());
        epochs = trained.snapshots.len();
        let same_budget: Vec<(&[f64], &[f64])> = (0..epochs)
            .map(|e| (trained.policy(e, 0), counterpart.policy(e, 0)))
            .collect();
        push_distances(
            &mut results,
            &format!("{label}/"),
            spec.distance,
            &same_budget,
        );
        let converged = counterpart.last();
        let to_converged = same_budget
            .iter()
            .map(|(m, _)| spec.distance.between(m, converged))
            .collect();
        results.vector(format!("{label}/distance_converged"), to_converged);
        results.push(
            format!("{label}/policy"),
            &[epochs, k],
            trained.snapshots.concat(),
        );
        results.push(
            format!("{label}/rlhf_policy"),
            &[epochs, k],
            counterpart.snapshots.concat(),
        );
    }
    results.vector("epoch", (0..epochs).map(|e| e as f64).collect());
    results.notes.push((
        "distance_converged".into(),
        "distance to the counterpart's final (all-epoch) policy".into(),
    ));
    Ok(results)
}
