//! IPO, eq. (9): (h − 1/(2β))².

use super::LossEntry;
use super::{Counterpart, PairLogProbs, PairwiseLoss, Reward};
use crate::divergence::Divergence;
use burn::tensor::Tensor;
use serde::Deserialize;
use std::sync::Arc;

/// Identity preference optimisation (Azar et al., 2024), eq. (9). No parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipo {}

impl PairwiseLoss for Ipo {
    fn label(&self) -> String {
        "ipo".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        inputs
            .margin()
            .sub_scalar(1.0 / (2.0 * beta))
            .powi_scalar(2)
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        Some(Counterpart {
            reward: Reward::Ipo,
            regulariser: Divergence::ReverseKl,
        })
    }
}

/// `ipo` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "ipo",
        LossEntry {
            description: "IPO, eq. (9): (h - 1/(2β))²",
            parameters: "(none)",
            build: |table| Ok(Arc::new(super::parse_params::<Ipo>(table)?)),
        },
    )
}
