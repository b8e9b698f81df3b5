//! A run's training state, saved every `output.checkpoint_every` optimiser steps and when
//! the process is asked to stop (Slurm's warning signal before a time limit), so that a
//! run killed midway continues from its last state and ends with the results an
//! uninterrupted run has, to the bit.
//!
//! One file per run and phase, `<results folder>/.state/<hash>.<sft|dpo>.bpk`, in burn's
//! own container and replaced atomically (a kill mid-write leaves the previous state
//! whole); SFT's stays until the run is trained, so that a run whose π_ref is not cached
//! resumes SFT near its end and then preference optimisation where it stopped: the model's
//! parameters and Adam's moments by parameter id, and as JSON metadata, with every float
//! as its bits, where the phase stood: its steps done, the batch order's generator at the
//! epoch's start, the log so far and its open row, the held-out evaluations so far. A
//! state that another configuration, data, backend, dtype or build made (its key differs)
//! is never resumed from.

use super::metrics::{PairMetrics, PhaseLog};
use super::reference_cache::{bits, floats};
use crate::optim::{Moments, ParallelAdam};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData};
use burn_pack::{Reader, Writer};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The layout of a state file; a file of another layout is not resumed from.
const FORMAT: u32 = 1;
/// The metadata entry holding [`Entry`].
const ENTRY: &str = "workbench_state";

/// The folder the runs of one results folder keep their states in (`<out>/.state`), and
/// the build that runs them: each run's file is named by a hash of what makes the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRoot {
    /// The folder.
    pub dir: PathBuf,
    /// This build's id (a state is resumed only by the build that made it).
    pub build: String,
}

impl StateRoot {
    /// The state files of the run that `parts` (its resolved configuration, data, backend
    /// and so on) describe, under this build.
    pub fn place(&self, parts: &[&str]) -> StatePlace {
        let key = format!(
            "format {FORMAT}\nbuild {}\n{}",
            self.build,
            parts.join("\n")
        );
        let hash = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
        StatePlace {
            stem: self.dir.join(format!("{hash:032x}")),
            key,
        }
    }
}

/// Where a run keeps its training state, and which run it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePlace {
    /// The state files' path without `.<phase>.bpk`.
    pub stem: PathBuf,
    /// What run made it: its configuration, data, backend, dtype and build.
    pub key: String,
}

/// The phases that keep a state, in order.
pub const PHASES: [&str; 2] = ["sft", "dpo"];

impl StatePlace {
    /// The state file of `phase`.
    pub fn file(&self, phase: &str) -> PathBuf {
        let mut name = self.stem.as_os_str().to_owned();
        name.push(format!(".{phase}.bpk"));
        PathBuf::from(name)
    }
}

/// The process-wide flag a stop request sets (the command line's signal handler): each
/// training phase that has a [`StatePlace`] saves its state after the step it is in and
/// stops.
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Whether a stop was requested.
pub fn stop_requested() -> bool {
    stop_flag().load(Ordering::SeqCst)
}

/// Where a phase stood after a step: everything besides the weights and the optimiser
/// that the rest of the phase depends on.
#[derive(Debug, Clone)]
pub struct Position {
    /// `sft` or `dpo`.
    pub phase: String,
    /// Optimiser steps done in the phase.
    pub done: usize,
    /// The epoch the next step is in (0-based).
    pub epoch: usize,
    /// The next step's index within that epoch.
    pub step: usize,
    /// The batch order's generator as it was at that epoch's start (before its shuffle).
    pub rng: ChaCha8Rng,
    /// The epoch's losses so far, summed, and their number.
    pub epoch_sum: f64,
    /// Steps of the epoch so far.
    pub epoch_steps: usize,
    /// The phase's first loss.
    pub first_loss: Option<f64>,
    /// Whether any step had per-pair metrics.
    pub with_pairs: bool,
    /// Response tokens so far.
    pub tokens: usize,
    /// The phase's log: closed rows.
    pub log: PhaseLog,
    /// Its open row: steps added, steps in the row, the row's sums.
    pub row: (usize, usize, [f64; 9]),
    /// The held-out evaluations so far (preference phase).
    pub evaluations: PhaseLog,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    phase: String,
    done: usize,
    epoch: usize,
    step: usize,
    rng_seed: [u8; 32],
    rng_stream: u64,
    /// The generator's word position (a u128, in decimal).
    rng_word_pos: String,
    epoch_sum: u64,
    epoch_steps: usize,
    first_loss: Option<u64>,
    with_pairs: bool,
    tokens: usize,
    log: LogBits,
    row_done: usize,
    row_open: usize,
    row_sums: Vec<u64>,
    evaluations: LogBits,
    /// Adam's step count per parameter id.
    adam_time: Vec<(u64, usize)>,
}

