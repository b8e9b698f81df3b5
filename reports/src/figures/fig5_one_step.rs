//! Figure 5: decrease of the DPO loss after one gradient step, per reference ratio.

use super::{FigureDir, Rendered, Section};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{LinePanel, Panel, Series};

/// Figure 5.
pub struct Fig5;

impl Section for Fig5 {
    fn kind(&self) -> &str {
        paper::FIGURE_5.kind
    }

    fn heading(&self) -> &str {
        "Figure 5: one-step decrease of the DPO loss vs reference ratio"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let ratio = file.vec("ratio")?;
        let mut panels = Vec::new();
        for (dataset, title, y_label) in [
            (
                "absolute_decrease",
                "absolute decrease",
                "loss decrease (nats)",
            ),
            (
                "relative_decrease",
                "relative decrease",
                "relative loss decrease (fraction, unitless)",
            ),
        ] {
            let mut series = vec![Series::new(
                "eq. (6) loss",
                &ratio,
                &file.vec_len(dataset, ratio.len())?,
            )];
            // The decrease at 1/r beside the one at r (the slope at θ₀ is the same for both,
            // so the curve is U-shaped), and eq. (20) as printed, where the file has them.
            for (suffix, name) in [
                ("mirror", "eq. (6) loss at the mirror ratio 1/r"),
                ("eq20", "eq. (20) as printed"),
            ] {
                let extra = format!("{dataset}_{suffix}");
                if file.exists(&extra) {
                    series.push(Series::new(
                        name,
                        &ratio,
                        &file.vec_len(&extra, ratio.len())?,
                    ));
                }
            }
            panels.push(Panel::Lines(LinePanel {
                title: title.into(),
                x_label: "reference ratio r (unitless, log scale)".into(),
                y_label: y_label.into(),
                x_log: true,
                markers: true,
                series,
                ..Default::default()
            }));
        }
        let stem = figures.save(file, "", &panels)?;
        let notes = ["relative_decrease", "u_shape"]
            .iter()
            .filter_map(|n| file.attr(n).map(|v| format!("{n}: {v}")))
            .collect();
        Ok(Rendered {
            figures: vec![stem.with_caption(
                "Left: absolute decrease; right: relative decrease; the ratio axis is logarithmic.",
            )],
            caption: format!(
                "Decrease of the DPO loss after one gradient step from theta0, against the reference ratio r. {} {}",
                caption(
                    file,
                    cfg,
                    &[
                        "beta",
                        "ratio_min",
                        "ratio_max",
                        "points",
                        "optimizer.name",
                        "optimizer.lr",
                        "constraints.interval"
                    ]
                ),
                paper::FIGURE_5.setting_sentence(cfg)
            ),
            notes,
            ..Default::default()
        })
    }
}
