//! Mode seeking: constrained DPO covers both modes of pi*, constrained RLHF seeks one.

use std::path::Path;

use super::{BANDIT_KEYS, Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::Results;
use crate::plot::{LinePanel, Panel, Series, save};

/// The mode-seeking example.
pub struct ModeSeeking;

/// The paper's values.
const PAPER_THETA_RLHF: f64 = 1.00;
const PAPER_THETA_DPO: f64 = 0.44;

impl Section for ModeSeeking {
    fn title(&self) -> &str {
        "Mode seeking: constrained DPO vs constrained RLHF"
    }

    fn file(&self) -> &str {
        "mode_seeking"
    }

    fn render(&self, file: &Results, out: &Path) -> Result<Rendered, String> {
        let cfg = Config::of(file);
        let theta_dpo = file.scalar("theta_dpo")?;
        let theta_rlhf = file.scalar("theta_rlhf")?;
        let mean = file.scalar("sampled/mean")?;
        let std = file.scalar("sampled/std")?;
        let sampled = file.vec("sampled/theta_dpo")?;
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
        let stem = "mode_seeking";
        save(out, stem, &[Panel::Lines(panel)])?;
        let z = if std > 0.0 {
            format!(
                "the paper's 0.44 is {:.1} standard deviations from the sampled mean",
                (PAPER_THETA_DPO - mean).abs() / std
            )
        } else {
            "no spread across seeds".into()
        };
        let table = Table {
            caption: "θ at the end of training: paper against this reproduction.".into(),
            header: ["quantity", "paper", "reproduced", "difference", "why"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                vec![
                    "θ_RLHF".into(),
                    format!("{PAPER_THETA_RLHF:.2}"),
                    format!("{theta_rlhf:.3}"),
                    format!("{:+.3}", theta_rlhf - PAPER_THETA_RLHF),
                    "constrained RLHF puts all weight on one mode".into(),
                ],
                vec![
                    "θ_DPO (expected loss)".into(),
                    format!("{PAPER_THETA_DPO:.2}"),
                    format!("{theta_dpo:.3}"),
                    format!("{:+.3}", theta_dpo - PAPER_THETA_DPO),
                    "0.400 is the exact minimiser of the expected DPO loss (15θ = 6); 0.44 is within the spread of finite samples".into(),
                ],
                vec![
                    format!("θ_DPO ({} sampled data sets)", sampled.len()),
                    format!("{PAPER_THETA_DPO:.2}"),
                    format!("{mean:.3} ± {std:.3}"),
                    format!("{:+.3}", mean - PAPER_THETA_DPO),
                    format!("finite-sample spread: {z}"),
                ],
            ],
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
            figures: vec![stem.into()],
            caption: format!(
                "Mixture weight θ of the convex-mixture policy during training with the expected DPO loss and with RLHF. {}",
                caption(file, &cfg, &keys)
            ),
            tables: vec![table],
            notes,
        })
    }
}
