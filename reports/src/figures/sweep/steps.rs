//! The Section 5.3 ablation over DPO steps. With `analysis.every = k` each point stores its
//! analysis after every k-th DPO step (`trajectory/*`, gathered by `collect` into the sweep
//! file); each observed step is classified as the final ablation is (seeds the replicates,
//! one-sample t-test of the mean rank-biserial correlation, Holm over the distinct
//! settings at that step), so the report can say whether the finding changes with the
//! number of DPO steps: early stopping is one of the paper's constraints.

use super::ablation::{Ablation, Direction, EFFECT, MIN_SEEDS};
use super::points::Points;
use crate::figures::Table;
use crate::h5::Matrix;
use crate::stats::LEVEL;

/// The trajectory rows' step.
const STEP: &str = "step";

/// The ablation at every observed DPO step.
pub struct OverSteps {
    /// The steps, ascending.
    pub steps: Vec<f64>,
    /// The ablation at each step (its rows are the settings, as in the final ablation).
    pub at: Vec<Ablation>,
}

/// `P`, `R`, `U` or `n`: a direction in one letter.
fn letter(d: Direction) -> &'static str {
    match d {
        Direction::Paper => "P",
        Direction::Reversed => "R",
        Direction::Undetermined => "U",
        Direction::TooFewSeeds => "n",
    }
}

/// `20`, or `20–60` for a run of consecutive observed steps.
fn span(steps: &[f64]) -> String {
    match (steps.first(), steps.last()) {
        (Some(a), Some(b)) if a == b => format!("{a}"),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => String::new(),
    }
}

/// Each point's value of `m` at step `s` (NaN where the point did not observe it).
fn at_step(step: &Matrix, m: &Matrix, s: f64) -> Vec<f64> {
    (0..step.rows)
        .map(|p| {
            (0..step.cols)
                .find(|&c| step.data[p * step.cols + c] == s)
                .map_or(f64::NAN, |c| m.data[p * m.cols + c])
        })
        .collect()
}

impl OverSteps {
    /// The ablation at each step of the sweep's trajectories, when it has them.
    pub fn of(points: &Points) -> Option<Self> {
        let step = points.trajectory(STEP)?;
        let effect = points.trajectory(EFFECT)?;
        if effect.cols != step.cols {
            return None;
        }
        let mut steps: Vec<f64> = step
            .data
            .iter()
            .copied()
            .filter(|s| s.is_finite())
            .collect();
        steps.sort_by(f64::total_cmp);
        steps.dedup();
        if steps.is_empty() {
            return None;
        }
        let at = steps
            .iter()
            // Only the correlation is read at each step: no difference of means.
            .map(|&s| Ablation::of_values(points, &at_step(step, effect, s), None))
            .collect();
        Some(Self { steps, at })
    }

    /// Setting `i`'s direction at each step (`None` where no done point observed it).
    fn directions(&self, i: usize) -> Vec<Option<Direction>> {
        self.at.iter().map(|a| a.rows[i].direction).collect()
    }

    /// What the steps say of the final finding: which settings keep one direction at every
    /// observed step, and where the others change.
    pub fn finding(&self, last: &Ablation) -> String {
        let settings = last.rows.len();
        let classified = self.at.iter().any(|a| {
            a.rows
                .iter()
                .any(|r| r.direction.is_some_and(|d| d != Direction::TooFewSeeds))
        });
        if !classified {
            return format!(
                "Over DPO steps (trajectory/{EFFECT}, {} observed): no setting has {MIN_SEEDS} done seeds at any step, so no step is classified (a single run's test treats its pairs as replications).",
                span(&self.steps)
            );
        }
        let mut steady = 0;
        let mut changes = Vec::new();
        for (i, row) in last.rows.iter().enumerate() {
            let directions = self.directions(i);
            let seen: Vec<(f64, Direction)> = self
                .steps
                .iter()
                .zip(&directions)
                .filter_map(|(s, d)| Some((*s, (*d)?)))
                .collect();
            let Some(first) = seen.first().map(|(_, d)| *d) else {
                continue;
            };
            if seen.iter().all(|(_, d)| *d == first) && row.direction == Some(first) {
                steady += 1;
                continue;
            }
            // Runs of one direction over consecutive observed steps.
            let mut runs: Vec<(Direction, Vec<f64>)> = Vec::new();
            for (s, d) in seen {
                match runs.last_mut() {
                    Some((e, steps)) if *e == d => steps.push(s),
                    _ => runs.push((d, vec![s])),
                }
            }
            let text: Vec<String> = runs
                .iter()
                .map(|(d, steps)| format!("{} at step {}", d.name(), span(steps)))
                .collect();
            let end = row.direction.map_or("no done point", Direction::name);
            changes.push(format!(
                "{} ({}; at the end: {end})",
                row.label,
                text.join(", ")
            ));
        }
        let observed = format!(
            "{} observed step{} ({})",
            self.steps.len(),
            if self.steps.len() == 1 { "" } else { "s" },
            span(&self.steps)
        );
        let mut s = format!(
            "Over DPO steps (trajectory/{EFFECT}: with analysis.every, the pairs trained on scored after every k-th DPO step; {observed}), each step classified as the final ablation is, with its own Holm correction over the settings at that step (the correction does not span steps, so a change between steps is described, not tested): {steady} of {settings} settings have one direction at every observed step, the same as at the end"
        );
        if changes.is_empty() {
            s.push('.');
        } else {
            s.push_str(&format!(
                "; the direction changes with the number of DPO steps under {}: {}.",
                changes.len(),
                changes.join("; ")
            ));
        }
        s
    }

    /// Mean correlation and direction of every setting at every step, and at the end.
    pub fn table(&self, last: &Ablation, points: &Points) -> Table {
        let mut header = points.key_header();
        header.extend(self.steps.iter().map(|s| format!("step {s}")));
        header.push("end".into());
        let cell = |a: &Ablation, i: usize| {
            let row = &a.rows[i];
            match (row.effect, row.direction) {
                (Some(e), Some(d)) => format!("{:.3} {}", e.mean, letter(d)),
                _ => "—".into(),
            }
        };
        let rows = (0..last.rows.len())
            .map(|i| {
                let r = &last.rows[i];
                let mut row = points.key_cells(r.setting.first(), &r.label);
                row.extend(self.at.iter().map(|a| cell(a, i)));
                row.push(cell(last, i));
                row
            })
            .collect();
        Table {
            caption: format!(
                "Section 5.3 ablation over DPO steps: per setting and observed step, the mean over done seeds of trajectory/{EFFECT} (the rank-biserial correlation of (21), low against high ρ_ref group, of the pairs trained on, scored after that step) and its direction at that step: P the paper's direction, R reversed (one-sample t-test over seeds, Holm-adjusted over the distinct settings at that step, p below {}), U undetermined, n fewer than 2 done seeds; 'end' is the final ablation's (summary/{EFFECT}).",
                crate::fmt_num(1.0 - LEVEL)
            ),
            header,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_name_one_step_or_a_run() {
        assert_eq!(span(&[20.0]), "20");
        assert_eq!(span(&[20.0, 40.0, 60.0]), "20–60");
        assert_eq!(span(&[]), "");
    }
}
