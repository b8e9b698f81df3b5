//! The step rules of the bandit training loop, against closed forms of gradient descent:
//! each variant's gradient clipped by its own norm, the learning rate of a warmup, and
//! accumulated minibatches equal to one batch of their union.

mod common;

use common::{device, loss, problem};
use workbench::bandit::training::{Record, Trajectory, train};
use workbench::bandit::{DataMode, PairScheme, PreferenceData, PreferenceObjective};
use workbench::constraints::{Constraint, WeightDecay};
use workbench::optim::{Decay, LrSchedule, OptimizerSpec, StepRules, Warmup};
use workbench::policy::SoftmaxPolicy;

const LR: f64 = 0.5;

/// [`run_at`] learning rate [`LR`].
fn run(mode: DataMode, rules: StepRules, epochs: usize) -> Trajectory {
    run_at(LR, mode, rules, epochs)
}

/// DPO on `mode`'s data from log π_ref, two variants with weight decay 0 and 3 (so their
/// gradients differ), by gradient descent at `lr` with `rules`, every epoch recorded.
fn run_at(lr: f64, mode: DataMode, rules: StepRules, epochs: usize) -> Trajectory {
    let device = device();
    let p = problem(1.0);
    let data = PreferenceData::new(&p, PairScheme::Uniform, mode);
    let objective = PreferenceObjective::new(loss("dpo", ""), &p, data, &device);
    let policy = SoftmaxPolicy::new(&p.log_pi_ref(), 2, &device);
    let decay: Vec<Box<dyn Constraint>> = vec![Box::new(WeightDecay::new(&[0.0, 3.0], &device))];
    let optimizer = OptimizerSpec {
        rules,
        ..OptimizerSpec::gradient_descent(lr)
    };
    let bar = workbench::progress::Silent;
    train(
        policy,
        &objective,
        &decay,
        &optimizer,
        epochs,
        Record::EveryEpoch,
        &bar,
    )
    .expect("finite")
}

/// Variant `v`'s θ after `epoch` epochs (3 logits).
fn theta(run: &Trajectory, epoch: usize, v: usize) -> Vec<f64> {
    run.parameters[epoch][v * 3..(v + 1) * 3].to_vec()
}

#[test]
fn each_variants_gradient_is_clipped_by_its_own_norm() {
    let plain = run(DataMode::Expected, StepRules::default(), 1);
    // The gradient of each variant from the unclipped step: θ₁ = θ₀ − lr·g.
    let grads: Vec<Vec<f64>> = (0..2)
        .map(|v| {
            let (before, after) = (theta(&plain, 0, v), theta(&plain, 1, v));
            before
                .iter()
                .zip(&after)
                .map(|(a, b)| (a - b) / LR)
                .collect()
        })
        .collect();
    let norms: Vec<f64> = grads
        .iter()
        .map(|g| g.iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    assert!(
        norms[1] > 2.0 * norms[0],
        "weight decay makes variant 1 steeper: {norms:?}"
    );
    // A limit between the two norms clips variant 1 only.
    let max_norm = (norms[0] + norms[1]) / 2.0;
    let rules = StepRules {
        max_norm,
        ..StepRules::default()
    };
    let clipped = run(DataMode::Expected, rules, 1);
    for v in 0..2 {
        let factor = (max_norm / (norms[v] + 1e-6)).min(1.0);
        let want: Vec<f64> = theta(&plain, 0, v)
            .iter()
            .zip(&grads[v])
            .map(|(t, g)| t - LR * g * factor)
            .collect();
        let got = theta(&clipped, 1, v);
        for (a, b) in got.iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-12,
                "variant {v}: {got:?} against {want:?}"
            );
        }
    }
    assert_eq!(
        theta(&clipped, 1, 0),
        theta(&plain, 1, 0),
        "variant 0 is not clipped"
    );
}

#[test]
fn a_warmup_starts_at_zero_and_rises_linearly() {
    let rules = StepRules {
        schedule: LrSchedule {
            warmup: Warmup::Steps(2),
            decay: Decay::Constant,
            floor: 0.0,
        },
        ..StepRules::default()
    };
    let warm = run(DataMode::Expected, rules, 3);
    let plain = run(DataMode::Expected, StepRules::default(), 1);
    let half = run_at(LR / 2.0, DataMode::Expected, StepRules::default(), 1);
    for v in 0..2 {
        // Step 0 at learning rate 0, step 1 at lr/2, step 2 at lr.
        assert_eq!(theta(&warm, 1, v), theta(&warm, 0, v));
        assert_eq!(theta(&warm, 2, v), theta(&half, 1, v));
        assert_ne!(theta(&warm, 2, v), theta(&plain, 1, v));
    }
}

#[test]
fn accumulated_minibatches_step_as_one_batch_of_their_union() {
    let sampled = |batch_size| DataMode::Sampled {
        n_pairs: 60,
        seed: 4,
        batch_size,
    };
    let one = run(sampled(20), StepRules::default(), 5);
    let accumulated = run(
        sampled(10),
        StepRules {
            accumulation: 2,
            ..StepRules::default()
        },
        5,
    );
    let unaccumulated = run(sampled(10), StepRules::default(), 5);
    for epoch in 1..=5 {
        for v in 0..2 {
            let (a, b) = (theta(&one, epoch, v), theta(&accumulated, epoch, v));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-12, "epoch {epoch}: {a:?} against {b:?}");
            }
        }
    }
    assert_ne!(theta(&unaccumulated, 5, 0), theta(&one, 5, 0));
}
