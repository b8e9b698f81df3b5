//! Table 1: the thresholding effect of DPO under weight decay (Section 5.2, App. B.2).
//! Loss (20) + αθ² on π = [θ, 1 − θ], projected gradient descent from θ₀ = 1/(1 + r) for
//! every ratio r at once, beside the paper's values and the analytic stationary points
//! that explain where they differ.

use super::two_point_dpo::{self, check_beta, check_ratios, gradient_descent};
use super::{Identity, Kind, RunContext, Schedule, Validation};
use crate::analysis::two_point::{
    best_local_minimum, critical_ratio, global_threshold_ratio, penalised_loss, stationary_points,
};
use crate::bandit::training::Record;
use crate::config::validate::{
    IntervalConstraints, IntervalSection, OptimizerSection, check, optimizer,
};
use crate::constraints::{Constraint, WeightDecay};
use crate::error::{ConfigError, WorkbenchError};
use crate::optim::OptimizerSpec;
use crate::policy::ConvexMixture;
use crate::results::Results;
use serde::{Deserialize, Serialize};

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdingFile {
    /// Reference ratios r = π_ref(b)/π_ref(a).
    pub ratios: Vec<f64> = vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0],
    /// λ (1/2 in eq. 20).
    pub beta: f64 = 0.5,
    /// Plain gradient descent, 500 iterations, lr 0.01 (App. B.2).
    pub optimizer: OptimizerSection = gradient_descent(500),
    /// Weight decay αθ² and the projection onto [0, 1].
    pub constraints: ThresholdingConstraints = ThresholdingConstraints::default(),
}
}

/// `[constraints]` of Table 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdingConstraints {
    /// αθ² added to the loss.
    pub weight_decay: ScalarAlpha,
    /// θ ∈ [lo, hi].
    pub interval: IntervalSection,
}

impl Default for ThresholdingConstraints {
    fn default() -> Self {
        Self {
            weight_decay: ScalarAlpha { alpha: 1.0 },
            interval: IntervalConstraints::default().interval,
        }
    }
}

/// `alpha = number`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalarAlpha {
    /// α.
    pub alpha: f64,
}

/// `kind = "thresholding"`: the checked experiment.
#[derive(Debug, Clone)]
pub struct Thresholding {
    ratios: Vec<f64>,
    beta: f64,
    alpha: f64,
    optimizer: OptimizerSpec,
    epochs: usize,
    interval: crate::constraints::Projection,
}

