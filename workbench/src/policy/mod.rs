//! Bandit policies: burn modules whose parameters carry a leading `variants` axis, so a
//! sweep (over α, seeds, ratios) is one batch trained in one loop.

mod mixture;
mod softmax;

pub use mixture::{ConvexMixture, PROBABILITY_FLOOR};
pub use softmax::{PolicyInit, SoftmaxPolicy};

use burn::module::Module;
use burn::tensor::Tensor;

/// A batch of policies over K actions.
pub trait BanditPolicy: Module + Clone {
    /// log π_θ for every variant, `[variants, K]`.
    fn log_probs(&self) -> Tensor<2>;

    /// The trainable parameter θ, `[variants, P]` (what weight decay penalises).
    fn parameters(&self) -> Tensor<2>;

    /// Replaces θ by `f(θ)` outside the autodiff graph (projections, decoupled decay): `f`
    /// receives θ without autodiff, and its result becomes a fresh trainable leaf.
    fn map_parameters(self, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Self;
}

/// Every bandit policy, with a one-line description, for `workbench list`.
pub const POLICIES: [(&str, &str); 3] = [
    (
        "softmax",
        "π = softmax(θ), θ ∈ R^K per variant; init = \"log_pi_ref\" (default) | \"zeros\" | [θ..]",
    ),
    (
        "convex_mixture",
        "π = θ·p₁ + (1 − θ)·p₀, θ ∈ [0, 1]; components = [p₀, p₁], init = θ₀ (Section 3.3)",
    ),
    ("two_point", "π = [θ, 1 − θ], θ ∈ [0, 1] (Section 5.2)"),
];
