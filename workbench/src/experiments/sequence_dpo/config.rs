//! The `sequence_dpo` experiment file and its validation.

use crate::catalogue::Catalogue;
use crate::config::steps::{ScheduleSection, step_rules};
use crate::config::validate::{check, show};
use crate::error::ConfigError;
use crate::losses::PairwiseLoss;
use crate::optim::{AdamSpec, StepRules};
use crate::sequence::checkpoint::Checkpoint;
use crate::sequence::pipeline::{Phase, PipelineSpec};
use crate::sequence::synthetic::SyntheticSpec;
use crate::sequence::tokenizer::ByteTokenizer;
use crate::sequence::{Specials, TransformerShape};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest synthetic `sharpness`, `reward_scale` or `echo_bonus`.
const MAX_SCALE: f64 = 1e6;

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceDpoFile {
    /// `[data]`.
    pub data: DataSection = DataSection::default(),
    /// `[model]`.
    pub model: ModelSection = ModelSection::default(),
    /// `[sft]`.
    pub sft: PhaseSection = PhaseSection::default(),
    /// `[dpo]`.
    pub dpo: DpoSection = DpoSection::default(),
    /// `[analysis]`.
    pub analysis: AnalysisSection = AnalysisSection::default(),
    /// `[output]` (left out of the resolved configuration while it saves nothing, so
    /// that the configurations of runs that save nothing read as before).
    #[serde(skip_serializing_if = "OutputSection::saves_nothing")]
    pub output: OutputSection = OutputSection::default(),
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
    /// Synthetic: seed. Also seeds the held-out split (`eval_fraction`).
    pub seed: u64,
    /// Hold out this fraction of the pairs, drawn with `seed`: never trained on, scored
    /// under π_ref and π_θ and evaluated every `dpo.eval_every` steps (0: none).
    pub eval_fraction: f64,
    /// Held-out pairs from a JSONL file of their own (relative to the experiment file;
    /// `source = "jsonl"`), instead of `eval_fraction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_path: Option<String>,
    /// Swap y_w and y_l of each pair trained on with this probability, drawn with `seed`
    /// (0.5: a control without preference signal; 0: none).
    pub flip_labels: f64,
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
            eval_fraction: 0.0,
            eval_path: None,
            flip_labels: 0.0,
        }
    }
}

/// `[model]`: the byte-level transformer's size, or a Hugging Face checkpoint folder
/// (`path`); and the seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// A Hugging Face checkpoint folder (`config.json`, safetensors weights,
    /// `tokenizer.json`), relative to the experiment file: the policy starts from it and
    /// the data are tokenized by its tokenizer (docs/pretrained.md). Unset: the byte-level
    /// transformer below, trained from scratch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// With `path`: longest sequence in tokens, BOS and EOS included (0: the checkpoint's
    /// `max_position_embeddings`); longer ones are cut as `context` cuts them.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_length: usize,
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

fn is_zero(value: &usize) -> bool {
    *value == 0
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            path: None,
            max_length: 0,
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            d_ff: 64,
            context: 24,
            seed: 0,
        }
    }
}

/// Sequences (SFT) or pairs (DPO) per step (paper: 64).
const BATCH_SIZE: usize = 64;
/// Adam's (β₁, β₂) in both phases.
const BETAS: [f64; 2] = [0.9, 0.999];
/// Adam's ε in both phases.
const EPS: f64 = 1e-8;

/// `[sft]`: supervised fine-tuning on (x, y_w) with Adam.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhaseSection {
    /// Passes over the data (paper: 2); 0 with a checkpoint (`model.path`): π_ref is the
    /// checkpoint itself.
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Sequences per step (paper: 64).
    pub batch_size: usize,
    /// Adam's (β₁, β₂).
    pub betas: [f64; 2],
    /// Adam's ε.
    pub eps: f64,
    /// The learning rate's warmup and decay (default: constant).
    pub schedule: ScheduleSection,
    /// Clip each step's gradient to this global L2 norm (inf, the default: no clipping).
    pub max_norm: f64,
    /// Batches whose gradients one step sums (default 1).
    pub accumulation: usize,
    /// Steps per row of the stored per-step metrics, each row their mean (0: as few as
    /// keep the phase within 1000 rows).
    pub log_every: usize,
}

