//! DPO, eq. (6): −log σ(β h).

use super::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;

/// Direct preference optimisation (Rafailov et al., 2024), eq. (6). No parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dpo {}

impl PairwiseLoss for Dpo {
    fn label(&self) -> String {
        "dpo".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        log_sigmoid(inputs.margin().mul_scalar(beta)).neg()
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        Some(Counterpart::DPO)
    }
}
