//! Section 3.3: each method trained beside its RLHF counterpart under the same
//! constraints, and the distance between the two policies (Figures 2 and 3).

mod config;

pub use config::ConstraintGapFile;

/// The constraints and policies (every registered family) of the Section 3.3 kinds.
pub const ACCEPTS: super::Accepts = super::Accepts {
    constraints: &[
        "weight_decay",
        "decoupled_weight_decay",
        "early_stop",
        "interval",
        "l2_ball",
        "ratio",
        "simplex",
    ],
    policies: super::Policies::Registered,
};

use super::{Identity, RunContext, Schedule};
use crate::bandit::training::{Record, Trajectory};
use crate::bandit::{
    BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective, RlhfObjective,
};
use crate::constraints::{Constraint, DecoupledWeightDecay, EarlyStop, Projection, WeightDecay};
use crate::distance::Distance;
use crate::error::WorkbenchError;
use crate::losses::PairwiseLoss;
use crate::optim::OptimizerSpec;
use crate::policy::{FamilyPolicy, PolicyFamily};
use crate::results::Results;
use std::sync::Arc;

/// A validated constraint-gap experiment.
#[derive(Debug, Clone)]
pub struct ConstraintGapSpec {
    /// π*, π_ref, β.
    pub problem: BanditProblem,
    /// The policy family (θ₀ included).
    pub policy: Arc<dyn PolicyFamily>,
    /// Pair scheme.
    pub scheme: PairScheme,
    /// Expected or sampled.
    pub mode: DataMode,
    /// The optimiser.
    pub optimizer: OptimizerSpec,
    /// Epochs.
    pub epochs: usize,
    /// The methods.
    pub methods: Vec<Arc<dyn PairwiseLoss>>,
    /// α per variant (one value, or the sweep).
    pub weight_decay: Option<Vec<f64>>,
    /// Decoupled α (one value, or the sweep).
    pub decoupled_weight_decay: Option<Vec<f64>>,
    /// Epoch budget.
    pub early_stop: Option<usize>,
    /// Projection sets applied after every step.
    pub projections: Vec<Projection>,
    /// The distance written to `m/distance`.
    pub distance: Distance,
}

/// Per-variant coefficients: a single value is repeated across `variants`.
fn per_variant(values: &[f64], variants: usize) -> Vec<f64> {
    if values.len() == variants {
        values.to_vec()
    } else {
        vec![values[0]; variants]
    }
}

impl ConstraintGapSpec {
    /// The constraints of this spec for `variants` models.
    fn constraints(&self, variants: usize, context: &RunContext) -> Vec<Box<dyn Constraint>> {
        let device = &context.device;
        let mut constraints: Vec<Box<dyn Constraint>> = Vec::new();
        if let Some(alpha) = &self.weight_decay {
            constraints.push(Box::new(WeightDecay::new(
                &per_variant(alpha, variants),
                device,
            )));
        }
        if let Some(alpha) = &self.decoupled_weight_decay {
            let alpha = per_variant(alpha, variants);
            constraints.push(Box::new(DecoupledWeightDecay::new(&alpha, device)));
        }
        if let Some(epochs) = self.early_stop {
            constraints.push(Box::new(EarlyStop { epochs }));
        }
        let domain = self.policy.domain();
        for projection in self.projections.iter().chain(&domain) {
            constraints.push(Box::new(projection.clone()));
        }
        constraints
    }

    /// Trains every method and its RLHF counterpart as `variants`-row batches, the
    /// trainings spread over the cores; returns (method, counterpart) trajectories in the
    /// order of the methods, the counterpart `None` for a loss that has none
    /// ([`PairwiseLoss::has_counterpart`]).
    pub fn train_all(
        &self,
        identity: &Identity,
        variants: usize,
        record: Record,
        context: &RunContext,
    ) -> Result<Vec<(Trajectory, Option<Trajectory>)>, WorkbenchError> {
        let tasks: Vec<(usize, bool)> = (0..self.methods.len())
            .flat_map(|m| {
                let rlhf = self.methods[m].has_counterpart().then_some((m, true));
                std::iter::once((m, false)).chain(rlhf)
            })
            .collect();
        let runs = crate::threads::map(&tasks, |&(m, rlhf)| {
            self.train_one(identity, &self.methods[m], rlhf, variants, record, context)
        });
        let mut pairs: Vec<(Trajectory, Option<Trajectory>)> = Vec::new();
        for (&(_, rlhf), run) in tasks.iter().zip(runs) {
            let run = run?;
            match (rlhf, pairs.last_mut()) {
                (true, Some(last)) => last.1 = Some(run),
                _ => pairs.push((run, None)),
            }
        }
        Ok(pairs)
    }

