//! Padded batches of `[BOS] prompt response [EOS]` sequences, shifted for next-token
//! prediction, with a mask selecting the positions whose target is a response token.

use super::Specials;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A batch on the device: `inputs[b, t]` predicts `targets[b, t]`; `mask[b, t]` is 1 where
/// that target belongs to the response (EOS included), else 0 (prompt, padding).
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// Input tokens `[batch, time]`.
    pub inputs: Tensor<2, Int>,
    /// Target tokens `[batch, time]` (the inputs shifted by one).
    pub targets: Tensor<2, Int>,
    /// Response mask `[batch, time]`, as floats.
    pub mask: Tensor<2>,
    /// Number of response tokens (mask ones).
    pub response_tokens: usize,
}

/// One sequence as `[BOS] prompt response [EOS]`, cut to at most `context` tokens when
/// too long: the response keeps its first tokens and at least half the room, the prompt
/// its last tokens. Returns the tokens and the index of the first response token.
pub fn layout(
    prompt: &[u32],
    response: &[u32],
    specials: Specials,
    context: usize,
) -> (Vec<u32>, usize) {
    debug_assert!(context >= 3, "context must hold BOS, a token and EOS");
    let room = context.saturating_sub(2);
    let kept_response = response
        .len()
        .min(room.saturating_sub(prompt.len()).max(room / 2));
    let kept_prompt = prompt.len().min(room - kept_response);
    let mut tokens = Vec::with_capacity(kept_prompt + kept_response + 2);
    tokens.push(specials.bos);
    tokens.extend_from_slice(&prompt[prompt.len() - kept_prompt..]);
    let start = tokens.len();
    tokens.extend_from_slice(&response[..kept_response]);
    tokens.push(specials.eos);
    (tokens, start)
}

impl SequenceBatch {
    /// The batch of `(prompt, response)` sequences, padded to the longest.
    pub fn new(
        sequences: &[(&[u32], &[u32])],
        specials: Specials,
        context: usize,
        device: &Device,
    ) -> Self {
        let laid: Vec<(Vec<u32>, usize)> = sequences
            .iter()
            .map(|(prompt, response)| layout(prompt, response, specials, context))
            .collect();
        let time = laid.iter().map(|(t, _)| t.len() - 1).max().unwrap_or(1);
        let batch = laid.len();
        let mut inputs = vec![specials.pad as i64; batch * time];
        let mut targets = vec![specials.pad as i64; batch * time];
        let mut mask = vec![0.0f64; batch * time];
        let mut response_tokens = 0;
        for (b, (tokens, start)) in laid.iter().enumerate() {
            for t in 0..tokens.len() - 1 {
                inputs[b * time + t] = tokens[t] as i64;
                targets[b * time + t] = tokens[t + 1] as i64;
                // Target t + 1 is a response token (or EOS) from index `start` on.
                if t + 1 >= *start {
                    mask[b * time + t] = 1.0;
                    response_tokens += 1;
                }
            }
        }
        let shape = [batch, time];
        Self {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
            targets: Tensor::from_data(TensorData::new(targets, shape), device),
            mask: Tensor::from_data(TensorData::new(mask, shape), device),
            response_tokens,
        }
    }
}
