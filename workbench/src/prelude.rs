//! What most users of the core need, in one `use workbench::prelude::*;`.

pub use crate::bandit::training::{Record, Trajectory, train};
pub use crate::bandit::{
    BanditObjective, BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective,
    RlhfObjective,
};
pub use crate::catalogue::Catalogue;
pub use crate::constraints::{
    Constraint, DecoupledWeightDecay, EarlyStop, Projection, WeightDecay,
};
pub use crate::distance::Distance;
pub use crate::error::{ConfigError, WorkbenchError};
pub use crate::experiments::{Experiment, Identity, Kind, RunContext, Validation};
pub use crate::losses::{PairLogProbs, PairwiseLoss};
pub use crate::optim::{AdamSpec, OptimizerSpec};
pub use crate::policy::{BanditPolicy, FamilyPolicy, PolicyFamily, SoftmaxPolicy};
pub use crate::progress::{Observer, Progress, Silent};
pub use crate::registry::Registry;
pub use crate::results::Results;
pub use crate::tensors::to_vec;
