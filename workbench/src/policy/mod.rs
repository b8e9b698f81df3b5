//! Bandit policies: burn modules whose parameters carry a leading `variants` axis, so a
//! sweep (over α, seeds, ratios) is one batch trained in one loop.

mod softmax;

pub use softmax::{PolicyInit, SoftmaxPolicy};

use burn::module::Module;
use burn::tensor::Tensor;

/// A batch of policies over K actions.
pub trait BanditPolicy: Module + Clone {
    /// log π_θ for every variant, `[variants, K]`.
    fn log_probs(&self) -> Tensor<2>;

    /// The trainable parameter θ, `[variants, P]` (what weight decay penalises).
    fn parameters(&self) -> Tensor<2>;

    /// Replaces θ by `f(θ)` outside the autodiff graph (projections, decoupled decay).
    fn map_parameters(self, f: &dyn Fn(Tensor<2>) -> Tensor<2>) -> Self;
}

/// Every bandit policy, with a one-line description, for `workbench list`.
pub const POLICIES: [(&str, &str); 1] = [(
    "softmax",
    "π = softmax(θ), θ ∈ R^K per variant; init = \"log_pi_ref\" (default) | \"zeros\" | [θ..]",
)];
