//! Llama-family blocks (Llama, SmolLM, Qwen2), as transformers' `LlamaDecoderLayer` and
//! `Qwen2DecoderLayer` compute them: RMSNorm, rotary embeddings over the whole head,
//! grouped-query attention (`num_key_value_heads` key/value heads shared by consecutive
//! query heads), and a SwiGLU MLP, down(silu(gate(x)) · up(x)). Qwen2 differs only in
//! its query/key/value biases.

use super::config::PretrainedConfig;
use super::layers::{Norm, Rope, attention, heads};
use super::weights::Checkpoint;
use crate::error::ConfigError;
use crate::sequence::rows;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::silu;
use burn::tensor::{Bool, Device, Tensor};

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
        let linear = |part: &str, shape: [usize; 2], bias: bool| {
            weights.linear(&at(part), shape, bias, device)
        };
        Ok(Self {
            input_norm: norm("input_layernorm")?,
            post_attention_norm: norm("post_attention_layernorm")?,
            q_proj: linear("self_attn.q_proj", [h, q], config.qkv_bias)?,
            k_proj: linear("self_attn.k_proj", [h, kv], config.qkv_bias)?,
            v_proj: linear("self_attn.v_proj", [h, kv], config.qkv_bias)?,
            o_proj: linear("self_attn.o_proj", [q, h], config.output_bias)?,
            gate_proj: linear("mlp.gate_proj", [h, f], config.mlp_bias)?,
            up_proj: linear("mlp.up_proj", [h, f], config.mlp_bias)?,
            down_proj: linear("mlp.down_proj", [f, h], config.mlp_bias)?,
            heads: [config.heads, config.kv_heads],
        })
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
