//! The section for a results file whose `kind` no other section reads (a plugin's kind, or
//! a file without the attribute): its root attributes, every dataset with its shape, and
//! line plots of its 1-D numeric datasets against their index, one figure per top-level
//! group.

use std::collections::BTreeMap;

use super::{Block, FigureDir, Rendered, Section, Table};
use crate::config::{Config, provenance};
use crate::h5::{AttrText, DatasetInfo, ResultsFile};
use crate::plot::{LinePanel, Panel, Series, fmt_num};

/// The generic section.
pub struct Generic;

/// What [`Generic::kind`] answers: it is never matched by name, only chosen when no
/// other section reads a file's kind.
pub const ANY_KIND: &str = "*";

/// At most this many figures per file.
pub const MAX_FIGURES: usize = 12;
/// At most this many lines per figure.
pub const MAX_SERIES: usize = 10;
/// Attribute values longer than this (in characters) are cut in the table.
const MAX_CELL: usize = 160;
/// The group name used for datasets at the root of the file.
const ROOT: &str = "root";

/// `text` cut to [`MAX_CELL`] characters, with its length when cut.
fn cell(text: &str) -> String {
    let n = text.chars().count();
    if n <= MAX_CELL {
        return text.to_owned();
    }
    let head: String = text.chars().take(MAX_CELL).collect();
    format!("{head}… ({n} characters)")
}

/// The root attributes as a table; `config_toml` is summarised (the block shows it).
fn attributes(file: &ResultsFile) -> Table {
    let rows = file
        .attr_names()
        .into_iter()
        .map(|name| {
            let value = file.attr_text(&name).unwrap_or_default();
            let shown = if name == "config_toml" {
                format!("TOML, {} lines (shown below)", value.lines().count())
            } else {
                cell(&value)
            };
            vec![name, shown]
        })
        .collect();
    Table {
        caption: format!("Root attributes of `{}`.", file.name()),
        header: ["attribute", "value"].map(String::from).to_vec(),
        rows,
    }
}

/// A short summary of a numeric dataset's values: the value, or the finite range.
fn summary(file: &ResultsFile, d: &DatasetInfo) -> String {
    if !d.numeric {
        return "—".into();
    }
    match file.values(&d.path) {
        Ok(v) if v.len() == 1 => fmt_num(v[0]),
        Ok(v) => {
            let finite = v.iter().copied().filter(|x| x.is_finite());
            let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
            if lo.is_finite() {
                format!("{} … {}", fmt_num(lo), fmt_num(hi))
            } else {
                "no finite value".into()
            }
        }
        Err(e) => format!("unreadable: {e}"),
    }
}

/// Every dataset: path, shape, element type and a summary of its values.
fn datasets(file: &ResultsFile, list: &[DatasetInfo]) -> Table {
    let rows = list
        .iter()
        .map(|d| {
            let shape: Vec<String> = d.shape.iter().map(|n| n.to_string()).collect();
            vec![
                d.path.clone(),
                format!("[{}]", shape.join(", ")),
                d.dtype.clone(),
                summary(file, d),
            ]
        })
        .collect();
    Table {
        caption: format!(
            "Datasets of `{}` ({} in all; shape [] is a scalar).",
            file.name(),
            list.len()
        ),
        header: ["dataset", "shape", "type", "values (min … max)"]
            .map(String::from)
            .to_vec(),
        rows,
    }
}

/// The 1-D numeric datasets of at least two values, by top-level group.
fn plottable(list: &[DatasetInfo]) -> BTreeMap<&str, Vec<&DatasetInfo>> {
    let mut groups: BTreeMap<&str, Vec<&DatasetInfo>> = BTreeMap::new();
    for d in list {
        if d.numeric && d.shape.len() == 1 && d.shape[0] >= 2 {
            let group = match d.path.split_once('/') {
                Some((g, _)) => g,
                None => ROOT,
            };
            groups.entry(group).or_default().push(d);
        }
    }
    groups
}

/// Figure `what`'s file-name part: the group name with unsafe characters replaced.
fn stem_part(group: &str) -> String {
    group
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

impl Section for Generic {
    fn kind(&self) -> &str {
        ANY_KIND
    }

    fn title(&self, file: &ResultsFile, _cfg: &Config) -> String {
        match file.attr("kind") {
            Some(kind) => format!("{} (kind {kind}, no dedicated section)", file.name()),
            None => format!("{} (no kind attribute)", file.name()),
        }
    }

    fn render(
        &self,
        file: &ResultsFile,
        _cfg: &Config,
        figures: &mut FigureDir,
    ) -> Result<Rendered, String> {
        let list = file.datasets();
        let groups = plottable(&list);
        let mut notes = Vec::new();
        let mut stems = Vec::new();
        for (group, members) in groups.iter().take(MAX_FIGURES) {
            let mut series = Vec::new();
            for d in members.iter().take(MAX_SERIES) {
                match file.vec(&d.path) {
                    Ok(y) => {
                        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
                        let name = d.path.strip_prefix(&format!("{group}/")).unwrap_or(&d.path);
                        series.push(Series::new(name, &x, &y));
                    }
                    Err(e) => notes.push(format!("Not drawn: {e}.")),
                }
            }
            if series.is_empty() {
                continue;
            }
            if members.len() > MAX_SERIES {
                notes.push(format!(
                    "Group `{group}`: {} of its {} 1-D datasets are drawn (the first in path order); the table lists them all.",
                    MAX_SERIES,
                    members.len()
                ));
            }
            let panel = LinePanel {
                title: format!("{} · {group}", file.name()),
                x_label: "index (first axis)".into(),
                y_label: "value (units as stored)".into(),
                series,
                ..Default::default()
            };
            let figure = figures.save(file, &stem_part(group), &[Panel::Lines(panel)])?;
            stems.push(figure.with_caption(format!("Group `{group}`.")));
        }
        if groups.len() > MAX_FIGURES {
            notes.push(format!(
                "{} of {} groups with 1-D datasets are drawn (the first by name).",
                MAX_FIGURES,
                groups.len()
            ));
        }
        let what = match file.attr("kind") {
            Some(kind) => format!(
                "`{}` has kind `{kind}`, which no section of this report reads",
                file.name()
            ),
            None => format!("`{}` has no `kind` root attribute", file.name()),
        };
        let drawn = if stems.is_empty() {
            "It has no 1-D numeric dataset of two or more values to draw.".to_owned()
        } else {
            format!(
                "Each figure draws the 1-D numeric datasets of one top-level group (`{ROOT}`: those at the root) against their index."
            )
        };
        let blocks = file
            .attr("config_toml")
            .map(|text| Block {
                caption: format!(
                    "Configuration of `{}` (root attribute config_toml).",
                    file.name()
                ),
                text,
            })
            .into_iter()
            .collect();
        Ok(Rendered {
            figures: stems,
            caption: format!(
                "{what}: its root attributes and datasets are listed. {drawn} {}",
                provenance(file)
            ),
            tables: vec![attributes(file), datasets(file, &list)],
            blocks,
            notes,
        })
    }
}
