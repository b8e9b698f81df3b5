//! A reference model trained once: π_ref (the model after SFT), its per-pair scores and
//! SFT's log, kept under the results folder and found again by a hash of everything that
//! determines them. The points of a sweep that vary only what comes after SFT (the DPO
//! learning rate, β, the loss) share one π_ref; the first to need it trains it, the
//! others load it — TRL's `precompute_ref_log_probs`, across runs.
//!
//! An entry is written whole or not at all: into a temporary folder beside its final
//! place, each file synced, then renamed into place. A concurrent writer of the same key
//! loses the rename harmlessly (the entry it would have written is the same), and a reader
//! never sees a partial entry. A per-key lock file makes a second process or thread that
//! needs the same π_ref wait for the first rather than train it a second time; where the
//! file system refuses locks, both train and the rename still keeps the entry whole.

use super::pipeline::{PairScores, PhaseLog, PipelineSpec, Reference, score_chunk};
use super::{SequencePolicy, TokenPair};
use crate::files::same_file;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

/// The entries' layout and the key text's meaning; a change to either bumps it, so that
/// entries of older builds are never read as something they are not (4: a pair's responses
/// are scored, and y_w fine-tuned, under one prompt).
const FORMAT: u32 = 4;

/// The entry's description: the key it was made for, SFT's log and the scores.
const ENTRY: &str = "entry.json";

/// π_ref's weights (burn's burnpack: every tensor in its own dtype, restored verbatim).
const WEIGHTS: &str = "weights.bpk";

/// The cache: a folder of entries, and the build that reads and writes them (a π_ref
/// trained by other code is not this build's π_ref).
#[derive(Debug, Clone)]
pub struct ReferenceCache {
    dir: PathBuf,
    build: String,
}

/// What determines π_ref: the text hashed (kept in the entry, and compared on reading, so
/// that a hash collision or a damaged entry is never taken for a hit) and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceKey {
    text: String,
    hex: String,
}

/// Where the π_ref of a run comes from, besides the data and the SFT settings.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    /// The model before SFT: the transformer's shape and seed, or a checkpoint's files'
    /// hash ([`files_hash`]).
    pub model: &'a str,
    /// The backend's name.
    pub backend: &'a str,
    /// The float type's name.
    pub dtype: &'a str,
    /// Shards of a training step (they order the gradient sums).
    pub shards: usize,
}

/// How a run's π_ref was found, for its results' notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Loaded from the entry of this key.
    Hit(String),
    /// Trained now and stored under this key.
    Stored(String),
    /// Trained now; storing it failed (the reason).
    NotStored(String, String),
}

impl Provenance {
    /// The note's text.
    pub fn note(&self) -> String {
        match self {
            Provenance::Hit(key) => format!("hit {key}: pi_ref and its scores loaded, SFT not run"),
            Provenance::Stored(key) => format!("miss {key}: pi_ref trained and stored"),
            Provenance::NotStored(key, why) => {
                format!("miss {key}: pi_ref trained, not stored ({why})")
            }
        }
    }
}

/// `entry.json`. Floats as their bits: the scores and losses come back exactly (decimal
/// JSON numbers are not read back bit for bit by every parser).
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    /// xxh3-128 of `weights.bpk`, absent when π_ref is the model as loaded (no SFT).
    weights_xxh3: Option<String>,
    sft_step: Vec<u64>,
    sft_loss: Vec<u64>,
    sft_lr: Vec<u64>,
    sft_grad_norm: Vec<u64>,
    sft_tokens_per_second: u64,
    chosen: Vec<u64>,
    rejected: Vec<u64>,
}

/// Floats as their bits, so that a file gives them back exactly (JSON numbers may not).
pub(super) fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The floats of [`bits`].
pub(super) fn floats(bits: &[u64]) -> Vec<f64> {
    bits.iter().map(|b| f64::from_bits(*b)).collect()
}

fn hex128(bytes: &[u8]) -> String {
    format!("{:032x}", xxh3_128(bytes))
}

