//! A log-linear policy π_θ(y) ∝ exp(φ(y)·θ) with fixed features φ `[K, P]`: with P < K it
//! cannot represent every distribution, the "limited model capacity" of the paper's
//! constraints. With φ = I it is the softmax policy.

use burn::tensor::{Tensor, TensorData, activation::log_softmax};
use serde::Deserialize;
use std::sync::Arc;
use workbench::losses::ParamError;
use workbench::policy::{PolicyFamily, PolicySetting};

/// π_θ = softmax(φ θ) for every variant.
#[derive(Debug, Clone)]
pub struct LogLinear {
    /// φᵀ, `[P, K]` row-major (so that θ `[V, P]` · φᵀ gives the logits `[V, K]`).
    features_t: Vec<f64>,
    actions: usize,
    init: Vec<f64>,
}

impl PolicyFamily for LogLinear {
    fn initial(&self) -> Vec<f64> {
        self.init.clone()
    }

    fn log_probs(&self, theta: Tensor<2>) -> Tensor<2> {
        let p = self.init.len();
        let features = Tensor::<2>::from_data(
            TensorData::new(self.features_t.clone(), [p, self.actions]),
            &theta.device(),
        );
        log_softmax(theta.matmul(features), 1)
    }
}

/// `[policy] name = "log_linear"` keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    /// φ(y) for each of the K actions, each of length P.
    features: Vec<Vec<f64>>,
    /// θ₀ (default zeros: the uniform policy).
    init: Option<Vec<f64>>,
}

/// Builds the family from its `[policy]` keys; errors name the key.
pub fn build(
    table: &toml::Table,
    setting: PolicySetting<'_>,
) -> Result<Arc<dyn PolicyFamily>, ParamError> {
    let keys: Keys = workbench::losses::parse_params(table)?;
    let k = setting.pi_ref.len();
    let p = keys.features.first().map_or(0, Vec::len);
    let rectangular = keys.features.len() == k && keys.features.iter().all(|f| f.len() == p);
    let finite = keys.features.iter().flatten().all(|x| x.is_finite());
    if !(rectangular && finite && p >= 1) {
        return Err(ParamError::from(format!(
            "features = {:?}: needs {k} rows (one per action) of P >= 1 finite numbers each",
            keys.features
        )));
    }
    let init = keys.init.unwrap_or_else(|| vec![0.0; p]);
    if init.len() != p || !init.iter().all(|x| x.is_finite()) {
        return Err(ParamError::from(format!(
            "init = {init:?}: needs {p} finite numbers"
        )));
    }
    let features_t = (0..p)
        .flat_map(|j| keys.features.iter().map(move |row| row[j]))
        .collect();
    Ok(Arc::new(LogLinear {
        features_t,
        actions: k,
        init,
    }))
}
