//! `sampled` mode: converges toward `expected` as n_pairs grows; a seed fixes everything.

mod common;

use common::{l2, loss, problem, train_method};
use workbench::bandit::training::{Record, train};
use workbench::bandit::{DataMode, PairScheme, PreferenceData, PreferenceObjective};
use workbench::policy::SoftmaxPolicy;

fn sampled(n_pairs: usize, seed: u64) -> DataMode {
    DataMode::Sampled {
        n_pairs,
        seed,
        batch_size: 0,
    }
}

/// Final policies of DPO trained on `seeds.len()` samples of `n` pairs, all seeds in one batch.
fn sampled_policies(
    p: &workbench::bandit::BanditProblem,
    n: usize,
    seeds: &[u64],
    epochs: usize,
) -> Vec<Vec<f64>> {
    let device = common::device();
    let rows = seeds
        .iter()
        .map(|&seed| {
            (
                PreferenceData::new(p, PairScheme::Uniform, sampled(n, seed)),
                p.log_pi_ref(),
            )
        })
        .collect();
    let objective = PreferenceObjective::per_variant(loss("dpo", ""), p.beta, rows, &device);
    let policy = SoftmaxPolicy::new(&p.log_pi_ref(), seeds.len(), &device);
    let bar = workbench::progress::Silent;
    let run = train(
        policy,
        &objective,
        &[],
        &common::ADAM.into(),
        epochs,
        Record::Final,
        &bar,
    )
    .expect("finite");
    (0..seeds.len())
        .map(|v| run.policy(0, v).to_vec())
        .collect()
}

#[test]
fn sampled_mode_converges_to_expected_mode_as_pairs_grow() {
    let p = problem(1.0);
    let expected = train_method(
        loss("dpo", ""),
        &p,
        PairScheme::Uniform,
        DataMode::Expected,
        1000,
    );
    // Mean distance over 8 seeds; the sampling error shrinks like 1/sqrt(n).
    let gap = |n: usize| -> f64 {
        let policies = sampled_policies(&p, n, &[0, 1, 2, 3, 4, 5, 6, 7], 1000);
        policies
            .iter()
            .map(|policy| l2(policy, &expected))
            .sum::<f64>()
            / policies.len() as f64
    };
    let (small, large) = (gap(100), gap(10_000));
    assert!(large < small / 3.0, "n=100: {small}, n=10000: {large}");
    assert!(large < 0.02, "n=10000 still {large} from expected mode");
}

#[test]
fn batched_seeds_equal_separate_runs() {
    let p = problem(1.0);
    let batched = sampled_policies(&p, 50, &[3, 4], 200);
    for (seed, policy) in [3, 4].into_iter().zip(&batched) {
        let alone = train_method(
            loss("dpo", ""),
            &p,
            PairScheme::Uniform,
            sampled(50, seed),
            200,
        );
        assert!(
            l2(policy, &alone) < 1e-12,
            "seed {seed}: {policy:?} vs {alone:?}"
        );
    }
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
            assert!(
                (freq - pair.weight).abs() < 6e-3,
                "{scheme:?} {pair:?}: sampled {freq}"
            );
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
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![64, 64, 64, 58]
    );
    for batch in &batches {
        let total: f64 = batch.iter().map(|pair| pair.weight).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
    assert_ne!(
        data.epoch_batches(5),
        data.epoch_batches(6),
        "each epoch reshuffles"
    );
}
