//! Pretrained causal language models from Hugging Face checkpoint folders (`config.json`
//! and safetensors weights): GPT-NeoX (Pythia) and the Llama family (Llama, Qwen2,
//! SmolLM), written against burn's backend-agnostic API so that they run on every
//! backend the workbench has. `tests/pretrained.rs` checks their per-token
//! log-probabilities against transformers' on tiny random checkpoints; [`save`] writes a
//! model back as such a folder.

pub mod config;
pub mod layers;
pub mod llama;
pub mod neox;
pub mod save;
pub mod weights;

pub use config::{Activation, Family, PretrainedConfig};
pub use layers::Parameter;

use crate::error::ConfigError;
use burn::module::Module;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Int, Tensor};
use layers::{Norm, Rope, attention_mask, linear_parameters};
use llama::LlamaBlock;
use neox::NeoXBlock;
use std::path::Path;
use weights::Checkpoint;

/// One block of either family.
// A model's blocks are all of one variant, so the larger variant's size is not wasted.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Block {
    /// A GPT-NeoX block.
    NeoX(NeoXBlock),
    /// A Llama-family block.
    Llama(LlamaBlock),
}

/// A causal language model loaded from a checkpoint folder.
#[derive(Module, Debug)]
pub struct CausalLm {
    /// Token embedding `[vocab, hidden]` (`embed_in` / `embed_tokens`).
    pub embed: Embedding,
    /// The blocks, in order.
    pub blocks: Vec<Block>,
    /// The norm after the last block.
    pub final_norm: Norm,
    /// The LM head `[hidden, vocab]`, or `None` when it is the token embedding (tied).
    pub head: Option<Linear>,
    /// The checked configuration.
    #[module(skip)]
    pub config: PretrainedConfig,
    /// The head's checkpoint name (`embed_out` or `lm_head`) when untied.
    #[module(skip)]
    pub head_name: Option<String>,
}

/// The checkpoint names of the token embedding and the final norm.
fn outer_names(family: Family) -> [String; 2] {
    match family {
        Family::NeoX => [
            "gpt_neox.embed_in".into(),
            "gpt_neox.final_layer_norm".into(),
        ],
        Family::Llama => ["model.embed_tokens".into(), "model.norm".into()],
    }
}

/// The names an untied LM head may have: Pythia's checkpoints call it `embed_out`, and
/// transformers may write `lm_head`.
fn head_names(family: Family) -> &'static [&'static str] {
    match family {
        Family::NeoX => &["embed_out", "lm_head"],
        Family::Llama => &["lm_head"],
    }
}

