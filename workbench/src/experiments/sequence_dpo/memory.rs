//! How much memory a `sequence_dpo` run needs, estimated before it starts: weights with
//! gradients and Adam's moments (and the copies saving models keeps), one batch's activations with their autodiff copies (the
//! vocabulary-wide logits and the attention scores dominate), and the pairs themselves.

use super::{DataSpec, SequenceDpoSpec};
use crate::sequence::jsonl;

/// A rough upper estimate in bytes.
pub(super) fn estimate(spec: &SequenceDpoSpec) -> u64 {
    let p = &spec.pipeline;
    let s = &p.shape;
    let float = 8u64;
    let parameters = spec
        .checkpoint
        .as_ref()
        .map_or(s.parameters(), |c| c.parameters());
    // Weights, gradients and Adam's two moments; π_ref kept to be saved; and the bytes of
    // each saved model's safetensors file, held until the results are written.
    let copies = 4 + u64::from(p.keep_reference) + spec.save.len() as u64;
    let weights = (parameters as u64).saturating_mul(copies * float);
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
    let (pairs, pair_bytes) = match &spec.data {
        DataSpec::Synthetic(d) => (
            d.pairs as u64,
            4 * (d.prompt_len[1] + 2 * d.response_len[1]) as u64 + 3 * 24,
        ),
        DataSpec::Jsonl { path, .. } => (1, jsonl::memory_bound(path)),
    };
    let per_pair_results = 24 * float;
    weights
        .saturating_add(activations)
        .saturating_add(pairs.saturating_mul(pair_bytes + per_pair_results))
}
