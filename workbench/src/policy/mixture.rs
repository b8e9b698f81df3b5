//! Policies that are linear in one parameter θ ∈ [0, 1]: the convex mixture of Section 3.3
//! (π = θ·p₁ + (1 − θ)·p₀) and the two-point policy of Section 5.2 (π = [θ, 1 − θ]).
//!
//! Their probabilities can reach 0 at the ends of [0, 1], where log π is −∞ and losses
//! have infinite slopes. log π is therefore taken of (1 − Kε)·π + ε with ε = 1e-12
//! ([`PROBABILITY_FLOOR`]): values and gradients stay finite, the loss at an end point
//! moves by O(√ε), and an infinite slope becomes a slope of order 1/√ε, so a projected
//! step from an end point where the slope is −∞ still lands on that end point (θ = 1 stays
//! absorbing in Table 1).

use super::BanditPolicy;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

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
        let k = self.direction.dims()[1] as f64;
        let pi = self.p0.clone() + self.theta.val() * self.direction.clone();
        pi.mul_scalar(1.0 - k * PROBABILITY_FLOOR)
            .add_scalar(PROBABILITY_FLOOR)
            .log()
    }

    fn parameters(&self) -> Tensor<2> {
        self.theta.val()
    }

    fn map_parameters(self, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Self {
        Self {
            theta: self
                .theta
                .map(|theta| f(theta.inner()).autodiff().require_grad()),
            ..self
        }
    }
}
