//! The figures' panels: Figure 6's sorted ranks, ln (21) against ln ρ_ref and against the
//! length difference, ln (21) by decile of ln ρ_ref, and the SFT and DPO training losses.

use super::groups::{Confound, Group};
use super::tables::fmt_corr;
use crate::plot::{LinePanel, Panel, Series};

/// Dashes in a dashed horizontal line.
const DASHES: usize = 30;

/// A point that is never drawn: it breaks a line in [`crate::plot`] into two runs.
const BREAK: (f64, f64) = (f64::NAN, f64::NAN);

/// A dashed horizontal line at `y` over `[lo, hi]`.
fn dashed(lo: f64, hi: f64, y: f64) -> Vec<(f64, f64)> {
    let step = (hi - lo) / (2 * DASHES - 1) as f64;
    (0..DASHES)
        .flat_map(|i| {
            let x0 = lo + 2.0 * i as f64 * step;
            [(x0, y), (x0 + step, y), BREAK]
        })
        .collect()
}

/// `+` markers of half-widths `(dx, dy)`, one per point, drawn as separate short lines.
fn crosses(x: &[f64], y: &[f64], (dx, dy): (f64, f64)) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .flat_map(|(&x, &y)| {
            [
                (x - dx, y),
                (x + dx, y),
                BREAK,
                (x, y - dy),
                (x, y + dy),
                BREAK,
            ]
        })
        .collect()
}

/// `(min, max)` of the finite values (`(0, 1)` when there are none).
fn extent<'a>(values: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

/// Figure 6: each group's ranks sorted ascending, with its mean rank dashed.
pub(super) fn ranks_panel(groups: &[Group; 2]) -> Panel {
    let series = groups
        .iter()
        .map(|g| {
            let mut sorted = g.rank.clone();
            sorted.sort_by(f64::total_cmp);
            let mut points: Vec<(f64, f64)> = sorted
                .iter()
                .enumerate()
                .map(|(i, &r)| ((i + 1) as f64, r))
                .collect();
            points.push(BREAK);
            points.extend(dashed(1.0, g.n().max(1) as f64, g.mean_rank));
            Series {
                name: format!("{} group (mean rank {:.1}, dashed)", g.label, g.mean_rank),
                points,
                ..Default::default()
            }
        })
        .collect();
    Panel::Lines(LinePanel {
        title: "Average rank sorting of (21)".into(),
        x_label: "position within group (sorted)".into(),
        y_label: "average rank of (21) over both groups".into(),
        series,
        ..Default::default()
    })
}

/// ln ρ_ref against ln (21), per group, with the initial value ln 1 = 0 dashed.
pub(super) fn ratio_change_panel(groups: &[Group; 2]) -> Panel {
    let (x_lo, x_hi) = extent(groups.iter().flat_map(|g| &g.log_rho_ref));
    let (y_lo, y_hi) = extent(
        groups
            .iter()
            .flat_map(|g| &g.log_ratio_change)
            .chain([&0.0]),
    );
    // Arms of equal length on screen for a plot area of about 550 x 400 pixels.
    let arms = (
        0.007 * (x_hi - x_lo).max(1e-12),
        0.0095 * (y_hi - y_lo).max(1e-12),
    );
    let mut series: Vec<Series> = groups
        .iter()
        .map(|g| Series {
            name: format!("{} group (n = {})", g.label, g.n()),
            points: crosses(&g.log_rho_ref, &g.log_ratio_change, arms),
            ..Default::default()
        })
        .collect();
    series.push(Series {
        name: "(21) = 1 (value at initialisation)".into(),
        points: dashed(x_lo, x_hi, 0.0),
        ..Default::default()
    });
    Panel::Lines(LinePanel {
        title: "Change of the policy ratio after DPO".into(),
        x_label: "ln ρ_ref = ln π_ref(y_l|x) − ln π_ref(y_w|x) (unitless)".into(),
        y_label: "ln of quantity (21) (unitless)".into(),
        series,
        ..Default::default()
    })
}

