//! Figure 3: the distance between each method and its RLHF counterpart after every epoch
//! (early stopping as an epoch budget), against the counterpart at the same budget and
//! against the counterpart trained for all epochs.

use super::constraint_gap::{
    ACCEPTS, ConstraintGapFile, ConstraintGapSpec, push_counterpart_note, push_distances,
};
use super::{Accepts, Identity, Kind, RunContext, Validation};
use crate::bandit::training::Record;
use crate::error::{ConfigError, WorkbenchError};
use crate::results::Results;

/// `kind = "early_stopping"`: the checked Section 3.3 spec with one α.
#[derive(Debug, Clone)]
pub struct EarlyStopping(ConstraintGapSpec);

impl Kind for EarlyStopping {
    const NAME: &'static str = "early_stopping";
    const DESCRIPTION: &'static str = "Figure 3: method vs RLHF counterpart distance after every epoch (same budget and converged)";
    const ACCEPTS: Accepts = ACCEPTS;
    const SEEDS: &'static [&'static str] = &["data.seed"];
    const SMOKE: &'static [&'static str] = &["optimizer.epochs=40"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        (
            "<m>/max_distance",
            "the largest same-budget distance over the epochs",
        ),
        ("<m>/epoch_at_max", "the epoch where it is largest"),
        (
            "<m>/final_distance",
            "the same-budget distance after the last epoch",
        ),
    ];
    type File = ConstraintGapFile;

    fn validate(file: &ConstraintGapFile, check: &Validation<'_>) -> Result<Self, ConfigError> {
        let spec = file.validate(check.catalogue)?;
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
                ));
            }
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

fn run(
    spec: &ConstraintGapSpec,
    identity: &Identity,
    context: &RunContext,
) -> Result<Results, WorkbenchError> {
    let k = spec.problem.actions();
    let mut results = identity.results(context);
    let mut epochs = 0;
    let runs = spec.train_all(identity, 1, Record::EveryEpoch, context)?;
    for (method, (trained, counterpart)) in spec.methods.iter().zip(runs) {
        let label = method.label();
        push_counterpart_note(&mut results, method.as_ref());
        epochs = trained.snapshots.len();
        results.push(
            format!("{label}/policy"),
            &[epochs, k],
            trained.snapshots.concat(),
        );
        let Some(counterpart) = counterpart else {
            continue;
        };
        let same_budget: Vec<(&[f64], &[f64])> = (0..epochs)
            .map(|e| (trained.policy(e, 0), counterpart.policy(e, 0)))
            .collect();
        push_distances(
            &mut results,
            &format!("{label}/"),
            spec.distance,
            &same_budget,
        );
        let distance = |e: usize| spec.distance.between(same_budget[e].0, same_budget[e].1);
        let peak = crate::analysis::argmax(epochs, distance);
        results.summary(format!("{label}/max_distance"), distance(peak));
        results.summary(format!("{label}/epoch_at_max"), peak as f64);
        results.summary(format!("{label}/final_distance"), distance(epochs - 1));
        let converged = counterpart.last();
        let to_converged = same_budget
            .iter()
            .map(|(m, _)| spec.distance.between(m, converged))
            .collect();
        results.vector(format!("{label}/distance_converged"), to_converged);
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
