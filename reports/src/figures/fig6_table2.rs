//! Figure 6 and Table 2 (Section 5.3, B.3): average rank sorting of quantity (21) over the
//! low- and high-value groups of ρ_ref, and the one-sided Mann–Whitney U test; with what
//! else tells the two groups apart (response lengths, and for synthetic data the true
//! reward margin and label noise). One section per `sequence_dpo` results file, headed by
//! the data its configuration describes.

use super::{FigureDir, Rendered, Section, Table};
use crate::config::{Config, caption};
use crate::h5::Results;
use crate::paper::{self, TABLE_2_N, TABLE_2_P, TABLE_2_RANK_SUMS, TABLE_2_U};
use crate::plot::{LinePanel, Panel, Series, fmt_num};

/// Figure 6 and Table 2 for one results file.
pub struct Fig6Table2;

/// Dashes in a dashed horizontal line.
const DASHES: usize = 30;

/// A point that is never drawn: it breaks a line in [`crate::plot`] into two runs.
const BREAK: (f64, f64) = (f64::NAN, f64::NAN);

/// Config keys quoted in every caption, after the data's.
const KEYS: &[&str] = &[
    "model.d_model",
    "model.n_layers",
    "model.n_heads",
    "model.d_ff",
    "model.context",
    "sft.epochs",
    "sft.lr",
    "sft.batch_size",
    "dpo.epochs",
    "dpo.lr",
    "dpo.batch_size",
    "dpo.beta",
    "dpo.method",
    "analysis.q",
    "analysis.tie_correction",
];

/// Keys of the synthetic generator.
const SYNTHETIC_KEYS: &[&str] = &[
    "data.pairs",
    "data.symbols",
    "data.response_len",
    "data.equal_lengths",
    "data.echo_bonus",
    "data.seed",
];

/// Keys of a JSONL data file.
const JSONL_KEYS: &[&str] = &["data.path", "data.max_pairs"];

/// The caption's keys: the data source and its own keys (a JSONL file's caption does not
/// quote the synthetic generator's defaults), then [`KEYS`].
fn caption_keys(cfg: &Config) -> Vec<&'static str> {
    let jsonl = cfg.get("data.source").and_then(|v| v.as_str()) == Some("jsonl");
    let data = if jsonl { JSONL_KEYS } else { SYNTHETIC_KEYS };
    std::iter::once("data.source")
        .chain(data.iter().copied())
        .chain(KEYS.iter().copied())
        .collect()
}

/// The data a configuration describes, for the heading: a JSONL file by its path, the
/// synthetic generator by whether it removes the length confound.
fn data_description(cfg: &Config) -> String {
    let text = |key: &str| cfg.get(key).and_then(|v| v.as_str());
    if text("data.source") == Some("jsonl") {
        return match text("data.path") {
            Some(path) => format!("on real preference data (JSONL file {path})"),
            None => "on real preference data (a JSONL file)".into(),
        };
    }
    let equal = cfg.get("data.equal_lengths").and_then(|v| v.as_bool()) == Some(true);
    let no_echo = cfg.number("data.echo_bonus") == Some(0.0);
    match (equal, no_echo) {
        (true, true) => {
            "on synthetic data without the length confound (equal lengths, no echo bonus)".into()
        }
        (true, false) => "on synthetic data with equal response lengths".into(),
        (false, true) => "on synthetic data without the echo bonus".into(),
        (false, false) => "on synthetic data (Section 5.3)".into(),
    }
}

/// Root attributes shown as notes when the results file has them.
const NOTE_ATTRS: &[&str] = &["groups", "mann_whitney", "data", "data_first_skipped"];

/// What else tells a group apart, when the results file stores it.
struct Confound {
    /// len(y_w) − len(y_l) in tokens, per pair.
    length_diff: Vec<f64>,
    /// Mean len(y_w) and len(y_l).
    mean_lengths: (f64, f64),
    /// Pearson r of ln ρ_ref and of ln (21) with the length difference, within the group.
    correlations: (f64, f64),
    /// Mean scored lengths (after the context cut) and r of ln ρ_ref with their
    /// difference, when stored.
    scored: Option<((f64, f64), f64)>,
    /// Share of labels against the true reward (synthetic data only).
    label_noise: Option<f64>,
    /// Mean true reward margin r*(y_w) − r*(y_l) (synthetic data only).
    reward_margin: Option<f64>,
}

