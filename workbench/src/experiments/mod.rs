//! Experiment kinds: each turns a validated configuration into [`Results`].

pub mod constraint_gap;
mod early_stopping;
mod mode_seeking;
mod one_step;
mod penalty_curves;
mod ratio_constraint;
pub mod sequence_dpo;
mod thresholding;
mod two_point_dpo;
mod weight_decay_sweep;

pub use early_stopping::EarlyStopping;
pub use mode_seeking::ModeSeekingFile;
pub use one_step::OneStepFile;
pub use penalty_curves::PenaltyCurvesFile;
pub use ratio_constraint::RatioConstraintFile;
pub use sequence_dpo::SequenceDpo;
pub use thresholding::ThresholdingFile;
pub use weight_decay_sweep::WeightDecaySweep;

use crate::bandit::BanditObjective;
use crate::constraints::Constraint;
use crate::error::{ConfigError, WorkbenchError};
use crate::optim::OptimizerSpec;
use crate::policy::BanditPolicy;
use crate::registry::Registry;
use crate::results::Results;
use crate::train::{self, Record, Trajectory};
use burn::tensor::Device;
use figment::Figment;
use serde::{Serialize, de::DeserializeOwned};
use std::marker::PhantomData;
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
    /// Where progress bars go.
    pub progress: crate::progress::Progress,
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

    /// Data files it reads besides its configuration (their contents are part of what a
    /// reused result must match).
    fn inputs(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// A rough upper estimate of the memory a run needs, in bytes (0: small, not estimated).
    fn memory_estimate(&self) -> u64 {
        0
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

    /// The `[constraints.NAME]` tables and `[policy]` families its files accept, for
    /// `workbench list` (a test checks the constraints against what the schema parses).
    fn accepts(&self) -> Accepts {
        Accepts::NOTHING
    }

    /// Extracts and validates this kind's configuration from `figment` (from `file`).
    fn prepare(
        &self,
        figment: &Figment,
        registry: &Registry,
        file: &str,
    ) -> Result<Box<dyn Experiment>, ConfigError>;
}

/// What a kind's files may choose: constraints and policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepts {
    /// The `[constraints.NAME]` tables its schema parses.
    pub constraints: &'static [&'static str],
    /// The `[policy] name = ...` values it accepts.
    pub policies: Policies,
}

impl Accepts {
    /// No constraints, no policy choice.
    pub const NOTHING: Self = Self {
        constraints: &[],
        policies: Policies::Fixed,
    };
}

/// Which `[policy]` families a kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policies {
    /// The policy is part of the experiment's definition; there is no choice.
    Fixed,
    /// Only these families.
    Only(&'static [&'static str]),
    /// Every family in the registry (built-in or from a plugin).
    Registered,
}

/// The experiment kinds built into the core.
pub fn builtin_kinds() -> Vec<Arc<dyn ExperimentKind>> {
    vec![
        Arc::new(WeightDecaySweep),
        Arc::new(EarlyStopping),
        Arc::new(FileKind::<ModeSeekingFile>::new(
            "mode_seeking",
            "Section 3.3: θ of a convex mixture under projected Adam, DPO (mode covering) vs RLHF (mode seeking)",
        )),
        Arc::new(FileKind::<OneStepFile>::new(
            "one_step",
            "Figure 5: absolute and relative decrease of the two-point DPO loss after one GD step, over reference ratios",
        )),
        Arc::new(FileKind::<ThresholdingFile>::new(
            "thresholding",
            "Table 1: two-point DPO + weight decay, projected GD over reference ratios, with analytic stationary points",
        )),
        Arc::new(FileKind::<RatioConstraintFile>::new(
            "ratio_constraint",
            "Prop. 3.2: RLHF (r_IPO) and IPO optima under the ratio constraint (40) vs eqs. (49, corrected) and (53)",
        )),
        Arc::new(SequenceDpo),
        Arc::new(FileKind::<PenaltyCurvesFile>::new(
            "penalty_curves",
            "Figure 4: normalised log(γ + |u|) penalties between the ℓ1 and ℓ0 limits (closed form)",
        )),
    ]
}

/// What identifies a run: name, kind, resolved configuration, requested backend.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The experiment's name.
    pub name: String,
    /// The kind's name.
    pub kind: &'static str,
    /// The fully resolved configuration as TOML.
    pub config_toml: String,
    /// The backend the file asks for.
    pub backend: Option<String>,
}

/// How long and how to train, and what to keep.
#[derive(Debug, Clone, Copy)]
pub struct Schedule<'a> {
    /// The optimiser.
    pub optimizer: &'a OptimizerSpec,
    /// Epochs.
    pub epochs: usize,
    /// What to record.
    pub record: Record,
}

impl Identity {
    /// The identity of `file` (any experiment file struct, serialised as the resolved config).
    pub fn new(
        name: &str,
        kind: &'static str,
        file: &impl Serialize,
        backend: &Option<String>,
    ) -> Self {
        Self {
            name: name.to_string(),
            kind,
            config_toml: toml::to_string(file).unwrap_or_default(),
            backend: backend.clone(),
        }
    }

    /// Empty results carrying this identity and the run's backend and dtype.
    pub fn results(&self, context: &RunContext) -> Results {
        let mut results = Results::new(&self.name, self.kind, &self.config_toml);
        results.backend = context.backend.clone();
        results.dtype = context.dtype.clone();
        results
    }

