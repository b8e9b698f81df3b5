//! Section 3.3, mode seeking vs mode covering: a convex-mixture policy with one parameter
//! θ ∈ [0, 1], trained by projected Adam on the DPO loss and on its RLHF counterpart.
//! RLHF's reverse KL puts all mass on one mode (θ → 1); DPO's forward KL covers both
//! (θ ≈ 0.4 in expected mode). Sampled mode repeats DPO over seeds, all seeds in one batch.

use super::{Identity, Kind, RunContext, Schedule, Validation};
use crate::bandit::{
    BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective, RlhfObjective,
};
use crate::config::validate as check;
use crate::config::validate::IntervalConstraints;
use crate::constraints::{Constraint, Projection};
use crate::error::{ConfigError, WorkbenchError};
use crate::losses::Dpo;
use crate::optim::OptimizerSpec;
use crate::policy::ConvexMixture;
use crate::results::Results;
use crate::train::{Record, Trajectory};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeSeekingFile {
    /// π* = [1/2, 0, 1/2], π_ref uniform, β = 1.
    #[serde(default = "default_bandit")]
    pub bandit: check::BanditSection,
    /// The convex mixture.
    #[serde(default)]
    pub policy: MixtureSection,
    /// Pair scheme (expected mode is the exact expectation).
    #[serde(default)]
    pub data: PairsSection,
    /// Sampled-mode repetitions of DPO.
    #[serde(default)]
    pub sampled: SampledSection,
    /// Adam and epochs.
    #[serde(default)]
    pub optimizer: check::OptimizerSection,
    /// The projection θ ∈ [lo, hi].
    #[serde(default)]
    pub constraints: IntervalConstraints,
}
}

fn default_bandit() -> check::BanditSection {
    check::BanditSection {
        pi_star: vec![0.5, 0.0, 0.5],
        pi_ref: vec![1.0 / 3.0; 3],
        beta: 1.0,
        reward_floor: 1e-12,
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

/// `[data]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PairsSection {
    /// `uniform` or `reference`.
    pub pairs: PairScheme,
}

impl Default for PairsSection {
    fn default() -> Self {
        Self {
            pairs: PairScheme::Uniform,
        }
    }
}

/// `[sampled]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampledSection {
    /// One DPO run per seed, all in one batch.
    pub seeds: Vec<u64>,
    /// Pairs per seed.
    pub n_pairs: usize,
}

impl Default for SampledSection {
    fn default() -> Self {
        Self {
            seeds: (0..10).collect(),
            n_pairs: 300,
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
    seeds: Vec<u64>,
    n_pairs: usize,
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
    const SMOKE: &'static [&'static str] = &[
        "optimizer.epochs=40",
        "sampled.seeds=[0, 1]",
        "sampled.n_pairs=50",
    ];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        ("theta_dpo", "final θ of DPO on expected data"),
        ("theta_rlhf", "final θ of its RLHF counterpart"),
        ("sampled_mean", "mean final θ of DPO over the sampled seeds"),
        ("sampled_std", "their standard deviation"),
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
        check::check(
            !file.sampled.seeds.is_empty(),
            "sampled.seeds",
            &file.sampled.seeds,
            "needs at least one seed",
        )?;
        check::check(
            file.sampled.n_pairs >= 1,
            "sampled.n_pairs",
            file.sampled.n_pairs,
            "must be >= 1",
        )?;
        let (optimizer, epochs) = check::optimizer(&file.optimizer)?;
        Ok(Self {
            problem,
            scheme: file.data.pairs,
            components: [p.components[0].clone(), p.components[1].clone()],
            init: p.init,
            seeds: file.sampled.seeds.clone(),
            n_pairs: file.sampled.n_pairs,
            optimizer,
            epochs,
            interval,
        })
    }

    /// Two trajectories (θ and π per epoch) and the sampled seeds' pairs.
    fn memory_estimate(&self) -> u64 {
        let k = self.problem.pi_star.len() as u64;
        let per_epoch = 2 * (k + 1) * 8 * 2;
        let trajectories = (self.epochs as u64 + 1).saturating_mul(per_epoch);
        let pairs = (self.seeds.len() as u64)
            .saturating_mul(self.n_pairs as u64)
            .saturating_mul(200);
        trajectories.saturating_add(pairs)
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let device = &context.device;
        let dpo: Arc<dyn crate::losses::PairwiseLoss> = Arc::new(Dpo::default());
        let expected = PreferenceData::new(&self.problem, self.scheme, DataMode::Expected);
        let dpo_objective = PreferenceObjective::new(dpo.clone(), &self.problem, expected, device);
        let rlhf_objective = RlhfObjective::new(dpo.counterpart(), &self.problem, device);
        let dpo_run = self.train(
            identity,
            &dpo_objective,
            1,
            Record::EveryEpoch,
            context,
            "dpo",
        )?;
        let rlhf_run = self.train(
            identity,
            &rlhf_objective,
            1,
            Record::EveryEpoch,
            context,
            "rlhf",
        )?;

        let log_pi_ref = self.problem.log_pi_ref();
        let rows = self
            .seeds
            .iter()
            .map(|&seed| {
                let mode = DataMode::Sampled {
                    n_pairs: self.n_pairs,
                    seed,
                    batch_size: 0,
                };
                (
                    PreferenceData::new(&self.problem, self.scheme, mode),
                    log_pi_ref.clone(),
                )
            })
            .collect();
        let sampled_objective =
            PreferenceObjective::per_variant(dpo, self.problem.beta, rows, device);
        let sampled = self.train(
            identity,
            &sampled_objective,
            self.seeds.len(),
            Record::Final,
            context,
            "dpo (sampled)",
        )?;

        let mut results = identity.results(context);
        let column = |run: &Trajectory| run.parameters.iter().map(|p| p[0]).collect::<Vec<f64>>();
        let (dpo_theta, rlhf_theta) = (column(&dpo_run), column(&rlhf_run));
        results.scalar("theta_dpo", *dpo_theta.last().unwrap_or(&f64::NAN));
        results.scalar("theta_rlhf", *rlhf_theta.last().unwrap_or(&f64::NAN));
        results.summary("theta_dpo", *dpo_theta.last().unwrap_or(&f64::NAN));
        results.summary("theta_rlhf", *rlhf_theta.last().unwrap_or(&f64::NAN));
        results.vector("trajectory/dpo", dpo_theta);
        results.vector("trajectory/rlhf", rlhf_theta);
        let thetas = sampled.parameters.last().cloned().unwrap_or_default();
        let n = thetas.len() as f64;
        let mean = thetas.iter().sum::<f64>() / n;
        let std = (thetas.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n).sqrt();
        results.vector("sampled/theta_dpo", thetas);
        results.scalar("sampled/mean", mean);
        results.scalar("sampled/std", std);
        results.summary("sampled_mean", mean);
        results.summary("sampled_std", std);
        results.notes.push((
            "sampled/std".into(),
            "population standard deviation (ddof = 0) over seeds".into(),
        ));
        Ok(results)
    }
}

impl ModeSeeking {
    fn train(
        &self,
        identity: &Identity,
        objective: &dyn crate::bandit::BanditObjective,
        variants: usize,
        record: Record,
        context: &RunContext,
        label: &str,
    ) -> Result<Trajectory, WorkbenchError> {
        let [p0, p1] = &self.components;
        let policy = ConvexMixture::new(p0, p1, self.init, variants, &context.device);
        let constraints: Vec<Box<dyn Constraint>> = vec![Box::new(self.interval.clone())];
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: self.epochs,
            record,
        };
        identity.train(label, policy, objective, &constraints, schedule, context)
    }
}
