//! The SLiC hinge loss, Zhao et al. (2023), "SLiC-HF: Sequence Likelihood Calibration with
//! Human Feedback", in TRL's form: ℓ = max(0, 1 − β·h), with h the DPO margin
//! log[π_θ(y_w)/π_ref(y_w)] − log[π_θ(y_l)/π_ref(y_l)].

use burn::tensor::Tensor;
use serde::Deserialize;
use workbench::losses::{PairLogProbs, PairwiseLoss};

/// The hinge loss. No parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hinge {}

impl PairwiseLoss for Hinge {
    fn label(&self) -> String {
        "plugin_hinge".into()
    }

    fn loss(&self, inputs: &PairLogProbs, beta: f64) -> Tensor<2> {
        inputs
            .margin()
            .mul_scalar(-beta)
            .add_scalar(1.0)
            .clamp_min(0.0)
    }
}
