//! Proposition 3.2 / Appendix D as an experiment: RLHF with r_IPO and IPO, each trained by
//! projected gradient descent on softmax logits under the ratio constraint (40), beside
//! the closed forms — eq. (53) for IPO, and the corrected eq. (49) for RLHF (eq. (49) as
//! printed is wrong; its value is stored too).

use super::{Identity, Kind, RunContext, Schedule, Validation};
use crate::analysis::ratio_constraint::{
    boundary_policy, eq49_as_printed, ipo_ratio_13, rlhf_ratio_13,
};
use crate::bandit::training::Record;
use crate::bandit::{
    BanditObjective, BanditProblem, DataMode, PairScheme, PreferenceData, PreferenceObjective,
    RlhfObjective,
};
use crate::config::validate::{BanditSection, OptimizerSection, check};
use crate::constraints::{Constraint, Projection};
use crate::error::{ConfigError, WorkbenchError};
use crate::losses::{Ipo, PairwiseLoss};
use crate::optim::OptimizerSpec;
use crate::policy::SoftmaxPolicy;
use crate::results::Results;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

crate::experiment_file! {
/// The experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioConstraintFile {
    /// Three responses, π_ref uniform, β = 1 (App. D's assumptions).
    pub bandit: BanditSection = BanditSection {
        pi_star: vec![0.5, 0.3, 0.2],
        pi_ref: vec![1.0 / 3.0; 3],
        beta: 1.0,
        reward_floor: 1e-12,
    },
    /// ε in eq. (40).
    pub epsilon: f64 = 0.1,
    /// Projected gradient descent on the logits.
    pub optimizer: OptimizerSection = OptimizerSection {
        name: crate::config::validate::OptimizerName::Gd,
        lr: 0.5,
        epochs: 4000,
        ..OptimizerSection::default()
    },
}
}

/// `kind = "ratio_constraint"`: the checked experiment.
#[derive(Debug, Clone)]
pub struct RatioConstraint {
    problem: BanditProblem,
    epsilon: f64,
    optimizer: OptimizerSpec,
    epochs: usize,
}

impl Kind for RatioConstraint {
    const NAME: &'static str = "ratio_constraint";
    const DESCRIPTION: &'static str = "Prop. 3.2: RLHF (r_IPO) and IPO optima under the ratio constraint (40) vs eqs. (49, corrected) and (53)";
    const SMOKE: &'static [&'static str] = &["optimizer.epochs=60"];
    const SUMMARIES: &'static [(&'static str, &'static str)] = &[
        (
            "rlhf_ratio_13",
            "π(y1)/π(y3) of the trained constrained RLHF optimum",
        ),
        ("ipo_ratio_13", "the same for IPO"),
        ("ratio_gap", "their difference (Prop. 3.2: not zero)"),
    ];
    type File = RatioConstraintFile;

    fn validate(file: &RatioConstraintFile, _check: &Validation<'_>) -> Result<Self, ConfigError> {
        let problem = crate::config::validate::bandit(&file.bandit)?;
        check(
            problem.actions() == 3,
            "bandit.pi_ref",
            &file.bandit.pi_ref,
            "Appendix D needs exactly 3 responses",
        )?;
        check(
            file.epsilon.is_finite() && file.epsilon > 0.0,
            "epsilon",
            file.epsilon,
            "must be > 0",
        )?;
        let (optimizer, epochs) = crate::config::validate::optimizer(&file.optimizer, false)?;
        Ok(Self {
            problem,
            epsilon: file.epsilon,
            optimizer,
            epochs,
        })
    }

    fn run(&self, identity: &Identity, context: &RunContext) -> Result<Results, WorkbenchError> {
        let device = &context.device;
        let p = &self.problem;
        let ipo: Arc<dyn PairwiseLoss> = Arc::new(Ipo::default());
        let reward = ipo.counterpart().reward;
        let r_ipo = p.reward(reward);
        let optimum = p.rlhf_optimum(reward);
        let c = optimum[1] / optimum[0] + self.epsilon;

        let rlhf = RlhfObjective::new(ipo.counterpart(), p, device);
        let data = PreferenceData::new(p, PairScheme::Reference, DataMode::Expected);
        let ipo_objective = PreferenceObjective::new(ipo, p, data, device);
        let rlhf_pi = self.optimum(identity, &rlhf, c, context, "rlhf (r_IPO)")?;
        let ipo_pi = self.optimum(identity, &ipo_objective, c, context, "ipo")?;

        let mut results = identity.results(context);
        results.vector("unconstrained_optimum", optimum.clone());
        results.scalar("min_ratio", c);
        results.vector("rlhf/policy", rlhf_pi.clone());
        results.vector("ipo/policy", ipo_pi.clone());
        results.scalar("rlhf/ratio_13", rlhf_pi[0] / rlhf_pi[2]);
        results.scalar("ipo/ratio_13", ipo_pi[0] / ipo_pi[2]);
        results.summary("rlhf_ratio_13", rlhf_pi[0] / rlhf_pi[2]);
        results.summary("ipo_ratio_13", ipo_pi[0] / ipo_pi[2]);
        results.summary("ratio_gap", rlhf_pi[0] / rlhf_pi[2] - ipo_pi[0] / ipo_pi[2]);
        let (rlhf_closed, ipo_closed) = (rlhf_ratio_13(&optimum, c), ipo_ratio_13(&r_ipo, c));
        results.scalar("closed_form/rlhf_ratio_13", rlhf_closed);
        results.scalar("closed_form/ipo_ratio_13", ipo_closed);
        results.scalar("closed_form/eq49_as_printed", eq49_as_printed(&optimum, c));
        results.vector("closed_form/rlhf_policy", boundary_policy(rlhf_closed, c));
        results.vector("closed_form/ipo_policy", boundary_policy(ipo_closed, c));
        results.notes.push((
            "eq49".into(),
            "eq. (49) as printed does not give the constrained RLHF optimum; closed_form/rlhf_ratio_13 is the KKT solution of (42): log(pi1/pi3) = [log o1 + c log(o2/c) - (1+c) log o3]/(1+c). Eq. (53) is correct.".into(),
        ));
        Ok(results)
    }
}

impl RatioConstraint {
    fn optimum(
        &self,
        identity: &Identity,
        objective: &dyn BanditObjective,
        c: f64,
        context: &RunContext,
        label: &str,
    ) -> Result<Vec<f64>, WorkbenchError> {
        let policy = SoftmaxPolicy::new(&self.problem.log_pi_ref(), 1, &context.device);
        let ratio: Vec<Box<dyn Constraint>> = vec![Box::new(Projection::Ratio {
            numerator: 1,
            denominator: 0,
            min_ratio: c,
        })];
        let schedule = Schedule {
            optimizer: &self.optimizer,
            epochs: self.epochs,
            record: Record::Final,
        };
        let run = identity.train(label, policy, objective, &ratio, schedule, context)?;
        Ok(run.last().to_vec())
    }
}
