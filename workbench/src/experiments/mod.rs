//! Experiment kinds: each turns a validated configuration into [`Results`].

pub mod constraint_gap;
mod early_stopping;
mod kind;
mod mode_seeking;
mod one_step;
mod parametrisation;
mod penalty_curves;
mod ratio_constraint;
pub mod sequence_dpo;
mod thresholding;
mod two_point_dpo;
mod weight_decay_sweep;

pub use early_stopping::EarlyStopping;
pub(crate) use kind::entry;
pub use kind::{Header, Kind, Validation};
pub use mode_seeking::{ModeSeeking, ModeSeekingFile};
pub use one_step::{OneStep, OneStepFile};
pub use parametrisation::{Parametrisation, ParametrisationFile};
pub use penalty_curves::{PenaltyCurves, PenaltyCurvesFile};
pub use ratio_constraint::{RatioConstraint, RatioConstraintFile};
pub use sequence_dpo::SequenceDpo;
pub use thresholding::{Thresholding, ThresholdingFile};
pub use weight_decay_sweep::WeightDecaySweep;

use crate::bandit::BanditObjective;
use crate::bandit::training::{self, Record, Trajectory};
use crate::constraints::Constraint;
use crate::error::WorkbenchError;
use crate::optim::OptimizerSpec;
use crate::policy::BanditPolicy;
use crate::results::Results;
use burn::tensor::Device;
use std::sync::Arc;

/// Where and how a run happens.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The device (with autodiff) everything runs on.
    pub device: Device,
    /// The backend the device is on (its name is recorded in results).
    pub backend: crate::backend::BackendName,
    /// The device's float precision (its name is recorded in results as `dtype`).
    pub precision: crate::backend::Precision,
    /// Where progress bars go.
    pub progress: crate::progress::Progress,
    /// Where a `sequence_dpo` run finds and keeps its reference model (the results
    /// folder's cache); `None`: π_ref is trained every time.
    pub reference_cache: Option<crate::sequence::reference_cache::ReferenceCache>,
    /// Where a run that can resume keeps its training state (set by the command line for
    /// a run writing into a results folder); `None`: it never saves one.
    pub training_state: Option<crate::sequence::training_state::StateRoot>,
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

    /// A rough upper estimate of the memory a run on `backend` in `precision` needs, in
    /// bytes (0: small, not estimated).
    fn memory_estimate(
        &self,
        _backend: crate::backend::BackendName,
        _precision: crate::backend::Precision,
    ) -> u64 {
        0
    }

    /// Runs it.
    fn run(&self, context: &RunContext) -> Result<Results, WorkbenchError>;

    /// The key its kind trains as a batch dimension, if any (see [`Kind::BATCH_KEY`]).
    fn batch_key(&self) -> Option<&'static str> {
        None
    }

    /// Runs it and `others` (of its kind, differing only in [`Experiment::batch_key`]) as
    /// one batch: its results first, then the others' in order.
    fn run_batch(
        &self,
        others: &[&dyn Experiment],
        context: &RunContext,
    ) -> Result<Vec<Results>, WorkbenchError> {
        std::iter::once(self.run(context))
            .chain(others.iter().map(|o| o.run(context)))
            .collect()
    }

    /// Itself, for a kind to recognise its own experiments in a batch.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A kind of experiment, selected by `kind = "..."` in TOML.
pub trait ExperimentKind: Send + Sync {
    /// The name used in TOML.
    fn name(&self) -> &'static str;

    /// One line for `workbench list`.
    fn description(&self) -> &'static str;

    /// The `[constraints.NAME]` tables and `[policy]` families its files accept, for
    /// `workbench list` (a test checks the constraints against what the schema parses).
    fn accepts(&self) -> Accepts;

    /// `--set` overrides that make a run take seconds.
    fn smoke(&self) -> &'static [&'static str];

    /// The `summary/<name>` scalars a run writes, `(name, meaning)`.
    fn summaries(&self) -> &'static [(&'static str, &'static str)];

    /// The dotted keys that seed its randomness (see [`Kind::SEEDS`]).
    fn seeds(&self) -> &'static [&'static str];

    /// Extracts this kind's file from `figment` (its `header` already read and checked)
    /// and validates it.
    #[cfg(feature = "files")]
    fn prepare(
        &self,
        figment: &figment::Figment,
        header: &Header,
        check: &Validation<'_>,
    ) -> Result<Box<dyn Experiment>, crate::error::ConfigError>;

    /// As [`prepare`](Self::prepare), from the resolved table itself: the fast path of a
    /// sweep's points, which skips figment's merging. `None` when the table does not
    /// deserialize as it is; the caller then goes through `prepare`, whose errors name the
    /// key and where its value came from, and which accepts what figment converts.
    #[cfg(feature = "files")]
    fn prepare_table(
        &self,
        _table: toml::Table,
        _header: &Header,
        _check: &Validation<'_>,
    ) -> Option<Result<Box<dyn Experiment>, crate::error::ConfigError>> {
        None
    }
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
pub(crate) fn builtin_kinds() -> Vec<Arc<dyn ExperimentKind>> {
    vec![
        entry::<WeightDecaySweep>(),
        entry::<EarlyStopping>(),
        entry::<ModeSeeking>(),
        entry::<OneStep>(),
        entry::<Parametrisation>(),
        entry::<Thresholding>(),
        entry::<RatioConstraint>(),
        entry::<SequenceDpo>(),
        entry::<PenaltyCurves>(),
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
    /// Empty results carrying this identity and the run's backend and dtype.
    pub fn results(&self, context: &RunContext) -> Results {
        let mut results = Results::new(&self.name, self.kind, &self.config_toml);
        results.backend = context.backend.name().to_string();
        results.dtype = context.precision.name().to_string();
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
        let run = training::train(
            policy,
            objective,
            constraints,
            schedule.optimizer,
            schedule.epochs,
            schedule.record,
            bar.as_ref(),
        );
        bar.finish();
        run.map_err(|e| WorkbenchError::NonFinite {
            experiment: self.name.clone(),
            what: label.to_string(),
            epoch: e.epoch,
            step: None,
        })
    }
}
