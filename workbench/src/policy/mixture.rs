//! Policies that are linear in one parameter θ ∈ [0, 1]: the convex mixture of Section 3.3
//! (π = θ·p₁ + (1 − θ)·p₀) and the two-point policy of Section 5.2 (π = [θ, 1 − θ]).
//!
//! Their probabilities can reach 0 at the ends of [0, 1], where log π is −∞ and losses
//! have infinite slopes. log π is therefore taken of (1 − Kε)·π + ε with ε = 1e-12
//! ([`PROBABILITY_FLOOR`]): values and gradients stay finite, the loss at an end point
//! moves by O(√ε), and an infinite slope becomes a slope of order 1/√ε, so a projected
//! step from an end point where the slope is −∞ still lands on that end point (θ = 1 stays
//! absorbing in Table 1).

use super::{BanditPolicy, PolicyFamily, PolicySetting};
use crate::constraints::Projection;
use crate::losses::ParamError;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;
use std::sync::Arc;

/// The ε of `(1 − Kε)·π + ε` inside log π.
pub const PROBABILITY_FLOOR: f64 = 1e-12;

/// π_θ = θ·p₁ + (1 − θ)·p₀ for `variants` values of θ; the components are fixed.
#[derive(Module, Debug)]
pub struct ConvexMixture {
    /// θ, `[variants, 1]`.
    pub theta: Param<Tensor<2>>,
    /// p₀, `[1, K]` (not trained).
    p0: Tensor<2>,
    /// p₁ − p₀, `[1, K]` (not trained).
    direction: Tensor<2>,
}

impl ConvexMixture {
    /// `variants` copies starting at `theta`, mixing `p0` (θ = 0) and `p1` (θ = 1).
    pub fn new(p0: &[f64], p1: &[f64], theta: f64, variants: usize, device: &Device) -> Self {
        let k = p0.len();
        let row = |v: Vec<f64>| Tensor::<2>::from_data(TensorData::new(v, [1, k]), device);
        let direction: Vec<f64> = p1.iter().zip(p0).map(|(a, b)| a - b).collect();
        let theta = Tensor::<2>::from_data(
            TensorData::new(vec![theta; variants], [variants, 1]),
            device,
        );
        Self {
            theta: Param::from_tensor(theta),
            p0: row(p0.to_vec()),
            direction: row(direction),
        }
    }

    /// A two-point policy π = [θ, 1 − θ] (p₁ = [1, 0], p₀ = [0, 1]) with one θ per variant.
    pub fn two_point(theta: &[f64], device: &Device) -> Self {
        let mut policy = Self::new(&[0.0, 1.0], &[1.0, 0.0], 0.0, theta.len(), device);
        let values =
            Tensor::<2>::from_data(TensorData::new(theta.to_vec(), [theta.len(), 1]), device);
        policy.theta = Param::from_tensor(values);
        policy
    }
}

impl BanditPolicy for ConvexMixture {
    fn log_probs(&self) -> Tensor<2> {
        floored_log(self.p0.clone() + self.theta.val() * self.direction.clone())
    }

    fn parameters(&self) -> Tensor<2> {
        self.theta.val()
    }

    fn map_parameters(self, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Self {
        Self {
            theta: super::remap(self.theta, f),
            ..self
        }
    }
}

/// log((1 − Kε)·π + ε) of probabilities π `[variants, K]`, ε = [`PROBABILITY_FLOOR`].
fn floored_log(pi: Tensor<2>) -> Tensor<2> {
    let k = pi.dims()[1] as f64;
    pi.mul_scalar(1.0 - k * PROBABILITY_FLOOR)
        .add_scalar(PROBABILITY_FLOOR)
        .log()
}

/// `[policy] name = "convex_mixture"` (or `"two_point"`): π_θ = θ·p₁ + (1 − θ)·p₀ with
/// θ ∈ [0, 1] kept there by projection.
#[derive(Debug, Clone)]
pub struct MixtureFamily {
    p0: Vec<f64>,
    direction: Vec<f64>,
    init: f64,
}

impl MixtureFamily {
    /// The mixture of `p0` (θ = 0) and `p1` (θ = 1), starting at `init`.
    pub fn new(p0: &[f64], p1: &[f64], init: f64) -> Self {
        Self {
            p0: p0.to_vec(),
            direction: p1.iter().zip(p0).map(|(a, b)| a - b).collect(),
            init,
        }
    }
}

impl PolicyFamily for MixtureFamily {
    fn initial(&self) -> Vec<f64> {
        vec![self.init]
    }

