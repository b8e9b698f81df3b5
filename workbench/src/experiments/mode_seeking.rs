//! Section 3.3, mode seeking vs mode covering: a convex-mixture policy with one parameter
//! θ ∈ [0, 1], trained by projected Adam on the DPO loss and on its RLHF counterpart.
//! RLHF's reverse KL puts all mass on one mode (θ → 1); DPO's forward KL covers both
//! (θ ≈ 0.4 in expected mode). In sampled mode DPO learns from `data.n_pairs` pairs drawn
//! with `data.seed`; a sweep over seeds (`[sweep] seeds = 10`) gives its spread.

use super::{Identity, Kind, RunContext, Schedule, Validation};
use crate::bandit::training::{Record, Trajectory};
use crate::bandit::{
    BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective, RlhfObjective,
};
use crate::config::validate as check;
use crate::config::validate::{DataSection, IntervalConstraints};
use crate::constraints::{Constraint, Projection};
use crate::error::{ConfigError, WorkbenchError};
use crate::losses::Dpo;
use crate::optim::OptimizerSpec;
use crate::policy::ConvexMixture;
use crate::results::Results;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeSeekingFile {
    /// π* = [1/2, 0, 1/2], π_ref uniform, β = 1.
    pub bandit: check::BanditSection = check::BanditSection {
        pi_star: vec![0.5, 0.0, 0.5],
        pi_ref: vec![1.0 / 3.0; 3],
        beta: 1.0,
        reward_floor: 1e-12,
    },
    /// The convex mixture.
    pub policy: MixtureSection = MixtureSection::default(),
    /// Expected mode (the exact expectation) or pairs sampled with a seed.
    pub data: DataSection = DataSection::default(),
    /// Adam and epochs.
    pub optimizer: check::OptimizerSection = check::OptimizerSection::default(),
    /// The projection θ ∈ [lo, hi].
    pub constraints: IntervalConstraints = IntervalConstraints::default(),
}
}

/// `[policy]` of a convex mixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixtureSection {
    /// `convex_mixture`.
    pub name: String,
    /// [p₀, p₁]: π = θ·p₁ + (1 − θ)·p₀.
    pub components: Vec<Vec<f64>>,
    /// θ₀.
    pub init: f64,
}

impl Default for MixtureSection {
    fn default() -> Self {
        Self {
            name: "convex_mixture".into(),
            components: vec![vec![1.0 / 3.0; 3], vec![1.0, 0.0, 0.0]],
            init: 0.5,
        }
    }
}

/// `kind = "mode_seeking"`: the checked experiment.
#[derive(Debug, Clone)]
pub struct ModeSeeking {
    problem: BanditProblem,
    scheme: PairScheme,
    components: [Vec<f64>; 2],
    init: f64,
    mode: DataMode,
    optimizer: OptimizerSpec,
    epochs: usize,
    interval: Projection,
}