impl CausalLm {
    /// Loads `dir/config.json` and its weights onto `device`, in the device's float type.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, ConfigError> {
        let config = PretrainedConfig::read(&dir.join("config.json"))?;
        let weights = Checkpoint::open(dir)?;
        let (v, h) = (config.vocab, config.hidden);
        let [embed, final_norm] = outer_names(config.family);
        let heads = head_names(config.family);
        let rms = config.family == Family::Llama;
        let blocks = (0..config.layers)
            .map(|layer| match config.family {
                Family::NeoX => NeoXBlock::load(&weights, &config, layer, device).map(Block::NeoX),
                Family::Llama => {
                    LlamaBlock::load(&weights, &config, layer, device).map(Block::Llama)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let head = if config.tied {
            None
        } else {
            let name = heads
                .iter()
                .find(|n| weights.contains(&format!("{n}.weight")))
                .unwrap_or(&heads[0]);
            Some((
                name.to_string(),
                weights.linear(name, [h, v], false, device)?,
            ))
        };
        let model = Self {
            embed: weights.embedding(&embed, [v, h], device)?,
            blocks,
            final_norm: weights.norm(&final_norm, h, config.norm_eps, rms, device)?,
            head_name: head.as_ref().map(|(name, _)| name.clone()),
            head: head.map(|(_, linear)| linear),
            config,
        };
        let tied_copies: Vec<String> = heads.iter().map(|n| format!("{n}.weight")).collect();
        let ignored: Vec<&str> = if model.config.tied {
            tied_copies.iter().map(String::as_str).collect()
        } else {
            vec![]
        };
        weights.all_used(&ignored)?;
        Ok(model)
    }

    /// Every parameter under its checkpoint name (a tied head has none of its own: its
    /// gradient is the embedding's).
    pub fn parameters(&self) -> Vec<(String, Parameter)> {
        let [embed, final_norm] = outer_names(self.config.family);
        let mut named = vec![(
            format!("{embed}.weight"),
            Parameter::Matrix(self.embed.weight.val()),
        )];
        for (layer, block) in self.blocks.iter().enumerate() {
            named.extend(match block {
                Block::NeoX(b) => b.parameters(layer),
                Block::Llama(b) => b.parameters(layer),
            });
        }
        named.extend(self.final_norm.parameters(&final_norm));
        if let (Some(head), Some(name)) = (&self.head, &self.head_name) {
            named.extend(linear_parameters(name, head));
        }
        named
    }

    /// The last hidden states (after the final norm) as rows `[batch · time, hidden]` for
    /// right-padded `tokens` `[batch, time]` whose sequences have `lengths` real tokens.
    /// Positions count from 0 in every sequence; no position attends to a later one or to
    /// padding.
    pub fn hidden(&self, tokens: Tensor<2, Int>, lengths: &[usize]) -> Tensor<2> {
        let [batch, time] = tokens.dims();
        assert_eq!(lengths.len(), batch, "one length per sequence");
        assert!(
            lengths.iter().all(|&l| (1..=time).contains(&l)),
            "every sequence has 1..={time} tokens: {lengths:?}"
        );
        let device = tokens.device();
        let c = &self.config;
        let rope = Rope::new(c.rope_theta, c.rotary_dims, time, &device);
        let mask = attention_mask(lengths, time, &device);
        let mut x = self.embed.forward(tokens).reshape([batch * time, c.hidden]);
        let ones = crate::sequence::rows::ones_column(&x);
        for block in &self.blocks {
            x = match block {
                Block::NeoX(b) => b.forward(x, [batch, time], &rope, &mask, &ones),
                Block::Llama(b) => b.forward(x, [batch, time], &rope, &mask, &ones),
            };
        }
        self.final_norm.forward(x, &ones)
    }

    /// The LM head on hidden-state rows `[rows, hidden]`: logits `[rows, vocab]`.
    pub fn head_logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        match &self.head {
            Some(head) => hidden.matmul(head.weight.val()),
            None => hidden.matmul(self.embed.weight.val().transpose()),
        }
    }

    /// Next-token logits as rows `[batch · time, vocab]` (see [`Self::hidden`]).
    pub fn logits(&self, tokens: Tensor<2, Int>, lengths: &[usize]) -> Tensor<2> {
        self.head_logits(self.hidden(tokens, lengths))
    }

    /// log p(token_{t+1} | tokens_{≤t}) `[batch, time − 1]` for right-padded `tokens`
    /// `[batch, time]` with `lengths` real tokens each; entries at or past a sequence's
    /// last token are not meaningful (mask them).
    pub fn token_log_probs(&self, tokens: Tensor<2, Int>, lengths: &[usize]) -> Tensor<2> {
        let [batch, time] = tokens.dims();
        let vocab = self.config.vocab;
        let logits = self
            .logits(tokens.clone(), lengths)
            .reshape([batch, time, vocab])
            .narrow(1, 0, time - 1)
            .reshape([batch * (time - 1), vocab]);
        let targets = tokens.narrow(1, 1, time - 1).reshape([batch * (time - 1)]);
        log_probs_at(logits, targets).reshape([batch, time - 1])
    }
}

/// log softmax(`logits`)[target] for each row `[rows]`: the row's shifted logit at its
/// `targets` entry minus the log of the sum of the shifted logits' exponentials, with the
/// arithmetic of burn's `log_softmax` (a detached row maximum as the shift), so each value
/// is bitwise the one `log_softmax` then `gather` gives, without the vocabulary-wide
/// tensor of log-probabilities (or its gradient) that they build.
pub fn log_probs_at(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [rows, _] = logits.dims();
    let max = logits.clone().detach().max_dim(1);
    let shifted = logits - max;
    let log_sum_exp = shifted.clone().exp().sum_dim(1).log();
    (shifted.gather(1, targets.reshape([rows, 1])) - log_sum_exp).reshape([rows])
}