impl Default for PhaseSection {
    fn default() -> Self {
        Self {
            epochs: 2,
            lr: 3e-3,
            batch_size: BATCH_SIZE,
            betas: BETAS,
            eps: EPS,
            schedule: ScheduleSection::default(),
            max_norm: f64::INFINITY,
            accumulation: 1,
            log_every: 0,
        }
    }
}

/// `[dpo]`: preference optimisation from π_ref with Adam; any registered loss.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpoSection {
    /// Passes over the pairs (paper: 3).
    pub epochs: usize,
    /// Adam's learning rate (paper: 1e-6 for a 2.8B model).
    pub lr: f64,
    /// Pairs per step (paper: 64).
    pub batch_size: usize,
    /// Adam's (β₁, β₂).
    pub betas: [f64; 2],
    /// Adam's ε.
    pub eps: f64,
    /// The learning rate's warmup and decay (default: constant).
    pub schedule: ScheduleSection,
    /// Clip each step's gradient to this global L2 norm (inf, the default: no clipping).
    pub max_norm: f64,
    /// Batches whose gradients one step sums (default 1).
    pub accumulation: usize,
    /// Steps per row of the stored per-step metrics, each row their mean (0: as few as
    /// keep the phase within 1000 rows).
    pub log_every: usize,
    /// Evaluate the held-out pairs every this many steps (0: after the last step only).
    pub eval_every: usize,
    /// β (the paper's λ).
    pub beta: f64,
    /// Seeds this phase's batch order on its own (unset: the order continues the generator
    /// `model.seed` seeded for SFT). A seed of DPO alone: π_ref, and a cached π_ref, stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The loss, as in the bandit experiments' methods: `{ loss = "dpo" }`, a loss with
    /// parameters, or a weighted combination.
    pub method: toml::Table,
}

impl Default for DpoSection {
    fn default() -> Self {
        let mut method = toml::Table::new();
        method.insert("loss".into(), toml::Value::String("dpo".into()));
        Self {
            epochs: 3,
            lr: 1e-3,
            batch_size: BATCH_SIZE,
            betas: BETAS,
            eps: EPS,
            schedule: ScheduleSection::default(),
            max_norm: f64::INFINITY,
            accumulation: 1,
            log_every: 0,
            eval_every: 0,
            beta: 0.1,
            seed: None,
            method,
        }
    }
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
    /// The pairs Table 2's statistics use: `train` or `eval` (the held-out pairs).
    pub on: AnalysedPairs,
    /// Score the pairs trained on every this many preference steps and store the
    /// analysis over steps (`trajectory/*`; 0, the default: after the last step only).
    #[serde(skip_serializing_if = "is_zero")]
    pub every: usize,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        Self {
            q: 5.0,
            tie_correction: false,
            on: AnalysedPairs::Train,
            every: 0,
        }
    }
}

/// `analysis.on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysedPairs {
    /// The pairs trained on.
    Train,
    /// The held-out pairs.
    Eval,
}

/// `[output]`: what a run saves besides its results file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Models saved as Hugging Face folders beside the results file: any of `"reference"`
    /// (π_ref) and `"policy"` (π_θ after preference optimisation). Needs `model.path`.
    pub save: Vec<String>,
    /// Save the training state (weights, Adam's moments, where the phase stands) every
    /// this many optimiser steps of either phase into the results folder's `.state`, so
    /// that `workbench run` continues from it after a kill; 0: only when asked to stop
    /// (Slurm's warning signal, `submit --requeue`).
    pub checkpoint_every: usize,
}

impl OutputSection {
    fn saves_nothing(&self) -> bool {
        self.save.is_empty() && self.checkpoint_every == 0
    }

