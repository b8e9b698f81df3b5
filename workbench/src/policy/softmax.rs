//! π_θ = softmax(θ), θ ∈ R^K (Section 3.3, App. B.1).

use super::BanditPolicy;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData, activation::log_softmax};

/// Where θ starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyInit {
    /// θ = log π_ref, so training starts at π_ref (the default).
    LogPiRef,
    /// θ = 0 (the uniform policy).
    Zeros,
    /// θ as given.
    Explicit(Vec<f64>),
}

impl PolicyInit {
    /// The initial logits for a problem with reference `pi_ref`.
    pub fn logits(&self, pi_ref: &[f64]) -> Vec<f64> {
        match self {
            Self::LogPiRef => pi_ref.iter().map(|p| p.ln()).collect(),
            Self::Zeros => vec![0.0; pi_ref.len()],
            Self::Explicit(theta) => theta.clone(),
        }
    }
}

/// `variants` independent softmax policies, θ shaped `[variants, K]`.
#[derive(Module, Debug)]
pub struct SoftmaxPolicy {
    /// The logits θ.
    pub logits: Param<Tensor<2>>,
}

impl SoftmaxPolicy {
    /// `variants` copies of the policy with logits `theta`.
    pub fn new(theta: &[f64], variants: usize, device: &Device) -> Self {
        let k = theta.len();
        let data: Vec<f64> = theta.iter().copied().cycle().take(k * variants).collect();
        let logits = Tensor::<2>::from_data(TensorData::new(data, [variants, k]), device);
        Self {
            logits: Param::from_tensor(logits),
        }
    }
}

impl BanditPolicy for SoftmaxPolicy {
    fn log_probs(&self) -> Tensor<2> {
        log_softmax(self.logits.val(), 1)
    }

    fn parameters(&self) -> Tensor<2> {
        self.logits.val()
    }

    fn map_parameters(self, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Self {
        Self {
            logits: self
                .logits
                .map(|theta| f(theta.inner()).autodiff().require_grad()),
        }
    }
}
