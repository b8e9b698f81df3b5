//! How much memory a `sequence_dpo` run needs, estimated before it starts: weights with
//! gradients and Adam's moments, one step's activations with their autodiff copies (the
//! vocabulary-wide logits and the attention scores dominate), the copies saving models
//! keeps, and the pairs themselves.

use super::{DataSpec, SequenceDpoSpec};
use crate::backend::{BackendName, Precision};
use crate::sequence::checkpoint::Checkpoint;
use crate::sequence::jsonl;
use crate::sequence::pipeline::{PipelineSpec, shards};

/// What the process holds before any experiment: its code, libtorch's and the GPU
/// runtimes' libraries, the allocator's arenas (300 MB measured for the `workbench`
/// binary built with libtorch, on a run of the 1 MB tiny-pythia checkpoint).
const PROCESS: u64 = 400 << 20;

/// A rough upper estimate in bytes of a run on `backend` in `precision`.
pub(super) fn estimate(spec: &SequenceDpoSpec, backend: BackendName, precision: Precision) -> u64 {
    let data = data_bytes(spec);
    match &spec.checkpoint {
        Some(checkpoint) => checkpoint_bytes(checkpoint, &spec.pipeline, backend, precision)
            .saturating_add(saved_bytes(spec, checkpoint, precision))
            .saturating_add(data)
            .saturating_add(PROCESS),
        None => byte_level_bytes(spec).saturating_add(data),
    }
}

/// What `[output] save` keeps: π_ref's weights while the policy trains, and the bytes of
/// each saved model's safetensors file until the results are written.
fn saved_bytes(spec: &SequenceDpoSpec, checkpoint: &Checkpoint, precision: Precision) -> u64 {
    let float = match precision {
        Precision::F32 => 4,
        Precision::F64 => 8,
    };
    let copies = u64::from(spec.pipeline.keep_reference) + spec.save.len() as u64;
    (checkpoint.parameters() as u64).saturating_mul(copies * float)
}

/// The pairs (tokens and the text they came from) and the per-pair scores and results.
fn data_bytes(spec: &SequenceDpoSpec) -> u64 {
    let (pairs, pair_bytes) = match &spec.data {
        DataSpec::Synthetic(d) => (
            d.pairs as u64,
            4 * (d.prompt_len[1] + 2 * d.response_len[1]) as u64 + 3 * 24,
        ),
        DataSpec::Jsonl { path, .. } => (1, jsonl::memory_bound(path)),
    };
    let per_pair_results = 24 * 8;
    pairs.saturating_mul(pair_bytes + per_pair_results)
}

/// The byte-level transformer trained from scratch: a generous f64 bound on every
/// backend (its runs are small; the checkpoint estimate below is the careful one).
fn byte_level_bytes(spec: &SequenceDpoSpec) -> u64 {
    let p = &spec.pipeline;
    let s = &p.shape;
    let float = 8u64;
    let weights = (s.parameters() as u64).saturating_mul(4 * float);
    let batch = p.dpo.batch_size.max(p.sft.batch_size);
    // A batch holds at most every pair (known in advance for synthetic data).
    let batch = match &spec.data {
        DataSpec::Synthetic(d) => batch.min(d.pairs),
        DataSpec::Jsonl { .. } => batch,
    };
    let rows = 2 * batch as u64;
    let t = s.context as u64;
    let per_token = (s.vocab as u64 * 3).saturating_add(
        (s.n_layers as u64).saturating_mul(
            (8 * s.d_model as u64)
                .saturating_add(2 * s.d_ff as u64)
                .saturating_add(2 * s.n_heads as u64 * t),
        ),
    );
    let activations = rows
        .saturating_mul(t)
        .saturating_mul(per_token)
        .saturating_mul(float * 3);
    weights.saturating_add(activations)
}

/// A checkpoint run, in the run's float type: the larger of loading and training.
///
/// - **Loading** holds the safetensors files as read (their size on disk) while the
///   weights are built from them.
/// - **Training** holds the weights, Adam's two moments, one gradient per shard of a step
///   (each shard's backward pass yields a whole set, summed afterwards; see
///   `pipeline::shards`) and the activations autodiff keeps for one step of the largest
///   batch (DPO scores 2 × `dpo.batch_size` sequences at once), all sequences at
///   `model.max_length` tokens; or, if larger, a scoring pass over chunks of
///   max(batch, 64) sequences without autodiff, split among the shards' threads (π_ref's
///   scores, then π_θ's).
fn checkpoint_bytes(
    checkpoint: &Checkpoint,
    spec: &PipelineSpec,
    backend: BackendName,
    precision: Precision,
) -> u64 {
    let float = match precision {
        Precision::F32 => 4u64,
        Precision::F64 => 8,
    };
    let parameters = checkpoint.parameters() as u64;
    let c = &checkpoint.config;
    let largest = (c.vocab as u64).saturating_mul(c.hidden as u64);
    let gradients = shards(backend) as u64;
    let state = parameters
        .saturating_mul(3 + gradients)
        .saturating_add(largest)
        .saturating_mul(float);
    let t = checkpoint.context as u64;
    let rows = (2 * spec.dpo.batch_size).max(spec.sft.batch_size) as u64;
    let tokens = rows.saturating_mul(t);
    let training = tokens
        .saturating_mul(kept_per_token(checkpoint, true))
        .saturating_mul(float);
    let scored = spec.dpo.batch_size.max(spec.sft.batch_size).max(64) as u64;
    let scoring = scored
        .saturating_mul(t)
        .saturating_mul(kept_per_token(checkpoint, false))
        .saturating_mul(float);
    let loading = file_bytes(checkpoint).saturating_add(parameters.saturating_mul(float));
    loading.max(state.saturating_add(training.max(scoring)))
}

/// Floats held per token: with `autodiff`, what one step keeps for its backward pass in
/// every layer plus the gradients the backward pass makes at its widest (the logits');
/// without, the widest layer's values while they are computed.
///
/// Per layer (hidden width h, MLP width i, heads a, kv heads, T tokens): the two norms'
/// centred, normalised, scaled and shifted values (8h), the query/key/value projection
/// and its rotated parts (3 + 4 h), attention's output and projection (2h), the MLP's up
/// projection, activation and (Llama) gate (3i), the residual sums (2h), and the
/// attention scores, scaled, masked and softmaxed (4aT). The head: the logits, their
/// log-softmax and that one's gradient and the logits' (4 · vocab).
fn kept_per_token(checkpoint: &Checkpoint, autodiff: bool) -> u64 {
    let c = &checkpoint.config;
    let (h, i, v) = (c.hidden as u64, c.intermediate as u64, c.vocab as u64);
    let scores = (c.heads as u64).saturating_mul(checkpoint.context as u64);
    if !autodiff {
        return (2 * v)
            .max(3 * i)
            .max(scores.saturating_mul(3))
            .saturating_add(8 * h);
    }
    let layer = (19 * h)
        .saturating_add(3 * i)
        .saturating_add(scores.saturating_mul(4));
    (c.layers as u64)
        .saturating_mul(layer)
        .saturating_add(4 * v)
}

/// Bytes of the checkpoint's safetensors files, read whole while the model is built.
fn file_bytes(checkpoint: &Checkpoint) -> u64 {
    checkpoint
        .files()
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "safetensors"))
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}
