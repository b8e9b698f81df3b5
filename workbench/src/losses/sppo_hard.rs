//! SPPO with hard labels (Wu et al., 2024, "Self-Play Preference Optimization", eq. 4.7
//! with P = 1 for the winner and 0 for the loser), TRL's `sppo_hard`:
//! (log(π_θ/π_ref)(y_w) − 1/(2β))² + (log(π_θ/π_ref)(y_l) + 1/(2β))².

use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::Tensor;
use serde::Deserialize;
use std::sync::Arc;

/// Hard-label SPPO. No parameters. Each log-ratio is regressed on its own target, so it
/// solves no RLHF problem in closed form and has no counterpart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SppoHard {}

impl PairwiseLoss for SppoHard {
    fn label(&self) -> String {
        "sppo_hard".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let target = 0.5 / beta;
        let winner = inputs.chosen_log_ratio().sub_scalar(target).powi_scalar(2);
        let loser = inputs
            .rejected_log_ratio()
            .add_scalar(target)
            .powi_scalar(2);
        winner + loser
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `sppo_hard` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "sppo_hard",
        LossEntry {
            description: "SPPO, hard labels: (log-ratio_w - 1/(2β))² + (log-ratio_l + 1/(2β))²",
            parameters: "(none)",
            source: "Wu et al. 2024, eq. (4.7) with P ∈ {0, 1}; TRL loss_type sppo_hard",
            build: |table| Ok(Arc::new(super::parse_params::<SppoHard>(table)?)),
        },
    )
}