impl Kind for Thresholding {
    const NAME: &'static str = "thresholding";
    const DESCRIPTION: &'static str = "Table 1: two-point DPO + weight decay, projected GD over reference ratios, with analytic stationary points";
    const ACCEPTS: super::Accepts = super::Accepts {
        constraints: &["weight_decay", "interval"],
        policies: super::Policies::Fixed,
    };
    const SMOKE: &'static [&'static str] = &["optimizer.epochs=40"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        (
            "theta_<r>",
            "final θ for the reference ratio r (one per ratio, e.g. theta_0.5)",
        ),
        (
            "critical_ratio",
            "below it projected descent ends at θ = 1 (absent when undefined)",
        ),
    ];
    type File = ThresholdingFile;

    fn validate(file: &ThresholdingFile, _check: &Validation<'_>) -> Result<Self, ConfigError> {
        check_ratios("ratios", &file.ratios)?;
        check_beta(file.beta)?;
        let alpha = file.constraints.weight_decay.alpha;
        check(
            alpha.is_finite() && alpha >= 0.0,
            "constraints.weight_decay.alpha",
            alpha,
            "must be finite and >= 0",
        )?;
        let interval = file
            .constraints
            .interval
            .projection("constraints.interval")?;
        let (optimizer, epochs) = optimizer(&file.optimizer, false)?;
        Ok(Self {
            ratios: file.ratios.clone(),
            beta: file.beta,
            alpha,
            optimizer,
            epochs,
            interval,
        })
    }

    /// Every ratio's θ after every epoch, twice (device and host), as f64.
    fn memory_estimate(&self, _: crate::backend::BackendName, _: crate::backend::Precision) -> u64 {
        (self.ratios.len() as u64)
            .saturating_mul(self.epochs as u64 + 1)
            .saturating_mul(2 * 8 * 2)
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let device = &context.device;
        let r = self.ratios.len();
        let objective = two_point_dpo::objective(&self.ratios, self.beta, device);
        let policy = ConvexMixture::two_point(&two_point_dpo::initial_theta(&self.ratios), device);
        let constraints: Vec<Box<dyn Constraint>> = vec![
            Box::new(WeightDecay::new(&vec![self.alpha; r], device)),
            Box::new(self.interval.clone()),
        ];
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: self.epochs,
            record: Record::EveryEpoch,
        };
        let run = identity.train(
            "two-point DPO",
            policy,
            &objective,
            &constraints,
            schedule,
            context,
        )?;

        let steps = run.parameters.len();
        // parameters[t][v] → trajectory[v][t]
        let trajectory: Vec<f64> = (0..r)
            .flat_map(|v| run.parameters.iter().map(move |p| p[v]))
            .collect();
        let mut results = identity.results(context);
        results.vector("ratio", self.ratios.clone());
        let theta = run.parameters.last().cloned().unwrap_or_default();
        for (ratio, theta) in self.ratios.iter().zip(&theta) {
            results.summary(format!("theta_{ratio}"), *theta);
        }
        results.vector("theta", theta);
        results.push("trajectory", &[r, steps], trajectory);

        let mut rows = Vec::new();
        for &ratio in &self.ratios {
            for point in stationary_points(ratio, self.beta, self.alpha) {
                rows.extend([
                    ratio,
                    point.theta,
                    if point.is_minimum { 1.0 } else { -1.0 },
                ]);
            }
        }
        let n = rows.len() / 3;
        results.push("stationary_points", &[n, 3], rows);
        self.record_global_minima(&mut results);
        match critical_ratio(self.beta, self.alpha, 1e-6, 1e3) {
            Some(critical) => {
                results.scalar("critical_ratio", critical);
                results.summary("critical_ratio", critical);
            }
            None => results.notes.push((
                "critical_ratio".into(),
                "undefined: no ratio in [1e-6, 1e3] separates none from some interior stationary points".into(),
            )),
        }
        results.notes.extend([
            ("stationary_points".into(), "rows (ratio, theta, +1 local minimum / -1 local maximum) of loss (20) + alpha theta^2 on (0, 1)".into()),
            ("critical_ratio_meaning".into(), "below this ratio loss + alpha theta^2 has no interior stationary point, so projected descent ends at theta = 1".into()),
        ]);
        Ok(results)
    }
}

impl Thresholding {
    /// Which of θ = 1 and the interior local minimum is the global minimiser, per ratio,
    /// and the ratio where that switches (the reported 0.564 at r = 0.5 is a local one).
    fn record_global_minima(&self, results: &mut Results) {
        let (beta, alpha) = (self.beta, self.alpha);
        let mut note = format!(
            "loss (6) + alpha theta^2 is alpha = {alpha} at theta = 1; the best interior local minimum (theta, objective) per ratio:"
        );
        let mut rows = Vec::new();
        for &r in &self.ratios {
            match best_local_minimum(r, beta, alpha) {
                Some(t) => {
                    let objective = penalised_loss(t, r, beta, alpha);
                    rows.extend([r, t, objective]);
                    note.push_str(&format!(" r = {r}: ({t:.4}, {objective:.4});"));
                }
                None => note.push_str(&format!(" r = {r}: none;")),
            }
        }
        results.push("local_minimum", &[rows.len() / 3, 3], rows);
        results.scalar("objective_at_one", alpha);
        match global_threshold_ratio(beta, alpha, 1e-6, 1e3) {
            Some(threshold) => {
                results.scalar("global_threshold_ratio", threshold);
                note.push_str(&format!(
                    " theta = 1 is the global minimiser for every ratio below {threshold:.4}; between the critical ratio and that one, descent from theta0 = 1/(1 + r) stops at a local minimum"
                ));
            }
            None => {
                note.push_str(" no ratio in [1e-6, 1e3] separates theta = 1 being global from not")
            }
        }
        results.notes.push(("global_minimum".into(), note));
    }
}