    /// Trains `method` (or, with `rlhf`, its RLHF counterpart) as a `variants`-row batch.
    fn train_one(
        &self,
        identity: &Identity,
        method: &Arc<dyn PairwiseLoss>,
        rlhf: bool,
        variants: usize,
        record: Record,
        context: &RunContext,
    ) -> Result<Trajectory, WorkbenchError> {
        let device = &context.device;
        let constraints = self.constraints(variants, context);
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: self.epochs,
            record,
        };
        let policy = FamilyPolicy::new(self.policy.clone(), variants, device);
        let label = method.label();
        if rlhf {
            let counterpart = RlhfObjective::new(method.counterpart(), &self.problem, device);
            let label = format!("{label} RLHF counterpart");
            identity.train(
                &label,
                policy,
                &counterpart,
                &constraints,
                schedule,
                context,
            )
        } else {
            let data = PreferenceData::new(&self.problem, self.scheme, self.mode);
            let objective = PreferenceObjective::new(method.clone(), &self.problem, data, device);
            identity.train(&label, policy, &objective, &constraints, schedule, context)
        }
    }
}

/// Records, as a root attribute `<label>/counterpart`, which RLHF problem `method` was
/// compared with and whether the loss declared it or DPO's was assumed.
pub(crate) fn push_counterpart_note(results: &mut Results, method: &dyn PairwiseLoss) {
    if !method.has_counterpart() {
        results.notes.push((
            format!("{}/counterpart", method.label()),
            "none: the loss solves no RLHF problem in closed form, so no distance is drawn".into(),
        ));
        return;
    }
    let counterpart = method.counterpart();
    let reward = match counterpart.reward {
        crate::losses::Reward::LogPiStar => "log pi*",
        crate::losses::Reward::Ipo => "r_IPO (eq. 7)",
    };
    let origin = match method.declared_counterpart() {
        Some(_) => "declared by the loss",
        None => "DPO's, since the loss declares none",
    };
    results.notes.push((
        format!("{}/counterpart", method.label()),
        format!(
            "reward {reward}, regulariser {} ({origin})",
            counterpart.regulariser.name()
        ),
    ));
}

/// Every distance between rows `method[i]` and `counterpart[i]`, pushed as
/// `<prefix>distance_<name>` plus the configured one as `<prefix>distance`.
pub(crate) fn push_distances(
    results: &mut Results,
    prefix: &str,
    configured: Distance,
    pairs: &[(&[f64], &[f64])],
) {
    for distance in Distance::ALL {
        let values: Vec<f64> = pairs.iter().map(|(m, c)| distance.between(m, c)).collect();
        if distance == configured {
            results.vector(format!("{prefix}distance"), values.clone());
        }
        results.vector(format!("{prefix}distance_{}", distance.name()), values);
    }
}

impl ConstraintGapSpec {
    /// Pairs held per variant (K² ordered pairs in `expected` mode, `n_pairs` sampled), each
    /// with indices, reference log-probabilities and weights on the device and about three
    /// autodiff copies, plus every recorded epoch's policies.
    pub fn memory_estimate(&self) -> u64 {
        let s = self;
        let k = s.problem.pi_star.len() as u64;
        let pairs = match s.mode {
            DataMode::Expected => k.saturating_mul(k).saturating_mul(2),
            DataMode::Sampled { n_pairs, .. } => n_pairs as u64,
        };
        let variants = [&s.weight_decay, &s.decoupled_weight_decay]
            .iter()
            .filter_map(|grid| grid.as_ref().map(Vec::len))
            .max()
            .unwrap_or(1)
            .max(1) as u64;
        let methods = s.methods.len().max(1) as u64;
        let per_pair = 40 * 4 + variants.saturating_mul(5 * 8 * 3);
        let recorded = (s.epochs as u64 + 1)
            .saturating_mul(variants)
            .saturating_mul(k)
            .saturating_mul(8 * 4);
        pairs
            .saturating_mul(per_pair)
            .saturating_add(recorded)
            .saturating_mul(methods.min(2))
    }
}
