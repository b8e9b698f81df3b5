//! Figure 5: how much one gradient-descent step lowers the two-point DPO loss, for a grid
//! of reference ratios (early stopping at its most extreme, Section 5.2, App. B.2).

use super::two_point_dpo::{self, check_beta, gradient_descent, ratio_grid};
use super::{Identity, Kind, RunContext, Schedule, Validation};
use crate::analysis::two_point::{dpo_loss, eq20_loss, penalised_slope};
use crate::bandit::training::Record;
use crate::config::validate::{IntervalConstraints, OptimizerSection, check, optimizer};
use crate::constraints::{Constraint, Projection};
use crate::error::{ConfigError, WorkbenchError};
use crate::optim::OptimizerSpec;
use crate::policy::ConvexMixture;
use crate::results::Results;
use serde::{Deserialize, Serialize};

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneStepFile {
    /// Smallest ratio of the log-spaced grid.
    pub ratio_min: f64 = 0.01,
    /// Largest ratio of the grid.
    pub ratio_max: f64 = 10.0,
    /// Number of grid points.
    pub points: usize = 40,
    /// λ.
    pub beta: f64 = 0.5,
    /// Gradient descent; only `lr` matters (one step).
    pub optimizer: OptimizerSection = gradient_descent(1),
    /// θ ∈ [lo, hi] after the step.
    pub constraints: IntervalConstraints = IntervalConstraints::default(),
}
}

/// `kind = "one_step"`: the checked experiment.
#[derive(Debug, Clone)]
pub struct OneStep {
    ratios: Vec<f64>,
    beta: f64,
    optimizer: OptimizerSpec,
    interval: Projection,
}

impl Kind for OneStep {
    const NAME: &'static str = "one_step";
    const DESCRIPTION: &'static str = "Figure 5: absolute and relative decrease of the two-point DPO loss after one GD step, over reference ratios";
    const ACCEPTS: super::Accepts = super::Accepts {
        constraints: &["interval"],
        policies: super::Policies::Fixed,
    };
    const SMOKE: &'static [&'static str] = &[];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        (
            "ratio_at_max_decrease",
            "the ratio r whose absolute decrease is largest",
        ),
        ("max_absolute_decrease", "that decrease"),
    ];
    type File = OneStepFile;

    fn validate(file: &OneStepFile, _check: &Validation<'_>) -> Result<Self, ConfigError> {
        let ratios = ratio_grid(file.ratio_min, file.ratio_max, file.points, "points")?;
        check_beta(file.beta)?;
        let (optimizer, epochs) = optimizer(&file.optimizer, false)?;
        check(
            epochs == 1,
            "optimizer.epochs",
            epochs,
            "Figure 5 is one step of gradient descent: write optimizer.epochs = 1 (an [optimizer] table defaults to 1000)",
        )?;
        Ok(Self {
            ratios,
            beta: file.beta,
            optimizer,
            interval: file
                .constraints
                .interval
                .projection("constraints.interval")?,
        })
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        // The grid and its mirror 1/r, trained side by side as one batch.
        let mirrored: Vec<f64> = self.ratios.iter().map(|r| 1.0 / r).collect();
        let both: Vec<f64> = self.ratios.iter().chain(&mirrored).copied().collect();
        let (before_all, after_all) = self.one_step(&both, identity, context)?;
        let n = self.ratios.len();
        // Loss values are evaluated exactly (no probability floor), θ₁ = 1 included.
        let decrease = |loss: fn(f64, f64, f64) -> f64, offset: usize| -> (Vec<f64>, Vec<f64>) {
            both[offset..offset + n]
                .iter()
                .enumerate()
                .map(|(i, &r)| {
                    let (l0, l1) = (
                        loss(before_all[offset + i], r, self.beta),
                        loss(after_all[offset + i], r, self.beta),
                    );
                    (l0 - l1, (l0 - l1) / l0)
                })
                .unzip()
        };
        let (absolute, relative) = decrease(dpo_loss, 0);
        let (absolute_20, relative_20) = decrease(eq20_loss, 0);
        let (mirror, _) = decrease(dpo_loss, n);
        let (before, after) = (&before_all[..n], &after_all[..n]);
        let slope_at = |i: usize| penalised_slope(before_all[i], both[i], self.beta, 0.0);
        let slope: Vec<f64> = (0..n).map(slope_at).collect();
        let slope_gap = (0..n)
            .map(|i| ((slope[i] - slope_at(n + i)) / slope[i]).abs())
            .fold(0.0, f64::max);
        let note = mirror_note(&self.ratios, slope_gap, &absolute, &mirror, after);
        let mut results = identity.results(context);
        results.vector("ratio", self.ratios.clone());
        results.vector("theta0", before.to_vec());
        results.vector("theta1", after.to_vec());
        results.vector("slope0", slope);
        let peak = crate::analysis::argmax(n, |i| absolute[i]);
        results.summary("ratio_at_max_decrease", self.ratios[peak]);
        results.summary("max_absolute_decrease", absolute[peak]);
        results.vector("absolute_decrease", absolute);
        results.vector("relative_decrease", relative);
        results.vector("absolute_decrease_eq20", absolute_20);
        results.vector("relative_decrease_eq20", relative_20);
        results.vector("absolute_decrease_mirror", mirror);
        results.notes.push((
            "relative_decrease".into(),
            "relative to the DPO loss of eq. (6), which is log 2 at theta0 for every ratio; the _eq20 datasets use eq. (20) as printed".into(),
        ));
        results.notes.push(("u_shape".into(), note));
        Ok(results)
    }
}

