//! Optimisers: burn's own Adam and SGD (plain gradient descent), every hyper-parameter
//! from TOML. Projections compose with either (see [`crate::constraints::Projection`]).
//! [`ParallelAdam`] is burn's Adam with its parameter updates spread over threads.
//! [`StepRules`] are the learning constraints of each step besides the optimiser: the
//! learning rate's schedule, gradient clipping ([`clip`]) and gradient accumulation.

pub mod clip;
mod parallel;
mod schedule;

pub use parallel::{Moments, ParallelAdam, replace_values};
pub use schedule::{Decay, LrSchedule, StepRules, Warmup};

use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};

/// Adam's hyper-parameters (docs/experiments.md defaults: lr 0.01, betas (0.9, 0.999), eps 1e-8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamSpec {
    /// Learning rate.
    pub lr: f64,
    /// (β₁, β₂).
    pub betas: [f64; 2],
    /// ε in the denominator (burn's own default is 1e-5; ours is 1e-8).
    pub eps: f64,
}

/// The optimiser of a run and the learning constraints of its steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerSpec {
    /// Adam or gradient descent.
    pub method: Method,
    /// The learning rate's schedule, gradient clipping and accumulation.
    pub rules: StepRules,
}

/// An optimiser and its settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Adam (Kingma & Ba), bias-corrected.
    Adam(AdamSpec),
    /// Plain gradient descent θ ← θ − lr·∇ (burn's SGD without momentum).
    GradientDescent {
        /// Learning rate.
        lr: f64,
    },
}

impl OptimizerSpec {
    /// Adam with plain steps (constant learning rate, no clipping, no accumulation).
    pub fn adam(adam: AdamSpec) -> Self {
        Self {
            method: Method::Adam(adam),
            rules: StepRules::default(),
        }
    }

    /// Gradient descent with plain steps.
    pub fn gradient_descent(lr: f64) -> Self {
        Self {
            method: Method::GradientDescent { lr },
            rules: StepRules::default(),
        }
    }

    /// The learning rate (before the schedule).
    pub fn lr(&self) -> f64 {
        match self.method {
            Method::Adam(adam) => adam.lr,
            Method::GradientDescent { lr } => lr,
        }
    }

    /// A fresh burn optimiser (burn stores Adam's settings as `f32`).
    pub fn build(&self) -> ModuleOptimizer {
        match self.method {
            Method::Adam(adam) => adam.burn().init(),
            Method::GradientDescent { .. } => SgdConfig::new().init(),
        }
    }
}

impl AdamSpec {
    /// burn's Adam with these settings (burn stores them as `f32`): the one configuration
    /// both [`OptimizerSpec::build`] and [`ParallelAdam`] step with.
    pub fn burn(&self) -> AdamConfig {
        AdamConfig::new()
            .with_beta_1(self.betas[0] as f32)
            .with_beta_2(self.betas[1] as f32)
            .with_epsilon(self.eps as f32)
    }
}

impl From<AdamSpec> for OptimizerSpec {
    fn from(adam: AdamSpec) -> Self {
        Self::adam(adam)
    }
}
