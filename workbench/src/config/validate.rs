//! Sections and checks shared by every experiment kind: parse (serde) → validate (into
//! checked types) → run. Errors name the key and the value.

use crate::bandit::{BanditProblem, PairScheme};
use crate::config::steps::{ScheduleSection, step_rules};
use crate::constraints::Projection;
use crate::error::ConfigError;
use crate::optim::{AdamSpec, Method, OptimizerSpec};
use serde::{Deserialize, Serialize};

/// `[bandit]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BanditSection {
    /// Latent policy (eq. 26).
    pub pi_star: Vec<f64>,
    /// Reference policy (eq. 28).
    pub pi_ref: Vec<f64>,
    /// λ.
    pub beta: f64,
    /// Replaces π*(y) = 0 inside log π*(y).
    pub reward_floor: f64,
}

impl Default for BanditSection {
    fn default() -> Self {
        Self {
            pi_star: vec![0.6, 0.3, 0.1],
            pi_ref: vec![0.4, 0.4, 0.2],
            beta: 1.0,
            reward_floor: 1e-12,
        }
    }
}

/// `optimizer.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerName {
    /// Adam (Kingma & Ba), bias-corrected.
    Adam,
    /// Plain gradient descent.
    Gd,
}

/// `[optimizer]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSection {
    /// `adam` or `gd` (plain gradient descent).
    pub name: OptimizerName,
    /// Learning rate.
    pub lr: f64,
    /// (β₁, β₂).
    pub betas: [f64; 2],
    /// ε.
    pub eps: f64,
    /// Epochs (full-batch steps in `expected` mode).
    pub epochs: usize,
    /// The learning rate's warmup and decay (default: constant).
    pub schedule: ScheduleSection,
    /// Clip each step's gradient to this L2 norm, each variant's own (inf: no clipping).
    pub max_norm: f64,
    /// Minibatches whose gradients one step sums (`sampled` mode; default 1).
    pub accumulation: usize,
}

impl Default for OptimizerSection {
    fn default() -> Self {
        Self {
            name: OptimizerName::Adam,
            lr: 0.01,
            betas: [0.9, 0.999],
            eps: 1e-8,
            epochs: 1000,
            schedule: ScheduleSection::default(),
            max_norm: f64::INFINITY,
            accumulation: 1,
        }
    }
}

/// `value` shown as TOML.
pub fn show<T: Serialize + ?Sized>(value: &T) -> String {
    match toml::Value::try_from(value) {
        // TOML writes 1e308 with all of its 309 digits; an error names it as written.
        Ok(toml::Value::Float(x))
            if x.is_finite() && x != 0.0 && !(1e-5..1e16).contains(&x.abs()) =>
        {
            format!("{x:e}")
        }
        Ok(v) => v.to_string(),
        Err(_) => "?".into(),
    }
}

/// `Ok` if `ok`, else an error naming `key` and `value`.
pub fn check(ok: bool, key: &str, value: impl Serialize, reason: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(key, show(&value), reason))
    }
}

/// A probability vector: finite, non-negative (positive if `strict`), summing to 1.
pub fn check_distribution(key: &str, p: &[f64], strict: bool) -> Result<(), ConfigError> {
    check(p.len() >= 2, key, p, "needs at least 2 actions")?;
    let sign_ok = p
        .iter()
        .all(|x| x.is_finite() && if strict { *x > 0.0 } else { *x >= 0.0 });
    let sign = if strict { "positive" } else { "non-negative" };
    check(
        sign_ok,
        key,
        p,
        &format!("probabilities must be finite and {sign}"),
    )?;
    let total: f64 = p.iter().sum();
    check(
        (total - 1.0).abs() <= 1e-6,
        key,
        p,
        &format!("probabilities must sum to 1 (they sum to {total})"),
    )
}

/// An experiment name usable as a file name.
pub fn check_name(name: &str) -> Result<(), ConfigError> {
    // Files are `<name>.h5` and `.<name>.h5.partial-<host>-<pid>`: within a file system's
    // 255-byte names, checked now rather than after the training.
    check(
        name.len() <= MAX_NAME_LEN,
        "name",
        name,
        &format!("is {} characters; at most {MAX_NAME_LEN}", name.len()),
    )?;
    check(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            && !name.starts_with('.'),
        "name",
        name,
        "must be a file name: letters, digits, '_', '-', '.'",
    )
}

/// The longest experiment name.
pub const MAX_NAME_LEN: usize = 160;

/// A `[bandit]` section into a checked problem.
pub fn bandit(b: &BanditSection) -> Result<BanditProblem, ConfigError> {
    check_distribution("bandit.pi_star", &b.pi_star, false)?;
    check_distribution("bandit.pi_ref", &b.pi_ref, true)?;
    check(
        b.pi_star.len() == b.pi_ref.len(),
        "bandit.pi_ref",
        &b.pi_ref,
        &format!(
            "has {} actions but bandit.pi_star has {}",
            b.pi_ref.len(),
            b.pi_star.len()
        ),
    )?;
    check(
        b.beta.is_finite() && b.beta > 0.0,
        "bandit.beta",
        b.beta,
        "must be > 0",
    )?;
    check(
        b.reward_floor.is_finite() && b.reward_floor > 0.0,
        "bandit.reward_floor",
        b.reward_floor,
        "must be > 0",
    )?;
    Ok(BanditProblem {
        pi_star: b.pi_star.clone(),
        pi_ref: b.pi_ref.clone(),
        beta: b.beta,
        reward_floor: b.reward_floor,
    })
}

