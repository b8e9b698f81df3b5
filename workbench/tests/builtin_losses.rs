//! The built-in losses beyond the paper's (robust, bco_pair, weighted combinations), checked
//! the way a new loss is: gradient against finite differences and values on known inputs.

use workbench::Registry;
use workbench::losses::testing::{SAMPLE_PAIRS, gradients, max_gradient_error, values};

mod common;

fn build(method: &str) -> std::sync::Arc<dyn workbench::losses::PairwiseLoss> {
    Registry::builtin()
        .build_loss(&method.parse().expect("TOML"))
        .expect("valid loss")
}

#[test]
fn every_builtin_gradient_matches_finite_differences() {
    for method in [
        "loss = \"dpo\"",
        "loss = \"ipo\"",
        "loss = \"fdpo\"\ndivergence = \"js\"",
        "loss = \"robust\"\nlabel_smoothing = 0.2",
        "loss = [{ name = \"dpo\", weight = 0.8 }, { name = \"ipo\", weight = 0.2 }]",
    ] {
        let loss = build(method);
        for beta in [0.5, 2.0] {
            let error = max_gradient_error(loss.as_ref(), &SAMPLE_PAIRS, beta, &common::device());
            assert!(error < 1e-6, "{method} β={beta}: {error}");
        }
    }
}

#[test]
fn robust_bco_pair_and_combinations_on_known_inputs() {
    let device = common::device();
    let softplus = |x: f64| (1.0 + x.exp()).ln();
    let pair = [[-0.5, -1.5, -1.0, -1.0]]; // h = 1; rewards β·0.5 and −β·0.5
    let value = |method: &str, beta: f64| values(build(method).as_ref(), &pair, beta, &device)[0];
    // robust: [(1 − ε) softplus(−β) − ε softplus(β)] / (1 − 2ε)
    let eps = 0.2;
    let expected = ((1.0 - eps) * softplus(-1.0) - eps * softplus(1.0)) / (1.0 - 2.0 * eps);
    assert!((value("loss = \"robust\"\nlabel_smoothing = 0.2", 1.0) - expected).abs() < 1e-12);
    // bco_pair on one pair: δ = (0.5 − 0.5)/2 = 0, so softplus(−0.5) + softplus(−0.5)
    assert!((value("loss = \"bco_pair\"", 1.0) - 2.0 * softplus(-0.5)).abs() < 1e-12);
    // a combination is the weighted sum of its terms
    let combined = value(
        "loss = [{ name = \"dpo\", weight = 0.8 }, { name = \"bco_pair\", weight = 0.2 }]",
        1.0,
    );
    assert!((combined - (0.8 * softplus(-1.0) + 0.2 * 2.0 * softplus(-0.5))).abs() < 1e-12);
}

#[test]
fn bad_loss_parameters_name_the_loss_and_key() {
    let registry = Registry::builtin();
    for (method, needles) in [
        (
            "loss = \"robust\"\nlabel_smoothing = 0.7",
            ["robust", "label_smoothing"],
        ),
        (
            "loss = \"robust\"\nsmoothing = 0.1",
            ["robust", "smoothing"],
        ),
        ("loss = [{ name = \"dpo\" }]", ["dpo", "weight"]),
        (
            "loss = [{ name = \"dpoo\", weight = 1 }]",
            ["dpoo", "unknown loss"],
        ),
    ] {
        let error = registry
            .build_loss(&method.parse().expect("TOML"))
            .expect_err(method);
        for needle in needles {
            assert!(error.contains(needle), "`{needle}` not in {error}");
        }
    }
}

/// bco_pair holds its shift δ (the batch's mean reward) constant, so its gradient is
/// ∂ℓ/∂log π_θ(y_w) = −β σ(δ − r_w) and ∂ℓ/∂log π_θ(y_l) = β σ(r_l − δ), r = β log(π_θ/π_ref);
/// checked to 1e-12.
#[test]
fn bco_pair_gradient_holds_the_shift_constant() {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let beta = 0.7;
    let [chosen, rejected] = gradients(
        build("loss = \"bco_pair\"").as_ref(),
        &SAMPLE_PAIRS,
        beta,
        &common::device(),
    );
    let rewards: Vec<(f64, f64)> = SAMPLE_PAIRS
        .iter()
        .map(|p| (beta * (p[0] - p[2]), beta * (p[1] - p[3])))
        .collect();
    let delta = rewards.iter().map(|(w, l)| w + l).sum::<f64>() / (2.0 * rewards.len() as f64);
    for (i, (r_w, r_l)) in rewards.iter().enumerate() {
        assert!(
            (chosen[i] + beta * sigmoid(delta - r_w)).abs() < 1e-12,
            "pair {i}"
        );
        assert!(
            (rejected[i] - beta * sigmoid(r_l - delta)).abs() < 1e-12,
            "pair {i}"
        );
    }
}
