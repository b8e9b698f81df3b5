//! Optimisers: burn's own Adam and SGD (plain gradient descent), every hyper-parameter
//! from TOML. Projections compose with either (see [`crate::constraints::Projection`]).
//! [`ParallelAdam`] is burn's Adam with its parameter updates spread over threads.

mod parallel;

pub use parallel::ParallelAdam;

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

/// The optimiser of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerSpec {
    /// Adam (Kingma & Ba), bias-corrected.
    Adam(AdamSpec),
    /// Plain gradient descent θ ← θ − lr·∇ (burn's SGD without momentum).
    GradientDescent {
        /// Learning rate.
        lr: f64,
    },
}

impl OptimizerSpec {
    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Self::Adam(adam) => adam.lr,
            Self::GradientDescent { lr } => *lr,
        }
    }

    /// A fresh burn optimiser (burn stores Adam's settings as `f32`).
    pub fn build(&self) -> ModuleOptimizer {
        match self {
            Self::Adam(adam) => adam.burn().init(),
            Self::GradientDescent { .. } => SgdConfig::new().init(),
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
        Self::Adam(adam)
    }
}
