//! `workbench conformance`: one list of cases, run on every usable backend and compared
//! with ndarray in f64 (burn's `burn-backend-tests` is the model).
//!
//! A device's float type is fixed at its first use in a process, so every (backend,
//! dtype) runs in its own child process (`workbench conformance --emit`), which prints the
//! cases' values as JSON; the parent compares them.

use crate::error::{CliError, Result};
use crate::session::load_sized;
use backends::{Availability, BackendName, BackendSupport, Precision};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use workbench::Registry;
use workbench::experiments::RunContext;
use workbench::losses::testing::{SAMPLE_PAIRS, gradients, values};
use workbench::sequence::{SequenceBatch, Specials, Transformer, TransformerShape};
use workbench::tensors::to_vec;

/// Named value arrays produced by one case.
type Outputs = BTreeMap<String, Vec<f64>>;

/// Largest allowed |value − ndarray f64| / max(1, |ndarray f64|), per precision.
#[derive(Debug, Clone, Copy)]
struct Tolerance {
    f64: f64,
    f32: f64,
}

/// Runs a case on a context's device.
type CaseFn = Box<dyn Fn(&Registry, &RunContext) -> Result<Outputs>>;

/// One conformance case.
struct Case {
    name: String,
    tolerance: Tolerance,
    run: CaseFn,
}

/// Bandit experiment files, each run at its kind's smoke size. Short runs keep wgpu (about
/// 9 ms a step on lavapipe) quick.
const EXPERIMENTS: [&str; 7] = [
    "fig2_weight_decay.toml",
    "fig3_early_stopping.toml",
    "mode_seeking.toml",
    "table1_thresholding.toml",
    "fig5_one_step.toml",
    "prop32_ratio_constraint.toml",
    "fig4_penalty_curves.toml",
];

fn cases(experiments: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in EXPERIMENTS {
        let path = experiments.join(file);
        cases.push(Case {
            name: format!("experiment {file}"),
            // Policies and distances after tens of Adam/GD steps in f32.
            tolerance: Tolerance {
                f64: 1e-9,
                f32: 1e-4,
            },
            run: Box::new(move |registry, context| run_experiment(registry, &path, context)),
        });
    }
    cases.push(Case {
        name: "losses: values and gradients on SAMPLE_PAIRS".into(),
        tolerance: Tolerance {
            f64: 1e-12,
            f32: 1e-5,
        },
        run: Box::new(|registry, context| run_losses(registry, &context.device)),
    });
    cases.push(Case {
        name: "transformer: token log-probabilities".into(),
        tolerance: Tolerance {
            f64: 1e-10,
            f32: 1e-4,
        },
        run: Box::new(|_, context| run_transformer(&context.device)),
    });
    cases
}

fn run_experiment(registry: &Registry, path: &Path, context: &RunContext) -> Result<Outputs> {
    let experiment = load_sized(registry, path, &[], true)?;
    let results = experiment.run(context)?;
    Ok(results
        .datasets
        .into_iter()
        .map(|d| (d.path, d.values))
        .collect())
}

fn run_losses(registry: &Registry, device: &Device) -> Result<Outputs> {
    let mut out = Outputs::new();
    for name in registry.loss_names() {
        let mut method = toml::Table::new();
        method.insert("loss".into(), toml::Value::String(name.to_string()));
        // Losses whose parameters have no defaults are skipped; the built-in ones all build.
        let Ok(loss) = registry.build_loss(&method) else {
            continue;
        };
        for beta in [0.5, 2.0] {
            out.insert(
                format!("{name}/beta={beta}/value"),
                values(loss.as_ref(), &SAMPLE_PAIRS, beta, device),
            );
            let [chosen, rejected] = gradients(loss.as_ref(), &SAMPLE_PAIRS, beta, device);
            out.insert(format!("{name}/beta={beta}/grad_chosen"), chosen);
            out.insert(format!("{name}/beta={beta}/grad_rejected"), rejected);
        }
    }
    Ok(out)
}

/// Sets every weight to a fixed function of its position, so that every backend holds the
/// same model whatever its random generator.
struct FixedWeights {
    tensor: usize,
}

impl ModuleMapper for FixedWeights {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.tensor += 1;
        let tensor = param.val();
        let (shape, device) = (tensor.shape(), tensor.device());
        let n = shape.num_elements();
        let k = self.tensor as f64;
        let values: Vec<f64> = (0..n)
            .map(|i| 0.4 * ((i as f64) * 0.731 + k * 1.37).sin())
            .collect();
        let dims: [usize; D] = shape.dims();
        Param::from_tensor(Tensor::from_data(TensorData::new(values, dims), &device))
    }
}

fn run_transformer(device: &Device) -> Result<Outputs> {
    let specials = Specials::after(7);
    let shape = TransformerShape {
        vocab: specials.vocab,
        d_model: 16,
        n_layers: 2,
        n_heads: 4,
        d_ff: 32,
        context: 16,
    };
    let model = Transformer::new(&shape, device).map(&mut FixedWeights { tensor: 0 });
    let sequences: [(&[u32], &[u32]); 3] = [
        (&[1, 2, 3], &[4, 5, 6, 0]),
        (&[6], &[1]),
        (&[2, 2, 5, 1, 0], &[3, 3]),
    ];
    let batch = SequenceBatch::new(&sequences, specials, shape.context, device);
    let mut out = Outputs::new();
    out.insert(
        "token_log_probs".into(),
        to_vec(model.token_log_probs(&batch).detach() * batch.mask.clone()),
    );
    out.insert(
        "sequence_log_probs".into(),
        to_vec(model.sequence_log_probs(&batch).detach()),
    );
    Ok(out)
}

