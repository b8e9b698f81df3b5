//! `sampled` mode: converges toward `expected` as n_pairs grows; a seed fixes everything.

mod common;

use common::{l2, loss, problem, train_method};
use workbench::bandit::{DataMode, PairScheme, PreferenceData};

fn sampled(n_pairs: usize, seed: u64) -> DataMode {
    DataMode::Sampled {
        n_pairs,
        seed,
        batch_size: 0,
    }
}

#[test]
fn sampled_mode_converges_to_expected_mode_as_pairs_grow() {
    let p = problem(1.0);
    let expected = train_method(loss("dpo", ""), &p, PairScheme::Uniform, DataMode::Expected, 1000);
    // Mean distance over seeds; the sampling error shrinks like 1/sqrt(n).
    let gap = |n: usize| -> f64 {
        (0..4)
            .map(|seed| l2(&train_method(loss("dpo", ""), &p, PairScheme::Uniform, sampled(n, seed), 1000), &expected))
            .sum::<f64>()
            / 4.0
    };
    let (small, large) = (gap(100), gap(10_000));
    assert!(large < small / 3.0, "n=100: {small}, n=10000: {large}");
    assert!(large < 0.02, "n=10000 still {large} from expected mode");
}

#[test]
fn sampled_pair_frequencies_match_the_expected_weights() {
    let p = problem(1.0);
    for scheme in [PairScheme::Uniform, PairScheme::Reference] {
        let expected = PreferenceData::new(&p, scheme, DataMode::Expected);
        let sample = PreferenceData::new(&p, scheme, sampled(200_000, 7));
        for pair in expected.pairs() {
            let freq = sample
                .pairs()
                .iter()
                .filter(|s| s.chosen == pair.chosen && s.rejected == pair.rejected)
                .count() as f64
                / 200_000.0;
            // Binomial standard error is below 1.2e-3 here; allow 5 of them.
            assert!((freq - pair.weight).abs() < 6e-3, "{scheme:?} {pair:?}: sampled {freq}");
        }
    }
}

#[test]
fn same_seed_same_policy_and_minibatches_cover_every_pair() {
    let p = problem(1.0);
    let mode = DataMode::Sampled {
        n_pairs: 250,
        seed: 3,
        batch_size: 64,
    };
    let a = train_method(loss("ipo", ""), &p, PairScheme::Reference, mode, 50);
    let b = train_method(loss("ipo", ""), &p, PairScheme::Reference, mode, 50);
    assert_eq!(a, b, "same seed must give bit-identical policies");
    let data = PreferenceData::new(&p, PairScheme::Reference, mode);
    let batches = data.epoch_batches(5);
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![64, 64, 64, 58]);
    for batch in &batches {
        let total: f64 = batch.iter().map(|pair| pair.weight).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
    assert_ne!(data.epoch_batches(5), data.epoch_batches(6), "each epoch reshuffles");
}
