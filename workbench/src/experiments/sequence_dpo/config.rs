//! The `sequence_dpo` experiment file and its validation.

use crate::catalogue::Catalogue;
use crate::config::validate::{check, show};
use crate::error::ConfigError;
use crate::losses::PairwiseLoss;
use crate::optim::AdamSpec;
use crate::sequence::pipeline::{Phase, PipelineSpec};
use crate::sequence::synthetic::SyntheticSpec;
use crate::sequence::tokenizer::ByteTokenizer;
use crate::sequence::{Specials, TransformerShape};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceDpoFile {
    /// `[data]`.
    #[serde(default)]
    pub data: DataSection,
    /// `[model]`.
    #[serde(default)]
    pub model: ModelSection,
    /// `[sft]`.
    #[serde(default = "PhaseSection::sft")]
    pub sft: PhaseSection,
    /// `[dpo]`.
    #[serde(default = "DpoSection::paper")]
    pub dpo: DpoSection,
    /// `[analysis]`.
    #[serde(default)]
    pub analysis: AnalysisSection,
}
}

/// `data.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The seeded generator.
    Synthetic,
    /// A JSONL file (`data.path`).
    Jsonl,
}

/// `[data]`: `source = "synthetic"` (generator settings below) or `"jsonl"` (`path`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// `synthetic` or `jsonl`.
    pub source: Source,
    /// JSONL file, plain or gzip-compressed (`.gz`), relative to the experiment file, for
    /// `source = "jsonl"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Use at most this many pairs of a JSONL file (0 = all).
    pub max_pairs: usize,
    /// Synthetic: number of pairs.
    pub pairs: usize,
    /// Synthetic: ordinary tokens.
    pub symbols: usize,
    /// Synthetic: prompt length range.
    pub prompt_len: [usize; 2],
    /// Synthetic: response length range.
    pub response_len: [usize; 2],
    /// Synthetic: how peaked the teacher is.
    pub sharpness: f64,
    /// Synthetic: standard deviation of the per-token reward.
    pub reward_scale: f64,
    /// Synthetic: reward for echoing the prompt's first token.
    pub echo_bonus: f64,
    /// Synthetic: one response length per pair (y_w and y_l equally long).
    pub equal_lengths: bool,
    /// Synthetic: seed.
    pub seed: u64,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            source: Source::Synthetic,
            path: None,
            max_pairs: 0,
            pairs: 4000,
            symbols: 16,
            prompt_len: [2, 6],
            response_len: [1, 10],
            sharpness: 2.0,
            reward_scale: 1.0,
            echo_bonus: 1.0,
            equal_lengths: false,
            seed: 1,
        }
    }
}

/// `[model]`: the transformer's size and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// Residual width.
    pub d_model: usize,
    /// Blocks.
    pub n_layers: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// MLP width.
    pub d_ff: usize,
    /// Longest sequence in tokens (BOS and EOS included); longer ones are cut.
    pub context: usize,
    /// Seeds the initial weights and the batch order.
    pub seed: u64,
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            d_ff: 64,
            context: 24,
            seed: 0,
        }
    }
}

/// `[sft]`: supervised fine-tuning on (x, y_w) with Adam.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSection {
    /// Passes over the data (paper: 2).
    #[serde(default = "default_sft_epochs")]
    pub epochs: usize,
    /// Adam's learning rate.
    #[serde(default = "default_sft_lr")]
    pub lr: f64,
    /// Sequences per step (paper: 64).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Adam's (β₁, β₂).
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// Adam's ε.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

impl PhaseSection {
    fn sft() -> Self {
        Self {
            epochs: default_sft_epochs(),
            lr: default_sft_lr(),
            batch_size: default_batch(),
            betas: default_betas(),
            eps: default_eps(),
        }
    }
}

