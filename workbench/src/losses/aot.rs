//! Alignment via optimal transport (Melnyk et al., 2024, "Distributional Preference
//! Alignment of LLMs via Optimal Transport"), TRL's `aot` and `aot_unpaired`: the batch's
//! margins are sorted before they are compared, which is the one-dimensional optimal
//! transport between their distributions, then each sorted slot takes the label-smoothed
//! logistic loss.
//!
//! - `aot`: sort(log π_θ(y_w) − log π_θ(y_l)) − sort(log π_ref(y_w) − log π_ref(y_l)).
//! - `aot_unpaired`: sort(log-ratio of y_w) − sort(log-ratio of y_l).
//!
//! Slot k's loss belongs to the k-th smallest value, not to pair k, so the per-pair losses
//! mean something only through their sum. On a bandit's `expected` data the batch is every
//! ordered pair with its probability as weight; the weights stay with their positions while
//! the margins are sorted, so the weighted sum is a weighted optimal-transport loss with
//! mismatched weights, not the expectation of the sampled loss. Use `sampled` mode (equal
//! weights) for AOT as published.

use super::terms::{label, smoothed_logistic};
use super::{LossEntry, PairLogProbs, PairwiseLoss};
use burn::tensor::Tensor;
use serde::Deserialize;
use std::sync::Arc;

/// TOML parameters of `aot` and `aot_unpaired`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AotKeys {
    #[serde(default)]
    label_smoothing: f64,
}

/// AOT, paired or not, with label smoothing ε. A batch-level loss: it has no counterpart.
#[derive(Debug, Clone)]
pub struct Aot {
    /// Sort the chosen and rejected log-ratios separately (`aot_unpaired`).
    pub unpaired: bool,
    /// ε ∈ [0, 1).
    pub label_smoothing: f64,
}

impl PairwiseLoss for Aot {
    fn label(&self) -> String {
        let name = if self.unpaired { "aot_unpaired" } else { "aot" };
        label(name, &[("eps", self.label_smoothing, 0.0)])
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        let delta = if self.unpaired {
            inputs.chosen_log_ratio().sort(1) - inputs.rejected_log_ratio().sort(1)
        } else {
            let policy = inputs.policy_chosen.clone() - inputs.policy_rejected.clone();
            let reference = inputs.reference_chosen.clone() - inputs.reference_rejected.clone();
            policy.sort(1) - reference.sort(1)
        };
        smoothed_logistic(delta, beta, self.label_smoothing)
    }

    fn has_counterpart(&self) -> bool {
        false
    }
}

fn build(table: &toml::Table, unpaired: bool) -> Result<Arc<dyn PairwiseLoss>, super::ParamError> {
    let keys: AotKeys = super::parse_params(table)?;
    let eps = keys.label_smoothing;
    if !(0.0..1.0).contains(&eps) {
        return Err(format!("label_smoothing = {eps}: must be in [0, 1)").into());
    }
    Ok(Arc::new(Aot {
        unpaired,
        label_smoothing: eps,
    }))
}

/// `aot` and `aot_unpaired` for the catalogue.
pub(super) fn entries() -> Vec<(&'static str, LossEntry)> {
    vec![
        (
            "aot",
            LossEntry {
                description: "AOT: sorted policy margins against sorted reference margins, logistic loss per slot (sorts over the batch)",
                parameters: "label_smoothing = ε ∈ [0, 1) (default 0)",
                source: "Melnyk et al. 2024; TRL loss_type aot",
                build: |table| build(table, false),
            },
        ),
        (
            "aot_unpaired",
            LossEntry {
                description: "AOT unpaired: sorted chosen log-ratios against sorted rejected ones (sorts over the batch)",
                parameters: "label_smoothing = ε ∈ [0, 1) (default 0)",
                source: "Melnyk et al. 2024; TRL loss_type aot_unpaired",
                build: |table| build(table, true),
            },
        ),
    ]
}
