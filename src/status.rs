//! `workbench status DIR`: how many points of a sweep (DIR is its folder), or of every
//! sweep and submitted experiment of a results folder, are done, running, queued (by
//! Slurm, from the submissions' records and `squeue`), failed or missing.

use crate::error::{CliError, Result};
use crate::slurm::queue::{self, Queued};
use crate::slurm::record::Record;
use crate::sweep::Status;
use std::collections::HashMap;
use std::path::Path;
use workbench::results::ResultsFile;

/// Where one point (or one plain experiment) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Done,
    Running,
    Queued,
    Failed,
    Missing,
}

impl State {
    const ALL: [State; 5] = [
        State::Done,
        State::Running,
        State::Queued,
        State::Failed,
        State::Missing,
    ];

    fn name(self) -> &'static str {
        match self {
            State::Done => "done",
            State::Running => "running",
            State::Queued => "queued",
            State::Failed => "failed",
            State::Missing => "missing",
        }
    }
}

/// Prints where the sweep in `dir`, or every sweep and submitted experiment of the results
/// folder `dir`, stands.
pub fn status(dir: &Path) -> Result<()> {
    let (out, sweeps) = if dir.join("sweep.toml").is_file() {
        (
            dir.parent().unwrap_or(Path::new(".")),
            vec![dir.to_path_buf()],
        )
    } else {
        let mut sweeps: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("sweep.toml").is_file())
            .collect();
        sweeps.sort();
        (dir, sweeps)
    };
    let records = Record::all(out);
    let queue = if records.is_empty() {
        None
    } else {
        queue::queue()
    };
    let active = crate::slurm::active(&records, queue.as_ref());
    let mut lines = Vec::new();
    // One unreadable sweep folder must not hide the others: it is reported after them.
    let mut unreadable = Vec::new();
    for sweep in &sweeps {
        let state = match crate::sweep::state(sweep) {
            Ok(state) => state,
            Err(e) => {
                unreadable.push(e.to_string());
                continue;
            }
        };
        let states: Vec<State> = state
            .points
            .iter()
            .enumerate()
            .map(|(index, (status, _))| {
                merged(
                    *status,
                    active
                        .get(&(state.name.clone(), Some(index)))
                        .map(|a| &a.state),
                )
            })
            .collect();
        lines.push(format!(
            "{} ({}): {} points: {}",
            state.name,
            sweep.display(),
            states.len(),
            counts(&states)
        ));
        for (index, (s, (_, error))) in states.iter().zip(&state.points).enumerate() {
            if *s == State::Failed {
                lines.push(format!("  failed: {error}"));
            } else if *s == State::Missing && !error.is_empty() {
                lines.push(format!("  missing point {index}: {error}"));
            }
        }
    }
    let mut singles: Vec<(String, String)> = records
        .iter()
        .flat_map(|r| &r.tasks)
        .flat_map(|t| &t.units)
        .filter(|u| u.points.is_none())
        .map(|u| (u.name.clone(), u.expect.clone()))
        .collect();
    singles.sort();
    singles.dedup_by(|a, b| a.0 == b.0);
    for (name, expect) in singles {
        let file = out.join(format!("{name}.h5"));
        let done = results_run_id(&file).is_some_and(|id| id == expect);
        let state = match active.get(&(name.clone(), None)).map(|a| a.state) {
            _ if done => State::Done,
            Some(Queued::Running) => State::Running,
            Some(Queued::Pending) => State::Queued,
            None => State::Missing,
        };
        lines.push(format!("{name}: {}", state.name()));
    }
    if lines.is_empty() && unreadable.is_empty() {
        return Err(CliError::from(format!(
            "{}: no sweep folder (with sweep.toml) and no Slurm submission here",
            dir.display()
        )));
    }
    for line in lines {
        println!("{line}");
    }
    if !records.is_empty() && queue.is_none() {
        println!("(squeue did not answer: queued and running points are counted as missing)");
    }
    if !unreadable.is_empty() {
        return Err(CliError::from(unreadable.join("; ")));
    }
    Ok(())
}

/// A point's state from its files and from Slurm's queue (a point being re-run is running,
/// even with the `.error` of an earlier try).
fn merged(status: Status, queued: Option<&Queued>) -> State {
    match (status, queued) {
        (Status::Done, _) => State::Done,
        (_, Some(Queued::Running)) => State::Running,
        (_, Some(Queued::Pending)) => State::Queued,
        (Status::Failed, None) => State::Failed,
        (Status::Missing, None) => State::Missing,
    }
}

/// `5 done, 1 running (3), 0 queued, 1 failed (2), 1 missing (7)`.
fn counts(states: &[State]) -> String {
    let mut by: HashMap<State, Vec<usize>> = HashMap::new();
    for (i, s) in states.iter().enumerate() {
        by.entry(*s).or_default().push(i);
    }
    State::ALL
        .iter()
        .map(|s| {
            let indices = by.get(s).map(Vec::as_slice).unwrap_or_default();
            match (s, indices.len()) {
                (_, 0) => format!("0 {}", s.name()),
                (State::Done, n) => format!("{n} done"),
                (_, n) => format!(
                    "{n} {} ({})",
                    s.name(),
                    crate::slurm::selection_text(indices)
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The [`crate::session::run_id`] a results file records (configuration and data files), if
/// it opens.
fn results_run_id(path: &Path) -> Option<String> {
    let found = ResultsFile::open(path).ok()?.identity();
    Some(crate::session::run_id_of(
        &found.config_toml?,
        &found.inputs_id?,
    ))
}

#[cfg(test)]
mod tests {
    use super::{State, counts, merged};
    use crate::slurm::queue::Queued;
    use crate::sweep::Status;

    #[test]
    fn files_then_queue() {
        assert_eq!(merged(Status::Done, Some(&Queued::Running)), State::Done);
        assert_eq!(
            merged(Status::Failed, Some(&Queued::Running)),
            State::Running
        );
        assert_eq!(
            merged(Status::Missing, Some(&Queued::Pending)),
            State::Queued
        );
        assert_eq!(merged(Status::Failed, None), State::Failed);
        let line = counts(&[
            State::Done,
            State::Failed,
            State::Missing,
            State::Missing,
            State::Done,
        ]);
        assert_eq!(
            line,
            "2 done, 0 running, 0 queued, 1 failed (1), 2 missing (2-3)"
        );
    }
}