/// `[dpo]`: preference optimisation from π_ref with Adam; any registered loss.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpoSection {
    /// Passes over the pairs (paper: 3).
    #[serde(default = "default_dpo_epochs")]
    pub epochs: usize,
    /// Adam's learning rate (paper: 1e-6 for a 2.8B model).
    #[serde(default = "default_dpo_lr")]
    pub lr: f64,
    /// Pairs per step (paper: 64).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Adam's (β₁, β₂).
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// Adam's ε.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// β (the paper's λ).
    #[serde(default = "default_beta")]
    pub beta: f64,
    /// The loss, as in the bandit experiments' methods: `{ loss = "dpo" }`, a loss with
    /// parameters, or a weighted combination.
    #[serde(default = "default_method")]
    pub method: toml::Table,
}

impl DpoSection {
    fn paper() -> Self {
        Self {
            epochs: default_dpo_epochs(),
            lr: default_dpo_lr(),
            batch_size: default_batch(),
            betas: default_betas(),
            eps: default_eps(),
            beta: default_beta(),
            method: default_method(),
        }
    }
}

fn default_sft_epochs() -> usize {
    2
}

fn default_sft_lr() -> f64 {
    3e-3
}

fn default_dpo_epochs() -> usize {
    3
}

fn default_dpo_lr() -> f64 {
    1e-3
}

/// `[analysis]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSection {
    /// Percentile (in percent) bounding the low-value group; the high-value group lies
    /// above the (100 − q)-th (paper: 0.5).
    pub q: f64,
    /// Use the tie-corrected σ_U.
    pub tie_correction: bool,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        Self {
            q: 5.0,
            tie_correction: false,
        }
    }
}

fn default_batch() -> usize {
    64
}

fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}

fn default_eps() -> f64 {
    1e-8
}

fn default_beta() -> f64 {
    0.1
}

fn default_method() -> toml::Table {
    let mut table = toml::Table::new();
    table.insert("loss".into(), toml::Value::String("dpo".into()));
    table
}

/// Where the pairs come from, validated.
#[derive(Debug, Clone)]
pub enum DataSpec {
    /// Generated.
    Synthetic(SyntheticSpec),
    /// A JSONL file (absolute or relative to the working directory), at most `max_pairs`.
    Jsonl {
        /// The file.
        path: PathBuf,
        /// 0 = all.
        max_pairs: usize,
    },
}

/// The validated experiment.
#[derive(Debug, Clone)]
pub struct SequenceDpoSpec {
    /// The data.
    pub data: DataSpec,
    /// Model, phases, β, seed (the vocabulary is set once the data is known).
    pub pipeline: PipelineSpec,
    /// The preference loss.
    pub loss: Arc<dyn PairwiseLoss>,
    /// Group percentile q.
    pub q: f64,
    /// Tie-corrected σ_U.
    pub tie_correction: bool,
}

fn phase(
    key: &str,
    epochs: usize,
    batch_size: usize,
    adam: AdamSpec,
) -> Result<Phase, ConfigError> {
    check(
        epochs >= 1,
        &format!("{key}.epochs"),
        epochs,
        "must be at least 1",
    )?;
    check(
        batch_size >= 1,
        &format!("{key}.batch_size"),
        batch_size,
        "must be at least 1",
    )?;
    Ok(Phase {
        epochs,
        adam,
        batch_size,
    })
}

fn range(key: &str, r: [usize; 2]) -> Result<(), ConfigError> {
    check(r[0] >= 1 && r[0] <= r[1], key, r, "needs 1 <= min <= max")
}

