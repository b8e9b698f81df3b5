//! The training loop shared by every bandit experiment: one batched policy, one
//! objective, any constraints, burn's Adam.

use crate::bandit::BanditObjective;
use crate::constraints::Constraint;
use crate::optim::OptimizerSpec;
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

/// Trains `policy` on `objective` for `epochs` epochs (fewer if a constraint says so).
pub fn train<P: BanditPolicy>(
    mut policy: P,
    objective: &dyn BanditObjective,
    constraints: &[Box<dyn Constraint>],
    optimizer_spec: &OptimizerSpec,
    epochs: usize,
    record: Record,
    progress: &dyn Observer,
) -> Result<Trajectory, NonFinite> {
    let epochs = constraints
        .iter()
        .filter_map(|c| c.epoch_budget())
        .fold(epochs, usize::min);
    // Kept to find the first bad epoch by a replay when only the end was checked.
    let initial = (record == Record::Final).then(|| policy.clone());
    let (lr, mut optimizer) = (optimizer_spec.lr(), optimizer_spec.build());
    let [_, actions] = policy.log_probs().dims();
    let (mut snapshots, mut parameters) = (Vec::new(), Vec::new());
    if record == Record::EveryEpoch {
        snapshots.push(probabilities(&policy));
        parameters.push(to_vec(policy.parameters().detach()));
    }
    for epoch in 0..epochs {
        for step in 0..objective.steps_per_epoch() {
            let mut loss = objective.loss(policy.log_probs(), epoch, step);
            for penalty in constraints
                .iter()
                .filter_map(|c| c.penalty(policy.parameters()))
            {
                loss = loss + penalty;
            }
            let grads = GradientsParams::from_grads(loss.sum().backward(), &policy);
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
                epochs,
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

/// π_θ of every variant as `f64`, row-major `[V·K]`.
fn probabilities<P: BanditPolicy>(policy: &P) -> Vec<f64> {
    to_vec(policy.log_probs().detach().exp())
}
