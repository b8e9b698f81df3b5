//! Figure 5: how much one gradient-descent step lowers the two-point DPO loss, for a grid
//! of reference ratios (early stopping at its most extreme, Section 5.2, App. B.2).

use super::two_point_dpo::{self, check_beta, check_ratios, gradient_descent};
use super::{ExperimentFile, Identity, RunContext, Runner, Schedule};
use crate::analysis::two_point::{dpo_loss, eq20_loss};
use crate::config::validate::{IntervalConstraints, OptimizerSection, check, optimizer};
use crate::constraints::{Constraint, Projection};
use crate::error::{ConfigError, WorkbenchError};
use crate::optim::OptimizerSpec;
use crate::policy::ConvexMixture;
use crate::results::Results;
use crate::train::Record;
use serde::{Deserialize, Serialize};

/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneStepFile {
    /// Experiment name.
    pub name: String,
    /// `one_step`.
    pub kind: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Backend to run on unless the command line says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Smallest ratio of the log-spaced grid.
    #[serde(default = "default_ratio_min")]
    pub ratio_min: f64,
    /// Largest ratio of the grid.
    #[serde(default = "default_ratio_max")]
    pub ratio_max: f64,
    /// Number of grid points.
    #[serde(default = "default_points")]
    pub points: usize,
    /// λ.
    #[serde(default = "default_beta")]
    pub beta: f64,
    /// Gradient descent; only `lr` matters (one step).
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerSection,
    /// θ ∈ [lo, hi] after the step.
    #[serde(default)]
    pub constraints: IntervalConstraints,
}

fn default_ratio_min() -> f64 {
    0.01
}

fn default_ratio_max() -> f64 {
    10.0
}

fn default_points() -> usize {
    40
}

fn default_beta() -> f64 {
    0.5
}

fn default_optimizer() -> OptimizerSection {
    gradient_descent(1)
}

/// The validated experiment.
#[derive(Debug, Clone)]
pub struct Spec {
    ratios: Vec<f64>,
    beta: f64,
    optimizer: OptimizerSpec,
    interval: Projection,
}

/// `points` values log-spaced over [lo, hi].
fn log_space(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    (0..points)
        .map(|i| (a + (b - a) * i as f64 / (points.max(2) - 1) as f64).exp())
        .collect()
}

impl ExperimentFile for OneStepFile {
    type Spec = Spec;

    fn validate(&self) -> Result<Spec, ConfigError> {
        check(
            self.points >= 2,
            "points",
            self.points,
            "needs at least 2 points",
        )?;
        check(
            self.ratio_min < self.ratio_max,
            "ratio_max",
            self.ratio_max,
            "must exceed ratio_min",
        )?;
        let ratios = log_space(self.ratio_min, self.ratio_max, self.points);
        check_ratios("ratio_min", &ratios)?;
        check_beta(self.beta)?;
        let (optimizer, _) = optimizer(&self.optimizer)?;
        Ok(Spec {
            ratios,
            beta: self.beta,
            optimizer,
            interval: self
                .constraints
                .interval
                .projection("constraints.interval")?,
        })
    }
}

impl Runner for Spec {
    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let device = &context.device;
        let objective = two_point_dpo::objective(&self.ratios, self.beta, device);
        let policy = ConvexMixture::two_point(&two_point_dpo::initial_theta(&self.ratios), device);
        let constraints: Vec<Box<dyn Constraint>> = vec![Box::new(self.interval.clone())];
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: 1,
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
        let (before, after) = (&run.parameters[0], &run.parameters[1]);
        // Loss values are evaluated exactly (no probability floor), θ₁ = 1 included.
        let decrease = |loss: fn(f64, f64, f64) -> f64| -> (Vec<f64>, Vec<f64>) {
            self.ratios
                .iter()
                .enumerate()
                .map(|(i, &r)| {
                    let (l0, l1) = (loss(before[i], r, self.beta), loss(after[i], r, self.beta));
                    (l0 - l1, (l0 - l1) / l0)
                })
                .unzip()
        };
        let (absolute, relative) = decrease(dpo_loss);
        let (absolute_20, relative_20) = decrease(eq20_loss);
        let mut results = identity.results(context);
        results.vector("ratio", self.ratios.clone());
        results.vector("theta0", before.clone());
        results.vector("theta1", after.clone());
        results.vector("absolute_decrease", absolute);
        results.vector("relative_decrease", relative);
        results.vector("absolute_decrease_eq20", absolute_20);
        results.vector("relative_decrease_eq20", relative_20);
        results.notes.push((
            "relative_decrease".into(),
            "relative to the DPO loss of eq. (6), which is log 2 at theta0 for every ratio; the _eq20 datasets use eq. (20) as printed".into(),
        ));
        Ok(results)
    }
}
