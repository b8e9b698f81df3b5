//! Shared helpers for the core's tests: an f64 ndarray device and small builders.
#![allow(dead_code)]

use burn::tensor::Device;
use std::sync::Arc;
use workbench::bandit::training::{Record, Trajectory, train};
use workbench::bandit::{
    BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective, RlhfObjective,
};
use workbench::losses::PairwiseLoss;
use workbench::optim::AdamSpec;
use workbench::policy::SoftmaxPolicy;

/// The f64 ndarray device with autodiff.
pub fn device() -> Device {
    backends::device(backends::BackendName::Ndarray, backends::Precision::F64).expect("ndarray f64")
}

/// docs/experiments.md §1 defaults with the given β.
pub fn problem(beta: f64) -> BanditProblem {
    BanditProblem {
        pi_star: vec![0.6, 0.3, 0.1],
        pi_ref: vec![0.4, 0.4, 0.2],
        beta,
        reward_floor: 1e-12,
    }
}

/// A loss from the built-in registry, e.g. `loss("fdpo", "divergence = \"js\"")`.
pub fn loss(name: &str, params: &str) -> Arc<dyn PairwiseLoss> {
    let registry = workbench::Registry::builtin();
    let table: toml::Table = params.parse().expect("params");
    (registry.loss(name).expect("registered").build)(&table).expect("valid params")
}

/// Adam with the docs/experiments.md defaults.
pub const ADAM: AdamSpec = AdamSpec {
    lr: 0.01,
    betas: [0.9, 0.999],
    eps: 1e-8,
};

/// Trains `loss` (from log π_ref, no constraint) for `epochs`; returns the final policy.
pub fn train_method(
    loss: Arc<dyn PairwiseLoss>,
    problem: &BanditProblem,
    scheme: PairScheme,
    mode: DataMode,
    epochs: usize,
) -> Vec<f64> {
    let device = device();
    let data = PreferenceData::new(problem, scheme, mode);
    let objective = PreferenceObjective::new(loss, problem, data, &device);
    run(&objective, problem, epochs, &device).last().to_vec()
}

/// Trains the RLHF counterpart of `loss` for `epochs`; returns the final policy.
pub fn train_counterpart(
    loss: Arc<dyn PairwiseLoss>,
    problem: &BanditProblem,
    epochs: usize,
) -> Vec<f64> {
    let device = device();
    let objective = RlhfObjective::new(loss.counterpart(), problem, &device);
    run(&objective, problem, epochs, &device).last().to_vec()
}

fn run(
    objective: &dyn workbench::bandit::BanditObjective,
    problem: &BanditProblem,
    epochs: usize,
    device: &Device,
) -> Trajectory {
    let theta = problem.log_pi_ref();
    let policy = SoftmaxPolicy::new(&theta, 1, device);
    let bar = workbench::progress::Silent;
    train(
        policy,
        objective,
        &[],
        &ADAM.into(),
        epochs,
        Record::Final,
        &bar,
    )
    .expect("finite")
}

/// Euclidean distance.
pub fn l2(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}
