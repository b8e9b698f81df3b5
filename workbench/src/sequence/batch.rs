//! Padded batches of `[BOS] prompt response [EOS]` sequences, shifted for next-token
//! prediction, with a mask selecting the positions whose target is a response token.

use super::Specials;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A batch on the device: `inputs[b, t]` predicts `targets[b, t]`; `mask[b, t]` is 1 where
/// that target belongs to the response (EOS included when the response was not cut), else
/// 0 (prompt, padding).
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// Input tokens `[batch, time]`.
    pub inputs: Tensor<2, Int>,
    /// Target tokens `[batch, time]` (the inputs shifted by one).
    pub targets: Tensor<2, Int>,
    /// Response mask `[batch, time]`, as floats.
    pub mask: Tensor<2>,
    /// Scored response tokens of each sequence (its mask's row sum, EOS included).
    pub row_tokens: Vec<usize>,
    /// Number of response tokens (mask ones).
    pub response_tokens: usize,
    /// Input tokens of each row before its padding (at least 1): what a model that keeps
    /// padding out of attention needs to know.
    pub lengths: Vec<usize>,
    /// The scored positions (the mask's ones) as indices into the flattened `[batch ·
    /// time]` rows, in row order: where a model with a vocabulary-wide head needs logits.
    pub scored: Tensor<1, Int>,
}

/// One sequence laid out for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Laid {
    /// `[BOS] prompt response [EOS]`, cut to the context.
    pub tokens: Vec<u32>,
    /// Index of the first response token in `tokens`.
    pub start: usize,
    /// The response was cut to fit: it keeps its start and gets no EOS, so that a cut
    /// response is never scored as if it had ended there.
    pub cut: bool,
}

/// One sequence as `[BOS] prompt response [EOS]`, cut to at most `context` tokens when too
/// long. The response (with its EOS) keeps its first tokens and at least half the room
/// after BOS; the prompt keeps its last tokens. A response that does not fit whole loses
/// its EOS as well as its end.
pub fn layout(prompt: &[u32], response: &[u32], specials: Specials, context: usize) -> Laid {
    debug_assert!(context >= 3, "context must hold BOS, a token and EOS");
    let room = context.saturating_sub(1);
    let whole = response.len() + 1;
    let kept = whole.min(room.saturating_sub(prompt.len()).max(room / 2));
    let cut = kept < whole;
    let kept_response = if cut { kept } else { response.len() };
    let kept_prompt = prompt.len().min(room - kept);
    let mut tokens = Vec::with_capacity(1 + kept_prompt + kept);
    tokens.push(specials.bos);
    tokens.extend_from_slice(&prompt[prompt.len() - kept_prompt..]);
    let start = tokens.len();
    tokens.extend_from_slice(&response[..kept_response]);
    if !cut {
        tokens.push(specials.eos);
    }
    Laid { tokens, start, cut }
}

/// The prompt of a pair as both its responses are scored: its last tokens, as many as the
/// room the longer kept response leaves (see [`layout`]), so that log π(y_w|x) and
/// log π(y_l|x) condition on one x. Laid out with this prompt, each response keeps what
/// [`layout`] alone would keep of it.
pub fn pair_prompt<'a>(
    prompt: &'a [u32],
    [chosen, rejected]: [&[u32]; 2],
    context: usize,
) -> &'a [u32] {
    let room = context.saturating_sub(1);
    let kept = |response: &[u32]| {
        (response.len() + 1).min(room.saturating_sub(prompt.len()).max(room / 2))
    };
    let longer = kept(chosen).max(kept(rejected));
    &prompt[prompt.len() - prompt.len().min(room - longer)..]
}

/// The number of response tokens (EOS included) a batch scores for `(prompt, response)`:
/// its row of [`SequenceBatch::row_tokens`].
pub fn scored_tokens(
    (prompt, response): (&[u32], &[u32]),
    specials: Specials,
    context: usize,
) -> usize {
    let laid = layout(prompt, response, specials, context);
    laid.tokens.len() - laid.start
}

