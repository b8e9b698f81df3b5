//! Figure 2 from Rust code, no TOML and no results file: DPO and its RLHF counterpart under
//! weight decay α‖θ‖², every α of the grid trained as one batch, and the distance between
//! the two final policies per α. The core alone, without HDF5 or file loading:
//!
//! ```text
//! cargo run --release -p workbench --no-default-features --example weight_decay_in_code
//! ```

use std::sync::Arc;
use workbench::losses::Dpo;
use workbench::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = backends::device(backends::BackendName::Flex, backends::Precision::F64)?;
    // Eqs. (26) and (28), β = 1; pairs drawn uniformly, the exact expectation over them.
    let problem = BanditProblem {
        pi_star: vec![0.6, 0.3, 0.1],
        pi_ref: vec![0.4, 0.4, 0.2],
        beta: 1.0,
        reward_floor: 1e-12,
    };
    let alpha = [0.0, 0.01, 0.1, 1.0];
    let dpo: Arc<dyn PairwiseLoss> = Arc::new(Dpo::default());
    let data = PreferenceData::new(&problem, PairScheme::Uniform, DataMode::Expected);
    let method = PreferenceObjective::new(dpo.clone(), &problem, data, &device);
    let counterpart = RlhfObjective::new(dpo.counterpart(), &problem, &device);
    let constraints: Vec<Box<dyn Constraint>> = vec![Box::new(WeightDecay::new(&alpha, &device))];
    let adam = OptimizerSpec::adam(AdamSpec {
        lr: 0.01,
        betas: [0.9, 0.999],
        eps: 1e-8,
    });
    let policy = || SoftmaxPolicy::new(&problem.log_pi_ref(), alpha.len(), &device);
    let train_on = |objective: &dyn BanditObjective| {
        train(
            policy(),
            objective,
            &constraints,
            &adam,
            1000,
            Record::Final,
            &Silent,
        )
        .map_err(|e| format!("not finite from epoch {}", e.epoch))
    };
    let trained = train_on(&method)?;
    let rlhf = train_on(&counterpart)?;
    println!("alpha    pi_DPO                      pi_RLHF                     L2 distance");
    for (v, a) in alpha.iter().enumerate() {
        let (p, q) = (trained.policy(0, v), rlhf.policy(0, v));
        println!(
            "{a:<8} {:<27} {:<27} {:.6}",
            format!("{p:.4?}"),
            format!("{q:.4?}"),
            Distance::L2.between(p, q)
        );
    }
    Ok(())
}
