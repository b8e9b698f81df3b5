//! What a submission runs: every plain experiment and every batch of sweep points that is
//! neither up to date (as `run` would reuse it) nor queued or running already with the
//! same configuration.

use super::record::Unit;
use super::{Active, Request, selection_text};
use crate::error::{CliError, Result};
use crate::session::{run_id, run_on, up_to_date_on};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use workbench::experiments::Experiment;
use workbench::loader::{ResolvedSweep, Runs};

/// One thing to run: a plain experiment, or a batch of a sweep's points.
pub struct Work {
    /// How a task runs it.
    pub unit: Unit,
    /// The sweep points (none for a plain experiment).
    pub points: Option<Vec<usize>>,
}

/// What is to run, and how much was left out.
pub struct Planned<'p> {
    /// The work, in file order.
    pub works: Vec<Work>,
    /// Each sweep's folder, with its plan.
    pub sweeps: Vec<(PathBuf, &'p ResolvedSweep)>,
    /// Experiments and points whose results are up to date.
    reused: usize,
    /// Experiments and points queued or running already.
    in_queue: usize,
    /// Sweep points in all.
    points_total: usize,
}

impl Planned<'_> {
    /// `2 experiment(s) and 8 of 8 sweep points`, or the like.
    pub fn counted(&self) -> String {
        let points: usize = self
            .works
            .iter()
            .map(|w| w.points.as_ref().map_or(0, Vec::len))
            .sum();
        let singles = self.works.iter().filter(|w| w.points.is_none()).count();
        match (self.points_total, singles) {
            (0, n) => format!("{n} experiment(s)"),
            (total, 0) => format!("{points} of {total} points"),
            (total, n) => format!("{n} experiment(s) and {points} of {total} sweep points"),
        }
    }

    /// `7 up to date, 1 already queued or running`.
    pub fn skipped(&self) -> String {
        format!(
            "{} up to date, {} already queued or running",
            self.reused, self.in_queue
        )
    }
}

/// Why something is not submitted.
enum LeftOut {
    UpToDate,
    Queued,
}

/// Plans `request` into `out`, given what earlier submissions have in the queue.
pub fn plan<'p>(
    request: &'p Request<'_>,
    out: &Path,
    active: &HashMap<(String, Option<usize>), Active>,
) -> Result<Planned<'p>> {
    let mut planned = Planned {
        works: Vec::new(),
        sweeps: Vec::new(),
        reused: 0,
        in_queue: 0,
        points_total: 0,
    };
    let mut count = |left: LeftOut| match left {
        LeftOut::UpToDate => planned.reused += 1,
        LeftOut::Queued => planned.in_queue += 1,
    };
    let mut works = Vec::new();
    let mut sweeps = Vec::new();
    let mut points_total = 0;
    for (file, plan) in &request.plans {
        let absolute = std::path::absolute(file).map_err(|source| CliError::Io {
            what: file.display().to_string(),
            source,
        })?;
        let unit =
            |name: &str, points: Option<&[usize]>, experiment: &dyn Experiment, expect: &str| {
                run_on(file, experiment, request.options).map(|(backend, precision)| Unit {
                    name: name.to_string(),
                    file: absolute.clone(),
                    points: points.map(selection_text),
                    backend,
                    dtype: precision,
                    expect: expect.to_string(),
                })
            };
        match plan {
            Runs::Single(experiment) => {
                let name = experiment.name();
                let expect = run_id(experiment.as_ref())?;
                let unit = unit(name, None, experiment.as_ref(), &expect)?;
                let target = out.join(format!("{name}.h5"));
                match left_out(
                    request,
                    active,
                    (name, None),
                    &unit,
                    &target,
                    experiment.as_ref(),
                )? {
                    Some(left) => count(left),
                    None => works.push(Work { unit, points: None }),
                }
            }
            Runs::Sweep(sweep) => {
                let dir = out.join(&sweep.name);
                let expect = crate::sweep::manifest_id(sweep)?;
                let total = sweep.points.len();
                points_total += total;
                let mut todo = Vec::new();
                for (index, (_, experiment)) in sweep.points.iter().enumerate() {
                    let point = unit(&sweep.name, Some(&[index]), experiment.as_ref(), &expect)?;
                    let target = dir.join(format!("{}.h5", crate::sweep::point_stem(index, total)));
                    let key = (sweep.name.as_str(), Some(index));
                    match left_out(request, active, key, &point, &target, experiment.as_ref())? {
                        Some(left) => count(left),
                        None => todo.push(index),
                    }
                }
                for batch in sweep.batches(&todo) {
                    let lead = sweep.points[batch[0]].1.as_ref();
                    works.push(Work {
                        unit: unit(&sweep.name, Some(&batch), lead, &expect)?,
                        points: Some(batch),
                    });
                }
                sweeps.push((dir, sweep.as_ref()));
            }
        }
    }
    planned.works = works;
    planned.sweeps = sweeps;
    planned.points_total = points_total;
    Ok(planned)
}

/// Whether the experiment or point `key` (run as `unit`, results at `target`) is left out:
/// queued or running with this configuration already, or up to date (unless `--force`).
fn left_out(
    request: &Request<'_>,
    active: &HashMap<(String, Option<usize>), Active>,
    key: (&str, Option<usize>),
    unit: &Unit,
    target: &Path,
    experiment: &dyn Experiment,
) -> Result<Option<LeftOut>> {
    if active
        .get(&(key.0.to_string(), key.1))
        .is_some_and(|a| a.expect == unit.expect)
    {
        return Ok(Some(LeftOut::Queued));
    }
    if !request.force && up_to_date_on(target, experiment, unit.backend.name(), unit.dtype.name())?
    {
        return Ok(Some(LeftOut::UpToDate));
    }
    Ok(None)
}
