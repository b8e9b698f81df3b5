//! Helpers shared by the end-to-end tests: the `workbench` binary, repository paths, and
//! Python (h5py) checks of results files.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `workbench` binary with `args` (ignoring any WORKBENCH_BACKEND of the caller).
pub fn workbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .env_remove("WORKBENCH_BACKEND")
        .output()
        .expect("workbench runs")
}

/// A path inside the repository.
pub fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// The command's stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `script` with python3 and `args`; fails the test with Python's stderr if it fails.
pub fn python(script: &str, args: &[&Path]) -> Output {
    let mut command = Command::new("python3");
    command.args(["-c", script]);
    for arg in args {
        command.arg(arg);
    }
    let output = command
        .output()
        .expect("python3 runs (scripts/setup.sh --tests installs h5py)");
    assert!(
        output.status.success(),
        "python check failed: {}",
        stderr(&output)
    );
    output
}

/// Reduced settings of every bandit experiment in `experiments/` (seconds in all).
pub const SMALL_BANDIT: [(&str, &[&str]); 7] = [
    ("fig2_weight_decay", &["optimizer.epochs=100"]),
    ("fig3_early_stopping", &["optimizer.epochs=100"]),
    (
        "mode_seeking",
        &["optimizer.epochs=100", "sampled.seeds=[0, 1, 2]"],
    ),
    ("table1_thresholding", &["optimizer.epochs=100"]),
    ("fig5_one_step", &[]),
    ("fig4_penalty_curves", &["points=100"]),
    ("prop32_ratio_constraint", &["optimizer.epochs=500"]),
];

/// Reduced settings of `experiments/fig6_table2.toml` (about ten seconds).
pub const SMALL_SEQUENCE: &[&str] = &[
    "data.pairs=600",
    "sft.epochs=1",
    "dpo.epochs=1",
    "analysis.q=10.0",
];

/// Runs `experiments/<experiment>.toml` with `set` into `dir`; fails the test on an error.
pub fn run_small(dir: &Path, experiment: &str, set: &[&str]) {
    let file = repo(&format!("experiments/{experiment}.toml"));
    let out = dir.display().to_string();
    let mut args = vec!["run", file.as_str(), "--out", out.as_str(), "--quiet"];
    for s in set {
        args.extend(["--set", s]);
    }
    let output = workbench(&args);
    assert!(
        output.status.success(),
        "{experiment} failed: {}",
        stderr(&output)
    );
}

/// Small versions of every bandit experiment, written into `dir`.
pub fn small_results(dir: &Path) {
    for (experiment, set) in SMALL_BANDIT {
        run_small(dir, experiment, set);
    }
}
