//! Table 1: optimised theta of two-point DPO with weight decay, per reference ratio,
//! with a figure of the descent trajectories.

use super::{FigureDir, Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::{Matrix, ResultsFile};
use crate::paper;
use crate::plot::{LinePanel, Panel, Series, fmt_num};

/// Table 1.
pub struct Table1;

/// Reproduced and stationary point agree within this.
const MATCH_TOL: f64 = 1e-3;

/// The "why" column for one ratio; `paper` is the paper's θ where it applies.
fn why(ratio: f64, theta: f64, paper: Option<f64>, critical: f64, stationary: &Matrix) -> String {
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
    match (nearest, paper) {
        (Some(sp), Some(paper)) if (sp - theta).abs() < MATCH_TOL => {
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
        (Some(sp), None) if (sp - theta).abs() < MATCH_TOL => {
            format!("stationary point θ = {sp:.3}")
        }
        (Some(sp), _) => {
            format!("nearest local minimum θ = {sp:.3} not reached (descent not converged?)")
        }
        (None, _) => "no local minimum listed for this ratio".into(),
    }
}

/// The table: with the paper's column where the file is in Table 1's setting.
fn table(
    file: &ResultsFile,
    cfg: &Config,
    ratio: &[f64],
    theta: &[f64],
    critical: f64,
    stationary: &Matrix,
) -> Table {
    let reproduces = paper::TABLE_1.differences(cfg).is_empty();
    let paper_theta = |r: f64| paper::table_1_theta(r).filter(|_| reproduces);
    let with_paper = ratio.iter().any(|r| paper_theta(*r).is_some());
    let rows = ratio
        .iter()
        .zip(theta)
        .map(|(&r, &t)| {
            let p = paper_theta(r);
            let mut row = vec![fmt_num(r)];
            if with_paper {
                row.push(p.map_or("—".into(), |p| format!("{p:.2}")));
            }
            row.push(format!("{t:.4}"));
            if with_paper {
                row.push(p.map_or("—".into(), |p| format!("{:+.4}", t - p)));
            }
            row.push(why(r, t, p, critical, stationary));
            row
        })
        .collect();
    let (header, caption): (&[&str], String) = if with_paper {
        (
            &["ratio", "paper", "reproduced", "difference", "why"],
            format!(
                "Optimised θ per reference ratio: the paper's Table 1, looked up by ratio (— where the paper has no such ratio), against `{}` (critical ratio r_c = {critical:.4}).",
                file.name()
            ),
        )
    } else {
        (
            &["ratio", "reproduced", "why"],
            format!(
                "Optimised θ per reference ratio in `{}` (critical ratio r_c = {critical:.4}). {}",
                file.name(),
                if reproduces {
                    "The paper's Table 1 has none of these ratios."
                } else {
                    "Not the paper's setting, so no paper values."
                }
            ),
        )
    };
    Table {
        caption,
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

impl Section for Table1 {
    fn kind(&self) -> &str {
        paper::TABLE_1.kind
    }

    fn heading(&self) -> &str {
        "Table 1: thresholding of theta by weight decay"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let ratio = file.vec("ratio")?;
        let theta = file.vec_len("theta", ratio.len())?;
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
        let table = table(file, cfg, &ratio, &theta, critical, &stationary);
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
        let stem = figures.save(file, "trajectories", &[Panel::Lines(panel)])?;
        let notes = [
            "critical_ratio_meaning",
            "stationary_points",
            "global_minimum",
        ]
        .iter()
        .filter_map(|n| file.attr(n).map(|v| format!("{n}: {v}")))
        .collect();
        Ok(Rendered {
            figures: vec![stem],
            caption: format!(
                "θ during projected gradient descent on the two-point DPO loss plus weight decay, one line per reference ratio r; the end points are the reproduced column of the table. {} {}",
                caption(
                    file,
                    cfg,
                    &[
                        "ratios",
                        "beta",
                        "constraints.weight_decay.alpha",
                        "constraints.interval",
                        "optimizer.name",
                        "optimizer.lr",
                        "optimizer.epochs"
                    ]
                ),
                paper::TABLE_1.setting_sentence(cfg)
            ),
            tables: vec![table],
            notes,
            ..Default::default()
        })
    }
}
