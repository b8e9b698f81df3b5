//! DiscoPOP (Chris Lu et al., 2024, "Discovering Preference Optimization Algorithms with
//! and for Large Language Models", eq. 5), TRL's `discopop`: the logistic and the
//! exponential loss of the logits x = β (s_w − s_l), blended by σ(x/τ):
//! (1 − σ(x/τ))·(−log σ(x)) + σ(x/τ)·exp(−x).

use super::scores::{self, FScores};
use super::terms::{label, sigmoid};
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `discopop`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscopopKeys {
    #[serde(default = "default_tau")]
    discopop_tau: f64,
    f_divergence_type: Option<String>,
    f_alpha_divergence_coef: Option<f64>,
}

/// TRL's default and the paper's recommendation.
fn default_tau() -> f64 {
    0.05
}

/// DiscoPOP with temperature τ. A loss found by search: it solves no RLHF problem in
/// closed form, so it has no counterpart.
#[derive(Debug, Clone)]
pub struct Discopop {
    /// τ > 0.
    pub tau: f64,
    /// The score standing in for the log-ratio.
    pub scores: FScores,
}

impl PairwiseLoss for Discopop {
    fn label(&self) -> String {
        label("discopop", &[("tau", self.tau, default_tau())]) + &self.scores.suffix()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (chosen, rejected) = scores::chosen_rejected(self.scores, inputs);
        let logits = (chosen - rejected).mul_scalar(beta);
        let modulation = sigmoid(logits.clone().mul_scalar(1.0 / self.tau));
        let logistic = log_sigmoid(logits.clone()).neg();
        let exponential = logits.neg().exp();
        logistic * modulation.clone().neg().add_scalar(1.0) + exponential * modulation
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `discopop` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "discopop",
        LossEntry {
            description: "DiscoPOP: logistic and exponential losses blended by σ(β h/τ)",
            parameters: "discopop_tau = τ > 0 (default 0.05); f_divergence_type, f_alpha_divergence_coef (as sigmoid)",
            source: "Lu et al. 2024, eq. (5); TRL loss_type discopop",
            build: |table| {
                let keys: DiscopopKeys = super::parse_params(table)?;
                let tau = keys.discopop_tau;
                if !(tau.is_finite() && tau > 0.0) {
                    return Err(format!("discopop_tau = {tau}: must be finite and > 0").into());
                }
                Ok(Arc::new(Discopop {
                    tau,
                    scores: FScores::from_keys(
                        keys.f_divergence_type.as_deref(),
                        keys.f_alpha_divergence_coef,
                    )?,
                }))
            },
        },
    )
}
