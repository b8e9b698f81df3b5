//! Bandit policies: burn modules whose parameters carry a leading `variants` axis, so a
//! sweep (over α, seeds, ratios) is one batch trained in one loop.

mod family;
mod mixture;
mod softmax;

pub use family::{FamilyPolicy, PolicyConstructor, PolicyEntry, PolicyFamily, PolicySetting};
pub use mixture::{ConvexMixture, MixtureFamily, PROBABILITY_FLOOR};
pub use softmax::{InitValue, PolicyInit, SoftmaxFamily, SoftmaxPolicy};

use burn::module::{Module, Param};
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

/// `f(θ)` computed outside the autodiff graph and made a fresh trainable leaf: what every
/// [`BanditPolicy::map_parameters`] does to its parameter.
fn remap(theta: Param<Tensor<2>>, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Param<Tensor<2>> {
    theta.map(|theta| f(theta.inner()).autodiff().require_grad())
}

/// The built-in families (`softmax`, `convex_mixture`, `two_point`) by name.
pub fn builtin() -> Vec<(&'static str, PolicyEntry)> {
    vec![
        (
            "softmax",
            PolicyEntry {
                description: "π = softmax(θ), θ ∈ R^K per variant",
                parameters: "init = \"log_pi_ref\" (default) | \"zeros\" | [θ_1, …, θ_K]",
                build: softmax::build_softmax,
            },
        ),
        (
            "convex_mixture",
            PolicyEntry {
                description: "π = θ·p₁ + (1 − θ)·p₀, θ ∈ [0, 1] kept there by projection (Section 3.3)",
                parameters: "components = [p₀, p₁] (distributions over the K actions), init = θ₀ (default 0.5)",
                build: mixture::build_convex_mixture,
            },
        ),
        (
            "two_point",
            PolicyEntry {
                description: "π = [θ, 1 − θ], θ ∈ [0, 1], for K = 2 actions (Section 5.2)",
                parameters: "init = θ₀ | \"pi_ref\" (default: θ₀ = π_ref(a))",
                build: mixture::build_two_point,
            },
        ),
    ]
}
