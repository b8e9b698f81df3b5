//! Helpers shared by the end-to-end tests: the `workbench` binary, repository paths, and
//! Python (h5py) checks of results files.
#![allow(dead_code)]

pub mod hostile;
pub mod oracle;

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

/// Every bandit experiment file in `experiments/` (the sequence ones take minutes).
pub const BANDIT_EXPERIMENTS: [&str; 9] = [
    "fig2_weight_decay",
    "fig3_early_stopping",
    "mode_seeking",
    "mode_seeking_sampled",
    "table1_thresholding",
    "fig5_one_step",
    "fig4_penalty_curves",
    "prop32_ratio_constraint",
    "parametrisation_control",
];

/// Runs `experiments/<experiment>.toml` with `set` into `dir`, at its kind's smoke size
/// (`--smoke`) when `smoke`; fails the test on an error.
pub fn run_into(dir: &Path, experiment: &str, set: &[&str], smoke: bool) {
    let file = repo(&format!("experiments/{experiment}.toml"));
    let out = dir.display().to_string();
    let mut args = vec!["run", file.as_str(), "--out", out.as_str(), "--quiet"];
    if smoke {
        args.push("--smoke");
    }
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

/// Runs `experiments/<experiment>.toml` at its kind's smoke size, with `set`, into `dir`.
pub fn run_small(dir: &Path, experiment: &str, set: &[&str]) {
    run_into(dir, experiment, set, true);
}

/// Small versions of every bandit experiment, written into `dir`.
pub fn small_results(dir: &Path) {
    for experiment in BANDIT_EXPERIMENTS {
        run_small(dir, experiment, &[]);
    }
}

/// Starts the `workbench` binary with `args`, kills it with SIGKILL after `delay_ms`, and
/// waits for it (stderr discarded, any WORKBENCH_BACKEND of the caller ignored).
pub fn kill_after(args: &[&str], delay_ms: u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .env_remove("WORKBENCH_BACKEND")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("workbench starts");
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    let _ = child.kill();
    let _ = child.wait();
}

/// The clock's nanoseconds within the second: a seed for kill moments that differ run to run.
pub fn clock_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
}

/// A temporary folder, removed when dropped, that derefs to its path.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

/// A new temporary folder whose name starts with `prefix`.
pub fn scratch(prefix: &str) -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir"),
    )
}
