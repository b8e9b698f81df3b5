//! The parametrisation control of Section 5.3 (`kind = "parametrisation"`): does DPO move
//! quantity (21) according to ρ_ref through its loss, or only through the policy's
//! parametrisation? Many independent two-action contexts, one per reference ratio
//! r = ρ_ref = π_ref(b)/π_ref(a) on a log-spaced grid, each with its own π_ref and the pair
//! a ≻ b, are trained by DPO from π_θ₀ = π_ref under two parametrisations side by side:
//!
//! - `softmax`: logits θ ∈ R², π = softmax(θ). ln π(a) − ln π(b) = θ_a − θ_b, so the loss's
//!   gradient is the same vector (e_a − e_b) times β σ(−βh) for every context, and the
//!   change of ln (21) cannot depend on r: one gradient step gives Δ ln (21) = −ηβ exactly.
//! - `two_point`: θ = π(a) ∈ [0, 1] (Section 5.2's θ = π), projected back onto [0, 1] after
//!   each step. The slope in θ is β/(2θ(1 − θ)) = β(1 + r)²/(2r) at θ₀ = 1/(1 + r), so the
//!   step, and with it Δ ln (21), depends on r.
//!
//! Both use plain gradient descent (Adam would rescale each coordinate and hide the slope).

use super::two_point_dpo::{self, check_beta, gradient_descent, ratio_grid};
use super::{Identity, Kind, RunContext, Schedule, Validation};
use crate::analysis::correlation::pearson;
use crate::analysis::mann_whitney::{average_ranks, percentile};
use crate::bandit::training::Record;
use crate::config::validate::{OptimizerSection, check, optimizer};
use crate::constraints::{Constraint, Projection};
use crate::error::{ConfigError, WorkbenchError};
use crate::optim::OptimizerSpec;
use crate::policy::{ConvexMixture, PROBABILITY_FLOOR, SoftmaxPolicy};
use crate::results::Results;
use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParametrisationFile {
    /// Smallest reference ratio ρ_ref of the log-spaced grid.
    pub ratio_min: f64 = 0.01,
    /// Largest ratio of the grid.
    pub ratio_max: f64 = 100.0,
    /// Contexts, one per ratio.
    pub contexts: usize = 81,
    /// β.
    pub beta: f64 = 0.5,
    /// Gradient descent (`name = "gd"`): its `lr` and `epochs` (one step an epoch).
    pub optimizer: OptimizerSection = gradient_descent(20),
    /// The low and high groups: the contexts at or below the q-th and at or above the
    /// (100 − q)-th percentile of ρ_ref (Section 5.3's q).
    pub q: f64 = 20.0,
}
}

/// The parametrisations, in the order they are stored.
pub const PARAMETRISATIONS: [&str; 2] = ["softmax", "two_point"];
/// A spread of Δ ln (21) over the contexts at most this (relative to max(1, |mean|)) is
/// no dependence on ρ_ref: rounding, not the ratio.
pub const NO_DEPENDENCE: f64 = 1e-9;

/// `kind = "parametrisation"`: the checked experiment.
#[derive(Debug, Clone)]
pub struct Parametrisation {
    ratios: Vec<f64>,
    beta: f64,
    lr: f64,
    epochs: usize,
    optimizer: OptimizerSpec,
    q: f64,
}

