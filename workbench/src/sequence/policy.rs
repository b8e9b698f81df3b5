//! What the SFT → DPO pipeline needs of a model: per-token log-probabilities of a
//! [`SequenceBatch`]'s targets. The byte-level [`Transformer`] trained from scratch and a
//! [`CausalLm`] loaded from a Hugging Face checkpoint both provide them, so one pipeline
//! trains either.

use super::SequenceBatch;
use super::pretrained::{CausalLm, log_probs_at};
use super::transformer::Transformer;
use burn::module::Module;
use burn::tensor::{IndexingUpdateOp, Tensor};

/// A causal language model the pipeline can train and score.
pub trait SequencePolicy: Module + Sync {
    /// Per-token log-probabilities of the targets, `[batch, time]` (masked positions
    /// included; multiply by the batch's mask).
    fn token_log_probs(&self, batch: &SequenceBatch) -> Tensor<2>;

    /// log π(y|x) per sequence, `[batch]`: the sum over response tokens (EOS included).
    fn sequence_log_probs(&self, batch: &SequenceBatch) -> Tensor<1> {
        let [b, _] = batch.mask.dims();
        (self.token_log_probs(batch) * batch.mask.clone())
            .sum_dim(1)
            .reshape([b])
    }
}

impl SequencePolicy for Transformer {
    fn token_log_probs(&self, batch: &SequenceBatch) -> Tensor<2> {
        Transformer::token_log_probs(self, batch)
    }

    fn sequence_log_probs(&self, batch: &SequenceBatch) -> Tensor<1> {
        Transformer::sequence_log_probs(self, batch)
    }
}

impl SequencePolicy for CausalLm {
    /// The checkpoint's hidden states at every input position (padding kept out of
    /// attention by the rows' lengths), and the vocabulary-wide head, its log-softmax and
    /// their gradients only at the scored positions (the response's); 0 elsewhere.
    fn token_log_probs(&self, batch: &SequenceBatch) -> Tensor<2> {
        let [b, t] = batch.inputs.dims();
        let hidden = self
            .hidden(batch.inputs.clone(), &batch.lengths)
            .select(0, batch.scored.clone());
        let targets = batch
            .targets
            .clone()
            .reshape([b * t])
            .select(0, batch.scored.clone());
        let scored = log_probs_at(self.head_logits(hidden), targets);
        Tensor::zeros([b * t], &batch.mask.device())
            .select_assign(0, batch.scored.clone(), scored, IndexingUpdateOp::Add)
            .reshape([b, t])
    }
}