impl Confound {
    /// Group `g`'s lengths and correlations, `None` for files written before they were stored.
    fn read(file: &Results, g: &str, n: usize) -> Result<Option<Self>, String> {
        if !file.exists(&format!("length_diff/{g}")) {
            return Ok(None);
        }
        let optional = |key: String| -> Result<Option<f64>, String> {
            if file.exists(&key) {
                file.scalar(&key).map(Some)
            } else {
                Ok(None)
            }
        };
        let margin_key = format!("reward_margin/{g}");
        Ok(Some(Self {
            length_diff: file.vec_len(&format!("length_diff/{g}"), n)?,
            mean_lengths: (
                mean(&file.vec_len(&format!("lengths/chosen_{g}"), n)?),
                mean(&file.vec_len(&format!("lengths/rejected_{g}"), n)?),
            ),
            correlations: (
                file.scalar(&format!("correlation/log_rho_ref_length/{g}"))?,
                file.scalar(&format!("correlation/log_ratio_change_length/{g}"))?,
            ),
            scored: if file.exists(&format!("lengths/scored_chosen_{g}")) {
                Some((
                    (
                        mean(&file.vec_len(&format!("lengths/scored_chosen_{g}"), n)?),
                        mean(&file.vec_len(&format!("lengths/scored_rejected_{g}"), n)?),
                    ),
                    file.scalar(&format!("correlation/log_rho_ref_scored_length/{g}"))?,
                ))
            } else {
                None
            },
            label_noise: optional(format!("label_noise/{g}"))?,
            reward_margin: if file.exists(&margin_key) {
                Some(mean(&file.vec_len(&margin_key, n)?))
            } else {
                None
            },
        }))
    }
}

/// One group's per-pair values (all of length n).
struct Group {
    /// "low-value" or "high-value".
    label: &'static str,
    /// Average ranks of (21) over both groups.
    rank: Vec<f64>,
    /// Mean of `rank`, as stored in the file.
    mean_rank: f64,
    /// Quantity (21), eq. (21), linear scale.
    ratio_change: Vec<f64>,
    /// ln of quantity (21).
    log_ratio_change: Vec<f64>,
    /// ln ρ_ref = ln π_ref(y_l|x) − ln π_ref(y_w|x).
    log_rho_ref: Vec<f64>,
    /// Lengths, correlations, reward margin and label noise, when stored.
    confound: Option<Confound>,
}

impl Group {
    /// Reads group `g` (`low` or `high`), whose size `n_key` gives.
    fn read(file: &Results, g: &str, label: &'static str, n_key: &str) -> Result<Self, String> {
        let rank_key = format!("rank/{g}");
        let rank = file.vec(&rank_key)?;
        let n = rank.len();
        let stored = file.scalar(n_key)?;
        if stored != n as f64 {
            return Err(format!(
                "{}: dataset `{n_key}` is {}, but `{rank_key}` has {n} values",
                file.name(),
                fmt_num(stored)
            ));
        }
        Ok(Self {
            label,
            mean_rank: file.scalar(&format!("rank/{g}_mean"))?,
            ratio_change: file.vec_len(&format!("ratio_change/{g}"), n)?,
            log_ratio_change: file.vec_len(&format!("log_ratio_change/{g}"), n)?,
            log_rho_ref: file.vec_len(&format!("log_rho_ref/{g}"), n)?,
            confound: Confound::read(file, g, n)?,
            rank,
        })
    }

    fn n(&self) -> usize {
        self.rank.len()
    }

    /// Mean of ln (21).
    fn mean_log_ratio_change(&self) -> f64 {
        mean(&self.log_ratio_change)
    }

    /// Number of pairs whose quantity (21) fell below its initial value 1.
    fn suppressed(&self) -> usize {
        self.ratio_change.iter().filter(|&&v| v < 1.0).count()
    }
}

/// The Mann–Whitney statistics stored in the file.
struct MannWhitney {
    u: f64,
    u1: f64,
    u2: f64,
    z: f64,
    p: f64,
    r1: f64,
    r2: f64,
    tie_corrected: bool,
    /// One-sided p for the paper's direction (low-value group smaller), when stored.
    p_low_smaller: Option<f64>,
}

