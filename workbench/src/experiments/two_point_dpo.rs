//! The two-point DPO problem of Section 5.2 batched over reference ratios: one variant per
//! ratio r = π_ref(b)/π_ref(a), each with its own π_ref, p*(a ≻ b) = 1, θ₀ = 1/(1 + r).

use crate::bandit::{BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective};
use crate::config::validate::{OptimizerSection, check};
use crate::error::ConfigError;
use crate::losses::Dpo;
use burn::tensor::Device;
use std::sync::Arc;

/// The bandit of ratio `r`: π_ref = [1/(1 + r), r/(1 + r)], π* = [1, 0].
pub fn problem(ratio: f64, beta: f64) -> BanditProblem {
    BanditProblem {
        pi_star: vec![1.0, 0.0],
        pi_ref: vec![1.0 / (1.0 + ratio), ratio / (1.0 + ratio)],
        beta,
        reward_floor: 1e-12,
    }
}

/// The DPO objective with one variant per ratio.
pub fn objective(ratios: &[f64], beta: f64, device: &Device) -> PreferenceObjective {
    let rows = ratios
        .iter()
        .map(|&r| {
            let p = problem(r, beta);
            let data = PreferenceData::new(&p, PairScheme::Uniform, DataMode::Expected);
            (data, p.log_pi_ref())
        })
        .collect();
    PreferenceObjective::per_variant(Arc::new(Dpo::default()), beta, rows, device)
}

/// θ₀ = 1/(1 + r), where π_θ₀ = π_ref.
pub fn initial_theta(ratios: &[f64]) -> Vec<f64> {
    ratios.iter().map(|r| 1.0 / (1.0 + r)).collect()
}

/// The largest grid of ratios, far below what fits in memory.
pub const MAX_RATIOS: usize = 1_000_000;

/// `count` ratios log-spaced over [`lo`, `hi`], checked: 2 to [`MAX_RATIOS`] of them
/// (errors name `count_key`), `lo` below `hi`, all positive and finite.
pub fn ratio_grid(
    lo: f64,
    hi: f64,
    count: usize,
    count_key: &str,
) -> Result<Vec<f64>, ConfigError> {
    check(
        (2..=MAX_RATIOS).contains(&count),
        count_key,
        count,
        &format!("needs 2 to {MAX_RATIOS} {count_key}"),
    )?;
    check(lo < hi, "ratio_max", hi, "must exceed ratio_min")?;
    let (a, b) = (lo.ln(), hi.ln());
    let ratios: Vec<f64> = (0..count)
        .map(|i| (a + (b - a) * i as f64 / (count - 1) as f64).exp())
        .collect();
    check_ratios("ratio_min", &ratios)?;
    Ok(ratios)
}

/// Ratios must be positive and finite.
pub fn check_ratios(key: &str, ratios: &[f64]) -> Result<(), ConfigError> {
    check(!ratios.is_empty(), key, ratios, "needs at least one ratio")?;
    check(
        ratios.iter().all(|r| r.is_finite() && *r > 0.0),
        key,
        ratios,
        "ratios must be finite and > 0",
    )
}

/// β must be positive and finite.
pub fn check_beta(beta: f64) -> Result<(), ConfigError> {
    check(beta.is_finite() && beta > 0.0, "beta", beta, "must be > 0")
}

/// Plain gradient descent, lr 0.01, `epochs` iterations.
pub fn gradient_descent(epochs: usize) -> OptimizerSection {
    OptimizerSection {
        name: crate::config::validate::OptimizerName::Gd,
        epochs,
        ..OptimizerSection::default()
    }
}
