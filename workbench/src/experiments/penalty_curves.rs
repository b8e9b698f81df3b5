//! Figure 4: log(γ + |u|) for several γ, affinely normalised to match |u| in value and
//! slope at u₀, against the ℓ1 and ℓ0 limits (Section 5.1). Closed form; no training.

use super::{Identity, Kind, RunContext, Validation};
use crate::analysis::penalty::{l0_limit, normalised_log_penalty};
use crate::config::validate::check;
use crate::error::{ConfigError, WorkbenchError};
use crate::results::Results;
use serde::{Deserialize, Serialize};

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltyCurvesFile {
    /// The γ of each curve.
    pub gamma: Vec<f64> = vec![0.01, 0.1, 1.0, 10.0],
    /// Left end of the u grid.
    pub u_min: f64 = -2.0,
    /// Right end of the u grid.
    pub u_max: f64 = 2.0,
    /// Grid points (an even count keeps u = 0, where the ℓ0 limit is −∞, off a symmetric grid).
    pub points: usize = 400,
    /// Where every curve matches |u| in value and slope.
    pub u0: f64 = 1.0,
}
}

/// The largest grid a figure needs, and far below what fits in memory.
const MAX_POINTS: usize = 1_000_000;

impl PenaltyCurvesFile {
    fn u(&self) -> Vec<f64> {
        let step = (self.u_max - self.u_min) / (self.points - 1) as f64;
        (0..self.points)
            .map(|i| self.u_min + step * i as f64)
            .collect()
    }
}

/// `kind = "penalty_curves"`: the checked file (the curves are closed form).
#[derive(Debug, Clone)]
pub struct PenaltyCurves(PenaltyCurvesFile);

impl Kind for PenaltyCurves {
    const NAME: &'static str = "penalty_curves";
    const DESCRIPTION: &'static str =
        "Figure 4: normalised log(γ + |u|) penalties between the ℓ1 and ℓ0 limits (closed form)";
    const SMOKE: &'static [&'static str] = &["points=50"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[(
        "max_gap_l1",
        "the largest |penalty − |u|| over the grid and the γ values (γ → ∞ is ℓ1)",
    )];
    type File = PenaltyCurvesFile;

    fn validate(file: &PenaltyCurvesFile, _check: &Validation<'_>) -> Result<Self, ConfigError> {
        check(
            (2..=MAX_POINTS).contains(&file.points),
            "points",
            file.points,
            &format!("needs 2 to {MAX_POINTS} points"),
        )?;
        check(
            file.u_min < file.u_max,
            "u_max",
            file.u_max,
            "must exceed u_min",
        )?;
        check(
            file.u0.is_finite() && file.u0 > 0.0,
            "u0",
            file.u0,
            "must be > 0",
        )?;
        check(
            !file.gamma.is_empty(),
            "gamma",
            &file.gamma,
            "needs at least one value",
        )?;
        check(
            file.gamma.iter().all(|g| g.is_finite() && *g > 0.0),
            "gamma",
            &file.gamma,
            "must be finite and > 0",
        )?;
        check(
            file.u().iter().all(|u| *u != 0.0),
            "points",
            file.points,
            "the grid hits u = 0, where the l0 limit is infinite; use an even number of points on a symmetric range",
        )?;
        Ok(Self(file.clone()))
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let f = &self.0;
        let u = f.u();
        let penalty: Vec<f64> = f
            .gamma
            .iter()
            .flat_map(|&g| u.iter().map(move |&x| normalised_log_penalty(x, g, f.u0)))
            .collect();
        let gap = penalty
            .iter()
            .zip(u.iter().cycle())
            .map(|(p, x)| (p - x.abs()).abs())
            .fold(0.0, f64::max);
        let mut results = identity.results(context);
        // Closed form in plain f64, whatever the device's float type.
        results.dtype = "f64".into();
        results.vector("u", u.clone());
        results.vector("gamma", f.gamma.clone());
        results.push("penalty", &[f.gamma.len(), u.len()], penalty);
        results.vector("l1", u.iter().map(|x| x.abs()).collect());
        results.vector("l0", u.iter().map(|&x| l0_limit(x, f.u0)).collect());
        results.summary("max_gap_l1", gap);
        Ok(results)
    }
}
