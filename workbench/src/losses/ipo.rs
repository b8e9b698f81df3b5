//! IPO, eq. (9): (h − 1/(2β))². TRL's `ipo` divides each side's log-ratio by its token
//! count first ("confirmed with the IPO authors", TRL PR #1265); here that is the option
//! `length_normalised = true`. The default keeps the paper's sum, so on sequences the two
//! are told apart by the option; on a bandit every response is one action and they agree.

use super::scores::{self, FScores};
use super::terms::token_counts;
use super::{Counterpart, LossEntry, PairLogProbs, PairwiseLoss, Reward};
use crate::divergence::Divergence;
use burn::tensor::Tensor;
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `ipo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IpoKeys {
    #[serde(default)]
    length_normalised: bool,
    f_divergence_type: Option<String>,
    f_alpha_divergence_coef: Option<f64>,
}

/// Identity preference optimisation (Azar et al., 2024), eq. (9).
#[derive(Debug, Clone, Default)]
pub struct Ipo {
    /// Divide each side by its token count, as TRL does.
    pub length_normalised: bool,
    /// The score standing in for the log-ratio (TRL's `f_divergence_type`).
    pub scores: FScores,
}

impl PairwiseLoss for Ipo {
    fn label(&self) -> String {
        let normalised = if self.length_normalised { "_norm" } else { "" };
        format!("ipo{normalised}{}", self.scores.suffix())
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (mut chosen, mut rejected) = scores::chosen_rejected(self.scores, inputs);
        if self.length_normalised {
            let (chosen_tokens, rejected_tokens) = token_counts(inputs);
            chosen = chosen / chosen_tokens;
            rejected = rejected / rejected_tokens;
        }
        (chosen - rejected)
            .sub_scalar(1.0 / (2.0 * beta))
            .powi_scalar(2)
    }

    /// Eq. (7)'s reward with the KL regulariser; IPO on f-divergence scores solves no
    /// problem in closed form.
    fn declared_counterpart(&self) -> Option<Counterpart> {
        (self.scores == FScores::ReverseKl).then_some(Counterpart {
            reward: Reward::Ipo,
            regulariser: Divergence::ReverseKl,
        })
    }

    fn has_counterpart(&self) -> bool {
        self.scores == FScores::ReverseKl
    }
}

/// `ipo` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "ipo",
        LossEntry {
            description: "IPO, eq. (9): (h - 1/(2β))²; length_normalised = true is TRL's per-token form",
            parameters: "length_normalised = false (default, the paper's) | true (TRL's); f_divergence_type, f_alpha_divergence_coef (as sigmoid)",
            source: "Azar et al. 2024, eq. (9) here; TRL loss_type ipo with length_normalised = true",
            build: |table| {
                let keys: IpoKeys = super::parse_params(table)?;
                Ok(Arc::new(Ipo {
                    length_normalised: keys.length_normalised,
                    scores: FScores::from_keys(
                        keys.f_divergence_type.as_deref(),
                        keys.f_alpha_divergence_coef,
                    )?,
                }))
            },
        },
    )
}
