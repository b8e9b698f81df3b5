//! The transformer's layers on a stream of rows `[rows, width]`, with every bias-like
//! parameter (linear biases, layer-norm scale and shift) broadcast over the rows by a
//! matrix product with a column of ones rather than by a broadcasting add or multiply.
//!
//! Both give the same forward values (`1 · b` is `b` exactly), but their gradients take
//! different paths in burn 0.22. A broadcasting op's backward sums the rows with the
//! backend's `sum_dim` over the leading dimension, which burn-flex computes for f64 with a
//! generic strided loop (a quarter of an f64 training step at the default shape); the
//! product's backward is one `[1, rows] @ [rows, width]` matrix product. And burn's own
//! `linear` on a `[batch, time, d]` input multiplies each sequence by a broadcast weight,
//! whose backward sums `batch` per-sequence weight gradients the same slow way; on rows
//! it is one matrix product. `workbench/examples/rows_backward.rs` times both paths.

use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::Tensor;

/// A column of ones `[rows, 1]` on the device of `like`, to broadcast parameters with.
pub fn ones_column(like: &Tensor<2>) -> Tensor<2> {
    let [rows, _] = like.dims();
    Tensor::ones([rows, 1], &like.device())
}

/// `parameter` `[width]` repeated on every row, `[rows, width]`.
fn repeat(parameter: Tensor<1>, ones: &Tensor<2>) -> Tensor<2> {
    ones.clone().matmul(parameter.unsqueeze_dim(0))
}

/// burn's `Linear::forward` on rows: `x @ weight + bias`.
pub fn linear(layer: &Linear, x: Tensor<2>, ones: &Tensor<2>) -> Tensor<2> {
    let product = x.matmul(layer.weight.val());
    match &layer.bias {
        Some(bias) => product + repeat(bias.val(), ones),
        None => product,
    }
}

/// burn's `LayerNorm::forward` on rows, with its arithmetic (burn-backend's default
/// `layer_norm`): centre, divide by √(var + ε) with the biased variance, scale, shift.
pub fn layer_norm(norm: &LayerNorm, x: Tensor<2>, ones: &Tensor<2>) -> Tensor<2> {
    let centered = x.clone() - x.mean_dim(1);
    let var = (centered.clone() * centered.clone()).mean_dim(1);
    let normalized = centered / (var + LayerNormConfig::new(1).epsilon).sqrt();
    let scaled = normalized * repeat(norm.gamma.val(), ones);
    match &norm.beta {
        Some(beta) => scaled + repeat(beta.val(), ones),
        None => scaled,
    }
}
