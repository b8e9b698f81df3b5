//! Anchored preference optimisation (D'Oosterlinck et al., 2024, "Anchored Preference
//! Optimization and Contrastive Revisions", eqs. 7 and 8), TRL's `apo_zero` and `apo_down`,
//! on the implicit rewards r = β·log(π_θ/π_ref):
//!
//! - `apo_zero` (y_w better than the model's own outputs): 1 − σ(r_w) + σ(r_l).
//! - `apo_down` (y_w worse than them): σ(r_w) + 1 − σ(r_w − r_l).

use super::terms::sigmoid;
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::Tensor;
use std::sync::Arc;

/// APO, anchored at zero (`down = false`) or downwards. Each reward is anchored on its own,
/// so it solves no RLHF problem in closed form and has no counterpart.
#[derive(Debug, Clone)]
pub struct Apo {
    /// `apo_down` rather than `apo_zero`.
    pub down: bool,
}

impl PairwiseLoss for Apo {
    fn label(&self) -> String {
        if self.down { "apo_down" } else { "apo_zero" }.into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let chosen = inputs.chosen_log_ratio().mul_scalar(beta);
        let rejected = inputs.rejected_log_ratio().mul_scalar(beta);
        if self.down {
            sigmoid(chosen.clone()) - sigmoid(chosen - rejected).sub_scalar(1.0)
        } else {
            sigmoid(rejected) - sigmoid(chosen).sub_scalar(1.0)
        }
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `apo_zero` and `apo_down` for the catalogue.
pub(super) fn entries() -> Vec<(&'static str, LossEntry)> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoKeys {}
    vec![
        (
            "apo_zero",
            LossEntry {
                description: "APO-zero: raise the chosen reward, lower the rejected one, 1 - σ(r_w) + σ(r_l)",
                parameters: "(none)",
                source: "D'Oosterlinck et al. 2024, eq. (7); TRL loss_type apo_zero",
                build: |table| {
                    super::parse_params::<NoKeys>(table)?;
                    Ok(Arc::new(Apo { down: false }))
                },
            },
        ),
        (
            "apo_down",
            LossEntry {
                description: "APO-down: lower both rewards, the rejected more, σ(r_w) + 1 - σ(r_w - r_l)",
                parameters: "(none)",
                source: "D'Oosterlinck et al. 2024, eq. (8); TRL loss_type apo_down",
                build: |table| {
                    super::parse_params::<NoKeys>(table)?;
                    Ok(Arc::new(Apo { down: true }))
                },
            },
        ),
    ]
}