    /// The models to save, each once; only a checkpoint (`pretrained`) can be saved.
    fn validate(&self, pretrained: bool) -> Result<Vec<SavedModel>, ConfigError> {
        let mut models = Vec::new();
        for name in &self.save {
            let model = SavedModel::ALL
                .into_iter()
                .find(|m| m.name() == name)
                .ok_or_else(|| {
                    ConfigError::new(
                        "output.save",
                        show(&self.save),
                        format!(
                            "unknown model {}: known are \"reference\" and \"policy\"",
                            show(name)
                        ),
                    )
                })?;
            check(
                !models.contains(&model),
                "output.save",
                &self.save,
                &format!("names {} twice", show(name)),
            )?;
            models.push(model);
        }
        check(
            models.is_empty() || pretrained,
            "output.save",
            &self.save,
            "saving needs [model] path: models are saved as Hugging Face folders, and the byte-level transformer has no such format",
        )?;
        Ok(models)
    }
}

/// A model `[output] save` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedModel {
    /// π_ref: the checkpoint after SFT (the checkpoint itself with `sft.epochs = 0`).
    Reference,
    /// π_θ: the model after preference optimisation.
    Policy,
}

impl SavedModel {
    /// Both, in the order they are trained.
    pub const ALL: [SavedModel; 2] = [SavedModel::Reference, SavedModel::Policy];

    /// Its name in `save` and in the folder's path.
    pub fn name(self) -> &'static str {
        match self {
            SavedModel::Reference => "reference",
            SavedModel::Policy => "policy",
        }
    }

    /// Its folder beside the results file, under `<stem>/`.
    pub fn folder(self) -> String {
        format!("models/{}", self.name())
    }
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

/// Which pairs are held out.
#[derive(Debug, Clone, PartialEq)]
pub enum HeldOutSpec {
    /// None.
    None,
    /// This fraction of the data, drawn with the seed.
    Fraction {
        /// In (0, 1).
        fraction: f64,
        /// `data.seed`.
        seed: u64,
    },
    /// A JSONL file's pairs (absolute or relative to the working directory).
    Jsonl(PathBuf),
}

/// The validated experiment.
#[derive(Debug, Clone)]
pub struct SequenceDpoSpec {
    /// The data.
    pub data: DataSpec,
    /// The held-out pairs.
    pub held_out: HeldOutSpec,
    /// The probability that a pair trained on has its labels swapped, and the seed of
    /// the draws (`data.flip_labels`, `data.seed`).
    pub flip_labels: (f64, u64),
    /// The pairs Table 2's statistics use.
    pub analysed: AnalysedPairs,
    /// Model, phases, β, seed (the vocabulary is set once the data is known).
    pub pipeline: PipelineSpec,
    /// The checkpoint the policy starts from (`model.path`); `None`: the byte-level
    /// transformer from `model.seed`.
    pub checkpoint: Option<Checkpoint>,
    /// The preference loss.
    pub loss: Arc<dyn PairwiseLoss>,
    /// Group percentile q.
    pub q: f64,
    /// Tie-corrected σ_U.
    pub tie_correction: bool,
    /// The models saved beside the results file (`[output] save`; checkpoints only).
    pub save: Vec<SavedModel>,
    /// Steps between saved training states (`output.checkpoint_every`; 0: on request).
    pub checkpoint_every: usize,
    /// Steps between rows of the analysis over training (`analysis.every`; 0: none).
    pub trajectory_every: usize,
}

fn phase(
    key: &str,
    epochs: usize,
    batch_size: usize,
    adam: AdamSpec,
    rules: StepRules,
    log_every: usize,
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
        rules,
        log_every,
    })
}

fn range(key: &str, r: [usize; 2]) -> Result<(), ConfigError> {
    check(r[0] >= 1 && r[0] <= r[1], key, r, "needs 1 <= min <= max")
}

impl DataSpec {
    /// The special tokens after the vocabulary's ordinary ones: the generator's symbols, or
    /// the byte tokenizer's.
    fn specials(&self) -> Specials {
        match self {
            DataSpec::Synthetic(s) => Specials::after(s.symbols),
            DataSpec::Jsonl { .. } => Specials::after(ByteTokenizer::VOCAB_SIZE - 3),
        }
    }
}

