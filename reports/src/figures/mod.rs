//! One module per figure or table. To add one: write a module with a type that
//! implements [`Section`] for a results-file `kind` and append it to [`sections`]; a file
//! whose kind no section reads gets the [`generic`] section.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::h5::ResultsFile;
use crate::plot::{Panel, save};

mod fig1_distributions;
mod fig2_weight_decay;
mod fig3_early_stopping;
mod fig4_penalty_curves;
mod fig5_one_step;
mod fig6_table2;
pub mod generic;
mod mode_seeking;
mod parametrisation;
mod prop32_ratio_constraint;
pub mod sweep;
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

/// Text shown as it is, in a monospaced block (a configuration file, say).
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Text above the block.
    pub caption: String,
    /// The text, line breaks kept.
    pub text: String,
}

/// A figure a section wrote, with what it alone shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figure {
    /// File stem, unique across the report (written as `<stem>.svg` and `<stem>.png`).
    pub stem: String,
    /// What this figure shows that the section's caption does not say (may be empty);
    /// the configuration is stated once, in [`Rendered::caption`].
    pub caption: String,
}

impl Figure {
    /// This figure with `caption` as what it alone shows.
    pub fn with_caption(self, caption: impl Into<String>) -> Self {
        Self {
            caption: caption.into(),
            ..self
        }
    }
}

/// What a section produced.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The figures written, in order, each with its own short caption.
    pub figures: Vec<Figure>,
    /// The section's caption, stated once above its figures: what the section shows and
    /// the configuration it was made from (the figures' captions say only what differs).
    pub caption: String,
    /// Tables (paper vs reproduced, values).
    pub tables: Vec<Table>,
    /// Preformatted text blocks, after the tables.
    pub blocks: Vec<Block>,
    /// Extra remarks (e.g. notes stored in the results file).
    pub notes: Vec<String>,
}

/// One figure or table of the report, drawn from each results file of one `kind`.
pub trait Section {
    /// The `kind` root attribute of the results files it reads (`weight_decay_sweep`).
    fn kind(&self) -> &str;
    /// The heading's words before the file's name ("Figure 2: ...").
    fn heading(&self) -> &str {
        ""
    }
    /// Heading in the report for `file`: [`Section::heading`] and the file's name
    /// ("Figure 2: ... (my_sweep.h5)").
    fn title(&self, file: &ResultsFile, _cfg: &Config) -> String {
        format!("{} ({})", self.heading(), file.name())
    }
    /// Reads `file`, writes its figures through `figures`; `Err` names the file and dataset.
    fn render(
        &self,
        file: &ResultsFile,
        cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String>;
}

/// All sections for known kinds, in report order (the paper's order).
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
        Box::new(fig6_table2::Fig6Table2),
        Box::new(parametrisation::Parametrisation),
        Box::new(sweep::Sweep),
    ]
}

/// The sections for a results file of `kind`, in report order: those of [`sections`]
/// that read it, or the [`generic::Generic`] section when none does (or `kind` is absent).
pub fn sections_for(kind: Option<&str>) -> Vec<Box<dyn Section>> {
    let known: Vec<Box<dyn Section>> = sections()
        .into_iter()
        .filter(|s| Some(s.kind()) == kind)
        .collect();
    if known.is_empty() {
        vec![Box::new(generic::Generic)]
    } else {
        known
    }
}

/// The output folder, handing out figure stems that are unique across the report.
///
/// A figure's stem is the results file's stem (characters other than letters, digits,
/// `-`, `_` and `.` replaced by `_`), then `_` and what the figure shows when a section
/// draws several (`my_sweep_distributions`); a stem already taken gets `_2`, `_3`, ...
#[derive(Debug, Clone)]
pub struct FigureDir {
    dir: PathBuf,
    used: BTreeSet<String>,
}

impl FigureDir {
    /// Figures go into `dir`, which must exist.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            used: BTreeSet::new(),
        }
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reserves the stem for figure `what` of `file` (`""`: the file's main figure).
    pub fn stem(&mut self, file: &ResultsFile, what: &str) -> String {
        let file_stem = file.name().strip_suffix(".h5").unwrap_or(file.name());
        let mut base: String = file_stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !what.is_empty() {
            base = format!("{base}_{what}");
        }
        let mut stem = base.clone();
        let mut n = 1;
        while self.used.contains(&stem) {
            n += 1;
            stem = format!("{base}_{n}");
        }
        self.used.insert(stem.clone());
        stem
    }

    /// Draws `panels` as figure `what` of `file` (`<stem>.svg` and `<stem>.png`), returning
    /// the figure, with no caption of its own yet ([`Figure::with_caption`] gives one).
    pub fn save(
        &mut self,
        file: &ResultsFile,
        what: &str,
        panels: &[Panel],
    ) -> Result<Figure, String> {
        let stem = self.stem(file, what);
        save(&self.dir, &stem, panels)?;
        Ok(Figure {
            stem,
            caption: String::new(),
        })
    }
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

/// Method groups of a sweep file: its top-level groups but `summary`.
pub(crate) fn methods(file: &ResultsFile) -> Result<Vec<String>, String> {
    // `summary/` holds the run's summary scalars, not a method.
    let m: Vec<String> = file
        .groups()
        .into_iter()
        .filter(|g| g != "summary")
        .collect();
    if m.is_empty() {
        return Err(format!(
            "{}: no method group (e.g. missing dataset `dpo/distance`)",
            file.name()
        ));
    }
    Ok(m)
}

/// Legend entry for method group `m`, naming its counterpart when the file says.
pub(crate) fn method_label(file: &ResultsFile, m: &str) -> String {
    match file.attr(&format!("{m}/counterpart")) {
        Some(c) => format!("{m} vs {c}"),
        None => m.to_owned(),
    }
}
