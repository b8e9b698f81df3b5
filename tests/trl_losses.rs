//! Every TRL loss, checked against TRL's own code (tests/oracle/trl_losses.py calls
//! `DPOTrainer._compute_loss`, `CPOTrainer.get_batch_loss_metrics` and
//! `ORPOTrainer.get_batch_loss_metrics` on stand-in models): on random log-probabilities
//! with a tie and extreme margins, the per-pair losses (where TRL has them per pair) and
//! the gradients of the batch loss with respect to every policy log-probability agree to
//! 1e-10 in f64 and 1e-5 in f32, relative to max(1, |TRL's value|). ORPO is held to 1e-5 in
//! both: TRL's `odds_ratio_loss` casts to float32 whatever it is given.
//!
//! The Python is `$WORKBENCH_ORACLE_PYTHON` (scripts/oracle-python.sh installs the pinned
//! TRL into it). Without it the test is skipped, unless `WORKBENCH_REQUIRE_BACKENDS` is set
//! (the test suite), where it fails.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use workbench::Registry;
use workbench::losses::PairLogProbs;

/// The venv scripts/install-libtorch.sh --cuda makes, which scripts/oracle-python.sh extends.
const DEFAULT_PYTHON: &str = "/var/cache/dpo-workbench/libtorch-venv/bin/python";

/// One batch of pairs: sequence log-probabilities and token counts.
#[derive(Debug, Clone)]
struct Batch {
    policy_chosen: Vec<f64>,
    policy_rejected: Vec<f64>,
    reference_chosen: Vec<f64>,
    reference_rejected: Vec<f64>,
    chosen_tokens: Vec<f64>,
    rejected_tokens: Vec<f64>,
}

/// Ten random pairs, then a tie (equal log-probabilities everywhere) and two pairs with
/// extreme margins, one each way. Log-probabilities stay below −0.05 (ORPO's odds need
/// log π < 0).
fn batch(seed: u64, unit_tokens: bool) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = Batch {
        policy_chosen: vec![],
        policy_rejected: vec![],
        reference_chosen: vec![],
        reference_rejected: vec![],
        chosen_tokens: vec![],
        rejected_tokens: vec![],
    };
    let mut push = |values: [f64; 4], tokens: [f64; 2]| {
        b.policy_chosen.push(values[0]);
        b.policy_rejected.push(values[1]);
        b.reference_chosen.push(values[2]);
        b.reference_rejected.push(values[3]);
        b.chosen_tokens.push(tokens[0]);
        b.rejected_tokens.push(tokens[1]);
    };
    for _ in 0..10 {
        let tokens = if unit_tokens {
            [1.0, 1.0]
        } else {
            [
                rng.random_range(1..=6) as f64,
                rng.random_range(1..=6) as f64,
            ]
        };
        let lp = |rng: &mut ChaCha8Rng, n: f64| -n * rng.random_range(0.05..2.5);
        let values = [
            lp(&mut rng, tokens[0]),
            lp(&mut rng, tokens[1]),
            lp(&mut rng, tokens[0]),
            lp(&mut rng, tokens[1]),
        ];
        push(values, tokens);
    }
    let n = if unit_tokens { 1.0 } else { 3.0 };
    push([-1.3 * n, -1.3 * n, -0.9 * n, -0.9 * n], [n, n]);
    push(
        [-0.06, -45.0, -6.0, -5.0],
        [1.0, if unit_tokens { 1.0 } else { 5.0 }],
    );
    push(
        [-38.0, -0.08, -4.0, -7.0],
        [if unit_tokens { 1.0 } else { 4.0 }, 1.0],
    );
    b
}

/// A case: the workbench method (TOML), TRL's trainer and its options.
struct Case {
    method: &'static str,
    trainer: &'static str,
    options: Value,
    /// TRL refuses float64 for this option (its α-divergence clamp has no float64 bound).
    f32_only: bool,
    /// Every response one token (the paper's summed `ipo` is TRL's only then).
    unit_tokens: bool,
}

