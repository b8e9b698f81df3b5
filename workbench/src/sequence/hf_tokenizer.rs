//! A checkpoint's own tokenizer: `tokenizer.json` read by Hugging Face's `tokenizers`
//! crate, with the special tokens the checkpoint's configuration names.
//!
//! Prompts and responses are encoded separately, without special tokens, as TRL's DPO
//! trainer does: a pair's y_w and y_l are then scored under the very same prompt tokens,
//! and the batch layout ([`super::batch::layout`]) adds BOS and EOS and truncates exactly
//! as it does for the byte-level tokenizer.

use super::Specials;
use crate::error::ConfigError;
use serde_json::Value;
use std::path::Path;
use tokenizers::Tokenizer;

/// `tokenizer.json` and the special tokens of one checkpoint folder.
#[derive(Clone)]
pub struct HfTokenizer {
    tokenizer: Tokenizer,
    /// The checkpoint's special tokens and its embedding's vocabulary size.
    pub specials: Specials,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("specials", &self.specials)
            .finish_non_exhaustive()
    }
}

/// A JSON file of the folder, `None` when absent.
fn json(dir: &Path, name: &str) -> Result<Option<Value>, ConfigError> {
    let path = dir.join(name);
    let file = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::new(name, "", format!("cannot read: {e}")).in_file(&file)),
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ConfigError::new(name, "", format!("not JSON: {e}")).in_file(&file)),
    }
}

/// A token id field: a number, or the first of a list (`generation_config.json` may list
/// several end tokens; the first is the one a generation ends with).
fn id_field(value: Option<&Value>) -> Option<u32> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::Array(ids) => id_field(ids.first()),
        _ => None,
    }
}

impl HfTokenizer {
    /// `dir/tokenizer.json`, with BOS, EOS and padding from `tokenizer_config.json`
    /// (`bos_token`, `eos_token`, `pad_token`), else `generation_config.json`, else
    /// `config.json` (`*_token_id`). A checkpoint without a BOS token (Qwen2) begins each
    /// sequence with its EOS token, the separator its documents were trained with; padding
    /// never enters attention or the loss, so any id serves (EOS when none is named).
    /// `vocab` is the embedding's size (`config.json`'s `vocab_size`).
    pub fn load(dir: &Path, vocab: usize) -> Result<Self, ConfigError> {
        let path = dir.join("tokenizer.json");
        let file = path.display().to_string();
        let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| {
            let why = if path.is_file() {
                format!("cannot be read by the tokenizers crate: {e}")
            } else {
                "missing: a pretrained model needs its tokenizer.json".to_string()
            };
            ConfigError::new("tokenizer.json", "", why).in_file(&file)
        })?;
        // A tokenizer.json may carry the padding and truncation its authors served with;
        // the workbench pads and truncates whole sequences itself (batch::layout).
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| ConfigError::new("truncation", "", e.to_string()).in_file(&file))?;
        let size = tokenizer.get_vocab_size(true);
        if size > vocab {
            return Err(ConfigError::new(
                "tokenizer.json",
                size,
                format!("has more tokens than the model's vocab_size {vocab}"),
            )
            .in_file(&file));
        }
        let token_config = json(dir, "tokenizer_config.json")?;
        let generation = json(dir, "generation_config.json")?;
        let model_config = json(dir, "config.json")?;
        let find = |name: &str| -> Result<Option<u32>, ConfigError> {
            let key = format!("{name}_token");
            if let Some(token) = token_config.as_ref().and_then(|c| c.get(&key)) {
                // A string, or an AddedToken object with its text under `content`.
                let text = token.get("content").unwrap_or(token);
                if let Some(text) = text.as_str() {
                    return match tokenizer.token_to_id(text) {
                        Some(id) => Ok(Some(id)),
                        None => Err(ConfigError::new(
                            key,
                            text,
                            "is not a token of tokenizer.json",
                        )
                        .in_file(dir.join("tokenizer_config.json").display().to_string())),
                    };
                }
            }
            let id_key = format!("{name}_token_id");
            Ok([&generation, &model_config]
                .into_iter()
                .find_map(|c| id_field(c.as_ref()?.get(&id_key))))
        };
        let eos = find("eos")?.ok_or_else(|| {
            ConfigError::new(
                "eos_token",
                "",
                "no end-of-sequence token: tokenizer_config.json (eos_token), generation_config.json and config.json (eos_token_id) name none",
            )
            .in_file(dir.display().to_string())
        })?;
        let bos = find("bos")?.unwrap_or(eos);
        let pad = find("pad")?.unwrap_or(eos);
        for (name, id) in [("bos", bos), ("eos", eos), ("pad", pad)] {
            if id as usize >= vocab {
                return Err(ConfigError::new(
                    format!("{name}_token"),
                    id,
                    format!("is outside the model's vocab_size {vocab}"),
                )
                .in_file(dir.display().to_string()));
            }
        }
        Ok(Self {
            tokenizer,
            specials: Specials {
                pad,
                bos,
                eos,
                vocab,
            },
        })
    }

    /// The token ids of `text`, without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        self.tokenizer
            .encode(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|e| format!("cannot tokenize: {e}"))
    }
}
