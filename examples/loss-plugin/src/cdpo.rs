//! Conservative DPO, Mitchell (2023), "A note on DPO with noisy preferences & relationship
//! to IPO": DPO against labels smoothed by ε,
//! ℓ = (1 − ε)·(−log σ(βh)) + ε·(−log σ(−βh)).

use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use workbench::losses::{PairLogProbs, PairwiseLoss};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "default_label_smoothing")]
    label_smoothing: f64,
}

fn default_label_smoothing() -> f64 {
    0.1
}

/// cDPO with label smoothing ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CDpo {
    /// ε, the probability that a label is wrong.
    pub label_smoothing: f64,
}

impl CDpo {
    /// Builds the loss from its TOML table (`label_smoothing = 0.1`).
    pub fn from_params(table: &toml::Table) -> Result<Self, String> {
        let params: Params = workbench::losses::parse_params(table)?;
        let eps = params.label_smoothing;
        if !(0.0..=0.5).contains(&eps) {
            return Err(format!("label_smoothing = {eps}: must be in [0, 0.5]"));
        }
        Ok(Self {
            label_smoothing: eps,
        })
    }
}

impl PairwiseLoss for CDpo {
    fn label(&self) -> String {
        "cdpo".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let logits = inputs.margin().mul_scalar(beta);
        let agree = log_sigmoid(logits.clone()).neg();
        let flipped = log_sigmoid(logits.neg()).neg();
        agree.mul_scalar(1.0 - self.label_smoothing) + flipped.mul_scalar(self.label_smoothing)
    }
}
