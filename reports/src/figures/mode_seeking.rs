//! Mode seeking: constrained DPO covers both modes of pi*, constrained RLHF seeks one.

use super::{BANDIT_KEYS, FigureDir, Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::Results;
use crate::paper::{self, MODE_SEEKING_THETA_DPO, MODE_SEEKING_THETA_RLHF};
use crate::plot::{LinePanel, Panel, Series};

/// The mode-seeking example.
pub struct ModeSeeking;

/// θ at the end of training, as read from the file.
struct Thetas {
    rlhf: f64,
    dpo: f64,
    /// Mean and standard deviation over the sampled data sets, and their number.
    sampled: (f64, f64, usize),
}

/// The table against the paper's values (for a file in the paper's setting).
fn paper_table(t: &Thetas) -> Table {
    let (mean, std, n) = t.sampled;
    let z = if std > 0.0 {
        format!(
            "the paper's {MODE_SEEKING_THETA_DPO:.2} is {:.1} standard deviations from the sampled mean",
            (MODE_SEEKING_THETA_DPO - mean).abs() / std
        )
    } else {
        "no spread across seeds".into()
    };
    let row = |q: String, paper: f64, ours: String, diff: f64, why: String| {
        vec![q, format!("{paper:.2}"), ours, format!("{diff:+.3}"), why]
    };
    Table {
        caption: "θ at the end of training: paper against this reproduction.".into(),
        header: ["quantity", "paper", "reproduced", "difference", "why"]
            .map(String::from)
            .to_vec(),
        rows: vec![
            row(
                "θ_RLHF".into(),
                MODE_SEEKING_THETA_RLHF,
                format!("{:.3}", t.rlhf),
                t.rlhf - MODE_SEEKING_THETA_RLHF,
                "constrained RLHF puts all weight on one mode".into(),
            ),
            row(
                "θ_DPO (expected loss)".into(),
                MODE_SEEKING_THETA_DPO,
                format!("{:.3}", t.dpo),
                t.dpo - MODE_SEEKING_THETA_DPO,
                format!(
                    "0.400 is the exact minimiser of the expected DPO loss (15θ = 6); {MODE_SEEKING_THETA_DPO:.2} is within the spread of finite samples"
                ),
            ),
            row(
                format!("θ_DPO ({n} sampled data sets)"),
                MODE_SEEKING_THETA_DPO,
                format!("{mean:.3} ± {std:.3}"),
                mean - MODE_SEEKING_THETA_DPO,
                format!("finite-sample spread: {z}"),
            ),
        ],
    }
}

/// The table of this file's values only (a file in another setting).
fn own_table(file: &Results, t: &Thetas) -> Table {
    let (mean, std, n) = t.sampled;
    Table {
        caption: format!(
            "θ at the end of training in `{}` (not the paper's setting, so no paper values).",
            file.name()
        ),
        header: ["quantity", "reproduced"].map(String::from).to_vec(),
        rows: vec![
            vec!["θ_RLHF".into(), format!("{:.3}", t.rlhf)],
            vec!["θ_DPO (expected loss)".into(), format!("{:.3}", t.dpo)],
            vec![
                format!("θ_DPO ({n} sampled data sets)"),
                format!("{mean:.3} ± {std:.3}"),
            ],
        ],
    }
}

impl Section for ModeSeeking {
    fn kind(&self) -> &str {
        paper::MODE_SEEKING.kind
    }

    fn heading(&self) -> &str {
        "Mode seeking: constrained DPO vs constrained RLHF"
    }

    fn render(
        &self,
        file: &Results,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let thetas = Thetas {
            dpo: file.scalar("theta_dpo")?,
            rlhf: file.scalar("theta_rlhf")?,
            sampled: (
                file.scalar("sampled/mean")?,
                file.scalar("sampled/std")?,
                file.vec("sampled/theta_dpo")?.len(),
            ),
        };
        let dpo = file.vec("trajectory/dpo")?;
        let rlhf = file.vec("trajectory/rlhf")?;
        let epochs = |n: usize| (0..n).map(|t| t as f64).collect::<Vec<_>>();
        let panel = LinePanel {
            title: "Mixture weight θ during training".into(),
            x_label: "epoch (optimizer steps)".into(),
            y_label: "θ (mixture weight, unitless)".into(),
            series: vec![
                Series::new("DPO (expected loss)", &epochs(dpo.len()), &dpo),
                Series::new("RLHF", &epochs(rlhf.len()), &rlhf),
            ],
            ..Default::default()
        };
        let stem = figures.save(file, "", &[Panel::Lines(panel)])?;
        let table = if paper::MODE_SEEKING.differences(cfg).is_empty() {
            paper_table(&thetas)
        } else {
            own_table(file, &thetas)
        };
        let keys: Vec<&str> = BANDIT_KEYS
            .iter()
            .copied()
            .chain([
                "policy.name",
                "policy.init",
                "sampled.n_pairs",
                "sampled.seeds",
            ])
            .collect();
        let notes = file
            .attr("sampled/std")
            .map(|n| vec![format!("sampled/std: {n}")])
            .unwrap_or_default();
        Ok(Rendered {
            figures: vec![stem],
            caption: format!(
                "Mixture weight θ of the convex-mixture policy during training with the expected DPO loss and with RLHF. {} {}",
                caption(file, cfg, &keys),
                paper::MODE_SEEKING.setting_sentence(cfg)
            ),
            tables: vec![table],
            notes,
            ..Default::default()
        })
    }
}