impl SequenceDpoFile {
    /// Checks every value; `file` locates a relative JSONL path.
    pub fn validate(
        &self,
        catalogue: &Catalogue,
        file: &str,
    ) -> Result<SequenceDpoSpec, ConfigError> {
        let data = self.data.validate(file)?;
        let checkpoint = self.model.checkpoint(&data, file)?;
        let (specials, shape) = match &checkpoint {
            Some(checkpoint) => (checkpoint.specials(), checkpoint.shape()),
            None => {
                let specials = data.specials();
                (specials, self.model.validate(&data, specials.vocab)?)
            }
        };
        let sft = self.sft.validate(checkpoint.is_some())?;
        let dpo = self.dpo.phase()?;
        let loss = self.dpo.loss(catalogue)?;
        let q = self.analysis.validate(&data)?;
        let held_out = self.data.held_out(&data, file)?;
        let flip = self.data.flip_labels;
        check(
            flip.is_finite() && (0.0..=1.0).contains(&flip),
            "data.flip_labels",
            flip,
            "must lie in [0, 1]",
        )?;
        let analysed = self.analysis.on;
        if self.analysis.every > 0 {
            check(
                analysed == AnalysedPairs::Train,
                "analysis.every",
                self.analysis.every,
                "follows the pairs trained on: it needs analysis.on = \"train\"",
            )?;
            check(
                self.output.checkpoint_every == 0,
                "analysis.every",
                self.analysis.every,
                "is not kept with the training state, so a resumed run would lose its rows: set output.checkpoint_every = 0 (or analysis.every = 0)",
            )?;
        }
        if held_out == HeldOutSpec::None {
            check(
                analysed == AnalysedPairs::Train,
                "analysis.on",
                "eval",
                "needs held-out pairs: set data.eval_fraction or data.eval_path",
            )?;
            check(
                self.dpo.eval_every == 0,
                "dpo.eval_every",
                self.dpo.eval_every,
                "needs held-out pairs: set data.eval_fraction or data.eval_path",
            )?;
        }
        let save = self.output.validate(checkpoint.is_some())?;
        Ok(SequenceDpoSpec {
            data,
            held_out,
            flip_labels: (flip, self.data.seed),
            analysed,
            pipeline: PipelineSpec {
                shape,
                specials,
                sft,
                dpo,
                beta: self.dpo.beta,
                seed: self.model.seed,
                dpo_seed: self.dpo.seed,
                eval_every: self.dpo.eval_every,
                keep_reference: save.contains(&SavedModel::Reference),
                resume: None,
            },
            checkpoint_every: self.output.checkpoint_every,
            trajectory_every: self.analysis.every,
            checkpoint,
            loss,
            q,
            tie_correction: self.analysis.tie_correction,
            save,
        })
    }
}

impl DataSection {
    /// The generator's settings or the JSONL file, checked; `file` locates a relative path.
    fn validate(&self, file: &str) -> Result<DataSpec, ConfigError> {
        match self.source {
            Source::Synthetic => self.synthetic().map(DataSpec::Synthetic),
            Source::Jsonl => self.jsonl(file),
        }
    }

    /// `source = "synthetic"`: the generator's settings, each in range.
    fn synthetic(&self) -> Result<SyntheticSpec, ConfigError> {
        if let Some(path) = &self.path {
            return Err(ConfigError::new(
                "data.path",
                show(path),
                "is only read with source = \"jsonl\" (source is \"synthetic\")",
            ));
        }
        check(
            self.pairs >= 2,
            "data.pairs",
            self.pairs,
            "needs at least 2 pairs",
        )?;
        check(
            self.symbols >= 2,
            "data.symbols",
            self.symbols,
            "needs at least 2 symbols",
        )?;
        range("data.prompt_len", self.prompt_len)?;
        range("data.response_len", self.response_len)?;
        for (key, value) in [
            ("data.sharpness", self.sharpness),
            ("data.reward_scale", self.reward_scale),
            ("data.echo_bonus", self.echo_bonus),
        ] {
            // Beyond 1e6 the softmax and the reward comparisons are already decided in
            // f64, and products with N(0, 1) draws could overflow to infinity.
            check(
                value.is_finite() && (0.0..=MAX_SCALE).contains(&value),
                key,
                value,
                "must be finite, >= 0 and <= 1e6",
            )?;
        }
        Ok(SyntheticSpec {
            pairs: self.pairs,
            symbols: self.symbols,
            prompt_len: self.prompt_len,
            response_len: self.response_len,
            sharpness: self.sharpness,
            reward_scale: self.reward_scale,
            echo_bonus: self.echo_bonus,
            equal_lengths: self.equal_lengths,
            seed: self.seed,
        })
    }

