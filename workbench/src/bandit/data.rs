//! Preference data as weighted labelled pairs: the exact expectation (`expected`) or a
//! seeded sample (`sampled`), over `uniform` or `reference` pairs (docs/experiments.md §1).

use super::BanditProblem;
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How the two responses of a pair are drawn (`data.pairs = "uniform" | "reference"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairScheme {
    /// Each unordered pair {i, j}, i ≠ j, equally likely (App. B.1).
    Uniform,
    /// i and j independently from π_ref, i = j allowed (App. C).
    Reference,
}

/// Infinite data or a finite sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// The exact expectation over pairs and labels.
    Expected,
    /// `n_pairs` pairs drawn with `seed`, winners from p*; an epoch is one pass in
    /// shuffled minibatches of `batch_size` (the whole set when 0).
    Sampled {
        /// Number of pairs.
        n_pairs: usize,
        /// RNG seed for the pairs, the labels and the minibatch order.
        seed: u64,
        /// Minibatch size; 0 means the whole set.
        batch_size: usize,
    },
}

/// A labelled pair y_w ≻ y_l with its weight in the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledPair {
    /// Index of the preferred response y_w.
    pub chosen: usize,
    /// Index of the dispreferred response y_l.
    pub rejected: usize,
    /// Weight of this pair in the (batch) loss; a batch's weights sum to 1.
    pub weight: f64,
}

/// Preference data for one run: the pairs and how an epoch walks through them.
#[derive(Debug, Clone, PartialEq)]
pub struct PreferenceData {
    pairs: Vec<LabelledPair>,
    mode: DataMode,
}

impl PreferenceData {
    /// Builds the data of `problem` under `scheme` and `mode`.
    pub fn new(problem: &BanditProblem, scheme: PairScheme, mode: DataMode) -> Self {
        let pairs = match mode {
            DataMode::Expected => expected_pairs(problem, scheme),
            DataMode::Sampled { n_pairs, seed, .. } => {
                sampled_pairs(problem, scheme, n_pairs, seed)
            }
        };
        Self { pairs, mode }
    }

    /// All pairs (weights sum to 1).
    pub fn pairs(&self) -> &[LabelledPair] {
        &self.pairs
    }

    /// Whether every epoch uses the same single batch (so it can be built once).
    pub fn is_full_batch(&self) -> bool {
        match self.mode {
            DataMode::Expected => true,
            DataMode::Sampled {
                n_pairs,
                batch_size,
                ..
            } => batch_size == 0 || batch_size >= n_pairs,
        }
    }

    /// The minibatches of `epoch`, each with weights summing to 1.
    pub fn epoch_batches(&self, epoch: usize) -> Vec<Vec<LabelledPair>> {
        match self.mode {
            DataMode::Sampled {
                seed, batch_size, ..
            } if !self.is_full_batch() => {
                let mut order: Vec<usize> = (0..self.pairs.len()).collect();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(epoch as u64 + 1);
                order.shuffle(&mut rng);
                order
                    .chunks(batch_size)
                    .map(|chunk| {
                        let weight = 1.0 / chunk.len() as f64;
                        chunk
                            .iter()
                            .map(|&i| LabelledPair {
                                weight,
                                ..self.pairs[i]
                            })
                            .collect()
                    })
                    .collect()
            }
            _ => vec![self.pairs.clone()],
        }
    }
}

/// Every ordered (winner, loser) with its exact probability under `scheme` and p*.
fn expected_pairs(problem: &BanditProblem, scheme: PairScheme) -> Vec<LabelledPair> {
    let k = problem.actions();
    let mut pairs = Vec::new();
    let mut push = |chosen, rejected, weight: f64| {
        if weight > 0.0 {
            pairs.push(LabelledPair {
                chosen,
                rejected,
                weight,
            });
        }
    };
    match scheme {
        PairScheme::Uniform => {
            let n_unordered = (k * (k - 1) / 2) as f64;
            for i in 0..k {
                for j in i + 1..k {
                    push(i, j, problem.preference(i, j) / n_unordered);
                    push(j, i, problem.preference(j, i) / n_unordered);
                }
            }
        }
        PairScheme::Reference => {
            for i in 0..k {
                for j in 0..k {
                    // Both draws (i, j) and (j, i) can end labelled i ≻ j; the draw
                    // (i, i) is one event, whichever way it is labelled.
                    let draws = if i == j { 1.0 } else { 2.0 };
                    let p_pair = draws * problem.pi_ref[i] * problem.pi_ref[j];
                    let p_label = if i == j {
                        1.0
                    } else {
                        problem.preference(i, j)
                    };
                    push(i, j, p_pair * p_label);
                }
            }
        }
    }
    pairs
}

/// `n` pairs drawn with `seed`: the pair from `scheme`, the winner from p*.
fn sampled_pairs(
    problem: &BanditProblem,
    scheme: PairScheme,
    n: usize,
    seed: u64,
) -> Vec<LabelledPair> {
    let k = problem.actions();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // π_ref is validated positive and summing to 1, so WeightedIndex cannot fail.
    let reference = WeightedIndex::new(&problem.pi_ref).expect("validated π_ref");
    (0..n)
        .map(|_| {
            let (i, j) = match scheme {
                PairScheme::Uniform => {
                    let i = rng.random_range(0..k);
                    let j = (i + rng.random_range(1..k)) % k;
                    (i, j)
                }
                PairScheme::Reference => (reference.sample(&mut rng), reference.sample(&mut rng)),
            };
            let (chosen, rejected) = if rng.random_bool(problem.preference(i, j)) {
                (i, j)
            } else {
                (j, i)
            };
            LabelledPair {
                chosen,
                rejected,
                weight: 1.0 / n as f64,
            }
        })
        .collect()
}
