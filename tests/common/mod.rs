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
