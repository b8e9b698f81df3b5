//! Policies chosen by name from the registry, and the simplex constraint: closed-form
//! optima, agreement with the hand-built policies, and parameters that stay in their sets.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{ADAM, device, loss};
use std::sync::Arc;
use workbench::bandit::training::{Record, Trajectory, train};
use workbench::bandit::{BanditObjective, BanditProblem, DataMode, PairScheme};
use workbench::bandit::{PreferenceData, PreferenceObjective};
use workbench::constraints::{Constraint, Projection};
use workbench::optim::OptimizerSpec;
use workbench::policy::{BanditPolicy, ConvexMixture, FamilyPolicy, PolicyFamily, PolicySetting};

/// The family `[policy]` `table` asks for, on a bandit with reference `pi_ref`.
fn family(table: &str, pi_ref: &[f64]) -> Result<Arc<dyn PolicyFamily>, String> {
    workbench::Registry::builtin()
        .build_policy(&table.parse().expect("TOML"), PolicySetting { pi_ref })
}

/// Expected-mode DPO under uniform pairs, trained from the family's θ₀ by `optimizer`.
fn train_dpo(
    family: Arc<dyn PolicyFamily>,
    problem: &BanditProblem,
    constraints: &[Box<dyn Constraint>],
    optimizer: &OptimizerSpec,
    epochs: usize,
) -> Trajectory {
    let device = device();
    let data = PreferenceData::new(problem, PairScheme::Uniform, DataMode::Expected);
    let objective = PreferenceObjective::new(loss("dpo", ""), problem, data, &device);
    let policy = FamilyPolicy::new(family, 1, &device);
    let bar = workbench::progress::Silent;
    train(
        policy,
        &objective,
        constraints,
        optimizer,
        epochs,
        Record::Final,
        &bar,
    )
    .expect("finite")
}

#[test]
fn the_two_point_policy_reaches_the_dpo_optimum_in_closed_form() {
    // K = 2 spans every distribution, so DPO's optimum π ∝ π_ref·π*^(1/β) (eq. 4) is reached.
    let problem = BanditProblem {
        pi_star: vec![0.7, 0.3],
        pi_ref: vec![0.4, 0.6],
        beta: 1.0,
        reward_floor: 1e-12,
    };
    let two_point = family("name = \"two_point\"", &problem.pi_ref).unwrap();
    assert_eq!(two_point.initial(), vec![0.4], "θ₀ = π_ref(a) by default");
    let run = train_dpo(two_point, &problem, &[], &ADAM.into(), 3000);
    let theta = 0.4 * 0.7 / (0.4 * 0.7 + 0.6 * 0.3);
    let pi = run.last();
    assert!((pi[0] - theta).abs() < 1e-6, "{pi:?} vs θ = {theta}");
    assert!((pi[0] + pi[1] - 1.0).abs() < 1e-9);
}

#[test]
fn a_registered_convex_mixture_computes_what_the_built_in_mixture_computes() {
    let p0 = [1.0 / 3.0; 3];
    let p1 = [1.0, 0.0, 0.0];
    let mixture = family(
        "name = \"convex_mixture\"\ncomponents = [[0.3333333333333333, 0.3333333333333333, 0.3333333333333333], [1.0, 0.0, 0.0]]\ninit = 0.25",
        &[0.2, 0.3, 0.5],
    )
    .unwrap();
    let device = device();
    let from_registry = FamilyPolicy::new(mixture.clone(), 2, &device);
    let built_in = ConvexMixture::new(&p0, &p1, 0.25, 2, &device);
    assert_eq!(
        workbench::tensors::to_vec(from_registry.log_probs()),
        workbench::tensors::to_vec(built_in.log_probs())
    );
    assert_eq!(
        mixture.domain(),
        Some(Projection::Interval { lo: 0.0, hi: 1.0 })
    );
}

#[test]
fn policy_keys_are_checked_with_the_key_named() {
    let pi_ref = [0.4, 0.4, 0.2];
    for (table, expected) in [
        ("name = \"two_point\"", "2 actions"),
        ("name = \"convex_mixture\"", "components"),
        (
            "name = \"convex_mixture\"\ncomponents = [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]\ninit = 1.5",
            "init = 1.5",
        ),
        (
            "name = \"convex_mixture\"\ncomponents = [[0.5, 0.6, 0.0], [1.0, 0.0, 0.0]]",
            "components[0]",
        ),
        ("name = \"softmax\"\ninit = [0.0, 1.0]", "3 finite numbers"),
        ("name = \"softmax\"\ntemperature = 2.0", "temperature"),
        (
            "name = \"gaussian\"",
            "unknown policy `gaussian`; known: convex_mixture, softmax, two_point",
        ),
    ] {
        let error = family(table, &pi_ref).unwrap_err();
        assert!(error.contains(expected), "{table}: {error}");
    }
}

#[test]
fn the_simplex_projection_keeps_softmax_logits_on_the_simplex_at_the_constrained_optimum() {
    let problem = common::problem(1.0);
    let softmax = family("name = \"softmax\"\ninit = \"zeros\"", &problem.pi_ref).unwrap();
    let simplex: Vec<Box<dyn Constraint>> = vec![Box::new(Projection::Simplex)];
    // Projected gradient descent, whose fixed points are the constrained optima (projected
    // Adam's are not, in general).
    let gd = OptimizerSpec::gradient_descent(0.5);
    let run = train_dpo(softmax.clone(), &problem, &simplex, &gd, 4000);
    let theta = run.parameters.last().expect("final θ").clone();
    assert!(theta.iter().all(|t| *t >= 0.0), "{theta:?}");
    assert!((theta.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{theta:?}");

    // No point of a grid over the simplex has a lower expected DPO loss.
    let device = device();
    let data = PreferenceData::new(&problem, PairScheme::Uniform, DataMode::Expected);
    let objective = PreferenceObjective::new(loss("dpo", ""), &problem, data, &device);
    let steps = 40;
    let mut grid = theta.clone();
    for i in 0..=steps {
        for j in 0..=steps - i {
            let (a, b) = (i as f64 / steps as f64, j as f64 / steps as f64);
            grid.extend([a, b, 1.0 - a - b]);
        }
    }
    let rows = grid.len() / 3;
    let logits = Tensor::<2>::from_data(TensorData::new(grid, [rows, 3]), &device);
    let losses = workbench::tensors::to_vec(objective.loss(softmax.log_probs(logits), 0, 0));
    let best_on_grid = losses[1..].iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        losses[0] <= best_on_grid + 1e-12,
        "trained {} vs grid {best_on_grid}",
        losses[0]
    );
    // The constraint binds: the unconstrained optimum (π ∝ π_ref·π*) is not reachable.
    let unconstrained = train_dpo(softmax, &problem, &[], &gd, 4000);
    assert!(common::l2(run.last(), unconstrained.last()) > 1e-2);
}
