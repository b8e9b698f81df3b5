//! The Python that holds torch, transformers and tokenizers (the test oracles of the
//! pretrained models), found as `tests/pretrained*.rs` need it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv scripts/install-libtorch.sh makes.
const DEFAULT_PYTHON: &str = "/var/cache/dpo-workbench/libtorch-venv/bin/python";

/// `$WORKBENCH_ORACLE_PYTHON` (default: the libtorch venv), or why it cannot run the
/// transformers oracles.
fn oracle_python() -> Result<PathBuf, String> {
    let python = std::env::var("WORKBENCH_ORACLE_PYTHON").unwrap_or(DEFAULT_PYTHON.into());
    let probe = Command::new(&python)
        .args(["-c", "import torch, transformers, tokenizers"])
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if probe.status.success() {
        Ok(python.into())
    } else {
        Err(format!(
            "{python} cannot import transformers and tokenizers: {}",
            String::from_utf8_lossy(&probe.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

/// The oracle's Python; `None` (the test is skipped) without a usable one where the suite
/// does not require one (`WORKBENCH_REQUIRE_BACKENDS` unset).
pub fn transformers_python() -> Option<PathBuf> {
    match oracle_python() {
        Ok(python) => Some(python),
        Err(why) if std::env::var_os("WORKBENCH_REQUIRE_BACKENDS").is_some() => panic!(
            "the transformers oracle is required (WORKBENCH_REQUIRE_BACKENDS is set) but {why}; run `eval \"$(bash scripts/oracle-python.sh)\"`"
        ),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// Runs `tests/oracle/<script>` with `args` under `python`; its stdout. Fails the test
/// with the script's stderr if it fails.
pub fn run_script(python: &Path, script: &str, args: &[&Path]) -> Vec<u8> {
    let run = Command::new(python)
        .arg(super::repo(&format!("tests/oracle/{script}")))
        .args(args)
        .output()
        .expect("oracle runs");
    assert!(
        run.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    run.stdout
}
