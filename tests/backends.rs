//! Backends behind one flag: the conformance suite on every usable backend against ndarray
//! f64, and the one-line errors for unknown, missing and unusable backends.
//!
//! `WORKBENCH_REQUIRE_BACKENDS` (comma-separated; `scripts/test.sh` sets it from what it
//! installed) names backends that must be usable here, so that a broken install fails the
//! suite instead of skipping a backend.

mod common;

use common::{repo, stderr, workbench};

fn required() -> Vec<String> {
    std::env::var("WORKBENCH_REQUIRE_BACKENDS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn every_usable_backend_agrees_with_ndarray_f64() {
    let experiments = repo("experiments");
    let output = workbench(&["conformance", "--experiments", &experiments]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "conformance failed:\n{table}\n{}",
        stderr(&output)
    );
    let rows = |backend: &str| {
        table
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(backend) && l.ends_with(" ok"))
            .count()
    };
    let cases: usize = table
        .lines()
        .find_map(|l| l.strip_suffix(" cases per backend and dtype"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no case count in:\n{table}"));
    assert!(cases >= 9, "{table}");
    // ndarray (f64 against itself, and f32) and flex always run every case in both dtypes.
    assert_eq!(rows("ndarray"), 2 * cases, "{table}");
    assert_eq!(rows("flex"), 2 * cases, "{table}");
    for backend in required() {
        assert!(
            rows(&backend) >= cases,
            "required backend {backend} did not pass:\n{table}"
        );
    }
    eprintln!("{table}");
}

#[test]
fn list_backends_says_built_in_usable_and_why_not() {
    let output = workbench(&["list", "backends"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for name in ["ndarray", "flex", "wgpu", "tch-cpu", "tch-cuda", "cuda"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(name)),
            "{name} missing from:\n{text}"
        );
    }
    assert!(
        text.contains("flex       built in, usable here (f64, f32) (default)"),
        "{text}"
    );
    // CubeCL CUDA is opt-in and never in the default build.
    assert!(
        text.contains("cuda       not built in: rebuild with `--features cuda`"),
        "{text}"
    );
    for backend in required() {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{backend} "))
                    && l.contains("usable here")),
            "{backend} should be usable:\n{text}"
        );
    }
}

fn run_error(args: &[&str]) -> String {
    let file = repo("experiments/fig5_one_step.toml");
    let out = std::env::temp_dir().join(format!("wb-backends-{}", std::process::id()));
    let out = out.to_string_lossy().to_string();
    let mut full = vec!["run", file.as_str(), "--out", out.as_str(), "--quiet"];
    full.extend_from_slice(args);
    let output = workbench(&full);
    assert!(!output.status.success(), "{args:?} should fail");
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "not one line: {message}");
    assert!(
        !std::path::Path::new(&out).join("fig5_one_step.h5").exists(),
        "a results file was written"
    );
    message
}

#[test]
fn unknown_missing_and_unusable_backends_are_one_line_errors() {
    let unknown = run_error(&["--backend", "tpu"]);
    assert!(
        unknown.contains("unknown backend `tpu`")
            && unknown.contains("known: ndarray, flex, wgpu, tch-cpu, tch-cuda, cuda"),
        "{unknown}"
    );
    let cuda = run_error(&["--backend", "cuda"]);
    assert!(
        cuda.contains("backend `cuda` is not built into this binary")
            && cuda.contains("--features cuda"),
        "{cuda}"
    );
    let dtype = run_error(&["--dtype", "f16"]);
    assert!(dtype.contains("unknown dtype `f16`"), "{dtype}");
    if cfg!(feature = "tch") {
        // Built in; without a GPU it must say why it cannot run.
        let tch_cuda = run_error(&["--backend", "tch-cuda"]);
        assert!(
            tch_cuda.contains("built in but not usable here"),
            "{tch_cuda}"
        );
    } else {
        let tch = run_error(&["--backend", "tch-cpu"]);
        assert!(
            tch.contains("--features tch") && tch.contains("install-libtorch.sh"),
            "{tch}"
        );
    }
    if required().iter().any(|b| b == "wgpu") {
        // lavapipe reports f64 but computes it wrongly: the device probe must say so.
        let file = repo("experiments/fig5_one_step.toml");
        let output = workbench(&[
            "run",
            &file,
            "--backend",
            "wgpu",
            "--dtype",
            "f64",
            "--out",
            "/tmp/wb-wgpu-f64",
            "--quiet",
        ]);
        if !output.status.success() {
            let message = stderr(&output);
            assert_eq!(message.trim().lines().count(), 1, "{message}");
            assert!(
                message.contains("wgpu") && message.contains("--dtype f32"),
                "{message}"
            );
        }
    }
}

#[test]
fn wgpu_runs_figure_2_like_ndarray() {
    if !required().iter().any(|b| b == "wgpu") {
        eprintln!("wgpu not required here (WORKBENCH_REQUIRE_BACKENDS); skipped");
        return;
    }
    let file = repo("experiments/fig2_weight_decay.toml");
    let dir = std::env::temp_dir().join(format!("wb-wgpu-fig2-{}", std::process::id()));
    let policies = |backend: &str, dtype: &str| -> Vec<f64> {
        let out = dir.join(backend);
        let out = out.to_string_lossy().to_string();
        let output = workbench(&[
            "run",
            &file,
            "--backend",
            backend,
            "--dtype",
            dtype,
            "--out",
            &out,
            "--quiet",
            "--set",
            "optimizer.epochs=100",
        ]);
        assert!(output.status.success(), "{backend}: {}", stderr(&output));
        let h5 = hdf5::File::open(dir.join(backend).join("fig2_weight_decay.h5")).unwrap();
        let mut values = Vec::new();
        for method in ["dpo", "fdpo_forward_kl", "ipo"] {
            for policy in ["policy", "rlhf_policy"] {
                let dataset = h5.dataset(&format!("{method}/{policy}")).unwrap();
                values.extend(dataset.read_raw::<f64>().unwrap());
            }
        }
        values
    };
    let (reference, wgpu) = (policies("ndarray", "f64"), policies("wgpu", "f32"));
    let worst = reference
        .iter()
        .zip(&wgpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "wgpu vs ndarray: max |Δπ| = {worst:e}");
    let _ = std::fs::remove_dir_all(dir);
}
