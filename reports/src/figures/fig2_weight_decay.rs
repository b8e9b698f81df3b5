//! Figure 2: distance to the RLHF counterpart against weight decay alpha.

use super::{
    BANDIT_KEYS, FigureDir, Rendered, Section, Table, distance_label, method_label, methods,
};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{LinePanel, Panel, Series, fmt_num};

/// Figure 2.
pub struct Fig2;

/// Where alpha = 0 is drawn on the log axis: half the smallest positive alpha.
pub(crate) fn zero_position(alpha: &[f64]) -> Option<f64> {
    let min_pos = alpha
        .iter()
        .copied()
        .filter(|a| *a > 0.0)
        .fold(f64::INFINITY, f64::min);
    min_pos.is_finite().then_some(min_pos / 2.0)
}

impl Section for Fig2 {
    fn kind(&self) -> &str {
        paper::FIGURE_2.kind
    }

    fn heading(&self) -> &str {
        "Figure 2: distance to the RLHF counterpart vs weight decay"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let alpha = file.vec("alpha")?;
        let zero = zero_position(&alpha);
        let x: Vec<f64> = alpha
            .iter()
            .map(|&a| if a > 0.0 { a } else { zero.unwrap_or(a) })
            .collect();
        // Methods whose loss has no RLHF counterpart carry no distance (their
        // `<m>/counterpart` note says why); they are named, not drawn.
        let (ms, without): (Vec<String>, Vec<String>) = methods(file)?
            .into_iter()
            .partition(|m| file.exists(&format!("{m}/distance")));
        let mut series = Vec::new();
        let mut table = Table {
            caption: "Distance to the RLHF counterpart per alpha.".into(),
            header: std::iter::once("alpha".to_string())
                .chain(ms.iter().cloned())
                .collect(),
            rows: alpha.iter().map(|a| vec![fmt_num(*a)]).collect(),
        };
        for m in &ms {
            let d = file.vec_len(&format!("{m}/distance"), alpha.len())?;
            for (row, v) in table.rows.iter_mut().zip(&d) {
                row.push(fmt_num(*v));
            }
            series.push(Series::new(method_label(file, m), &x, &d));
        }
        let metric = cfg.get("distance").and_then(|v| v.as_str());
        let panel = LinePanel {
            title: "Distance vs weight decay".into(),
            x_label: "weight decay alpha (unitless, log scale)".into(),
            y_label: distance_label(metric),
            x_log: zero.is_some(),
            markers: true,
            series,
            ..Default::default()
        };
        let stem = figures.save(file, "", &[Panel::Lines(panel)])?;
        let axis = match zero {
            Some(z) => format!(
                "The alpha axis is logarithmic; alpha = 0 is drawn at alpha = {} (half the smallest positive alpha).",
                fmt_num(z)
            ),
            None => "The alpha axis is linear (no positive alpha).".into(),
        };
        let absent = if without.is_empty() {
            String::new()
        } else {
            format!(
                " No counterpart, so no distance: {} (each solves no RLHF problem in closed form).",
                without.join(", ")
            )
        };
        Ok(Rendered {
            figures: vec![stem.with_caption(format!("One line per method. {axis}{absent}"))],
            caption: format!(
                "Distance between each method's learned policy and its RLHF counterpart, as the weight-decay strength alpha grows. {} {}",
                caption(file, cfg, BANDIT_KEYS),
                paper::FIGURE_2.setting_sentence(cfg)
            ),
            tables: vec![table],
            ..Default::default()
        })
    }
}