/// Adam's keys under `section` (`optimizer`, `sft`, `dpo`), checked: lr > 0, each β in
/// [0, 1), ε > 0.
pub fn adam(section: &str, lr: f64, betas: [f64; 2], eps: f64) -> Result<AdamSpec, ConfigError> {
    check(
        lr.is_finite() && lr > 0.0,
        &format!("{section}.lr"),
        lr,
        "must be > 0",
    )?;
    check(
        betas.iter().all(|b| (0.0..1.0).contains(b)),
        &format!("{section}.betas"),
        betas,
        "must be two numbers in [0, 1)",
    )?;
    check(
        eps.is_finite() && eps > 0.0,
        &format!("{section}.eps"),
        eps,
        "must be > 0",
    )?;
    Ok(AdamSpec { lr, betas, eps })
}

/// An `[optimizer]` section into the optimiser and the number of epochs. Gradient
/// accumulation sums minibatches, so it needs an epoch of several (`minibatches`).
pub fn optimizer(
    o: &OptimizerSection,
    minibatches: bool,
) -> Result<(OptimizerSpec, usize), ConfigError> {
    check(o.epochs >= 1, "optimizer.epochs", o.epochs, "must be >= 1")?;
    let method = match o.name {
        OptimizerName::Adam => Method::Adam(adam("optimizer", o.lr, o.betas, o.eps)?),
        OptimizerName::Gd => {
            check(
                o.lr.is_finite() && o.lr > 0.0,
                "optimizer.lr",
                o.lr,
                "must be > 0",
            )?;
            Method::GradientDescent { lr: o.lr }
        }
    };
    let rules = step_rules("optimizer", &o.schedule, o.max_norm, o.accumulation)?;
    check(
        minibatches || o.accumulation == 1,
        "optimizer.accumulation",
        o.accumulation,
        "sums minibatches, and every epoch here is one step on the whole data (use data.mode = \"sampled\" with a data.batch_size)",
    )?;
    Ok((OptimizerSpec { method, rules }, o.epochs))
}

/// `[constraints]` with the interval projection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalConstraints {
    /// θ ∈ [lo, hi] after every step.
    pub interval: IntervalSection,
}

impl Default for IntervalConstraints {
    fn default() -> Self {
        Self {
            interval: IntervalSection { lo: 0.0, hi: 1.0 },
        }
    }
}

/// `[constraints.interval]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalSection {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl IntervalSection {
    /// Validates `lo ≤ hi` within `[0, 1]` and returns the projection.
    pub fn projection(&self, key: &str) -> Result<Projection, ConfigError> {
        check(
            self.lo.is_finite()
                && self.hi.is_finite()
                && 0.0 <= self.lo
                && self.lo < self.hi
                && self.hi <= 1.0,
            key,
            [self.lo, self.hi],
            "needs 0 <= lo < hi <= 1",
        )?;
        Ok(Projection::Interval {
            lo: self.lo,
            hi: self.hi,
        })
    }
}

/// `data.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The exact expectation over pairs and labels.
    Expected,
    /// `n_pairs` pairs drawn with `seed`.
    Sampled,
}

/// `[data]` of the bandit kinds: expected or sampled pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// `expected` or `sampled`.
    pub mode: Mode,
    /// `uniform` or `reference`.
    pub pairs: PairScheme,
    /// Pairs drawn in `sampled` mode.
    pub n_pairs: usize,
    /// Seed of the sample and of the minibatch order.
    pub seed: u64,
    /// Minibatch size in `sampled` mode; 0 means the whole set.
    pub batch_size: usize,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            mode: Mode::Expected,
            pairs: PairScheme::Uniform,
            n_pairs: 300,
            seed: 0,
            batch_size: 0,
        }
    }
}

impl DataSection {
    /// Whether an epoch takes several minibatches (`sampled` mode with a batch smaller than
    /// the data).
    pub fn minibatches(&self) -> bool {
        self.mode == Mode::Sampled && self.batch_size > 0 && self.batch_size < self.n_pairs
    }

    /// The checked data mode.
    pub fn mode(&self) -> Result<crate::bandit::DataMode, ConfigError> {
        Ok(match self.mode {
            Mode::Expected => crate::bandit::DataMode::Expected,
            Mode::Sampled => {
                check(
                    self.n_pairs >= 1,
                    "data.n_pairs",
                    self.n_pairs,
                    "must be >= 1",
                )?;
                crate::bandit::DataMode::Sampled {
                    n_pairs: self.n_pairs,
                    seed: self.seed,
                    batch_size: self.batch_size,
                }
            }
        })
    }
}
