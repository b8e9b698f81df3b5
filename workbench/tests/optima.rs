//! Unconstrained optima against closed forms (docs/experiments.md §1): without constraints each
//! method and its RLHF counterpart share the minimiser, except IPO under uniform pairs.

mod common;

use common::{l2, loss, problem, train_counterpart, train_method};
use workbench::bandit::{DataMode, PairScheme};
use workbench::losses::Reward;

/// Adam with lr 0.01 from log π_ref reaches these optima to ~1e-7 within 2000 epochs (4000
/// for the RLHF counterpart at β = 0.5, whose last digits converge more slowly).
const TOL: f64 = 1e-5;

#[test]
fn dpo_and_its_counterpart_reach_pi_ref_times_pi_star_to_the_one_over_beta() {
    for beta in [0.5, 1.0, 2.0] {
        let p = problem(beta);
        // π ∝ π_ref · π*^(1/β), eq. (4) with r* = log π*
        let unnormalised: Vec<f64> = p
            .pi_ref
            .iter()
            .zip(&p.pi_star)
            .map(|(r, s)| r * s.powf(1.0 / beta))
            .collect();
        let z: f64 = unnormalised.iter().sum();
        let closed_form: Vec<f64> = unnormalised.iter().map(|u| u / z).collect();
        assert!(l2(&closed_form, &p.rlhf_optimum(Reward::LogPiStar)) < 1e-12);
        let dpo = train_method(
            loss("dpo", ""),
            &p,
            PairScheme::Uniform,
            DataMode::Expected,
            2000,
        );
        let rlhf = train_counterpart(loss("dpo", ""), &p, 4000);
        assert!(
            l2(&dpo, &closed_form) < TOL,
            "β={beta}: dpo {dpo:?} vs {closed_form:?}"
        );
        assert!(
            l2(&rlhf, &closed_form) < TOL,
            "β={beta}: rlhf {rlhf:?} vs {closed_form:?}"
        );
    }
}

#[test]
fn fdpo_forward_kl_meets_its_counterpart() {
    for beta in [0.5, 1.0] {
        let p = problem(beta);
        let f = loss("fdpo", "divergence = \"forward_kl\"");
        let method = train_method(f.clone(), &p, PairScheme::Uniform, DataMode::Expected, 3000);
        let rlhf = train_counterpart(f, &p, 3000);
        assert!(l2(&method, &rlhf) < TOL, "β={beta}: {method:?} vs {rlhf:?}");
    }
}

#[test]
fn ipo_meets_its_counterpart_under_reference_pairs_but_not_uniform_pairs() {
    let p = problem(1.0);
    let rlhf = train_counterpart(loss("ipo", ""), &p, 3000);
    let reference = train_method(
        loss("ipo", ""),
        &p,
        PairScheme::Reference,
        DataMode::Expected,
        3000,
    );
    assert!(l2(&reference, &rlhf) < TOL, "{reference:?} vs {rlhf:?}");
    // The known exception (docs/experiments.md §1): about 2.4e-3 apart in L2 (2.359e-3 exactly).
    let uniform = train_method(
        loss("ipo", ""),
        &p,
        PairScheme::Uniform,
        DataMode::Expected,
        3000,
    );
    let gap = l2(&uniform, &rlhf);
    assert!((gap - 2.359e-3).abs() < 5e-5, "uniform-pair gap {gap}");
}