    fn log_probs(&self, theta: Tensor<2>) -> Tensor<2> {
        let device = theta.device();
        let k = self.p0.len();
        let row = |v: &[f64]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, k]), &device);
        floored_log(row(&self.p0) + theta * row(&self.direction))
    }

    fn domain(&self) -> Option<Projection> {
        Some(Projection::Interval { lo: 0.0, hi: 1.0 })
    }
}

/// The keys of `[policy] name = "convex_mixture"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MixtureKeys {
    components: Vec<Vec<f64>>,
    #[serde(default = "half")]
    init: f64,
}

fn half() -> f64 {
    0.5
}

/// θ₀ in [0, 1], or the error naming `init`.
fn check_init(init: f64) -> Result<f64, ParamError> {
    if (0.0..=1.0).contains(&init) {
        Ok(init)
    } else {
        Err(ParamError::from(format!(
            "init = {init}: must lie in [0, 1]"
        )))
    }
}

/// Builds the convex mixture from its `[policy]` keys: `components = [p0, p1]`, each a
/// distribution over the bandit's K actions, and `init` = θ₀ (default 0.5).
pub fn build_convex_mixture(
    table: &toml::Table,
    setting: PolicySetting<'_>,
) -> Result<Arc<dyn PolicyFamily>, ParamError> {
    let keys: MixtureKeys = crate::losses::parse_params(table)?;
    let k = setting.pi_ref.len();
    let [p0, p1] = keys.components.as_slice() else {
        return Err(ParamError::from(format!(
            "components = {:?}: needs two distributions [p0, p1]",
            keys.components
        )));
    };
    for (i, p) in [p0, p1].into_iter().enumerate() {
        let total: f64 = p.iter().sum();
        let ok = p.len() == k
            && p.iter().all(|x| x.is_finite() && *x >= 0.0)
            && (total - 1.0).abs() <= 1e-9;
        if !ok {
            return Err(ParamError::from(format!(
                "components[{i}] = {p:?}: must be {k} non-negative probabilities summing to 1"
            )));
        }
    }
    Ok(Arc::new(MixtureFamily::new(p0, p1, check_init(keys.init)?)))
}

/// `init` of the two-point policy: θ₀ itself, or `"pi_ref"` (θ₀ = π_ref(a)).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TwoPointInit {
    Named(String),
    Value(f64),
}

/// The keys of `[policy] name = "two_point"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwoPointKeys {
    init: Option<TwoPointInit>,
}

/// Builds the two-point policy π_θ = [θ, 1 − θ] (Section 5.2) for a bandit with K = 2;
/// `init` = θ₀ or `"pi_ref"` (the default: training starts at π_ref, as in Table 1).
pub fn build_two_point(
    table: &toml::Table,
    setting: PolicySetting<'_>,
) -> Result<Arc<dyn PolicyFamily>, ParamError> {
    let keys: TwoPointKeys = crate::losses::parse_params(table)?;
    let k = setting.pi_ref.len();
    if k != 2 {
        return Err(ParamError::from(format!(
            "the two-point policy needs a bandit with 2 actions, not {k}"
        )));
    }
    let init = match keys.init {
        None => setting.pi_ref[0],
        Some(TwoPointInit::Named(name)) if name == "pi_ref" => setting.pi_ref[0],
        Some(TwoPointInit::Named(name)) => {
            return Err(ParamError::from(format!(
                "init = {name:?}: expected a number or \"pi_ref\""
            )));
        }
        Some(TwoPointInit::Value(v)) => check_init(v)?,
    };
    Ok(Arc::new(MixtureFamily::new(&[0.0, 1.0], &[1.0, 0.0], init)))
}
