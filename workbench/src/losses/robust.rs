//! Robust DPO (Chowdhury et al., 2024, "Provably Robust DPO"), TRL's `robust`: an unbiased
//! estimate of the DPO loss when each label is flipped with probability ε,
//! ℓ = [(1 − ε)·(−log σ(βh)) − ε·(−log σ(−βh))] / (1 − 2ε).

use super::scores::{self, FScores};
use super::sigmoid::bradley_terry_counterpart;
use super::{Counterpart, LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `robust`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RobustParams {
    /// Label-flip probability ε ∈ [0, 1/2).
    label_smoothing: f64,
    f_divergence_type: Option<String>,
    f_alpha_divergence_coef: Option<f64>,
}

/// Robust DPO with label-flip rate ε.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Robust {
    /// ε.
    pub label_smoothing: f64,
    /// The score standing in for the log-ratio (TRL's `f_divergence_type`).
    pub scores: FScores,
}

impl Robust {
    /// Builds the loss from its TOML table (`label_smoothing = 0.1`).
    pub fn from_params(table: &toml::Table) -> Result<Self, String> {
        let params: RobustParams = super::parse_params(table)?;
        let eps = params.label_smoothing;
        if !(0.0..0.5).contains(&eps) {
            return Err(format!("label_smoothing = {eps}: must be in [0, 0.5)"));
        }
        Ok(Self {
            label_smoothing: eps,
            scores: FScores::from_keys(
                params.f_divergence_type.as_deref(),
                params.f_alpha_divergence_coef,
            )?,
        })
    }
}

impl PairwiseLoss for Robust {
    fn label(&self) -> String {
        format!(
            "robust_eps_{}{}",
            self.label_smoothing,
            self.scores.suffix()
        )
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let eps = self.label_smoothing;
        let (chosen, rejected) = scores::chosen_rejected(self.scores, inputs);
        let logits = (chosen - rejected).mul_scalar(beta);
        let agree = log_sigmoid(logits.clone()).neg();
        let flipped = log_sigmoid(logits.neg()).neg();
        (agree.mul_scalar(1.0 - eps) - flipped.mul_scalar(eps)).mul_scalar(1.0 / (1.0 - 2.0 * eps))
    }

    /// Unbiased for DPO's loss, so DPO's counterpart (f-DPO's with other scores).
    fn declared_counterpart(&self) -> Option<Counterpart> {
        bradley_terry_counterpart(self.scores)
    }

    fn has_counterpart(&self) -> bool {
        self.scores.regulariser().is_some()
    }
}

/// `robust` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "robust",
        LossEntry {
            description: "robust DPO: unbiased under label flips of rate ε",
            parameters: "label_smoothing = ε ∈ [0, 0.5); f_divergence_type, f_alpha_divergence_coef (as sigmoid)",
            source: "Chowdhury et al. 2024, eq. (8); TRL loss_type robust",
            build: |table| Ok(Arc::new(Robust::from_params(table)?)),
        },
    )
}
