//! Helpers for testing a pairwise loss: its gradient against central finite differences and
//! its value on a known input. Use them on an f64 device with autodiff (e.g.
//! `backends::device(BackendName::Flex, Precision::F64)`).

use super::{PairLogProbs, PairwiseLoss};
use burn::tensor::{Device, Tensor, TensorData};

/// One pair's four log-probabilities: (policy chosen, policy rejected, reference chosen,
/// reference rejected).
pub type Pair = [f64; 4];

fn column(values: Vec<f64>, device: &Device) -> Tensor<2> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [1, n]), device)
}

fn inputs(pairs: &[Pair], device: &Device) -> PairLogProbs {
    let take = |i: usize| column(pairs.iter().map(|p| p[i]).collect(), device);
    PairLogProbs::new(take(0), take(1), take(2), take(3))
}

/// The per-pair losses of `loss` on `pairs` with trade-off `beta`.
pub fn values(loss: &dyn PairwiseLoss, pairs: &[Pair], beta: f64, device: &Device) -> Vec<f64> {
    crate::tensors::to_vec(loss.loss(&inputs(pairs, device), beta))
}

/// Autodiff gradients of Σ loss with respect to log π_θ(y_w) and log π_θ(y_l) of every pair.
pub fn gradients(
    loss: &dyn PairwiseLoss,
    pairs: &[Pair],
    beta: f64,
    device: &Device,
) -> [Vec<f64>; 2] {
    let side = |side: usize| {
        let mut tracked = inputs(pairs, device);
        let leaf = column(pairs.iter().map(|p| p[side]).collect(), device).require_grad();
        if side == 0 {
            tracked.policy_chosen = leaf.clone();
        } else {
            tracked.policy_rejected = leaf.clone();
        }
        // 0·Σ leaf keeps the leaf in the graph for a loss that ignores this side (`sft`
        // never reads y_l), whose backward pass would otherwise have nothing to track.
        let total = loss.loss(&tracked, beta).sum() + leaf.clone().sum().mul_scalar(0.0);
        let grads = total.backward();
        leaf.grad(&grads)
            .map(crate::tensors::to_vec)
            .unwrap_or_else(|| vec![0.0; pairs.len()])
    };
    [side(0), side(1)]
}

/// The largest |autodiff − central difference| over ∂(Σ loss)/∂ log π_θ(y_w) and
/// ∂/∂ log π_θ(y_l) of every pair (step 1e-6; expect about 1e-8 in f64). A loss that holds
/// a batch statistic constant in its gradient (like `bco_pair`'s δ) differs from finite
/// differences by design; check it against its own formula with [`gradients`].
pub fn max_gradient_error(
    loss: &dyn PairwiseLoss,
    pairs: &[Pair],
    beta: f64,
    device: &Device,
) -> f64 {
    let total = |pairs: &[Pair]| values(loss, pairs, beta, device).iter().sum::<f64>();
    let analytic = gradients(loss, pairs, beta, device);
    let mut worst: f64 = 0.0;
    for (side, grads) in analytic.iter().enumerate() {
        for (i, a) in grads.iter().enumerate() {
            let h = 1e-6;
            let (mut plus, mut minus) = (pairs.to_vec(), pairs.to_vec());
            plus[i][side] += h;
            minus[i][side] -= h;
            let numeric = (total(&plus) - total(&minus)) / (2.0 * h);
            worst = worst.max((a - numeric).abs());
        }
    }
    worst
}

/// A few pairs with log-probabilities spread over typical values, for gradient checks.
pub const SAMPLE_PAIRS: [Pair; 4] = [
    [-0.5, -1.5, -1.0, -1.0],
    [-2.0, -0.3, -1.2, -0.8],
    [-0.1, -3.0, -0.7, -0.7],
    [-1.1, -1.0, -0.9, -1.3],
];
