//! What a bandit policy is trained on: a pairwise loss over preference data, or the exact
//! expected RLHF objective. Both return one loss per variant, `[variants]`.

use super::{BanditProblem, LabelledPair, PreferenceData};
use crate::divergence::Divergence;
use crate::losses::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::sync::Arc;

/// A training objective for bandit policies.
pub trait BanditObjective {
    /// Batches in one epoch (optimiser steps, unless gradients are accumulated).
    fn steps_per_epoch(&self) -> usize;

    /// The pairs in the batch of `step` in `epoch` (1 for an exact objective): its weight
    /// when several batches make one step.
    fn batch_pairs(&self, _epoch: usize, _step: usize) -> usize {
        1
    }

    /// Loss per variant, `[variants]`, for the policy's `log_probs` `[variants, K]` at the
    /// given epoch and step within it.
    fn loss(&self, log_probs: Tensor<2>, epoch: usize, step: usize) -> Tensor<1>;
}

/// Pair indices: one list for every variant (`select`), or one list per variant
/// (`gather`, `[variants, pairs]`).
#[derive(Debug, Clone)]
enum PairIndices {
    Shared(Tensor<1, Int>),
    PerVariant(Tensor<2, Int>),
}

impl PairIndices {
    fn pick(&self, log_probs: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Shared(indices) => log_probs.select(1, indices.clone()),
            Self::PerVariant(indices) => log_probs.gather(1, indices.clone()),
        }
    }
}

/// One batch of labelled pairs per variant (or one shared by all), on the device.
#[derive(Debug, Clone)]
struct PairBatch {
    chosen: PairIndices,
    rejected: PairIndices,
    reference_chosen: Tensor<2>,
    reference_rejected: Tensor<2>,
    weight: Tensor<2>,
}

impl PairBatch {
    /// `rows[v]` = (pairs, log π_ref) of variant v; a single row is shared by all
    /// variants. Every row holds the same number of pairs.
    fn new(rows: &[(&[LabelledPair], &[f64])], device: &Device) -> Self {
        let (v, n) = (rows.len(), rows[0].0.len());
        let ints = |f: fn(&LabelledPair) -> usize| {
            let values: Vec<i64> = rows
                .iter()
                .flat_map(|(pairs, _)| pairs.iter().map(|p| f(p) as i64))
                .collect();
            if v == 1 {
                PairIndices::Shared(Tensor::from_data(TensorData::new(values, [n]), device))
            } else {
                PairIndices::PerVariant(Tensor::from_data(TensorData::new(values, [v, n]), device))
            }
        };
        let floats = |f: &dyn Fn(&LabelledPair, &[f64]) -> f64| {
            let values: Vec<f64> = rows
                .iter()
                .flat_map(|(pairs, reference)| pairs.iter().map(move |p| f(p, reference)))
                .collect();
            Tensor::<2>::from_data(TensorData::new(values, [v, n]), device)
        };
        Self {
            chosen: ints(|p| p.chosen),
            rejected: ints(|p| p.rejected),
            reference_chosen: floats(&|p, reference| reference[p.chosen]),
            reference_rejected: floats(&|p, reference| reference[p.rejected]),
            weight: floats(&|p, _| p.weight),
        }
    }
}

/// A pairwise loss averaged over preference data: Σ_pairs weight · loss, per variant.
#[derive(Debug)]
pub struct PreferenceObjective {
    loss: Arc<dyn PairwiseLoss>,
    beta: f64,
    /// (data, log π_ref) of each variant, or one entry shared by every variant.
    rows: Vec<(PreferenceData, Vec<f64>)>,
    device: Device,
    /// Built once when every epoch is the same single batch.
    full_batch: Option<PairBatch>,
}

impl PreferenceObjective {
    /// `loss` on `data` for `problem`, shared by every variant, with tensors on `device`.
    pub fn new(
        loss: Arc<dyn PairwiseLoss>,
        problem: &BanditProblem,
        data: PreferenceData,
        device: &Device,
    ) -> Self {
        Self::per_variant(
            loss,
            problem.beta,
            vec![(data, problem.log_pi_ref())],
            device,
        )
    }

    /// `loss` with its own data and log π_ref for each variant (a sweep over seeds or
    /// reference policies). With several variants every epoch must be one full batch of
    /// the same size.
    ///
    /// # Panics
    /// If variants differ in size or use minibatches (callers validate this first).
    pub fn per_variant(
        loss: Arc<dyn PairwiseLoss>,
        beta: f64,
        rows: Vec<(PreferenceData, Vec<f64>)>,
        device: &Device,
    ) -> Self {
        let full_batch = rows.iter().all(|(data, _)| data.is_full_batch()).then(|| {
            let views: Vec<(&[LabelledPair], &[f64])> = rows
                .iter()
                .map(|(data, reference)| (data.pairs(), reference.as_slice()))
                .collect();
            assert!(
                views
                    .iter()
                    .all(|(pairs, _)| pairs.len() == views[0].0.len()),
                "every variant needs the same number of pairs"
            );
            PairBatch::new(&views, device)
        });
        assert!(
            full_batch.is_some() || rows.len() == 1,
            "minibatches need shared data"
        );
        Self {
            loss,
            beta,
            rows,
            device: device.clone(),
            full_batch,
        }
    }

    fn batch_loss(&self, log_probs: Tensor<2>, batch: &PairBatch) -> Tensor<1> {
        let inputs = PairLogProbs::new(
            batch.chosen.pick(log_probs.clone()),
            batch.rejected.pick(log_probs),
            batch.reference_chosen.clone(),
            batch.reference_rejected.clone(),
        );
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
            None => self.rows[0].0.epoch_batches(0).len(),
        }
    }

    fn batch_pairs(&self, epoch: usize, step: usize) -> usize {
        match self.full_batch {
            Some(_) => self.rows[0].0.pairs().len(),
            None => self.rows[0].0.epoch_batches(epoch)[step].len(),
        }
    }

    fn loss(&self, log_probs: Tensor<2>, epoch: usize, step: usize) -> Tensor<1> {
        match &self.full_batch {
            Some(batch) => self.batch_loss(log_probs, batch),
            None => {
                let (data, reference) = &self.rows[0];
                let pairs = &data.epoch_batches(epoch)[step];
                let batch = PairBatch::new(&[(pairs, reference)], &self.device);
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
