//! Constraints change the problem, not the loss code (Section 3): a penalty added to the
//! loss, a change of update, or an epoch budget. A run lists several; they compose.

mod projection;

pub use projection::Projection;

use burn::tensor::{Device, Tensor, TensorData};

/// One learning constraint acting on a batch of `variants` models.
pub trait Constraint: std::fmt::Debug {
    /// A penalty per variant added to the loss, `[variants]`.
    fn penalty(&self, _parameters: Tensor<2>) -> Option<Tensor<1>> {
        None
    }

    /// A change applied to θ after each optimiser step (learning rate `lr`).
    fn after_step(&self, parameters: Tensor<2>, _lr: f64) -> Tensor<2> {
        parameters
    }

    /// A limit on the number of epochs.
    fn epoch_budget(&self) -> Option<usize> {
        None
    }
}

/// A per-variant coefficient as a `[variants, 1]` column.
fn column(values: &[f64], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len(), 1]), device)
}

/// α‖θ‖²₂ added to the loss (App. B.1), one α per variant.
#[derive(Debug, Clone)]
pub struct WeightDecay {
    alpha: Tensor<2>,
}

impl WeightDecay {
    /// One α per variant.
    pub fn new(alpha: &[f64], device: &Device) -> Self {
        Self {
            alpha: column(alpha, device),
        }
    }
}

impl Constraint for WeightDecay {
    fn penalty(&self, parameters: Tensor<2>) -> Option<Tensor<1>> {
        let [variants, _] = parameters.dims();
        let penalty = parameters.powi_scalar(2).sum_dim(1) * self.alpha.clone();
        Some(penalty.reshape([variants]))
    }
}

/// Decoupled weight decay (AdamW style): θ ← θ − lr·α·θ after each step, one α per variant.
#[derive(Debug, Clone)]
pub struct DecoupledWeightDecay {
    alpha: Tensor<2>,
}

impl DecoupledWeightDecay {
    /// One α per variant.
    pub fn new(alpha: &[f64], device: &Device) -> Self {
        Self {
            alpha: column(alpha, device),
        }
    }
}

impl Constraint for DecoupledWeightDecay {
    fn after_step(&self, parameters: Tensor<2>, lr: f64) -> Tensor<2> {
        let shrink = self.alpha.clone().mul_scalar(-lr).add_scalar(1.0);
        parameters * shrink
    }
}

/// Stop training after `epochs` epochs.
#[derive(Debug, Clone, Copy)]
pub struct EarlyStop {
    /// The epoch budget.
    pub epochs: usize,
}

impl Constraint for EarlyStop {
    fn epoch_budget(&self) -> Option<usize> {
        Some(self.epochs)
    }
}

/// Every constraint kind, with a one-line description, for `workbench list` (which shows
/// those that some experiment kind accepts).
pub const CONSTRAINTS: [(&str, &str); 7] = [
    (
        "weight_decay",
        "α‖θ‖² added to the loss (App. B.1); alpha = number, or a grid to sweep",
    ),
    (
        "decoupled_weight_decay",
        "θ ← θ − lr·α·θ after each step (AdamW style); alpha = number or grid",
    ),
    (
        "early_stop",
        "stop after `epochs` epochs; every epoch's policy can be recorded",
    ),
    (
        "interval",
        "projection of θ onto [lo, hi] after each step (projected Adam / GD)",
    ),
    (
        "l2_ball",
        "projection of θ onto ‖θ‖₂ ≤ radius after each step",
    ),
    (
        "ratio",
        "eq. (40) on softmax logits: π(numerator)/π(denominator) ≥ min_ratio",
    ),
    (
        "simplex",
        "projection of θ onto the probability simplex {θ ≥ 0, Σθ = 1} after each step ([constraints.simplex], no keys)",
    ),
];