fn dpo(method: &'static str, options: Value) -> Case {
    Case {
        method,
        trainer: "dpo",
        options,
        f32_only: false,
        unit_tokens: false,
    }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        dpo("loss = \"sigmoid\"", json!({"loss_type": ["sigmoid"]})),
        dpo("loss = \"dpo\"", json!({"loss_type": ["sigmoid"]})),
        dpo(
            "loss = \"sigmoid\"\nf_divergence_type = \"forward_kl\"",
            json!({"loss_type": ["sigmoid"], "f_divergence_type": "forward_kl"}),
        ),
        dpo(
            "loss = \"sigmoid\"\nf_divergence_type = \"js_divergence\"",
            json!({"loss_type": ["sigmoid"], "f_divergence_type": "js_divergence"}),
        ),
        dpo(
            "loss = \"sigmoid_norm\"",
            json!({"loss_type": ["sigmoid_norm"]}),
        ),
        dpo(
            "loss = \"sigmoid_norm\"\nf_divergence_type = \"js_divergence\"",
            json!({"loss_type": ["sigmoid_norm"], "f_divergence_type": "js_divergence"}),
        ),
        dpo("loss = \"hinge\"", json!({"loss_type": ["hinge"]})),
        dpo(
            "loss = \"hinge\"\nf_divergence_type = \"forward_kl\"",
            json!({"loss_type": ["hinge"], "f_divergence_type": "forward_kl"}),
        ),
        dpo(
            "loss = \"ipo\"\nlength_normalised = true",
            json!({"loss_type": ["ipo"]}),
        ),
        dpo(
            "loss = \"ipo\"\nlength_normalised = true\nf_divergence_type = \"forward_kl\"",
            json!({"loss_type": ["ipo"], "f_divergence_type": "forward_kl"}),
        ),
        Case {
            unit_tokens: true,
            ..dpo("loss = \"ipo\"", json!({"loss_type": ["ipo"]}))
        },
        // ε exact in float32: TRL holds exo's ε in a float32 tensor.
        dpo(
            "loss = \"exo_pair\"\nlabel_smoothing = 0.125",
            json!({"loss_type": ["exo_pair"], "label_smoothing": 0.125}),
        ),
        dpo(
            "loss = \"exo_pair\"\nlabel_smoothing = 0.0009765625\nf_divergence_type = \"js_divergence\"",
            json!({"loss_type": ["exo_pair"], "label_smoothing": 0.0009765625, "f_divergence_type": "js_divergence"}),
        ),
        dpo("loss = \"nca_pair\"", json!({"loss_type": ["nca_pair"]})),
        dpo(
            "loss = \"robust\"\nlabel_smoothing = 0.2",
            json!({"loss_type": ["robust"], "label_smoothing": 0.2}),
        ),
        dpo(
            "loss = \"robust\"\nlabel_smoothing = 0.1\nf_divergence_type = \"forward_kl\"",
            json!({"loss_type": ["robust"], "label_smoothing": 0.1, "f_divergence_type": "forward_kl"}),
        ),
        dpo("loss = \"bco_pair\"", json!({"loss_type": ["bco_pair"]})),
        dpo("loss = \"sppo_hard\"", json!({"loss_type": ["sppo_hard"]})),
        dpo("loss = \"aot\"", json!({"loss_type": ["aot"]})),
        dpo(
            "loss = \"aot\"\nlabel_smoothing = 0.1",
            json!({"loss_type": ["aot"], "label_smoothing": 0.1}),
        ),
        dpo(
            "loss = \"aot_unpaired\"",
            json!({"loss_type": ["aot_unpaired"]}),
        ),
        dpo(
            "loss = \"aot_unpaired\"\nlabel_smoothing = 0.3",
            json!({"loss_type": ["aot_unpaired"], "label_smoothing": 0.3}),
        ),
        dpo("loss = \"apo_zero\"", json!({"loss_type": ["apo_zero"]})),
        dpo("loss = \"apo_down\"", json!({"loss_type": ["apo_down"]})),
        dpo("loss = \"discopop\"", json!({"loss_type": ["discopop"]})),
        dpo(
            "loss = \"discopop\"\ndiscopop_tau = 0.5\nf_divergence_type = \"js_divergence\"",
            json!({"loss_type": ["discopop"], "discopop_tau": 0.5, "f_divergence_type": "js_divergence"}),
        ),
        dpo("loss = \"sft\"", json!({"loss_type": ["sft"]})),
        // MPO: sigmoid, bco_pair and sft weighted 0.8, 0.2, 1.0.
        dpo(
            "loss = [{ name = \"sigmoid\", weight = 0.8 }, { name = \"bco_pair\", weight = 0.2 }, { name = \"sft\", weight = 1.0 }]",
            json!({"loss_type": ["sigmoid", "bco_pair", "sft"], "loss_weights": [0.8, 0.2, 1.0]}),
        ),
    ];
    for (coef, loss_type) in [
        (0.5, "sigmoid"),
        (0.3, "ipo"),
        (1.5, "hinge"),
        (0.7, "robust"),
    ] {
        let extra = match loss_type {
            "ipo" => "\nlength_normalised = true",
            "robust" => "\nlabel_smoothing = 0.1",
            _ => "",
        };
        let method = format!(
            "loss = \"{loss_type}\"\nf_divergence_type = \"alpha_divergence\"\nf_alpha_divergence_coef = {coef}{extra}"
        );
        cases.push(Case {
            f32_only: true,
            ..dpo(
                Box::leak(method.into_boxed_str()),
                json!({"loss_type": [loss_type], "f_divergence_type": "alpha_divergence",
                       "f_alpha_divergence_coef": coef, "label_smoothing": if loss_type == "robust" { 0.1 } else { 0.0 }}),
            )
        });
    }
    let cpo = |method: &'static str, options: Value| Case {
        trainer: "cpo",
        ..dpo(method, options)
    };
    cases.extend([
        cpo("loss = \"cpo\"", json!({"loss_type": "sigmoid", "cpo_alpha": 1.0})),
        cpo(
            "loss = \"cpo\"\ncpo_alpha = 0.0\nlabel_smoothing = 0.2",
            json!({"loss_type": "sigmoid", "cpo_alpha": 0.0, "label_smoothing": 0.2}),
        ),
        cpo(
            "loss = \"cpo\"\nloss_type = \"hinge\"\ncpo_alpha = 0.0",
            json!({"loss_type": "hinge", "cpo_alpha": 0.0}),
        ),
        cpo(
            "loss = \"cpo\"\nloss_type = \"ipo\"\ncpo_alpha = 0.5",
            json!({"loss_type": "ipo", "cpo_alpha": 0.5}),
        ),
        cpo(
            "loss = \"cpo\"\nalpha = 0.25\ncpo_alpha = 0.0",
            json!({"loss_type": "sigmoid", "alpha": 0.25, "cpo_alpha": 0.0}),
        ),
        cpo(
            "loss = \"simpo\"",
            json!({"loss_type": "simpo", "simpo_gamma": 0.5, "cpo_alpha": 0.0}),
        ),
        cpo(
            "loss = \"simpo\"\nsimpo_gamma = 1.0\ncpo_alpha = 0.5\nlabel_smoothing = 0.1",
            json!({"loss_type": "simpo", "simpo_gamma": 1.0, "cpo_alpha": 0.5, "label_smoothing": 0.1}),
        ),
        cpo(
            "loss = \"simpo\"\nalpha = -0.5",
            json!({"loss_type": "simpo", "simpo_gamma": 0.5, "cpo_alpha": 0.0, "alpha": -0.5}),
        ),
        Case {
            trainer: "orpo",
            ..dpo("loss = \"orpo\"", json!({}))
        },
    ]);
    cases
}

