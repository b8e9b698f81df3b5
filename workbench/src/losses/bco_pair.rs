//! Pairwise BCO (Jung et al., 2024, "Binary Classifier Optimization"; TRL's `bco_pair`):
//! each response's implicit reward r = β·log(π_θ/π_ref) is classified against a shift δ,
//! ℓ = −log σ(r_w − δ) − log σ(−(r_l − δ)), with δ the mean reward of the batch
//! (held constant in the gradient; TRL keeps a running mean over batches instead).

use super::LossEntry;
use super::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// Pairwise BCO. No parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcoPair {}

impl PairwiseLoss for BcoPair {
    fn label(&self) -> String {
        "bco_pair".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let chosen = inputs.chosen_log_ratio().mul_scalar(beta);
        let rejected = inputs.rejected_log_ratio().mul_scalar(beta);
        // δ per variant: the mean of all rewards in the batch, as a constant.
        let [_, pairs] = chosen.dims();
        let delta = (chosen.clone() + rejected.clone())
            .sum_dim(1)
            .div_scalar(2.0 * pairs as f64)
            .detach();
        log_sigmoid(chosen - delta.clone()).neg() + log_sigmoid((rejected - delta).neg()).neg()
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        Some(Counterpart::DPO)
    }
}

/// `bco_pair` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "bco_pair",
        LossEntry {
            description: "pairwise BCO (Jung et al. 2024): each implicit reward classified against the batch mean",
            parameters: "(none)",
            build: |table| Ok(Arc::new(super::parse_params::<BcoPair>(table)?)),
        },
    )
}
