//! Synthetic preference data with a known ground truth (the default data of
//! `sequence_dpo`), fully determined by its seed.
//!
//! The generator:
//! - **Vocabulary**: `symbols` ordinary tokens `0..symbols` (then PAD, BOS, EOS).
//! - **Prompts** x: length uniform in `prompt_len`, tokens uniform.
//! - **Teacher** (what SFT imitates): a first-order Markov chain over symbols with rows
//!   `softmax(sharpness · g)`, `g ~ N(0, 1)`; a response starts from the state of the
//!   prompt's last token and has length uniform in `response_len`. Both responses of a pair
//!   are drawn from it independently (redrawn while identical).
//! - **Latent reward** r*(x, y) = mean over y's tokens of w[token] + `echo_bonus`·1{x₀ ∈ y},
//!   `w ~ N(0, reward_scale²)` per symbol: responses built from "good" symbols, and ones
//!   that echo the prompt's first token, are preferred.
//! - **Labels**: Bradley–Terry, P(y₁ ≻ y₂ | x) = σ(r*(x, y₁) − r*(x, y₂)).
//!
//! Because responses differ in length and the teacher is peaked, π_ref(y_l|x)/π_ref(y_w|x)
//! spreads over several orders of magnitude (each token contributes its own log-probability).
//!
//! **The length confound, and how to remove it.** With the defaults above the label is tied
//! to response length: a longer response contains the prompt's first token more often (so
//! it earns the echo bonus more often), and a longer response has a lower π_ref (so ρ_ref
//! mostly measures the length difference). The low- and high-ρ_ref groups then differ in
//! length and label noise, not only in ρ_ref. `equal_lengths = true` draws one response
//! length per pair (y_w and y_l are equally long), and `echo_bonus = 0` leaves a reward,
//! the mean per-symbol w, with no length dependence; with both, ρ_ref comes from which
//! tokens the teacher favours, and the reward from which tokens w favours, independently.

use super::{Specials, TokenPair};
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The generator's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Number of preference pairs.
    pub pairs: usize,
    /// Ordinary tokens in the vocabulary.
    pub symbols: usize,
    /// Prompt length range [min, max], inclusive.
    pub prompt_len: [usize; 2],
    /// Response length range [min, max], inclusive.
    pub response_len: [usize; 2],
    /// How peaked the teacher's transitions are (0 = uniform).
    pub sharpness: f64,
    /// Standard deviation of the per-symbol reward w.
    pub reward_scale: f64,
    /// Reward for a response containing the prompt's first token.
    pub echo_bonus: f64,
    /// Draw one response length per pair, so that y_w and y_l are equally long.
    pub equal_lengths: bool,
    /// Seed of everything above.
    pub seed: u64,
}

/// Generated data and its ground truth.
#[derive(Debug, Clone)]
pub struct SyntheticData {
    /// The pairs, labelled by Bradley–Terry on r*.
    pub pairs: Vec<TokenPair>,
    /// r*(x, y_w) − r*(x, y_l) per pair (negative where the label went against r*).
    pub reward_margin: Vec<f64>,
    /// The vocabulary's special tokens.
    pub specials: Specials,
}

/// The teacher and the reward of one seed.
struct World {
    transitions: Vec<WeightedIndex<f64>>,
    reward: Vec<f64>,
}

impl World {
    fn new(spec: &SyntheticSpec, rng: &mut ChaCha8Rng) -> Self {
        let n = spec.symbols;
        let transitions = (0..n)
            .map(|_| {
                let logits: Vec<f64> = (0..n)
                    .map(|_| spec.sharpness * rng.sample::<f64, _>(StandardNormal))
                    .collect();
                let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
                WeightedIndex::new(weights).expect("positive finite weights")
            })
            .collect();
        let reward = (0..n)
            .map(|_| spec.reward_scale * rng.sample::<f64, _>(StandardNormal))
            .collect();
        Self {
            transitions,
            reward,
        }
    }

