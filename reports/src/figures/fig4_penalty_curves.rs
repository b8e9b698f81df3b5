//! Figure 4: the normalised log(gamma + |u|) penalties against the l1 and l0 limits.

use super::{FigureDir, Rendered, Section};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{LinePanel, Panel, Series, fmt_num};

/// Figure 4.
pub struct Fig4;

/// The y range shown (l0 tends to minus infinity near u = 0).
const Y_RANGE: (f64, f64) = (-1.0, 3.0);

impl Section for Fig4 {
    fn kind(&self) -> &str {
        paper::FIGURE_4.kind
    }

    fn heading(&self) -> &str {
        "Figure 4: log penalties between the l1 and l0 limits"
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let u = file.vec("u")?;
        let gamma = file.vec("gamma")?;
        let penalty = file.matrix("penalty")?;
        if penalty.rows != gamma.len() || penalty.cols != u.len() {
            return Err(format!(
                "{}: dataset `penalty` is {}x{}, expected [gamma, u] = {}x{}",
                file.name(),
                penalty.rows,
                penalty.cols,
                gamma.len(),
                u.len()
            ));
        }
        let mut series: Vec<Series> = gamma
            .iter()
            .enumerate()
            .map(|(i, g)| Series::new(format!("gamma = {}", fmt_num(*g)), &u, penalty.row(i)))
            .collect();
        series.push(Series::new("l1 limit", &u, &file.vec_len("l1", u.len())?));
        series.push(Series::new("l0 limit", &u, &file.vec_len("l0", u.len())?));
        let panel = LinePanel {
            title: "Normalised penalties".into(),
            x_label: "u (unitless)".into(),
            y_label: "normalised penalty (unitless)".into(),
            y_range: Some(Y_RANGE),
            series,
            ..Default::default()
        };
        let stem = figures.save(file, "", &[Panel::Lines(panel)])?;
        Ok(Rendered {
            figures: vec![stem.with_caption(format!(
                "The y axis is clipped to [{}, {}] because the l0 limit tends to minus infinity near u = 0; lines break where they leave it.",
                fmt_num(Y_RANGE.0),
                fmt_num(Y_RANGE.1),
            ))],
            caption: format!(
                "Normalised penalty log(gamma + |u|) for each gamma, with the l1 (|u|) and l0 limits. {}",
                caption(file, cfg, &["gamma", "u_min", "u_max", "points", "u0"])
            ),
            ..Default::default()
        })
    }
}
