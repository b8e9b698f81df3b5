//! Table 1: optimised theta of two-point DPO with weight decay, per reference ratio,
//! with a figure of the descent trajectories.

use std::path::Path;

use super::{Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::{Matrix, Results};
use crate::plot::{LinePanel, Panel, Series, fmt_num, save};

/// Table 1.
pub struct Table1;

/// Reproduced and stationary point agree within this.
const MATCH_TOL: f64 = 1e-3;

/// The "why" column for one ratio.
fn why(ratio: f64, theta: f64, paper: f64, critical: f64, stationary: &Matrix) -> String {
    if ratio < critical {
        let end = if (theta - 1.0).abs() < MATCH_TOL {
            "projected GD ends at θ = 1"
        } else {
            "projected GD should end at θ = 1"
        };
        return format!("no interior stationary point below r_c = {critical:.4}: {end}");
    }
    let nearest = (0..stationary.rows)
        .map(|i| stationary.row(i))
        .filter(|r| r.len() >= 3 && (r[0] - ratio).abs() <= 1e-9 * ratio.abs().max(1.0))
        .filter(|r| r[2] > 0.0)
        .map(|r| r[1])
        .min_by(|a, b| (a - theta).abs().total_cmp(&(b - theta).abs()));
    match nearest {
        Some(sp) if (sp - theta).abs() < MATCH_TOL => {
            let rounds = (sp * 100.0).round() / 100.0;
            if (rounds - paper).abs() < 1e-9 {
                format!("stationary point θ = {sp:.3} (paper rounds)")
            } else {
                format!(
                    "stationary point θ = {sp:.3}; paper's {} is not its rounding",
                    fmt_num(paper)
                )
            }
        }
        Some(sp) => {
            format!("nearest local minimum θ = {sp:.3} not reached (descent not converged?)")
        }
        None => "no local minimum listed for this ratio".into(),
    }
}

impl Section for Table1 {
    fn title(&self) -> &str {
        "Table 1: thresholding of theta by weight decay"
    }

    fn file(&self) -> &str {
        "table1_thresholding"
    }

    fn render(&self, file: &Results, out: &Path) -> Result<Rendered, String> {
        let cfg = Config::of(file);
        let ratio = file.vec("ratio")?;
        let theta = file.vec_len("theta", ratio.len())?;
        let paper = file.vec_len("paper_theta", ratio.len())?;
        let critical = file.scalar("critical_ratio")?;
        let stationary = file.matrix("stationary_points")?;
        let trajectory = file.matrix("trajectory")?;
        if trajectory.rows != ratio.len() {
            return Err(format!(
                "{}: dataset `trajectory` has {} rows, expected one per ratio ({})",
                file.name(),
                trajectory.rows,
                ratio.len()
            ));
        }
        let rows = (0..ratio.len())
            .map(|i| {
                vec![
                    fmt_num(ratio[i]),
                    format!("{:.2}", paper[i]),
                    format!("{:.4}", theta[i]),
                    format!("{:+.4}", theta[i] - paper[i]),
                    why(ratio[i], theta[i], paper[i], critical, &stationary),
                ]
            })
            .collect();
        let table = Table {
            caption: format!(
                "Optimised θ per reference ratio: paper's Table 1 against this reproduction (critical ratio r_c = {critical:.4})."
            ),
            header: ["ratio", "paper", "reproduced", "difference", "why"]
                .map(String::from)
                .to_vec(),
            rows,
        };
        let steps: Vec<f64> = (0..trajectory.cols).map(|t| t as f64).collect();
        let series = (0..ratio.len())
            .map(|i| {
                Series::new(
                    format!("r = {}", fmt_num(ratio[i])),
                    &steps,
                    trajectory.row(i),
                )
            })
            .collect();
        let panel = LinePanel {
            title: "Projected gradient descent on θ".into(),
            x_label: "iteration (GD steps)".into(),
            y_label: "θ (probability, unitless)".into(),
            series,
            ..Default::default()
        };
        let stem = "table1_trajectories";
        save(out, stem, &[Panel::Lines(panel)])?;
        let notes = [
            "critical_ratio_meaning",
            "stationary_points",
            "global_minimum",
            "paper_theta",
        ]
        .iter()
        .filter_map(|n| file.attr(n).map(|v| format!("{n}: {v}")))
        .collect();
        Ok(Rendered {
            figures: vec![stem.into()],
            caption: format!(
                "θ during projected gradient descent on the two-point DPO loss plus weight decay, one line per reference ratio r; the end points are the reproduced column of the table. {}",
                caption(
                    file,
                    &cfg,
                    &[
                        "ratios",
                        "beta",
                        "constraints.weight_decay.alpha",
                        "constraints.interval",
                        "optimizer.name",
                        "optimizer.lr",
                        "optimizer.epochs"
                    ]
                )
            ),
            tables: vec![table],
            notes,
        })
    }
}