/// The oracle's Python, or `None` (with the reason) when it cannot import TRL.
fn oracle_python() -> Result<PathBuf, String> {
    let python = std::env::var("WORKBENCH_ORACLE_PYTHON").unwrap_or(DEFAULT_PYTHON.into());
    let probe = Command::new(&python)
        .args(["-c", "import trl"])
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "{python} cannot import trl: {}",
            String::from_utf8_lossy(&probe.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    Ok(python.into())
}

/// The workbench's per-pair losses and the gradients of their mean (TRL's batch loss)
/// with respect to log π_θ(y_w) and log π_θ(y_l).
fn workbench(method: &str, b: &Batch, beta: f64, device: &Device) -> [Vec<f64>; 3] {
    let loss = Registry::builtin()
        .build_loss(&method.parse().expect("TOML"))
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    let row = |values: &[f64]| {
        let n = values.len();
        let data: Vec<f32>;
        let tensor_data = if device_is_f32(device) {
            data = values.iter().map(|&v| v as f32).collect();
            TensorData::new(data, [1, n])
        } else {
            TensorData::new(values.to_vec(), [1, n])
        };
        Tensor::<2>::from_data(tensor_data, device)
    };
    let chosen = row(&b.policy_chosen).require_grad();
    let rejected = row(&b.policy_rejected).require_grad();
    let inputs = PairLogProbs {
        chosen_tokens: Some(row(&b.chosen_tokens)),
        rejected_tokens: Some(row(&b.rejected_tokens)),
        ..PairLogProbs::new(
            chosen.clone(),
            rejected.clone(),
            row(&b.reference_chosen),
            row(&b.reference_rejected),
        )
    };
    let per_pair = loss.loss(&inputs, beta);
    let values = workbench::tensors::to_vec(per_pair.clone().detach());
    let grads = per_pair.mean().backward();
    let grad = |leaf: &Tensor<2>| {
        leaf.grad(&grads)
            .map(workbench::tensors::to_vec)
            .unwrap_or_else(|| vec![0.0; b.policy_chosen.len()])
    };
    [values, grad(&chosen), grad(&rejected)]
}

fn device_is_f32(device: &Device) -> bool {
    Tensor::<1>::zeros([1], device).dtype().size() == 4
}

/// max |got − want| / max(1, |want|).
fn worst(got: &[f64], want: &Value) -> f64 {
    let want: Vec<f64> = serde_json::from_value(want.clone()).expect("numbers");
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

#[test]
fn every_trl_loss_matches_trls_own_code() {
    let python = match oracle_python() {
        Ok(python) => python,
        Err(why) if std::env::var_os("WORKBENCH_REQUIRE_BACKENDS").is_some() => panic!(
            "the TRL oracle is required (WORKBENCH_REQUIRE_BACKENDS is set) but {why}; run `eval \"$(bash scripts/oracle-python.sh)\"`"
        ),
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    // A backend takes one float precision per process: f64 on flex, f32 on ndarray.
    let precisions = [
        (
            "f64",
            backends::BackendName::Flex,
            backends::Precision::F64,
            1e-10,
        ),
        (
            "f32",
            backends::BackendName::Ndarray,
            backends::Precision::F32,
            1e-5,
        ),
    ];
    let mut jobs = Vec::new();
    let mut requests = Vec::new();
    for (c, case) in cases().iter().enumerate() {
        for (p, (dtype, _, _, _)) in precisions.iter().enumerate() {
            if case.f32_only && *dtype == "f64" {
                continue;
            }
            for (seed, beta) in [(c as u64 * 7 + 1, 0.1), (c as u64 * 7 + 2, 0.5)] {
                let b = batch(seed, case.unit_tokens);
                requests.push(json!({
                    "trainer": case.trainer, "dtype": dtype, "beta": beta, "options": case.options,
                    "policy_chosen": b.policy_chosen, "policy_rejected": b.policy_rejected,
                    "reference_chosen": b.reference_chosen, "reference_rejected": b.reference_rejected,
                    "chosen_tokens": b.chosen_tokens, "rejected_tokens": b.rejected_tokens,
                }));
                jobs.push((c, p, beta, b));
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (input, output) = (dir.path().join("in.json"), dir.path().join("out.json"));
    std::fs::write(&input, json!({ "cases": requests }).to_string()).expect("write");
    let run = Command::new(&python)
        .arg(common::repo("tests/oracle/trl_losses.py"))
        .args([&input, &output])
        .output()
        .expect("oracle runs");
    assert!(
        run.status.success(),
        "TRL oracle failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let answer: Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("read")).expect("JSON");
    let results = answer["results"].as_array().expect("results");
    let cases = cases();
    let devices: Vec<Device> = precisions
        .iter()
        .map(|(_, backend, precision, _)| {
            backends::device(*backend, *precision).expect("CPU device")
        })
        .collect();
    // worst (value, gradient) difference per case and precision
    let mut table = vec![[[f64::NAN; 2]; 2]; cases.len()];
    let mut failures = Vec::new();
    for ((c, p, beta, b), trl) in jobs.iter().zip(results) {
        let [values, grad_chosen, grad_rejected] =
            workbench(cases[*c].method, b, *beta, &devices[*p]);
        let value = match &trl["per_pair"] {
            Value::Null => {
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                worst(&[mean], &json!([trl["loss"]]))
            }
            per_pair => worst(&values, per_pair),
        };
        let gradient = worst(&grad_chosen, &trl["grad_chosen"])
            .max(worst(&grad_rejected, &trl["grad_rejected"]));
        let entry = &mut table[*c][*p];
        entry[0] = entry[0].max(value);
        entry[1] = entry[1].max(gradient);
        // TRL's ORPO computes its odds ratio in float32 (`.float()`) even from float64.
        let tol = if cases[*c].trainer == "orpo" {
            precisions[1].3
        } else {
            precisions[*p].3
        };
        if !(value <= tol && gradient <= tol) {
            failures.push(format!(
                "{} ({}, β = {beta}): value {value:.2e}, gradient {gradient:.2e} > {tol:e}",
                cases[*c].method.replace('\n', "; "),
                precisions[*p].0
            ));
        }
    }
    println!(
        "TRL {}: worst relative difference (value, gradient)",
        answer["trl"]
    );
    let show = |x: f64| {
        if x.is_nan() {
            "-".into()
        } else {
            format!("{x:.1e}")
        }
    };
    for (case, [f64_worst, f32_worst]) in cases.iter().zip(&table) {
        println!(
            "  {:<100} f64 {} {}  f32 {} {}",
            case.method.replace('\n', "; "),
            show(f64_worst[0]),
            show(f64_worst[1]),
            show(f32_worst[0]),
            show(f32_worst[1])
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