impl MannWhitney {
    fn read(file: &Results) -> Result<Self, String> {
        let s = |k: &str| file.scalar(&format!("mann_whitney/{k}"));
        Ok(Self {
            u: s("u")?,
            u1: s("u1")?,
            u2: s("u2")?,
            z: s("z")?,
            p: s("p_value")?,
            r1: s("r1")?,
            r2: s("r2")?,
            tie_corrected: s("tie_corrected")? != 0.0,
            p_low_smaller: if file.exists("mann_whitney/p_low_smaller") {
                Some(s("p_low_smaller")?)
            } else {
                None
            },
        })
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

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
fn ranks_panel(groups: &[Group; 2]) -> Panel {
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
fn ratio_change_panel(groups: &[Group; 2]) -> Panel {
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
fn length_panel(groups: &[Group; 2]) -> Option<Panel> {
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

/// A correlation for a table cell: undefined where one side is constant.
fn fmt_corr(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.3}")
    } else {
        "undefined (constant)".into()
    }
}

/// What else differs between the groups: lengths, correlations with the length difference,
/// and (synthetic data) the true reward margin and label noise.
fn confound_table(groups: &[Group; 2], overall: (f64, f64)) -> Option<Table> {
    let [low, high] = groups;
    let (l, h) = (low.confound.as_ref()?, high.confound.as_ref()?);
    let row = |s: &str, a: String, b: String| vec![s.to_owned(), a, b];
    let mut rows = vec![
        row(
            "mean len(y_w), len(y_l) (tokens)",
            format!("{:.2}, {:.2}", l.mean_lengths.0, l.mean_lengths.1),
            format!("{:.2}, {:.2}", h.mean_lengths.0, h.mean_lengths.1),
        ),
        row(
            "r(ln ρ_ref, len(y_w) − len(y_l)) within the group",
            fmt_corr(l.correlations.0),
            fmt_corr(h.correlations.0),
        ),
        row(
            "r(ln (21), len(y_w) − len(y_l)) within the group",
            fmt_corr(l.correlations.1),
            fmt_corr(h.correlations.1),
        ),
    ];
    if let (Some((a, ra)), Some((b, rb))) = (l.scored, h.scored) {
        rows.push(row(
            "mean scored len(y_w), len(y_l) (tokens after the context cut, EOS included)",
            format!("{:.2}, {:.2}", a.0, a.1),
            format!("{:.2}, {:.2}", b.0, b.1),
        ));
        rows.push(row(
            "r(ln ρ_ref, scored length difference) within the group",
            fmt_corr(ra),
            fmt_corr(rb),
        ));
    }
    if let (Some(a), Some(b)) = (l.reward_margin, h.reward_margin) {
        rows.push(row(
            "mean true reward margin r*(y_w) − r*(y_l)",
            fmt_num(a),
            fmt_num(b),
        ));
    }
    if let (Some(a), Some(b)) = (l.label_noise, h.label_noise) {
        rows.push(row(
            "label noise (share of labels against r*)",
            format!("{:.1} %", 100.0 * a),
            format!("{:.1} %", 100.0 * b),
        ));
    }
    Some(Table {
        caption: format!(
            "What else tells the groups apart. If the groups differ in length or label noise, not only in ρ_ref, the rank test cannot be read as evidence about the paper's mechanism alone. Over all pairs, r(ln ρ_ref, length difference) = {} and r(ln (21), length difference) = {} (Pearson).",
            fmt_corr(overall.0),
            fmt_corr(overall.1)
        ),
        header: ["quantity", "low-value group", "high-value group"]
            .map(String::from)
            .to_vec(),
        rows,
    })
}

/// SFT and DPO training losses per optimiser step (two panels).
fn training_panels(sft: &[f64], dpo: &[f64]) -> Vec<Panel> {
    let steps = |n: usize| (1..=n).map(|t| t as f64).collect::<Vec<_>>();
    let ln2 = std::f64::consts::LN_2;
    vec![
        Panel::Lines(LinePanel {
            title: "SFT on y_w (gives π_ref)".into(),
            x_label: "optimiser step".into(),
            y_label: "SFT loss (mean NLL per token, nats)".into(),
            series: vec![Series::new("SFT loss", &steps(sft.len()), sft)],
            ..Default::default()
        }),
        Panel::Lines(LinePanel {
            title: "DPO from π_ref (gives π_θ)".into(),
            x_label: "optimiser step".into(),
            y_label: "DPO loss (nats)".into(),
            series: vec![
                Series::new("DPO loss", &steps(dpo.len()), dpo),
                Series {
                    name: "ln 2 (loss at initialisation)".into(),
                    points: dashed(1.0, dpo.len().max(2) as f64, ln2),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
    ]
}

/// Table 2: the paper's values (reference only) against this run's.
fn table2(groups: &[Group; 2], mw: &MannWhitney) -> Table {
    let [low, high] = groups;
    let (r1, r2) = TABLE_2_RANK_SUMS;
    let half = TABLE_2_N * (TABLE_2_N + 1.0) / 2.0;
    let n = if low.n() == high.n() {
        low.n().to_string()
    } else {
        format!("n1 = {}, n2 = {}", low.n(), high.n())
    };
    let row = |s: &str, paper: String, ours: String| vec![s.to_owned(), paper, ours];
    let ties = if mw.tie_corrected {
        "with tie correction"
    } else {
        "without tie correction"
    };
    let mut rows = vec![
        row("n1 = n2 (pairs per group)", fmt_num(TABLE_2_N), n),
        row(
            "U-statistic",
            format!("{TABLE_2_U:.1}"),
            format!("{:.1}", mw.u),
        ),
        row(
            "U1, U2 (U1 = R1 − n1(n1+1)/2)",
            format!("{:.1}, {:.1}", r1 - half, r2 - half),
            format!("{:.1}, {:.1}", mw.u1, mw.u2),
        ),
        row(
            "z = (U − n1·n2/2)/σ_U",
            format!("{:.2}", paper::table_2_z()),
            format!("{:.2}", mw.z),
        ),
        row(
            "p-value (one-sided)",
            format!("{TABLE_2_P:.3e}"),
            format!("{:.3e}", mw.p),
        ),
    ];
    if let Some(p) = mw.p_low_smaller {
        rows.push(row(
            "p-value (one-sided, low-value group smaller)",
            format!("{TABLE_2_P:.3e}"),
            format!("{p:.3e}"),
        ));
    }
    rows.extend([
        row(
            "rank sums R1, R2",
            format!("{r1:.0}, {r2:.0}"),
            format!("{:.1}, {:.1}", mw.r1, mw.r2),
        ),
        row(
            "mean rank (low)",
            format!("{:.2}", r1 / TABLE_2_N),
            format!("{:.2}", low.mean_rank),
        ),
        row(
            "mean rank (high)",
            format!("{:.2}", r2 / TABLE_2_N),
            format!("{:.2}", high.mean_rank),
        ),
    ]);
    Table {
        caption: format!(
            "Table 2: one-sided Mann–Whitney U test of quantity (21), low-value (group 1) against high-value (group 2) pairs. The paper's column is a reference only (Pythia 2.8B on Anthropic HH; its z and mean ranks are computed from R1 = {r1}, R2 = {r2} in B.3); this run trains a small transformer on its own data, so the numbers are not expected to match. Reproduced σ_U {ties}. U1 = R1 − n1(n1+1)/2 as in B.3's numbers (eq. (29) as printed swaps U1 and U2); p-value one-sided towards the group that ranks lower, as in the paper."
        ),
        header: [
            "Statistic",
            "paper (reference: Pythia 2.8B, Anthropic HH)",
            "reproduced",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// The plain-language finding and the per-group summary of (21).
fn findings(groups: &[Group; 2], mw: &MannWhitney) -> Vec<String> {
    let [low, high] = groups;
    let (x, y, p) = (low.mean_rank, high.mean_rank, mw.p);
    let finding = if x < y {
        format!(
            "The low-value group has the smaller mean rank ({x:.2} vs {y:.2}), as in the paper; one-sided p = {p:.3e}."
        )
    } else {
        let p = match mw.p_low_smaller {
            Some(q) => format!("one-sided p for the paper's direction = {q:.3e}"),
            None => format!("one-sided p = {p:.3e}, in the opposite direction"),
        };
        format!(
            "Our run does NOT show the paper's finding: the low-value group's mean rank {x:.2} is not below the high-value group's {y:.2} ({p})."
        )
    };
    let summary = groups
        .iter()
        .map(|g| {
            let m = g.mean_log_ratio_change();
            format!(
                "{} group: mean ln (21) = {} (geometric mean of (21) = {}), {} of {} pairs below 1",
                g.label,
                fmt_num(m),
                fmt_num(m.exp()),
                g.suppressed(),
                g.n()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![finding, format!("Quantity (21) per group: {summary}.")]
}

impl Section for Fig6Table2 {
    fn kind(&self) -> &str {
        paper::FIGURE_6_TABLE_2.kind
    }

    fn title(&self, file: &Results, cfg: &Config) -> String {
        format!(
            "Figure 6 and Table 2: average rank sorting and the Mann–Whitney U test, {} ({})",
            data_description(cfg),
            file.name()
        )
    }

    fn render(
        &self,
        file: &Results,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let groups = [
            Group::read(file, "low", "low-value", "mann_whitney/n1")?,
            Group::read(file, "high", "high-value", "mann_whitney/n2")?,
        ];
        let mw = MannWhitney::read(file)?;
        let all = file.vec("log_rho_ref/all")?;
        let q = file.scalar("groups/q")?;
        let low_threshold = file.scalar("groups/low_threshold")?;
        let high_threshold = file.scalar("groups/high_threshold")?;
        let sft = file.vec("sft/loss")?;
        let dpo = file.vec("dpo/loss")?;

        let ranks = figures.save(file, "ranks", &[ranks_panel(&groups)])?;
        let ratio = figures.save(file, "ratio_change", &[ratio_change_panel(&groups)])?;
        let training = figures.save(file, "training", &training_panels(&sft, &dpo))?;
        let mut stems = vec![ranks.clone(), ratio.clone(), training.clone()];
        let mut length_caption = String::new();
        if let Some(panel) = length_panel(&groups) {
            let length = figures.save(file, "length", &[panel])?;
            length_caption =
                format!(" `{length}`: ln (21) against len(y_w) − len(y_l) in tokens, per group.");
            stems.push(length);
        }
        let mut tables = vec![table2(&groups, &mw)];
        let overall = |key: &str| -> Result<f64, String> {
            if file.exists(key) {
                file.scalar(key)
            } else {
                Ok(f64::NAN)
            }
        };
        tables.extend(confound_table(
            &groups,
            (
                overall("correlation/log_rho_ref_length/all")?,
                overall("correlation/log_ratio_change_length/all")?,
            ),
        ));

        let mut notes = findings(&groups, &mw);
        notes.push(format!(
            "Groups: of {} pairs, the low-value group has ln ρ_ref below {} (its {}th percentile) and the high-value group above {} (its {}th percentile).",
            all.len(),
            fmt_num(low_threshold),
            fmt_num(q),
            fmt_num(high_threshold),
            fmt_num(100.0 - q)
        ));
        if file.exists("data/truncated_chosen") {
            notes.push(format!(
                "Responses cut to fit model.context (scored without EOS): {} chosen and {} rejected of {} pairs.",
                fmt_num(file.scalar("data/truncated_chosen")?),
                fmt_num(file.scalar("data/truncated_rejected")?),
                all.len()
            ));
        }
        notes.extend(
            NOTE_ATTRS
                .iter()
                .filter_map(|n| file.attr(n).map(|v| format!("{n}: {v}"))),
        );
        Ok(Rendered {
            figures: stems,
            caption: format!(
                "After SFT on y_w (π_ref) and DPO (π_θ), the pairs with ρ_ref = π_ref(y_l|x)/π_ref(y_w|x) below the {q}th percentile (low-value, n1 = {}) and above the {}th (high-value, n2 = {}) are compared through quantity (21) = [π_θ(y_l|x)/π_θ(y_w|x)] / ρ_ref, which is 1 at initialisation. \
                 `{ranks}`: each group's average ranks of (21) over both groups, sorted, with the group's mean rank dashed (the paper's Figure 6: the low-value group should rank lower). \
                 `{ratio}`: ln ρ_ref against ln (21) per pair. \
                 `{training}`: SFT and DPO loss per optimiser step (DPO starts at ln 2).{length_caption} {}",
                groups[0].n(),
                fmt_num(100.0 - q),
                groups[1].n(),
                caption(file, cfg, &caption_keys(cfg)),
                q = fmt_num(q),
            ),
            tables,
            notes,
            ..Default::default()
        })
    }
}
