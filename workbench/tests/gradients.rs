//! Every loss's and every counterpart's gradient against central finite differences (f64),
//! and identities between losses.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{device, loss, problem};
use std::sync::Arc;
use workbench::bandit::{
    BanditObjective, DataMode, PairScheme, PreferenceData, PreferenceObjective, RlhfObjective,
};
use workbench::losses::PairwiseLoss;
use workbench::tensors::to_vec;

const THETA: [f64; 3] = [0.3, -0.7, 0.2];

/// The objective and its gradient at θ (autodiff), for one variant.
fn value_and_grad(objective: &dyn BanditObjective, theta: &[f64]) -> (f64, Vec<f64>) {
    let device = device();
    let t = Tensor::<2>::from_data(TensorData::new(theta.to_vec(), [1, theta.len()]), &device)
        .require_grad();
    let log_probs = burn::tensor::activation::log_softmax(t.clone(), 1);
    let value = objective.loss(log_probs, 0, 0).sum();
    let grads = value.backward();
    let grad = to_vec(t.grad(&grads).expect("θ is tracked"));
    (to_vec(value)[0], grad)
}

fn value(objective: &dyn BanditObjective, theta: &[f64]) -> f64 {
    value_and_grad(objective, theta).0
}

/// Max |autodiff − central difference| with step 1e-6; f64 keeps this near 1e-9.
fn check_gradient(objective: &dyn BanditObjective, what: &str) {
    let (_, grad) = value_and_grad(objective, &THETA);
    let h = 1e-6;
    for k in 0..THETA.len() {
        let mut plus = THETA;
        let mut minus = THETA;
        plus[k] += h;
        minus[k] -= h;
        let numeric = (value(objective, &plus) - value(objective, &minus)) / (2.0 * h);
        assert!(
            (grad[k] - numeric).abs() < 1e-7,
            "{what}: ∂/∂θ{k} autodiff {} vs numeric {numeric}",
            grad[k]
        );
    }
}

fn losses() -> Vec<Arc<dyn PairwiseLoss>> {
    vec![
        loss("dpo", ""),
        loss("ipo", ""),
        loss("fdpo", "divergence = \"reverse_kl\""),
        loss("fdpo", "divergence = \"forward_kl\""),
        loss("fdpo", "divergence = \"js\""),
        loss("fdpo", "divergence = \"alpha\"\na = 0.5"),
    ]
}

#[test]
fn loss_gradients_match_finite_differences() {
    let device = device();
    for beta in [0.5, 1.0, 2.0] {
        let p = problem(beta);
        for scheme in [PairScheme::Uniform, PairScheme::Reference] {
            for l in losses() {
                let data = PreferenceData::new(&p, scheme, DataMode::Expected);
                let objective = PreferenceObjective::new(l.clone(), &p, data, &device);
                check_gradient(&objective, &format!("{} β={beta} {scheme:?}", l.label()));
            }
        }
    }
}

#[test]
fn counterpart_gradients_match_finite_differences() {
    let device = device();
    for beta in [0.5, 1.0, 2.0] {
        let p = problem(beta);
        for l in losses() {
            let objective = RlhfObjective::new(l.counterpart(), &p, &device);
            check_gradient(&objective, &format!("{} counterpart β={beta}", l.label()));
        }
    }
}

#[test]
fn fdpo_reverse_kl_equals_dpo() {
    let device = device();
    let p = problem(0.7);
    let data = || PreferenceData::new(&p, PairScheme::Reference, DataMode::Expected);
    let dpo = PreferenceObjective::new(loss("dpo", ""), &p, data(), &device);
    let fdpo = PreferenceObjective::new(
        loss("fdpo", "divergence = \"reverse_kl\""),
        &p,
        data(),
        &device,
    );
    let (v1, g1) = value_and_grad(&dpo, &THETA);
    let (v2, g2) = value_and_grad(&fdpo, &THETA);
    assert!((v1 - v2).abs() < 1e-12, "{v1} vs {v2}");
    for (a, b) in g1.iter().zip(&g2) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn expected_loss_is_the_weighted_sum_of_hand_computed_pair_losses() {
    // DPO at θ under uniform pairs: (1/3) Σ_{i<j} [p*(i≻j) ℓ(i,j) + p*(j≻i) ℓ(j,i)].
    let device = device();
    let p = problem(1.0);
    let data = PreferenceData::new(&p, PairScheme::Uniform, DataMode::Expected);
    let objective = PreferenceObjective::new(loss("dpo", ""), &p, data, &device);
    let z: f64 = THETA.iter().map(|t| t.exp()).sum();
    let log_pi: Vec<f64> = THETA.iter().map(|t| t - z.ln()).collect();
    let h = |w: usize, l: usize| (log_pi[w] - p.pi_ref[w].ln()) - (log_pi[l] - p.pi_ref[l].ln());
    let ell = |w: usize, l: usize| (1.0 + (-h(w, l)).exp()).ln();
    let mut expected = 0.0;
    for (i, j) in [(0, 1), (0, 2), (1, 2)] {
        expected += (p.preference(i, j) * ell(i, j) + p.preference(j, i) * ell(j, i)) / 3.0;
    }
    assert!((value(&objective, &THETA) - expected).abs() < 1e-12);
}
