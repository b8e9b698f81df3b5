//! The pairs of a run: generated or read from JSONL (tokenized by the checkpoint's
//! tokenizer where there is one, else by bytes), and split into those trained on and
//! those held out.

use super::config::{DataSpec, HeldOutSpec};
use crate::error::WorkbenchError;
use crate::progress::Progress;
use crate::sequence::checkpoint::Checkpoint;
use crate::sequence::tokenizer::ByteTokenizer;
use crate::sequence::{TokenPair, jsonl, synthetic};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Some pairs, plus what is known about them.
#[derive(Debug, Clone, Default)]
pub(super) struct Split {
    pub pairs: Vec<TokenPair>,
    /// r*(y_w) − r*(y_l), synthetic data only.
    pub reward_margin: Option<Vec<f64>>,
}

/// The pairs trained on, those held out, and notes on where they came from.
pub(super) struct Data {
    pub train: Split,
    /// Empty without a held-out split.
    pub held_out: Split,
    pub notes: Vec<(String, String)>,
}

/// The pairs `spec` and `held_out` name; a JSONL file's skipped lines are warned about
/// through `progress`.
pub(super) fn load(
    spec: &DataSpec,
    held_out: &HeldOutSpec,
    checkpoint: Option<&Checkpoint>,
    progress: &Progress,
) -> Result<Data, WorkbenchError> {
    let mut notes = Vec::new();
    let all = match spec {
        DataSpec::Synthetic(s) => {
            let data = synthetic::generate(s);
            Split {
                pairs: data.pairs,
                reward_margin: Some(data.reward_margin),
            }
        }
        DataSpec::Jsonl { path, max_pairs } => Split {
            pairs: read_jsonl(path, *max_pairs, checkpoint, progress, "data", &mut notes)?,
            reward_margin: None,
        },
    };
    let (train, held_out) = match held_out {
        HeldOutSpec::None => (all, Split::default()),
        HeldOutSpec::Fraction { fraction, seed } => split(all, *fraction, *seed),
        HeldOutSpec::Jsonl(path) => {
            let pairs = read_jsonl(path, 0, checkpoint, progress, "eval_data", &mut notes)?;
            let held = Split {
                pairs,
                reward_margin: None,
            };
            (all, held)
        }
    };
    Ok(Data {
        train,
        held_out,
        notes,
    })
}

