//! SLiC's hinge loss (Zhao et al., 2023), TRL's `hinge`: max(0, 1 − β (s_w − s_l)).

use super::scores::{self, FScores};
use super::sigmoid::ScoreKeys;
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::relu};
use std::sync::Arc;

/// The hinge loss on the margin of the scores. It solves no KL-regularised RLHF problem
/// (its minimisers are every policy with β h ≥ 1), so it has no counterpart.
#[derive(Debug, Clone, Default)]
pub struct Hinge {
    /// The score standing in for the log-ratio.
    pub scores: FScores,
}

impl PairwiseLoss for Hinge {
    fn label(&self) -> String {
        format!("hinge{}", self.scores.suffix())
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (chosen, rejected) = scores::chosen_rejected(self.scores, inputs);
        relu((chosen - rejected).mul_scalar(-beta).add_scalar(1.0))
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `hinge` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "hinge",
        LossEntry {
            description: "SLiC hinge: max(0, 1 - β (s_w - s_l))",
            parameters: "f_divergence_type, f_alpha_divergence_coef (as sigmoid)",
            source: "Zhao et al. 2023 (SLiC-HF); TRL loss_type hinge",
            build: |table| {
                let keys: ScoreKeys = super::parse_params(table)?;
                Ok(Arc::new(Hinge {
                    scores: keys.scores()?,
                }))
            },
        },
    )
}
