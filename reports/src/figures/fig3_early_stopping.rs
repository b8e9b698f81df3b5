//! Figure 3: distance to the RLHF counterpart over training epochs.

use super::{BANDIT_KEYS, FigureDir, Rendered, Section, distance_label, method_label, methods};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{LinePanel, Panel, Series};

/// Figure 3.
pub struct Fig3;

/// Recorded epochs above which the epoch axis is logarithmic.
const LOG_AXIS_FROM: usize = 20;

impl Section for Fig3 {
    fn kind(&self) -> &str {
        paper::FIGURE_3.kind
    }

    fn heading(&self) -> &str {
        "Figure 3: distance to the RLHF counterpart over epochs, early stopping"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let epoch = file.vec("epoch")?;
        // Methods whose loss has no RLHF counterpart carry no distance; named, not drawn.
        let (ms, without): (Vec<String>, Vec<String>) = methods(file)?
            .into_iter()
            .partition(|m| file.exists(&format!("{m}/distance")));
        let y_label = distance_label(cfg.get("distance").and_then(|v| v.as_str()));
        // Most of the change happens in the first tens of epochs: a log axis shows it
        // (epoch 0, where every model is π_ref, is off that axis).
        let log_axis = epoch.len() > LOG_AXIS_FROM;
        let mut panels = Vec::new();
        for (dataset, title) in [
            ("distance_converged", "RLHF counterpart converged"),
            ("distance", "same budget (both stopped at the epoch)"),
        ] {
            let mut series = Vec::new();
            for m in &ms {
                let d = file.vec_len(&format!("{m}/{dataset}"), epoch.len())?;
                series.push(Series::new(method_label(file, m), &epoch, &d));
            }
            panels.push(Panel::Lines(LinePanel {
                title: title.into(),
                x_label: if log_axis {
                    "epoch (optimizer steps, log scale)".into()
                } else {
                    "epoch (optimizer steps)".into()
                },
                y_label: y_label.clone(),
                x_log: log_axis,
                series,
                ..Default::default()
            }));
        }
        let stem = figures.save(file, "", &panels)?;
        let mut notes: Vec<String> = file
            .attr("distance_converged")
            .map(|n| vec![format!("distance_converged: {n}")])
            .unwrap_or_default();
        if !without.is_empty() {
            notes.push(format!(
                "No counterpart, so no distance: {} (each solves no RLHF problem in closed form).",
                without.join(", ")
            ));
        }
        Ok(Rendered {
            figures: vec![stem.with_caption(format!(
                "One line per method. Left: against the counterpart's converged (final) policy. Right: against the counterpart trained for the same number of epochs.{}",
                if log_axis {
                    " The epoch axis is logarithmic, from epoch 1 (at epoch 0 every model is π_ref)."
                } else {
                    ""
                },
            ))],
            caption: format!(
                "Distance between each method's policy after each epoch and its RLHF counterpart. {} {}",
                caption(file, cfg, BANDIT_KEYS),
                paper::FIGURE_3.setting_sentence(cfg)
            ),
            notes,
            ..Default::default()
        })
    }
}