/// `all` split at random (seeded) into the pairs trained on and round(`fraction` × n)
/// held out, each part in the data's order.
pub(super) fn split(all: Split, fraction: f64, seed: u64) -> (Split, Split) {
    let n = all.pairs.len();
    let held = ((n as f64 * fraction).round() as usize).min(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut is_held = vec![false; n];
    for &i in &order[..held] {
        is_held[i] = true;
    }
    let part = |want: bool| {
        let keep = |i: &usize| is_held[*i] == want;
        Split {
            pairs: (0..n).filter(keep).map(|i| all.pairs[i].clone()).collect(),
            reward_margin: all
                .reward_margin
                .as_ref()
                .map(|m| (0..n).filter(keep).map(|i| m[i]).collect()),
        }
    };
    (part(false), part(true))
}

/// Swaps y_w and y_l of each pair of `split` with probability `p`, the draws from a
/// generator seeded with `seed` on a stream of its own (the held-out split's draws are
/// on stream 0): a pair keeps its place, its reward margin changes sign. Returns 1 for
/// each swapped pair, 0 for the others.
pub(super) fn flip(split: &mut Split, p: f64, seed: u64) -> Vec<f64> {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(FLIP_STREAM);
    let mut flags = Vec::with_capacity(split.pairs.len());
    for (i, pair) in split.pairs.iter_mut().enumerate() {
        let swap = rng.random::<f64>() < p;
        if swap {
            std::mem::swap(&mut pair.chosen, &mut pair.rejected);
            if let Some(margin) = split.reward_margin.as_mut() {
                margin[i] = -margin[i];
            }
        }
        flags.push(f64::from(u8::from(swap)));
    }
    flags
}

/// The generator stream of [`flip`]'s draws.
const FLIP_STREAM: u64 = 1;

/// The first `max_pairs` pairs (0: all) of the JSONL file `path`, tokenized; a note
/// `name` says how many were used and skipped.
fn read_jsonl(
    path: &Path,
    max_pairs: usize,
    checkpoint: Option<&Checkpoint>,
    progress: &Progress,
    name: &str,
    notes: &mut Vec<(String, String)>,
) -> Result<Vec<TokenPair>, WorkbenchError> {
    let loaded = jsonl::load(path)?;
    let warnings = loaded.warnings(path);
    for warning in &warnings {
        progress.warn(warning);
    }
    let take = if max_pairs == 0 {
        loaded.pairs.len()
    } else {
        max_pairs
    };
    let used = loaded.pairs.iter().take(take);
    let pairs: Vec<TokenPair> = match checkpoint {
        None => used.map(|p| p.tokens(&ByteTokenizer)).collect(),
        Some(checkpoint) => {
            let tokenizer = &checkpoint.tokenizer;
            let encode = |line: usize, text: &str| {
                tokenizer.encode(text).map_err(|why| {
                    WorkbenchError::Data(format!("{}:{line}: {why}", path.display()))
                })
            };
            used.map(|p| {
                Ok(TokenPair {
                    prompt: encode(p.line, &p.prompt)?,
                    chosen: encode(p.line, &p.chosen)?,
                    rejected: encode(p.line, &p.rejected)?,
                })
            })
            .collect::<Result<_, WorkbenchError>>()?
        }
    };
    notes.push((
        name.to_string(),
        format!(
            "{}: {} pairs used, {} lines skipped",
            path.display(),
            pairs.len(),
            warnings.len()
        ),
    ));
    if let Some(first) = warnings.first() {
        notes.push((format!("{name}_first_skipped"), first.clone()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::{Split, flip, split};
    use crate::sequence::TokenPair;

    fn numbered(n: usize) -> Split {
        Split {
            pairs: (0..n as u32)
                .map(|i| TokenPair {
                    prompt: vec![i],
                    chosen: vec![1],
                    rejected: vec![2],
                })
                .collect(),
            reward_margin: Some((0..n).map(|i| i as f64).collect()),
        }
    }

    #[test]
    fn flips_are_seeded_swap_the_labels_and_keep_the_order() {
        let pairs: Vec<TokenPair> = (0..1000u32)
            .map(|i| TokenPair {
                prompt: vec![i],
                chosen: vec![1],
                rejected: vec![2],
            })
            .collect();
        let split = Split {
            pairs,
            reward_margin: Some(vec![1.0; 1000]),
        };
        let (mut a, mut b) = (split.clone(), split.clone());
        let flags = flip(&mut a, 0.5, 7);
        assert_eq!(flags, flip(&mut b, 0.5, 7), "seeded");
        let swapped = flags.iter().sum::<f64>();
        assert!(
            (430.0..570.0).contains(&swapped),
            "{swapped} of 1000 at p = 0.5"
        );
        for ((pair, flag), margin) in a.pairs.iter().zip(&flags).zip(a.reward_margin.unwrap()) {
            let flipped = *flag == 1.0;
            assert_eq!(pair.chosen, if flipped { vec![2] } else { vec![1] });
            assert_eq!(margin, if flipped { -1.0 } else { 1.0 });
        }
        assert!(
            a.pairs
                .iter()
                .enumerate()
                .all(|(i, p)| p.prompt == [i as u32])
        );
        let mut none = split.clone();
        assert!(flip(&mut none, 0.0, 7).iter().all(|f| *f == 0.0));
        let mut all = split;
        assert!(flip(&mut all, 1.0, 7).iter().all(|f| *f == 1.0));
    }

    #[test]
    fn a_split_partitions_the_pairs_in_order_and_depends_on_the_seed_only() {
        let (train, held) = split(numbered(101), 0.25, 7);
        assert_eq!((train.pairs.len(), held.pairs.len()), (76, 25));
        let ids = |s: &Split| s.pairs.iter().map(|p| p.prompt[0]).collect::<Vec<_>>();
        let mut all = [ids(&train), ids(&held)].concat();
        assert!(ids(&train).is_sorted() && ids(&held).is_sorted());
        all.sort();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        // The margins travel with their pairs.
        let margins = held.reward_margin.clone().unwrap();
        assert_eq!(
            margins,
            ids(&held).iter().map(|&i| i as f64).collect::<Vec<_>>()
        );
        assert_eq!(ids(&split(numbered(101), 0.25, 7).1), ids(&held));
        assert_ne!(ids(&split(numbered(101), 0.25, 8).1), ids(&held));
        assert_eq!(split(numbered(10), 0.0, 1).1.pairs.len(), 0);
    }
}
