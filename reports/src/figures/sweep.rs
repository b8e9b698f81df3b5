//! Sweeps (kind `sweep`): an experiment run at many points, a grid over config keys times
//! seeds, each point with its own results file in a subfolder and one sweep file that holds
//! every point's swept values, status and summary scalars. The section draws each summary
//! against the first swept key, one line per combination of the other keys, as the mean
//! over seeds with its 95 % confidence interval; tables give the same numbers. Sweeps of
//! `sequence_dpo` points get the Section 5.3 ablation statement (module `ablation`), sweeps
//! of `mode_seeking` points the comparison of θ_DPO with the paper's value (module
//! `theta_dpo`).

mod ablation;
mod points;
mod steps;
mod theta_dpo;

use super::{Block, FigureDir, Rendered, Section, Table};
use crate::config::{Config, provenance};
use crate::fmt_num;
use crate::h5::ResultsFile;
use crate::plot::{LinePanel, Panel, Series};
use crate::stats::{LEVEL, MeanCi, percent};
use ablation::Ablation;
use points::{DONE, Points, Setting};
use workbench::results::{attr, path};

/// The sweep section.
pub struct Sweep;

/// At most this many summaries are drawn and tabled (the first by name).
pub const MAX_FIGURES: usize = 12;
/// At most this many lines per figure (the first combinations in file order).
pub const MAX_LINES: usize = 10;
/// At most this many points not done are named in the caption (the table lists them all).
const MAX_NAMED: usize = 10;
/// A numeric first key is drawn on a log scale when its values are positive and span at
/// least this ratio (two decades).
const LOG_SPAN: f64 = 100.0;

/// The x axis: where each setting's first-key value sits.
enum Axis {
    /// Numbers, at their value; `log` when they span two decades or more.
    Numbers { log: bool },
    /// Categories, in the order they appear in the file.
    Categories(Vec<String>),
}

impl Axis {
    fn of(points: &Points) -> Option<Self> {
        let key = points.keys.first()?;
        if key.numeric() {
            let xs: Vec<f64> = (0..points.len()).filter_map(|p| key.number(p)).collect();
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Some(Self::Numbers {
                log: lo > 0.0 && hi / lo >= LOG_SPAN,
            })
        } else {
            let mut names: Vec<String> = Vec::new();
            for p in 0..points.len() {
                let v = key.label(p);
                if !names.contains(&v) {
                    names.push(v);
                }
            }
            Some(Self::Categories(names))
        }
    }

    /// The x of point `p`, moved by `dodge` on a categorical axis (so that lines' bars at
    /// one category do not overlap).
    fn x(&self, points: &Points, p: usize, dodge: f64) -> f64 {
        let key = &points.keys[0];
        match self {
            Self::Numbers { .. } => key.number(p).unwrap_or(f64::NAN),
            Self::Categories(names) => {
                let v = key.label(p);
                names
                    .iter()
                    .position(|n| *n == v)
                    .map_or(f64::NAN, |i| i as f64 + dodge)
            }
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::Numbers { log: true } => " (log scale: positive values over two decades or more)",
            Self::Numbers { log: false } => "",
            Self::Categories(_) => " (categories, in the order of the file; lines dodged sideways)",
        }
    }
}

/// Whether summary `name` is a p-value (`p_value`, `p_low_smaller`, …).
fn is_p_value(name: &str) -> bool {
    name == "p" || name.starts_with("p_") || name.ends_with("_p_value")
}