impl Kind for Parametrisation {
    const NAME: &'static str = "parametrisation";
    const DESCRIPTION: &'static str = "Section 5.3's mechanism control: DPO on independent two-action contexts over a grid of ρ_ref, softmax logits against θ = π, Δ ln (21) per context with the first step's closed form";
    const SMOKE: &'static [&'static str] = &["contexts=9", "optimizer.epochs=3"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        (
            "softmax_spread",
            "max − min over contexts of Δ ln (21) after the last step, softmax logits",
        ),
        ("two_point_spread", "the same under θ = π (two_point)"),
        (
            "softmax_spearman",
            "Spearman correlation of ln ρ_ref and the last Δ ln (21), softmax (NaN when constant)",
        ),
        ("two_point_spearman", "the same under θ = π"),
        (
            "softmax_low_minus_high",
            "mean last Δ ln (21) of the low-ρ_ref group minus the high group's, softmax",
        ),
        ("two_point_low_minus_high", "the same under θ = π"),
        (
            "softmax_first_step_error",
            "largest |first-step Δ ln (21) − its closed form| over contexts, softmax",
        ),
        ("two_point_first_step_error", "the same under θ = π"),
    ];
    type File = ParametrisationFile;

    fn validate(file: &ParametrisationFile, _check: &Validation<'_>) -> Result<Self, ConfigError> {
        let ratios = ratio_grid(file.ratio_min, file.ratio_max, file.contexts, "contexts")?;
        check_beta(file.beta)?;
        check(
            file.q > 0.0 && file.q < 50.0,
            "q",
            file.q,
            "must be in (0, 50): the percent of contexts in each group",
        )?;
        check(
            matches!(
                file.optimizer.name,
                crate::config::validate::OptimizerName::Gd
            ),
            "optimizer.name",
            "adam",
            "the control compares gradient steps: use name = \"gd\" (Adam rescales each coordinate)",
        )?;
        let (optimizer, epochs) = optimizer(&file.optimizer, false)?;
        Ok(Self {
            ratios,
            beta: file.beta,
            lr: file.optimizer.lr,
            epochs,
            optimizer,
            q: file.q,
        })
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let mut results = identity.results(context);
        let log_rho: Vec<f64> = self.ratios.iter().map(|r| r.ln()).collect();
        results.vector("log_rho_ref", log_rho.clone());
        let (low, high) = self.groups(&log_rho);
        let mut notes = Vec::new();
        for name in PARAMETRISATIONS {
            let changes = self.train(name, identity, context)?;
            let last = changes.last().cloned().unwrap_or_default();
            let closed: Vec<f64> = self
                .ratios
                .iter()
                .map(|&r| match name {
                    "softmax" => -self.lr * self.beta,
                    _ => two_point_first_step(r, self.beta, self.lr),
                })
                .collect();
            let error = changes
                .get(1)
                .map_or(f64::NAN, |first| max_abs_diff(first, &closed));
            let (lo, hi) = min_max(&last);
            let spread = hi - lo;
            let constant = spread <= NO_DEPENDENCE * mean(&last).abs().max(1.0);
            let spearman = if constant {
                f64::NAN
            } else {
                pearson(&average_ranks(&log_rho), &average_ranks(&last))
            };
            let pick = |set: &[usize]| mean(&set.iter().map(|&i| last[i]).collect::<Vec<_>>());
            let low_minus_high = pick(&low) - pick(&high);
            notes.push((
                name,
                describe(
                    name,
                    &last,
                    constant,
                    spearman,
                    low_minus_high,
                    error,
                    self.epochs,
                ),
            ));
            let rows = changes.len();
            let flat: Vec<f64> = changes.into_iter().flatten().collect();
            results.push(
                format!("{name}/log_ratio_change"),
                &[rows, self.ratios.len()],
                flat,
            );
            results.vector(format!("{name}/first_step_closed_form"), closed);
            results.summary(format!("{name}_spread"), spread);
            results.summary(format!("{name}_spearman"), spearman);
            results.summary(format!("{name}_low_minus_high"), low_minus_high);
            results.summary(format!("{name}_first_step_error"), error);
        }
        for (name, note) in notes {
            results.note(&format!("{name}_dependence"), note);
        }
        Ok(results)
    }
}

impl Parametrisation {
    /// Δ ln (21) of every context after each step (row 0: before any, all 0), `[epochs + 1]`
    /// rows of one value per context.
    fn train(
        &self,
        name: &str,
        identity: &Identity,
        context: &RunContext,
    ) -> Result<Vec<Vec<f64>>, WorkbenchError> {
        let device = &context.device;
        let objective = two_point_dpo::objective(&self.ratios, self.beta, device);
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: self.epochs,
            record: Record::EveryEpoch,
        };
        let theta0 = two_point_dpo::initial_theta(&self.ratios);
        let label = format!("DPO, {name}");
        let run = if name == "softmax" {
            // θ₀ = ln π_ref per context: π_θ₀ = π_ref.
            let logits: Vec<f64> = theta0
                .iter()
                .flat_map(|&t| [t.ln(), (1.0 - t).ln()])
                .collect();
            let n = self.ratios.len();
            let logits = Tensor::<2>::from_data(TensorData::new(logits, [n, 2]), device);
            let policy = SoftmaxPolicy {
                logits: Param::from_tensor(logits),
            };
            identity.train(&label, policy, &objective, &[], schedule, context)?
        } else {
            let policy = ConvexMixture::two_point(&theta0, device);
            let interval: Vec<Box<dyn Constraint>> =
                vec![Box::new(Projection::Interval { lo: 0.0, hi: 1.0 })];
            identity.train(&label, policy, &objective, &interval, schedule, context)?
        };
        let log_21 = |parameters: &[f64]| -> Vec<f64> {
            if name == "softmax" {
                parameters.chunks(2).map(|t| t[1] - t[0]).collect()
            } else {
                parameters.iter().map(|&t| two_point_log_odds(t)).collect()
            }
        };
        let start = log_21(&run.parameters[0]);
        Ok(run
            .parameters
            .iter()
            .map(|p| log_21(p).iter().zip(&start).map(|(a, b)| a - b).collect())
            .collect())
    }

    /// The contexts of the low and the high group, by Section 5.3's rule.
    fn groups(&self, log_rho: &[f64]) -> (Vec<usize>, Vec<usize>) {
        let low_cut = percentile(log_rho, self.q);
        let high_cut = percentile(log_rho, 100.0 - self.q);
        let pick = |keep: &dyn Fn(f64) -> bool| -> Vec<usize> {
            (0..log_rho.len()).filter(|&i| keep(log_rho[i])).collect()
        };
        (pick(&|v| v <= low_cut), pick(&|v| v >= high_cut))
    }
}