/// A hash of `files`' names and contents: a checkpoint's identity wherever its folder lies.
pub fn files_hash(files: &[PathBuf]) -> std::io::Result<String> {
    let mut hasher = Xxh3::new();
    for path in files {
        let name = path.file_name().unwrap_or_default();
        hasher.update(name.as_encoded_bytes());
        hasher.update(&[0]);
        let bytes = std::fs::read(path)?;
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

/// A hash of the pairs' tokens: the data as the pipeline sees it, whatever file, generator,
/// tokenizer or `max_pairs` made it.
pub fn pairs_hash(pairs: &[TokenPair]) -> String {
    let mut hasher = Xxh3::new();
    for pair in pairs {
        for tokens in [&pair.prompt, &pair.chosen, &pair.rejected] {
            hasher.update(&(tokens.len() as u64).to_le_bytes());
            for token in tokens.iter() {
                hasher.update(&token.to_le_bytes());
            }
        }
    }
    format!("{:032x}", hasher.digest128())
}

impl ReferenceKey {
    /// The key's hash, the entry's folder name.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The text hashed.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Holds a key's lock file until dropped (or the process ends).
#[derive(Debug)]
pub struct KeyLock {
    file: File,
    path: PathBuf,
}

impl Drop for KeyLock {
    /// Removes the lock file while holding it, so that no run leaves one behind; a process
    /// waiting on the same file finds, once it holds it, that the path no longer names it,
    /// and starts again ([`ReferenceCache::lock`]).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

impl ReferenceCache {
    /// The cache in `dir`, read and written by `build` (an id of the executable).
    pub fn new(dir: impl Into<PathBuf>, build: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            build: build.into(),
        }
    }

    /// The cache of a results folder: `<out>/.cache/reference`.
    pub fn under(out: &Path, build: impl Into<String>) -> Self {
        Self::new(out.join(".cache").join("reference"), build)
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of the π_ref that `spec` makes from `parts.model` on `pairs`: everything
    /// SFT and the reference scores depend on, and nothing of what comes after (the DPO
    /// phase's settings enter only through the scoring batch, [`score_chunk`]).
    pub fn key(
        &self,
        parts: &KeyParts<'_>,
        spec: &PipelineSpec,
        pairs: &[TokenPair],
    ) -> ReferenceKey {
        let s = &spec.specials;
        let sft = &spec.sft;
        // `{:?}` of an f64 is its shortest exact form: two settings share text only when
        // they are the same number.
        let text = [
            format!("format {FORMAT}"),
            format!("build {}", self.build),
            format!(
                "backend {} dtype {} shards {}",
                parts.backend, parts.dtype, parts.shards
            ),
            format!("model {}", parts.model),
            format!(
                "specials pad {} bos {} eos {} vocab {}; context {}",
                s.pad, s.bos, s.eos, s.vocab, spec.shape.context
            ),
            format!(
                "sft epochs {} lr {:?} betas {:?} eps {:?} batch_size {} rules {:?} log_every {}",
                sft.epochs,
                sft.adam.lr,
                sft.adam.betas,
                sft.adam.eps,
                sft.batch_size,
                sft.rules,
                sft.log_every
            ),
            format!("batch order seed {}", spec.seed),
            format!("score chunk {}", score_chunk(spec, parts.shards)),
            format!("pairs {} tokens {}", pairs.len(), pairs_hash(pairs)),
        ]
        .join("\n");
        let hex = hex128(text.as_bytes());
        ReferenceKey { text, hex }
    }

    fn entry_dir(&self, key: &ReferenceKey) -> PathBuf {
        self.dir.join(&key.hex)
    }

    /// Waits for `key`'s lock: while another process or thread makes this π_ref, the
    /// caller waits and then finds its entry. `Err` where no lock could be had (a file
    /// system without locks); the caller goes on without one.
    pub fn lock(&self, key: &ReferenceKey) -> std::io::Result<KeyLock> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{}.lock", key.hex));
        loop {
            let file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            file.lock()?;
            // The holder before us removed the file it held: ours may be that one.
            if same_file(&file, &path) {
                return Ok(KeyLock { file, path });
            }
        }
    }

    /// π_ref of `key`, its weights loaded into `model` (a model of the same architecture,
    /// whose own values are replaced; returned as is when the entry has no weights because
    /// π_ref is the model before SFT). `Ok(None)`: no entry. `Err`: an entry that cannot
    /// be read or does not match (the reason); the caller trains π_ref again.
    pub fn load<M: SequencePolicy>(
        &self,
        key: &ReferenceKey,
        model: M,
        pairs: usize,
    ) -> Result<Option<Reference<M>>, String> {
        let dir = self.entry_dir(key);
        if !dir.exists() {
            return Ok(None);
        }
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let entry: Entry = serde_json::from_slice(&read(ENTRY)?)
            .map_err(|e| format!("{}: {e}", dir.join(ENTRY).display()))?;
        if entry.format != FORMAT || entry.key != key.text {
            return Err(format!(
                "{}: made for another key or format",
                dir.join(ENTRY).display()
            ));
        }
        if entry.chosen.len() != pairs || entry.rejected.len() != pairs {
            return Err(format!(
                "{}: scores for {} and {} pairs, expected {pairs}",
                dir.join(ENTRY).display(),
                entry.chosen.len(),
                entry.rejected.len()
            ));
        }
        let model = match &entry.weights_xxh3 {
            None => model,
            Some(expected) => {
                let bytes = read(WEIGHTS)?;
                let path = dir.join(WEIGHTS);
                if hex128(&bytes) != *expected {
                    return Err(format!("{}: damaged (its hash differs)", path.display()));
                }
                let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                model
                    .try_load_record(record)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        Ok(Some(Reference {
            model,
            sft: PhaseLog {
                step: floats(&entry.sft_step),
                loss: floats(&entry.sft_loss),
                lr: floats(&entry.sft_lr),
                grad_norm: floats(&entry.sft_grad_norm),
                tokens_per_second: f64::from_bits(entry.sft_tokens_per_second),
                ..PhaseLog::default()
            },
            scores: PairScores {
                chosen: floats(&entry.chosen),
                rejected: floats(&entry.rejected),
            },
        }))
    }

    /// Stores `reference` under `key` (its weights unless `with_weights` is false: π_ref
    /// is then the model as loaded, which the next run loads as well). Returns whether
    /// this call's entry is the one in place (false: another writer's already was).
    pub fn store<M: SequencePolicy>(
        &self,
        key: &ReferenceKey,
        reference: &Reference<M>,
        with_weights: bool,
    ) -> Result<bool, String> {
        let fail = |what: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", what.display());
        std::fs::create_dir_all(&self.dir).map_err(|e| fail(&self.dir, &e))?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}-", key.hex))
            .tempdir_in(&self.dir)
            .map_err(|e| fail(&self.dir, &e))?;
        let weights_xxh3 = if with_weights {
            let bytes = reference
                .model
                .clone()
                .into_record()
                .into_bytes()
                .map_err(|e| fail(&temp.path().join(WEIGHTS), &e))?;
            write_synced(&temp.path().join(WEIGHTS), &bytes)?;
            Some(hex128(&bytes))
        } else {
            None
        };
        let entry = Entry {
            format: FORMAT,
            key: key.text.clone(),
            weights_xxh3,
            sft_step: bits(&reference.sft.step),
            sft_loss: bits(&reference.sft.loss),
            sft_lr: bits(&reference.sft.lr),
            sft_grad_norm: bits(&reference.sft.grad_norm),
            sft_tokens_per_second: reference.sft.tokens_per_second.to_bits(),
            chosen: bits(&reference.scores.chosen),
            rejected: bits(&reference.scores.rejected),
        };
        let json = serde_json::to_vec(&entry).map_err(|e| fail(&temp.path().join(ENTRY), &e))?;
        write_synced(&temp.path().join(ENTRY), &json)?;
        sync_dir(temp.path())?;
        let target = self.entry_dir(key);
        let placed = std::fs::rename(temp.path(), &target).is_ok();
        if placed {
            // The folder is the entry now, not the temporary one to remove.
            let _ = temp.keep();
            sync_dir(&self.dir)?;
        } else if !target.is_dir() {
            return Err(format!(
                "{}: cannot be renamed into place",
                target.display()
            ));
        }
        Ok(placed)
    }

    /// Moves a damaged entry of `key` out of the way (renamed, then removed), so that a
    /// fresh one can take its place.
    pub fn discard(&self, key: &ReferenceKey) -> Result<(), String> {
        let target = self.entry_dir(key);
        let aside = tempfile::Builder::new()
            .prefix(&format!(".{}-damaged-", key.hex))
            .tempdir_in(&self.dir)
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let place = aside.path().join("entry");
        match std::fs::rename(&target, &place) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: {e}", target.display())),
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = File::create(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{AdamSpec, Decay, StepRules};
    use crate::sequence::pipeline::Phase;
    use crate::sequence::{Specials, TransformerShape};

    fn spec() -> PipelineSpec {
        let phase = |lr| Phase {
            epochs: 2,
            adam: AdamSpec {
                lr,
                betas: [0.9, 0.999],
                eps: 1e-8,
            },
            batch_size: 64,
            rules: StepRules::default(),
            log_every: 0,
        };
        PipelineSpec {
            shape: TransformerShape {
                vocab: 19,
                d_model: 8,
                n_layers: 1,
                n_heads: 2,
                d_ff: 16,
                context: 12,
            },
            specials: Specials::after(16),
            sft: phase(3e-3),
            dpo: phase(1e-3),
            beta: 0.1,
            seed: 4,
            dpo_seed: None,
            eval_every: 0,
            keep_reference: false,
            resume: None,
        }
    }

    fn pairs() -> Vec<TokenPair> {
        vec![TokenPair {
            prompt: vec![1, 2],
            chosen: vec![3],
            rejected: vec![4, 5],
        }]
    }

    const PARTS: KeyParts<'static> = KeyParts {
        model: "transformer",
        backend: "flex",
        dtype: "f64",
        shards: 2,
    };

    fn key_of(spec: &PipelineSpec, pairs: &[TokenPair], parts: &KeyParts<'_>) -> String {
        ReferenceCache::new("unused", "build-1")
            .key(parts, spec, pairs)
            .hex()
            .to_string()
    }

    #[test]
    fn the_key_follows_what_makes_pi_ref_and_ignores_what_comes_after_it() {
        let base = key_of(&spec(), &pairs(), &PARTS);
        assert_eq!(base.len(), 32);
        // After SFT: β, DPO's learning rate, epochs and Adam settings.
        let mut after = spec();
        after.beta = 7.0;
        after.dpo.adam.lr = 0.5;
        after.dpo.epochs = 9;
        after.dpo.adam.eps = 1e-3;
        after.dpo.rules.max_norm = 1.0;
        assert_eq!(key_of(&after, &pairs(), &PARTS), base);
        // Before or during SFT: each changes the key.
        let changed: [fn(&mut PipelineSpec); 12] = [
            |s| s.sft.rules.schedule.decay = Decay::Cosine,
            |s| s.sft.rules.max_norm = 1.0,
            |s| s.sft.rules.accumulation = 2,
            |s| s.sft.adam.lr = 6e-3,
            |s| s.sft.adam.betas[1] = 0.99,
            |s| s.sft.adam.eps = 1e-7,
            |s| s.sft.epochs = 3,
            |s| s.sft.batch_size = 32,
            |s| s.seed = 5,
            |s| s.shape.context = 13,
            |s| s.specials.eos = 3,
            // The scoring batch: max(SFT's, DPO's, 64) pairs.
            |s| s.dpo.batch_size = 128,
        ];
        for change in &changed {
            let mut other = spec();
            change(&mut other);
            assert_ne!(key_of(&other, &pairs(), &PARTS), base, "{other:?}");
        }
        let mut other_pairs = pairs();
        other_pairs[0].rejected = vec![4, 6];
        assert_ne!(key_of(&spec(), &other_pairs, &PARTS), base);
        for parts in [
            KeyParts {
                model: "transformer seed 1",
                ..PARTS
            },
            KeyParts {
                backend: "ndarray",
                ..PARTS
            },
            KeyParts {
                dtype: "f32",
                ..PARTS
            },
            KeyParts { shards: 1, ..PARTS },
        ] {
            assert_ne!(key_of(&spec(), &pairs(), &parts), base, "{parts:?}");
        }
        let other_build = ReferenceCache::new("unused", "build-2").key(&PARTS, &spec(), &pairs());
        assert_ne!(other_build.hex(), base);
    }

    #[test]
    fn a_loss_is_kept_to_the_bit() {
        let values = [0.1 + 0.2, f64::MIN_POSITIVE, -0.0, f64::NAN, 1e300];
        let back = floats(&bits(&values));
        for (a, b) in values.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}
