//! f-DPO (Wang et al., 2024): −log σ(β [f′(u_w) − f′(u_l)]), u = π_θ/π_ref.

use super::LossEntry;
use super::{Counterpart, PairLogProbs, PairwiseLoss, Reward};
use crate::divergence::Divergence;
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `fdpo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FDpoParams {
    /// `reverse_kl`, `forward_kl`, `js` or `alpha`.
    divergence: String,
    /// The parameter of the alpha divergence, in (0, 1).
    a: Option<f64>,
}

/// f-DPO with the divergence chosen in TOML (`divergence = "forward_kl"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FDpo {
    /// The f-divergence replacing RLHF's KL.
    pub divergence: Divergence,
}

impl FDpo {
    /// Builds the loss from its TOML table.
    pub fn from_params(table: &toml::Table) -> Result<Self, String> {
        let params: FDpoParams = super::parse_params(table)?;
        let divergence = Divergence::from_name(&params.divergence, params.a)
            .map_err(|e| format!("divergence = \"{}\": {e}", params.divergence))?;
        Ok(Self { divergence })
    }
}

impl PairwiseLoss for FDpo {
    fn label(&self) -> String {
        match self.divergence {
            // The parameter tells two α-divergences apart.
            Divergence::Alpha(a) => format!("fdpo_alpha_{a}"),
            other => format!("fdpo_{}", other.name()),
        }
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let chosen = self.divergence.f_prime(inputs.chosen_log_ratio());
        let rejected = self.divergence.f_prime(inputs.rejected_log_ratio());
        log_sigmoid((chosen - rejected).mul_scalar(beta)).neg()
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        Some(Counterpart {
            reward: Reward::LogPiStar,
            regulariser: self.divergence,
        })
    }
}

/// `fdpo` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "fdpo",
        LossEntry {
            description: "f-DPO (Wang et al. 2024): -log σ(β [f'(u_w) - f'(u_l)])",
            parameters: "divergence = reverse_kl | forward_kl | js | alpha; a (alpha only, 0 < a < 1)",
            source: "Wang et al. 2024 (f-DPO), the paper's parameterisation; TRL's is sigmoid with f_divergence_type (alpha: f_alpha_divergence_coef = 1 - a)",
            build: |table| Ok(Arc::new(FDpo::from_params(table)?)),
        },
    )
}