    fn response(&self, prompt: &[u32], len: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
        let mut state = *prompt.last().expect("prompts are non-empty") as usize;
        (0..len)
            .map(|_| {
                state = self.transitions[state].sample(rng);
                state as u32
            })
            .collect()
    }

    fn reward(&self, prompt: &[u32], response: &[u32], echo_bonus: f64) -> f64 {
        let mean = response
            .iter()
            .map(|&t| self.reward[t as usize])
            .sum::<f64>()
            / response.len() as f64;
        let echo = if response.contains(&prompt[0]) {
            echo_bonus
        } else {
            0.0
        };
        mean + echo
    }
}

/// Generates `spec.pairs` labelled pairs.
pub fn generate(spec: &SyntheticSpec) -> SyntheticData {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let world = World::new(spec, &mut rng);
    let mut pairs = Vec::with_capacity(spec.pairs);
    let mut reward_margin = Vec::with_capacity(spec.pairs);
    let length = |range: [usize; 2], rng: &mut ChaCha8Rng| rng.random_range(range[0]..=range[1]);
    while pairs.len() < spec.pairs {
        let prompt: Vec<u32> = (0..length(spec.prompt_len, &mut rng))
            .map(|_| rng.random_range(0..spec.symbols) as u32)
            .collect();
        let first_len = length(spec.response_len, &mut rng);
        let first = world.response(&prompt, first_len, &mut rng);
        let second_len = if spec.equal_lengths {
            first_len
        } else {
            length(spec.response_len, &mut rng)
        };
        let second = world.response(&prompt, second_len, &mut rng);
        if first == second {
            continue;
        }
        let (r1, r2) = (
            world.reward(&prompt, &first, spec.echo_bonus),
            world.reward(&prompt, &second, spec.echo_bonus),
        );
        let p_first = 1.0 / (1.0 + (r2 - r1).exp());
        let (chosen, rejected, margin) = if rng.random::<f64>() < p_first {
            (first, second, r1 - r2)
        } else {
            (second, first, r2 - r1)
        };
        pairs.push(TokenPair {
            prompt,
            chosen,
            rejected,
        });
        reward_margin.push(margin);
    }
    SyntheticData {
        pairs,
        reward_margin,
        specials: Specials::after(spec.symbols),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SyntheticSpec {
        SyntheticSpec {
            pairs: 500,
            symbols: 12,
            prompt_len: [2, 5],
            response_len: [1, 8],
            sharpness: 1.5,
            reward_scale: 1.0,
            echo_bonus: 1.0,
            equal_lengths: false,
            seed: 7,
        }
    }

    #[test]
    fn equal_lengths_pairs_responses_of_one_length() {
        let data = generate(&SyntheticSpec {
            equal_lengths: true,
            echo_bonus: 0.0,
            ..spec()
        });
        assert!(
            data.pairs
                .iter()
                .all(|p| p.chosen.len() == p.rejected.len())
        );
        let lengths: std::collections::BTreeSet<usize> =
            data.pairs.iter().map(|p| p.chosen.len()).collect();
        assert!(
            lengths.len() > 4,
            "lengths still vary across pairs: {lengths:?}"
        );
    }

    #[test]
    fn same_seed_same_data_and_labels_follow_the_reward() {
        let (a, b) = (generate(&spec()), generate(&spec()));
        assert_eq!(a.pairs, b.pairs);
        assert_eq!(a.pairs.len(), 500);
        for pair in &a.pairs {
            assert!((2..=5).contains(&pair.prompt.len()));
            assert!((1..=8).contains(&pair.chosen.len()));
            assert_ne!(pair.chosen, pair.rejected);
            assert!(pair.prompt.iter().chain(&pair.chosen).all(|&t| t < 12));
        }
        // Bradley–Terry labels agree with r* more often than not.
        let agree = a.reward_margin.iter().filter(|m| **m > 0.0).count();
        assert!(agree > 300, "{agree} of 500 labels agree with r*");
        let other = generate(&SyntheticSpec { seed: 8, ..spec() });
        assert_ne!(other.pairs, a.pairs);
    }
}
