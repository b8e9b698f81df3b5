//! The Slurm commands the workbench calls: `sbatch` to submit, `squeue` to see what is
//! queued or running, `scontrol` for the largest array the cluster takes.

use crate::error::{CliError, Result};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Where a task stands in Slurm's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Waiting for resources (or a dependency).
    Pending,
    /// Running (or starting, or finishing).
    Running,
}

/// Fails, before anything is written, where `sbatch` is not on the PATH.
pub fn require_sbatch() -> Result<()> {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("sbatch").is_file()));
    if found {
        Ok(())
    } else {
        Err(CliError::from(
            "sbatch: not found on the PATH; submit from a machine of the Slurm cluster (a login node), or see the scripts with --dry-run",
        ))
    }
}

/// Submits `script` with `args` before it and `script_args` after it; returns the job id.
pub fn sbatch(args: &[String], script: &Path, script_args: &[String]) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .args(script_args)
        .output()
        .map_err(|e| format!("sbatch: cannot run it ({e}); is Slurm installed here?"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(CliError::from(format!(
            "sbatch {}: {}",
            script.display(),
            stderr.trim().lines().last().unwrap_or("failed")
        )));
    }
    // `--parsable` prints `id` or `id;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(CliError::from(format!(
            "sbatch {}: unexpected answer {:?}",
            script.display(),
            stdout.trim()
        )));
    }
    Ok(id)
}

/// The cluster's `MaxArraySize` (an array's indices must stay below it), if `scontrol`
/// answers.
pub fn max_array_size() -> Option<usize> {
    let output = Command::new("scontrol")
        .args(["show", "config"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
        })
}

/// This user's jobs in the queue: (job id, array task index or `None`) → where it stands;
/// `None` when `squeue` cannot be asked.
pub fn queue() -> Option<HashMap<(String, Option<usize>), Queued>> {
    let output = Command::new("squeue")
        .args(["--noheader", "--array", "--me", "--format=%F %K %T"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_queue(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses `squeue --format='%F %K %T'` lines (array job id, task index or N/A, state).
fn parse_queue(text: &str) -> HashMap<(String, Option<usize>), Queued> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (job, task, state) = (fields.next()?, fields.next()?, fields.next()?);
            let state = match state {
                "RUNNING" | "COMPLETING" | "CONFIGURING" | "STAGE_OUT" => Queued::Running,
                _ => Queued::Pending,
            };
            Some(((job.to_string(), task.parse().ok()), state))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Queued, parse_queue};

    #[test]
    fn squeue_lines() {
        let q = parse_queue("12 0 RUNNING\n12 3 PENDING\n13 N/A PENDING\n");
        assert_eq!(q[&("12".to_string(), Some(0))], Queued::Running);
        assert_eq!(q[&("12".to_string(), Some(3))], Queued::Pending);
        assert_eq!(q[&("13".to_string(), None)], Queued::Pending);
        assert_eq!(q.len(), 3);
    }
}
