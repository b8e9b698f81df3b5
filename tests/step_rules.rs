//! The learning constraints of a step against PyTorch and transformers, in f64 on the same
//! numbers (tests/oracle/step_rules.py):
//! - learning-rate schedules (`optim::LrSchedule`): every step's learning rate equals that
//!   of transformers' `get_{constant,linear,cosine,cosine_with_min_lr}_schedule_with_warmup`
//!   and PyTorch's `CosineAnnealingLR` and `LinearLR`, to 1e-12 relative, with warmup in
//!   steps and as a ratio, several floors and lengths;
//! - gradient clipping (`optim::clip`): the global norm and the clipped gradients equal
//!   `torch.nn.utils.clip_grad_norm_`'s to 1e-12 relative, with the clip active and not,
//!   for one model and for a batch of independent models (each clipped by its own norm).
//!
//! The Python is `$WORKBENCH_ORACLE_PYTHON` (default: the libtorch venv). Without it the
//! test is skipped, unless `WORKBENCH_REQUIRE_BACKENDS` is set (the test suite).

mod common;

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use workbench::optim::{Decay, LrSchedule, StepRules, Warmup, clip};
use workbench::tensors::to_vec;

/// Two parameters, each with a leading axis of independent models.
#[derive(Module, Debug)]
struct Two {
    a: Param<Tensor<2>>,
    b: Param<Tensor<2>>,
}

fn f64_device() -> Device {
    backends::device(backends::BackendName::Flex, backends::Precision::F64).expect("flex")
}

/// (decay, warmup steps, warmup ratio, floor, total steps).
const SCHEDULES: [(&str, usize, f64, f64, usize); 12] = [
    ("constant", 0, 0.0, 0.0, 7),
    ("constant", 3, 0.0, 0.0, 10),
    ("constant", 0, 0.03, 0.0, 100),
    ("linear", 4, 0.0, 0.0, 20),
    ("linear", 0, 0.1, 0.0, 37),
    ("linear", 0, 0.0, 0.25, 15),
    ("cosine", 0, 0.0, 0.0, 12),
    ("cosine", 5, 0.0, 0.0, 40),
    ("cosine", 0, 0.03, 0.1, 200),
    ("cosine", 2, 0.0, 0.5, 9),
    ("cosine", 0, 0.0, 0.1, 25),
    ("cosine", 0, 0.0, 0.3, 1),
];

fn schedule(decay: &str, steps: usize, ratio: f64, floor: f64) -> LrSchedule {
    LrSchedule {
        warmup: if ratio > 0.0 {
            Warmup::Ratio(ratio)
        } else {
            Warmup::Steps(steps)
        },
        decay: match decay {
            "constant" => Decay::Constant,
            "linear" => Decay::Linear,
            _ => Decay::Cosine,
        },
        floor,
    }
}

/// `groups` models' random gradients of two parameters, [groups, 5] and [groups, 3].
fn gradients(rng: &mut ChaCha8Rng, groups: usize, scale: f64) -> Vec<Vec<Vec<f64>>> {
    [5, 3]
        .iter()
        .map(|&n| {
            (0..groups)
                .map(|_| {
                    (0..n)
                        .map(|_| scale * rng.random_range(-1.0..1.0))
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The workbench's norms and clipped gradients for `grads` (parameter, group, entry).
fn workbench_clip(
    grads: &[Vec<Vec<f64>>],
    max_norm: f64,
    device: &Device,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let groups = grads[0].len();
    let tensor = |rows: &Vec<Vec<f64>>| {
        let n = rows[0].len();
        Tensor::<2>::from_data(TensorData::new(rows.concat(), [groups, n]), device)
    };
    let module = Two {
        a: Param::from_tensor(Tensor::zeros([groups, 5], device)),
        b: Param::from_tensor(Tensor::zeros([groups, 3], device)),
    };
    let mut params = GradientsParams::new();
    params.register(module.a.id, tensor(&grads[0]));
    params.register(module.b.id, tensor(&grads[1]));
    let rules = StepRules {
        max_norm,
        ..StepRules::default()
    };
    let norms = clip::global_norms(&module, &params, groups, 2);
    let factors: Vec<f64> = norms.iter().map(|&n| rules.clip_factor(n)).collect();
    clip::scale(&module, &mut params, &factors);
    let clipped = [module.a.id, module.b.id]
        .iter()
        .map(|&id| to_vec(params.get::<2>(id).expect("a gradient")))
        .collect();
    (norms, clipped)
}

fn relative(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1e-300)
}

fn numbers(value: &Value) -> Vec<f64> {
    serde_json::from_value(value.clone()).expect("numbers")
}

#[test]
fn schedules_and_clipping_match_pytorch_and_transformers() {
    let Some(python) = common::oracle::transformers_python() else {
        return;
    };
    let lr = 3e-4;
    let schedules: Vec<Value> = SCHEDULES
        .iter()
        .map(|&(decay, warmup_steps, warmup_ratio, floor, total)| {
            json!({"decay": decay, "warmup_steps": warmup_steps, "warmup_ratio": warmup_ratio,
                   "floor": floor, "total": total, "lr": lr})
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    // (groups, gradient scale, max_norm): clipping active, inactive, and per group mixed.
    let clip_cases = [(1, 3.0, 1.0), (1, 0.1, 1.0), (4, 1.0, 1.2), (3, 50.0, 0.5)];
    let clip_grads: Vec<Vec<Vec<Vec<f64>>>> = clip_cases
        .iter()
        .map(|&(groups, scale, _)| gradients(&mut rng, groups, scale))
        .collect();
    let clips: Vec<Value> = clip_cases
        .iter()
        .zip(&clip_grads)
        .map(|(&(groups, _, max_norm), grads)| {
            json!({"max_norm": max_norm, "groups": groups, "grads": grads})
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("settings.json");
    let settings = json!({"schedules": schedules, "clips": clips});
    std::fs::write(&input, settings.to_string()).expect("write");
    let out = common::oracle::run_script(&python, "step_rules.py", &[&input]);
    let oracle: Value = serde_json::from_slice(&out).expect("JSON");

    for (i, &(decay, steps, ratio, floor, total)) in SCHEDULES.iter().enumerate() {
        let want = numbers(&oracle["schedules"][i]);
        let ours = schedule(decay, steps, ratio, floor);
        assert_eq!(want.len(), total);
        for (step, &w) in want.iter().enumerate() {
            let got = lr * ours.factor(step, total);
            assert!(
                (got - w).abs() <= 1e-12 * w.abs().max(lr * 1e-3),
                "{:?} step {step} of {total}: {got} against PyTorch's {w}",
                SCHEDULES[i]
            );
        }
    }

    let device = f64_device();
    let mut clipped_any = false;
    for (i, (&(_, _, max_norm), grads)) in clip_cases.iter().zip(&clip_grads).enumerate() {
        let (norms, clipped) = workbench_clip(grads, max_norm, &device);
        let want = &oracle["clips"][i];
        for (got, w) in norms.iter().zip(numbers(&want["norms"])) {
            assert!(
                relative(*got, w) <= 1e-12,
                "case {i}: norm {got} against {w}"
            );
            clipped_any |= w > max_norm;
        }
        for (param, got) in clipped.iter().enumerate() {
            let rows: Vec<Vec<f64>> =
                serde_json::from_value(want["grads"][param].clone()).expect("rows");
            for (g, w) in got.iter().zip(rows.concat()) {
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1e-3),
                    "case {i} parameter {param}: {g} against clip_grad_norm_'s {w}"
                );
            }
        }
    }
    assert!(clipped_any, "some case must clip");
}
