//! TRL's `sft`: the negative log-likelihood of the chosen responses, averaged over the
//! batch's chosen tokens. In a weighted combination with a preference loss it gives RPO
//! (`[{ name = "sigmoid", weight = 1 }, { name = "sft", weight = α }]`) and MPO
//! (`sigmoid`, `bco_pair`, `sft` with weights 0.8, 0.2, 1.0).

use super::terms::chosen_nll;
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::Tensor;
use serde::Deserialize;
use std::sync::Arc;

/// The chosen responses' NLL (see [`chosen_nll`] for how it is split over pairs). No
/// parameters; reference-free, so it has no RLHF counterpart: its optimum is the
/// distribution of the chosen responses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sft {}

impl PairwiseLoss for Sft {
    fn label(&self) -> String {
        "sft".into()
    }

    fn loss(&self, inputs: &PairLogProbs, _beta: f64) -> Tensor<2> {
        chosen_nll(inputs)
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

/// `sft` for the catalogue.
pub(super) fn entry() -> (&'static str, LossEntry) {
    (
        "sft",
        LossEntry {
            description: "NLL of the chosen responses (token mean over the batch); mix it in for RPO/MPO",
            parameters: "(none)",
            source: "TRL loss_type sft (RPO, Pang et al. 2024; MPO)",
            build: |table| Ok(Arc::new(super::parse_params::<Sft>(table)?)),
        },
    )
}