/// Characters of a summary's name that are safe in a file name.
fn stem_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The figure of summary `name`: one line per combination of the keys but the first.
fn panel(points: &Points, axis: &Axis, name: &str, values: &[f64]) -> (LinePanel, usize) {
    let others: Vec<usize> = (1..points.keys.len()).collect();
    let lines = points.settings(&others);
    let first = [0];
    let shown = lines.len().min(MAX_LINES);
    let mut series = Vec::new();
    for (j, line) in lines.iter().take(shown).enumerate() {
        let dodge = match axis {
            Axis::Categories(_) if shown > 1 => {
                (j as f64 - (shown - 1) as f64 / 2.0) * 0.5 / shown as f64
            }
            _ => 0.0,
        };
        let mut at: Vec<(f64, MeanCi)> = points
            .settings(&first)
            .iter()
            .filter_map(|x| {
                let members: Vec<usize> = x
                    .members
                    .iter()
                    .copied()
                    .filter(|p| line.members.contains(p))
                    .collect();
                let p = *members.first()?;
                Some((axis.x(points, p, dodge), points.mean_ci(values, &members)?))
            })
            .collect();
        at.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(Series {
            name: if others.is_empty() {
                format!("mean over seeds ({} % CI)", percent(LEVEL))
            } else {
                points.label(&others, line.first())
            },
            points: at.iter().map(|(x, m)| (*x, m.mean)).collect(),
            error_bars: at
                .iter()
                .filter_map(|(x, m)| m.ci.map(|(lo, hi)| (*x, lo, hi)))
                .collect(),
        });
    }
    let key = &points.keys[0].name;
    let panel = LinePanel {
        title: format!("{name} vs {key}"),
        x_label: key.clone(),
        y_label: format!("{name} (mean over seeds, {} % CI)", percent(LEVEL)),
        x_log: matches!(axis, Axis::Numbers { log: true }),
        x_categories: match axis {
            Axis::Categories(names) => names.clone(),
            Axis::Numbers { .. } => Vec::new(),
        },
        markers: true,
        series,
        ..Default::default()
    };
    (panel, lines.len())
}

/// With no swept key, summary `name` against the seed: each done seed's value, and the
/// mean over seeds as a level line with its interval at the middle seed.
fn seed_panel(points: &Points, name: &str, values: &[f64]) -> Option<LinePanel> {
    let seeds = points.seed.as_ref()?;
    let all = all_points(points);
    let counted: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&p| points.done(p) && values[p].is_finite())
        .collect();
    let m = points.mean_ci(values, &all)?;
    let xs: Vec<f64> = counted.iter().map(|&p| seeds[p]).collect();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let level = percent(LEVEL);
    Some(LinePanel {
        title: format!("{name} per seed"),
        x_label: "seed".into(),
        y_label: name.to_owned(),
        markers: true,
        series: vec![
            Series {
                name: "each seed".into(),
                points: counted.iter().map(|&p| (seeds[p], values[p])).collect(),
                error_bars: Vec::new(),
            },
            Series {
                name: format!("mean over seeds ({level} % CI)"),
                points: vec![(lo, m.mean), (hi, m.mean)],
                error_bars: m
                    .ci
                    .map(|(l, h)| vec![((lo + hi) / 2.0, l, h)])
                    .unwrap_or_default(),
            },
        ],
        ..Default::default()
    })
}

/// The table of summary `name`: one row per setting (every key's values, seeds pooled).
fn table(points: &Points, settings: &[Setting], name: &str, values: &[f64]) -> Table {
    let mut header = points.key_header();
    let level = percent(LEVEL);
    header.extend([
        "n (seeds done)".to_owned(),
        "left out".to_owned(),
        "mean".to_owned(),
        format!("{level} % CI low"),
        format!("{level} % CI high"),
        "sd".to_owned(),
        "note".to_owned(),
    ]);
    let rows = settings
        .iter()
        .map(|s| {
            let p = s.first();
            let mut row = points.key_cells(p, "all points");
            let m = points.mean_ci(values, &s.members);
            let dash = || "—".to_owned();
            row.push(m.map_or(0, |m| m.n).to_string());
            row.push(points.left_out(values, &s.members));
            row.push(m.map_or_else(dash, |m| fmt_num(m.mean)));
            let ci = m.and_then(|m| m.ci);
            row.push(ci.map_or_else(dash, |c| fmt_num(c.0)));
            row.push(ci.map_or_else(dash, |c| fmt_num(c.1)));
            row.push(m.and_then(|m| m.sd).map_or_else(dash, fmt_num));
            row.push(match m {
                None => "no done point with a value".into(),
                Some(m) if m.n == 1 => "1 seed: no interval".into(),
                Some(_) => String::new(),
            });
            row
        })
        .collect();
    Table {
        caption: format!(
            "summary/{name} per setting (seeds pooled): n done seeds with a value, the points left out, mean, {level} % CI of the mean (Student t, n − 1 degrees of freedom) and sd (ddof = 1)."
        ),
        header,
        rows,
    }
}