    /// Trains `policy` (progress bar labelled `label`); a non-finite value is an error
    /// naming this experiment and `label`.
    pub fn train<P: BanditPolicy>(
        &self,
        label: &str,
        policy: P,
        objective: &dyn BanditObjective,
        constraints: &[Box<dyn Constraint>],
        schedule: Schedule<'_>,
        context: &RunContext,
    ) -> Result<Trajectory, WorkbenchError> {
        let bar = context.progress.bar(schedule.epochs as u64, label);
        let run = train::train(
            policy,
            objective,
            constraints,
            schedule.optimizer,
            schedule.epochs,
            schedule.record,
            &bar,
        );
        bar.finish_and_clear();
        run.map_err(|e| WorkbenchError::NonFinite {
            experiment: self.name.clone(),
            what: label.to_string(),
            epoch: e.epoch,
            step: None,
        })
    }
}

/// The part of an experiment that differs between kinds: turning a checked spec into results.
pub trait Runner: Send + Sync {
    /// Runs the experiment identified by `identity`.
    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError>;

    /// Data files read besides the configuration.
    fn inputs(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// A rough upper estimate of the memory a run needs, in bytes.
    fn memory_estimate(&self) -> u64 {
        0
    }
}

/// A checked spec with its identity: the [`Experiment`] every kind hands out.
struct Prepared<R> {
    identity: Identity,
    runner: R,
}

impl<R: Runner> Experiment for Prepared<R> {
    fn name(&self) -> &str {
        &self.identity.name
    }

    fn kind(&self) -> &str {
        self.identity.kind
    }

    fn config_toml(&self) -> &str {
        &self.identity.config_toml
    }

    fn backend(&self) -> Option<&str> {
        self.identity.backend.as_deref()
    }

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.runner.inputs()
    }

    fn memory_estimate(&self) -> u64 {
        self.runner.memory_estimate()
    }

    fn run(&self, context: &RunContext) -> Result<Results, WorkbenchError> {
        self.runner.run(&self.identity, context)
    }
}

/// Boxes `runner` with its `identity` as an [`Experiment`].
pub fn prepared<R: Runner + 'static>(identity: Identity, runner: R) -> Box<dyn Experiment> {
    Box::new(Prepared { identity, runner })
}

/// Extracts a kind's file struct from `figment`, errors attributed to `file`.
pub fn extract<F: DeserializeOwned>(figment: &Figment, file: &str) -> Result<F, ConfigError> {
    figment
        .extract()
        .map_err(|e| crate::config::config_error(e, file))
}

/// The keys every experiment file has: `name` and the optional `backend`.
pub trait Header {
    /// The `name` key.
    fn name(&self) -> &str;

    /// The `backend` key.
    fn backend(&self) -> &Option<String>;
}

/// Implements [`Header`] for file structs with `name` and `backend` fields.
macro_rules! header {
    ($($file:ty),* $(,)?) => {
        $(impl Header for $file {
            fn name(&self) -> &str {
                &self.name
            }

            fn backend(&self) -> &Option<String> {
                &self.backend
            }
        })*
    };
}

header!(
    ModeSeekingFile,
    OneStepFile,
    PenaltyCurvesFile,
    RatioConstraintFile,
    ThresholdingFile,
);

/// A kind's experiment file: parsed by serde, validated once into a runnable spec.
pub trait ExperimentFile: Header + DeserializeOwned + Serialize {
    /// The checked spec.
    type Spec: Runner + 'static;

    /// The constraints and policies the file accepts (see [`ExperimentKind::accepts`]).
    const ACCEPTS: Accepts = Accepts::NOTHING;

    /// Validates everything but the name (checked for every kind alike) into the spec;
    /// errors name the key and value.
    fn validate(&self) -> Result<Self::Spec, ConfigError>;
}

/// Extracts `F` from `figment`, validates it and boxes it as an experiment of `kind`.
pub fn prepare_file<F: ExperimentFile>(
    figment: &Figment,
    file: &str,
    kind: &'static str,
) -> Result<Box<dyn Experiment>, ConfigError> {
    let raw: F = extract(figment, file)?;
    let spec = crate::config::validate::check_name(raw.name())
        .and_then(|()| raw.validate())
        .map_err(|e| e.in_file(file))?;
    Ok(prepared(
        Identity::new(raw.name(), kind, &raw, raw.backend()),
        spec,
    ))
}

/// A kind defined by its experiment file type `F`: extract, validate, run.
pub struct FileKind<F> {
    name: &'static str,
    description: &'static str,
    file: PhantomData<fn() -> F>,
}

impl<F> FileKind<F> {
    /// The kind `name` (as in `kind = "..."`), described for `workbench list`.
    pub fn new(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            file: PhantomData,
        }
    }
}

impl<F: ExperimentFile> ExperimentKind for FileKind<F> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn accepts(&self) -> Accepts {
        F::ACCEPTS
    }

    fn prepare(
        &self,
        figment: &Figment,
        _registry: &Registry,
        file: &str,
    ) -> Result<Box<dyn Experiment>, ConfigError> {
        prepare_file::<F>(figment, file, self.name)
    }
}
