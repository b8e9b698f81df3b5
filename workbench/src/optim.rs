//! The optimiser: burn's own Adam, with every hyper-parameter from TOML.

use burn::optim::{AdamConfig, ModuleOptimizer};

/// Adam's hyper-parameters (EXPERIMENTS.md defaults: lr 0.01, betas (0.9, 0.999), eps 1e-8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamSpec {
    /// Learning rate.
    pub lr: f64,
    /// (β₁, β₂).
    pub betas: [f64; 2],
    /// ε in the denominator (burn's own default is 1e-5; ours is 1e-8).
    pub eps: f64,
}

impl AdamSpec {
    /// A fresh burn Adam with these settings (burn stores them as `f32`).
    pub fn build(&self) -> ModuleOptimizer {
        AdamConfig::new()
            .with_beta_1(self.betas[0] as f32)
            .with_beta_2(self.betas[1] as f32)
            .with_epsilon(self.eps as f32)
            .init()
    }
}
