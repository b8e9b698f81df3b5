//! DPO, eq. (6): −log σ(β h).

use super::LossEntry;
use super::{Counterpart, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

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

/// `dpo` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "dpo",
        LossEntry {
            description: "DPO, eq. (6): -log σ(β h)",
            parameters: "(none)",
            build: |table| Ok(Arc::new(super::parse_params::<Dpo>(table)?)),
        },
    )
}