/// The points not done: file, status, swept values and seed, error.
fn not_done(points: &Points) -> Table {
    let rows = (0..points.len())
        .filter(|&p| !points.done(p))
        .map(|p| {
            vec![
                points.file[p].clone(),
                points.status[p].clone(),
                points.point_label(p),
                points.error[p].clone(),
            ]
        })
        .collect();
    Table {
        caption: "Points not done (left out of every mean).".into(),
        header: ["point file", "status", "setting", "error"]
            .map(String::from)
            .to_vec(),
        rows,
    }
}

/// The caption sentence counting and naming the points not done.
fn status_sentence(points: &Points) -> String {
    let mut counts = vec![format!("{} done", points.count(DONE))];
    for status in ["failed", "missing"] {
        counts.push(format!("{} {status}", points.count(status)));
    }
    let other = points
        .status
        .iter()
        .filter(|s| !matches!(s.as_str(), DONE | "failed" | "missing"))
        .count();
    if other > 0 {
        counts.push(format!("{other} with another status"));
    }
    let mut s = format!("{} points: {}.", points.len(), counts.join(", "));
    let failed: Vec<usize> = (0..points.len())
        .filter(|&p| points.status[p] == "failed")
        .collect();
    if !failed.is_empty() {
        let named: Vec<String> = failed
            .iter()
            .take(MAX_NAMED)
            .map(|&p| {
                let error = if points.error[p].is_empty() {
                    "no error recorded"
                } else {
                    &points.error[p]
                };
                format!("`{}` ({}): {error}", points.file[p], points.point_label(p))
            })
            .collect();
        s.push_str(&format!(" Failed: {}", named.join("; ")));
        if failed.len() > MAX_NAMED {
            s.push_str(&format!(
                "; and {} more, in the table of points not done",
                failed.len() - MAX_NAMED
            ));
        }
        s.push('.');
    }
    s
}

/// The `[sweep]` table on one line.
fn one_line(toml: &str) -> String {
    let lines: Vec<&str> = toml
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "not recorded".into()
    } else {
        lines.join("; ")
    }
}

impl Section for Sweep {
    fn kind(&self) -> &str {
        "sweep"
    }

    fn heading(&self) -> &str {
        "Sweep"
    }

    fn title(&self, file: &ResultsFile, _cfg: &Config) -> String {
        let kind = file.attr(attr::POINT_KIND).unwrap_or_else(|| "?".into());
        let keys = file
            .names(attr::SWEPT_KEYS)
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut over = keys.join(", ");
        if file.exists(path::SWEEP_SEED) {
            over = if over.is_empty() {
                "seeds".into()
            } else {
                format!("{over} and seeds")
            };
        }
        if over.is_empty() {
            over = "no key".into();
        }
        format!("Sweep of {kind} over {over} ({})", file.name())
    }

    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let points = Points::read(file)?;
        let all: Vec<usize> = (0..points.keys.len()).collect();
        let settings = points.settings(&all);
        let axis = Axis::of(&points);
        let mut stems = Vec::new();
        let mut tables = Vec::new();
        let mut notes = Vec::new();
        let mut single = false;
        // A p-value is not a quantity whose mean over seeds means anything: it is listed
        // per point in the sweep file, never averaged here.
        let (p_values, summaries): (Vec<_>, Vec<_>) = points
            .summaries
            .iter()
            .partition(|(name, _)| is_p_value(name));
        if !p_values.is_empty() {
            let names: Vec<&str> = p_values.iter().map(|(n, _)| n.as_str()).collect();
            notes.push(format!(
                "Not averaged over seeds (p-values): summary/{}.",
                names.join(", summary/")
            ));
        }
        for (name, values) in summaries.iter().copied().take(MAX_FIGURES) {
            single |= settings
                .iter()
                .any(|s| points.mean_ci(values, &s.members).is_some_and(|m| m.n == 1));
            tables.push(table(&points, &settings, name, values));
            let Some(axis) = &axis else {
                if let Some(panel) = seed_panel(&points, name, values) {
                    stems.push(figures.save(file, &stem_part(name), &[Panel::Lines(panel)])?);
                }
                continue;
            };
            if points.counted(values, &all_points(&points)).is_empty() {
                notes.push(format!(
                    "summary/{name} has no value at a done point: not drawn."
                ));
                continue;
            }
            let (panel, lines) = panel(&points, axis, name, values);
            if lines > MAX_LINES {
                notes.push(format!(
                    "summary/{name}: {MAX_LINES} of {lines} combinations are drawn (the first in file order); the table lists them all."
                ));
            }
            stems.push(figures.save(file, &stem_part(name), &[Panel::Lines(panel)])?);
        }
        if summaries.len() > MAX_FIGURES {
            let rest: Vec<&str> = summaries[MAX_FIGURES..]
                .iter()
                .map(|(n, _)| n.as_str())
                .collect();
            notes.push(format!(
                "{MAX_FIGURES} of {} summaries are drawn and tabled (the first by name); not shown: {}.",
                summaries.len(),
                rest.join(", ")
            ));
        }
        if points.status.iter().any(|s| s != DONE) {
            tables.push(not_done(&points));
        }
        if let Some(ablation) = Ablation::of(&points) {
            notes.insert(0, ablation.finding(&points));
            tables.push(ablation.table(&points));
            if let Some(over) = steps::OverSteps::of(&points) {
                notes.insert(1, over.finding(&ablation));
                tables.push(over.table(&ablation, &points));
            }
        }
        for (i, line) in theta_dpo::comparison(&points, cfg).into_iter().enumerate() {
            notes.insert(i, line);
        }

