//! Sequence policies (Section 5.3): a small decoder-only transformer, preference data over
//! token sequences (synthetic with a known reward, or JSONL from disk), and the SFT → DPO
//! pipeline whose per-pair ratios feed the rank tests of [`crate::analysis::mann_whitney`].

pub mod batch;
pub mod checkpoint;
pub mod hf_tokenizer;
pub mod jsonl;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod pretrained;
pub mod reference_cache;
pub mod rows;
pub mod synthetic;
pub mod tokenizer;
pub mod training_state;
pub mod transformer;

pub use batch::SequenceBatch;
pub use policy::SequencePolicy;
pub use transformer::{Transformer, TransformerShape};

/// One preference pair as token ids: a prompt x, the preferred response y_w and the
/// dispreferred y_l. Responses exclude the prompt; special tokens are added by batching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Prompt tokens x.
    pub prompt: Vec<u32>,
    /// Preferred response y_w.
    pub chosen: Vec<u32>,
    /// Dispreferred response y_l.
    pub rejected: Vec<u32>,
}

impl TokenPair {
    /// The prompt both responses are scored (and y_w fine-tuned) under within `context`
    /// tokens: see [`batch::pair_prompt`].
    pub fn scored_prompt(&self, context: usize) -> &[u32] {
        batch::pair_prompt(&self.prompt, [&self.chosen, &self.rejected], context)
    }
}

/// The special tokens of a vocabulary and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specials {
    /// Padding (never a target that counts).
    pub pad: u32,
    /// Begins every sequence.
    pub bos: u32,
    /// Ends every response; its log-probability is part of log π(y|x).
    pub eos: u32,
    /// Vocabulary size, specials included.
    pub vocab: usize,
}

impl Specials {
    /// `symbols` ordinary tokens 0..symbols, then PAD, BOS, EOS.
    pub fn after(symbols: usize) -> Self {
        let s = symbols as u32;
        Self {
            pad: s,
            bos: s + 1,
            eos: s + 2,
            vocab: symbols + 3,
        }
    }
}