impl SequenceDpoFile {
    /// Checks every value; `file` locates a relative JSONL path.
    pub fn validate(
        &self,
        catalogue: &Catalogue,
        file: &str,
    ) -> Result<SequenceDpoSpec, ConfigError> {
        let d = &self.data;
        let data = match d.source {
            Source::Synthetic => {
                if let Some(path) = &d.path {
                    return Err(ConfigError::new(
                        "data.path",
                        show(path),
                        "is only read with source = \"jsonl\" (source is \"synthetic\")",
                    ));
                }
                check(
                    d.pairs >= 2,
                    "data.pairs",
                    d.pairs,
                    "needs at least 2 pairs",
                )?;
                check(
                    d.symbols >= 2,
                    "data.symbols",
                    d.symbols,
                    "needs at least 2 symbols",
                )?;
                range("data.prompt_len", d.prompt_len)?;
                range("data.response_len", d.response_len)?;
                for (key, value) in [
                    ("data.sharpness", d.sharpness),
                    ("data.reward_scale", d.reward_scale),
                    ("data.echo_bonus", d.echo_bonus),
                ] {
                    check(
                        value.is_finite() && value >= 0.0,
                        key,
                        value,
                        "must be finite and >= 0",
                    )?;
                }
                DataSpec::Synthetic(SyntheticSpec {
                    pairs: d.pairs,
                    symbols: d.symbols,
                    prompt_len: d.prompt_len,
                    response_len: d.response_len,
                    sharpness: d.sharpness,
                    reward_scale: d.reward_scale,
                    echo_bonus: d.echo_bonus,
                    equal_lengths: d.equal_lengths,
                    seed: d.seed,
                })
            }
            Source::Jsonl => {
                let Some(path) = &d.path else {
                    return Err(ConfigError::new(
                        "data.path",
                        "",
                        "source = \"jsonl\" needs a path",
                    ));
                };
                let base = Path::new(file).parent().unwrap_or(Path::new("."));
                let resolved = base.join(path);
                check(
                    !resolved.is_dir(),
                    "data.path",
                    path,
                    "is a directory, not a JSONL file",
                )?;
                check(
                    resolved.is_file(),
                    "data.path",
                    path,
                    "no such file (paths are relative to the experiment file)",
                )?;
                DataSpec::Jsonl {
                    path: resolved,
                    max_pairs: d.max_pairs,
                }
            }
        };
        let specials = match &data {
            DataSpec::Synthetic(s) => Specials::after(s.symbols),
            DataSpec::Jsonl { .. } => Specials::after(ByteTokenizer::VOCAB_SIZE - 3),
        };
        let m = &self.model;
        for (key, value) in [
            ("model.d_model", m.d_model),
            ("model.n_layers", m.n_layers),
            ("model.n_heads", m.n_heads),
            ("model.d_ff", m.d_ff),
        ] {
            check(value >= 1, key, value, "must be at least 1")?;
        }
        check(
            m.d_model.is_multiple_of(m.n_heads),
            "model.n_heads",
            m.n_heads,
            "must divide model.d_model",
        )?;
        check(
            m.context >= 4,
            "model.context",
            m.context,
            "must be at least 4 tokens",
        )?;
        if let DataSpec::Synthetic(s) = &data {
            check(
                s.prompt_len[1] + s.response_len[1] + 2 <= m.context,
                "model.context",
                m.context,
                "is shorter than the longest synthetic sequence (prompt + response + BOS + EOS)",
            )?;
        }
        let (s, p) = (&self.sft, &self.dpo);
        let sft = phase(
            "sft",
            s.epochs,
            s.batch_size,
            crate::config::validate::adam("sft", s.lr, s.betas, s.eps)?,
        )?;
        let dpo = phase(
            "dpo",
            p.epochs,
            p.batch_size,
            crate::config::validate::adam("dpo", p.lr, p.betas, p.eps)?,
        )?;
        check(
            p.beta.is_finite() && p.beta > 0.0,
            "dpo.beta",
            p.beta,
            "must be positive",
        )?;
        let loss = catalogue
            .build_loss(&p.method)
            .map_err(|e| ConfigError::new("dpo.method", show(&p.method), e))?;
        let q = self.analysis.q;
        check(
            q > 0.0 && q < 50.0,
            "analysis.q",
            q,
            "must lie in (0, 50) percent",
        )?;
        if let DataSpec::Synthetic(s) = &data {
            check(
                s.pairs as f64 * q / 100.0 >= 2.0,
                "analysis.q",
                q,
                "leaves fewer than 2 pairs per group; raise q or data.pairs",
            )?;
        }
        Ok(SequenceDpoSpec {
            data,
            pipeline: PipelineSpec {
                shape: TransformerShape {
                    vocab: specials.vocab,
                    d_model: m.d_model,
                    n_layers: m.n_layers,
                    n_heads: m.n_heads,
                    d_ff: m.d_ff,
                    context: m.context,
                },
                specials,
                sft,
                dpo,
                beta: p.beta,
                seed: m.seed,
            },
            loss,
            q,
            tie_correction: self.analysis.tie_correction,
        })
    }
}
