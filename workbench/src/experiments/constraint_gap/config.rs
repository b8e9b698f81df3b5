//! The TOML schema shared by the Section 3.3 constraint experiments (Figures 2 and 3), and
//! its validation into [`ConstraintGapSpec`]. Defaults are docs/experiments.md §1's.

use super::ConstraintGapSpec;
use crate::catalogue::Catalogue;
use crate::config::validate::DataSection;
use crate::config::validate::{BanditSection, OptimizerSection, check, show};
use crate::constraints::Projection;
use crate::distance::Distance;
use crate::error::ConfigError;
use crate::policy::{PolicyFamily, PolicySetting};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The default policy, parsed once (every file deserializes from a default).
static DEFAULT_POLICY: LazyLock<toml::Table> = LazyLock::new(|| {
    "name = \"softmax\"\ninit = \"log_pi_ref\""
        .parse()
        .expect("literal TOML")
});

/// The default methods, parsed once.
static DEFAULT_METHODS: LazyLock<Vec<toml::Table>> = LazyLock::new(|| {
    [
        "loss = \"dpo\"",
        "loss = \"fdpo\"\ndivergence = \"forward_kl\"",
        "loss = \"ipo\"",
    ]
    .iter()
    .map(|text| text.parse().expect("literal TOML"))
    .collect()
});

crate::experiment_file! {
/// The whole experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintGapFile {
    /// The distance shown in the figure (`l2`, `tv`, `kl`, `js`); all four are recorded.
    pub distance: Distance = Distance::L2,
    /// π*, π_ref, β.
    pub bandit: BanditSection = BanditSection::default(),
    /// The policy family and its keys: `name = "softmax" | "convex_mixture" | "two_point"`
    /// or any registered family.
    pub policy: toml::Table = DEFAULT_POLICY.clone(),
    /// Preference data.
    pub data: DataSection = DataSection::default(),
    /// Optimiser and epochs.
    pub optimizer: OptimizerSection = OptimizerSection::default(),
    /// The methods compared with their RLHF counterparts: `{ loss = "fdpo", divergence = "forward_kl" }`.
    pub methods: Vec<toml::Table> = DEFAULT_METHODS.clone(),
    /// Constraints applied to every model alike.
    pub constraints: ConstraintsSection = ConstraintsSection::default(),
}
}

/// `[constraints]`: any combination.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsSection {
    /// α‖θ‖² added to the loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<AlphaSection>,
    /// θ ← θ − lr·α·θ after each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoupled_weight_decay: Option<AlphaSection>,
    /// An epoch budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<EarlyStopSection>,
    /// Every logit θ_k ∈ [lo, hi] after each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<LogitInterval>,
    /// ‖θ‖₂ ≤ radius after each step (a capacity limit on the logits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2_ball: Option<L2BallSection>,
    /// Eq. (40): π(numerator)/π(denominator) ≥ min_ratio after each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<RatioSection>,
    /// θ onto the probability simplex {θ ≥ 0, Σθ = 1} after each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simplex: Option<SimplexSection>,
}

/// `[constraints.simplex]`: no keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimplexSection {}

/// `[constraints.interval]` on logits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogitInterval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// `[constraints.l2_ball]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L2BallSection {
    /// Radius.
    pub radius: f64,
}

/// `[constraints.ratio]`, eq. (40).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioSection {
    /// Index of y₂.
    pub numerator: usize,
    /// Index of y₁.
    pub denominator: usize,
    /// The bound on π(y₂)/π(y₁).
    pub min_ratio: f64,
}

