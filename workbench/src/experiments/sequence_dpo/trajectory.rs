//! `analysis.every = k`: the analysis over training. Every k preference steps the pairs
//! trained on are scored under the policy, and per step the run keeps, of quantity (21):
//! each group's mean ln (21), the rank-biserial correlation of the low against the high
//! group, and the length-adjusted ln ρ_ref coefficient with its HC3 interval (the same
//! groups and covariates as the final analysis). Early stopping is one of the paper's
//! constraints: these rows say whether the finding changes with the number of DPO steps.
//! Only the rows are kept, not the scores of each step.

use super::adjusted;
use super::confound::Scored;
use crate::analysis::mann_whitney::{Z_95, effect_size, mann_whitney};
use crate::results::Results;
use crate::sequence::pipeline::PairScores;

/// The analysis of one step's scores.
pub(super) struct Trajectory<'a> {
    /// ln ρ_ref per pair.
    rho: Vec<f64>,
    /// The pairs' scores under π_ref.
    reference: &'a PairScores,
    /// Their lengths and cuts as scored.
    scored: Scored,
    /// The low and the high group (fixed: ρ_ref does not move).
    groups: [Vec<bool>; 2],
    /// The covariates that do not move with the policy (length difference, π_ref's
    /// per-token log-probability), computed once.
    covariates: (Vec<f64>, Vec<f64>),
    tie_correction: bool,
    /// Columns: step, low mean, high mean, rank-biserial, coefficient, its interval.
    rows: [Vec<f64>; 7],
}

/// The datasets, in the order of [`Trajectory`]'s rows.
const NAMES: [&str; 7] = [
    "step",
    "low_mean",
    "high_mean",
    "rank_biserial",
    "log_rho_coefficient",
    "log_rho_coefficient_ci_low",
    "log_rho_coefficient_ci_high",
];

impl<'a> Trajectory<'a> {
    /// Rows for pairs scored `reference` under π_ref, with these lengths and groups.
    pub(super) fn new(
        reference: &'a PairScores,
        scored: Scored,
        groups: [Vec<bool>; 2],
        tie_correction: bool,
    ) -> Self {
        let rho = reference.log_ratio();
        let covariates = adjusted::covariate_columns(&adjusted::Pairs {
            rho: &rho,
            change: &[],
            reference,
            scored: &scored,
            groups: [&groups[0], &groups[1]],
        });
        Self {
            rho,
            reference,
            scored,
            groups,
            covariates,
            tie_correction,
            rows: Default::default(),
        }
    }

    /// Adds the row of the policy's scores `policy` after `step` steps.
    pub(super) fn observe(&mut self, step: usize, policy: &PairScores) {
        let change: Vec<f64> = policy
            .log_ratio()
            .iter()
            .zip(&self.rho)
            .map(|(p, r)| p - r)
            .collect();
        let group = |g: usize| -> Vec<f64> {
            change
                .iter()
                .zip(&self.groups[g])
                .filter(|(_, in_group)| **in_group)
                .map(|(c, _)| *c)
                .collect()
        };
        let (low, high) = (group(0), group(1));
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let test = mann_whitney(&low, &high, self.tie_correction);
        let pairs = adjusted::Pairs {
            rho: &self.rho,
            change: &change,
            reference: self.reference,
            scored: &self.scored,
            groups: [&self.groups[0], &self.groups[1]],
        };
        let (length_diff, per_token) = &self.covariates;
        let coefficient = adjusted::fit(&pairs, length_diff, per_token)
            .ok()
            .and_then(|fit| {
                let j = fit.names.iter().position(|n| n == "log_rho_ref")?;
                Some([fit.coefficients[j], fit.ci[j].0, fit.ci[j].1])
            })
            .unwrap_or([f64::NAN; 3]);
        let row = [
            step as f64,
            mean(&low),
            mean(&high),
            effect_size(&test, Z_95).rank_biserial,
            coefficient[0],
            coefficient[1],
            coefficient[2],
        ];
        for (column, value) in self.rows.iter_mut().zip(row) {
            column.push(value);
        }
    }

    /// Stores the rows as `trajectory/<name>`.
    pub(super) fn record(self, results: &mut Results) {
        for (name, column) in NAMES.iter().zip(self.rows) {
            results.vector(format!("trajectory/{name}"), column);
        }
    }
}
