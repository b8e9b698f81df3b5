//! Figure 2: distance to the RLHF counterpart against weight decay alpha.

use super::{
    BANDIT_KEYS, FigureDir, Rendered, Section, Table, distance_label, method_label, methods,
};
use crate::config::{Config, caption};
use crate::h5::ResultsFile;
use crate::paper;
use crate::plot::{LinePanel, Panel, Series, fmt_num};
use workbench::distance::Distance;

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
        let mut panels = vec![Panel::Lines(panel)];
        let mut tables = vec![table];
        // What weight decay does to a loss needs no counterpart: the same distance from the
        // loss's own unconstrained (alpha = 0) policy, for every method. Drawn when some
        // method has no counterpart, so that every loss of a study has a line.
        if !without.is_empty() {
            let (panel, table) = movement(file, &alpha, &x, metric, zero.is_some())?;
            panels.push(Panel::Lines(panel));
            tables.push(table);
        }
        let stem = figures.save(file, "", &panels)?;
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
                " No counterpart, so no distance to one: {} (each solves no RLHF problem in closed form). Right: every method's distance from its own alpha = 0 policy, computed here from the stored `<m>/policy` rows.",
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
            tables,
            ..Default::default()
        })
    }
}

/// Each method's distance (`metric`, L2 when unset) from its own alpha = 0 policy, against
/// alpha (`x`, the drawn positions): the panel and its table.
fn movement(
    file: &ResultsFile,
    alpha: &[f64],
    x: &[f64],
    metric: Option<&str>,
    x_log: bool,
) -> Result<(LinePanel, Table), String> {
    let distance = match metric {
        Some("tv") => Distance::Tv,
        Some("kl") => Distance::Kl,
        Some("js") => Distance::Js,
        _ => Distance::L2,
    };
    let Some(origin) = alpha.iter().position(|a| *a == 0.0) else {
        return Err(format!(
            "{}: `alpha` has no 0, so no unconstrained policy to measure from",
            file.name()
        ));
    };
    let ms = methods(file)?;
    let mut table = Table {
        caption: format!(
            "{} distance from the method's own alpha = 0 policy, per alpha.",
            distance.name()
        ),
        header: std::iter::once("alpha".to_string())
            .chain(ms.iter().cloned())
            .collect(),
        rows: alpha.iter().map(|a| vec![fmt_num(*a)]).collect(),
    };
    let mut series = Vec::new();
    for m in &ms {
        let policy = file.matrix(&format!("{m}/policy"))?;
        if policy.rows != alpha.len() {
            return Err(format!(
                "{}: dataset `{m}/policy` has {} rows, but `alpha` has {}",
                file.name(),
                policy.rows,
                alpha.len()
            ));
        }
        let d: Vec<f64> = (0..policy.rows)
            .map(|i| distance.between(policy.row(i), policy.row(origin)))
            .collect();
        for (row, v) in table.rows.iter_mut().zip(&d) {
            row.push(fmt_num(*v));
        }
        series.push(Series::new(method_label(file, m), x, &d));
    }
    let panel = LinePanel {
        title: "Movement from its own alpha = 0 policy".into(),
        x_label: "weight decay alpha (unitless, log scale)".into(),
        y_label: distance_label(metric),
        x_log,
        markers: true,
        series,
        ..Default::default()
    };
    Ok((panel, table))
}
