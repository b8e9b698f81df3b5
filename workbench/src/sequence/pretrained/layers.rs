//! The pieces both families share, on the rows `[batch · time, width]` of the residual
//! stream (see [`crate::sequence::rows`] for why rows): LayerNorm and RMSNorm with a
//! checkpoint's ε, rotary position embeddings, and causal attention over a right-padded
//! batch with grouped key/value heads.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Tensor, TensorData};

/// A LayerNorm (GPT-NeoX) or an RMSNorm (Llama family) and its ε.
#[derive(Module, Debug)]
pub struct Norm {
    /// Scale γ `[width]`.
    pub weight: Param<Tensor<1>>,
    /// Shift β `[width]` (LayerNorm only).
    pub bias: Option<Param<Tensor<1>>>,
    /// ε added to the variance (or mean square) under the square root.
    #[module(skip)]
    pub eps: f64,
    /// An RMSNorm (no centring, no shift) rather than a LayerNorm.
    #[module(skip)]
    pub rms: bool,
}

/// A parameter under its checkpoint name, in burn's layout.
#[derive(Debug, Clone)]
pub enum Parameter {
    /// A vector (bias, norm scale or shift), laid out as in the checkpoint.
    Vector(Tensor<1>),
    /// A matrix laid out as in the checkpoint (an embedding table).
    Matrix(Tensor<2>),
    /// A linear layer's weight: burn holds `[in, out]`, the checkpoint its transpose.
    Transposed(Tensor<2>),
}

/// `name.weight` and `name.bias` of a linear layer.
pub fn linear_parameters(name: &str, layer: &burn::nn::Linear) -> Vec<(String, Parameter)> {
    let mut named = vec![(
        format!("{name}.weight"),
        Parameter::Transposed(layer.weight.val()),
    )];
    if let Some(bias) = &layer.bias {
        named.push((format!("{name}.bias"), Parameter::Vector(bias.val())));
    }
    named
}

/// `parameter` `[width]` repeated on every row, `[rows, width]`, by a product with the
/// column of ones (exact: each entry is 1 · p).
fn repeat(parameter: Tensor<1>, ones: &Tensor<2>) -> Tensor<2> {
    ones.clone().matmul(parameter.unsqueeze_dim(0))
}

impl Norm {
    /// `name.weight` (and `name.bias` for a LayerNorm).
    pub fn parameters(&self, name: &str) -> Vec<(String, Parameter)> {
        let mut named = vec![(
            format!("{name}.weight"),
            Parameter::Vector(self.weight.val()),
        )];
        if let Some(bias) = &self.bias {
            named.push((format!("{name}.bias"), Parameter::Vector(bias.val())));
        }
        named
    }

    /// The norm on rows `x`.
    pub fn forward(&self, x: Tensor<2>, ones: &Tensor<2>) -> Tensor<2> {
        if self.rms {
            self.rms_norm(x, ones)
        } else {
            self.layer_norm(x, ones)
        }
    }

    /// torch's `nn.LayerNorm`: (x − mean) / √(biased variance + ε) · γ + β.
    pub fn layer_norm(&self, x: Tensor<2>, ones: &Tensor<2>) -> Tensor<2> {
        let centered = x.clone() - x.mean_dim(1);
        let var = centered.clone().square().mean_dim(1);
        let normalized = centered / (var.add_scalar(self.eps)).sqrt();
        let scaled = normalized * repeat(self.weight.val(), ones);
        match &self.bias {
            Some(bias) => scaled + repeat(bias.val(), ones),
            None => scaled,
        }
    }

    /// transformers' `LlamaRMSNorm`: γ · (x / √(mean(x²) + ε)).
    pub fn rms_norm(&self, x: Tensor<2>, ones: &Tensor<2>) -> Tensor<2> {
        let mean_square = x.clone().square().mean_dim(1);
        let normalized = x * mean_square.add_scalar(self.eps).sqrt().recip();
        repeat(self.weight.val(), ones) * normalized
    }
}