    /// The held-out pairs: `eval_fraction` of `data` or `eval_path`'s, not both.
    fn held_out(&self, data: &DataSpec, file: &str) -> Result<HeldOutSpec, ConfigError> {
        let fraction = self.eval_fraction;
        check(
            fraction.is_finite() && (0.0..1.0).contains(&fraction),
            "data.eval_fraction",
            fraction,
            "must lie in [0, 1)",
        )?;
        match (&self.eval_path, data) {
            (None, _) if fraction == 0.0 => Ok(HeldOutSpec::None),
            (None, _) => Ok(HeldOutSpec::Fraction {
                fraction,
                seed: self.seed,
            }),
            (Some(path), _) if fraction > 0.0 => Err(ConfigError::new(
                "data.eval_path",
                show(path),
                "is an alternative to data.eval_fraction; set one of them",
            )),
            (Some(path), DataSpec::Synthetic(_)) => Err(ConfigError::new(
                "data.eval_path",
                show(path),
                "is read with source = \"jsonl\" only (hold synthetic pairs out with data.eval_fraction)",
            )),
            (Some(path), DataSpec::Jsonl { .. }) => {
                existing_file("data.eval_path", path, file).map(HeldOutSpec::Jsonl)
            }
        }
    }

    /// `source = "jsonl"`: the file, relative to the experiment file `file`, must exist.
    fn jsonl(&self, file: &str) -> Result<DataSpec, ConfigError> {
        let Some(path) = &self.path else {
            return Err(ConfigError::new(
                "data.path",
                "",
                "source = \"jsonl\" needs a path",
            ));
        };
        Ok(DataSpec::Jsonl {
            path: existing_file("data.path", path, file)?,
            max_pairs: self.max_pairs,
        })
    }
}

/// The data file `path` of the key `key`, relative to the experiment file `file`, which
/// must exist.
fn existing_file(key: &str, path: &str, file: &str) -> Result<PathBuf, ConfigError> {
    let base = Path::new(file).parent().unwrap_or(Path::new("."));
    let resolved = base.join(path);
    // `metadata` follows symlinks: a link to a regular file is that file.
    let reason = match std::fs::metadata(&resolved) {
        Err(_) => Some("no such file (paths are relative to the experiment file)"),
        Ok(meta) if meta.is_dir() => Some("is a directory, not a JSONL file"),
        Ok(meta) if !meta.is_file() => {
            Some("not a regular file (a FIFO, device or socket cannot be read as a data file)")
        }
        Ok(_) => None,
    };
    if let Some(reason) = reason {
        return Err(ConfigError::new(key, show(path), reason));
    }
    Ok(resolved)
}

impl ModelSection {
    /// The checkpoint `path` names, checked; `None` without a path. A checkpoint brings
    /// its own shape and tokenizer, so the byte-level transformer's keys must keep their
    /// defaults, and its tokenizer needs text (JSONL data).
    fn checkpoint(&self, data: &DataSpec, file: &str) -> Result<Option<Checkpoint>, ConfigError> {
        let Some(path) = &self.path else {
            check(
                self.max_length == 0,
                "model.max_length",
                self.max_length,
                "is only read with model.path (the byte-level transformer's is model.context)",
            )?;
            return Ok(None);
        };
        let defaults = Self::default();
        for (key, value, default) in [
            ("model.d_model", self.d_model, defaults.d_model),
            ("model.n_layers", self.n_layers, defaults.n_layers),
            ("model.n_heads", self.n_heads, defaults.n_heads),
            ("model.d_ff", self.d_ff, defaults.d_ff),
            ("model.context", self.context, defaults.context),
        ] {
            check(
                value == default,
                key,
                value,
                "is the byte-level transformer's; a checkpoint (model.path) has its shape in config.json (use model.max_length for the sequence length)",
            )?;
        }
        if let DataSpec::Synthetic(_) = data {
            return Err(ConfigError::new(
                "model.path",
                show(path),
                "a checkpoint needs text to tokenize: set data.source = \"jsonl\"",
            ));
        }
        let base = Path::new(file).parent().unwrap_or(Path::new("."));
        let dir = base.join(path);
        check(
            dir.is_dir(),
            "model.path",
            path,
            "is not a directory (a checkpoint folder with config.json, safetensors weights and tokenizer.json; paths are relative to the experiment file)",
        )?;
        Checkpoint::open(&dir, self.max_length).map(Some)
    }