impl OneStep {
    /// One projected GD step from θ₀ = 1/(1 + r) for every ratio: (θ₀, θ₁).
    fn one_step(
        &self,
        ratios: &[f64],
        identity: &Identity,
        context: &RunContext,
    ) -> Result<(Vec<f64>, Vec<f64>), WorkbenchError> {
        let device = &context.device;
        let objective = two_point_dpo::objective(ratios, self.beta, device);
        let policy = ConvexMixture::two_point(&two_point_dpo::initial_theta(ratios), device);
        let constraints: Vec<Box<dyn Constraint>> = vec![Box::new(self.interval.clone())];
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: 1,
            record: Record::EveryEpoch,
        };
        let mut run = identity.train(
            "two-point DPO",
            policy,
            &objective,
            &constraints,
            schedule,
            context,
        )?;
        let after = run.parameters.pop().unwrap_or_default();
        let before = run.parameters.swap_remove(0);
        Ok((before, after))
    }
}

/// Why the absolute decrease is U-shaped in log r, with this run's numbers: the slope at
/// θ₀ is the same for r and its mirror 1/r, the small-r plateau at ln 2 is the step reaching
/// θ = 1, and the low ratios' advantage holds against their mirror.
fn mirror_note(
    ratios: &[f64],
    slope_gap: f64,
    absolute: &[f64],
    mirror: &[f64],
    theta1: &[f64],
) -> String {
    let argmin = (0..ratios.len())
        .min_by(|&a, &b| absolute[a].total_cmp(&absolute[b]))
        .unwrap_or(0);
    let plateau: Vec<f64> = ratios
        .iter()
        .zip(theta1)
        .filter(|(_, t)| **t >= 1.0)
        .map(|(r, _)| *r)
        .collect();
    let below_one: Vec<usize> = (0..ratios.len()).filter(|&i| ratios[i] < 1.0).collect();
    let favoured = below_one
        .iter()
        .filter(|&&i| absolute[i] > mirror[i])
        .count();
    let last = ratios.len() - 1;
    format!(
        "the absolute decrease is U-shaped in log r: smallest at r = {:.4} ({:.4e}); the one-step slope at theta0, -beta (1 + r)^2 / (2 r), is the same for r and 1/r (largest relative difference over the grid {:.1e}); \
         for r <= {} ({} grid points) the step reaches theta = 1 and the decrease is the whole loss ln 2 = {:.4}; \
         at r = {:.4} the decrease is {:.4e} against {:.4e} at its mirror 1/r = {:.4}, at r = {:.4} it is {:.4e} against {:.4e} at 1/r = {:.4}; \
         of the {} ratios below 1, {} decrease more than their mirror 1/r{}",
        ratios[argmin],
        absolute[argmin],
        slope_gap,
        plateau.last().map_or("none".into(), |r| format!("{r:.4}")),
        plateau.len(),
        std::f64::consts::LN_2,
        ratios[0],
        absolute[0],
        mirror[0],
        1.0 / ratios[0],
        ratios[last],
        absolute[last],
        mirror[last],
        1.0 / ratios[last],
        below_one.len(),
        favoured,
        if favoured == below_one.len() {
            ", so 'at the expense of high ratios' holds against the mirror ratio 1/r, not against every higher ratio"
        } else {
            ""
        },
    )
}
