//! SimPO, Meng, Xia & Chen (2024), "SimPO: Simple Preference Optimization with a
//! Reference-Free Reward":
//! ℓ = −log σ(β/|y_w|·log π_θ(y_w|x) − β/|y_l|·log π_θ(y_l|x) − γ).
//! No reference policy; |y| is the response's token count (1 for a bandit action).

use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use workbench::losses::{PairLogProbs, PairwiseLoss};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "default_gamma")]
    gamma: f64,
}

fn default_gamma() -> f64 {
    0.5
}

/// SimPO with target margin γ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimPo {
    /// The target reward margin γ.
    pub gamma: f64,
}

impl SimPo {
    /// Builds the loss from its TOML table (`gamma = 0.5`).
    pub fn from_params(table: &toml::Table) -> Result<Self, String> {
        let params: Params = workbench::losses::parse_params(table)?;
        if !(params.gamma.is_finite() && params.gamma >= 0.0) {
            return Err(format!("gamma = {}: must be finite and >= 0", params.gamma));
        }
        Ok(Self {
            gamma: params.gamma,
        })
    }
}

/// log π / |y|, or log π itself when token counts are not given.
fn per_token(log_prob: Tensor<2>, tokens: &Option<Tensor<2>>) -> Tensor<2> {
    match tokens {
        Some(tokens) => log_prob / tokens.clone(),
        None => log_prob,
    }
}

impl PairwiseLoss for SimPo {
    fn label(&self) -> String {
        "plugin_simpo".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let chosen = per_token(inputs.policy_chosen.clone(), &inputs.chosen_tokens);
        let rejected = per_token(inputs.policy_rejected.clone(), &inputs.rejected_tokens);
        log_sigmoid((chosen - rejected).mul_scalar(beta).sub_scalar(self.gamma)).neg()
    }
}
