//! Experiment kinds: each turns a validated configuration into [`Results`].

pub mod constraint_gap;
mod early_stopping;
mod mode_seeking;
mod one_step;
mod penalty_curves;
mod ratio_constraint;
mod thresholding;
mod two_point_dpo;
mod weight_decay_sweep;

pub use early_stopping::EarlyStopping;
pub use mode_seeking::ModeSeeking;
pub use one_step::OneStep;
pub use penalty_curves::PenaltyCurves;
pub use ratio_constraint::RatioConstraint;
pub use thresholding::Thresholding;
pub use weight_decay_sweep::WeightDecaySweep;

use crate::error::{ConfigError, WorkbenchError};
use crate::registry::Registry;
use crate::results::Results;
use burn::tensor::Device;
use figment::Figment;
use std::sync::Arc;

/// Where and how a run happens.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The device (with autodiff) everything runs on.
    pub device: Device,
    /// The backend's name, recorded in results.
    pub backend: String,
    /// The float type's name, recorded in results.
    pub dtype: String,
    /// Whether to draw progress bars (they are hidden anyway when stderr is no terminal).
    pub progress: bool,
}

/// A validated experiment, ready to run.
pub trait Experiment: Send + Sync {
    /// The experiment's name (the results file is `<name>.h5`).
    fn name(&self) -> &str;

    /// The kind's name.
    fn kind(&self) -> &str;

    /// The fully resolved configuration as TOML text.
    fn config_toml(&self) -> &str;

    /// The backend the file asks for, if any (the command line may override it).
    fn backend(&self) -> Option<&str> {
        None
    }

    /// Runs it.
    fn run(&self, context: &RunContext) -> Result<Results, WorkbenchError>;
}

/// A kind of experiment, selected by `kind = "..."` in TOML.
pub trait ExperimentKind: Send + Sync {
    /// The name used in TOML.
    fn name(&self) -> &'static str;

    /// One line for `workbench list`.
    fn description(&self) -> &'static str;

    /// Extracts and validates this kind's configuration from `figment` (from `file`).
    fn prepare(
        &self,
        figment: &Figment,
        registry: &Registry,
        file: &str,
    ) -> Result<Box<dyn Experiment>, ConfigError>;
}

/// The experiment kinds built into the core.
pub fn builtin_kinds() -> Vec<Arc<dyn ExperimentKind>> {
    vec![
        Arc::new(WeightDecaySweep),
        Arc::new(EarlyStopping),
        Arc::new(ModeSeeking),
        Arc::new(Thresholding),
        Arc::new(OneStep),
        Arc::new(PenaltyCurves),
        Arc::new(RatioConstraint),
    ]
}