    /// The transformer's shape over `vocab` tokens; synthetic sequences must fit its context.
    fn validate(&self, data: &DataSpec, vocab: usize) -> Result<TransformerShape, ConfigError> {
        for (key, value) in [
            ("model.d_model", self.d_model),
            ("model.n_layers", self.n_layers),
            ("model.n_heads", self.n_heads),
            ("model.d_ff", self.d_ff),
        ] {
            check(value >= 1, key, value, "must be at least 1")?;
        }
        check(
            self.d_model.is_multiple_of(self.n_heads),
            "model.n_heads",
            self.n_heads,
            "must divide model.d_model",
        )?;
        check(
            self.context >= 4,
            "model.context",
            self.context,
            "must be at least 4 tokens",
        )?;
        if let DataSpec::Synthetic(s) = data {
            check(
                s.prompt_len[1] + s.response_len[1] + 2 <= self.context,
                "model.context",
                self.context,
                "is shorter than the longest synthetic sequence (prompt + response + BOS + EOS)",
            )?;
        }
        Ok(TransformerShape {
            vocab,
            d_model: self.d_model,
            n_layers: self.n_layers,
            n_heads: self.n_heads,
            d_ff: self.d_ff,
            context: self.context,
        })
    }
}

impl PhaseSection {
    /// The SFT phase: Adam's settings, then epochs and batch size. No epochs at all only
    /// for a `pretrained` model, which is then π_ref as loaded.
    fn validate(&self, pretrained: bool) -> Result<Phase, ConfigError> {
        let adam = crate::config::validate::adam("sft", self.lr, self.betas, self.eps)?;
        let rules = step_rules("sft", &self.schedule, self.max_norm, self.accumulation)?;
        if pretrained && self.epochs == 0 {
            return phase("sft", 1, self.batch_size, adam, rules, self.log_every)
                .map(|p| Phase { epochs: 0, ..p });
        }
        check(
            self.epochs >= 1,
            "sft.epochs",
            self.epochs,
            "must be at least 1 for the byte-level transformer trained from scratch (0 is for a checkpoint, model.path, that is already fine-tuned)",
        )?;
        phase(
            "sft",
            self.epochs,
            self.batch_size,
            adam,
            rules,
            self.log_every,
        )
    }
}

impl DpoSection {
    /// The DPO phase: Adam's settings, then epochs and batch size.
    fn phase(&self) -> Result<Phase, ConfigError> {
        let adam = crate::config::validate::adam("dpo", self.lr, self.betas, self.eps)?;
        let rules = step_rules("dpo", &self.schedule, self.max_norm, self.accumulation)?;
        phase(
            "dpo",
            self.epochs,
            self.batch_size,
            adam,
            rules,
            self.log_every,
        )
    }

    /// The preference loss `method` names, after checking β.
    fn loss(&self, catalogue: &Catalogue) -> Result<Arc<dyn PairwiseLoss>, ConfigError> {
        check(
            self.beta.is_finite() && self.beta > 0.0,
            "dpo.beta",
            self.beta,
            "must be positive",
        )?;
        catalogue
            .build_loss(&self.method)
            .map_err(|e| ConfigError::new("dpo.method", show(&self.method), e))
    }
}

impl AnalysisSection {
    /// The group percentile q; synthetic data must leave at least 2 pairs per group.
    fn validate(&self, data: &DataSpec) -> Result<f64, ConfigError> {
        let q = self.q;
        check(
            q > 0.0 && q < 50.0,
            "analysis.q",
            q,
            "must lie in (0, 50) percent",
        )?;
        if let DataSpec::Synthetic(s) = data {
            check(
                s.pairs as f64 * q / 100.0 >= 2.0,
                "analysis.q",
                q,
                "leaves fewer than 2 pairs per group; raise q or data.pairs",
            )?;
        }
        Ok(q)
    }
}