/// ln (21) against the length difference len(y_w) − len(y_l), per group.
pub(super) fn length_panel(groups: &[Group; 2]) -> Option<Panel> {
    let pairs: Vec<(&Group, &Confound)> = groups
        .iter()
        .map(|g| g.confound.as_ref().map(|c| (g, c)))
        .collect::<Option<_>>()?;
    let (x_lo, x_hi) = extent(pairs.iter().flat_map(|(_, c)| &c.length_diff).chain([&0.0]));
    let (y_lo, y_hi) = extent(
        pairs
            .iter()
            .flat_map(|(g, _)| &g.log_ratio_change)
            .chain([&0.0]),
    );
    let arms = (
        0.007 * (x_hi - x_lo).max(1.0),
        0.0095 * (y_hi - y_lo).max(1e-12),
    );
    let mut series: Vec<Series> = pairs
        .iter()
        .map(|(g, c)| Series {
            name: format!("{} group (r = {})", g.label, fmt_corr(c.correlations.1)),
            points: crosses(&c.length_diff, &g.log_ratio_change, arms),
            ..Default::default()
        })
        .collect();
    series.push(Series {
        name: "(21) = 1 (value at initialisation)".into(),
        points: dashed(x_lo, x_hi, 0.0),
        ..Default::default()
    });
    Some(Panel::Lines(LinePanel {
        title: "Quantity (21) against the response-length difference".into(),
        x_label: "len(y_w) − len(y_l) (tokens)".into(),
        y_label: "ln of quantity (21) (unitless)".into(),
        series,
        ..Default::default()
    }))
}

/// Mean ln (21) against mean ln ρ_ref in each decile of ln ρ_ref over all analysed pairs
/// (empty deciles, from ties, left out).
pub(super) fn deciles_panel(rho: &[f64], change: &[f64], count: &[f64]) -> Panel {
    let points: Vec<(f64, f64)> = rho
        .iter()
        .zip(change)
        .zip(count)
        .filter(|(_, n)| **n > 0.0)
        .map(|((x, y), _)| (*x, *y))
        .collect();
    let (x_lo, x_hi) = extent(points.iter().map(|p| &p.0));
    Panel::Lines(LinePanel {
        title: "Mean ln (21) by decile of ln ρ_ref (all analysed pairs)".into(),
        x_label: "decile mean of ln ρ_ref (nats)".into(),
        y_label: "decile mean of ln (21) (nats)".into(),
        series: vec![
            Series {
                name: "decile means".into(),
                points,
                ..Default::default()
            },
            Series {
                name: "(21) = 1 (value at initialisation)".into(),
                points: dashed(x_lo, x_hi, 0.0),
                ..Default::default()
            },
        ],
        ..Default::default()
    })
}

/// SFT and DPO training losses per logged row of steps (two panels), each as (steps,
/// values).
pub(super) fn training_panels(
    sft: &(Vec<f64>, Vec<f64>),
    dpo: &(Vec<f64>, Vec<f64>),
) -> Vec<Panel> {
    let ln2 = std::f64::consts::LN_2;
    let last = dpo.0.last().copied().unwrap_or(1.0).max(2.0);
    vec![
        Panel::Lines(LinePanel {
            title: "SFT on y_w (gives π_ref)".into(),
            x_label: "optimiser step".into(),
            y_label: "SFT loss (mean NLL per token, nats)".into(),
            series: vec![Series::new("SFT loss", &sft.0, &sft.1)],
            ..Default::default()
        }),
        Panel::Lines(LinePanel {
            title: "DPO from π_ref (gives π_θ)".into(),
            x_label: "optimiser step".into(),
            y_label: "DPO loss (nats)".into(),
            series: vec![
                Series::new("DPO loss", &dpo.0, &dpo.1),
                Series {
                    name: "ln 2 (loss at initialisation)".into(),
                    points: dashed(1.0, last, ln2),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
    ]
}

/// The analysis over DPO steps (`trajectory/*`): each group's mean ln (21), the
/// rank-biserial correlation, and the length-adjusted ln ρ_ref coefficient with its
/// interval, against the step.
pub(super) fn trajectory_panels(
    step: &[f64],
    means: [&[f64]; 2],
    rank_biserial: &[f64],
    coefficient: [&[f64]; 3],
) -> Vec<Panel> {
    let line = |name: &str, values: &[f64]| Series::new(name, step, values);
    let (x_lo, x_hi) = extent(step.iter());
    let zero = || Series {
        name: "0".into(),
        points: dashed(x_lo, x_hi, 0.0),
        ..Default::default()
    };
    let panel = |title: &str, y_label: &str, series: Vec<Series>| {
        Panel::Lines(LinePanel {
            title: title.into(),
            x_label: "DPO step".into(),
            y_label: y_label.into(),
            markers: true,
            series,
            ..Default::default()
        })
    };
    vec![
        panel(
            "Mean ln (21) per group",
            "mean ln (21) (nats)",
            vec![
                line("low-value group", means[0]),
                line("high-value group", means[1]),
            ],
        ),
        panel(
            "Rank-biserial correlation, low vs high",
            "r (negative: the paper's direction)",
            vec![line("r", rank_biserial), zero()],
        ),
        panel(
            "Length-adjusted ln ρ_ref coefficient",
            "coefficient (nats per nat)",
            vec![
                line("coefficient", coefficient[0]),
                line("HC3 95 % CI, low", coefficient[1]),
                line("HC3 95 % CI, high", coefficient[2]),
                zero(),
            ],
        ),
    ]
}