impl ConstraintsSection {
    /// The projection sets, validated against K actions and P parameters per policy.
    fn projections(&self, k: usize, p: usize) -> Result<Vec<Projection>, ConfigError> {
        let mut projections = Vec::new();
        if let Some(i) = &self.interval {
            check(
                i.lo.is_finite() && i.hi.is_finite() && i.lo < i.hi,
                "constraints.interval",
                [i.lo, i.hi],
                "needs finite lo < hi",
            )?;
            projections.push(Projection::Interval { lo: i.lo, hi: i.hi });
        }
        if let Some(b) = &self.l2_ball {
            check(
                b.radius.is_finite() && b.radius > 0.0,
                "constraints.l2_ball.radius",
                b.radius,
                "must be > 0",
            )?;
            projections.push(Projection::L2Ball { radius: b.radius });
        }
        if let Some(r) = &self.ratio {
            check(
                p == k,
                "constraints.ratio",
                [r.numerator, r.denominator],
                &format!(
                    "acts on one logit per action (the softmax policy); this policy has {p} parameters for {k} actions"
                ),
            )?;
            check(
                r.numerator < k && r.denominator < k && r.numerator != r.denominator,
                "constraints.ratio",
                [r.numerator, r.denominator],
                &format!("numerator and denominator must be different actions in 0..{k}"),
            )?;
            check(
                r.min_ratio.is_finite() && r.min_ratio > 0.0,
                "constraints.ratio.min_ratio",
                r.min_ratio,
                "must be > 0",
            )?;
            projections.push(Projection::Ratio {
                numerator: r.numerator,
                denominator: r.denominator,
                min_ratio: r.min_ratio,
            });
        }
        if self.simplex.is_some() {
            check(
                p >= 2,
                "constraints.simplex",
                p,
                "the policy has one parameter, and the simplex of one coordinate is the single point θ = 1",
            )?;
            projections.push(Projection::Simplex);
        }
        Ok(projections)
    }
}

/// `alpha = 0.1` or, for a sweep, `alpha = [0, 0.1, 1]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlphaSection {
    /// One α, or the α grid of a sweep.
    pub alpha: Alpha,
}

/// One value or a grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Alpha {
    /// One α for every variant.
    One(f64),
    /// A sweep: one variant per α.
    Grid(Vec<f64>),
}

/// `[constraints.early_stop]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopSection {
    /// The epoch budget.
    pub epochs: usize,
}

fn check_alpha(key: &str, alpha: &Alpha) -> Result<Vec<f64>, ConfigError> {
    let values = match alpha {
        Alpha::One(a) => vec![*a],
        Alpha::Grid(grid) => grid.clone(),
    };
    check(!values.is_empty(), key, &values, "needs at least one value")?;
    check(
        values.iter().all(|a| a.is_finite() && *a >= 0.0),
        key,
        &values,
        "must be finite and >= 0",
    )?;
    Ok(values)
}

impl ConstraintGapFile {
    /// Validates everything into a checked spec (`config_toml` is this file, resolved).
    pub fn validate(&self, catalogue: &Catalogue) -> Result<ConstraintGapSpec, ConfigError> {
        let problem = crate::config::validate::bandit(&self.bandit)?;
        let k = problem.actions();

        let policy: std::sync::Arc<dyn PolicyFamily> = catalogue
            .build_policy(
                &self.policy,
                PolicySetting {
                    pi_ref: &problem.pi_ref,
                },
            )
            .map_err(|e| ConfigError::new("policy", show(&self.policy), e))?;
        let parameters = policy.initial().len();

        let scheme = self.data.pairs;
        let mode = self.data.mode()?;

        let (optimizer, epochs) =
            crate::config::validate::optimizer(&self.optimizer, self.data.minibatches())?;
        check(
            !self.methods.is_empty(),
            "methods",
            &self.methods,
            "needs at least one method",
        )?;
        let mut methods = Vec::new();
        for (i, table) in self.methods.iter().enumerate() {
            let loss = catalogue
                .build_loss(table)
                .map_err(|e| ConfigError::new(format!("methods[{i}]"), show(table), e))?;
            methods.push(loss);
        }
        let labels: Vec<String> = methods.iter().map(|m| m.label()).collect();
        for (i, label) in labels.iter().enumerate() {
            check(
                !labels[..i].contains(label),
                &format!("methods[{i}]"),
                &self.methods[i],
                &format!("duplicates method `{label}`"),
            )?;
        }

        let c = &self.constraints;
        let weight_decay = c
            .weight_decay
            .as_ref()
            .map(|w| check_alpha("constraints.weight_decay.alpha", &w.alpha))
            .transpose()?;
        let decoupled_weight_decay = c
            .decoupled_weight_decay
            .as_ref()
            .map(|w| check_alpha("constraints.decoupled_weight_decay.alpha", &w.alpha))
            .transpose()?;
        if let Some(stop) = &c.early_stop {
            check(
                stop.epochs >= 1,
                "constraints.early_stop.epochs",
                stop.epochs,
                "must be at least 1 (0 would write untrained policies)",
            )?;
        }
        let distance = self.distance;

        Ok(ConstraintGapSpec {
            problem,
            policy,
            scheme,
            mode,
            optimizer,
            epochs,
            methods,
            weight_decay,
            decoupled_weight_decay,
            early_stop: c.early_stop.as_ref().map(|e| e.epochs),
            projections: c.projections(k, parameters)?,
            distance,
        })
    }
}
