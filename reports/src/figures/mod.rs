//! One module per figure or table. To add one: write a module with a type that
//! implements [`Section`] and append it to [`sections`].

use std::path::Path;

use crate::h5::Results;

mod fig1_distributions;
mod fig2_weight_decay;
mod fig3_early_stopping;
mod fig4_penalty_curves;
mod fig5_one_step;
mod fig6_table2;
mod mode_seeking;
mod prop32_ratio_constraint;
mod table1_thresholding;

/// A table of text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Text above the table.
    pub caption: String,
    /// Column headers.
    pub header: Vec<String>,
    /// Rows of cells (same length as `header`).
    pub rows: Vec<Vec<String>>,
}

/// What a section produced.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// File stems of the figures written (each as `<stem>.svg` and `<stem>.png`).
    pub figures: Vec<String>,
    /// Caption: what is shown and the configuration it was made from.
    pub caption: String,
    /// Tables (paper vs reproduced, values).
    pub tables: Vec<Table>,
    /// Extra remarks (e.g. notes stored in the results file).
    pub notes: Vec<String>,
}

/// One figure or table of the report.
pub trait Section {
    /// Heading in the report, e.g. "Figure 2: ...".
    fn title(&self) -> &str;
    /// Stem of the results file it reads (`fig2_weight_decay` for `fig2_weight_decay.h5`).
    fn file(&self) -> &str;
    /// Reads `file`, writes its figures into `out`; `Err` names the file and dataset.
    fn render(&self, file: &Results, out: &Path) -> Result<Rendered, String>;
}

/// All sections, in report order.
pub fn sections() -> Vec<Box<dyn Section>> {
    vec![
        Box::new(fig1_distributions::Fig1),
        Box::new(fig2_weight_decay::Fig2),
        Box::new(fig3_early_stopping::Fig3),
        Box::new(fig4_penalty_curves::Fig4),
        Box::new(fig5_one_step::Fig5),
        Box::new(table1_thresholding::Table1),
        Box::new(mode_seeking::ModeSeeking),
        Box::new(prop32_ratio_constraint::Prop32),
        Box::new(fig6_table2::Fig6Table2 {
            file: "fig6_table2",
            title: "Figure 6 and Table 2: average rank sorting and the Mann–Whitney U test (Section 5.3, synthetic data)",
            prefix: "fig6",
        }),
        Box::new(fig6_table2::Fig6Table2 {
            file: "fig6_table2_controlled",
            title: "Figure 6 and Table 2 on synthetic data without the length confound (equal lengths, no echo bonus)",
            prefix: "fig6_controlled",
        }),
        Box::new(fig6_table2::Fig6Table2 {
            file: "fig6_table2_hh",
            title: "Figure 6 and Table 2 on real preference data (Anthropic HH, harmless-base test split)",
            prefix: "fig6_hh",
        }),
    ]
}

/// Config keys quoted in the captions of the bandit experiments.
pub(crate) const BANDIT_KEYS: &[&str] = &[
    "distance",
    "bandit.pi_star",
    "bandit.pi_ref",
    "bandit.beta",
    "data.mode",
    "data.pairs",
    "data.n_pairs",
    "optimizer.name",
    "optimizer.lr",
    "optimizer.epochs",
];

/// Axis label for the configured distance metric (`l2`, `tv`, `kl`, `js`).
pub(crate) fn distance_label(metric: Option<&str>) -> String {
    let name = match metric.unwrap_or("l2") {
        "l2" => "L2",
        "tv" => "total variation",
        "kl" => "KL",
        "js" => "Jensen-Shannon",
        other => other,
    };
    format!("distance to RLHF counterpart ({name}, unitless)")
}

/// Method groups of a sweep file: all its top-level groups.
pub(crate) fn methods(file: &Results) -> Result<Vec<String>, String> {
    let m = file.groups();
    if m.is_empty() {
        return Err(format!(
            "{}: no method group (e.g. missing dataset `dpo/distance`)",
            file.name()
        ));
    }
    Ok(m)
}

/// Legend entry for method group `m`, naming its counterpart when the file says.
pub(crate) fn method_label(file: &Results, m: &str) -> String {
    match file.attr(&format!("{m}/counterpart")) {
        Some(c) => format!("{m} vs {c}"),
        None => m.to_owned(),
    }
}
