//! The training loop shared by every bandit experiment: one batched policy, one
//! objective, any constraints, burn's Adam or gradient descent, with the optimiser's
//! step rules (learning-rate schedule, clipping of each variant's gradient, accumulation).

use crate::bandit::BanditObjective;
use crate::constraints::Constraint;
use crate::optim::{OptimizerSpec, clip};
use crate::policy::BanditPolicy;
use crate::progress::{Observer, Silent};
use crate::tensors::to_vec;
use burn::optim::GradientsParams;

/// Which policies to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Only the final policies.
    Final,
    /// The policies after every epoch, starting with the initial ones (epoch 0).
    EveryEpoch,
}

/// The recorded policies of a batched run.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Number of actions K.
    pub actions: usize,
    /// One `[V·K]` row-major snapshot of π per recorded epoch.
    pub snapshots: Vec<Vec<f64>>,
    /// The parameters θ at the same epochs, `[V·P]` row-major each.
    pub parameters: Vec<Vec<f64>>,
}

impl Trajectory {
    /// The last snapshot.
    pub fn last(&self) -> &[f64] {
        self.snapshots.last().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Policy of `variant` in `snapshot`.
    pub fn policy(&self, snapshot: usize, variant: usize) -> &[f64] {
        let k = self.actions;
        &self.snapshots[snapshot][variant * k..(variant + 1) * k]
    }
}

/// Training failed: a non-finite value first seen at `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFinite {
    /// The first epoch whose policy was not finite.
    pub epoch: usize,
}

/// Trains `policy` on `objective` for `epochs` epochs (fewer if a constraint says so; the
/// learning-rate schedule spans all `epochs`, as a schedule does when training stops early).
pub fn train<P: BanditPolicy>(
    mut policy: P,
    objective: &dyn BanditObjective,
    constraints: &[Box<dyn Constraint>],
    optimizer_spec: &OptimizerSpec,
    epochs: usize,
    record: Record,
    progress: &dyn Observer,
) -> Result<Trajectory, NonFinite> {
    let epochs_planned = epochs;
    let epochs = constraints
        .iter()
        .filter_map(|c| c.epoch_budget())
        .fold(epochs, usize::min);
    // Kept to find the first bad epoch by a replay when only the end was checked.
    let initial = (record == Record::Final).then(|| policy.clone());
    let (lr, mut optimizer) = (optimizer_spec.lr(), optimizer_spec.build());
    let rules = &optimizer_spec.rules;
    let [variants, actions] = policy.log_probs().dims();
    let batches: Vec<usize> = (0..objective.steps_per_epoch()).collect();
    let total = epochs_planned * batches.len().div_ceil(rules.accumulation);
    let mut update = 0;
    let (mut snapshots, mut parameters) = (Vec::new(), Vec::new());
    if record == Record::EveryEpoch {
        snapshots.push(probabilities(&policy));
        parameters.push(to_vec(policy.parameters().detach()));
    }
    for epoch in 0..epochs {
        for group in batches.chunks(rules.accumulation) {
            let mut loss = accumulated_loss(&policy, objective, epoch, group);
            for penalty in constraints
                .iter()
                .filter_map(|c| c.penalty(policy.parameters()))
            {
                loss = loss + penalty;
            }
            let mut grads = GradientsParams::from_grads(loss.sum().backward(), &policy);
            if rules.clips() {
                let norms = clip::global_norms(&policy, &grads, variants, 1);
                let factors: Vec<f64> = norms.iter().map(|&n| rules.clip_factor(n)).collect();
                clip::scale(&policy, &mut grads, &factors);
            }
            let lr = lr * rules.schedule.factor(update, total);
            update += 1;
            policy = optimizer.step(lr, policy, grads);
            for constraint in constraints {
                policy = policy.map_parameters(&|theta| constraint.after_step(theta, lr));
            }
        }
        if record == Record::EveryEpoch {
            let snapshot = probabilities(&policy);
            if snapshot.iter().any(|p| !p.is_finite()) {
                return Err(NonFinite { epoch: epoch + 1 });
            }
            snapshots.push(snapshot);
            parameters.push(to_vec(policy.parameters().detach()));
        }
        progress.advance(1);
    }
    if record == Record::Final {
        snapshots.push(probabilities(&policy));
        parameters.push(to_vec(policy.parameters().detach()));
    }
    if snapshots.iter().flatten().any(|p| !p.is_finite()) {
        // Training is deterministic: a replay that checks every epoch finds the first.
        let replay = initial.map(|start| {
            train(
                start,
                objective,
                constraints,
                optimizer_spec,
                epochs_planned,
                Record::EveryEpoch,
                &Silent,
            )
        });
        return Err(match replay {
            Some(Err(first)) => first,
            _ => NonFinite { epoch: epochs },
        });
    }
    Ok(Trajectory {
        actions,
        snapshots,
        parameters,
    })
}

/// The loss of one step on the batches `group` of `epoch`: with one batch its loss, with
/// several (gradient accumulation) their losses weighted by their share of the pairs, so
/// that the step is the step on their union.
fn accumulated_loss<P: BanditPolicy>(
    policy: &P,
    objective: &dyn BanditObjective,
    epoch: usize,
    group: &[usize],
) -> burn::tensor::Tensor<1> {
    if let [step] = group {
        return objective.loss(policy.log_probs(), epoch, *step);
    }
    let sizes: Vec<usize> = group
        .iter()
        .map(|&step| objective.batch_pairs(epoch, step))
        .collect();
    let pairs: usize = sizes.iter().sum();
    group
        .iter()
        .zip(&sizes)
        .map(|(&step, &size)| {
            objective
                .loss(policy.log_probs(), epoch, step)
                .mul_scalar(size as f64 / pairs as f64)
        })
        .reduce(|a, b| a + b)
        .expect("a step has at least one batch")
}

/// π_θ of every variant as `f64`, row-major `[V·K]`.
fn probabilities<P: BanditPolicy>(policy: &P) -> Vec<f64> {
    to_vec(policy.log_probs().detach().exp())
}