/// A [`PhaseLog`] with its floats as bits (JSON numbers need not round-trip).
#[derive(Serialize, Deserialize)]
struct LogBits {
    step: Vec<u64>,
    loss: Vec<u64>,
    lr: Vec<u64>,
    grad_norm: Vec<u64>,
    pairs: Vec<Vec<u64>>,
    tokens_per_second: u64,
}

impl LogBits {
    fn of(log: &PhaseLog) -> Self {
        Self {
            step: bits(&log.step),
            loss: bits(&log.loss),
            lr: bits(&log.lr),
            grad_norm: bits(&log.grad_norm),
            pairs: log.pairs.columns().iter().map(|c| bits(c)).collect(),
            tokens_per_second: log.tokens_per_second.to_bits(),
        }
    }

    fn log(&self) -> Result<PhaseLog, String> {
        let columns: [Vec<f64>; 6] = self
            .pairs
            .iter()
            .map(|c| floats(c))
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| "a log without its six metrics".to_string())?;
        Ok(PhaseLog {
            step: floats(&self.step),
            loss: floats(&self.loss),
            lr: floats(&self.lr),
            grad_norm: floats(&self.grad_norm),
            pairs: PairMetrics::from_columns(columns),
            tokens_per_second: f64::from_bits(self.tokens_per_second),
        })
    }
}

/// Takes each float parameter's value, flattened.
struct Values(Vec<(ParamId, TensorData)>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let n = value.shape().num_elements();
        self.0.push((param.id, value.reshape([n]).into_data()));
    }
}

fn tensor(name: String, id: ParamId, data: TensorData) -> burn_pack::Tensor {
    let (bytes, shape, dtype) = data.into_parts();
    burn_pack::Tensor::new(name, dtype, shape, Some(id.val()), bytes)
}

/// Saves `model`, `optimizer` and `position` at `place`, replacing what was there whole or
/// not at all.
pub fn save<M: Module>(
    place: &StatePlace,
    model: &M,
    optimizer: &ParallelAdam,
    position: &Position,
) -> Result<(), String> {
    let path = place.file(&position.phase);
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let mut values = Values(Vec::new());
    model.visit(&mut values);
    // Parameters by their place in the module (a model built anew has new ids), each with
    // its id, which Adam's moments are keyed by.
    let mut tensors: Vec<burn_pack::Tensor> = values
        .0
        .into_iter()
        .enumerate()
        .map(|(k, (id, data))| tensor(format!("param/{k}"), id, data))
        .collect();
    let moments = optimizer.moments();
    let adam_time = moments.iter().map(|m| (m.id.val(), m.time)).collect();
    for m in moments {
        let id = m.id.val();
        tensors.push(tensor(format!("first/{id}"), m.id, m.first.into_data()));
        tensors.push(tensor(format!("second/{id}"), m.id, m.second.into_data()));
    }
    let p = position;
    let (row_done, row_open, sums) = p.row;
    let entry = Entry {
        format: FORMAT,
        key: place.key.clone(),
        phase: p.phase.clone(),
        done: p.done,
        epoch: p.epoch,
        step: p.step,
        rng_seed: p.rng.get_seed(),
        rng_stream: p.rng.get_stream(),
        rng_word_pos: p.rng.get_word_pos().to_string(),
        epoch_sum: p.epoch_sum.to_bits(),
        epoch_steps: p.epoch_steps,
        first_loss: p.first_loss.map(f64::to_bits),
        with_pairs: p.with_pairs,
        tokens: p.tokens,
        log: LogBits::of(&p.log),
        row_done,
        row_open,
        row_sums: bits(&sums),
        evaluations: LogBits::of(&p.evaluations),
        adam_time,
    };
    let json = serde_json::to_string(&entry).map_err(|e| fail(&e))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    }
    Writer::new(tensors)
        .with_metadata(ENTRY, &json)
        .auto_extension(false)
        .write_to_file(&path)
        .map_err(|e| fail(&e))
}

fn entry(reader: &Reader, path: &Path) -> Result<Entry, String> {
    let json = reader
        .metadata()
        .get(ENTRY)
        .ok_or_else(|| format!("{}: not a training state", path.display()))?;
    serde_json::from_str(json).map_err(|e| format!("{}: {e}", path.display()))
}