impl SequenceBatch {
    /// The batch of `(prompt, response)` sequences, padded to the longest.
    pub fn new(
        sequences: &[(&[u32], &[u32])],
        specials: Specials,
        context: usize,
        device: &Device,
    ) -> Self {
        let laid: Vec<Laid> = sequences
            .iter()
            .map(|(prompt, response)| layout(prompt, response, specials, context))
            .collect();
        let time = laid.iter().map(|l| l.tokens.len() - 1).max().unwrap_or(1);
        let batch = laid.len();
        let mut inputs = vec![specials.pad as i64; batch * time];
        let mut targets = vec![specials.pad as i64; batch * time];
        let mut mask = vec![0.0f64; batch * time];
        let mut row_tokens = vec![0; batch];
        let mut scored = Vec::new();
        for (b, Laid { tokens, start, .. }) in laid.iter().enumerate() {
            for t in 0..tokens.len() - 1 {
                inputs[b * time + t] = tokens[t] as i64;
                targets[b * time + t] = tokens[t + 1] as i64;
                // Target t + 1 is a response token (or EOS) from index `start` on.
                if t + 1 >= *start {
                    mask[b * time + t] = 1.0;
                    row_tokens[b] += 1;
                    scored.push((b * time + t) as i64);
                }
            }
        }
        let shape = [batch, time];
        let scored_shape = [scored.len()];
        Self {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
            targets: Tensor::from_data(TensorData::new(targets, shape), device),
            mask: Tensor::from_data(TensorData::new(mask, shape), device),
            response_tokens: row_tokens.iter().sum(),
            row_tokens,
            lengths: laid.iter().map(|l| l.tokens.len() - 1).collect(),
            scored: Tensor::from_data(TensorData::new(scored, scored_shape), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIALS: Specials = Specials {
        pad: 10,
        bos: 11,
        eos: 12,
        vocab: 13,
    };

    #[test]
    fn a_sequence_that_fits_is_whole_and_ends_with_eos() {
        let laid = layout(&[1, 2], &[3, 4, 5], SPECIALS, 7);
        assert_eq!(laid.tokens, vec![11, 1, 2, 3, 4, 5, 12]);
        assert_eq!((laid.start, laid.cut), (3, false));
    }

    #[test]
    fn a_cut_response_keeps_its_start_and_gets_no_eos() {
        // Room after BOS is 5: the response takes max(5 − 4, 5 / 2) = 2 tokens, no EOS.
        let laid = layout(&[1, 2, 3, 4], &[5, 6, 7, 8], SPECIALS, 6);
        assert_eq!(laid.tokens, vec![11, 2, 3, 4, 5, 6]);
        assert_eq!((laid.start, laid.cut), (4, true));
        assert!(!laid.tokens.contains(&SPECIALS.eos));
    }

    #[test]
    fn both_responses_of_a_pair_are_scored_under_one_prompt() {
        // Room after BOS is 7. Alone, the 1-token response would keep 5 prompt tokens and
        // the 5-token one 4 (it keeps max(7 − 6, 7/2) = 3 of its 6 with EOS, cut).
        let (prompt, short, long) = (&[1, 2, 3, 4, 5, 6][..], &[7][..], &[8, 9, 10, 11, 12][..]);
        let alone = [
            layout(prompt, short, SPECIALS, 8),
            layout(prompt, long, SPECIALS, 8),
        ];
        assert_eq!(alone[0].tokens, vec![11, 2, 3, 4, 5, 6, 7, 12]);
        assert_eq!(alone[1].tokens, vec![11, 3, 4, 5, 6, 8, 9, 10]);
        let x = pair_prompt(prompt, [short, long], 8);
        assert_eq!(x, &[3, 4, 5, 6]);
        let paired = [layout(x, short, SPECIALS, 8), layout(x, long, SPECIALS, 8)];
        assert_eq!(paired[0].tokens, vec![11, 3, 4, 5, 6, 7, 12]);
        assert_eq!(paired[1].tokens, alone[1].tokens);
        for (p, a) in paired.iter().zip(&alone) {
            // The responses keep what they kept alone; the prompts are the same.
            assert_eq!(p.tokens[p.start..], a.tokens[a.start..]);
            assert_eq!(p.tokens[..p.start], paired[0].tokens[..paired[0].start]);
            assert_eq!(p.cut, a.cut);
        }
        // A pair that fits keeps its whole prompt.
        assert_eq!(pair_prompt(&[1, 2], [&[3], &[4, 5]], 8), &[1, 2]);
    }

    #[test]
    fn a_long_prompt_is_cut_from_the_front_and_the_response_stays_whole() {
        let laid = layout(&[1, 2, 3, 4, 5, 6], &[7], SPECIALS, 5);
        assert_eq!(laid.tokens, vec![11, 5, 6, 7, 12]);
        assert_eq!((laid.start, laid.cut), (3, false));
    }
}
