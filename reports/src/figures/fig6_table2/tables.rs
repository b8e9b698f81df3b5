//! The section's tables and findings: Table 2 (paper against this run), what else tells
//! the groups apart, and the plain-language finding.

use super::groups::{Group, MannWhitney};
use crate::figures::Table;
use crate::paper::{self, TABLE_2_N, TABLE_2_P, TABLE_2_RANK_SUMS, TABLE_2_U};
use crate::plot::fmt_num;

/// A correlation for a table cell: undefined where one side is constant.
pub(super) fn fmt_corr(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.3}")
    } else {
        "undefined (constant)".into()
    }
}

/// What else differs between the groups: lengths, correlations with the length difference,
/// and (synthetic data) the true reward margin and label noise.
pub(super) fn confound_table(groups: &[Group; 2], overall: (f64, f64)) -> Option<Table> {
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

/// Table 2: the paper's values (reference only) against this run's.
pub(super) fn table2(groups: &[Group; 2], mw: &MannWhitney) -> Table {
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
pub(super) fn findings(groups: &[Group; 2], mw: &MannWhitney) -> Vec<String> {
    let [low, high] = groups;
    let (x, y, p) = (low.mean_rank, high.mean_rank, mw.p);
    let effect = mw.rank_biserial.map_or(String::new(), |(r, lo, hi)| {
        format!(", rank-biserial r = {r:.3} (95 % CI [{lo:.3}, {hi:.3}], Hanley–McNeil)")
    });
    let caveat = "A within-run test: the pairs are scored by one trained model and are not independent replications, so its p-value and interval say nothing of another seed (the seeds sweep does).";
    let finding = if x < y {
        format!(
            "In this run the low-value group has the smaller mean rank ({x:.2} vs {y:.2}; the paper's direction){effect}; one-sided p = {p:.3e}. {caveat}"
        )
    } else {
        let p = match mw.p_low_smaller {
            Some(q) => format!("one-sided p for the paper's direction = {q:.3e}"),
            None => format!("one-sided p = {p:.3e}, in the opposite direction"),
        };
        format!(
            "This run does NOT show the paper's direction: the low-value group's mean rank {x:.2} is not below the high-value group's {y:.2} ({p}{effect}). {caveat}"
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
