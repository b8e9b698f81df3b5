//! NCA for pairs (Chen et al., 2024, "Noise Contrastive Alignment of Language Models with
//! Explicit Rewards"), TRL's `nca_pair`, on the implicit rewards r = β·log(π_θ/π_ref):
//! −log σ(r_w) − ½ log σ(−r_w) − ½ log σ(−r_l).

use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// Pairwise NCA. No parameters. Each reward is fitted on its own (no margin), so it solves
/// no RLHF problem in closed form and has no counterpart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NcaPair {}

impl PairwiseLoss for NcaPair {
    fn label(&self) -> String {
        "nca_pair".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let chosen = inputs.chosen_log_ratio().mul_scalar(beta);
        let rejected = inputs.rejected_log_ratio().mul_scalar(beta);
        log_sigmoid(chosen.clone()).neg()
            - log_sigmoid(chosen.neg()).mul_scalar(0.5)
            - log_sigmoid(rejected.neg()).mul_scalar(0.5)
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `nca_pair` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "nca_pair",
        LossEntry {
            description: "pairwise NCA: -log σ(r_w) - ½ log σ(-r_w) - ½ log σ(-r_l)",
            parameters: "(none)",
            source: "Chen et al. 2024; TRL loss_type nca_pair",
            build: |table| Ok(Arc::new(super::parse_params::<NcaPair>(table)?)),
        },
    )
}
