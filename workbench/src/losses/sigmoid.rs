//! DPO, eq. (6): −log σ(β h), TRL's `sigmoid` (the workbench's `dpo` is the same loss under
//! its paper name), and TRL's `sigmoid_norm`, which divides each side's score by its token
//! count first. Both take TRL's `f_divergence_type`, which turns DPO into f-DPO.

use super::scores::{self, FScores};
use super::terms::token_counts;
use super::{Counterpart, LossEntry, PairLogProbs, PairwiseLoss, Reward};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `dpo`, `sigmoid` and `sigmoid_norm`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScoreKeys {
    /// TRL's `f_divergence_type`.
    pub f_divergence_type: Option<String>,
    /// TRL's `f_alpha_divergence_coef`.
    pub f_alpha_divergence_coef: Option<f64>,
}

impl ScoreKeys {
    /// The scores these keys ask for.
    pub fn scores(&self) -> Result<FScores, String> {
        FScores::from_keys(
            self.f_divergence_type.as_deref(),
            self.f_alpha_divergence_coef,
        )
    }
}

/// Direct preference optimisation (Rafailov et al., 2024), eq. (6); with `scores` other
/// than reverse KL, f-DPO as TRL computes it.
#[derive(Debug, Clone, Default)]
pub struct Dpo {
    /// The score standing in for the log-ratio (TRL's `f_divergence_type`).
    pub scores: FScores,
    /// The name it was built under (`dpo` when constructed in code, else `sigmoid`).
    pub name: Option<&'static str>,
}

impl PairwiseLoss for Dpo {
    fn label(&self) -> String {
        format!("{}{}", self.name.unwrap_or("dpo"), self.scores.suffix())
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (chosen, rejected) = scores::chosen_rejected(self.scores, inputs);
        log_sigmoid((chosen - rejected).mul_scalar(beta)).neg()
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        bradley_terry_counterpart(self.scores)
    }

    fn has_counterpart(&self) -> bool {
        self.scores.regulariser().is_some()
    }
}

/// The counterpart of a Bradley–Terry loss on `scores`: reward log π*, regulariser the
/// f-divergence whose f′ the scores are (none for an α outside (0, 1]).
pub(super) fn bradley_terry_counterpart(scores: FScores) -> Option<Counterpart> {
    scores.regulariser().map(|regulariser| Counterpart {
        reward: Reward::LogPiStar,
        regulariser,
    })
}

/// TRL's `sigmoid_norm`: −log σ(β [s_w/|y_w| − s_l/|y_l|]). On a bandit every |y| = 1 and it
/// is DPO.
#[derive(Debug, Clone, Default)]
pub struct SigmoidNorm {
    /// The score standing in for the log-ratio.
    pub scores: FScores,
}

impl PairwiseLoss for SigmoidNorm {
    fn label(&self) -> String {
        format!("sigmoid_norm{}", self.scores.suffix())
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (chosen, rejected) = scores::chosen_rejected(self.scores, inputs);
        let (chosen_tokens, rejected_tokens) = token_counts(inputs);
        log_sigmoid((chosen / chosen_tokens - rejected / rejected_tokens).mul_scalar(beta)).neg()
    }

    fn declared_counterpart(&self) -> Option<Counterpart> {
        bradley_terry_counterpart(self.scores)
    }

    fn has_counterpart(&self) -> bool {
        self.scores.regulariser().is_some()
    }
}

const SCORE_PARAMETERS: &str = "f_divergence_type = reverse_kl (default) | forward_kl | js_divergence | alpha_divergence; f_alpha_divergence_coef (alpha only, default 0.5)";

/// `dpo`, `sigmoid` and `sigmoid_norm` for the catalogue.
pub(super) fn entries() -> Vec<(&'static str, LossEntry)> {
    vec![
        (
            "dpo",
            LossEntry {
                description: "DPO, eq. (6): -log σ(β h); the paper's name for TRL's sigmoid",
                parameters: SCORE_PARAMETERS,
                source: "Rafailov et al. 2023, eq. (6) here; TRL loss_type sigmoid",
                build: |table| {
                    let keys: ScoreKeys = super::parse_params(table)?;
                    Ok(Arc::new(Dpo {
                        scores: keys.scores()?,
                        name: None,
                    }))
                },
            },
        ),
        (
            "sigmoid",
            LossEntry {
                description: "TRL's name for DPO: -log σ(β (s_w - s_l)), s the log-ratio or its f-divergence score",
                parameters: SCORE_PARAMETERS,
                source: "TRL loss_type sigmoid (Rafailov et al. 2023; f-DPO, Wang et al. 2024)",
                build: |table| {
                    let keys: ScoreKeys = super::parse_params(table)?;
                    Ok(Arc::new(Dpo {
                        scores: keys.scores()?,
                        name: Some("sigmoid"),
                    }))
                },
            },
        ),
        (
            "sigmoid_norm",
            LossEntry {
                description: "DPO on per-token scores: -log σ(β (s_w/|y_w| - s_l/|y_l|))",
                parameters: SCORE_PARAMETERS,
                source: "TRL loss_type sigmoid_norm",
                build: |table| {
                    let keys: ScoreKeys = super::parse_params(table)?;
                    Ok(Arc::new(SigmoidNorm {
                        scores: keys.scores()?,
                    }))
                },
            },
        ),
    ]
}
