//! What a bandit policy is trained on: a pairwise loss over preference data, or the exact
//! expected RLHF objective. Both return one loss per variant, `[variants]`.

use super::{BanditProblem, LabelledPair, PreferenceData};
use crate::divergence::Divergence;
use crate::losses::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::sync::Arc;

/// A training objective for bandit policies.
pub trait BanditObjective {
    /// Optimiser steps in one epoch.
    fn steps_per_epoch(&self) -> usize;

    /// Loss per variant, `[variants]`, for the policy's `log_probs` `[variants, K]` at the
    /// given epoch and step within it.
    fn loss(&self, log_probs: Tensor<2>, epoch: usize, step: usize) -> Tensor<1>;
}

/// One batch of labelled pairs, on the device.
#[derive(Debug, Clone)]
struct PairBatch {
    chosen: Tensor<1, Int>,
    rejected: Tensor<1, Int>,
    reference_chosen: Tensor<2>,
    reference_rejected: Tensor<2>,
    weight: Tensor<2>,
}

impl PairBatch {
    fn new(pairs: &[LabelledPair], log_pi_ref: &[f64], device: &Device) -> Self {
        let n = pairs.len();
        let ints = |f: fn(&LabelledPair) -> usize| {
            let v: Vec<i64> = pairs.iter().map(|p| f(p) as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        let row = |v: Vec<f64>| Tensor::<2>::from_data(TensorData::new(v, [1, n]), device);
        Self {
            chosen: ints(|p| p.chosen),
            rejected: ints(|p| p.rejected),
            reference_chosen: row(pairs.iter().map(|p| log_pi_ref[p.chosen]).collect()),
            reference_rejected: row(pairs.iter().map(|p| log_pi_ref[p.rejected]).collect()),
            weight: row(pairs.iter().map(|p| p.weight).collect()),
        }
    }
}

/// A pairwise loss averaged over preference data: Σ_pairs weight · loss.
#[derive(Debug)]
pub struct PreferenceObjective {
    loss: Arc<dyn PairwiseLoss>,
    beta: f64,
    data: PreferenceData,
    log_pi_ref: Vec<f64>,
    device: Device,
    /// Built once when every epoch is the same single batch.
    full_batch: Option<PairBatch>,
}

impl PreferenceObjective {
    /// `loss` on `data` for `problem`, with tensors on `device`.
    pub fn new(
        loss: Arc<dyn PairwiseLoss>,
        problem: &BanditProblem,
        data: PreferenceData,
        device: &Device,
    ) -> Self {
        let log_pi_ref = problem.log_pi_ref();
        let full_batch = data
            .is_full_batch()
            .then(|| PairBatch::new(data.pairs(), &log_pi_ref, device));
        Self {
            loss,
            beta: problem.beta,
            data,
            log_pi_ref,
            device: device.clone(),
            full_batch,
        }
    }

    fn batch_loss(&self, log_probs: Tensor<2>, batch: &PairBatch) -> Tensor<1> {
        let inputs = PairLogProbs {
            policy_chosen: log_probs.clone().select(1, batch.chosen.clone()),
            policy_rejected: log_probs.select(1, batch.rejected.clone()),
            reference_chosen: batch.reference_chosen.clone(),
            reference_rejected: batch.reference_rejected.clone(),
        };
        let per_pair = self.loss.loss(&inputs, self.beta);
        let [variants, _] = per_pair.dims();
        (per_pair * batch.weight.clone())
            .sum_dim(1)
            .reshape([variants])
    }
}

impl BanditObjective for PreferenceObjective {
    fn steps_per_epoch(&self) -> usize {
        match self.full_batch {
            Some(_) => 1,
            None => self.data.epoch_batches(0).len(),
        }
    }

    fn loss(&self, log_probs: Tensor<2>, epoch: usize, step: usize) -> Tensor<1> {
        match &self.full_batch {
            Some(batch) => self.batch_loss(log_probs, batch),
            None => {
                let pairs = &self.data.epoch_batches(epoch)[step];
                let batch = PairBatch::new(pairs, &self.log_pi_ref, &self.device);
                self.batch_loss(log_probs, &batch)
            }
        }
    }
}

/// The exact expected RLHF objective −Σ_y π(y) r(y) + β D_f(π ‖ π_ref) (eq. 3 over K
/// actions, with the regulariser of the counterpart).
#[derive(Debug, Clone)]
pub struct RlhfObjective {
    reward: Tensor<2>,
    log_pi_ref: Tensor<2>,
    pi_ref: Tensor<2>,
    regulariser: Divergence,
    beta: f64,
}

impl RlhfObjective {
    /// The counterpart's objective for `problem`, on `device`.
    pub fn new(counterpart: Counterpart, problem: &BanditProblem, device: &Device) -> Self {
        let k = problem.actions();
        let row = |v: Vec<f64>| Tensor::<2>::from_data(TensorData::new(v, [1, k]), device);
        Self {
            reward: row(problem.reward(counterpart.reward)),
            log_pi_ref: row(problem.log_pi_ref()),
            pi_ref: row(problem.pi_ref.clone()),
            regulariser: counterpart.regulariser,
            beta: problem.beta,
        }
    }
}

impl BanditObjective for RlhfObjective {
    fn steps_per_epoch(&self) -> usize {
        1
    }

    fn loss(&self, log_probs: Tensor<2>, _epoch: usize, _step: usize) -> Tensor<1> {
        let [variants, _] = log_probs.dims();
        let expected_reward = (log_probs.clone().exp() * self.reward.clone()).sum_dim(1);
        let log_u = log_probs - self.log_pi_ref.clone();
        let divergence = (self.regulariser.f(log_u) * self.pi_ref.clone()).sum_dim(1);
        (divergence.mul_scalar(self.beta) - expected_reward).reshape([variants])
    }
}
