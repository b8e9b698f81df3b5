//! GPT-NeoX blocks (the Pythia models), as transformers' `GPTNeoXLayer` computes them.
//!
//! The attention's fused `query_key_value` projection is laid out per head: its output,
//! viewed as `[heads, 3 · head_dim]`, holds each head's query, key and value side by side
//! (not all queries, then all keys, then all values). Only the first `rotary_dims`
//! dimensions of each head are rotated (`rotary_pct`). With `use_parallel_residual` a
//! block adds attention and MLP, each of its own norm of the input, to the input;
//! without, the MLP sees the attention's output.

use super::config::PretrainedConfig;
use super::layers::{Norm, Parameter, Rope, attention, heads, linear_parameters};
use super::weights::Checkpoint;
use crate::error::ConfigError;
use crate::sequence::rows;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::gelu;
use burn::tensor::{Bool, Device, Tensor};

/// The checkpoint names of a block's parts, under `gpt_neox.layers.{i}.`.
const INPUT_NORM: &str = "input_layernorm";
const POST_ATTENTION_NORM: &str = "post_attention_layernorm";
const QKV: &str = "attention.query_key_value";
const DENSE: &str = "attention.dense";
const UP: &str = "mlp.dense_h_to_4h";
const DOWN: &str = "mlp.dense_4h_to_h";

/// One GPT-NeoX block.
#[derive(Module, Debug)]
pub struct NeoXBlock {
    /// Norm before the attention (`input_layernorm`).
    pub input_norm: Norm,
    /// Norm before the MLP (`post_attention_layernorm`).
    pub post_attention_norm: Norm,
    /// Fused per-head query/key/value projection `[hidden, 3 · hidden]`.
    pub query_key_value: Linear,
    /// Attention output projection (`dense`).
    pub dense: Linear,
    /// MLP up-projection (`dense_h_to_4h`).
    pub up: Linear,
    /// MLP down-projection (`dense_4h_to_h`).
    pub down: Linear,
    /// Attention heads.
    #[module(skip)]
    pub heads: usize,
    /// Whether attention and MLP both read the block's input.
    #[module(skip)]
    pub parallel_residual: bool,
}

impl NeoXBlock {
    /// Block `layer` of `config` from the checkpoint.
    pub fn load(
        weights: &Checkpoint,
        config: &PretrainedConfig,
        layer: usize,
        device: &Device,
    ) -> Result<Self, ConfigError> {
        let at = |part: &str| format!("gpt_neox.layers.{layer}.{part}");
        let (h, f) = (config.hidden, config.intermediate);
        let norm = |part: &str| weights.norm(&at(part), h, config.norm_eps, false, device);
        Ok(Self {
            input_norm: norm("input_layernorm")?,
            post_attention_norm: norm("post_attention_layernorm")?,
            query_key_value: weights.linear(
                &at("attention.query_key_value"),
                [h, 3 * h],
                config.qkv_bias,
                device,
            )?,
            dense: weights.linear(&at("attention.dense"), [h, h], config.output_bias, device)?,
            up: weights.linear(&at("mlp.dense_h_to_4h"), [h, f], config.mlp_bias, device)?,
            down: weights.linear(&at("mlp.dense_4h_to_h"), [f, h], config.mlp_bias, device)?,
            heads: config.heads,
            parallel_residual: config.parallel_residual,
        })
    }

    /// The block's parameters under their checkpoint names, for block `layer`.
    pub fn parameters(&self, layer: usize) -> Vec<(String, Parameter)> {
        let at = |part: &str| format!("gpt_neox.layers.{layer}.{part}");
        [
            self.input_norm.parameters(&at(INPUT_NORM)),
            self.post_attention_norm
                .parameters(&at(POST_ATTENTION_NORM)),
            linear_parameters(&at(QKV), &self.query_key_value),
            linear_parameters(&at(DENSE), &self.dense),
            linear_parameters(&at(UP), &self.up),
            linear_parameters(&at(DOWN), &self.down),
        ]
        .concat()
    }

    /// The block on rows `x` `[batch · time, hidden]`.
    pub fn forward(
        &self,
        x: Tensor<2>,
        shape: [usize; 2],
        rope: &Rope,
        mask: &Tensor<4, Bool>,
        ones: &Tensor<2>,
    ) -> Tensor<2> {
        let qkv = heads(
            rows::linear(
                &self.query_key_value,
                self.input_norm.forward(x.clone(), ones),
                ones,
            ),
            shape,
            self.heads,
        );
        let d = qkv.dims()[3] / 3;
        let query = rope.apply(qkv.clone().narrow(3, 0, d));
        let key = rope.apply(qkv.clone().narrow(3, d, d));
        let value = qkv.narrow(3, 2 * d, d);
        let attended = rows::linear(&self.dense, attention(query, key, value, mask), ones);
        let mlp = |input: Tensor<2>| {
            rows::linear(&self.down, gelu(rows::linear(&self.up, input, ones)), ones)
        };
        if self.parallel_residual {
            mlp(self.post_attention_norm.forward(x.clone(), ones)) + attended + x
        } else {
            let x = attended + x;
            mlp(self.post_attention_norm.forward(x.clone(), ones)) + x
        }
    }
}
