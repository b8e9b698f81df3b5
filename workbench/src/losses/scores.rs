//! TRL's `f_divergence_type`: the score that stands in for each response's log-ratio
//! log(π_θ/π_ref) before a loss compares chosen with rejected (f-DPO, Wang et al. 2024, as
//! `DPOTrainer` computes it). The scores are TRL's f′(u) exactly, constants included:
//! they cancel in a chosen − rejected difference, but not once each side is divided by its
//! own token count (`sigmoid_norm`, length-normalised `ipo`).

use crate::divergence::Divergence;
use burn::tensor::{Tensor, activation::log_sigmoid};

/// The score of one log-ratio, by TRL's `f_divergence_type`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FScores {
    /// `reverse_kl`: the log-ratio itself (DPO).
    #[default]
    ReverseKl,
    /// `forward_kl`: f′(u) = 1 − 1/u.
    ForwardKl,
    /// `js_divergence`: f′(u) = log 2 + log σ(log u).
    JsDivergence,
    /// `alpha_divergence` with `f_alpha_divergence_coef` α: f′(u) = (u^(α−1) − 1)/(α − 1).
    AlphaDivergence(f64),
}

/// TRL clamps (α − 1)·log u at 80 before exponentiating (its float32 bound), so the scores
/// stay finite; the workbench keeps the same bound at every precision.
const ALPHA_EXPONENT_MAX: f64 = 80.0;

impl FScores {
    /// From the TOML keys `f_divergence_type` and `f_alpha_divergence_coef` (TRL's names
    /// and TRL's default coefficient, 0.5).
    pub fn from_keys(kind: Option<&str>, coef: Option<f64>) -> Result<Self, String> {
        let scores = match kind.unwrap_or("reverse_kl") {
            "reverse_kl" => Self::ReverseKl,
            "forward_kl" => Self::ForwardKl,
            "js_divergence" => Self::JsDivergence,
            "alpha_divergence" => {
                let coef = coef.unwrap_or(0.5);
                if !coef.is_finite() {
                    return Err(format!("f_alpha_divergence_coef = {coef}: must be finite"));
                }
                return Ok(Self::AlphaDivergence(coef));
            }
            other => {
                return Err(format!(
                    "f_divergence_type = {other:?}: expected reverse_kl, forward_kl, js_divergence or alpha_divergence"
                ));
            }
        };
        match coef {
            Some(coef) => Err(format!(
                "f_alpha_divergence_coef = {coef}: only read with f_divergence_type = \"alpha_divergence\""
            )),
            None => Ok(scores),
        }
    }

    /// The score of `log_ratio` = log(π_θ/π_ref), elementwise.
    pub fn score(&self, log_ratio: Tensor<2>) -> Tensor<2> {
        match *self {
            Self::ReverseKl => log_ratio,
            Self::ForwardKl => log_ratio.neg().exp().neg().add_scalar(1.0),
            Self::JsDivergence => log_sigmoid(log_ratio).add_scalar(std::f64::consts::LN_2),
            // TRL falls back to the log-ratio within 1e-6 of α = 1, the limit of the formula.
            Self::AlphaDivergence(coef) if (coef - 1.0).abs() < 1e-6 => log_ratio,
            Self::AlphaDivergence(coef) => log_ratio
                .mul_scalar(coef - 1.0)
                .clamp_max(ALPHA_EXPONENT_MAX)
                .exp()
                .sub_scalar(1.0)
                .mul_scalar(1.0 / (coef - 1.0)),
        }
    }

    /// Suffix for a loss's label: empty for `reverse_kl`.
    pub fn suffix(&self) -> String {
        match self {
            Self::ReverseKl => String::new(),
            Self::ForwardKl => "_forward_kl".into(),
            Self::JsDivergence => "_js_divergence".into(),
            Self::AlphaDivergence(coef) => format!("_alpha_divergence_{coef}"),
        }
    }

    /// The regulariser of the RLHF problem a Bradley–Terry loss on these scores solves:
    /// TRL's α ↔ f-DPO's a = 1 − α (f′ agree up to a constant), within (0, 1).
    pub fn regulariser(&self) -> Option<Divergence> {
        match *self {
            Self::ReverseKl => Some(Divergence::ReverseKl),
            Self::ForwardKl => Some(Divergence::ForwardKl),
            Self::JsDivergence => Some(Divergence::JensenShannon),
            Self::AlphaDivergence(coef) if (coef - 1.0).abs() < 1e-6 => Some(Divergence::ReverseKl),
            Self::AlphaDivergence(coef) if coef > 0.0 && coef < 1.0 => {
                Some(Divergence::Alpha(1.0 - coef))
            }
            Self::AlphaDivergence(_) => None,
        }
    }
}

/// The scores of the chosen and the rejected responses.
pub fn chosen_rejected(scores: FScores, inputs: &super::PairLogProbs) -> (Tensor<2>, Tensor<2>) {
    (
        scores.score(inputs.chosen_log_ratio()),
        scores.score(inputs.rejected_log_ratio()),
    )
}
