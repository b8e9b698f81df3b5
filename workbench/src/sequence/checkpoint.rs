//! A checkpoint folder named by an experiment's `[model] path`: its checked `config.json`,
//! its tokenizer and the longest sequence it is given, all read when the experiment is
//! validated (so that a checkpoint the workbench cannot compute is refused before anything
//! runs), and the weights, loaded when it runs.

use super::hf_tokenizer::HfTokenizer;
use super::pretrained::{CausalLm, Family, PretrainedConfig};
use super::{Specials, TransformerShape};
use crate::error::ConfigError;
use burn::tensor::Device;
use std::path::{Path, PathBuf};

/// A checked checkpoint folder.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The folder.
    pub dir: PathBuf,
    /// Its architecture.
    pub config: PretrainedConfig,
    /// Its tokenizer and special tokens.
    pub tokenizer: HfTokenizer,
    /// Longest sequence in tokens (BOS and EOS included); longer ones are cut as the
    /// byte-level model's are.
    pub context: usize,
}

impl Checkpoint {
    /// Reads `dir`'s `config.json` and tokenizer. `max_length` bounds the sequences (0: the
    /// checkpoint's `max_position_embeddings`); it may not exceed the positions the model
    /// was trained on.
    pub fn open(dir: &Path, max_length: usize) -> Result<Self, ConfigError> {
        let config_path = dir.join("config.json");
        let config = PretrainedConfig::read(&config_path)?;
        let positions = max_positions(&config_path)?;
        let context = match (max_length, positions) {
            (0, Some(positions)) => positions,
            (0, None) => {
                return Err(ConfigError::new(
                    "model.max_length",
                    0,
                    "config.json gives no max_position_embeddings: set model.max_length",
                ));
            }
            (length, Some(positions)) if length > positions => {
                return Err(ConfigError::new(
                    "model.max_length",
                    length,
                    format!("exceeds the checkpoint's max_position_embeddings {positions}"),
                ));
            }
            (length, _) => length,
        };
        if context < 4 {
            return Err(ConfigError::new(
                "model.max_length",
                context,
                "must be at least 4 tokens",
            ));
        }
        let tokenizer = HfTokenizer::load(dir, config.vocab)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            tokenizer,
            context,
        })
    }

    /// The special tokens and vocabulary size batches are laid out with.
    pub fn specials(&self) -> Specials {
        self.tokenizer.specials
    }

    /// The transformer shape closest to the checkpoint's, for memory estimates and the
    /// batch layout's context.
    pub fn shape(&self) -> TransformerShape {
        let c = &self.config;
        TransformerShape {
            vocab: c.vocab,
            d_model: c.hidden,
            n_layers: c.layers,
            n_heads: c.heads,
            d_ff: c.intermediate,
            context: self.context,
        }
    }

    /// Number of parameters the checkpoint holds (a tied head counted once).
    pub fn parameters(&self) -> usize {
        let c = &self.config;
        let (h, i, v) = (c.hidden, c.intermediate, c.vocab);
        let (q, kv) = (c.heads * c.head_dim, c.kv_heads * c.head_dim);
        let bias = |on: bool, n: usize| if on { n } else { 0 };
        let attention =
            h * (q + 2 * kv) + bias(c.qkv_bias, q + 2 * kv) + q * h + bias(c.output_bias, h);
        let (mlp, norms, final_norm) = match c.family {
            Family::NeoX => (2 * h * i + i + h, 4 * h, 2 * h),
            Family::Llama => (3 * h * i + bias(c.mlp_bias, 2 * i + h), 2 * h, h),
        };
        let head = if c.tied { 0 } else { h * v };
        v * h + c.layers * (attention + mlp + norms) + final_norm + head
    }

    /// The folder's JSON and safetensors files: what a run reads of it.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.is_file()
                    && path
                        .extension()
                        .is_some_and(|e| e == "json" || e == "safetensors")
            })
            .collect();
        files.sort();
        files
    }

    /// The weights, on `device` in its float type.
    pub fn load(&self, device: &Device) -> Result<CausalLm, ConfigError> {
        CausalLm::load(&self.dir, device)
    }
}

/// `max_position_embeddings` of a `config.json` (already read and checked as JSON).
fn max_positions(path: &Path) -> Result<Option<usize>, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new("config.json", "", format!("cannot read: {e}")).in_file(&file)
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        ConfigError::new("config.json", "", format!("not JSON: {e}")).in_file(&file)
    })?;
    match value.get("max_position_embeddings") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|&n| n > 0)
            .map(|n| Some(n as usize))
            .ok_or_else(|| {
                ConfigError::new("max_position_embeddings", v, "must be a positive integer")
                    .in_file(&file)
            }),
    }
}
