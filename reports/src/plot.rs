//! Drawing with plotters: line and grouped-bar panels, saved as SVG and PNG.
//!
//! A figure is a row of [`Panel`]s; [`save`] draws it twice, once per backend, from
//! the same code. A line panel's x axis is linear, logarithmic or categorical, and its
//! series may carry vertical error bars.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width of one panel in pixels.
const PANEL_W: u32 = 640;
/// Height of a figure in pixels.
const FIG_H: u32 = 480;

/// Colour-blind-friendly "tab10" colours, picked in order.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// One named line: `(x, y)` points.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Vertical error bars `(x, low, high)`, in the line's colour (clipped to the y range).
    pub error_bars: Vec<(f64, f64, f64)>,
}

impl Series {
    /// A series from parallel `x` and `y` slices.
    pub fn new(name: impl Into<String>, x: &[f64], y: &[f64]) -> Self {
        Self {
            name: name.into(),
            points: x.iter().copied().zip(y.iter().copied()).collect(),
            error_bars: Vec::new(),
        }
    }
}

/// A line chart.
#[derive(Debug, Clone, Default)]
pub struct LinePanel {
    /// Panel title.
    pub title: String,
    /// x-axis label, with unit.
    pub x_label: String,
    /// y-axis label, with unit.
    pub y_label: String,
    /// Logarithmic x axis (points with x <= 0 are dropped).
    pub x_log: bool,
    /// Categorical x axis when not empty: category `i` sits at x = `i` and its name is the
    /// tick label there (points may sit between, e.g. dodged by series).
    pub x_categories: Vec<String>,
    /// Fixed y range; points outside it are not drawn (lines break there).
    pub y_range: Option<(f64, f64)>,
    /// Draw a marker at every point.
    pub markers: bool,
    /// The lines.
    pub series: Vec<Series>,
}

/// A grouped bar chart: for each category, one bar per group.
#[derive(Debug, Clone, Default)]
pub struct BarPanel {
    /// Panel title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label, with unit.
    pub y_label: String,
    /// Category names along x.
    pub categories: Vec<String>,
    /// `(legend entry, one value per category)`.
    pub groups: Vec<(String, Vec<f64>)>,
}

/// One panel of a figure.
#[derive(Debug, Clone)]
pub enum Panel {
    /// Lines.
    Lines(LinePanel),
    /// Grouped bars.
    Bars(BarPanel),
}

/// Short, readable number formatting for ticks, tables and captions.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let digits = (4 - a.log10().floor() as i32 - 1).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn de<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing failed: {e:?}")
}

/// Draws `panels` side by side into `<out>/<stem>.svg` and `<out>/<stem>.png`.
/// Returns the two file names.
pub fn save(out: &Path, stem: &str, panels: &[Panel]) -> Result<Vec<String>, String> {
    let n = panels.len().max(1) as u32;
    let size = (PANEL_W * n, FIG_H);
    let svg = format!("{stem}.svg");
    let png = format!("{stem}.png");
    {
        let path = out.join(&svg);
        let root = SVGBackend::new(&path, size).into_drawing_area();
        draw_all(&root, panels).map_err(|e| format!("{svg}: {e}"))?;
    }
    {
        let path = out.join(&png);
        let root = BitMapBackend::new(&path, size).into_drawing_area();
        draw_all(&root, panels).map_err(|e| format!("{png}: {e}"))?;
    }
    Ok(vec![svg, png])
}

fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(de)?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        match panel {
            Panel::Lines(p) => draw_lines(area, p)?,
            Panel::Bars(p) => draw_bars(area, p)?,
        }
    }
    root.present().map_err(de)
}

/// `(lo, hi)` of `values`, padded by 5 %, never empty.
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(1.0) {
        let d = (lo.abs() * 0.1).max(0.5);
        return (lo - d, hi + d);
    }
    (lo - 0.05 * span, hi + 0.05 * span)
}

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &LinePanel,
) -> Result<(), String> {
    let keep = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!p.x_log || x > 0.0);
    let points = || {
        p.series
            .iter()
            .flat_map(|s| {
                let bars = s
                    .error_bars
                    .iter()
                    .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
                s.points.iter().copied().chain(bars)
            })
            .filter(keep)
    };
    let (y_lo, y_hi) = p
        .y_range
        .unwrap_or_else(|| padded(points().map(|(_, y)| y)));
    let ny = |y: f64| (y - y_lo) / (y_hi - y_lo);
    let number = |v: &f64| fmt_num(*v);
    if !p.x_categories.is_empty() {
        let k = p.x_categories.len();
        let (lo, hi) = (-0.5, k as f64 - 0.5);
        let at = legend_corner(points().map(|(x, y)| ((x - lo) / (hi - lo), ny(y))));
        let name = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                p.x_categories.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let x: RangedCoordf64 = (lo..hi).into();
        let axis = XAxis {
            format: &name,
            labels: Some(4 * k + 1),
        };
        lines_on(area, p, x, axis, (y_lo, y_hi), at)
    } else if p.x_log {
        let (lo, hi) = points().fold((f64::INFINITY, 0.0f64), |(lo, hi), (x, _)| {
            (lo.min(x), hi.max(x))
        });
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo / 1.2, hi * 1.2)
        } else {
            (0.1, 10.0)
        };
        let nx = |x: f64| (x / lo).ln() / (hi / lo).ln();
        let at = legend_corner(points().map(|(x, y)| (nx(x), ny(y))));
        let x: LogCoord<f64> = (lo..hi).log_scale().into();
        let axis = XAxis {
            format: &number,
            labels: None,
        };
        lines_on(area, p, x, axis, (y_lo, y_hi), at)
    } else {
        let (lo, hi) = padded(points().map(|(x, _)| x));
        let nx = |x: f64| (x - lo) / (hi - lo);
        let at = legend_corner(points().map(|(x, y)| (nx(x), ny(y))));
        let x: RangedCoordf64 = (lo..hi).into();
        let axis = XAxis {
            format: &number,
            labels: None,
        };
        lines_on(area, p, x, axis, (y_lo, y_hi), at)
    }
}