/// `workbench conformance --emit`: runs every case on this process's backend and prints
/// `{case: {output: [values]}}` as JSON on stdout.
pub fn emit(
    registry: &Registry,
    experiments: &Path,
    backend: BackendName,
    precision: Precision,
) -> Result<()> {
    let context = RunContext {
        device: backends::device(backend, precision)?,
        backend,
        precision,
        progress: crate::bars::warnings_only(),
        reference_cache: None,
        training_state: None,
    };
    let mut all = Map::new();
    for case in cases(experiments) {
        let outputs = (case.run)(registry, &context).map_err(|e| e.within(&case.name))?;
        let outputs: Map<String, Value> = outputs
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect();
        all.insert(case.name, Value::Object(outputs));
    }
    println!("{}", Value::Object(all));
    Ok(())
}

type Emitted = BTreeMap<String, Outputs>;

fn run_child(backend: BackendName, precision: Precision, experiments: &Path) -> Result<Emitted> {
    let exe = std::env::current_exe().map_err(|source| CliError::Io {
        what: "cannot find this executable".into(),
        source,
    })?;
    let output = Command::new(exe)
        .args([
            "conformance",
            "--emit",
            "--backend",
            backend.name(),
            "--dtype",
            precision.name(),
        ])
        .arg("--experiments")
        .arg(experiments)
        .output()
        .map_err(|source| CliError::Io {
            what: "cannot start a child process".into(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(CliError::from(
            stderr.lines().last().unwrap_or("child failed"),
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(CliError::ChildOutput)
}

/// The worst scaled difference of `got` against `reference` for one case, and where.
fn worst(reference: &Outputs, got: &Outputs) -> Result<(f64, String)> {
    let mut worst = (0.0f64, String::new());
    for (key, expected) in reference {
        let values = got
            .get(key)
            .ok_or_else(|| format!("missing output {key}"))?;
        if values.len() != expected.len() {
            return Err(CliError::from(format!(
                "{key}: {} values, expected {}",
                values.len(),
                expected.len()
            )));
        }
        for (a, b) in values.iter().zip(expected) {
            let diff = if a == b {
                0.0
            } else {
                (a - b).abs() / b.abs().max(1.0)
            };
            if !diff.is_finite() || diff > worst.0 {
                worst = (
                    if diff.is_finite() {
                        diff
                    } else {
                        f64::INFINITY
                    },
                    key.clone(),
                );
            }
        }
    }
    Ok(worst)
}

/// `workbench conformance`: every case on every usable backend (or those named), in every
/// precision it has, against ndarray f64. Prints one row per case and backend; fails if
/// any case is outside its tolerance or a named backend cannot run.
pub fn conformance(experiments: &Path, named: &[BackendName]) -> Result<()> {
    let reference = run_child(BackendName::Ndarray, Precision::F64, experiments)
        .map_err(|e| e.within("reference run (ndarray f64) failed"))?;
    let tolerances: BTreeMap<String, Tolerance> = cases(experiments)
        .into_iter()
        .map(|c| (c.name, c.tolerance))
        .collect();
    let mut failures = Vec::new();
    println!("{} cases per backend and dtype", tolerances.len());
    println!(
        "{:<10} {:<5} {:<48} {:>11} {:>9}  result",
        "backend", "dtype", "case", "max diff", "tolerance"
    );
    for backend in BackendName::ALL {
        if !named.is_empty() && !named.contains(&backend) {
            continue;
        }
        match backend.availability() {
            Availability::Usable => {}
            other => {
                let why = match other {
                    Availability::NotBuiltIn => "not built in".to_string(),
                    Availability::Unusable(why) => why,
                    Availability::Usable => unreachable!(),
                };
                println!("{:<10} {:<5} skipped: {why}", backend.name(), "-");
                if named.contains(&backend) {
                    failures.push(format!("{}: {why}", backend.name()));
                }
                continue;
            }
        }
        for precision in Precision::ALL {
            if !backend.supports(precision) || !crate::session::computes_in(backend, precision) {
                println!(
                    "{:<10} {:<5} skipped: no correct {} on this machine",
                    backend.name(),
                    precision.name(),
                    precision.name()
                );
                continue;
            }
            let emitted = match run_child(backend, precision, experiments) {
                Ok(e) => e,
                Err(e) => {
                    println!("{:<10} {:<5} failed: {e}", backend.name(), precision.name());
                    failures.push(format!("{} {}: {e}", backend.name(), precision.name()));
                    continue;
                }
            };
            for (case, expected) in &reference {
                let tolerance = tolerances
                    .get(case)
                    .copied()
                    .unwrap_or(Tolerance { f64: 0.0, f32: 0.0 });
                let tol = match precision {
                    Precision::F64 => tolerance.f64,
                    Precision::F32 => tolerance.f32,
                };
                let outcome = emitted
                    .get(case)
                    .ok_or_else(|| CliError::from("case missing"))
                    .and_then(|got| worst(expected, got));
                let (diff, at, ok) = match outcome {
                    Ok((diff, at)) => (diff, at, diff <= tol),
                    Err(e) => (f64::INFINITY, e.to_string(), false),
                };
                println!(
                    "{:<10} {:<5} {:<48} {:>11.3e} {:>9.0e}  {}",
                    backend.name(),
                    precision.name(),
                    case,
                    diff,
                    tol,
                    if ok {
                        "ok".to_string()
                    } else {
                        format!("FAIL at {at}")
                    }
                );
                if !ok {
                    failures.push(format!(
                        "{} {} {case}: {diff:.3e} > {tol:.0e} at {at}",
                        backend.name(),
                        precision.name()
                    ));
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::from(format!(
            "conformance failed: {}",
            failures.join("; ")
        )))
    }
}
