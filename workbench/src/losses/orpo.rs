//! ORPO (Hong et al., 2024, "ORPO: Monolithic Preference Optimization without Reference
//! Model", eqs. 4-7), as TRL's `ORPOTrainer` computes it: the NLL of the chosen responses
//! minus β·log σ(log odds(y_w) − log odds(y_l)), where odds(y) = p/(1 − p) of the per-token
//! average p = exp(log π_θ(y)/|y|).
//!
//! TRL's NLL also counts the prompt's tokens, which a pairwise loss never sees; with a
//! one-token prompt (nothing to predict before the response) the two agree, and that is
//! how the oracle test compares them.

use super::terms::{chosen_nll, token_counts};
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::{Tensor, activation::log_sigmoid};
use serde::Deserialize;
use std::sync::Arc;

/// ORPO. No parameters beyond β. Reference-free: it has no RLHF counterpart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orpo {}

/// log(1 − exp(x)) for x < 0, as TRL's `log1mexp`: log1p(−eˣ) below −ln 2, else
/// log(−expm1(x)) with expm1(x) = tanh(x/2)·(eˣ + 1), exact to rounding near 0.
fn log1mexp(x: Tensor<2>) -> Tensor<2> {
    let far = x.clone().exp().neg().log1p();
    let near = (x.clone().mul_scalar(0.5).tanh() * x.clone().exp().add_scalar(1.0))
        .neg()
        .log();
    near.mask_where(x.lower_elem(-std::f64::consts::LN_2), far)
}

impl PairwiseLoss for Orpo {
    fn label(&self) -> String {
        "orpo".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let (chosen_tokens, rejected_tokens) = token_counts(inputs);
        let chosen = inputs.policy_chosen.clone() / chosen_tokens;
        let rejected = inputs.policy_rejected.clone() / rejected_tokens;
        let log_odds =
            (chosen.clone() - rejected.clone()) - (log1mexp(chosen) - log1mexp(rejected));
        chosen_nll(inputs) - log_sigmoid(log_odds).mul_scalar(beta)
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `orpo` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "orpo",
        LossEntry {
            description: "ORPO: NLL of y_w - β log σ(log odds ratio of per-token average probabilities)",
            parameters: "(none; β is the odds-ratio weight, TRL's ORPOConfig.beta)",
            source: "Hong et al. 2024, eqs. (4)-(7); TRL ORPOTrainer",
            build: |table| Ok(Arc::new(super::parse_params::<Orpo>(table)?)),
        },
    )
}
