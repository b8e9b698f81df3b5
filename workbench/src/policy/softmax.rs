//! π_θ = softmax(θ), θ ∈ R^K (Section 3.3, App. B.1).

use super::{BanditPolicy, PolicyFamily, PolicySetting};
use crate::losses::ParamError;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData, activation::log_softmax};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
            logits: super::remap(self.logits, f),
        }
    }
}

/// `[policy] name = "softmax"`: θ ∈ R^K, π_θ = softmax(θ).
#[derive(Debug, Clone)]
pub struct SoftmaxFamily {
    /// θ₀.
    pub init: Vec<f64>,
}

impl PolicyFamily for SoftmaxFamily {
    fn initial(&self) -> Vec<f64> {
        self.init.clone()
    }

    fn log_probs(&self, theta: Tensor<2>) -> Tensor<2> {
        log_softmax(theta, 1)
    }
}

/// A named initialisation or explicit logits (`init = "log_pi_ref"`, `"zeros"`, `[θ..]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InitValue {
    /// `log_pi_ref` or `zeros`.
    Name(String),
    /// θ itself.
    Logits(Vec<f64>),
}

impl Default for InitValue {
    fn default() -> Self {
        Self::Name("log_pi_ref".into())
    }
}

impl InitValue {
    /// The checked initialisation for K actions; the error names `init`.
    pub fn check(&self, k: usize) -> Result<PolicyInit, ParamError> {
        match self {
            Self::Name(n) if n == "log_pi_ref" => Ok(PolicyInit::LogPiRef),
            Self::Name(n) if n == "zeros" => Ok(PolicyInit::Zeros),
            Self::Name(n) => Err(ParamError::from(format!(
                "init = {n:?}: expected \"log_pi_ref\", \"zeros\" or a list of {k} logits"
            ))),
            Self::Logits(theta) if theta.len() == k && theta.iter().all(|t| t.is_finite()) => {
                Ok(PolicyInit::Explicit(theta.clone()))
            }
            Self::Logits(theta) => Err(ParamError::from(format!(
                "init = {theta:?}: explicit logits must be {k} finite numbers"
            ))),
        }
    }
}

/// The keys of `[policy] name = "softmax"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SoftmaxKeys {
    #[serde(default)]
    init: InitValue,
}

/// Builds the softmax family from its `[policy]` keys.
pub fn build_softmax(
    table: &toml::Table,
    setting: PolicySetting<'_>,
) -> Result<Arc<dyn PolicyFamily>, ParamError> {
    let keys: SoftmaxKeys = crate::losses::parse_params(table)?;
    let init = keys.init.check(setting.pi_ref.len())?;
    Ok(Arc::new(SoftmaxFamily {
        init: init.logits(setting.pi_ref),
    }))
}
