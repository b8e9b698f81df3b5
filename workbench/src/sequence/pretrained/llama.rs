//! Llama-family blocks (Llama, SmolLM, Qwen2), as transformers' `LlamaDecoderLayer` and
//! `Qwen2DecoderLayer` compute them: RMSNorm, rotary embeddings over the whole head,
//! grouped-query attention (`num_key_value_heads` key/value heads shared by consecutive
//! query heads), and a SwiGLU MLP, down(silu(gate(x)) · up(x)). Qwen2 differs only in
//! its query/key/value biases.

use super::config::PretrainedConfig;
use super::layers::{Norm, Parameter, Rope, attention, heads, linear_parameters};
use super::weights::Checkpoint;
use crate::error::ConfigError;
use crate::sequence::rows;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::silu;
use burn::tensor::{Bool, Device, Tensor};

/// The checkpoint names of a block's norms and linear layers, under `model.layers.{i}.`.
const INPUT_NORM: &str = "input_layernorm";
const POST_ATTENTION_NORM: &str = "post_attention_layernorm";
const LINEARS: [&str; 7] = [
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
];

/// One Llama-family block.
#[derive(Module, Debug)]
pub struct LlamaBlock {
    /// RMSNorm before the attention (`input_layernorm`).
    pub input_norm: Norm,
    /// RMSNorm before the MLP (`post_attention_layernorm`).
    pub post_attention_norm: Norm,
    /// Query projection `[hidden, heads · head_dim]`.
    pub q_proj: Linear,
    /// Key projection `[hidden, kv_heads · head_dim]`.
    pub k_proj: Linear,
    /// Value projection `[hidden, kv_heads · head_dim]`.
    pub v_proj: Linear,
    /// Attention output projection `[heads · head_dim, hidden]`.
    pub o_proj: Linear,
    /// SwiGLU gate projection.
    pub gate_proj: Linear,
    /// SwiGLU up-projection.
    pub up_proj: Linear,
    /// SwiGLU down-projection.
    pub down_proj: Linear,
    /// Query heads and key/value heads.
    #[module(skip)]
    pub heads: [usize; 2],
}

impl LlamaBlock {
    /// Block `layer` of `config` from the checkpoint.
    pub fn load(
        weights: &Checkpoint,
        config: &PretrainedConfig,
        layer: usize,
        device: &Device,
    ) -> Result<Self, ConfigError> {
        let at = |part: &str| format!("model.layers.{layer}.{part}");
        let (h, f) = (config.hidden, config.intermediate);
        let (q, kv) = (
            config.heads * config.head_dim,
            config.kv_heads * config.head_dim,
        );
        let norm = |part: &str| weights.norm(&at(part), h, config.norm_eps, true, device);
        let linear = |index: usize, shape: [usize; 2], bias: bool| {
            weights.linear(&at(LINEARS[index]), shape, bias, device)
        };
        Ok(Self {
            input_norm: norm(INPUT_NORM)?,
            post_attention_norm: norm(POST_ATTENTION_NORM)?,
            q_proj: linear(0, [h, q], config.qkv_bias)?,
            k_proj: linear(1, [h, kv], config.qkv_bias)?,
            v_proj: linear(2, [h, kv], config.qkv_bias)?,
            o_proj: linear(3, [q, h], config.output_bias)?,
            gate_proj: linear(4, [h, f], config.mlp_bias)?,
            up_proj: linear(5, [h, f], config.mlp_bias)?,
            down_proj: linear(6, [f, h], config.mlp_bias)?,
            heads: [config.heads, config.kv_heads],
        })
    }

    /// The block's parameters under their checkpoint names, for block `layer`.
    pub fn parameters(&self, layer: usize) -> Vec<(String, Parameter)> {
        let at = |part: &str| format!("model.layers.{layer}.{part}");
        let linears = [
            &self.q_proj,
            &self.k_proj,
            &self.v_proj,
            &self.o_proj,
            &self.gate_proj,
            &self.up_proj,
            &self.down_proj,
        ];
        let mut named = self.input_norm.parameters(&at(INPUT_NORM));
        named.extend(
            self.post_attention_norm
                .parameters(&at(POST_ATTENTION_NORM)),
        );
        for (part, layer) in LINEARS.iter().zip(linears) {
            named.extend(linear_parameters(&at(part), layer));
        }
        named
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
        let [n_heads, n_kv] = self.heads;
        let normed = self.input_norm.forward(x.clone(), ones);
        let project =
            |layer: &Linear, n: usize| heads(rows::linear(layer, normed.clone(), ones), shape, n);
        let query = rope.apply(project(&self.q_proj, n_heads));
        let key = rope.apply(project(&self.k_proj, n_kv));
        let value = project(&self.v_proj, n_kv);
        let x = x + rows::linear(&self.o_proj, attention(query, key, value, mask), ones);
        let normed = self.post_attention_norm.forward(x.clone(), ones);
        let gate = silu(rows::linear(&self.gate_proj, normed.clone(), ones));
        let up = rows::linear(&self.up_proj, normed, ones);
        x + rows::linear(&self.down_proj, gate * up, ones)
    }
}
