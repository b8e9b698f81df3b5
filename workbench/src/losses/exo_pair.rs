//! EXO (Ji et al., 2024, "Towards Efficient Exact Optimization of Language Model
//! Alignment", eq. 16 for K = 2), TRL's `exo_pair`: KL(p_θ ‖ p_ε) between the policy's
//! pair distribution p_θ = softmax over {y_w, y_l} of β·s and the smoothed labels
//! p_ε = (1 − ε, ε): σ(βδ)(log σ(βδ) − log(1 − ε)) + σ(−βδ)(log σ(−βδ) − log ε).

use super::scores::{self, FScores};
use super::terms::label;
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `exo_pair`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExoKeys {
    #[serde(default = "default_epsilon")]
    label_smoothing: f64,
    f_divergence_type: Option<String>,
    f_alpha_divergence_coef: Option<f64>,
}

/// The EXO paper's recommendation (TRL requires a value above 0).
fn default_epsilon() -> f64 {
    1e-3
}

/// EXO for pairs with label smoothing ε ∈ (0, 1). Its minimiser is not an RLHF optimum in
/// closed form for ε > 0, so it has no counterpart.
#[derive(Debug, Clone)]
pub struct ExoPair {
    /// ε.
    pub label_smoothing: f64,
    /// The score standing in for the log-ratio.
    pub scores: FScores,
}

impl PairwiseLoss for ExoPair {
    fn label(&self) -> String {
        let eps = self.label_smoothing;
        label("exo_pair", &[("eps", eps, default_epsilon())]) + &self.scores.suffix()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let eps = self.label_smoothing;
        let (chosen, rejected) = scores::chosen_rejected(self.scores, inputs);
        let logits = (chosen - rejected).mul_scalar(beta);
        // σ(x) as exp(log σ(x)): ndarray's f64 `sigmoid` gradient is off by ~1e-7 here,
        // where every backend's `log_sigmoid` agrees to rounding.
        let (log_win, log_lose) = (log_sigmoid(logits.clone()), log_sigmoid(logits.neg()));
        let winner = log_win.clone().exp() * log_win.sub_scalar((-eps).ln_1p());
        let loser = log_lose.clone().exp() * log_lose.sub_scalar(eps.ln());
        winner + loser
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `exo_pair` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "exo_pair",
        LossEntry {
            description: "EXO for pairs: KL from the policy's pair softmax to labels smoothed by ε",
            parameters: "label_smoothing = ε ∈ (0, 1) (default 1e-3); f_divergence_type, f_alpha_divergence_coef (as sigmoid)",
            source: "Ji et al. 2024, eq. (16); TRL loss_type exo_pair",
            build: |table| {
                let keys: ExoKeys = super::parse_params(table)?;
                let eps = keys.label_smoothing;
                if !(eps > 0.0 && eps < 1.0) {
                    return Err(format!("label_smoothing = {eps}: must be in (0, 1)").into());
                }
                Ok(Arc::new(ExoPair {
                    label_smoothing: eps,
                    scores: FScores::from_keys(
                        keys.f_divergence_type.as_deref(),
                        keys.f_alpha_divergence_coef,
                    )?,
                }))
            },
        },
    )
}