impl Kind for ModeSeeking {
    const NAME: &'static str = "mode_seeking";
    const DESCRIPTION: &'static str = "Section 3.3: θ of a convex mixture under projected Adam, DPO (mode covering) vs RLHF (mode seeking)";
    const ACCEPTS: super::Accepts = super::Accepts {
        constraints: &["interval"],
        policies: super::Policies::Only(&["convex_mixture"]),
    };
    const SEEDS: &'static [&'static str] = &["data.seed"];
    const SMOKE: &'static [&'static str] = &["optimizer.epochs=40", "data.n_pairs=50"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        ("theta_dpo", "final θ of DPO (on expected or sampled pairs)"),
        ("theta_rlhf", "final θ of its RLHF counterpart"),
    ];
    type File = ModeSeekingFile;

    fn validate(file: &ModeSeekingFile, _check: &Validation<'_>) -> Result<Self, ConfigError> {
        let problem = check::bandit(&file.bandit)?;
        let k = problem.actions();
        let p = &file.policy;
        check::check(
            p.name == "convex_mixture",
            "policy.name",
            &p.name,
            "this kind needs convex_mixture",
        )?;
        check::check(
            p.components.len() == 2,
            "policy.components",
            &p.components,
            "needs two components [p0, p1]",
        )?;
        for (i, c) in p.components.iter().enumerate() {
            check::check_distribution(&format!("policy.components[{i}]"), c, false)?;
            check::check(
                c.len() == k,
                &format!("policy.components[{i}]"),
                c,
                &format!("needs {k} entries"),
            )?;
        }
        let interval = file
            .constraints
            .interval
            .projection("constraints.interval")?;
        let (lo, hi) = (file.constraints.interval.lo, file.constraints.interval.hi);
        check::check(
            (lo..=hi).contains(&p.init),
            "policy.init",
            p.init,
            "must lie in [lo, hi]",
        )?;
        let mode = file.data.mode()?;
        let (optimizer, epochs) = check::optimizer(&file.optimizer, file.data.minibatches())?;
        Ok(Self {
            problem,
            scheme: file.data.pairs,
            components: [p.components[0].clone(), p.components[1].clone()],
            init: p.init,
            mode,
            optimizer,
            epochs,
            interval,
        })
    }

    /// Two trajectories (θ and π per epoch) and the sampled pairs.
    fn memory_estimate(&self, _: crate::backend::BackendName, _: crate::backend::Precision) -> u64 {
        let k = self.problem.pi_star.len() as u64;
        let per_epoch = 2 * (k + 1) * 8 * 2;
        let trajectories = (self.epochs as u64 + 1).saturating_mul(per_epoch);
        let pairs = match self.mode {
            DataMode::Sampled { n_pairs, .. } => (n_pairs as u64).saturating_mul(200),
            DataMode::Expected => 0,
        };
        trajectories.saturating_add(pairs)
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let device = &context.device;
        let dpo: Arc<dyn crate::losses::PairwiseLoss> = Arc::new(Dpo::default());
        let data = PreferenceData::new(&self.problem, self.scheme, self.mode);
        let dpo_objective = PreferenceObjective::new(dpo.clone(), &self.problem, data, device);
        let rlhf_objective = RlhfObjective::new(dpo.counterpart(), &self.problem, device);
        let dpo_run = self.train(identity, &dpo_objective, 1, context, "dpo")?;
        let rlhf_run = self.train(identity, &rlhf_objective, 1, context, "rlhf")?;
        Ok(results(
            identity,
            context,
            column(&dpo_run, 0),
            column(&rlhf_run, 0),
        ))
    }

    /// Sampled data sets (seeds) side by side: DPO on each as one variant of a batch, and
    /// RLHF, which does not depend on the data, once. Each variant computes exactly what it
    /// would alone, so every run's results equal [`Kind::run`]'s. Expected-mode runs (whose
    /// seed changes nothing) run one by one.
    const BATCH_KEY: Option<&'static str> = Some("data.seed");

    fn run_batch(
        runs: &[(&Self, &Identity)],
        context: &RunContext,
    ) -> Result<Vec<Results>, WorkbenchError> {
        let [(first, identity), ..] = runs else {
            return Ok(Vec::new());
        };
        if runs.len() == 1 || matches!(first.mode, DataMode::Expected) {
            return runs
                .iter()
                .map(|(spec, id)| spec.run(id, context))
                .collect();
        }
        let device = &context.device;
        let dpo: Arc<dyn crate::losses::PairwiseLoss> = Arc::new(Dpo::default());
        let log_pi_ref = first.problem.log_pi_ref();
        let rows = runs
            .iter()
            .map(|(spec, _)| {
                (
                    PreferenceData::new(&spec.problem, spec.scheme, spec.mode),
                    log_pi_ref.clone(),
                )
            })
            .collect();
        let dpo_objective =
            PreferenceObjective::per_variant(dpo.clone(), first.problem.beta, rows, device);
        let rlhf_objective = RlhfObjective::new(dpo.counterpart(), &first.problem, device);
        let label = format!("dpo ({} data sets)", runs.len());
        let dpo_run = first.train(identity, &dpo_objective, runs.len(), context, &label)?;
        let rlhf_run = first.train(identity, &rlhf_objective, 1, context, "rlhf")?;
        let rlhf_theta = column(&rlhf_run, 0);
        Ok(runs
            .iter()
            .enumerate()
            .map(|(v, (_, id))| results(id, context, column(&dpo_run, v), rlhf_theta.clone()))
            .collect())
    }
}

/// θ of variant `v` at every recorded epoch.
fn column(run: &Trajectory, v: usize) -> Vec<f64> {
    run.parameters.iter().map(|p| p[v]).collect()
}

/// A run's results from its two θ trajectories.
fn results(
    identity: &Identity,
    context: &RunContext,
    dpo_theta: Vec<f64>,
    rlhf_theta: Vec<f64>,
) -> Results {
    let mut results = identity.results(context);
    results.scalar("theta_dpo", *dpo_theta.last().unwrap_or(&f64::NAN));
    results.scalar("theta_rlhf", *rlhf_theta.last().unwrap_or(&f64::NAN));
    results.summary("theta_dpo", *dpo_theta.last().unwrap_or(&f64::NAN));
    results.summary("theta_rlhf", *rlhf_theta.last().unwrap_or(&f64::NAN));
    results.vector("trajectory/dpo", dpo_theta);
    results.vector("trajectory/rlhf", rlhf_theta);
    results
}

impl ModeSeeking {
    fn train(
        &self,
        identity: &Identity,
        objective: &dyn crate::bandit::BanditObjective,
        variants: usize,
        context: &RunContext,
        label: &str,
    ) -> Result<Trajectory, WorkbenchError> {
        let [p0, p1] = &self.components;
        let policy = ConvexMixture::new(p0, p1, self.init, variants, &context.device);
        let constraints: Vec<Box<dyn Constraint>> = vec![Box::new(self.interval.clone())];
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: self.epochs,
            record: Record::EveryEpoch,
        };
        identity.train(label, policy, objective, &constraints, schedule, context)
    }
}