/// The states at `place`, by phase: `(phase, steps done, file)` for each that exists and
/// belongs to this run; `Err` (why) when one cannot be read or another run made it.
pub fn inspect(place: &StatePlace) -> Result<Vec<(String, usize, PathBuf)>, String> {
    let mut found = Vec::new();
    for phase in PHASES {
        let path = place.file(phase);
        if !path.exists() {
            continue;
        }
        let reader = Reader::from_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let entry = entry(&reader, &path)?;
        if entry.format != FORMAT || entry.key != place.key || entry.phase != phase {
            return Err(format!(
                "{}: made by another configuration, data, backend or build",
                path.display()
            ));
        }
        found.push((entry.phase, entry.done, path));
    }
    Ok(found)
}

/// The state of `phase` at `place`, loaded: `model` with the saved weights, `optimizer`
/// with the saved moments, and the position. `Ok(None)` when there is no state of this
/// phase and run.
pub fn load<M: Module>(
    place: &StatePlace,
    phase: &str,
    model: M,
    optimizer: &mut ParallelAdam,
    device: &Device,
) -> Result<Option<(M, Position)>, String> {
    let path = place.file(phase);
    if !path.exists() {
        return Ok(None);
    }
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let reader = Reader::from_file(&path).map_err(|e| fail(&e))?;
    let entry = entry(&reader, &path)?;
    if entry.format != FORMAT || entry.key != place.key || entry.phase != phase {
        return Ok(None);
    }
    let plain = device.clone().inner();
    let mut values: HashMap<String, (Option<u64>, Tensor<1>)> = HashMap::new();
    for t in reader.into_tensors().map_err(|e| fail(&e))? {
        let (name, dtype, shape, id, bytes) = t.into_parts().map_err(|e| fail(&e))?;
        let data = TensorData::from_bytes(bytes, shape, dtype);
        values.insert(name, (id, Tensor::from_data(data, &plain)));
    }
    let mut take = |name: String| {
        values
            .remove(&name)
            .ok_or_else(|| fail(&format!("no {name}")))
    };
    let mut ids = Ids(Vec::new());
    model.visit(&mut ids);
    // The saved parameter ids, as this model's.
    let (mut params, mut renamed) = (HashMap::new(), HashMap::new());
    for (k, id) in ids.0.into_iter().enumerate() {
        let (saved, value) = take(format!("param/{k}"))?;
        let Some(saved) = saved else {
            return Err(fail(&format!("param/{k} has no id")));
        };
        renamed.insert(saved, id);
        params.insert(id, value);
    }
    let mut moments = Vec::new();
    for &(saved, time) in &entry.adam_time {
        let id = *renamed
            .get(&saved)
            .ok_or_else(|| fail(&format!("moments of an unknown parameter {saved}")))?;
        moments.push(Moments {
            id,
            time,
            first: take(format!("first/{saved}"))?.1,
            second: take(format!("second/{saved}"))?.1,
        });
    }
    optimizer.restore(moments);
    let model = crate::optim::replace_values(model, params);
    let mut rng = ChaCha8Rng::from_seed(entry.rng_seed);
    rng.set_stream(entry.rng_stream);
    rng.set_word_pos(entry.rng_word_pos.parse::<u128>().map_err(|e| fail(&e))?);
    let row_sums: [f64; 9] = floats(&entry.row_sums)
        .try_into()
        .map_err(|_| fail(&"an open row without its nine sums"))?;
    let position = Position {
        phase: entry.phase,
        done: entry.done,
        epoch: entry.epoch,
        step: entry.step,
        rng,
        epoch_sum: f64::from_bits(entry.epoch_sum),
        epoch_steps: entry.epoch_steps,
        first_loss: entry.first_loss.map(f64::from_bits),
        with_pairs: entry.with_pairs,
        tokens: entry.tokens,
        log: entry.log.log().map_err(|e| fail(&e))?,
        row: (entry.row_done, entry.row_open, row_sums),
        evaluations: entry.evaluations.log().map_err(|e| fail(&e))?,
    };
    Ok(Some((model, position)))
}

/// Each float parameter's id, in the module's order.
struct Ids(Vec<ParamId>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id);
    }
}

/// Removes the scratch files a kill mid-save left beside the states at `place` (burn's
/// atomic writer names them `<file>.<pid>-<n>.tmp`); only this run writes them, and the
/// results folder's lock lets one process run it at a time.
pub fn remove_scratch(place: &StatePlace) {
    let (Some(dir), Some(name)) = (place.stem.parent(), place.stem.file_name()) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes the states at `place` (the run is trained: nothing to resume).
pub fn remove(place: &StatePlace) -> std::io::Result<()> {
    for phase in PHASES {
        match std::fs::remove_file(place.file(phase)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
