//! The `transformer` policy: a decoder-only causal transformer from burn's `nn` modules
//! (token and learned position embeddings, pre-norm blocks of multi-head causal
//! self-attention and MLP, a final norm and an LM head). Its log π(y|x) is the sum of the
//! response tokens' log-probabilities; prompt tokens only condition.

use super::batch::SequenceBatch;
use super::rows;
use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderLayer,
};
use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Bool, Device, Int, Tensor};

/// The transformer's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformerShape {
    /// Vocabulary size, special tokens included.
    pub vocab: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Number of blocks.
    pub n_layers: usize,
    /// Attention heads per block (divides `d_model`).
    pub n_heads: usize,
    /// Hidden width of each block's MLP.
    pub d_ff: usize,
    /// Longest sequence (tokens, BOS and EOS included) the position embedding covers.
    pub context: usize,
}

impl TransformerShape {
    /// Number of trainable parameters.
    pub fn parameters(&self) -> usize {
        let (v, d, f, c) = (self.vocab, self.d_model, self.d_ff, self.context);
        let block = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d;
        v * d + c * d + self.n_layers * block + 2 * d + (d * v + v)
    }
}

/// burn's pre-norm encoder blocks, with masked attention scores set to −∞ rather than
/// burn's default −10⁴. Both give exactly 0 after the softmax (exp(−10⁴ − max) underflows
/// to 0 in f32 and f64 alike), so results are bitwise unchanged; but every underflowing
/// `exp` takes libm's slow underflow path, about a tenth of a training step, while
/// exp(−∞) = 0 is immediate. No row is fully masked (a position always sees itself).
fn causal_blocks(shape: &TransformerShape, device: &Device) -> TransformerEncoder {
    let mut blocks =
        TransformerEncoderConfig::new(shape.d_model, shape.d_ff, shape.n_heads, shape.n_layers)
            .with_norm_first(true)
            .with_dropout(0.0)
            .init(device);
    for layer in &mut blocks.layers {
        layer.mha.min_float = f64::NEG_INFINITY;
    }
    blocks
}

/// One pre-norm block on rows `[batch · time, d_model]`: x + attention(norm₂ x), then
/// x + MLP(norm₁ x), as burn's `TransformerEncoderLayer::forward` with `norm_first` (the
/// dropout is 0). `mask` is `[1, 1, time, time]`, true above the diagonal; `ones` is
/// `[batch · time, 1]`.
fn block(
    layer: &TransformerEncoderLayer,
    x: Tensor<2>,
    [batch, time]: [usize; 2],
    mask: &Tensor<4, Bool>,
    ones: &Tensor<2>,
) -> Tensor<2> {
    let mha = &layer.mha;
    let normed = rows::layer_norm(&layer.norm_2, x.clone(), ones);
    let heads = |projection: &Linear| {
        rows::linear(projection, normed.clone(), ones)
            .reshape([batch, time, mha.n_heads, mha.d_k])
            .swap_dims(1, 2)
    };
    let (query, key, value) = (heads(&mha.query), heads(&mha.key), heads(&mha.value));
    let scores = query
        .matmul(key.transpose())
        .div_scalar((mha.d_k as f32).sqrt())
        .mask_fill(mask.clone(), mha.min_float);
    let context = softmax(scores, 3)
        .matmul(value)
        .swap_dims(1, 2)
        .reshape([batch * time, mha.d_model]);
    let x = x + rows::linear(&mha.output, context, ones);
    let mlp = &layer.pwff;
    let hidden = rows::linear(
        &mlp.linear_inner,
        rows::layer_norm(&layer.norm_1, x.clone(), ones),
        ones,
    );
    x + rows::linear(&mlp.linear_outer, mlp.activation.forward(hidden), ones)
}

/// A decoder-only causal transformer language model.
#[derive(Module, Debug)]
pub struct Transformer {
    /// Token embedding `[vocab, d_model]`.
    pub tokens: Embedding,
    /// Learned absolute position embedding `[context, d_model]`.
    pub positions: Embedding,
    /// Pre-norm blocks (burn's encoder with `norm_first` and a causal attention mask).
    pub blocks: TransformerEncoder,
    /// Final layer norm.
    pub norm: LayerNorm,
    /// LM head `[d_model, vocab]`.
    pub head: Linear,
}

impl Transformer {
    /// A freshly initialised model (burn's initialisers; seed the device for determinism).
    pub fn new(shape: &TransformerShape, device: &Device) -> Self {
        let scaled = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        Self {
            tokens: EmbeddingConfig::new(shape.vocab, shape.d_model)
                .with_initializer(scaled.clone())
                .init(device),
            positions: EmbeddingConfig::new(shape.context, shape.d_model)
                .with_initializer(scaled)
                .init(device),
            blocks: causal_blocks(shape, device),
            norm: LayerNormConfig::new(shape.d_model).init(device),
            head: LinearConfig::new(shape.d_model, shape.vocab).init(device),
        }
    }

    /// Next-token logits `[batch, time, vocab]` for input tokens `[batch, time]`: position
    /// t sees tokens 0..=t only.
    ///
    /// The residual stream is kept as `[batch · time, d_model]` rows (see [`rows`] for
    /// why); the blocks compute what burn's `TransformerEncoder::forward` computes with
    /// `norm_first` and no dropout, on burn's modules' own parameters.
    pub fn logits(&self, inputs: Tensor<2, Int>) -> Tensor<3> {
        let [batch, time] = inputs.dims();
        let device = inputs.device();
        let positions = Tensor::<1, Int>::arange(0..time as i64, &device)
            .reshape([1, time])
            .expand([batch, time]);
        let x = self.tokens.forward(inputs) + self.positions.forward(positions);
        let d_model = x.dims()[2];
        let mask = generate_autoregressive_mask(1, time, &device).reshape([1, 1, time, time]);
        let mut x = x.reshape([batch * time, d_model]);
        let ones = rows::ones_column(&x);
        for layer in &self.blocks.layers {
            x = block(layer, x, [batch, time], &mask, &ones);
        }
        let logits = rows::linear(&self.head, rows::layer_norm(&self.norm, x, &ones), &ones);
        let vocab = logits.dims()[1];
        logits.reshape([batch, time, vocab])
    }

    /// Per-token log-probabilities of the targets, `[batch, time]` (masked positions
    /// included; multiply by the batch's mask).
    pub fn token_log_probs(&self, batch: &SequenceBatch) -> Tensor<2> {
        let log_probs = log_softmax(self.logits(batch.inputs.clone()), 2);
        let [b, t, _] = log_probs.dims();
        log_probs
            .gather(2, batch.targets.clone().reshape([b, t, 1]))
            .reshape([b, t])
    }

    /// log π(y|x) per sequence, `[batch]`: the sum over response tokens (EOS included).
    pub fn sequence_log_probs(&self, batch: &SequenceBatch) -> Tensor<1> {
        let [b, _] = batch.mask.dims();
        (self.token_log_probs(batch) * batch.mask.clone())
            .sum_dim(1)
            .reshape([b])
    }
}
