//! π_ref of a run: loaded from the results folder's reference cache where an earlier run
//! (or a concurrent one) already made the same, else trained by SFT and stored there.

use super::super::RunContext;
use crate::sequence::pipeline::{self, Halt, PipelineSpec, Reference};
use crate::sequence::reference_cache::{KeyParts, Provenance};
use crate::sequence::{SequencePolicy, TokenPair};
use burn::tensor::Device;

/// Where π_ref comes from besides the data and the SFT settings.
pub(super) struct Start<M, S> {
    /// The model before SFT.
    pub model: M,
    /// Its identity for the cache's key (computed only when the cache is on: a
    /// checkpoint's is a hash of its files).
    pub source: S,
}

/// The results' note on π_ref's origin: `off`, or the cache's [`Provenance`].
pub(super) const NOTE: &str = "reference_cache";

/// π_ref from `start`: the cache's entry when `context` has a cache holding it, else SFT
/// (whose result is then stored). The second value is the note on where it came from.
pub(super) fn obtain<M: SequencePolicy, S: FnOnce() -> std::io::Result<String>>(
    start: Start<M, S>,
    pairs: &[TokenPair],
    spec: &PipelineSpec,
    context: &RunContext,
    bar: &dyn crate::progress::Observer,
    shards: usize,
) -> Result<(Reference<M>, String), Halt> {
    let device: &Device = &context.device;
    let train = |model| pipeline::reference(model, pairs, spec, device, bar, shards);
    let Some(cache) = &context.reference_cache else {
        return Ok((train(start.model)?, "off".into()));
    };
    let warn = |why: String| {
        context
            .progress
            .warn(&format!("reference cache {}: {why}", cache.dir().display()))
    };
    let model = match (start.source)() {
        Ok(model) => model,
        Err(e) => {
            warn(format!(
                "cannot identify the model ({e}); pi_ref trained, not cached"
            ));
            return Ok((train(start.model)?, format!("not used ({e})")));
        }
    };
    let parts = KeyParts {
        model: &model,
        backend: context.backend.name(),
        dtype: context.precision.name(),
        shards,
    };
    let key = cache.key(&parts, spec, pairs);
    // Held until π_ref is stored: a point that needs the same one waits, then loads it.
    let _held = cache
        .lock(&key)
        .map_err(|e| {
            warn(format!(
                "no lock ({e}); a concurrent run may train the same pi_ref"
            ))
        })
        .ok();
    match cache.load(&key, start.model.clone(), pairs.len()) {
        Ok(Some(reference)) => return Ok((reference, Provenance::Hit(key.hex().into()).note())),
        Ok(None) => {}
        Err(why) => {
            warn(format!("{why}; ignored, pi_ref trained again"));
            if let Err(why) = cache.discard(&key) {
                warn(why);
            }
        }
    }
    let reference = train(start.model)?;
    // Without SFT, π_ref is the model as loaded: only its scores are worth keeping.
    let provenance = match cache.store(&key, &reference, spec.sft.epochs > 0) {
        Ok(_) => Provenance::Stored(key.hex().into()),
        Err(why) => {
            warn(format!("cannot store pi_ref: {why}"));
            Provenance::NotStored(key.hex().into(), why)
        }
    };
    Ok((reference, provenance.note()))
}
