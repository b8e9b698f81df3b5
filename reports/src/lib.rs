//! Report generator: reads the HDF5 results files written by the workbench and
//! produces figures (SVG and PNG, drawn with plotters), `report.md` and a
//! self-contained `report.html`.
//!
//! The crate depends on the results files only (no burn, no `workbench`). Each figure or
//! table is a [`figures::Section`] in its own module, keyed by the `kind` root attribute of
//! the results files it reads: every `*.h5` file in the results folder gets the sections of
//! its kind, whatever its name, and a file of a kind no section reads gets the
//! [`figures::generic`] section. A sweep file (kind `sweep`) holds every point's swept
//! values, status and summary scalars, and gets [`figures::sweep`]; its points' own files,
//! in a subfolder, are not read. The paper's reference numbers, and the settings in which a
//! file reproduces them, are in [`paper`]. A section that fails (a missing dataset, say) is
//! reported in [`Report::problems`] and the others are still produced. Each section states
//! the configuration it was made from once, above its figures; a figure's own caption says
//! only what that figure shows.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Once;

pub mod clip;
pub mod config;
pub mod figures;
pub mod h5;
pub mod paper;
pub mod plot;
pub mod stats;
pub mod writer;

pub use plot::fmt_num;

/// What [`build_report`] produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Every file written (figures, `report.md`, `report.html`).
    pub files: Vec<PathBuf>,
    /// Titles of the sections produced (each names its results file).
    pub sections: Vec<String>,
    /// Problems met: sections not produced and why, naming file and dataset.
    pub problems: Vec<String>,
    /// Paper items that no results file in the folder reproduces, as
    /// `Table 1 (kind thresholding)` (see [`paper`] for what reproduces an item).
    pub missing: Vec<String>,
    /// The `*.h5` files that do not open as HDF5, so no section reads them.
    pub unused: Vec<String>,
    /// The `*.h5` files that open as HDF5 (each gets at least one section).
    pub readable: Vec<String>,
}

/// Fatal errors: the report cannot be written at all.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The results folder cannot be listed.
    #[error("cannot read results folder {path}: {source}")]
    ResultsDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The output folder cannot be created.
    #[error("cannot create output folder {path}: {source}")]
    OutDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A report file cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Registers the embedded DejaVu Sans font as "sans-serif" for plotters (once).
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use plotters::style::{FontStyle, register_font};
        // The bytes are a valid TTF shipped by the `dejavu` crate; failure would only
        // mean text is not drawn in PNGs, which the tests would catch.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
        let _ = register_font("sans-serif", FontStyle::Italic, dejavu::sans::oblique());
        let _ = register_font("sans-serif", FontStyle::Oblique, dejavu::sans::oblique());
    });
}

/// A results file that opened, with what decides its sections and their place.
struct Input {
    file: h5::ResultsFile,
    cfg: config::Config,
    kind: Option<String>,
}

impl Input {
    /// Report order: the paper's order of the file's kind (unknown kinds last), files
    /// that reproduce every paper item of their kind before the others, then by name.
    fn order(&self, all: &[Box<dyn figures::Section>]) -> (usize, bool, String) {
        let kind = self.kind.as_deref();
        let rank = all
            .iter()
            .position(|s| Some(s.kind()) == kind)
            .unwrap_or(usize::MAX);
        let in_setting = paper::ITEMS
            .iter()
            .filter(|item| Some(item.kind) == kind)
            .all(|item| item.reproduced_by(kind, &self.cfg));
        (rank, !in_setting, self.file.name().to_owned())
    }
}

/// Reads every `*.h5` file in `results_dir` and writes the figures, `report.md` and
/// `report.html` into `out_dir` (created if needed).
///
/// Each file gets the sections of its `kind` root attribute ([`figures::sections_for`]),
/// whatever its name. Per-figure failures, and `*.h5` files that cannot be opened, are
/// collected in [`Report::problems`]; only an unreadable results folder or an unwritable
/// output folder is an error.
pub fn build_report(results_dir: &Path, out_dir: &Path) -> Result<Report, ReportError> {
    let entries = std::fs::read_dir(results_dir).map_err(|source| ReportError::ResultsDir {
        path: results_dir.to_path_buf(),
        source,
    })?;
    let mut present = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReportError::ResultsDir {
            path: results_dir.to_path_buf(),
            source,
        })?;
        present.insert(entry.file_name().to_string_lossy().into_owned());
    }
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::OutDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    register_fonts();

    let mut report = Report {
        out_dir: out_dir.to_path_buf(),
        ..Default::default()
    };
    let mut inputs = Vec::new();
    for name in present.iter().filter(|n| n.ends_with(".h5")) {
        match h5::ResultsFile::open(&results_dir.join(name)) {
            Ok(file) => {
                report.readable.push(name.clone());
                inputs.push(Input {
                    cfg: config::Config::of(&file),
                    kind: file.attr("kind"),
                    file,
                });
            }
            Err(e) => {
                report
                    .problems
                    .push(format!("{e} (not a usable results file)"));
                report.unused.push(name.clone());
            }
        }
    }
    let all = figures::sections();
    inputs.sort_by_cached_key(|input| input.order(&all));
    report.missing = paper::ITEMS
        .iter()
        .filter(|item| {
            !inputs
                .iter()
                .any(|i| item.reproduced_by(i.kind.as_deref(), &i.cfg))
        })
        .map(|item| item.label())
        .collect();

    let mut figure_dir = figures::FigureDir::new(out_dir);
    let mut rendered = Vec::new();
    for input in &inputs {
        let sections = figures::sections_for(input.kind.as_deref());
        let known = sections
            .iter()
            .any(|s| s.kind() != figures::generic::ANY_KIND);
        if known && let Some(p) = input.cfg.problem() {
            report.problems.push(p.to_owned());
        }
        for section in &sections {
            let title = section.title(&input.file, &input.cfg);
            match section.render(&input.file, &input.cfg, &mut figure_dir) {
                Ok(r) => {
                    for f in &r.figures {
                        for ext in ["svg", "png"] {
                            report.files.push(out_dir.join(format!("{}.{ext}", f.stem)));
                        }
                    }
                    report.sections.push(title.clone());
                    rendered.push(writer::Entry { title, rendered: r });
                }
                Err(e) => report.problems.push(format!("{title} not produced: {e}")),
            }
        }
    }

    let page = writer::Page {
        entries: &rendered,
        problems: &report.problems,
        missing: &report.missing,
        unused: &report.unused,
        results_dir,
    };
    let md = writer::markdown(&page);
    let html = writer::html(&page, out_dir);
    for (name, text) in [("report.md", md), ("report.html", html)] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
        report.files.push(path);
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
