//! Pairwise BCO (Jung et al., 2024, "Binary Classifier Optimization"), TRL's `bco_pair`:
//! each response's implicit reward r = β·log(π_θ/π_ref) is classified on its own,
//! ℓ = −log σ(r_w) − log σ(−r_l). TRL's "Refactor DPO" (#3906) removed the running-mean
//! shift δ the paper subtracts from r, and so does the workbench: the loss is per pair.

use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// Pairwise BCO. No parameters.
///
/// Its minimiser sets σ(r(y)) to the share of y's appearances that it wins, a pointwise
/// classifier rather than an RLHF optimum, so it has no counterpart.
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
        log_sigmoid(chosen).neg() - log_sigmoid(rejected.neg())
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `bco_pair` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "bco_pair",
        LossEntry {
            description: "pairwise BCO: each implicit reward classified on its own, -log σ(r_w) - log σ(-r_l)",
            parameters: "(none)",
            source: "Jung et al. 2024 (without the shift, as TRL since #3906); TRL loss_type bco_pair",
            build: |table| Ok(Arc::new(super::parse_params::<BcoPair>(table)?)),
        },
    )
}