/// Rotary position embeddings (RoPE) for positions 0..time, rotating the first `dims`
/// dimensions of each head in transformers' "rotate half" layout: dimension j < dims/2
/// pairs with j + dims/2, both turned by the angle t · θ^(−2j/dims).
///
/// The angles, cosines and sines are computed in f64 on the host and then converted to
/// the run's float type. transformers computes them in f32 even for a float64 model;
/// the f64 oracle lifts that cast (tests/oracle/hf_models.py), and in f32 the two differ
/// by the rounding of one f32 cosine.
pub struct Rope {
    /// cos(t · ω_j) `[1, 1, time, dims]`.
    cos: Tensor<4>,
    /// sin(t · ω_j) `[1, 1, time, dims]`.
    sin: Tensor<4>,
    /// Rotated dimensions per head.
    dims: usize,
}

impl Rope {
    /// The tables for `time` positions with base `theta`.
    pub fn new(theta: f64, dims: usize, time: usize, device: &Device) -> Self {
        let half = dims / 2;
        let inverse: Vec<f64> = (0..half)
            .map(|j| 1.0 / theta.powf((2 * j) as f64 / dims as f64))
            .collect();
        let mut cos = Vec::with_capacity(time * dims);
        let mut sin = Vec::with_capacity(time * dims);
        for t in 0..time {
            for j in 0..dims {
                let angle = t as f64 * inverse[j % half];
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let table = |values: Vec<f64>| {
            Tensor::from_data(TensorData::new(values, [1, 1, time, dims]), device)
        };
        Self {
            cos: table(cos),
            sin: table(sin),
            dims,
        }
    }

    /// `x` `[batch, heads, time, head_dim]` with its first `dims` dimensions rotated.
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, _, head_dim] = x.dims();
        let half = self.dims / 2;
        let rotated = x.clone().narrow(3, 0, self.dims);
        let turned = Tensor::cat(
            vec![
                rotated.clone().narrow(3, half, half).neg(),
                rotated.clone().narrow(3, 0, half),
            ],
            3,
        );
        let embedded = rotated * self.cos.clone() + turned * self.sin.clone();
        if self.dims == head_dim {
            embedded
        } else {
            Tensor::cat(
                vec![embedded, x.narrow(3, self.dims, head_dim - self.dims)],
                3,
            )
        }
    }
}

/// The attention mask `[batch, 1, time, time]` of a right-padded batch: true (masked)
/// where the key comes after the query or is padding. A real query always sees key 0.
pub fn attention_mask(lengths: &[usize], time: usize, device: &Device) -> Tensor<4, Bool> {
    let mut masked = Vec::with_capacity(lengths.len() * time * time);
    for &length in lengths {
        for query in 0..time {
            masked.extend((0..time).map(|key| key > query || key >= length));
        }
    }
    Tensor::from_data(
        TensorData::new(masked, [lengths.len(), 1, time, time]),
        device,
    )
}

/// Scaled dot-product attention of `query` `[batch, heads, time, d]` over `key` and
/// `value` `[batch, kv_heads, time, d]`: each group of heads / kv_heads consecutive query
/// heads shares one key/value head (transformers' `repeat_kv`). Returns rows
/// `[batch · time, heads · d]`.
pub fn attention(
    query: Tensor<4>,
    key: Tensor<4>,
    value: Tensor<4>,
    mask: &Tensor<4, Bool>,
) -> Tensor<2> {
    let [batch, heads, time, d] = query.dims();
    let kv_heads = key.dims()[1];
    let repeat_kv = |x: Tensor<4>| {
        if kv_heads == heads {
            x
        } else {
            x.unsqueeze_dim::<5>(2)
                .expand([batch, kv_heads, heads / kv_heads, time, d])
                .reshape([batch, heads, time, d])
        }
    };
    let scores = query
        .matmul(repeat_kv(key).transpose())
        .mul_scalar((d as f64).powf(-0.5))
        .mask_fill(mask.clone(), f64::NEG_INFINITY);
    softmax(scores, 3)
        .matmul(repeat_kv(value))
        .swap_dims(1, 2)
        .reshape([batch * time, heads * d])
}

/// `x` rows `[batch · time, heads · d]` as heads `[batch, heads, time, d]`.
pub fn heads(x: Tensor<2>, [batch, time]: [usize; 2], heads: usize) -> Tensor<4> {
    let [_, width] = x.dims();
    x.reshape([batch, time, heads, width / heads])
        .swap_dims(1, 2)
}