/// ln π(b) − ln π(a) of the two-point policy π = [θ, 1 − θ] as its loss sees it, through
/// the floor (1 − 2ε)π + ε that keeps an end point finite.
fn two_point_log_odds(theta: f64) -> f64 {
    let floored = |p: f64| (1.0 - 2.0 * PROBABILITY_FLOOR) * p + PROBABILITY_FLOOR;
    floored(1.0 - theta).ln() - floored(theta).ln()
}

/// Δ ln (21) after one projected gradient step under θ = π, in closed form: with h₀ the
/// margin at θ₀ = 1/(1 + r) (0 up to the floor), the step is η β σ(−βh₀) ∂h/∂θ with
/// ∂h/∂θ = (1 − 2ε)/f(θ) + (1 − 2ε)/f(1 − θ), f(p) = (1 − 2ε)p + ε, clipped to [0, 1].
pub fn two_point_first_step(ratio: f64, beta: f64, lr: f64) -> f64 {
    let eps = PROBABILITY_FLOOR;
    let f = |p: f64| (1.0 - 2.0 * eps) * p + eps;
    let theta0 = 1.0 / (1.0 + ratio);
    let reference = (1.0 / (1.0 + ratio)).ln() - (ratio / (1.0 + ratio)).ln();
    let h0 = f(theta0).ln() - f(1.0 - theta0).ln() - reference;
    let slope = (1.0 - 2.0 * eps) * (1.0 / f(theta0) + 1.0 / f(1.0 - theta0));
    let coefficient = beta / (1.0 + (beta * h0).exp());
    let theta1 = (theta0 + lr * coefficient * slope).clamp(0.0, 1.0);
    two_point_log_odds(theta1) - two_point_log_odds(theta0)
}

/// The finding of one parametrisation, from its numbers.
fn describe(
    name: &str,
    last: &[f64],
    constant: bool,
    spearman: f64,
    low_minus_high: f64,
    error: f64,
    steps: usize,
) -> String {
    let (lo, hi) = min_max(last);
    let what = match name {
        "softmax" => "softmax logits",
        _ => "θ = π (two_point)",
    };
    let dependence = if constant {
        format!(
            "no ρ_ref dependence: Δ ln (21) is {:.6} in every context (spread {:.1e})",
            mean(last),
            hi - lo
        )
    } else {
        format!(
            "a ρ_ref dependence: Δ ln (21) ranges from {lo:.4} to {hi:.4} over the contexts, Spearman correlation with ln ρ_ref {spearman:.3}, low-ρ_ref group minus high group {low_minus_high:+.4}"
        )
    };
    format!(
        "Under {what}, after {steps} gradient steps: {dependence}; the first step matches its closed form to {error:.1e}."
    )
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        })
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::two_point_first_step;

    #[test]
    fn the_two_point_step_is_symmetric_to_first_order_and_clips() {
        // A small step: Δ ln (21) ≈ −ηβ(1 + r)⁴/(2r²), the same at r and 1/r.
        let (beta, lr) = (0.5, 1e-6);
        for r in [0.1_f64, 0.5, 2.0, 10.0] {
            let first_order = -lr * beta * (1.0 + r).powi(4) / (2.0 * r * r);
            let exact = two_point_first_step(r, beta, lr);
            assert!(
                (exact / first_order - 1.0).abs() < 1e-3,
                "{r}: {exact} {first_order}"
            );
        }
        // At r = 1e-4 a step of 0.1 reaches θ = 1: ln π(b)/π(a) falls from ln r to the
        // floor's ln ε.
        let clipped = two_point_first_step(1e-4, 0.5, 0.1);
        let expected = 1e-12_f64.ln() - 1e-4_f64.ln();
        assert!((clipped - expected).abs() < 1e-3, "{clipped} {expected}");
    }
}
