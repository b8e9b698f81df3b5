//! Report generator: reads the HDF5 results files written by the workbench and
//! produces figures (SVG and PNG, drawn with plotters), `report.md` and a
//! self-contained `report.html`.
//!
//! The crate depends on the results files only (no burn, no `workbench`). Each figure or
//! table is a [`figures::Section`] in its own module; a section that fails (a missing
//! dataset, say) is reported in [`Report::problems`] and the others are still produced.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Once;

pub mod config;
pub mod figures;
pub mod h5;
pub mod plot;
pub mod writer;

pub use plot::fmt_num;

/// What [`build_report`] produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Every file written (figures, `report.md`, `report.html`).
    pub files: Vec<PathBuf>,
    /// Titles of the sections produced.
    pub sections: Vec<String>,
    /// Problems met: sections not produced and why, naming file and dataset.
    pub problems: Vec<String>,
    /// Known results files absent from the results folder (their sections are skipped).
    pub missing: Vec<String>,
    /// Files in the results folder that no section reads.
    pub unused: Vec<String>,
    /// The `*.h5` files that open as HDF5 (whether or not a section reads them).
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

/// Reads every known results file in `results_dir` and writes the figures,
/// `report.md` and `report.html` into `out_dir` (created if needed).
///
/// Per-figure failures, and `*.h5` files that cannot be opened, are collected in
/// [`Report::problems`]; only an unreadable results folder or an unwritable output folder
/// is an error.
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

    let sections = figures::sections();
    let known: BTreeSet<String> = sections
        .iter()
        .map(|s| format!("{}.h5", s.file()))
        .collect();
    let mut report = Report {
        out_dir: out_dir.to_path_buf(),
        unused: present.difference(&known).cloned().collect(),
        missing: known.difference(&present).cloned().collect(),
        ..Default::default()
    };
    // Every `*.h5` file is opened once: those that open are readable results; one that no
    // section reads is still named when it is not a results file at all.
    for name in present.iter().filter(|n| n.ends_with(".h5")) {
        match h5::Results::open(&results_dir.join(name)) {
            Ok(_) => report.readable.push(name.clone()),
            Err(e) if report.unused.contains(name) => report
                .problems
                .push(format!("{e} (not a usable results file)")),
            Err(_) => {}
        }
    }
    let mut opened: BTreeMap<String, Result<h5::Results, String>> = BTreeMap::new();
    let mut rendered = Vec::new();
    for section in &sections {
        let name = format!("{}.h5", section.file());
        if !present.contains(&name) {
            continue;
        }
        let file = opened.entry(name.clone()).or_insert_with(|| {
            let f = h5::Results::open(&results_dir.join(&name));
            if let Ok(f) = &f
                && let Some(p) = config::Config::of(f).problem()
            {
                report.problems.push(p.to_owned());
            }
            f
        });
        let result = match file {
            Ok(f) => section.render(f, out_dir),
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(r) => {
                for f in &r.figures {
                    for ext in ["svg", "png"] {
                        report.files.push(out_dir.join(format!("{f}.{ext}")));
                    }
                }
                report.sections.push(section.title().to_owned());
                rendered.push(writer::Entry {
                    title: section.title().to_owned(),
                    rendered: r,
                });
            }
            Err(e) => report
                .problems
                .push(format!("{} not produced: {e}", section.title())),
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
