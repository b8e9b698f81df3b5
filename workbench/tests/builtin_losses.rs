//! The built-in losses beyond the paper's (robust, bco_pair, weighted combinations), checked
//! the way a new loss is: gradient against finite differences and values on known inputs.

use workbench::Registry;
use workbench::losses::testing::{SAMPLE_PAIRS, max_gradient_error, values};

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
    // bco_pair (no shift, as TRL since #3906): softplus(−0.5) + softplus(−0.5)
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

/// Every TRL loss type is built in under TRL's name, with `cpo`, `simpo` and `orpo` from
/// TRL's other trainers, and each one's gradient on bandit pairs (no token counts) matches
/// finite differences. (Their values against TRL's own code: tests/trl_losses.rs.)
#[test]
fn every_trl_loss_is_built_in_and_differentiates() {
    let registry = Registry::builtin();
    // Flex: ndarray's f64 `sigmoid` carries about 1e-8 of error, which finite differences
    // with step 1e-6 turn into 1e-2.
    let flex =
        backends::device(backends::BackendName::Flex, backends::Precision::F64).expect("flex f64");
    for name in [
        "sigmoid",
        "hinge",
        "ipo",
        "exo_pair",
        "nca_pair",
        "robust",
        "bco_pair",
        "sppo_hard",
        "aot",
        "aot_unpaired",
        "apo_zero",
        "apo_down",
        "discopop",
        "sft",
        "sigmoid_norm",
        "simpo",
        "cpo",
        "orpo",
    ] {
        let entry = registry
            .loss(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(!entry.source.is_empty(), "{name} has no source");
        let method = match name {
            "robust" => format!("loss = \"{name}\"\nlabel_smoothing = 0.1"),
            _ => format!("loss = \"{name}\""),
        };
        let loss = build(&method);
        for beta in [0.5, 2.0] {
            let error = max_gradient_error(loss.as_ref(), &SAMPLE_PAIRS, beta, &flex);
            assert!(error < 1e-6, "{name} β={beta}: {error}");
        }
    }
}

/// `dpo` and `sigmoid` are one loss; `sft` on a bandit is the NLL of each chosen action;
/// reference-free and batch-sorting losses state that they have no RLHF counterpart.
#[test]
fn aliases_sft_and_counterparts() {
    let device = common::device();
    let dpo = values(
        build("loss = \"dpo\"").as_ref(),
        &SAMPLE_PAIRS,
        0.7,
        &device,
    );
    let sigmoid = values(
        build("loss = \"sigmoid\"").as_ref(),
        &SAMPLE_PAIRS,
        0.7,
        &device,
    );
    assert_eq!(dpo, sigmoid);
    let sft = values(
        build("loss = \"sft\"").as_ref(),
        &SAMPLE_PAIRS,
        0.7,
        &device,
    );
    for (got, pair) in sft.iter().zip(&SAMPLE_PAIRS) {
        assert!((got + pair[0]).abs() < 1e-12);
    }
    for (method, has) in [
        ("loss = \"sigmoid\"", true),
        (
            "loss = \"sigmoid\"\nf_divergence_type = \"js_divergence\"",
            true,
        ),
        ("loss = \"ipo\"", true),
        ("loss = \"robust\"\nlabel_smoothing = 0.1", true),
        ("loss = \"hinge\"", false),
        ("loss = \"bco_pair\"", false),
        ("loss = \"aot\"", false),
        ("loss = \"simpo\"", false),
        ("loss = \"orpo\"", false),
        (
            "loss = [{ name = \"sigmoid\", weight = 0.8 }, { name = \"bco_pair\", weight = 0.2 }, { name = \"sft\", weight = 1.0 }]",
            false,
        ),
    ] {
        assert_eq!(build(method).has_counterpart(), has, "{method}");
    }
}