/// How the x axis labels its ticks.
struct XAxis<'a> {
    /// Tick label of a position.
    format: &'a dyn Fn(&f64) -> String,
    /// Number of ticks, when not plotters' choice.
    labels: Option<usize>,
}

fn lines_on<DB, X>(
    area: &DrawingArea<DB, Shift>,
    p: &LinePanel,
    x: X,
    axis: XAxis,
    (y_lo, y_hi): (f64, f64),
    legend_at: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y_lo..y_hi)
        .map_err(de)?;
    let fmt = |v: &f64| fmt_num(*v);
    let mut mesh = chart.configure_mesh();
    if let Some(n) = axis.labels {
        mesh.disable_x_mesh().x_labels(n);
    }
    mesh.x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(axis.format)
        .y_label_formatter(&fmt)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(de)?;
    let x_ok = |x: f64| x.is_finite() && (!p.x_log || x > 0.0);
    let in_range = |&(x, y): &(f64, f64)| x_ok(x) && y.is_finite() && (y_lo..=y_hi).contains(&y);
    for (i, s) in p.series.iter().enumerate() {
        let c = colour(i);
        // Split into runs of drawable points so that clipped values break the line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for pt in &s.points {
            if in_range(pt) {
                if let Some(r) = runs.last_mut() {
                    r.push(*pt);
                }
            } else if runs.last().is_some_and(|r| !r.is_empty()) {
                runs.push(Vec::new());
            }
        }
        let bars: Vec<(f64, f64, f64)> = s
            .error_bars
            .iter()
            .filter(|&&(x, lo, hi)| x_ok(x) && lo.is_finite() && hi.is_finite())
            .filter(|&&(_, lo, hi)| hi >= y_lo && lo <= y_hi)
            .map(|&(x, lo, hi)| (x, lo.max(y_lo), hi.min(y_hi)))
            .collect();
        // A vertical line from low to high, with 8-pixel caps at both ends.
        let cap = move |at: (f64, f64)| {
            EmptyElement::at(at) + PathElement::new(vec![(-4, 0), (4, 0)], c.stroke_width(1))
        };
        for (x, lo, hi) in bars {
            chart
                .draw_series([PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(1))])
                .map_err(de)?;
            chart
                .draw_series([cap((x, lo)), cap((x, hi))])
                .map_err(de)?;
        }
        let mut labelled = false;
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            let drawn = if p.markers {
                chart
                    .draw_series(LineSeries::new(run.clone(), c.stroke_width(2)).point_size(3))
                    .map_err(de)?
            } else {
                chart
                    .draw_series(LineSeries::new(run, c.stroke_width(2)))
                    .map_err(de)?
            };
            if !labelled {
                drawn.label(s.name.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
                labelled = true;
            }
        }
    }
    legend(&mut chart, legend_at)
}

/// The corner whose legend-sized box (40 % x 35 % of the plot) covers the fewest
/// points; `points` are normalised to [0, 1] x [0, 1].
fn legend_corner(points: impl Iterator<Item = (f64, f64)>) -> SeriesLabelPosition {
    use SeriesLabelPosition::{LowerLeft, LowerRight, UpperLeft, UpperRight};
    let mut counts = [0usize; 4];
    for (x, y) in points {
        let (left, right) = (x < 0.4, x > 0.6);
        let (low, high) = (y < 0.35, y > 0.65);
        counts[0] += usize::from(right && high);
        counts[1] += usize::from(left && high);
        counts[2] += usize::from(right && low);
        counts[3] += usize::from(left && low);
    }
    let corners = [UpperRight, UpperLeft, LowerRight, LowerLeft];
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners.into_iter().nth(best).unwrap_or(UpperRight)
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    at: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(de)
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &BarPanel,
) -> Result<(), String> {
    let k = p.categories.len().max(1);
    let top = p
        .groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let y_hi = if top > 0.0 { top * 1.25 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), 0.0f64..y_hi)
        .map_err(de)?;
    let x_fmt = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            p.categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let y_fmt = |v: &f64| fmt_num(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(4 * k + 1)
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(de)?;
    let n = p.groups.len().max(1) as f64;
    let width = 0.8 / n;
    for (g, (name, values)) in p.groups.iter().enumerate() {
        let c = colour(g);
        let bars = values.iter().enumerate().map(move |(i, &v)| {
            let x0 = i as f64 - 0.4 + g as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], c.filled())
        });
        chart
            .draw_series(bars)
            .map_err(de)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}