        let seeds = match &points.seed {
            Some(_) if points.seed_keys.is_empty() => {
                "Points that differ only in the seed are pooled.".to_owned()
            }
            Some(_) => format!(
                "The seed is written to {}; points that differ only in the seed are pooled.",
                points.seed_keys.join(", ")
            ),
            None => "The sweep has no seeds: each setting is a single run.".to_owned(),
        };
        let drawn = match (&axis, points.keys.len()) {
            (None, _) if points.seed.is_some() => format!(
                "The sweep varies only the seed: each figure draws one summary scalar per seed and the mean over seeds as a level line, with an error bar spanning the {} % confidence interval of the mean (Student t with n − 1 degrees of freedom: mean ± t·s/√n, s the sample sd).",
                percent(LEVEL)
            ),
            (None, _) => "The sweep varies no config key, so nothing is drawn; the tables give the mean over its points.".to_owned(),
            (Some(axis), n) => format!(
                "Each figure draws one summary scalar of the points against {}{}, {}: the mean over done seeds, with error bars spanning the {} % confidence interval of the mean (Student t with n − 1 degrees of freedom: mean ± t·s/√n, s the sample sd).",
                points.keys[0].name,
                axis.describe(),
                if n > 1 {
                    let others: Vec<&str> = points.keys[1..].iter().map(|k| k.name.as_str()).collect();
                    format!("one line per combination of {}", others.join(", "))
                } else {
                    "one line".to_owned()
                },
                percent(LEVEL)
            ),
        };
        let single = if single {
            " Settings with a single done seed show the mean with no interval (1 seed: no interval)."
        } else {
            ""
        };
        let caption = format!(
            "Sweep `{}` of `{}` points (sweep table: {}). {} {seeds} {drawn} Points not done, and NaN values, are left out of the means and counted in the tables.{single} {}",
            file.attr(attr::EXPERIMENT).unwrap_or_else(|| "?".into()),
            points.point_kind,
            one_line(&points.sweep_toml),
            status_sentence(&points),
            provenance(file)
        );
        let mut blocks = vec![Block {
            caption: format!(
                "The sweep table of `{}` (root attribute sweep_toml).",
                file.name()
            ),
            text: points.sweep_toml.clone(),
        }];
        if let Some(text) = file.attr(attr::CONFIG_TOML) {
            blocks.push(Block {
                caption: format!(
                    "Configuration of point 0 of `{}` (root attribute config_toml).",
                    file.name()
                ),
                text,
            });
        }
        Ok(Rendered {
            figures: stems,
            caption,
            tables,
            blocks,
            notes,
        })
    }
}

/// Every point's index.
fn all_points(points: &Points) -> Vec<usize> {
    (0..points.len()).collect()
}
